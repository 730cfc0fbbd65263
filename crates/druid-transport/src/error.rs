//! The one error type of the workspace, and Druid's error bodies.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

/// A boxed error from a lower layer, reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong between a call and its typed answer.
///
/// The variants tell apart what a caller reacts to differently: the network
/// ([`Error::Connect`], [`Error::Timeout`], [`Error::Tls`], [`Error::Transport`]),
/// Druid saying no ([`Error::Api`]), Druid answering something this client did
/// not expect ([`Error::Decode`]), and mistakes the caller can fix
/// ([`Error::InvalidInput`], [`Error::Config`], [`Error::NotFound`]).
///
/// `Display` is one line without the source; walk [`std::error::Error::source`]
/// (or print with `{:#}` through a reporter such as `anyhow`) for the cause.
/// No variant ever holds a password: URLs lose their user info before they are
/// stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection could not be made (refused, unreachable, DNS).
    #[error("could not connect to {url}")]
    Connect {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The request did not complete within the configured timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The TLS handshake failed: an untrusted or expired certificate, a host
    /// name mismatch, a refused client certificate, or an `https` URL without a
    /// TLS backend compiled in.
    #[error("TLS failure talking to {url}")]
    Tls {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Any other failure to send the request or read the response.
    #[error("request to {url} failed")]
    Transport {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Druid answered with a status that is not a success for this endpoint.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// A success response did not match the type the endpoint promises.
    #[error(transparent)]
    Decode(Box<DecodeError>),
    /// Something the caller asked for does not exist: a service the cluster
    /// does not run, an endpoint no known server answers on.
    #[error("{what}")]
    NotFound {
        /// What was missing, and what to do about it.
        what: String,
    },
    /// The caller passed something that cannot be sent: an empty SQL string,
    /// an empty path parameter, a malformed URL.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The client configuration is unusable: an unreadable CA file, a bad
    /// client certificate, a TLS option without a TLS backend.
    #[error("invalid configuration: {message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// A redirect was not followed: it led outside the cluster, it had no
    /// usable `Location`, or there were too many of them.
    #[error("redirect from {from} not followed: {reason}")]
    Redirect {
        /// The URL that answered with the redirect.
        from: String,
        /// Where it pointed, if it could be read.
        to: Option<String>,
        /// Why it was not followed.
        reason: String,
    },
    /// A Druid task (ingestion, MSQ query, kill, ...) ended without success.
    #[error("task {task_id} ended {state}: {message}")]
    TaskFailed {
        /// The task ID.
        task_id: String,
        /// How it ended (`FAILED`, or an unknown state).
        state: String,
        /// The task's error message, as Druid reports it.
        message: String,
    },
    /// A wait for a condition in the cluster ran out of time.
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
    /// True for [`Error::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::WaitTimeout { .. })
    }

    /// True for [`Error::Connect`].
    pub fn is_connect(&self) -> bool {
        matches!(self, Error::Connect { .. })
    }

    /// True for [`Error::Tls`].
    pub fn is_tls(&self) -> bool {
        matches!(self, Error::Tls { .. })
    }

    /// True when Druid (or the caller's lookup) said the thing does not exist:
    /// [`Error::NotFound`], or an HTTP 404.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::NotFound { .. } => true,
            Error::Api(api) => api.status == StatusCode::NOT_FOUND,
            _ => false,
        }
    }

    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The parsed Druid error body of an [`Error::Api`].
    pub fn druid_error(&self) -> Option<&DruidError> {
        match self {
            Error::Api(api) => Some(&api.error),
            _ => None,
        }
    }

    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// Shorthand for [`Error::Config`] without a source.
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            source: None,
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(what: impl Into<String>) -> Self {
        Error::NotFound { what: what.into() }
    }
}

/// Druid answered with a non-success status.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The HTTP method of the request.
    pub method: Method,
    /// The URL of the request, without credentials.
    pub url: String,
    /// The operation, e.g. `overlord.task_status`, or `raw` for generic calls.
    pub operation: String,
    /// The error body, parsed in whatever shape Druid used.
    pub error: DruidError,
    /// The raw body, as text (lossy UTF-8).
    pub body: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Druid answered {} to {} {} ({})",
            self.status, self.method, self.url, self.operation
        )?;
        match (self.error.code(), self.error.message()) {
            (Some(code), Some(message)) => write!(f, ": {code}: {message}"),
            (Some(code), None) => write!(f, ": {code}"),
            (None, Some(message)) => write!(f, ": {message}"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for ApiError {}

/// Which of Druid's error formats a body had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorShape {
    /// `{"error", "errorMessage", "errorClass", "host"}`, from query paths.
    Legacy,
    /// `{"error": "druidException", "errorCode", "persona", "category", "errorMessage", "context"}`,
    /// including the hybrid form that also carries `errorClass` and `host`.
    DruidException,
    /// A bare `{"error": "<message>"}` from admin resources.
    Bare,
    /// Jetty's own `{"message", "url", "status"}` (unknown path, method not allowed).
    Jetty,
    /// Any other JSON value.
    OtherJson,
    /// A plain text body.
    Text,
    /// No body at all.
    Empty,
}

/// A Druid error body, parsed from any of its shapes.
///
/// Every field is optional: error rewriting on the server can null any of
/// them, and the raw body is always kept in [`ApiError::body`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DruidError {
    /// The shape the body had.
    pub shape: ErrorShape,
    /// The `error` field: a legacy code (`SQL parse failed`), `druidException`,
    /// or, in the bare shape, the message itself.
    pub error: Option<String>,
    /// The `errorCode` of a DruidException (`invalidInput`, `notFound`, ...).
    pub error_code: Option<String>,
    /// The human-readable message.
    pub error_message: Option<String>,
    /// The Java exception class, if the server shared it.
    pub error_class: Option<String>,
    /// The server that failed, as `host:port`, if the server shared it.
    pub host: Option<String>,
    /// Who the message is for: `USER`, `ADMIN`, `OPERATOR` or `DEVELOPER`.
    pub persona: Option<String>,
    /// The DruidException category (`INVALID_INPUT`, `NOT_FOUND`, ...).
    pub category: Option<String>,
    /// The DruidException context map, values as text.
    pub context: BTreeMap<String, String>,
}

impl DruidError {
    fn empty(shape: ErrorShape) -> Self {
        DruidError {
            shape,
            error: None,
            error_code: None,
            error_message: None,
            error_class: None,
            host: None,
            persona: None,
            category: None,
            context: BTreeMap::new(),
        }
    }

    /// Parses an error body. Never fails: what is not understood is kept as text.
    pub fn parse(body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Self::empty(ErrorShape::Empty);
        }
        let value: Value = match serde_json::from_str(trimmed) {
            Ok(value) => value,
            Err(_) => {
                let mut error = Self::empty(ErrorShape::Text);
                error.error_message = Some(trimmed.to_owned());
                return error;
            }
        };
        let Value::Object(map) = &value else {
            let mut error = Self::empty(ErrorShape::OtherJson);
            error.error_message = Some(match &value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            return error;
        };
        let text_of = |key: &str| -> Option<String> {
            match map.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
            }
        };
        let mut error = Self::empty(ErrorShape::OtherJson);
        error.error = text_of("error");
        error.error_code = text_of("errorCode");
        error.error_message = text_of("errorMessage");
        error.error_class = text_of("errorClass");
        error.host = text_of("host");
        error.persona = text_of("persona");
        error.category = text_of("category");
        if let Some(Value::Object(context)) = map.get("context") {
            for (key, value) in context {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                error.context.insert(key.clone(), value);
            }
        }
        error.shape = if error.error_code.is_some()
            || error.persona.is_some()
            || error.category.is_some()
            || error.error.as_deref() == Some("druidException")
        {
            ErrorShape::DruidException
        } else if map.contains_key("errorMessage") || map.contains_key("errorClass") {
            ErrorShape::Legacy
        } else if error.error.is_some() {
            ErrorShape::Bare
        } else if map.contains_key("message") && map.contains_key("status") {
            error.error_message = text_of("message");
            ErrorShape::Jetty
        } else {
            error.error_message = Some(trimmed.to_owned());
            ErrorShape::OtherJson
        };
        error
    }

    /// The error code: `errorCode` when present, else the legacy `error` code.
    /// A bare `{"error": "<message>"}` has no code.
    pub fn code(&self) -> Option<&str> {
        match self.shape {
            ErrorShape::Bare => None,
            _ => self.error_code.as_deref().or(self.error.as_deref()),
        }
    }

    /// The best human-readable message the body had.
    pub fn message(&self) -> Option<&str> {
        match self.shape {
            ErrorShape::Bare => self.error.as_deref(),
            _ => self.error_message.as_deref(),
        }
    }
}

/// A success response whose body did not match the expected type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodeError {
    /// The operation, e.g. `overlord.task_status`.
    pub operation: String,
    /// The URL of the request, without credentials.
    pub url: String,
    /// The Rust type that was expected.
    pub expected: String,
    /// Where in the JSON document decoding failed, e.g. `status.duration`.
    pub path: String,
    /// What went wrong there.
    pub message: String,
    /// The start of the body, for context.
    pub snippet: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "response of {} ({}) is not a valid {}: at `{}`: {}; body starts: {}",
            self.operation, self.url, self.expected, self.path, self.message, self.snippet
        )
    }
}

impl std::error::Error for DecodeError {}

/// The first `max` characters of a body, on a char boundary, with `...` when cut.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_shape() {
        let e = DruidError::parse(
            br#"{"error":"SQL parse failed","errorMessage":"Encountered \"SELEC\"","errorClass":"org.apache.calcite.sql.parser.SqlParseException","host":null}"#,
        );
        assert_eq!(e.shape, ErrorShape::Legacy);
        assert_eq!(e.code(), Some("SQL parse failed"));
        assert_eq!(e.message(), Some("Encountered \"SELEC\""));
        assert_eq!(
            e.error_class.as_deref(),
            Some("org.apache.calcite.sql.parser.SqlParseException")
        );
        assert_eq!(e.host, None);
    }

    #[test]
    fn druid_exception_shape_prefers_error_code() {
        let e = DruidError::parse(
            br#"{"error":"druidException","errorCode":"invalidInput","persona":"USER","category":"INVALID_INPUT","errorMessage":"bad","context":{"line":"1","n":2}}"#,
        );
        assert_eq!(e.shape, ErrorShape::DruidException);
        assert_eq!(e.code(), Some("invalidInput"));
        assert_eq!(e.message(), Some("bad"));
        assert_eq!(e.persona.as_deref(), Some("USER"));
        assert_eq!(e.category.as_deref(), Some("INVALID_INPUT"));
        assert_eq!(e.context.get("line").map(String::as_str), Some("1"));
        assert_eq!(e.context.get("n").map(String::as_str), Some("2"));
    }

    #[test]
    fn bare_shape_is_a_message() {
        let e = DruidError::parse(br#"{"error":"Unknown task [x]"}"#);
        assert_eq!(e.shape, ErrorShape::Bare);
        assert_eq!(e.code(), None);
        assert_eq!(e.message(), Some("Unknown task [x]"));
    }

    #[test]
    fn jetty_shape() {
        let e = DruidError::parse(
            br#"{"servlet":"default","message":"Not Found","url":"/nope","status":"404"}"#,
        );
        assert_eq!(e.shape, ErrorShape::Jetty);
        assert_eq!(e.message(), Some("Not Found"));
    }

    #[test]
    fn text_and_empty_shapes() {
        let e = DruidError::parse(b"No log was found for this task.\n");
        assert_eq!(e.shape, ErrorShape::Text);
        assert_eq!(e.message(), Some("No log was found for this task."));
        let e = DruidError::parse(b"  ");
        assert_eq!(e.shape, ErrorShape::Empty);
        assert_eq!(e.message(), None);
        assert_eq!(e.code(), None);
    }

    #[test]
    fn other_json_keeps_text() {
        let e = DruidError::parse(br#"{"leader":false}"#);
        assert_eq!(e.shape, ErrorShape::OtherJson);
        assert_eq!(e.message(), Some(r#"{"leader":false}"#));
        let e = DruidError::parse(br#""quoted text""#);
        assert_eq!(e.message(), Some("quoted text"));
    }

    #[test]
    fn snippet_cuts_on_char_boundary() {
        assert_eq!(snippet("ééé".as_bytes(), 2), "éé...");
        assert_eq!(snippet(b"ab", 5), "ab");
    }
}
