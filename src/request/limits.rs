//! Per-request batch limits: request size and an estimated prompt size against the model's context
//! window.
//!
//! Only requests whose byte length could exceed the window are tokenised (a token covers at least
//! one byte), so validate stays at parse speed. The estimate uses o200k (`tiktoken-rs`), which is
//! not Gemini's vocabulary: findings say so, and only a clear excess is an error.

use std::sync::OnceLock;

use super::value::{JsonRef, Kind};

/// Pieces of a long string are tokenised this many bytes at a time (cut after whitespace), so
/// counting can stop early; each cut may shift the count by a token.
const PIECE_BYTES: usize = 1 << 20;

/// Estimated prompt tokens of a request: o200k tokens of every string in it except base64 payloads
/// (`inlineData.data`), which Vertex bills per media item, not per character. Counting stops once
/// the total passes `stop_after` (the caller only needs to know that it does): the result is then
/// a lower bound, and the second value is `true`.
pub fn estimate_prompt_tokens(request: JsonRef<'_, '_>, stop_after: u64) -> (u64, bool) {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    let bpe = BPE.get_or_init(|| {
        tiktoken_rs::o200k_base().expect("invariant: tiktoken-rs ships the o200k vocabulary")
    });
    let mut total = 0u64;
    let mut stack = vec![(request, false)];
    while let Some((v, in_blob)) = stack.pop() {
        match v.kind() {
            Kind::String if !in_blob => {
                let mut text = v.as_str().unwrap_or("");
                while !text.is_empty() {
                    let mut cut = text.len().min(PIECE_BYTES);
                    if cut < text.len() {
                        // After the next whitespace (or any char boundary if there is none soon).
                        match text[cut..].find(char::is_whitespace) {
                            Some(i) if i < 4096 => cut += i + 1,
                            _ => {
                                while !text.is_char_boundary(cut) {
                                    cut += 1;
                                }
                            }
                        }
                        while !text.is_char_boundary(cut) {
                            cut += 1;
                        }
                    }
                    total += bpe.encode_ordinary(&text[..cut]).len() as u64;
                    if total > stop_after {
                        return (total, true);
                    }
                    text = &text[cut..];
                }
            }
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
    (total, false)
}
