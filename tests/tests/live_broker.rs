//! The Broker-side APIs against a real cluster: asynchronous SQL statements
//! and the `run_async` helper, SQL capability probes, query candidates and
//! the legacy datasource metadata, lookups as the lookup-loading services
//! see them, and the chat API of running tasks (on the Indexer, which runs
//! the tasks of the local cluster).
//!
//! These tests need the cluster of `cargo xtask druid up` (found through
//! `DRUID_URL`); plain `cargo test` lists them as ignored. Every wait has a
//! limit. Tests that occupy task slots take [`SLOTS`] so that they do not
//! starve each other; the ingested datasource is shared.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use std::time::Duration;

use druid_api::models::{LookupSpec, SqlParameter, StatementState, TaskState};
use druid_api::prelude::*;
use druid_api::transport::Error as TransportError;
use druid_api::{BrokerClient, Client, Error, OverlordClient, PeonClient};
use druid_tests::live::{client, eventually, unique};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Mutex, OnceCell};

const TASK_LIMIT: Duration = Duration::from_secs(240);
const LOAD_LIMIT: Duration = Duration::from_secs(180);
/// The Coordinator pushes lookups every `druid.manager.lookups.period` (2 min).
const LOOKUP_LIMIT: Duration = Duration::from_secs(300);

/// Held by the tests that run tasks, so they never wait for each other's slots.
static SLOTS: Mutex<()> = Mutex::const_new(());

static WIKI: OnceCell<String> = OnceCell::const_new();

/// The shared datasource: four rows over two days, ingested once (with
/// MSQ where the cluster has it, else a native task).
async fn wiki() -> &'static str {
    WIKI.get_or_init(|| async {
        let _slots = SLOTS.lock().await;
        let name = unique("live_brk_wiki");
        druid_tests::live::ingest(&name).await;
        name
    })
    .await
}

/// Without MSQ, an asynchronous statement fails at once, naming the
/// extension (Druid 33 without it answers 405 with no body).
fn assert_needs_msq(err: &Error) {
    assert_eq!(
        err.missing_extension(),
        Some("druid-multi-stage-query"),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 1, "{err:?}");
    assert!(
        err.to_string().contains(
            "it needs the druid-multi-stage-query extension, which the cluster does not load"
        ),
        "{err}"
    );
}

/// A statement that runs until it is canceled: it reads from a port where
/// nothing listens, and the HTTP input source retries for minutes.
const ENDLESS: &str = r#"SELECT * FROM TABLE(EXTERN('{"type":"http","uris":["http://localhost:1/nothing.json"]}', '{"type":"json"}', '[{"name":"a","type":"long"}]'))"#;

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Row {
    #[serde(rename = "__time")]
    time: i64,
    page: String,
    added: i64,
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn async_statement_runs_and_reads_its_rows() {
    let name = wiki().await;
    let _slots = SLOTS.lock().await;
    let client = client();
    let results = client
        .sql(format!(
            r#"SELECT __time, page, added FROM "{name}" WHERE added >= ? ORDER BY __time"#
        ))
        .parameter(SqlParameter::bigint(1))
        .context("maxNumTasks", 2)
        .run_async(TASK_LIMIT)
        .await;
    if !druid_tests::live::has_msq().await {
        return assert_needs_msq(&results.unwrap_err());
    }
    let results = results.unwrap();
    let expected = [
        (1704067200000, "Rust", 10),
        (1704070800000, "Druid", 32),
        (1704153600000, "Rust", 5),
        (1704171600000, "Java", 1),
    ]
    .map(|(time, page, added)| Row {
        time,
        page: page.to_owned(),
        added,
    });
    assert_eq!(results.status().state, StatementState::Success);
    assert_eq!(results.num_rows(), Some(4));
    let columns: Vec<(&str, Option<&str>, Option<&str>)> = results
        .columns()
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.sql_type.as_deref(),
                c.native_type.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("__time", Some("TIMESTAMP"), Some("LONG")),
            ("page", Some("VARCHAR"), Some("STRING")),
            ("added", Some("BIGINT"), Some("LONG"))
        ]
    );
    assert!(!results.pages().is_empty());
    let first = &results.pages()[0];
    let page: Vec<Row> = results.page(first.id).await.unwrap();
    assert_eq!(Some(page.len() as i64), first.num_rows);
    assert_eq!(results.rows::<Row>().await.unwrap(), expected);
    let sample = &results.status().result.as_ref().unwrap().sample_records;
    assert_eq!(
        sample[1],
        [json!(1704070800000_i64), json!("Druid"), json!(32)]
    );

    // The endpoints the helper used, one by one.
    let id = results.query_id();
    let status = client.statement(id).await.unwrap();
    assert_eq!(status.state, StatementState::Success);
    assert!(status.duration_ms.unwrap() > 0);
    let detail = client.statement_detail(id).await.unwrap();
    assert_eq!(detail.query_id, id);
    assert_eq!(detail.state, StatementState::Success);
    // Druid 27 ignores `detail`; 31+ adds the stages.
    println!("detail adds stages: {}", detail.stages.is_some());
    let raw = client.statement_results(id).await.unwrap();
    let text = raw.text().unwrap();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    let rows = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Value>>(&text).unwrap().len()
    } else {
        lines
    };
    assert_eq!(rows, 4, "every page at once: {text}");
    let err = results.page::<Row>(999).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400, "{err:?}");
    // A statement can be waited for again by its ID, through the Broker too.
    let again = client.wait_for_statement(id, LOAD_LIMIT).await.unwrap();
    assert_eq!(again.rows::<Row>().await.unwrap(), expected);
    let broker = client.cluster().await.unwrap().broker().unwrap();
    let through_broker = Client::new(broker.service().clone());
    assert_eq!(
        through_broker
            .wait_for_statement(id, LOAD_LIMIT)
            .await
            .unwrap()
            .num_rows(),
        Some(4)
    );
    assert_eq!(
        broker.statement(id).await.unwrap().state,
        StatementState::Success
    );
    // Canceling a finished statement is a no-op (200).
    client.cancel_statement(id).await.unwrap();
    assert_eq!(
        client.statement(id).await.unwrap().state,
        StatementState::Success
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn a_long_statement_times_out_and_is_canceled() {
    let _slots = SLOTS.lock().await;
    let client = client();
    let submitted = client
        .sql(ENDLESS)
        .context("maxNumTasks", 2)
        .submit_async()
        .await;
    if !druid_tests::live::has_msq().await {
        return assert_needs_msq(&submitted.unwrap_err());
    }
    let mut statement = submitted.unwrap();
    let id = statement.query_id().to_owned();
    assert!(id.starts_with("query-"), "{id}");
    assert!(!statement.status().state.is_terminal());
    let err = statement.wait(Duration::from_secs(3)).await.unwrap_err();
    assert!(
        matches!(&err, Error::WaitTimeout { what, .. } if what.contains(&id)),
        "{err:?}"
    );
    // Until it runs the results are a 400.
    let err = client.statement_results(&id).await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400, "{err:?}");
    eventually("the statement to run", TASK_LIMIT, || {
        let mut statement = statement.clone();
        async move {
            let state = statement.refresh().await?.state.clone();
            Ok((state == StatementState::Running).then_some(()))
        }
    })
    .await
    .unwrap();
    assert_eq!(
        statement.refresh().await.unwrap().state,
        StatementState::Running
    );
    statement.cancel().await.unwrap();
    let err = statement.wait(TASK_LIMIT).await.unwrap_err();
    let Error::TaskFailed {
        task_id,
        state,
        message,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(task_id, &id);
    // Druid 27 ends a canceled statement FAILED: with the code `Canceled`
    // once its workers run, "Shutdown request from user" before.
    assert!(state == "CANCELED" || state == "FAILED", "{err:?}");
    assert!(
        ["Cancel", "cancel", "Shutdown request"]
            .iter()
            .any(|m| message.contains(m)),
        "{err:?}"
    );
    let status = client.statement(&id).await.unwrap();
    assert!(status.state.is_terminal());
    let details = status.error_details.unwrap();
    assert!(details.error_message.is_some(), "{details:?}");
    let err = client.statement_results(&id).await.unwrap_err();
    let code = err.status().unwrap().as_u16();
    assert!(code == 400 || code == 404, "{err:?}");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn statement_errors_are_typed() {
    let client = client();
    if !druid_tests::live::has_msq().await {
        // Without MSQ every statement endpoint names the missing extension.
        assert_needs_msq(&client.statement("nonexistent").await.unwrap_err());
        assert_needs_msq(
            &client
                .submit_statement(&druid_api::models::SqlQuery::new("SELECT 1"))
                .await
                .unwrap_err(),
        );
        assert_needs_msq(&client.cancel_statement("nonexistent").await.unwrap_err());
        return;
    }
    for err in [
        client
            .statement("nonexistent")
            .await
            .map(|_| ())
            .unwrap_err(),
        client
            .statement_results("nonexistent")
            .await
            .map(|_| ())
            .unwrap_err(),
        client.cancel_statement("nonexistent").await.unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err:?}");
        assert_eq!(err.druid_error().unwrap().code(), Some("notFound"));
    }
    // Without executionMode Druid refuses the statement.
    let err = client
        .submit_statement(&druid_api::models::SqlQuery::new("SELECT 1"))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400, "{err:?}");
    assert_eq!(err.druid_error().unwrap().code(), Some("invalidInput"));
    // Bad SQL is refused at submission, before any task (Druid 27: a 500
    // with the parser's message).
    let err = client
        .sql("SELEC nonsense")
        .run_async(Duration::from_secs(30))
        .await
        .unwrap_err();
    let Some(api) = err.api() else {
        panic!("{err:?}")
    };
    assert!(!api.status.is_success(), "{err:?}");
    assert!(api.error.message().unwrap().contains("parse"), "{err:?}");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn sql_capability_probes() {
    let client = client();
    let broker = client.cluster().await.unwrap().broker().unwrap();
    if druid_tests::live::has_msq().await {
        assert!(client.sql_task_enabled().await.unwrap().enabled);
        assert!(broker.sql_task_enabled().await.unwrap().enabled);
    } else {
        // Without MSQ the probe answers 404: the missing extension.
        assert_needs_msq(&client.sql_task_enabled().await.unwrap_err());
        assert_needs_msq(&broker.sql_task_enabled().await.unwrap_err());
    }
    // Releases before Dart answer 405: the path matches DELETE /druid/v2/sql/{id}.
    match client.sql_engines().await {
        Ok(engines) => assert!(engines.names().contains(&"native"), "{engines:?}"),
        Err(err) => assert_eq!(err.status().unwrap().as_u16(), 405, "{err:?}"),
    }
    match broker.sql_queries().self_only(true).await {
        Ok(list) => assert!(list.queries.iter().all(|q| q.sql_query_id.is_some())),
        Err(err) => assert_eq!(err.status().unwrap().as_u16(), 405, "{err:?}"),
    }
    let err = client
        .sql_query_reports(&unique("no-such-query"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn broker_metadata_of_the_ingested_datasource() {
    let name = wiki().await;
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let broker = cluster.broker().unwrap();
    let historical_port = cluster.historicals().unwrap()[0].base_url().port().unwrap();
    assert!(
        broker
            .queryable_datasources()
            .await
            .unwrap()
            .contains(&name.to_owned())
    );
    assert!(
        client
            .queryable_datasources()
            .await
            .unwrap()
            .contains(&name.to_owned()),
        "through the Router"
    );
    let columns = broker
        .queryable_datasource(name)
        .interval("2024-01-01/2024-01-03")
        .await
        .unwrap();
    // Both ingestions store `added` as a long dimension: no metrics.
    assert_eq!(columns.dimensions, ["added", "page"]);
    assert!(columns.metrics.is_empty());
    let recent = broker.queryable_datasource(name).await.unwrap();
    assert!(
        recent.dimensions.is_empty() && recent.metrics.is_empty(),
        "2024 is older than the default week: {recent:?}"
    );
    let full = client
        .queryable_datasource_full(name)
        .interval("2024-01-01/2024-01-03")
        .await
        .unwrap();
    assert!(!full.is_empty());
    assert!(
        full.keys()
            .all(|interval| interval.starts_with("2024-01-0"))
    );
    assert!(
        full.values()
            .all(|c| c.dimensions.contains(&"page".to_owned()))
    );
    #[allow(deprecated)]
    {
        assert_eq!(
            broker
                .queryable_dimensions(name)
                .interval("2024-01-01/2024-01-03")
                .await
                .unwrap(),
            ["added", "page"]
        );
        assert!(
            broker
                .queryable_metrics(name)
                .interval("2024-01-01/2024-01-03")
                .await
                .unwrap()
                .is_empty()
        );
    }
    let candidates = broker
        .datasource_candidates(name, &["2024-01-01/2024-01-02", "2024-01-02/2024-01-03"])
        .await
        .unwrap();
    assert_eq!(candidates.len(), 2, "one segment per day: {candidates:?}");
    for candidate in &candidates {
        assert!(candidate.size.unwrap() > 0);
        assert_eq!(candidate.partition_number, Some(0));
        let location = &candidate.locations[0];
        assert_eq!(location.server_type.as_deref(), Some("historical"));
        assert_eq!(location.tier.as_deref(), Some("_default_tier"));
        assert_eq!(
            location.host.as_deref(),
            Some(format!("localhost:{historical_port}").as_str())
        );
    }
    let one = broker
        .datasource_candidates(name, &["2024-01-02/2024-01-03"])
        .num_candidates(1)
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert!(one[0].interval.starts_with("2024-01-02"));
    let timeseries = json!({
        "queryType": "timeseries",
        "dataSource": name,
        "granularity": "all",
        "intervals": ["2024-01-01/2024-01-02"],
        "aggregations": [{"type": "count", "name": "rows"}]
    });
    let planned = client.query_candidates(&timeseries).await.unwrap();
    assert_eq!(planned.len(), 1, "{planned:?}");
    assert_eq!(
        planned[0].interval,
        "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z"
    );
    assert_eq!(planned[0].version, candidates[0].version);
    assert_eq!(
        broker
            .query_candidates(&timeseries)
            .pretty(true)
            .await
            .unwrap(),
        planned
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn lookups_as_the_broker_historical_and_indexer_see_them() {
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let coordinator = cluster.coordinator().unwrap();
    let broker = cluster.broker().unwrap();
    let historical = cluster.historicals().unwrap().remove(0);
    coordinator.update_lookups(&json!({})).await.unwrap();
    let name = unique("live_brk_lookup");
    let spec = LookupSpec::map(
        "v1",
        [
            ("US".to_owned(), "United States".to_owned()),
            ("FR".to_owned(), "France".to_owned()),
        ],
    );
    coordinator
        .set_lookup("__default", &name, &spec)
        .await
        .unwrap();
    let err = broker
        .loaded_lookup(&unique("no_such_lookup"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let loaded = eventually("the Broker to load the lookup", LOOKUP_LIMIT, || {
        let broker = broker.clone();
        let name = name.clone();
        async move {
            match broker.loaded_lookup(&name).await {
                Ok(spec) => Ok(Some(spec)),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(loaded.version, "v1");
    assert_eq!(loaded.lookup_extractor_factory["type"], "map");
    assert_eq!(loaded.lookup_extractor_factory["map"]["FR"], "France");
    let state = broker.loaded_lookups().await.unwrap();
    assert_eq!(state.current[&name].version, "v1");
    assert!(!state.to_drop.contains(&name));

    let expected: std::collections::BTreeMap<String, String> = [
        ("FR".to_owned(), "France".to_owned()),
        ("US".to_owned(), "United States".to_owned()),
    ]
    .into();
    assert_eq!(broker.introspect_lookup(&name).await.unwrap(), expected);
    // Before Druid 32 keys and values are Java's list text, not JSON.
    match broker.introspect_lookup_keys(&name).await {
        Ok(mut keys) => {
            keys.sort();
            assert_eq!(keys, ["FR", "US"]);
        }
        Err(Error::Transport(TransportError::Decode(decode))) => {
            assert!(
                decode.snippet.starts_with('[') && decode.snippet.contains("US"),
                "{decode:?}"
            );
        }
        Err(other) => panic!("{other:?}"),
    }
    match broker.introspect_lookup_values(&name).await {
        Ok(mut values) => {
            values.sort();
            assert_eq!(values, ["France", "United States"]);
        }
        Err(Error::Transport(TransportError::Decode(decode))) => {
            assert!(decode.snippet.contains("United States"), "{decode:?}");
        }
        Err(other) => panic!("{other:?}"),
    }
    // A lookup the Broker does not have: 404 for the keys, and for the map
    // 404 or, on Druid 27, 405.
    let missing = unique("no_such_lookup");
    let err = broker.introspect_lookup(&missing).await.unwrap_err();
    let status = err.status().unwrap().as_u16();
    assert!(status == 404 || status == 405, "{err:?}");
    let err = broker.introspect_lookup_keys(&missing).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    // The Historical and the Indexer load it in the same round.
    eventually("the Historical to load the lookup", LOOKUP_LIMIT, || {
        let historical = historical.clone();
        let name = name.clone();
        async move {
            let state = historical.loaded_lookups().await?;
            Ok(state.current.contains_key(&name).then_some(()))
        }
    })
    .await
    .unwrap();
    assert_eq!(historical.loaded_lookup(&name).await.unwrap().version, "v1");
    assert_eq!(historical.introspect_lookup(&name).await.unwrap(), expected);
    for indexer in cluster.indexers().unwrap() {
        let indexer_name = name.clone();
        eventually("the Indexer to load the lookup", LOOKUP_LIMIT, || {
            let indexer = indexer.clone();
            let name = indexer_name.clone();
            async move {
                let state = indexer.loaded_lookups().await?;
                Ok(state.current.contains_key(&name).then_some(()))
            }
        })
        .await
        .unwrap();
        assert_eq!(indexer.loaded_lookup(&name).await.unwrap(), loaded);
    }
    coordinator.delete_lookup("__default", &name).await.unwrap();
}

/// Writes `files` small JSON files for a parallel task; returns the folder.
fn input_files(files: usize) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("live_brk_chat"));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 1..=files {
        std::fs::write(
            dir.join(format!("part{i}.json")),
            format!(
                "{{\"ts\":\"2024-03-0{i}T00:00:00Z\",\"page\":\"p{i}\",\"added\":{i}}}\n{{\"ts\":\"2024-03-0{i}T01:00:00Z\",\"page\":\"q{i}\",\"added\":1}}\n"
            ),
        )
        .unwrap();
    }
    dir
}

/// The chat client of a running task: its location, as the task status
/// reports it (on this cluster the Indexer's own host and port).
/// A Peon client for the task's chat handler, without retries: the tests
/// poll it themselves while the handler registers.
async fn chat_client(overlord: &OverlordClient, task_id: &str) -> PeonClient {
    let location = eventually("the task to have a location", TASK_LIMIT, || {
        let overlord = overlord.clone();
        let task_id = task_id.to_owned();
        async move {
            let status = overlord.task_status(&task_id).await?.status;
            Ok(status
                .and_then(|s| s.location)
                .filter(|l| l.host.is_some() && l.port.unwrap_or(-1) > 0))
        }
    })
    .await
    .unwrap();
    let service = druid_tests::live::client_without_retries()
        .transport()
        .service_for(
            location.host.as_deref().unwrap(),
            location.port.and_then(|p| u16::try_from(p).ok()),
            None,
        )
        .unwrap();
    PeonClient::new(service)
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn chat_with_a_parallel_task_while_it_runs() {
    let _slots = SLOTS.lock().await;
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let overlord = cluster.overlord().unwrap();
    let capacity: i64 = overlord
        .workers()
        .await
        .unwrap()
        .iter()
        .map(|w| w.worker.capacity.unwrap_or(0))
        .sum();
    assert!(capacity >= 2, "capacity {capacity}");
    // Fill every slot but one with noop tasks: the supervisor takes the last,
    // and its subtasks wait until a noop is shut down.
    let mut noops = Vec::new();
    for _ in 0..capacity - 1 {
        let noop = overlord
            .submit_task(
                &json!({"type": "noop", "id": unique("live_brk_noop"), "runTime": 180_000}),
            )
            .await
            .unwrap();
        noops.push(noop.task);
    }
    eventually("the noop tasks to run", TASK_LIMIT, || {
        let overlord = overlord.clone();
        let noops = noops.clone();
        async move {
            let running = overlord.running_tasks().await?;
            Ok(noops
                .iter()
                .all(|id| running.iter().any(|t| &t.id == id))
                .then_some(()))
        }
    })
    .await
    .unwrap();

    let files = 6;
    let dir = input_files(files);
    let datasource = unique("live_brk_parallel");
    let spec = druid_tests::live::index_parallel_spec(
        &datasource,
        json!({"type": "local", "baseDir": dir.to_str().unwrap(), "filter": "*.json"}),
        json!({"type": "index_parallel", "maxNumConcurrentSubTasks": 2,
            "splitHintSpec": {"type": "maxSize", "maxNumFiles": 1}}),
    );
    let task = overlord.submit_task(&spec).await.unwrap().task;
    let peon = chat_client(&overlord, &task).await;
    let mode = eventually("the supervisor's chat handler", TASK_LIMIT, || {
        let peon = peon.clone();
        let task = task.clone();
        async move {
            match peon.parallel_mode(&task).await {
                Ok(mode) => Ok(Some(mode)),
                // Before the handler is registered: "Can't find chatHandler",
                // a 400 on Druid 27, a 503 on Druid 33.
                Err(e) if e.status().is_some_and(|s| matches!(s.as_u16(), 400 | 503)) => Ok(None),
                Err(e) => Err(e),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(mode, "parallel");
    let progress = eventually("the first subtasks", TASK_LIMIT, || {
        let peon = peon.clone();
        let task = task.clone();
        async move {
            match peon.parallel_progress(&task).await {
                Ok(progress) if progress.total > 0 => Ok(Some(progress)),
                Ok(_) => Ok(None),
                Err(e) if e.status().is_some_and(|s| s.as_u16() == 503) => Ok(None),
                Err(e) => Err(e),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        progress.complete, 0,
        "no slot for a subtask yet: {progress:?}"
    );
    assert_eq!(progress.estimated_expected_succeeded, Some(files as i64));
    assert_eq!(
        peon.parallel_phase(&task).await.unwrap(),
        "segment generation"
    );
    let running = peon.running_subtasks(&task).await.unwrap();
    assert!(!running.is_empty());
    let specs = peon.subtask_specs(&task).await.unwrap();
    assert!(!specs.is_empty());
    assert!(
        specs
            .iter()
            .all(|s| s.supervisor_task_id.as_deref() == Some(task.as_str()))
    );
    let running_specs = peon.running_subtask_specs(&task).await.unwrap();
    assert!(!running_specs.is_empty());
    assert!(peon.complete_subtask_specs(&task).await.unwrap().is_empty());
    let waiting = &running_specs[0];
    let one = peon.subtask_spec(&task, &waiting.id).await.unwrap();
    assert_eq!(&one, waiting);
    assert!(
        one.input_split.unwrap()["split"][0]
            .as_str()
            .unwrap()
            .ends_with(".json")
    );
    let state = peon.subtask_spec_state(&task, &waiting.id).await.unwrap();
    assert_eq!(state.spec.id, waiting.id);
    let attempt = state.current_status.unwrap();
    // Druid may have started this attempt after `running` was read (a first
    // attempt that failed is replaced): it is among the running ones now.
    let running_now = peon.running_subtasks(&task).await.unwrap();
    assert!(
        running.contains(&attempt.id) || running_now.contains(&attempt.id),
        "{attempt:?} not in {running:?} nor {running_now:?}"
    );
    assert_eq!(attempt.status_code, TaskState::Running);
    assert!(state.task_history.is_empty());
    let err = peon
        .subtask_spec_history(&task, &waiting.id)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "no attempt finished yet: {err:?}");
    let err = peon.subtask_spec(&task, "no-such-spec").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let stats = peon.row_stats(&task).await.unwrap();
    assert_eq!(stats.build_segments().map(|b| b.processed), Some(0));
    match peon.unparseable_events(&task).await {
        Ok(events) => println!("supervisor unparseable events: {events}"),
        // Druid 27's parallel supervisor has no such endpoint.
        Err(err) => assert!(err.is_not_found(), "{err:?}"),
    }

    // Free a slot: the subtasks run one by one; look at the first finished
    // one while the others still wait.
    overlord.shutdown_task(&noops.remove(0)).await.unwrap();
    let complete = eventually("a finished subtask", TASK_LIMIT, || {
        let peon = peon.clone();
        let task = task.clone();
        async move {
            let complete = peon.complete_subtask_specs(&task).await?;
            Ok((!complete.is_empty()).then_some(complete))
        }
    })
    .await
    .unwrap();
    let done = &complete[0];
    let history = peon.subtask_spec_history(&task, &done.id).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].status_code, TaskState::Success);
    assert_eq!(
        history[0].task_type.as_deref(),
        Some("single_phase_sub_task")
    );
    assert_eq!(history[0].group_id.as_deref(), Some(task.as_str()));
    let state = peon.subtask_spec_state(&task, &done.id).await.unwrap();
    assert!(state.current_status.is_none());
    assert_eq!(state.task_history, history);
    let progress = peon.parallel_progress(&task).await.unwrap();
    assert!(progress.succeeded >= 1, "{progress:?}");
    // A running subtask answers its own row stats (with moving averages),
    // when it is caught running: subtasks take well under a second.
    for subtask in peon.running_subtasks(&task).await.unwrap_or_default() {
        if let Ok(stats) = peon.row_stats(&subtask).await {
            println!("subtask {subtask} row stats: {stats:?}");
        }
    }

    for noop in noops {
        overlord.shutdown_task(&noop).await.unwrap();
    }
    let status = overlord
        .wait_for_task_success(&task, TASK_LIMIT)
        .await
        .unwrap();
    assert_eq!(status.task_type.as_deref(), Some("index_parallel"));
    // A parallel task's report nests its row counts under `totals`.
    let reports = overlord.task_reports(&task).await.unwrap();
    let payload = reports.payload("ingestionStatsAndErrors").unwrap();
    assert_eq!(
        payload["rowStats"]["totals"]["buildSegments"]["processed"],
        json!(2 * files),
        "{payload}"
    );
    // A task that no longer runs has no chat handler: Druid 27 answers
    // 400, Druid 33 503 (which a client with retries waits out, as a chat
    // handler is also missing while a task starts).
    let err = peon.parallel_mode(&task).await.unwrap_err();
    assert!(
        matches!(err.status().unwrap().as_u16(), 400 | 503),
        "{err:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Serves `first` to the first request, then holds the connection open
/// until `release` fires, then sends `rest` and closes: a slow HTTP input.
async fn slow_http_source(
    first: &'static str,
    rest: &'static str,
) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buffer).await.unwrap();
            if n == 0 {
                return;
            }
            request.extend_from_slice(&buffer[..n]);
        }
        socket
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
            )
            .await
            .unwrap();
        socket.write_all(first.as_bytes()).await.unwrap();
        socket.flush().await.unwrap();
        let _ = released.await;
        socket.write_all(rest.as_bytes()).await.unwrap();
        socket.shutdown().await.unwrap();
    });
    (port, release)
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn row_stats_of_a_running_index_task() {
    let _slots = SLOTS.lock().await;
    let client = client();
    let overlord = client.cluster().await.unwrap().overlord().unwrap();
    let (port, release) = slow_http_source(
        "{\"ts\":\"2024-04-01T00:00:00Z\",\"page\":\"a\",\"added\":1}\n{\"ts\":\"2024-04-01T01:00:00Z\",\"page\":\"b\",\"added\":2}\n",
        "{\"ts\":\"2024-04-01T02:00:00Z\",\"page\":\"c\",\"added\":3}\n",
    )
    .await;
    let spec = json!({"type": "index", "spec": {
        "dataSchema": {
            "dataSource": unique("live_brk_index"),
            "timestampSpec": {"column": "ts", "format": "iso"},
            "dimensionsSpec": {"dimensions": ["page"]},
            "granularitySpec": {"segmentGranularity": "day", "queryGranularity": "none", "rollup": false,
                "intervals": ["2024-04-01/2024-04-02"]}
        },
        "ioConfig": {"type": "index",
            "inputSource": {"type": "http", "uris": [format!("http://127.0.0.1:{port}/rows.json")]},
            "inputFormat": {"type": "json"}},
        "tuningConfig": {"type": "index", "maxParseExceptions": 10, "maxSavedParseExceptions": 10}
    }});
    let task = overlord.submit_task(&spec).await.unwrap().task;
    let peon = chat_client(&overlord, &task).await;
    // The task reads the first rows (the JSON reader looks one row ahead, so
    // it counts one or two), then waits for the rest.
    let stats = eventually("the first rows to be counted", TASK_LIMIT, || {
        let peon = peon.clone();
        let task = task.clone();
        async move {
            match peon.row_stats(&task).await {
                Ok(stats) if stats.build_segments().is_some_and(|b| b.processed >= 1) => {
                    Ok(Some(stats))
                }
                Ok(_) => Ok(None),
                Err(e) if e.status().is_some_and(|s| s.as_u16() == 400) => Ok(None),
                Err(e) => Err(e),
            }
        }
    })
    .await
    .unwrap();
    let totals = stats.build_segments().unwrap();
    assert!(totals.processed <= 2, "{totals:?}");
    assert!(totals.processed_bytes > 0);
    assert_eq!((totals.unparseable, totals.thrown_away), (0, 0));
    let windows = &stats.moving_averages["buildSegments"];
    for window in ["1m", "5m", "15m"] {
        assert!(windows[window].processed >= 0.0, "{window}");
    }
    let full = peon.row_stats(&task).full(true).await.unwrap();
    assert!(full.moving_averages.contains_key("buildSegments"));
    let events = peon.unparseable_events(&task).await.unwrap();
    assert!(events.get("buildSegments").is_some(), "{events}");
    let all = peon.unparseable_events(&task).full(true).await.unwrap();
    assert!(all.as_object().unwrap().len() >= events.as_object().unwrap().len());
    // Not a parallel task: no mode.
    let err = peon.parallel_mode(&task).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    release.send(()).unwrap();
    let status = overlord
        .wait_for_task_success(&task, TASK_LIMIT)
        .await
        .unwrap();
    assert_eq!(status.task_type.as_deref(), Some("index"));
    let stats = overlord
        .task_reports(&task)
        .await
        .unwrap()
        .ingestion_stats()
        .unwrap();
    assert_eq!(stats.rows_processed(), Some(3));
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn broker_only_clients_reach_the_same_statement_api() {
    let client = client();
    let broker: BrokerClient = client.cluster().await.unwrap().broker().unwrap();
    let err = broker.statement("nonexistent").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let router = client.cluster().await.unwrap().router().unwrap();
    let err = router.statement("nonexistent").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}
