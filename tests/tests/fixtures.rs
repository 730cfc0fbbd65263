//! The documented example responses of Druid's API (tests/data/druid-api/fixtures)
//! decode through the generated methods into the models they belong to.
//!
//! Each fixture is served by the mock transport to the method for its
//! endpoint, and the decoded value is checked against the document.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use druid_api::models::{ResultFormat, RunnerState, TaskState};
use druid_api::prelude::*;
use druid_api::{
    BrokerClient, Client, CoordinatorClient, HistoricalClient, MiddleManagerClient, MockResponse,
    OverlordClient, Service,
};

use druid_tests::fixture;

/// A service whose every answer is the fixture, with `status`.
fn serving(name: &str, status: u16) -> Service {
    let body = fixture(name);
    let client = Client::builder()
        .url("http://druid.test:8081")
        .mock(move |_| MockResponse::new(status, body.clone()))
        .build()
        .unwrap();
    client.service().clone()
}

fn coordinator(name: &str) -> CoordinatorClient {
    CoordinatorClient::new(serving(name, 200))
}

fn overlord(name: &str) -> OverlordClient {
    OverlordClient::new(serving(name, 200))
}

#[tokio::test]
async fn status_endpoints() {
    let status = Client::new(serving("all__GET__status.json", 200))
        .status()
        .await
        .unwrap();
    assert_eq!(status.version, "26.0.0");
    assert!(
        status
            .modules
            .iter()
            .any(|m| m.artifact.as_deref() == Some("druid-datasketches"))
    );
    assert!(status.memory.unwrap().max_memory.unwrap() > 0);
    assert!(
        Client::new(serving("all__GET__status_health.json", 200))
            .is_healthy()
            .await
            .unwrap()
    );
    let discovered = Client::new(serving("all__GET__status_selfDiscovered_status.json", 200))
        .self_discovered_status()
        .await
        .unwrap();
    assert!(discovered.self_discovered);
    let broker = BrokerClient::new(serving("broker__GET__druid_broker_v1_loadstatus.json", 200));
    assert!(broker.load_status().await.unwrap().inventory_initialized);
    let historical = HistoricalClient::new(serving(
        "historical__GET__druid_historical_v1_loadstatus.json",
        200,
    ));
    assert!(historical.load_status().await.unwrap().cache_initialized);
}

#[tokio::test]
async fn leadership() {
    let leader = coordinator("coordinator__GET__druid_coordinator_v1_leader.txt")
        .leader()
        .await
        .unwrap();
    assert!(leader.trim().starts_with("http://"), "{leader}");
    assert!(
        coordinator("coordinator__GET__druid_coordinator_v1_isLeader.json")
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    assert!(
        overlord("overlord__GET__druid_indexer_v1_isLeader.json")
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    // A follower answers 404 {"leader": false}: an answer, not an error.
    let follower = OverlordClient::new(
        Client::builder()
            .url("http://druid.test:8090")
            .mock(|_| MockResponse::new(404, r#"{"leader":false}"#))
            .build()
            .unwrap()
            .service()
            .clone(),
    );
    assert!(!follower.is_leader().await.unwrap().leader);
}

#[tokio::test]
async fn task_lists_and_status() {
    for name in [
        "overlord__GET__druid_indexer_v1_tasks.json",
        "overlord__GET__druid_indexer_v1_completeTasks.json",
        "overlord__GET__druid_indexer_v1_runningTasks.json",
        "overlord__GET__druid_indexer_v1_waitingTasks.json",
        "overlord__GET__druid_indexer_v1_pendingTasks.json",
    ] {
        let tasks = overlord(name).tasks().await.unwrap();
        assert!(!tasks.is_empty(), "{name}");
        for task in &tasks {
            assert!(!task.id.is_empty(), "{name}");
            assert!(
                matches!(
                    task.status_code,
                    TaskState::Running | TaskState::Success | TaskState::Failed
                ),
                "{name}"
            );
        }
    }
    let tasks = overlord("overlord__GET__druid_indexer_v1_tasks.json")
        .tasks()
        .await
        .unwrap();
    assert_eq!(
        tasks[0].id,
        "query-223549f8-b993-4483-b028-1b0d54713cad-worker0_0"
    );
    assert_eq!(tasks[0].task_type.as_deref(), Some("query_worker"));
    assert_eq!(tasks[0].runner_status_code, Some(RunnerState::None));
    assert_eq!(tasks[0].duration, Some(17897));
    assert_eq!(tasks[0].location.as_ref().unwrap().port, Some(8101));

    let status = overlord("overlord__GET__druid_indexer_v1_task_taskId_status.json")
        .task_status("query-223549f8-b993-4483-b028-1b0d54713cad")
        .await
        .unwrap();
    let inner = status.status.unwrap();
    assert_eq!(inner.status_code, TaskState::Running);
    assert!(!inner.status_code.is_complete());
    assert_eq!(inner.data_source.as_deref(), Some("wikipedia_api"));
    let msq = overlord("overlord__GET__druid_indexer_v1_task_taskId_status__msq.json")
        .task_status("x")
        .await
        .unwrap();
    assert_eq!(
        msq.status.unwrap().task_type.as_deref(),
        Some("query_controller")
    );

    let payload = overlord("overlord__GET__druid_indexer_v1_task_taskId.json")
        .task("x")
        .await
        .unwrap();
    assert_eq!(
        payload.payload["spec"]["dataSchema"]["dataSource"],
        "wikipedia_short"
    );

    let statuses = overlord("overlord__POST__druid_indexer_v1_taskStatus.json")
        .task_statuses(&["a", "b"])
        .await
        .unwrap();
    assert_eq!(statuses.len(), 2);
    assert!(statuses.values().all(|s| s.status == TaskState::Success));
}

#[tokio::test]
async fn task_actions_and_reports() {
    let submitted = overlord("overlord__POST__druid_indexer_v1_task.json")
        .submit_task(&serde_json::json!({"type": "index_parallel"}))
        .await
        .unwrap();
    assert!(!submitted.task.is_empty());
    let shut = overlord("overlord__POST__druid_indexer_v1_task_taskId_shutdown.json")
        .shutdown_task("x")
        .await
        .unwrap();
    assert_eq!(shut.task, "query-577a83dd-a14e-4380-bd01-c942b781236b");
    let all =
        overlord("overlord__POST__druid_indexer_v1_datasources_datasource_shutdownAllTasks.json")
            .shutdown_all_tasks("wikipedia_api")
            .await
            .unwrap();
    assert_eq!(all.data_source, "wikipedia_api");
    let deleted = overlord("overlord__DELETE__druid_indexer_v1_pendingSegments_datasource.json")
        .delete_pending_segments("wiki")
        .await
        .unwrap();
    assert_eq!(deleted.num_deleted, 2);

    let reports = overlord("overlord__GET__druid_indexer_v1_task_taskId_reports.json")
        .task_reports("x")
        .await
        .unwrap();
    assert!(reports.ingestion_stats().is_some());
    let msq = overlord("overlord__GET__druid_indexer_v1_task_taskId_reports__msq.json")
        .task_reports("x")
        .await
        .unwrap();
    let status = msq.msq_status().expect("an MSQ status");
    assert!(matches!(
        status.status,
        TaskState::Running | TaskState::Success | TaskState::Failed
    ));
    let compaction =
        overlord("overlord__GET__druid_indexer_v1_task_taskId_reports__compaction.json")
            .task_reports("x")
            .await
            .unwrap();
    assert!(
        compaction
            .0
            .keys()
            .any(|k| k.starts_with("ingestionStatsAndErrors"))
    );
}

#[tokio::test]
async fn workers_and_worker_config() {
    let workers = overlord("overlord__GET__druid_indexer_v1_workers.json")
        .workers()
        .await
        .unwrap();
    assert_eq!(workers[0].worker.host, "localhost:8091");
    assert_eq!(workers[0].worker.capacity, Some(2));
    assert_eq!(workers[0].curr_capacity_used, Some(0));
    let config = overlord("overlord__GET__druid_indexer_v1_worker.json")
        .worker_config()
        .await
        .unwrap();
    assert!(config.unwrap().get("selectStrategy").is_some());
    let history = overlord("overlord__GET__druid_indexer_v1_worker_history.json")
        .worker_config_history()
        .await
        .unwrap();
    assert_eq!(history[0].key, "worker.config");
    assert_eq!(history[0].payload_json().unwrap()["type"], "default");
    let mm = MiddleManagerClient::new(serving(
        "middlemanager__GET__druid_worker_v1_enabled.json",
        200,
    ));
    assert!(mm.enabled().await.unwrap()["localhost:8091"]);
    let mm = MiddleManagerClient::new(serving(
        "middlemanager__POST__druid_worker_v1_disable.json",
        200,
    ));
    assert_eq!(mm.disable().await.unwrap()["localhost:8091"], "disabled");
    let mm = MiddleManagerClient::new(serving(
        "middlemanager__GET__druid_worker_v1_tasks.json",
        200,
    ));
    assert!(mm.worker_tasks().await.is_ok());
}

#[tokio::test]
async fn supervisors() {
    let ids = overlord("overlord__GET__druid_indexer_v1_supervisor.json")
        .supervisors()
        .await
        .unwrap();
    assert_eq!(ids, ["wikipedia_stream", "social_media"]);
    let states = overlord("overlord__GET__druid_indexer_v1_supervisor__state.json")
        .supervisor_states()
        .await
        .unwrap();
    assert_eq!(
        states[0].detailed_state.as_deref(),
        Some("UNABLE_TO_CONNECT_TO_STREAM")
    );
    assert_eq!(states[1].healthy, Some(true));
    let full = overlord("overlord__GET__druid_indexer_v1_supervisor__full.json")
        .supervisors_full()
        .await
        .unwrap();
    assert!(!full.is_empty());
    // Unhealthy is a 503 with a body: an answer.
    let health = OverlordClient::new(serving(
        "overlord__GET__druid_indexer_v1_supervisor_supervisorId_health.json",
        503,
    ))
    .supervisor_health("s")
    .await
    .unwrap();
    assert!(!health.healthy);
    let history = overlord("overlord__GET__druid_indexer_v1_supervisor_supervisorId_history.json")
        .supervisor_history("wikipedia_stream")
        .await
        .unwrap();
    assert_eq!(history[0].spec["type"], "kafka");
    let all = overlord("overlord__GET__druid_indexer_v1_supervisor_history.json")
        .supervisors_history()
        .await
        .unwrap();
    assert!(!all.is_empty());
    for (name, call) in [
        (
            "overlord__POST__druid_indexer_v1_supervisor_supervisorId_reset.json",
            "reset",
        ),
        (
            "overlord__POST__druid_indexer_v1_supervisor_supervisorId_terminate.json",
            "terminate",
        ),
    ] {
        let o = overlord(name);
        let id = if call == "reset" {
            o.reset_supervisor("s").await
        } else {
            o.terminate_supervisor("s").await
        };
        assert!(!id.unwrap().id.is_empty(), "{name}");
    }
    let spec = overlord("overlord__GET__druid_indexer_v1_supervisor_supervisorId.json")
        .supervisor("s")
        .await
        .unwrap();
    assert!(spec.get("spec").is_some() || spec.get("dataSchema").is_some());
}

#[tokio::test]
async fn coordinator_configuration_and_rules() {
    let config = coordinator("coordinator__GET__druid_coordinator_v1_config.json")
        .dynamic_config()
        .await
        .unwrap();
    assert_eq!(config.max_segments_to_move, Some(100));
    assert_eq!(config.pause_coordination, Some(false));
    assert_eq!(
        config.extra["replicantLifetime"], 15,
        "unknown fields are kept"
    );
    let rules = coordinator("coordinator__GET__druid_coordinator_v1_rules_dataSource__full.json")
        .rules("wikipedia")
        .full(true)
        .await
        .unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0].rule_type, "dropByInterval");
    assert_eq!(
        rules[1].tiered_replicants.as_ref().unwrap()["_default_tier"],
        2
    );
    let history = coordinator("coordinator__GET__druid_coordinator_v1_rules_history.json")
        .rules_history()
        .await
        .unwrap();
    assert_eq!(history[0].key, "social_media");
    assert_eq!(
        history[0].audit_info.as_ref().unwrap().author.as_deref(),
        Some("console")
    );
    assert_eq!(
        history[0].payload_json().unwrap()[0]["type"],
        "dropByInterval"
    );
}

#[tokio::test]
async fn compaction() {
    let status = coordinator("coordinator__GET__druid_coordinator_v1_compaction_status.json")
        .compaction_status()
        .await
        .unwrap();
    assert_eq!(status.latest_status[0].data_source, "wikipedia_api");
    assert_eq!(status.latest_status[0].bytes_skipped, Some(64133616));
    let one =
        coordinator("coordinator__GET__druid_coordinator_v1_config_compaction_dataSource.json")
            .compaction_config("wikipedia_hour")
            .await
            .unwrap();
    assert_eq!(one.data_source, "wikipedia_hour");
    assert_eq!(one.skip_offset_from_latest.as_deref(), Some("PT0S"));
    let progress = coordinator("coordinator__GET__druid_coordinator_v1_compaction_progress.json")
        .compaction_progress("wikipedia_hour")
        .await
        .unwrap();
    assert_eq!(progress.remaining_segment_size, 7615837);
    let history = coordinator(
        "coordinator__GET__druid_coordinator_v1_config_compaction_dataSource_history.json",
    )
    .compaction_config_history("wikipedia_hour")
    .await
    .unwrap();
    assert!(!history.entries.is_empty());
}

/// The Overlord of Druid 33 wraps the history as `{"entries": [...]}` (seen
/// on the live Druid 33 line); the list and the wrapped list decode alike.
#[test]
fn compaction_history_decodes_as_a_list_or_wrapped() {
    let entry = serde_json::json!({
        "globalConfig": {"compactionTaskSlotRatio": 0.1, "maxCompactionTaskSlots": 2147483647},
        "compactionConfig": {"dataSource": "wiki"},
        "auditInfo": {"author": "", "comment": "", "ip": "127.0.0.1"},
        "auditTime": "2026-12-01T20:09:49.000Z"
    });
    let list: druid_api::models::CompactionConfigHistory =
        serde_json::from_value(serde_json::json!([entry])).unwrap();
    let wrapped: druid_api::models::CompactionConfigHistory =
        serde_json::from_value(serde_json::json!({"entries": [entry]})).unwrap();
    assert_eq!(list, wrapped);
    assert_eq!(list.entries[0]["compactionConfig"]["dataSource"], "wiki");
    assert!(
        serde_json::from_value::<druid_api::models::CompactionConfigHistory>(
            serde_json::json!({"other": []})
        )
        .is_err()
    );
}

#[tokio::test]
async fn lookups() {
    let lookup = coordinator("coordinator__GET__druid_coordinator_v1_lookups_config_tier_id.json")
        .lookup("__default", "id")
        .await
        .unwrap();
    assert_eq!(lookup.version, "v1");
    assert_eq!(lookup.lookup_extractor_factory["map"]["AHF77"], "Home");
}

#[tokio::test]
async fn sql() {
    let task = Client::new(serving("broker__POST__druid_v2_sql_task.json", 200))
        .sql("REPLACE INTO t OVERWRITE ALL SELECT 1")
        .submit_task()
        .await
        .unwrap();
    assert_eq!(task.task_id, "query-431c4a18-9dde-4ec8-ab82-ec7fd17d5a4e");
    assert_eq!(task.state, "RUNNING");

    let response = Client::new(serving(
        "broker__POST__druid_v2_sql__header_types.json",
        200,
    ))
    .sql("SELECT * FROM wikipedia")
    .header(true)
    .types_header(true)
    .sql_types_header(true)
    .await
    .unwrap();
    assert_eq!(response.format(), &ResultFormat::Object);
    let columns = response.columns().unwrap().unwrap();
    assert_eq!(columns[0].name, "__time");
    assert_eq!(columns[0].druid_type.as_deref(), Some("LONG"));
    assert_eq!(columns[0].sql_type.as_deref(), Some("TIMESTAMP"));
    let rows: Vec<serde_json::Value> = response.rows().unwrap();
    assert!(
        rows.iter().all(|r| r.get("channel").is_some()),
        "the header row is not a data row"
    );
}

/// Fixtures the README flags as invalid JSON are rejected with a decode
/// error that says where, never a panic.
#[tokio::test]
async fn invalid_documented_json_is_a_decode_error() {
    let err = coordinator("coordinator__GET__druid_coordinator_v1_rules.json")
        .all_rules()
        .await
        .unwrap_err();
    let Some(decode) = err.decode() else {
        panic!("{err:?}")
    };
    assert!(decode.snippet.contains("_default"));
    assert!(decode.operation.ends_with("all_rules"));
}

/// Endpoints newer than the test cluster (Druid 34 and 37) are proven here
/// against their documented answers, and their requests against the
/// documented paths.
#[tokio::test]
async fn newer_overlord_data_management_and_compaction() {
    let o = overlord("overlord__DELETE__druid_indexer_v1_datasources_datasource.json");
    assert_eq!(
        o.mark_datasource_unused("wiki")
            .await
            .unwrap()
            .num_changed_segments,
        Some(24)
    );
    let o = overlord("overlord__POST__druid_indexer_v1_datasources_datasource.json");
    assert_eq!(
        o.mark_datasource_used("wiki")
            .await
            .unwrap()
            .num_changed_segments,
        Some(1)
    );
    let o = overlord("overlord__POST__druid_indexer_v1_datasources_datasource_markUnused.json");
    let changed = o
        .mark_segments_unused(
            "wiki",
            &druid_api::models::SegmentFilter::interval("2024-01-01/2024-02-01"),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.num_changed_segments, Some(2));
    let o = overlord("overlord__POST__druid_indexer_v1_datasources_datasource_markUsed.json");
    assert!(
        o.mark_segments_used(
            "wiki",
            &druid_api::models::SegmentFilter::segment_ids(["s1"])
        )
        .await
        .unwrap()
        .is_some()
    );
    for (name, unused) in [
        (
            "overlord__DELETE__druid_indexer_v1_datasources_datasource_segments_segmentId.json",
            true,
        ),
        (
            "overlord__POST__druid_indexer_v1_datasources_datasource_segments_segmentId.json",
            false,
        ),
    ] {
        let o = overlord(name);
        let answer = if unused {
            o.mark_segment_unused("wiki", "seg").await
        } else {
            o.mark_segment_used("wiki", "seg").await
        };
        let answer = answer.unwrap();
        assert_eq!(answer.segment_state_changed, Some(true), "{name}");
        assert_eq!(answer.num_changed_segments, Some(1), "{name}");
    }

    let cluster = overlord("overlord__GET__druid_indexer_v1_compaction_config_cluster.json")
        .cluster_compaction_config()
        .await
        .unwrap();
    assert_eq!(cluster.compaction_task_slot_ratio, Some(0.5));
    assert_eq!(cluster.max_compaction_task_slots, Some(1500));
    assert_eq!(cluster.engine.as_deref(), Some("msq"));
    assert_eq!(
        cluster.compaction_policy.unwrap()["type"],
        "newestSegmentFirst"
    );
    let all = overlord("overlord__GET__druid_indexer_v1_compaction_config_datasources.json")
        .datasource_compaction_configs()
        .await
        .unwrap();
    assert_eq!(all.compaction_configs[0].data_source, "wikipedia_hour");
    let one =
        overlord("overlord__GET__druid_indexer_v1_compaction_config_datasources_dataSource.json")
            .datasource_compaction_config("wikipedia_hour")
            .await
            .unwrap();
    assert_eq!(one.task_priority, Some(25));
    let statuses = overlord("overlord__GET__druid_indexer_v1_compaction_status_datasources.json")
        .datasource_compaction_statuses()
        .await
        .unwrap();
    assert!(!statuses.latest_status.is_empty());
    let status =
        overlord("overlord__GET__druid_indexer_v1_compaction_status_datasources_dataSource.json")
            .datasource_compaction_status("wikipedia_hour")
            .await
            .unwrap();
    assert_eq!(status.latest_status[0].segment_count_compacted, Some(1));
}

#[tokio::test]
async fn newer_coordinator_status_and_broker_config() {
    let clones = coordinator("coordinator__GET__druid_coordinator_v1_config_cloneStatus.json")
        .clone_status()
        .await
        .unwrap();
    assert_eq!(clones.clone_status[0].target_server, "localhost:8083");
    assert_eq!(clones.clone_status[0].state.as_deref(), Some("IN_PROGRESS"));
    let synced = coordinator("coordinator__GET__druid_coordinator_v1_config_syncedBrokers.json")
        .synced_brokers()
        .await
        .unwrap();
    assert_eq!(synced.synced_brokers[0].port, 8082);
    assert_eq!(
        synced.synced_brokers[0].last_sync_timestamp_millis,
        Some(1745756337472)
    );
    let config = coordinator("coordinator__GET__druid_coordinator_v1_broker_config.json")
        .broker_dynamic_config()
        .await
        .unwrap();
    assert_eq!(config.query_blocklist[0].rule_name, "block-expensive-scans");
    assert_eq!(
        config.query_blocklist[0].query_types.as_deref(),
        Some(&["scan".to_owned()][..])
    );
    assert_eq!(config.query_context["timeout"], 300000);
    assert_eq!(
        config.per_segment_timeout_config["large_table"].per_segment_timeout_ms,
        10000
    );
    let history = coordinator("coordinator__GET__druid_coordinator_v1_broker_config_history.json")
        .broker_dynamic_config_history()
        .await
        .unwrap();
    assert_eq!(history[0].key, "broker.config");
    assert_eq!(
        history[0].payload_json().unwrap()["queryBlocklist"][0]["ruleName"],
        "block-expensive-scans"
    );
}

/// Supervisors need a stream (Kafka, Kinesis) the test cluster cannot have:
/// every supervisor call is proven here against Druid's documented answers.
#[tokio::test]
async fn supervisor_lifecycle_against_documented_answers() {
    let status = overlord("overlord__GET__druid_indexer_v1_supervisor_supervisorId_status.json")
        .supervisor_status("social_media")
        .await
        .unwrap();
    assert_eq!(status.id, "social_media");
    assert_eq!(status.payload.stream.as_deref(), Some("social_media"));
    assert_eq!(status.payload.aggregate_lag, Some(3));
    assert_eq!(status.payload.active_tasks.len(), 1);
    assert_eq!(status.payload.detailed_state.as_deref(), Some("RUNNING"));
    let stats = overlord("overlord__GET__druid_indexer_v1_supervisor_supervisorId_stats.json")
        .supervisor_stats("social_media")
        .await
        .unwrap();
    assert!(stats.is_object());
    let spec = serde_json::json!({"type": "kafka", "spec": {}});
    assert_eq!(
        overlord("overlord__POST__druid_indexer_v1_supervisor.json")
            .submit_supervisor(&spec)
            .await
            .unwrap()
            .id,
        "social_media"
    );
    for (name, kind) in [
        (
            "overlord__POST__druid_indexer_v1_supervisor_supervisorId_suspend.json",
            "suspend",
        ),
        (
            "overlord__POST__druid_indexer_v1_supervisor_supervisorId_resume.json",
            "resume",
        ),
    ] {
        let o = overlord(name);
        let answer = if kind == "suspend" {
            o.suspend_supervisor("s").await
        } else {
            o.resume_supervisor("s").await
        };
        assert_eq!(answer.unwrap()["type"], "kafka", "{name}");
    }
    let offsets = serde_json::json!({"type": "kafka", "partitions": {"type": "end", "stream": "social_media", "partitionOffsetMap": {"0": 100}}});
    assert_eq!(
        overlord("overlord__POST__druid_indexer_v1_supervisor_supervisorId_resetOffsets.json")
            .reset_supervisor_offsets("social_media", &offsets)
            .await
            .unwrap()
            .id,
        "social_media"
    );
    let all = overlord("overlord__POST__druid_indexer_v1_supervisor_suspendAll.json");
    assert_eq!(
        all.suspend_all_supervisors().await.unwrap().status,
        "success"
    );
    let all = overlord("overlord__POST__druid_indexer_v1_supervisor_resumeAll.json");
    assert_eq!(
        all.resume_all_supervisors().await.unwrap().status,
        "success"
    );
    let all = overlord("overlord__POST__druid_indexer_v1_supervisor_terminateAll.json");
    assert_eq!(
        all.terminate_all_supervisors().await.unwrap().status,
        "success"
    );
}
