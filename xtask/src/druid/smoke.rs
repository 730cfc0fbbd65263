//! `--smoke`: an MSQ `REPLACE` and a native `index_parallel` ingestion of two inline rows each,
//! submitted through the Router, then checked with `SELECT COUNT(*)`.

use std::time::{Duration, Instant};

use super::cluster::Run;
use super::gates::Probe;
use super::layout::Service;

/// The MSQ ingestion: the 3-argument `EXTERN(input, format, signature)` form, which every
/// version accepts. `waitUntilSegmentsLoad` does not exist in 27, so row visibility is
/// polled with SQL instead. (Inside the SQL string `\n` is a backslash and an `n`: the JSON
/// parser of the inline input source turns it into a newline.)
const MSQ_SQL: &str = r#"REPLACE INTO "it_wiki" OVERWRITE ALL
SELECT TIME_PARSE("ts") AS __time, "page", "added"
FROM TABLE(EXTERN(
  '{"type":"inline","data":"ts,page,added\n2024-01-01T00:00:00Z,a,1\n2024-01-01T01:00:00Z,b,2\n"}',
  '{"type":"csv","findColumnsFromHeader":true}',
  '[{"name":"ts","type":"string"},{"name":"page","type":"string"},{"name":"added","type":"long"}]'
))
PARTITIONED BY DAY"#;

/// The native batch ingestion spec (one subtask, inline JSON rows).
const NATIVE_SPEC: &str = r#"{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"it_native","timestampSpec":{"column":"ts","format":"iso"},"dimensionsSpec":{"dimensions":["page",{"type":"long","name":"added"}]},"granularitySpec":{"segmentGranularity":"day","queryGranularity":"none","rollup":false}},"ioConfig":{"type":"index_parallel","inputSource":{"type":"inline","data":"{\"ts\":\"2024-01-01T00:00:00Z\",\"page\":\"a\",\"added\":1}\n{\"ts\":\"2024-01-01T01:00:00Z\",\"page\":\"b\",\"added\":2}"},"inputFormat":{"type":"json"}},"tuningConfig":{"type":"index_parallel","maxNumConcurrentSubTasks":1}}}"#;

/// Rows each ingestion writes.
const EXPECTED_ROWS: u32 = 2;

/// Runs both ingestions (MSQ is available on every supported version: an extension before 35,
/// core from 35 on) and checks the row counts.
pub(crate) fn run(run: &mut Run<'_>) -> Result<(), String> {
    let router = run.ports.router;
    let submit = run.client.clone().with_timeout(Duration::from_secs(60));

    let started = Instant::now();
    let body = format!(
        r#"{{"query":"{}","context":{{"maxNumTasks":2}}}}"#,
        json_escape(MSQ_SQL)
    );
    let response = submit.post_json(router, "/druid/v2/sql/task", &body)?;
    let id = json_string_field(&response.body, "taskId")
        .filter(|_| response.is_success())
        .ok_or_else(|| format!("smoke: MSQ submission rejected: {}", response.summary()))?;
    run.clock.say(format!("smoke: MSQ task {id} submitted"));
    wait_task(run, &id)?;
    wait_rows(run, "it_wiki")?;
    run.clock.say(format!(
        "smoke: MSQ ingestion done in {:.1}s",
        started.elapsed().as_secs_f64()
    ));

    let started = Instant::now();
    let response = submit.post_json(router, "/druid/indexer/v1/task", NATIVE_SPEC)?;
    let id = json_string_field(&response.body, "task")
        .filter(|_| response.is_success())
        .ok_or_else(|| format!("smoke: native task rejected: {}", response.summary()))?;
    run.clock.say(format!("smoke: native task {id} submitted"));
    wait_task(run, &id)?;
    wait_rows(run, "it_native")?;
    run.clock.say(format!(
        "smoke: native ingestion done in {:.1}s",
        started.elapsed().as_secs_f64()
    ));

    let rows = run.client.post_json(
        router,
        "/druid/v2/sql",
        r#"{"query":"SELECT * FROM it_native"}"#,
    )?;
    run.clock.say(format!(
        "smoke: SELECT * FROM it_native -> {}",
        rows.body.trim()
    ));
    Ok(())
}

/// Waits until a task's status is SUCCESS (FAILED stops the wait at once).
fn wait_task(run: &mut Run<'_>, id: &str) -> Result<(), String> {
    let router = run.ports.router;
    let path = format!("/druid/indexer/v1/task/{id}/status");
    let logs = [run.worker_service(), Service::Coordinator];
    run.gate(
        &format!("task {id} SUCCESS"),
        &logs,
        |client| match client.get(router, &path) {
            Ok(r) if r.is_success() => match json_string_field(&r.body, "statusCode").as_deref() {
                Some("SUCCESS") => Probe::Ready,
                Some("FAILED") => Probe::Fatal(format!("task {id} FAILED: {}", r.body.trim())),
                Some(other) => Probe::NotYet(format!("statusCode {other}")),
                None => Probe::NotYet(r.summary()),
            },
            Ok(r) => Probe::NotYet(r.summary()),
            Err(e) => Probe::NotYet(e),
        },
    )
}

/// Waits until `SELECT COUNT(*)` of the datasource returns the expected count (segments are
/// loaded by the Historical and the Broker has refreshed its metadata).
fn wait_rows(run: &mut Run<'_>, datasource: &str) -> Result<(), String> {
    let router = run.ports.router;
    let query = format!(r#"{{"query":"SELECT COUNT(*) AS c FROM \"{datasource}\""}}"#);
    let expected = format!(r#""c":{EXPECTED_ROWS}"#);
    let label = format!("{datasource}: {EXPECTED_ROWS} rows visible via SQL");
    let logs = [Service::Broker, Service::Historical, Service::Coordinator];
    run.gate(&label, &logs, |client| {
        match client
            .clone()
            .with_timeout(Duration::from_secs(30))
            .post_json(router, "/druid/v2/sql", &query)
        {
            Ok(r) if r.is_success() && r.body.contains(&expected) => Probe::Ready,
            Ok(r) => Probe::NotYet(r.summary()),
            Err(e) => Probe::NotYet(e),
        }
    })
}

/// Escapes a string for use inside a JSON string literal.
pub(crate) fn json_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The value of the first string field named `key` anywhere in a JSON text (enough for the
/// flat answers used here: `{"taskId":"..."}`, `{"task":"..."}`, `"statusCode":"SUCCESS"`).
pub(crate) fn json_string_field(json: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let mut rest = json;
    while let Some(at) = rest.find(&needle) {
        rest = &rest[at + needle.len()..];
        let Some(after_colon) = rest.trim_start().strip_prefix(':') else {
            continue;
        };
        let Some(value) = after_colon.trim_start().strip_prefix('"') else {
            continue;
        };
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        return None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msq_body_matches_the_recipe_once_decoded() {
        let body = format!(r#"{{"query":"{}"}}"#, json_escape(MSQ_SQL));
        // The inline data reaches Druid's JSON parser as `\n` (escaped once more in the body).
        assert!(body.contains(r#"\"data\":\"ts,page,added\\n2024-01-01T00:00:00Z,a,1\\n"#));
        assert!(body.contains(r#"REPLACE INTO \"it_wiki\" OVERWRITE ALL\nSELECT"#));
        assert!(!body.contains("\n"), "a raw newline would break the JSON");
    }

    #[test]
    fn extracts_string_fields() {
        let submit = r#"{"taskId":"query-d90f4d6c","state":"RUNNING"}"#;
        assert_eq!(
            json_string_field(submit, "taskId").as_deref(),
            Some("query-d90f4d6c")
        );
        let native = r#"{"task":"index_parallel_it_native_x_2026-11-28T13:44:39.229Z"}"#;
        assert_eq!(
            json_string_field(native, "task").as_deref(),
            Some("index_parallel_it_native_x_2026-11-28T13:44:39.229Z")
        );
        let status = r#"{"task":"t","status":{"id":"t","status" : "SUCCESS","statusCode": "SUCCESS","errorMsg":"a \"b\""}}"#;
        assert_eq!(
            json_string_field(status, "statusCode").as_deref(),
            Some("SUCCESS")
        );
        assert_eq!(
            json_string_field(status, "errorMsg").as_deref(),
            Some(r#"a "b""#)
        );
        // "status" first occurs with an object value; the string one is found after it
        assert_eq!(
            json_string_field(status, "status").as_deref(),
            Some("SUCCESS")
        );
        assert_eq!(json_string_field(status, "missing"), None);
        assert_eq!(json_string_field(r#"{"n":1}"#, "n"), None);
    }

    #[test]
    fn native_spec_is_the_recipe_payload() {
        assert!(NATIVE_SPEC.starts_with(
            r#"{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"it_native""#
        ));
        assert!(NATIVE_SPEC.contains(r#""maxNumConcurrentSubTasks":1"#));
    }
}
