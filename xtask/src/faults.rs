//! `cargo xtask faults`: the client on a real cluster's bad days.
//!
//! A steady mixed load (`fault-load` in the tests crate: SQL through the
//! Router, a native query on the Broker, Coordinator and Overlord reads,
//! task submissions, all through one long-lived `Cluster`) runs while this
//! module breaks the cluster one service at a time, with the controls of
//! `cargo xtask druid`:
//!
//! 1. kill the Broker, start it again;
//! 2. kill the lead Coordinator-Overlord (a second one runs), wait for the
//!    other to lead, start the killed one again;
//! 3. freeze the lead Coordinator-Overlord (SIGSTOP: a GC pause, a
//!    partition) while the other runs: the Coordinator and Overlord clients
//!    must answer through the other one within [`FAILOVER_LIMIT`] of the
//!    freeze; then resume it;
//! 4. freeze the Historical (SIGSTOP) past the load's query deadline, then
//!    resume it;
//! 5. kill the Router, start it again.
//!
//! For each fault it reports requests sent, succeeded, failed with a
//! retryable error, failed otherwise, wrong answers, and the longest stall
//! (the longest time one kind of request went without a success), and
//! checks that every kind succeeds again after the service is back, with
//! no user action. It fails on any wrong answer, any duplicated task, or a
//! kind that did not recover. Every wait is bounded; all traffic stays on
//! loopback.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::druid::{self, Service, Target, UpOptions, control};

/// The load's kinds of request.
const KINDS: [&str; 5] = [
    "sql (router)",
    "native (broker)",
    "coordinator read",
    "overlord read",
    "task submission",
];
/// The load's query deadline (fault-load's `QUERY_DEADLINE`) and a margin:
/// how long the Historical stays frozen.
const FREEZE: Duration = Duration::from_secs(14);
/// How long a killed Broker or Router stays down.
const DOWN: Duration = Duration::from_secs(10);
/// How long every kind has to succeed again once the service is back.
const RECOVERY_LIMIT: Duration = Duration::from_secs(90);
/// How long the load may take to ingest its table and start.
const START_LIMIT: Duration = Duration::from_secs(300);
/// How long a new leader may take (ZooKeeper's session timeout is 30 s).
const LEADER_LIMIT: Duration = Duration::from_secs(120);
/// How long after a leader froze the Coordinator and Overlord clients may
/// take to answer through the other Coordinator-Overlord: ZooKeeper's 30 s
/// session, the election, and one attempt of the transport's 15 s.
const FAILOVER_LIMIT: Duration = Duration::from_secs(60);
/// The kinds of the load that go to the leaders.
const LEADER_KINDS: [&str; 2] = ["coordinator read", "overlord read"];

/// `cargo xtask faults` options.
#[derive(Debug, clap::Args)]
pub(crate) struct FaultsArgs {
    /// The state directory of a cluster started with `cargo xtask druid up --ha`.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Start a secure `--ha` cluster first, and stop it at the end.
    #[arg(long)]
    up: bool,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn say(started: Instant, line: &str) {
    println!("[{:>6.1}s] {line}", started.elapsed().as_secs_f64());
}

/// One fault: when it started, when the service was back, when recovery
/// was seen (or the limit passed), and what its own check found.
struct Phase {
    name: &'static str,
    start: u64,
    restored: u64,
    end: u64,
    recovered: bool,
    /// A check of the fault's own, for the report: what it found, and
    /// whether that passes.
    check: Option<(String, bool)>,
}

/// One request of the load.
struct Outcome {
    kind: String,
    start: u64,
    end: u64,
    ok: bool,
    wrong: bool,
    retryable: bool,
    error: String,
}

/// One retry the client made, with the answer that caused it.
struct Retry {
    at: u64,
    reason: String,
    answer: String,
}

/// What the load wrote: its requests, its retries and its task summary.
#[derive(Default)]
struct Load {
    outcomes: Vec<Outcome>,
    retries: Vec<Retry>,
    summary: Option<Value>,
}

fn read_load(path: &Path) -> Load {
    let text = fs::read_to_string(path).unwrap_or_default();
    let mut load = Load::default();
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if value.get("summary").is_some() {
            load.summary = Some(value);
            continue;
        }
        if value.get("retry").is_some() {
            load.retries.push(Retry {
                at: value["at_ms"].as_u64().unwrap_or_default(),
                reason: value["reason"].as_str().unwrap_or_default().to_owned(),
                answer: value["answer"].as_str().unwrap_or_default().to_owned(),
            });
            continue;
        }
        load.outcomes.push(Outcome {
            kind: value["kind"].as_str().unwrap_or_default().to_owned(),
            start: value["start_ms"].as_u64().unwrap_or_default(),
            end: value["end_ms"].as_u64().unwrap_or_default(),
            ok: value["ok"].as_bool().unwrap_or(false),
            wrong: value["wrong"].as_bool().unwrap_or(false),
            retryable: value["retryable"].as_bool().unwrap_or(false),
            error: value["error"].as_str().unwrap_or_default().to_owned(),
        });
    }
    load
}

/// Waits until each of `kinds` has a success that started after `since`;
/// the seconds from `since` to the last of those first successes, or
/// `None` when `limit` passed first.
fn wait_answered(load: &Path, since: u64, kinds: &[&str], limit: Duration) -> Option<f64> {
    let deadline = Instant::now() + limit;
    loop {
        let outcomes = read_load(load).outcomes;
        let firsts: Vec<Option<u64>> = kinds
            .iter()
            .map(|kind| {
                outcomes
                    .iter()
                    .filter(|o| o.kind == *kind && o.ok && o.start >= since)
                    .map(|o| o.end)
                    .min()
            })
            .collect();
        if firsts.iter().all(Option::is_some) {
            let last = firsts.into_iter().flatten().max().unwrap_or(since);
            return Some(last.saturating_sub(since) as f64 / 1000.0);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits until every kind has a success that started after `since`.
fn wait_recovered(load: &Path, since: u64, started: Instant) -> bool {
    let deadline = Instant::now() + RECOVERY_LIMIT;
    while Instant::now() < deadline {
        let outcomes = read_load(load).outcomes;
        let missing: Vec<&str> = KINDS
            .iter()
            .copied()
            .filter(|kind| {
                !outcomes
                    .iter()
                    .any(|o| o.kind == *kind && o.ok && o.start >= since)
            })
            .collect();
        if missing.is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
        let waited = Instant::now() + RECOVERY_LIMIT - deadline;
        if waited.as_secs().is_multiple_of(10) && waited.subsec_millis() < 500 {
            say(
                started,
                &format!("  ... waiting for {} to succeed again", missing.join(", ")),
            );
        }
    }
    false
}

/// The longest time one kind went without a success within `[from, to)`.
fn longest_stall(outcomes: &[&Outcome], from: u64, to: u64) -> u64 {
    KINDS
        .iter()
        .map(|kind| {
            let mut last = from;
            let mut longest = 0;
            let mut successes: Vec<u64> = outcomes
                .iter()
                .filter(|o| o.kind == *kind && o.ok)
                .map(|o| o.end)
                .collect();
            successes.sort_unstable();
            for end in successes {
                longest = longest.max(end.saturating_sub(last));
                last = end;
            }
            longest.max(to.saturating_sub(last))
        })
        .max()
        .unwrap_or_default()
}

fn start_load(
    root: &Path,
    env: &[(String, String)],
    load: &Path,
    stop: &Path,
) -> Result<Child, String> {
    crate::ci::cargo(
        root,
        &[
            "build",
            "-p",
            "druid-tests",
            "--bin",
            "fault-load",
            "--locked",
        ],
        &[],
    )?;
    let binary = root.join("target/debug/fault-load");
    let log = fs::File::create(load.with_extension("log")).map_err(|e| e.to_string())?;
    Command::new(&binary)
        .args(["--out", &load.display().to_string()])
        .args(["--stop-file", &stop.display().to_string()])
        .args(["--max-secs", "1200"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))
}

fn read_env(state_dir: &Path) -> Result<Vec<(String, String)>, String> {
    let path = state_dir.join("cluster.env");
    let text = fs::read_to_string(&path).map_err(|e| {
        format!(
            "no running cluster at {} ({e}); start one with `cargo xtask druid up --ha`, or pass --up",
            state_dir.display()
        )
    })?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

pub(crate) fn run(args: &FaultsArgs) -> Result<(), String> {
    let root = crate::root();
    let options = UpOptions {
        secure: true,
        ha: true,
        state_dir: args
            .state_dir
            .clone()
            .unwrap_or_else(|| UpOptions::default().state_dir),
        ..UpOptions::default()
    };
    if args.up {
        druid::up(&options)?;
    }
    let result = run_on(&root, &options.state_dir);
    if args.up {
        let down = druid::down(&options.state_dir);
        return result.and(down);
    }
    result
}

/// Runs the suite on the cluster in `state_dir`.
pub(crate) fn run_on(root: &Path, state_dir: &Path) -> Result<(), String> {
    let env = read_env(state_dir)?;
    if !env.iter().any(|(k, v)| k == "DRUID_HA" && v == "1") {
        return Err(
            "the cluster runs one Coordinator-Overlord; the leader fault needs two: \
             `cargo xtask druid up --ha`"
                .to_owned(),
        );
    }
    let dir = root.join("target/faults");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let load = dir.join("load.jsonl");
    let stop = dir.join("stop");
    let _ = fs::remove_file(&stop);
    let _ = fs::remove_file(&load);
    let started = Instant::now();
    say(
        started,
        "starting the load (fault-load): ingesting its table first",
    );
    let mut child = start_load(root, &env, &load, &stop)?;
    let result = faults(state_dir, &load, &mut child, started);
    let _ = fs::write(&stop, "");
    let deadline = Instant::now() + Duration::from_secs(120);
    let exited = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => {
                let _ = child.kill();
                break None;
            }
        }
    };
    let phases = result?;
    if !exited.is_some_and(|s| s.success()) {
        return Err(format!(
            "fault-load did not end cleanly ({exited:?}); see {}",
            load.with_extension("log").display()
        ));
    }
    report(&load, &phases, &dir)
}

fn faults(
    state_dir: &Path,
    load: &Path,
    child: &mut Child,
    started: Instant,
) -> Result<Vec<Phase>, String> {
    // The load runs when every kind has answered once.
    let deadline = Instant::now() + START_LIMIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "fault-load ended before the load started ({status}); see {}",
                load.with_extension("log").display()
            ));
        }
        let outcomes = read_load(load).outcomes;
        if KINDS.iter().all(|k| outcomes.iter().any(|o| o.kind == *k)) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the load did not start within {}s; see {}",
                START_LIMIT.as_secs(),
                load.with_extension("log").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    say(started, "load running; 10 s of steady state");
    std::thread::sleep(Duration::from_secs(10));
    let mut phases = Vec::new();

    let mut phase =
        |name: &'static str, act: &mut dyn FnMut() -> Result<Option<(String, bool)>, String>| {
            say(started, &format!("fault: {name}"));
            let start = now_ms();
            let check = act()?;
            let restored = now_ms();
            let recovered = wait_recovered(load, restored, started);
            say(
                started,
                &format!(
                    "  {} {:.1}s after the service was back",
                    if recovered {
                        "recovered"
                    } else {
                        "NOT recovered"
                    },
                    (now_ms() - restored) as f64 / 1000.0
                ),
            );
            phases.push(Phase {
                name,
                start,
                restored,
                end: now_ms(),
                recovered,
                check,
            });
            Ok::<(), String>(())
        };

    phase("kill the Broker, start it again", &mut || {
        control::kill(state_dir, Target::Service(Service::Broker))?;
        std::thread::sleep(DOWN);
        control::start(state_dir, Target::Service(Service::Broker))?;
        Ok(None)
    })?;
    phase("kill the lead Coordinator-Overlord", &mut || {
        let victim = control::kill(state_dir, Target::Leader)?;
        let (next, secs) = control::wait_leader(state_dir, LEADER_LIMIT)?;
        say(
            started,
            &format!("  {} leads after {secs:.1}s", next.service.name()),
        );
        control::start(state_dir, Target::Service(victim.service))?;
        Ok(None)
    })?;
    phase("freeze the lead Coordinator-Overlord", &mut || {
        let frozen = control::stop(state_dir, Target::Leader)?;
        let at = now_ms();
        let answered = wait_answered(load, at, &LEADER_KINDS, FAILOVER_LIMIT);
        let check = match answered {
            Some(secs) => (
                format!(
                    "both leader clients answered through the other Coordinator-Overlord \
                     {secs:.1} s after the freeze (limit {} s)",
                    FAILOVER_LIMIT.as_secs()
                ),
                true,
            ),
            None => (
                format!(
                    "the leader clients did NOT answer through the other Coordinator-Overlord \
                     within {} s of the freeze",
                    FAILOVER_LIMIT.as_secs()
                ),
                false,
            ),
        };
        say(started, &format!("  {}", check.0));
        control::cont(state_dir, Target::Service(frozen.service))?;
        Ok(Some(check))
    })?;
    phase("freeze the Historical past the query deadline", &mut || {
        control::stop(state_dir, Target::Service(Service::Historical))?;
        std::thread::sleep(FREEZE);
        control::cont(state_dir, Target::Service(Service::Historical))?;
        Ok(None)
    })?;
    phase("kill the Router, start it again", &mut || {
        control::kill(state_dir, Target::Service(Service::Router))?;
        std::thread::sleep(DOWN);
        control::start(state_dir, Target::Service(Service::Router))?;
        Ok(None)
    })?;
    Ok(phases)
}

fn report(load: &Path, phases: &[Phase], dir: &Path) -> Result<(), String> {
    let Load {
        outcomes,
        retries,
        summary,
    } = read_load(load);
    let mut table = String::from(
        "| fault | sent | succeeded | failed, retryable | failed, other | wrong | longest stall | recovered |\n|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let mut problems = Vec::new();
    let mut checks = String::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for phase in phases {
        let within: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| o.start >= phase.start && o.start < phase.end)
            .collect();
        let ok = within.iter().filter(|o| o.ok).count();
        let wrong = within.iter().filter(|o| o.wrong).count();
        let retryable = within
            .iter()
            .filter(|o| !o.ok && !o.wrong && o.retryable)
            .count();
        let other = within
            .iter()
            .filter(|o| !o.ok && !o.wrong && !o.retryable)
            .count();
        for o in within.iter().filter(|o| !o.ok) {
            let short: String = o.error.chars().take(110).collect();
            *errors.entry(format!("{}: {short}", o.kind)).or_default() += 1;
        }
        let stall = longest_stall(&within, phase.start, phase.end);
        table.push_str(&format!(
            "| {} | {} | {ok} | {retryable} | {other} | {wrong} | {:.1} s | {} ({:.1} s) |\n",
            phase.name,
            within.len(),
            stall as f64 / 1000.0,
            if phase.recovered { "yes" } else { "NO" },
            (phase.end - phase.restored) as f64 / 1000.0,
        ));
        if wrong > 0 {
            problems.push(format!("{}: {wrong} wrong answers", phase.name));
        }
        if !phase.recovered {
            problems.push(format!("{}: the client did not recover", phase.name));
        }
        if let Some((text, ok)) = &phase.check {
            checks.push_str(&format!("- {}: {text}\n", phase.name));
            if !ok {
                problems.push(format!("{}: {text}", phase.name));
            }
        }
    }
    if !checks.is_empty() {
        table.push_str(&format!("\n{checks}"));
    }
    let total_wrong = outcomes.iter().filter(|o| o.wrong).count();
    let (sent, created, duplicated) = summary
        .as_ref()
        .map(|s| {
            (
                s["sent"].as_u64().unwrap_or_default(),
                s["created"].as_u64().unwrap_or_default(),
                s["duplicated"].as_u64().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    table.push_str(&format!(
        "\nWhole run: {} requests, {} succeeded, {total_wrong} wrong answers; {sent} task submissions, {created} tasks created, {duplicated} duplicated.\n",
        outcomes.len(),
        outcomes.iter().filter(|o| o.ok).count(),
    ));
    if summary.is_none() {
        problems.push("the load wrote no task summary".to_owned());
    }
    if duplicated > 0 {
        problems.push(format!("{duplicated} duplicated tasks"));
    }
    if total_wrong > 0 && problems.iter().all(|p| !p.contains("wrong")) {
        problems.push(format!("{total_wrong} wrong answers outside the faults"));
    }
    table.push_str("\nFailures seen, by kind and message:\n\n");
    for (error, count) in &errors {
        table.push_str(&format!("- {count} × {error}\n"));
    }
    table.push_str(&retried_answers(&retries, phases));
    println!("\n{table}");
    let path = dir.join("report.md");
    fs::write(&path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("written to {}", path.display());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("faults: {}", problems.join("; ")))
    }
}

/// The answers the client retried during each fault, most frequent first:
/// what Druid (or the network) said while the service was down.
fn retried_answers(retries: &[Retry], phases: &[Phase]) -> String {
    /// The answers listed per fault.
    const SHOWN: usize = 8;
    let mut text = String::from("\nAnswers retried, by fault (reason: answer):\n");
    for phase in phases {
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for retry in retries
            .iter()
            .filter(|r| r.at >= phase.start && r.at < phase.end)
        {
            let answer: String = retry.answer.chars().take(140).collect();
            *counts
                .entry(format!("{}: {answer}", retry.reason))
                .or_default() += 1;
        }
        let total: usize = counts.values().sum();
        text.push_str(&format!("\n{} ({total} retries):\n", phase.name));
        let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (answer, count) in counts.iter().take(SHOWN) {
            text.push_str(&format!("- {count} × {answer}\n"));
        }
        if counts.len() > SHOWN {
            text.push_str(&format!("- and {} other answers\n", counts.len() - SHOWN));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn outcome(kind: &str, end: u64, ok: bool) -> Outcome {
        Outcome {
            kind: kind.to_owned(),
            start: end.saturating_sub(10),
            end,
            ok,
            wrong: false,
            retryable: !ok,
            error: String::new(),
        }
    }

    #[test]
    fn retry_lines_are_counted_per_fault_and_kept_out_of_the_requests() {
        let dir = std::env::temp_dir().join(format!("faults-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("load.jsonl");
        let retry = |at: u64, answer: &str| json!({"retry": true, "at_ms": at, "reason": "a proxy could not reach the service (502)", "answer": answer});
        let lines = [
            retry(150, "502: Bad Gateway"),
            retry(160, "502: Bad Gateway"),
            retry(170, "500: No default server found!"),
            retry(900, "connect failed"),
            json!({"kind": "sql (router)", "start_ms": 100, "end_ms": 200, "ok": true}),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        fs::write(&path, text).unwrap();
        let load = read_load(&path);
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(load.outcomes.len(), 1);
        assert_eq!(load.retries.len(), 4);
        let phase = Phase {
            name: "broker killed",
            start: 100,
            restored: 200,
            end: 300,
            recovered: true,
            check: None,
        };
        let text = retried_answers(&load.retries, &[phase]);
        assert!(text.contains("broker killed (3 retries):"), "{text}");
        assert!(
            text.contains("- 2 × a proxy could not reach the service (502): 502: Bad Gateway\n"),
            "{text}"
        );
        assert!(text.contains("500: No default server found!"), "{text}");
        assert!(
            !text.contains("connect failed"),
            "outside the fault: {text}"
        );
    }

    #[test]
    fn the_longest_stall_is_the_longest_gap_between_successes_of_one_kind() {
        let all: Vec<Outcome> = KINDS
            .iter()
            .flat_map(|k| [outcome(k, 1_000, true), outcome(k, 2_000, true)])
            .chain([outcome("sql (router)", 9_000, true)])
            .collect();
        let refs: Vec<&Outcome> = all.iter().collect();
        // Every kind but SQL goes without success from 2 s to the end (10 s).
        assert_eq!(longest_stall(&refs, 0, 10_000), 8_000);
        let only_sql: Vec<&Outcome> = all.iter().filter(|o| o.kind == "sql (router)").collect();
        assert_eq!(
            longest_stall(&only_sql, 0, 10_000),
            10_000,
            "other kinds never succeeded"
        );
    }
}
