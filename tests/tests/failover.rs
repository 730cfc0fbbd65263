//! A cluster that changes under its clients, against in-process servers:
//! the leader dies and another takes over, a follower redirects to the
//! leader, a Broker moves, and one shared `Cluster` refreshes in place for
//! every handle and every client it handed out.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::{Arc, Mutex};

use druid_api::prelude::*;
use druid_api::{Cluster, ClusterModel, ServerRow};
use druid_tests::fake::{FakeResponse, FakeServer};
use druid_tests::quick_client;
use serde_json::{Value, json};

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn row(port: u16, server_type: &str, leader: Option<bool>) -> Value {
    json!({
        "server": format!("127.0.0.1:{port}"), "host": "127.0.0.1",
        "plaintext_port": port, "tls_port": -1, "server_type": server_type,
        "is_leader": leader.map(i32::from),
    })
}

/// A row of a server with TLS on too, at [`TLS_PORT`].
fn tls_row(port: u16, server_type: &str, leader: Option<bool>) -> Value {
    let mut row = row(port, server_type, leader);
    row["tls_port"] = json!(TLS_PORT);
    row["server"] = json!(format!("127.0.0.1:{TLS_PORT}"));
    row
}

fn model(rows: &[Value]) -> ClusterModel {
    ClusterModel::from_rows(
        serde_json::from_value::<Vec<ServerRow>>(Value::Array(rows.to_vec())).unwrap(),
    )
}

/// The TLS port the servers of these tests announce (never connected to:
/// the client prefers plaintext).
const TLS_PORT: u16 = 1;

/// A Coordinator-Overlord that leads (`leader` is its own port) or follows.
/// As Druid with TLS on does, it names the leader by its TLS URL.
async fn coordinator(leader: Arc<Mutex<u16>>, name: &'static str) -> FakeServer {
    FakeServer::start(move |r| {
        let leader = *leader.lock().unwrap();
        match r.path() {
            "/druid/coordinator/v1/leader" | "/druid/indexer/v1/leader" => {
                let _ = leader;
                FakeResponse::new(200, format!("https://127.0.0.1:{TLS_PORT}"))
            }
            "/status" => FakeResponse::json(&json!({"version": name})),
            _ => FakeResponse::new(404, ""),
        }
    })
    .await
}

#[tokio::test]
async fn when_the_leader_dies_its_clients_ask_the_other_coordinator_and_go_on() {
    let dead = closed_port();
    let leader = Arc::new(Mutex::new(0));
    let survivor = coordinator(leader.clone(), "survivor").await;
    *leader.lock().unwrap() = survivor.port();
    let router = FakeServer::start(|_| FakeResponse::new(502, "")).await;
    let client = quick_client(&router.url());
    // The model still says the dead one leads.
    let cluster = Cluster::from_model(
        client,
        model(&[
            row(dead, "coordinator", Some(true)),
            row(dead, "overlord", Some(true)),
            tls_row(survivor.port(), "coordinator", Some(false)),
            tls_row(survivor.port(), "overlord", Some(false)),
        ]),
    );
    let overlord = cluster.overlord().unwrap();
    assert_eq!(overlord.base_url().port(), Some(dead));
    assert_eq!(overlord.status().await.unwrap().version, "survivor");
    // The client and the cluster both know the new leader now, at the
    // port the transport prefers, not the TLS URL Druid named.
    assert_eq!(overlord.base_url().port(), Some(survivor.port()));
    assert_eq!(
        cluster.overlord().unwrap().base_url().port(),
        Some(survivor.port())
    );
    let asked: Vec<String> = survivor
        .requests()
        .iter()
        .map(|r| r.path().to_owned())
        .collect();
    assert_eq!(asked, ["/druid/indexer/v1/leader", "/status"]);
}

#[tokio::test]
async fn a_followers_redirect_teaches_the_cluster_its_leader() {
    let leader_port = Arc::new(Mutex::new(0));
    let leader = coordinator(leader_port.clone(), "leader").await;
    *leader_port.lock().unwrap() = leader.port();
    let follower = FakeServer::follower_of(leader.port()).await;
    let router = FakeServer::start(|_| FakeResponse::new(502, "")).await;
    let cluster = Cluster::from_model(
        quick_client(&router.url()),
        model(&[
            row(follower.port(), "overlord", Some(true)),
            row(leader.port(), "overlord", Some(false)),
        ]),
    );
    let overlord = cluster.overlord().unwrap();
    assert_eq!(overlord.status().await.unwrap().version, "leader");
    assert_eq!(overlord.status().await.unwrap().version, "leader");
    assert_eq!(
        follower.requests().len(),
        1,
        "the second call goes to the leader directly"
    );
}

#[tokio::test]
async fn one_shared_cluster_refreshes_in_place_for_every_handle_and_client() {
    let old = FakeServer::start(|_| FakeResponse::json(&json!({"version": "old"}))).await;
    let new = FakeServer::start(|_| FakeResponse::json(&json!({"version": "new"}))).await;
    let broker_port = Arc::new(Mutex::new(old.port()));
    let listed = broker_port.clone();
    let router = FakeServer::start(move |r| match r.path() {
        "/druid/v2/sql" => {
            let port = *listed.lock().unwrap();
            FakeResponse::json(&json!([row(port, "broker", None)]))
        }
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let cluster = quick_client(&router.url()).cluster().await.unwrap();
    let handle = cluster.clone();
    let broker = cluster.broker().unwrap();
    assert_eq!(broker.status().await.unwrap().version, "old");

    // The Broker moves; a refresh through one handle, from another task,
    // and the model and clients of all see it.
    *broker_port.lock().unwrap() = new.port();
    let before = cluster.model();
    tokio::spawn(async move { handle.refresh().await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(broker.status().await.unwrap().version, "new");
    assert_eq!(
        cluster.model().servers()[0].plaintext_port,
        Some(new.port())
    );
    assert_eq!(
        before.servers()[0].plaintext_port,
        Some(old.port()),
        "a model taken before stays what it was"
    );

    // Concurrent refreshes share one read.
    let reads = router.requests().len();
    let (a, b) = tokio::join!(cluster.refresh(), cluster.refresh());
    a.unwrap();
    b.unwrap();
    assert_eq!(router.requests().len(), reads + 1);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_model_and_the_clients_working() {
    let broker = FakeServer::start(|_| FakeResponse::json(&json!({"version": "27"}))).await;
    let port = broker.port();
    let up = Arc::new(Mutex::new(true));
    let state = up.clone();
    let router = FakeServer::start(move |r| match (r.path(), *state.lock().unwrap()) {
        ("/druid/v2/sql", true) => FakeResponse::json(&json!([row(port, "broker", None)])),
        _ => FakeResponse::new(503, ""),
    })
    .await;
    let cluster = quick_client(&router.url()).cluster().await.unwrap();
    *up.lock().unwrap() = false;
    let err = cluster.refresh().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(cluster.servers().len(), 1);
    assert_eq!(
        cluster.broker().unwrap().status().await.unwrap().version,
        "27"
    );
}
