//! `--smoke`: an MSQ `REPLACE` and a native `index_parallel` ingestion of two inline rows each,
//! submitted through the Router, then checked with `SELECT COUNT(*)`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::cluster::Run;
use super::gates::Probe;
use super::http::{Client, Response};
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

/// The native batch ingestion spec (one subtask, two inline JSON rows).
fn native_spec() -> Value {
    let rows = [
        json!({"ts": "2024-01-01T00:00:00Z", "page": "a", "added": 1}),
        json!({"ts": "2024-01-01T01:00:00Z", "page": "b", "added": 2}),
    ];
    let data: Vec<String> = rows.iter().map(Value::to_string).collect();
    json!({
        "type": "index_parallel",
        "spec": {
            "dataSchema": {
                "dataSource": "it_native",
                "timestampSpec": {"column": "ts", "format": "iso"},
                "dimensionsSpec": {"dimensions": ["page", {"type": "long", "name": "added"}]},
                "granularitySpec": {
                    "segmentGranularity": "day",
                    "queryGranularity": "none",
                    "rollup": false
                }
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {"type": "inline", "data": data.join("\n")},
                "inputFormat": {"type": "json"}
            },
            "tuningConfig": {"type": "index_parallel", "maxNumConcurrentSubTasks": 1}
        }
    })
}

/// The body that submits [`MSQ_SQL`] to `/druid/v2/sql/task`.
fn msq_body() -> Value {
    json!({"query": MSQ_SQL, "context": {"maxNumTasks": 2}})
}

/// Rows each ingestion writes.
const EXPECTED_ROWS: u64 = 2;

/// Runs both ingestions and checks the row counts; without MSQ (`--no-msq`), the native
/// one only.
pub(crate) fn run(run: &mut Run<'_>) -> Result<(), String> {
    let router = run.ports.router;
    let submit = run.client.clone().with_timeout(Duration::from_secs(60));

    if run.opts.msq {
        ingest(
            run,
            &submit,
            "MSQ",
            ("/druid/v2/sql/task", &msq_body(), "taskId"),
            "it_wiki",
        )?;
    } else {
        run.clock
            .say("smoke: no MSQ on this cluster (--no-msq): the native ingestion only");
    }
    ingest(
        run,
        &submit,
        "native",
        ("/druid/indexer/v1/task", &native_spec(), "task"),
        "it_native",
    )?;

    let rows = run.client.post_json(
        router,
        "/druid/v2/sql",
        &json!({"query": "SELECT * FROM it_native"}),
    )?;
    run.clock.say(format!(
        "smoke: SELECT * FROM it_native -> {}",
        rows.body.trim()
    ));
    Ok(())
}

/// One ingestion: submits `body` to `path` (the task ID is under `id_key` in the
/// answer), waits for the task's SUCCESS and for `table`'s rows, and says how long
/// it took. `kind` (`MSQ`, `native`) names it in the messages.
fn ingest(
    run: &mut Run<'_>,
    submit: &Client,
    kind: &str,
    (path, body, id_key): (&str, &Value, &str),
    table: &str,
) -> Result<(), String> {
    let started = Instant::now();
    let response = submit.post_json(run.ports.router, path, body)?;
    let id = task_id(&response, id_key)
        .ok_or_else(|| format!("smoke: {kind} task rejected: {}", response.summary()))?;
    run.clock.say(format!("smoke: {kind} task {id} submitted"));
    wait_task(run, &id)?;
    wait_rows(run, table)?;
    run.clock.say(format!(
        "smoke: {kind} ingestion done in {:.1}s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

/// The task id in a 2xx answer to a submission (`{"taskId":...}` from SQL, `{"task":...}`
/// from the Overlord).
fn task_id(response: &Response, key: &str) -> Option<String> {
    let json = response.json().ok().filter(|_| response.is_success())?;
    Some(json.get(key)?.as_str()?.to_owned())
}

/// `status.statusCode` of a task status answer (`RUNNING`, `SUCCESS`, `FAILED`).
fn status_code(json: &Value) -> Option<&str> {
    json.pointer("/status/statusCode")?.as_str()
}

/// The count in the answer to `SELECT COUNT(*) AS c ...` (`[{"c":2}]`).
fn row_count(json: &Value) -> Option<u64> {
    json.pointer("/0/c")?.as_u64()
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
            Ok(r) if r.is_success() => match r.json() {
                Ok(json) => match status_code(&json) {
                    Some("SUCCESS") => Probe::Ready,
                    Some("FAILED") => Probe::Fatal(format!("task {id} FAILED: {}", r.body.trim())),
                    Some(other) => Probe::NotYet(format!("statusCode {other}")),
                    None => Probe::NotYet(r.summary()),
                },
                Err(e) => Probe::NotYet(e),
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
    let query = json!({"query": format!(r#"SELECT COUNT(*) AS c FROM "{datasource}""#)});
    let label = format!("{datasource}: {EXPECTED_ROWS} rows visible via SQL");
    let logs = [Service::Broker, Service::Historical, Service::Coordinator];
    run.gate(&label, &logs, |client| {
        match client
            .clone()
            .with_timeout(Duration::from_secs(30))
            .post_json(router, "/druid/v2/sql", &query)
        {
            Ok(r)
                if r.is_success()
                    && r.json().ok().as_ref().and_then(row_count) == Some(EXPECTED_ROWS) =>
            {
                Probe::Ready
            }
            Ok(r) => Probe::NotYet(r.summary()),
            Err(e) => Probe::NotYet(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msq_body_matches_the_recipe_once_decoded() {
        let body = msq_body().to_string();
        // The inline data reaches Druid's JSON parser as `\n` (escaped once more in the body).
        assert!(body.contains(r#"\"data\":\"ts,page,added\\n2024-01-01T00:00:00Z,a,1\\n"#));
        assert!(body.contains(r#"REPLACE INTO \"it_wiki\" OVERWRITE ALL\nSELECT"#));
        assert!(!body.contains('\n'), "a raw newline would break the JSON");
        let decoded: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(decoded["query"], MSQ_SQL);
        assert_eq!(decoded["context"], json!({"maxNumTasks": 2}));
    }

    #[test]
    fn reads_druids_answers() {
        let answer = |status: u16, body: &str| Response {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        };
        let submit = answer(202, r#"{"taskId":"query-d90f4d6c","state":"RUNNING"}"#);
        assert_eq!(
            task_id(&submit, "taskId").as_deref(),
            Some("query-d90f4d6c")
        );
        let native = answer(
            200,
            r#"{"task":"index_parallel_it_native_x_2026-11-28T13:44:39.229Z"}"#,
        );
        assert_eq!(
            task_id(&native, "task").as_deref(),
            Some("index_parallel_it_native_x_2026-11-28T13:44:39.229Z")
        );
        assert_eq!(task_id(&answer(400, r#"{"task":"t"}"#), "task"), None);
        assert_eq!(task_id(&answer(200, "<html>"), "task"), None);
        assert_eq!(task_id(&answer(200, r#"{"task":1}"#), "task"), None);

        let status: Value = serde_json::from_str(
            r#"{"task":"t","status":{"id":"t","status":"SUCCESS","statusCode":"SUCCESS","errorMsg":"a \"b\""}}"#,
        )
        .unwrap();
        assert_eq!(status_code(&status), Some("SUCCESS"));
        assert_eq!(status_code(&json!({"task": "t"})), None);

        assert_eq!(row_count(&json!([{"c": 2}])), Some(2));
        assert_eq!(row_count(&json!([])), None);
    }

    #[test]
    fn native_spec_is_the_recipe_payload() {
        let spec = native_spec();
        assert_eq!(spec["type"], "index_parallel");
        assert_eq!(spec["spec"]["dataSchema"]["dataSource"], "it_native");
        assert_eq!(spec["spec"]["tuningConfig"]["maxNumConcurrentSubTasks"], 1);
        let data = spec["spec"]["ioConfig"]["inputSource"]["data"]
            .as_str()
            .unwrap();
        let rows: Vec<Value> = data
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            rows,
            [
                json!({"ts": "2024-01-01T00:00:00Z", "page": "a", "added": 1}),
                json!({"ts": "2024-01-01T01:00:00Z", "page": "b", "added": 2}),
            ]
        );
    }
}
