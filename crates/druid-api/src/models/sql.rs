//! SQL models: the query body, parameters, result formats, task answers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

string_enum! {
    /// The `resultFormat` of an SQL query.
    pub enum ResultFormat {
        /// A JSON array of objects (the default).
        Object = "object",
        /// A JSON array of arrays.
        Array = "array",
        /// One JSON object per line.
        ObjectLines = "objectLines",
        /// One JSON array per line.
        ArrayLines = "arrayLines",
        /// Comma-separated values.
        Csv = "csv",
    }
}

/// A value for a `?` placeholder: its SQL type and value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SqlParameter {
    /// The SQL type: `VARCHAR`, `BIGINT`, `DOUBLE`, `TIMESTAMP`, `ARRAY`, ...
    #[serde(rename = "type")]
    pub sql_type: String,
    /// The value.
    pub value: Value,
}

impl SqlParameter {
    /// A parameter of any type.
    pub fn new(sql_type: impl Into<String>, value: impl Into<Value>) -> Self {
        SqlParameter {
            sql_type: sql_type.into(),
            value: value.into(),
        }
    }

    /// A `VARCHAR`.
    pub fn varchar(value: impl Into<String>) -> Self {
        Self::new("VARCHAR", value.into())
    }

    /// A `BIGINT`.
    pub fn bigint(value: i64) -> Self {
        Self::new("BIGINT", value)
    }

    /// A `DOUBLE`.
    pub fn double(value: f64) -> Self {
        Self::new("DOUBLE", value)
    }

    /// A `BOOLEAN`.
    pub fn boolean(value: bool) -> Self {
        Self::new("BOOLEAN", value)
    }

    /// A `TIMESTAMP`, as text Druid can parse (`2024-01-01 00:00:00`).
    pub fn timestamp(value: impl Into<String>) -> Self {
        Self::new("TIMESTAMP", value.into())
    }
}

/// The JSON body of `POST /druid/v2/sql`, `/sql/task` and `/sql/statements`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SqlQuery {
    /// The SQL text.
    pub query: String,
    /// How the rows are written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_format: Option<ResultFormat>,
    /// Whether the first row holds the column names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<bool>,
    /// Whether the header holds Druid's runtime types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub types_header: Option<bool>,
    /// Whether the header holds the SQL types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql_types_header: Option<bool>,
    /// Query context (`sqlQueryId`, `sqlTimeZone`, `timeout`, ...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub context: Map<String, Value>,
    /// Values for the `?` placeholders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<SqlParameter>,
}

impl SqlQuery {
    /// A query with Druid's defaults.
    pub fn new(query: impl Into<String>) -> Self {
        SqlQuery {
            query: query.into(),
            result_format: None,
            header: None,
            types_header: None,
            sql_types_header: None,
            context: Map::new(),
            parameters: Vec::new(),
        }
    }
}

/// `POST /druid/v2/sql/task`: the task that runs an MSQ statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SqlTaskResponse {
    /// The controller task's ID.
    pub task_id: String,
    /// `RUNNING` on submission.
    pub state: String,
}

/// The column types of one column, in an object-format header row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ColumnTypes {
    /// Druid's runtime type (`typesHeader`), e.g. `LONG`.
    #[serde(rename = "type", default)]
    pub druid_type: Option<String>,
    /// The SQL type (`sqlTypesHeader`), e.g. `BIGINT`.
    #[serde(default)]
    pub sql_type: Option<String>,
}
