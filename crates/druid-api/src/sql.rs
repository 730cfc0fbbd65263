//! SQL queries with typed rows, headers and the query ID; typed native
//! queries; the helpers every query client has ([`QueryExt`]).

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use druid_transport::Response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use druid_transport::Service;

use crate::models::{ResultFormat, SqlParameter, SqlQuery, SqlTaskResponse};
use crate::rows::{Layout, RowDecoder};
use crate::stream::{Cancel, One, Plan, RowStream, ScanBatch};
use crate::wait::poll;

/// The context key of the SQL query ID.
const SQL_QUERY_ID: &str = "sqlQueryId";

/// The context `timeout` for a client deadline: a little shorter, so that
/// Druid's own timeout answer arrives before the client gives up. `None`
/// for no limit (a deadline above ten years, such as `Duration::MAX`).
fn druid_timeout_ms(deadline: Duration) -> Option<u64> {
    let deadline = druid_transport::effective_limit(deadline)?;
    let margin = (deadline / 10).min(Duration::from_secs(1));
    Some(
        u64::try_from(deadline.saturating_sub(margin).as_millis())
            .unwrap_or(u64::MAX)
            .max(1),
    )
}
use crate::{Error, QueryApi, Result, ServiceClient, SqlStatementsApi};

/// The query endpoints of whichever client a query started from, so that
/// the SQL builder and the statement handles need no type parameter and
/// still name the right service in errors (`broker.sql_query`).
#[derive(Debug, Clone)]
pub(crate) struct QueryHandle {
    service: Service,
    name: &'static str,
}

impl QueryHandle {
    pub(crate) fn of(client: &(impl ServiceClient + ?Sized)) -> Self {
        QueryHandle {
            service: client.service().clone(),
            name: client.service_name(),
        }
    }
}

impl ServiceClient for QueryHandle {
    fn service_name(&self) -> &'static str {
        self.name
    }

    fn service(&self) -> &Service {
        &self.service
    }
}

impl QueryApi for QueryHandle {}
impl SqlStatementsApi for QueryHandle {}

/// What every client that runs queries ([`Client`](crate::Client), [`BrokerClient`](crate::BrokerClient),
/// [`RouterClient`](crate::RouterClient)) can do besides the raw endpoints:
/// SQL with typed rows, typed native queries, and waiting for a table.
///
/// It is implemented for every client with the query and SQL-statements
/// endpoints; `use druid_api::prelude::*;` brings it in.
pub trait QueryExt: QueryApi + SqlStatementsApi {
    /// Starts an SQL query: set parameters, context and format on the
    /// builder, then `.rows().await`, `.send().await` or `.await`.
    ///
    /// ```no_run
    /// use druid_api::models::SqlParameter;
    /// use druid_api::prelude::*;
    ///
    /// # async fn demo(broker: druid_api::BrokerClient) -> druid_api::Result<()> {
    /// let rows: Vec<serde_json::Value> = broker
    ///     .sql("SELECT page, added FROM wiki WHERE added > ?")
    ///     .parameter(SqlParameter::bigint(10))
    ///     .rows()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    fn sql(&self, query: impl Into<String>) -> SqlRequest {
        SqlRequest::new(QueryHandle::of(self), query.into())
    }

    /// Runs a native JSON query and decodes its result into `T` (the shape
    /// depends on the `queryType`: `Vec<serde_json::Value>` takes any).
    /// The query ID Druid used (`X-Druid-Query-Id`) is kept.
    ///
    /// ```no_run
    /// use druid_api::prelude::*;
    ///
    /// # async fn demo(client: druid_api::Client) -> druid_api::Result<()> {
    /// let query = serde_json::json!({
    ///     "queryType": "timeseries", "dataSource": "wiki", "granularity": "all",
    ///     "intervals": ["2024-01-01/2025-01-01"],
    ///     "aggregations": [{"type": "count", "name": "rows"}],
    /// });
    /// let answer = client.native_query::<Vec<serde_json::Value>>(&query).await?;
    /// println!("{:?}: {:?}", answer.query_id, answer.result);
    /// # Ok(()) }
    /// ```
    ///
    /// As with SQL, the client sets the context's `queryId` (unless the
    /// query has one) and its `timeout` (the transport's request timeout, a
    /// little shorter; unless the query has one).
    fn native_query<T: DeserializeOwned>(
        &self,
        query: &(impl Serialize + ?Sized),
    ) -> impl Future<Output = Result<NativeResponse<T>>> + Send {
        let prepared = NativeQuery::prepare(self, query);
        async move {
            let (body, _) = prepared?;
            let response = self.native_query_raw(&body).send().await?.collect().await?;
            Ok(NativeResponse {
                result: response.json()?,
                query_id: response.header("x-druid-query-id").map(str::to_owned),
            })
        }
    }

    /// Runs a native JSON query and hands out each element of its answer
    /// (a timeseries bucket, a groupBy row, a topN entry, ...) decoded into
    /// `T` as it arrives. IDs, deadline, cancellation on drop and the
    /// completeness checks are those of [`SqlRequest::stream`] (the cancel
    /// is `DELETE /druid/v2/{queryId}`).
    fn native_stream<T: DeserializeOwned + Send + 'static>(
        &self,
        query: &(impl Serialize + ?Sized),
    ) -> RowStream<T> {
        NativeQuery::stream::<T, One<T>>(self, query)
    }

    /// Runs a native `scan` query and hands out its rows, decoded into `T`,
    /// as they arrive: the `events` of each batch Druid sends, so memory is
    /// bounded by a batch (`batchSize`, 20,480 rows by default). Without a
    /// `resultFormat` the query asks for `list` (rows as objects, for
    /// structs by column name); with `compactedList` rows are arrays (fill
    /// tuples).
    fn scan_rows<T: DeserializeOwned + Send + 'static>(
        &self,
        query: &(impl Serialize + ?Sized),
    ) -> RowStream<T> {
        NativeQuery::stream::<T, ScanBatch<T>>(self, query)
    }

    /// Waits until SQL sees at least `min_rows` rows in `table` (the Broker
    /// learns new tables on its metadata refresh) and returns the count.
    ///
    /// The table name is quoted as an identifier, so any name works.
    /// Running out of `limit` is [`Error::WaitTimeout`].
    fn wait_until_queryable(
        &self,
        table: &str,
        min_rows: u64,
        limit: Duration,
    ) -> impl Future<Output = Result<u64>> + Send {
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let sql = format!("SELECT COUNT(*) AS \"rows\" FROM {quoted}");
        let what = format!("table {table} to answer SQL with {min_rows}+ rows");
        async move {
            poll(&what, limit, || async {
                #[derive(serde::Deserialize)]
                struct Count {
                    rows: u64,
                }
                match self.sql(sql.clone()).rows::<Count>().await {
                    Ok(rows) => {
                        let count = rows.first().map(|r| r.rows).unwrap_or(0);
                        if count >= min_rows {
                            Ok(Ok(count))
                        } else {
                            Ok(Err(format!("{count} rows")))
                        }
                    }
                    // Until the Broker knows the table, planning fails with a 4xx/5xx.
                    Err(e) if e.api().is_some() => Ok(Err(e.to_string())),
                    Err(e) => Err(e),
                }
            })
            .await
        }
    }

    /// Waits, up to `limit`, for an asynchronous SQL statement submitted
    /// earlier (by this or another client of the same user) to succeed, and
    /// returns the handle to read its rows.
    ///
    /// # Errors
    ///
    /// As [`AsyncStatement::wait`](crate::AsyncStatement::wait); an unknown
    /// ID is Druid's 404.
    fn wait_for_statement(
        &self,
        query_id: &str,
        limit: Duration,
    ) -> impl Future<Output = Result<crate::AsyncResults>> + Send {
        crate::statements::wait_for_statement(QueryHandle::of(self), query_id, limit)
    }
}

impl<C: QueryApi + SqlStatementsApi> QueryExt for C {}

/// A native query made ready to send: its ID and deadline in its context.
struct NativeQuery;

impl NativeQuery {
    /// The query as JSON with `queryId` and `timeout` in its context (unless
    /// it has them), and its ID.
    fn prepare(
        client: &(impl ServiceClient + ?Sized),
        query: &(impl Serialize + ?Sized),
    ) -> Result<(Value, String)> {
        let mut body = serde_json::to_value(query).map_err(|e| {
            Error::invalid_input(format!("the native query cannot be written as JSON: {e}"))
        })?;
        let Some(object) = body.as_object_mut() else {
            return Err(Error::invalid_input(
                "a native query is a JSON object with a `queryType`",
            ));
        };
        if object.get("queryType").and_then(Value::as_str) == Some("scan")
            && !object.contains_key("resultFormat")
        {
            object.insert("resultFormat".to_owned(), Value::from("list"));
        }
        let context = object
            .entry("context")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(context) = context.as_object_mut() else {
            return Err(Error::invalid_input(
                "the native query's `context` is not an object",
            ));
        };
        let id = match context.get("queryId").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                context.insert("queryId".to_owned(), Value::from(id.clone()));
                id
            }
        };
        if let Some(deadline) = client.service().transport().timeout()
            && let Some(ms) = druid_timeout_ms(deadline)
            && !context.contains_key("timeout")
        {
            context.insert("timeout".to_owned(), Value::from(ms));
        }
        Ok((body, id))
    }

    fn stream<T: Send + 'static, E: crate::stream::Unpack<T>>(
        client: &(impl QueryApi + ?Sized),
        query: &(impl Serialize + ?Sized),
    ) -> RowStream<T> {
        let (body, query_id) = match Self::prepare(client, query) {
            Ok(prepared) => prepared,
            Err(e) => return RowStream::failed(String::new(), e),
        };
        let request = client.native_query_raw(&body);
        RowStream::new::<E>(Plan {
            layout: Layout::plain(ResultFormat::Object),
            deadline: client.service().transport().timeout(),
            cancel: Cancel::native(
                client.service().clone(),
                client.service_name(),
                &query_id,
                true,
            ),
            query_id,
            send: Box::pin(request.send()),
        })
    }
}

/// The answer of a native query: the result, and the query ID.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NativeResponse<T> {
    /// The result, decoded.
    pub result: T,
    /// The query ID Druid used (`X-Druid-Query-Id`).
    pub query_id: Option<String>,
}

/// An SQL query being set up. Finish it with [`SqlRequest::stream`] (typed
/// rows as they arrive), [`SqlRequest::rows`] (all typed rows),
/// [`SqlRequest::send`] (the whole [`SqlResponse`]) or `.await` (the same as
/// `send`).
///
/// # Query IDs, deadlines and cancellation
///
/// Unless a query ID is given ([`SqlRequest::query_id`]), the client picks
/// one (a UUID) before sending, so the query can be found and cancelled at
/// once. The client's deadline ([`SqlRequest::timeout`], else the
/// transport's request timeout) is sent as the query context's `timeout`, a
/// little shorter, so Druid stops the work, and says so, before the client
/// gives up; a context `timeout` given by the caller is sent as it is. A
/// stream dropped before its end cancels the query on Druid (see
/// [`RowStream`]).
#[derive(Debug, Clone)]
#[must_use = "the query is only sent when `stream`, `rows`, `send` or `.await` is used"]
pub struct SqlRequest {
    client: QueryHandle,
    body: SqlQuery,
    timeout: Option<Duration>,
    cancel_on_drop: bool,
}

impl SqlRequest {
    pub(crate) fn new(client: QueryHandle, query: String) -> Self {
        SqlRequest {
            client,
            body: SqlQuery::new(query),
            timeout: None,
            cancel_on_drop: true,
        }
    }

    /// Limits the whole query, its rows included, to `limit` (instead of
    /// the transport's request timeout, which still bounds each request),
    /// and tells Druid.
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.timeout = Some(limit);
        self
    }

    /// Whether a stream dropped before its end cancels the query on Druid
    /// (default: yes).
    pub fn cancel_on_drop(mut self, on: bool) -> Self {
        self.cancel_on_drop = on;
        self
    }

    /// Adds a value for the next `?` placeholder.
    pub fn parameter(mut self, parameter: SqlParameter) -> Self {
        self.body.parameters.push(parameter);
        self
    }

    /// Adds values for the next `?` placeholders.
    pub fn parameters(mut self, parameters: impl IntoIterator<Item = SqlParameter>) -> Self {
        self.body.parameters.extend(parameters);
        self
    }

    /// Sets a query context value (`sqlTimeZone`, `timeout`, `priority`, ...).
    pub fn context(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.body.context.insert(key.into(), value.into());
        self
    }

    /// Sets the whole query context.
    pub fn context_map(mut self, context: Map<String, Value>) -> Self {
        self.body.context = context;
        self
    }

    /// Sets the query ID (`sqlQueryId`), to cancel the query or find it in
    /// Druid's logs and metrics.
    pub fn query_id(self, id: impl Into<String>) -> Self {
        self.context(SQL_QUERY_ID, id.into())
    }

    /// Sets how rows are written (default: JSON objects).
    pub fn result_format(mut self, format: ResultFormat) -> Self {
        self.body.result_format = Some(format);
        self
    }

    /// Asks for a header row with the column names.
    pub fn header(mut self, on: bool) -> Self {
        self.body.header = Some(on);
        self
    }

    /// Adds Druid's runtime types to the header (needs `header`).
    pub fn types_header(mut self, on: bool) -> Self {
        self.body.types_header = Some(on);
        self
    }

    /// Adds the SQL types to the header (needs `header`).
    pub fn sql_types_header(mut self, on: bool) -> Self {
        self.body.sql_types_header = Some(on);
        self
    }

    /// The body that will be sent.
    pub fn body(&self) -> &SqlQuery {
        &self.body
    }

    /// The client the statement goes through.
    pub(crate) fn client(&self) -> &QueryHandle {
        &self.client
    }

    /// The body, to change before sending.
    pub(crate) fn body_mut(&mut self) -> &mut SqlQuery {
        &mut self.body
    }

    fn check(&self) -> Result<()> {
        if self.body.query.trim().is_empty() {
            return Err(Error::invalid_input(
                "the SQL query is empty; pass the statement to run",
            ));
        }
        let header = self.body.header.unwrap_or(false);
        if !header
            && (self.body.types_header == Some(true) || self.body.sql_types_header == Some(true))
        {
            return Err(Error::invalid_input(
                "typesHeader and sqlTypesHeader need the header: also call `.header(true)`",
            ));
        }
        Ok(())
    }

    /// The client's deadline for the query: its own, else the transport's.
    fn deadline(&self) -> Option<Duration> {
        self.timeout
            .or_else(|| self.client.service().transport().timeout())
    }

    /// Picks the query ID (unless one is given) and tells Druid the
    /// deadline; returns the query ID.
    fn prepare(&mut self) -> String {
        let context = &mut self.body.context;
        let id = match context.get(SQL_QUERY_ID).and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => {
                let id = uuid::Uuid::new_v4().to_string();
                context.insert(SQL_QUERY_ID.to_owned(), Value::from(id.clone()));
                id
            }
        };
        if let Some(deadline) = self.deadline()
            && let Some(ms) = druid_timeout_ms(deadline)
            && !self.body.context.contains_key("timeout")
        {
            self.body
                .context
                .insert("timeout".to_owned(), Value::from(ms));
        }
        id
    }

    /// Runs the query and returns the whole response: rows in the chosen
    /// format, the header, the query ID.
    ///
    /// # Errors
    ///
    /// Druid's refusal, and [`Error::is_incomplete`] for a result cut short:
    /// Druid's trailers report a failure, or the format's end marker (the
    /// closing `]`, the blank last line) is missing.
    pub async fn send(mut self) -> Result<SqlResponse> {
        self.check()?;
        let query_id = self.prepare();
        let response = self.client.sql_query(&self.body).await?.collect().await?;
        let answer = SqlResponse::new(response, &self.body);
        if !answer.layout.is_complete(answer.response.body()) {
            return Err(Error::incomplete(
                answer.response.operation(),
                &query_id,
                0,
                format!(
                    "the {} result ended without its end marker",
                    answer.layout.format
                ),
                None,
            ));
        }
        Ok(answer)
    }

    /// Runs the query and decodes every row into `T`: a struct with
    /// `Deserialize` (filled by column name whatever the format), a tuple
    /// or `Vec` (by position), or `serde_json::Value`. Built on
    /// [`SqlRequest::stream`]: the rows are decoded as they arrive, in one
    /// pass.
    pub async fn rows<T: DeserializeOwned + Send + 'static>(self) -> Result<Vec<T>> {
        match self.plan() {
            Ok(plan) => crate::stream::collect::<T, One<T>>(plan).await,
            Err(e) => Err(e),
        }
    }

    /// Runs the query and hands out its rows, decoded into `T`, as they
    /// arrive: memory is bounded by a chunk of the answer, not by the
    /// result. The query is sent when the stream is first polled; its ID is
    /// known at once.
    ///
    /// Without a result format set, rows travel as `arrayLines` with a
    /// header row (the fastest to decode; see the README's figures), and a
    /// struct is filled by the header's column names. A format set with
    /// [`SqlRequest::result_format`] is used as it is.
    ///
    /// # Errors
    ///
    /// Each item: Druid's answer for a refused query (the first item), a
    /// row that does not decode into `T`, and, last, [`Error::is_incomplete`]
    /// for a result cut short.
    pub fn stream<T: DeserializeOwned + Send + 'static>(self) -> RowStream<T> {
        let query_id = self
            .body
            .context
            .get(SQL_QUERY_ID)
            .and_then(Value::as_str)
            .map(str::to_owned);
        match self.plan() {
            Ok(plan) => RowStream::new::<One<T>>(plan),
            Err(e) => RowStream::failed(query_id.unwrap_or_default(), e),
        }
    }

    /// What a stream of typed rows sends and how it reads the answer.
    fn plan(mut self) -> Result<Plan> {
        if self.body.result_format.is_none() {
            self.body.result_format = Some(if self.body.header == Some(false) {
                ResultFormat::ObjectLines
            } else {
                self.body.header = Some(true);
                ResultFormat::ArrayLines
            });
        }
        let query_id = self.prepare();
        self.check()?;
        let layout = Layout::of(&self.body);
        let deadline = self.deadline();
        let cancel = Cancel::sql(
            self.client.service().clone(),
            self.client.service_name(),
            &query_id,
            self.cancel_on_drop,
        );
        let client = self.client;
        let body = self.body;
        let send = Box::pin(async move { client.sql_query(&body).await });
        Ok(Plan {
            query_id,
            layout,
            deadline,
            cancel,
            send,
        })
    }

    /// Submits the statement as an SQL-based (MSQ) task through
    /// `/druid/v2/sql/task`; follow it with the Overlord's task calls.
    pub async fn submit_task(self) -> Result<SqlTaskResponse> {
        self.check()?;
        self.client.sql_task(&self.body).await
    }
}

impl IntoFuture for SqlRequest {
    type Output = Result<SqlResponse>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// One column, from the header rows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Column {
    /// The name.
    pub name: String,
    /// Druid's runtime type, with `typesHeader`.
    pub druid_type: Option<String>,
    /// The SQL type, with `sqlTypesHeader`.
    pub sql_type: Option<String>,
}

/// The whole answer of an SQL query, read into memory: for the raw body, or
/// to decode it more than once. [`SqlRequest::stream`] decodes rows as they
/// arrive instead.
#[derive(Debug, Clone)]
pub struct SqlResponse {
    response: Response,
    layout: Layout,
}

impl SqlResponse {
    fn new(response: Response, body: &SqlQuery) -> Self {
        SqlResponse {
            response,
            layout: Layout::of(body),
        }
    }

    /// The query ID Druid used (`X-Druid-SQL-Query-Id`).
    pub fn query_id(&self) -> Option<&str> {
        self.response.header("x-druid-sql-query-id")
    }

    /// Whether Druid says the first row(s) are a header (`X-Druid-SQL-Header-Included`).
    pub fn header_included(&self) -> bool {
        self.response
            .header("x-druid-sql-header-included")
            .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    }

    /// The format of the rows.
    pub fn format(&self) -> &ResultFormat {
        &self.layout.format
    }

    /// The raw response.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The body as text.
    pub fn text(&self) -> Result<String> {
        Ok(self.response.text()?)
    }

    /// Decodes every row (header rows apart) into `T`, and the columns.
    fn decode<T: DeserializeOwned>(&self) -> Result<(Vec<T>, Option<Vec<Column>>)> {
        let mut decoder = RowDecoder::new(self.layout.clone());
        let mut rows = VecDeque::new();
        let decoded = decoder
            .feed(self.response.body().clone(), &mut rows)
            .and_then(|()| decoder.finish(&mut rows));
        if let Err(e) = decoded {
            if e.cut_off {
                return Err(Error::incomplete(
                    self.response.operation(),
                    self.query_id().unwrap_or_default(),
                    e.row.unwrap_or(0),
                    e.message,
                    None,
                ));
            }
            let path = e
                .row
                .map_or_else(|| ".".to_owned(), |row| format!("[{row}]"));
            return Err(self.response.decode_error::<Vec<T>>(path, e.message).into());
        }
        Ok((rows.into(), decoder.columns().map(<[Column]>::to_vec)))
    }

    /// The rows without header rows, decoded into `T`: a struct is filled
    /// by column name (the array formats need the header for that), a tuple
    /// or `Vec` by position; a cut-off result is an error.
    pub fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        Ok(self.decode()?.0)
    }

    /// The rows of the `csv` format as text fields, header rows excluded.
    pub fn csv_rows(&self) -> Result<Vec<Vec<String>>> {
        if self.layout.format != ResultFormat::Csv {
            return Err(Error::invalid_input(format!(
                "the result format is {}, not csv; use `rows`",
                self.layout.format
            )));
        }
        self.rows()
    }

    /// The columns described by the header rows; `None` without `header`.
    pub fn columns(&self) -> Result<Option<Vec<Column>>> {
        Ok(self.decode::<serde::de::IgnoredAny>()?.1)
    }
}
