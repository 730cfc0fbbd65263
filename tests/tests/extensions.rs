//! The extension APIs offline: druid-basic-security (users, credentials,
//! roles, permissions, group mappings, cache load status), the catalog and
//! the Kubernetes task runner's execution config.
//!
//! Every endpoint is called through the mock transport, which records what
//! would go on the wire: method, encoded path (names with spaces, `:` and
//! `/`), query flags, bodies and audit headers. The answers are the bodies
//! Druid documents, and the bodies a Druid 27.0.0 cluster sent (marked
//! "Druid 27"), decoded into the models.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use druid_api::models::{
    Action, AuthorizerRole, CredentialsUpdate, GroupMapping, Permission, Resource, ResourceType,
};
use druid_api::{CoordinatorClient, OverlordClient, RouterClient};
use druid_tests::mock::{Log, last, line, recording};
use serde_json::{Value, json};

/// A user name that needs every kind of encoding.
const USER: &str = "jane doe:ops/x%y";
const USER_ENCODED: &str = "jane%20doe%3Aops%2Fx%25y";
/// A role name with a space and a colon.
const ROLE: &str = "wiki readers:eu";
const ROLE_ENCODED: &str = "wiki%20readers%3Aeu";
const AUTHN: &str = "/druid-ext/basic-security/authentication";
const AUTHZ: &str = "/druid-ext/basic-security/authorization";

fn coordinator_answering(status: u16, body: &str) -> (CoordinatorClient, Log) {
    let (service, seen) = recording(status, body);
    (CoordinatorClient::new(service), seen)
}

fn overlord_answering(status: u16, body: &str) -> (OverlordClient, Log) {
    let (service, seen) = recording(status, body);
    (OverlordClient::new(service), seen)
}

/// `METHOD /path?query` of the last request.
fn sent(seen: &Log) -> String {
    line(&last(seen))
}

fn body_json(seen: &Log) -> Value {
    let r = last(seen);
    assert_eq!(r.headers["content-type"], "application/json");
    serde_json::from_slice(&r.body).unwrap()
}

fn no_body(seen: &Log) {
    assert!(last(seen).body.is_empty(), "{:?}", last(seen).body);
}

// ---- Bodies from Druid's docs (druid-basic-security.md) ----

/// `GET .../authorization/db/{authorizerName}/users/{userName}`.
const DOC_USER: &str = r#"{"name": "druid2", "roles": ["druidRole"]}"#;

/// The same with `?full` (deprecated permission format).
const DOC_USER_FULL: &str = r#"{
  "name": "druid2",
  "roles": [
    {
      "name": "druidRole",
      "permissions": [
        {"resourceAction": {"resource": {"name": "A", "type": "DATASOURCE"}, "action": "READ"}, "resourceNamePattern": "A"},
        {"resourceAction": {"resource": {"name": "C", "type": "CONFIG"}, "action": "WRITE"}, "resourceNamePattern": "C"}
      ]
    }
  ]
}"#;

/// The same with `?full&simplifyPermissions`.
const DOC_USER_FULL_SIMPLE: &str = r#"{
  "name": "druid2",
  "roles": [
    {
      "name": "druidRole",
      "users": null,
      "permissions": [
        {"resource": {"name": "A", "type": "DATASOURCE"}, "action": "READ"},
        {"resource": {"name": "C", "type": "CONFIG"}, "action": "WRITE"}
      ]
    }
  ]
}"#;

/// `GET .../roles/{roleName}` (deprecated format).
const DOC_ROLE: &str = r#"{
  "name": "druidRole2",
  "permissions": [
    {"resourceAction": {"resource": {"name": "E", "type": "DATASOURCE"}, "action": "WRITE"}, "resourceNamePattern": "E"}
  ]
}"#;

/// `GET .../roles/{roleName}?simplifyPermissions`.
const DOC_ROLE_SIMPLE: &str = r#"{
  "name": "druidRole2",
  "users": null,
  "permissions": [
    {"resource": {"name": "E", "type": "DATASOURCE"}, "action": "WRITE"}
  ]
}"#;

/// The body of `POST .../groupMappings/{groupMappingName}`.
const DOC_GROUP_MAPPING: &str = r#"{
    "name": "user",
    "groupPattern": "CN=aaa,OU=aaa,OU=Groupings,DC=corp,DC=company,DC=com",
    "roles": ["user"]
}"#;

/// The body of `POST .../roles/{roleName}/permissions`.
const DOC_PERMISSIONS: &str = r#"[
{"resource": {"name": "wiki.*", "type": "DATASOURCE"}, "action": "READ"},
{"resource": {"name": "wikiticker", "type": "DATASOURCE"}, "action": "WRITE"}
]"#;

// ---- Bodies a Druid 27.0.0 cluster sent ----

const D27_AUTHN_USER: &str = r#"{"name":"admin","credentials":{"salt":"Q+SZieMg7jnEX/Cf0S5Q+I3FmVw8Nz8PnEtsvYONxz4=","hash":"FdlrrBEhjBSHaLttuvJvMSHV7gLcMmcECS1lvCetKjH5Hdp9m6Hedbyekc8+l6BS2pRW4BpG4RPGaSpbbfpvRg==","iterations":10000}}"#;
const D27_AUTHN_USER_NO_PASSWORD: &str = r#"{"name":"a b:c","credentials":null}"#;
const D27_ROLE_FULL: &str = r#"{"name":"r 1","users":["a b:c"],"groups":["g 1"],"permissions":[{"resourceAction":{"resource":{"name":"wiki.*","type":"DATASOURCE"},"action":"READ"},"resourceNamePattern":"wiki.*"}]}"#;
const D27_ROLE_FULL_SIMPLE: &str = r#"{"name":"r 1","users":["a b:c"],"permissions":[{"resource":{"name":"wiki.*","type":"DATASOURCE"},"action":"READ"}]}"#;
const D27_USER_FULL_SIMPLE: &str = r#"{"name":"a b:c","roles":[{"name":"r 1","users":null,"permissions":[{"resource":{"name":"wiki.*","type":"DATASOURCE"},"action":"READ"}]}]}"#;
const D27_GROUP_MAPPING: &str =
    r#"{"name":"g 1","groupPattern":"CN=admins,.*","roles":["r 1","admin"]}"#;
const D27_NO_SUCH_USER: &str = r#"{"error":"User [nobody] does not exist."}"#;

#[tokio::test]
async fn authentication_requests() {
    let (coordinator, seen) = coordinator_answering(200, r#"["admin","druid_system"]"#);
    assert_eq!(
        coordinator.authentication_users("basic").await.unwrap(),
        ["admin", "druid_system"]
    );
    assert_eq!(sent(&seen), format!("GET {AUTHN}/db/basic/users"));

    coordinator
        .create_authentication_user("basic", USER)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHN}/db/basic/users/{USER_ENCODED}")
    );
    no_body(&seen);

    coordinator
        .delete_authentication_user("my authn", USER)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {AUTHN}/db/my%20authn/users/{USER_ENCODED}")
    );

    let password = CredentialsUpdate::new("s3cr3t:pw");
    coordinator
        .set_user_password("basic", USER, &password)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHN}/db/basic/users/{USER_ENCODED}/credentials")
    );
    assert_eq!(body_json(&seen), json!({"password": "s3cr3t:pw"}));
    let shown = format!("{password:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");

    // Empty names are refused before sending.
    let before = seen.lock().unwrap().len();
    let err = coordinator
        .create_authentication_user("basic", "")
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("user"),
        "{err:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), before);
}

#[tokio::test]
async fn authentication_answers_decode() {
    let (coordinator, seen) = coordinator_answering(200, D27_AUTHN_USER);
    let admin = coordinator
        .authentication_user("basic", "admin")
        .await
        .unwrap();
    assert_eq!(sent(&seen), format!("GET {AUTHN}/db/basic/users/admin"));
    assert_eq!(admin.name, "admin");
    assert!(admin.has_password());
    let credentials = admin.credentials.unwrap();
    assert_eq!(credentials.iterations, Some(10_000));
    assert!(credentials.hash.unwrap().ends_with("=="));

    let (coordinator, _) = coordinator_with(D27_AUTHN_USER_NO_PASSWORD);
    let user = coordinator
        .authentication_user("basic", "a b:c")
        .await
        .unwrap();
    assert_eq!(user.name, "a b:c");
    assert!(!user.has_password());

    let (coordinator, seen) = coordinator_with(r#"{"basic":true}"#);
    let loaded = coordinator.authentication_load_status().await.unwrap();
    assert_eq!(sent(&seen), format!("GET {AUTHN}/loadStatus"));
    assert_eq!(loaded.get("basic"), Some(&true));
}

fn coordinator_with(body: &str) -> (CoordinatorClient, Log) {
    coordinator_answering(200, body)
}

#[tokio::test]
async fn authorization_user_requests_and_answers() {
    let (coordinator, seen) = coordinator_with(r#"["admin","druid_system"]"#);
    assert_eq!(
        coordinator.authorization_users("basic").await.unwrap(),
        ["admin", "druid_system"]
    );
    assert_eq!(sent(&seen), format!("GET {AUTHZ}/db/basic/users"));
    coordinator
        .create_authorization_user("basic", USER)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHZ}/db/basic/users/{USER_ENCODED}")
    );
    no_body(&seen);
    coordinator
        .delete_authorization_user("basic", USER)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {AUTHZ}/db/basic/users/{USER_ENCODED}")
    );

    let (coordinator, seen) = coordinator_with(DOC_USER);
    let user = coordinator.authorization_user("basic", USER).await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/users/{USER_ENCODED}")
    );
    assert_eq!(user.name, "druid2");
    assert_eq!(user.roles, ["druidRole"]);

    // `full`, in the deprecated permission format.
    let (coordinator, seen) = coordinator_with(DOC_USER_FULL);
    let full = coordinator
        .authorization_user_full("basic", USER)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/users/{USER_ENCODED}?full")
    );
    assert_eq!(full.role_names(), ["druidRole"]);
    let permissions = &full.roles[0].permissions;
    assert_eq!(permissions[0].resource, Resource::datasource("A"));
    assert_eq!(permissions[0].action, Action::Read);
    assert_eq!(permissions[0].resource_name_pattern.as_deref(), Some("A"));
    assert_eq!(
        permissions[1].simplified(),
        Permission::write(Resource::config("C"))
    );

    // `full` + `simplifyPermissions`: the same permissions, simplified.
    let (coordinator, seen) = coordinator_with(DOC_USER_FULL_SIMPLE);
    let simple = coordinator
        .authorization_user_full("basic", USER)
        .simplify_permissions(true)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/users/{USER_ENCODED}?full&simplifyPermissions")
    );
    assert_eq!(simple.roles[0].users, None);
    assert_eq!(
        simple.roles[0].permissions,
        full.roles[0].simplified_permissions()
    );
    assert!(
        simple.roles[0]
            .permissions
            .iter()
            .all(|p| p.resource_name_pattern.is_none())
    );

    // Druid 27: roles of a user read in the simplified format.
    let (coordinator, _) = coordinator_with(D27_USER_FULL_SIMPLE);
    let user = coordinator
        .authorization_user_full("basic", "a b:c")
        .simplify_permissions(true)
        .await
        .unwrap();
    assert_eq!(user.name, "a b:c");
    assert_eq!(
        user.roles[0].permissions,
        [Permission::read(Resource::datasource("wiki.*"))]
    );
}

#[tokio::test]
async fn role_requests_and_answers() {
    let (coordinator, seen) = coordinator_with(r#"["admin","druid_system"]"#);
    assert_eq!(
        coordinator.roles("basic").await.unwrap(),
        ["admin", "druid_system"]
    );
    assert_eq!(sent(&seen), format!("GET {AUTHZ}/db/basic/roles"));
    coordinator.create_role("basic", ROLE).await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHZ}/db/basic/roles/{ROLE_ENCODED}")
    );
    no_body(&seen);
    coordinator.delete_role("basic", ROLE).await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {AUTHZ}/db/basic/roles/{ROLE_ENCODED}")
    );
    coordinator.assign_role("basic", USER, ROLE).await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHZ}/db/basic/users/{USER_ENCODED}/roles/{ROLE_ENCODED}")
    );
    no_body(&seen);
    coordinator
        .unassign_role("basic", USER, ROLE)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {AUTHZ}/db/basic/users/{USER_ENCODED}/roles/{ROLE_ENCODED}")
    );

    // The four shapes of a role read.
    let (coordinator, seen) = coordinator_with(DOC_ROLE);
    let role = coordinator.role("basic", ROLE).await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/roles/{ROLE_ENCODED}")
    );
    assert_eq!(role.name, "druidRole2");
    assert_eq!((role.users.as_ref(), role.groups.as_ref()), (None, None));
    assert_eq!(
        role.permissions[0].resource_name_pattern.as_deref(),
        Some("E")
    );

    let (coordinator, seen) = coordinator_with(DOC_ROLE_SIMPLE);
    let simple = coordinator
        .role("basic", ROLE)
        .simplify_permissions(true)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/roles/{ROLE_ENCODED}?simplifyPermissions")
    );
    assert_eq!(simple.permissions, role.simplified_permissions());
    assert_eq!(
        simple.permissions,
        [Permission::write(Resource::datasource("E"))]
    );

    let (coordinator, seen) = coordinator_with(D27_ROLE_FULL);
    let full = coordinator.role("basic", ROLE).full(true).await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/roles/{ROLE_ENCODED}?full")
    );
    assert_eq!(full.users.as_deref(), Some(&["a b:c".to_owned()][..]));
    assert_eq!(full.groups.as_deref(), Some(&["g 1".to_owned()][..]));

    let (coordinator, seen) = coordinator_with(D27_ROLE_FULL_SIMPLE);
    let full_simple = coordinator
        .role("basic", ROLE)
        .full(true)
        .simplify_permissions(true)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/roles/{ROLE_ENCODED}?full&simplifyPermissions")
    );
    assert_eq!(full_simple.users, full.users);
    assert_eq!(full_simple.groups, None);
    assert_eq!(full_simple.permissions, full.simplified_permissions());
    coordinator
        .role("basic", ROLE)
        .full(false)
        .simplify_permissions(false)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/basic/roles/{ROLE_ENCODED}"),
        "false flags are left out"
    );
}

#[tokio::test]
async fn permissions_are_sent_in_the_editable_format() {
    let (coordinator, seen) = coordinator_answering(200, "");
    let permissions = [
        Permission::read(Resource::datasource("wiki.*")),
        Permission::write(Resource::datasource("wikiticker")),
    ];
    coordinator
        .set_role_permissions("basic", ROLE, &permissions)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHZ}/db/basic/roles/{ROLE_ENCODED}/permissions")
    );
    let documented: Value = serde_json::from_str(DOC_PERMISSIONS).unwrap();
    assert_eq!(body_json(&seen), documented);

    // A role read in the deprecated format posts back in the editable one.
    let role: AuthorizerRole = serde_json::from_str(D27_ROLE_FULL).unwrap();
    coordinator
        .set_role_permissions("basic", ROLE, &role.permissions)
        .await
        .unwrap();
    assert_eq!(
        body_json(&seen),
        json!([{"resource": {"name": "wiki.*", "type": "DATASOURCE"}, "action": "READ"}])
    );

    // An empty list removes every permission.
    coordinator
        .set_role_permissions("basic", ROLE, &[])
        .await
        .unwrap();
    assert_eq!(body_json(&seen), json!([]));

    // Every resource type, and types this client does not know.
    let all = [
        (Resource::view("v"), "VIEW"),
        (Resource::config("security"), "CONFIG"),
        (Resource::state("STATE"), "STATE"),
        (Resource::system_table("sys\\..*"), "SYSTEM_TABLE"),
        (Resource::query_context(".*"), "QUERY_CONTEXT"),
        (Resource::external("EXTERNAL"), "EXTERNAL"),
        (
            Resource::new(ResourceType::parse("SOMETHING_NEW"), "x"),
            "SOMETHING_NEW",
        ),
    ];
    for (resource, text) in all {
        let value = serde_json::to_value(Permission::read(resource.clone())).unwrap();
        assert_eq!(value["resource"]["type"], text);
        assert_eq!(value["action"], "READ");
        let back: Permission = serde_json::from_value(value).unwrap();
        assert_eq!(back.resource, resource);
    }
    assert_eq!(ResourceType::parse("datasource"), ResourceType::Datasource);
    assert_eq!(Action::parse("write"), Action::Write);

    // A permission in neither format is a decode error that says why.
    let err = serde_json::from_str::<Permission>(r#"{"action": "READ"}"#).unwrap_err();
    assert!(err.to_string().contains("resourceAction"), "{err}");
    let (coordinator, _) = coordinator_with(r#"{"name":"r","permissions":[{"action":"READ"}]}"#);
    let err = coordinator.role("basic", "r").await.unwrap_err();
    assert!(err.decode().is_some(), "{err:?}");
}

#[tokio::test]
async fn group_mapping_requests_and_answers() {
    let (coordinator, seen) = coordinator_with(r#"["g 1"]"#);
    assert_eq!(coordinator.group_mappings("ldap").await.unwrap(), ["g 1"]);
    assert_eq!(sent(&seen), format!("GET {AUTHZ}/db/ldap/groupMappings"));

    let mapping: GroupMapping = serde_json::from_str(DOC_GROUP_MAPPING).unwrap();
    assert_eq!(
        mapping,
        GroupMapping::new(
            "user",
            "CN=aaa,OU=aaa,OU=Groupings,DC=corp,DC=company,DC=com",
            ["user"]
        )
    );
    coordinator
        .create_group_mapping("ldap", "admins: eu", &mapping)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHZ}/db/ldap/groupMappings/admins%3A%20eu")
    );
    assert_eq!(
        body_json(&seen),
        serde_json::from_str::<Value>(DOC_GROUP_MAPPING).unwrap()
    );
    coordinator
        .delete_group_mapping("ldap", "admins: eu")
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {AUTHZ}/db/ldap/groupMappings/admins%3A%20eu")
    );
    coordinator
        .assign_group_mapping_role("ldap", "admins: eu", ROLE)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {AUTHZ}/db/ldap/groupMappings/admins%3A%20eu/roles/{ROLE_ENCODED}")
    );
    no_body(&seen);
    coordinator
        .unassign_group_mapping_role("ldap", "admins: eu", ROLE)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {AUTHZ}/db/ldap/groupMappings/admins%3A%20eu/roles/{ROLE_ENCODED}")
    );

    let (coordinator, seen) = coordinator_with(D27_GROUP_MAPPING);
    let read = coordinator.group_mapping("ldap", "g 1").await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {AUTHZ}/db/ldap/groupMappings/g%201")
    );
    assert_eq!(
        read,
        GroupMapping::new("g 1", "CN=admins,.*", ["r 1", "admin"])
    );
    // Druid 27 answers a mapping created without roles with an empty list.
    let (coordinator, _) = coordinator_with(r#"{"name":"g2","groupPattern":"x","roles":[]}"#);
    assert!(
        coordinator
            .group_mapping("ldap", "g2")
            .await
            .unwrap()
            .roles
            .is_empty()
    );

    let (coordinator, seen) = coordinator_with(r#"{"ldap":false}"#);
    let loaded = coordinator.authorization_load_status().await.unwrap();
    assert_eq!(sent(&seen), format!("GET {AUTHZ}/loadStatus"));
    assert_eq!(loaded.get("ldap"), Some(&false));
}

#[tokio::test]
async fn security_changes_carry_audit_headers() {
    let (coordinator, seen) = coordinator_answering(200, "");
    coordinator
        .create_role("basic", ROLE)
        .author("ci")
        .comment("readers of wiki")
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(r.headers["x-druid-author"], "ci");
    assert_eq!(r.headers["x-druid-comment"], "readers of wiki");
    coordinator
        .set_user_password("basic", USER, &CredentialsUpdate::new("pw"))
        .author("ci")
        .await
        .unwrap();
    assert_eq!(last(&seen).headers["x-druid-author"], "ci");
    coordinator.delete_role("basic", ROLE).await.unwrap();
    assert!(!last(&seen).headers.contains_key("x-druid-author"));
}

#[tokio::test]
async fn unknown_names_are_typed_400s() {
    // Druid 27 answers an unknown user, role or mapping with 400, not 404.
    let (coordinator, _) = coordinator_answering(400, D27_NO_SUCH_USER);
    let err = coordinator
        .authorization_user("basic", "nobody")
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
    assert!(!err.is_not_found());
    assert_eq!(
        err.druid_error().unwrap().message(),
        Some("User [nobody] does not exist.")
    );
    // 403 without CONFIG `security` permissions: typed too.
    let (coordinator, _) =
        coordinator_answering(403, r#"{"Access-Check-Result":"Allowed:false, Message:"}"#);
    let err = coordinator.roles("basic").await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 403);
    assert!(err.api().is_some());
}

#[tokio::test]
async fn security_api_through_the_router_proxy() {
    let (service, seen) = recording(200, r#"{"basic":true}"#);
    let coordinator = RouterClient::new(service).coordinator_proxy().unwrap();
    assert!(coordinator.authorization_load_status().await.unwrap()["basic"]);
    assert_eq!(
        sent(&seen),
        format!("GET /proxy/coordinator{AUTHZ}/loadStatus")
    );
    coordinator
        .role("basic", ROLE)
        .full(true)
        .await
        .unwrap_err(); // not a role: decode error
    assert_eq!(
        sent(&seen),
        format!("GET /proxy/coordinator{AUTHZ}/db/basic/roles/{ROLE_ENCODED}?full")
    );
}

// ---- Catalog ----

/// `GET .../schemas/{schema}/tables/{name}`, as documented.
const DOC_CATALOG_TABLE: &str = r#"{
  "id": {"schema": "druid", "name": "test_table"},
  "creationTime": 1730965026295,
  "updateTime": 1730965026295,
  "state": "ACTIVE",
  "spec": {
    "type": "datasource",
    "properties": {"segmentGranularity": "P1D", "sealed": true},
    "columns": [
      {"name": "__time", "dataType": "long"},
      {"name": "double_col", "dataType": "double"},
      {"name": "float_col", "dataType": "float"},
      {"name": "long_col", "dataType": "long"},
      {"name": "string_col", "dataType": "string"}
    ]
  }
}"#;

const CATALOG: &str = "/druid/coordinator/v1/catalog/schemas";

#[tokio::test]
async fn catalog_requests_and_answers() {
    let (coordinator, seen) = coordinator_with(r#"["test_table"]"#);
    assert_eq!(
        coordinator.catalog_tables("druid").await.unwrap(),
        ["test_table"]
    );
    assert_eq!(sent(&seen), format!("GET {CATALOG}/druid/tables"));

    let (coordinator, seen) = coordinator_with(&format!("[{DOC_CATALOG_TABLE}]"));
    let tables = coordinator.catalog_tables_metadata("druid").await.unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {CATALOG}/druid/tables?format=metadata")
    );
    assert_eq!(tables[0]["id"]["name"], "test_table");

    let (coordinator, seen) = coordinator_with(DOC_CATALOG_TABLE);
    let table = coordinator
        .catalog_table("druid", "test table:1")
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {CATALOG}/druid/tables/test%20table%3A1")
    );
    assert_eq!(table["spec"]["properties"]["sealed"], true);
    assert_eq!(table["spec"]["columns"].as_array().unwrap().len(), 5);

    let spec = json!({
        "type": "datasource",
        "columns": [{"name": "__time", "dataType": "long"}, {"name": "string_col", "dataType": "string"}],
        "properties": {"segmentGranularity": "P1D", "sealed": true}
    });
    let (coordinator, seen) = coordinator_with(r#"{"version": 1730965026295}"#);
    let created = coordinator
        .set_catalog_table("druid", "test_table", &spec)
        .await
        .unwrap();
    assert_eq!(created["version"], 1_730_965_026_295_i64);
    assert_eq!(
        sent(&seen),
        format!("POST {CATALOG}/druid/tables/test_table")
    );
    assert_eq!(body_json(&seen), spec);
    coordinator
        .set_catalog_table("druid", "test_table", &spec)
        .overwrite(true)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {CATALOG}/druid/tables/test_table?overwrite=true")
    );
    coordinator
        .set_catalog_table("druid", "test_table", &spec)
        .version(1_730_965_026_295)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("POST {CATALOG}/druid/tables/test_table?version=1730965026295")
    );

    let (coordinator, seen) = coordinator_answering(200, "");
    coordinator
        .delete_catalog_table("druid", "test_table")
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("DELETE {CATALOG}/druid/tables/test_table")
    );
    no_body(&seen);

    // Druid 27: an undefined table is a 404 in the legacy error shape.
    let (coordinator, _) = coordinator_answering(
        404,
        r#"{"error":"Not found","errorMessage":"Table \"druid\".\"nope\": not found"}"#,
    );
    let err = coordinator
        .catalog_table("druid", "nope")
        .await
        .unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(err.druid_error().unwrap().code(), Some("Not found"));
}

// ---- Kubernetes task runner ----

/// `GET /druid/indexer/v1/k8s/taskrunner/executionconfig`, as documented.
const DOC_K8S_CONFIG: &str = r#"{
  "type": "default",
  "podTemplateSelectStrategy":
  {
    "type": "selectorBased",
    "selectors": [
      {"selectionKey": "podSpec1", "context.tags": {"userProvidedTag": ["tag1", "tag2"]}, "dataSource": ["wikipedia"]},
      {"selectionKey": "podSpec2", "type": ["index_kafka"]}
    ]
  }
}"#;

/// `GET .../executionconfig/history`, as documented.
const DOC_K8S_HISTORY: &str = r#"[
  {
    "key": "k8s.taskrunner.config",
    "type": "k8s.taskrunner.config",
    "auditInfo": {"author": "", "comment": "", "ip": "127.0.0.1"},
    "payload": "{\"type\": \"default\",\"podTemplateSelectStrategy\":{\"type\": \"taskType\"}}",
    "auditTime": "2024-06-13T20:59:51.622Z"
  }
]"#;

const K8S: &str = "/druid/indexer/v1/k8s/taskrunner/executionconfig";

#[tokio::test]
async fn k8s_execution_config_requests_and_answers() {
    let (overlord, seen) = overlord_answering(200, DOC_K8S_CONFIG);
    let config = overlord.k8s_execution_config().await.unwrap().unwrap();
    assert_eq!(sent(&seen), format!("GET {K8S}"));
    assert_eq!(config["podTemplateSelectStrategy"]["type"], "selectorBased");
    // Never set: no content.
    let (overlord, _) = overlord_answering(204, "");
    assert!(overlord.k8s_execution_config().await.unwrap().is_none());

    let (overlord, seen) = overlord_answering(200, "");
    let body: Value = serde_json::from_str(DOC_K8S_CONFIG).unwrap();
    overlord
        .set_k8s_execution_config(&body)
        .author("ops")
        .comment("route kafka tasks")
        .await
        .unwrap();
    assert_eq!(sent(&seen), format!("POST {K8S}"));
    assert_eq!(body_json(&seen), body);
    let r = last(&seen);
    assert_eq!(r.headers["x-druid-author"], "ops");
    assert_eq!(r.headers["x-druid-comment"], "route kafka tasks");

    let (overlord, seen) = overlord_answering(200, DOC_K8S_HISTORY);
    let history = overlord
        .k8s_execution_config_history()
        .interval("2024-06-01/2024-07-01")
        .count(5)
        .await
        .unwrap();
    assert_eq!(
        sent(&seen),
        format!("GET {K8S}/history?interval=2024-06-01%2F2024-07-01&count=5")
    );
    assert_eq!(history[0].kind, "k8s.taskrunner.config");
    assert_eq!(
        history[0].payload_json().unwrap()["podTemplateSelectStrategy"]["type"],
        "taskType"
    );
    overlord.k8s_execution_config_history().await.unwrap();
    assert_eq!(sent(&seen), format!("GET {K8S}/history"));
}
