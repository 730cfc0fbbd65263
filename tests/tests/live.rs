//! The API against a real Druid cluster, as a user would use it.
//!
//! These tests need the cluster of `cargo xtask druid up` (found through
//! `DRUID_URL`). Plain `cargo test` lists them as ignored with the reason;
//! `cargo xtask ci` starts the cluster and runs them with
//! `--include-ignored`, where a missing cluster fails them.
//!
//! Every wait has a limit. Tests that need ingested rows share one
//! datasource, ingested once with SQL (MSQ); tests that change state make
//! their own datasources, lookups or configs and clean up.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use std::collections::BTreeSet;
use std::time::Duration;

use druid_api::ServerType;
use druid_api::models::{
    DataSourceCompactionConfig, LookupSpec, ResultFormat, Rule, SqlParameter, TaskListState,
    TaskState,
};
use druid_api::prelude::*;
use druid_tests::live::{LOAD_LIMIT, TASK_LIMIT, client, eventually, ingest, unique, version};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The shared datasource and the MSQ task that ingested it.
struct Wiki {
    name: String,
    task_id: String,
}

static WIKI: OnceCell<Wiki> = OnceCell::const_new();

async fn wiki() -> &'static Wiki {
    WIKI.get_or_init(|| async {
        let name = unique("live_wiki");
        let task_id = ingest(&name).await;
        Wiki { name, task_id }
    })
    .await
}

/// What both discovery sources know of a server: its key, host, ports,
/// and per role the leader flag and the tier.
type Shape = Vec<(
    String,
    String,
    Option<u16>,
    Option<u16>,
    Vec<(String, Option<bool>, Option<String>)>,
)>;

fn shape(model: &druid_api::ClusterModel) -> Shape {
    let mut servers: Shape = model
        .servers()
        .iter()
        .map(|s| {
            let mut roles: Vec<_> = s
                .roles
                .iter()
                .map(|r| (r.server_type.to_string(), r.is_leader, r.tier.clone()))
                .collect();
            roles.sort();
            (
                s.server.clone(),
                s.host.clone(),
                s.plaintext_port,
                s.tls_port,
                roles,
            )
        })
        .collect();
    servers.sort();
    servers
}

/// Without a Broker, discovery reads the Coordinator's view: the same
/// servers, roles, ports, leaders and tiers as sys.servers gives.
#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn both_discovery_sources_give_the_same_model() {
    let client = client();
    let from_table = druid_discovery::discover_from_sys_servers(client.service())
        .await
        .unwrap();
    let from_view = druid_discovery::discover_from_coordinator(client.service())
        .await
        .unwrap();
    assert_eq!(from_table.source(), druid_discovery::Source::SysServers);
    assert_eq!(from_view.source(), druid_discovery::Source::Coordinator);
    assert!(from_table.servers().len() >= 5, "{from_table:?}");
    assert_eq!(shape(&from_table), shape(&from_view));
    assert_eq!(
        client.cluster().await.unwrap().model().source(),
        druid_discovery::Source::SysServers
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn discovery_finds_every_service() {
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let mut types = BTreeSet::new();
    for server in cluster.servers() {
        assert_eq!(server.host, "localhost");
        assert!(server.plaintext_port.is_some(), "{server:?}");
        for role in &server.roles {
            types.insert(role.server_type.clone());
        }
    }
    for expected in [
        ServerType::Coordinator,
        ServerType::Overlord,
        ServerType::Broker,
        ServerType::Historical,
        ServerType::Router,
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    assert!(
        types.contains(&ServerType::Indexer) || types.contains(&ServerType::MiddleManager),
        "no worker in {types:?}"
    );
    // The Coordinator runs the Overlord: one server, two roles, both leading.
    let model = cluster.model();
    let lead = model.leader(&ServerType::Coordinator).unwrap();
    assert_eq!(
        lead.types().cloned().collect::<Vec<_>>(),
        [ServerType::Coordinator, ServerType::Overlord]
    );
    assert!(lead.is_leader(&ServerType::Coordinator) && lead.is_leader(&ServerType::Overlord));
    assert_eq!(
        cluster.coordinator().unwrap().base_url(),
        cluster.overlord().unwrap().base_url()
    );
    assert!(
        cluster
            .coordinator()
            .unwrap()
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    assert!(
        cluster
            .overlord()
            .unwrap()
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    // The Router we connected through is in the table.
    let router_port = client.base_url().port().unwrap();
    assert_eq!(
        cluster.what_is(client.base_url().as_str()).unwrap(),
        [ServerType::Router]
    );
    assert_eq!(
        cluster.router().unwrap().base_url().port(),
        Some(router_port)
    );
    // what_is and service recognise every server's endpoint.
    for server in cluster.servers() {
        let endpoint = format!("http://{}", server.server);
        let roles = cluster.what_is(&endpoint).unwrap();
        assert_eq!(roles, server.types().cloned().collect::<Vec<_>>());
        let any = cluster.service(&endpoint).unwrap();
        assert_eq!(&any.server_type(), server.types().next().unwrap());
        assert!(any.is_healthy().await.unwrap(), "{endpoint}");
    }
    // The Historical reports its tier and sizes.
    let model = cluster.model();
    let historical = model.of_type(&ServerType::Historical).next().unwrap();
    let role = historical.role(&ServerType::Historical).unwrap();
    assert_eq!(role.tier.as_deref(), Some("_default_tier"));
    assert!(role.max_size.unwrap() > 0);
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn every_service_is_healthy_and_reports_its_version() {
    let client = client();
    assert!(client.is_healthy().await.unwrap());
    let cluster = client.cluster().await.unwrap();
    let mut checked = 0;
    for server in cluster.servers() {
        for server_type in server.types() {
            let any = cluster
                .service_as(
                    &format!("{}:{}", server.host, server.plaintext_port.unwrap()),
                    server_type,
                )
                .unwrap();
            assert!(
                any.is_healthy().await.unwrap(),
                "{} {server_type}",
                server.server
            );
            let status = any.status().await.unwrap();
            if let Some(expected) = version() {
                assert_eq!(status.version, expected, "{}", server.server);
            }
            assert!(!status.version.is_empty());
            checked += 1;
        }
    }
    assert!(checked >= 6, "checked {checked} roles");
    let coordinator = cluster.coordinator().unwrap();
    let properties = coordinator.properties().await.unwrap();
    assert_eq!(
        properties.get("druid.service").map(String::as_str),
        Some("druid/coordinator")
    );
    assert!(
        coordinator
            .self_discovered_status()
            .await
            .unwrap()
            .self_discovered
    );
    assert!(coordinator.is_self_discovered().await.unwrap());
    let broker = cluster.broker().unwrap();
    assert_eq!(
        broker.properties().await.unwrap()["druid.service"],
        "druid/broker"
    );
    assert!(broker.load_status().await.unwrap().inventory_initialized);
    assert!(broker.is_ready().await.unwrap());
    let historical = &cluster.historicals().unwrap()[0];
    assert!(historical.load_status().await.unwrap().cache_initialized);
    assert!(historical.is_ready().await.unwrap());
    let router = cluster.router().unwrap();
    // The Router's management proxy reaches the leaders with the typed clients.
    let proxied = router.coordinator_proxy().unwrap();
    assert!(proxied.is_leader().await.unwrap().leader);
    assert_eq!(
        proxied.properties().await.unwrap()["druid.service"],
        "druid/coordinator"
    );
    assert!(
        !router
            .overlord_proxy()
            .unwrap()
            .workers()
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        router.properties().await.unwrap()["druid.service"],
        "druid/router"
    );
    assert_eq!(router.brokers().await.unwrap()["druid/broker"].len(), 1);
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn the_ingestion_task_reports_success() {
    let wiki = wiki().await;
    let client = client();
    let overlord = client.cluster().await.unwrap().overlord().unwrap();
    let msq = druid_tests::live::has_msq().await;
    let status = overlord
        .task_status(&wiki.task_id)
        .await
        .unwrap()
        .status
        .unwrap();
    assert_eq!(status.status_code, TaskState::Success);
    let task_type = if msq {
        "query_controller"
    } else {
        "index_parallel"
    };
    assert_eq!(status.task_type.as_deref(), Some(task_type));
    assert_eq!(status.data_source.as_deref(), Some(wiki.name.as_str()));
    assert!(status.duration.unwrap() > 0);
    let reports = overlord.task_reports(&wiki.task_id).await.unwrap();
    if msq {
        let msq = reports.msq_status().expect("an MSQ report");
        assert_eq!(msq.status, TaskState::Success);
        assert!(msq.duration_ms.unwrap() > 0);
    } else {
        let stats = reports.ingestion_stats().expect("a native report");
        assert_eq!(stats.ingestion_state.as_deref(), Some("COMPLETED"));
        // Without MSQ, SQL ingestion fails at once, naming the extension.
        let err = client
            .sql(druid_tests::live::replace_statement(&unique("live_no_msq")))
            .submit_task()
            .await
            .unwrap_err();
        assert_eq!(
            err.missing_extension(),
            Some("druid-multi-stage-query"),
            "{err:?}"
        );
    }
    let payload = overlord.task(&wiki.task_id).await.unwrap();
    assert_eq!(payload.task, wiki.task_id);
    assert_eq!(payload.payload["type"], task_type);
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn native_ingestion_through_the_overlord() {
    let client = client();
    let cluster = client.cluster().await.unwrap();
    let overlord = cluster.overlord().unwrap();
    let datasource = unique("live_native");
    let rows = "{\"ts\":\"2024-03-01T00:00:00Z\",\"page\":\"a\",\"added\":1}\n{\"ts\":\"2024-03-01T01:00:00Z\",\"page\":\"b\",\"added\":2}\n{\"ts\":\"2024-03-02T00:00:00Z\",\"page\":\"a\",\"added\":3}";
    let spec = druid_tests::live::index_parallel_spec(
        &datasource,
        json!({"type": "inline", "data": rows}),
        json!({"type": "index_parallel", "maxNumConcurrentSubTasks": 1}),
    );
    let task = overlord.submit_task(&spec).await.unwrap();
    let status = overlord
        .wait_for_task_success(&task.task, TASK_LIMIT)
        .await
        .unwrap();
    assert_eq!(status.task_type.as_deref(), Some("index_parallel"));
    assert_eq!(status.data_source.as_deref(), Some(datasource.as_str()));
    let stats = overlord
        .task_reports(&task.task)
        .await
        .unwrap()
        .ingestion_stats()
        .unwrap();
    assert_eq!(stats.ingestion_state.as_deref(), Some("COMPLETED"));
    assert_eq!(stats.rows_processed(), Some(3));
    cluster
        .coordinator()
        .unwrap()
        .wait_for_datasource_loaded(&datasource, LOAD_LIMIT)
        .await
        .unwrap();
    assert_eq!(
        client
            .wait_until_queryable(&datasource, 3, LOAD_LIMIT)
            .await
            .unwrap(),
        3
    );
    #[derive(serde::Deserialize)]
    struct Total {
        total: i64,
    }
    let total: Vec<Total> = client
        .sql(format!(r#"SELECT SUM(added) AS total FROM "{datasource}""#))
        .rows()
        .await
        .unwrap();
    assert_eq!(total[0].total, 6);
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn sql_queries_in_every_format() {
    let wiki = wiki().await;
    let client = client();
    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct PageTotal {
        page: String,
        added: i64,
    }
    let query = format!(
        r#"SELECT page, SUM(added) AS added FROM "{}" WHERE added >= ? GROUP BY page ORDER BY added DESC"#,
        wiki.name
    );
    let response = client
        .sql(query.clone())
        .parameter(SqlParameter::bigint(2))
        .context("sqlTimeZone", "Etc/UTC")
        .query_id("live-sql-formats")
        .send()
        .await
        .unwrap();
    assert_eq!(response.query_id(), Some("live-sql-formats"));
    let rows: Vec<PageTotal> = response.rows().unwrap();
    assert_eq!(
        rows,
        [
            PageTotal {
                page: "Druid".into(),
                added: 32
            },
            PageTotal {
                page: "Rust".into(),
                added: 15
            }
        ]
    );

    // Array format with every header: names, Druid types, SQL types.
    let response = client
        .sql(query.clone())
        .parameter(SqlParameter::bigint(2))
        .result_format(ResultFormat::Array)
        .header(true)
        .types_header(true)
        .sql_types_header(true)
        .await
        .unwrap();
    assert!(response.header_included());
    let columns = response.columns().unwrap().unwrap();
    assert_eq!(
        columns.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["page", "added"]
    );
    assert_eq!(columns[0].druid_type.as_deref(), Some("STRING"));
    assert_eq!(columns[1].druid_type.as_deref(), Some("LONG"));
    assert_eq!(columns[0].sql_type.as_deref(), Some("VARCHAR"));
    assert_eq!(columns[1].sql_type.as_deref(), Some("BIGINT"));
    let rows: Vec<(String, i64)> = response.rows().unwrap();
    assert_eq!(rows, [("Druid".to_owned(), 32), ("Rust".to_owned(), 15)]);

    // Object format with the typed header row.
    let response = client
        .sql(query.clone())
        .parameter(SqlParameter::bigint(2))
        .header(true)
        .types_header(true)
        .sql_types_header(true)
        .await
        .unwrap();
    let columns = response.columns().unwrap().unwrap();
    assert_eq!(columns[1].sql_type.as_deref(), Some("BIGINT"));
    assert_eq!(response.rows::<PageTotal>().unwrap().len(), 2);

    // CSV and the line formats.
    let csv = client
        .sql(query.clone())
        .parameter(SqlParameter::bigint(2))
        .result_format(ResultFormat::Csv)
        .header(true)
        .await
        .unwrap();
    assert_eq!(csv.columns().unwrap().unwrap()[0].name, "page");
    assert_eq!(
        csv.csv_rows().unwrap(),
        [
            vec!["Druid".to_owned(), "32".to_owned()],
            vec!["Rust".to_owned(), "15".to_owned()]
        ]
    );
    for format in [ResultFormat::ObjectLines, ResultFormat::ArrayLines] {
        let lines = client
            .sql(query.clone())
            .parameter(SqlParameter::bigint(2))
            .result_format(format.clone())
            .await
            .unwrap();
        let rows: Vec<Value> = lines.rows().unwrap();
        assert_eq!(rows.len(), 2, "{format}");
    }
    // An empty result is complete, not truncated.
    let none: Vec<Value> = client
        .sql(format!(
            r#"SELECT page FROM "{}" WHERE added > 1000"#,
            wiki.name
        ))
        .result_format(ResultFormat::ObjectLines)
        .rows()
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn native_queries() {
    let wiki = wiki().await;
    let client = client();
    let timeseries = json!({
        "queryType": "timeseries",
        "dataSource": wiki.name,
        "granularity": "day",
        "intervals": ["2024-01-01/2024-01-03"],
        "aggregations": [{"type": "longSum", "name": "added", "fieldName": "added"}, {"type": "count", "name": "rows"}]
    });
    let answer = client
        .native_query::<Vec<serde_json::Value>>(&timeseries)
        .await
        .unwrap();
    // Druid picks a query ID and says which in `X-Druid-Query-Id`.
    let query_id = answer.query_id.as_deref().unwrap();
    assert!(query_id.len() >= 32, "{query_id}");
    let days = &answer.result;
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["timestamp"], "2024-01-01T00:00:00.000Z");
    assert_eq!(days[0]["result"]["added"], 42);
    assert_eq!(days[0]["result"]["rows"], 2);
    assert_eq!(days[1]["result"]["added"], 6);
    let group_by = json!({
        "queryType": "groupBy",
        "dataSource": wiki.name,
        "granularity": "all",
        "intervals": ["2024-01-01/2024-02-01"],
        "dimensions": ["page"],
        "aggregations": [{"type": "longSum", "name": "added", "fieldName": "added"}],
        "limitSpec": {"type": "default", "columns": [{"dimension": "added", "direction": "descending"}]}
    });
    let answer = client
        .native_query::<Vec<serde_json::Value>>(&group_by)
        .await
        .unwrap();
    let pages: Vec<(String, i64)> = answer
        .result
        .iter()
        .map(|row| {
            (
                row["event"]["page"].as_str().unwrap().to_owned(),
                row["event"]["added"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [
            ("Druid".to_owned(), 32),
            ("Rust".to_owned(), 15),
            ("Java".to_owned(), 1)
        ]
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn coordinator_metadata_of_the_ingested_datasource() {
    let wiki = wiki().await;
    let cluster = client().cluster().await.unwrap();
    let coordinator = cluster.coordinator().unwrap();
    coordinator
        .wait_for_datasource_loaded(&wiki.name, LOAD_LIMIT)
        .await
        .unwrap();
    assert!(
        coordinator
            .datasources()
            .await
            .unwrap()
            .contains(&wiki.name)
    );
    let summary = coordinator.datasource(&wiki.name).await.unwrap().unwrap();
    let segments = summary.segments.unwrap();
    assert_eq!(segments.count, Some(2), "two days, two segments");
    assert!(segments.min_time.unwrap().starts_with("2024-01-01"));
    assert!(summary.tiers.contains_key("_default_tier"));
    let intervals = coordinator.datasource_intervals(&wiki.name).await.unwrap();
    assert_eq!(intervals.len(), 2);
    assert!(
        intervals.iter().any(|i| i.starts_with("2024-01-02")),
        "{intervals:?}"
    );
    let ids = coordinator
        .datasource_segment_ids(&wiki.name)
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let full = coordinator.datasource_segments(&wiki.name).await.unwrap();
    assert!(full.iter().all(|s| s.data_source == wiki.name));
    let one = coordinator
        .datasource_segment(&wiki.name, &ids[0])
        .await
        .unwrap();
    assert_eq!(one.servers.len(), 1);
    assert_eq!(
        coordinator.datasource_tiers(&wiki.name).await.unwrap(),
        ["_default_tier"]
    );
    let in_interval = coordinator
        .datasource_interval(&wiki.name, "2024-01-01/2024-01-02")
        .await
        .unwrap();
    assert_eq!(in_interval.as_array().unwrap().len(), 1);
    assert_eq!(coordinator.load_status().await.unwrap()[&wiki.name], 100.0);
    // The per-datasource counts catch up with the percentages a moment later.
    eventually(
        "no segment of the datasource left to load",
        LOAD_LIMIT,
        || {
            let coordinator = coordinator.clone();
            let name = wiki.name.clone();
            async move {
                Ok((coordinator.load_status_simple().await?.get(&name) == Some(&0)).then_some(()))
            }
        },
    )
    .await
    .unwrap();
    assert!(
        coordinator
            .metadata_datasources()
            .await
            .unwrap()
            .contains(&wiki.name)
    );
    assert_eq!(
        coordinator
            .metadata_segment_ids(&wiki.name)
            .await
            .unwrap()
            .len(),
        2
    );
    let overlapping = coordinator
        .metadata_segment_ids_in(&wiki.name, &["2024-01-02/2024-01-03"])
        .await
        .unwrap();
    assert_eq!(overlapping.len(), 1);
    let servers = coordinator.servers_simple().await.unwrap();
    assert!(
        servers
            .iter()
            .any(|s| s.server_type.as_deref() == Some("historical"))
    );
    let queue = coordinator.load_queue_simple().await.unwrap();
    assert!(queue.values().all(|q| q.segments_to_load.unwrap_or(0) >= 0));
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn retention_rules_round_trip_with_history() {
    let coordinator = client().cluster().await.unwrap().coordinator().unwrap();
    let datasource = unique("live_rules");
    let rules = [
        Rule::load_by_period("P10Y", [("_default_tier".to_owned(), 1)]),
        Rule::drop_forever(),
    ];
    coordinator
        .set_rules(&datasource, &rules)
        .author("druid-rs live test")
        .comment("rules round trip")
        .await
        .unwrap();
    let read = coordinator.rules(&datasource).await.unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!(read[0].rule_type, "loadByPeriod");
    assert_eq!(read[0].period.as_deref(), Some("P10Y"));
    assert_eq!(read[1].rule_type, "dropForever");
    let with_defaults = coordinator.rules(&datasource).full(true).await.unwrap();
    assert!(with_defaults.len() > 2, "full appends the defaults");
    assert!(
        coordinator
            .all_rules()
            .await
            .unwrap()
            .contains_key("_default")
    );
    let history = eventually(
        "the rule change in the history",
        Duration::from_secs(30),
        || {
            let coordinator = coordinator.clone();
            let datasource = datasource.clone();
            async move {
                let history = coordinator.rules_history().count(50).await?;
                Ok(history.into_iter().find(|e| e.key == datasource))
            }
        },
    )
    .await
    .unwrap();
    let audit = history.audit_info.clone().unwrap();
    assert_eq!(audit.author.as_deref(), Some("druid-rs live test"));
    assert_eq!(audit.comment.as_deref(), Some("rules round trip"));
    assert_eq!(history.payload_json().unwrap()[0]["type"], "loadByPeriod");
    let own = coordinator
        .datasource_rules_history(&datasource)
        .await
        .unwrap();
    assert!(!own.is_empty());
    coordinator.set_rules(&datasource, &[]).await.unwrap();
    assert!(coordinator.rules(&datasource).await.unwrap().is_empty());
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn compaction_config_set_read_and_removed() {
    let coordinator = client().cluster().await.unwrap().coordinator().unwrap();
    let datasource = unique("live_compaction");
    let mut config = DataSourceCompactionConfig::new(datasource.clone());
    config.skip_offset_from_latest = Some("P1D".to_owned());
    config.task_priority = Some(20);
    coordinator.set_compaction_config(&config).await.unwrap();
    let read = coordinator.compaction_config(&datasource).await.unwrap();
    assert_eq!(read.data_source, datasource);
    assert_eq!(read.skip_offset_from_latest.as_deref(), Some("P1D"));
    assert_eq!(read.task_priority, Some(20));
    let all = coordinator.compaction_configs().await.unwrap();
    assert!(
        all.compaction_configs
            .iter()
            .any(|c| c.data_source == datasource)
    );
    let status = coordinator.compaction_status().await.unwrap();
    assert!(
        status
            .latest_status
            .iter()
            .all(|s| !s.data_source.is_empty())
    );
    coordinator
        .delete_compaction_config(&datasource)
        .await
        .unwrap();
    let err = coordinator
        .compaction_config(&datasource)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn dynamic_config_read_and_written_back() {
    let coordinator = client().cluster().await.unwrap().coordinator().unwrap();
    let config = coordinator.dynamic_config().await.unwrap();
    assert!(config.max_segments_to_move.is_some());
    assert!(
        !config.extra.is_empty(),
        "fields without a typed member are kept"
    );
    coordinator
        .set_dynamic_config(&config)
        .author("druid-rs live test")
        .comment("write back unchanged")
        .await
        .unwrap();
    let again = coordinator.dynamic_config().await.unwrap();
    assert_eq!(again, config, "a round trip changes nothing");
    let history = coordinator
        .dynamic_config_history()
        .count(10)
        .await
        .unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.audit_info.as_ref().and_then(|a| a.author.as_deref())
                == Some("druid-rs live test")),
        "{history:?}"
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn lookups_initialised_created_read_and_deleted() {
    let coordinator = client().cluster().await.unwrap().coordinator().unwrap();
    // Lookups answer 404 until the configuration is initialised with `{}`.
    coordinator.update_lookups(&json!({})).await.unwrap();
    let name = unique("live_lookup");
    let spec = LookupSpec::map("v1", [("US".to_owned(), "United States".to_owned())]);
    coordinator
        .set_lookup("__default", &name, &spec)
        .await
        .unwrap();
    let read = coordinator.lookup("__default", &name).await.unwrap();
    assert_eq!(read, spec);
    assert!(
        coordinator
            .tier_lookups("__default")
            .await
            .unwrap()
            .contains(&name)
    );
    assert!(
        coordinator
            .lookup_tiers()
            .await
            .unwrap()
            .contains(&"__default".to_owned())
    );
    let all = coordinator.all_lookups().await.unwrap();
    assert_eq!(all["__default"][&name].version, "v1");
    coordinator.delete_lookup("__default", &name).await.unwrap();
    let err = coordinator.lookup("__default", &name).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn overlord_task_lists_workers_and_supervisors() {
    let wiki = wiki().await;
    let cluster = client().cluster().await.unwrap();
    let overlord = cluster.overlord().unwrap();
    let complete = overlord
        .tasks()
        .state(TaskListState::Complete)
        .datasource(wiki.name.clone())
        .await
        .unwrap();
    assert!(
        complete.iter().any(|t| t.id == wiki.task_id),
        "{complete:?}"
    );
    assert!(complete.iter().all(|t| t.status_code.is_complete()));
    assert!(
        complete
            .iter()
            .all(|t| t.data_source.as_deref() == Some(wiki.name.as_str()))
    );
    let other = overlord
        .tasks()
        .datasource(unique("nothing_here"))
        .await
        .unwrap();
    assert!(other.is_empty());
    let also = overlord
        .complete_tasks()
        .datasource(wiki.name.clone())
        .max(100)
        .await
        .unwrap();
    assert!(also.iter().any(|t| t.id == wiki.task_id));
    let statuses = overlord
        .task_statuses(&[wiki.task_id.as_str()])
        .await
        .unwrap();
    assert_eq!(statuses[&wiki.task_id].status, TaskState::Success);
    assert!(
        overlord.supervisors().await.unwrap().is_empty(),
        "no supervisors: an empty list is the answer"
    );
    assert!(overlord.supervisor_states().await.unwrap().is_empty());
    let workers = overlord.workers().await.unwrap();
    assert_eq!(workers.len(), 1);
    // The Overlord names the worker as sys.servers does (its TLS port when TLS is on).
    let model = cluster.model();
    let worker = model
        .of_type(&ServerType::Indexer)
        .chain(model.of_type(&ServerType::MiddleManager))
        .next()
        .unwrap();
    assert_eq!(workers[0].worker.host, worker.server);
    assert!(workers[0].worker.capacity.unwrap() >= 2);
    let leader = overlord.leader().await.unwrap();
    // The leader's URL as the cluster names it: its TLS port when TLS is on.
    assert!(
        leader.starts_with("http://localhost:") || leader.starts_with("https://localhost:"),
        "{leader}"
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn a_long_running_task_is_shut_down() {
    let overlord = client().cluster().await.unwrap().overlord().unwrap();
    let id = unique("live_noop");
    let submitted = overlord
        .submit_task(&json!({"type": "noop", "id": id, "runTime": 600_000}))
        .await
        .unwrap();
    assert_eq!(submitted.task, id);
    eventually("the noop task to run", TASK_LIMIT, || {
        let overlord = overlord.clone();
        let id = id.clone();
        async move {
            let running = overlord.running_tasks().await?;
            Ok(running.iter().any(|t| t.id == id).then_some(()))
        }
    })
    .await
    .unwrap();
    let payload = overlord.task(&id).await.unwrap();
    assert_eq!(payload.payload["type"], "noop");
    assert_eq!(overlord.shutdown_task(&id).await.unwrap().task, id);
    let status = overlord.wait_for_task(&id, TASK_LIMIT).await.unwrap();
    assert_eq!(
        status.status_code,
        TaskState::Failed,
        "a task shut down ends FAILED"
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn drop_and_kill_a_datasource() {
    let client = client();
    let datasource = unique("live_drop");
    ingest(&datasource).await;
    let cluster = client.cluster().await.unwrap();
    let coordinator = cluster.coordinator().unwrap();
    let overlord = cluster.overlord().unwrap();
    coordinator
        .wait_for_datasource_loaded(&datasource, LOAD_LIMIT)
        .await
        .unwrap();
    #[allow(deprecated)] // the Overlord serves this only from Druid 34 on
    let dropped = coordinator
        .mark_datasource_unused(&datasource)
        .await
        .unwrap();
    assert_eq!(dropped.num_changed_segments, Some(2));
    eventually("the datasource to leave the Historicals", LOAD_LIMIT, || {
        let coordinator = coordinator.clone();
        let datasource = datasource.clone();
        async move { Ok((!coordinator.datasources().await?.contains(&datasource)).then_some(())) }
    })
    .await
    .unwrap();
    assert!(
        coordinator
            .metadata_datasources()
            .include_unused(true)
            .await
            .unwrap()
            .contains(&datasource)
    );
    coordinator
        .kill_unused_segments(&datasource, "2000-01-01/2100-01-01")
        .await
        .unwrap();
    let kill = eventually("the kill task", TASK_LIMIT, || {
        let overlord = overlord.clone();
        let datasource = datasource.clone();
        async move {
            let tasks = overlord
                .tasks()
                .datasource(datasource)
                .task_type("kill")
                .await?;
            Ok(tasks.into_iter().next())
        }
    })
    .await
    .unwrap();
    overlord
        .wait_for_task_success(&kill.id, TASK_LIMIT)
        .await
        .unwrap();
    assert!(
        !coordinator
            .metadata_datasources()
            .include_unused(true)
            .await
            .unwrap()
            .contains(&datasource)
    );
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn druid_errors_are_typed() {
    let client = client();
    let err = client
        .sql("SELEC nonsense FROM nowhere")
        .send()
        .await
        .unwrap_err();
    let Some(api) = err.api() else {
        panic!("{err:?}")
    };
    assert!(api.status.is_client_error() || api.status.is_server_error());
    assert!(api.error.code().is_some(), "{api:?}");
    assert!(api.error.message().unwrap().len() > 10, "{api:?}");
    assert_eq!(api.operation, "client.sql_query");
    let err = client
        .sql(format!("SELECT * FROM \"{}\"", unique("no_such_table")))
        .send()
        .await
        .unwrap_err();
    let message = err.druid_error().unwrap().message().unwrap();
    assert!(
        message.contains("not found") || message.contains("no_such_table"),
        "{message}"
    );
    let overlord = client.cluster().await.unwrap().overlord().unwrap();
    let err = overlord.task_status("no-such-task").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = overlord.task_reports("no-such-task").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let err = overlord
        .submit_task(&json!({"type": "no_such_type"}))
        .await
        .unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 400, "{err:?}");
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn everything_works_through_a_docker_style_port_map() {
    use druid_tests::proxy::PortForward;
    // Expose every server on other ports, as `docker run -p` would.
    let direct = client().cluster().await.unwrap();
    let mut forwards = Vec::new();
    for server in direct.servers() {
        forwards.push(PortForward::start(server.plaintext_port.unwrap()).await);
    }
    let router_port = direct.router().unwrap().base_url().port().unwrap();
    let router_forward = forwards.iter().find(|f| f.target() == router_port).unwrap();
    let port_map: Vec<[u16; 2]> = forwards.iter().map(|f| [f.port(), f.target()]).collect();
    let mut builder = druid_api::Client::builder()
        .url(format!("http://127.0.0.1:{}", router_forward.port()))
        .mapper(druid_api::DockerMapper::new("127.0.0.1", port_map));
    if let Some((user, password)) = druid_tests::live::credentials() {
        builder = builder.basic_auth(user, password);
    }
    let mapped = builder.build().unwrap();

    let cluster = mapped.cluster().await.unwrap();
    assert_eq!(cluster.servers().len(), direct.servers().len());
    for server in cluster.servers() {
        let forward = forwards
            .iter()
            .find(|f| Some(f.target()) == server.plaintext_port)
            .unwrap();
        for server_type in server.types() {
            let any = cluster.service_as(&server.server, server_type).unwrap();
            assert_eq!(any.service().base_url().host_str(), Some("127.0.0.1"));
            assert_eq!(
                any.service().base_url().port(),
                Some(forward.port()),
                "{server_type}"
            );
            assert!(
                any.is_healthy().await.unwrap(),
                "{server_type} through the map"
            );
        }
        // The mapped endpoint is recognised as well as the reported one.
        let mapped_endpoint = format!("http://127.0.0.1:{}", forward.port());
        assert_eq!(
            cluster.what_is(&mapped_endpoint).unwrap(),
            server.types().cloned().collect::<Vec<_>>()
        );
    }
    assert!(
        cluster
            .coordinator()
            .unwrap()
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    assert!(
        !cluster
            .overlord()
            .unwrap()
            .workers()
            .await
            .unwrap()
            .is_empty()
    );
    let rows: Vec<Value> = mapped.sql(r#"SELECT 1 AS "one""#).rows().await.unwrap();
    assert_eq!(rows, [json!({"one": 1})]);
    for forward in &forwards {
        assert!(
            forward.connections() > 0,
            "nothing went through the forward to {}",
            forward.target()
        );
    }
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn names_that_need_encoding() {
    let client = client();
    let datasource = format!("{} #ü+&=?:%", unique("live enc"));
    ingest(&datasource).await;
    let cluster = client.cluster().await.unwrap();
    let coordinator = cluster.coordinator().unwrap();
    coordinator
        .wait_for_datasource_loaded(&datasource, LOAD_LIMIT)
        .await
        .unwrap();
    #[derive(serde::Deserialize)]
    struct Total {
        total: i64,
    }
    let total: Vec<Total> = client
        .sql(format!(r#"SELECT SUM(added) AS total FROM "{datasource}""#))
        .rows()
        .await
        .unwrap();
    assert_eq!(total[0].total, 48);
    let summary = coordinator.datasource(&datasource).await.unwrap().unwrap();
    assert_eq!(summary.segments.unwrap().count, Some(2));
    let ids = coordinator
        .datasource_segment_ids(&datasource)
        .await
        .unwrap();
    let segment = coordinator
        .datasource_segment(&datasource, &ids[0])
        .await
        .unwrap();
    assert_eq!(segment.metadata.data_source, datasource);
    let tasks = cluster
        .overlord()
        .unwrap()
        .tasks()
        .datasource(datasource.clone())
        .await
        .unwrap();
    assert!(!tasks.is_empty());
    #[allow(deprecated)] // the Overlord serves this only from Druid 34 on
    let dropped = coordinator
        .mark_datasource_unused(&datasource)
        .await
        .unwrap();
    assert_eq!(dropped.num_changed_segments, Some(2));
}

#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn secure_tls_private_ca_and_basic_auth_end_to_end() {
    let (Ok(tls_url), Ok(ca), Some((user, password))) = (
        std::env::var("DRUID_TLS_URL"),
        std::env::var("DRUID_CA_CERT"),
        druid_tests::live::credentials(),
    ) else {
        panic!(
            "this test needs the secure cluster (`cargo xtask druid up --secure`): DRUID_TLS_URL, DRUID_CA_CERT and DRUID_USER are not all set"
        );
    };
    let client = druid_api::Client::builder()
        .url(tls_url.clone())
        .ca_cert_file(ca.clone())
        .basic_auth(user.clone(), password.clone())
        .prefer_tls(true)
        .build()
        .unwrap();
    let rows: Vec<Value> = client.sql(r#"SELECT 1 AS "one""#).rows().await.unwrap();
    assert_eq!(rows, [json!({"one": 1})]);
    // With TLS preferred, discovery hands out every service on its TLS port.
    let cluster = client.cluster().await.unwrap();
    for server in cluster.servers() {
        assert!(server.tls_port.is_some(), "{server:?}");
        for server_type in server.types() {
            let any = cluster.service_as(&server.server, server_type).unwrap();
            assert_eq!(any.service().base_url().scheme(), "https", "{server_type}");
            assert_eq!(any.service().base_url().port(), server.tls_port);
            assert!(any.is_healthy().await.unwrap(), "{server_type} over TLS");
        }
    }
    assert!(
        !cluster
            .overlord()
            .unwrap()
            .workers()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        cluster
            .coordinator()
            .unwrap()
            .is_leader()
            .await
            .unwrap()
            .leader
    );
    // Without the private CA, the handshake is refused as a TLS error.
    let untrusted = druid_api::Client::builder()
        .url(tls_url.clone())
        .basic_auth(user.clone(), password.clone())
        .build()
        .unwrap();
    assert!(untrusted.status().await.unwrap_err().is_tls());
    // A wrong password is Druid's typed 401, and the password shows nowhere.
    let wrong = druid_api::Client::builder()
        .url(tls_url)
        .ca_cert_file(ca)
        .basic_auth(user, "not-the-password")
        .build()
        .unwrap();
    let err = wrong.status().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err:?}");
    assert!(!format!("{err} {err:?} {wrong:?}").contains("not-the-password"));
}

/// An endpoint newer than the cluster: the error names both releases.
#[tokio::test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn an_endpoint_newer_than_the_cluster_names_both_releases() {
    let coordinator = client().cluster().await.unwrap().coordinator().unwrap();
    let version = coordinator.status().await.unwrap().version;
    let major: u32 = version.split('.').next().unwrap().parse().unwrap();
    assert!(
        major < 34,
        "this test needs a cluster older than clone_status's 34.0.0: {version}"
    );
    let err = coordinator.clone_status().await.unwrap_err();
    let line = err.to_string();
    assert!(line.contains("needs Druid 34.0.0 or later"), "{line}");
    assert!(
        line.contains(&format!("the cluster runs {version}")),
        "{line}"
    );
}
