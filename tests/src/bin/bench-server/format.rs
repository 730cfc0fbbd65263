//! Druid's SQL result formats, byte for byte as its writers produce them
//! (`sql/src/main/java/org/apache/druid/sql/http/*Writer.java`):
//!
//! - `object` / `array`: one JSON array of rows with no whitespace, then a
//!   newline; with `header`, the first element is an object of column names
//!   to `null` (object) or to `{"type", "sqlType"}` with the types headers,
//!   or (array) a row of names followed by a row of Druid types and a row of
//!   SQL types when asked for;
//! - `objectLines` / `arrayLines`: the same rows and header rows separated
//!   by newlines, then a newline and a blank line;
//! - `csv`: opencsv's records (quoted only when needed, quotes doubled),
//!   header lines first, then one blank line.
//!
//! Strings are escaped as Jackson does: `"`, `\` and control characters;
//! everything else, non-ASCII included, is raw UTF-8.

use crate::data::{Cell, Column, Table};

/// A `resultFormat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `object`, the default.
    Object,
    /// `array`.
    Array,
    /// `objectLines`.
    ObjectLines,
    /// `arrayLines`.
    ArrayLines,
    /// `csv`.
    Csv,
}

impl Format {
    /// Druid's names, in any case (`ResultFormat.fromString` upper-cases).
    pub(crate) fn parse(name: &str) -> Option<Format> {
        Some(match name.to_ascii_lowercase().as_str() {
            "object" => Format::Object,
            "array" => Format::Array,
            "objectlines" => Format::ObjectLines,
            "arraylines" => Format::ArrayLines,
            "csv" => Format::Csv,
            _ => return None,
        })
    }

    /// The `Content-Type` Druid sends.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Object | Format::Array => "application/json",
            Format::ObjectLines | Format::ArrayLines => "text/plain",
            Format::Csv => "text/csv",
        }
    }

    fn is_object(self) -> bool {
        matches!(self, Format::Object | Format::ObjectLines)
    }
}

/// What the request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// The format.
    pub(crate) format: Format,
    /// `header`.
    pub(crate) header: bool,
    /// `typesHeader` (only with `header`).
    pub(crate) types_header: bool,
    /// `sqlTypesHeader` (only with `header`).
    pub(crate) sql_types_header: bool,
}

/// Writes one result: [`Writer::start`], the rows, [`Writer::end`].
#[derive(Debug)]
pub(crate) struct Writer {
    options: Options,
    columns: &'static [Column],
    /// `"name":` of each column, escaped (object formats).
    keys: Vec<Vec<u8>>,
    /// Root elements written so far (rows and header rows).
    elements: u64,
}

impl Writer {
    /// A writer for a table's columns.
    pub(crate) fn new(options: Options, columns: &'static [Column]) -> Self {
        let keys = columns
            .iter()
            .map(|c| {
                let mut key = Vec::new();
                json_string(c.name, &mut key);
                key.push(b':');
                key
            })
            .collect();
        Writer {
            options,
            columns,
            keys,
            elements: 0,
        }
    }

    /// The separator before a root element.
    fn element(&mut self, out: &mut Vec<u8>) {
        if self.elements > 0 {
            match self.options.format {
                Format::Object | Format::Array => out.push(b','),
                Format::ObjectLines | Format::ArrayLines => out.push(b'\n'),
                Format::Csv => {}
            }
        }
        self.elements += 1;
    }

    /// The start of the response and the header rows.
    pub(crate) fn start(&mut self, out: &mut Vec<u8>) {
        let Options {
            format,
            header,
            types_header,
            sql_types_header,
        } = self.options;
        if matches!(format, Format::Object | Format::Array) {
            out.push(b'[');
        }
        if !header {
            return;
        }
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        let druid_types: Vec<&str> = self.columns.iter().map(|c| c.druid_type).collect();
        let sql_types: Vec<&str> = self.columns.iter().map(|c| c.sql_type).collect();
        if format.is_object() {
            self.element(out);
            out.push(b'{');
            for (i, column) in self.columns.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(&self.keys[i]);
                if !types_header && !sql_types_header {
                    out.extend_from_slice(b"null");
                    continue;
                }
                out.push(b'{');
                if types_header {
                    out.extend_from_slice(b"\"type\":");
                    json_string(column.druid_type, out);
                }
                if sql_types_header {
                    if types_header {
                        out.push(b',');
                    }
                    out.extend_from_slice(b"\"sqlType\":");
                    json_string(column.sql_type, out);
                }
                out.push(b'}');
            }
            out.push(b'}');
            return;
        }
        let mut lines = vec![names];
        if types_header {
            lines.push(druid_types);
        }
        if sql_types_header {
            lines.push(sql_types);
        }
        for line in lines {
            self.element(out);
            if format == Format::Csv {
                for (i, value) in line.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    csv_field(value, out);
                }
                out.push(b'\n');
            } else {
                out.push(b'[');
                for (i, value) in line.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_string(value, out);
                }
                out.push(b']');
            }
        }
    }

    /// Row `i` of `table`.
    pub(crate) fn row(&mut self, table: &dyn Table, i: u64, out: &mut Vec<u8>) {
        self.element(out);
        let format = self.options.format;
        let keys = &self.keys;
        let mut column = 0;
        let before = out.len();
        match format {
            Format::Object | Format::ObjectLines => out.push(b'{'),
            Format::Array | Format::ArrayLines => out.push(b'['),
            Format::Csv => {}
        }
        table.row(i, &mut |cell| {
            if column > 0 {
                out.push(b',');
            }
            if format.is_object() {
                out.extend_from_slice(&keys[column]);
            }
            if format == Format::Csv {
                // CSV cannot tell null from the empty string.
                match cell {
                    Cell::Str(s) => csv_field(s, out),
                    Cell::Long(v) => out.extend_from_slice(v.to_string().as_bytes()),
                    Cell::Null => {}
                }
            } else {
                match cell {
                    Cell::Str(s) => json_string(s, out),
                    Cell::Long(v) => out.extend_from_slice(v.to_string().as_bytes()),
                    Cell::Null => out.extend_from_slice(b"null"),
                }
            }
            column += 1;
        });
        match format {
            Format::Object | Format::ObjectLines => out.push(b'}'),
            Format::Array | Format::ArrayLines => out.push(b']'),
            // Druid quotes a record whose only field is empty, so that it
            // is not a blank line (the end marker).
            Format::Csv if column == 1 && out.len() == before => {
                out.extend_from_slice(b"\"\"\n");
            }
            Format::Csv => out.push(b'\n'),
        }
    }

    /// The end of the response.
    pub(crate) fn end(&mut self, out: &mut Vec<u8>) {
        match self.options.format {
            Format::Object | Format::Array => out.extend_from_slice(b"]\n"),
            Format::ObjectLines | Format::ArrayLines => out.extend_from_slice(b"\n\n"),
            Format::Csv => out.push(b'\n'),
        }
    }
}

/// A JSON string as Jackson writes it.
pub(crate) fn json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04X}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A CSV field as opencsv writes it without `applyQuotesToAll`: quoted
/// when it holds a quote, a comma or a line break, quotes doubled.
pub(crate) fn csv_field(s: &str, out: &mut Vec<u8>) {
    if !s.bytes().any(|b| matches!(b, b'"' | b',' | b'\n' | b'\r')) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Column;

    struct Tiny;

    const COLUMNS: &[Column] = &[
        Column {
            name: "__time",
            druid_type: "LONG",
            sql_type: "TIMESTAMP",
        },
        Column {
            name: "page",
            druid_type: "STRING",
            sql_type: "VARCHAR",
        },
        Column {
            name: "added",
            druid_type: "LONG",
            sql_type: "BIGINT",
        },
    ];

    impl Table for Tiny {
        fn columns(&self) -> &'static [Column] {
            COLUMNS
        }
        fn len(&self) -> u64 {
            2
        }
        fn row(&self, i: u64, emit: &mut dyn FnMut(Cell<'_>)) {
            emit(Cell::Str("2016-06-27T00:00:00.000Z"));
            emit(if i == 0 {
                Cell::Str("Say \"hi\", ok")
            } else {
                Cell::Null
            });
            emit(Cell::Long(i as i64 - 1));
        }
    }

    fn write(format: Format, header: bool, types: bool, sql_types: bool) -> String {
        let mut writer = Writer::new(
            Options {
                format,
                header,
                types_header: types,
                sql_types_header: sql_types,
            },
            COLUMNS,
        );
        let mut out = Vec::new();
        writer.start(&mut out);
        for i in 0..Tiny.len() {
            writer.row(&Tiny, i, &mut out);
        }
        writer.end(&mut out);
        String::from_utf8(out).unwrap()
    }

    const T: &str = "\"2016-06-27T00:00:00.000Z\"";

    #[test]
    fn object() {
        assert_eq!(
            write(Format::Object, false, false, false),
            format!(
                "[{{\"__time\":{T},\"page\":\"Say \\\"hi\\\", ok\",\"added\":-1}},\
                 {{\"__time\":{T},\"page\":null,\"added\":0}}]\n"
            )
        );
        let with_header = write(Format::Object, true, false, false);
        assert!(
            with_header.starts_with("[{\"__time\":null,\"page\":null,\"added\":null},{"),
            "{with_header}"
        );
        let typed = write(Format::Object, true, true, true);
        assert!(
            typed.starts_with(
                "[{\"__time\":{\"type\":\"LONG\",\"sqlType\":\"TIMESTAMP\"},\"page\":{\"type\":\
                 \"STRING\",\"sqlType\":\"VARCHAR\"},\"added\":{\"type\":\"LONG\",\"sqlType\":\
                 \"BIGINT\"}},{"
            ),
            "{typed}"
        );
        let sql_only = write(Format::Object, true, false, true);
        assert!(
            sql_only.starts_with("[{\"__time\":{\"sqlType\":\"TIMESTAMP\"},"),
            "{sql_only}"
        );
    }

    #[test]
    fn array() {
        assert_eq!(
            write(Format::Array, true, true, true),
            format!(
                "[[\"__time\",\"page\",\"added\"],[\"LONG\",\"STRING\",\"LONG\"],\
                 [\"TIMESTAMP\",\"VARCHAR\",\"BIGINT\"],[{T},\"Say \\\"hi\\\", ok\",-1],\
                 [{T},null,0]]\n"
            )
        );
    }

    #[test]
    fn lines_end_with_a_blank_line() {
        assert_eq!(
            write(Format::ArrayLines, true, false, false),
            format!(
                "[\"__time\",\"page\",\"added\"]\n[{T},\"Say \\\"hi\\\", ok\",-1]\n[{T},null,0]\n\n"
            )
        );
        let lines = write(Format::ObjectLines, false, false, false);
        assert!(lines.ends_with("\"added\":0}\n\n"), "{lines}");
        assert_eq!(lines.matches('\n').count(), 3);
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(
            write(Format::Csv, true, true, false),
            "__time,page,added\nLONG,STRING,LONG\n\
             2016-06-27T00:00:00.000Z,\"Say \"\"hi\"\", ok\",-1\n\
             2016-06-27T00:00:00.000Z,,0\n\n"
        );
    }

    #[test]
    fn jackson_escapes() {
        let mut out = Vec::new();
        json_string("a\\b\t\u{1}ü😀", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "\"a\\\\b\\t\\u0001ü😀\"");
    }

    #[test]
    fn every_format_parses_in_any_case() {
        assert_eq!(Format::parse("objectLines"), Some(Format::ObjectLines));
        assert_eq!(Format::parse("ARRAYLINES"), Some(Format::ArrayLines));
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse("xml"), None);
    }
}
