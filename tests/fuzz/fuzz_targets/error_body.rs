//! Druid's answers that are errors, in every shape: an arbitrary status,
//! headers (`Content-Type`, `Location`) and body through the transport's
//! whole answer path (the mock backend: redirects, `Answer`s, the error body
//! parsed in all of Druid's shapes, JSON and text decoding), and straight
//! through `DruidError::parse`.
//!
//! The input reads like an HTTP answer, so that the corpus is readable:
//!
//! ```text
//! 404 docker stream chunk=7      <- status, then options
//! content-type: application/json <- headers, up to a blank line
//! location: http://leader.example:8081/x
//!
//! {"error":"..."}                <- the body
//! ```
//!
//! Options: `docker` (a `DockerMapper` instead of the identity mapper),
//! `stream` (the streaming path, whose error reads at most 1 MiB),
//! `chunk=N` (the body arrives in chunks of N bytes).
//!
//! Invariants: no panic; every error's `Display` is one line of at most
//! `MAX_DISPLAY` characters; no password in `Display` or `Debug`; an
//! `Error::Api` has the status sent, the body sent (lossy UTF-8) and the
//! `DruidError` that `DruidError::parse` makes of it.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use druid_transport::{
    Answer, BodyMatch, DockerMapper, DruidError, Error, MockResponse, Outcome, Request,
    StatusMatch, Transport,
};
use libfuzzer_sys::fuzz_target;

use common::{PASSWORD, block_on, check_line, check_transport_error};

struct Case {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    docker: bool,
    stream: bool,
    chunk: usize,
}

fn parse(data: &[u8]) -> Case {
    let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => match data.iter().position(|&b| b == b'\n') {
            Some(at) => (&data[..at], &data[at + 1..]),
            None => (data, &[][..]),
        },
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut words = lines.next().unwrap_or_default().split_whitespace();
    let status = words
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        // HTTP has three-digit statuses only (the mock makes others a 500).
        .filter(|s| (100..=999).contains(s))
        .unwrap_or(500);
    let mut case = Case {
        status,
        headers: Vec::new(),
        body: body.to_vec(),
        docker: false,
        stream: false,
        chunk: 0,
    };
    for word in words {
        match word {
            "docker" => case.docker = true,
            "stream" => case.stream = true,
            _ => {
                if let Some(n) = word.strip_prefix("chunk=").and_then(|n| n.parse().ok()) {
                    case.chunk = n;
                }
            }
        }
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            case.headers
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    case
}

/// The answer the mock gives every request of the current input.
static ANSWER: Mutex<Option<MockResponse>> = Mutex::new(None);

fn transport(docker: bool) -> &'static Transport {
    static IDENTITY: OnceLock<Transport> = OnceLock::new();
    static DOCKER: OnceLock<Transport> = OnceLock::new();
    let make = |docker: bool| {
        let mut builder = Transport::builder()
            .retry(common::instant_retries())
            .basic_auth("admin", PASSWORD)
            .redirect_origins(["leader.example:8081", "[::1]:8081", "10.0.0.1:8081"])
            .mock(|_| {
                ANSWER
                    .lock()
                    .ok()
                    .and_then(|a| a.clone())
                    .unwrap_or_else(|| MockResponse::new(599, ""))
            });
        if docker {
            builder = builder.mapper(DockerMapper::new(
                "localhost",
                [[8899, 8888], [18081, 8081]],
            ));
        }
        builder.build().expect("the mock transport builds")
    };
    if docker {
        DOCKER.get_or_init(|| make(true))
    } else {
        IDENTITY.get_or_init(|| make(false))
    }
}

/// An `Error::Api` tells the answer as it was.
fn check_api(error: &Error, case: &Case) {
    let Some(api) = error.api() else { return };
    assert_eq!(
        api.status.as_u16(),
        case.status,
        "the status of an ApiError"
    );
    assert_eq!(
        api.body,
        String::from_utf8_lossy(&case.body),
        "the body of an ApiError"
    );
    assert_eq!(
        api.error,
        DruidError::parse(&case.body),
        "the parsed body of an ApiError"
    );
}

/// Every way an endpoint can read an answer.
const ANSWERS: &[&[Answer]] = &[
    &[Answer::SUCCESS],
    // isLeader: a 404 with JSON is the value.
    &[
        Answer::new(StatusMatch::Is(404), BodyMatch::Json, Outcome::Value),
        Answer::SUCCESS,
    ],
    // A readiness check.
    &[
        Answer::new(StatusMatch::Class(2), BodyMatch::Any, Outcome::True),
        Answer::new(StatusMatch::Is(503), BodyMatch::Any, Outcome::False),
    ],
    // An optional value: an empty or text 2xx is nothing.
    &[
        Answer::new(StatusMatch::Class(2), BodyMatch::Empty, Outcome::None),
        Answer::new(StatusMatch::Class(2), BodyMatch::Text, Outcome::None),
        Answer::SUCCESS,
    ],
];

fuzz_target!(|data: &[u8]| {
    let case = parse(data);

    // The parser alone.
    let parsed = DruidError::parse(&case.body);
    let _ = (parsed.code(), parsed.message(), parsed.context_entry(""));
    if let Some(message) = parsed.message() {
        let _ = druid_transport::error::clip(message, 200);
    }
    check_line(
        &druid_transport::error::clip(&String::from_utf8_lossy(&case.body), 300),
        "clip",
    );

    // The whole answer path.
    let chunks: Vec<Bytes> = if case.chunk == 0 {
        vec![Bytes::from(case.body.clone())]
    } else {
        case.body
            .chunks(case.chunk)
            .map(Bytes::copy_from_slice)
            .collect()
    };
    let mut answer = MockResponse::chunked(case.status, chunks);
    for (name, value) in &case.headers {
        answer = answer.header(name, value);
    }
    if let Ok(mut current) = ANSWER.lock() {
        *current = Some(answer);
    }
    let transport = transport(case.docker);
    let service = transport.service("http://localhost:8081".parse().expect("a URL"));
    let request = Request::get("/druid/coordinator/v1/isLeader").operation("fuzz.error_body");

    if case.stream {
        match block_on(service.execute_streaming(&request)) {
            Ok(response) => {
                let status = response.status();
                match block_on(response.error_for_status()) {
                    Ok(response) => {
                        assert!(status.is_success());
                        let _ = block_on(response.collect()).map(|r| r.json::<serde_json::Value>());
                    }
                    Err(e) => {
                        check_transport_error(&e, data);
                        check_api(&e, &case);
                    }
                }
            }
            Err(e) => check_transport_error(&e, data),
        }
    } else {
        match block_on(service.execute(&request)) {
            Ok(response) => {
                let _ = (response.is_empty(), response.header("content-type"));
                for answers in ANSWERS {
                    match response.clone().answer(answers) {
                        Ok((_, r)) => {
                            if let Err(e) = r.json::<serde_json::Value>() {
                                check_transport_error(&e, data);
                            }
                            if let Err(e) = r.json::<Vec<(String, i64)>>() {
                                check_transport_error(&e, data);
                            }
                            if let Err(e) = r.text() {
                                check_transport_error(&e, data);
                            }
                        }
                        Err(e) => {
                            check_transport_error(&e, data);
                            check_api(&e, &case);
                        }
                    }
                }
            }
            Err(e) => check_transport_error(&e, data),
        }
    }
});
