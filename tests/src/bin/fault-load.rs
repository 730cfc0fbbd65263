//! The steady mixed load of `cargo xtask faults`: SQL through the Router,
//! a native query on the Broker, Coordinator and Overlord reads, and task
//! submissions, all through one long-lived `Cluster` and the clients it
//! handed out at the start (so what recovers is the client, not a new one).
//!
//! Usage: `fault-load --out FILE --stop-file FILE [--max-secs N]`, with the
//! cluster in `DRUID_URL` (and `DRUID_USER`/`DRUID_PASSWORD`). It ingests a
//! small table, reads every answer once as the baseline, then writes one
//! JSON line per request to FILE until the stop file exists (or N seconds
//! pass), and last a summary line of the task submissions.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use druid_api::prelude::*;
use druid_api::{Cluster, Error};
use druid_tests::live;
use serde_json::{Value, json};

/// The client-side deadline of each query: a frozen Historical makes the
/// query fail after this long, with Druid's own timeout answer.
const QUERY_DEADLINE: Duration = Duration::from_secs(8);
/// The pause between two requests of one kind.
const PAUSE: Duration = Duration::from_millis(300);
/// The pause between two task submissions.
const SUBMIT_PAUSE: Duration = Duration::from_secs(3);

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

struct Args {
    out: PathBuf,
    stop: PathBuf,
    max: Duration,
}

fn args() -> Result<Args, String> {
    let mut out = None;
    let mut stop = None;
    let mut max = Duration::from_secs(900);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--out" => out = Some(PathBuf::from(value()?)),
            "--stop-file" => stop = Some(PathBuf::from(value()?)),
            "--max-secs" => {
                max = Duration::from_secs(value()?.parse().map_err(|e| format!("--max-secs: {e}"))?)
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        out: out.ok_or("--out FILE is required")?,
        stop: stop.ok_or("--stop-file FILE is required")?,
        max,
    })
}

/// One request's outcome, as a JSON line.
fn record(kind: &str, start: u128, result: &Result<bool, Error>) -> Value {
    let (ok, wrong, retryable, attempts, error) = match result {
        Ok(true) => (true, false, false, 1, String::new()),
        Ok(false) => (false, true, false, 1, "a wrong answer".to_owned()),
        Err(e) => (false, false, e.is_retryable(), e.attempts(), e.to_string()),
    };
    json!({
        "kind": kind, "start_ms": start as u64, "end_ms": now_ms() as u64, "ok": ok,
        "wrong": wrong, "retryable": retryable, "attempts": attempts, "error": error,
    })
}

type Check =
    Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, Result<bool, Error>> + Send + Sync>;

#[derive(serde::Deserialize, PartialEq, Debug, Clone)]
struct Totals {
    n: i64,
    added: i64,
}

async fn run(args: Args) -> Result<(), String> {
    let client = live::client();
    let table = live::unique("faults");
    eprintln!("fault-load: ingesting {table}");
    live::ingest_with_sql(&table).await;
    let cluster: Cluster = client.cluster().await.map_err(|e| e.to_string())?;
    let coordinator = cluster.coordinator().map_err(|e| e.to_string())?;
    let overlord = cluster.overlord().map_err(|e| e.to_string())?;
    let broker = cluster.broker().map_err(|e| e.to_string())?;
    let sql = format!("SELECT COUNT(*) AS n, SUM(\"added\") AS added FROM \"{table}\"");
    let native = json!({
        "queryType": "timeseries", "dataSource": table, "granularity": "all",
        "intervals": ["1000/3000"],
        "aggregations": [{"type": "count", "name": "n"}, {"type": "longSum", "name": "added", "fieldName": "added"}],
    });

    // The baseline: every answer once, on the healthy cluster.
    let expected: Vec<Totals> = client
        .sql(sql.clone())
        .rows()
        .await
        .map_err(|e| format!("baseline SQL: {e}"))?;
    let expected = expected.first().cloned().ok_or("baseline SQL: no row")?;
    eprintln!("fault-load: baseline {expected:?}; load starts");

    let mut checks: Vec<(&'static str, Check)> = Vec::new();
    {
        let (client, sql, expected) = (client.clone(), sql.clone(), expected.clone());
        checks.push((
            "sql (router)",
            Arc::new(move || {
                let (client, sql, expected) = (client.clone(), sql.clone(), expected.clone());
                Box::pin(async move {
                    let rows: Vec<Totals> = client.sql(sql).timeout(QUERY_DEADLINE).rows().await?;
                    Ok(rows == [expected])
                })
            }),
        ));
    }
    {
        let (broker, native, expected) = (broker.clone(), native.clone(), expected.clone());
        checks.push((
            "native (broker)",
            Arc::new(move || {
                let (broker, native, expected) = (broker.clone(), native.clone(), expected.clone());
                Box::pin(async move {
                    let mut query = native;
                    query["context"] = json!({"timeout": QUERY_DEADLINE.as_millis() as u64});
                    let answer = broker.native_query::<Vec<Value>>(&query).await?;
                    let result = answer.result.first().map(|b| &b["result"]);
                    Ok(result.is_some_and(|r| {
                        r["n"] == json!(expected.n) && r["added"] == json!(expected.added)
                    }))
                })
            }),
        ));
    }
    {
        let (coordinator, table) = (coordinator.clone(), table.clone());
        checks.push((
            "coordinator read",
            Arc::new(move || {
                let (coordinator, table) = (coordinator.clone(), table.clone());
                Box::pin(async move { Ok(coordinator.datasources().await?.contains(&table)) })
            }),
        ));
    }
    {
        let overlord = overlord.clone();
        checks.push((
            "overlord read",
            Arc::new(move || {
                let overlord = overlord.clone();
                Box::pin(async move {
                    let leader = overlord.leader().await?;
                    Ok(leader.starts_with("http"))
                })
            }),
        ));
    }

    let out = Arc::new(Mutex::new(
        std::fs::File::create(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?,
    ));
    let write = {
        let out = out.clone();
        move |line: Value| {
            if let Ok(mut file) = out.lock() {
                let _ = writeln!(file, "{line}");
            }
        }
    };
    let started = Instant::now();
    let stop = args.stop.clone();
    let max = args.max;
    let running = move || !stop.exists() && started.elapsed() < max;
    let mut workers = Vec::new();
    for (kind, check) in checks {
        let (write, running) = (write.clone(), running.clone());
        workers.push(tokio::spawn(async move {
            while running() {
                let start = now_ms();
                let result = check().await;
                write(record(kind, start, &result));
                tokio::time::sleep(PAUSE).await;
            }
        }));
    }
    // Task submissions: each with an ID of ours, so that the end can count
    // what Druid created against what was sent.
    let run_id = live::unique("faults_noop");
    let submitted = Arc::new(Mutex::new(Vec::<String>::new()));
    {
        let (write, running, overlord, submitted, run_id) = (
            write.clone(),
            running.clone(),
            overlord.clone(),
            submitted.clone(),
            run_id.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while running() {
                n += 1;
                let id = format!("{run_id}_{n}");
                let start = now_ms();
                if let Ok(mut ids) = submitted.lock() {
                    ids.push(id.clone());
                }
                let result = overlord
                    .submit_task(&json!({"type": "noop", "id": id}))
                    .await
                    .map(|answer| answer.task == id);
                write(record("task submission", start, &result));
                tokio::time::sleep(SUBMIT_PAUSE).await;
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    // Side effects: every task of this run that Druid knows, against the
    // submissions sent.
    let sent = submitted.lock().map(|ids| ids.clone()).unwrap_or_default();
    let mut created = 0;
    let mut unknown = 0;
    for id in &sent {
        match overlord.task_status(id).await {
            Ok(status) if status.status.is_some() => created += 1,
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(_) => unknown += 1,
        }
    }
    let tasks = overlord.tasks().await.map_err(|e| e.to_string())?;
    let listed = tasks.iter().filter(|t| t.id.starts_with(&run_id)).count();
    let mut ids: Vec<&str> = tasks
        .iter()
        .filter(|t| t.id.starts_with(&run_id))
        .map(|t| t.id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let duplicated = (listed - ids.len())
        + ids
            .iter()
            .filter(|id| !sent.iter().any(|s| s == *id))
            .count();
    write(json!({
        "summary": "tasks", "sent": sent.len(), "created": created, "unknown": unknown,
        "listed": listed, "duplicated": duplicated,
    }));
    eprintln!(
        "fault-load: done, {} submissions, {created} tasks created",
        sent.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("fault-load: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("fault-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fault-load: {e}");
            ExitCode::FAILURE
        }
    }
}
