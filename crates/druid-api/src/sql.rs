//! SQL queries with typed rows, headers and the query ID.

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use druid_transport::{Error, Response, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::models::{ColumnTypes, ResultFormat, SqlParameter, SqlQuery, SqlTaskResponse};
use crate::query::Client;

/// An SQL query being set up. Finish it with [`SqlRequest::rows`] (typed
/// rows), [`SqlRequest::send`] (the whole [`SqlResponse`]) or `.await` (the
/// same as `send`).
#[derive(Debug, Clone)]
#[must_use = "the query is only sent when `rows`, `send` or `.await` is used"]
pub struct SqlRequest {
    client: Client,
    body: SqlQuery,
}

impl SqlRequest {
    pub(crate) fn new(client: Client, query: String) -> Self {
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
    pub(crate) fn client(&self) -> &Client {
        &self.client
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
        self.response.text()
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
        self.response.decode_error::<Vec<Value>>(
            ".".to_owned(),
            format!("the {what} result was cut off: the stream ended early (a query error after the first row?)"),
        )
    }

    /// Every row as JSON values, header rows included; truncation is an error.
    fn all_json_rows(&self) -> Result<Vec<Value>> {
        match self.format {
            ResultFormat::Object | ResultFormat::Array => self.response.json::<Vec<Value>>(),
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
