//! The error type of `druid-api`.

use std::time::Duration;

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
/// [`druid_transport::error::MAX_DISPLAY`] characters; no variant holds a
/// password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request failed or Druid refused it; see the predicates.
    #[error(transparent)]
    Transport(#[from] druid_transport::Error),
    /// The cluster does not have what was asked for: no server of that type,
    /// no leader elected, no server at that endpoint.
    #[error("{what}")]
    NotFound {
        /// What was missing, and what to do about it.
        what: String,
    },
    /// A Druid task (ingestion, MSQ query, kill, ...) or an asynchronous SQL
    /// statement ended without success.
    #[error("task {task_id} ended {state}: {message}")]
    TaskFailed {
        /// The task ID (the query ID of a statement).
        task_id: String,
        /// How it ended (`FAILED`, `CANCELED`, or an unknown state).
        state: String,
        /// The task's error message, as Druid reports it.
        message: String,
    },
    /// A wait for a condition in the cluster ran out of its limit.
    #[error("gave up waiting for {what} after {waited:?}; last seen: {last_seen}")]
    WaitTimeout {
        /// What was waited for.
        what: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last state observed before giving up.
        last_seen: String,
    },
}

impl Error {
    /// The transport's error, if this is one.
    pub fn transport(&self) -> Option<&druid_transport::Error> {
        match self {
            Error::Transport(e) => Some(e),
            _ => None,
        }
    }

    /// True when one request ran out of its time limit. A wait that ran out
    /// is [`Error::is_wait_timeout`] instead: retrying a request that timed
    /// out may make sense, repeating a ten-minute wait rarely does.
    pub fn is_timeout(&self) -> bool {
        self.transport()
            .is_some_and(druid_transport::Error::is_timeout)
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
