//! SQL result rows decoded as the bytes arrive, in every result format,
//! straight into the caller's type: one pass, no `serde_json::Value` step.
//!
//! - `object` and `array`: one JSON array of rows. Each row is deserialized
//!   from where it starts; a row cut by a chunk boundary fails with an
//!   end-of-input error and is decoded again once more bytes are in.
//! - `objectLines`, `arrayLines` and `csv`: one row per line, found with
//!   `memchr` (CSV: outside quotes), then decoded from its exact bytes.
//!
//! Rows of the array formats fill a struct with named fields by the header
//! row's column names ([`ArrayRow`]), so typed rows work whatever the wire
//! format. A result is complete only with its end marker: the closing `]`
//! of the JSON formats, the blank last line of the lines formats and CSV.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Buf, Bytes, BytesMut};
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};
use serde_json::Value;

use crate::models::{ColumnTypes, ResultFormat};
use crate::sql::Column;

/// The longest row the decoder holds while waiting for its end: a row that
/// goes on past it (a server that never ends its row) is an error, not a
/// buffer that grows until memory runs out. Druid's rows are far smaller;
/// a single value of a complex column is at most a few MiB.
pub(crate) const MAX_ROW_BYTES: usize = 64 << 20;

/// How a result is laid out: its format and how many header rows it has.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub(crate) format: ResultFormat,
    pub(crate) header: bool,
    pub(crate) types_header: bool,
    pub(crate) sql_types_header: bool,
}

impl Layout {
    /// JSON rows without a header: an array (`object`) or lines.
    pub(crate) fn plain(format: ResultFormat) -> Self {
        Layout {
            format,
            header: false,
            types_header: false,
            sql_types_header: false,
        }
    }
}

impl Layout {
    /// The layout of the answer to `query`: Druid's defaults where it sets
    /// nothing (JSON objects, no header).
    pub(crate) fn of(query: &crate::models::SqlQuery) -> Self {
        let header = query.header.unwrap_or(false);
        Layout {
            format: query.result_format.clone().unwrap_or(ResultFormat::Object),
            header,
            types_header: header && query.types_header.unwrap_or(false),
            sql_types_header: header && query.sql_types_header.unwrap_or(false),
        }
    }

    /// The rows before the data: one for the object formats (names, with
    /// the types in it), one per header line for the others.
    fn header_rows(&self) -> usize {
        if !self.header {
            return 0;
        }
        match self.format {
            ResultFormat::Object | ResultFormat::ObjectLines => 1,
            _ => 1 + usize::from(self.types_header) + usize::from(self.sql_types_header),
        }
    }

    /// Whether a whole answer ends with the format's end marker: the
    /// closing `]` of the JSON formats, the blank last line of the lines
    /// formats and CSV. Read by the decoder itself, rows skipped, so that
    /// the check and the decoder never disagree (a CSV row may be only
    /// white space; the `sql_stream` fuzz target found a cheaper check of
    /// the last bytes wrong both ways). A row that does not decode is not
    /// this check's business: the rows' decoding says so.
    pub(crate) fn is_complete(&self, body: &Bytes) -> bool {
        struct Discard;
        impl<T> Sink<T> for Discard {
            fn push(&mut self, _: T) {}
        }
        let mut decoder = RowDecoder::new(self.clone());
        let decoded = decoder
            .feed::<de::IgnoredAny>(body.clone(), &mut Discard)
            .and_then(|()| decoder.finish::<de::IgnoredAny>(&mut Discard));
        decoded.err().is_none_or(|e| !e.cut_off)
    }

    fn is_json_array(&self) -> bool {
        matches!(self.format, ResultFormat::Object | ResultFormat::Array)
    }

    fn is_array_rows(&self) -> bool {
        matches!(self.format, ResultFormat::Array | ResultFormat::ArrayLines)
    }
}

/// Why a row could not be decoded, before the caller adds where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowError {
    /// The row's index among the data rows, or `None` for the framing.
    pub(crate) row: Option<u64>,
    /// What went wrong.
    pub(crate) message: String,
    /// The bytes around it.
    pub(crate) near: Vec<u8>,
    /// Whether the result was cut off (as opposed to a row that does not fit).
    pub(crate) cut_off: bool,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Where decoded rows go: a queue for a stream, a `Vec` for all rows.
pub(crate) trait Sink<T> {
    /// Takes one decoded row (or element).
    fn push(&mut self, row: T);
}

impl<T> Sink<T> for VecDeque<T> {
    fn push(&mut self, row: T) {
        self.push_back(row);
    }
}

impl<T> Sink<T> for Vec<T> {
    fn push(&mut self, row: T) {
        Vec::push(self, row);
    }
}

/// Where the decoder is in the result.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Before the `[` of a JSON array result.
    Start,
    /// In a JSON array result, right after the `[`: a row or the `]`.
    First,
    /// Between rows; in a JSON array result, after a row: a `,` or the `]`.
    Rows,
    /// In a JSON array result, after a `,`: a row.
    Next,
    /// After the end marker.
    Done,
}

/// An incremental decoder of one result.
#[derive(Debug)]
pub(crate) struct RowDecoder {
    layout: Layout,
    state: State,
    /// Bytes of a row that a chunk boundary cut.
    carry: BytesMut,
    /// Don't try the carried row again before it has this many bytes.
    retry_at: usize,
    /// Rows seen, header rows included.
    seen: u64,
    header: Vec<Vec<String>>,
    columns: Option<Vec<Column>>,
    /// For CSV: the header as a record, for struct fields by name.
    csv_names: Option<csv::StringRecord>,
    /// For CSV: the record splitter, reused from row to row (boxed: its
    /// parser tables are large; made at the first CSV row: building the
    /// tables costs more than decoding a small JSON result).
    csv: Option<Box<CsvLine>>,
}

impl RowDecoder {
    pub(crate) fn new(layout: Layout) -> Self {
        let state = if layout.is_json_array() {
            State::Start
        } else {
            State::Rows
        };
        RowDecoder {
            layout,
            state,
            carry: BytesMut::new(),
            retry_at: 0,
            seen: 0,
            header: Vec::new(),
            columns: None,
            csv_names: None,
            csv: None,
        }
    }

    /// The columns the header rows describe, once they are read; `None`
    /// without `header`.
    pub(crate) fn columns(&self) -> Option<&[Column]> {
        self.columns.as_deref()
    }

    /// Data rows decoded so far.
    pub(crate) fn rows(&self) -> u64 {
        self.seen.saturating_sub(self.layout.header_rows() as u64)
    }

    /// Decodes every complete row of `chunk` (after what was carried over)
    /// into `out`, and keeps the bytes of a row the chunk cut.
    pub(crate) fn feed<T: DeserializeOwned>(
        &mut self,
        chunk: Bytes,
        out: &mut impl Sink<T>,
    ) -> Result<(), RowError> {
        // The row a chunk boundary cut is completed from the start of this
        // chunk, a few KiB at a time; the rest of the chunk is decoded
        // where it is, without a copy.
        let mut start = 0;
        if !self.carry.is_empty() {
            if self.carry.len() + chunk.len() < self.retry_at {
                self.carry.extend_from_slice(&chunk);
                return self.check_carry();
            }
            loop {
                let step = self.carry.len().max(4096).min(chunk.len() - start);
                self.carry.extend_from_slice(&chunk[start..start + step]);
                start += step;
                let mut data = std::mem::take(&mut self.carry);
                let used = self.decode(&data, out, false)?;
                let left = data.len() - used;
                if used > 0 && left <= start {
                    // What is left of `data` came from this chunk: go on there.
                    start -= left;
                    data.clear();
                    self.carry = data;
                    break;
                }
                data.advance(used);
                self.carry = data;
                if start == chunk.len() {
                    self.retry_at = self.carry.len().saturating_mul(2);
                    return self.check_carry();
                }
            }
        }
        let used = self.decode(&chunk[start..], out, false)?;
        self.keep(&chunk[start + used..]);
        self.check_carry()
    }

    /// A row held past [`MAX_ROW_BYTES`] is an error.
    fn check_carry(&self) -> Result<(), RowError> {
        if self.carry.len() <= MAX_ROW_BYTES {
            return Ok(());
        }
        Err(RowError {
            row: Some(self.rows()),
            message: format!(
                "a row is longer than {} MiB without an end; the answer is not a Druid result",
                MAX_ROW_BYTES >> 20
            ),
            near: self.carry.iter().take(120).copied().collect(),
            cut_off: false,
        })
    }

    /// Ends the result: decodes what is left and checks the end marker.
    pub(crate) fn finish<T: DeserializeOwned>(
        &mut self,
        out: &mut impl Sink<T>,
    ) -> Result<(), RowError> {
        let data = std::mem::take(&mut self.carry);
        let used = self.decode(&data, out, true)?;
        let rest = &data[used..];
        if self.state != State::Done {
            return Err(self.cut_off(rest));
        }
        if let Some(at) = rest.iter().position(|&b| !is_json_space(b)) {
            return Err(RowError {
                row: None,
                message: "bytes after the end of the result".to_owned(),
                // From the first of them, wherever the chunks were cut.
                near: rest[at..].iter().take(120).copied().collect(),
                cut_off: false,
            });
        }
        Ok(())
    }

    /// Keeps the bytes of a row a chunk cut. It is tried again once it has
    /// doubled, so tiny chunks of a huge row do not make the work quadratic.
    fn keep(&mut self, rest: &[u8]) {
        self.carry.extend_from_slice(rest);
        self.retry_at = rest.len().saturating_mul(2);
    }

    fn cut_off(&self, rest: &[u8]) -> RowError {
        let what = match self.layout.format {
            ResultFormat::Object | ResultFormat::Array => "the closing `]`",
            _ => "the blank last line",
        };
        RowError {
            row: Some(self.rows()),
            message: format!(
                "the result was cut off: it ended without {what}, after {} rows",
                self.rows()
            ),
            near: rest.iter().rev().take(120).rev().copied().collect(),
            cut_off: true,
        }
    }

    /// Decodes the complete rows at the start of `data`; returns how many
    /// bytes they took. With `last`, `data` is the end of the result.
    fn decode<T: DeserializeOwned>(
        &mut self,
        data: &[u8],
        out: &mut impl Sink<T>,
        last: bool,
    ) -> Result<usize, RowError> {
        if self.layout.is_json_array() {
            self.decode_json_array(data, out, last)
        } else {
            self.decode_lines(data, out, last)
        }
    }

    fn decode_json_array<T: DeserializeOwned>(
        &mut self,
        data: &[u8],
        out: &mut impl Sink<T>,
        last: bool,
    ) -> Result<usize, RowError> {
        let mut pos = 0;
        loop {
            while pos < data.len() && is_json_space(data[pos]) {
                pos += 1;
            }
            let Some(&byte) = data.get(pos) else {
                return Ok(pos);
            };
            match (self.state, byte) {
                (State::Start, b'[') => {
                    self.state = State::First;
                    pos += 1;
                }
                (State::Start, _) => {
                    return Err(self.framing("the result does not start with `[`", &data[pos..]));
                }
                (State::First | State::Rows, b']') => {
                    self.state = State::Done;
                    return Ok(pos + 1);
                }
                (State::Rows, b',') => {
                    self.state = State::Next;
                    pos += 1;
                }
                (State::Rows, _) => {
                    let message = format!("expected `,` or `]` after row {}", self.rows());
                    return Err(self.framing(&message, &data[pos..]));
                }
                (State::First | State::Next, b',' | b']') => {
                    let message = format!("expected a row, not `{}`", char::from(byte));
                    return Err(self.framing(&message, &data[pos..]));
                }
                (State::First | State::Next, _) => match self.array_row(&data[pos..], out, last) {
                    Ok(Some(used)) => {
                        pos += used;
                        self.state = State::Rows;
                    }
                    Ok(None) => return Ok(pos),
                    Err(e) if is_cut(&e, &data[pos..]) && !last => return Ok(pos),
                    Err(e) if is_cut(&e, &data[pos..]) => return Err(self.cut_off(&data[pos..])),
                    Err(e) => return Err(self.bad_row(&e.to_string(), &data[pos..])),
                },
                (State::Done, _) => return Ok(pos),
            }
        }
    }

    fn decode_lines<T: DeserializeOwned>(
        &mut self,
        data: &[u8],
        out: &mut impl Sink<T>,
        last: bool,
    ) -> Result<usize, RowError> {
        let mut pos = 0;
        while self.state == State::Rows && pos < data.len() {
            let end = if self.layout.format == ResultFormat::Csv {
                csv_line_end(&data[pos..])
            } else {
                memchr::memchr(b'\n', &data[pos..])
            };
            let Some(len) = end else {
                if last && pos < data.len() {
                    return Err(self.cut_off(&data[pos..]));
                }
                return Ok(pos);
            };
            let line = &data[pos..pos + len];
            pos += len + 1;
            if line.is_empty() || line == b"\r" {
                // The blank line that ends a complete result.
                self.state = State::Done;
                return Ok(pos);
            }
            if self.layout.format == ResultFormat::Csv {
                self.csv_row(line, out)?;
            } else {
                let mut de = serde_json::Deserializer::from_slice(line);
                self.row(&mut de, out)
                    .and_then(|()| de.end())
                    .map_err(|e| self.bad_row(&e.to_string(), line))?;
            }
        }
        Ok(pos)
    }

    /// The row at the start of `data`, an element of a JSON array result;
    /// returns the bytes it took, or `None` when the row may go on in the
    /// next chunk. Object rows are decoded in one pass; an array row with
    /// names is first delimited, then decoded by name.
    fn array_row<T: DeserializeOwned>(
        &mut self,
        data: &[u8],
        out: &mut impl Sink<T>,
        last: bool,
    ) -> serde_json::Result<Option<usize>> {
        let header = (self.seen as usize) < self.layout.header_rows();
        if header || (self.layout.is_array_rows() && !self.header.is_empty()) {
            let (raw, used) = next_value::<&serde_json::value::RawValue>(data)?;
            if may_go_on(data, used, last) {
                return Ok(None);
            }
            let mut de = serde_json::Deserializer::from_str(raw.get());
            self.row(&mut de, out)?;
            return Ok(Some(used));
        }
        let (value, used) = next_value::<T>(data)?;
        if may_go_on(data, used, last) {
            return Ok(None);
        }
        out.push(value);
        self.seen += 1;
        Ok(Some(used))
    }

    /// One JSON row: a header row, or a data row into `out`.
    fn row<'de, R: serde_json::de::Read<'de>, T: DeserializeOwned>(
        &mut self,
        de: &mut serde_json::Deserializer<R>,
        out: &mut impl Sink<T>,
    ) -> serde_json::Result<()> {
        if (self.seen as usize) < self.layout.header_rows() {
            if self.layout.is_array_rows() {
                let names: Vec<Option<String>> = serde::Deserialize::deserialize(de)?;
                self.header
                    .push(names.into_iter().map(Option::unwrap_or_default).collect());
            } else {
                let header: serde_json::Map<String, Value> = serde::Deserialize::deserialize(de)?;
                self.columns = Some(object_columns(header));
            }
            self.seen += 1;
            self.header_done();
            return Ok(());
        }
        let value = match (self.layout.is_array_rows(), self.header.first()) {
            (true, Some(names)) => T::deserialize(ArrayRow { de, names })?,
            _ => T::deserialize(de)?,
        };
        out.push(value);
        self.seen += 1;
        Ok(())
    }

    fn csv_row<T: DeserializeOwned>(
        &mut self,
        line: &[u8],
        out: &mut impl Sink<T>,
    ) -> Result<(), RowError> {
        let csv = self.csv.get_or_insert_with(Box::default);
        if let Err(message) = csv.split(line) {
            return Err(self.bad_row(&message, line));
        }
        let record = &csv.record;
        if (self.seen as usize) < self.layout.header_rows() {
            if self.header.is_empty() {
                self.csv_names = Some(record.clone());
            }
            self.header.push(record.iter().map(str::to_owned).collect());
            self.seen += 1;
            self.header_done();
            return Ok(());
        }
        match record.deserialize(self.csv_names.as_ref()) {
            Ok(value) => out.push(value),
            Err(e) => return Err(self.bad_row(&e.to_string(), line)),
        }
        self.seen += 1;
        Ok(())
    }

    /// Once every header row is in, the columns they describe.
    fn header_done(&mut self) {
        if self.seen as usize != self.layout.header_rows() || self.columns.is_some() {
            return;
        }
        let mut rows = self.header.iter();
        let names = rows.next().cloned().unwrap_or_default();
        let druid_types = self.layout.types_header.then(|| rows.next()).flatten();
        let sql_types = self.layout.sql_types_header.then(|| rows.next()).flatten();
        self.columns = Some(
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| Column {
                    name,
                    druid_type: druid_types.and_then(|t| t.get(i).cloned()),
                    sql_type: sql_types.and_then(|t| t.get(i).cloned()),
                })
                .collect(),
        );
    }

    fn bad_row(&self, message: &str, near: &[u8]) -> RowError {
        RowError {
            row: Some(self.rows()),
            message: message.to_owned(),
            near: near.iter().take(120).copied().collect(),
            cut_off: false,
        }
    }

    fn framing(&self, message: &str, near: &[u8]) -> RowError {
        RowError {
            row: None,
            message: message.to_owned(),
            near: near.iter().take(120).copied().collect(),
            cut_off: false,
        }
    }
}

/// Whether a parse of `data` failed only because `data` ends too early: the
/// end-of-input errors, and the syntax and type errors serde_json reports
/// at the last byte (a number cut after its `-`, `.` or `e`; a number of
/// the wrong type, cut anywhere: it would be another number in the error).
fn is_cut(error: &serde_json::Error, data: &[u8]) -> bool {
    if error.is_eof() {
        return true;
    }
    if !error.is_syntax() && !error.is_data() {
        return false;
    }
    let line_start = if error.line() <= 1 {
        0
    } else {
        match memchr::memchr_iter(b'\n', data).nth(error.line() - 2) {
            Some(newline) => newline + 1,
            None => return false,
        }
    };
    line_start + error.column() >= data.len()
}

/// JSON's white space: space, tab, line feed, carriage return (not the form
/// feed that `u8::is_ascii_whitespace` also takes).
fn is_json_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// Whether the value that took the first `used` bytes of `data` may be the
/// start of a longer one: a number or a literal (`true`, `null`), which
/// only the byte after it ends, that ends where `data` does, before its end.
fn may_go_on(data: &[u8], used: usize, last: bool) -> bool {
    !last && used == data.len() && !matches!(data.first(), Some(b'[' | b'{' | b'"'))
}

/// The first JSON value of `data` and the bytes it took, white space
/// before it included; only white space is an end-of-input error.
fn next_value<'de, V: serde::Deserialize<'de>>(data: &'de [u8]) -> serde_json::Result<(V, usize)> {
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<V>();
    match values.next() {
        Some(Ok(value)) => Ok((value, values.byte_offset())),
        Some(Err(e)) => Err(e),
        // Only white space: the end-of-input error of an empty document.
        None => serde_json::from_slice::<V>(b"").map(|value| (value, 0)),
    }
}

/// The columns of an object-format header row: names, with the types when
/// the row maps them to `{"type", "sqlType"}`.
fn object_columns(header: serde_json::Map<String, Value>) -> Vec<Column> {
    header
        .into_iter()
        .map(|(name, types)| {
            let types: Option<ColumnTypes> = serde_json::from_value(types).ok();
            Column {
                name,
                druid_type: types.as_ref().and_then(|t| t.druid_type.clone()),
                sql_type: types.and_then(|t| t.sql_type),
            }
        })
        .collect()
}

/// Splits one CSV record into fields with a `csv_core` reader that is made
/// once (making one is costly) and buffers that are reused.
#[derive(Debug)]
struct CsvLine {
    reader: csv_core::Reader,
    fields: Vec<u8>,
    ends: Vec<usize>,
    record: csv::StringRecord,
}

impl Default for CsvLine {
    fn default() -> Self {
        CsvLine {
            // `Reader::new` builds the parser's tables; `Default` does not.
            reader: csv_core::Reader::new(),
            fields: Vec::new(),
            ends: vec![0; 16],
            record: csv::StringRecord::new(),
        }
    }
}

impl CsvLine {
    /// Splits `line` into `self.record`.
    fn split(&mut self, line: &[u8]) -> Result<(), String> {
        self.reader.reset();
        self.fields.resize(line.len() + 1, 0);
        let (mut input, mut written, mut count) = (line, 0, 0);
        loop {
            let (result, read, out, ends) = self.reader.read_record(
                input,
                &mut self.fields[written..],
                &mut self.ends[count..],
            );
            // Field ends count from the start of the record, across calls.
            input = &input[read..];
            written += out;
            count += ends;
            match result {
                csv_core::ReadRecordResult::InputEmpty if !input.is_empty() => continue,
                csv_core::ReadRecordResult::InputEmpty => {
                    // The line is the whole record: end it.
                    let (result, _, out, ends) = self.reader.read_record(
                        &[],
                        &mut self.fields[written..],
                        &mut self.ends[count..],
                    );
                    written += out;
                    count += ends;
                    if !matches!(
                        result,
                        csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End
                    ) {
                        return Err("a CSV record that does not end".to_owned());
                    }
                    break;
                }
                csv_core::ReadRecordResult::OutputFull => {
                    let grown = self.fields.len() * 2;
                    self.fields.resize(grown, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        let text = std::str::from_utf8(&self.fields[..written])
            .map_err(|e| format!("a CSV record is not UTF-8: {e}"))?;
        self.record.clear();
        let mut start = 0;
        for &end in &self.ends[..count] {
            let field = text
                .get(start..end)
                .ok_or_else(|| "a CSV record the parser split wrongly".to_owned())?;
            self.record.push_field(field);
            start = end;
        }
        Ok(())
    }
}

/// The length of the first CSV record line of `data` (a newline inside
/// quotes does not end it), or `None` when it has not ended yet.
fn csv_line_end(data: &[u8]) -> Option<usize> {
    let mut quoted = false;
    for (i, byte) in data.iter().enumerate() {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// A row of an array format, seen as a map from the header's column names
/// to the row's values, so that a struct with named fields (or a map, or a
/// `serde_json::Value`) can be filled from it; a tuple or a `Vec` still
/// reads it as the sequence it is.
struct ArrayRow<'a, D> {
    de: D,
    names: &'a [String],
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ArrayRow<'_, D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_seq(SeqAsMap {
            visitor,
            names: self.names,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_ignored_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct enum identifier
    }
}

/// Turns the visit of a sequence into the visit of a map keyed by names.
struct SeqAsMap<'a, V> {
    visitor: V,
    names: &'a [String],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for SeqAsMap<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row as an array of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_map(NamedValues {
            seq,
            names: self.names.iter(),
        })
    }
}

/// The values of a row, each keyed by its column name.
struct NamedValues<'a, A> {
    seq: A,
    names: std::slice::Iter<'a, String>,
}

impl<'de, A: SeqAccess<'de>> MapAccess<'de> for NamedValues<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        match self.names.next() {
            Some(name) => seed
                .deserialize(name.as_str().into_deserializer())
                .map(Some),
            None => {
                // Every named value was read: the row must end here.
                if self.seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::custom(
                        "the row has more values than the header has column names",
                    ));
                }
                Ok(None)
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, Self::Error> {
        self.seq.next_element_seed(seed)?.ok_or_else(|| {
            de::Error::custom("the row has fewer values than the header has column names")
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.names.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Row {
        page: String,
        added: i64,
    }

    fn layout(format: ResultFormat, header: bool) -> Layout {
        Layout {
            format,
            header,
            types_header: false,
            sql_types_header: false,
        }
    }

    /// Decodes `body` split into chunks of `size` bytes.
    fn decode<T: DeserializeOwned>(
        layout: Layout,
        body: &[u8],
        size: usize,
    ) -> Result<Vec<T>, RowError> {
        let mut decoder = RowDecoder::new(layout);
        let mut out = VecDeque::new();
        for chunk in body.chunks(size.max(1)) {
            decoder.feed(Bytes::copy_from_slice(chunk), &mut out)?;
        }
        decoder.finish(&mut out)?;
        Ok(out.into())
    }

    fn expected() -> Vec<Row> {
        vec![
            Row {
                page: "Rust".into(),
                added: 10,
            },
            Row {
                page: "Dru\"id, [x]\n".into(),
                added: -32,
            },
        ]
    }

    /// Every format, with and without header, split at every byte.
    #[test]
    fn every_format_decodes_at_every_chunk_boundary() {
        let bodies: Vec<(Layout, String)> = vec![
            (layout(ResultFormat::Object, false), r#"[{"page":"Rust","added":10},{"page":"Dru\"id, [x]\n","added":-32}]"#.to_owned() + "\n"),
            (layout(ResultFormat::Object, true), r#"[{"page":null,"added":null},{"page":"Rust","added":10},{"page":"Dru\"id, [x]\n","added":-32}]"#.to_owned() + "\n"),
            (layout(ResultFormat::Array, true), r#"[["page","added"],["Rust",10],["Dru\"id, [x]\n",-32]]"#.to_owned() + "\n"),
            (layout(ResultFormat::ObjectLines, false), "{\"page\":\"Rust\",\"added\":10}\n{\"page\":\"Dru\\\"id, [x]\\n\",\"added\":-32}\n\n".to_owned()),
            (layout(ResultFormat::ArrayLines, true), "[\"page\",\"added\"]\n[\"Rust\",10]\n[\"Dru\\\"id, [x]\\n\",-32]\n\n".to_owned()),
            (layout(ResultFormat::Csv, true), "page,added\nRust,10\n\"Dru\"\"id, [x]\n\",-32\n\n".to_owned()),
        ];
        for (layout, body) in bodies {
            for size in 1..=body.len() {
                let rows: Vec<Row> = decode(layout.clone(), body.as_bytes(), size)
                    .unwrap_or_else(|e| panic!("{:?} chunks of {size}: {e}", layout.format));
                assert_eq!(rows, expected(), "{:?} chunks of {size}", layout.format);
            }
        }
    }

    #[test]
    fn array_rows_fill_tuples_values_and_maps() {
        let body = b"[\"page\",\"added\"]\n[\"Rust\",10]\n\n";
        let tuples: Vec<(String, i64)> =
            decode(layout(ResultFormat::ArrayLines, true), body, 7).unwrap();
        assert_eq!(tuples, [("Rust".to_owned(), 10)]);
        let values: Vec<Value> = decode(layout(ResultFormat::ArrayLines, true), body, 7).unwrap();
        assert_eq!(values, [serde_json::json!({"page": "Rust", "added": 10})]);
        let no_header: Vec<Vec<Value>> = decode(
            layout(ResultFormat::ArrayLines, false),
            b"[\"Rust\",10]\n\n",
            3,
        )
        .unwrap();
        assert_eq!(no_header, [vec![Value::from("Rust"), Value::from(10)]]);
    }

    #[test]
    fn wide_and_long_csv_records_split_whole() {
        let names: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let long = "x".repeat(5_000);
        let values: Vec<String> = (0..40)
            .map(|i| {
                if i == 3 {
                    format!("\"{long},\"\"q\"\"\"")
                } else {
                    i.to_string()
                }
            })
            .collect();
        let body = format!("{}\n{}\n\n", names.join(","), values.join(","));
        let rows: Vec<Vec<String>> =
            decode(layout(ResultFormat::Csv, true), body.as_bytes(), 97).unwrap();
        assert_eq!(rows[0].len(), 40);
        assert_eq!(rows[0][3], format!("{long},\"q\""));
        assert_eq!(rows[0][39], "39");
    }

    #[test]
    fn the_header_describes_the_columns() {
        let mut decoder = RowDecoder::new(Layout {
            format: ResultFormat::ArrayLines,
            header: true,
            types_header: true,
            sql_types_header: true,
        });
        let mut out: VecDeque<Row> = VecDeque::new();
        decoder
            .feed(
                Bytes::from_static(b"[\"page\",\"added\"]\n[\"STRING\",\"LONG\"]\n[\"VARCHAR\",\"BIGINT\"]\n[\"a\",1]\n\n"),
                &mut out,
            )
            .unwrap();
        decoder.finish(&mut out).unwrap();
        let columns = decoder.columns().unwrap();
        assert_eq!(columns[1].name, "added");
        assert_eq!(columns[1].druid_type.as_deref(), Some("LONG"));
        assert_eq!(columns[1].sql_type.as_deref(), Some("BIGINT"));
        assert_eq!(decoder.rows(), 1);

        let mut decoder = RowDecoder::new(Layout {
            format: ResultFormat::Object,
            header: true,
            types_header: true,
            sql_types_header: true,
        });
        let mut out: VecDeque<Row> = VecDeque::new();
        decoder
            .feed(Bytes::from_static(br#"[{"page":{"type":"STRING","sqlType":"VARCHAR"},"added":{"type":"LONG","sqlType":"BIGINT"}}]"#), &mut out)
            .unwrap();
        decoder.finish(&mut out).unwrap();
        assert_eq!(
            decoder.columns().unwrap()[0].sql_type.as_deref(),
            Some("VARCHAR")
        );
        assert!(out.is_empty());
    }

    #[test]
    fn a_row_without_an_end_is_an_error_not_unbounded_memory() {
        for format in [
            ResultFormat::ArrayLines,
            ResultFormat::Object,
            ResultFormat::Csv,
        ] {
            let mut decoder = RowDecoder::new(layout(format.clone(), false));
            let mut out: VecDeque<Vec<String>> = VecDeque::new();
            let start: &[u8] = if format == ResultFormat::Object {
                b"[[\""
            } else {
                b"[\""
            };
            decoder.feed(Bytes::from_static(start), &mut out).unwrap();
            let piece = Bytes::from(vec![b'x'; 1 << 20]);
            let mut fed = 0;
            let err = loop {
                match decoder.feed(piece.clone(), &mut out) {
                    Ok(()) => fed += 1,
                    Err(e) => break e,
                }
                assert!(
                    fed <= MAX_ROW_BYTES >> 20,
                    "{format:?}: no error after {fed} MiB"
                );
            };
            assert!(err.message.contains("longer than 64 MiB"), "{err}");
            assert!(!err.cut_off);
        }
    }

    #[test]
    fn a_cut_result_is_an_error_not_a_short_answer() {
        let cases: Vec<(ResultFormat, &[u8])> = vec![
            (
                ResultFormat::Object,
                br#"[{"page":"Rust","added":10},{"page":"Dr"#,
            ),
            (ResultFormat::Object, br#"[{"page":"Rust","added":10}"#),
            (ResultFormat::Object, br#"[{"page":"Rust","added":10},"#),
            (
                ResultFormat::ObjectLines,
                b"{\"page\":\"Rust\",\"added\":10}\n",
            ),
            (
                ResultFormat::ObjectLines,
                b"{\"page\":\"Rust\",\"added\":10}\n{\"pa",
            ),
            (ResultFormat::Csv, b"Rust,10\n"),
            (ResultFormat::Object, b""),
        ];
        // The check of a whole answer agrees.
        for (format, body) in cases.iter().cloned() {
            assert!(
                !layout(format.clone(), false).is_complete(&Bytes::copy_from_slice(body)),
                "{format:?}"
            );
        }
        for (format, body) in [
            (ResultFormat::Object, &b"[]\n"[..]),
            (ResultFormat::Array, b" [[1]] \n"),
            (ResultFormat::ArrayLines, b"\n"),
            (ResultFormat::ArrayLines, b"[1]\n\n"),
            (ResultFormat::Csv, b"a\r\n\r\n"),
            (ResultFormat::ObjectLines, b"{\"a\":1}\n\n \n"),
            // A CSV row may be only white space.
            (ResultFormat::Csv, b"#4-3\n\t\t \n\n\t"),
        ] {
            assert!(
                layout(format.clone(), false).is_complete(&Bytes::copy_from_slice(body)),
                "{format:?}"
            );
        }
        for (format, body) in [
            (ResultFormat::Object, &b"[{\"a\":[1]"[..]),
            (ResultFormat::ArrayLines, b""),
        ] {
            assert!(
                !layout(format.clone(), false).is_complete(&Bytes::copy_from_slice(body)),
                "{format:?}"
            );
        }
        assert!(layout(ResultFormat::Object, false).is_complete(&Bytes::from_static(b"[]")));
        for (format, body) in cases {
            for size in [1, 5, 1000] {
                let err = decode::<Row>(layout(format.clone(), false), body, size).unwrap_err();
                assert!(err.cut_off, "{format:?} {size}: {err}");
                assert!(err.message.contains("cut off"), "{err}");
            }
        }
        // An empty result is complete with its end marker.
        assert!(
            decode::<Row>(layout(ResultFormat::Object, false), b"[]\n", 1)
                .unwrap()
                .is_empty()
        );
        assert!(
            decode::<Row>(layout(ResultFormat::ArrayLines, false), b"\n", 1)
                .unwrap()
                .is_empty()
        );
        assert!(
            decode::<Row>(layout(ResultFormat::ArrayLines, false), b"\n\n", 1)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn numbers_cut_at_a_chunk_boundary_are_waited_for() {
        for body in [
            &br#"[{"page":"a","added":-32}]"#[..],
            br#"[{"page":"a","added":1.5e3}]"#,
        ] {
            for size in 1..body.len() {
                #[derive(serde::Deserialize)]
                struct Loose {
                    #[allow(dead_code)]
                    added: f64,
                }
                let rows: Vec<Loose> = decode(layout(ResultFormat::Object, false), body, size)
                    .unwrap_or_else(|e| panic!("chunks of {size}: {e}"));
                assert_eq!(rows.len(), 1);
            }
        }
        // A number that is wrong, not cut, is still an error.
        let err = decode::<Row>(
            layout(ResultFormat::Object, false),
            br#"[{"page":"a","added":-x}]"#,
            100,
        )
        .unwrap_err();
        assert!(!err.cut_off, "{err}");
    }

    /// Found by the `sql_rows` fuzz target: `[33` then `33]` decoded as the
    /// two rows 33 and 33, not as 3333, and rows without a `,` between
    /// them were taken.
    #[test]
    fn a_row_that_is_a_number_cut_at_a_chunk_boundary_is_waited_for() {
        let body = b"[3333,-12.5e1,true,null]\n";
        let whole: Vec<Value> = decode(layout(ResultFormat::Array, false), body, 1000).unwrap();
        assert_eq!(
            whole,
            [json!(3333), json!(-125.0), json!(true), json!(null)]
        );
        for size in 1..body.len() {
            let rows: Vec<Value> = decode(layout(ResultFormat::Array, false), body, size)
                .unwrap_or_else(|e| panic!("chunks of {size}: {e}"));
            assert_eq!(rows, whole, "chunks of {size}");
        }
        // A literal that goes on is wrong however it is cut.
        for size in [1, 2, 3, 4, 5, 100] {
            assert!(decode::<Value>(layout(ResultFormat::Array, false), b"[nullx]", size).is_err());
        }
    }

    /// Found by the `sql_rows` fuzz target: a number of the wrong type cut
    /// at a chunk boundary was an error naming the number's first digits.
    #[test]
    fn a_number_of_the_wrong_type_cut_at_a_chunk_boundary_is_read_whole() {
        let body = b"[[\"a\"],123456789]\n";
        let whole =
            decode::<Vec<Value>>(layout(ResultFormat::Array, false), body, 1000).unwrap_err();
        assert!(whole.message.contains("integer `123456789`"), "{whole}");
        assert!(!whole.cut_off);
        for size in 1..body.len() {
            let err =
                decode::<Vec<Value>>(layout(ResultFormat::Array, false), body, size).unwrap_err();
            assert_eq!(err.message, whole.message, "chunks of {size}");
            assert_eq!(err.row, Some(1));
        }
        // An error at the last byte of a complete result is not a cut.
        for body in [&b"[666]"[..], b"[666]\n", b"[{\"page\":\"a\"}]"] {
            let err = decode::<Row>(layout(ResultFormat::Array, false), body, 1000).unwrap_err();
            assert!(!err.cut_off, "{err}");
        }
    }

    #[test]
    fn rows_of_a_json_array_need_a_comma_between_them() {
        for body in [
            &b"[1 2]"[..],
            b"[[\"a\"][\"b\"]]",
            b"[{\"page\":\"a\",\"added\":1} {\"page\":\"b\",\"added\":2}]",
            b"[1,,2]",
            b"[,1]",
            b"[1,]",
            b"[,]",
        ] {
            for size in [1, 2, 3, 100] {
                let result = decode::<Value>(layout(ResultFormat::Array, false), body, size);
                let err = result.expect_err(std::str::from_utf8(body).unwrap());
                assert!(!err.cut_off, "{err}");
                assert!(serde_json::from_slice::<Vec<Value>>(body).is_err());
            }
        }
        let err = decode::<Value>(layout(ResultFormat::Array, false), b"[1 2]", 100).unwrap_err();
        assert_eq!(err.message, "expected `,` or `]` after row 1");
    }

    /// Found by the `sql_rows` fuzz target: a form feed before the `[` was
    /// taken for white space.
    #[test]
    fn only_json_white_space_surrounds_the_rows() {
        for body in [
            &b"\x0c[1]"[..],
            b"[\x0c1]",
            b"[1\x0c]",
            b"[1]\x0c",
            b"[1]\x0b",
        ] {
            assert!(serde_json::from_slice::<Vec<Value>>(body).is_err());
            for size in [1, 100] {
                let result = decode::<Value>(layout(ResultFormat::Array, false), body, size);
                assert!(result.is_err(), "{body:?} in chunks of {size}: {result:?}");
            }
        }
        let rows: Vec<Value> = decode(
            layout(ResultFormat::Array, false),
            b" \t\r\n[ 1 ,\t2\r\n]\n ",
            1,
        )
        .unwrap();
        assert_eq!(rows, [json!(1), json!(2)]);
    }

    /// Found by the `sql_rows` fuzz target: the bytes shown after the end
    /// of a result began with a space or not, by where a chunk was cut.
    #[test]
    fn bytes_after_the_end_are_shown_from_the_first_one() {
        let j = "j".repeat(63);
        let body = format!("[[\"page\", \"added{j}\"]] , x, [\"Main\"]");
        let body = body.as_bytes();
        // The fuzzer's cuts (a long row, carried over several chunks), and
        // every even cut.
        let mut cuts = vec![vec![1, 5, 29]];
        cuts.extend((1..=body.len()).map(|size| vec![size]));
        for sizes in cuts {
            let mut decoder = RowDecoder::new(layout(ResultFormat::Array, true));
            let mut out: Vec<Value> = Vec::new();
            let (mut at, mut i) = (0, 0);
            let mut result = Ok(());
            while at < body.len() && result.is_ok() {
                let end = (at + sizes[i % sizes.len()]).min(body.len());
                result = decoder.feed(Bytes::copy_from_slice(&body[at..end]), &mut out);
                (at, i) = (end, i + 1);
            }
            let err = result.and_then(|()| decoder.finish(&mut out)).unwrap_err();
            assert_eq!(err.message, "bytes after the end of the result");
            assert_eq!(err.near, b", x, [\"Main\"]", "chunks of {sizes:?}");
        }
    }

    #[test]
    fn rows_that_do_not_fit_name_the_row() {
        let err = decode::<Row>(
            layout(ResultFormat::ObjectLines, false),
            b"{\"page\":\"a\",\"added\":1}\n{\"page\":\"b\",\"added\":\"many\"}\n\n",
            4,
        )
        .unwrap_err();
        assert_eq!(err.row, Some(1));
        assert!(!err.cut_off);
        assert!(err.message.contains("invalid type"), "{err}");
        let err = decode::<Row>(
            layout(ResultFormat::ArrayLines, true),
            b"[\"page\",\"added\"]\n[\"a\"]\n\n",
            100,
        )
        .unwrap_err();
        assert!(err.message.contains("fewer values"), "{err}");
        let err = decode::<Row>(
            layout(ResultFormat::ArrayLines, true),
            b"[\"page\",\"added\"]\n[\"a\",1,2]\n\n",
            100,
        )
        .unwrap_err();
        assert!(err.message.contains("more values"), "{err}");
        let err = decode::<Row>(
            layout(ResultFormat::Object, false),
            b"{\"error\":\"x\"}",
            100,
        )
        .unwrap_err();
        assert!(err.message.contains("does not start with"), "{err}");
    }

    #[test]
    fn a_huge_row_in_tiny_chunks_is_not_decoded_again_and_again() {
        let big = "x".repeat(200_000);
        let body = format!("[{{\"page\":\"{big}\",\"added\":1}}]\n");
        let rows: Vec<Row> =
            decode(layout(ResultFormat::Object, false), body.as_bytes(), 100).unwrap();
        assert_eq!(rows[0].page.len(), 200_000);
    }
}
