//! Asynchronous SQL statements (`/druid/v2/sql/statements`): arbitrary
//! status answers and result pages through the client's public path,
//! `sql(..).submit_async()`, `wait()`, then `page(id)`, `rows()` and
//! `stream()` of the results, over the mock transport.
//!
//! The input: sections, each a line `== NAME [STATUS]` then the answer's
//! body up to the next section (the status 200 unless given): `submit`
//! (the answer of the submission), `status` (of the statement's status),
//! `page N` (of the results' page N; `== page N 400` for a status). What
//! is missing answers 404:
//!
//! ```text
//! == submit
//! {"queryId":"q1","state":"ACCEPTED"}
//! == status
//! {"queryId":"q1","state":"SUCCESS","result":{"pages":[{"id":0,"numRows":2}]}}
//! == page 0
//! {"page":"Main","added":1}
//! {"page":"Talk","added":2}
//!
//! ```
//!
//! The wait has no time: a statement that is not finished is a
//! `WaitTimeout` at once.
//!
//! Invariants: no panic; the submission and the wait succeed exactly when
//! their answers are 2xx `StatementResponse`s, the wait's with `SUCCESS`
//! (`FAILED` and `CANCELED` are `TaskFailed` with the query ID); a page
//! reads exactly when its answer is 2xx and its body is a JSON array of
//! rows or JSON lines of rows (each line a value, the lines ending with a
//! line break, a blank line ending them), with as many rows as its entry in
//! `pages` announces, when it announces; then the rows are those values,
//! in order: a page that cannot be read whole is an error, never fewer
//! rows; `rows()` is every page's rows in order, or the first page's error;
//! `stream()` hands out the same rows, then that error; every error's
//! `Display` is one bounded line. Lines after the blank line that ends a
//! page are a known bug (ignored): only an error with `DRUID_FUZZ_STRICT=1`.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use druid_api::models::{StatementResponse, StatementState};
use druid_api::prelude::*;
use druid_api::{Client, MockResponse};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use serde_json::value::RawValue;

use common::{PASSWORD, check_api_error};

/// The most pages read one by one (the answer may list thousands).
const MAX_PAGES: usize = 32;

/// The answers of the current input.
#[derive(Debug, Clone, Default)]
struct Answers {
    submit: Option<(u16, Vec<u8>)>,
    status: Option<(u16, Vec<u8>)>,
    pages: Vec<(String, u16, Vec<u8>)>,
}

static ANSWERS: Mutex<Option<Answers>> = Mutex::new(None);

fn answer(answer: Option<&(u16, Vec<u8>)>) -> MockResponse {
    match answer {
        Some((status, body)) => {
            MockResponse::new(*status, body.clone()).header("content-type", "application/json")
        }
        None => MockResponse::new(404, "Not Found"),
    }
}

fn mock(request: &druid_api::MockRequest) -> MockResponse {
    let answers = ANSWERS
        .lock()
        .ok()
        .and_then(|a| a.clone())
        .unwrap_or_default();
    let path = request.url.path();
    let method = &request.method;
    if method == druid_api::transport::http::Method::DELETE {
        return MockResponse::new(202, "");
    }
    if !path.starts_with("/druid/v2/sql/statements") {
        // `/status`, which a bare 404 of the statements API makes the
        // transport read: not readable either.
        return MockResponse::new(404, "Not Found");
    }
    if method == druid_api::transport::http::Method::POST {
        return answer(answers.submit.as_ref());
    }
    if path.ends_with("/results") {
        let page = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .map(|(_, v)| v.into_owned());
        let found = answers
            .pages
            .iter()
            .find(|(id, _, _)| Some(id) == page.as_ref())
            .map(|(_, status, body)| (*status, body.clone()));
        return answer(found.as_ref());
    }
    answer(answers.status.as_ref())
}

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
            .mock(mock)
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

fn statement(answer: Option<&(u16, Vec<u8>)>) -> Option<StatementResponse> {
    let (status, body) = answer?;
    if !(200..300).contains(status) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

/// The rows of a page, by the definition: nothing but white space after
/// the blank line that ends JSON lines.
fn page_rows(body: &[u8]) -> Option<Vec<Value>> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        // An array, each row read on its own (as the decoder reads them).
        let rows: Vec<&RawValue> = serde_json::from_slice(body).ok()?;
        return rows
            .into_iter()
            .map(|raw| serde_json::from_str(raw.get()).ok())
            .collect();
    }
    // JSON lines, each ended by a line break.
    let lines = body.strip_suffix(b"\n")?;
    let mut rows = Vec::new();
    let mut lines = lines.split(|&b| b == b'\n');
    for line in lines.by_ref() {
        if line.is_empty() || line == b"\r" {
            break;
        }
        rows.push(serde_json::from_slice(line).ok()?);
    }
    if lines.flatten().any(|b| !matches!(b, b' ' | b'\t' | b'\r')) {
        return None;
    }
    Some(rows)
}

/// A query ID no URL path can hold (the client refuses it).
fn is_bad_id(id: &str) -> bool {
    matches!(id, "" | "." | "..")
}

fuzz_target!(|data: &[u8]| {
    let mut answers = Answers::default();
    for (header, body) in common::sections(data) {
        let mut words = header.split_whitespace();
        match words.next() {
            Some("submit") if answers.submit.is_none() => {
                answers.submit = Some((common::status(words.next(), 200), body));
            }
            Some("status") if answers.status.is_none() => {
                answers.status = Some((common::status(words.next(), 200), body));
            }
            Some("page") => {
                let id = words.next().unwrap_or_default().to_owned();
                if !answers.pages.iter().any(|(known, _, _)| *known == id) {
                    answers
                        .pages
                        .push((id, common::status(words.next(), 200), body));
                }
            }
            _ => {}
        }
    }
    if let Ok(mut current) = ANSWERS.lock() {
        *current = Some(answers.clone());
    }

    // Submitted.
    let submitted = runtime().block_on(client().sql("SELECT * FROM wiki").submit_async());
    let submitted = match submitted {
        Ok(handle) => {
            let want = statement(answers.submit.as_ref())
                .expect("the submission read an answer that is no status");
            assert_eq!(handle.status(), &want, "the submission's status");
            handle
        }
        Err(e) => {
            check_api_error(&e, data);
            assert!(
                statement(answers.submit.as_ref()).is_none(),
                "the submission failed on a status: {e}"
            );
            return;
        }
    };

    // Waited for, without time to wait.
    let status = statement(answers.status.as_ref());
    let results = match runtime().block_on(submitted.wait(Duration::ZERO)) {
        Ok(results) => {
            let want = status.expect("the wait read an answer that is no status");
            assert_eq!(want.state, StatementState::Success, "the wait ended");
            assert_eq!(results.status(), &want, "the wait's status");
            results
        }
        Err(e) => {
            check_api_error(&e, data);
            if is_bad_id(submitted.query_id()) {
                assert!(
                    e.is_invalid_input(),
                    "a query ID that is no path segment: {e}"
                );
                return;
            }
            match &status {
                Some(s) if s.state == StatementState::Success => {
                    panic!("a successful statement failed: {e}")
                }
                Some(s) if matches!(s.state, StatementState::Failed | StatementState::Canceled) => {
                    let druid_api::Error::TaskFailed { task_id, .. } = &e else {
                        panic!("a failed statement is not TaskFailed: {e:?}");
                    };
                    assert_eq!(task_id, &s.query_id, "the failed statement's ID");
                }
                _ => {}
            }
            return;
        }
    };
    // The pages are read by the ID of the final status.
    let bad_id = is_bad_id(results.query_id());
    let _ = (results.columns(), results.num_rows(), results.query_id());

    // Page by page.
    let pages = results.pages();
    let mut read: Vec<(i64, Result<Vec<Value>, druid_api::Error>)> = Vec::new();
    for entry in pages.iter().take(MAX_PAGES) {
        let got = runtime().block_on(results.page::<Value>(entry.id));
        let answer = answers
            .pages
            .iter()
            .find(|(id, _, _)| *id == entry.id.to_string());
        let announced = pages
            .iter()
            .find(|p| p.id == entry.id)
            .and_then(|p| p.num_rows);
        let want = || {
            let (status, body) = answer.map(|(_, s, b)| (*s, b.as_slice()))?;
            let rows = page_rows(body).filter(|_| (200..300).contains(&status))?;
            match announced {
                Some(n) if usize::try_from(n).ok() != Some(rows.len()) => None,
                _ => Some(rows),
            }
        };
        let want = want().filter(|_| !bad_id);
        match &got {
            Ok(rows) => {
                if let Some(n) = announced {
                    assert_eq!(
                        usize::try_from(n).ok(),
                        Some(rows.len()),
                        "page {} has other than the {n} rows announced",
                        entry.id
                    );
                }
                assert_eq!(Some(rows), want.as_ref(), "the rows of page {}", entry.id);
            }
            Err(e) => {
                check_api_error(e, data);
                assert_eq!(want, None, "page {} failed: {e}", entry.id);
                assert!(!bad_id || e.is_invalid_input(), "a bad query ID: {e}");
            }
        }
        read.push((entry.id, got));
    }
    if pages.len() > MAX_PAGES {
        return;
    }

    // Every page: the pages' rows in order, or the first failure.
    let mut all = Vec::new();
    let mut failure = None;
    for (_, got) in &read {
        match got {
            Ok(rows) => all.extend(rows.iter().cloned()),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let same_failure = |e: &druid_api::Error, f: &druid_api::Error| {
        assert_eq!(
            (e.decode().is_some(), e.status(), e.is_invalid_input()),
            (f.decode().is_some(), f.status(), f.is_invalid_input()),
            "another failure than the page's: {e} / {f}"
        );
    };
    match (runtime().block_on(results.rows::<Value>()), failure) {
        (Ok(rows), None) => assert_eq!(rows, all, "rows() is not the pages' rows"),
        (Err(e), Some(f)) => {
            check_api_error(&e, data);
            same_failure(&e, f);
        }
        (Ok(_), Some(f)) => panic!("rows() succeeded where a page failed: {f}"),
        (Err(e), None) => panic!("rows() failed where every page read: {e}"),
    }
    let mut stream = results.stream::<Value>();
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
    match (&error, failure) {
        (None, None) => assert_eq!(rows, all, "the stream is not the pages' rows"),
        (Some(e), Some(f)) => {
            check_api_error(e, data);
            same_failure(e, f);
            assert_eq!(rows, all, "the rows before the failure");
        }
        (None, Some(f)) => panic!("the stream ended where a page failed: {f}"),
        (Some(e), None) => panic!("the stream failed where every page read: {e}"),
    }
});
