//! An in-process HTTP/1.1 server for transport edge cases: TLS, auth,
//! timeouts, redirects, error bodies, connection reuse. It is hyper's
//! HTTP/1.1 server, plain or over TLS (rustls), with keep-alive: a client
//! may send many requests over one connection, until an answer says
//! `Connection: close` ([`FakeResponse::close_connection`]). A handler
//! answers each request; every request is recorded, and every accepted TCP
//! connection counted ([`FakeServer::connections`]).
//!
//! It is a fake for our own code paths, never the proof that a Druid API
//! works: that is what the live tests are for.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// Headers, names lower-cased; a header sent more than once has its
    /// values joined with `", "`.
    pub headers: BTreeMap<String, String>,
    /// The body.
    pub body: Vec<u8>,
}

impl FakeRequest {
    /// The path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// A header value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A response the fake sends.
#[derive(Debug, Clone)]
pub struct FakeResponse {
    /// The status, any of `100..=999` (informational ones are not sent as
    /// final answers).
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
    /// How the body is written: in these pieces (chunked transfer
    /// encoding), each after its pause; `None` writes it at once.
    pub pieces: Option<Vec<(usize, Duration)>>,
    /// Trailers sent after a chunked body (to a client that accepts them).
    pub trailers: Vec<(String, String)>,
    /// Breaks the connection after this many body bytes, as a server that
    /// dies mid-answer does.
    pub cut_after: Option<usize>,
}

impl FakeResponse {
    /// A response with a status and a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        FakeResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
            pieces: None,
            trailers: Vec::new(),
            cut_after: None,
        }
    }

    /// Writes the body in chunks of `size` bytes (the last may be shorter),
    /// pausing `pause` before each, with chunked transfer encoding.
    pub fn in_chunks(mut self, size: usize, pause: Duration) -> Self {
        let count = self.body.len().div_ceil(size.max(1)).max(1);
        let mut pieces = vec![(size.max(1), pause); count];
        if let Some(last) = pieces.last_mut() {
            last.0 = self.body.len() - (count - 1) * size.max(1);
        }
        self.pieces = Some(pieces);
        self
    }

    /// Sends a trailer after the body (implies chunked transfer encoding),
    /// declared in a `Trailer` header as Druid declares its own.
    pub fn trailer(mut self, name: &str, value: &str) -> Self {
        self.trailers.push((name.to_owned(), value.to_owned()));
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("trailer"));
        let declared: Vec<&str> = self.trailers.iter().map(|(n, _)| n.as_str()).collect();
        let declared = declared.join(", ");
        self.headers.push(("Trailer".to_owned(), declared));
        if self.pieces.is_none() {
            self.pieces = Some(vec![(self.body.len(), Duration::ZERO)]);
        }
        self
    }

    /// Breaks the connection after `bytes` bytes of the body.
    pub fn cut_after(mut self, bytes: usize) -> Self {
        self.cut_after = Some(bytes);
        if self.pieces.is_none() {
            self.pieces = Some(vec![(self.body.len(), Duration::ZERO)]);
        }
        self
    }

    /// A `200` JSON response.
    pub fn json(value: &serde_json::Value) -> Self {
        Self::new(200, value.to_string()).header("Content-Type", "application/json")
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Answers only after `delay`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Says `Connection: close`: the server closes the connection after
    /// this answer, so the client's next request needs a new one.
    pub fn close_connection(self) -> Self {
        self.header("Connection", "close")
    }
}

type Handler = dyn Fn(&FakeRequest) -> FakeResponse + Send + Sync;

/// A running fake server; it stops when dropped, and then closes the
/// connections it still holds open.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<FakeRequest>>>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // The accept loop owns the connections' tasks: aborting it drops
        // them, which closes every kept-alive connection too.
        self.task.abort();
    }
}

impl FakeServer {
    /// Starts a plain HTTP server on a free loopback port.
    pub async fn start<F>(handler: F) -> FakeServer
    where
        F: Fn(&FakeRequest) -> FakeResponse + Send + Sync + 'static,
    {
        Self::start_with(None, Arc::new(handler)).await
    }

    /// Starts an HTTPS server with the given TLS configuration (which
    /// should offer no ALPN protocol but `http/1.1`: the server speaks
    /// HTTP/1.1 only).
    pub async fn start_tls<F>(config: rustls::ServerConfig, handler: F) -> FakeServer
    where
        F: Fn(&FakeRequest) -> FakeResponse + Send + Sync + 'static,
    {
        Self::start_with(Some(TlsAcceptor::from(Arc::new(config))), Arc::new(handler)).await
    }

    async fn start_with(tls: Option<TlsAcceptor>, handler: Arc<Handler>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests: Arc<Mutex<Vec<FakeRequest>>> = Arc::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let log = requests.clone();
        let counter = connections.clone();
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            let mut open = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                while open.try_join_next().is_some() {}
                let handler = handler.clone();
                let log = log.clone();
                let tls = tls.clone();
                open.spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, handler, log).await;
                            }
                        }
                        None => serve(stream, handler, log).await,
                    }
                });
            }
        });
        FakeServer {
            addr,
            tls: is_tls,
            requests,
            connections,
            task,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:port` (or `https://localhost:port` for TLS, to
    /// match the certificate).
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://127.0.0.1:{}", self.addr.port())
        }
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<FakeRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The targets (path and query) of the requests with this method seen
    /// so far, in order: the `DELETE`s that cancel queries, say.
    pub fn targets_of(&self, method: &str) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .map(|r| r.target)
            .collect()
    }

    /// Waits up to `limit` until a request with this method arrives (a
    /// cancel is sent from a spawned task); its targets, empty when none
    /// came.
    pub async fn wait_for(&self, method: &str, limit: Duration) -> Vec<String> {
        let started = std::time::Instant::now();
        loop {
            let targets = self.targets_of(method);
            if !targets.is_empty() || started.elapsed() >= limit {
                return targets;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A follower Coordinator or Overlord: it answers every request with a
    /// `307` to the same path at `127.0.0.1:leader_port`.
    pub async fn follower_of(leader_port: u16) -> FakeServer {
        FakeServer::start(move |r| {
            FakeResponse::new(307, "").header(
                "Location",
                &format!("http://127.0.0.1:{leader_port}{}", r.target),
            )
        })
        .await
    }

    /// The TCP connections accepted so far, counted before any TLS
    /// handshake (a refused handshake counts too).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Serves HTTP/1.1 requests on one connection until the client closes it,
/// an answer says `Connection: close`, or the server is dropped.
async fn serve<S>(stream: S, handler: Arc<Handler>, log: Arc<Mutex<Vec<FakeRequest>>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| answer(request, handler.clone(), log.clone()));
    // No timer is set, so an idle connection stays open as long as the
    // client keeps it: the client's pool decides, as it would with Druid.
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn answer(
    request: Request<Incoming>,
    handler: Arc<Handler>,
    log: Arc<Mutex<Vec<FakeRequest>>>,
) -> Result<Response<FakeBody>, hyper::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes().to_vec();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|seen| {
                seen.push_str(", ");
                seen.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let request = FakeRequest {
        method: parts.method.as_str().to_owned(),
        target: parts.uri.to_string(),
        headers,
        body,
    };
    if let Ok(mut log) = log.lock() {
        log.push(request.clone());
    }
    let response = handler(&request);
    if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }
    Ok(to_hyper(response))
}

type FakeBody = BoxBody<Bytes, std::io::Error>;

fn to_hyper(response: FakeResponse) -> Response<FakeBody> {
    let status = StatusCode::from_u16(response.status)
        .unwrap_or_else(|_| panic!("the fake cannot answer status {}", response.status));
    let mut builder = Response::builder().status(status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = match response.pieces.clone() {
        None => Full::new(Bytes::from(response.body))
            .map_err(|never| match never {})
            .boxed(),
        Some(pieces) => streamed(response, pieces),
    };
    builder
        .body(body)
        .unwrap_or_else(|e| panic!("the fake's response headers are not valid: {e}"))
}

/// A body written piece by piece, then its trailers, or broken off.
fn streamed(response: FakeResponse, pieces: Vec<(usize, Duration)>) -> FakeBody {
    let mut frames: Vec<(Duration, std::io::Result<Frame<Bytes>>)> = Vec::new();
    let mut at = 0;
    for (size, pause) in pieces {
        let end = (at + size).min(response.body.len());
        let end = response.cut_after.map_or(end, |cut| end.min(cut));
        if end > at {
            let piece = Bytes::copy_from_slice(&response.body[at..end]);
            frames.push((pause, Ok(Frame::data(piece))));
        }
        at = end;
        if response.cut_after.is_some_and(|cut| at >= cut) {
            break;
        }
    }
    if response.cut_after.is_some() {
        // After a pause, so the head and the first pieces are on the wire.
        let pause = Duration::from_millis(50);
        frames.push((pause, Err(std::io::Error::other("the fake breaks off"))));
    } else if !response.trailers.is_empty() {
        let mut trailers = hyper::HeaderMap::new();
        for (name, value) in &response.trailers {
            if let (Ok(name), Ok(value)) = (
                hyper::header::HeaderName::try_from(name.as_str()),
                hyper::header::HeaderValue::try_from(value.as_str()),
            ) {
                trailers.append(name, value);
            }
        }
        frames.push((Duration::ZERO, Ok(Frame::trailers(trailers))));
    }
    let stream = futures_util::stream::unfold(frames.into_iter(), |mut frames| async move {
        let (pause, frame) = frames.next()?;
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        Some((frame, frames))
    });
    StreamBody::new(stream).boxed()
}
