//! Helpers that wait for the cluster: a task to finish, segments to load, a
//! table to answer SQL. Each takes a time limit and fails with
//! [`Error::WaitTimeout`] (naming the last state seen) when it runs out;
//! each check is bounded by the time left, so a cluster that stops
//! answering cannot hold a wait past its limit.
//!
//! Polling starts fast and backs off to a few seconds; nothing runs in the
//! background, so dropping the future stops the wait.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::models::{SqlTaskResponse, TaskState, TaskStatus};
use crate::sql::SqlRequest;
use crate::{CoordinatorClient, Error, OverlordClient, Result};

/// Druid's interval for all time (`Intervals.ETERNITY`).
pub const ETERNITY: &str = "-146136543-09-08T08:23:32.096Z/146140482-04-24T15:36:27.903Z";

/// Polls `check` until it yields a value or `limit` passes; the building
/// block of every wait here, for conditions of your own.
///
/// `check` returns `Ok(Ok(value))` when done, `Ok(Err(state))` with a
/// description of the state while not done, and `Err` for a failure that
/// ends the wait. Running out of time is [`Error::WaitTimeout`], naming
/// `what` and the last state.
///
/// ```no_run
/// # async fn demo(client: druid_api::Client) -> druid_api::Result<()> {
/// use std::time::Duration;
/// use druid_api::prelude::*;
/// let count = druid_api::wait::poll("a second Broker", Duration::from_secs(60), || async {
///     let brokers = client.cluster().await?.brokers()?.len();
///     Ok(if brokers >= 2 { Ok(brokers) } else { Err(format!("{brokers} Brokers")) })
/// })
/// .await?;
/// # Ok(()) }
/// ```
pub async fn poll<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<std::result::Result<T, String>>>,
{
    let start = Instant::now();
    let limit = druid_transport::effective_limit(limit);
    let mut interval = Duration::from_millis(200);
    let mut last_seen = "no answer yet".to_owned();
    loop {
        // Each check gets the time left, no more.
        let checked = match limit {
            Some(limit) => {
                tokio::time::timeout(limit.saturating_sub(start.elapsed()), check()).await
            }
            None => Ok(check().await),
        };
        match checked {
            Ok(result) => match result? {
                Ok(value) => return Ok(value),
                Err(state) => last_seen = state,
            },
            Err(_) => {
                return Err(Error::WaitTimeout {
                    what: what.to_owned(),
                    waited: start.elapsed(),
                    last_seen: format!(
                        "{last_seen} (the last check had no answer when the time ran out)"
                    ),
                });
            }
        }
        let waited = start.elapsed();
        let left = limit.map(|limit| limit.saturating_sub(waited));
        if left == Some(Duration::ZERO) {
            return Err(Error::WaitTimeout {
                what: what.to_owned(),
                waited,
                last_seen,
            });
        }
        tokio::time::sleep(left.map_or(interval, |left| interval.min(left))).await;
        interval = (interval * 2).min(Duration::from_secs(2));
    }
}

/// How long a running MSQ task's live report may take, per poll.
const REPORT_LIMIT: Duration = Duration::from_secs(2);

/// An MSQ report's progress: the stages finished, and the rows the first
/// stage has read (summed over its workers).
pub(crate) fn msq_progress(reports: &Value) -> Option<String> {
    let payload = reports.pointer("/multiStageQuery/payload")?;
    let stages = payload.get("stages")?.as_array()?;
    let finished = stages
        .iter()
        .filter(|s| s.get("phase").and_then(Value::as_str) == Some("FINISHED"))
        .count();
    let rows: u64 = payload
        .pointer("/counters/0")
        .and_then(Value::as_object)
        .map(|workers| {
            workers
                .values()
                .filter_map(|w| w.pointer("/output/rows")?.as_array())
                .flatten()
                .filter_map(Value::as_u64)
                // Counts from the network: a sum past u64 is not a panic
                // (found by the `task_reports` fuzz target).
                .fold(0_u64, u64::saturating_add)
        })
        .unwrap_or(0);
    Some(format!(
        "stages {finished}/{} done, {rows} rows read",
        stages.len()
    ))
}

impl OverlordClient {
    /// Waits until a task has finished and returns its final status, which
    /// is [`TaskState::Success`] or [`TaskState::Failed`] (check it).
    ///
    /// A task the Overlord does not know yet (just submitted) is waited for;
    /// other errors end the wait.
    pub async fn wait_for_task(&self, task_id: &str, limit: Duration) -> Result<TaskStatus> {
        self.wait_for_task_with(task_id, limit, |_| {}).await
    }

    /// [`wait_for_task`](Self::wait_for_task), telling `progress` each
    /// state it sees before the end, for a progress display: `RUNNING
    /// (RUNNING)`, and for an MSQ controller its live report's stages and
    /// rows (`RUNNING (RUNNING), stages 0/2 done, 3 rows read`).
    pub async fn wait_for_task_with(
        &self,
        task_id: &str,
        limit: Duration,
        progress: impl FnMut(&str) + Send,
    ) -> Result<TaskStatus> {
        let progress = std::sync::Mutex::new(progress);
        poll(&format!("task {task_id} to finish"), limit, || {
            let progress = &progress;
            async move {
                let status = match self.task_status(task_id).await {
                    Ok(answer) => answer.status,
                    Err(e) if e.is_not_found() => {
                        return Ok(Err("not known to the Overlord yet".to_owned()));
                    }
                    Err(e) => return Err(e),
                };
                let Some(status) = status else {
                    return Ok(Err("no status yet".to_owned()));
                };
                if status.status_code.is_complete() {
                    return Ok(Ok(status));
                }
                let mut state = match status.runner_status_code {
                    Some(runner) => format!("{} ({runner})", status.status_code),
                    None => status.status_code.to_string(),
                };
                // An MSQ controller reports its stages and rows live.
                if status.task_type.as_deref() == Some("query_controller")
                    && let Ok(Ok(reports)) =
                        tokio::time::timeout(REPORT_LIMIT, self.task_reports(task_id)).await
                    && let Some(live) = serde_json::to_value(&reports)
                        .ok()
                        .and_then(|r| msq_progress(&r))
                {
                    state = format!("{state}, {live}");
                }
                if let Ok(mut progress) = progress.lock() {
                    progress(&state);
                }
                Ok(Err(state))
            }
        })
        .await
    }

    /// Waits for a task and fails unless it succeeded; the error carries the
    /// task's own error message.
    pub async fn wait_for_task_success(
        &self,
        task_id: &str,
        limit: Duration,
    ) -> Result<TaskStatus> {
        let status = self.wait_for_task(task_id, limit).await?;
        if status.status_code == TaskState::Success {
            Ok(status)
        } else {
            Err(Error::TaskFailed {
                task_id: task_id.to_owned(),
                state: status.status_code.to_string(),
                message: status
                    .error_msg
                    .clone()
                    .unwrap_or_else(|| "no error message".to_owned()),
            })
        }
    }
}

impl CoordinatorClient {
    /// Waits until every used segment of a datasource, of any time, is
    /// loaded on the Historicals (`loadstatus` at 100 %).
    pub async fn wait_for_datasource_loaded(
        &self,
        datasource: &str,
        limit: Duration,
    ) -> Result<()> {
        self.wait_for_datasource_loaded_with(datasource, limit, |_| {})
            .await
    }

    /// [`wait_for_datasource_loaded`](Self::wait_for_datasource_loaded),
    /// telling `progress` each state it sees before the end (`42.0 %
    /// loaded`), for a progress display.
    pub async fn wait_for_datasource_loaded_with(
        &self,
        datasource: &str,
        limit: Duration,
        progress: impl FnMut(&str) + Send,
    ) -> Result<()> {
        let progress = std::sync::Mutex::new(progress);
        poll(
            &format!("datasource {datasource} to be loaded"),
            limit,
            || {
                let progress = &progress;
                async move {
                    let status = self
                        .datasource_load_status(datasource, true)
                        .interval(ETERNITY)
                        .await?;
                    let state = match status {
                        Some(map) => match map.get(datasource) {
                            Some(percent) if *percent >= 100.0 => return Ok(Ok(())),
                            Some(percent) => format!("{percent:.1} % loaded"),
                            None => "not in the load status yet".to_owned(),
                        },
                        None => "no used segments yet".to_owned(),
                    };
                    if let Ok(mut progress) = progress.lock() {
                        progress(&state);
                    }
                    Ok(Err(state))
                }
            },
        )
        .await
    }
}

impl SqlRequest {
    /// Submits the statement as an SQL-based (MSQ) task and waits, through
    /// `overlord`, until it succeeds. Returns the submission and the final
    /// status; a failed task is [`Error::TaskFailed`].
    pub async fn run_task(
        self,
        overlord: &OverlordClient,
        limit: Duration,
    ) -> Result<(SqlTaskResponse, TaskStatus)> {
        let started = Instant::now();
        let submitted = self.submit_task().await?;
        let remaining = limit.saturating_sub(started.elapsed());
        let status = overlord
            .wait_for_task_success(&submitted.task_id, remaining)
            .await?;
        Ok((submitted, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn poll_times_out_with_the_last_state() {
        let err = poll("nothing", Duration::from_millis(300), || async {
            Ok::<std::result::Result<(), String>, Error>(Err("still 42 %".to_owned()))
        })
        .await
        .unwrap_err();
        match err {
            Error::WaitTimeout {
                what,
                waited,
                last_seen,
            } => {
                assert_eq!(what, "nothing");
                assert!(waited >= Duration::from_millis(300));
                assert_eq!(last_seen, "still 42 %");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A check that never answers (a frozen Overlord behind `no_timeout()`)
    /// ends with the wait's limit, not after it.
    #[tokio::test]
    async fn a_check_that_hangs_ends_at_the_limit() {
        let started = Instant::now();
        let err = poll("a hung check", Duration::from_millis(300), || async {
            std::future::pending::<Result<std::result::Result<(), String>>>().await
        })
        .await
        .unwrap_err();
        assert!(err.is_wait_timeout(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(err.to_string().contains("no answer"), "{err}");
        // No limit at all is no limit, not a panic.
        let mut n = 0;
        let value = poll("no limit", Duration::MAX, || {
            n += 1;
            let done = n >= 2;
            async move { Ok::<_, Error>(if done { Ok(n) } else { Err(format!("try {n}")) }) }
        })
        .await
        .unwrap();
        assert_eq!(value, 2);
    }

    #[test]
    fn msq_progress_counts_finished_stages_and_rows_read() {
        // The shape of Druid 27's live report of a running REPLACE.
        let report = serde_json::json!({"multiStageQuery": {"payload": {
            "stages": [{"stageNumber": 0, "phase": "FINISHED"}, {"stageNumber": 1, "phase": "READING_INPUT"}],
            "counters": {"0": {
                "0": {"output": {"type": "channel", "rows": [3, 4]}},
                "1": {"output": {"type": "channel", "rows": [5]}}
            }}
        }}});
        assert_eq!(
            msq_progress(&report).as_deref(),
            Some("stages 1/2 done, 12 rows read")
        );
        assert_eq!(
            msq_progress(&serde_json::json!({"ingestionStatsAndErrors": {}})),
            None
        );
    }

    #[tokio::test]
    async fn poll_returns_as_soon_as_done() {
        let mut n = 0;
        let value = poll("three tries", Duration::from_secs(10), || {
            n += 1;
            let done = n >= 3;
            async move { Ok::<_, Error>(if done { Ok(n) } else { Err(format!("try {n}")) }) }
        })
        .await
        .unwrap();
        assert_eq!(value, 3);
    }
}
