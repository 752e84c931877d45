//! A few bytes blown up into one request with a megabyte text part (the first byte picks the
//! repeat count, the rest is the unit) → `LineChecker::check` with a context window just below the
//! line's size, so validate's o200k estimate tokenises all of it. Invariants in
//! `batchline_fuzz::check_long_text`: no panic (a run of a million letters once overflowed the
//! tokenizer's regex stack), and the estimate never exceeds the text's bytes.
//!
//! Seed: `fuzz/seed.sh` (from `fuzz/seeds/long_text.txt`), then
//! `cargo +nightly fuzz run long_text -- -max_len=256`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    batchline_fuzz::check_long_text(data);
});
