//! Helpers that wait for the cluster: a task to finish, segments to load, a
//! table to answer SQL. Each takes a time limit and fails with
//! [`Error::WaitTimeout`] (naming the last state seen) when it runs out.
//!
//! Polling starts fast and backs off to a few seconds; nothing runs in the
//! background, so dropping the future stops the wait.

use std::time::{Duration, Instant};

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
    let mut interval = Duration::from_millis(200);
    loop {
        let last_seen = match check().await? {
            Ok(value) => return Ok(value),
            Err(state) => state,
        };
        let waited = start.elapsed();
        if waited >= limit {
            return Err(Error::WaitTimeout {
                what: what.to_owned(),
                waited,
                last_seen,
            });
        }
        tokio::time::sleep(interval.min(limit - waited)).await;
        interval = (interval * 2).min(Duration::from_secs(2));
    }
}

impl OverlordClient {
    /// Waits until a task has finished and returns its final status, which
    /// is [`TaskState::Success`] or [`TaskState::Failed`] (check it).
    ///
    /// A task the Overlord does not know yet (just submitted) is waited for;
    /// other errors end the wait.
    pub async fn wait_for_task(&self, task_id: &str, limit: Duration) -> Result<TaskStatus> {
        poll(&format!("task {task_id} to finish"), limit, || async {
            match self.task_status(task_id).await {
                Ok(answer) => match answer.status {
                    Some(status) if status.status_code.is_complete() => Ok(Ok(status)),
                    Some(status) => Ok(Err(format!(
                        "{} ({})",
                        status.status_code,
                        status
                            .runner_status_code
                            .map(|r| r.to_string())
                            .unwrap_or_default()
                    ))),
                    None => Ok(Err("no status yet".to_owned())),
                },
                Err(e) if e.is_not_found() => Ok(Err("not known to the Overlord yet".to_owned())),
                Err(e) => Err(e),
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
