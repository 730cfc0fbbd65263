//! Basic-security models: users, roles, permissions, group mappings (druid-basic-security).
//!
//! The Coordinator keeps two databases per extension instance: an
//! authenticator's users with their credentials ([`AuthenticatorUser`]), and
//! an authorizer's users, roles and group mappings ([`AuthorizerUser`],
//! [`AuthorizerRole`], [`GroupMapping`]). A user who logs in needs an entry in
//! both, with the same name.
//!
//! Druid writes permissions in two formats: the one roles are set with,
//! `{"resource": {"name", "type"}, "action"}`, and a deprecated one that the
//! role and user reads still use by default,
//! `{"resourceAction": {...}, "resourceNamePattern"}`. [`Permission`] reads
//! both and always writes the first.

use std::fmt;

use serde::{Deserialize, Serialize};

string_enum! {
    /// The type of a resource a permission applies to.
    pub enum ResourceType {
        /// A datasource (tables of the `druid` schema).
        Datasource = "DATASOURCE",
        /// A view.
        View = "VIEW",
        /// A configuration (`CONFIG`): the dynamic configs, `security` for this API.
        Config = "CONFIG",
        /// Cluster state (`STATE`): status, servers, tasks' locations.
        State = "STATE",
        /// A system table (`sys.*`), when authorized directly.
        SystemTable = "SYSTEM_TABLE",
        /// A query context key.
        QueryContext = "QUERY_CONTEXT",
        /// External data (`EXTERN`, input sources).
        External = "EXTERNAL",
    }
}

string_enum! {
    /// What a permission allows on a resource.
    pub enum Action {
        /// Read (query, list, get).
        Read = "READ",
        /// Write (ingest, update, delete).
        Write = "WRITE",
    }
}

/// A resource, or with a pattern as name, a set of resources.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Resource {
    /// The name; in permissions a regular expression that must match the
    /// whole resource name (`wiki.*`).
    pub name: String,
    /// The type.
    #[serde(rename = "type")]
    pub resource_type: ResourceType,
}

impl Resource {
    /// A resource of any type.
    pub fn new(resource_type: ResourceType, name: impl Into<String>) -> Self {
        Resource {
            name: name.into(),
            resource_type,
        }
    }

    /// Datasources whose names match `pattern`.
    pub fn datasource(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::Datasource, pattern)
    }

    /// Views whose names match `pattern`.
    pub fn view(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::View, pattern)
    }

    /// Configurations whose names match `pattern` (`security` for this API).
    pub fn config(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::Config, pattern)
    }

    /// Cluster state (Druid names it `STATE`; `.*` covers it).
    pub fn state(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::State, pattern)
    }

    /// System tables whose names match `pattern`.
    pub fn system_table(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::SystemTable, pattern)
    }

    /// External data (Druid names it `EXTERNAL`).
    pub fn external(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::External, pattern)
    }

    /// Query context keys that match `pattern`.
    pub fn query_context(pattern: impl Into<String>) -> Self {
        Self::new(ResourceType::QueryContext, pattern)
    }
}

/// A permission of a role: an action on the resources a pattern matches.
///
/// Serializes as `{"resource": {"name", "type"}, "action"}`, the format
/// `set_role_permissions` takes; reads that format and the deprecated
/// `{"resourceAction": {"resource", "action"}, "resourceNamePattern"}` too,
/// so the permissions of a role read in either format can be posted back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "PermissionWire")]
#[non_exhaustive]
pub struct Permission {
    /// The resources, by type and name pattern.
    pub resource: Resource,
    /// What is allowed on them.
    pub action: Action,
    /// The compiled pattern Druid adds in the deprecated format (equal to
    /// `resource.name`); `None` in the simplified format. Never sent.
    #[serde(skip_serializing)]
    pub resource_name_pattern: Option<String>,
}

impl Permission {
    /// `action` on `resource`.
    pub fn new(resource: Resource, action: Action) -> Self {
        Permission {
            resource,
            action,
            resource_name_pattern: None,
        }
    }

    /// READ on `resource`.
    pub fn read(resource: Resource) -> Self {
        Self::new(resource, Action::Read)
    }

    /// WRITE on `resource`.
    pub fn write(resource: Resource) -> Self {
        Self::new(resource, Action::Write)
    }

    /// The permission without the deprecated format's pattern, as Druid
    /// stores it; two reads of one role in the two formats compare equal
    /// after this.
    pub fn simplified(&self) -> Self {
        Self::new(self.resource.clone(), self.action.clone())
    }
}

/// `resource` + `action`, the simplified format and the inner object of the
/// deprecated one.
#[derive(Deserialize)]
struct PlainPermission {
    resource: Resource,
    action: Action,
}

/// Both permission formats, as they come on the wire.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionWire {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default)]
    action: Option<Action>,
    #[serde(default)]
    resource_action: Option<PlainPermission>,
    #[serde(default)]
    resource_name_pattern: Option<String>,
}

/// Why a permission could not be read.
#[derive(Debug)]
struct PermissionShapeError(&'static str);

impl fmt::Display for PermissionShapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl TryFrom<PermissionWire> for Permission {
    type Error = PermissionShapeError;

    fn try_from(wire: PermissionWire) -> Result<Self, Self::Error> {
        let (resource, action) = match (wire.resource_action, wire.resource, wire.action) {
            (Some(inner), _, _) => (inner.resource, inner.action),
            (None, Some(resource), Some(action)) => (resource, action),
            _ => {
                return Err(PermissionShapeError(
                    "a permission needs `resource` and `action`, or `resourceAction`",
                ));
            }
        };
        Ok(Permission {
            resource,
            action,
            resource_name_pattern: wire.resource_name_pattern,
        })
    }
}

/// A role of an authorizer (`GET .../roles/{roleName}`).
///
/// Which lists are present depends on the flags of the read: `users` needs
/// `full` (the simplified format sends `null` without it), and `groups` (the
/// group mappings with the role) comes only with `full` in the default format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthorizerRole {
    /// The role's name.
    pub name: String,
    /// The users that have the role, when asked for (`full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// The group mappings that have the role, when Druid sends them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// The permissions, in either format.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

impl AuthorizerRole {
    /// The permissions without the deprecated format's patterns.
    pub fn simplified_permissions(&self) -> Vec<Permission> {
        self.permissions
            .iter()
            .map(Permission::simplified)
            .collect()
    }
}

/// An authorizer's user with the names of its roles
/// (`GET .../authorization/db/{authorizerName}/users/{userName}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthorizerUser {
    /// The user name.
    pub name: String,
    /// The names of the user's roles.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// An authorizer's user with its roles in full (`?full`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthorizerUserFull {
    /// The user name.
    pub name: String,
    /// The user's roles with their permissions.
    #[serde(default)]
    pub roles: Vec<AuthorizerRole>,
}

impl AuthorizerUserFull {
    /// The names of the user's roles.
    pub fn role_names(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }
}

/// An authenticator's user
/// (`GET .../authentication/db/{authenticatorName}/users/{userName}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuthenticatorUser {
    /// The user name.
    pub name: String,
    /// The password hash; `None` until a password is set.
    #[serde(default)]
    pub credentials: Option<UserCredentials>,
}

impl AuthenticatorUser {
    /// Whether the user has a password (and so can log in).
    pub fn has_password(&self) -> bool {
        self.credentials.is_some()
    }
}

/// A user's stored credentials: a salted PBKDF2 hash, never the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UserCredentials {
    /// The salt, base64.
    #[serde(default)]
    pub salt: Option<String>,
    /// The hash, base64.
    #[serde(default)]
    pub hash: Option<String>,
    /// The number of PBKDF2 iterations.
    #[serde(default)]
    pub iterations: Option<i64>,
}

/// The body that sets a user's password (`POST .../users/{userName}/credentials`).
///
/// `Debug` never shows the password. Avoid `:` in passwords: Druid 27 stores
/// them but refuses them at login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CredentialsUpdate {
    /// The new password.
    pub password: String,
}

impl CredentialsUpdate {
    /// A password change.
    pub fn new(password: impl Into<String>) -> Self {
        CredentialsUpdate {
            password: password.into(),
        }
    }
}

impl fmt::Debug for CredentialsUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsUpdate")
            .field("password", &"<redacted>")
            .finish()
    }
}

/// An LDAP group mapping: the roles that members of matching groups get.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GroupMapping {
    /// The mapping's name (on creation, the name in the path wins).
    pub name: String,
    /// The pattern LDAP group names (DNs) are matched with, e.g.
    /// `CN=admins,OU=Groups,DC=example,DC=com`.
    pub group_pattern: String,
    /// The names of the roles it gives.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl GroupMapping {
    /// A mapping of the groups `group_pattern` matches to `roles`.
    pub fn new(
        name: impl Into<String>,
        group_pattern: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        GroupMapping {
            name: name.into(),
            group_pattern: group_pattern.into(),
            roles: roles.into_iter().map(Into::into).collect(),
        }
    }
}
