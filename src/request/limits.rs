//! Per-request batch limits: request size and an estimated prompt size against the model's context
//! window.
//!
//! Only requests whose byte length could exceed the window are tokenised (a token covers at least
//! one byte), so validate stays at parse speed. The estimate uses o200k (`tiktoken-rs`), which is
//! not Gemini's vocabulary: findings say so, and only a clear excess is an error. The tokenizer is
//! handed at most [`O200kCounter`]'s `MAX_PIECE` bytes at once (a long run of one character
//! overflowed its regex otherwise), and identical pieces within a request are counted once (so a
//! long run costs one piece, not its length squared).

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use xxhash_rust::xxh3::xxh3_64;

use super::value::{JsonRef, Kind};
use crate::plan::tokens::O200kCounter;

/// Distinct pieces remembered per request (a bound on memory: about 16 bytes each).
const MEMO_ENTRIES: usize = 1 << 16;

/// Estimated prompt tokens of a request: o200k tokens of every string in it except base64 payloads
/// (`inlineData.data`), which Vertex bills per media item, not per character. Counting stops once
/// the total passes `stop_after` (the caller only needs to know that it does): the result is then
/// a lower bound, and the second value is `true`. A piece the tokenizer fails on counts as its
/// byte length (an upper bound), never a panic.
pub fn estimate_prompt_tokens(request: JsonRef<'_, '_>, stop_after: u64) -> (u64, bool) {
    static BPE: OnceLock<Option<O200kCounter>> = OnceLock::new();
    let Some(bpe) = BPE.get_or_init(|| O200kCounter::new().ok()) else {
        // tiktoken-rs ships the o200k vocabulary, so this does not happen; without a tokenizer
        // the byte length is the bound the caller already checked against.
        return (request_string_bytes(request), false);
    };
    let mut memo: HashMap<u64, u64> = HashMap::new();
    let mut total = 0u64;
    let stopped = prompt_strings(request, |text| {
        for piece in O200kCounter::pieces(text) {
            let key = xxh3_64(piece.as_bytes());
            let n = match memo.get(&key) {
                Some(&n) => n,
                None => {
                    let n = bpe.count_piece_or_bytes(piece);
                    if memo.len() < MEMO_ENTRIES {
                        memo.insert(key, n);
                    }
                    n
                }
            };
            total += n;
            if total > stop_after {
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    });
    (total, stopped.is_break())
}

/// Bytes of every string outside base64 payloads (the fallback estimate).
fn request_string_bytes(request: JsonRef<'_, '_>) -> u64 {
    let mut total = 0u64;
    let _ = prompt_strings(request, |text| {
        total += text.len() as u64;
        ControlFlow::Continue(())
    });
    total
}

/// Hands every string of `request` outside base64 payloads (`inlineData`) to `visit`, until it
/// breaks.
fn prompt_strings(
    request: JsonRef<'_, '_>,
    mut visit: impl FnMut(&str) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut stack = vec![(request, false)];
    while let Some((v, in_blob)) = stack.pop() {
        match v.kind() {
            Kind::String if !in_blob => visit(v.as_str().unwrap_or(""))?,
            Kind::Object => {
                for (k, child) in v.members() {
                    let blob = k == "inlineData" || k == "inline_data";
                    stack.push((child, in_blob || blob));
                }
            }
            Kind::Array => stack.extend(v.elements().map(|e| (e, in_blob))),
            _ => {}
        }
    }
    ControlFlow::Continue(())
}
