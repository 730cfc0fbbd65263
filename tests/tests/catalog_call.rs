//! Calls by catalog entry (`druid_api::catalog::Call`), against in-process
//! fakes: what goes on the wire, the errors of bad input (and that nothing
//! is sent then), the read-only mode, retries by the endpoint's effect, the
//! spec's answers and release, and the catalog's own consistency.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use druid_api::catalog::{
    self, BodyInfo, Call, EndpointInfo, PathParamKind, QueryParamInfo, ResponseKind,
};
use druid_api::models::TaskListState;
use druid_api::transport::Outcome;
use druid_api::{
    BrokerClient, Client, CoordinatorClient, Effect, OverlordClient, RetryPolicy, ServiceClient,
};
use druid_tests::fake::{FakeRequest, FakeResponse, FakeServer};
use druid_tests::quick_client;
use serde_json::{Value, json};

fn entry(service: &str, id: &str) -> &'static EndpointInfo {
    catalog::lookup(service, id).unwrap()
}

fn overlord(server: &FakeServer) -> OverlordClient {
    OverlordClient::new(quick_client(&server.url()).service().clone())
}

fn coordinator(server: &FakeServer) -> CoordinatorClient {
    CoordinatorClient::new(quick_client(&server.url()).service().clone())
}

/// Answers with `first` for the first `failures` requests, then with `then`.
async fn failing_first(
    failures: usize,
    first: impl Fn(&FakeRequest) -> FakeResponse + Send + Sync + 'static,
    then: impl Fn(&FakeRequest) -> FakeResponse + Send + Sync + 'static,
) -> FakeServer {
    let calls = Arc::new(AtomicUsize::new(0));
    FakeServer::start(move |r| {
        if calls.fetch_add(1, Ordering::SeqCst) < failures {
            first(r)
        } else {
            then(r)
        }
    })
    .await
}

#[tokio::test]
async fn the_path_is_filled_and_encoded_per_segment() {
    let server = FakeServer::start(|_| {
        FakeResponse::json(&json!({"task": "t", "status": {"id": "t", "status": "RUNNING"}}))
    })
    .await;
    let answer = Call::new(entry("overlord", "task-status"))
        .path_param("taskId", "index_parallel wiki:2024-01-01T00:00:00.000Z/x%y")
        .send(&overlord(&server))
        .await
        .unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(
        seen[0].target,
        "/druid/indexer/v1/task/index_parallel%20wiki%3A2024-01-01T00%3A00%3A00.000Z%2Fx%25y/status"
    );
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.outcome(), Outcome::Value);
    assert_eq!(answer.operation(), "overlord.task_status");
    assert_eq!(answer.attempts(), 1);
    assert_eq!(
        answer.json::<Value>().unwrap()["status"]["status"],
        "RUNNING"
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "the headers are Druid's"
    );

    // An interval takes Druid's `start_end` path form; fixed and flag
    // queries are sent as the generated method sends them.
    let server = FakeServer::start(|_| FakeResponse::json(&json!([]))).await;
    let coordinator = coordinator(&server);
    Call::new(entry("coordinator", "datasource_interval"))
        .path_param("dataSource", "wiki pedia")
        .path_param(
            "interval",
            "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
        )
        .query("simple", "true")
        .send(&coordinator)
        .await
        .unwrap();
    Call::new(entry("coordinator", "rules"))
        .path_param("datasource", "wiki")
        .query("full", "true")
        .send(&coordinator)
        .await
        .unwrap();
    Call::new(entry("coordinator", "rules"))
        .path_param("data-source", "wiki")
        .query("full", "false")
        .send(&coordinator)
        .await
        .unwrap();
    Call::new(entry("coordinator", "load_status_simple"))
        .send(&coordinator)
        .await
        .unwrap();
    let targets: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    assert_eq!(
        targets,
        [
            "/druid/coordinator/v1/datasources/wiki%20pedia/intervals/2024-01-01T00%3A00%3A00.000Z_2024-01-02T00%3A00%3A00.000Z?simple",
            "/druid/coordinator/v1/rules/wiki?full",
            "/druid/coordinator/v1/rules/wiki",
            "/druid/coordinator/v1/loadstatus?simple",
        ]
    );
}

#[tokio::test]
async fn query_parameters_are_checked_and_sent_as_the_generated_method_sends_them() {
    let server = FakeServer::start(|_| FakeResponse::json(&json!([]))).await;
    let overlord = overlord(&server);
    let call = Call::new(entry("overlord", "tasks"))
        .query("max", " 5 ")
        .query("state", "RUNNING")
        .query("created-time-interval", "2024-01-01/2024-01-02")
        .query("type", "index_parallel");
    call.send(&overlord).await.unwrap();
    assert_eq!(
        server.requests()[0].target,
        "/druid/indexer/v1/tasks?state=running&createdTimeInterval=2024-01-01_2024-01-02&max=5&type=index_parallel"
    );
    // The very request of the generated builder: path, query, operation,
    // effect, answers, release.
    let generated = overlord
        .tasks()
        .state(TaskListState::Running)
        .created_time_interval("2024-01-01/2024-01-02")
        .max(5)
        .task_type("index_parallel")
        .into_request()
        .unwrap();
    assert_eq!(call.to_request().unwrap(), generated);

    // A required bool, an optional string; a list and a required one.
    let coordinator = coordinator(&server);
    Call::new(entry("coordinator", "datasource_load_status"))
        .path_param("dataSource", "wiki")
        .query("forceMetadataRefresh", "True")
        .query("interval", "2024-01-01/2024-01-02")
        .send(&coordinator)
        .await
        .unwrap();
    assert_eq!(
        server.requests().last().unwrap().target,
        "/druid/coordinator/v1/datasources/wiki/loadstatus?forceMetadataRefresh=true&interval=2024-01-01%2F2024-01-02"
    );
    let generated = coordinator
        .datasource_load_status("wiki", true)
        .interval("2024-01-01/2024-01-02")
        .into_request()
        .unwrap()
        .answers(entry("coordinator", "datasource_load_status").answers);
    let call = Call::new(entry("coordinator", "datasource_load_status"))
        .path_param("dataSource", "wiki")
        .query("forceMetadataRefresh", "true")
        .query("interval", "2024-01-01/2024-01-02");
    assert_eq!(call.to_request().unwrap(), generated);
}

#[tokio::test]
async fn a_json_body_is_sent_and_an_sql_post_reads() {
    let server = FakeServer::start(|_| FakeResponse::json(&json!([{"EXPR$0": 2}]))).await;
    let client = quick_client(&server.url());
    let sql = entry("client", "sql_query");
    assert_eq!(sql.effect, Effect::Read, "a POST that only reads");
    assert_eq!(sql.response, ResponseKind::Stream);
    let body = json!({"query": "SELECT 1 + 1", "resultFormat": "array"});
    let answer = Call::new(sql)
        .json_body(body.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(answer.json::<Value>().unwrap(), json!([{"EXPR$0": 2}]));
    let seen = &server.requests()[0];
    assert_eq!(
        (seen.method.as_str(), seen.target.as_str()),
        ("POST", "/druid/v2/sql")
    );
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(serde_json::from_slice::<Value>(&seen.body).unwrap(), body);

    // Streamed, the same call reads the body as it arrives.
    let mut streamed = Call::new(sql)
        .json_body(body.clone())
        .send_streaming(&client)
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = streamed.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    assert_eq!(
        serde_json::from_slice::<Value>(&bytes).unwrap(),
        json!([{"EXPR$0": 2}])
    );

    // Audit headers go with the body of an audited change.
    let rules = json!([{"type": "loadForever", "tieredReplicants": {"_default_tier": 1}}]);
    Call::new(entry("coordinator", "set_rules"))
        .path_param("dataSource", "wiki")
        .json_body(rules.clone())
        .author("ci")
        .comment("keep it all")
        .send(&coordinator(&server))
        .await
        .unwrap();
    let seen = server.requests().pop().unwrap();
    assert_eq!(seen.target, "/druid/coordinator/v1/rules/wiki");
    assert_eq!(seen.header("x-druid-author"), Some("ci"));
    assert_eq!(seen.header("x-druid-comment"), Some("keep it all"));
    assert_eq!(serde_json::from_slice::<Value>(&seen.body).unwrap(), rules);
}

#[tokio::test]
async fn a_task_gets_an_id_so_a_lost_answer_is_recovered_as_the_generated_method_does() {
    // The first attempt is taken but its answer is lost (503); the retry
    // finds the ID taken.
    let server = failing_first(
        1,
        |_| FakeResponse::new(503, "Service Unavailable"),
        |_| FakeResponse::new(400, r#"{"error":"Task[noop_1] already exists!"}"#),
    )
    .await;
    let answer = Call::new(entry("overlord", "submit_task"))
        .json_body(json!({"type": "noop"}))
        .send(&overlord(&server))
        .await
        .unwrap();
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "an identified submission is sent again");
    let sent: Value = serde_json::from_slice(&seen[0].body).unwrap();
    let id = sent["id"].as_str().unwrap();
    assert!(id.starts_with("noop_"), "{sent}");
    assert_eq!(
        serde_json::from_slice::<Value>(&seen[1].body).unwrap()["id"],
        id
    );
    assert!(answer.is_reconstructed());
    assert_eq!(answer.json::<Value>().unwrap(), json!({"task": id}));
    assert_eq!(answer.attempts(), 2);

    // An ID of the caller's is kept, and Druid's answer is the answer.
    let server = FakeServer::start(|_| FakeResponse::json(&json!({"task": "mine"}))).await;
    let answer = Call::new(entry("overlord", "submit_task"))
        .json_body(json!({"type": "noop", "id": "mine"}))
        .send(&overlord(&server))
        .await
        .unwrap();
    assert!(!answer.is_reconstructed());
    assert_eq!(answer.body().as_ref(), br#"{"task":"mine"}"#);
    let sent: Value = serde_json::from_slice(&server.requests()[0].body).unwrap();
    assert_eq!(sent, json!({"type": "noop", "id": "mine"}));
}

/// Every bad input: an invalid-input error, one line that names the
/// endpoint, what is wrong and what to do, and nothing sent.
#[tokio::test]
async fn bad_input_is_one_clear_line_and_nothing_is_sent() {
    let server = FakeServer::start(|_| FakeResponse::json(&json!({}))).await;
    let overlord = overlord(&server);
    let coordinator = coordinator(&server);
    let status = entry("overlord", "task_status");
    let tasks = entry("overlord", "tasks");
    let submit = entry("overlord", "submit_task");
    let cases: Vec<(Call, &dyn ServiceClient, &str)> = vec![
        (
            Call::new(status),
            &overlord,
            "invalid input: overlord.task_status: the path parameter `taskId` is missing (the task ID); give it a value",
        ),
        (
            Call::new(status).path_param("taskId", ""),
            &overlord,
            "invalid input: overlord.task_status: the path parameter `taskId` is empty; pass a non-empty value",
        ),
        (
            Call::new(status).path_param("taskId", ".."),
            &overlord,
            "invalid input: overlord.task_status: the path parameter `taskId` is \"..\", which a URL reads as a folder step",
        ),
        (
            Call::new(status).path_param("id", "t1"),
            &overlord,
            "invalid input: overlord.task_status: no path parameter \"id\"; its path parameters are taskId",
        ),
        (
            Call::new(tasks).path_param("state", "running"),
            &overlord,
            "invalid input: overlord.tasks: no path parameter \"state\"; it takes none (`state` is a query parameter)",
        ),
        (
            Call::new(tasks).query("limit", "5"),
            &overlord,
            "invalid input: overlord.tasks: no query parameter \"limit\"; its query parameters are state, datasource, createdTimeInterval, max, type",
        ),
        (
            Call::new(status)
                .path_param("taskId", "t")
                .query("taskId", "t"),
            &overlord,
            "invalid input: overlord.task_status: no query parameter \"taskId\"; it takes none (`taskId` is a path parameter)",
        ),
        (
            Call::new(tasks).query("max", "ten"),
            &overlord,
            "invalid input: overlord.tasks: the query parameter `max` must be an integer (int), not \"ten\"",
        ),
        (
            Call::new(tasks).query("max", "5").query("max", "6"),
            &overlord,
            "invalid input: overlord.tasks: the query parameter `max` is given twice; give it once",
        ),
        (
            Call::new(tasks).query("state", "runing"),
            &overlord,
            "invalid input: overlord.tasks: the query parameter `state` must be one of running, complete, waiting, pending, not \"runing\"",
        ),
        (
            Call::new(entry("coordinator", "datasource_load_status"))
                .path_param("dataSource", "wiki")
                .query("forceMetadataRefresh", "yes"),
            &coordinator,
            "invalid input: coordinator.datasource_load_status: the query parameter `forceMetadataRefresh` must be true or false, not \"yes\"",
        ),
        (
            Call::new(entry("coordinator", "datasource_load_status"))
                .path_param("dataSource", "wiki"),
            &coordinator,
            "invalid input: coordinator.datasource_load_status: the query parameter `forceMetadataRefresh` is required (whether to poll the metadata store before answering); give it a value",
        ),
        (
            Call::new(entry("coordinator", "rules"))
                .path_param("dataSource", "wiki")
                .query("full", "1"),
            &coordinator,
            "invalid input: coordinator.rules: the query parameter `full` must be true or false (a flag), not \"1\"",
        ),
        (
            Call::new(submit),
            &overlord,
            "invalid input: overlord.submit_task: a JSON body is required and none was given (the task spec, e.g.",
        ),
        (
            Call::new(submit).json_body(json!(["not", "an", "object"])),
            &overlord,
            "invalid input: overlord.submit_task: the request body must be a JSON object with an optional `id`",
        ),
        (
            Call::new(submit).text_body("{\"type\": \"noop\"}"),
            &overlord,
            "invalid input: overlord.submit_task: the body must be JSON, not text; give it as JSON",
        ),
        (
            Call::new(status)
                .path_param("taskId", "t")
                .json_body(json!({})),
            &overlord,
            "invalid input: overlord.task_status: GET /druid/indexer/v1/task/{taskId}/status takes no body; leave it out",
        ),
        (
            Call::new(status).path_param("taskId", "t").author("me"),
            &overlord,
            "invalid input: overlord.task_status: the endpoint keeps no audit history; leave out the author and comment",
        ),
        (
            Call::new(entry("coordinator", "kill_unused_segments"))
                .path_param("dataSource", "wiki")
                .path_param("interval", "2024"),
            &coordinator,
            "invalid input: coordinator.kill_unused_segments: the interval `interval` (\"2024\") has no start/end separator",
        ),
    ];
    for (call, client, expected) in &cases {
        let err = call.send(*client).await.unwrap_err();
        let line = err.to_string();
        assert!(err.is_invalid_input(), "{line}");
        assert!(line.starts_with(expected), "{line}\n  expected: {expected}");
        assert!(
            !line.contains('\n') && line.chars().count() <= 300,
            "{line}"
        );
        let request = call.to_request().unwrap_err();
        assert_eq!(request.to_string(), line, "to_request says the same");
    }
    // An answer that the spec's answers read is not streamed.
    let err = Call::new(entry("broker", "is_ready"))
        .send_streaming(&overlord)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "invalid input: broker.is_ready: its answer is read whole (the spec lists what its statuses mean); use send"
    );
    assert!(server.requests().is_empty(), "nothing was sent");

    // Unknown names in lookups say what exists.
    let err = catalog::lookup("overlord", "task_stat").unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(
        err.to_string(),
        "invalid input: the overlord service has no endpoint \"task_stat\"; similar: task_status, task_statuses"
    );
    assert_eq!(
        catalog::lookup("overlord", "supervisor-reset")
            .unwrap_err()
            .to_string(),
        "invalid input: the overlord service has no endpoint \"supervisor-reset\"; similar: reset_supervisor, reset_supervisor_offsets, reset_supervisor_to_latest_and_backfill"
    );
    let err = catalog::lookup("brokr", "status").unwrap_err().to_string();
    assert!(
        err.starts_with("invalid input: no service \"brokr\" in the catalog; the services are client, coordinator, overlord, broker, router, historical, middle_manager, indexer, peon"),
        "{err}"
    );
}

#[tokio::test]
async fn a_read_only_client_refuses_a_change_before_sending_it() {
    let server = FakeServer::start(|_| FakeResponse::json(&json!({"id": "wiki"}))).await;
    let client = Client::builder()
        .url(server.url())
        .read_only(true)
        .build()
        .unwrap();
    let overlord = OverlordClient::new(client.service().clone());
    for (id, effect) in [
        ("reset_supervisor", Effect::Write),
        ("suspend_supervisor", Effect::Idempotent),
    ] {
        let e = entry("overlord", id);
        assert_eq!(e.effect, effect);
        let err = Call::new(e)
            .path_param("supervisorId", "wiki")
            .send(&overlord)
            .await
            .unwrap_err();
        assert!(err.is_read_only(), "{err:?}");
        let line = err.to_string();
        assert!(
            line.contains(&format!("overlord.{id}"))
                && line.contains("POST /druid/indexer/v1/supervisor/wiki/"),
            "names the endpoint: {line}"
        );
    }
    let err = Call::new(entry("overlord", "submit_task"))
        .json_body(json!({"type": "noop"}))
        .send(&overlord)
        .await
        .unwrap_err();
    assert!(err.is_read_only(), "{err:?}");
    assert!(server.requests().is_empty(), "nothing was sent");

    // A read goes through, and so does a POST that only reads.
    Call::new(entry("overlord", "task_status"))
        .path_param("taskId", "t")
        .send(&overlord)
        .await
        .unwrap();
    Call::new(entry("client", "sql_query"))
        .json_body(json!({"query": "SELECT 1"}))
        .send(&client)
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_read_is_retried_after_a_503_and_a_write_never_after_a_502() {
    let server = failing_first(
        1,
        |_| FakeResponse::new(503, "Service Unavailable"),
        |_| FakeResponse::json(&json!(["wiki", "koalas"])),
    )
    .await;
    let answer = Call::new(entry("coordinator", "datasources"))
        .send(&coordinator(&server))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(answer.attempts(), 2);
    assert_eq!(answer.json::<Vec<String>>().unwrap(), ["wiki", "koalas"]);

    let gateway = |_: &FakeRequest| {
        FakeResponse::new(502, "<html><title>Error 502 Bad Gateway</title></html>")
    };
    let server = failing_first(1, gateway, |_| FakeResponse::json(&json!({"id": "wiki"}))).await;
    let err = Call::new(entry("overlord", "reset_supervisor"))
        .path_param("supervisorId", "wiki")
        .send(&overlord(&server))
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 1, "a write is never sent twice");
    assert_eq!(err.status().unwrap().as_u16(), 502);
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.api().unwrap().operation, "overlord.reset_supervisor");

    // Suspending twice suspends once: it is sent again.
    let server = failing_first(1, gateway, |_| FakeResponse::json(&json!({"id": "wiki"}))).await;
    let answer = Call::new(entry("overlord", "suspend_supervisor"))
        .path_param("supervisorId", "wiki")
        .send(&overlord(&server))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(answer.attempts(), 2);

    // The client's policy holds: without retries a read is sent once.
    let server = failing_first(
        1,
        |_| FakeResponse::new(503, ""),
        |_| FakeResponse::json(&json!([])),
    )
    .await;
    let once = Client::builder()
        .url(server.url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = Call::new(entry("coordinator", "datasources"))
        .send(&CoordinatorClient::new(once.service().clone()))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn the_specs_answers_and_release_hold() {
    // A readiness 503 is the answer `false`, sent once.
    let server = FakeServer::start(|_| FakeResponse::new(503, "")).await;
    let broker = BrokerClient::new(quick_client(&server.url()).service().clone());
    let answer = Call::new(entry("broker", "is_ready"))
        .send(&broker)
        .await
        .unwrap();
    assert_eq!(answer.outcome(), Outcome::False);
    assert_eq!(answer.status().as_u16(), 503);
    assert_eq!(server.requests().len(), 1);

    // isLeader's 404 with JSON is the value; without JSON it is an error.
    let server = FakeServer::start(|r| match r.path() {
        "/druid/coordinator/v1/isLeader" => FakeResponse::new(404, r#"{"leader":false}"#),
        _ => FakeResponse::new(404, "<html><title>Not Found</title></html>"),
    })
    .await;
    let answer = Call::new(entry("coordinator", "is_leader"))
        .send(&coordinator(&server))
        .await
        .unwrap();
    assert_eq!(answer.outcome(), Outcome::Value);
    assert_eq!(answer.status().as_u16(), 404);
    assert_eq!(answer.json::<Value>().unwrap(), json!({"leader": false}));
    let err = Call::new(entry("overlord", "is_leader"))
        .send(&overlord(&server))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 404, "{err}");
    assert_eq!(
        server.requests().len(),
        2,
        "an answer's status is not retried"
    );

    // An endpoint newer than the cluster names both releases.
    let server = FakeServer::start(|r| match r.path() {
        "/status" => FakeResponse::json(&json!({"version": "27.0.0", "modules": []})),
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let err = Call::new(entry("coordinator", "clone_status"))
        .send(&coordinator(&server))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "coordinator.clone_status answered 404: it needs Druid 34.0.0 or later; the cluster runs 27.0.0"
    );
    assert!(err.is_not_found());

    // Any other status is Druid's error, with the operation.
    let server = FakeServer::start(|_| {
        FakeResponse::new(404, r#"{"error":"Can't find chatHandler for handler[x]"}"#)
    })
    .await;
    let err = Call::new(entry("overlord", "task_status"))
        .path_param("taskId", "nope")
        .send(&overlord(&server))
        .await
        .unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.status.as_u16(), api.operation.as_str()),
        (404, "overlord.task_status")
    );
}

#[test]
fn debug_shows_no_body_and_no_response_headers() {
    let call = Call::new(entry("coordinator", "set_user_password"))
        .path_param("authenticatorName", "basic")
        .path_param("userName", "alice")
        .json_body(json!({"password": "s3cret-body"}));
    let shown = format!("{call:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("json (26 bytes)"), "{shown}");
    assert!(shown.contains("coordinator.set_user_password"), "{shown}");
}

/// A valid value for a query parameter of this type.
fn sample(q: &QueryParamInfo) -> &'static str {
    match q.ty {
        "int" => "3",
        "float" => "0.5",
        "bool" | "flag" => "true",
        "enum" => q.values.and_then(|v| v.first().copied()).unwrap_or("x"),
        "underscore_interval" => "2024-01-01/2024-01-02",
        _ => "x",
    }
}

#[test]
fn the_catalog_covers_every_endpoint_with_consistent_metadata() {
    let endpoints = catalog::endpoints();
    assert!(endpoints.len() > 250, "{}", endpoints.len());
    let mut operations = BTreeSet::new();
    for e in endpoints {
        let what = e.operation;
        assert!(operations.insert(e.operation), "{what} twice");
        assert_eq!(e.operation, format!("{}.{}", e.service_name, e.id));
        assert!(catalog::services().contains(&e.service_name), "{what}");
        assert_eq!(
            catalog::endpoint(e.service_name, &e.id.replace('_', "-")),
            Some(e),
            "{what} by its dashed id"
        );
        assert_eq!(
            catalog::endpoint(e.service, e.id),
            Some(e),
            "{what} by the docs name"
        );

        // Every `{param}` of the path has an entry, in order, and no entry
        // is missing from the path.
        let placeholders: Vec<&str> = e
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let params: Vec<&str> = e.path_params.iter().map(|p| p.name).collect();
        assert_eq!(placeholders, params, "{what}: {}", e.path);
        assert!(!e.path.contains("{}"), "{what}");
        for p in e.path_params {
            assert!(!p.doc.is_empty() && !p.rust.is_empty(), "{what}: {p:?}");
            assert_eq!(e.path_param(p.rust), Some(p), "{what}: {p:?}");
        }
        // No two parameters of one kind have names that a caller's spelling
        // (any case, `-` or `_`) could confuse.
        let squash = |name: &str| -> String {
            name.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect()
        };
        let mut names = BTreeSet::new();
        for p in e.path_params {
            assert!(names.insert(squash(p.name)), "{what}: {} twice", p.name);
            if squash(p.rust) != squash(p.name) {
                assert!(names.insert(squash(p.rust)), "{what}: {} twice", p.rust);
            }
        }
        let mut names = BTreeSet::new();
        for q in e.query_params {
            assert!(names.insert(squash(q.name)), "{what}: {} twice", q.name);
            if squash(q.rust) != squash(q.name) {
                assert!(names.insert(squash(q.rust)), "{what}: {} twice", q.rust);
            }
            assert_eq!(e.query_param(q.rust), Some(q), "{what}: {q:?}");
            assert!(!q.doc.is_empty(), "{what}: {q:?}");
            assert!(!(q.required && q.ty == "flag"), "{what}: a required flag");
            match q.ty {
                "enum" => assert!(q.values.is_some_and(|v| !v.is_empty()), "{what}: {q:?}"),
                _ => assert!(q.values.is_none(), "{what}: {q:?}"),
            }
        }

        // The effect derives as the generated methods derive it.
        if e.method == "GET" {
            assert_eq!(e.effect, Effect::Read, "{what}");
        } else {
            assert!(e.method == "POST" || e.method == "DELETE", "{what}");
        }
        match e.body {
            BodyInfo::None => assert!(e.body_id.is_none(), "{what}"),
            BodyInfo::Json { required, .. } => assert!(required, "{what}"),
            BodyInfo::Text { .. } => assert!(e.body_id.is_none(), "{what}"),
            _ => panic!("{what}: a body kind this test does not know"),
        }
        if let Some(since) = e.since {
            let parts: Vec<&str> = since.split('.').collect();
            assert!(
                parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
                "{what}: since {since}"
            );
        }
        assert!(
            e.docs.starts_with("https://druid.apache.org/docs/"),
            "{what}"
        );
        assert_eq!(e.deprecated, e.deprecation.is_some(), "{what}");
        assert!(!e.summary.is_empty(), "{what}");

        // Every entry can be called: with its required parts filled, the
        // request is the endpoint's, with its operation, effect and release.
        let mut call = Call::new(e);
        for p in e.path_params {
            call = call.path_param(
                p.name,
                match p.kind {
                    PathParamKind::Interval => "2024-01-01/2024-01-02",
                    _ => "a b",
                },
            );
        }
        for q in e.query_params.iter().filter(|q| q.required) {
            call = call.query(q.name, sample(q));
        }
        call = match e.body {
            BodyInfo::Json { .. } => call.json_body(json!({"type": "noop"})),
            BodyInfo::Text { .. } => call.text_body("x"),
            _ => call,
        };
        let request = call
            .to_request()
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(request.method().as_str(), e.method, "{what}");
        assert!(e.matches_path(request.path()), "{what}: {}", request.path());
        assert_eq!(request.operation_name(), e.operation, "{what}");
        assert_eq!(request.effect_kind(), e.effect, "{what}");
        assert_eq!(request.since_release(), e.since, "{what}");
        for (key, _) in e.fixed_query {
            assert!(
                request.query_pairs().iter().any(|(k, _)| k == key),
                "{what}"
            );
        }
    }
    // Every service of the spec is there, and each one's endpoints are its client's.
    assert_eq!(
        catalog::services(),
        [
            "client",
            "coordinator",
            "overlord",
            "broker",
            "router",
            "historical",
            "middle_manager",
            "indexer",
            "peon"
        ]
    );
    for service in catalog::services() {
        let client = catalog::service_endpoints(service)[0].client;
        assert!(
            catalog::service_endpoints(service)
                .iter()
                .all(|e| e.client == client),
            "{service}"
        );
    }
}
