//! Findings: the stable codes, their severity and scope, and the [`Diagnostic`] record.
//!
//! A finding is data, not an error: the scan always completes and the report decides the exit
//! status. Codes are stable strings (`E_*` errors, `W_*` warnings) that fixtures, snapshots and
//! users' CI filters carry; never rename one.

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Vertex would reject the row or the job: never sent.
    Error,
    /// Vertex may accept it, but something is off or unconfirmed.
    Warning,
}

/// What a finding would fail: one row, or the whole job (the file) at import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Only this line's request.
    Row,
    /// The whole batch job built from this file.
    Job,
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($sev:ident, $scope:ident, $title:literal) ),* $(,)?) => {
        /// A stable finding code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(non_camel_case_types)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }
        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];
            /// The stable string, e.g. `E_JSON_SYNTAX`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => stringify!($variant),)* }
            }
            /// Default severity.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }
            /// What the finding would fail.
            pub fn scope(self) -> Scope {
                match self { $(Code::$variant => Scope::$scope,)* }
            }
            /// A short title for annotations.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
            /// Parses the stable string back.
            pub fn from_str_code(s: &str) -> Option<Code> {
                match s { $(stringify!($variant) => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    // ---- the line as JSON ----
    /// The line is not valid JSON.
    E_JSON_SYNTAX = (Error, Row, "invalid JSON"),
    /// The line is not valid UTF-8.
    E_INVALID_UTF8 = (Error, Row, "invalid UTF-8"),
    /// The line contains a NUL byte.
    E_NUL_BYTE = (Error, Row, "NUL byte"),
    /// The whole file is one JSON array, not JSON Lines.
    E_JSON_ARRAY_FILE = (Error, Job, "JSON array, not JSONL"),
    /// The line is valid JSON but not an object.
    E_NOT_OBJECT = (Error, Row, "line is not an object"),
    /// The line has no `request` member.
    E_MISSING_REQUEST = (Error, Row, "missing request"),
    /// A blank line: skipped, never sent.
    W_BLANK_LINE = (Warning, Row, "blank line"),
    /// The file starts with a UTF-8 byte order mark.
    W_BOM = (Warning, Job, "byte order mark"),
    /// An object has the same field twice, with the same value.
    W_DUPLICATE_KEY = (Warning, Row, "duplicate key"),
    /// A top-level member beside `request` holds a string that looks like a number.
    W_NUMERIC_STRING_KEY = (Warning, Row, "numeric-looking key"),

    // ---- the generated schema ----
    /// A field that is not in the schema.
    E_UNKNOWN_FIELD = (Error, Row, "unknown field"),
    /// A field that is not in the schema, set to `null`: read as unset, and seen accepted.
    W_UNKNOWN_FIELD_NULL = (Warning, Row, "unknown field set to null"),
    /// A field that exists only in the v1beta1 API.
    W_BETA_FIELD = (Warning, Row, "v1beta1-only field"),
    /// A field that Google's SDK sends but the REST schema does not have.
    W_SDK_FIELD = (Warning, Row, "SDK-only field"),
    /// The value has the wrong JSON type.
    E_TYPE = (Error, Row, "wrong type"),
    /// A repeated field given as a single value (accepted by Vertex in practice).
    W_SINGLE_FOR_REPEATED = (Warning, Row, "single value for a list"),
    /// The same field is given twice where only one can be used: in both spellings, twice with
    /// different values, or `request` twice on one line.
    E_DUPLICATE_FIELD = (Error, Row, "field given twice"),
    /// The value is not one of the enum's values.
    E_ENUM = (Error, Row, "invalid enum value"),
    /// An enum value in the wrong letter case (accepted where Vertex was seen to accept it).
    W_ENUM_CASE = (Warning, Row, "enum value case"),
    /// A deprecated enum value.
    W_DEPRECATED_VALUE = (Warning, Row, "deprecated enum value"),
    /// A deprecated field.
    W_DEPRECATED_FIELD = (Warning, Row, "deprecated field"),
    /// A required field is missing.
    E_REQUIRED = (Error, Row, "missing required field"),
    /// Not an integer, or out of the type's range.
    E_INTEGER = (Error, Row, "invalid integer"),
    /// Not valid base64.
    E_BASE64 = (Error, Row, "invalid base64"),
    /// Not a valid protobuf duration string.
    E_DURATION = (Error, Row, "invalid duration"),
    /// Not a valid RFC 3339 timestamp.
    E_TIMESTAMP = (Error, Row, "invalid timestamp"),

    // ---- rules the schema states only in prose ----
    /// A number outside its documented range.
    E_RANGE = (Error, Row, "out of range"),
    /// A rule stated somewhere but not confirmed for Vertex batch (a limit documented only for the
    /// Gemini Developer API or an old SDK, a combination reported to fail online, …).
    W_UNCONFIRMED_LIMIT = (Warning, Row, "limit not confirmed for Vertex"),
    /// Two fields that must not be set together.
    E_EXCLUSIVE = (Error, Row, "mutually exclusive fields"),
    /// A field that needs another one.
    E_COMPANION = (Error, Row, "missing companion field"),
    /// A part without exactly one data field.
    E_PART_DATA = (Error, Row, "part data"),
    /// `contents` is empty.
    E_EMPTY_CONTENTS = (Error, Row, "empty contents"),
    /// A content has no parts.
    E_EMPTY_PARTS = (Error, Row, "empty parts"),
    /// A role other than `user` or `model`.
    E_ROLE = (Error, Row, "invalid role"),
    /// An invalid or unsupported MIME type.
    E_MIME_TYPE = (Error, Row, "invalid MIME type"),
    /// A file URI that Vertex cannot read.
    E_FILE_URI = (Error, Row, "invalid file URI"),
    /// A function name that breaks the documented pattern.
    E_FUNCTION_NAME = (Error, Row, "invalid function name"),
    /// A label key or value that breaks the label rules.
    E_LABEL = (Error, Row, "invalid label"),
    /// `defs` below the root of a schema.
    E_DEFS_NOT_ROOT = (Error, Row, "defs not at schema root"),
    /// Explicit caching (`cachedContent`) fails in batch.
    E_CACHED_CONTENT = (Error, Row, "explicit cache in batch"),
    /// An empty string where a value is needed.
    E_EMPTY_VALUE = (Error, Row, "empty value"),

    // ---- whole-job checks (Vertex imports the file like a BigQuery table) ----
    /// A key path whose JSON type differs between lines or array elements.
    E_JOB_TYPE_CONFLICT = (Error, Job, "type differs across rows"),
    /// A key path that is an array in one place and not in another.
    E_JOB_REPEATED_CONFLICT = (Error, Job, "array and non-array"),
    /// An object key that is not a valid column name.
    E_JOB_COLUMN_NAME = (Error, Job, "invalid column name"),
    /// Two keys of one object (or of one column path, across lines) that differ only in letter
    /// case: the import's column names ignore case.
    E_JOB_COLUMN_CASE = (Error, Job, "column names differ only in case"),
    /// Objects nested deeper than the import allows.
    E_JOB_DEPTH = (Error, Job, "nested too deep"),
    /// An empty object.
    E_JOB_EMPTY_OBJECT = (Error, Job, "empty object"),
    /// A `null` value.
    W_JOB_NULL = (Warning, Job, "null value"),
    /// A key that classic column naming rejects but flexible naming may take.
    W_JOB_COLUMN_NAME = (Warning, Job, "unusual column name"),
    /// An array directly inside an array.
    W_JOB_NESTED_ARRAY = (Warning, Job, "array of arrays"),

    // ---- batch limits ----
    /// More requests in one file than one job takes.
    W_FILE_REQUESTS = (Warning, Job, "too many requests for one job"),
    /// A file larger than one job takes.
    W_FILE_BYTES = (Warning, Job, "file too large for one job"),
    /// One request larger than the documented request size.
    W_REQUEST_BYTES = (Warning, Row, "request too large"),
    /// The estimated prompt tokens exceed the model's context window.
    E_CONTEXT_WINDOW = (Error, Row, "context window exceeded"),
    /// The estimated prompt tokens may exceed the model's context window.
    W_CONTEXT_WINDOW = (Warning, Row, "context window may be exceeded"),
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A finding found inside one line, before it is placed in the file.
///
/// Produced by the schema walk and the rules; the reader turns it into a [`Diagnostic`] by adding
/// file, line and byte position (the byte position is found by locating `pointer` in the raw line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// RFC 6901 JSON pointer from the line's root, e.g. `/request/contents/0/parts/1/text`.
    pub pointer: String,
    /// Which occurrence of its key each step of `pointer` means, for objects that repeat a key
    /// (which a pointer cannot tell apart): entry `n` is for the `n`-th token, 0 = the first
    /// member with that key, missing entries are 0. Empty (no allocation) unless the finding sits
    /// under a repeated key's second or later member. See [`super::locate::locate_nth`].
    pub key_nth: Vec<u32>,
    /// One line saying what is wrong and what to do.
    pub message: String,
    /// Point at the key rather than at the value (for unknown or misplaced fields).
    pub at_key: bool,
}

/// A placed finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The input file as given on the command line (`-` for stdin).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
    /// 1-based column in bytes within the line.
    pub column: u64,
    /// 0-based byte offset of that position in the file.
    pub byte: u64,
    /// RFC 6901 JSON pointer (empty for the whole line).
    pub pointer: String,
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// Row or whole job.
    pub scope: Scope,
    /// What is wrong and what to do.
    pub message: String,
    /// For whole-job conflicts: the other line involved (1-based), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_line: Option<u64>,
    /// For whole-job conflicts: the pointer at the other line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_pointer: Option<String>,
    /// For whole-job findings reported once: how many lines share it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<u64>,
}

/// Appends RFC 6901 escaping of `token` (`~` → `~0`, `/` → `~1`) to `out`.
pub fn push_pointer_token(out: &mut String, token: &str) {
    out.push('/');
    // Both are ASCII, so a byte scan finds exactly the characters a `char` scan would.
    if !token.bytes().any(|b| b == b'~' || b == b'/') {
        out.push_str(token);
        return;
    }
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_prefix_matches_severity() {
        for &code in Code::ALL {
            assert_eq!(Code::from_str_code(code.as_str()), Some(code));
            let prefix = if code.severity() == Severity::Error {
                "E_"
            } else {
                "W_"
            };
            assert!(code.as_str().starts_with(prefix), "{code}");
        }
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        let mut s = String::new();
        push_pointer_token(&mut s, "a/b~c");
        push_pointer_token(&mut s, "plain");
        assert_eq!(s, "/a~1b~0c/plain");
    }
}
