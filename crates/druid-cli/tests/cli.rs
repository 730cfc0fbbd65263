//! The `druid` binary offline: exit codes, output formats, settings and
//! Ctrl-C, against in-process fake servers.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use druid_tests::fake::{FakeResponse, FakeServer};
use serde_json::{Value, json};

/// The binary, with an environment of only what the test gives (no
/// `DRUID_*` of the machine, no config file of the user).
fn druid(env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_druid"));
    for (key, _) in std::env::vars() {
        if key.starts_with("DRUID_") {
            command.env_remove(key);
        }
    }
    command.env("XDG_CONFIG_HOME", "/nonexistent-druid-cli-config");
    command.env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command.stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// An SQL answer as Druid writes `arrayLines` with both type headers.
fn sql_answer() -> String {
    [
        json!(["page", "added", "city"]),
        json!(["STRING", "LONG", "STRING"]),
        json!(["VARCHAR", "BIGINT", "VARCHAR"]),
        json!(["Rust", 10, null]),
        json!(["Dru\"id, [x]", -32, "Köln"]),
    ]
    .iter()
    .map(|row| format!("{row}\n"))
    .collect::<String>()
        + "\n"
}

async fn sql_server() -> FakeServer {
    FakeServer::start(|r| {
        if r.path().starts_with("/druid/v2/sql") {
            let sent: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(sent["resultFormat"], "arrayLines");
            assert_eq!(sent["typesHeader"], true);
            FakeResponse::new(200, sql_answer()).in_chunks(7, Duration::ZERO)
        } else {
            FakeResponse::new(404, "")
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn sql_writes_every_format() {
    let server = sql_server().await;
    let url = server.url();
    let sql =
        |format: &str| run(druid(&[("DRUID_URL", &url)]).args(["sql", "SELECT *", "-o", format]));

    let (code, csv, err) = sql("csv");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(
        csv,
        "page,added,city\nRust,10,\n\"Dru\"\"id, [x]\",-32,Köln\n"
    );

    let (code, jsonl, _) = sql("jsonl");
    assert_eq!(code, 0);
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"page": "Rust", "added": 10, "city": null}),
            json!({"page": "Dru\"id, [x]", "added": -32, "city": "Köln"}),
        ]
    );

    let (code, text, _) = sql("json");
    assert_eq!(code, 0);
    let array: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(array, Value::Array(lines));

    let (code, table, _) = sql("table");
    assert_eq!(code, 0);
    assert_eq!(
        table,
        "page         added   city\n\
         VARCHAR      BIGINT  VARCHAR\n\
         -----------  ------  -------\n\
         Rust             10  null\n\
         Dru\"id, [x]     -32  Köln\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parameters_and_context_reach_druid() {
    let server = sql_server().await;
    let (code, _, err) = run(druid(&[("DRUID_URL", &server.url())]).args([
        "sql",
        "SELECT * FROM t WHERE page = ? AND added > ?",
        "-p",
        "Rust",
        "-p",
        "5",
        "-c",
        "timeout=60000",
        "--query-id",
        "cli-test-1",
        "-o",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    let sent: Value = serde_json::from_slice(&server.requests()[0].body).unwrap();
    assert_eq!(
        sent["parameters"],
        json!([{"type": "VARCHAR", "value": "Rust"}, {"type": "BIGINT", "value": 5}])
    );
    assert_eq!(sent["context"]["timeout"], 60000);
    assert_eq!(sent["context"]["sqlQueryId"], "cli-test-1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_druid_error_is_one_line_and_exit_code_1_without_the_password() {
    let server = FakeServer::start(|_| {
        FakeResponse::new(
            400,
            json!({"error": "druidException", "errorCode": "invalidInput", "persona": "USER",
                   "category": "INVALID_INPUT", "errorMessage": "Column 'nope' not found in any table"})
            .to_string(),
        )
    })
    .await;
    let (code, out, err) = run(druid(&[
        ("DRUID_URL", &server.url()),
        ("DRUID_USER", "admin"),
        ("DRUID_PASSWORD", "s3cret-pw"),
    ])
    .args(["sql", "SELECT nope"]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("druid: Druid answered 400 Bad Request")
            && err.contains("Column 'nope' not found"),
        "{err}"
    );
    let (_, _, verbose) = run(druid(&[
        ("DRUID_URL", &server.url()),
        ("DRUID_USER", "admin"),
        ("DRUID_PASSWORD", "s3cret-pw"),
    ])
    .args(["sql", "SELECT nope", "--verbose"]));
    assert!(
        verbose.contains("\"errorCode\":\"invalidInput\""),
        "{verbose}"
    );
    for text in [&err, &verbose] {
        assert!(!text.contains("s3cret-pw"), "{text}");
    }
}

#[test]
fn no_connection_is_exit_code_3_and_usage_is_2() {
    let (code, _, err) = run(druid(&[("DRUID_URL", "http://127.0.0.1:1")]).args([
        "sql",
        "SELECT 1",
        "--timeout",
        "2s",
    ]));
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with("druid: could not connect to http://127.0.0.1:1/"),
        "{err}"
    );

    let (code, _, err) = run(druid(&[]).args(["sql", "-o", "xml", "SELECT 1"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(druid(&[("DRUID_URL", "not a url")]).args(["sql", "SELECT 1"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"not a url\" (from $DRUID_URL) is not a URL"),
        "{err}"
    );
    let (code, _, err) = run(druid(&[]).args(["sql"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no statement: standard input gave an empty one"),
        "{err}"
    );
    let (code, _, err) = run(druid(&[("DRUID_USER", "admin")]).args(["sql", "SELECT 1"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("user admin (from $DRUID_USER) has no password"),
        "{err}"
    );
}

/// Tried on main: `druid --url 'http://ops:PASSWORD@127.0.0.1:18880'
/// config`, and the same URL with port 99999, both printed the password.
/// (The password here is not the word PASSWORD: the pointer to
/// `$DRUID_PASSWORD` must be in the message.)
/// A password inside `--url` is refused with a pointer to where a
/// password goes, and no message shows it.
#[test]
fn a_password_inside_the_url_is_refused_and_never_printed() {
    for url in [
        "http://ops:Hunter2pw@127.0.0.1:18880",
        "http://ops:Hunter2pw@127.0.0.1:99999",
    ] {
        for args in [vec!["--url", url, "config"], vec!["--url", url, "tasks"]] {
            let (code, out, err) = run(druid(&[]).args(&args));
            assert!(
                !out.contains("Hunter2pw") && !err.contains("Hunter2pw"),
                "{args:?}: {out}{err}"
            );
            assert_eq!(code, 2, "{args:?}: {out}{err}");
            assert!(
                err.contains("DRUID_PASSWORD") && err.contains("--password-file"),
                "{args:?}: {err}"
            );
        }
        let (code, out, err) = run(druid(&[("DRUID_URL", url)]).args(["config"]));
        assert_eq!(code, 2, "{out}{err}");
        assert!(
            !out.contains("Hunter2pw") && !err.contains("Hunter2pw"),
            "{out}{err}"
        );
    }
}

/// `druid cluster -o json` of the cluster at `url` through a port map: the
/// servers it printed (the command must succeed).
fn cluster_json(url: &str, port_map: &str) -> Vec<Value> {
    let (code, out, err) =
        run(druid(&[("DRUID_URL", url)]).args(["--port-map", port_map, "cluster", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

/// A config file in a fresh temporary folder.
fn config_file(text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "druid-cli-config-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn config_shows_what_is_in_effect_and_where_it_came_from() {
    let path = config_file(
        "default_profile = \"dev\"\n\
         [profiles.dev]\nurl = \"http://dev:8888\"\nuser = \"ops\"\npassword_env = \"DEV_PW\"\ntimeout = 45\n\
         [profiles.prod]\nurl = \"https://prod:9088\"\nread_only = true\n",
    );
    let path_text = path.to_string_lossy().into_owned();
    let (code, out, err) = run(druid(&[
        ("DRUID_CONFIG", &path_text),
        ("DEV_PW", "dev-secret"),
        ("DRUID_TIMEOUT", "10s"),
    ])
    .args(["config"]));
    assert_eq!(code, 0, "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("profile"), "profile dev (profile default_profile)");
    assert_eq!(line("url"), "url http://dev:8888 (profile dev)");
    assert_eq!(line("user"), "user ops (profile dev)");
    assert_eq!(
        line("password"),
        "password <hidden> from $DEV_PW (profile dev)"
    );
    assert_eq!(line("timeout"), "timeout 10 s ($DRUID_TIMEOUT)");
    assert!(!out.contains("dev-secret"), "{out}");

    let (code, out, _) = run(druid(&[("DRUID_CONFIG", &path_text)]).args([
        "config",
        "--profile",
        "prod",
        "--url",
        "http://flag:1",
    ]));
    assert_eq!(code, 0);
    assert!(
        out.contains("http://flag:1") && out.contains("(--url)"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("read only")
            && l.contains("true")
            && l.contains("(profile prod)")),
        "{out}"
    );
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// Ctrl-C: the query is cancelled on the server and the exit code is 130.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_cancels_the_query_on_the_server() {
    // Read-only too: stopping its own query is what a read-only client must
    // be able to do (before, the cancel was refused as a change).
    for read_only in ["false", "true"] {
        let server = FakeServer::start(|r| {
            if r.method == "DELETE" {
                FakeResponse::new(202, "")
            } else {
                // Rows trickle in for a minute.
                FakeResponse::new(200, sql_answer()).in_chunks(4, Duration::from_secs(2))
            }
        })
        .await;
        let child = druid(&[("DRUID_URL", &server.url()), ("DRUID_READ_ONLY", read_only)])
            .args([
                "sql",
                "SELECT * FROM slow",
                "--query-id",
                "slow-1",
                "-o",
                "csv",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the query reached the server.
        let started = Instant::now();
        while server.requests().is_empty() && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(130), "{err}");
        assert!(
            err.contains("cancelled query slow-1 on the server"),
            "read only {read_only}: {err}"
        );
        assert_eq!(server.targets_of("DELETE"), ["/druid/v2/sql/slow-1"]);
    }
}

/// A wait stops at its limit even when the Overlord never answers.
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_ends_at_its_limit_against_a_hung_overlord() {
    let rows = json!([{"server": "o:1", "host": "127.0.0.1", "plaintext_port": 1, "tls_port": -1,
                       "server_type": "overlord", "is_leader": 1}]);
    let hung =
        FakeServer::start(|_| FakeResponse::new(200, "{}").delayed(Duration::from_secs(3600)))
            .await;
    let router = FakeServer::start(move |_| FakeResponse::json(&rows)).await;
    let started = Instant::now();
    let (code, _, err) = run(druid(&[("DRUID_URL", &router.url())]).args([
        "--port-map",
        &format!("{}:1", hung.port()),
        "task",
        "wait",
        "t1",
        "--for",
        "2s",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("gave up waiting for task t1 to finish"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn completions_and_the_man_page_cover_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, script, err) = run(druid(&[]).args(["completions", shell]));
        assert_eq!(code, 0, "{err}");
        for command in ["sql", "cluster", "ingest", "task", "datasources"] {
            assert!(script.contains(command), "{shell}: no {command}");
        }
    }
    let (code, page, err) = run(druid(&[]).args(["man"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        page.contains(".TH druid 1") && page.contains("\\-\\-read\\-only"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_sends_any_request_and_read_only_refuses_changes_unsent() {
    let server = FakeServer::start(|r| match r.method.as_str() {
        "GET" => FakeResponse::json(&json!({"asked": r.target})),
        _ => FakeResponse::json(&json!({"got": serde_json::from_slice::<Value>(&r.body).unwrap()})),
    })
    .await;
    let url = server.url();
    let (code, out, err) = run(druid(&[("DRUID_URL", &url)]).args([
        "raw",
        "GET",
        "/druid/coordinator/v1/config/history?count=2",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"asked": "/druid/coordinator/v1/config/history?count=2"})
    );
    let (code, out, err) = run(druid(&[("DRUID_URL", &url)]).args([
        "raw",
        "post",
        "/druid/v2/sql",
        "-d",
        r#"{"query": "SELECT 1"}"#,
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!({"got": {"query": "SELECT 1"}})
    );
    let sent = server.requests().len();
    let (code, _, err) = run(
        druid(&[("DRUID_URL", &url), ("DRUID_READ_ONLY", "true")]).args([
            "raw",
            "POST",
            "/druid/coordinator/v1/config",
            "-d",
            "{}",
        ]),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(server.requests().len(), sent, "nothing sent");
    let (code, _, err) = run(druid(&[("DRUID_URL", &url)]).args(["raw", "GET", "status"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("must start with /"), "{err}");
    let (code, _, err) =
        run(druid(&[("DRUID_URL", &url)]).args(["raw", "POST", "/x", "-d", "{nope"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--data is not JSON"), "{err}");
}

/// Mutual TLS: `--ca-cert` and `--client-cert` (certificate and key in one
/// PEM) reach a server that demands a client certificate; without the
/// certificate it is a TLS failure, exit code 3.
#[tokio::test(flavor = "multi_thread")]
async fn a_ca_and_a_client_certificate_from_files() {
    use druid_tests::tls::{TestCa, mutual_tls_config};

    let ca = TestCa::new("Druid CLI Test CA");
    let server = FakeServer::start_tls(mutual_tls_config(&ca.server_cert(), &ca), |_| {
        FakeResponse::new(200, sql_answer())
    })
    .await;
    let dir = config_file("").parent().unwrap().to_path_buf();
    let ca_file = dir.join("ca.pem");
    let identity = dir.join("client.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    std::fs::write(&identity, ca.client_cert().identity_pem()).unwrap();
    let (ca_text, identity_text) = (
        ca_file.to_string_lossy().into_owned(),
        identity.to_string_lossy().into_owned(),
    );
    let (code, out, err) = run(druid(&[("DRUID_URL", &server.url())]).args([
        "--ca-cert",
        &ca_text,
        "--client-cert",
        &identity_text,
        "sql",
        "SELECT *",
        "-o",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("page,added,city\nRust,10,\n"), "{out}");
    let (code, _, err) = run(
        druid(&[("DRUID_URL", &server.url()), ("DRUID_CA_CERT", &ca_text)])
            .args(["sql", "SELECT *"]),
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("druid: TLS failure talking to "), "{err}");
    let (code, _, err) = run(druid(&[("DRUID_URL", &server.url())]).args([
        "--ca-cert",
        "/nonexistent/ca.pem",
        "sql",
        "SELECT 1",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/nonexistent/ca.pem"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `druid api` is made from the spec's catalog: every endpoint listed, its
/// help generated, bad arguments refused before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn api_lists_explains_and_calls_endpoints_of_the_spec() {
    let (code, out, err) = run(druid(&[]).args(["api", "--list", "-o", "csv"]));
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert!(rows.len() > 300, "{} endpoints", rows.len());
    assert!(
        rows.iter()
            .any(|r| r
                .starts_with("overlord,task-status,GET,/druid/indexer/v1/task/{taskId}/status,")),
        "{out}"
    );
    let (code, help, err) = run(druid(&[]).args(["api", "overlord", "task-status", "--help"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        help.contains("Usage: druid api overlord task-status [OPTIONS] <TASK-ID>")
            && help.contains("GET /druid/indexer/v1/task/{taskId}/status on the Overlord")
            && help.contains("tasks-api#get-task-status"),
        "{help}"
    );
    let (code, _, err) = run(druid(&[]).args(["api", "overlord", "task-statuz", "x"]));
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(druid(&[]).args(["api", "overlord", "tasks", "--state", "sleepy"]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("possible values: running, complete, waiting, pending"),
        "{err}"
    );

    // A call to the URL's own service, with a path parameter encoded.
    let server = FakeServer::start(|r| FakeResponse::json(&json!({"asked": r.target}))).await;
    let (code, out, err) =
        run(druid(&[("DRUID_URL", &server.url())]).args(["api", "client", "cancel-sql", "a/b c"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_eq!(server.requests()[0].method, "DELETE");
    assert_eq!(server.requests()[0].target, "/druid/v2/sql/a%2Fb%20c");
    let (code, _, err) = run(druid(&[("DRUID_URL", &server.url())]).args([
        "--read-only",
        "api",
        "client",
        "cancel-sql",
        "q1",
    ]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(server.requests().len(), 1, "the refused call was not sent");
}

/// `--port-map` in Docker's order: a cluster whose `sys.servers` names
/// container addresses (172.18.x) is reached through the URL's host, each
/// internal port at its published one.
#[tokio::test(flavor = "multi_thread")]
async fn a_port_map_reaches_a_cluster_behind_docker_addresses() {
    let row = |server: &str, port: u16, kind: &str, leader: i64| {
        json!({"server": format!("{server}:{port}"), "host": server, "plaintext_port": port,
               "tls_port": -1, "server_type": kind, "tier": null, "curr_size": 0,
               "max_size": 0, "is_leader": leader, "start_time": "2026-11-28T13:42:18.289Z"})
    };
    let rows = json!([
        row("172.18.0.4", 8081, "coordinator", 1),
        row("172.18.0.4", 8081, "overlord", 1),
        row("172.18.0.5", 8082, "broker", 0),
        row("172.18.0.2", 8888, "router", 0),
    ]);
    // One fake plays every service: the Router's port and the others'.
    let fake = || {
        let rows = rows.clone();
        move |r: &druid_tests::fake::FakeRequest| match r.path() {
            "/druid/v2/sql" => FakeResponse::json(&rows),
            "/status/health" => FakeResponse::json(&json!(true)),
            "/status" => FakeResponse::json(&json!({"version": "27.0.0"})),
            _ => FakeResponse::new(404, ""),
        }
    };
    let router = FakeServer::start(fake()).await;
    let coordinator = FakeServer::start(fake()).await;
    let broker = FakeServer::start(fake()).await;
    let map = format!(
        "{}:8888,{}:8081,{}:8082",
        router.port(),
        coordinator.port(),
        broker.port()
    );
    let servers = cluster_json(&router.url(), &map);
    assert_eq!(servers.len(), 3, "{servers:?}");
    for server in &servers {
        assert_eq!(server["health"], "ok", "{server}");
        assert_eq!(server["roles"][0]["version"], "27.0.0", "{server}");
    }
    // Each service was asked at its published port.
    for fake in [&router, &coordinator, &broker] {
        assert!(
            fake.requests().iter().any(|r| r.path() == "/status/health"),
            "no health check reached port {}",
            fake.port()
        );
    }
    let (code, _, err) =
        run(druid(&[("DRUID_URL", &router.url())]).args(["--port-map", "8888", "cluster"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("write EXTERNAL:INTERNAL"), "{err}");
}

/// An https URL means TLS for every service the cluster lists, though each
/// also listens in plaintext; plaintext is refused for the password unless
/// asked for, with a pointer to the switch.
#[tokio::test(flavor = "multi_thread")]
async fn an_https_url_keeps_the_password_on_tls() {
    use druid_tests::tls::{TestCa, server_config};

    let ca = TestCa::new("Druid CLI TLS CA");
    let answer = |r: &druid_tests::fake::FakeRequest| match r.path() {
        "/druid/indexer/v1/tasks" => FakeResponse::json(&json!([{
            "id": "index_wiki_1", "type": "index_parallel", "dataSource": "wiki",
            "statusCode": "SUCCESS", "status": "SUCCESS", "createdTime": "2026-12-08T00:00:00.000Z",
            "duration": 1500
        }])),
        _ => FakeResponse::new(404, ""),
    };
    let plain = FakeServer::start(answer).await;
    let tls = FakeServer::start_tls(server_config(&ca.server_cert()), answer).await;
    let rows = json!([
        {"server": format!("localhost:{}", tls.port()), "host": "localhost",
         "plaintext_port": plain.port(), "tls_port": tls.port(), "server_type": "overlord", "is_leader": 1},
    ]);
    let router = FakeServer::start_tls(server_config(&ca.server_cert()), move |r| match r.path() {
        "/druid/v2/sql" => FakeResponse::json(&rows),
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let dir = config_file("").parent().unwrap().to_path_buf();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let ca_text = ca_file.to_string_lossy().into_owned();
    let env = |extra: &[(&'static str, &'static str)]| {
        let mut all = vec![
            ("DRUID_URL", router.url()),
            ("DRUID_USER", "ops".to_owned()),
            ("DRUID_PASSWORD", "Hunter2pw".to_owned()),
            ("DRUID_CA_CERT", ca_text.clone()),
        ];
        all.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        all
    };
    let run_with = |extra: &[(&'static str, &'static str)]| {
        let env = env(extra);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(druid(&pairs).args(["tasks", "-o", "csv"]))
    };
    let (code, out, err) = run_with(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("index_wiki_1"), "{out}");
    assert!(plain.requests().is_empty());
    assert!(
        tls.requests()
            .iter()
            .all(|r| r.header("authorization").is_some())
    );

    // Plaintext ports by choice: the password stays home, and the message
    // says which switch sends it anyway.
    let (code, _, err) = run_with(&[("DRUID_PREFER_TLS", "false")]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("without TLS") && err.contains("--allow-plaintext-credentials"),
        "{err}"
    );
    assert!(plain.requests().is_empty());
    let (code, out, err) = run_with(&[
        ("DRUID_PREFER_TLS", "false"),
        ("DRUID_ALLOW_PLAINTEXT_CREDENTIALS", "true"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("index_wiki_1"), "{out}");
    assert_eq!(plain.requests().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Data can hold escape sequences; a terminal must never act on them, in
/// rows, column names, errors or a task's log.
#[tokio::test(flavor = "multi_thread")]
async fn escape_sequences_from_the_network_are_shown_not_run() {
    let hostile = "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{9b}";
    let server = FakeServer::start(move |r| match r.path() {
        "/druid/v2/sql" => FakeResponse::new(
            200,
            [
                json!(["page\u{1b}]0;owned\u{7}"]),
                json!(["STRING"]),
                json!(["VARCHAR"]),
                json!([hostile]),
            ]
            .iter()
            .map(|row| format!("{row}\n"))
            .collect::<String>()
                + "\n",
        ),
        "/druid/v2/sql/x" => FakeResponse::new(
            400,
            json!({"error": "druidException", "errorCode": "invalidInput",
                   "errorMessage": format!("bad {hostile}")})
            .to_string(),
        ),
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let raw = |text: &str| text.chars().any(|c| c.is_control() && c != '\n');
    for format in ["table", "json", "jsonl", "csv"] {
        let (code, out, err) =
            run(druid(&[("DRUID_URL", &server.url())]).args(["sql", "SELECT 1", "-o", format]));
        assert_eq!(code, 0, "{err}");
        if format == "csv" {
            // Not a terminal: CSV keeps the data as it is, for programs.
            assert!(out.contains(hostile), "{out:?}");
            continue;
        }
        assert!(!raw(&out), "{format}: {out:?}");
    }
    let (_, table, _) = run(druid(&[("DRUID_URL", &server.url())]).args(["sql", "SELECT 1"]));
    assert!(table.contains("\\x1b]52;c;ZXZpbA==\\x07"), "{table}");
    assert!(table.contains("page\\x1b]0;owned\\x07"), "{table}");
    let (code, _, err) = run(druid(&[("DRUID_URL", &server.url())]).args([
        "raw",
        "POST",
        "/druid/v2/sql/x",
        "-d",
        "{}",
        "--verbose",
    ]));
    assert_eq!(code, 1, "{err}");
    assert!(!raw(&err), "{err:?}");
    assert!(err.contains("bad \\x1b]52;c;ZXZpbA==\\x07"), "{err}");
}

/// `druid cluster` checks the health of many servers a few at a time, not
/// all at once (two connections each).
#[tokio::test(flavor = "multi_thread")]
async fn health_checks_run_a_few_at_a_time() {
    // Forty Historicals at Docker addresses, all reached through a port map
    // on the one fake.
    let server = FakeServer::start(move |r| match r.path() {
        "/druid/v2/sql" => FakeResponse::json(&Value::Array(
            (0..40)
                .map(|i| {
                    json!({"server": format!("10.0.0.{i}:8083"), "host": format!("10.0.0.{i}"),
                           "plaintext_port": 8083, "tls_port": -1,
                           "server_type": "historical", "tier": "_default_tier"})
                })
                .collect(),
        )),
        "/status/health" => FakeResponse::json(&json!(true)).delayed(Duration::from_millis(150)),
        "/status" => {
            FakeResponse::json(&json!({"version": "33.0.0"})).delayed(Duration::from_millis(150))
        }
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let map = format!("{}:8083", server.port());
    let servers = cluster_json(&server.url(), &map);
    assert_eq!(servers.len(), 40);
    assert!(servers.iter().all(|s| s["health"] == "ok"), "{servers:?}");
    // 16 servers at a time, two requests each: never more connections than
    // that (plus discovery's), where all at once would open 80.
    assert!(
        server.connections() <= 33,
        "{} connections",
        server.connections()
    );
}

/// A task's log streams to the output as it comes, whatever its size and
/// encoding; bytes that are not UTF-8 and control characters show as
/// escapes.
#[tokio::test(flavor = "multi_thread")]
async fn a_task_log_streams_and_shows_what_is_not_text() {
    let mut log = b"2026-12-08 INFO start\n".repeat(20_000);
    log.extend_from_slice(b"bad \xff\xfe byte \x1b[31mred\n");
    let body = log.clone();
    let rows = json!([{"server": "o:1", "host": "127.0.0.1", "plaintext_port": 1, "tls_port": -1,
                       "server_type": "overlord", "is_leader": 1}]);
    let overlord = FakeServer::start(move |r| match r.path() {
        "/druid/indexer/v1/task/t1/log" => {
            FakeResponse::new(200, body.clone()).in_chunks(1000, Duration::ZERO)
        }
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let router = FakeServer::start(move |r| match r.path() {
        "/druid/v2/sql" => FakeResponse::json(&rows),
        _ => FakeResponse::new(404, ""),
    })
    .await;
    let (code, out, err) = run(druid(&[("DRUID_URL", &router.url())]).args([
        "--port-map",
        &format!("{}:1", overlord.port()),
        "task",
        "log",
        "t1",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 20_001);
    assert!(
        out.ends_with("bad \\xff\\xfe byte \\x1b[31mred\n"),
        "{}",
        &out[out.len() - 60..]
    );
}
