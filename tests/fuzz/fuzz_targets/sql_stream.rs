//! SQL results through the client's public paths, over the mock transport:
//! `stream::<T>()`, `rows::<T>()` and `send()` then `SqlResponse::rows`,
//! with the answer's body in arbitrary chunks and, maybe, Druid's trailer
//! saying the response is incomplete, compared with the decoder itself.
//!
//! The input: one byte for the format, one for the header options (bit 0
//! `header`, bit 1 `typesHeader`, bit 2 `sqlTypesHeader`) and the row type
//! (the bits above), one of flags (bit 0: the trailer says incomplete; bit
//! 1: the answer is a 500; bits 2-4: how many chunk sizes follow), the
//! sizes (size - 1, a byte each, used in turn), then the body.
//!
//! Invariants: no panic; the stream hands out exactly the rows the decoder
//! reads, then an error exactly when the decoder fails or the trailer says
//! so (`Error::Incomplete` for a cut-off result or the trailer, a decode
//! error for a row that does not fit); `rows()` is the stream collected;
//! `send()` decodes the same rows, and is `Error::Incomplete` only on the
//! trailer or a result the decoder does not read either (it reads the
//! whole answer, trailers included, and checks the end marker); a refused
//! query is `Error::Api` with its status everywhere; every error's
//! `Display` is one bounded line. White space after the blank line that
//! ends a result is a known bug (`send()` refuses it, the decoder reads
//! it): an error only with `DRUID_FUZZ_STRICT=1`.

#![no_main]

#[path = "common.rs"]
mod common;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use druid_api::models::ResultFormat;
use druid_api::prelude::*;
use druid_api::{Client, MockResponse};
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use common::{PASSWORD, check_api_error};

#[derive(Debug, PartialEq, Deserialize)]
struct Row {
    page: String,
    added: i64,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Loose {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    added: Option<f64>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

/// The answer the mock gives the query of the current input.
static ANSWER: Mutex<Option<MockResponse>> = Mutex::new(None);

fn client() -> &'static Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Client::builder()
            .retry(common::instant_retries())
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
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime")
    })
}

struct Input {
    format: ResultFormat,
    header: bool,
    types_header: bool,
    sql_types_header: bool,
    row_type: u8,
    trailer: bool,
    refused: bool,
    chunks: Vec<Bytes>,
    body: Vec<u8>,
}

fn parse(data: &[u8]) -> Option<Input> {
    let (&format, rest) = data.split_first()?;
    let (&options, rest) = rest.split_first()?;
    let (&flags, rest) = rest.split_first()?;
    let count = usize::from((flags >> 2) % 8).min(rest.len());
    let (sizes, body) = rest.split_at(count);
    let sizes: Vec<usize> = sizes.iter().map(|&s| usize::from(s) + 1).collect();
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
    let header = options & 1 != 0;
    Some(Input {
        format: match format % 5 {
            0 => ResultFormat::Object,
            1 => ResultFormat::Array,
            2 => ResultFormat::ObjectLines,
            3 => ResultFormat::ArrayLines,
            _ => ResultFormat::Csv,
        },
        header,
        // The client refuses the type headers without the header.
        types_header: header && options & 2 != 0,
        sql_types_header: header && options & 4 != 0,
        row_type: options >> 3,
        trailer: flags & 1 != 0,
        refused: flags & 2 != 0,
        chunks,
        body: body.to_vec(),
    })
}

fn request(input: &Input) -> druid_api::SqlRequest {
    client()
        .sql("SELECT page, added FROM wiki")
        .result_format(input.format.clone())
        .header(input.header)
        .types_header(input.types_header)
        .sql_types_header(input.sql_types_header)
}

fn check<T: DeserializeOwned + PartialEq + Debug + Send + 'static>(input: &Input, data: &[u8]) {
    let decoded = druid_api::__fuzz::decode_rows::<T>(
        input.format.clone(),
        input.header,
        input.types_header,
        input.sql_types_header,
        input.chunks.clone(),
    );

    // The stream.
    let mut stream = request(input).stream::<T>();
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
    if let Some(e) = &error {
        check_api_error(e, data);
    }
    if input.refused {
        let e = error.as_ref().expect("a refused query is an error");
        assert_eq!(
            e.status().map(|s| s.as_u16()),
            Some(500),
            "a refused query: {e}"
        );
        assert!(rows.is_empty());
    } else {
        assert_eq!(
            rows, decoded.rows,
            "the stream's rows are not the decoder's"
        );
        match (&decoded.error, &error) {
            (None, None) => assert!(!input.trailer, "the trailer's failure was missed"),
            (None, Some(e)) => {
                assert!(
                    input.trailer,
                    "the stream failed where the decoder did not: {e}"
                );
                assert!(
                    e.is_incomplete(),
                    "the trailer's failure is not Incomplete: {e}"
                );
            }
            (Some(d), Some(e)) if d.cut_off => {
                assert!(e.is_incomplete(), "a cut-off result is not Incomplete: {e}");
            }
            (Some(_), Some(e)) => {
                assert!(
                    e.decode().is_some(),
                    "a row that does not fit is not a decode error: {e}"
                );
            }
            (Some(d), None) => panic!("the decoder failed ({d:?}), the stream did not"),
        }
        if let (Some(columns), false) = (&decoded.columns, input.refused) {
            assert_eq!(
                stream.columns(),
                Some(columns.as_slice()),
                "the stream's columns"
            );
        }
    }

    // rows(): the stream, collected.
    match runtime().block_on(request(input).rows::<T>()) {
        Ok(all) => {
            assert!(error.is_none(), "rows() succeeded where the stream failed");
            assert_eq!(all, rows, "rows() is not the stream collected");
        }
        Err(e) => {
            check_api_error(&e, data);
            let s = error
                .as_ref()
                .expect("rows() failed where the stream did not");
            assert_eq!(
                (e.is_incomplete(), e.decode().is_some(), e.status()),
                (s.is_incomplete(), s.decode().is_some(), s.status()),
                "rows() fails otherwise than the stream: {e} / {s}"
            );
        }
    }

    // send(): the whole answer, its trailers included, then its rows.
    match runtime().block_on(request(input).send()) {
        Ok(response) => {
            assert!(!input.refused, "send() succeeded on a refused query");
            assert!(!input.trailer, "send() succeeded on the trailer's failure");
            match response.rows::<T>() {
                Ok(all) => {
                    assert!(
                        decoded.error.is_none(),
                        "send() reads rows the decoder does not"
                    );
                    assert_eq!(all, decoded.rows, "send()'s rows are not the decoder's");
                }
                Err(e) => {
                    check_api_error(&e, data);
                    assert!(decoded.error.is_some(), "send()'s rows fail: {e}");
                }
            }
            if let Err(e) = response.columns() {
                check_api_error(&e, data);
            }
            let _ = response.csv_rows();
        }
        Err(e) => {
            check_api_error(&e, data);
            // A refused query; or, incomplete, the trailer's failure or a
            // result without its end marker (which the decoder reads too).
            assert!(
                input.refused || (e.is_incomplete() && (input.trailer || decoded.error.is_some())),
                "send() failed: {e}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = parse(data) else { return };
    let mut answer = if input.refused {
        MockResponse::chunked(500, input.chunks.clone()).header("content-type", "application/json")
    } else {
        MockResponse::chunked(200, input.chunks.clone())
    };
    if input.trailer {
        answer = answer
            .trailer("X-Druid-Response-Complete", "false")
            .trailer("X-Error-Message", "Query timeout");
    }
    let _ = &input.body;
    if let Ok(mut current) = ANSWER.lock() {
        *current = Some(answer);
    }
    match input.row_type % 4 {
        0 => check::<Value>(&input, data),
        1 => check::<Row>(&input, data),
        2 => check::<(String, i64)>(&input, data),
        _ => check::<Loose>(&input, data),
    }
    settle();
});

/// Runs what the paths spawned (the cancel request of a query whose answer
/// was not read to its end) to its end. The mock answers at once, so no
/// `block_on` above ever waited, and the current-thread runtime ran none of
/// them: they piled up, 2 KiB an input.
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
