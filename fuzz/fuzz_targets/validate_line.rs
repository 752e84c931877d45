//! Arbitrary bytes as one line → `LineChecker::check`. Invariants in `batchline_fuzz::check_line`:
//! no panic; every finding's pointer resolves and `locate_finding` finds it (inside the line, on a
//! char boundary; under repeated keys, in the member the finding means); a key-reordered
//! re-serialisation gives the same findings.
//!
//! Seed: `fuzz/seed.sh`, then `cargo +nightly fuzz run validate_line`.
#![no_main]

use batchline_fuzz::{check_line, LineVerdict};
use libfuzzer_sys::{fuzz_target, Corpus};

fuzz_target!(|data: &[u8]| -> Corpus {
    match check_line(data) {
        // The reader never hands over a line with a newline, and non-UTF-8 lines stop at the
        // first check: keep the corpus on inputs that reach the schema walk or the JSON parser.
        LineVerdict::Useless => Corpus::Reject,
        LineVerdict::NotObject | LineVerdict::Object => Corpus::Keep,
    }
});
