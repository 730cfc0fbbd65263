//! The built `druid` binary against the real cluster of `cargo xtask druid
//! up` (`DRUID_URL` and, on the secure profile, `DRUID_USER`,
//! `DRUID_PASSWORD`, `DRUID_TLS_URL`, `DRUID_CA_CERT`). Plain `cargo test`
//! lists them as ignored; `cargo xtask ci` runs them.

#![allow(clippy::unwrap_used)] // a failed unwrap is the test failing

use std::path::PathBuf;
use std::process::{Command, Stdio};

use druid_tests::live;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The binary, with the cluster's environment and no user config file.
fn druid() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_druid"));
    command.env("XDG_CONFIG_HOME", "/nonexistent-druid-cli-config");
    command.env("NO_COLOR", "1");
    command.env_remove("DRUID_CONFIG");
    command.env_remove("DRUID_PROFILE");
    command.stdin(Stdio::null());
    command
}

/// Runs it; the exit code, standard output and standard error.
fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Runs it with `input` on its standard input; the exit code, standard
/// output and standard error.
fn run_with_input(command: &mut Command, input: &str) -> (i32, String, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The four rows of `druid_tests::live::ROWS`, ingested once.
async fn table() -> &'static str {
    static TABLE: OnceCell<String> = OnceCell::const_new();
    TABLE
        .get_or_init(|| async {
            let table = live::unique("cli");
            live::ingest(&table).await;
            table
        })
        .await
}

fn by_page(table: &str) -> String {
    format!(
        "SELECT page, SUM(added) AS added, MIN(__time) AS first_seen FROM \"{table}\" \
         GROUP BY page ORDER BY page"
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn sql_in_every_format_has_the_ingested_values() {
    let table = table().await;
    let sql = |format: &str| run(druid().args(["sql", &by_page(table), "-o", format]));

    let (code, csv, err) = sql("csv");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        csv,
        "page,added,first_seen\n\
         Druid,32,2024-01-01T01:00:00.000Z\n\
         Java,1,2024-01-02T05:00:00.000Z\n\
         Rust,15,2024-01-01T00:00:00.000Z\n"
    );

    let expected = json!([
        {"page": "Druid", "added": 32, "first_seen": "2024-01-01T01:00:00.000Z"},
        {"page": "Java", "added": 1, "first_seen": "2024-01-02T05:00:00.000Z"},
        {"page": "Rust", "added": 15, "first_seen": "2024-01-01T00:00:00.000Z"},
    ]);
    let (code, json_text, err) = sql("json");
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&json_text).unwrap(), expected);

    let (code, jsonl, err) = sql("jsonl");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Value::Array(lines), expected);

    let (code, text, err) = sql("table");
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["page", "added", "first_seen"]
    );
    // Column types from Druid's SQL type header.
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["VARCHAR", "BIGINT", "TIMESTAMP"]
    );
    assert_eq!(
        lines[5].split_whitespace().collect::<Vec<_>>(),
        ["Rust", "15", "2024-01-01T00:00:00.000Z"]
    );
    assert_eq!(lines.len(), 6, "{text}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn a_parameterised_statement_from_standard_input() {
    let table = table().await;
    let statement = format!(
        "SELECT COUNT(*) AS n, SUM(added) AS added FROM \"{table}\" WHERE page = ? AND added > ?;\n"
    );
    let (code, out, err) = run_with_input(
        druid().args(["sql", "-o", "csv", "-p", "Rust", "-p", "6"]),
        &statement,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n,added\n1,10\n");
}

#[test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
fn cluster_lists_every_server_with_leaders_and_health() {
    let (code, text, err) = run(druid().args(["cluster", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let servers: Vec<Value> = serde_json::from_str(&text).unwrap();
    let roles: Vec<String> = servers
        .iter()
        .flat_map(|s| s["roles"].as_array().unwrap().iter())
        .map(|r| r["type"].as_str().unwrap().to_owned())
        .collect();
    for role in ["coordinator", "overlord", "broker", "router", "historical"] {
        assert!(roles.iter().any(|r| r == role), "no {role} in {text}");
    }
    for server in &servers {
        assert_eq!(server["health"], "ok", "{server}");
        for role in server["roles"].as_array().unwrap() {
            if let Some(version) = live::version() {
                assert_eq!(role["version"], version.as_str(), "{server}");
            }
        }
    }
    // One leading Coordinator and one leading Overlord, on one server (the
    // Coordinator-Overlord of the local cluster).
    let leaders: Vec<&Value> = servers
        .iter()
        .filter(|s| {
            s["roles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["leader"] == true)
        })
        .collect();
    assert_eq!(leaders.len(), 1, "{text}");

    let (code, table, err) = run(druid().args(["cluster"]));
    assert_eq!(code, 0, "{err}");
    assert!(table.starts_with("server "), "{table}");
    assert_eq!(table.lines().count(), servers.len() + 2, "{table}");
}

/// The secure cluster through a profile: its TLS URL, its CA, Basic auth
/// with the password from a variable the profile names.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn secure_cluster_through_a_profile() {
    let (Ok(tls_url), Ok(ca), Some((user, password))) = (
        std::env::var("DRUID_TLS_URL"),
        std::env::var("DRUID_CA_CERT"),
        live::credentials(),
    ) else {
        panic!(
            "the live cluster is not the secure profile (DRUID_TLS_URL, DRUID_CA_CERT, DRUID_USER)"
        );
    };
    let dir = std::env::temp_dir().join(live::unique("druid-cli-profile"));
    std::fs::create_dir_all(&dir).unwrap();
    let config: PathBuf = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.secure]\nurl = \"{tls_url}\"\nuser = \"{user}\"\npassword_env = \"SECURE_PW\"\n\
             ca_cert = \"{ca}\"\nprefer_tls = true\nread_only = true\n\
             [profiles.untrusted]\nurl = \"{tls_url}\"\nuser = \"{user}\"\npassword_env = \"SECURE_PW\"\n"
        ),
    )
    .unwrap();
    let with_profile = |profile: &str| {
        let mut command = druid();
        for (key, _) in std::env::vars() {
            if key.starts_with("DRUID_") {
                command.env_remove(key);
            }
        }
        command
            .env("DRUID_CONFIG", &config)
            .env("SECURE_PW", &password)
            .args(["--profile", profile]);
        command
    };
    let (code, out, err) = run(with_profile("secure").args([
        "sql",
        "SELECT COUNT(*) AS n FROM sys.servers WHERE server_type = 'broker'",
        "-o",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "n\n1\n");
    let (code, out, err) = run(with_profile("secure").args(["cluster", "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let servers: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(servers.iter().all(|s| s["health"] == "ok"), "{out}");

    // The same URL without the CA: a TLS failure, exit code 3, one line.
    let (code, _, err) = run(with_profile("untrusted").args(["sql", "SELECT 1"]));
    assert_eq!(code, 3, "{err}");
    assert!(err.starts_with("druid: TLS failure talking to "), "{err}");
    assert!(!err.contains(&password), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
fn a_druid_refusal_is_exit_code_1() {
    let (code, out, err) = run(druid().args(["sql", "SELECT nope FROM sys.servers"]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(out, "");
    assert!(
        err.starts_with("druid: Druid answered 400 Bad Request to client.sql_query")
            && err.contains("nope"),
        "{err}"
    );
}

/// `druid ingest` waits for the task and the loading; `druid task wait`,
/// `task status` and `tasks` see the same task; `--read-only` refuses an
/// ingestion before sending it. The ingestion is an SQL `REPLACE` where
/// the cluster runs MSQ, else a native task spec; without MSQ, SQL
/// ingestion fails in one line that names the missing extension.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn ingest_then_wait_status_and_tasks_agree() {
    let table = live::unique("cli_ingest");
    let msq = live::has_msq().await;
    let statement = format!("{};", live::replace_statement(&table));
    let (code, out, err) = if msq {
        run(druid().args(["ingest", &statement, "-c", "maxNumTasks=2"]))
    } else {
        let (code, _, err) = run(druid().args(["ingest", &statement]));
        assert_eq!(
            (code, err.as_str()),
            (
                1,
                "druid: client.sql_task answered 405: it needs the druid-multi-stage-query \
                 extension, which the cluster does not load (add it to \
                 druid.extensions.loadList) (--verbose for the detail)\n"
            )
        );
        let spec = live::native_spec(&table);
        run_with_input(druid().args(["ingest", "-f", "-"]), &spec.to_string())
    };
    let task_type = if msq {
        "query_controller"
    } else {
        "index_parallel"
    };
    assert_eq!(code, 0, "{err}");
    // The last line names the task and says the data is queryable.
    let task_id = out
        .strip_prefix("task ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no task ID in {out:?}"))
        .to_owned();
    assert_eq!(
        out,
        format!("task {task_id} succeeded; {table} is loaded and queryable\n")
    );
    // Piped, the waits print plain lines, ending in SUCCESS and loaded.
    assert!(
        err.contains(&format!("task {task_id}\n")) && err.contains(" SUCCESS\n"),
        "{err}"
    );
    assert!(
        err.contains(&format!("loading {table}\n")) && err.contains(" loaded\n"),
        "{err}"
    );

    let (code, out, err) = run(druid().args([
        "sql",
        &format!("SELECT COUNT(*) AS n, SUM(added) AS added FROM \"{table}\""),
        "-o",
        "csv",
    ]));
    assert_eq!((code, out.as_str()), (0, "n,added\n4,48\n"), "{err}");

    let (code, _, err) = run(druid().args(["task", "wait", &task_id, "--for", "60s"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.ends_with(" SUCCESS\n"), "{err}");
    let (code, out, err) = run(druid().args(["task", "status", &task_id, "-o", "json"]));
    assert_eq!(code, 0, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            &status["id"],
            &status["statusCode"],
            &status["type"],
            &status["dataSource"]
        ),
        (
            &json!(task_id),
            &json!("SUCCESS"),
            &json!(task_type),
            &json!(table)
        )
    );
    let (code, out, err) = run(druid().args([
        "tasks",
        "--datasource",
        &table,
        "--type",
        task_type,
        "-o",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "id,type,datasource,status,created,duration");
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[1].starts_with(&format!("{task_id},{task_type},{table},SUCCESS,")),
        "{out}"
    );

    let refused = live::unique("cli_refused");
    let (code, _, err) =
        run(druid().args(["--read-only", "ingest", &live::replace_statement(&refused)]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("druid: refused POST /druid/v2/sql/task") && err.contains("read-only"),
        "{err}"
    );
    let (code, out, _) = run(druid().args(["tasks", "--datasource", &refused, "-o", "json"]));
    assert_eq!((code, out.trim()), (0, "[]"), "nothing was submitted");
}

/// The inventory commands on the shared table, and the secure cluster's
/// basic security (on the plaintext line, the error that says it is absent).
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn datasources_segments_load_status_rules_users_and_roles() {
    let table = table().await;
    let json = |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let (code, out, err) = run(druid().args(&all));
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let datasources = json(&["datasources"]);
    let ours = datasources
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == table)
        .unwrap_or_else(|| panic!("{table} not in {datasources}"));
    // Four rows over two days: two daily segments.
    assert_eq!(ours["properties"]["segments"]["count"], 2, "{ours}");
    let segments = json(&["segments", table]);
    let intervals: Vec<&str> = segments
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["interval"].as_str().unwrap())
        .collect();
    assert_eq!(
        intervals,
        [
            "2024-01-01T00:00:00.000Z/2024-01-02T00:00:00.000Z",
            "2024-01-02T00:00:00.000Z/2024-01-03T00:00:00.000Z"
        ]
    );
    assert_eq!(json(&["load-status"])[table], 100.0);
    let (code, out, err) = run(druid().args(["load-status", "-o", "csv"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(|l| l == format!("{table},100.0 %")),
        "{out}"
    );
    let rules = json(&["rules", "_default"]);
    assert_eq!(rules[0]["type"], "loadForever", "{rules}");
    if live::credentials().is_some() {
        let users = json(&["users"]);
        assert!(
            users.as_array().unwrap().contains(&json!("admin")),
            "{users}"
        );
        let roles = json(&["roles"]);
        assert!(
            roles.as_array().unwrap().contains(&json!("admin")),
            "{roles}"
        );
    } else {
        // Without basic security, one line names the missing extension.
        for (command, operation) in [
            ("users", "coordinator.authentication_users"),
            ("roles", "coordinator.roles"),
        ] {
            let (code, out, err) = run(druid().args([command]));
            assert_eq!(
                (code, out.as_str(), err),
                (
                    1,
                    "",
                    format!(
                        "druid: {operation} answered 404: it needs the druid-basic-security \
                         extension, which the cluster does not load (add it to \
                         druid.extensions.loadList) (--verbose for the detail)\n"
                    )
                )
            );
        }
    }
    let (code, _, err) = run(druid().args(["lookups"]));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run(druid().args(["supervisors", "-o", "csv"]));
    assert_eq!(
        (code, out.lines().next()),
        (0, Some("id,state,detailed state,healthy,suspended")),
        "{err}"
    );
}

/// `druid query`: a native query from a file and from standard input.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn a_native_query_from_a_file_and_from_standard_input() {
    let table = table().await;
    let query = json!({
        "queryType": "timeseries", "dataSource": table, "granularity": "day",
        "intervals": ["2024-01-01/2024-01-03"],
        "aggregations": [{"type": "longSum", "name": "added", "fieldName": "added"}],
    });
    let file = std::env::temp_dir().join(format!("{}.json", live::unique("native")));
    std::fs::write(&file, query.to_string()).unwrap();
    let (code, out, err) =
        run(druid().args(["query", file.to_str().unwrap(), "-c", "useCache=false"]));
    assert_eq!(code, 0, "{err}");
    let days: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        days,
        json!([
            {"timestamp": "2024-01-01T00:00:00.000Z", "result": {"added": 42}},
            {"timestamp": "2024-01-02T00:00:00.000Z", "result": {"added": 6}},
        ])
    );
    let (code, out, err) = run_with_input(druid().args(["query", "-"]), &query.to_string());
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), days);
    let _ = std::fs::remove_file(&file);
}

/// `druid api` on several services of the real cluster: the answers equal
/// what the typed commands and the library see; `--read-only` refuses a
/// change before sending it.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` with DRUID_URL set and --include-ignored"]
async fn api_calls_endpoints_of_several_services() {
    let table = table().await;
    let json = |args: &[&str]| -> Value {
        let (code, out, err) = run(druid().args(args));
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    // Coordinator: the datasource's segments, as `druid segments` lists them.
    let via_api = json(&["api", "coordinator", "datasource-segments", table]);
    let via_command = json(&["segments", table, "-o", "json"]);
    assert_eq!(via_api, via_command);
    assert_eq!(via_api.as_array().unwrap().len(), 2);
    // Overlord: the leader is the server `druid cluster` marks.
    let (code, leader, err) = run(druid().args(["api", "overlord", "leader"]));
    assert_eq!(code, 0, "{err}");
    let servers = json(&["cluster", "-o", "json", "--no-health"]);
    let marked = servers
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["roles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["type"] == "overlord" && r["leader"] == true)
        })
        .unwrap();
    let port = marked["tls_port"]
        .as_u64()
        .or(marked["plaintext_port"].as_u64())
        .unwrap();
    assert!(
        leader.trim().ends_with(&format!(":{port}")),
        "{leader} vs {marked}"
    );
    // Broker and Router: their own status, with the cluster's version.
    for service in ["broker", "router"] {
        let status = json(&["api", service, "status"]);
        if let Some(version) = live::version() {
            assert_eq!(status["version"], version.as_str(), "{service}");
        }
    }
    // A Historical picked by --server, as `druid cluster` names it.
    let historical = servers
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["roles"][0]["type"] == "historical")
        .unwrap()["server"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, out, err) =
        run(druid().args(["api", "historical", "is-healthy", "--server", &historical]));
    assert_eq!((code, out.trim()), (0, "true"), "{err}");
    // SQL through the entry point, with a JSON body from standard input.
    let body = json!({"query": format!("SELECT COUNT(*) AS n FROM \"{table}\"")});
    let (code, out, err) = run_with_input(
        druid().args(["api", "client", "sql-query", "-d", "@-"]),
        &body.to_string(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap(),
        json!([{"n": 4}])
    );
    // A change refused before it is sent: the rules stay as they were.
    let before = json(&["rules", table, "-o", "json"]);
    let (code, _, err) = run(druid().args([
        "--read-only",
        "api",
        "coordinator",
        "set-rules",
        table,
        "-d",
        r#"[{"type": "dropForever"}]"#,
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("refused POST") && err.contains("read-only"),
        "{err}"
    );
    assert_eq!(json(&["rules", table, "-o", "json"]), before);
}
