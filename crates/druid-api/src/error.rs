//! The error type of `druid-api`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use druid_transport::error::{MAX_DISPLAY, clip};
use druid_transport::http::StatusCode;
use druid_transport::{ApiError, DecodeError, DruidError};

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a call of this crate.
///
/// What the transport reports (no connection, a timeout, TLS, Druid saying
/// no, an answer that does not decode, bad input) is
/// [`Error::Transport`]; the predicates below look inside it, so most code
/// never matches on it. What only this crate produces has its own variant:
/// a service the cluster does not run, a task that failed, a wait that ran
/// out of time.
///
/// `Display` is one line of at most
/// [`MAX_DISPLAY`] characters, without the source; no variant holds a
/// password.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request failed or Druid refused it; see the predicates. Display
    /// and source are the transport error's own.
    Transport(druid_transport::Error),
    /// The cluster does not have what was asked for: no server of that type,
    /// no leader elected, no server at that endpoint.
    NotFound {
        /// What was missing, and what to do about it.
        what: String,
    },
    /// A Druid task (ingestion, MSQ query, kill, ...) or an asynchronous SQL
    /// statement ended without success.
    TaskFailed {
        /// The task ID (the query ID of a statement).
        task_id: String,
        /// How it ended (`FAILED`, `CANCELED`, or an unknown state).
        state: String,
        /// The task's error message, as Druid reports it.
        message: String,
    },
    /// A wait for a condition in the cluster ran out of its limit.
    WaitTimeout {
        /// What was waited for.
        what: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last state observed before giving up.
        last_seen: String,
    },
    /// The failure of an operation several callers waited for together (a
    /// cluster refresh): each gets it. The predicates look through it.
    Shared(Arc<Error>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = match self {
            Error::Transport(e) => return fmt::Display::fmt(e, f),
            Error::Shared(e) => return fmt::Display::fmt(e.as_ref(), f),
            Error::NotFound { what } => what.clone(),
            Error::TaskFailed {
                task_id,
                state,
                message,
            } => format!("task {task_id} ended {state}: {message}"),
            Error::WaitTimeout {
                what,
                waited,
                last_seen,
            } => format!("gave up waiting for {what} after {waited:.1?}; last seen: {last_seen}"),
        };
        f.write_str(&clip(&line, MAX_DISPLAY))
    }
}

/// The transport error's source is this error's: a reporter that walks the
/// chain does not print the transport's line twice.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => e.source(),
            Error::Shared(e) => e.source(),
            _ => None,
        }
    }
}

impl From<druid_transport::Error> for Error {
    fn from(error: druid_transport::Error) -> Self {
        Error::Transport(error)
    }
}

impl Error {
    /// The transport's error, if this is one.
    pub fn transport(&self) -> Option<&druid_transport::Error> {
        match self {
            Error::Transport(e) => Some(e),
            Error::Shared(e) => e.transport(),
            _ => None,
        }
    }

    /// The error of an operation several callers shared.
    pub(crate) fn shared(error: &Arc<Error>) -> Error {
        Error::Shared(error.clone())
    }

    /// True when one request ran out of its time limit. A wait that ran out
    /// is [`Error::is_wait_timeout`] instead: retrying a request that timed
    /// out may make sense, repeating a ten-minute wait rarely does.
    pub fn is_timeout(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_timeout)
    }

    /// True when a query result was cut off
    /// ([`druid_transport::Error::Incomplete`]): the connection broke, the
    /// end marker is missing, or Druid's trailers report a failure.
    pub fn is_incomplete(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_incomplete)
    }

    /// A cut-off query result ([`druid_transport::Error::Incomplete`]).
    pub(crate) fn incomplete(
        operation: &str,
        query_id: &str,
        rows: u64,
        reason: String,
        source: Option<druid_transport::Error>,
    ) -> Self {
        Error::Transport(druid_transport::Error::Incomplete {
            operation: operation.to_owned(),
            query_id: Some(query_id.to_owned()),
            rows: Some(rows),
            reason,
            source: source.map(Box::new),
        })
    }

    /// True for [`Error::WaitTimeout`]: a wait helper used up its limit.
    pub fn is_wait_timeout(&self) -> bool {
        matches!(self, Error::WaitTimeout { .. })
    }

    /// True when no connection could be made.
    pub fn is_connect(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_connect)
    }

    /// True when the TLS handshake failed.
    pub fn is_tls(&self) -> bool {
        self.transport().is_some_and(druid_transport::Error::is_tls)
    }

    /// True when the caller passed something that cannot be sent.
    pub fn is_invalid_input(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_invalid_input)
    }

    /// True when the thing does not exist: Druid answered 404, or the
    /// cluster has no such service ([`Error::NotFound`]).
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Transport(e) => e.is_not_found(),
            Error::Shared(e) => e.is_not_found(),
            _ => false,
        }
    }

    /// Whether the failure is transient, so that the same request may
    /// succeed later (see [`druid_transport::Error::is_retryable`]; whether
    /// repeating is safe depends on the request). Failed tasks and waits
    /// that ran out are not.
    pub fn is_retryable(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_retryable)
    }

    /// How many times the request was sent: more than one when the
    /// transport retried it (see [`druid_transport::RetryPolicy`]).
    pub fn attempts(&self) -> u32 {
        self.transport().map_or(1, druid_transport::Error::attempts)
    }

    /// True when a request was refused before sending because it would
    /// have gone over plaintext where TLS is required
    /// ([`druid_transport::Error::Plaintext`]).
    pub fn is_plaintext_refused(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_plaintext_refused)
    }

    /// True when an answer was larger than its limit
    /// ([`druid_transport::Error::TooLarge`]).
    pub fn is_too_large(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_too_large)
    }

    /// True when the transport's read-only mode refused a request that
    /// changes the cluster, before sending it.
    pub fn is_read_only(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_read_only)
    }

    /// The extension the endpoint needs and the cluster does not load
    /// (`druid-basic-security`): see
    /// [`druid_transport::Error::MissingExtension`].
    pub fn missing_extension(&self) -> Option<&str> {
        self.transport()?.missing_extension()
    }

    /// The HTTP status of Druid's answer, when Druid refused the request.
    pub fn status(&self) -> Option<StatusCode> {
        self.transport().and_then(druid_transport::Error::status)
    }

    /// Druid's answer, when Druid refused the request: status, URL,
    /// operation, the parsed error body and the raw body.
    pub fn api(&self) -> Option<&ApiError> {
        self.transport().and_then(druid_transport::Error::api)
    }

    /// Druid's parsed error body, when Druid refused the request.
    pub fn druid_error(&self) -> Option<&DruidError> {
        self.api().map(|api| &api.error)
    }

    /// What did not decode, when an answer did not match its type.
    pub fn decode(&self) -> Option<&DecodeError> {
        self.transport().and_then(druid_transport::Error::decode)
    }

    /// Shorthand for an invalid-input error of the transport.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::Transport(druid_transport::Error::invalid_input(message))
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn display_is_one_bounded_line_for_every_variant() {
        let errors = [
            Error::TaskFailed {
                task_id: "index_parallel_wiki_2024".to_owned(),
                state: "FAILED".to_owned(),
                message: "java.lang.RuntimeException: boom\n\tat org.apache.druid.X\n".repeat(50),
            },
            Error::WaitTimeout {
                what: "task x to finish".to_owned(),
                waited: Duration::from_millis(600_123),
                last_seen: "RUNNING ".repeat(100),
            },
            Error::not_found(format!(
                "no server at x; known: {}",
                "host:8083, ".repeat(100)
            )),
            Error::invalid_input(format!("{} is not a URL", "http://h/".repeat(100))),
        ];
        for error in errors {
            let line = error.to_string();
            assert!(!line.contains('\n'), "{line}");
            assert!(line.chars().count() <= MAX_DISPLAY, "{line}");
        }
    }

    #[test]
    fn the_chain_does_not_repeat_the_transport_line() {
        let inner = druid_transport::Error::Config {
            message: "cannot read the CA file".to_owned(),
            source: Some("no such file".into()),
        };
        let error = Error::from(inner);
        assert_eq!(
            error.to_string(),
            "invalid configuration: cannot read the CA file"
        );
        assert_eq!(
            error.source().map(ToString::to_string).as_deref(),
            Some("no such file")
        );
    }
}
