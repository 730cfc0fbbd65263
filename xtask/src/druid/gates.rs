//! Readiness gates: bounded waits for a condition, with progress output and a heartbeat.

use std::fmt::Display;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{self, Client};

/// How often a gate re-checks its condition.
const POLL: Duration = Duration::from_millis(500);
/// How often a waiting gate says what it is waiting for.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// Elapsed time since the start of a command, for progress lines like
/// `[  12.3s] gate ok: broker /status/health`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// When the command started.
    start: Instant,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn new() -> Self {
        Clock {
            start: Instant::now(),
        }
    }

    /// Seconds since the start.
    pub(crate) fn secs(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    /// Prints a progress line.
    pub(crate) fn say(&self, message: impl Display) {
        println!("[{:>6.1}s] {message}", self.secs());
    }
}

/// The outcome of one check of a gate's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// The condition holds.
    Ready,
    /// Not yet; the answer or error seen (shown in the heartbeat and on timeout).
    NotYet(String),
    /// It will never hold (e.g. a task FAILED): stop waiting.
    Fatal(String),
}

/// Why a gate did not pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GateError {
    /// The condition did not hold within the timeout; the last answer seen.
    TimedOut(String),
    /// The probe reported a permanent failure.
    Fatal(String),
    /// The watchdog reported a problem (a process died).
    Watchdog(String),
}

/// Waits until `probe` is [`Probe::Ready`], for at most `timeout`.
///
/// Before every check `watchdog` runs (it reports processes that died, so a gate does not wait
/// for a service that is gone). Every [`HEARTBEAT`] a line says what the gate waits for and the
/// last answer. Returns the seconds waited.
pub(crate) fn wait(
    clock: &Clock,
    label: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Probe,
    mut watchdog: impl FnMut() -> Result<(), String>,
) -> Result<f64, GateError> {
    let started = Instant::now();
    let mut next_heartbeat = started + HEARTBEAT;
    loop {
        watchdog().map_err(GateError::Watchdog)?;
        let last = match probe() {
            Probe::Ready => {
                let waited = started.elapsed().as_secs_f64();
                clock.say(format!("gate ok: {label} (waited {waited:.1}s)"));
                return Ok(waited);
            }
            Probe::Fatal(message) => return Err(GateError::Fatal(message)),
            Probe::NotYet(last) => last,
        };
        let now = Instant::now();
        if now.duration_since(started) >= timeout {
            return Err(GateError::TimedOut(last));
        }
        if now >= next_heartbeat {
            clock.say(format!(
                "  ... waiting for {label} ({:.0}s of {}s); last: {last}",
                now.duration_since(started).as_secs_f64(),
                timeout.as_secs()
            ));
            next_heartbeat = now + HEARTBEAT;
        }
        sleep(POLL.min(timeout.saturating_sub(now.duration_since(started))));
    }
}

/// Something accepts TCP connections on the port.
pub(crate) fn tcp_open(port: u16) -> Probe {
    match http::tcp_open(port, Duration::from_secs(2)) {
        Ok(()) => Probe::Ready,
        Err(e) => Probe::NotYet(e),
    }
}

/// `GET path` answers 2xx.
pub(crate) fn http_ok(client: &Client, port: u16, path: &str) -> Probe {
    match client.get(port, path) {
        Ok(r) if r.is_success() => Probe::Ready,
        Ok(r) => Probe::NotYet(r.summary()),
        Err(e) => Probe::NotYet(e),
    }
}

/// `GET path` answers 2xx with a JSON body for which `check` holds.
pub(crate) fn http_json(
    client: &Client,
    port: u16,
    path: &str,
    check: impl FnOnce(&Value) -> bool,
) -> Probe {
    match client.get(port, path) {
        Ok(r) if r.is_success() => match r.json() {
            Ok(json) if check(&json) => Probe::Ready,
            Ok(_) => Probe::NotYet(r.summary()),
            Err(e) => Probe::NotYet(e),
        },
        Ok(r) => Probe::NotYet(r.summary()),
        Err(e) => Probe::NotYet(e),
    }
}

/// `{"leader":true}` (`isLeader` of the Coordinator and of the Overlord).
pub(crate) fn is_leader(json: &Value) -> bool {
    json["leader"] == true
}

/// A non-empty list of workers (`/druid/indexer/v1/workers`).
pub(crate) fn has_workers(json: &Value) -> bool {
    json.as_array()
        .is_some_and(|workers| workers.iter().any(|w| w.get("worker").is_some()))
}

/// `{"<host:port>":true}` (`/druid/worker/v1/enabled` of a MiddleManager).
pub(crate) fn worker_enabled(json: &Value) -> bool {
    json.as_object()
        .is_some_and(|hosts| hosts.values().any(|enabled| *enabled == true))
}

/// `POST /druid/v2/sql {"query":"SELECT 1"}` answers 200 with `[{"EXPR$0":1}]`.
pub(crate) fn select_one(client: &Client, port: u16) -> Probe {
    match client.post_json(port, "/druid/v2/sql", &json!({"query": "SELECT 1"})) {
        Ok(r) if r.status == 200 => match r.json() {
            Ok(rows) if rows == json!([{"EXPR$0": 1}]) => Probe::Ready,
            Ok(_) => Probe::NotYet(r.summary()),
            Err(e) => Probe::NotYet(e),
        },
        Ok(r) => Probe::NotYet(r.summary()),
        Err(e) => Probe::NotYet(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_checks_match_druids_answers() {
        assert!(is_leader(&json!({"leader": true})));
        assert!(!is_leader(&json!({"leader": false})));
        assert!(!is_leader(&json!([])));
        let workers = json!([{
            "worker": {"scheme": "http", "host": "localhost:8091", "capacity": 2},
            "currCapacityUsed": 0,
            "runningTasks": []
        }]);
        assert!(has_workers(&workers));
        assert!(!has_workers(&json!([])));
        assert!(!has_workers(&json!({"worker": {}})));
        assert!(worker_enabled(&json!({"localhost:8091": true})));
        assert!(!worker_enabled(&json!({"localhost:8091": false})));
        assert!(!worker_enabled(&json!({})));
    }

    #[test]
    fn wait_passes_when_the_probe_becomes_ready() {
        let mut calls = 0;
        let waited = wait(
            &Clock::new(),
            "test",
            Duration::from_secs(5),
            || {
                calls += 1;
                if calls < 2 {
                    Probe::NotYet("not yet".into())
                } else {
                    Probe::Ready
                }
            },
            || Ok(()),
        );
        assert!(waited.is_ok());
        assert_eq!(calls, 2);
    }

    #[test]
    fn wait_times_out_with_the_last_answer() {
        let result = wait(
            &Clock::new(),
            "test",
            Duration::from_millis(50),
            || Probe::NotYet("HTTP 503".into()),
            || Ok(()),
        );
        assert_eq!(result, Err(GateError::TimedOut("HTTP 503".into())));
    }

    #[test]
    fn fatal_and_watchdog_stop_the_wait_at_once() {
        let long = Duration::from_secs(60);
        let fatal = wait(
            &Clock::new(),
            "t",
            long,
            || Probe::Fatal("FAILED".into()),
            || Ok(()),
        );
        assert_eq!(fatal, Err(GateError::Fatal("FAILED".into())));
        let died = wait(
            &Clock::new(),
            "t",
            long,
            || Probe::Ready,
            || Err("died".into()),
        );
        assert_eq!(died, Err(GateError::Watchdog("died".into())));
    }
}
