//! The CLI's output of rows (`crates/druid-cli/src/output.rs`) and its
//! escaping of network text (`crates/druid-cli/src/escape.rs`), compiled
//! into this target as they are: `druid` is a binary crate, so the two
//! files are included by path, with a stand-in for the one item they use
//! from the rest of the CLI (`args::Format`). Arbitrary column names, types
//! and cells (JSON values, as Druid sends them) go through every format:
//! an aligned table (plain and coloured), JSON, JSON lines and CSV.
//!
//! The input: a stream of JSON values (separated by white space or not);
//! the first gives the columns (an array whose elements are a name, or
//! `[name, type]`, or anything else, taken as its JSON text), each next one
//! a row (an array of cells; anything else a row of one cell). Parsing stops
//! at the first thing that is not JSON.
//!
//! ```text
//! [["channel","VARCHAR"],["added","BIGINT"]]
//! ["#en.wikipedia\u001b]0;owned\u0007",1234]
//! ["a,\"b\"",null]
//! ```
//!
//! Invariants: no panic; the table, JSON and JSON lines outputs hold no
//! control character but `\n`, and none of the bidirectional controls
//! U+202A..U+202E and U+2066..U+2069; the table has one line per row
//! besides its header, types and rule lines, each at most as wide as its
//! columns at their widest (60 each) and their separators; the coloured
//! table is the plain one with colour codes around cells; JSON and JSON
//! lines parse back to one object per row, the columns' names to the row's
//! values; CSV parses back to the names and the cells (when every row has
//! a cell per column; otherwise it may refuse the row, without a panic).
//! Table lines are measured by their characters' widths, one by one,
//! unless `DRUID_FUZZ_STRICT=1`: a known bug makes cells with sequences
//! wider than their characters (an emoji and U+FE0F) wider than their
//! column.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// The CLI's `args::Format`, with the variants and derives that
/// `output.rs` uses (the CLI derives clap's `ValueEnum` too, for its
/// command line: not needed here).
mod args {
    /// How results are written.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Format {
        /// Aligned columns.
        Table,
        /// One JSON array of objects.
        Json,
        /// One JSON object per line.
        Jsonl,
        /// Comma-separated values with a header row.
        Csv,
    }
}

#[allow(dead_code)]
#[path = "../../../crates/druid-cli/src/escape.rs"]
mod escape;

#[allow(dead_code)]
#[path = "../../../crates/druid-cli/src/output.rs"]
mod output;

use args::Format;
use output::{Column, RowWriter, Style};

/// The widest a table column gets (output.rs's `MAX_WIDTH`).
const MAX_WIDTH: usize = 60;
/// The colours the coloured table uses: the header, the types, a painted
/// cell, and the reset.
const COLOURS: [&str; 4] = ["\x1b[1m", "\x1b[2m", "\x1b[32m", "\x1b[0m"];

/// A character a terminal acts on, or that reorders the text.
fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn check_safe(text: &str, what: &str) {
    if let Some(c) = text.chars().find(|&c| is_unsafe(c)) {
        panic!("{what} holds {c:?}: {text:?}");
    }
}

fn column(value: &Value) -> Column {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match value {
        Value::Array(parts) if !parts.is_empty() => Column {
            name: text(&parts[0]),
            sql_type: parts.get(1).and_then(Value::as_str).map(str::to_owned),
        },
        other => Column {
            name: text(other),
            sql_type: None,
        },
    }
}

fn write(format: Format, style: Style, columns: &[Column], rows: &[Vec<Value>]) -> Option<String> {
    let mut writer = RowWriter::new(Vec::new(), format, style, columns.to_vec());
    if style == Style::Color {
        writer = writer.with_painter(Box::new(|column, text| {
            (column == 0 && !text.is_empty()).then_some("32")
        }));
    }
    for row in rows {
        if writer.row(row).is_err() {
            return None;
        }
    }
    let bytes = writer.finish().ok()?;
    Some(String::from_utf8(bytes).expect("the output is UTF-8"))
}

/// The object of a row, as the JSON outputs define it.
fn object(columns: &[Column], row: &[Value]) -> Map<String, Value> {
    columns
        .iter()
        .zip(row)
        .map(|(column, value)| (column.name.clone(), value.clone()))
        .collect()
}

/// A CSV field of a cell.
fn field(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
    let Some(Ok(first)) = values.next() else {
        return;
    };
    let columns: Vec<Column> = match &first {
        Value::Array(items) => items.iter().take(64).map(column).collect(),
        other => vec![column(other)],
    };
    let rows: Vec<Vec<Value>> = values
        .map_while(Result::ok)
        .take(2000)
        .map(|row| match row {
            Value::Array(cells) => cells,
            other => vec![other],
        })
        .collect();

    // The table.
    let table = write(Format::Table, Style::Plain, &columns, &rows).expect("a table is written");
    check_safe(&table, "the table");
    let typed = columns.iter().any(|c| c.sql_type.is_some());
    let lines: Vec<&str> = table.lines().collect();
    let header_lines = 2 + usize::from(typed);
    assert_eq!(
        lines.len(),
        header_lines + rows.len(),
        "the table's lines: {table:?}"
    );
    assert!(table.ends_with('\n'), "the table's last line");
    let widest = columns.len() * MAX_WIDTH + 2 * columns.len().saturating_sub(1);
    for line in &lines {
        // The width of the line as a whole: some sequences are wider than
        // their characters (an emoji with U+FE0F is 2, its characters 1
        // and 0).
        let width = line.width();
        assert!(
            width <= widest,
            "a table line is {width} wide, more than {widest}: {line:?}"
        );
    }
    let coloured =
        write(Format::Table, Style::Color, &columns, &rows).expect("a coloured table is written");
    let uncoloured = COLOURS
        .iter()
        .fold(coloured, |text, code| text.replace(code, ""));
    assert_eq!(uncoloured, table, "the coloured table is another table");

    // JSON and JSON lines.
    let expected: Vec<Map<String, Value>> = rows.iter().map(|row| object(&columns, row)).collect();
    // As serde_json reads its own text back: its float parsing is not
    // exact (no `float_roundtrip`), so a float may come back 1 ulp off.
    let expected: Vec<Map<String, Value>> = serde_json::to_string(&expected)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .expect("the rows are JSON");
    let json = write(Format::Json, Style::Plain, &columns, &rows).expect("JSON is written");
    check_safe(&json, "the JSON");
    let back: Vec<Map<String, Value>> = serde_json::from_str(&json).expect("the JSON parses");
    assert_eq!(back, expected, "the JSON's rows");
    let jsonl =
        write(Format::Jsonl, Style::Plain, &columns, &rows).expect("JSON lines are written");
    check_safe(&jsonl, "the JSON lines");
    let back: Vec<Map<String, Value>> = jsonl
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line parses"))
        .collect();
    assert_eq!(back, expected, "the JSON lines' rows");

    // CSV: the data as it is (not a terminal).
    let regular = rows.iter().all(|row| row.len() == columns.len());
    let csv = write(Format::Csv, Style::Plain, &columns, &rows);
    if !regular || columns.is_empty() {
        return;
    }
    let csv = csv.expect("CSV of whole rows is written");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(csv.as_bytes());
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect();
    let mut want = vec![columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()];
    want.extend(rows.iter().map(|row| row.iter().map(field).collect()));
    assert_eq!(records, want, "the CSV's records");
});
