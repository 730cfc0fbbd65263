//! The SQL result decoder, every result format and header option, fed in
//! arbitrary chunks: the chunk boundaries must not change the answer.
//!
//! The input: one byte for the format (`object`, `array`, `objectLines`,
//! `arrayLines`, `csv`, or a format this client does not know), one for
//! the header options (bit 0 `header`, bit 1 `typesHeader`, bit 2
//! `sqlTypesHeader`) and the row type (the bits above), one for how many
//! chunk sizes follow, the sizes (a byte each: size - 1, used in turn until
//! the body is fed), then the body.
//!
//! Invariants: no panic; the rows, the error (its row, message and whether
//! the result was cut off; the bytes it shows may stop at a chunk's end),
//! the columns and the row count (the rows decoded) are the same in chunks as in one chunk;
//! for the JSON array formats without a header, the decoder accepts exactly
//! the bodies `serde_json` reads as an array of rows, with the same rows.

#![no_main]

use std::collections::BTreeMap;
use std::fmt::Debug;

use bytes::Bytes;
use druid_api::__fuzz::{Decoded, decode_rows};
use druid_api::models::ResultFormat;
use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;
use serde_json::value::RawValue;

#[derive(Debug, PartialEq, Deserialize)]
struct Row {
    page: String,
    added: i64,
}

#[derive(Debug, PartialEq, Deserialize)]
struct Loose {
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    added: Option<f64>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Strict {
    page: Option<String>,
    added: Option<i64>,
}

#[derive(Debug, PartialEq, Deserialize)]
#[serde(untagged)]
enum Either {
    Row(Row),
    List(Vec<Value>),
    Scalar(Value),
}

/// A raw JSON row, compared by its text.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct Raw(Box<RawValue>);

impl PartialEq for Raw {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

struct Input<'a> {
    format: ResultFormat,
    header: bool,
    types_header: bool,
    sql_types_header: bool,
    row_type: u8,
    sizes: Vec<usize>,
    body: &'a [u8],
}

fn parse(data: &[u8]) -> Option<Input<'_>> {
    let (&format, rest) = data.split_first()?;
    let (&options, rest) = rest.split_first()?;
    let (&count, rest) = rest.split_first()?;
    let count = usize::from(count % 8).min(rest.len());
    let (sizes, body) = rest.split_at(count);
    Some(Input {
        format: match format % 6 {
            0 => ResultFormat::Object,
            1 => ResultFormat::Array,
            2 => ResultFormat::ObjectLines,
            3 => ResultFormat::ArrayLines,
            4 => ResultFormat::Csv,
            _ => ResultFormat::Other("xml".to_owned()),
        },
        header: options & 1 != 0,
        types_header: options & 2 != 0,
        sql_types_header: options & 4 != 0,
        row_type: options >> 3,
        sizes: sizes.iter().map(|&s| usize::from(s) + 1).collect(),
        body,
    })
}

/// The body cut at the sizes, each used in turn.
fn chunks(body: &[u8], sizes: &[usize]) -> Vec<Bytes> {
    if sizes.is_empty() {
        return vec![Bytes::copy_from_slice(body)];
    }
    let mut out = Vec::new();
    let mut at = 0;
    for size in sizes.iter().cycle() {
        if at >= body.len() {
            break;
        }
        let end = (at + size).min(body.len());
        out.push(Bytes::copy_from_slice(&body[at..end]));
        at = end;
    }
    out
}

fn check<T: DeserializeOwned + PartialEq + Debug>(input: &Input<'_>) {
    let decode = |chunks: Vec<Bytes>| -> Decoded<T> {
        decode_rows(
            input.format.clone(),
            input.header,
            input.types_header,
            input.sql_types_header,
            chunks,
        )
    };
    let whole = decode(vec![Bytes::copy_from_slice(input.body)]);
    let split = decode(chunks(input.body, &input.sizes));
    assert_eq!(split.rows, whole.rows, "the rows depend on the chunks");
    assert_eq!(
        split.columns, whole.columns,
        "the columns depend on the chunks"
    );
    assert_eq!(
        split.count, whole.count,
        "the row count depends on the chunks"
    );
    match (&split.error, &whole.error) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            assert_eq!(
                (a.row, &a.message, a.cut_off),
                (b.row, &b.message, b.cut_off),
                "the error depends on the chunks"
            );
            assert!(
                a.near.starts_with(&b.near) || b.near.starts_with(&a.near),
                "the bytes near the error differ: {:?} / {:?}",
                String::from_utf8_lossy(&a.near),
                String::from_utf8_lossy(&b.near)
            );
        }
        (a, b) => panic!("an error in chunks: {a:?}; in one chunk: {b:?}"),
    }
    assert_eq!(
        whole.count,
        whole.rows.len() as u64,
        "the row count is not the rows decoded"
    );

    // The JSON array formats read what serde_json reads, no more, no less.
    let plain_json = matches!(input.format, ResultFormat::Object | ResultFormat::Array);
    if plain_json && !input.header {
        match serde_json::from_slice::<Vec<T>>(input.body) {
            Ok(rows) => {
                assert_eq!(
                    whole.error, None,
                    "serde_json reads the body, the decoder fails"
                );
                assert_eq!(
                    whole.rows, rows,
                    "the decoder reads other rows than serde_json"
                );
            }
            Err(e) => assert!(
                whole.error.is_some(),
                "the decoder accepts a body serde_json rejects: {e}"
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = parse(data) else { return };
    match input.row_type % 11 {
        0 => check::<Value>(&input),
        1 => check::<(String, i64)>(&input),
        2 => check::<Row>(&input),
        3 => check::<Loose>(&input),
        4 => check::<Vec<Value>>(&input),
        5 => check::<BTreeMap<String, Value>>(&input),
        6 => check::<String>(&input),
        7 => check::<Raw>(&input),
        8 => check::<Either>(&input),
        9 => check::<IgnoredAny>(&input),
        _ => check::<Strict>(&input),
    }
});
