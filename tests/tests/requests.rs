//! Request building, for every kind of generated endpoint: path encoding,
//! intervals, flags, fixed and required query parameters, bodies, audit
//! headers, and the answer kinds (typed, optional, text, empty, raw, ready,
//! statuses that are answers). No network: the mock transport records what
//! would go on the wire.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use druid_api::models::{DataSourceCompactionConfig, Rule, SegmentFilter, SqlQuery, TaskListState};
use druid_api::prelude::*;
use druid_api::{BrokerClient, Client, CoordinatorClient, OverlordClient, RouterClient};
use druid_tests::mock::{last, recording, target};

#[tokio::test]
async fn path_parameters_are_encoded_per_segment() {
    let (service, seen) = recording(200, r#"{"task":"x","status":null}"#);
    let overlord = OverlordClient::new(service);
    overlord
        .task_status("index_parallel wiki:2024-01-01T00:00:00.000Z/x%y")
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(r.method, "GET");
    assert_eq!(
        target(&r),
        "/druid/indexer/v1/task/index_parallel%20wiki%3A2024-01-01T00%3A00%3A00.000Z%2Fx%25y/status"
    );
    // Dot segments would escape the path: refused, not sent.
    let before = seen.lock().unwrap().len();
    assert!(
        overlord
            .task_status("..")
            .await
            .is_err_and(|e| e.is_invalid_input())
    );
    assert_eq!(seen.lock().unwrap().len(), before);
}

#[tokio::test]
async fn empty_path_parameters_are_refused_before_sending() {
    let (service, seen) = recording(200, "{}");
    let err = OverlordClient::new(service.clone())
        .task_status("")
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("task_id"),
        "{err:?}"
    );
    let err = CoordinatorClient::new(service)
        .rules("")
        .full(true)
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("datasource"),
        "{err:?}"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn intervals_in_paths_use_the_underscore_form() {
    let (service, seen) = recording(200, "[]");
    let coordinator = CoordinatorClient::new(service);
    coordinator
        .datasource_interval("wiki", "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z")
        .simple(true)
        .await
        .unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/datasources/wiki/intervals/2024-01-01T00%3A00%3A00.000Z_2024-01-02T00%3A00%3A00.000Z?simple"
    );
    let err = coordinator
        .kill_unused_segments("wiki", "2024")
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
}

#[tokio::test]
async fn flags_fixed_and_required_query_parameters() {
    let (service, seen) = recording(200, "[]");
    let coordinator = CoordinatorClient::new(service.clone());
    coordinator.rules("wiki").full(true).await.unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/rules/wiki?full"
    );
    coordinator.rules("wiki").full(false).await.unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/rules/wiki",
        "a false flag is left out"
    );
    coordinator.load_status_simple().await.unwrap_err(); // `[]` is not a map: decode error, request still sent
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/loadstatus?simple"
    );
    OverlordClient::new(service.clone())
        .supervisor_states()
        .await
        .unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/indexer/v1/supervisor?state=true"
    );

    let (service, seen) = recording(200, r#"{"wiki":100.0}"#);
    let loaded = CoordinatorClient::new(service)
        .datasource_load_status("wiki", true)
        .interval("2024-01-01/2024-02-01")
        .await
        .unwrap();
    assert_eq!(loaded.unwrap()["wiki"], 100.0);
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/datasources/wiki/loadstatus?forceMetadataRefresh=true&interval=2024-01-01%2F2024-02-01"
    );
}

#[tokio::test]
async fn optional_parameters_of_every_type() {
    let (service, seen) = recording(200, "[]");
    let overlord = OverlordClient::new(service.clone());
    overlord
        .tasks()
        .state(TaskListState::Complete)
        .datasource("wiki pedia")
        .created_time_interval("2024-01-01/2024-01-02")
        .max(5)
        .task_type("kill")
        .await
        .unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/indexer/v1/tasks?state=complete&datasource=wiki%20pedia&createdTimeInterval=2024-01-01_2024-01-02&max=5&type=kill"
    );
    CoordinatorClient::new(service.clone())
        .metadata_segments()
        .datasources(["a", "b c"])
        .include_overshadowed_status(true)
        .await
        .unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/metadata/segments?datasources=a&datasources=b%20c&includeOvershadowedStatus"
    );
    let coordinator = CoordinatorClient::new(service);
    #[allow(deprecated)]
    let call = coordinator.set_compaction_task_slots().ratio(0.5).max(3);
    call.await.unwrap(); // an "empty" answer ignores the body
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/config/compaction/taskslots?ratio=0.5&max=3"
    );
}

#[tokio::test]
async fn builders_show_their_request_without_sending() {
    let (service, seen) = recording(200, "[]");
    let request = OverlordClient::new(service)
        .tasks()
        .state(TaskListState::Running)
        .into_request()
        .unwrap();
    assert_eq!(
        request.path_and_query(),
        "/druid/indexer/v1/tasks?state=running"
    );
    assert_eq!(request.operation_name(), "overlord.tasks");
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn json_bodies_typed_and_free() {
    let (service, seen) = recording(200, "");
    let coordinator = CoordinatorClient::new(service.clone());
    coordinator
        .set_rules(
            "wiki",
            &[
                Rule::load_forever([("_default_tier".to_owned(), 2)]),
                Rule::drop_forever(),
            ],
        )
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(r.method, "POST");
    assert_eq!(r.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!([{"type": "loadForever", "tieredReplicants": {"_default_tier": 2}}, {"type": "dropForever"}])
    );

    coordinator
        .set_compaction_config(&DataSourceCompactionConfig::new("wiki"))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&last(&seen).body).unwrap();
    assert_eq!(body, serde_json::json!({"dataSource": "wiki"}));

    let (service, seen) = recording(200, r#"{"task":"t1"}"#);
    let spec = serde_json::json!({"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}});
    OverlordClient::new(service)
        .submit_task(&spec)
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(target(&r), "/druid/indexer/v1/task");
    // The spec as given, plus the ID the client set (a spec with its own ID
    // keeps it).
    let mut sent = serde_json::from_slice::<serde_json::Value>(&r.body).unwrap();
    let id = sent.as_object_mut().unwrap().remove("id").unwrap();
    assert!(id.as_str().unwrap().starts_with("index_parallel_"), "{id}");
    assert_eq!(sent, spec);
    let mut own = spec.clone();
    own["id"] = serde_json::json!("index_wiki_mine");
    let (service, seen) = recording(200, r#"{"task":"index_wiki_mine"}"#);
    OverlordClient::new(service)
        .submit_task(&own)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&last(&seen).body).unwrap(),
        own
    );

    let (service, seen) = recording(200, "{}");
    OverlordClient::new(service)
        .task_statuses(&["a", "b"])
        .await
        .unwrap();
    assert_eq!(&last(&seen).body[..], br#"["a","b"]"#);
}

#[tokio::test]
async fn audit_headers_are_sent_when_given() {
    let (service, seen) = recording(200, "");
    let coordinator = CoordinatorClient::new(service);
    coordinator
        .set_default_rules(&[Rule::load_forever([("_default_tier".to_owned(), 1)])])
        .author("ci")
        .comment("one replica is enough here")
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(target(&r), "/druid/coordinator/v1/rules/_default");
    assert_eq!(r.headers["x-druid-author"], "ci");
    assert_eq!(r.headers["x-druid-comment"], "one replica is enough here");
    coordinator.set_rules("wiki", &[]).await.unwrap();
    assert!(!last(&seen).headers.contains_key("x-druid-author"));
    let err = coordinator
        .set_rules("wiki", &[])
        .comment("bad\nheader")
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
}

#[tokio::test]
async fn answer_kinds() {
    // Text.
    let (service, _) = recording(200, "http://localhost:8081");
    assert_eq!(
        CoordinatorClient::new(service).leader().await.unwrap(),
        "http://localhost:8081"
    );
    // Empty: the body is ignored; 202 is a success.
    let (service, seen) = recording(202, "");
    Client::new(service).cancel_sql("my query").await.unwrap();
    let r = last(&seen);
    assert_eq!(
        (r.method.as_str(), target(&r).as_str()),
        ("DELETE", "/druid/v2/sql/my%20query")
    );
    // Optional: 204 and empty bodies are None.
    let (service, _) = recording(204, "");
    assert!(
        CoordinatorClient::new(service)
            .datasource_load_status("wiki", false)
            .await
            .unwrap()
            .is_none()
    );
    let (service, _) = recording(200, "");
    assert!(
        OverlordClient::new(service)
            .worker_config()
            .await
            .unwrap()
            .is_none()
    );
    // Ready: 200 true, 503 false, anything else an error.
    let (service, _) = recording(200, "");
    assert!(BrokerClient::new(service).is_ready().await.unwrap());
    let (service, _) = recording(503, "");
    assert!(!BrokerClient::new(service).is_ready().await.unwrap());
    let (service, _) = recording(500, "boom");
    assert_eq!(
        BrokerClient::new(service)
            .is_ready()
            .await
            .unwrap_err()
            .status()
            .unwrap()
            .as_u16(),
        500
    );
    // Raw: the whole response.
    let (service, seen) = recording(200, "[]");
    let response = RouterClient::new(service)
        .sql_query(&SqlQuery::new("SELECT 1"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&last(&seen).body).unwrap()["query"],
        "SELECT 1"
    );
    // A status that is an answer for this endpoint only.
    let (service, _) = recording(404, r#"{"leader":false}"#);
    assert!(
        !OverlordClient::new(service.clone())
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    assert!(
        OverlordClient::new(service)
            .task_status("t")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
#[allow(deprecated)]
async fn deprecated_twins_still_work() {
    let (service, seen) = recording(200, r#"{"numChangedSegments":3}"#);
    let coordinator = CoordinatorClient::new(service);
    let changed = coordinator.mark_datasource_unused("wiki").await.unwrap();
    assert_eq!(changed.num_changed_segments, Some(3));
    assert_eq!(last(&seen).method, "DELETE");
    coordinator
        .mark_segments_unused("wiki", &SegmentFilter::interval("2024-01-01/2024-01-02"))
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(
        target(&r),
        "/druid/coordinator/v1/datasources/wiki/markUnused"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        serde_json::json!({"interval": "2024-01-01/2024-01-02"})
    );
}

#[tokio::test]
async fn sql_builder_sends_every_option_and_checks_input() {
    // Typed rows travel as arrayLines with a header row by default.
    let (service, seen) = recording(200, "[\"EXPR$0\"]\n[1]\n\n");
    let client = Client::new(service);
    let rows: Vec<serde_json::Value> = client
        .sql("SELECT ? + 0")
        .parameter(druid_api::models::SqlParameter::bigint(1))
        .context("sqlTimeZone", "Europe/Paris")
        .query_id("q-1")
        .rows()
        .await
        .unwrap();
    assert_eq!(rows, [serde_json::json!({"EXPR$0": 1})]);
    let body: serde_json::Value = serde_json::from_slice(&last(&seen).body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "query": "SELECT ? + 0",
            "resultFormat": "arrayLines",
            "header": true,
            // The transport's 300 s, less a second so Druid answers first.
            "context": {"sqlTimeZone": "Europe/Paris", "sqlQueryId": "q-1", "timeout": 299_000},
            "parameters": [{"type": "BIGINT", "value": 1}]
        })
    );
    let before = seen.lock().unwrap().len();
    let err = client.sql("  ").send().await.unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("empty"),
        "{err:?}"
    );
    let err = client
        .sql("SELECT 1")
        .types_header(true)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_invalid_input() && err.to_string().contains("header"),
        "{err:?}"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "bad input is never sent"
    );
}

#[tokio::test]
async fn truncated_line_results_are_errors() {
    let (service, _) = recording(200, "{\"a\":1}\n{\"a\":2}\n");
    let err = Client::new(service)
        .sql("SELECT a FROM t")
        .result_format(druid_api::models::ResultFormat::ObjectLines)
        .rows::<serde_json::Value>()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cut off") || format!("{err:?}").contains("cut off"),
        "{err:?}"
    );
    let (service, _) = recording(200, "{\"a\":1}\n{\"a\":2}\n\n");
    let rows = Client::new(service)
        .sql("SELECT a FROM t")
        .result_format(druid_api::models::ResultFormat::ObjectLines)
        .rows::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
}

#[test]
fn every_endpoint_is_in_the_catalog_once_per_client() {
    let endpoints = druid_api::catalog::endpoints();
    let mut seen = std::collections::BTreeSet::new();
    for e in endpoints {
        assert!(
            seen.insert((e.client, e.id)),
            "{} has two `{}`",
            e.client,
            e.id
        );
        assert!(e.path.starts_with('/'));
        assert!(!e.summary.is_empty());
    }
    let overlord: Vec<_> = endpoints
        .iter()
        .filter(|e| e.client == "OverlordClient")
        .collect();
    assert!(
        overlord
            .iter()
            .any(|e| e.id == "task_status" && e.path == "/druid/indexer/v1/task/{taskId}/status")
    );
}

#[tokio::test]
async fn router_management_proxy_clients_prefix_their_paths() {
    let (service, seen) = recording(200, r#"{"leader":true}"#);
    let router = RouterClient::new(service);
    let coordinator = router.coordinator_proxy().unwrap();
    assert!(coordinator.is_leader().await.unwrap().leader);
    assert_eq!(
        target(&last(&seen)),
        "/proxy/coordinator/druid/coordinator/v1/isLeader"
    );
    let overlord = router.overlord_proxy().unwrap();
    assert!(overlord.is_leader().await.unwrap().leader);
    assert_eq!(
        target(&last(&seen)),
        "/proxy/overlord/druid/indexer/v1/isLeader"
    );
    // The status endpoints are ambiguous on the Router; through the proxy they reach the leader.
    overlord.status().await.unwrap_err();
    assert_eq!(target(&last(&seen)), "/proxy/overlord/status");
}

#[tokio::test]
async fn newer_endpoints_send_their_documented_requests() {
    let (service, seen) = recording(200, "");
    let overlord = OverlordClient::new(service.clone());
    let mut config = druid_api::models::ClusterCompactionConfig::default();
    config.compaction_task_slot_ratio = Some(0.5);
    config.engine = Some("msq".to_owned());
    overlord
        .set_cluster_compaction_config(&config)
        .author("ci")
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(
        (r.method.as_str(), target(&r).as_str()),
        ("POST", "/druid/indexer/v1/compaction/config/cluster")
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        serde_json::json!({"compactionTaskSlotRatio": 0.5, "engine": "msq"})
    );
    overlord
        .set_datasource_compaction_config(
            "wiki pedia",
            &DataSourceCompactionConfig::new("wiki pedia"),
        )
        .await
        .unwrap();
    assert_eq!(
        target(&last(&seen)),
        "/druid/indexer/v1/compaction/config/datasources/wiki%20pedia"
    );
    overlord
        .delete_datasource_compaction_config("wiki")
        .await
        .unwrap();
    assert_eq!(last(&seen).method, "DELETE");
    let coordinator = CoordinatorClient::new(service);
    let mut broker = druid_api::models::BrokerDynamicConfig::default();
    broker
        .query_blocklist
        .push(druid_api::models::QueryBlocklistRule::new("no-scans"));
    coordinator
        .set_broker_dynamic_config(&broker)
        .await
        .unwrap();
    let r = last(&seen);
    assert_eq!(target(&r), "/druid/coordinator/v1/broker/config");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["queryBlocklist"][0]["ruleName"],
        "no-scans"
    );
    coordinator
        .clone_status_of("localhost:8083")
        .await
        .unwrap_err();
    assert_eq!(
        target(&last(&seen)),
        "/druid/coordinator/v1/config/cloneStatus?targetServer=localhost%3A8083"
    );
}

/// Public futures are `Send`, so they run on multi-threaded runtimes and in
/// spawned tasks.
#[test]
fn public_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (service, _) = recording(200, "{}");
    let client = Client::new(service.clone());
    let overlord = OverlordClient::new(service.clone());
    let coordinator = CoordinatorClient::new(service.clone());
    assert_send(&client.is_healthy());
    assert_send(&client.sql("SELECT 1").send());
    assert_send(
        &client
            .sql("SELECT 1")
            .run_async(std::time::Duration::from_secs(1)),
    );
    assert_send(&client.cluster());
    assert_send(&overlord.task_status("t"));
    assert_send(&overlord.tasks().send());
    assert_send(&overlord.wait_for_task("t", std::time::Duration::from_secs(1)));
    assert_send(&coordinator.wait_for_datasource_loaded("d", std::time::Duration::from_secs(1)));
    assert_send(&service.get_json::<serde_json::Value>("/status"));
}
