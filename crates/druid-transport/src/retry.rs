//! Repeating what is safe to repeat: a request's [`Effect`], the
//! [`RetryPolicy`], and which failures are worth another attempt.
//!
//! A request is sent again only when both hold:
//!
//! - **the failure is transient**: no connection could be made, the
//!   connection broke before a whole answer came, or Druid (or the Router in
//!   front of it) answered 429, 502, 503 or 504, or 500 with a message that
//!   means "no server to send this to right now";
//! - **repeating it cannot do harm**: the request only reads
//!   ([`Effect::Read`]) or sending it twice leaves the cluster as once
//!   ([`Effect::Idempotent`]). A request that may have taken effect
//!   ([`Effect::Write`]) is sent again only when the failure proves it was
//!   not processed (see below).
//!
//! **When a write is certainly not processed**, and only then, it is sent
//! again:
//!
//! - no connection could be made (refused, unreachable, the connect timed
//!   out, the TLS handshake failed): nothing was sent;
//! - `429 Too Many Requests`: the request was refused, not run (RFC 6585
//!   §4; Druid's query scheduler answers it before a query starts);
//! - an answer whose message is one Druid gives before forwarding or
//!   running anything: the Router's `There are no available brokers` and
//!   `No default server found` (its `AsyncQueryForwardingServlet` and host
//!   selector find no server to send to), and the management proxy's
//!   `Unable to determine destination` (`AsyncManagementForwardingServlet`
//!   knows no Coordinator or Overlord leader).
//!
//! A `502`, a `504`, a `503` without one of those messages (which is what a
//! proxy or load balancer answers after it may already have forwarded the
//! request), a broken connection and a timeout may all come after the
//! server acted, so a write is never sent again after them: an MSQ `INSERT`
//! could ingest twice. Task submissions are safe to repeat because the
//! client gives each task its ID first, and Druid refuses a second copy.
//!
//! A status that the endpoint declares as one of its answers (a readiness
//! check's 503 meaning "not ready") is never retried, and a streamed answer
//! is retried only until its status and headers are in: rows already handed
//! to the caller are never fetched again. All calls of one transport share
//! a [`RetryBudget`], and a `Retry-After` header is honoured.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use http::{Method, StatusCode};

use crate::error::{DruidError, Error, ErrorShape};

/// What sending a request could do to the cluster, which decides whether it
/// may be sent again after a failure, and whether a read-only transport
/// sends it at all.
///
/// [`Request::new`](crate::Request::new) picks one from the method (`GET`
/// and `HEAD` read, everything else writes); the generated clients set what
/// the endpoint spec says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Effect {
    /// Changes nothing: `GET`s, and the `POST`s that only read (SQL and
    /// native queries, the sampler, bulk task statuses).
    Read,
    /// Changes the cluster, but sending it twice leaves the same state, and
    /// the same answer, as sending it once: setting a configuration, marking
    /// segments, cancelling a query.
    Idempotent,
    /// Changes the cluster, and a second copy could act twice or answer
    /// differently: submitting a task without an ID, creating a user.
    Write,
}

impl Effect {
    /// The effect a request with this method has unless told otherwise.
    pub fn of_method(method: &Method) -> Effect {
        if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
            Effect::Read
        } else {
            Effect::Write
        }
    }

    /// Whether the request changes the cluster (a read-only transport
    /// refuses it).
    pub fn changes_state(self) -> bool {
        !matches!(self, Effect::Read)
    }

    /// Whether the request may be sent again after any transient failure.
    pub fn is_repeatable(self) -> bool {
        matches!(self, Effect::Read | Effect::Idempotent)
    }
}

/// When and how often a failed request is sent again: exponential backoff
/// with jitter, an attempt limit and a time limit.
///
/// The wait before attempt `n + 1` is `initial_backoff × 2^(n−1)`, at most
/// `max_backoff`, then drawn uniformly from its upper half (so that many
/// clients do not come back at the same instant, and none comes back at
/// once). No attempt starts after `deadline` has passed since the first, and
/// a request with its own [`timeout`](crate::Request::timeout) keeps all its
/// attempts within it.
///
/// The default ([`RetryPolicy::default`]): 20 attempts, 200 ms doubling to
/// at most 5 s, within 45 s. Why these numbers:
///
/// - **45 s** rides through the outages a cluster has on its bad days,
///   measured on a local Druid 27 cluster (`cargo xtask faults`): a Broker
///   restart behind a Router (29 s of 502s from `kill -9` until the Router
///   reached the restarted Broker) and a Coordinator/Overlord leader
///   election after the leader died (30.4 to 33.6 s until the other one
///   led: ZooKeeper's session timeout, 30 s by default in Druid, bounds how
///   long a dead leader holds its lock), with a margin for a loaded
///   machine; yet it is short next to a query's own default 300 s limit. A
///   first version used 30 s, and the fault suite saw calls give up two
///   seconds before the new leader took over.
/// - **200 ms** first: a service that refused a connection is restarting,
///   and a JVM does not come back within less; Druid's own service client
///   starts at 100 ms.
/// - **5 s** at most between attempts: once the service is back, the caller
///   waits no more than that for it; Druid's own client waits up to 30 s,
///   which is long for a person at a terminal.
/// - **20 attempts**: with the waits above (drawn from their upper half,
///   3.75 s on average once at the cap), the deadline is what ends a long
///   outage; the count only bounds the work against a service that fails
///   fast. With 10, the count ended calls after about 21 s, before the
///   leader election did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 20,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(45),
        }
    }
}

impl RetryPolicy {
    /// One attempt: nothing is ever sent twice.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// At most this many attempts in all, the first included (at least 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait after the first failure; it doubles after each one.
    #[must_use]
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// The longest wait between two attempts.
    #[must_use]
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// No attempt starts after this much time since the first one.
    #[must_use]
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The attempt limit.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time limit for starting attempts.
    pub fn time_limit(&self) -> Duration {
        self.deadline
    }

    /// The wait after failed attempt `attempt` (1-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }

    /// The wait after failed attempt `attempt`, jittered into the upper half
    /// of [`RetryPolicy::backoff`].
    pub(crate) fn jittered_backoff(&self, attempt: u32) -> Duration {
        let full = self.backoff(attempt);
        full.mul_f64(0.5 + 0.5 * fastrand::f64())
    }
}

/// How many retries all calls of one transport may make together: at least
/// `min_per_second` a second, and besides that a share (`ratio`) of the
/// calls, both counted over the last ten seconds (Finagle's retry budget,
/// with its defaults: 10 a second and 20 %).
///
/// During an outage every call fails, and without a budget each one would
/// make its full number of attempts: the retries would multiply the load on
/// a cluster that is already failing. With it, a client that sends a
/// steady load retries at most a fifth of it on top; a quiet client (a
/// command line, a script) still retries what it needs. A retry the budget
/// does not allow ends the call with its last failure, and a tracing event
/// says so.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudget {
    min_per_second: u32,
    ratio: f64,
}

impl Default for RetryBudget {
    fn default() -> Self {
        RetryBudget {
            min_per_second: 10,
            ratio: 0.2,
        }
    }
}

/// The window over which a budget counts calls and retries.
const BUDGET_WINDOW: Duration = Duration::from_secs(10);

impl RetryBudget {
    /// A budget of at least `min_per_second` retries a second, plus `ratio`
    /// (0.2: a fifth) of the calls.
    pub fn new(min_per_second: u32, ratio: f64) -> Self {
        RetryBudget {
            min_per_second,
            ratio: if ratio.is_finite() {
                ratio.max(0.0)
            } else {
                0.0
            },
        }
    }

    /// No budget: every retry the policy allows is made.
    pub fn unlimited() -> Self {
        RetryBudget {
            min_per_second: u32::MAX,
            ratio: 0.0,
        }
    }

    pub(crate) fn start(&self) -> Arc<BudgetState> {
        Arc::new(BudgetState {
            budget: self.clone(),
            started: Instant::now(),
            seconds: Mutex::new(VecDeque::new()),
        })
    }
}

/// The calls and retries of one transport, per second, over the window.
#[derive(Debug)]
pub(crate) struct BudgetState {
    budget: RetryBudget,
    started: Instant,
    /// (second since `started`, calls, retries), oldest first.
    seconds: Mutex<VecDeque<(u64, u64, u64)>>,
}

impl BudgetState {
    fn count(&self, call: u64, retry: u64) {
        let now = self.started.elapsed().as_secs();
        let mut seconds = self.seconds.lock().unwrap_or_else(PoisonError::into_inner);
        while seconds
            .front()
            .is_some_and(|(second, _, _)| second + BUDGET_WINDOW.as_secs() <= now)
        {
            seconds.pop_front();
        }
        match seconds.back_mut() {
            Some((second, calls, retries)) if *second == now => {
                *calls += call;
                *retries += retry;
            }
            _ => seconds.push_back((now, call, retry)),
        }
    }

    /// Counts a call.
    pub(crate) fn call(&self) {
        self.count(1, 0);
    }

    /// Takes one retry from the budget; `false` when it is spent.
    pub(crate) fn try_retry(&self) -> bool {
        if self.budget.min_per_second == u32::MAX {
            return true;
        }
        self.count(0, 0);
        let mut seconds = self.seconds.lock().unwrap_or_else(PoisonError::into_inner);
        let (calls, retries) = seconds.iter().fold((0, 0), |(c, r), (_, calls, retries)| {
            (c + calls, r + retries)
        });
        let allowed = u64::from(self.budget.min_per_second) * BUDGET_WINDOW.as_secs()
            + (calls as f64 * self.budget.ratio) as u64;
        if retries >= allowed {
            return false;
        }
        if let Some((_, _, retries)) = seconds.back_mut() {
            *retries += 1;
        }
        true
    }
}

/// The wait a `Retry-After` header asks for: seconds, or an HTTP date.
pub(crate) fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Why a failure is worth another attempt, for the retry event; `None` when
/// it is not (or repeating the request could do harm).
pub(crate) fn failure_reason(effect: Effect, error: &Error) -> Option<&'static str> {
    match error {
        // Nothing reached the server.
        Error::Connect { .. } => Some("could not connect"),
        // The server may have acted on it.
        Error::Io { .. } if effect.is_repeatable() => Some("the connection broke"),
        Error::Timeout { .. } if effect.is_repeatable() => Some("the attempt timed out"),
        _ => None,
    }
}

/// Whether a status might be worth another attempt; only then is the body
/// read to decide ([`status_reason`]).
pub(crate) fn is_candidate_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504)
}

/// Messages that mean "no server can take this right now": Druid gives
/// them before forwarding or running anything.
///
/// What Druid 27 answers was seen on the real cluster (`cargo xtask druid`
/// with the Broker killed, the Router restarted). A Router that knew a
/// Broker keeps proxying to it after it died (`502`, "Using backup" in its
/// log); a Router that never saw one answers `500` with an ISE, "There are
/// no available brokers ...", for SQL and native queries alike. During a
/// leader election the Router's management proxy answers `502` and a
/// follower redirects (`307`) to the dead leader; neither is a text here.
const TRANSIENT_MESSAGES: &[&str] = &[
    // Druid 27's Router with no Broker (seen live).
    "There are no available brokers",
    // The Router's host finder with no default server (Druid's source).
    "No default server found",
    // The Router's management proxy with no Coordinator or Overlord known
    // (Druid's source; it answers 503).
    "Unable to determine destination",
];

/// Why an answer with this status and error body is worth another attempt
/// for a request with this effect; `None` when it is not.
pub(crate) fn status_reason(
    effect: Effect,
    status: StatusCode,
    error: &DruidError,
) -> Option<&'static str> {
    let druid_body = matches!(
        error.shape,
        ErrorShape::Legacy | ErrorShape::DruidException | ErrorShape::Bare
    );
    let message = error.message().unwrap_or_default();
    let transient_text = TRANSIENT_MESSAGES.iter().any(|t| message.contains(t));
    match status.as_u16() {
        // Refused before any work: a query capacity limit or a rate limit.
        429 => Some("Druid is at capacity (429)"),
        // The Router's proxy without a destination: nothing was processed,
        // whatever the request.
        503 if transient_text => Some("no server can take it yet (503)"),
        // A Coordinator or Overlord that knows no leader, a server still
        // starting; or a proxy in front of Druid that may have forwarded
        // the request already: only what is safe to repeat.
        503 if !druid_body && effect.is_repeatable() => Some("no server can take it yet (503)"),
        503 if effect.is_repeatable() => Some("the service is unavailable (503)"),
        // A proxy that could not reach the server; the server may have
        // acted on it.
        502 if effect.is_repeatable() => Some("a proxy could not reach the service (502)"),
        // Druid's own query timeout would only repeat itself; a proxy's
        // gateway timeout may not.
        504 if effect.is_repeatable() && !is_druid_timeout(error) => {
            Some("a proxy timed out (504)")
        }
        500 if transient_text => Some("no server can take it yet (500)"),
        _ => None,
    }
}

fn is_druid_timeout(error: &DruidError) -> bool {
    error.code() == Some("Query timeout")
        || error.category.as_deref() == Some("TIMEOUT")
        || error.error_code.as_deref() == Some("timeout")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(body: &str) -> DruidError {
        DruidError::parse(body.as_bytes())
    }

    #[test]
    fn default_effects_follow_the_method() {
        assert_eq!(Effect::of_method(&Method::GET), Effect::Read);
        assert_eq!(Effect::of_method(&Method::POST), Effect::Write);
        assert_eq!(Effect::of_method(&Method::DELETE), Effect::Write);
        assert!(Effect::Idempotent.changes_state() && Effect::Idempotent.is_repeatable());
        assert!(!Effect::Write.is_repeatable());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_stays_in_the_upper_half() {
        let policy = RetryPolicy::default();
        let waits: Vec<u128> = (1..=7).map(|n| policy.backoff(n).as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(policy.backoff(1000), Duration::from_secs(5));
        for attempt in 1..20 {
            let full = policy.backoff(attempt);
            let wait = policy.jittered_backoff(attempt);
            assert!(wait >= full / 2 && wait <= full, "{wait:?} vs {full:?}");
        }
        assert_eq!(RetryPolicy::none().attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }

    #[test]
    fn statuses_are_retried_by_effect() {
        let empty = error("");
        let gateway_page = error("<html><head><title>502 Bad Gateway</title></head></html>");
        let druid_503 = error(
            r#"{"error":"druidException","errorCode":"serviceUnavailable","category":"SERVICE_UNAVAILABLE","errorMessage":"busy"}"#,
        );
        let timeout = error(r#"{"error":"Query timeout","errorMessage":"Query [x] timed out"}"#);
        let no_broker = error(r#"{"error":"No default server found!"}"#);
        // Druid 27's Router that never saw a Broker, as it answered live.
        let no_brokers = error(
            r#"{"error":"Unknown exception","errorMessage":"There are no available brokers. Please check that your brokers are running and  healthy.","errorClass":"org.apache.druid.java.util.common.ISE","host":null}"#,
        );
        let bad_sql = error(r#"{"error":"Plan validation failed","errorMessage":"no table"}"#);
        let s = StatusCode::from_u16;
        let reason = |effect, status, body: &DruidError| {
            status_reason(effect, s(status).unwrap(), body).is_some()
        };
        let no_destination = error("Unable to determine destination");
        // Nothing processed: every effect.
        for effect in [Effect::Read, Effect::Idempotent, Effect::Write] {
            assert!(reason(effect, 429, &empty));
            assert!(reason(effect, 500, &no_broker));
            assert!(reason(effect, 500, &no_brokers));
            assert!(reason(effect, 503, &no_destination), "{effect:?}");
        }
        // A bare 503 may come from a proxy that forwarded the request: a
        // write is not sent again.
        assert!(reason(Effect::Read, 503, &empty));
        assert!(reason(Effect::Idempotent, 503, &gateway_page));
        assert!(!reason(Effect::Write, 503, &empty));
        assert!(!reason(Effect::Write, 503, &gateway_page));
        // Maybe processed: reads and idempotent requests only.
        assert!(reason(Effect::Read, 502, &gateway_page));
        assert!(!reason(Effect::Write, 502, &gateway_page));
        assert!(reason(Effect::Idempotent, 503, &druid_503));
        assert!(!reason(Effect::Write, 503, &druid_503));
        assert!(reason(Effect::Read, 504, &gateway_page));
        // Druid's own verdicts.
        assert!(!reason(Effect::Read, 504, &timeout));
        assert!(!reason(Effect::Read, 400, &bad_sql));
        assert!(!reason(Effect::Read, 500, &bad_sql));
        assert!(!reason(Effect::Read, 404, &empty));
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(retry_after(" 7 "), Some(Duration::from_secs(7)));
        let soon = SystemTime::now() + Duration::from_secs(120);
        let wait = retry_after(&httpdate::fmt_http_date(soon)).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn the_budget_allows_a_floor_and_a_share_of_the_calls() {
        let state = RetryBudget::new(1, 0.5).start();
        // A floor of 1 a second over ten seconds: 10 retries with no calls.
        assert!((0..10).all(|_| state.try_retry()));
        assert!(!state.try_retry());
        // Each two calls buy one more.
        for _ in 0..4 {
            state.call();
        }
        assert!(state.try_retry() && state.try_retry());
        assert!(!state.try_retry());
        let unlimited = RetryBudget::unlimited().start();
        assert!((0..10_000).all(|_| unlimited.try_retry()));
    }
}
