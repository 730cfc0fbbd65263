//! An in-process HTTP/1.1 server for transport edge cases: TLS, auth,
//! timeouts, redirects, error bodies. It answers one request per connection
//! (`Connection: close`) through a handler, and records every request.
//!
//! It is a fake for our own code paths, never the proof that a Druid API
//! works: that is what the live tests are for.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct FakeRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// Headers, names lower-cased.
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
    /// The status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Option<Duration>,
}

impl FakeResponse {
    /// A response with a status and a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        FakeResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
        }
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
}

type Handler = dyn Fn(&FakeRequest) -> FakeResponse + Send + Sync;

/// A running fake server; it stops when dropped.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<FakeRequest>>>,
    task: JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
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

    /// Starts an HTTPS server with the given TLS configuration.
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
        let log = requests.clone();
        let is_tls = tls.is_some();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let log = log.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, &*handler, &log).await;
                            }
                        }
                        None => serve(stream, &*handler, &log).await,
                    }
                });
            }
        });
        FakeServer {
            addr,
            tls: is_tls,
            requests,
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
}

async fn serve<S>(mut stream: S, handler: &Handler, log: &Mutex<Vec<FakeRequest>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    if let Ok(mut log) = log.lock() {
        log.push(request.clone());
    }
    let response = handler(&request);
    if let Some(delay) = response.delay {
        tokio::time::sleep(delay).await;
    }
    let reason = match response.status {
        200 => "OK",
        202 => "Accepted",
        204 => "No Content",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nConnection: close\r\n",
        response.status
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", response.body.len()));
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&response.body).await;
    let _ = stream.shutdown().await;
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<FakeRequest> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buffer.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let mut headers = BTreeMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(FakeRequest {
        method,
        target,
        headers,
        body,
    })
}
