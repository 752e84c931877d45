//! Model facts and prices as data: one JSON table compiled in (`src/models.json`), overridable
//! with `--pricing FILE`. Google changes these; nothing else in the crate hard-codes them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The compiled-in table.
pub const BUILTIN: &str = include_str!("models.json");

/// The whole table.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelTable {
    /// Table format version.
    pub format: u32,
    /// When the facts were checked.
    pub as_of: String,
    /// Multiplier of batch prices against list prices (0.5).
    pub batch_discount: f64,
    /// Per-job and per-request limits.
    pub limits: BatchLimits,
    /// Facts per model id.
    pub models: BTreeMap<String, ModelFacts>,
}

/// Limits of one batch job's input.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchLimits {
    /// Requests per input file.
    pub max_requests_per_file: u64,
    /// Bytes per input file.
    pub max_bytes_per_file: u64,
    /// Bytes per request.
    pub max_request_bytes: u64,
    /// Whether `max_request_bytes` is documented for Vertex batch.
    pub max_request_bytes_confirmed: bool,
}

/// Facts of one model.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelFacts {
    /// `gemma3` (Gemini's own vocabulary) or `o200k` (an estimate).
    pub tokenizer: String,
    /// Maximum input tokens.
    pub context_window: u64,
    /// Maximum output tokens.
    pub max_output_tokens: u64,
    /// Minimum prompt tokens for an implicit cache hit.
    pub min_cache_tokens: u64,
    /// Whether implicit caching applies in batch for this model.
    pub implicit_cache_in_batch: bool,
    /// List prices per 1M tokens.
    pub price: Price,
}

/// List prices in USD per 1M tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct Price {
    /// Input tokens.
    pub input: f64,
    /// Output (and thinking) tokens.
    pub output: f64,
    /// Implicit-cache hits.
    pub cached_input: f64,
    /// Prompt size above which the long-context prices apply.
    #[serde(default)]
    pub long_context_threshold: Option<u64>,
    /// Input price above the threshold.
    #[serde(default)]
    pub input_long: Option<f64>,
    /// Output price above the threshold.
    #[serde(default)]
    pub output_long: Option<f64>,
    /// Cached price above the threshold.
    #[serde(default)]
    pub cached_input_long: Option<f64>,
}

impl ModelTable {
    /// The compiled-in table.
    pub fn builtin() -> ModelTable {
        serde_json::from_str(BUILTIN).expect("invariant: src/models.json is valid (tested)")
    }

    /// Loads a user table from `path`.
    pub fn load(path: &Path) -> Result<ModelTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::BadData {
            path: path.to_path_buf(),
            message: format!("not a model table: {e}"),
        })
    }

    /// Facts for `model` (a bare id like `gemini-2.5-flash`, or a `publishers/google/models/…` name).
    pub fn get(&self, model: &str) -> Result<&ModelFacts> {
        let id = model.rsplit('/').next().unwrap_or(model);
        self.models.get(id).ok_or_else(|| {
            Error::Usage(format!(
                "unknown model `{model}`; known: {} (add it with --pricing FILE)",
                self.models.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_parses_and_has_the_default_model() {
        let t = ModelTable::builtin();
        let m = t.get("publishers/google/models/gemini-2.5-flash").unwrap();
        assert_eq!(m.context_window, 1_048_576);
        assert_eq!(m.min_cache_tokens, 2048);
        assert!(t.get("gemini-9").is_err());
        assert_eq!(t.limits.max_requests_per_file, 200_000);
    }

    #[test]
    fn every_model_names_a_known_tokenizer_and_sane_prices() {
        let t = ModelTable::builtin();
        for (id, m) in &t.models {
            assert!(
                matches!(m.tokenizer.as_str(), "gemma3" | "o200k"),
                "{id}: {}",
                m.tokenizer
            );
            assert!(m.price.cached_input <= m.price.input, "{id}");
            assert!(m.min_cache_tokens >= 1024, "{id}");
        }
        // Gemini 3.1 has no published vocabulary: its counts are estimates.
        assert_eq!(t.get("gemini-3.1-pro-preview").unwrap().tokenizer, "o200k");
        assert_eq!(t.get("gemini-2.5-pro").unwrap().tokenizer, "gemma3");
    }
}
