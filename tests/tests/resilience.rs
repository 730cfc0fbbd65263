//! The transport on a cluster's bad days, against in-process servers that
//! fail on purpose: retries of what is safe to repeat (and only that),
//! their limits, answers that are data and not failures, bearer tokens and
//! extra headers, and the read-only mode.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use druid_api::prelude::*;
use druid_api::{BrokerClient, OverlordClient, RetryPolicy};
use druid_tests::fake::{FakeResponse, FakeServer};
use druid_tests::{quick_client, quick_retries};
use serde_json::json;

fn status_body() -> FakeResponse {
    FakeResponse::json(&json!({"version": "27.0.0", "modules": []}))
}

/// Answers with `first` for the first `failures` requests, then with `then`.
async fn failing_first(
    failures: usize,
    first: impl Fn() -> FakeResponse + Send + Sync + 'static,
    then: impl Fn() -> FakeResponse + Send + Sync + 'static,
) -> FakeServer {
    let calls = Arc::new(AtomicUsize::new(0));
    FakeServer::start(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) < failures {
            first()
        } else {
            then()
        }
    })
    .await
}

fn overlord_at(url: &str, policy: RetryPolicy) -> OverlordClient {
    let client = druid_api::Client::builder()
        .url(url)
        .retry(policy)
        .build()
        .unwrap();
    OverlordClient::new(client.service().clone())
}

#[tokio::test]
async fn a_read_that_meets_503_then_200_succeeds_on_the_second_attempt() {
    let server = failing_first(
        1,
        || FakeResponse::new(503, "Service Unavailable"),
        status_body,
    )
    .await;
    let client = quick_client(&server.url());
    let status = client.status().await.unwrap();
    assert_eq!(status.version, "27.0.0");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_body_cut_off_is_sent_again_for_a_read_but_never_for_a_write() {
    let full = json!({"version": "27.0.0", "modules": []}).to_string();
    let cut = {
        let full = full.clone();
        move || FakeResponse::new(200, full.clone()).cut_after(10)
    };
    let server = failing_first(1, cut.clone(), status_body).await;
    let client = quick_client(&server.url());
    assert_eq!(client.status().await.unwrap().version, "27.0.0");
    assert_eq!(server.requests().len(), 2, "the read was sent again");

    // A supervisor reset may have been taken: one attempt, a clear error.
    let server = failing_first(1, cut, || FakeResponse::json(&json!({"id": "wiki"}))).await;
    let overlord = overlord_at(&server.url(), quick_retries());
    let err = overlord.reset_supervisor("wiki").await.unwrap_err();
    assert_eq!(server.requests().len(), 1, "a write is never sent twice");
    assert_eq!(err.attempts(), 1);
    assert!(err.is_retryable(), "the failure is transient: {err:?}");
}

#[tokio::test]
async fn a_write_that_meets_502_is_not_sent_again_and_an_idempotent_one_is() {
    let gateway = || FakeResponse::new(502, "<html><title>Error 502 Bad Gateway</title></html>");
    let server = failing_first(1, gateway, || FakeResponse::json(&json!({"id": "wiki"}))).await;
    let overlord = overlord_at(&server.url(), quick_retries());
    let err = overlord.reset_supervisor("wiki").await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 502);
    assert_eq!(server.requests().len(), 1);
    assert!(
        err.to_string().contains("Error 502 Bad Gateway"),
        "the page's title, not the page: {err}"
    );

    // Suspending a supervisor twice suspends it once: it is sent again.
    let server = failing_first(1, gateway, || FakeResponse::json(&json!({"id": "wiki"}))).await;
    let overlord = overlord_at(&server.url(), quick_retries());
    overlord.suspend_supervisor("wiki").await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_answer_is_not_a_failure_a_readiness_503_is_sent_once() {
    let server = FakeServer::start(|_| FakeResponse::new(503, "")).await;
    let client = quick_client(&server.url());
    let broker = BrokerClient::new(client.service().clone());
    assert!(!broker.is_ready().await.unwrap());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn a_druid_error_that_is_final_is_not_retried() {
    // Druid's own refusal of the query is final: sent once.
    let server = FakeServer::start(|_| {
        FakeResponse::new(
            400,
            r#"{"error":"druidException","errorCode":"invalidInput","persona":"USER","category":"INVALID_INPUT","errorMessage":"Unknown table","context":{}}"#,
        )
    })
    .await;
    let client = quick_client(&server.url());
    let err = client.sql("SELECT 1").send().await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert!(!err.is_retryable(), "{err}");
}

#[tokio::test]
async fn retries_end_at_the_attempt_limit_and_the_deadline() {
    let server = FakeServer::start(|_| FakeResponse::new(503, "")).await;
    let client = druid_api::Client::builder()
        .url(server.url())
        .retry(
            RetryPolicy::default()
                .max_attempts(100)
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(40))
                .deadline(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.status().await.unwrap_err();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "the deadline holds: {took:?}"
    );
    let attempts = err.attempts() as usize;
    assert!((3..100).contains(&attempts), "{attempts} attempts");
    assert_eq!(server.requests().len(), attempts);
    let line = err.to_string();
    assert!(
        line.contains(&format!("gave up after {attempts} attempts")),
        "{line}"
    );
    assert!(line.contains("503"), "{line}");
    assert!(err.is_retryable());

    // `no_retries` sends once.
    let once = druid_api::Client::builder()
        .url(server.url())
        .no_retries()
        .build()
        .unwrap();
    let before = server.requests().len();
    let err = once.status().await.unwrap_err();
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.requests().len(), before + 1);
}

#[tokio::test]
async fn a_redirect_to_a_dead_leader_is_a_clear_retryable_error_in_time() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let follower = FakeServer::start(move |r| {
        FakeResponse::new(307, "")
            .header("Location", &format!("http://127.0.0.1:{dead}{}", r.path()))
    })
    .await;
    let client = druid_api::Client::builder()
        .url(follower.url())
        .retry(quick_retries())
        .redirect_origins([format!("127.0.0.1:{dead}")])
        .build()
        .unwrap();
    let overlord = OverlordClient::new(client.service().clone());
    let started = Instant::now();
    let err = overlord.task_status("t1").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(err.is_connect(), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.attempts(), 3);
    assert!(err.to_string().contains(&dead.to_string()), "{err}");
}

#[tokio::test]
async fn bearer_tokens_static_or_from_a_provider_and_extra_headers() {
    let server = FakeServer::start(|_| status_body()).await;
    let client = druid_api::Client::builder()
        .url(server.url())
        .bearer_token("t0ken-static")
        .header("X-Team", "dashboards")
        .build()
        .unwrap();
    client.status().await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[0].header("authorization"), Some("Bearer t0ken-static"));
    assert_eq!(seen[0].header("x-team"), Some("dashboards"));
    let debug = format!("{client:?} {:?}", client.transport());
    assert!(!debug.contains("t0ken-static"), "{debug}");

    // A provider is asked before each request, so a token can refresh.
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let client = druid_api::Client::builder()
        .url(server.url())
        .bearer_token_provider(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, druid_api::transport::BoxError>(format!("t0ken-{n}")) }
        })
        .build()
        .unwrap();
    client.status().await.unwrap();
    client.status().await.unwrap();
    let seen = server.requests();
    assert_eq!(seen[1].header("authorization"), Some("Bearer t0ken-0"));
    assert_eq!(seen[2].header("authorization"), Some("Bearer t0ken-1"));
    assert_eq!(asked.load(Ordering::SeqCst), 2);

    // A provider that fails: nothing is sent, the error says why.
    let client = druid_api::Client::builder()
        .url(server.url())
        .bearer_token_provider(|| async {
            Err::<String, druid_api::transport::BoxError>("vault sealed".into())
        })
        .build()
        .unwrap();
    let before = server.requests().len();
    let err = client.status().await.unwrap_err();
    assert!(err.to_string().contains("token provider"), "{err}");
    assert_eq!(server.requests().len(), before);
}

#[tokio::test]
async fn a_read_only_client_refuses_changes_before_sending_and_reads_as_usual() {
    let server = FakeServer::start(|r| {
        if r.path().starts_with("/druid/v2/sql") {
            FakeResponse::new(200, "[{\"x\":1}]\n")
        } else {
            status_body()
        }
    })
    .await;
    let client = druid_api::Client::builder()
        .url(server.url())
        .read_only(true)
        .build()
        .unwrap();
    let overlord = OverlordClient::new(client.service().clone());
    let err = overlord
        .submit_task(&json!({"type": "noop"}))
        .await
        .unwrap_err();
    assert!(err.is_read_only(), "{err:?}");
    let line = err.to_string();
    assert!(
        line.contains("overlord.submit_task") && line.contains("POST /druid/indexer/v1/task"),
        "names the endpoint: {line}"
    );
    let err = overlord.reset_supervisor("wiki").await.unwrap_err();
    assert!(err.is_read_only(), "{err}");
    let err = overlord.suspend_supervisor("wiki").await.unwrap_err();
    assert!(
        err.is_read_only(),
        "an idempotent change is a change: {err}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");

    // Reads, SQL included, go through.
    client.status().await.unwrap();
    client.sql("SELECT 1 AS x").send().await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_endpoint_newer_than_the_cluster_says_which_releases() {
    let server = FakeServer::start(|r| match r.path() {
        "/status" => FakeResponse::json(&json!({"version": "27.0.0", "modules": []})),
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let client = quick_client(&server.url());
    let coordinator = druid_api::CoordinatorClient::new(client.service().clone());
    let err = coordinator.clone_status().await.unwrap_err();
    let line = err.to_string();
    assert!(
        line.contains("coordinator.clone_status answered 404")
            && line.contains("needs Druid 34.0.0 or later")
            && line.contains("the cluster runs 27.0.0"),
        "{line}"
    );
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 404);

    // On a release that has it, a 404 stays Druid's plain answer.
    let server = FakeServer::start(|r| match r.path() {
        "/status" => FakeResponse::json(&json!({"version": "35.0.1", "modules": []})),
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let client = quick_client(&server.url());
    let coordinator = druid_api::CoordinatorClient::new(client.service().clone());
    let err = coordinator.clone_status().await.unwrap_err();
    assert!(!err.to_string().contains("needs Druid"), "{err}");
    assert_eq!(err.status().unwrap().as_u16(), 404);
}

/// An endpoint of an extension the cluster does not load (no module of it
/// in `/status`) that answers a bare 405 is `MissingExtension`; with the
/// module loaded, or when the answer is a Druid error, it stays Druid's
/// answer, and a Druid error needs no `/status` at all.
#[tokio::test]
async fn an_endpoint_of_a_missing_extension_names_it() {
    let server = FakeServer::start(|r| match r.path() {
        "/status" => FakeResponse::json(&json!({"version": "33.0.0", "modules": []})),
        _ => FakeResponse::new(405, ""),
    })
    .await;
    let client = quick_client(&server.url());
    let err = client.sql_task_enabled().await.unwrap_err();
    assert_eq!(
        err.missing_extension(),
        Some("druid-multi-stage-query"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "client.sql_task_enabled answered 405: it needs the druid-multi-stage-query extension, \
         which the cluster does not load (add it to druid.extensions.loadList)"
    );
    assert_eq!(err.status().unwrap().as_u16(), 405);
    assert!(!err.is_retryable());

    // Loaded: the 405 stays Druid's answer.
    let module = json!({"name": "org.apache.druid.msq.guice.MSQSqlModule",
        "artifact": "druid-multi-stage-query", "version": "33.0.0"});
    let server = FakeServer::start(move |r| match r.path() {
        "/status" => FakeResponse::json(&json!({"version": "33.0.0", "modules": [module]})),
        _ => FakeResponse::new(405, ""),
    })
    .await;
    let err = quick_client(&server.url())
        .sql_task_enabled()
        .await
        .unwrap_err();
    assert_eq!(err.missing_extension(), None, "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 405);

    // A Druid error (a statement the loaded extension does not know).
    let server = FakeServer::start(|_| {
        FakeResponse::new(
            404,
            r#"{"error":"notFound","errorMessage":"Query [q] was not found."}"#,
        )
        .header("Content-Type", "application/json")
    })
    .await;
    let err = quick_client(&server.url())
        .statement("q")
        .await
        .unwrap_err();
    assert_eq!(err.missing_extension(), None, "{err:?}");
    assert!(err.is_not_found());
    let paths: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(paths, ["/druid/v2/sql/statements/q"], "no /status read");
}

/// A task submission gets an ID from the client, so a lost answer is
/// retried: Druid's "already exists" on the retry means the first was taken.
#[tokio::test]
async fn a_task_submission_with_the_clients_id_survives_a_lost_answer_without_a_duplicate() {
    let tasks = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = tasks.clone();
    let server = FakeServer::start(move |r| {
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let id = body["id"].as_str().unwrap().to_owned();
        let mut tasks = seen.lock().unwrap();
        if tasks.contains(&id) {
            // Druid 27's answer for an ID it has.
            return FakeResponse::new(400, format!(r#"{{"error":"Task [{id}] already exists."}}"#));
        }
        tasks.push(id.clone());
        // Taken, but the answer is lost on the way.
        FakeResponse::new(200, format!(r#"{{"task":"{id}"}}"#)).cut_after(3)
    })
    .await;
    let overlord = overlord_at(&server.url(), quick_retries());
    let answer = overlord
        .submit_task(&json!({"type": "noop", "groupId": "g"}))
        .await
        .unwrap();
    let created = tasks.lock().unwrap().clone();
    assert_eq!(created.len(), 1, "one task, not two");
    assert_eq!(answer.task, created[0]);
    assert!(answer.task.starts_with("noop_"), "{}", answer.task);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let ids: Vec<serde_json::Value> = requests
        .iter()
        .map(|r| serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["id"].clone())
        .collect();
    assert_eq!(ids[0], ids[1], "the retry sends the same ID");

    // An ID the caller chose that Druid has: its refusal stands.
    let err = overlord
        .submit_task(&json!({"type": "noop", "id": created[0]}))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400);
    assert!(err.to_string().contains("already exists"), "{err}");
}

/// Certificate checks go off only by the option that says it is dangerous.
#[tokio::test]
async fn certificate_checks_go_off_only_by_the_dangerous_option() {
    use druid_tests::tls::{TestCa, server_config};
    let ca = TestCa::new("Untrusted Test CA");
    let server = FakeServer::start_tls(server_config(&ca.server_cert()), |_| status_body()).await;
    let checked = druid_api::connect(&server.url()).unwrap();
    assert!(checked.status().await.unwrap_err().is_tls());
    let unchecked = druid_api::Client::builder()
        .url(server.url())
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(unchecked.status().await.unwrap().version, "27.0.0");
    assert!(
        format!("{:?}", unchecked.transport()).contains("danger_accept_invalid_certs: true"),
        "the Debug output shows the checks are off: {:?}",
        unchecked.transport()
    );
}
