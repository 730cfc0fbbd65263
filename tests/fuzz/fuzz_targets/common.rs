//! What the targets share: running a mock future to its end, and the
//! invariants every error's text keeps.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use druid_transport::error::MAX_DISPLAY;

/// The Basic-auth password of the targets' clients: no error text may show it.
pub const PASSWORD: &str = "fuzz-s3cret-pw";
/// `admin:fuzz-s3cret-pw` in base64, as the `Authorization` header has it.
pub const PASSWORD_B64: &str = "YWRtaW46ZnV6ei1zM2NyZXQtcHc=";

/// The targets' retry policy: the transport's own, without waits, so that
/// an input Druid would answer with "try again" is retried at once (the
/// default waits out up to 45 s, which is a libFuzzer timeout).
pub fn instant_retries() -> druid_transport::RetryPolicy {
    druid_transport::RetryPolicy::default()
        .initial_backoff(std::time::Duration::ZERO)
        .max_backoff(std::time::Duration::ZERO)
}

/// Runs a future that never waits on I/O (the mock transport's) to its end.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..10_000 {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
    }
    panic!("a future over the mock transport did not finish");
}

/// `Display` of an error: one line of at most `MAX_DISPLAY` characters.
pub fn check_line(text: &str, what: &str) {
    let chars = text.chars().count();
    assert!(
        chars <= MAX_DISPLAY,
        "{what}: Display is {chars} characters, more than {MAX_DISPLAY}: {text:?}"
    );
    assert!(
        !text.chars().any(|c| c.is_whitespace() && c != ' '),
        "{what}: Display is not one line: {text:?}"
    );
}

/// Neither the password nor the `Authorization` header shows, unless the
/// server itself sent them (`input` is everything the server said), maybe
/// in other case, percent-encoded or cut by tabs and line breaks: a URL's
/// host is lowercased and percent-decoded, and a URL loses its tabs and
/// line breaks.
pub fn check_secret(text: &str, input: &[u8], what: &str) {
    let lower = text.to_ascii_lowercase();
    for secret in [PASSWORD, PASSWORD_B64] {
        let secret = secret.to_ascii_lowercase();
        // The text is short, the input may not be: the input is searched
        // only when the text shows a secret.
        if lower.contains(&secret) {
            let mut input = input.to_ascii_lowercase();
            input.retain(|b| !matches!(b, b'\t' | b'\n' | b'\r'));
            let decoded = percent_decoded(&input).to_ascii_lowercase();
            // As sent, or decoded (`%cfuzz` is sent as is, `%66uzz` not).
            let sent = [input, decoded]
                .iter()
                .any(|bytes| bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
            assert!(sent, "{what} shows the password: {text}");
        }
    }
}

/// `%XX` decoded, the rest as it is.
fn percent_decoded(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let pair = bytes
            .get(i + 1)
            .copied()
            .and_then(hex)
            .zip(bytes.get(i + 2).copied().and_then(hex));
        match (bytes[i], pair) {
            (b'%', Some((high, low))) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Every invariant of a transport error: `Display` is one bounded line (its
/// sources' too), `Debug` works, no password shows.
pub fn check_transport_error(error: &druid_transport::Error, input: &[u8]) {
    let line = error.to_string();
    check_line(&line, "transport error");
    check_secret(&line, input, "transport error Display");
    let debug = format!("{error:?}");
    check_secret(&debug, input, "transport error Debug");
    let _ = format!("{error:#?}");
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let _ = e.to_string();
        source = e.source();
    }
    if let Some(api) = error.api() {
        check_line(&api.to_string(), "ApiError");
        let _ = (
            api.error.code(),
            api.error.message(),
            api.error.context_entry(""),
        );
    }
    if let Some(decode) = error.decode() {
        check_line(&decode.to_string(), "DecodeError");
    }
    let _ = (
        error.is_timeout(),
        error.is_connect(),
        error.is_tls(),
        error.is_not_found(),
        error.is_retryable(),
        error.status(),
    );
}

/// The same for the client's own error.
pub fn check_api_error(error: &druid_api::Error, input: &[u8]) {
    let line = error.to_string();
    check_line(&line, "druid_api error");
    check_secret(&line, input, "druid_api error Display");
    check_secret(&format!("{error:?}"), input, "druid_api error Debug");
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let _ = e.to_string();
        source = e.source();
    }
    let _ = (
        error.is_timeout(),
        error.is_retryable(),
        error.is_not_found(),
        error.status(),
    );
    if let Some(api) = error.api() {
        check_line(&api.to_string(), "ApiError");
    }
}

/// Splits an input into its first line (trailing `\r` removed, lossy
/// UTF-8) and the rest, for the inputs that read `options\nbody`.
pub fn head_and_body(data: &[u8]) -> (String, &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let head = String::from_utf8_lossy(head);
    (head.trim_end_matches('\r').to_owned(), body)
}

/// `body` in chunks of `size` bytes (one chunk for 0).
pub fn chunks(body: &[u8], size: usize) -> Vec<bytes::Bytes> {
    if size == 0 {
        return vec![bytes::Bytes::copy_from_slice(body)];
    }
    body.chunks(size)
        .map(bytes::Bytes::copy_from_slice)
        .collect()
}

/// The sections of an input made of sections: each a line `== HEADER`,
/// then a body up to the line break before the next such line (what comes
/// before the first is ignored). Gives each header (after `== `, lossy
/// UTF-8) and its body.
pub fn sections(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut rest = data;
    loop {
        let at = if rest.starts_with(b"== ") {
            Some(0)
        } else {
            rest.windows(4).position(|w| w == b"\n== ").map(|at| at + 1)
        };
        let Some(at) = at else {
            if let Some(last) = out.last_mut() {
                last.1.extend_from_slice(rest);
            }
            return out;
        };
        if let Some(last) = out.last_mut() {
            last.1.extend_from_slice(&rest[..at.saturating_sub(1)]);
        }
        let end = rest[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |end| at + end);
        let header = String::from_utf8_lossy(&rest[at + 3..end]);
        out.push((header.trim_end_matches('\r').to_owned(), Vec::new()));
        rest = &rest[(end + 1).min(rest.len())..];
    }
}

/// A status from an input's text: three digits, else `default`.
pub fn status(word: Option<&str>, default: u16) -> u16 {
    word.and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s))
        .unwrap_or(default)
}
