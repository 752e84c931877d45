//! Invariants of batchline's line validator and file reader, checked on arbitrary input.
//!
//! Shared by the cargo-fuzz targets (`fuzz_targets/*.rs`, nightly) and the stable property test
//! `tests/it/mutation.rs` (which includes this file with `#[path]`), so both check exactly the
//! same things. It depends only on `batchline` and `serde_json`, never on libfuzzer.
//!
//! Every check panics with a message naming the input when it fails; a panic is the finding.
//!
//! The oracle is an independent JSON reader ([`parse_tree`]): a strict RFC 8259 parser that keeps
//! duplicate keys, member order, and the byte span of every key and value. Pointers are resolved
//! against it (all resolutions, so duplicate keys are handled, or the one a finding's `key_nth`
//! picks), and `serde_json::Value::pointer` cross-checks the resolver whenever the line has no
//! duplicate keys.
//!
//! One module per target family: [`tree`] is the oracle, [`codes`] sorts findings by where they
//! sit, [`line`] checks one line (`validate_line`), [`file`] a whole file (`read_file`),
//! [`long_text`] one request with megabytes of text (`long_text`), and [`collect`] prediction
//! rows and collect's member scanner (`prediction_row`, `member_scan`).

mod codes;
mod collect;
mod file;
mod line;
mod long_text;
mod tree;

pub use codes::{is_line_level, is_syntax};
pub use collect::{check_member_scan, check_prediction_row};
pub use file::{check_file, limits, line_spans};
pub use line::{assert_same_findings, check_line, finding_set, LineVerdict};
pub use long_text::{check_long_text, long_text_line, LONG_TEXT_MAX};
pub use tree::{parse_tree, reversed, Member, Node, NodeKind};
