//! The real cluster for live tests.

use std::time::Duration;

use druid_api::prelude::*;
use druid_api::{Client, Result};

/// The message of a live test without a cluster.
pub const NEEDS_CLUSTER: &str = "needs a Druid cluster: run `cargo xtask ci`, or `cargo xtask druid up` and \
     `DRUID_URL=http://localhost:8888 cargo test -p druid-tests -- --include-ignored`";

/// The Router URL of the live cluster, from `DRUID_URL`.
///
/// # Panics
///
/// When `DRUID_URL` is not set: a live test that runs must have a cluster.
pub fn url() -> String {
    match std::env::var("DRUID_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!("DRUID_URL is not set; this test {NEEDS_CLUSTER}"),
    }
}

/// The admin credentials of a secure cluster (`DRUID_USER`,
/// `DRUID_PASSWORD`), if it has them.
pub fn credentials() -> Option<(String, String)> {
    let user = std::env::var("DRUID_USER").ok().filter(|u| !u.is_empty())?;
    let password = std::env::var("DRUID_PASSWORD").unwrap_or_default();
    Some((user, password))
}

/// A client for the live cluster's Router, with the admin credentials when
/// the cluster is secure.
pub fn client() -> Client {
    builder().build().expect("DRUID_URL is a valid URL")
}

/// [`client`] without retries, for tests that poll by themselves: a
/// missing chat handler (a 503 on Druid 33) is then one answer, not 45 s
/// of the transport's retries.
pub fn client_without_retries() -> Client {
    builder()
        .no_retries()
        .build()
        .expect("DRUID_URL is a valid URL")
}

/// The builder of [`client`]: the Router URL, and the admin credentials
/// when the cluster is secure.
fn builder() -> druid_api::ClientBuilder {
    let builder = Client::builder().url(url());
    match credentials() {
        Some((user, password)) => builder.basic_auth(user, password),
        None => builder,
    }
}

/// The Druid version the cluster was started with (`DRUID_VERSION`), if known.
pub fn version() -> Option<String> {
    std::env::var("DRUID_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
}

/// A name unique to this test run, for datasources and lookups.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// Polls `check` until it returns `Some`, or fails after `limit` with the
/// last state seen.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    // Unlike the library's waits, an error here is a state to wait out.
    druid_api::wait::poll(what, limit, || {
        let checked = check();
        async move {
            Ok(match checked.await {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err("not yet".to_owned()),
                Err(e) => Err(e.to_string()),
            })
        }
    })
    .await
}

/// The limit on waiting for a task.
pub const TASK_LIMIT: Duration = Duration::from_secs(240);
/// The limit on waiting for segments to load and become queryable.
pub const LOAD_LIMIT: Duration = Duration::from_secs(180);

/// The rows of [`replace_statement`]: `(ts, page, added)`, four of them,
/// two days, `added` summing to 48.
pub const ROWS: &str = "ts,page,added\\n2024-01-01T00:00:00Z,Rust,10\\n2024-01-01T01:00:00Z,Druid,32\\n2024-01-02T00:00:00Z,Rust,5\\n2024-01-02T05:00:00Z,Java,1\\n";

/// `REPLACE INTO <table>` with the four [`ROWS`], through `EXTERN(inline)`.
pub fn replace_statement(table: &str) -> String {
    let quoted = table.replace('"', "\"\"");
    format!(
        r#"REPLACE INTO "{quoted}" OVERWRITE ALL
SELECT TIME_PARSE("ts") AS __time, "page", "added"
FROM TABLE(EXTERN(
  '{{"type":"inline","data":"{ROWS}"}}',
  '{{"type":"csv","findColumnsFromHeader":true}}',
  '[{{"name":"ts","type":"string"}},{{"name":"page","type":"string"}},{{"name":"added","type":"long"}}]'
))
PARTITIONED BY DAY"#
    )
}

/// Whether the live cluster runs the multi-stage query engine, from the
/// Router's `/status` (the Druid 33 line of CI runs without it).
///
/// # Panics
///
/// When `/status` cannot be read: the calling test fails.
pub async fn has_msq() -> bool {
    client()
        .status()
        .await
        .expect("the Router answers /status")
        .has_msq()
}

/// Ingests the four [`ROWS`] into `table`: with MSQ's `REPLACE` where the
/// cluster runs MSQ, else with a native `index_parallel` task of the same
/// rows and columns; waits until SQL sees them, and returns the task's ID.
///
/// # Panics
///
/// When the ingestion fails or times out: the calling test fails.
pub async fn ingest(table: &str) -> String {
    let client = client();
    let overlord = client
        .cluster()
        .await
        .expect("the cluster is discoverable")
        .overlord()
        .expect("the cluster has an Overlord");
    let task_id = if has_msq().await {
        let (task, status) = client
            .sql(replace_statement(table))
            .context("maxNumTasks", 2)
            .run_task(&overlord, TASK_LIMIT)
            .await
            .expect("the MSQ ingestion succeeds");
        assert_eq!(status.status_code, druid_api::models::TaskState::Success);
        task.task_id
    } else {
        let task = overlord
            .submit_task(&native_spec(table))
            .await
            .expect("the native task is accepted");
        overlord
            .wait_for_task_success(&task.task, TASK_LIMIT)
            .await
            .expect("the native ingestion succeeds");
        task.task
    };
    let rows = client
        .wait_until_queryable(table, 4, LOAD_LIMIT)
        .await
        .expect("the ingested table becomes queryable");
    assert_eq!(rows, 4);
    task_id
}

/// The native `index_parallel` task that ingests the four [`ROWS`] into
/// `table`, as [`ingest`] does without MSQ.
pub fn native_spec(table: &str) -> serde_json::Value {
    index_parallel_spec(
        table,
        serde_json::json!({"type": "inline", "data": json_rows()}),
        serde_json::json!({"type": "index_parallel", "maxNumConcurrentSubTasks": 1}),
    )
}

/// The four [`ROWS`] as newline-delimited JSON, for native ingestion.
fn json_rows() -> String {
    ROWS.split("\\n")
        .skip(1)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            serde_json::json!({"ts": fields[0], "page": fields[1], "added": fields[2].parse::<i64>().expect("ROWS has whole numbers in `added`")})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A native `index_parallel` task spec of `(ts, page, added)` JSON rows into
/// `datasource`, daily segments, no rollup, reading `input_source` with the
/// given `tuningConfig`.
pub fn index_parallel_spec(
    datasource: &str,
    input_source: serde_json::Value,
    tuning_config: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({"type": "index_parallel", "spec": {
        "dataSchema": {
            "dataSource": datasource,
            "timestampSpec": {"column": "ts", "format": "iso"},
            "dimensionsSpec": {"dimensions": ["page", {"type": "long", "name": "added"}]},
            "granularitySpec": {"segmentGranularity": "day", "queryGranularity": "none", "rollup": false}
        },
        "ioConfig": {"type": "index_parallel", "inputSource": input_source, "inputFormat": {"type": "json"}},
        "tuningConfig": tuning_config
    }})
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_json_rows_are_the_csv_rows() {
        let rows: Vec<serde_json::Value> = super::json_rows()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[1],
            serde_json::json!({"ts": "2024-01-01T01:00:00Z", "page": "Druid", "added": 32})
        );
        let total: i64 = rows.iter().map(|r| r["added"].as_i64().unwrap()).sum();
        assert_eq!(total, 48);
    }
}
