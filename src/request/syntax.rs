//! Why a line is not JSON: the finding for a parse error, with the best column available (a NUL
//! byte, a lone surrogate, an integer too large to keep exactly, or simd-json's own position),
//! beside [`super::locate`], which places findings of lines that do parse.

use super::diag::{Code, Finding};
use super::line::PARSE_MAX_DEPTH;

/// Describes why a line did not parse, with the best position available.
pub(super) fn syntax_finding(line: &[u8], err: &simd_json::Error) -> Finding {
    let (code, message) = if let Some(i) = memchr::memchr(0, line) {
        (
            Code::E_NUL_BYTE,
            format!(
                "NUL byte at column {}: JSON text cannot contain raw NUL bytes",
                i + 1
            ),
        )
    } else if let Err(e) = std::str::from_utf8(line) {
        (
            Code::E_INVALID_UTF8,
            format!(
                "invalid UTF-8 at column {}: re-encode the file as UTF-8",
                e.valid_up_to() + 1
            ),
        )
    } else {
        match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
            Err(se) => (
                Code::E_JSON_SYNTAX,
                format!("invalid JSON: {}", strip_position(&se.to_string())),
            ),
            Ok(_) => match (lone_surrogate_at(line), big_integer_at(line)) {
                (None, Some((at, len))) => (
                    Code::E_JSON_SYNTAX,
                    format!(
                        "valid JSON, but the integer {} at column {} is beyond the 64-bit range batchline reads, so the line cannot be checked or sent; write it as a float ({:e}) or a string",
                        String::from_utf8_lossy(&line[at..at + len]),
                        at + 1,
                        std::str::from_utf8(&line[at..at + len])
                            .ok()
                            .and_then(|t| t.parse::<f64>().ok())
                            .unwrap_or(f64::NAN)
                    ),
                ),
                (Some(at), _) => (
                    Code::E_JSON_SYNTAX,
                    format!(
                        "invalid JSON: `{}` at column {} is half of a UTF-16 surrogate pair with no other half, which is not a character; write the character itself, or both halves (`\\ud83d\\ude00`)",
                        String::from_utf8_lossy(&line[at..at + 6]),
                        at + 1
                    ),
                ),
                (None, None) => (
                    Code::E_JSON_SYNTAX,
                    format!(
                        "cannot parse this line ({:?} at byte {}); nesting deeper than {PARSE_MAX_DEPTH} or numbers beyond 64-bit range are not supported",
                        err.error(),
                        err.index()
                    ),
                ),
            },
        }
    };
    Finding {
        code,
        pointer: String::new(),
        key_nth: Vec::new(),
        message,
        at_key: false,
    }
}

/// The byte index of the first `\uXXXX` escape in `line` that is a lone UTF-16 surrogate (a high
/// one not followed by a low one, or a low one alone). serde_json lets these through; simd-json,
/// rightly, does not (they are not characters, and cannot be re-encoded as UTF-8).
fn lone_surrogate_at(line: &[u8]) -> Option<usize> {
    let hex = |at: usize| -> Option<u32> {
        let digits = line.get(at..at + 4)?;
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
    };
    let unit = |at: usize| -> Option<u32> {
        (line.get(at) == Some(&b'\\') && line.get(at + 1) == Some(&b'u'))
            .then(|| hex(at + 2))
            .flatten()
    };
    let mut i = 0;
    while i < line.len() {
        if line[i] != b'\\' {
            i += 1;
            continue;
        }
        match unit(i) {
            Some(0xD800..=0xDBFF) => match unit(i + 6) {
                Some(0xDC00..=0xDFFF) => i += 12,
                _ => return Some(i),
            },
            Some(0xDC00..=0xDFFF) => return Some(i),
            Some(_) => i += 6,
            None => i += 2,
        }
    }
    None
}

/// The first integer literal in `line` (outside strings) beyond `i64`/`u64`, as (byte index,
/// length). JSON allows such numbers; simd-json does not read them.
fn big_integer_at(line: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let mut in_string = false;
    while i < line.len() {
        let b = line[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = line[i..]
                    .iter()
                    .take_while(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .count();
                let token = std::str::from_utf8(&line[i..i + len]).unwrap_or("");
                let integer = !token.contains(['.', 'e', 'E']);
                if integer && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                    return Some((i, len));
                }
                i += len;
            }
            _ => i += 1,
        }
    }
    None
}

/// The byte column (1-based) of a syntax problem in `line`, for [`Code::E_JSON_SYNTAX`],
/// [`Code::E_NUL_BYTE`] and [`Code::E_INVALID_UTF8`].
pub fn syntax_column(line: &[u8]) -> usize {
    if let Some(i) = memchr::memchr(0, line) {
        return i + 1;
    }
    if let Err(e) = std::str::from_utf8(line) {
        return e.valid_up_to() + 1;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        // serde_json counts columns in bytes, 1-based, on a one-line input; it may point into a
        // multi-byte character (after a bad `\u` escape), so step back to the character's start.
        Err(e) => {
            let mut at = e.column().max(1).min(line.len().max(1)) - 1;
            while at > 0 && at < line.len() && (line[at] & 0xC0) == 0x80 {
                at -= 1;
            }
            at + 1
        }
        Ok(_) => lone_surrogate_at(line)
            .or_else(|| big_integer_at(line).map(|(at, _)| at))
            .map_or(1, |at| at + 1),
    }
}

fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) => &msg[..i],
        None => msg,
    }
}
