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
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use druid_transport::url::Url;
use druid_transport::{
    Effect, Request, Service, StreamingResponse, deadline_after, encode_segment,
};
use futures_core::Stream;
use serde::de::DeserializeOwned;

use crate::rows::{Layout, RowDecoder, RowError, Sink};
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
/// ([`Error::is_incomplete`]: the connection broke, the end marker is
/// missing, or Druid's trailers report a failure). Dropping the stream
/// before its end cancels the query on Druid, unless that was turned off
/// ([`SqlRequest::cancel_on_drop`](crate::SqlRequest::cancel_on_drop)): a
/// `DELETE` of the query ID to the server that answered it, spawned on the
/// current tokio runtime and given five seconds; a read-only client sends
/// it too (it stops the client's own work). [`RowStream::cancel`] does the
/// same and waits for Druid's answer. Nothing else runs in the background.
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
    /// The query's cancellation, for streams of one query.
    cancel: Option<Arc<Cancel>>,
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

    /// Stops reading and cancels the query on Druid now, at the server that
    /// answered it, waiting at most five seconds for Druid's answer:
    /// `Ok(true)` when Druid cancelled it, `Ok(false)` when there was
    /// nothing to cancel (the query was never sent, was read to its end, or
    /// Druid no longer knew it: it had finished). A read-only client sends
    /// it too.
    ///
    /// # Errors
    ///
    /// The cancel request's failure: the query may still run on Druid.
    pub async fn cancel(self) -> Result<bool> {
        let Some(cancel) = self.cancel.clone() else {
            return Ok(false);
        };
        let running = cancel.armed.swap(false, Ordering::SeqCst);
        // Closes the connection of the answer before asking for the cancel.
        drop(self);
        if !running {
            return Ok(false);
        }
        match cancel.send().await {
            Ok(()) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
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
    /// The service the query goes to; once it answered, pinned to the
    /// server that did (a Broker client follows the first Broker of the
    /// model, which may be another one by now).
    service: Mutex<Service>,
    /// The cancel request (`DELETE /druid/v2/sql/{id}`).
    path: String,
    /// The query's own request path (`/druid/v2/sql`).
    request_path: &'static str,
    /// The query's own endpoint (`druid/v2/sql/`), for its timeout error.
    query_path: &'static str,
    operation: String,
    enabled: bool,
    /// Whether the query was sent and its answer not read to its end.
    armed: AtomicBool,
}

impl Cancel {
    /// The cancellation of an SQL query.
    pub(crate) fn sql(service: Service, name: &str, query_id: &str, enabled: bool) -> Self {
        Cancel {
            service: Mutex::new(service),
            path: format!("/druid/v2/sql/{}", encode_segment(query_id)),
            request_path: "/druid/v2/sql",
            query_path: "druid/v2/sql/",
            operation: format!("{name}.cancel_sql"),
            enabled,
            armed: AtomicBool::new(false),
        }
    }

    /// The cancellation of a native query.
    pub(crate) fn native(service: Service, name: &str, query_id: &str, enabled: bool) -> Self {
        Cancel {
            service: Mutex::new(service),
            path: format!("/druid/v2/{}", encode_segment(query_id)),
            request_path: "/druid/v2",
            query_path: "druid/v2/",
            operation: format!("{name}.cancel_native"),
            enabled,
            armed: AtomicBool::new(false),
        }
    }

    fn service(&self) -> Service {
        self.service
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends the cancel to the server that answered at `url` (the query's
    /// own URL, after any redirect).
    fn pin_to(&self, url: &Url) {
        let path = url.path().trim_end_matches('/');
        let Some(prefix) = path.strip_suffix(self.request_path) else {
            return;
        };
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        base.set_path(&format!("{prefix}/"));
        let mut service = self.service.lock().unwrap_or_else(PoisonError::into_inner);
        *service = service.clone().with_base_url(base);
    }

    /// The cancel request: the client's own cancel, which a read-only
    /// client sends too.
    fn request(&self) -> Request {
        Request::delete(self.path.clone())
            .operation(self.operation.clone())
            .effect(Effect::Idempotent)
            .own_cancel()
    }

    /// Sends the cancel request and waits, at most [`CANCEL_LIMIT`].
    async fn send(&self) -> Result<()> {
        let service = self.service();
        let request = self.request().timeout(CANCEL_LIMIT);
        service.send(&request).await?;
        Ok(())
    }

    /// Spawns the cancel request, bounded, on the current runtime (if any).
    fn fire(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let service = self.service();
        let request = self.request();
        runtime.spawn(async move {
            let _ = tokio::time::timeout(CANCEL_LIMIT, service.execute(&request)).await;
        });
    }

    /// The URL named by a timeout of the query.
    fn query_url(&self) -> String {
        let base = self.service().base_url();
        druid_transport::sanitize(&base.join(self.query_path).unwrap_or(base))
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
    Reading(Box<StreamingResponse>, Box<RowDecoder>),
    /// Nothing more to read.
    Done,
}

/// What the decoder reads from each element of a result, and the rows it
/// holds: a row itself, or a batch of rows (a scan query's `events`).
pub(crate) trait Unpack<T>: DeserializeOwned + Send + 'static {
    /// The rows of one element.
    type Rows: Iterator<Item = T> + Send;
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

struct State<T, E: Unpack<T>> {
    phase: Phase,
    /// Decoded elements whose rows are still to hand out.
    decoded: VecDeque<E>,
    /// The rest of the element being handed out.
    current: Option<E::Rows>,
    /// Before an error: the rows that came before it, then the error.
    tail: VecDeque<T>,
    last: Option<Error>,
    /// Rows handed out.
    rows: u64,
    query_id: String,
    columns: Arc<OnceLock<Vec<Column>>>,
    deadline: Option<Instant>,
    limit: Option<Duration>,
    running: Running,
}

/// A query that was sent and whose answer is not read to its end: dropped
/// so, it cancels the query (when cancelling is on).
struct Running {
    cancel: Arc<Cancel>,
}

impl Running {
    fn arm(&self, armed: bool) {
        self.cancel.armed.store(armed, Ordering::SeqCst);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.cancel.armed.swap(false, Ordering::SeqCst) && self.cancel.enabled {
            self.cancel.fire();
        }
    }
}

impl<T: Send + 'static> RowStream<T> {
    /// A stream of the rows of `E`, each element of the answer.
    pub(crate) fn new<E: Unpack<T>>(plan: Plan) -> Self {
        let columns = Arc::new(OnceLock::new());
        let cancel = Arc::new(plan.cancel);
        let state = State::<T, E> {
            phase: Phase::Unsent(plan.send),
            decoded: VecDeque::new(),
            current: None,
            tail: VecDeque::new(),
            last: None,
            rows: 0,
            query_id: plan.query_id.clone(),
            columns: columns.clone(),
            deadline: None,
            limit: plan.deadline,
            running: Running {
                cancel: cancel.clone(),
            },
        };
        let layout = plan.layout;
        // The state is boxed so that each step moves a pointer, not the
        // decoder and its buffers.
        let inner = futures_util::stream::unfold(Box::new(state), move |mut state| {
            let layout = layout.clone();
            async move {
                let item = state.next(&layout).await?;
                Some((item, state))
            }
        });
        RowStream {
            query_id: plan.query_id,
            columns,
            cancel: Some(cancel),
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
            cancel: None,
            inner: Box::pin(rows),
        }
    }

    /// A stream that yields only this error.
    pub(crate) fn failed(query_id: String, error: Error) -> Self {
        let inner = futures_util::stream::iter([Err(error)]);
        RowStream {
            query_id,
            columns: Arc::new(OnceLock::new()),
            cancel: None,
            inner: Box::pin(inner),
        }
    }
}

impl<T, E: Unpack<T>> State<T, E> {
    /// Ends the stream with `error` after every row decoded before it;
    /// returns how many rows come before the error.
    fn settle(&mut self) -> u64 {
        if let Some(rest) = self.current.take() {
            self.tail.extend(rest);
        }
        for element in self.decoded.drain(..) {
            self.tail.extend(element.unpack());
        }
        self.phase = Phase::Done;
        self.rows + self.tail.len() as u64
    }

    async fn next(&mut self, layout: &Layout) -> Option<Result<T>> {
        loop {
            // Rows are handed out straight from the decoded elements.
            if let Some(rows) = &mut self.current {
                if let Some(row) = rows.next() {
                    self.rows += 1;
                    return Some(Ok(row));
                }
                self.current = None;
            }
            if let Some(element) = self.decoded.pop_front() {
                self.current = Some(element.unpack());
                continue;
            }
            if let Some(row) = self.tail.pop_front() {
                self.rows += 1;
                return Some(Ok(row));
            }
            if let Some(error) = self.last.take() {
                return Some(Err(error));
            }
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Unsent(send) => {
                    self.deadline = self
                        .limit
                        .and_then(|limit| deadline_after(Instant::now(), limit));
                    self.running.arm(true);
                    let sent = within(self.deadline, &self.running.cancel, send.as_mut()).await;
                    match sent {
                        Ok(response) => {
                            self.running.cancel.pin_to(response.url());
                            let decoder = RowDecoder::new(layout.clone());
                            self.phase = Phase::Reading(Box::new(response), Box::new(decoder));
                        }
                        Err(e) => {
                            // Refused or never answered: nothing runs to cancel
                            // (a query that timed out got its own timeout too).
                            self.running.arm(false);
                            self.phase = Phase::Done;
                            return Some(Err(e));
                        }
                    }
                }
                Phase::Reading(response, decoder) => {
                    let chunk = within(self.deadline, &self.running.cancel, async {
                        Ok(response.chunk().await?)
                    })
                    .await;
                    let fed = match chunk {
                        Ok(Some(chunk)) => decoder.feed(chunk, &mut self.decoded),
                        Ok(None) => {
                            self.running.arm(false);
                            decoder.finish(&mut self.decoded)
                        }
                        Err(e) => {
                            let origin = Origin::of(response);
                            let rows = self.settle();
                            self.last = Some(incomplete(&origin, rows, &self.query_id, e));
                            continue;
                        }
                    };
                    if let Some(columns) = decoder.columns()
                        && self.columns.get().is_none()
                    {
                        let _ = self.columns.set(columns.to_vec());
                    }
                    let finished = response.is_finished();
                    let trailer = finished.then(|| response.incomplete_by_trailer()).flatten();
                    match fed {
                        Err(e) => {
                            let origin = Origin::of(response);
                            let rows = self.settle();
                            let error = row_error::<E>(&origin, rows, &self.query_id, e, trailer);
                            self.last = Some(error);
                        }
                        Ok(()) if finished => {
                            let origin = Origin::of(response);
                            let rows = self.settle();
                            if let Some(message) = trailer {
                                self.last = Some(Error::incomplete(
                                    &origin.operation,
                                    &self.query_id,
                                    rows,
                                    format!("Druid reports: {message}"),
                                    None,
                                ));
                            }
                        }
                        Ok(()) => {}
                    }
                }
            }
        }
    }
}

/// A sink that unpacks each element into a `Vec` of rows.
struct Flatten<'a, T>(&'a mut Vec<T>);

impl<T, E: Unpack<T>> Sink<E> for Flatten<'_, T> {
    fn push(&mut self, element: E) {
        self.0.extend(element.unpack());
    }
}

/// Every row of a plan's answer, decoded straight into a `Vec` (no stream
/// between the decoder and the rows): [`SqlRequest::rows`](crate::SqlRequest::rows).
pub(crate) async fn collect<T: Send + 'static, E: Unpack<T>>(plan: Plan) -> Result<Vec<T>> {
    let deadline = plan
        .deadline
        .and_then(|limit| deadline_after(Instant::now(), limit));
    let query_id = plan.query_id;
    let running = Running {
        cancel: Arc::new(plan.cancel),
    };
    running.arm(true);
    let mut send = plan.send;
    let sent = within(deadline, &running.cancel, send.as_mut()).await;
    let mut response = sent.inspect_err(|_| running.arm(false))?;
    running.cancel.pin_to(response.url());
    let mut decoder = RowDecoder::new(plan.layout);
    let mut rows = Vec::new();
    loop {
        let chunk = within(deadline, &running.cancel, async {
            Ok(response.chunk().await?)
        })
        .await;
        let fed = match chunk {
            Ok(Some(chunk)) => decoder.feed::<E>(chunk, &mut Flatten(&mut rows)),
            Ok(None) => {
                running.arm(false);
                decoder.finish::<E>(&mut Flatten(&mut rows))
            }
            Err(e) => {
                let count = rows.len() as u64;
                return Err(incomplete(&Origin::of(&response), count, &query_id, e));
            }
        };
        let finished = response.is_finished();
        let trailer = finished.then(|| response.incomplete_by_trailer()).flatten();
        if let Err(e) = fed {
            let count = rows.len() as u64;
            return Err(row_error::<E>(
                &Origin::of(&response),
                count,
                &query_id,
                e,
                trailer,
            ));
        }
        if finished {
            if let Some(message) = trailer {
                return Err(Error::incomplete(
                    response.operation(),
                    &query_id,
                    rows.len() as u64,
                    format!("Druid reports: {message}"),
                    None,
                ));
            }
            return Ok(rows);
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
                url: cancel.query_url(),
                source: "the query's deadline passed".into(),
            })),
        },
    }
}

/// Where an answer came from, for its errors.
struct Origin {
    operation: String,
    url: druid_transport::url::Url,
}

impl Origin {
    fn of(response: &StreamingResponse) -> Self {
        Origin {
            operation: response.operation().to_owned(),
            url: response.url().clone(),
        }
    }
}

/// A broken connection (or the deadline) after the answer began.
fn incomplete(origin: &Origin, rows: u64, query_id: &str, error: Error) -> Error {
    let reason = error.to_string();
    let source = match error {
        Error::Transport(e) => Some(e),
        _ => None,
    };
    Error::incomplete(&origin.operation, query_id, rows, reason, source)
}

/// A row that does not decode, or a result without its end marker (with
/// Druid's reason, when its trailers give one).
fn row_error<T>(
    origin: &Origin,
    rows: u64,
    query_id: &str,
    error: RowError,
    trailer: Option<String>,
) -> Error {
    if error.cut_off {
        return Error::incomplete(
            &origin.operation,
            query_id,
            rows,
            trailer.map_or(error.message, |message| format!("Druid reports: {message}")),
            None,
        );
    }
    let path = error
        .row
        .map_or_else(|| ".".to_owned(), |row| format!("[{row}]"));
    Error::Transport(druid_transport::Error::Decode(Box::new(
        druid_transport::DecodeError::new(
            origin.operation.clone(),
            &origin.url,
            std::any::type_name::<T>(),
            path,
            error.message,
            &error.near,
        ),
    )))
}
