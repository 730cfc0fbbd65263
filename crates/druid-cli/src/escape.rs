//! Text from the network made safe for a terminal.
//!
//! A cell, a column name, an error message or a log line comes from Druid
//! (or whatever answers in its place), and a terminal acts on the control
//! characters in it: an escape sequence can move the cursor, rewrite what
//! was printed, retitle the window or set the clipboard (OSC 52). Every
//! control character is shown instead, visibly: `\x1b` for C0 controls and
//! DEL, `\u{9b}` for C1 controls (terminals read U+009B as CSI) and the
//! bidirectional overrides that reorder what is displayed.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character acts on a terminal or on the order of the text.
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Escapes `c` as a visible sequence into `out`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// One line of text: every control character escaped, line breaks and tabs
/// included.
pub(crate) fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// Text of several lines: line breaks and tabs kept, every other control
/// character escaped.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    escape(text, |c| matches!(c, '\n' | '\t'))
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_control(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text (as `serde_json` writes it) with the control characters it
/// leaves raw (DEL, C1, bidirectional overrides) written as `\u` escapes:
/// still valid JSON, the same values, nothing a terminal acts on.
pub(crate) fn json(text: &str) -> Cow<'_, str> {
    let raw = |c: char| is_control(c) && !matches!(c, '\n' | '\t');
    if !text.chars().any(raw) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if raw(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Bytes that arrive in pieces (a task log), as text for a terminal:
/// UTF-8 decoded across piece boundaries, bytes that are not UTF-8 shown
/// as `\xNN`, control characters escaped but line breaks and tabs.
#[derive(Debug, Default)]
pub(crate) struct Bytes {
    /// The start of a character a piece boundary cut (at most 3 bytes).
    carry: Vec<u8>,
}

impl Bytes {
    /// The text of `piece`, after what was carried.
    pub(crate) fn push(&mut self, piece: &[u8]) -> String {
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(piece);
        let mut out = String::with_capacity(data.len());
        let mut rest = &data[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.push_str(&text(valid));
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // The prefix is valid UTF-8 by the error's word.
                    out.push_str(&text(std::str::from_utf8(valid).unwrap_or_default()));
                    match e.error_len() {
                        Some(bad) => {
                            for byte in &after[..bad] {
                                let _ = write!(out, "\\x{byte:02x}");
                            }
                            rest = &after[bad..];
                        }
                        None => {
                            // A character cut at the end: wait for the rest.
                            self.carry = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// What is left at the end: a cut character, shown byte by byte.
    pub(crate) fn finish(&mut self) -> String {
        std::mem::take(&mut self.carry)
            .iter()
            .fold(String::new(), |mut out, byte| {
                let _ = write!(out, "\\x{byte:02x}");
                out
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_acted_on() {
        // Retitle the window, write the clipboard (OSC 52), move the cursor.
        let hostile = "a\x1b]0;owned\x07b\x1b]52;c;ZXZpbA==\x07c\x1b[2Jd\u{9b}31me\u{202e}f\x7f";
        assert_eq!(
            line(hostile),
            "a\\x1b]0;owned\\x07b\\x1b]52;c;ZXZpbA==\\x07c\\x1b[2Jd\\u{9b}31me\\u{202e}f\\x7f"
        );
        assert_eq!(line("a\nb\tc\r"), "a\\nb\\tc\\r");
        assert_eq!(text("a\nb\tc\r\x1b"), "a\nb\tc\\r\\x1b");
        assert!(matches!(line("plain Köln 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json_with_the_same_values() {
        let value = serde_json::json!({"k": "a\u{9b}b\u{202e}c\x7f\x1b"});
        let written = serde_json::to_string(&value).unwrap_or_default();
        let safe = json(&written);
        assert!(!safe.chars().any(is_control), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap_or_default();
        assert_eq!(back, value);
    }

    #[test]
    fn bytes_decode_across_pieces_and_show_what_is_not_utf8() {
        let mut bytes = Bytes::default();
        let text = "Köln\x1b[31m日本\n".as_bytes();
        let mut out = String::new();
        for piece in text.chunks(1) {
            out.push_str(&bytes.push(piece));
        }
        out.push_str(&bytes.finish());
        assert_eq!(out, "Köln\\x1b[31m日本\n");
        let mut bytes = Bytes::default();
        assert_eq!(bytes.push(b"a\xffb\xe6"), "a\\xffb");
        assert_eq!(bytes.finish(), "\\xe6");
    }
}
