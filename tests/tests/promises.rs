//! What the README and the crate docs promise about errors and secrets,
//! each checked against an in-process fake: no secret in any `Debug` or
//! `Display`, TLS told from connect failures by the error's type, request
//! timeouts told from waits that ran out, and one short line of `Display`
//! whatever Druid (or a proxy in front of it) answered.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::time::Duration;

use druid_api::prelude::*;
use druid_api::transport::error::MAX_DISPLAY;
use druid_api::{
    Client, Cluster, ClusterModel, ErrorShape, MockResponse, Request, ServerRow, Transport,
    choose_port, service_url,
};
use druid_tests::fake::{FakeResponse, FakeServer};

const SECRET: &str = "s3cr3t-Pa55";

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
    assert!(
        !text.contains("czNjcjN0LVBhNTU"),
        "{what} shows the secret base64-encoded: {text}"
    );
}

#[tokio::test]
async fn no_public_type_shows_a_secret() {
    // The builder, with the password in the URL and given separately.
    let builder = Client::builder()
        .url(format!("http://admin:{SECRET}@localhost:8888"))
        .basic_auth("admin", SECRET)
        .mock(|_| MockResponse::new(200, "true"));
    assert_no_secret("ClientBuilder", &format!("{builder:?}"));
    let transport_builder = Transport::builder()
        .url(format!("http://admin:{SECRET}@localhost:8888"))
        .basic_auth("admin", SECRET);
    assert_no_secret("TransportBuilder", &format!("{transport_builder:?}"));

    // What it builds.
    let client = builder.build().unwrap();
    assert_no_secret("Client", &format!("{client:?}"));
    assert_no_secret("Transport", &format!("{:?}", client.transport()));
    assert_no_secret("Service", &format!("{:?}", client.service()));

    // A request with a user-added Authorization header and a password body.
    let request =
        Request::post("/druid-ext/basic-security/authentication/db/basic/users/u/credentials")
            .header("Authorization", &format!("Bearer {SECRET}"))
            .unwrap()
            .json(&serde_json::json!({ "password": SECRET }))
            .unwrap();
    assert_no_secret("Request", &format!("{request:?}"));

    // What a mock backend sees, and a response.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let mocked = Client::builder()
        .url("http://localhost:8888")
        .basic_auth("admin", SECRET)
        .mock(move |r| {
            log.lock().unwrap().push(format!("{r:?}"));
            MockResponse::new(401, r#"{"error":"Unauthorized"}"#)
        })
        .build()
        .unwrap();
    let err = mocked.service().execute(&request).await.unwrap();
    assert_no_secret("Response", &format!("{err:?}"));
    for line in seen.lock().unwrap().iter() {
        assert_no_secret("MockRequest", line);
    }

    // Errors, Debug and Display, and the cluster built from the client.
    let err = mocked.is_healthy().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert_no_secret("Error Display", &err.to_string());
    assert_no_secret("Error Debug", &format!("{err:?}"));
    let rows: Vec<ServerRow> = serde_json::from_value(serde_json::json!([
        {"server":"localhost:8081","host":"localhost","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":1}
    ]))
    .unwrap();
    let cluster = Cluster::from_model(client.clone(), ClusterModel::from_rows(rows));
    assert_no_secret("Cluster", &format!("{cluster:?}"));
    assert_no_secret(
        "CoordinatorClient",
        &format!("{:?}", cluster.coordinator().unwrap()),
    );

    // A URL that does not parse is shown without its user info.
    let err = Client::builder()
        .url(format!("http://admin:{SECRET}@/no-host"))
        .build()
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_no_secret("URL error", &format!("{err} {err:?}"));
}

/// A refused connection is a connect error even when the URL reads like
/// TLS: the class comes from the error's type, not its text (which used to
/// hold the URL, so `druid-tls-broker` looked like a TLS failure).
#[tokio::test]
async fn tls_is_told_by_type_not_by_the_words_in_a_url() {
    let port = closed_port();
    let client = druid_tests::quick_client(&format!(
        "http://127.0.0.1:{port}/druid-tls-broker/ssl-certificate-handshake"
    ));
    let err = client.is_healthy().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(!err.is_tls(), "{err:?}");
    assert!(err.is_retryable(), "a refused connection is transient");
    assert_eq!(err.attempts(), 3, "a refused read is tried again: {err}");

    // A plaintext server behind an https URL is a TLS failure.
    let server = FakeServer::start(|_| FakeResponse::json(&serde_json::json!(true))).await;
    let client = druid_api::connect(&format!("https://127.0.0.1:{}", server.port())).unwrap();
    let err = client.is_healthy().await.unwrap_err();
    assert!(err.is_tls(), "{err:?}");
    assert!(!err.is_connect(), "{err:?}");
}

#[tokio::test]
async fn a_request_timeout_is_not_a_wait_that_ran_out() {
    let server = FakeServer::start(|_| {
        FakeResponse::json(&serde_json::json!(true)).delayed(Duration::from_secs(5))
    })
    .await;
    let client = Client::builder()
        .url(server.url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client.is_healthy().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(!err.is_wait_timeout(), "{err:?}");

    let err = druid_api::wait::poll("nothing", Duration::from_millis(50), || async {
        Ok::<std::result::Result<(), String>, druid_api::Error>(Err("not yet".to_owned()))
    })
    .await
    .unwrap_err();
    assert!(err.is_wait_timeout(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
}

/// Jetty's error page, as a Router answers when its Broker is gone.
const BAD_GATEWAY_PAGE: &str = "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n<title>Error 502 Bad Gateway</title>\n</head>\n<body><h2>HTTP ERROR 502 Bad Gateway</h2>\n<table>\n<tr><th>URI:</th><td>/druid/v2/sql</td></tr>\n<tr><th>STATUS:</th><td>502</td></tr>\n<tr><th>MESSAGE:</th><td>Bad Gateway</td></tr>\n<tr><th>SERVLET:</th><td>org.apache.druid.server.AsyncQueryForwardingServlet-6b9fb84d</td></tr>\n</table>\n<hr/><a href=\"https://eclipse.org/jetty\">Powered by Jetty:// 9.4.51.v20230217</a><hr/>\n\n</body>\n</html>\n";

#[tokio::test]
async fn display_is_one_short_line_whatever_the_body() {
    let results: String = serde_json::to_string(
        &(0..80)
            .map(|i| serde_json::json!({"page": format!("Page {i}"), "added": i}))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(results.len() > 2000);
    let long_message = format!(
        r#"{{"error":"druidException","errorCode":"invalidInput","persona":"USER","category":"INVALID_INPUT","errorMessage":"{}","context":{{}}}}"#,
        "Column x is ambiguous. ".repeat(40)
    );
    let cases: Vec<(u16, String, &str)> = vec![
        (502, BAD_GATEWAY_PAGE.to_owned(), "Error 502 Bad Gateway"),
        (500, results.clone(), "Page 0"),
        (
            500,
            "line one\nline two\n\tline three".to_owned(),
            "line one line two",
        ),
        (400, long_message, "invalidInput: Column x is ambiguous."),
        (
            400,
            r#"{"error":"Plan validation failed","errorMessage":null}"#.to_owned(),
            "Plan validation failed",
        ),
    ];
    for (status, body, expected) in cases {
        let served = body.clone();
        let server = FakeServer::start(move |_| FakeResponse::new(status, served.clone())).await;
        let client = druid_tests::quick_client(&server.url());
        let err = client.sql("SELECT 1").send().await.unwrap_err();
        let line = err.to_string();
        assert!(!line.contains('\n'), "{line}");
        assert!(
            line.chars().count() <= MAX_DISPLAY,
            "{} chars: {line}",
            line.chars().count()
        );
        assert!(line.contains(&status.to_string()), "{line}");
        assert!(
            line.contains("client.sql_query"),
            "names the operation: {line}"
        );
        assert!(line.contains(expected), "{line}");
        let api = err.api().unwrap();
        assert_eq!(api.body, body, "the raw body stays available");
    }
    let page = druid_api::DruidError::parse(BAD_GATEWAY_PAGE.as_bytes());
    assert_eq!(page.shape, ErrorShape::Html);

    // SQL started from a Broker names the Broker.
    let server = FakeServer::start(|_| FakeResponse::new(502, BAD_GATEWAY_PAGE)).await;
    let broker =
        druid_api::BrokerClient::new(druid_tests::quick_client(&server.url()).service().clone());
    let err = broker.sql("SELECT 1").send().await.unwrap_err();
    assert_eq!(err.api().unwrap().operation, "broker.sql_query");

    // A body that does not decode says so in one line too.
    let served = results.clone();
    let server = FakeServer::start(move |_| FakeResponse::new(200, served.clone())).await;
    let client = druid_api::connect(&server.url()).unwrap();
    let err = client.status().await.unwrap_err();
    let line = err.to_string();
    assert!(err.decode().is_some(), "{err:?}");
    assert!(!line.contains('\n'), "{line}");
    assert!(line.chars().count() <= MAX_DISPLAY, "{line}");
    assert!(line.contains("ServerStatus"), "{line}");
}

#[tokio::test]
async fn transient_failures_say_so() {
    for (status, retryable) in [
        (502, true),
        (503, true),
        (504, true),
        (429, true),
        (500, false),
        (404, false),
        (400, false),
    ] {
        let server = FakeServer::start(move |_| FakeResponse::new(status, "")).await;
        let client = druid_tests::quick_client(&server.url());
        let err = client.status().await.unwrap_err();
        assert_eq!(err.is_retryable(), retryable, "{status}: {err}");
        let attempts = if retryable { 3 } else { 1 };
        assert_eq!(err.attempts(), attempts, "{status}: {err}");
        assert_eq!(server.requests().len(), attempts as usize, "{status}");
        if retryable {
            assert!(
                err.to_string().contains("gave up after 3 attempts"),
                "{err}"
            );
        }
    }
}

/// A redirect to another host is followed when the host is in the scope of
/// the service it was sent through, and the scope is a value: two clusters
/// from clones of one client never change each other's.
#[tokio::test]
async fn redirect_scopes_are_values_of_the_handles() {
    let leader = FakeServer::start(|_| FakeResponse::new(200, "leader.example:8081")).await;
    let port = leader.port();
    let follower = FakeServer::start(move |r| {
        FakeResponse::new(307, "").header(
            "Location",
            &format!("http://leader.example:{port}{}", r.target),
        )
    })
    .await;
    let rows = |host: &str| -> Vec<ServerRow> {
        serde_json::from_value(serde_json::json!([
            {"server":format!("{host}:{port}"),"host":host,"plaintext_port":port,"tls_port":-1,"server_type":"coordinator","is_leader":1}
        ]))
        .unwrap()
    };
    // Every host maps to a loopback address (nothing leaves this machine):
    // the leader to the server, any other host to 127.0.0.3. The follower
    // is asked as `localhost`, so the scope decides where a redirect goes.
    let to_loopback = |host: &str, plain: Option<u16>, tls: Option<u16>, prefer_tls: bool| {
        let (scheme, port) = choose_port(host, plain, tls, prefer_tls)?;
        let address = if host == "leader.example" {
            "127.0.0.1"
        } else {
            "127.0.0.3"
        };
        service_url(scheme, address, port)
    };
    let follower_url = format!("http://localhost:{}", follower.port());
    let client = Client::builder()
        .url(&follower_url)
        .mapper(to_loopback)
        .build()
        .unwrap();
    let knows_leader = Cluster::from_model(
        client.clone(),
        ClusterModel::from_rows(rows("leader.example")),
    );
    let knows_other = Cluster::from_model(
        client.clone(),
        ClusterModel::from_rows(rows("other.example")),
    );

    // Through the first cluster's scope, the redirect is followed.
    let through_leader_scope = druid_api::CoordinatorClient::new(
        client
            .transport()
            .service(follower_url.parse().unwrap())
            .with_redirect_scope(knows_leader.redirect_scope().clone()),
    );
    assert_eq!(
        through_leader_scope.leader().await.unwrap(),
        "leader.example:8081"
    );
    // The second cluster, built later from a clone of the same client, did
    // not narrow the first one's scope, nor widen its own.
    let through_other_scope = druid_api::CoordinatorClient::new(
        client
            .transport()
            .service(follower_url.parse().unwrap())
            .with_redirect_scope(knows_other.redirect_scope().clone()),
    );
    let err = through_other_scope.leader().await.unwrap_err();
    assert!(
        matches!(
            err.transport(),
            Some(druid_api::transport::Error::Redirect { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        through_leader_scope.leader().await.unwrap(),
        "leader.example:8081"
    );

    // A client built by hand follows the leader to the servers it was given.
    let by_hand = Client::builder()
        .url(&follower_url)
        .mapper(to_loopback)
        .redirect_origins([format!("leader.example:{port}")])
        .build()
        .unwrap();
    let coordinator = druid_api::CoordinatorClient::new(by_hand.service().clone());
    assert_eq!(coordinator.leader().await.unwrap(), "leader.example:8081");
}

/// Builders of generated calls own what they need: they can be spawned.
#[tokio::test]
async fn builders_of_generated_calls_can_be_spawned() {
    let server = FakeServer::start(|_| FakeResponse::json(&serde_json::json!([]))).await;
    let overlord = druid_api::OverlordClient::new(
        druid_api::connect(&server.url()).unwrap().service().clone(),
    );
    let tasks = tokio::spawn(
        overlord
            .tasks()
            .state(druid_api::models::TaskListState::Running)
            .send(),
    );
    drop(overlord);
    assert!(tasks.await.unwrap().unwrap().is_empty());
    assert_eq!(
        server.requests()[0].target,
        "/druid/indexer/v1/tasks?state=running"
    );
}

/// The shared endpoint groups are the same methods on every client that
/// has them, so code can be generic over them.
#[tokio::test]
async fn shared_groups_are_generic_and_sql_runs_on_brokers_and_routers() {
    async fn version(client: &impl StatusApi) -> String {
        client.status().await.unwrap().version
    }
    let server = FakeServer::start(|r| match r.path() {
        "/status" => FakeResponse::json(&serde_json::json!({"version": "27.0.0", "modules": []})),
        _ => FakeResponse::new(200, "[\"one\"]\n[1]\n\n"),
    })
    .await;
    let service = druid_api::connect(&server.url()).unwrap().service().clone();
    let broker = druid_api::BrokerClient::new(service.clone());
    let router = druid_api::RouterClient::new(service.clone());
    let historical = druid_api::HistoricalClient::new(service);
    for v in [
        version(&broker).await,
        version(&router).await,
        version(&historical).await,
    ] {
        assert_eq!(v, "27.0.0");
    }
    #[derive(serde::Deserialize)]
    struct One {
        one: i64,
    }
    let on_broker: Vec<One> = broker.sql("SELECT 1 AS one").rows().await.unwrap();
    let on_router: Vec<One> = router.sql("SELECT 1 AS one").rows().await.unwrap();
    assert_eq!((on_broker[0].one, on_router[0].one), (1, 1));
    let sql: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path() == "/druid/v2/sql")
        .map(|r| r.method.clone())
        .collect();
    assert_eq!(sql, ["POST", "POST"]);
}
