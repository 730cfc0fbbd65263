//! Native scan results through `client.scan_rows::<serde_json::Value>()`
//! (the streamed path: batches decoded as the chunks arrive, their `events`
//! handed out one by one), its `collect_rows()`, and `native_query()` (the
//! whole answer), over the mock transport: arbitrary bodies in arbitrary
//! chunks, maybe with Druid's trailer saying the response is incomplete.
//!
//! The input: a first line of options, then the body:
//!
//! ```text
//! 200 chunk=5,1,64 incomplete
//! [{"segmentId":"wiki_2016","columns":["page"],"events":[{"page":"Main"}]}]
//! ```
//!
//! Options: the status (200 unless given); `chunk=A,B,...` (the body
//! arrives in chunks of these sizes, used in turn; one chunk without);
//! `incomplete` (the trailers say `X-Druid-Response-Complete: false`) or
//! `complete` (they say `true`).
//!
//! Invariants: no panic; the stream hands out rows, then at most one error,
//! last; it ends without an error exactly when the status is 2xx, the
//! whole body parses (`serde_json`) as an array of scan batches and the
//! trailer does not say incomplete, and then its rows are the `events` of
//! those batches in order; when the body parses but the trailer says
//! incomplete, the rows are all there and the error is `is_incomplete()`;
//! a refused query is an error with its status and no rows;
//! `collect_rows()` is the stream collected; `native_query()` reads the
//! same batches, and fails on the trailer too; every error's `Display` is
//! one bounded line.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use druid_api::prelude::*;
use druid_api::{Client, MockResponse};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde_json::Value;

use common::{PASSWORD, check_api_error};

/// A scan batch as the client reads it: its `events` (none when missing),
/// the rest ignored.
#[derive(Debug, Deserialize)]
struct Batch {
    #[serde(default = "Vec::new")]
    events: Vec<Value>,
}

/// The answer the mock gives the query of the current input.
static ANSWER: Mutex<Option<MockResponse>> = Mutex::new(None);

fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder()
            .retry(common::instant_retries())
            // Every retry the policy allows, however many inputs ran in the
            // last seconds: the same input, the same path.
            .retry_budget(druid_api::transport::RetryBudget::unlimited())
            .url("http://localhost:8888")
            .basic_auth("admin", PASSWORD)
            .mock(|request| {
                if request.method == druid_api::transport::http::Method::DELETE {
                    return MockResponse::new(202, "");
                }
                ANSWER
                    .lock()
                    .ok()
                    .and_then(|a| a.clone())
                    .unwrap_or_else(|| MockResponse::new(599, ""))
            })
            .build()
            .expect("the mock client builds")
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        // The clock paused: a retry's zero wait (or a wait for a timer
        // while nothing else runs) takes no real time.
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime")
    })
}

fn query() -> Value {
    serde_json::json!({
        "queryType": "scan",
        "dataSource": "wikipedia",
        "intervals": ["2016-06-27/2016-06-28"],
        "columns": ["__time", "page", "added"],
        "limit": 100
    })
}

/// The rows of a whole body, by the definition: an array of batches,
/// their events in order; `Err` when `serde_json` cannot tell, its nesting
/// limit reached (it counts the outer array, the decoder does not).
fn plain_rows(body: &[u8]) -> Result<Option<Vec<Value>>, ()> {
    match serde_json::from_slice::<Vec<Batch>>(body) {
        Ok(batches) => Ok(Some(batches.into_iter().flat_map(|b| b.events).collect())),
        Err(e) if e.to_string().contains("recursion limit") => Err(()),
        Err(_) => Ok(None),
    }
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = common::head_and_body(data);
    let mut status = 200;
    let mut sizes: Vec<usize> = Vec::new();
    let mut trailer = None;
    for (i, word) in head.split_whitespace().enumerate() {
        match word {
            "incomplete" => trailer = Some("false"),
            "complete" => trailer = Some("true"),
            _ => {
                if let Some(list) = word.strip_prefix("chunk=") {
                    sizes = list
                        .split(',')
                        .filter_map(|n| n.parse::<usize>().ok())
                        .filter(|&n| n > 0)
                        .take(8)
                        .collect();
                } else if i == 0
                    && let Some(s) = word.parse::<u16>().ok().filter(|s| (100..=999).contains(s))
                {
                    status = s;
                }
            }
        }
    }
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let size = sizes
            .get(chunks.len() % sizes.len().max(1))
            .copied()
            .unwrap_or(body.len());
        let end = (at + size).min(body.len());
        chunks.push(Bytes::copy_from_slice(&body[at..end]));
        at = end;
    }
    let mut answer = MockResponse::chunked(status, chunks);
    if let Some(complete) = trailer {
        answer = answer
            .trailer("X-Druid-Response-Complete", complete)
            .trailer("X-Error-Message", "Query timeout");
    }
    if let Ok(mut current) = ANSWER.lock() {
        *current = Some(answer);
    }
    let success = (200..300).contains(&status);
    let incomplete = trailer == Some("false");
    let Ok(plain) = plain_rows(body) else {
        return;
    };
    // The stream.
    let query = query();
    let mut stream = client().scan_rows::<Value>(&query);
    let (mut rows, mut error) = (Vec::new(), None);
    runtime().block_on(async {
        while let Some(item) = stream.next_row().await {
            match item {
                Ok(row) => {
                    assert!(error.is_none(), "a row after the stream's error");
                    rows.push(row);
                }
                Err(e) => {
                    assert!(error.is_none(), "a second error");
                    error = Some(e);
                }
            }
        }
    });
    drop(stream);
    if let Some(e) = &error {
        check_api_error(e, data);
    }
    if !success {
        let e = error.as_ref().expect("a refused query is an error");
        assert!(rows.is_empty(), "rows of a refused query");
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{e}");
        }
    } else {
        match (&plain, &error) {
            (Some(all), None) => {
                assert!(!incomplete, "the trailer's failure was missed");
                assert_eq!(&rows, all, "the stream's rows are not the body's");
            }
            (Some(all), Some(e)) => {
                assert!(incomplete, "a body that parses failed: {e}");
                assert!(e.is_incomplete(), "the trailer's failure: {e}");
                assert_eq!(&rows, all, "rows before the trailer's failure");
            }
            (None, Some(_)) => {}
            (None, None) => panic!("the stream read a body that does not parse: {rows:?}"),
        }
    }

    // collect_rows(): the stream, collected.
    let collected = runtime().block_on(client().scan_rows::<Value>(&query).collect_rows());
    match (&collected, &error) {
        (Ok(all), None) => assert_eq!(all, &rows, "collect_rows() is not the stream"),
        (Err(e), Some(s)) => {
            check_api_error(e, data);
            assert_eq!(
                (e.is_incomplete(), e.decode().is_some(), e.status()),
                (s.is_incomplete(), s.decode().is_some(), s.status()),
                "collect_rows() fails otherwise than the stream: {e} / {s}"
            );
        }
        (Ok(_), Some(e)) => panic!("collect_rows() succeeded where the stream failed: {e}"),
        (Err(e), None) => panic!("collect_rows() failed where the stream did not: {e}"),
    }

    // native_query(): the whole answer.
    let whole = runtime().block_on(client().native_query::<Vec<Batch>>(&query));
    match whole {
        Ok(answer) => {
            assert!(
                success && !incomplete,
                "native_query() read {status}, {trailer:?}"
            );
            let all: Vec<Value> = answer.result.into_iter().flat_map(|b| b.events).collect();
            assert_eq!(Some(&all), plain.as_ref(), "native_query() rows");
        }
        Err(e) => {
            check_api_error(&e, data);
            assert!(
                !success || incomplete || plain.is_none(),
                "native_query() failed: {e}"
            );
            if success && incomplete && plain.is_some() {
                assert!(e.is_incomplete(), "native_query() on the trailer: {e}");
            }
        }
    }
    settle();
});

/// Runs what the paths spawned (the cancel of a query whose answer was not
/// read to its end) to its end, so that nothing piles up.
fn settle() {
    runtime().block_on(async {
        for _ in 0..16 {
            if tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks()
                == 0
            {
                break;
            }
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(
        runtime().metrics().num_alive_tasks(),
        0,
        "a cancel request did not end"
    );
}
