//! SQL queries with typed rows, headers and the query ID; typed native
//! queries; the helpers every query client has ([`QueryExt`]).

use std::pin::Pin;
use std::time::Duration;

use druid_transport::Response;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use druid_transport::Service;

use crate::models::{ColumnTypes, ResultFormat, SqlParameter, SqlQuery, SqlTaskResponse};
use crate::wait::poll;
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
    fn native_query<T: DeserializeOwned>(
        &self,
        query: &(impl Serialize + ?Sized),
    ) -> impl Future<Output = Result<NativeResponse<T>>> + Send {
        let request = self.native_query_raw(query);
        async move {
            let response = request.send().await?;
            Ok(NativeResponse {
                result: response.json()?,
                query_id: response.header("x-druid-query-id").map(str::to_owned),
            })
        }
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

/// The answer of a native query: the result, and the query ID.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NativeResponse<T> {
    /// The result, decoded.
    pub result: T,
    /// The query ID Druid used (`X-Druid-Query-Id`).
    pub query_id: Option<String>,
}

/// An SQL query being set up. Finish it with [`SqlRequest::rows`] (typed
/// rows), [`SqlRequest::send`] (the whole [`SqlResponse`]) or `.await` (the
/// same as `send`).
#[derive(Debug, Clone)]
#[must_use = "the query is only sent when `rows`, `send` or `.await` is used"]
pub struct SqlRequest {
    client: QueryHandle,
    body: SqlQuery,
}

impl SqlRequest {
    pub(crate) fn new(client: QueryHandle, query: String) -> Self {
        SqlRequest {
            client,
            body: SqlQuery::new(query),
        }
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
        self.context("sqlQueryId", id.into())
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

    /// Runs the query and returns the response: rows in the chosen format,
    /// the header, the query ID.
    pub async fn send(self) -> Result<SqlResponse> {
        self.check()?;
        let response = self.client.sql_query(&self.body).await?;
        Ok(SqlResponse::new(response, &self.body))
    }

    /// Runs the query and decodes the rows into `T` (a struct with
    /// `Deserialize`, `serde_json::Value`, a tuple for the array format...).
    pub async fn rows<T: DeserializeOwned>(self) -> Result<Vec<T>> {
        self.send().await?.rows()
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

type CsvTable = Vec<Vec<String>>;

/// Druid ends a complete line-format or CSV result with an empty line: the
/// last row's newline, then one more. A stream cut short lacks it.
fn is_complete_lines(text: &str) -> bool {
    text == "\n" || text.ends_with("\n\n")
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

/// The answer of an SQL query.
#[derive(Debug, Clone)]
pub struct SqlResponse {
    response: Response,
    format: ResultFormat,
    header: bool,
    types_header: bool,
    sql_types_header: bool,
}

impl SqlResponse {
    fn new(response: Response, body: &SqlQuery) -> Self {
        let header = body.header.unwrap_or(false);
        SqlResponse {
            response,
            format: body.result_format.clone().unwrap_or(ResultFormat::Object),
            header,
            types_header: header && body.types_header.unwrap_or(false),
            sql_types_header: header && body.sql_types_header.unwrap_or(false),
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
        &self.format
    }

    /// The raw response.
    pub fn response(&self) -> &Response {
        &self.response
    }

    /// The body as text.
    pub fn text(&self) -> Result<String> {
        Ok(self.response.text()?)
    }

    /// How many rows of the body are header rows.
    fn header_rows(&self) -> usize {
        if !self.header {
            return 0;
        }
        match self.format {
            ResultFormat::Object | ResultFormat::ObjectLines => 1,
            _ => 1 + usize::from(self.types_header) + usize::from(self.sql_types_header),
        }
    }

    fn truncated(&self, what: &str) -> Error {
        self.response
            .decode_error::<Vec<Value>>(
                ".".to_owned(),
                format!(
                    "the {what} result was cut off: the stream ended early (a query error after \
                     the first row?)"
                ),
            )
            .into()
    }

    /// Every row as JSON values, header rows included; truncation is an error.
    fn all_json_rows(&self) -> Result<Vec<Value>> {
        match self.format {
            ResultFormat::Object | ResultFormat::Array => Ok(self.response.json::<Vec<Value>>()?),
            ResultFormat::ObjectLines | ResultFormat::ArrayLines => {
                let text = self.response.text()?;
                if !is_complete_lines(&text) {
                    return Err(self.truncated(self.format.as_str()));
                }
                text.lines()
                    .filter(|line| !line.trim().is_empty())
                    .map(|line| {
                        serde_json::from_str(line).map_err(|e| {
                            self.response
                                .decode_error::<Value>(".".to_owned(), e.to_string())
                                .into()
                        })
                    })
                    .collect()
            }
            _ => Err(Error::invalid_input(format!(
                "rows of the {} format are not JSON; use `csv_rows` or `text`",
                self.format
            ))),
        }
    }

    /// The rows without header rows, decoded into `T`. For the object
    /// formats `T` sees an object per row; for the array formats an array.
    pub fn rows<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        let skip = self.header_rows();
        self.all_json_rows()?
            .into_iter()
            .skip(skip)
            .enumerate()
            .map(|(i, row)| {
                serde_json::from_value(row).map_err(|e| {
                    self.response
                        .decode_error::<T>(format!("[{i}]"), e.to_string())
                        .into()
                })
            })
            .collect()
    }

    /// The rows of the `csv` format, header rows excluded.
    pub fn csv_rows(&self) -> Result<Vec<Vec<String>>> {
        let (_, rows) = self.csv_records()?;
        Ok(rows)
    }

    /// The header records and the data records of a CSV result.
    fn csv_records(&self) -> Result<(CsvTable, CsvTable)> {
        if self.format != ResultFormat::Csv {
            return Err(Error::invalid_input(format!(
                "the result format is {}, not csv; use `rows`",
                self.format
            )));
        }
        let text = self.response.text()?;
        if !is_complete_lines(&text) {
            return Err(self.truncated("csv"));
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                self.response
                    .decode_error::<Vec<String>>(".".to_owned(), e.to_string())
            })?;
            if record.len() == 1 && record.get(0) == Some("") {
                continue;
            }
            records.push(record.iter().map(str::to_owned).collect::<Vec<String>>());
        }
        let skip = self.header_rows().min(records.len());
        let rows = records.split_off(skip);
        Ok((records, rows))
    }

    /// The columns described by the header rows; `None` without `header`.
    pub fn columns(&self) -> Result<Option<Vec<Column>>> {
        if self.header_rows() == 0 {
            return Ok(None);
        }
        let (names, druid_types, sql_types) = match self.format {
            ResultFormat::Csv => {
                let (headers, _) = self.csv_records()?;
                let mut lines = headers.into_iter();
                let names = lines.next().unwrap_or_default();
                let druid_types = if self.types_header {
                    lines.next()
                } else {
                    None
                };
                let sql_types = if self.sql_types_header {
                    lines.next()
                } else {
                    None
                };
                (names, druid_types, sql_types)
            }
            ResultFormat::Array | ResultFormat::ArrayLines => {
                let rows = self.all_json_rows()?;
                let strings = |row: Option<&Value>| -> Vec<String> {
                    row.and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .map(|v| v.as_str().unwrap_or_default().to_owned())
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let names = strings(rows.first());
                let mut next = 1;
                let druid_types = self.types_header.then(|| {
                    next += 1;
                    strings(rows.get(next - 1))
                });
                let sql_types = self.sql_types_header.then(|| strings(rows.get(next)));
                (names, druid_types, sql_types)
            }
            _ => {
                let rows = self.all_json_rows()?;
                let Some(Value::Object(header)) = rows.first() else {
                    return Ok(Some(Vec::new()));
                };
                let columns = header
                    .iter()
                    .map(|(name, types)| {
                        let types: Option<ColumnTypes> = serde_json::from_value(types.clone()).ok();
                        Column {
                            name: name.clone(),
                            druid_type: types.as_ref().and_then(|t| t.druid_type.clone()),
                            sql_type: types.and_then(|t| t.sql_type),
                        }
                    })
                    .collect();
                return Ok(Some(columns));
            }
        };
        Ok(Some(
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| Column {
                    name,
                    druid_type: druid_types.as_ref().and_then(|t| t.get(i).cloned()),
                    sql_type: sql_types.as_ref().and_then(|t| t.get(i).cloned()),
                })
                .collect(),
        ))
    }
}
