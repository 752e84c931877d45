//! Vertex AI batch prediction, as a client: the `batchPredictionJobs` wire types ([`wire`]), a small
//! typed async client for create/get/list/cancel/delete ([`client`]), the bearer token it sends
//! ([`auth`]) and the one retry policy ([`retry`], shared with the store layer).
//!
//! This module knows nothing of runs, shards or `state.json`: `submit`, `status`, `wait` and
//! `cancel` (and the emulator, which serves the same types) build on it. Nothing here prints.

pub mod auth;
pub mod client;
pub use crate::retry;
pub mod wire;

pub use auth::{Auth, AuthConfig};
pub use client::{ClientOptions, VertexClient};
pub use retry::RetryConfig;

/// What went wrong talking to Vertex. Messages carry Google's `error.message` and `status` and
/// the URL, never a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VertexError {
    /// The service answered with an error body (`{"error": {code, message, status}}`).
    #[error("{method} {url}: {http} {status}: {message}")]
    Api {
        /// HTTP method.
        method: &'static str,
        /// The URL (no credentials are ever part of it).
        url: String,
        /// HTTP status code.
        http: u16,
        /// Google's status name (`INVALID_ARGUMENT`, …), or the HTTP reason when the body had none.
        status: String,
        /// Google's `error.message`, or the start of the body when it was not Google's shape.
        message: String,
    },
    /// No answer: connection refused or reset, timeout, TLS.
    #[error("{method} {url}: {source}")]
    Transport {
        /// HTTP method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was not the JSON expected.
    #[error("{url}: unexpected response: {message}")]
    Decode {
        /// The URL.
        url: String,
        /// What did not parse, with the start of the body.
        message: String,
    },
    /// A call was retried and still failed.
    #[error("{source} (gave up after {retries} retries in {elapsed_ms} ms)")]
    GaveUp {
        /// Retries made.
        retries: usize,
        /// Time spent, first attempt included.
        elapsed_ms: u128,
        /// The last failure.
        #[source]
        source: Box<VertexError>,
    },
    /// No credentials could be found or refreshed.
    #[error("credentials: {0}")]
    Auth(String),
    /// A bad argument (model name, source URI, endpoint).
    #[error("{0}")]
    Usage(String),
}

impl VertexError {
    /// The HTTP status of an API error (through a [`VertexError::GaveUp`]), if any.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            VertexError::Api { http, .. } => Some(*http),
            VertexError::GaveUp { source, .. } => source.http_status(),
            _ => None,
        }
    }
}
