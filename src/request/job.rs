//! Whole-job checks: what fails an entire batch job at import, before any row runs.
//!
//! Vertex imports the input file like a BigQuery table: one column per key path (array indexes
//! ignored), one type per column. The walk records, per key path, which JSON kinds were seen, whether
//! it was an array, and local problems (empty objects, bad column names, nesting, nulls), with the
//! first line of each. Chunks fill their own [`JobStats`]; [`JobStats::merge`] folds them in input
//! order (per file in `validate`, per shard in `prepare`), and [`JobStats::findings`] turns conflicts
//! into one finding per path. See `docs/job-checks.md` for the sources.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::diag::Code;

/// Kind bits of a key path.
pub mod kind {
    /// A string value.
    pub const STRING: u8 = 1;
    /// A number (integer and float are one column type).
    pub const NUMBER: u8 = 2;
    /// A boolean.
    pub const BOOL: u8 = 4;
    /// An object.
    pub const OBJECT: u8 = 8;
    /// The path held an array.
    pub const ARRAY: u8 = 16;
    /// The path held a single (non-array) value.
    pub const SINGLE: u8 = 32;
    /// Names of the bits, in order.
    pub const NAMES: [&str; 6] = [
        "string",
        "number",
        "boolean",
        "object",
        "array",
        "non-array",
    ];
}

/// Local problem flags of a key path.
pub mod flag {
    /// An empty object `{}`.
    pub const EMPTY_OBJECT: u8 = 1;
    /// The key is not a valid column name (error).
    pub const BAD_COLUMN: u8 = 2;
    /// The key is an unusual column name that may fail (warning).
    pub const ODD_COLUMN: u8 = 4;
    /// An object nested deeper than [`super::MAX_DEPTH`].
    pub const TOO_DEEP: u8 = 8;
    /// A `null` value.
    pub const NULL: u8 = 16;
    /// An array directly inside an array.
    pub const NESTED_ARRAY: u8 = 32;
    /// A field the schema marks deprecated (a row warning, reported once per path).
    pub const DEPRECATED: u8 = 64;
    /// Bits and their codes.
    pub const CODES: [(u8, super::Code); 7] = [
        (EMPTY_OBJECT, super::Code::E_JOB_EMPTY_OBJECT),
        (BAD_COLUMN, super::Code::E_JOB_COLUMN_NAME),
        (ODD_COLUMN, super::Code::W_JOB_COLUMN_NAME),
        (TOO_DEEP, super::Code::E_JOB_DEPTH),
        (NULL, super::Code::W_JOB_NULL),
        (NESTED_ARRAY, super::Code::W_JOB_NESTED_ARRAY),
        (DEPRECATED, super::Code::W_DEPRECATED_FIELD),
    ];
}

/// Deepest object nesting the import takes (BigQuery's limit on nested records); the line's own
/// object is level 0, `request` level 1.
pub const MAX_DEPTH: usize = 15;

/// Where something was first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// 0-based line index within the file (chunk-local until fixed up).
    pub line: u64,
    /// Byte offset of the line's start in the file.
    pub line_offset: u64,
    /// How many object members the walk had entered on the line when it got here: orders two
    /// places of one line as the document does.
    pub order: u64,
    /// Concrete pointer with array indexes.
    pub pointer: String,
    /// Which occurrence of a repeated key each pointer step means (see
    /// [`Finding::key_nth`](super::diag::Finding::key_nth)); empty on lines without repeats.
    pub key_nth: Vec<u32>,
    /// Point at the key, not the value.
    pub at_key: bool,
}

/// What one key path looked like.
#[derive(Debug, Clone, Default)]
pub struct PathStat {
    /// The column path: the pointer with array indexes dropped.
    pub column: String,
    /// Kind bits seen.
    pub kinds: u8,
    /// First occurrence of each kind bit (index = bit position).
    pub kind_first: [Option<Seen>; 6],
    /// Flags seen.
    pub flags: u8,
    /// First occurrence of each flag bit, and how many times it occurred.
    pub flag_first: [Option<(Seen, u64)>; 7],
}

/// Identity hasher: the keys are already hashes.
#[derive(Default)]
pub struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("IdHasher only hashes u64")
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

/// Per-path statistics of a run of lines.
#[derive(Debug, Default)]
pub struct JobStats {
    /// Keyed by the path hash (see [`child_hash`]).
    pub paths: HashMap<u64, PathStat, BuildHasherDefault<IdHasher>>,
    /// Direct-mapped cache in front of `paths` for the walk's hot path: `(path hash, kind bits
    /// already recorded)`. Most nodes repeat a path and kind seen on an earlier line, and this
    /// answers that with one array read instead of a hash-map probe.
    pub(crate) fast: Vec<(u64, u8)>,
    /// Direct-mapped cache of key paths whose key was found to be a plain column name.
    pub(crate) column_ok: Vec<u64>,
}

/// Entries of the direct-mapped caches of [`JobStats`].
pub(crate) const FAST_SLOTS: usize = 4096;

/// The hash of the path of member `key` below the path `parent`.
#[inline]
pub fn child_hash(parent: u64, key: &str) -> u64 {
    // XXH3 of the key seeded with the parent's hash: short keys hash in a few nanoseconds, and
    // collisions between two real paths of one file are ~2^-64 per pair.
    xxhash_rust::xxh3::xxh3_64_with_seed(key.as_bytes(), parent)
}

/// The hash of the root path.
pub const ROOT_HASH: u64 = 0x6a09_e667_f3bc_c908;

/// Classifies an object key as a column name: `Ok` for plain names (`[A-Za-z_][A-Za-z0-9_]*`, at
/// most 300 bytes), `Err(true)` for names reported to fail the import (`$`, spaces, empty, other
/// punctuation), `Err(false)` for names that flexible column naming may take but classic naming
/// does not (`-`, a leading digit, non-ASCII letters).
pub fn column_name_class(key: &str) -> Result<(), bool> {
    let b = key.as_bytes();
    if b.is_empty() || b.len() > 300 {
        return Err(true);
    }
    let plain_start = b[0].is_ascii_alphabetic() || b[0] == b'_';
    if plain_start && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return Ok(());
    }
    let fatal = key
        .chars()
        .any(|c| !(c.is_alphanumeric() || c == '_' || c == '-'));
    Err(fatal)
}

impl JobStats {
    /// Folds `later` (lines after all of `self`'s) into `self`, keeping first occurrences.
    pub fn merge(&mut self, later: JobStats) {
        for (h, stat) in later.paths {
            match self.paths.get_mut(&h) {
                None => {
                    self.paths.insert(h, stat);
                }
                Some(mine) => {
                    mine.kinds |= stat.kinds;
                    for (slot, theirs) in mine.kind_first.iter_mut().zip(stat.kind_first) {
                        if slot.is_none() {
                            *slot = theirs;
                        }
                    }
                    mine.flags |= stat.flags;
                    for (slot, theirs) in mine.flag_first.iter_mut().zip(stat.flag_first) {
                        match (slot.as_mut(), theirs) {
                            (None, t) => *slot = t,
                            (Some((_, n)), Some((_, m))) => *n += m,
                            (Some(_), None) => {}
                        }
                    }
                }
            }
        }
    }

    /// Shifts line numbers by `lines` and offsets nothing (offsets are absolute): used to turn
    /// chunk-local line indexes into file line indexes before merging.
    pub fn shift_lines(&mut self, lines: u64) {
        if lines == 0 {
            return;
        }
        for stat in self.paths.values_mut() {
            for s in stat.kind_first.iter_mut().flatten() {
                s.line += lines;
            }
            for (s, _) in stat.flag_first.iter_mut().flatten() {
                s.line += lines;
            }
        }
    }

    /// The whole-job findings, sorted by line then pointer.
    pub fn findings(&self) -> Vec<JobFinding> {
        let mut out = Vec::new();
        for stat in self.paths.values() {
            let scalar = stat.kinds & 0b1111;
            if scalar.count_ones() > 1 {
                out.push(conflict(stat, Code::E_JOB_TYPE_CONFLICT, 0..4));
            }
            if stat.kinds & kind::ARRAY != 0 && stat.kinds & kind::SINGLE != 0 {
                out.push(conflict(stat, Code::E_JOB_REPEATED_CONFLICT, 4..6));
            }
            for (i, (bit, code)) in flag::CODES.iter().enumerate() {
                if stat.flags & bit != 0 {
                    if let Some((seen, count)) = &stat.flag_first[i] {
                        out.push(JobFinding {
                            code: *code,
                            at: seen.clone(),
                            related: None,
                            occurrences: *count,
                            message: flag_message(*code, &stat.column, *count),
                        });
                    }
                }
            }
        }
        out.extend(case_collisions(self.paths.values()));
        out.sort_by(|a, b| {
            (a.at.line, &a.at.pointer, a.code).cmp(&(b.at.line, &b.at.pointer, b.code))
        });
        out
    }
}

/// One finding per pair of columns of one object whose names differ only in ASCII letter case
/// (`id` and `ID`), at the column that appears later, with the earlier one as the other side: the
/// import's column names ignore case, so the two are one column twice and the whole job fails
/// at import. Linear: the paths are grouped by their parent column and lower-cased last key.
fn case_collisions<'a>(paths: impl Iterator<Item = &'a PathStat>) -> Vec<JobFinding> {
    let mut groups: HashMap<(&str, String), Vec<(&Seen, &PathStat)>> = HashMap::new();
    for stat in paths {
        let Some(first) = first_seen(stat) else {
            continue;
        };
        let (parent, key) = stat
            .column
            .rsplit_once('/')
            .unwrap_or(("", stat.column.as_str()));
        if !key.bytes().any(|b| b.is_ascii_alphabetic()) {
            continue;
        }
        groups
            .entry((parent, key.to_ascii_lowercase()))
            .or_default()
            .push((first, stat));
    }
    let mut out = Vec::new();
    for (_, mut sides) in groups {
        if sides.len() < 2 {
            continue;
        }
        // First appearance decides which is "earlier"; on one line, the document's order.
        sides.sort_by_key(|(seen, _)| (seen.line, seen.order));
        let (first, first_stat) = sides[0];
        for &(later, stat) in &sides[1..] {
            let mut at = later.clone();
            at.at_key = true;
            let mut related = first.clone();
            related.at_key = true;
            out.push(JobFinding {
                code: Code::E_JOB_COLUMN_CASE,
                at,
                related: Some(related),
                occurrences: 1,
                message: format!(
                    "key `{}` (line {}) and key `{}` (line {}) differ only in letter case: the import's column names ignore case, so they are one column given twice and the whole job would fail; spell the key one way on every line",
                    last_token(&first_stat.column),
                    first.line + 1,
                    last_token(&stat.column),
                    later.line + 1,
                ),
            });
        }
    }
    out
}

/// The earliest recorded occurrence of a path (by line).
fn first_seen(stat: &PathStat) -> Option<&Seen> {
    stat.kind_first
        .iter()
        .flatten()
        .chain(stat.flag_first.iter().flatten().map(|(s, _)| s))
        .min_by_key(|s| (s.line, s.order))
}

/// A whole-job finding before it is placed in a file.
#[derive(Debug, Clone)]
pub struct JobFinding {
    /// The code.
    pub code: Code,
    /// Where it is reported (the later of a conflict's two sides).
    pub at: Seen,
    /// The other side of a conflict.
    pub related: Option<Seen>,
    /// How many values share the problem (1 for conflicts).
    pub occurrences: u64,
    /// The message.
    pub message: String,
}

fn conflict(stat: &PathStat, code: Code, bits: std::ops::Range<usize>) -> JobFinding {
    let mut sides: Vec<(usize, &Seen)> = bits
        .filter_map(|i| stat.kind_first[i].as_ref().map(|s| (i, s)))
        .collect();
    sides.sort_by_key(|(_, s)| s.line);
    let (first_bit, first) = sides[0];
    let (second_bit, second) = sides[1];
    let all: Vec<String> = sides
        .iter()
        .map(|(i, s)| format!("{} on line {}", kind::NAMES[*i], s.line + 1))
        .collect();
    let message = if code == Code::E_JOB_TYPE_CONFLICT {
        format!(
            "`{}` is {}: Vertex imports the file as a table with one type per key path, so the whole job would fail; use one JSON type for this field on every line",
            stat.column,
            all.join(", ")
        )
    } else {
        let hint = if stat.column.ends_with("/type") {
            " (JSON Schema `\"type\": [\"string\", \"null\"]` beside `\"type\": \"string\"` is the usual cause: use `nullable: true` or `anyOf` instead of a type list)"
        } else {
            ""
        };
        format!(
            "`{}` is an array on line {} but not on line {}: the import needs a key path to be a JSON array everywhere or nowhere, so the whole job would fail{}",
            stat.column,
            if first_bit == 4 { first.line + 1 } else { second.line + 1 },
            if first_bit == 4 { second.line + 1 } else { first.line + 1 },
            hint
        )
    };
    let _ = second_bit;
    JobFinding {
        code,
        at: second.clone(),
        related: Some(first.clone()),
        occurrences: 1,
        message,
    }
}

fn flag_message(code: Code, column: &str, count: u64) -> String {
    let more = if count > 1 {
        format!(" ({count} occurrences in this file)")
    } else {
        String::new()
    };
    match code {
        Code::E_JOB_EMPTY_OBJECT => {
            let last = last_token(column);
            let fix = if matches!(last.as_str(), "googleSearch" | "google_search") {
                "; write `{\"excludeDomains\": []}` (or `{\"timeRangeFilter\": null}`, seen accepted in batch) instead of `{}`"
            } else if matches!(
                last.as_str(),
                "codeExecution" | "code_execution" | "urlContext" | "url_context"
            ) {
                // Their messages have no fields (v1 schema): there is no non-empty form.
                "; this tool's message has no fields, so it cannot be written non-empty and cannot be used in a batch job: remove it"
            } else {
                "; remove the member or give the object a field"
            };
            format!("`{column}` is an empty object: the import cannot store a record with no fields, so the whole job would fail{fix}{more}")
        }
        Code::E_JOB_COLUMN_NAME => {
            let fix = if column.contains("/$defs") || column.contains("/$ref") || column.contains("/$schema") {
                "; for response schemas use `responseSchema` with `defs`/`ref` instead of `responseJsonSchema` with `$defs`/`$ref`, and drop `$schema`"
            } else {
                "; rename the key to letters, digits and underscores"
            };
            format!("key `{}` of `{column}` is not a valid column name, so the whole job would fail at import{fix}{more}", last_token(column))
        }
        Code::W_JOB_COLUMN_NAME => format!("key `{}` of `{column}` is not a classic column name (letters, digits, underscores, not starting with a digit); the import may reject it{more}", last_token(column)),
        Code::E_JOB_DEPTH => format!("`{column}` is nested more than {MAX_DEPTH} objects deep: the import rejects deeper records, so the whole job would fail{more}"),
        Code::W_JOB_NULL => format!("`{column}` is null: nulls have failed imports (seen as `\"enum\": null`); omit the member instead{more}"),
        Code::W_DEPRECATED_FIELD => {
            let last = last_token(column);
            let replacement = if matches!(
                last.as_str(),
                "responseMimeType"
                    | "response_mime_type"
                    | "responseSchema"
                    | "response_schema"
                    | "responseJsonSchema"
                    | "response_json_schema"
            ) {
                " (generationConfig.responseFormat)"
            } else {
                ""
            };
            format!("`{column}` is marked deprecated in Google's schema; Vertex still accepts it, but plan to move to its replacement{replacement}{more}")
        }
        Code::W_JOB_NESTED_ARRAY => format!("`{column}` holds an array inside an array, which a table column cannot store; the import may fail{more}"),
        _ => format!("`{column}`{more}"),
    }
}

fn last_token(column: &str) -> String {
    column
        .rsplit('/')
        .next()
        .unwrap_or("")
        .replace("~1", "/")
        .replace("~0", "~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_messages_give_the_fix_that_applies() {
        fn m(code: Code, column: &str) -> String {
            flag_message(code, column, 1)
        }
        assert!(m(
            Code::W_DEPRECATED_FIELD,
            "/request/generationConfig/responseMimeType"
        )
        .ends_with("replacement (generationConfig.responseFormat)"));
        assert!(m(
            Code::W_DEPRECATED_FIELD,
            "/request/tools/googleMaps/enableWidget"
        )
        .ends_with("plan to move to its replacement"));
        assert!(m(Code::E_JOB_EMPTY_OBJECT, "/request/tools/googleSearch")
            .contains("`{\"excludeDomains\": []}`"));
        for tool in ["codeExecution", "url_context"] {
            assert!(
                m(Code::E_JOB_EMPTY_OBJECT, &format!("/request/tools/{tool}"))
                    .contains("cannot be used in a batch job")
            );
        }
        assert!(m(
            Code::E_JOB_EMPTY_OBJECT,
            "/request/generationConfig/thinkingConfig"
        )
        .contains("remove the member or give the object a field"));
    }

    #[test]
    fn column_names() {
        assert_eq!(column_name_class("responseSchema"), Ok(()));
        assert_eq!(column_name_class("_x9"), Ok(()));
        assert_eq!(column_name_class("$defs"), Err(true));
        assert_eq!(column_name_class("first name"), Err(true));
        assert_eq!(column_name_class(""), Err(true));
        assert_eq!(column_name_class("cost-center"), Err(false));
        assert_eq!(column_name_class("9lives"), Err(false));
        assert_eq!(column_name_class("café"), Err(false));
    }

    #[test]
    fn child_hash_depends_on_parent_and_key() {
        let a = child_hash(ROOT_HASH, "request");
        assert_ne!(a, child_hash(ROOT_HASH, "requesu"));
        assert_ne!(
            child_hash(a, "x"),
            child_hash(child_hash(ROOT_HASH, "x"), "request")
        );
    }
}
