//! The client on a hostile network, against in-process servers: an `https`
//! entry to a cluster whose servers also listen in plaintext, answers too
//! large to hold (a huge error body, a gzip bomb) measured in a child
//! process, a timeout of `Duration::MAX`, a read-only client that drops a
//! stream, and a frozen leader Coordinator with a standby.

#![allow(clippy::unwrap_used)] // test helpers unwrap: a failure is the test failing

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use druid_api::prelude::*;
use druid_api::{Client, Cluster, ClusterModel, ServerRow};
use druid_tests::fake::{FakeRequest, FakeResponse, FakeServer};
use druid_tests::tls::{TestCa, server_config};
use serde_json::{Value, json};

/// One Druid server listening twice, as Druid does with TLS on and its
/// plaintext port left open (the default): the same answers on both.
struct TwoPorts {
    plain: FakeServer,
    tls: FakeServer,
}

impl TwoPorts {
    async fn start(ca: &TestCa, handler: fn(&FakeRequest) -> FakeResponse) -> TwoPorts {
        TwoPorts {
            plain: FakeServer::start(handler).await,
            tls: FakeServer::start_tls(server_config(&ca.server_cert()), handler).await,
        }
    }

    fn row(&self, server_type: &str, leader: Option<bool>) -> Value {
        json!({
            "server": format!("localhost:{}", self.tls.port()), "host": "localhost",
            "plaintext_port": self.plain.port(), "tls_port": self.tls.port(),
            "server_type": server_type, "is_leader": leader.map(i32::from),
        })
    }
}

fn any_service(r: &FakeRequest) -> FakeResponse {
    match r.path() {
        "/status" => FakeResponse::json(&json!({"version": "27.0.0"})),
        "/status/health" => FakeResponse::json(&json!(true)),
        "/druid/coordinator/v1/datasources" => FakeResponse::json(&json!(["wiki"])),
        "/druid/indexer/v1/tasks" => FakeResponse::json(&json!([])),
        _ => FakeResponse::new(404, ""),
    }
}

/// Tried on main: an `https` entry with Basic auth and a private CA, the
/// servers listing plaintext and TLS ports; three requests carried
/// `Authorization` to plaintext ports.
#[tokio::test]
async fn an_https_entry_sends_credentials_over_tls_only() {
    let ca = TestCa::new("hostile-ca");
    let coordinator = TwoPorts::start(&ca, any_service).await;
    let broker = TwoPorts::start(&ca, any_service).await;
    let rows = json!([
        coordinator.row("coordinator", Some(true)),
        coordinator.row("overlord", Some(true)),
        broker.row("broker", None),
    ]);
    let router = FakeServer::start_tls(server_config(&ca.server_cert()), move |r| {
        match (r.method.as_str(), r.path()) {
            ("POST", "/druid/v2/sql") => FakeResponse::json(&rows),
            _ => any_service(r),
        }
    })
    .await;
    let client = Client::builder()
        .url(router.url())
        .basic_auth("ops", "PASSWORD")
        .ca_cert_pem(ca.cert_pem.clone())
        .retry(druid_tests::quick_retries())
        .build()
        .unwrap();
    let cluster = client.cluster().await.unwrap();
    let coordinator_client = cluster.coordinator().unwrap();
    let datasources = coordinator_client.datasources().await;
    let tasks = cluster.overlord().unwrap().tasks().await;
    let broker_status = cluster.broker().unwrap().status().await;

    let to_plaintext: usize = [&coordinator.plain, &broker.plain]
        .iter()
        .map(|server| {
            server
                .requests()
                .iter()
                .filter(|r| r.header("authorization").is_some())
                .count()
        })
        .sum();
    assert_eq!(
        to_plaintext, 0,
        "requests carried Authorization to plaintext ports"
    );
    assert_eq!(datasources.unwrap(), ["wiki"]);
    assert!(tasks.unwrap().is_empty());
    assert_eq!(broker_status.unwrap().version, "27.0.0");
    for server in [&coordinator.tls, &broker.tls] {
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.header("authorization").is_some()),
            "every request over TLS carries the credentials"
        );
        assert!(!server.requests().is_empty());
    }
}

/// What the read probe printed.
#[derive(Debug, serde::Deserialize)]
struct Probe {
    ok: bool,
    text: String,
    vm_hwm_kib: u64,
}

/// Runs `read-probe` (a child process, so that its peak memory is its own)
/// against `url`.
fn run_probe(args: &[&str]) -> Probe {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_read-probe"))
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The most a child process that reads a hostile answer may hold at its
/// peak.
const PEAK_LIMIT_KIB: u64 = 128 * 1024;

/// Runs the probe against `url` and checks that the call failed with a
/// message holding `says`, its peak memory within [`PEAK_LIMIT_KIB`].
async fn probe_fails_within_bounds(what: &str, url: String, extra: &[&'static str], says: &[&str]) {
    let extra = extra.to_vec();
    let probe = tokio::task::spawn_blocking(move || {
        // The call, the URL, then the options.
        let mut args: Vec<&str> = vec![extra[0], &url];
        args.extend(&extra[1..]);
        run_probe(&args)
    })
    .await
    .unwrap();
    eprintln!("{what}: peak {} MiB", probe.vm_hwm_kib / 1024);
    assert!(!probe.ok, "{what}: {probe:?}");
    for needle in says {
        assert!(probe.text.contains(needle), "{what}: {probe:?}");
    }
    assert!(
        probe.vm_hwm_kib < PEAK_LIMIT_KIB,
        "{what}: the child's peak was {} MiB",
        probe.vm_hwm_kib / 1024
    );
}

/// Tried on main: a `500` with a 256 MiB body to `client.status()` took a
/// peak of 775 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_error_body_is_read_only_as_far_as_the_limit() {
    let body = vec![b'x'; 256 << 20];
    let server = FakeServer::start(move |_| {
        FakeResponse::new(500, body.clone()).in_chunks(1 << 20, Duration::ZERO)
    })
    .await;
    probe_fails_within_bounds("a 256 MiB error body", server.url(), &["status"], &["500"]).await;
}

/// 1 GiB of zeros, gzip-compressed (about 1 MiB), made once per target
/// folder.
fn gzip_bomb() -> Vec<u8> {
    use std::io::Write as _;
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("gzip-bomb-1g.gz");
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes;
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0_u8; 1 << 20];
    for _ in 0..1024 {
        gzip.write_all(&zeros).unwrap();
    }
    let bytes = gzip.finish().unwrap();
    let partial = path.with_extension(format!("{}.part", std::process::id()));
    std::fs::write(&partial, &bytes).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    bytes
}

/// Tried on main: a 1 MiB gzip body that inflates to 1 GiB (gzip asked
/// for) took a peak of 3,104 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_bomb_is_counted_inflated() {
    let bomb = tokio::task::spawn_blocking(gzip_bomb).await.unwrap();
    let bomb = Arc::new(bomb);
    let server = FakeServer::start(move |r| {
        let status = if r.path() == "/status" { 500 } else { 200 };
        FakeResponse::new(status, bomb.to_vec())
            .header("Content-Encoding", "gzip")
            .header("Content-Type", "text/plain")
            .in_chunks(64 << 10, Duration::ZERO)
    })
    .await;
    probe_fails_within_bounds(
        "a gzip bomb as an error",
        server.url(),
        &["status", "gzip"],
        &["500"],
    )
    .await;
    // As a successful answer of an endpoint: past the limit, an error that
    // names it, and the memory of the limit at most.
    probe_fails_within_bounds(
        "a gzip bomb as a 200 with a 16 MiB limit",
        server.url(),
        &["raw", "gzip", "max-16m"],
        &["larger than 16777216 bytes", "max_response_bytes"],
    )
    .await;
}

/// Tried on main: `.timeout(Duration::MAX)` then an SQL query panicked in
/// `std::time` (`Instant` overflow).
#[tokio::test]
async fn a_timeout_of_duration_max_means_no_limit() {
    let server = FakeServer::start(|_| {
        FakeResponse::new(200, "[\"n\"]\n[1]\n[2]\n\n").header("Content-Type", "text/plain")
    })
    .await;
    let client = Client::builder()
        .url(server.url())
        .timeout(Duration::MAX)
        .build()
        .unwrap();
    let rows: Vec<(i64,)> = tokio::spawn(async move { client.sql("SELECT n").rows().await })
        .await
        .expect("no panic")
        .unwrap();
    assert_eq!(rows, [(1,), (2,)]);
    let limited: Vec<(i64,)> = druid_api::connect(&server.url())
        .unwrap()
        .sql("SELECT n")
        .timeout(Duration::MAX)
        .rows()
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
}

/// Tried on main: a `read_only(true)` client that drops a stream after its
/// first row; no `DELETE` reached the server.
#[tokio::test]
async fn a_read_only_client_still_cancels_its_own_query() {
    let server = FakeServer::start(|r| match r.method.as_str() {
        "DELETE" => FakeResponse::new(202, ""),
        _ => FakeResponse::new(200, "[\"n\"]\n[1]\n[2]\n[3]\n\n")
            .in_chunks(4, Duration::from_millis(100)),
    })
    .await;
    let client = Client::builder()
        .url(server.url())
        .read_only(true)
        .build()
        .unwrap();
    let mut stream = client.sql("SELECT n").stream::<(i64,)>();
    let id = stream.query_id().to_owned();
    assert_eq!(stream.next_row().await.unwrap().unwrap(), (1,));
    drop(stream);
    assert_eq!(
        server.wait_for("DELETE", Duration::from_secs(5)).await,
        [format!("/druid/v2/sql/{id}")]
    );
}

/// Tried on main: with the lead Coordinator-Overlord frozen (SIGSTOP) and
/// a standby running, the next Coordinator call hung until the process
/// was resumed (152 s); neither client failed over. Here the leader
/// accepts connections and never answers, and the standby leads once
/// asked.
#[tokio::test]
async fn a_frozen_leader_fails_over_to_the_standby() {
    let frozen =
        FakeServer::start(|_| FakeResponse::new(200, "").delayed(Duration::from_secs(3600))).await;
    let standby_port = Arc::new(Mutex::new(0_u16));
    let port = standby_port.clone();
    let standby = FakeServer::start(move |r| match r.path() {
        "/druid/coordinator/v1/leader" | "/druid/indexer/v1/leader" => {
            FakeResponse::new(200, format!("http://127.0.0.1:{}", *port.lock().unwrap()))
        }
        _ => any_service(r),
    })
    .await;
    *standby_port.lock().unwrap() = standby.port();
    let row = |port: u16, server_type: &str, leader: bool| {
        json!({
            "server": format!("127.0.0.1:{port}"), "host": "127.0.0.1",
            "plaintext_port": port, "tls_port": -1, "server_type": server_type,
            "is_leader": i32::from(leader),
        })
    };
    let rows = json!([
        row(frozen.port(), "coordinator", true),
        row(frozen.port(), "overlord", true),
        row(standby.port(), "coordinator", false),
        row(standby.port(), "overlord", false),
    ]);
    let router = FakeServer::start(|_| FakeResponse::new(502, "")).await;
    let client = Client::builder().url(router.url()).build().unwrap();
    let cluster = Cluster::from_model(
        client,
        ClusterModel::from_rows(serde_json::from_value::<Vec<ServerRow>>(rows).unwrap()),
    );
    let started = Instant::now();
    let coordinator = cluster.coordinator().unwrap();
    let overlord = cluster.overlord().unwrap();
    let (datasources, tasks) = tokio::time::timeout(Duration::from_secs(40), async {
        tokio::join!(coordinator.datasources(), overlord.tasks())
    })
    .await
    .expect("both calls answer within 40 s of the freeze");
    assert_eq!(datasources.unwrap(), ["wiki"]);
    assert!(tasks.unwrap().is_empty());
    assert_eq!(coordinator.base_url().port(), Some(standby.port()));
    assert_eq!(overlord.base_url().port(), Some(standby.port()));
    eprintln!("failed over in {:?}", started.elapsed());
}

/// A plaintext server's rows, at `port`.
fn plain_row(port: u16, server_type: &str, leader: Option<bool>) -> Value {
    json!({
        "server": format!("127.0.0.1:{port}"), "host": "127.0.0.1",
        "plaintext_port": port, "tls_port": -1, "server_type": server_type,
        "is_leader": leader.map(i32::from),
    })
}

fn model_of(rows: Value) -> ClusterModel {
    ClusterModel::from_rows(serde_json::from_value::<Vec<ServerRow>>(rows).unwrap())
}

/// TLS wanted and a server without a TLS port: calls to it fail with an
/// error that names it, nothing falls back to plaintext, and the other
/// servers and discovery work.
#[tokio::test]
async fn a_server_without_a_tls_port_is_refused_not_reached_in_plaintext() {
    let ca = TestCa::new("hostile-ca");
    let with_tls = TwoPorts::start(&ca, any_service).await;
    let plaintext_only = FakeServer::start(any_service).await;
    let rows = json!([
        with_tls.row("coordinator", Some(true)),
        plain_row(plaintext_only.port(), "historical", None),
    ]);
    let router = FakeServer::start_tls(server_config(&ca.server_cert()), move |r| match r.path() {
        "/druid/v2/sql" => FakeResponse::json(&rows),
        _ => any_service(r),
    })
    .await;
    let client = Client::builder()
        .url(router.url())
        .ca_cert_pem(ca.cert_pem.clone())
        .build()
        .unwrap();
    let cluster = client.cluster().await.unwrap();
    assert_eq!(cluster.servers().len(), 2);
    assert_eq!(
        cluster.coordinator().unwrap().datasources().await.unwrap(),
        ["wiki"]
    );
    let historical = &cluster.historicals().unwrap()[0];
    let err = historical.status().await.unwrap_err();
    assert!(err.is_plaintext_refused(), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", plaintext_only.port()))
            && text.contains("no TLS port")
            && text.contains("prefer_tls(false)"),
        "{text}"
    );
    assert!(plaintext_only.requests().is_empty());
    // An http entry with TLS asked for: the same for the servers it lists;
    // the entry itself is used as given.
    let entry = FakeServer::start(any_service).await;
    let client = Client::builder()
        .url(entry.url())
        .prefer_tls(true)
        .build()
        .unwrap();
    let cluster = Cluster::from_model(
        client,
        model_of(json!([plain_row(plaintext_only.port(), "broker", None)])),
    );
    let err = cluster.broker().unwrap().status().await.unwrap_err();
    assert!(err.is_plaintext_refused(), "{err:?}");
    assert!(plaintext_only.requests().is_empty());
    assert!(cluster.client().status().await.is_ok());
    assert_eq!(entry.requests().len(), 1);
}

/// An answer of `/leader` that names a host outside the cluster is not
/// where later calls and their credentials go.
#[tokio::test]
async fn a_leader_outside_the_cluster_is_never_learned() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let liar = FakeServer::start(|r| match r.path() {
        "/druid/indexer/v1/leader" => FakeResponse::new(200, "http://attacker.example:8090"),
        _ => FakeResponse::new(503, ""),
    })
    .await;
    let router = FakeServer::start(|_| FakeResponse::new(502, "")).await;
    let client = Client::builder()
        .url(router.url())
        .basic_auth("ops", "pw")
        .retry(druid_tests::quick_retries())
        .build()
        .unwrap();
    let cluster = Cluster::from_model(
        client,
        model_of(json!([
            plain_row(dead, "overlord", Some(true)),
            plain_row(liar.port(), "overlord", Some(false)),
        ])),
    );
    let overlord = cluster.overlord().unwrap();
    assert!(overlord.tasks().await.is_err());
    assert_eq!(overlord.base_url().port(), Some(dead));
    assert!(
        overlord.base_url().host_str() != Some("attacker.example"),
        "{}",
        overlord.base_url()
    );
}

/// Read-only: SQL that writes is refused on every SQL endpoint, before
/// anything is sent; queries go out.
#[tokio::test]
async fn a_read_only_client_refuses_sql_that_writes_on_any_endpoint() {
    let server = FakeServer::start(|_| FakeResponse::new(200, "[\"n\"]\n[1]\n\n")).await;
    let client = Client::builder()
        .url(server.url())
        .read_only(true)
        .build()
        .unwrap();
    let insert = "INSERT INTO wiki SELECT * FROM ext PARTITIONED BY DAY";
    let replace =
        "SET maxNumTasks = 2; REPLACE INTO wiki OVERWRITE ALL SELECT 1 PARTITIONED BY ALL";
    for sql in [insert, replace] {
        let err = client.sql(sql).rows::<(i64,)>().await.unwrap_err();
        assert!(err.is_read_only(), "{err:?}");
        assert!(client.sql(sql).send().await.unwrap_err().is_read_only());
        assert!(
            client
                .sql(sql)
                .submit_task()
                .await
                .unwrap_err()
                .is_read_only()
        );
        let body = druid_api::models::SqlQuery::new(sql);
        assert!(
            client
                .submit_statement(&body)
                .await
                .unwrap_err()
                .is_read_only()
        );
    }
    assert!(server.requests().is_empty());
    let rows: Vec<(i64,)> = client
        .sql("SELECT REPLACE(page, 'a', 'b') FROM wiki")
        .rows()
        .await
        .unwrap();
    assert_eq!(rows, [(1,)]);
}

/// A write whose answer is a bare 503 (what a proxy answers after it may
/// have forwarded it) is sent once; a read is sent again.
#[tokio::test]
async fn a_write_answered_by_a_bare_503_is_sent_once() {
    let server = FakeServer::start(|_| FakeResponse::new(503, "")).await;
    let client = Client::builder()
        .url(server.url())
        .retry(druid_tests::quick_retries())
        .build()
        .unwrap();
    let err = client
        .sql("INSERT INTO wiki SELECT 1 PARTITIONED BY ALL")
        .submit_task()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err:?}");
    assert_eq!(server.requests().len(), 1);
    // The same statement through /druid/v2/sql is a write too.
    let err = client
        .sql("INSERT INTO wiki SELECT 1 PARTITIONED BY ALL")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.attempts(), 1, "{err:?}");
    assert_eq!(server.requests().len(), 2);
    // A read is sent again.
    let err = client.status().await.unwrap_err();
    assert_eq!(err.attempts(), 3);
    assert_eq!(server.requests().len(), 5);
}

/// Druid's "incomplete" trailer (a query that failed after its first rows,
/// the JSON array closed anyway) is an error on every path that reads a
/// query result, not a complete answer.
#[tokio::test]
async fn a_result_druid_cut_short_is_incomplete_on_every_path() {
    let server = FakeServer::start(|r| {
        let body = match r.path() {
            "/druid/v2" => "[{\"timestamp\":\"2024-01-01T00:00:00Z\",\"result\":{\"n\":1}}]",
            _ => "[{\"server\":\"a:1\",\"host\":\"a\",\"plaintext_port\":1,\"tls_port\":-1,\"server_type\":\"broker\"}]",
        };
        FakeResponse::new(200, body)
            .trailer("X-Druid-Response-Complete", "false")
            .trailer("X-Error-Message", "Query timeout")
    })
    .await;
    let client = Client::builder()
        .url(server.url())
        .no_retries()
        .build()
        .unwrap();
    let err = client.sql("SELECT 1").send().await.unwrap_err();
    assert!(err.is_incomplete(), "send: {err:?}");
    assert!(err.to_string().contains("Query timeout"), "{err}");
    let query = json!({"queryType": "timeseries", "dataSource": "wiki", "intervals": ["1000/3000"],
                       "granularity": "all", "aggregations": [{"type": "count", "name": "n"}]});
    let err = client.native_query::<Value>(&query).await.unwrap_err();
    assert!(err.is_incomplete(), "native: {err:?}");
    let err = client.cluster().await.unwrap_err();
    assert!(err.is_incomplete(), "discovery: {err:?}");

    // A result without its end marker, from a server that just stopped.
    let cut = FakeServer::start(|_| FakeResponse::new(200, "[\"n\"]\n[1]\n")).await;
    let err = druid_api::connect(&cut.url())
        .unwrap()
        .sql("SELECT n")
        .result_format(druid_api::models::ResultFormat::ArrayLines)
        .header(true)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_incomplete(), "{err:?}");
}

/// A server that drips its answer, a byte at a time: one attempt of a read
/// ends at the attempt's limit, and a query at its deadline.
#[tokio::test]
async fn a_server_that_drips_its_answer_is_bounded() {
    let drip = FakeServer::start(|r| {
        let body = if r.path() == "/status" {
            json!({"version": "27.0.0", "padding": "x".repeat(100)}).to_string()
        } else {
            "[\"n\"]\n[1]\n[2]\n[3]\n[4]\n\n".to_owned()
        };
        FakeResponse::new(200, body).in_chunks(1, Duration::from_millis(200))
    })
    .await;
    let client = Client::builder()
        .url(drip.url())
        .attempt_timeout(Duration::from_millis(600))
        .retry(druid_tests::quick_retries())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.status().await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let err = client
        .sql("SELECT n")
        .timeout(Duration::from_millis(800))
        .rows::<(i64,)>()
        .await
        .unwrap_err();
    assert!(err.is_timeout() || err.is_incomplete(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

/// A token provider that never answers holds a call no longer than the
/// call's limit.
#[tokio::test]
async fn a_token_provider_that_hangs_is_bounded_by_the_call() {
    let server = FakeServer::start(any_service).await;
    let client = Client::builder()
        .url(server.url())
        .timeout(Duration::from_millis(500))
        .bearer_token_provider(|| async {
            std::future::pending::<Result<String, druid_api::transport::BoxError>>().await
        })
        .build()
        .unwrap();
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(5), client.status())
        .await
        .expect("bounded")
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.to_string().contains("token provider"), "{err}");
    assert!(server.requests().is_empty());
}

/// A server's `Retry-After` is waited for; a longer one than the call has
/// ends the call at once.
#[tokio::test]
async fn retry_after_is_honoured() {
    let server = FakeServer::start(|_| FakeResponse::new(503, "").header("Retry-After", "1")).await;
    let client = Client::builder()
        .url(server.url())
        .retry(druid_tests::quick_retries().max_attempts(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.status().await.unwrap_err();
    assert_eq!(err.attempts(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let late =
        FakeServer::start(|_| FakeResponse::new(503, "").header("Retry-After", "3600")).await;
    let client = Client::builder()
        .url(late.url())
        .retry(druid_tests::quick_retries())
        .build()
        .unwrap();
    let started = Instant::now();
    assert_eq!(client.status().await.unwrap_err().attempts(), 1);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// All calls of a client share a retry budget: during an outage, a burst
/// of calls does not multiply itself by the attempt limit.
#[tokio::test]
async fn a_burst_during_an_outage_stays_within_the_retry_budget() {
    let server = FakeServer::start(|_| FakeResponse::new(503, "")).await;
    let client = Client::builder()
        .url(server.url())
        .retry(
            druid_tests::quick_retries()
                .max_attempts(20)
                .max_backoff(Duration::from_millis(5)),
        )
        .retry_budget(druid_api::transport::RetryBudget::new(1, 0.2))
        .build()
        .unwrap();
    let calls = (0..50).map(|_| client.status());
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_err));
    // 50 calls; retries at most 1 a second over ten seconds plus a fifth
    // of the calls: 10 + 10. Without a budget: 50 x 20 = 1,000 requests.
    let sent = server.requests().len();
    assert!(sent <= 50 + 20, "{sent} requests");
}

/// Twenty calls that find the leader gone at once ask the other
/// Coordinator who leads once, not twenty times.
#[tokio::test]
async fn one_leader_lookup_serves_many_calls() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let standby_port = Arc::new(Mutex::new(0_u16));
    let port = standby_port.clone();
    let standby = FakeServer::start(move |r| match r.path() {
        "/druid/coordinator/v1/leader" => {
            FakeResponse::new(200, format!("http://127.0.0.1:{}", *port.lock().unwrap()))
                .delayed(Duration::from_millis(200))
        }
        _ => any_service(r),
    })
    .await;
    *standby_port.lock().unwrap() = standby.port();
    let router = FakeServer::start(|_| FakeResponse::new(502, "")).await;
    let cluster = Cluster::from_model(
        Client::builder()
            .url(router.url())
            .retry(druid_tests::quick_retries())
            .build()
            .unwrap(),
        model_of(json!([
            plain_row(dead, "coordinator", Some(true)),
            plain_row(standby.port(), "coordinator", Some(false)),
        ])),
    );
    let coordinator = cluster.coordinator().unwrap();
    let calls = (0..20).map(|_| coordinator.datasources());
    let results = futures_util::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let lookups = standby
        .requests()
        .iter()
        .filter(|r| r.path() == "/druid/coordinator/v1/leader")
        .count();
    assert_eq!(lookups, 1);
}

/// A task submitted with the caller's own ID, whose first attempt was
/// taken but its answer lost, is reported as submitted, not as "already
/// exists".
#[tokio::test]
async fn an_own_id_task_taken_on_a_lost_answer_is_submitted() {
    let seen = Arc::new(Mutex::new(0));
    let count = seen.clone();
    let server = FakeServer::start(move |_| {
        let mut seen = count.lock().unwrap();
        *seen += 1;
        if *seen == 1 {
            // The Overlord took it; the answer never arrived.
            FakeResponse::new(200, json!({"task": "mine_1"}).to_string()).cut_after(3)
        } else {
            FakeResponse::new(
                400,
                json!({"error": "Task [mine_1] already exists!"}).to_string(),
            )
        }
    })
    .await;
    let client = Client::builder()
        .url(server.url())
        .retry(druid_tests::quick_retries())
        .build()
        .unwrap();
    let overlord = druid_api::OverlordClient::new(client.service().clone());
    let answer = overlord
        .submit_task(&json!({"type": "noop", "id": "mine_1"}))
        .await
        .unwrap();
    assert_eq!(answer.task, "mine_1");
    assert_eq!(*seen.lock().unwrap(), 2);
}

/// A refresh that every caller gave up on does not keep the cluster (and
/// its connections and credentials) alive.
#[tokio::test]
async fn an_abandoned_refresh_does_not_keep_the_cluster_alive() {
    let hang =
        FakeServer::start(|_| FakeResponse::new(200, "[]").delayed(Duration::from_secs(3600)))
            .await;
    let alive = Arc::new(());
    let held = alive.clone();
    let client = Client::builder()
        .url(hang.url())
        .bearer_token_provider(move || {
            let _ = &held;
            async { Ok::<_, druid_api::transport::BoxError>("t".to_owned()) }
        })
        .build()
        .unwrap();
    let cluster = Cluster::from_model(client, model_of(json!([])));
    // Started, then abandoned while it waits for the server.
    let refresh = cluster.refresh();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), refresh)
            .await
            .is_err()
    );
    drop(cluster);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(Arc::strong_count(&alive), 1, "the cluster was kept alive");
}

/// A stream dropped early cancels its query at the Broker that runs it,
/// even when the cluster's first Broker has changed since.
#[tokio::test]
async fn a_cancel_goes_to_the_broker_that_runs_the_query() {
    let broker = |name: &'static str| async move {
        FakeServer::start(move |r| match r.method.as_str() {
            "DELETE" => FakeResponse::new(202, name),
            _ => FakeResponse::new(200, "[\"n\"]\n[1]\n[2]\n[3]\n\n")
                .in_chunks(4, Duration::from_millis(100)),
        })
        .await
    };
    let (first, second) = (broker("first").await, broker("second").await);
    let router = FakeServer::start({
        let rows = json!([plain_row(second.port(), "broker", None)]);
        move |_| FakeResponse::json(&rows)
    })
    .await;
    let cluster = Cluster::from_model(
        druid_api::connect(&router.url()).unwrap(),
        model_of(json!([plain_row(first.port(), "broker", None)])),
    );
    let client = cluster.broker().unwrap();
    let mut stream = client.sql("SELECT n").stream::<(i64,)>();
    assert_eq!(stream.next_row().await.unwrap().unwrap(), (1,));
    // The cluster now lists another Broker first.
    cluster.refresh().await.unwrap();
    assert_eq!(client.base_url().port(), Some(second.port()));
    assert!(stream.cancel().await.unwrap());
    assert_eq!(first.targets_of("DELETE").len(), 1);
    assert!(second.targets_of("DELETE").is_empty());
}

/// A model read while a Coordinator was down lacks it; when it leads later,
/// a follower's redirect and the `/leader` answers name a server the model
/// does not have. The client reads the cluster again and follows, instead of
/// refusing for good (or trusting an unknown host).
#[tokio::test]
async fn a_leader_that_joined_after_the_model_was_read_is_found() {
    let leader_port = Arc::new(Mutex::new(0_u16));
    let port = leader_port.clone();
    let leader = FakeServer::start(move |r| match r.path() {
        "/druid/coordinator/v1/leader" => {
            FakeResponse::new(200, format!("http://127.0.0.1:{}", *port.lock().unwrap()))
        }
        _ => any_service(r),
    })
    .await;
    *leader_port.lock().unwrap() = leader.port();
    let follower = FakeServer::follower_of(leader.port()).await;
    let fresh = json!([
        plain_row(follower.port(), "coordinator", Some(false)),
        plain_row(leader.port(), "coordinator", Some(true)),
    ]);
    let router = FakeServer::start(move |_| FakeResponse::json(&fresh)).await;
    let cluster = Cluster::from_model(
        Client::builder()
            .url(router.url())
            .retry(druid_tests::quick_retries())
            .build()
            .unwrap(),
        // Read while the leader was down: only the follower, as leader.
        model_of(json!([plain_row(
            follower.port(),
            "coordinator",
            Some(true)
        )])),
    );
    let coordinator = cluster.coordinator().unwrap();
    assert_eq!(coordinator.datasources().await.unwrap(), ["wiki"]);
    assert_eq!(coordinator.base_url().port(), Some(leader.port()));
    assert_eq!(cluster.servers().len(), 2);
}
