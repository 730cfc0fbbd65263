//! HTTP for the readiness gates and the smoke ingestion, through `ureq` (plaintext only: the
//! gates talk to the cluster's plaintext ports on 127.0.0.1), plus the two probes that are not
//! HTTP: a TCP connect and ZooKeeper's four-letter words.
//!
//! Every status comes back as a [`Response`], 4xx and 5xx included (a gate reads the body of a
//! 503); only a failed exchange (no connection, a timeout, a broken response) is an error. No
//! connection is kept between requests, no redirect is followed, and no proxy from the
//! environment is used.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// A response, its body read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// The status code, e.g. 200.
    pub(crate) status: u16,
    /// Header names (lower-cased) and values, in the order received.
    pub(crate) headers: Vec<(String, String)>,
    /// The body (de-chunked), decoded as lossy UTF-8.
    pub(crate) body: String,
}

impl Response {
    /// Whether the status is 2xx.
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header (name compared case-insensitively).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; the error tells what came instead.
    pub(crate) fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_str(&self.body).map_err(|e| {
            let content_type = self.header("content-type").unwrap_or("none");
            format!(
                "not JSON ({e}; content-type {content_type}): {}",
                self.summary()
            )
        })
    }

    /// A one-line description for progress output, e.g. `HTTP 503: {"error":...}`.
    pub(crate) fn summary(&self) -> String {
        let body: String = self.body.trim().chars().take(160).collect();
        let body = body.replace(['\r', '\n'], " ");
        if body.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {body}", self.status)
        }
    }
}

/// A client for `http://127.0.0.1:<port>`, optionally sending HTTP Basic credentials.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// The `ureq` agent (its configuration; it keeps no connections).
    agent: ureq::Agent,
    /// The value of the `Authorization` header, if any.
    authorization: Option<String>,
    /// The bound on a whole exchange, connecting and reading the body included.
    timeout: Duration,
}

impl Client {
    /// A client without credentials.
    pub(crate) fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_idle_connections(0)
            .max_idle_connections_per_host(0)
            .proxy(None)
            .user_agent("cargo-xtask-druid")
            .build()
            .new_agent();
        Client {
            agent,
            authorization: None,
            timeout,
        }
    }

    /// The same client, sending `Authorization: Basic ...` with every request.
    pub(crate) fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        let token = STANDARD.encode(format!("{user}:{password}"));
        self.authorization = Some(format!("Basic {token}"));
        self
    }

    /// The same client with another timeout.
    pub(crate) fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `GET path`.
    pub(crate) fn get(&self, port: u16, path: &str) -> Result<Response, String> {
        let url = url(port, path);
        let request = self.prepare(self.agent.get(&url));
        read(request.call(), self.timeout).map_err(|e| format!("GET {url}: {e}"))
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post_json(
        &self,
        port: u16,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Response, String> {
        let url = url(port, path);
        let request = self
            .prepare(self.agent.post(&url))
            .content_type("application/json");
        read(request.send(body.to_string()), self.timeout).map_err(|e| format!("POST {url}: {e}"))
    }

    /// Adds the credentials and the timeout to a request.
    fn prepare<B>(&self, mut request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        if let Some(authorization) = &self.authorization {
            request = request.header("Authorization", authorization);
        }
        request.config().timeout_global(Some(self.timeout)).build()
    }
}

/// `http://127.0.0.1:<port><path>`.
fn url(port: u16, path: &str) -> String {
    format!("http://127.0.0.1:{port}{path}")
}

/// Reads a whole response, or describes why there is none.
fn read(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    timeout: Duration,
) -> Result<Response, String> {
    let describe = |error: ureq::Error| match error {
        ureq::Error::Timeout(what) => format!("no complete response within {timeout:?} ({what})"),
        ureq::Error::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
            format!("cannot connect: {e}")
        }
        other => other.to_string(),
    };
    let mut response = result.map_err(describe)?;
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let body = response.body_mut().read_to_vec().map_err(describe)?;
    Ok(Response {
        status: response.status().as_u16(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn tcp_open(port: u16, timeout: Duration) -> Result<(), String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&address, timeout)
        .map(drop)
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))
}

/// Sends a ZooKeeper four-letter word (e.g. `ruok`) and returns the answer.
pub(crate) fn zookeeper_four_letter(
    port: u16,
    word: &str,
    timeout: Duration,
) -> Result<String, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.write_all(word.as_bytes()))
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("127.0.0.1:{port}: {e}"))?;
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use super::*;

    /// Serves one connection on 127.0.0.1 with the canned `response`; returns the port and a
    /// handle that yields the request head received.
    fn serve_once(response: &'static str) -> (u16, thread::JoinHandle<String>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut received = Vec::new();
            let mut buffer = [0_u8; 4096];
            while !String::from_utf8_lossy(&received).contains("\r\n\r\n") {
                let n = stream.read(&mut buffer).unwrap();
                assert!(
                    n > 0,
                    "the client closed before the end of the request head"
                );
                received.extend_from_slice(&buffer[..n]);
            }
            stream.write_all(response.as_bytes()).unwrap();
            String::from_utf8_lossy(&received).into_owned()
        });
        (port, handle)
    }

    #[test]
    fn an_error_status_is_a_response_with_its_body() {
        let (port, server) = serve_once(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
             Content-Length: 16\r\nConnection: close\r\n\r\n{\"error\":\"busy\"}",
        );
        let r = Client::new(Duration::from_secs(5))
            .get(port, "/status/health")
            .unwrap();
        assert_eq!(r.status, 503);
        assert!(!r.is_success());
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.summary(), r#"HTTP 503: {"error":"busy"}"#);
        assert_eq!(r.json(), Ok(serde_json::json!({"error": "busy"})));
        let request = server.join().unwrap();
        assert!(
            request.starts_with("GET /status/health HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(!request.to_ascii_lowercase().contains("authorization"));
    }

    #[test]
    fn post_json_sends_basic_auth_and_reads_a_chunked_body() {
        let (port, server) = serve_once(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             2\r\n[{\r\nC;ext=1\r\n\"EXPR$0\":1}]\r\n0\r\n\r\n",
        );
        let r = Client::new(Duration::from_secs(5))
            .with_basic_auth("admin", "admin-pw")
            .post_json(
                port,
                "/druid/v2/sql",
                &serde_json::json!({"query": "SELECT 1"}),
            )
            .unwrap();
        assert!(r.is_success());
        assert_eq!(r.body, r#"[{"EXPR$0":1}]"#);
        assert_eq!(r.json(), Ok(serde_json::json!([{"EXPR$0": 1}])));
        let request = server.join().unwrap().to_ascii_lowercase();
        assert!(
            request.starts_with("post /druid/v2/sql http/1.1\r\n"),
            "{request}"
        );
        // RFC 7617's encoding of `admin:admin-pw`
        assert!(request.contains("\r\nauthorization: basic ywrtaw46ywrtaw4tchc=\r\n"));
        assert!(request.contains("\r\ncontent-type: application/json\r\n"));
    }

    #[test]
    fn a_truncated_body_is_an_error() {
        let (port, server) =
            serve_once("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort");
        let error = Client::new(Duration::from_secs(5))
            .get(port, "/")
            .unwrap_err();
        assert!(
            error.starts_with(&format!("GET http://127.0.0.1:{port}/: ")),
            "{error}"
        );
        server.join().unwrap();
    }

    #[test]
    fn no_listener_is_an_error() {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let error = Client::new(Duration::from_secs(5))
            .get(port, "/")
            .unwrap_err();
        assert!(
            error.starts_with(&format!("GET http://127.0.0.1:{port}/: ")),
            "{error}"
        );
        assert!(tcp_open(port, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn summary_of_an_empty_body_is_the_status() {
        let r = Response {
            status: 204,
            headers: Vec::new(),
            body: " \r\n".to_owned(),
        };
        assert_eq!(r.summary(), "HTTP 204");
        let error = r.json().unwrap_err();
        assert!(error.starts_with("not JSON ("), "{error}");
        assert!(error.ends_with("; content-type none): HTTP 204"), "{error}");
    }
}
