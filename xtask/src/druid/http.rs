//! A tiny HTTP/1.1 client over `std::net::TcpStream`, just enough for readiness gates and the
//! smoke ingestion against the cluster's plaintext ports on 127.0.0.1.
//!
//! One request per connection (`Connection: close`); the response body is delimited by
//! `Content-Length`, by chunked transfer encoding (Druid streams SQL results that way) or by
//! the end of the connection.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A parsed HTTP response.
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
    /// The value of the `Authorization` header, if any.
    authorization: Option<String>,
    /// Connect timeout, and the bound on the whole exchange after connecting.
    timeout: Duration,
}

impl Client {
    /// A client without credentials.
    pub(crate) fn new(timeout: Duration) -> Self {
        Client {
            authorization: None,
            timeout,
        }
    }

    /// The same client, sending `Authorization: Basic ...` with every request.
    pub(crate) fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        let token = base64(format!("{user}:{password}").as_bytes());
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
        self.request("GET", port, path, None)
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post_json(
        &self,
        port: u16,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Response, String> {
        self.request("POST", port, path, Some(&body.to_string()))
    }

    /// Sends one request on a fresh connection and reads the whole response.
    fn request(
        &self,
        method: &str,
        port: u16,
        path: &str,
        body: Option<&str>,
    ) -> Result<Response, String> {
        let what = format!("{method} http://localhost:{port}{path}");
        let deadline = Instant::now() + self.timeout;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut stream = TcpStream::connect_timeout(&address, self.timeout)
            .map_err(|e| format!("{what}: cannot connect: {e}"))?;
        stream
            .set_write_timeout(Some(self.timeout))
            .map_err(|e| format!("{what}: {e}"))?;

        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\
             User-Agent: cargo-xtask-druid\r\nAccept: */*\r\nConnection: close\r\n"
        );
        if let Some(authorization) = &self.authorization {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.unwrap_or_default().as_bytes()))
            .map_err(|e| format!("{what}: cannot send the request: {e}"))?;

        let mut raw = Vec::new();
        let mut buffer = [0_u8; 16 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "{what}: no complete response within {:?}",
                    self.timeout
                ));
            }
            stream
                .set_read_timeout(Some(left))
                .map_err(|e| format!("{what}: {e}"))?;
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(format!(
                        "{what}: no complete response within {:?}",
                        self.timeout
                    ));
                }
                Err(e) => return Err(format!("{what}: cannot read the response: {e}")),
            }
        }
        parse_response(&raw).map_err(|e| format!("{what}: {e}"))
    }
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

/// Parses a complete HTTP/1.x response (everything read until the server closed).
pub(crate) fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let head_end = find(raw, b"\r\n\r\n").ok_or_else(|| {
        if raw.is_empty() {
            "empty response (connection closed)".to_owned()
        } else {
            "incomplete response: no end of headers".to_owned()
        }
    })?;
    let head = std::str::from_utf8(&raw[..head_end])
        .map_err(|_| "the response head is not UTF-8".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let protocol = parts.next().unwrap_or_default();
    if !protocol.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x status line: {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..1000).contains(code))
        .ok_or_else(|| format!("bad status line: {status_line:?}"))?;

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("bad header line: {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: String::new(),
    };

    let rest = &raw[head_end + 4..];
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        decode_chunked(rest)?
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| format!("bad Content-Length: {length:?}"))?;
        rest.get(..length)
            .ok_or_else(|| {
                format!(
                    "truncated body: Content-Length {length}, got {}",
                    rest.len()
                )
            })?
            .to_vec()
    } else {
        rest.to_vec()
    };
    response.body = String::from_utf8_lossy(&body).into_owned();
    Ok(response)
}

/// Decodes a chunked body (`<hex size>[;ext]\r\n<data>\r\n ... 0\r\n\r\n`); trailers are ignored.
fn decode_chunked(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end =
            find(data, b"\r\n").ok_or_else(|| "truncated chunked body: no size line".to_owned())?;
        let size_line = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("bad chunk size: {size_hex:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = data
            .get(..size)
            .ok_or_else(|| format!("truncated chunk: want {size} bytes, got {}", data.len()))?;
        body.extend_from_slice(chunk);
        if data.get(size..size + 2) != Some(b"\r\n".as_slice()) {
            return Err("chunk not followed by CRLF".to_owned());
        }
        data = &data[size + 2..];
    }
}

/// The position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Standard base64 with padding (RFC 4648), for the Basic auth header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let byte = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let triple = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = (triple >> (18 - 6 * i)) & 0x3f;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_body() {
        let raw =
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\ntrue";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.header("Content-Type"), Some("application/json"));
        assert_eq!(r.body, "true");
        assert!(r.is_success());
    }

    #[test]
    fn parses_chunked_body() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    2\r\n[{\r\nC;ext=1\r\n\"EXPR$0\":1}]\r\n0\r\n\r\n";
        let r = parse_response(raw).unwrap();
        assert_eq!(r.body, r#"[{"EXPR$0":1}]"#);
    }

    #[test]
    fn parses_body_until_close_and_empty_bodies() {
        let r = parse_response(b"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nnope").unwrap();
        assert_eq!((r.status, r.body.as_str()), (404, "nope"));
        assert_eq!(r.summary(), "HTTP 404: nope");
        let r = parse_response(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap();
        assert_eq!((r.status, r.body.as_str()), (204, ""));
        assert_eq!(r.summary(), "HTTP 204");
    }

    #[test]
    fn rejects_malformed_responses() {
        assert!(parse_response(b"").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
                .is_err()
        );
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n").is_err());
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("admin:admin-pw", "YWRtaW46YWRtaW4tcHc="),
        ] {
            assert_eq!(base64(input.as_bytes()), expected, "{input}");
        }
    }
}
