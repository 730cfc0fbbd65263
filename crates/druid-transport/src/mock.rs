//! The mock backend: answers requests with a function, for offline tests.

use std::fmt;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

pub(crate) type MockFn = dyn Fn(&MockRequest) -> MockResponse + Send + Sync;

/// A request as a mock backend sees it: exactly what would go on the wire.
///
/// `Debug` shows secret headers as `Sensitive` and the body's size only.
#[derive(Clone)]
#[non_exhaustive]
pub struct MockRequest {
    /// The method.
    pub method: Method,
    /// The full URL, query included.
    pub url: Url,
    /// All headers, `Authorization` and `Content-Type` included.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

impl fmt::Debug for MockRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &self.headers)
            .field("body", &format_args!("{} bytes", self.body.len()))
            .finish()
    }
}

/// The answer of a mock backend.
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) chunks: Vec<Bytes>,
    pub(crate) trailers: Option<HeaderMap>,
}

impl MockResponse {
    /// A response with a status and a body.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self::chunked(status, [body.into()])
    }

    /// A response whose body arrives in these chunks, as a streamed answer
    /// does.
    pub fn chunked(status: u16, chunks: impl IntoIterator<Item = Bytes>) -> Self {
        MockResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
            trailers: None,
        }
    }

    /// Adds a trailer, sent after the body; an invalid one is ignored.
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            HeaderValue::try_from(value),
        ) {
            self.trailers
                .get_or_insert_with(HeaderMap::new)
                .append(name, value);
        }
        self
    }

    /// A `200` response with a JSON body.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::new(200, value.to_string()).header("content-type", "application/json")
    }

    /// Adds a header; an invalid one is ignored.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(name), Ok(value)) = (
            header::HeaderName::try_from(name),
            HeaderValue::try_from(value),
        ) {
            self.headers.append(name, value);
        }
        self
    }
}
