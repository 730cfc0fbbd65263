//! Discovery over `sys.servers` rows recorded from real Druid 27 and 33
//! clusters (tests/data), served by in-process fakes; a Docker-style port
//! map makes the recorded ports reach the fakes.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use druid_api::prelude::*;
use druid_api::{AnyClient, Client, DockerMapper, Error, ServerType};
use druid_tests::fake::{FakeResponse, FakeServer};
use serde_json::{Value, json};

fn recorded(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// A fake Router that answers `sys.servers` with `rows` and is healthy.
async fn router(rows: Value) -> FakeServer {
    FakeServer::start(move |r| match (r.method.as_str(), r.path()) {
        ("POST", "/druid/v2/sql") => {
            let sql: Value = serde_json::from_slice(&r.body).unwrap_or_default();
            assert_eq!(sql["query"], "SELECT * FROM sys.servers");
            FakeResponse::json(&rows)
        }
        ("GET", "/status/health") => FakeResponse::json(&json!(true)),
        _ => FakeResponse::new(404, ""),
    })
    .await
}

/// A fake service that is healthy and names itself in `/status`.
async fn service(name: &'static str) -> FakeServer {
    FakeServer::start(move |r| match r.path() {
        "/status/health" => FakeResponse::json(&json!(true)),
        "/status" => FakeResponse::json(&json!({"version": name})),
        "/druid/coordinator/v1/isLeader" | "/druid/indexer/v1/isLeader" => {
            FakeResponse::json(&json!({"leader": true}))
        }
        _ => FakeResponse::new(404, ""),
    })
    .await
}

#[tokio::test]
async fn a_recorded_cluster_through_a_port_map() {
    let router = router(recorded("sys_servers_27_indexer.json")).await;
    let coordinator = service("coordinator").await;
    let broker = service("broker").await;
    let historical = service("historical").await;
    let indexer = service("indexer").await;
    let mapper = DockerMapper::new(
        "127.0.0.1",
        [
            [router.port(), 8888],
            [coordinator.port(), 8081],
            [broker.port(), 8082],
            [historical.port(), 8083],
            [indexer.port(), 8091],
        ],
    );
    let client = Client::builder()
        .url(router.url())
        .mapper(mapper)
        .build()
        .unwrap();
    let cluster = client.cluster().await.unwrap();

    // Six rows, five servers: the Coordinator is also the Overlord.
    assert_eq!(cluster.servers().len(), 5);
    let model = cluster.model();
    let lead = model.leader(&ServerType::Coordinator).unwrap();
    assert_eq!(
        lead.types().cloned().collect::<Vec<_>>(),
        [ServerType::Coordinator, ServerType::Overlord]
    );
    assert_eq!((lead.plaintext_port, lead.tls_port), (Some(8081), None));

    // Every client reaches its fake through the map.
    let c = cluster.coordinator().unwrap();
    let o = cluster.overlord().unwrap();
    assert_eq!(c.base_url(), o.base_url());
    assert_eq!(c.base_url().port(), Some(coordinator.port()));
    assert_eq!(c.status().await.unwrap().version, "coordinator");
    assert!(c.is_leader().await.unwrap().leader);
    assert_eq!(
        cluster.broker().unwrap().status().await.unwrap().version,
        "broker"
    );
    assert_eq!(
        cluster.router().unwrap().base_url().port(),
        Some(router.port())
    );
    let historicals = cluster.historicals().unwrap();
    assert_eq!(historicals.len(), 1);
    assert_eq!(historicals[0].status().await.unwrap().version, "historical");
    assert_eq!(
        cluster.indexers().unwrap()[0]
            .status()
            .await
            .unwrap()
            .version,
        "indexer"
    );
    assert!(cluster.middle_managers().unwrap().is_empty());
    assert!(cluster.peons().unwrap().is_empty());

    // what_is / service, by the address Druid reports and by the mapped one.
    assert_eq!(
        cluster.what_is("http://localhost:8081").unwrap(),
        [ServerType::Coordinator, ServerType::Overlord]
    );
    assert_eq!(
        cluster.what_is(&coordinator.url()).unwrap(),
        [ServerType::Coordinator, ServerType::Overlord]
    );
    assert_eq!(
        cluster.what_is("localhost:8082").unwrap(),
        [ServerType::Broker]
    );
    assert!(cluster.what_is("localhost:9999").unwrap().is_empty());
    let any = cluster.service("localhost:8083").unwrap();
    assert_eq!(any.server_type(), ServerType::Historical);
    assert!(any.is_healthy().await.unwrap());
    assert!(matches!(
        cluster.service("localhost:8081").unwrap(),
        AnyClient::Coordinator(_)
    ));
    let overlord = cluster
        .service_as("localhost:8081", &ServerType::Overlord)
        .unwrap();
    assert!(overlord.as_overlord().is_some());
    let err = cluster
        .service_as("localhost:8082", &ServerType::Overlord)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("does not play the Overlord role; its roles: Broker"),
        "{err}"
    );
    let err = cluster.service("localhost:9999").unwrap_err();
    assert!(
        err.is_not_found() && err.to_string().contains("localhost:8081"),
        "{err}"
    );
}

#[tokio::test]
async fn middle_manager_clusters_have_no_indexer() {
    let router = router(recorded("sys_servers_27_middle_manager.json")).await;
    let client = druid_api::connect(&router.url()).unwrap();
    let cluster = client.cluster().await.unwrap();
    assert_eq!(cluster.middle_managers().unwrap().len(), 1);
    assert!(cluster.indexers().unwrap().is_empty());
    assert_eq!(
        cluster.what_is("localhost:8091").unwrap(),
        [ServerType::MiddleManager]
    );
}

#[tokio::test]
async fn tls_ports_are_used_when_preferred() {
    let rows = recorded("sys_servers_27_tls.json");
    let router = router(rows.clone()).await;
    let plain = druid_api::connect(&router.url())
        .unwrap()
        .cluster()
        .await
        .unwrap();
    assert_eq!(
        plain.coordinator().unwrap().base_url().as_str(),
        "http://localhost:8081/"
    );
    // The `server` column names the TLS port; it is still one server with two roles.
    assert_eq!(plain.servers().len(), 5);
    assert_eq!(
        plain
            .model()
            .leader(&ServerType::Coordinator)
            .unwrap()
            .server,
        "localhost:8281"
    );

    let tls = Client::builder()
        .url(router.url())
        .prefer_tls(true)
        .build()
        .unwrap();
    let cluster = tls.cluster().await.unwrap();
    assert_eq!(
        cluster.coordinator().unwrap().base_url().as_str(),
        "https://localhost:8281/"
    );
    assert_eq!(
        cluster.broker().unwrap().base_url().as_str(),
        "https://localhost:8282/"
    );
    // A port map applies to the TLS ports too.
    let mapped = Client::builder()
        .url(router.url())
        .prefer_tls(true)
        .mapper(DockerMapper::new("druid.example", [[18281, 8281]]))
        .build()
        .unwrap()
        .cluster()
        .await
        .unwrap();
    assert_eq!(
        mapped.coordinator().unwrap().base_url().as_str(),
        "https://druid.example:18281/"
    );
    assert_eq!(
        mapped.what_is("https://druid.example:18281").unwrap().len(),
        2
    );
}

#[tokio::test]
async fn druid_33_reports_null_leader_flags() {
    let router = router(recorded("sys_servers_33.json")).await;
    let cluster = druid_api::connect(&router.url())
        .unwrap()
        .cluster()
        .await
        .unwrap();
    let model = cluster.model();
    let broker = model.of_type(&ServerType::Broker).next().unwrap();
    assert_eq!(broker.role(&ServerType::Broker).unwrap().is_leader, None);
    assert!(cluster.coordinator().is_ok());
}

#[tokio::test]
async fn missing_services_are_clear_errors() {
    let router = router(json!([
        {"server":"localhost:8082","host":"localhost","plaintext_port":8082,"tls_port":-1,"server_type":"broker","is_leader":0},
        {"server":"c:8081","host":"c","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":0},
        {"server":"x:9","host":"x","plaintext_port":9,"tls_port":-1,"server_type":"quantum_broker","is_leader":null}
    ]))
    .await;
    let cluster = druid_api::connect(&router.url())
        .unwrap()
        .cluster()
        .await
        .unwrap();
    let err = cluster.router().unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { what } if what.contains("no Router")),
        "{err}"
    );
    let err = cluster.coordinator().unwrap_err();
    assert!(
        err.to_string().contains("no Coordinator is the leader"),
        "{err}"
    );
    let err = cluster.overlord().unwrap_err();
    assert!(err.to_string().contains("no Overlord"), "{err}");
    // An unknown server type is kept, with generic access.
    let other = cluster.service("x:9").unwrap();
    assert_eq!(
        other.server_type(),
        ServerType::Other("quantum_broker".to_owned())
    );
    assert_eq!(other.service().base_url().as_str(), "http://x:9/");
}

#[tokio::test]
async fn refresh_follows_a_new_leader_and_servers_that_come_and_go() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = FakeServer::start(move |_| {
        let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
        let (leader_a, leader_b) = if first { (1, 0) } else { (0, 1) };
        let mut rows = vec![
            json!({"server":"a:8081","host":"a","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":leader_a}),
            json!({"server":"b:8081","host":"b","plaintext_port":8081,"tls_port":-1,"server_type":"coordinator","is_leader":leader_b}),
        ];
        if first {
            rows.push(json!({"server":"h1:8083","host":"h1","plaintext_port":8083,"tls_port":-1,"server_type":"historical","tier":"hot"}));
        } else {
            rows.push(json!({"server":"h2:8083","host":"h2","plaintext_port":8083,"tls_port":-1,"server_type":"historical","tier":"cold"}));
            rows.push(json!({"server":"h3:8083","host":"h3","plaintext_port":8083,"tls_port":-1,"server_type":"historical","tier":"cold"}));
        }
        FakeResponse::json(&Value::Array(rows))
    })
    .await;
    let cluster = druid_api::connect(&router.url())
        .unwrap()
        .cluster()
        .await
        .unwrap();
    assert_eq!(
        cluster.coordinator().unwrap().base_url().host_str(),
        Some("a")
    );
    assert_eq!(cluster.historicals().unwrap().len(), 1);
    cluster.refresh().await.unwrap();
    assert_eq!(
        cluster.coordinator().unwrap().base_url().host_str(),
        Some("b")
    );
    let hosts: Vec<String> = cluster
        .historicals()
        .unwrap()
        .iter()
        .map(|h| h.base_url().host_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(hosts, ["h2", "h3"]);
    assert!(cluster.what_is("h1:8083").unwrap().is_empty());
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_model() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let rows = recorded("sys_servers_27_indexer.json");
    let router = FakeServer::start(move |_| {
        if counter.fetch_add(1, Ordering::SeqCst) == 0 {
            FakeResponse::json(&rows)
        } else {
            FakeResponse::new(
                500,
                r#"{"error":"Unknown exception","errorMessage":"boom"}"#,
            )
        }
    })
    .await;
    // Quick retries: the failing refresh is retried, not waited out.
    let cluster = druid_tests::quick_client(&router.url())
        .cluster()
        .await
        .unwrap();
    let err = cluster.refresh().await.unwrap_err();
    assert_eq!(err.status().unwrap().as_u16(), 500);
    assert_eq!(cluster.servers().len(), 5);
}

/// A Router whose Broker is gone: SQL answers 502, the Coordinator's view
/// (forwarded by the Router) answers as recorded from a real cluster.
async fn router_without_broker() -> FakeServer {
    let text = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("data/coordinator-view")
                .join(name),
        )
        .unwrap()
    };
    let (cluster, servers, leader, overlord) = (
        text("cluster.json"),
        text("servers_simple.json"),
        text("leader.txt"),
        text("overlord_leader.txt"),
    );
    FakeServer::start(move |r| match (r.method.as_str(), r.path()) {
        ("POST", "/druid/v2/sql") => FakeResponse::new(
            502,
            "<html><head><title>Error 502 Bad Gateway</title></head></html>",
        ),
        ("GET", "/druid/coordinator/v1/cluster") => FakeResponse::new(200, cluster.clone()),
        ("GET", "/druid/coordinator/v1/servers") => FakeResponse::new(200, servers.clone()),
        ("GET", "/druid/coordinator/v1/leader") => FakeResponse::new(200, leader.clone()),
        ("GET", "/druid/indexer/v1/leader") => FakeResponse::new(200, overlord.clone()),
        _ => FakeResponse::new(404, ""),
    })
    .await
}

#[tokio::test]
async fn without_a_broker_discovery_reads_the_coordinators_view_and_builds_the_same_model() {
    let router = router_without_broker().await;
    let client = druid_tests::quick_client(&router.url());
    let cluster = client.cluster().await.unwrap();
    let model = cluster.model();
    assert_eq!(model.source(), druid_api::Source::Coordinator);
    let table = druid_api::ClusterModel::from_rows(
        serde_json::from_value::<Vec<druid_api::ServerRow>>(recorded(
            "coordinator-view/sys_servers.json",
        ))
        .unwrap(),
    );
    // The same servers, roles, ports, leaders and tiers (in another
    // order); the view has no start times.
    let strip = |m: &druid_api::ClusterModel| {
        let mut servers = m
            .servers()
            .iter()
            .map(|s| {
                let roles: Vec<_> = s
                    .roles
                    .iter()
                    .map(|r| {
                        (
                            r.server_type.clone(),
                            r.is_leader,
                            r.tier.clone(),
                            r.max_size,
                        )
                    })
                    .collect();
                (
                    s.server.clone(),
                    s.host.clone(),
                    s.plaintext_port,
                    s.tls_port,
                    roles,
                )
            })
            .collect::<Vec<_>>();
        servers.sort_by(|a, b| a.0.cmp(&b.0));
        servers
    };
    assert_eq!(strip(&model), strip(&table));
    let lead = model.leader(&ServerType::Coordinator).unwrap();
    assert_eq!(lead.server, "localhost:8281");
    assert!(lead.is_leader(&ServerType::Overlord));
    assert_eq!(model.of_type(&ServerType::Coordinator).count(), 2);
    // The SQL read was tried (twice), then the view.
    let paths: Vec<String> = router
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(
        paths.iter().filter(|p| *p == "/druid/v2/sql").count(),
        2,
        "{paths:?}"
    );
    assert!(
        paths.iter().any(|p| p == "/druid/coordinator/v1/cluster"),
        "{paths:?}"
    );
}
