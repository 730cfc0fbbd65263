//! A response whose body is read as it arrives: data chunks, then the
//! trailers, if the server sends any.
//!
//! Druid streams query results: the status and headers go out before the
//! first row, and a failure after that cannot change the status. Recent
//! releases then say so in HTTP trailers (`X-Druid-Response-Complete:
//! false`, `X-Error-Message`); older ones just stop writing. A
//! [`StreamingResponse`] hands out the body chunk by chunk, keeps the
//! trailers, and tells whether the body ended cleanly.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use http_body_util::BodyExt as _;
use url::Url;

use crate::error::{Error, Result};
use crate::response::Response;
use crate::transport::classify;

/// The most of an error body that is read to build an [`Error::Api`]: the
/// rest is not read (the connection is closed).
pub const MAX_ERROR_BODY: usize = 1 << 20;

/// The trailer with which Druid says whether the response is complete.
pub const RESPONSE_COMPLETE_TRAILER: &str = "x-druid-response-complete";
/// The trailer with Druid's message when a response is not complete.
pub const ERROR_MESSAGE_TRAILER: &str = "x-error-message";

pub(crate) enum BodySource {
    Http(reqwest::Body),
    /// Read already (or a mock's): chunks, then trailers.
    Buffered {
        chunks: VecDeque<Bytes>,
        trailers: Option<HeaderMap>,
    },
}

/// A response with its status and headers, whose body is still to be read.
///
/// Read the body with [`StreamingResponse::chunk`] until it answers `None`,
/// then look at [`StreamingResponse::trailers`]; or read it whole with
/// [`StreamingResponse::collect`]. Dropping it closes the connection if the
/// body was not read to the end.
pub struct StreamingResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) url: Url,
    pub(crate) method: Method,
    pub(crate) operation: String,
    pub(crate) body: BodySource,
    pub(crate) trailers: Option<HeaderMap>,
    pub(crate) finished: bool,
    /// Attempts and time, when it took more than one attempt.
    pub(crate) retried: Option<(u32, Duration)>,
}

impl fmt::Debug for StreamingResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingResponse")
            .field("status", &self.status)
            .field("url", &self.url.as_str())
            .field("operation", &self.operation)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl StreamingResponse {
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

    /// The final URL (after redirects), without credentials.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The operation the request was for, e.g. `broker.sql_query`.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Whether the body has been read to its end.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The trailers, once the body has been read to its end and the server
    /// sent some.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }

    /// Whether Druid's trailers say the response is incomplete, with its
    /// message: `Some(message)` for `X-Druid-Response-Complete: false`.
    /// `None` when the trailers say it is complete, or there are none.
    pub fn incomplete_by_trailer(&self) -> Option<String> {
        incomplete_by_trailer(self.trailers.as_ref())
    }

    /// The next chunk of the body; `None` at its end (the trailers, if any,
    /// are then in [`StreamingResponse::trailers`]).
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] when the request's time limit passes while
    /// reading, [`Error::Io`] when the connection breaks (a cut-off body).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>> {
        if self.finished {
            return Ok(None);
        }
        match &mut self.body {
            BodySource::Buffered { chunks, trailers } => match chunks.pop_front() {
                Some(chunk) => Ok(Some(chunk)),
                None => {
                    self.trailers = trailers.take();
                    self.finished = true;
                    Ok(None)
                }
            },
            BodySource::Http(body) => loop {
                match body.frame().await {
                    None => {
                        self.finished = true;
                        return Ok(None);
                    }
                    Some(Err(e)) => return Err(classify(e, &self.url)),
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) if data.is_empty() => continue,
                        Ok(data) => return Ok(Some(data)),
                        Err(frame) => {
                            if let Ok(trailers) = frame.into_trailers() {
                                match &mut self.trailers {
                                    Some(all) => all.extend(trailers),
                                    None => self.trailers = Some(trailers),
                                }
                            }
                        }
                    },
                }
            },
        }
    }

    /// Reads the whole body, however large (an endpoint's answer read by
    /// the transport is bounded by `max_response_bytes`; a query result
    /// collected here is as large as the query asked for).
    ///
    /// # Errors
    ///
    /// As [`StreamingResponse::chunk`], and [`Error::Incomplete`] when
    /// Druid's trailers say the answer is incomplete (a query that failed
    /// after its first rows).
    pub async fn collect(mut self) -> Result<Response> {
        // A body of one chunk (the usual small answer) is kept without a copy.
        let mut only: Option<Bytes> = None;
        let mut joined = BytesMut::new();
        while let Some(chunk) = self.chunk().await? {
            if let Some(previous) = only.take() {
                joined.extend_from_slice(&previous);
            }
            if joined.is_empty() {
                only = Some(chunk);
            } else {
                joined.extend_from_slice(&chunk);
            }
        }
        let body = only.unwrap_or_else(|| joined.freeze());
        if let Some(reason) = self.incomplete_by_trailer() {
            return Err(Error::Incomplete {
                query_id: query_id_of(&self.headers),
                operation: self.operation,
                rows: None,
                reason: format!("Druid reports: {reason}"),
                source: None,
            });
        }
        Ok(Response {
            status: self.status,
            headers: self.headers,
            body,
            url: self.url,
            method: self.method,
            operation: self.operation,
            retried: self.retried,
        })
    }

    /// The same response with its body read into memory, failures to read
    /// it included; the trailers are kept. A successful answer larger than
    /// `limit` (after decompression) is [`Error::TooLarge`]; of any other,
    /// at most [`MAX_ERROR_BODY`] is read.
    pub(crate) async fn buffered_checked(mut self, limit: usize) -> Result<Self> {
        if !self.status.is_success() {
            return Ok(self.buffered().await);
        }
        let mut chunks = VecDeque::new();
        let mut size = 0_usize;
        while let Some(chunk) = self.chunk().await? {
            size = size.saturating_add(chunk.len());
            if size > limit {
                return Err(Error::TooLarge {
                    operation: self.operation.clone(),
                    url: crate::transport::sanitize(&self.url),
                    limit,
                });
            }
            chunks.push_back(chunk);
        }
        self.body = BodySource::Buffered {
            chunks,
            trailers: self.trailers.take(),
        };
        self.finished = false;
        Ok(self)
    }

    /// The same response with at most [`MAX_ERROR_BODY`] of its body read
    /// into memory (for an error answer); a failure to read ends the body.
    pub(crate) async fn buffered(mut self) -> Self {
        if let BodySource::Buffered { chunks, .. } = &mut self.body
            && chunks.len() <= 1
            && chunks.front().is_none_or(|c| c.len() <= MAX_ERROR_BODY)
        {
            return self;
        }
        let body = self.read_error_body().await;
        self.body = BodySource::Buffered {
            chunks: VecDeque::from([body]),
            trailers: self.trailers.take(),
        };
        self.finished = false;
        self
    }

    /// The bytes of a body read with [`StreamingResponse::buffered`] (empty
    /// otherwise).
    pub(crate) fn buffered_bytes(&self) -> &[u8] {
        match &self.body {
            BodySource::Buffered { chunks, .. } => chunks.front().map_or(&[], |c| &c[..]),
            BodySource::Http(_) => &[],
        }
    }

    /// At most [`MAX_ERROR_BODY`] bytes of the rest of the body; a read
    /// error ends it (what arrived is what Druid's error is read from).
    async fn read_error_body(&mut self) -> Bytes {
        let mut body = BytesMut::new();
        while body.len() < MAX_ERROR_BODY {
            match self.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_ERROR_BODY - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) | Err(_) => break,
            }
        }
        body.freeze()
    }

    /// This response as an [`Error::Api`], reading at most 1 MiB of its
    /// body for Druid's error.
    pub async fn into_api_error(mut self) -> Error {
        let body = self.read_error_body().await;
        Response {
            status: self.status,
            headers: std::mem::take(&mut self.headers),
            body,
            url: self.url.clone(),
            method: self.method.clone(),
            operation: std::mem::take(&mut self.operation),
            retried: self.retried,
        }
        .into_api_error()
    }

    /// Turns a status other than 2xx into [`Error::Api`] (reading at most
    /// 1 MiB of its body).
    pub async fn error_for_status(self) -> Result<Self> {
        if self.status.is_success() {
            Ok(self)
        } else {
            Err(self.into_api_error().await)
        }
    }
}

/// Whether these trailers say the response is incomplete, with Druid's
/// message (see [`StreamingResponse::incomplete_by_trailer`]).
pub(crate) fn incomplete_by_trailer(trailers: Option<&HeaderMap>) -> Option<String> {
    let trailers = trailers?;
    let complete = trailers.get(RESPONSE_COMPLETE_TRAILER)?.to_str().ok()?;
    if complete.trim().eq_ignore_ascii_case("false") {
        let message = trailers
            .get(ERROR_MESSAGE_TRAILER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("the server gave no reason");
        Some(message.to_owned())
    } else {
        None
    }
}

/// The query ID Druid names in an answer's headers, SQL's or native's.
pub(crate) fn query_id_of(headers: &HeaderMap) -> Option<String> {
    ["x-druid-sql-query-id", "x-druid-query-id"]
        .iter()
        .find_map(|name| headers.get(*name)?.to_str().ok())
        .map(str::to_owned)
}
