//! SQL statement models: the asynchronous query API (`/druid/v2/sql/statements`),
//! and the Broker-side answers that go with SQL and native queries: SQL
//! capability probes, Dart query listings, query candidates and the legacy
//! datasource metadata. Also what a lookup-loading service reports about its
//! lookups, and a running task's chat answers (row stats, parallel progress).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{LookupSpec, TaskReports, TaskStatus};

string_enum! {
    /// The `state` of an asynchronous SQL statement.
    pub enum StatementState {
        /// Submitted; the controller task has not started.
        Accepted = "ACCEPTED",
        /// The controller task runs.
        Running = "RUNNING",
        /// Finished; the results can be read.
        Success = "SUCCESS",
        /// Finished with an error (see `errorDetails`).
        Failed = "FAILED",
        /// Canceled by a user.
        Canceled = "CANCELED",
    }
}

impl StatementState {
    /// Whether the statement has finished, one way or another.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            StatementState::Success | StatementState::Failed | StatementState::Canceled
        )
    }
}

/// The status of an asynchronous SQL statement: the answer of
/// `POST /druid/v2/sql/statements` and `GET /druid/v2/sql/statements/{queryId}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatementResponse {
    /// The statement's ID (also the ID of its MSQ controller task).
    pub query_id: String,
    /// Where the statement is.
    pub state: StatementState,
    /// When it was submitted, ISO-8601.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The columns of the result, in order (empty when Druid leaves them
    /// out, as Druid 27 does for failed statements).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub schema: Vec<StatementColumn>,
    /// Run time in milliseconds; `-1` until it finishes.
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// Where the results are, once a `SELECT` succeeded.
    #[serde(default)]
    pub result: Option<StatementResult>,
    /// Why it failed or was canceled.
    #[serde(default)]
    pub error_details: Option<StatementError>,
    /// The MSQ stages (with `detail=true`, Druid 31+).
    #[serde(default)]
    pub stages: Option<Value>,
    /// The MSQ counters per stage and worker (with `detail=true`, Druid 31+).
    #[serde(default)]
    pub counters: Option<Value>,
    /// The warnings of the query (with `detail=true`, Druid 31+).
    #[serde(default)]
    pub warnings: Option<Value>,
}

/// Reads `null` as an empty list.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

impl StatementResponse {
    /// The total number of result rows, once known.
    pub fn num_total_rows(&self) -> Option<i64> {
        self.result.as_ref().and_then(|r| r.num_total_rows)
    }

    /// The pages of the result (none before success, or for ingestion).
    pub fn pages(&self) -> &[StatementPage] {
        self.result.as_ref().map_or(&[], |r| &r.pages)
    }
}

/// One column of a statement's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatementColumn {
    /// The column name.
    pub name: String,
    /// The SQL type: `VARCHAR`, `BIGINT`, `TIMESTAMP`, ...
    #[serde(rename = "type", default)]
    pub sql_type: Option<String>,
    /// Druid's runtime type: `STRING`, `LONG`, `COMPLEX<...>`, ...
    #[serde(default)]
    pub native_type: Option<String>,
}

/// Where the results of a successful statement are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatementResult {
    /// The number of rows.
    #[serde(default)]
    pub num_total_rows: Option<i64>,
    /// The size of the results in bytes.
    #[serde(default)]
    pub total_size_in_bytes: Option<i64>,
    /// `__query_select` for a `SELECT`, else the datasource written.
    #[serde(default)]
    pub data_source: Option<String>,
    /// The first rows, as arrays in `schema` order.
    #[serde(default)]
    pub sample_records: Vec<Vec<Value>>,
    /// The pages to read the rows from.
    #[serde(default)]
    pub pages: Vec<StatementPage>,
}

/// One page of a statement's results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatementPage {
    /// The page number, for `statement_results(..).page(id)`.
    pub id: i64,
    /// Rows in the page.
    #[serde(default)]
    pub num_rows: Option<i64>,
    /// Bytes in the page.
    #[serde(default)]
    pub size_in_bytes: Option<i64>,
    /// The worker that wrote the page (durable storage).
    #[serde(default)]
    pub worker: Option<i64>,
    /// The worker's partition (durable storage).
    #[serde(default)]
    pub partition: Option<i64>,
}

/// The `errorDetails` of a failed statement: Druid's error, in the
/// DruidException shape. Every field may be missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatementError {
    /// `druidException`, or a legacy error code.
    #[serde(default)]
    pub error: Option<String>,
    /// The error code: `invalidInput`, `Canceled`, an MSQ fault code, ...
    #[serde(default)]
    pub error_code: Option<String>,
    /// Who the message is for: `USER`, `ADMIN`, `OPERATOR` or `DEVELOPER`.
    #[serde(default)]
    pub persona: Option<String>,
    /// The category: `INVALID_INPUT`, `CANCELED`, `RUNTIME_FAILURE`, ...
    #[serde(default)]
    pub category: Option<String>,
    /// The human-readable message.
    #[serde(default)]
    pub error_message: Option<String>,
    /// More about the error (the MSQ fault's fields, the task ID, ...).
    #[serde(default)]
    pub context: Map<String, Value>,
}

impl StatementError {
    /// `errorCode: errorMessage`, or whichever of the two there is.
    pub fn summary(&self) -> String {
        match (&self.error_code, &self.error_message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, Some(message)) => message.clone(),
            (None, None) => self
                .error
                .clone()
                .unwrap_or_else(|| "no error details".to_owned()),
        }
    }
}

/// `GET /druid/v2/sql/task/enabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SqlTaskEnabled {
    /// Whether `/druid/v2/sql/task` takes statements.
    pub enabled: bool,
}

/// `GET /druid/v2/sql/engines`: the SQL engines the Broker supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SqlEngines {
    /// One entry per engine, e.g. `{"name": "msq-dart"}`.
    #[serde(default)]
    pub engines: Vec<Value>,
}

impl SqlEngines {
    /// The engine names (`native`, `msq-task`, `msq-dart`), where the entries have one.
    pub fn names(&self) -> Vec<&str> {
        self.engines
            .iter()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
            .collect()
    }
}

/// `GET /druid/v2/sql/queries`: running (and recently finished) queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SqlQueryList {
    /// The queries.
    #[serde(default)]
    pub queries: Vec<SqlQueryInfo>,
}

/// One query of `GET /druid/v2/sql/queries` (a Dart query).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SqlQueryInfo {
    /// The engine, `msq-dart`.
    #[serde(default)]
    pub engine: Option<String>,
    /// The SQL query ID.
    #[serde(default)]
    pub sql_query_id: Option<String>,
    /// Dart's own query ID.
    #[serde(default)]
    pub dart_query_id: Option<String>,
    /// The SQL text.
    #[serde(default)]
    pub sql: Option<String>,
    /// The authenticator that let the user in.
    #[serde(default)]
    pub authenticator: Option<String>,
    /// The user.
    #[serde(default)]
    pub identity: Option<String>,
    /// When it started, ISO-8601.
    #[serde(default)]
    pub start_time: Option<String>,
    /// `RUNNING`, `SUCCESS`, `FAILED`, `CANCELED`, ...
    #[serde(default)]
    pub state: Option<String>,
}

/// `GET /druid/v2/sql/queries/{sqlQueryId}/reports`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SqlQueryReport {
    /// The query, as listed by `sql_queries`.
    #[serde(default)]
    pub query: Option<SqlQueryInfo>,
    /// The reports, with a `multiStageQuery` entry.
    #[serde(default)]
    pub report: Option<TaskReports>,
}

/// A segment that a query would read, and where it is served
/// (`/druid/v2/candidates`, `/druid/v2/datasources/{ds}/candidates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SegmentCandidate {
    /// The segment's interval, `start/end`.
    pub interval: String,
    /// The segment's version.
    #[serde(default)]
    pub version: Option<String>,
    /// The partition number.
    #[serde(default)]
    pub partition_number: Option<i64>,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<i64>,
    /// The servers that serve it.
    #[serde(default)]
    pub locations: Vec<CandidateServer>,
}

/// A server that serves a [`SegmentCandidate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CandidateServer {
    /// The server's name, `host:port`.
    #[serde(default)]
    pub name: Option<String>,
    /// `host:port`, plaintext.
    #[serde(default)]
    pub host: Option<String>,
    /// `host:tlsPort`, or `None` without TLS.
    #[serde(default)]
    pub host_and_tls_port: Option<String>,
    /// Capacity in bytes.
    #[serde(default)]
    pub max_size: Option<i64>,
    /// `historical`, `indexer-executor`, `broker`, ...
    #[serde(rename = "type", default)]
    pub server_type: Option<String>,
    /// The tier.
    #[serde(default)]
    pub tier: Option<String>,
    /// Priority within the tier.
    #[serde(default)]
    pub priority: Option<i64>,
}

/// The columns of a queryable datasource (`/druid/v2/datasources/{ds}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DatasourceColumns {
    /// Dimension names.
    #[serde(default)]
    pub dimensions: Vec<String>,
    /// Metric names.
    #[serde(default)]
    pub metrics: Vec<String>,
}

/// What a lookup-loading service holds (`GET /druid/listen/v1/lookups`).
///
/// Druid sends the lookup manager's state (`current`, `toLoad`, `toDrop`);
/// the docs show a bare `{name: spec}` map, which is read as `current`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "LoadedLookupsWire")]
#[non_exhaustive]
pub struct LoadedLookups {
    /// The loaded lookups, by name.
    #[serde(default)]
    pub current: BTreeMap<String, LookupSpec>,
    /// Lookups waiting to load, by name.
    #[serde(default)]
    pub to_load: BTreeMap<String, LookupSpec>,
    /// Lookups waiting to be dropped.
    #[serde(default)]
    pub to_drop: Vec<String>,
}

/// The two shapes of `GET /druid/listen/v1/lookups`.
#[derive(Deserialize)]
#[serde(untagged)]
enum LoadedLookupsWire {
    /// What Druid sends: the lookup manager's state.
    State {
        current: BTreeMap<String, LookupSpec>,
        #[serde(default, rename = "toLoad")]
        to_load: BTreeMap<String, LookupSpec>,
        #[serde(default, rename = "toDrop")]
        to_drop: Vec<String>,
    },
    /// What the docs show: the loaded lookups by name.
    Current(BTreeMap<String, LookupSpec>),
}

impl From<LoadedLookupsWire> for LoadedLookups {
    fn from(wire: LoadedLookupsWire) -> Self {
        match wire {
            LoadedLookupsWire::State {
                current,
                to_load,
                to_drop,
            } => LoadedLookups {
                current,
                to_load,
                to_drop,
            },
            LoadedLookupsWire::Current(current) => LoadedLookups {
                current,
                to_load: BTreeMap::new(),
                to_drop: Vec::new(),
            },
        }
    }
}

/// Row counts of an ingestion phase (`processed`, `unparseable`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RowCounts {
    /// Rows ingested.
    #[serde(default)]
    pub processed: i64,
    /// Bytes read.
    #[serde(default)]
    pub processed_bytes: i64,
    /// Rows ingested with a parse error in some column.
    #[serde(default)]
    pub processed_with_error: i64,
    /// Rows dropped on purpose (filtered, outside the intervals).
    #[serde(default)]
    pub thrown_away: i64,
    /// Rows that could not be parsed.
    #[serde(default)]
    pub unparseable: i64,
}

/// Rows per second of an ingestion phase, averaged over a window.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RowRates {
    /// Rows ingested per second.
    #[serde(default)]
    pub processed: f64,
    /// Bytes read per second.
    #[serde(default)]
    pub processed_bytes: f64,
    /// Rows with a parse error per second.
    #[serde(default)]
    pub processed_with_error: f64,
    /// Rows dropped on purpose per second.
    #[serde(default)]
    pub thrown_away: f64,
    /// Unparseable rows per second.
    #[serde(default)]
    pub unparseable: f64,
}

/// `GET /druid/worker/v1/chat/{taskId}/rowStats`: a running task's row
/// counts per phase (`buildSegments`, `determinePartitions`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RowStats {
    /// Per phase, per window (`1m`, `5m`, `15m`), the rates.
    #[serde(default)]
    pub moving_averages: BTreeMap<String, BTreeMap<String, RowRates>>,
    /// Per phase, the totals.
    #[serde(default)]
    pub totals: BTreeMap<String, RowCounts>,
}

impl RowStats {
    /// The totals of the `buildSegments` phase.
    pub fn build_segments(&self) -> Option<&RowCounts> {
        self.totals.get("buildSegments")
    }
}

/// `GET /druid/worker/v1/chat/{supervisorTaskId}/progress`: the subtasks
/// of the current phase of a parallel task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParallelProgress {
    /// Running subtasks.
    #[serde(default)]
    pub running: i64,
    /// Subtasks that succeeded.
    #[serde(default)]
    pub succeeded: i64,
    /// Subtasks that failed (and may be retried).
    #[serde(default)]
    pub failed: i64,
    /// Finished subtasks.
    #[serde(default)]
    pub complete: i64,
    /// Subtasks so far.
    #[serde(default)]
    pub total: i64,
    /// How many subtasks should succeed in the end (an estimate while the
    /// input splits are still being listed).
    #[serde(default, alias = "expectedSucceeded")]
    pub estimated_expected_succeeded: Option<i64>,
}

/// A subtask spec of a parallel task: the work of one subtask.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubTaskSpec {
    /// The spec's ID (attempts are subtasks with their own IDs).
    pub id: String,
    /// The group ID (the supervisor task's).
    #[serde(default)]
    pub group_id: Option<String>,
    /// The supervisor task's ID.
    #[serde(default)]
    pub supervisor_task_id: Option<String>,
    /// The subtask's context.
    #[serde(default)]
    pub context: Option<Value>,
    /// The input split the subtask reads.
    #[serde(default)]
    pub input_split: Option<Value>,
    /// The subtask's ingestion spec, where the spec type has one.
    #[serde(default)]
    pub ingestion_spec: Option<Value>,
}

/// `GET .../subtaskspec/{id}/state`: a spec and its attempts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubTaskSpecState {
    /// The spec.
    pub spec: SubTaskSpec,
    /// The running attempt, if any.
    #[serde(default)]
    pub current_status: Option<TaskStatus>,
    /// The finished attempts, oldest first.
    #[serde(default)]
    pub task_history: Vec<TaskStatus>,
}
