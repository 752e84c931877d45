//! Arbitrary bytes → collect's member scanner (`collect::members::members`), which finds the
//! top-level members of a JSON object without parsing their values. Invariants in
//! `batchline_fuzz::check_member_scan`: no panic, and on every object serde_json reads, exactly
//! serde_json's members.
//!
//! Seeds: `fuzz/seed.sh` (rows and request lines), then
//! `cargo +nightly fuzz run member_scan -- -max_len=4096`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    batchline_fuzz::check_member_scan(data);
});
