//! Arbitrary bytes as one Vertex prediction row → `collect::row::parse_row` and the output
//! members collect writes for it. Invariants in `batchline_fuzz::check_prediction_row`: no panic,
//! the output members always make valid JSON with the right status, and member order does not
//! change the reading.
//!
//! Seed: `fuzz/seed.sh` (from `fuzz/seeds/rows.jsonl`), then
//! `cargo +nightly fuzz run prediction_row -- -max_len=4096`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    batchline_fuzz::check_prediction_row(data);
});
