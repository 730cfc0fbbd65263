//! A complete response, and what a status and a body mean for an endpoint.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use url::Url;

use crate::error::{ApiError, DecodeError, DruidError, Error, Result, snippet};
use crate::transport::sanitize;

/// A complete response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) url: Url,
    pub(crate) method: Method,
    pub(crate) operation: String,
    /// Attempts and time, when it took more than one attempt.
    pub(crate) retried: Option<(u32, Duration)>,
}

impl Response {
    /// A `200` JSON answer the client made rather than received: what a
    /// retried request's earlier attempt, taken but with its answer lost,
    /// would have had (see [`IdentifiedBody`](crate::IdentifiedBody)).
    pub fn recovered(
        url: Url,
        method: Method,
        operation: impl Into<String>,
        body: Bytes,
        attempts: u32,
    ) -> Response {
        Response {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body,
            url,
            method,
            operation: operation.into(),
            retried: (attempts > 1).then_some((attempts, Duration::ZERO)),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The final URL (after redirects), without credentials.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The operation the request was for, e.g. `overlord.task_status`.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Whether the body is empty or only white space.
    pub fn is_empty(&self) -> bool {
        self.body.iter().all(u8::is_ascii_whitespace)
    }

    /// Turns a status other than 2xx into [`Error::Api`].
    pub fn error_for_status(self) -> Result<Self> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(self.into_api_error())
        }
    }

    /// What this response is for an endpoint with these `answers`: the first
    /// one that matches the status and the body decides. A response no
    /// answer matches is [`Error::Api`].
    pub fn answer(self, answers: &[Answer]) -> Result<(Outcome, Self)> {
        let body = BodyKind::of(&self.body);
        match answers.iter().find(|a| a.matches(self.status, body)) {
            Some(answer) => Ok((answer.is, self)),
            None => Err(self.into_api_error()),
        }
    }

    /// How many attempts this answer took (1 unless earlier ones failed).
    pub fn attempts(&self) -> u32 {
        self.retried.map_or(1, |(attempts, _)| attempts)
    }

    /// This response as an [`Error::Api`], whatever its status; inside an
    /// [`Error::Retried`] when earlier attempts failed.
    pub fn into_api_error(self) -> Error {
        let error = Error::Api(Box::new(ApiError {
            status: self.status,
            method: self.method,
            url: self.url.to_string(),
            operation: self.operation,
            error: DruidError::parse(&self.body),
            body: String::from_utf8_lossy(&self.body).into_owned(),
        }));
        match self.retried {
            Some((attempts, elapsed)) => Error::Retried {
                attempts,
                elapsed,
                last: Box::new(error),
            },
            None => error,
        }
    }

    /// Decodes the body as JSON into `T`, naming the JSON path on failure.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value: T = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| self.decode_error::<T>(e.path().to_string(), e.inner().to_string()))?;
        de.end()
            .map_err(|e| self.decode_error::<T>(".".to_owned(), e.to_string()))?;
        Ok(value)
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<String> {
        String::from_utf8(self.body.to_vec())
            .map_err(|e| self.decode_error::<String>(".".to_owned(), e.to_string()))
    }

    /// A [`DecodeError`] for this response.
    pub fn decode_error<T>(&self, path: String, message: String) -> Error {
        Error::Decode(Box::new(DecodeError {
            operation: self.operation.clone(),
            url: sanitize(&self.url),
            expected: std::any::type_name::<T>().to_owned(),
            path,
            message,
            snippet: snippet(&self.body, 120),
        }))
    }
}

/// What an answer of an endpoint means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The body is the value: decode it.
    Value,
    /// There is no value (`None`).
    None,
    /// The answer is `true`.
    True,
    /// The answer is `false`.
    False,
}

/// Which statuses an [`Answer`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    /// Exactly this status.
    Is(u16),
    /// Every status of a class: `Class(2)` is 2xx.
    Class(u16),
}

/// Which bodies an [`Answer`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyMatch {
    /// Any body.
    Any,
    /// No body, or only white space.
    Empty,
    /// A JSON document.
    Json,
    /// A body that is not empty and not JSON: a plain-text message.
    Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Empty,
    Json,
    Text,
}

impl BodyKind {
    fn of(body: &[u8]) -> Self {
        if body.iter().all(u8::is_ascii_whitespace) {
            BodyKind::Empty
        } else if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
            BodyKind::Json
        } else {
            BodyKind::Text
        }
    }
}

/// One answer an endpoint can give: a status (or class) and a kind of body,
/// and what that means. The endpoint spec lists them per endpoint; the
/// generated code hands them to [`Response::answer`].
///
/// ```
/// use druid_transport::{Answer, BodyMatch, Outcome, StatusMatch};
/// // A readiness check: 2xx is true, 503 is false, anything else an error.
/// const READY: &[Answer] = &[
///     Answer::new(StatusMatch::Class(2), BodyMatch::Any, Outcome::True),
///     Answer::new(StatusMatch::Is(503), BodyMatch::Any, Outcome::False),
/// ];
/// # let _ = READY;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The statuses covered.
    pub status: StatusMatch,
    /// The bodies covered.
    pub body: BodyMatch,
    /// What it means.
    pub is: Outcome,
}

impl Answer {
    /// An answer.
    pub const fn new(status: StatusMatch, body: BodyMatch, is: Outcome) -> Self {
        Answer { status, body, is }
    }

    /// What every endpoint answers unless its spec says more: a 2xx is the
    /// value.
    pub const SUCCESS: Answer = Answer::new(StatusMatch::Class(2), BodyMatch::Any, Outcome::Value);

    fn matches(&self, status: StatusCode, body: BodyKind) -> bool {
        let status_ok = match self.status {
            StatusMatch::Is(code) => status.as_u16() == code,
            StatusMatch::Class(class) => status.as_u16() / 100 == class,
        };
        let body_ok = match self.body {
            BodyMatch::Any => true,
            BodyMatch::Empty => body == BodyKind::Empty,
            BodyMatch::Json => body == BodyKind::Json,
            BodyMatch::Text => body == BodyKind::Text,
        };
        status_ok && body_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &'static str) -> Response {
        Response {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
            url: Url::parse("http://h:1/x").unwrap(),
            method: Method::GET,
            operation: "test.op".to_owned(),
            retried: None,
        }
    }

    #[test]
    fn the_first_matching_answer_decides() {
        const OPTIONAL: &[Answer] = &[
            Answer::new(StatusMatch::Class(2), BodyMatch::Empty, Outcome::None),
            Answer::new(StatusMatch::Class(2), BodyMatch::Text, Outcome::None),
            Answer::SUCCESS,
        ];
        let is = |status, body| response(status, body).answer(OPTIONAL).map(|(is, _)| is);
        assert_eq!(is(204, "").unwrap(), Outcome::None);
        assert_eq!(is(200, " \n").unwrap(), Outcome::None);
        assert_eq!(is(200, "No segments here.").unwrap(), Outcome::None);
        assert_eq!(is(200, r#"{"a":1}"#).unwrap(), Outcome::Value);
        assert_eq!(is(200, "42").unwrap(), Outcome::Value);
        let err = is(404, "").unwrap_err();
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    }

    #[test]
    fn statuses_can_be_answers() {
        const LEADER: &[Answer] = &[
            Answer::new(StatusMatch::Is(404), BodyMatch::Json, Outcome::Value),
            Answer::SUCCESS,
        ];
        let (is, r) = response(404, r#"{"leader":false}"#).answer(LEADER).unwrap();
        assert_eq!(is, Outcome::Value);
        assert_eq!(r.json::<serde_json::Value>().unwrap()["leader"], false);
        // A 404 that is not the JSON answer (Jetty's page) stays an error.
        assert!(response(404, "<html>").answer(LEADER).is_err());
    }
}
