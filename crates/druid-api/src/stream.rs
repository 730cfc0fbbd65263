//! Query results as a [`Stream`] of typed rows, decoded as they arrive.
//!
//! A [`RowStream`] sends its query when it is first polled, decodes each
//! chunk of the answer as it comes in ([`crate::rows`]), and holds at most
//! the rows of one chunk. It ends with an error, never silently, when the
//! result is cut short. Dropped before its end, it asks Druid to cancel the
//! query (a bounded, best-effort `DELETE` of the query ID).

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use druid_transport::{Request, Service, StreamingResponse, encode_segment};
use futures_core::Stream;
use serde::de::DeserializeOwned;

use crate::rows::{Layout, RowDecoder, RowError};
use crate::sql::Column;
use crate::{Error, Result};

/// How long a cancellation sent on drop may take.
const CANCEL_LIMIT: Duration = Duration::from_secs(5);

/// Rows of a query result, as they arrive: a [`Stream`] of `Result<T>`.
///
/// Made by [`SqlRequest::stream`](crate::SqlRequest::stream). The query ID
/// is known at once ([`RowStream::query_id`]), before anything is sent; the
/// columns once the header rows are in ([`RowStream::columns`]). Memory is
/// bounded by one chunk of the answer, not by the result.
///
/// The last item is an error when the result is incomplete
/// ([`Error::Incomplete`]: the connection broke, the end marker is missing,
/// or Druid's trailers report a failure). Dropping the stream before its end
/// cancels the query on Druid, unless that was turned off
/// ([`SqlRequest::cancel_on_drop`](crate::SqlRequest::cancel_on_drop)): a
/// `DELETE` of the query ID, spawned on the current tokio runtime and given
/// five seconds. Nothing else runs in the background.
///
/// Use it with `futures::StreamExt`, or without it:
///
/// ```no_run
/// use druid_api::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Row { page: String, added: i64 }
///
/// # async fn demo(client: druid_api::Client) -> druid_api::Result<()> {
/// let mut rows = client.sql("SELECT page, added FROM wiki").stream::<Row>();
/// println!("query {}", rows.query_id());
/// while let Some(row) = rows.next_row().await {
///     let row = row?;
///     println!("{} {}", row.page, row.added);
/// }
/// # Ok(()) }
/// ```
#[must_use = "a stream does nothing until it is polled"]
pub struct RowStream<T> {
    query_id: String,
    columns: Arc<OnceLock<Vec<Column>>>,
    inner: Pin<Box<dyn Stream<Item = Result<T>> + Send>>,
}

impl<T> fmt::Debug for RowStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RowStream")
            .field("query_id", &self.query_id)
            .field("columns", &self.columns.get())
            .finish_non_exhaustive()
    }
}

impl<T> RowStream<T> {
    /// The query's ID: the one given, or the one the client chose.
    pub fn query_id(&self) -> &str {
        &self.query_id
    }

    /// The columns the header rows describe, once they have arrived; `None`
    /// before, and for results without a header.
    pub fn columns(&self) -> Option<&[Column]> {
        self.columns.get().map(Vec::as_slice)
    }

    /// The next row; `None` at the end of a complete result.
    pub async fn next_row(&mut self) -> Option<Result<T>> {
        std::future::poll_fn(|cx| self.inner.as_mut().poll_next(cx)).await
    }

    /// Reads every row into a `Vec`.
    pub async fn collect_rows(mut self) -> Result<Vec<T>> {
        let mut rows = Vec::new();
        while let Some(row) = self.next_row().await {
            rows.push(row?);
        }
        Ok(rows)
    }
}

impl<T> Stream for RowStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Where a query is cancelled, and whether it should be.
#[derive(Debug)]
pub(crate) struct Cancel {
    pub(crate) service: Service,
    /// The cancel request (`DELETE /druid/v2/sql/{id}`).
    pub(crate) path: String,
    pub(crate) operation: String,
    pub(crate) enabled: bool,
}

impl Cancel {
    /// The cancellation of an SQL query.
    pub(crate) fn sql(service: Service, name: &str, query_id: &str, enabled: bool) -> Self {
        Cancel {
            service,
            path: format!("/druid/v2/sql/{}", encode_segment(query_id)),
            operation: format!("{name}.cancel_sql"),
            enabled,
        }
    }

    /// The cancellation of a native query.
    pub(crate) fn native(service: Service, name: &str, query_id: &str, enabled: bool) -> Self {
        Cancel {
            service,
            path: format!("/druid/v2/{}", encode_segment(query_id)),
            operation: format!("{name}.cancel_native"),
            enabled,
        }
    }

    /// Spawns the cancel request, bounded, on the current runtime (if any).
    fn fire(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let service = self.service.clone();
        let request = Request::delete(self.path.clone()).operation(self.operation.clone());
        runtime.spawn(async move {
            let _ = tokio::time::timeout(CANCEL_LIMIT, service.execute(&request)).await;
        });
    }
}

/// What a [`RowStream`] needs to send its query and read the answer.
pub(crate) struct Plan {
    pub(crate) query_id: String,
    pub(crate) layout: Layout,
    pub(crate) deadline: Option<Duration>,
    pub(crate) cancel: Cancel,
    /// Sends the query; the answer's status is checked already.
    pub(crate) send: Pin<Box<dyn Future<Output = Result<StreamingResponse>> + Send>>,
}

enum Phase {
    /// The query is not sent yet.
    Unsent(Pin<Box<dyn Future<Output = Result<StreamingResponse>> + Send>>),
    /// The answer is being read.
    Reading(Box<StreamingResponse>, RowDecoder),
    /// Nothing more to read.
    Done,
}

/// What the decoder reads from each element of a result, and the rows it
/// holds: a row itself, or a batch of rows (a scan query's `events`).
pub(crate) trait Unpack<T>: DeserializeOwned + Send + 'static {
    /// The rows of one element.
    type Rows: IntoIterator<Item = T>;
    /// Takes the rows out.
    fn unpack(self) -> Self::Rows;
}

/// An element that is one row.
#[derive(serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct One<T>(T);

impl<T: DeserializeOwned + Send + 'static> Unpack<T> for One<T> {
    type Rows = std::iter::Once<T>;
    fn unpack(self) -> Self::Rows {
        std::iter::once(self.0)
    }
}

/// A batch of a scan query's answer: its rows are the `events`.
#[derive(serde::Deserialize)]
pub(crate) struct ScanBatch<T> {
    #[serde(default = "Vec::new")]
    events: Vec<T>,
}

impl<T: DeserializeOwned + Send + 'static> Unpack<T> for ScanBatch<T> {
    type Rows = std::vec::IntoIter<T>;
    fn unpack(self) -> Self::Rows {
        self.events.into_iter()
    }
}

struct State<T, E> {
    phase: Phase,
    /// Rows (and a last error) to hand out.
    ready: VecDeque<Result<T>>,
    decoded: VecDeque<E>,
    /// Rows handed out or ready.
    rows: u64,
    query_id: String,
    columns: Arc<OnceLock<Vec<Column>>>,
    deadline: Option<Instant>,
    limit: Option<Duration>,
    cancel: Cancel,
    /// Sent, and the answer not read to its end: dropping cancels.
    running: bool,
}

impl<T, E> Drop for State<T, E> {
    fn drop(&mut self) {
        if self.running && self.cancel.enabled {
            self.cancel.fire();
        }
    }
}

impl<T: Send + 'static> RowStream<T> {
    /// A stream of the rows of `E`, each element of the answer.
    pub(crate) fn new<E: Unpack<T>>(plan: Plan) -> Self {
        let columns = Arc::new(OnceLock::new());
        let state = State::<T, E> {
            phase: Phase::Unsent(plan.send),
            ready: VecDeque::new(),
            decoded: VecDeque::new(),
            rows: 0,
            query_id: plan.query_id.clone(),
            columns: columns.clone(),
            deadline: None,
            limit: plan.deadline,
            cancel: plan.cancel,
            running: false,
        };
        let layout = plan.layout;
        let inner = futures_util::stream::unfold(state, move |mut state| {
            let layout = layout.clone();
            async move {
                let item = state.next(&layout).await?;
                Some((item, state))
            }
        });
        RowStream {
            query_id: plan.query_id,
            columns,
            inner: Box::pin(inner),
        }
    }

    /// A stream of rows that come from elsewhere (the pages of a statement).
    pub(crate) fn from_stream(
        query_id: String,
        rows: impl Stream<Item = Result<T>> + Send + 'static,
    ) -> Self {
        RowStream {
            query_id,
            columns: Arc::new(OnceLock::new()),
            inner: Box::pin(rows),
        }
    }

    /// A stream that yields only this error.
    pub(crate) fn failed(query_id: String, error: Error) -> Self {
        let inner = futures_util::stream::iter([Err(error)]);
        RowStream {
            query_id,
            columns: Arc::new(OnceLock::new()),
            inner: Box::pin(inner),
        }
    }
}

/// Moves the decoded elements' rows to the rows to hand out, counting them.
fn unpack<T, E: Unpack<T>>(
    decoded: &mut VecDeque<E>,
    ready: &mut VecDeque<Result<T>>,
    rows: &mut u64,
) {
    for element in decoded.drain(..) {
        for row in element.unpack() {
            *rows += 1;
            ready.push_back(Ok(row));
        }
    }
}

impl<T, E: Unpack<T>> State<T, E> {
    async fn next(&mut self, layout: &Layout) -> Option<Result<T>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Unsent(send) => {
                    self.deadline = self.limit.map(|limit| Instant::now() + limit);
                    self.running = true;
                    let sent = within(self.deadline, &self.cancel, send.as_mut()).await;
                    match sent {
                        Ok(response) => {
                            let decoder = RowDecoder::new(layout.clone());
                            self.phase = Phase::Reading(Box::new(response), decoder);
                        }
                        Err(e) => {
                            // Refused or never answered: nothing runs to cancel
                            // (a query that timed out got its own timeout too).
                            self.running = false;
                            self.phase = Phase::Done;
                            return Some(Err(e));
                        }
                    }
                }
                Phase::Reading(response, decoder) => {
                    let chunk = within(self.deadline, &self.cancel, async {
                        Ok(response.chunk().await?)
                    })
                    .await;
                    let fed = match chunk {
                        Ok(Some(chunk)) => decoder.feed(chunk, &mut self.decoded),
                        Ok(None) => {
                            self.running = false;
                            decoder.finish(&mut self.decoded)
                        }
                        Err(e) => {
                            unpack(&mut self.decoded, &mut self.ready, &mut self.rows);
                            let error = incomplete(response, self.rows, &self.query_id, e);
                            self.ready.push_back(Err(error));
                            self.phase = Phase::Done;
                            continue;
                        }
                    };
                    if let Some(columns) = decoder.columns()
                        && self.columns.get().is_none()
                    {
                        let _ = self.columns.set(columns.to_vec());
                    }
                    unpack(&mut self.decoded, &mut self.ready, &mut self.rows);
                    let finished = response.is_finished();
                    match fed {
                        Err(e) => {
                            let error = row_error::<E>(response, self.rows, &self.query_id, e);
                            self.ready.push_back(Err(error));
                            self.phase = Phase::Done;
                        }
                        Ok(()) if finished => {
                            if let Some(message) = response.incomplete_by_trailer() {
                                self.ready.push_back(Err(Error::Incomplete {
                                    operation: response.operation().to_owned(),
                                    query_id: Some(self.query_id.clone()),
                                    rows: self.rows,
                                    reason: format!("Druid reports: {message}"),
                                    source: None,
                                }));
                            }
                            self.phase = Phase::Done;
                        }
                        Ok(()) => {}
                    }
                }
            }
        }
    }
}

/// Awaits `work` until `deadline`; running out is a timeout error of the
/// query's service.
async fn within<F, V>(deadline: Option<Instant>, cancel: &Cancel, work: F) -> Result<V>
where
    F: Future<Output = Result<V>>,
{
    match deadline {
        None => work.await,
        Some(deadline) => match tokio::time::timeout_at(deadline.into(), work).await {
            Ok(result) => result,
            Err(_) => Err(Error::Transport(druid_transport::Error::Timeout {
                url: druid_transport::sanitize(cancel.service.base_url()),
                source: "the query's deadline passed".into(),
            })),
        },
    }
}

/// A broken connection (or the deadline) after the answer began.
fn incomplete(response: &StreamingResponse, rows: u64, query_id: &str, error: Error) -> Error {
    let reason = error.to_string();
    Error::Incomplete {
        operation: response.operation().to_owned(),
        query_id: Some(query_id.to_owned()),
        rows,
        reason,
        source: match error {
            Error::Transport(e) => Some(Box::new(e)),
            _ => None,
        },
    }
}

/// A row that does not decode, or a result without its end marker.
fn row_error<T>(response: &StreamingResponse, rows: u64, query_id: &str, error: RowError) -> Error {
    if error.cut_off {
        return Error::Incomplete {
            operation: response.operation().to_owned(),
            query_id: Some(query_id.to_owned()),
            rows,
            reason: response
                .incomplete_by_trailer()
                .map_or(error.message, |message| format!("Druid reports: {message}")),
            source: None,
        };
    }
    let path = error
        .row
        .map_or_else(|| ".".to_owned(), |row| format!("[{row}]"));
    Error::Transport(druid_transport::Error::Decode(Box::new(
        druid_transport::DecodeError::new(
            response.operation(),
            response.url(),
            std::any::type_name::<T>(),
            path,
            error.message,
            &error.near,
        ),
    )))
}
