//! JSON writing helpers, line styles and per-request spelling of the corpus generator.

use std::hash::{DefaultHasher, Hasher};

// ---------------------------------------------------------------------------------------------
// JSON helpers

/// Appends `s` JSON-escaped (without quotes), as serde_json does: `"`, `\`, and control
/// characters are escaped; everything else is copied.
pub(super) fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
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
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
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
}

pub(super) fn escaped(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// Appends `"key":`.
pub(super) fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends `"key":"value"` for a value that needs no escaping.
pub(super) fn key_str(out: &mut Vec<u8>, k: &str, v: &str) {
    key(out, k);
    out.push(b'"');
    out.extend_from_slice(v.as_bytes());
    out.push(b'"');
}

/// Copies compact JSON, adding a space after every `,` and `:` outside strings (Python's
/// `json.dumps` default separators).
pub(super) fn add_spaces(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(src.len() + src.len() / 16);
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        match b {
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &src[i..]) {
                        Some(offset) if src[i + offset] == b'\\' => i += offset + 2,
                        Some(offset) => {
                            i += offset + 1;
                            break;
                        }
                        None => {
                            i = src.len();
                            break;
                        }
                    }
                }
                out.extend_from_slice(&src[start..i.min(src.len())]);
            }
            b',' | b':' => {
                out.push(b);
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Copies JSON, writing every non-ASCII character as `\uXXXX` (a surrogate pair above U+FFFF),
/// as Python's `json.dumps(ensure_ascii=True)` does. Non-ASCII bytes occur only inside strings.
pub(super) fn ascii_escape(src: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let text = std::str::from_utf8(src).expect("generated JSON is UTF-8");
    out.reserve(src.len() + src.len() / 8);
    let mut start = 0;
    while let Some(offset) = src[start..].iter().position(|b| !b.is_ascii()) {
        let at = start + offset;
        out.extend_from_slice(&src[start..at]);
        let ch = text[at..].chars().next().expect("char boundary");
        let mut units = [0u16; 2];
        for unit in ch.encode_utf16(&mut units) {
            out.extend_from_slice(b"\\u");
            for shift in [12, 8, 4, 0] {
                out.push(HEX[((*unit >> shift) & 15) as usize]);
            }
        }
        start = at + ch.len_utf8();
    }
    out.extend_from_slice(&src[start..]);
}

/// How a line's bytes are laid out; the request is the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Style {
    /// `{"a": 1, "b": 2}` instead of `{"a":1,"b":2}`.
    pub(super) spaced: bool,
    /// Non-ASCII written as `\u00e9`.
    pub(super) ascii: bool,
}

pub(super) const PLAIN: Style = Style {
    spaced: false,
    ascii: false,
};

pub(super) fn apply_style(src: &[u8], style: Style, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    out.clear();
    match (style.spaced, style.ascii) {
        (false, false) => out.extend_from_slice(src),
        (true, false) => add_spaces(src, out),
        (false, true) => ascii_escape(src, out),
        (true, true) => {
            scratch.clear();
            add_spaces(src, scratch);
            ascii_escape(scratch, out);
        }
    }
}

pub(super) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

/// Field-name spelling of one request: snake_case or camelCase, chosen per part of the request
/// (Google's own examples mix them).
#[derive(Debug, Clone, Copy)]
pub(super) struct Spelling {
    /// `systemInstruction`, `generationConfig`, `safetySettings`, `functionDeclarations`.
    pub(super) top: bool,
    /// Members of `generationConfig`.
    pub(super) config: bool,
    /// `fileData` and its members.
    pub(super) part: bool,
}

pub(super) fn name(snake: bool, camel: &'static str, snake_name: &'static str) -> &'static str {
    if snake {
        snake_name
    } else {
        camel
    }
}

/// What a request asks for; decides whether it gets a response schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Task {
    Classify,
    Extract,
    Summarize,
    Chat,
    Answer,
}
