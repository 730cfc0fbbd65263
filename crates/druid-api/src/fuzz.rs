//! Entry points for the fuzz targets in `tests/fuzz/`: not part of the API,
//! hidden from the docs, with no stability promise.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::models::ResultFormat;
use crate::rows::{Layout, RowDecoder};
use crate::sql::Column;

/// What the SQL result decoder made of a result fed in chunks.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The rows decoded, up to the error if there was one.
    pub rows: Vec<T>,
    /// Why decoding stopped, if it did before the end of a complete result.
    pub error: Option<RowFailure>,
    /// The columns the header rows describe, if they were read.
    pub columns: Option<Vec<Column>>,
    /// The data rows the decoder counted.
    pub count: u64,
}

/// A decoder error, as the decoder reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFailure {
    /// The data row, or `None` for the framing.
    pub row: Option<u64>,
    /// What went wrong.
    pub message: String,
    /// The bytes around it.
    pub near: Vec<u8>,
    /// Whether the result was cut off.
    pub cut_off: bool,
}

/// Decodes a result of `format` (with these header options, as the query
/// asked for them) fed to the decoder in `chunks`, then ends it: what the
/// streaming and collecting paths do with the chunks of an answer.
pub fn decode_rows<T: DeserializeOwned>(
    format: ResultFormat,
    header: bool,
    types_header: bool,
    sql_types_header: bool,
    chunks: impl IntoIterator<Item = Bytes>,
) -> Decoded<T> {
    let mut decoder = RowDecoder::new(Layout {
        format,
        header,
        types_header,
        sql_types_header,
    });
    let mut rows = Vec::new();
    let mut result = Ok(());
    for chunk in chunks {
        result = decoder.feed(chunk, &mut rows);
        if result.is_err() {
            break;
        }
    }
    if result.is_ok() {
        result = decoder.finish(&mut rows);
    }
    Decoded {
        rows,
        error: result.err().map(|e| RowFailure {
            row: e.row,
            message: e.message,
            near: e.near,
            cut_off: e.cut_off,
        }),
        columns: decoder.columns().map(<[Column]>::to_vec),
        count: decoder.rows(),
    }
}

/// The progress an MSQ controller's live report shows while
/// `OverlordClient::wait_for_task_with` waits for it (`stages 1/2 done, 12
/// rows read`), or `None` when `reports` is not an MSQ report: what the
/// wait makes of the reports it reads.
pub fn msq_progress(reports: &serde_json::Value) -> Option<String> {
    crate::wait::msq_progress(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_in_chunks() {
        let body = b"[\"a\",\"b\"]\n[1,2]\n\n";
        let decoded = decode_rows::<serde_json::Value>(
            ResultFormat::ArrayLines,
            true,
            false,
            false,
            body.chunks(3).map(Bytes::copy_from_slice),
        );
        assert_eq!(decoded.error, None);
        assert_eq!(decoded.rows, [serde_json::json!({"a": 1, "b": 2})]);
        assert_eq!(decoded.count, 1);
        assert_eq!(decoded.columns.map(|c| c.len()), Some(2));
    }

    #[test]
    fn reads_msq_progress() {
        let report = serde_json::json!({"multiStageQuery": {"payload": {
            "stages": [{"phase": "FINISHED"}, {"phase": "READING_INPUT"}],
            "counters": {"0": {"0": {"output": {"rows": [3, 4]}}}}
        }}});
        assert_eq!(
            msq_progress(&report).as_deref(),
            Some("stages 1/2 done, 7 rows read")
        );
        assert_eq!(msq_progress(&serde_json::json!([])), None);
    }
}
