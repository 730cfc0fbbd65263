//! Transport behaviour against an in-process fake server: TLS with a private
//! CA, mutual TLS, Basic auth, timeouts, redirects and Druid's error bodies.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use druid_api::prelude::*;
use druid_api::transport::Error as TransportError;
use druid_api::{Client, DockerMapper, ErrorShape};
use druid_tests::fake::{FakeResponse, FakeServer};
use druid_tests::tls::{TestCa, mutual_tls_config, server_config};

fn health() -> FakeResponse {
    FakeResponse::json(&serde_json::json!(true))
}

#[tokio::test]
async fn tls_with_the_private_ca_is_trusted() {
    let ca = TestCa::new("Druid Test CA");
    let server = FakeServer::start_tls(server_config(&ca.server_cert()), |_| health()).await;
    let client = Client::builder()
        .url(server.url())
        .ca_cert_pem(ca.cert_pem.clone())
        .build()
        .unwrap();
    assert!(client.is_healthy().await.unwrap());
    assert_eq!(server.requests()[0].path(), "/status/health");
}

#[tokio::test]
async fn tls_without_or_with_the_wrong_ca_is_refused_as_a_tls_error() {
    let ca = TestCa::new("Druid Test CA");
    let server = FakeServer::start_tls(server_config(&ca.server_cert()), |_| health()).await;

    let no_ca = druid_api::connect(&server.url()).unwrap();
    let err = no_ca.is_healthy().await.unwrap_err();
    assert!(err.is_tls(), "expected a TLS error, got {err:?}");

    let other = TestCa::new("Some Other CA");
    let wrong = Client::builder()
        .url(server.url())
        .ca_cert_pem(other.cert_pem.clone())
        .only_given_cas()
        .build()
        .unwrap();
    let err = wrong.is_healthy().await.unwrap_err();
    assert!(err.is_tls(), "expected a TLS error, got {err:?}");
    assert!(err.to_string().contains("TLS"), "{err}");
    assert!(
        server.requests().is_empty(),
        "no request may pass an untrusted handshake"
    );
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let ca = TestCa::new("Druid Test CA");
    let server =
        FakeServer::start_tls(mutual_tls_config(&ca.server_cert(), &ca), |_| health()).await;

    let with_identity = Client::builder()
        .url(server.url())
        .ca_cert_pem(ca.cert_pem.clone())
        .client_identity_pem(ca.client_cert().identity_pem())
        .build()
        .unwrap();
    assert!(with_identity.is_healthy().await.unwrap());

    // The server's "certificate required" alert may arrive after the
    // handshake, at the first read (TLS 1.3); it is a TLS failure either
    // way, with either backend, and not retried.
    let without = Client::builder()
        .url(server.url())
        .ca_cert_pem(ca.cert_pem.clone())
        .build()
        .unwrap();
    let err = without.is_healthy().await.unwrap_err();
    assert!(
        err.is_tls(),
        "the server must refuse a client without certificate, as TLS: {err:?}"
    );
    assert_eq!(err.attempts(), 1, "a TLS refusal is not retried: {err:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "only the client with a certificate got through"
    );
}

#[test]
fn bad_tls_material_is_a_configuration_error() {
    let err = Client::builder()
        .url("https://localhost:1")
        .ca_cert_pem("not a certificate")
        .build()
        .unwrap_err();
    assert!(
        matches!(err.transport(), Some(TransportError::Config { .. })),
        "{err:?}"
    );
    let err = Client::builder()
        .url("https://localhost:1")
        .ca_cert_file("/definitely/not/here.pem")
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("/definitely/not/here.pem"),
        "{err}"
    );
    let err = Client::builder()
        .url("https://localhost:1")
        .client_identity_pem("garbage")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("private key"), "{err}");
}

#[tokio::test]
async fn basic_auth_is_sent_and_never_shown() {
    let server = FakeServer::start(|r| match r.header("authorization") {
        Some("Basic YWRtaW46czNjcjN0") => health(),
        _ => FakeResponse::new(401, r#"{"error":"Unauthorized"}"#),
    })
    .await;
    let good = Client::builder()
        .url(server.url())
        .basic_auth("admin", "s3cr3t")
        .build()
        .unwrap();
    assert!(good.is_healthy().await.unwrap());

    let bad = Client::builder()
        .url(server.url())
        .basic_auth("admin", "wr0ng-pw")
        .build()
        .unwrap();
    let err = bad.is_healthy().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{bad:?}"),
        format!("{:?}", bad.transport()),
    ] {
        assert!(!text.contains("wr0ng-pw"), "password leaked: {text}");
    }

    // Credentials in the URL work the same, and are not kept in the URL.
    let in_url = format!("http://admin:s3cr3t@127.0.0.1:{}", server.port());
    let from_url = druid_api::connect(&in_url).unwrap();
    assert!(from_url.is_healthy().await.unwrap());
    assert!(!from_url.base_url().as_str().contains("s3cr3t"));
}

#[tokio::test]
async fn slow_answers_time_out_and_closed_ports_fail_to_connect() {
    let server = FakeServer::start(|_| health().delayed(Duration::from_secs(5))).await;
    let client = Client::builder()
        .url(server.url())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.is_healthy().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the timeout must cut the wait short"
    );

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let closed = druid_tests::quick_client(&format!("http://127.0.0.1:{port}"));
    let err = closed.is_healthy().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.to_string().contains(&port.to_string()), "{err}");
}

#[tokio::test]
async fn leader_redirects_keep_method_body_and_auth() {
    let leader = FakeServer::start(|r| {
        if r.header("authorization").is_some() {
            FakeResponse::json(&serde_json::json!({"task": "index_wiki_1"}))
        } else {
            FakeResponse::new(401, "")
        }
    })
    .await;
    let leader_port = leader.port();
    let follower = FakeServer::start(move |r| {
        FakeResponse::new(307, "").header(
            "Location",
            &format!("http://127.0.0.1:{leader_port}{}", r.target),
        )
    })
    .await;
    let client = Client::builder()
        .url(follower.url())
        .basic_auth("admin", "pw")
        .redirect_origins([format!("127.0.0.1:{leader_port}")])
        .build()
        .unwrap();
    let overlord = druid_api::OverlordClient::new(client.service().clone());
    let spec = serde_json::json!({"type": "index_parallel", "id": "index_wiki_1", "spec": {}});
    let answer = overlord.submit_task(&spec).await.unwrap();
    assert_eq!(answer.task, "index_wiki_1");

    let seen = leader.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path(), "/druid/indexer/v1/task");
    assert!(
        seen[0].header("authorization").is_some(),
        "auth must survive the port change"
    );
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body, spec);
}

#[tokio::test]
async fn redirects_leave_the_cluster_only_never_and_loops_end() {
    let hops = Arc::new(AtomicUsize::new(0));
    let counter = hops.clone();
    let looping = FakeServer::start(move |r| {
        counter.fetch_add(1, Ordering::SeqCst);
        FakeResponse::new(307, "").header("Location", &r.target)
    })
    .await;
    let client = druid_api::connect(&looping.url()).unwrap();
    let err = client.status().await.unwrap_err();
    assert!(
        matches!(err.transport(), Some(TransportError::Redirect { reason, .. }) if reason.contains("more than 5")),
        "{err:?}"
    );
    assert_eq!(hops.load(Ordering::SeqCst), 6);

    let escaping = FakeServer::start(|_| {
        FakeResponse::new(307, "").header("Location", "http://attacker.example:80/steal")
    })
    .await;
    let client = Client::builder()
        .url(escaping.url())
        .basic_auth("a", "b")
        .build()
        .unwrap();
    let err = client.status().await.unwrap_err();
    assert!(
        matches!(err.transport(), Some(TransportError::Redirect { to: Some(to), .. }) if to.contains("attacker.example")),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirect_targets_are_mapped_like_discovered_servers() {
    // The follower names the leader as the cluster sees it (a container
    // address); the mapper turns it into the forwarded port.
    let leader = FakeServer::start(|_| FakeResponse::new(200, "http://172.18.0.4:8081")).await;
    let follower = FakeServer::start(|r| {
        FakeResponse::new(307, "").header("Location", &format!("http://127.0.0.1:8081{}", r.target))
    })
    .await;
    let client = Client::builder()
        .url(follower.url())
        .mapper(DockerMapper::new("127.0.0.1", [[leader.port(), 8081]]))
        .redirect_origins(["127.0.0.1:8081"])
        .build()
        .unwrap();
    let coordinator = druid_api::CoordinatorClient::new(client.service().clone());
    assert_eq!(
        coordinator.leader().await.unwrap(),
        "http://172.18.0.4:8081"
    );
    assert_eq!(leader.requests().len(), 1);
}

/// Serves each documented error body and checks the parsed shape.
#[tokio::test]
async fn every_error_shape_is_parsed() {
    // (status, body, shape, code, message)
    type Case = (
        u16,
        String,
        ErrorShape,
        Option<&'static str>,
        Option<&'static str>,
    );
    let cases: Vec<Case> = vec![
        (
            400,
            r#"{"error":"SQL parse failed","errorMessage":"Encountered \"FROM\"","errorClass":"org.apache.calcite.sql.parser.SqlParseException","host":null}"#.to_owned(),
            ErrorShape::Legacy,
            Some("SQL parse failed"),
            Some("Encountered \"FROM\""),
        ),
        (
            400,
            r#"{"error":"druidException","errorCode":"invalidInput","persona":"USER","category":"INVALID_INPUT","errorMessage":"Table [x] not found","context":{"sourceType":"sql"}}"#.to_owned(),
            ErrorShape::DruidException,
            Some("invalidInput"),
            Some("Table [x] not found"),
        ),
        (404, r#"{"error":"Unknown task [nope]"}"#.to_owned(), ErrorShape::Bare, None, Some("Unknown task [nope]")),
        (404, "No task reports were found for this task.".to_owned(), ErrorShape::Text, None, Some("No task reports were found for this task.")),
        (503, String::new(), ErrorShape::Empty, None, None),
        (
            405,
            r#"{"servlet":"org.eclipse.jetty.servlet.ServletHandler$Default404Servlet","message":"HTTP method POST is not supported by this URL","url":"/status","status":"405"}"#.to_owned(),
            ErrorShape::Jetty,
            None,
            Some("HTTP method POST is not supported by this URL"),
        ),
    ];
    for (status, body, shape, code, message) in cases {
        let served = body.clone();
        let server = FakeServer::start(move |_| FakeResponse::new(status, served.clone())).await;
        let client = druid_tests::quick_client(&server.url());
        let err = client.status().await.unwrap_err();
        let Some(api) = err.api() else {
            panic!("{err:?}")
        };
        assert_eq!(api.status.as_u16(), status);
        assert_eq!(api.body, body, "the raw body is kept");
        assert_eq!(api.error.shape, shape, "{body}");
        assert_eq!(api.error.code(), code, "{body}");
        assert_eq!(api.error.message(), message, "{body}");
        assert_eq!(api.operation, "client.status");
        assert!(api.url.ends_with("/status"));
    }
}

/// The documented error bodies (tests/data/druid-api/fixtures) parse into the shape they show.
#[test]
fn documented_error_fixtures_parse() {
    let dir = druid_tests::api_data_dir().join("fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("the fixtures are in tests/data/druid-api") {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("error__") {
            continue;
        }
        let body = std::fs::read(&path).unwrap();
        let parsed = druid_api::DruidError::parse(&body);
        assert!(
            matches!(
                parsed.shape,
                ErrorShape::Legacy | ErrorShape::DruidException | ErrorShape::Bare
            ),
            "{name}: {parsed:?}"
        );
        assert!(
            parsed.code().is_some() || parsed.message().is_some(),
            "{name}: nothing readable in {parsed:?}"
        );
        if name.starts_with("error__druidexception") {
            assert_eq!(parsed.shape, ErrorShape::DruidException, "{name}");
            assert!(parsed.error_code.is_some(), "{name}");
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "expected the documented error fixtures, found {checked}"
    );
}

/// Sequential calls through one transport share one kept-alive connection,
/// whatever they carry: successes, Druid's error bodies, request bodies; a
/// second service of the same transport takes the same connection.
#[tokio::test]
async fn sequential_requests_through_one_transport_share_one_connection() {
    let server = FakeServer::start(|r| match r.path() {
        "/status/health" => health(),
        "/echo" => {
            FakeResponse::new(200, r.body.clone()).header("Content-Type", "application/json")
        }
        _ => FakeResponse::new(404, r#"{"error":"Unknown thing"}"#),
    })
    .await;
    let transport = druid_transport::Transport::builder().build().unwrap();
    let base = druid_transport::url::Url::parse(&server.url()).unwrap();
    let service = transport.service(base.clone());

    for _ in 0..3 {
        let healthy: bool = service.get_json("/status/health").await.unwrap();
        assert!(healthy);
    }
    let err = service
        .get_json::<serde_json::Value>("/nope")
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    let spec = serde_json::json!({"type": "index_parallel", "spec": {"n": 1}});
    let echoed: serde_json::Value = service.post_json("/echo", &spec).await.unwrap();
    assert_eq!(echoed, spec, "request boundaries hold on a kept connection");
    let again = transport.service(base);
    let healthy: bool = again.get_json("/status/health").await.unwrap();
    assert!(healthy);

    let seen = server.requests();
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[4].method, "POST");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&seen[4].body).unwrap(),
        spec
    );
    assert_eq!(
        server.connections(),
        1,
        "six sequential requests of one transport must reuse one connection"
    );
}

/// Over TLS, and over mutual TLS, one handshake serves many requests.
#[tokio::test]
async fn tls_and_mutual_tls_connections_are_reused() {
    let ca = TestCa::new("Druid Test CA");
    for (name, config) in [
        ("TLS", server_config(&ca.server_cert())),
        ("mutual TLS", mutual_tls_config(&ca.server_cert(), &ca)),
    ] {
        let server = FakeServer::start_tls(config, |_| health()).await;
        let client = Client::builder()
            .url(server.url())
            .ca_cert_pem(ca.cert_pem.clone())
            .client_identity_pem(ca.client_cert().identity_pem())
            .build()
            .unwrap();
        for _ in 0..4 {
            assert!(client.is_healthy().await.unwrap(), "{name}");
        }
        assert_eq!(server.requests().len(), 4, "{name}");
        assert_eq!(
            server.connections(),
            1,
            "{name}: four requests must ride one connection"
        );
    }
}

/// An answer with `Connection: close` ends its connection: the next request
/// connects anew, and that new connection is kept in turn.
#[tokio::test]
async fn a_connection_close_answer_makes_the_next_request_connect_anew() {
    let server = FakeServer::start(|r| match r.path() {
        "/status" => {
            FakeResponse::json(&serde_json::json!({"version": "33.0.0"})).close_connection()
        }
        _ => health(),
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    assert!(client.is_healthy().await.unwrap());
    assert!(client.is_healthy().await.unwrap());
    assert_eq!(server.connections(), 1);

    assert_eq!(client.status().await.unwrap().version, "33.0.0");
    assert_eq!(
        server.connections(),
        1,
        "the closing answer came over the kept connection"
    );

    assert!(client.is_healthy().await.unwrap());
    assert_eq!(
        server.connections(),
        2,
        "after Connection: close the next request needs a new connection"
    );
    assert!(client.is_healthy().await.unwrap());
    assert_eq!(server.connections(), 2, "and the new connection is kept");
    assert_eq!(server.requests().len(), 5);
}

/// Requests in flight at once each need a connection; later requests take
/// one of the idle ones instead of opening more.
#[tokio::test]
async fn concurrent_requests_open_connections_that_later_requests_reuse() {
    let server = FakeServer::start(|r| match r.path() {
        "/status/health" => health().delayed(Duration::from_millis(300)),
        _ => FakeResponse::json(&serde_json::json!({"version": "33.0.0"})),
    })
    .await;
    let client = druid_api::connect(&server.url()).unwrap();
    let (a, b) = tokio::join!(client.is_healthy(), client.is_healthy());
    assert!(a.unwrap() && b.unwrap());
    assert_eq!(
        server.connections(),
        2,
        "two requests in flight, two connections"
    );

    for _ in 0..4 {
        assert_eq!(client.status().await.unwrap().version, "33.0.0");
    }
    assert_eq!(server.requests().len(), 6);
    assert_eq!(
        server.connections(),
        2,
        "sequential requests take an idle connection"
    );
}

/// A request that timed out leaves its connection with an answer still
/// owed; that connection must not be reused: the next request connects
/// anew and gets its own answer.
#[tokio::test]
async fn a_timed_out_request_does_not_leave_its_connection_for_reuse() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = FakeServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            FakeResponse::json(&serde_json::json!({"version": "slow"}))
                .delayed(Duration::from_secs(2))
        } else {
            FakeResponse::json(&serde_json::json!({"version": "fast"}))
        }
    })
    .await;
    let client = Client::builder()
        .url(server.url())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client.status().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");

    assert_eq!(client.status().await.unwrap().version, "fast");
    assert_eq!(
        server.connections(),
        2,
        "the abandoned connection must not carry the next request"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
