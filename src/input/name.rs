//! An input as the user named it. Paths are bytes: a local file whose name is not UTF-8 is still
//! an input, so the name is kept as the operating system gave it (an `OsString`), beside the form
//! shown in messages, reports and the manifest.
//!
//! The shown form of a UTF-8 name is the name itself (`-`, a path, or a URL). A name that is not
//! UTF-8 is always a local path (URLs are text), shown with each byte that is not part of valid
//! UTF-8 written as `\xNN` (`caf\xE9.jsonl`), which tells two such names apart and can be pasted
//! into a shell's `$'…'` quoting. The manifest records the raw bytes of such a name (hex), so
//! `collect` opens the same file again.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::Path;

use crate::error::Result;
use crate::store::Location;

/// An input name: stdin (`-`), a local path (any bytes), or a URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InputName {
    raw: OsString,
    shown: String,
    utf8: bool,
}

impl InputName {
    /// The name as given (from an argument, a path, or a string).
    pub fn new(raw: impl Into<OsString>) -> InputName {
        let raw = raw.into();
        let (shown, utf8) = match raw.to_str() {
            Some(s) => (s.to_string(), true),
            None => (escape(raw.as_encoded_bytes()), false),
        };
        InputName { raw, shown, utf8 }
    }

    /// The name from its recorded forms: `bytes_hex` (the raw bytes of a name that is not
    /// UTF-8, as [`InputName::raw_hex`] wrote them) when present and readable here, else `shown`.
    pub fn from_record(shown: &str, bytes_hex: Option<&str>) -> InputName {
        match bytes_hex.and_then(unhex).and_then(os_string_from_bytes) {
            Some(raw) => InputName::new(raw),
            None => InputName::new(shown),
        }
    }

    /// The shown form (see the module doc).
    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// The name as a local path (meaningful for local inputs).
    pub fn path(&self) -> &Path {
        Path::new(&self.raw)
    }

    /// The name as the operating system gave it.
    pub fn as_os_str(&self) -> &OsStr {
        &self.raw
    }

    /// True for `-` (stdin).
    pub fn is_stdin(&self) -> bool {
        self.raw == "-"
    }

    /// True when the name is UTF-8 (so it may be a URL); false for a local path that is not.
    pub fn is_utf8(&self) -> bool {
        self.utf8
    }

    /// The raw bytes in lower-case hex, for a name that is not UTF-8 (`None` for a UTF-8 name,
    /// whose shown form is the name).
    pub fn raw_hex(&self) -> Option<String> {
        (!self.utf8).then(|| {
            self.raw
                .as_encoded_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        })
    }

    /// Where the input is: a name that is not UTF-8 is a local path; a UTF-8 one is parsed
    /// ([`Location::parse`]: a path, `file://`, or a URL).
    pub fn location(&self) -> Result<Location> {
        if self.utf8 {
            Location::parse(&self.shown)
        } else {
            Ok(Location::local(self.path()))
        }
    }
}

impl std::ops::Deref for InputName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.shown
    }
}

impl fmt::Display for InputName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Serialised as its shown form (reports, invalid lists).
impl serde::Serialize for InputName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.shown)
    }
}

impl PartialEq<str> for InputName {
    fn eq(&self, other: &str) -> bool {
        self.utf8 && self.shown == other
    }
}

impl PartialEq<&str> for InputName {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

impl From<&str> for InputName {
    fn from(s: &str) -> InputName {
        InputName::new(s)
    }
}

impl From<String> for InputName {
    fn from(s: String) -> InputName {
        InputName::new(s)
    }
}

impl From<&Path> for InputName {
    fn from(p: &Path) -> InputName {
        InputName::new(p.as_os_str())
    }
}

impl From<std::path::PathBuf> for InputName {
    fn from(p: std::path::PathBuf) -> InputName {
        InputName::new(p.into_os_string())
    }
}

impl From<OsString> for InputName {
    fn from(s: OsString) -> InputName {
        InputName::new(s)
    }
}

/// `bytes` with every byte outside valid UTF-8 written `\xNN`.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    out
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(unix)]
fn os_string_from_bytes(bytes: Vec<u8>) -> Option<OsString> {
    use std::os::unix::ffi::OsStringExt;
    Some(OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn os_string_from_bytes(bytes: Vec<u8>) -> Option<OsString> {
    String::from_utf8(bytes).ok().map(OsString::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_names_show_as_written() {
        let n = InputName::new("gs://b/in.jsonl");
        assert_eq!(n.as_str(), "gs://b/in.jsonl");
        assert!(n.is_utf8());
        assert_eq!(n.raw_hex(), None);
        assert!(InputName::new("-").is_stdin());
        assert!(InputName::new("-") == "-");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_paths_shown_escaped_and_recorded_exactly() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"dir/caf\xe9 \xff\xfe.jsonl");
        let n = InputName::new(raw);
        assert!(!n.is_utf8());
        assert_eq!(n.as_str(), r"dir/caf\xE9 \xFF\xFE.jsonl");
        assert_eq!(n.path().as_os_str(), raw);
        assert!(n != *r"dir/caf\xE9 \xFF\xFE.jsonl");
        assert_eq!(
            n.location().unwrap(),
            Location::local(Path::new(raw).to_path_buf())
        );
        let hex = n.raw_hex().unwrap();
        assert_eq!(hex, "6469722f636166e920fffe2e6a736f6e6c");
        assert_eq!(InputName::from_record(n.as_str(), Some(&hex)), n);
        // A damaged record falls back to the shown form.
        assert_eq!(
            InputName::from_record("x.jsonl", Some("zz")),
            InputName::new("x.jsonl")
        );
        assert_eq!(
            InputName::from_record("x.jsonl", Some("abc")),
            InputName::new("x.jsonl")
        );
    }
}
