//! Asynchronous SQL statements (`/druid/v2/sql/statements`): submit, wait
//! with a limit, read the result page by page.
//!
//! A statement runs as an MSQ controller task, so it survives the client:
//! dropping a future here stops only the polling (nothing runs in the
//! background), and the statement keeps running on Druid until it finishes
//! or is canceled with [`AsyncStatement::cancel`] (or
//! `client.cancel_statement(query_id)`).

use std::time::{Duration, Instant};

use std::collections::VecDeque;

use bytes::Bytes;
use druid_transport::Response;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::models::{
    ResultFormat, StatementColumn, StatementPage, StatementResponse, StatementState,
};
use crate::rows::{Layout, RowDecoder};
use crate::sql::{QueryHandle, SqlRequest};
use crate::stream::RowStream;
use crate::wait::poll;
use crate::{Error, Result, SqlStatementsApi};

/// The context key that selects the statements API's execution mode.
const EXECUTION_MODE: &str = "executionMode";

/// A submitted asynchronous SQL statement: its ID and the last status seen.
///
/// Made by [`SqlRequest::submit_async`]; [`AsyncStatement::wait`] waits for
/// the results. The handle stays usable after a wait ran out of time: wait
/// again, or [`cancel`](AsyncStatement::cancel).
#[derive(Debug, Clone)]
pub struct AsyncStatement {
    client: QueryHandle,
    status: StatementResponse,
}

/// The results of a successful asynchronous SQL statement: the status with
/// the schema and the pages, and the calls that read the rows.
///
/// Rows are read with `resultFormat=objectLines` and decoded one JSON object
/// per row, so `T` is a struct with `Deserialize` (by column name) or
/// `serde_json::Value`. Every page read is checked against the row count
/// Druid announced for it, so a cut-off download is an error, not missing
/// rows.
///
/// ```no_run
/// # async fn demo(client: druid_api::Client) -> druid_api::Result<()> {
/// use std::time::Duration;
/// use druid_api::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Row { page: String, added: i64 }
///
/// let results = client
///     .sql("SELECT page, added FROM wiki")
///     .run_async(Duration::from_secs(300))
///     .await?;
/// println!("{} rows in {} pages", results.num_rows().unwrap_or(0), results.pages().len());
/// for page in results.pages() {
///     let rows: Vec<Row> = results.page(page.id).await?;
///     println!("page {}: {} rows", page.id, rows.len());
/// }
/// let all: Vec<Row> = results.rows().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AsyncResults {
    client: QueryHandle,
    status: StatementResponse,
}

impl SqlRequest {
    /// Submits the statement to the asynchronous statements API
    /// (`POST /druid/v2/sql/statements`) and returns the handle, without
    /// waiting.
    ///
    /// The context gets `executionMode: ASYNC` unless it sets an execution
    /// mode itself; other MSQ context (`maxNumTasks`, `selectDestination`,
    /// ...) goes as given. `resultFormat` and the header options do not
    /// apply: choose the format when reading (see [`AsyncResults`]).
    ///
    /// # Errors
    ///
    /// Invalid input ([`Error::is_invalid_input`]) for an empty statement;
    /// Druid's answer ([`Error::api`]) when
    /// Druid refuses it (bad SQL, no multi-stage-query extension, ...).
    pub async fn submit_async(mut self) -> Result<AsyncStatement> {
        let body = self.body_mut();
        if body.query.trim().is_empty() {
            return Err(Error::invalid_input(
                "the SQL query is empty; pass the statement to run",
            ));
        }
        if !body.context.contains_key(EXECUTION_MODE) {
            body.context
                .insert(EXECUTION_MODE.to_owned(), Value::from("ASYNC"));
        }
        let status = self.client().submit_statement(self.body()).await?;
        Ok(AsyncStatement {
            client: self.client().clone(),
            status,
        })
    }

    /// Runs the statement asynchronously: submits it, polls its status
    /// until it succeeds, and returns the handle to read the rows. `limit` bounds the submission and the wait, not the reads.
    ///
    /// Dropping the future stops the polling; the statement itself keeps
    /// running on Druid (cancel it with `client.cancel_statement(id)`).
    ///
    /// # Errors
    ///
    /// - [`Error::TaskFailed`] when the statement ends `FAILED` or
    ///   `CANCELED`: `task_id` is the query ID, `state` the state, `message`
    ///   Druid's `errorDetails` (`errorCode: errorMessage`); the whole
    ///   details are in `client.statement(query_id)`;
    /// - [`Error::WaitTimeout`] when `limit` passes first (`what` names the
    ///   query ID; the statement keeps running);
    /// - the errors of [`SqlRequest::submit_async`].
    pub async fn run_async(self, limit: Duration) -> Result<AsyncResults> {
        let started = Instant::now();
        let statement = self.submit_async().await?;
        statement
            .wait(limit.saturating_sub(started.elapsed()))
            .await
    }
}

/// Waits for a statement by ID (`QueryExt::wait_for_statement`).
pub(crate) async fn wait_for_statement(
    client: QueryHandle,
    query_id: &str,
    limit: Duration,
) -> Result<AsyncResults> {
    let started = Instant::now();
    let status = client.statement(query_id).await?;
    AsyncStatement { client, status }
        .wait(limit.saturating_sub(started.elapsed()))
        .await
}

/// The error of a statement that ended without success.
fn failed(status: &StatementResponse) -> Error {
    Error::TaskFailed {
        task_id: status.query_id.clone(),
        state: status.state.to_string(),
        message: status
            .error_details
            .as_ref()
            .map(|e| e.summary())
            .unwrap_or_else(|| "no error details".to_owned()),
    }
}

impl AsyncStatement {
    /// The statement's ID.
    pub fn query_id(&self) -> &str {
        &self.status.query_id
    }

    /// The last status seen (on submission, or by [`AsyncStatement::refresh`]).
    pub fn status(&self) -> &StatementResponse {
        &self.status
    }

    /// Reads the status again and returns it.
    pub async fn refresh(&mut self) -> Result<&StatementResponse> {
        self.status = self.client.statement(&self.status.query_id).await?;
        Ok(&self.status)
    }

    /// Asks Druid to cancel the statement. Druid ends it `CANCELED` (Druid
    /// 27: `FAILED` with the error code `Canceled`, or "Shutdown request from
    /// user" before it ran) shortly after; a finished statement is left as it
    /// is.
    pub async fn cancel(&self) -> Result<()> {
        self.client.cancel_statement(&self.status.query_id).await
    }

    /// Polls the status until the statement succeeds, for at most `limit`.
    ///
    /// Polling starts fast and backs off to a few seconds. Nothing runs in
    /// the background: dropping the future stops the polling, and the
    /// statement keeps running.
    ///
    /// # Errors
    ///
    /// [`Error::TaskFailed`] for `FAILED` or `CANCELED` (with Druid's
    /// `errorDetails` as the message), [`Error::WaitTimeout`] when `limit`
    /// passes first, and the errors of the status call.
    pub async fn wait(&self, limit: Duration) -> Result<AsyncResults> {
        let query_id = self.status.query_id.as_str();
        let status = poll(
            &format!("SQL statement {query_id} to finish"),
            limit,
            || async {
                let status = self.client.statement(query_id).await?;
                match &status.state {
                    StatementState::Success => Ok(Ok(status)),
                    StatementState::Failed | StatementState::Canceled => Err(failed(&status)),
                    other => Ok(Err(format!("{other}"))),
                }
            },
        )
        .await?;
        Ok(AsyncResults {
            client: self.client.clone(),
            status,
        })
    }
}

impl AsyncResults {
    /// The statement's ID.
    pub fn query_id(&self) -> &str {
        &self.status.query_id
    }

    /// The final status: schema, duration, result summary.
    pub fn status(&self) -> &StatementResponse {
        &self.status
    }

    /// The columns of the rows, in order, with their SQL and Druid types.
    pub fn columns(&self) -> &[StatementColumn] {
        &self.status.schema
    }

    /// The total number of rows, as Druid reports it.
    pub fn num_rows(&self) -> Option<i64> {
        self.status.num_total_rows()
    }

    /// The pages to read (empty for a statement without rows, such as an
    /// ingestion).
    pub fn pages(&self) -> &[StatementPage] {
        self.status.pages()
    }

    /// One page of rows in any format, as Druid sends it (JSON, JSON lines,
    /// CSV); `None` reads every page at once.
    ///
    /// Druid 27 ignores `resultFormat` here and always sends JSON lines of
    /// objects.
    pub async fn raw_page(&self, page: Option<i64>, format: ResultFormat) -> Result<Response> {
        let mut request = self
            .client
            .statement_results(&self.status.query_id)
            .result_format(format);
        if let Some(page) = page {
            request = request.page(page);
        }
        request.send().await
    }

    /// The rows of one page (an `id` of [`AsyncResults::pages`]), decoded
    /// into `T`.
    ///
    /// # Errors
    ///
    /// Druid's answer ([`Error::api`]) for a page Druid does not have (400),
    /// and a decode error ([`Error::decode`]) when a row does not decode
    /// into `T` or the page has
    /// fewer rows than announced.
    pub async fn page<T: DeserializeOwned>(&self, page: i64) -> Result<Vec<T>> {
        let expected = self
            .pages()
            .iter()
            .find(|p| p.id == page)
            .and_then(|p| p.num_rows);
        let response = self.raw_page(Some(page), ResultFormat::ObjectLines).await?;
        decode_rows(&response, expected)
    }

    /// Every row of every page, in page order, decoded into `T`. Pages are
    /// read one request each, so no single download grows with the result.
    ///
    /// # Errors
    ///
    /// As [`AsyncResults::page`].
    pub async fn rows<T: DeserializeOwned + Send + 'static>(&self) -> Result<Vec<T>> {
        self.stream::<T>().collect_rows().await
    }

    /// Every row of every page as a stream, in page order: one page is read
    /// (and held) at a time, so memory is bounded by a page. A page that
    /// fails, or holds fewer rows than announced, is the stream's last item.
    pub fn stream<T: DeserializeOwned + Send + 'static>(&self) -> RowStream<T> {
        let pages: VecDeque<i64> = self.pages().iter().map(|p| p.id).collect();
        let results = self.clone();
        let rows = futures_util::stream::unfold(
            (results, pages, VecDeque::<T>::new(), false),
            |(results, mut pages, mut rows, failed)| async move {
                loop {
                    if let Some(row) = rows.pop_front() {
                        return Some((Ok(row), (results, pages, rows, failed)));
                    }
                    if failed {
                        return None;
                    }
                    let page = pages.pop_front()?;
                    match results.page::<T>(page).await {
                        Ok(page_rows) => rows.extend(page_rows),
                        Err(e) => return Some((Err(e), (results, pages, rows, true))),
                    }
                }
            },
        );
        RowStream::from_stream(self.status.query_id.clone(), rows)
    }
}

/// Decodes the rows of a results page: JSON lines of objects (what was
/// asked for), or a JSON array (what some releases send instead), in one
/// pass. With `expected`, a different row count is an error. (The lines of
/// a page need no blank last line: the announced count is the check.)
fn decode_rows<T: DeserializeOwned>(response: &Response, expected: Option<i64>) -> Result<Vec<T>> {
    let body = response.body();
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let format = if is_array {
        ResultFormat::Object
    } else {
        ResultFormat::ObjectLines
    };
    let mut decoder = RowDecoder::new(Layout::plain(format));
    let mut rows = VecDeque::new();
    let mut decoded = decoder.feed(body.clone(), &mut rows);
    if decoded.is_ok() && !is_array && body.ends_with(b"\n") {
        // Complete lines: a blank line ends them, and the count below says
        // whether rows are missing.
        decoded = decoder.feed(Bytes::from_static(b"\n"), &mut rows);
    }
    if decoded.is_ok() {
        // Anything after the end (rows after a blank line) is an error, not
        // rows to drop (found by the `statement_pages` fuzz target).
        decoded = decoder.finish(&mut rows);
    }
    if let Err(e) = decoded {
        let path = e
            .row
            .map_or_else(|| ".".to_owned(), |row| format!("[{row}]"));
        return Err(response.decode_error::<T>(path, e.message).into());
    }
    if let Some(expected) = expected
        && usize::try_from(expected).ok() != Some(rows.len())
    {
        return Err(Error::from(response.decode_error::<Vec<T>>(
            ".".to_owned(),
            format!(
                "the page has {} rows where Druid announced {expected}: the download was cut off",
                rows.len()
            ),
        )));
    }
    Ok(rows.into())
}
