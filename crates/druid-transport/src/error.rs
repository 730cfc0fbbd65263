//! The transport's error type, and Druid's error bodies.

use std::fmt;
use std::time::Duration;

use http::{Method, StatusCode};
use serde_json::Value;

/// A boxed error from a lower layer, reachable through [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The longest `Display` of an error, in characters.
pub const MAX_DISPLAY: usize = 300;

/// Everything that can go wrong between a request and its answer.
///
/// The variants tell apart what a caller reacts to differently: the network
/// ([`Error::Connect`], [`Error::Timeout`], [`Error::Tls`], [`Error::Io`]),
/// Druid saying no ([`Error::Api`]), Druid answering something this client
/// did not expect ([`Error::Decode`]), a redirect that was not followed
/// ([`Error::Redirect`]), and mistakes the caller can fix
/// ([`Error::InvalidInput`], [`Error::Config`]).
///
/// `Display` is one line of at most [`MAX_DISPLAY`] characters, without the
/// source; walk [`std::error::Error::source`] (or print through a reporter
/// such as `anyhow`) for the cause, and read [`ApiError::body`] for the whole
/// answer. No variant ever holds a password: URLs lose their user info before
/// they are stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection could not be made (refused, unreachable, DNS).
    Connect {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The request did not complete within the configured timeout.
    Timeout {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The TLS handshake failed: an untrusted or expired certificate, a host
    /// name mismatch, a refused client certificate, a server that does not
    /// speak TLS, or an `https` URL without a TLS backend compiled in.
    Tls {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Any other failure to send the request or read the response: a
    /// connection reset, a body cut off.
    Io {
        /// The URL that was tried, without credentials.
        url: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Druid answered with a status that is not an answer of this endpoint.
    Api(Box<ApiError>),
    /// An answer did not match the type the endpoint promises.
    Decode(Box<DecodeError>),
    /// A redirect was not followed: it led outside the cluster, it had no
    /// usable `Location`, or there were too many of them.
    Redirect {
        /// The URL that answered with the redirect, without credentials.
        from: String,
        /// Where it pointed, if it could be read.
        to: Option<String>,
        /// Why it was not followed.
        reason: String,
    },
    /// The caller passed something that cannot be sent: an empty path
    /// parameter, a malformed URL, a header that is not header text.
    InvalidInput(String),
    /// The client configuration is unusable: an unreadable CA file, a bad
    /// client certificate, a TLS option without a TLS backend.
    Config {
        /// What is wrong and how to fix it.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<BoxError>,
    },
    /// The token provider could not give a token.
    Credentials {
        /// The provider's error.
        #[source]
        source: BoxError,
    },
    /// A read-only transport refused, before sending, a request that
    /// changes the cluster.
    ReadOnly {
        /// The operation, e.g. `overlord.submit_task`.
        operation: String,
        /// The method.
        method: Method,
        /// The path, as it would have been sent.
        path: String,
    },
    /// The endpoint is newer than the cluster: it answered 404 or 405, and
    /// its `/status` says it runs a release before the one the endpoint
    /// needs. The predicates answer for Druid's answer inside.
    Unsupported {
        /// The release the endpoint needs (its spec's `since`).
        since: String,
        /// The release the cluster runs.
        version: String,
        /// Druid's answer.
        #[source]
        answer: Box<Error>,
    },
    /// The endpoint belongs to an extension the cluster does not load: it
    /// answered 404 or 405 without a Druid error body, and its `/status`
    /// lists no module of the extension's artifact. The predicates answer
    /// for Druid's answer inside.
    MissingExtension {
        /// The extension's artifact, e.g. `druid-basic-security`.
        extension: String,
        /// Druid's answer.
        #[source]
        answer: Box<Error>,
    },
    /// The request was not sent because it would have gone over plaintext
    /// HTTP where TLS is required: the server has no TLS port while the
    /// client reaches the cluster over TLS (an `https` entry, or
    /// `prefer_tls(true)`), or it carries credentials and the entry was
    /// `https` (see `TransportBuilder::allow_plaintext_credentials`).
    Plaintext {
        /// The URL it would have gone to, without credentials.
        url: String,
        /// Why it was refused and what to change.
        reason: String,
    },
    /// An answer was larger than its limit: an endpoint's body past
    /// `max_response_bytes` (counted after decompression). Nothing of it
    /// is returned.
    TooLarge {
        /// The operation, e.g. `coordinator.segments`.
        operation: String,
        /// The URL of the request, without credentials.
        url: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// A query result ended before its end: the connection broke, the
    /// server stopped writing (the end marker of the format is missing), or
    /// Druid's trailers (`X-Druid-Response-Complete: false`) say the query
    /// failed after the first rows. What arrived was whole rows; the answer
    /// is not complete.
    Incomplete {
        /// The operation, e.g. `broker.sql_query`.
        operation: String,
        /// The query ID, when known.
        query_id: Option<String>,
        /// How many rows arrived before the end, when counted.
        rows: Option<u64>,
        /// Why the result is incomplete (Druid's message, when it sent one).
        reason: String,
        /// The error that ended it, when the connection broke.
        #[source]
        source: Option<Box<Error>>,
    },
    /// The request failed on every attempt its retry policy allowed; the
    /// last failure is inside. The predicates ([`Error::status`],
    /// [`Error::is_connect`], ...) answer for that last failure.
    Retried {
        /// How many attempts were made.
        attempts: u32,
        /// The time from the first attempt to the end of the last.
        elapsed: Duration,
        /// The last attempt's failure.
        #[source]
        last: Box<Error>,
    },
}

impl fmt::Display for Error {
    /// One line of at most [`MAX_DISPLAY`] characters, without the source.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = match self {
            Error::Connect { url, .. } => format!("could not connect to {url}"),
            Error::Timeout { url, .. } => format!("request to {url} timed out"),
            Error::Tls { url, .. } => format!("TLS failure talking to {url}"),
            Error::Io { url, .. } => format!("request to {url} failed"),
            Error::Api(api) => return fmt::Display::fmt(api, f),
            Error::Decode(decode) => return fmt::Display::fmt(decode, f),
            Error::Redirect { from, reason, .. } => {
                format!("redirect from {from} not followed: {reason}")
            }
            Error::InvalidInput(message) => format!("invalid input: {message}"),
            Error::Config { message, .. } => format!("invalid configuration: {message}"),
            Error::Credentials { .. } => {
                "could not get a bearer token from the token provider".to_owned()
            }
            Error::ReadOnly {
                operation,
                method,
                path,
            } => format!(
                "refused {method} {path} ({operation}): it changes the cluster and this client \
                 is read-only"
            ),
            Error::Unsupported {
                since,
                version,
                answer,
            } => {
                let what = answered(answer);
                format!("{what}: it needs Druid {since} or later; the cluster runs {version}")
            }
            Error::MissingExtension { extension, answer } => {
                let what = answered(answer);
                format!(
                    "{what}: it needs the {extension} extension, which the cluster does not \
                     load (add it to druid.extensions.loadList)"
                )
            }
            Error::Plaintext { url, reason } => {
                format!("refused to send to {url} without TLS: {reason}")
            }
            Error::TooLarge {
                operation,
                url,
                limit,
            } => format!(
                "the answer of {operation} ({url}) is larger than {limit} bytes; raise the \
                 limit with max_response_bytes"
            ),
            Error::Incomplete {
                operation,
                query_id,
                rows,
                reason,
                ..
            } => {
                let query = query_id
                    .as_deref()
                    .map(|id| format!(" (query {id})"))
                    .unwrap_or_default();
                let after = rows
                    .map(|rows| format!(" after {rows} rows"))
                    .unwrap_or_default();
                format!("the result of {operation}{query} was cut off{after}: {reason}")
            }
            Error::Retried {
                attempts,
                elapsed,
                last,
            } => {
                let suffix = format!(" (gave up after {attempts} attempts in {elapsed:.1?})");
                let room = MAX_DISPLAY.saturating_sub(suffix.chars().count());
                format!("{}{suffix}", clip(&last.to_string(), room))
            }
        };
        f.write_str(&clip(&line, MAX_DISPLAY))
    }
}

/// `overlord.task answered 404`: the start of the line of an error that
/// explains Druid's answer (a newer endpoint, a missing extension).
fn answered(answer: &Error) -> String {
    match answer.api() {
        Some(api) => format!("{} answered {}", api.operation, api.status.as_u16()),
        None => "the endpoint is missing".to_owned(),
    }
}

impl Error {
    /// The failure itself: the last attempt's for [`Error::Retried`], this
    /// error otherwise.
    pub fn last_attempt(&self) -> &Error {
        match self {
            Error::Retried { last, .. } => last.last_attempt(),
            Error::Unsupported { answer, .. } | Error::MissingExtension { answer, .. } => {
                answer.last_attempt()
            }
            other => other,
        }
    }

    /// How many attempts were made: more than one only for [`Error::Retried`].
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Retried { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// True for [`Error::Timeout`]: one request ran out of its time limit.
    pub fn is_timeout(&self) -> bool {
        matches!(self.last_attempt(), Error::Timeout { .. })
    }

    /// True for [`Error::Connect`].
    pub fn is_connect(&self) -> bool {
        matches!(self.last_attempt(), Error::Connect { .. })
    }

    /// True for [`Error::Tls`].
    pub fn is_tls(&self) -> bool {
        matches!(self.last_attempt(), Error::Tls { .. })
    }

    /// True for [`Error::ReadOnly`].
    pub fn is_read_only(&self) -> bool {
        matches!(self, Error::ReadOnly { .. })
    }

    /// True for [`Error::Plaintext`]: refused before sending, over
    /// plaintext where TLS is required.
    pub fn is_plaintext_refused(&self) -> bool {
        matches!(self.last_attempt(), Error::Plaintext { .. })
    }

    /// True for [`Error::TooLarge`].
    pub fn is_too_large(&self) -> bool {
        matches!(self.last_attempt(), Error::TooLarge { .. })
    }

    /// True for [`Error::Incomplete`]: a query result was cut off.
    pub fn is_incomplete(&self) -> bool {
        matches!(self.last_attempt(), Error::Incomplete { .. })
    }

    /// True for an HTTP 404 from Druid.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// The extension the endpoint needs and the cluster does not load, for
    /// [`Error::MissingExtension`] (also after retries).
    pub fn missing_extension(&self) -> Option<&str> {
        match self {
            Error::MissingExtension { extension, .. } => Some(extension),
            Error::Retried { last, .. } => last.missing_extension(),
            _ => None,
        }
    }

    /// True for [`Error::InvalidInput`].
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::InvalidInput(_))
    }

    /// Whether the failure is transient, so that the same request may
    /// succeed later: no connection could be made, the connection broke, an
    /// attempt timed out, or Druid (or a proxy in front of it) answered 429,
    /// 502, 503 or 504 (other than Druid's own query timeout), or 500 with a
    /// message that means no server could take it. For [`Error::Retried`],
    /// the last failure decides: the transport gave up, but a later call may
    /// still succeed.
    ///
    /// This says nothing about whether repeating is *safe*: a request that
    /// changes something may have taken effect before a 502. The transport's
    /// own retries ask both (see [`RetryPolicy`](crate::RetryPolicy)).
    pub fn is_retryable(&self) -> bool {
        match self.last_attempt() {
            error @ (Error::Connect { .. } | Error::Io { .. } | Error::Timeout { .. }) => {
                crate::retry::failure_reason(crate::Effect::Read, error).is_some()
            }
            Error::Api(api) => {
                crate::retry::status_reason(crate::Effect::Read, api.status, &api.error).is_some()
            }
            _ => false,
        }
    }

    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<StatusCode> {
        self.api().map(|api| api.status)
    }

    /// The details of an [`Error::Api`].
    pub fn api(&self) -> Option<&ApiError> {
        match self.last_attempt() {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The details of an [`Error::Decode`].
    pub fn decode(&self) -> Option<&DecodeError> {
        match self.last_attempt() {
            Error::Decode(decode) => Some(decode),
            _ => None,
        }
    }

    /// The parsed Druid error body of an [`Error::Api`].
    pub fn druid_error(&self) -> Option<&DruidError> {
        self.api().map(|api| &api.error)
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
}

/// Druid answered with a status that is not an answer of the endpoint.
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
    /// The error body, parsed in whatever shape it had.
    pub error: DruidError,
    /// The raw body, as text (lossy UTF-8).
    pub body: String,
}

impl fmt::Display for ApiError {
    /// One line: the status, the operation, Druid's code and message (or a
    /// summary of a body that is not a Druid error, such as an HTML page's
    /// title), then the method and URL; cut to [`MAX_DISPLAY`] characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = format!("Druid answered {} to {}", self.status, self.operation);
        let message = self.error.message().map(|m| clip(m, 200));
        match (self.error.code(), message) {
            (Some(code), Some(message)) if message.starts_with(code) => {
                line.push_str(&format!(": {message}"));
            }
            (Some(code), Some(message)) => line.push_str(&format!(": {code}: {message}")),
            (Some(code), None) => line.push_str(&format!(": {code}")),
            (None, Some(message)) => line.push_str(&format!(": {message}")),
            (None, None) => {}
        }
        line.push_str(&format!(" ({} {})", self.method, self.url));
        f.write_str(&clip(&line, MAX_DISPLAY))
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
    /// An HTML page: Jetty's error pages, or a proxy's (a Router whose
    /// Broker is gone answers 502 with one). The message is the page's title.
    Html,
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
    /// The human-readable message (`errorMessage`, Jetty's `message`, the
    /// title of an HTML page, or the text of a text body).
    pub error_message: Option<String>,
    /// The Java exception class, if the server shared it.
    pub error_class: Option<String>,
    /// The server that failed, as `host:port`, if the server shared it.
    pub host: Option<String>,
    /// Who the message is for: `USER`, `ADMIN`, `OPERATOR` or `DEVELOPER`.
    pub persona: Option<String>,
    /// The DruidException category (`INVALID_INPUT`, `NOT_FOUND`, ...).
    pub category: Option<String>,
    /// The DruidException `context` as Druid sent it: usually an object of
    /// strings, a string in some releases. See [`DruidError::context_entry`].
    pub context: Option<Value>,
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
            context: None,
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
            Err(_) if looks_like_html(trimmed) => {
                let mut error = Self::empty(ErrorShape::Html);
                error.error_message = html_title(trimmed);
                return error;
            }
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
        error.context = map.get("context").filter(|c| !c.is_null()).cloned();
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
    /// A bare `{"error": "<message>"}` has no code. A legacy query error
    /// wrapped in a DruidException (`errorCode: legacyQueryException`) has
    /// its legacy code (`Query timeout`, `Query cancelled`, ...).
    pub fn code(&self) -> Option<&str> {
        match self.shape {
            ErrorShape::Bare => None,
            _ if self.error_code.as_deref() == Some("legacyQueryException") => {
                self.error.as_deref().or(self.error_code.as_deref())
            }
            _ => self.error_code.as_deref().or(self.error.as_deref()),
        }
    }

    /// The best human-readable message the body had. A legacy error whose
    /// `errorMessage` is null (`{"error": "Plan validation failed",
    /// "errorMessage": null}`) has its `error` text as the message.
    pub fn message(&self) -> Option<&str> {
        match self.shape {
            ErrorShape::Bare => self.error.as_deref(),
            ErrorShape::Legacy => self.error_message.as_deref().or(self.error.as_deref()),
            _ => self.error_message.as_deref(),
        }
    }

    /// One entry of the DruidException `context` as text; a context that is
    /// a plain string is the entry `""`.
    pub fn context_entry(&self, key: &str) -> Option<String> {
        match (&self.context, key) {
            (Some(Value::Object(map)), key) => map.get(key).map(|value| match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            (Some(Value::String(s)), "") => Some(s.clone()),
            _ => None,
        }
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .chars()
        .take(512)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with('<') && (head.contains("<html") || head.contains("<!doctype html"))
}

/// The text of an HTML page's `<title>`, else of its first `<h1>`/`<h2>`.
fn html_title(page: &str) -> Option<String> {
    let lower = page.to_ascii_lowercase();
    ["title", "h1", "h2"].iter().find_map(|tag| {
        let open = lower.find(&format!("<{tag}"))?;
        let start = open + lower[open..].find('>')? + 1;
        let end = start + lower[start..].find(&format!("</{tag}"))?;
        let text = page.get(start..end)?;
        let text = strip_tags(text);
        let text = text
            .replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        let text = collapse_whitespace(&text);
        (!text.is_empty()).then_some(text)
    })
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `text` on one line (runs of white space, line breaks included, become
/// one space), cut to at most `max` characters with `...` at the cut.
pub fn clip(text: &str, max: usize) -> String {
    // The line is made up to one character past `max`, not further: the
    // work is bounded by `max`, not by the text (an error body of a MiB).
    let mut line = String::new();
    let mut chars = 0;
    'words: for word in text.split_whitespace() {
        if chars > 0 {
            line.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            if chars > max {
                break 'words;
            }
            line.push(c);
            chars += 1;
        }
    }
    if chars <= max {
        return line;
    }
    let mut out: String = line.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// An answer whose body did not match the expected type.
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

impl DecodeError {
    /// A decode error of an answer: `expected` is the Rust type, `path`
    /// where in the document it failed, `body` the bytes around it (kept as
    /// a short one-line snippet).
    pub fn new(
        operation: impl Into<String>,
        url: &url::Url,
        expected: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
        body: &[u8],
    ) -> Self {
        DecodeError {
            operation: operation.into(),
            url: crate::transport::sanitize(url),
            expected: expected.into(),
            path: path.into(),
            message: message.into(),
            snippet: snippet(body, 120),
        }
    }
}

impl fmt::Display for DecodeError {
    /// One line, cut to [`MAX_DISPLAY`] characters: the operation, the
    /// expected type, the JSON path and the problem, then the start of the
    /// body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = format!(
            "the answer of {} is not a {}: at `{}`: {}; body starts: {}",
            self.operation,
            short_type_name(&self.expected),
            self.path,
            clip(&self.message, 120),
            self.snippet
        );
        f.write_str(&clip(&line, MAX_DISPLAY))
    }
}

impl std::error::Error for DecodeError {}

/// `alloc::vec::Vec<druid_api::models::TaskStatus>` -> `Vec<TaskStatus>`.
fn short_type_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut segment = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or_default());
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or_default());
    out
}

/// The first `max` characters of a body, on one line, with `...` when cut.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    clip(&String::from_utf8_lossy(body), max)
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
    fn legacy_shape_without_message_has_the_error_as_message() {
        let e = DruidError::parse(br#"{"error":"Plan validation failed","errorMessage":null}"#);
        assert_eq!(e.shape, ErrorShape::Legacy);
        assert_eq!(e.code(), Some("Plan validation failed"));
        assert_eq!(e.message(), Some("Plan validation failed"));
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
        assert_eq!(e.context_entry("line").as_deref(), Some("1"));
        assert_eq!(e.context_entry("n").as_deref(), Some("2"));
        assert_eq!(e.context_entry("missing"), None);
    }

    #[test]
    fn druid_exception_with_a_string_context_keeps_it() {
        let e = DruidError::parse(
            br#"{"error":"druidException","errorCode":"general","persona":"USER","category":"RUNTIME_FAILURE","errorMessage":"boom","context":"while planning"}"#,
        );
        assert_eq!(e.shape, ErrorShape::DruidException);
        assert_eq!(e.context, Some(Value::from("while planning")));
        assert_eq!(e.context_entry("").as_deref(), Some("while planning"));
    }

    #[test]
    fn a_wrapped_legacy_error_has_its_legacy_code() {
        let e = DruidError::parse(
            br#"{"error":"Query timeout","errorClass":"org.apache.druid.query.QueryTimeoutException","host":"localhost:8283","errorCode":"legacyQueryException","persona":"OPERATOR","category":"TIMEOUT","errorMessage":"Query [q] timed out!","context":{"legacyErrorCode":"Query timeout"}}"#,
        );
        assert_eq!(e.shape, ErrorShape::DruidException);
        assert_eq!(e.code(), Some("Query timeout"));
        assert_eq!(e.category.as_deref(), Some("TIMEOUT"));
        assert_eq!(e.message(), Some("Query [q] timed out!"));
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
    fn html_pages_are_their_title() {
        let page = "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n\
                    <title>Error 502 Bad Gateway</title>\n</head>\n<body><h2>HTTP ERROR 502 Bad Gateway</h2>\n\
                    <table>\n<tr><th>URI:</th><td>/druid/v2/sql</td></tr>\n</table>\n</body>\n</html>\n";
        let e = DruidError::parse(page.as_bytes());
        assert_eq!(e.shape, ErrorShape::Html);
        assert_eq!(e.message(), Some("Error 502 Bad Gateway"));
        let e =
            DruidError::parse(b"<!DOCTYPE html><html><body><h1>Bad &amp; gone</h1></body></html>");
        assert_eq!(e.message(), Some("Bad & gone"));
        let e = DruidError::parse(b"<html><body>no title</body></html>");
        assert_eq!((e.shape, e.message()), (ErrorShape::Html, None));
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
    fn clip_makes_one_bounded_line() {
        assert_eq!(clip("a\n  b\tc", 10), "a b c");
        assert_eq!(clip("ééééé", 4), "é...");
        assert_eq!(clip("abcd", 4), "abcd");
        assert_eq!(snippet(b"ab\ncd", 5), "ab cd");
        // The same as collapsing the whole text, then cutting it.
        let naive = |text: &str, max: usize| {
            let line = collapse_whitespace(text);
            if line.chars().count() <= max {
                return line;
            }
            let mut out: String = line.chars().take(max.saturating_sub(3)).collect();
            out.push_str("...");
            out
        };
        for text in [
            "",
            " ",
            "abc",
            "ab cd",
            " ab  cd ",
            "a\n\nb é\tcd",
            "abcdef ghij",
        ] {
            for max in 0..14 {
                assert_eq!(clip(text, max), naive(text, max), "{text:?} {max}");
            }
        }
        let huge = "word \n".repeat(200_000);
        assert_eq!(clip(&huge, 12), "word word...");
    }

    #[test]
    fn type_names_are_shortened() {
        assert_eq!(
            short_type_name("alloc::vec::Vec<druid_api::models::TaskStatus>"),
            "Vec<TaskStatus>"
        );
        assert_eq!(
            short_type_name(
                "core::option::Option<std::collections::BTreeMap<alloc::string::String, f64>>"
            ),
            "Option<BTreeMap<String, f64>>"
        );
    }
}
