//! Overlord models: tasks, workers, supervisors.

use serde::{Deserialize, Serialize};
use serde_json::Value;

string_enum! {
    /// A task's state (`statusCode`).
    pub enum TaskState {
        /// Waiting, pending or running.
        Running = "RUNNING",
        /// Finished successfully.
        Success = "SUCCESS",
        /// Finished with an error.
        Failed = "FAILED",
    }
}

impl TaskState {
    /// Whether the task has finished, one way or the other.
    pub fn is_complete(&self) -> bool {
        matches!(self, TaskState::Success | TaskState::Failed)
    }
}

string_enum! {
    /// Where a task is in the runner (`runnerStatusCode`).
    pub enum RunnerState {
        /// Queued in the Overlord, not yet given to a worker.
        Waiting = "WAITING",
        /// Given to a worker, not yet started.
        Pending = "PENDING",
        /// Running on a worker.
        Running = "RUNNING",
        /// Not in the runner (complete, or not known).
        None = "NONE",
    }
}

string_enum! {
    /// The `state` filter of the task lists.
    pub enum TaskListState {
        /// Running tasks.
        Running = "running",
        /// Complete tasks.
        Complete = "complete",
        /// Waiting tasks.
        Waiting = "waiting",
        /// Pending tasks.
        Pending = "pending",
    }
}

/// Where a task runs: the Peon's or Indexer's address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskLocation {
    /// The host, or `null` before the task is placed.
    #[serde(default)]
    pub host: Option<String>,
    /// The plaintext port, `-1` when none.
    #[serde(default)]
    pub port: Option<i32>,
    /// The TLS port, `-1` when none.
    #[serde(default)]
    pub tls_port: Option<i32>,
}

/// A task's status: the entries of the task lists, and the `status` of
/// `GET /task/{id}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskStatus {
    /// The task ID.
    pub id: String,
    /// The group ID (for MSQ and parallel tasks, the controller's ID).
    #[serde(default)]
    pub group_id: Option<String>,
    /// The task type (`index_parallel`, `query_controller`, `kill`, ...).
    #[serde(rename = "type", default)]
    pub task_type: Option<String>,
    /// When the task was created, ISO-8601.
    #[serde(default)]
    pub created_time: Option<String>,
    /// When it was queued (1970 for tasks not queued).
    #[serde(default)]
    pub queue_insertion_time: Option<String>,
    /// RUNNING, SUCCESS or FAILED.
    pub status_code: TaskState,
    /// The same as `status_code` in current releases.
    #[serde(default)]
    pub status: Option<TaskState>,
    /// Where the task is in the runner.
    #[serde(default)]
    pub runner_status_code: Option<RunnerState>,
    /// Run time in milliseconds; `-1` while running.
    #[serde(default)]
    pub duration: Option<i64>,
    /// Where the task runs.
    #[serde(default)]
    pub location: Option<TaskLocation>,
    /// The datasource the task writes.
    #[serde(default)]
    pub data_source: Option<String>,
    /// Why the task failed.
    #[serde(default)]
    pub error_msg: Option<String>,
}

/// `GET /druid/indexer/v1/task/{taskId}/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskStatusResponse {
    /// The task ID asked for.
    pub task: String,
    /// The status; `None` for an unknown task on some releases.
    #[serde(default)]
    pub status: Option<TaskStatus>,
}

/// `POST /druid/indexer/v1/task`: the ID of the submitted task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskId {
    /// The task ID.
    pub task: String,
}

/// `GET /druid/indexer/v1/task/{taskId}`: the task's spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskPayload {
    /// The task ID.
    pub task: String,
    /// The task spec as submitted (with defaults filled in).
    pub payload: Value,
}

/// `GET /druid/indexer/v1/workers`: one worker and its load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkerStatus {
    /// The worker.
    pub worker: Worker,
    /// Task slots in use.
    #[serde(default)]
    pub curr_capacity_used: Option<i64>,
    /// Parallel-index slots in use.
    #[serde(default)]
    pub curr_parallel_index_capacity_used: Option<i64>,
    /// IDs of the tasks running on the worker.
    #[serde(default)]
    pub running_tasks: Vec<String>,
    /// When the worker last finished a task.
    #[serde(default)]
    pub last_completed_task_time: Option<String>,
    /// Until when the worker is blacklisted, if it is.
    #[serde(default)]
    pub blacklisted_until: Option<String>,
}

/// A MiddleManager or Indexer as the Overlord sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Worker {
    /// `http` or `https`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// `host:port`.
    pub host: String,
    /// The worker's IP address.
    #[serde(default)]
    pub ip: Option<String>,
    /// Task slots.
    #[serde(default)]
    pub capacity: Option<i64>,
    /// The worker's version string (not the Druid version).
    #[serde(default)]
    pub version: Option<String>,
    /// The worker category.
    #[serde(default)]
    pub category: Option<String>,
}

/// `GET /druid/indexer/v1/supervisor?state=true`: one supervisor's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SupervisorState {
    /// The supervisor ID.
    pub id: String,
    /// The coarse state (`RUNNING`, `SUSPENDED`, `UNHEALTHY_SUPERVISOR`, ...).
    #[serde(default)]
    pub state: Option<String>,
    /// The detailed state.
    #[serde(default)]
    pub detailed_state: Option<String>,
    /// Whether the supervisor is healthy.
    #[serde(default)]
    pub healthy: Option<bool>,
    /// Whether it is suspended.
    #[serde(default)]
    pub suspended: Option<bool>,
}

/// An answer that names one or more affected IDs, like `{"id": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdResponse {
    /// The ID.
    pub id: String,
}

/// `POST .../shutdownAllTasks`: the datasource whose tasks stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataSourceName {
    /// The datasource.
    pub data_source: String,
}

/// `DELETE /pendingSegments/{dataSource}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct NumDeleted {
    /// How many pending segments were deleted.
    pub num_deleted: i64,
}

/// A short task status, from `POST /taskStatus`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskStatusBrief {
    /// The task ID.
    pub id: String,
    /// RUNNING, SUCCESS or FAILED.
    pub status: TaskState,
    /// Run time in milliseconds; `-1` while running.
    #[serde(default)]
    pub duration: Option<i64>,
    /// Why the task failed.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Where the task runs.
    #[serde(default)]
    pub location: Option<TaskLocation>,
}

/// `GET /supervisor/{id}/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SupervisorHealth {
    /// Whether the supervisor is healthy.
    pub healthy: bool,
}

/// One version of a supervisor spec, from the history endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SupervisorSpecVersion {
    /// The spec.
    pub spec: Value,
    /// When it was submitted (the version is a timestamp).
    pub version: String,
}

/// `GET /task/{taskId}/reports`: the reports of a task, keyed by type.
///
/// Classic tasks report `ingestionStatsAndErrors` (compaction:
/// `ingestionStatsAndErrors_0`, `_1`, ...) and `taskContext`; an MSQ
/// controller reports `multiStageQuery`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskReports(pub std::collections::BTreeMap<String, Value>);

impl TaskReports {
    /// The payload of a report type.
    pub fn payload(&self, report_type: &str) -> Option<&Value> {
        self.0.get(report_type).and_then(|r| r.get("payload"))
    }

    /// The `ingestionStatsAndErrors` report of a classic task (for
    /// compaction, the first of `ingestionStatsAndErrors_0`, `_1`, ...).
    pub fn ingestion_stats(&self) -> Option<IngestionStats> {
        let payload = self.payload("ingestionStatsAndErrors").or_else(|| {
            self.0
                .iter()
                .find(|(key, _)| key.starts_with("ingestionStatsAndErrors"))
                .and_then(|(_, report)| report.get("payload"))
        })?;
        serde_json::from_value(payload.clone()).ok()
    }

    /// The `multiStageQuery` status of an MSQ controller.
    pub fn msq_status(&self) -> Option<MsqStatus> {
        let status = self.payload("multiStageQuery")?.get("status")?;
        serde_json::from_value(status.clone()).ok()
    }

    /// The rows of an MSQ `SELECT` written to the report.
    pub fn msq_results(&self) -> Option<&Vec<Value>> {
        self.payload("multiStageQuery")?
            .get("results")?
            .get("results")?
            .as_array()
    }
}

/// The `ingestionStatsAndErrors` report of a classic (native) task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IngestionStats {
    /// `NOT_STARTED`, `DETERMINE_PARTITIONS`, `BUILD_SEGMENTS` or `COMPLETED`.
    #[serde(default)]
    pub ingestion_state: Option<String>,
    /// Row counts per phase (`determinePartitions`, `buildSegments`):
    /// processed, processedBytes, processedWithError, thrownAway, unparseable.
    #[serde(default)]
    pub row_stats: Option<Value>,
    /// Samples of unparseable rows per phase.
    #[serde(default)]
    pub unparseable_events: Option<Value>,
    /// Why the task failed.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// Whether the task saw its segments become queryable.
    #[serde(default)]
    pub segment_availability_confirmed: Option<bool>,
}

impl IngestionStats {
    /// The `processed` count of the `buildSegments` phase (for a parallel
    /// task's supervisor, the count under `totals`).
    pub fn rows_processed(&self) -> Option<i64> {
        let stats = self.row_stats.as_ref()?;
        let build = stats
            .get("buildSegments")
            .or_else(|| stats.get("totals")?.get("buildSegments"))?;
        build.get("processed")?.as_i64()
    }
}

/// The status part of an MSQ controller's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MsqStatus {
    /// RUNNING, SUCCESS or FAILED.
    pub status: TaskState,
    /// When the query started.
    #[serde(default)]
    pub start_time: Option<String>,
    /// Run time in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<i64>,
    /// Workers by stage.
    #[serde(default)]
    pub pending_tasks: Option<i64>,
    /// Running worker tasks.
    #[serde(default)]
    pub running_tasks: Option<i64>,
    /// The error, for a failed query.
    #[serde(default)]
    pub error_report: Option<Value>,
    /// Whether segments were loaded, for ingestion with `waitUntilSegmentsLoad`.
    #[serde(default)]
    pub segment_load_status: Option<Value>,
}

/// `GET /supervisor/{id}/status`: a streaming supervisor's state, tasks,
/// offsets and lag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SupervisorStatus {
    /// The supervisor ID.
    pub id: String,
    /// When the report was made.
    #[serde(default)]
    pub generation_time: Option<String>,
    /// The report.
    pub payload: SupervisorStatusPayload,
}

/// The report part of [`SupervisorStatus`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SupervisorStatusPayload {
    /// The datasource it writes.
    #[serde(default)]
    pub data_source: Option<String>,
    /// The stream (topic) it reads.
    #[serde(default)]
    pub stream: Option<String>,
    /// Partitions of the stream.
    #[serde(default)]
    pub partitions: Option<i64>,
    /// Replicas of each task group.
    #[serde(default)]
    pub replicas: Option<i64>,
    /// How long each task reads, seconds.
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    /// Tasks reading now, with their offsets and lag.
    #[serde(default)]
    pub active_tasks: Vec<Value>,
    /// Tasks publishing their segments.
    #[serde(default)]
    pub publishing_tasks: Vec<Value>,
    /// The stream's latest offsets, per partition.
    #[serde(default)]
    pub latest_offsets: Option<Value>,
    /// The least lag, per partition.
    #[serde(default)]
    pub minimum_lag: Option<Value>,
    /// The total lag.
    #[serde(default)]
    pub aggregate_lag: Option<i64>,
    /// When the offsets were last read.
    #[serde(default)]
    pub offsets_last_updated: Option<String>,
    /// Whether it is suspended.
    #[serde(default)]
    pub suspended: Option<bool>,
    /// Whether it is healthy.
    #[serde(default)]
    pub healthy: Option<bool>,
    /// The coarse state.
    #[serde(default)]
    pub state: Option<String>,
    /// The detailed state.
    #[serde(default)]
    pub detailed_state: Option<String>,
    /// Recent errors.
    #[serde(default)]
    pub recent_errors: Vec<Value>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: std::collections::BTreeMap<String, Value>,
}

/// An answer like `{"status": "success"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StatusResponse {
    /// The status, e.g. `success`.
    pub status: String,
}
