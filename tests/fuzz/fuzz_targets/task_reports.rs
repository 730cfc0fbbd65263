//! Task reports (`GET /druid/indexer/v1/task/{id}/reports`): arbitrary
//! bodies through `overlord.task_reports(id)` and the `TaskReports` model
//! (payloads, ingestion stats, the MSQ status and results), through the
//! MSQ progress reader of `wait_for_task_with` (`__fuzz::msq_progress`),
//! and through `wait_for_task_with` itself, whose running MSQ controller
//! reads the report for its progress line.
//!
//! The input: a first line with the status of the reports' answer, then
//! options (`chunk=N`: the body arrives in chunks of N bytes), then the
//! body:
//!
//! ```text
//! 200
//! {"multiStageQuery":{"payload":{"stages":[{"phase":"FINISHED"}]}}}
//! ```
//!
//! Invariants: no panic; `task_reports` succeeds exactly when the answer is
//! a 2xx whose body decodes as a map of reports (with those reports); the
//! progress reader answers for exactly the reports with an array of
//! `multiStageQuery.payload.stages`, `stages F/N done, R rows read` with F
//! the stages `FINISHED`, N all of them and R the rows of stage 0's
//! workers' output; the wait (no time left, the task a running
//! `query_controller`) tells its progress exactly once, `RUNNING (RUNNING)`
//! and that line when there is one, and ends with `WaitTimeout` naming it;
//! every error's `Display` is one bounded line. Rows past `u64::MAX` are a
//! known bug (the sum overflows): only checked with `DRUID_FUZZ_STRICT=1`.

#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use druid_api::models::TaskReports;
use druid_api::{Client, MockResponse, OverlordClient};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

use common::{PASSWORD, block_on, check_api_error};

const TASK_ID: &str = "query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e";

/// A running MSQ controller, as the Overlord reports it (the docs' example).
const RUNNING: &str = r#"{"task":"query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e","status":{
"id":"query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e","groupId":"query-3dc0c45d-34d7-4b15-86c9-cdb2d3ebfc4e",
"type":"query_controller","createdTime":"2022-09-14T22:12:00.183Z","queueInsertionTime":"1970-01-01T00:00:00.000Z",
"statusCode":"RUNNING","status":"RUNNING","runnerStatusCode":"RUNNING","duration":-1,
"location":{"host":"localhost","port":8100,"tlsPort":-1},"dataSource":"kttm_simple","errorMsg":null}}"#;

/// The answer of the reports for the current input.
static ANSWER: Mutex<Option<MockResponse>> = Mutex::new(None);

fn overlord() -> &'static OverlordClient {
    static OVERLORD: OnceLock<OverlordClient> = OnceLock::new();
    OVERLORD.get_or_init(|| {
        let client = Client::builder()
            .retry(common::instant_retries())
            // Every retry the policy allows, however many inputs ran in the
            // last seconds: the same input, the same path.
            .retry_budget(druid_api::transport::RetryBudget::unlimited())
            .url("http://localhost:8081")
            .basic_auth("admin", PASSWORD)
            .mock(|request| {
                if request.url.path().ends_with("/status") {
                    return MockResponse::new(200, RUNNING)
                        .header("content-type", "application/json");
                }
                ANSWER
                    .lock()
                    .ok()
                    .and_then(|a| a.clone())
                    .unwrap_or_else(|| MockResponse::new(599, ""))
            })
            .build()
            .expect("the mock client builds");
        OverlordClient::new(druid_api::ServiceClient::service(&client).clone())
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

/// The progress line of a report, by its definition; `Err` when the rows
/// read pass `u64::MAX`.
fn progress(reports: &Value) -> Option<String> {
    let payload = reports.pointer("/multiStageQuery/payload")?;
    let stages = payload.get("stages").and_then(Value::as_array)?;
    let finished = stages
        .iter()
        .filter(|s| s.get("phase").and_then(Value::as_str) == Some("FINISHED"))
        .count();
    let mut rows: u64 = 0;
    if let Some(workers) = payload.pointer("/counters/0").and_then(Value::as_object) {
        for worker in workers.values() {
            let Some(counts) = worker.pointer("/output/rows").and_then(Value::as_array) else {
                continue;
            };
            for count in counts.iter().filter_map(Value::as_u64) {
                // Counts past u64 saturate: they never wrap or panic.
                rows = rows.saturating_add(count);
            }
        }
    }
    Some(format!(
        "stages {finished}/{} done, {rows} rows read",
        stages.len()
    ))
}

/// The progress reader on `reports`, against the definition.
fn check_progress(reports: &Value) -> Option<String> {
    let want = progress(reports);
    let got = druid_api::__fuzz::msq_progress(reports);
    assert_eq!(got, want, "the MSQ progress of a report");
    want
}

fn check_model(reports: &TaskReports) {
    for key in reports.0.keys().take(8) {
        let _ = reports.payload(key);
    }
    let _ = reports.payload("multiStageQuery");
    if let Some(stats) = reports.ingestion_stats() {
        let _ = stats.rows_processed();
    }
    let _ = (reports.msq_status(), reports.msq_results().map(Vec::len));
}

fuzz_target!(|data: &[u8]| {
    let (head, body) = common::head_and_body(data);
    let mut words = head.split_whitespace();
    let status = words
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s))
        .unwrap_or(200);
    let chunk = words
        .find_map(|w| w.strip_prefix("chunk=")?.parse::<usize>().ok())
        .unwrap_or(0);
    if let Ok(mut current) = ANSWER.lock() {
        *current = Some(
            MockResponse::chunked(status, common::chunks(body, chunk))
                .header("content-type", "application/json"),
        );
    }
    let success = (200..300).contains(&status);
    let decoded = serde_json::from_slice::<TaskReports>(body);
    let parsed = serde_json::from_slice::<Value>(body).ok();

    // The progress reader on anything JSON.
    let live = parsed.as_ref().and_then(check_progress);

    // The endpoint and the model.
    match block_on(overlord().task_reports(TASK_ID)) {
        Ok(reports) => {
            assert!(success, "task_reports read a {status} answer");
            let decoded = decoded
                .as_ref()
                .expect("task_reports decoded what serde_json does not");
            assert_eq!(&reports, decoded, "the reports are not the body decoded");
            check_model(&reports);
            // What the wait reads: the reports as a value.
            let value = serde_json::to_value(&reports).expect("reports are JSON");
            let _ = check_progress(&value);
        }
        Err(e) => {
            check_api_error(&e, data);
            if success {
                assert!(
                    decoded.is_err() && e.decode().is_some(),
                    "a 2xx fails otherwise than its decoding: {e}"
                );
            } else if !matches!(status, 301 | 302 | 303 | 307 | 308) {
                assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{e}");
            }
        }
    }

    // The wait, which reads the report of a running MSQ controller for its
    // progress.
    let mut told = Vec::new();
    let result = runtime().block_on(overlord().wait_for_task_with(
        TASK_ID,
        Duration::ZERO,
        |state| told.push(state.to_owned()),
    ));
    let error = match result {
        Ok(status) => panic!("a running task's wait ended: {status:?}"),
        Err(e) => e,
    };
    check_api_error(&error, data);
    assert!(
        error.is_wait_timeout(),
        "the wait failed otherwise: {error}"
    );
    // A status Druid may answer for a moment (429, 5xx) is retried, and a
    // retry waits, which the wait has no time for.
    if matches!(status, 429 | 500 | 502 | 503 | 504) {
        return;
    }
    let line = match (&decoded, success, live) {
        (Ok(_), true, Some(live)) => format!("RUNNING (RUNNING), {live}"),
        _ => "RUNNING (RUNNING)".to_owned(),
    };
    assert_eq!(told, [line.clone()], "the progress the wait told");
    let druid_api::Error::WaitTimeout { last_seen, .. } = &error else {
        panic!("not a WaitTimeout: {error:?}");
    };
    assert_eq!(last_seen, &line, "the last state of the wait");
});
