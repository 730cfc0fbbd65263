//! `druid sql` and `druid query`: statements in, rows out as they arrive.

use std::io::{self, IsTerminal as _, Read as _, Write as _};
use std::path::Path;

use druid_api::Client;
use druid_api::models::SqlParameter;
use druid_api::prelude::*;
use serde_json::{Map, Value};

use crate::args::{Format, QueryArgs, SqlArgs};
use crate::fail::Failure;
use crate::output::{Column, RowWriter, Style};

/// SQL types a parameter may name (`BIGINT:42`).
const SQL_TYPES: &[&str] = &[
    "VARCHAR",
    "CHAR",
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "DOUBLE",
    "FLOAT",
    "REAL",
    "DECIMAL",
    "BOOLEAN",
    "TIMESTAMP",
    "DATE",
    "ARRAY",
];

/// A `--param` as Druid's typed parameter: `TYPE:value`, or a bare value
/// whose type is guessed (integer, decimal, boolean, else text; `'...'`
/// is always text).
pub(crate) fn parameter(text: &str) -> Result<SqlParameter, Failure> {
    if let Some((kind, value)) = text.split_once(':')
        && SQL_TYPES.contains(&kind)
    {
        let value = match kind {
            "BIGINT" | "INTEGER" | "SMALLINT" | "TINYINT" => {
                Value::from(value.parse::<i64>().map_err(|_| {
                    Failure::usage(format!("--param {text}: {value:?} is not an integer"))
                })?)
            }
            "DOUBLE" | "FLOAT" | "REAL" | "DECIMAL" => {
                let number: f64 = value.parse().map_err(|_| {
                    Failure::usage(format!("--param {text}: {value:?} is not a number"))
                })?;
                Value::from(number)
            }
            "BOOLEAN" => Value::from(match value {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(Failure::usage(format!(
                        "--param {text}: {value:?} is not true or false"
                    )));
                }
            }),
            "ARRAY" => serde_json::from_str(value).map_err(|e| {
                Failure::usage(format!(
                    "--param {text}: an ARRAY is JSON, e.g. ARRAY:[1,2]: {e}"
                ))
            })?,
            _ => Value::from(value),
        };
        return Ok(SqlParameter::new(kind, value));
    }
    if text.len() >= 2 && text.starts_with('\'') && text.ends_with('\'') {
        return Ok(SqlParameter::new("VARCHAR", &text[1..text.len() - 1]));
    }
    if let Ok(n) = text.parse::<i64>() {
        return Ok(SqlParameter::new("BIGINT", n));
    }
    if let Ok(x) = text.parse::<f64>()
        && x.is_finite()
    {
        return Ok(SqlParameter::new("DOUBLE", x));
    }
    if text == "true" || text == "false" {
        return Ok(SqlParameter::new("BOOLEAN", text == "true"));
    }
    Ok(SqlParameter::new("VARCHAR", text))
}

/// `--context key=value` entries; a value that is JSON (a number, a
/// boolean, an object) is sent as that, anything else as text.
pub(crate) fn context(entries: &[String]) -> Result<Map<String, Value>, Failure> {
    let mut map = Map::new();
    for entry in entries {
        let Some((key, value)) = entry.split_once('=') else {
            return Err(Failure::usage(format!(
                "--context {entry:?}: write KEY=VALUE, e.g. --context timeout=60000"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Failure::usage(format!(
                "--context {entry:?}: the key is empty"
            )));
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::from(value));
        map.insert(key.to_owned(), value);
    }
    Ok(map)
}

/// Reads a file, or standard input for `-`.
pub(crate) fn read_input(path: &Path) -> Result<String, Failure> {
    if path == Path::new("-") {
        let mut text = String::new();
        io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read standard input: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))
}

/// The statement of `druid sql`: the argument, the file, or piped input.
fn statement(args: &SqlArgs) -> Result<String, Failure> {
    statement_of(args.query.as_deref(), args.file.as_deref())
}

/// A statement from the command line, a file, or piped input.
pub(crate) fn statement_of(query: Option<&str>, file: Option<&Path>) -> Result<String, Failure> {
    let (text, from) = match (query, file) {
        (Some(query), _) => (query.to_owned(), "the command line".to_owned()),
        (None, Some(file)) => (read_input(file)?, file.display().to_string()),
        (None, None) if !io::stdin().is_terminal() => {
            (read_input(Path::new("-"))?, "standard input".to_owned())
        }
        (None, None) => {
            return Err(Failure::usage(
                "no statement: give one (druid sql \"SELECT ...\"), --file FILE, or pipe it in",
            ));
        }
    };
    let text = text.trim().trim_end_matches(';').trim().to_owned();
    if text.is_empty() {
        return Err(Failure::usage(format!(
            "no statement: {from} gave an empty one; give one (druid sql \"SELECT ...\"), \
             --file FILE, or pipe it in"
        )));
    }
    Ok(text)
}

/// What ended a stream early.
enum Stop {
    Interrupted,
    /// The reader went away (`| head`): not a failure.
    ClosedOutput,
}

fn write_failure(e: &io::Error) -> Result<Stop, Failure> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(Stop::ClosedOutput)
    } else {
        Err(Failure::usage(format!("cannot write the output: {e}")))
    }
}

/// Cancels a stream's query on the server (the library's cancel, bounded
/// in time, sent to the server that runs it, also by a read-only client).
async fn cancel<T>(stream: druid_api::RowStream<T>) -> String {
    let query_id = stream.query_id().to_owned();
    match stream.cancel().await {
        Ok(true) => format!("cancelled query {query_id} on the server"),
        Ok(false) => format!("query {query_id} had already finished"),
        Err(e) => format!("query {query_id} may still run: its cancel failed: {e}"),
    }
}

/// How a statement's run ended.
pub(crate) enum Outcome {
    /// Every row was written.
    Done { rows: u64 },
    /// The reader went away (`| head`); the query was cancelled.
    ClosedOutput,
    /// Ctrl-C; what the cancel on the server did.
    Interrupted(String),
}

/// `druid sql`: one statement, or the interactive prompt on a terminal
/// when none is given.
pub(crate) async fn run(client: &Client, args: &SqlArgs) -> Result<(), Failure> {
    if args.query.is_none() && args.file.is_none() && io::stdin().is_terminal() {
        return crate::prompt::run(client, args).await;
    }
    let statement = statement(args)?;
    match execute(client, &statement, args, args.query_id.clone()).await? {
        Outcome::Done { rows } => {
            if Style::for_stdout() == Style::Color && args.output.output == Format::Table {
                eprintln!("({rows} row{})", if rows == 1 { "" } else { "s" });
            }
            Ok(())
        }
        Outcome::ClosedOutput => Ok(()),
        Outcome::Interrupted(said) => Err(Failure::interrupted(format!("interrupted; {said}"))),
    }
}

/// Runs one statement, streaming its rows to standard output; Ctrl-C
/// cancels it on the server.
pub(crate) async fn execute(
    client: &Client,
    statement: &str,
    args: &SqlArgs,
    query_id: Option<String>,
) -> Result<Outcome, Failure> {
    let mut request = client
        .sql(statement.to_owned())
        .types_header(true)
        .sql_types_header(true)
        .cancel_on_drop(false)
        .context_map(context(&args.context)?);
    for param in &args.params {
        request = request.parameter(parameter(param)?);
    }
    if let Some(id) = query_id {
        request = request.query_id(id);
    }
    let mut stream = request.stream::<Vec<Value>>();
    let style = Style::for_stdout();
    let new_out = || io::BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let make_writer = |columns: Option<&[druid_api::Column]>, width: usize| {
        let columns = match columns {
            Some(columns) => columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    sql_type: c.sql_type.clone().or_else(|| c.druid_type.clone()),
                })
                .collect(),
            None => (0..width)
                .map(|i| Column::named(&format!("column{i}")))
                .collect(),
        };
        RowWriter::new(new_out(), args.output.output, style, columns)
    };
    let mut writer = None;
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let stop = loop {
        tokio::select! {
            row = stream.next_row() => match row {
                None => break None,
                Some(Ok(row)) => {
                    let writer = writer.get_or_insert_with(|| make_writer(stream.columns(), row.len()));
                    if let Err(e) = writer.row(&row) {
                        break Some(write_failure(&e)?);
                    }
                }
                Some(Err(e)) => {
                    if let Some(writer) = writer.take() {
                        let _ = writer.finish();
                    }
                    return Err(Failure::from(e));
                }
            },
            _ = &mut interrupt => break Some(Stop::Interrupted),
        }
    };
    match stop {
        None => {
            let writer = writer.unwrap_or_else(|| make_writer(stream.columns(), 0));
            let rows = writer.rows();
            if let Err(e) = writer.finish() {
                write_failure(&e)?;
                return Ok(Outcome::ClosedOutput);
            }
            Ok(Outcome::Done { rows })
        }
        Some(Stop::ClosedOutput) => {
            let _ = cancel(stream).await;
            Ok(Outcome::ClosedOutput)
        }
        Some(Stop::Interrupted) => {
            if let Some(writer) = writer.take() {
                let _ = writer.finish();
            }
            Ok(Outcome::Interrupted(cancel(stream).await))
        }
    }
}

/// `druid query`: a native query's JSON answer.
pub(crate) async fn native(client: &Client, args: &QueryArgs) -> Result<(), Failure> {
    let text = read_input(&args.file)?;
    let mut query: Value = serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "{} is not JSON: {e}",
            if args.file == Path::new("-") {
                "standard input".to_owned()
            } else {
                args.file.display().to_string()
            }
        ))
    })?;
    let Some(object) = query.as_object_mut() else {
        return Err(Failure::usage(
            "a native query is a JSON object with a \"queryType\"",
        ));
    };
    if !object.contains_key("queryType") {
        return Err(Failure::usage(
            "the native query has no \"queryType\" (timeseries, topN, groupBy, scan, ...)",
        ));
    }
    let extra = context(&args.context)?;
    if !extra.is_empty() {
        let context = object
            .entry("context")
            .or_insert_with(|| Value::Object(Map::new()));
        match context.as_object_mut() {
            Some(context) => context.extend(extra),
            None => {
                return Err(Failure::usage(
                    "the native query's \"context\" is not an object",
                ));
            }
        }
    }
    let answer = client.native_query::<Value>(&query).await?;
    let pretty = args.pretty || io::stdout().is_terminal();
    let text = if pretty {
        serde_json::to_string_pretty(&answer.result)
    } else {
        serde_json::to_string(&answer.result)
    }
    .map_err(|e| Failure::druid(format!("cannot write the answer: {e}")))?;
    let mut stdout = io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) => write_failure(&e).map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn typed(text: &str) -> (String, Value) {
        let p = parameter(text).unwrap();
        (p.sql_type, p.value)
    }

    #[test]
    fn parameters_are_typed_or_guessed() {
        assert_eq!(typed("42"), ("BIGINT".to_owned(), json!(42)));
        assert_eq!(typed("4.5"), ("DOUBLE".to_owned(), json!(4.5)));
        assert_eq!(typed("true"), ("BOOLEAN".to_owned(), json!(true)));
        assert_eq!(typed("'42'"), ("VARCHAR".to_owned(), json!("42")));
        assert_eq!(typed("#en.wiki"), ("VARCHAR".to_owned(), json!("#en.wiki")));
        assert_eq!(typed("VARCHAR:42"), ("VARCHAR".to_owned(), json!("42")));
        assert_eq!(
            typed("TIMESTAMP:2016-06-27 00:00:00"),
            ("TIMESTAMP".to_owned(), json!("2016-06-27 00:00:00"))
        );
        assert_eq!(typed("ARRAY:[1,2]"), ("ARRAY".to_owned(), json!([1, 2])));
        // Not a type: the whole text is the value.
        assert_eq!(typed("http://x"), ("VARCHAR".to_owned(), json!("http://x")));
        let err = parameter("BIGINT:many").unwrap_err();
        assert!(err.message.contains("not an integer"), "{}", err.message);
    }

    #[test]
    fn context_values_are_json_when_they_parse() {
        let map = context(&[
            "timeout=60000".to_owned(),
            "useCache=false".to_owned(),
            "queryId=abc".to_owned(),
            "priority=-1".to_owned(),
        ])
        .unwrap();
        assert_eq!(
            Value::Object(map),
            json!({"timeout": 60000, "useCache": false, "queryId": "abc", "priority": -1})
        );
        let err = context(&["timeout".to_owned()]).unwrap_err();
        assert!(err.message.contains("KEY=VALUE"), "{}", err.message);
    }
}
