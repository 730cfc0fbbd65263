//! Whether an SQL statement changes the cluster, for the read-only check
//! and the retry decision of the endpoints whose body is a statement.
//!
//! Druid SQL writes only with `INSERT` and `REPLACE` (an export is an
//! `INSERT INTO EXTERN(...)`); everything else reads. A request may hold
//! `SET key = value;` statements before its query (Druid 31 and later), and
//! `EXPLAIN PLAN FOR` describes a statement without running it. The scan
//! reads each statement's first word outside comments, string literals and
//! quoted identifiers, so `SELECT REPLACE(page, 'a', 'b')` and
//! `-- INSERT` read.

/// Whether any statement of `sql` writes: its first word is `INSERT` or
/// `REPLACE` (`EXPLAIN` statements describe, they do not write).
pub fn statement_writes(sql: &str) -> bool {
    statements(sql)
        .any(|first| first.eq_ignore_ascii_case("insert") || first.eq_ignore_ascii_case("replace"))
}

/// The first word of each statement of `sql` (separated by `;`).
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    let bytes = sql.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() {
            // The first word of this statement, after space and comments.
            at = skip_space_and_comments(bytes, at);
            let start = at;
            while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
                at += 1;
            }
            let first = &sql[start..at];
            // The rest of the statement, to its `;` outside quotes and comments.
            at = end_of_statement(bytes, at);
            if !first.is_empty() {
                return Some(first);
            }
            if at >= bytes.len() {
                return None;
            }
        }
        None
    })
}

fn skip_space_and_comments(bytes: &[u8], mut at: usize) -> usize {
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'(') {
            at += 1;
        }
        match bytes.get(at..at + 2) {
            Some(b"--") => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            Some(b"/*") => at = end_of_block_comment(bytes, at + 2),
            _ => return at,
        }
    }
}

fn end_of_block_comment(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        if bytes.get(at..at + 2) == Some(b"*/") {
            return at + 2;
        }
        at += 1;
    }
    at
}

/// The position after the `;` that ends the statement at `at` (or the end).
fn end_of_statement(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() {
        match bytes[at] {
            b';' => return at + 1,
            quote @ (b'\'' | b'"') => {
                at += 1;
                while at < bytes.len() {
                    if bytes[at] == quote {
                        // A doubled quote is one quote character.
                        if bytes.get(at + 1) == Some(&quote) {
                            at += 2;
                            continue;
                        }
                        break;
                    }
                    at += 1;
                }
                at += 1;
            }
            b'-' if bytes.get(at + 1) == Some(&b'-') => {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            b'/' if bytes.get(at + 1) == Some(&b'*') => at = end_of_block_comment(bytes, at + 2),
            _ => at += 1,
        }
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_replaces_and_exports_write() {
        for sql in [
            "INSERT INTO wiki SELECT * FROM ext PARTITIONED BY DAY",
            "  replace into wiki overwrite all select 1 partitioned by all",
            "-- nightly\nINSERT INTO wiki SELECT 1 PARTITIONED BY ALL",
            "/* a; b */ INSERT INTO EXTERN(s3(bucket => 'b', prefix => 'p')) AS CSV() SELECT 1",
            "SET maxNumTasks = 3; SET finalizeAggregations = FALSE; REPLACE INTO t OVERWRITE ALL SELECT 1",
            "SET sqlTimeZone = 'a;b'; INSERT INTO t SELECT 1 PARTITIONED BY ALL",
            "SELECT 1; INSERT INTO t SELECT 2 PARTITIONED BY ALL",
            "(INSERT INTO t SELECT 1 PARTITIONED BY ALL)",
        ] {
            assert!(statement_writes(sql), "{sql}");
        }
    }

    #[test]
    fn queries_functions_comments_and_explains_read() {
        for sql in [
            "SELECT REPLACE(page, 'a', 'b') FROM wiki",
            "SELECT 'INSERT INTO x' AS text, \"replace\" FROM wiki",
            "-- INSERT INTO wiki\nSELECT 1",
            "/* REPLACE INTO wiki */ SELECT 1",
            "EXPLAIN PLAN FOR INSERT INTO wiki SELECT 1 PARTITIONED BY ALL",
            "SET sqlTimeZone = 'UTC'; SELECT COUNT(*) FROM wiki",
            "WITH t AS (SELECT 1) SELECT * FROM t",
            "SELECT 'it''s; INSERT' FROM wiki",
            "",
            ";;",
            "/* unterminated",
            "SELECT 'unterminated",
        ] {
            assert!(!statement_writes(sql), "{sql}");
        }
    }
}
