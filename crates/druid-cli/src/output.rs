//! Rows out: an aligned table, JSON, JSON lines or CSV, written as they
//! arrive so that a million rows never sit in memory. Nothing from the
//! network reaches the terminal raw: table cells, names and types show
//! control characters as escapes, JSON writes them as `\u` escapes, and
//! CSV on a terminal shows them too (see [`crate::escape`]).

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::{Map, Value};
use unicode_width::UnicodeWidthStr as _;

use crate::args::Format;
use crate::escape;

/// Rows a table measures before it prints: its column widths come from
/// them, and later cells that are wider are cut.
const MEASURED_ROWS: usize = 500;
/// The widest a table column gets: a cell is cut to it when it arrives, so
/// the rows held for measuring take at most this much of each value.
const MAX_WIDTH: usize = 60;

/// A column of the output: its name and, when known, its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) sql_type: Option<String>,
}

impl Column {
    pub(crate) fn named(name: &str) -> Self {
        Column {
            name: name.to_owned(),
            sql_type: None,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(
            self.sql_type.as_deref(),
            Some(
                "BIGINT"
                    | "INTEGER"
                    | "SMALLINT"
                    | "TINYINT"
                    | "DOUBLE"
                    | "FLOAT"
                    | "REAL"
                    | "DECIMAL"
                    | "LONG"
            )
        )
    }
}

/// Terminal styling, off when the output is not a terminal (or `NO_COLOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Color,
}

impl Style {
    /// Styling for standard output.
    pub(crate) fn for_stdout() -> Self {
        use std::io::IsTerminal as _;
        if io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
            Style::Color
        } else {
            Style::Plain
        }
    }

    pub(crate) fn paint(self, text: &str, code: &str) -> String {
        match self {
            Style::Plain => text.to_owned(),
            Style::Color => format!("\x1b[{code}m{text}\x1b[0m"),
        }
    }
}

/// Picks a terminal colour (an SGR code such as `32`) for a table cell, by
/// column and text.
pub(crate) type Painter = Box<dyn Fn(usize, &str) -> Option<&'static str>>;

/// Where rows go, in one of the formats.
pub(crate) struct RowWriter<W: Write> {
    sink: Sink<W>,
    format: Format,
    style: Style,
    painter: Option<Painter>,
    columns: Vec<Column>,
    /// The table's rows before its widths are known.
    pending: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
    rows: u64,
    /// A number's text, reused from cell to cell.
    scratch: String,
    /// Whether CSV fields show control characters as escapes (on a
    /// terminal; a file or a pipe gets the data as it is).
    escape_csv: bool,
}

/// The output itself; CSV goes through the csv crate's writer, which owns it.
enum Sink<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> RowWriter<W> {
    pub(crate) fn new(out: W, format: Format, style: Style, columns: Vec<Column>) -> Self {
        let sink = match format {
            Format::Csv => Sink::Csv(Box::new(csv::Writer::from_writer(out))),
            _ => Sink::Plain(out),
        };
        use std::io::IsTerminal as _;
        RowWriter {
            sink,
            format,
            style,
            painter: None,
            columns,
            pending: Vec::new(),
            widths: None,
            rows: 0,
            scratch: String::new(),
            escape_csv: format == Format::Csv && io::stdout().is_terminal(),
        }
    }

    /// Colours the table's cells on a terminal.
    pub(crate) fn with_painter(mut self, painter: Painter) -> Self {
        self.painter = Some(painter);
        self
    }

    /// Rows written (or held for the table's widths) so far.
    pub(crate) fn rows(&self) -> u64 {
        self.rows
    }

    /// One row, its values in the order of the columns.
    pub(crate) fn row(&mut self, values: &[Value]) -> io::Result<()> {
        if self.rows == 0 {
            self.start()?;
        }
        self.rows += 1;
        match self.format {
            Format::Table => {
                let cells: Vec<String> = values.iter().map(cell_text).collect();
                if self.widths.is_some() {
                    self.table_row(&cells)?;
                } else {
                    self.pending.push(cells);
                    if self.pending.len() >= MEASURED_ROWS {
                        self.flush_pending()?;
                    }
                }
            }
            Format::Json => {
                if self.rows > 1 {
                    self.out()?.write_all(b",\n")?;
                }
                self.json_row(values)?;
            }
            Format::Jsonl => {
                self.json_row(values)?;
                self.out()?.write_all(b"\n")?;
            }
            Format::Csv => {
                if let Sink::Csv(csv) = &mut self.sink {
                    // Field by field, without a String per cell.
                    for value in values {
                        match value {
                            Value::String(s) if self.escape_csv => {
                                csv.write_field(escape::line(s).as_bytes())?;
                            }
                            Value::String(s) => csv.write_field(s)?,
                            Value::Null => csv.write_field("")?,
                            Value::Bool(b) => csv.write_field(if *b { "true" } else { "false" })?,
                            Value::Number(n) => {
                                self.scratch.clear();
                                let _ = write!(self.scratch, "{n}");
                                csv.write_field(&self.scratch)?;
                            }
                            other => csv.write_field(other.to_string())?,
                        }
                    }
                    csv.write_record(None::<&[u8]>)?;
                }
            }
        }
        Ok(())
    }

    /// One row as a JSON object, safe for a terminal.
    fn json_row(&mut self, values: &[Value]) -> io::Result<()> {
        let object = self.object(values);
        let text = serde_json::to_string(&object)?;
        let text = escape::json(&text).into_owned();
        self.out()?.write_all(text.as_bytes())
    }

    /// The plain output (every format but CSV writes through it).
    fn out(&mut self) -> io::Result<&mut W> {
        match &mut self.sink {
            Sink::Plain(out) => Ok(out),
            Sink::Csv(_) => Err(io::Error::other("CSV is written through its own writer")),
        }
    }

    /// Ends the output (the JSON array's bracket, the table's last rows).
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.rows == 0 {
            self.start()?;
        }
        match self.format {
            Format::Table => {
                if self.widths.is_none() {
                    self.flush_pending()?;
                }
            }
            Format::Json => {
                let end: &[u8] = if self.rows == 0 { b"]\n" } else { b"\n]\n" };
                self.out()?.write_all(end)?;
            }
            Format::Jsonl | Format::Csv => {}
        }
        match self.sink {
            Sink::Plain(mut out) => {
                out.flush()?;
                Ok(out)
            }
            Sink::Csv(csv) => csv
                .into_inner()
                .map_err(|e| io::Error::other(e.to_string())),
        }
    }

    /// What comes before the first row: the CSV header, the JSON bracket.
    fn start(&mut self) -> io::Result<()> {
        match self.format {
            Format::Json => self.out()?.write_all(b"[\n"),
            Format::Csv => {
                let escape_csv = self.escape_csv;
                if let Sink::Csv(csv) = &mut self.sink {
                    csv.write_record(self.columns.iter().map(|c| {
                        if escape_csv {
                            escape::line(&c.name).into_owned()
                        } else {
                            c.name.clone()
                        }
                    }))?;
                }
                Ok(())
            }
            Format::Table | Format::Jsonl => Ok(()),
        }
    }

    fn object(&self, values: &[Value]) -> Map<String, Value> {
        self.columns
            .iter()
            .zip(values)
            .map(|(column, value)| (column.name.clone(), value.clone()))
            .collect()
    }

    /// Measures the held rows, prints the header and them.
    fn flush_pending(&mut self) -> io::Result<()> {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|c| {
                escape::line(&c.name)
                    .width()
                    .max(c.sql_type.as_deref().map_or(0, |t| escape::line(t).width()))
            })
            .collect();
        for row in &self.pending {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.width());
            }
        }
        for width in &mut widths {
            *width = (*width).min(MAX_WIDTH);
        }
        self.widths = Some(widths.clone());
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|c| fit(&escape::line(&c.name), MAX_WIDTH))
            .collect();
        let header = self.line(&names, &widths, false);
        let header = self.style.paint(&header, "1");
        writeln!(self.out()?, "{header}")?;
        if self.columns.iter().any(|c| c.sql_type.is_some()) {
            let types: Vec<String> = self
                .columns
                .iter()
                .map(|c| {
                    fit(
                        &escape::line(c.sql_type.as_deref().unwrap_or_default()),
                        MAX_WIDTH,
                    )
                })
                .collect();
            let line = self.line(&types, &widths, false);
            let line = self.style.paint(&line, "2");
            writeln!(self.out()?, "{line}")?;
        }
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        writeln!(self.out()?, "{}", rule.join("  "))?;
        for row in std::mem::take(&mut self.pending) {
            self.table_row(&row)?;
        }
        Ok(())
    }

    fn table_row(&mut self, cells: &[String]) -> io::Result<()> {
        let widths = self.widths.clone().unwrap_or_default();
        let line = self.line(cells, &widths, true);
        writeln!(self.out()?, "{line}")
    }

    /// Cells padded to their widths; numbers to the right.
    fn line(&self, cells: &[String], widths: &[usize], align_numbers: bool) -> String {
        let mut line = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let mut cell = fit(cell, *width);
            let pad = width.saturating_sub(cell.width());
            if align_numbers
                && let Some(code) = self.painter.as_ref().and_then(|paint| paint(i, &cell))
            {
                cell = self.style.paint(&cell, code);
            }
            let right = align_numbers && self.columns.get(i).is_some_and(Column::is_numeric);
            let last = i + 1 == cells.len();
            if right {
                line.push_str(&" ".repeat(pad));
                line.push_str(&cell);
            } else {
                line.push_str(&cell);
                if !last {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        line
    }
}

/// A cell as a table shows it: text as it is, `null`, JSON for the rest.
/// Line breaks, tabs and every other control character become visible
/// escapes, so a row stays one line and the terminal acts on nothing; the
/// cell is cut to the widest a column gets.
pub(crate) fn cell_text(value: &Value) -> String {
    match value {
        Value::String(s) => fit(&escape::line(s), MAX_WIDTH),
        Value::Null => "null".to_owned(),
        // Serialized whole only when short; a long array or object is cut.
        other => fit(&escape::line(&other.to_string()), MAX_WIDTH),
    }
}

/// Text cut to a display width, with `…` where it was cut. The width is
/// the text's own as a whole (an emoji with its presentation selector is
/// two columns, its characters one each), measured as it grows (the
/// `cli_table` fuzz target found cells one column too wide).
fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if out.width() + 1 > width {
            out.pop();
            break;
        }
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn columns() -> Vec<Column> {
        vec![
            Column {
                name: "channel".to_owned(),
                sql_type: Some("VARCHAR".to_owned()),
            },
            Column {
                name: "added".to_owned(),
                sql_type: Some("BIGINT".to_owned()),
            },
        ]
    }

    fn write(format: Format, rows: &[Value]) -> String {
        let mut writer = RowWriter::new(Vec::new(), format, Style::Plain, columns());
        for row in rows {
            writer.row(row.as_array().unwrap()).unwrap();
        }
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    fn rows() -> Vec<Value> {
        vec![json!(["#en.wikipedia", 1234]), json!(["a,\"b\"", null])]
    }

    #[test]
    fn a_table_aligns_names_types_and_numbers() {
        let text = write(Format::Table, &rows());
        assert_eq!(
            text,
            "channel        added\n\
             VARCHAR        BIGINT\n\
             -------------  ------\n\
             #en.wikipedia    1234\n\
             a,\"b\"            null\n"
        );
    }

    #[test]
    fn json_jsonl_and_csv_keep_names_and_values() {
        assert_eq!(
            write(Format::Json, &rows()),
            "[\n{\"channel\":\"#en.wikipedia\",\"added\":1234},\n{\"channel\":\"a,\\\"b\\\"\",\"added\":null}\n]\n"
        );
        let parsed: Value = serde_json::from_str(&write(Format::Json, &rows())).unwrap();
        assert_eq!(parsed[0]["added"], json!(1234));
        assert_eq!(
            write(Format::Jsonl, &rows()),
            "{\"channel\":\"#en.wikipedia\",\"added\":1234}\n{\"channel\":\"a,\\\"b\\\"\",\"added\":null}\n"
        );
        assert_eq!(
            write(Format::Csv, &rows()),
            "channel,added\n#en.wikipedia,1234\n\"a,\"\"b\"\"\",\n"
        );
    }

    #[test]
    fn no_rows_is_still_a_valid_document() {
        assert_eq!(write(Format::Json, &[]), "[\n]\n");
        assert_eq!(write(Format::Csv, &[]), "channel,added\n");
        assert_eq!(write(Format::Jsonl, &[]), "");
        assert!(write(Format::Table, &[]).starts_with("channel  added\n"));
    }

    #[test]
    fn a_long_table_streams_after_its_measured_rows() {
        let mut writer = RowWriter::new(Vec::new(), Format::Table, Style::Plain, columns());
        for i in 0..MEASURED_ROWS {
            writer.row(&[json!("x"), json!(i)]).unwrap();
        }
        // Measured: the widths are fixed, later rows are printed at once
        // and a wider cell is cut to the column.
        assert!(writer.pending.is_empty());
        writer
            .row(&[json!("a much wider channel"), json!(1)])
            .unwrap();
        let text = String::from_utf8(writer.finish().unwrap()).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(last, "a much…       1");
        assert_eq!(text.lines().count(), 3 + MEASURED_ROWS + 1);
    }

    #[test]
    fn a_painter_colours_cells_without_moving_them() {
        let painted = |style| {
            let writer = RowWriter::new(Vec::new(), Format::Table, style, columns()).with_painter(
                Box::new(|column, text| (column == 0 && text == "x").then_some("32")),
            );
            let mut writer = writer;
            writer.row(&[json!("x"), json!(1)]).unwrap();
            String::from_utf8(writer.finish().unwrap()).unwrap()
        };
        let plain = painted(Style::Plain);
        let color = painted(Style::Color);
        assert!(!plain.contains('\x1b'));
        assert_eq!(
            color
                .replace("\x1b[32m", "")
                .replace("\x1b[0m", "")
                .replace("\x1b[1m", "")
                .replace("\x1b[2m", ""),
            plain
        );
        assert!(color.contains("\x1b[32mx\x1b[0m      "), "{color:?}");
    }

    #[test]
    fn nothing_from_the_network_reaches_the_terminal_raw() {
        let hostile = Column {
            name: "name\x1b]0;owned\x07".to_owned(),
            sql_type: Some("VARCHAR\u{9b}2J".to_owned()),
        };
        let row = [json!("\x1b]52;c;ZXZpbA==\x07"), json!({"k": "\u{202e}x"})];
        for format in [Format::Table, Format::Json, Format::Jsonl] {
            let mut writer = RowWriter::new(
                Vec::new(),
                format,
                Style::Plain,
                vec![hostile.clone(), Column::named("b")],
            );
            writer.row(&row).unwrap();
            let text = String::from_utf8(writer.finish().unwrap()).unwrap();
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' || c == '\u{202e}'),
                "{format:?}: {text:?}"
            );
            if format == Format::Table {
                assert!(text.contains("name\\x1b]0;owned\\x07"), "{text}");
                assert!(text.contains("VARCHAR\\u{9b}2J"), "{text}");
                assert!(text.contains("\\x1b]52;c;ZXZpbA==\\x07"), "{text}");
            }
        }
    }

    #[test]
    fn a_huge_cell_is_cut_when_it_arrives() {
        let cell = cell_text(&json!("x".repeat(10 << 20)));
        assert_eq!(cell.chars().count(), MAX_WIDTH);
        assert!(cell.ends_with('…'));
        let array = cell_text(&json!(vec![1; 100_000]));
        assert!(array.len() <= MAX_WIDTH * 3, "{}", array.len());
    }

    #[test]
    fn cells_stay_on_one_line_and_are_cut_by_display_width() {
        assert_eq!(cell_text(&json!("a\nb\tc")), "a\\nb\\tc");
        assert_eq!(cell_text(&json!({"k": [1, 2]})), "{\"k\":[1,2]}");
        assert_eq!(fit("日本語テキスト", 7), "日本語…");
        let emoji = "☺\u{fe0f}".repeat(31);
        assert!(fit(&emoji, 60).width() <= 60, "{}", fit(&emoji, 60).width());
        assert_eq!(fit("short", 10), "short");
    }
}
