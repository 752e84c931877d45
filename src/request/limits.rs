//! Per-request batch limits: request size and an estimated prompt size against the model's context
//! window.
//!
//! Only requests whose byte length could exceed the window are tokenised (a token covers at least
//! one byte), so validate stays at parse speed. The estimate uses o200k (`tiktoken-rs`), which is
//! not Gemini's vocabulary: findings say so, and only a clear excess is an error.

use std::sync::OnceLock;

use super::value::{JsonRef, Kind};

/// Estimated prompt tokens of a request: o200k tokens of every string in it except base64 payloads
/// (`inlineData.data`), which Vertex bills per media item, not per character.
pub fn estimate_prompt_tokens(request: JsonRef<'_, '_>) -> u64 {
    static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
    let bpe = BPE.get_or_init(|| {
        tiktoken_rs::o200k_base().expect("invariant: tiktoken-rs ships the o200k vocabulary")
    });
    let mut total = 0u64;
    let mut stack = vec![(request, false)];
    while let Some((v, in_blob)) = stack.pop() {
        match v.kind() {
            Kind::String if !in_blob => {
                total += bpe.encode_ordinary(v.as_str().unwrap_or("")).len() as u64;
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
    total
}
