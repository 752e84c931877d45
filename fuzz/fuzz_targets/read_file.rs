//! Arbitrary bytes as a whole file → `validate_bytes` with 1-byte, 7-byte and default chunks.
//! Invariants in `batchline_fuzz::check_file`: no panic; identical results for every chunk size;
//! every diagnostic's line, column and byte agree with an independent line scan (BOM, CRLF); every
//! pointer (and related pointer of whole-job findings) resolves where the column says.
//!
//! Seed: `fuzz/seed.sh`, then `cargo +nightly fuzz run read_file`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    batchline_fuzz::check_file(data);
});
