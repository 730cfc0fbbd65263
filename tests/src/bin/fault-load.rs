//! The steady mixed load of `cargo xtask faults`: SQL through the Router,
//! a native query on the Broker, Coordinator and Overlord reads, and task
//! submissions, all through one long-lived `Cluster` and the clients it
//! handed out at the start (so what recovers is the client, not a new one).
//!
//! Usage: `fault-load --out FILE --stop-file FILE [--max-secs N]`, with the
//! cluster in `DRUID_URL` (and `DRUID_USER`/`DRUID_PASSWORD`). It ingests a
//! small table, reads every answer once as the baseline, then writes one
//! JSON line per request to FILE until the stop file exists (or N seconds
//! pass), and last a summary line of the task submissions. Every retry the
//! transport makes is a line too, with the answer that caused it (from the
//! transport's tracing events), so the report shows what Druid answered
//! during each fault.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use druid_api::prelude::*;
use druid_api::{Cluster, Error};
use druid_tests::live;
use serde_json::{Value, json};
use tracing::field::{Field, Visit};

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

/// Where every line goes: the load's requests, its retries, its summary.
type Out = Arc<Mutex<std::fs::File>>;

fn write_line(out: &Out, line: &Value) {
    if let Ok(mut file) = out.lock() {
        let _ = writeln!(file, "{line}");
    }
}

/// A tracing subscriber that keeps only the transport's retry events, as
/// `{"retry": ...}` lines: their reason and the answer that caused them.
struct Retries(Out);

#[derive(Default)]
struct RetryFields {
    reason: Option<String>,
    answer: Option<String>,
}

impl Visit for RetryFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "reason" => self.reason = Some(format!("{value:?}").trim_matches('"').to_owned()),
            "answer" => self.answer = Some(format!("{value:?}")),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "reason" => self.reason = Some(value.to_owned()),
            "answer" => self.answer = Some(value.to_owned()),
            _ => {}
        }
    }
}

impl tracing::Subscriber for Retries {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_event() && metadata.target().starts_with("druid_transport")
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = RetryFields::default();
        event.record(&mut fields);
        if let (Some(reason), Some(answer)) = (fields.reason, fields.answer) {
            write_line(
                &self.0,
                &json!({"retry": true, "at_ms": now_ms() as u64, "reason": reason, "answer": answer}),
            );
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

type Check =
    Arc<dyn Fn() -> futures_util::future::BoxFuture<'static, Result<bool, Error>> + Send + Sync>;

#[derive(serde::Deserialize, PartialEq, Debug, Clone)]
struct Totals {
    n: i64,
    added: i64,
}

async fn run(args: Args, out: Out) -> Result<(), String> {
    let client = live::client();
    let table = live::unique("faults");
    eprintln!("fault-load: ingesting {table}");
    live::ingest(&table).await;
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

    let write = {
        let out = out.clone();
        move |line: Value| write_line(&out, &line)
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
    // Task submissions: no ID of ours (the client makes one up, which makes
    // them safe to retry); the run's group ID finds them at the end.
    let run_id = live::unique("faults_noop");
    let submitted = Arc::new(Mutex::new(0_usize));
    {
        let (write, running, overlord, submitted, run_id) = (
            write.clone(),
            running.clone(),
            overlord.clone(),
            submitted.clone(),
            run_id.clone(),
        );
        workers.push(tokio::spawn(async move {
            while running() {
                let start = now_ms();
                if let Ok(mut n) = submitted.lock() {
                    *n += 1;
                }
                let result = overlord
                    .submit_task(&json!({"type": "noop", "groupId": run_id}))
                    .await
                    .map(|answer| answer.task.starts_with("noop_"));
                write(record("task submission", start, &result));
                tokio::time::sleep(SUBMIT_PAUSE).await;
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    // Side effects: the tasks of this run's group against the submissions
    // sent; more tasks than submissions would be a duplicate.
    let sent = submitted.lock().map(|n| *n).unwrap_or_default();
    let tasks = overlord.tasks().await.map_err(|e| e.to_string())?;
    let mut ids: Vec<&str> = tasks
        .iter()
        .filter(|t| t.group_id.as_deref() == Some(run_id.as_str()))
        .map(|t| t.id.as_str())
        .collect();
    let listed = ids.len();
    ids.sort_unstable();
    ids.dedup();
    let duplicated = (listed - ids.len()) + listed.saturating_sub(sent);
    write(json!({
        "summary": "tasks", "sent": sent, "created": listed, "duplicated": duplicated,
    }));
    eprintln!("fault-load: done, {sent} submissions, {listed} tasks created");
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
    let out: Out = match std::fs::File::create(&args.out) {
        Ok(file) => Arc::new(Mutex::new(file)),
        Err(e) => {
            eprintln!("fault-load: {}: {e}", args.out.display());
            return ExitCode::FAILURE;
        }
    };
    if tracing::subscriber::set_global_default(Retries(out.clone())).is_err() {
        eprintln!("fault-load: a tracing subscriber was already installed");
        return ExitCode::FAILURE;
    }
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
    match runtime.block_on(run(args, out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fault-load: {e}");
            ExitCode::FAILURE
        }
    }
}
