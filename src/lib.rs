//! batchline: prepare, validate, submit and collect Gemini batch jobs on Vertex AI.
//!
//! # A tour, in the order the data flows
//!
//! - [`store`] — the ground floor: a [`store::Location`] (a path, `gs://`, `s3://`, …) and the
//!   [`store::Store`] behind it, the one door to local folders and object stores, and the one
//!   tokio runtime. Start here to see how bytes reach a bucket.
//! - [`retry`] — the retry policy of batchline's own HTTP calls (which failures, how long to wait).
//! - [`input`] — hands out lines: maps or reads each input, cuts it into chunks at newlines, and
//!   notices an input that changes while it is read. It knows nothing of requests.
//! - [`request`] — one line at a time: the schema walk, the rules Google states in prose, the
//!   whole-job import checks, the canonical hash and the prompt's chained blocks.
//! - [`scan`] — the engine: one input's lines checked over all cores, chunk by chunk, with a
//!   visitor per chunk that later stages gather their records through.
//! - [`mod@validate`] — the `validate` command's report over every input.
//! - [`plan`] — the records the scan gathers for it ([`plan::records`]), dedup, the
//!   cache-friendly order, shard cuts, token counts and the cache model.
//! - [`prepare`] — `stats` and `prepare`: scan, plan, then write the run.
//! - [`run`] — the run as a type: every run-folder rule (marker, lock, manifest last, what may be
//!   removed, intact) on every backend, the manifest, the binary index, the cacheable families,
//!   `state.json` (the run's jobs) and `upload`.
//! - [`vertex`] — the small typed client for Vertex AI's `batchPredictionJobs` (create, get, list,
//!   cancel) and its auth; [`emulator`] — a local model of that service for tests.
//! - [`collect`] — the rows Vertex wrote, matched back to the run's requests and written in input
//!   order, with the retry round and the measured cache and cost. (Its [`collect::members`] finds
//!   an object's members without parsing them; "scan" is only the engine above.)
//! - [`cli`] — the command line on top; nothing imports it.
//!
//! The library takes `*Options` structs and returns `*Report`s; [`prepare::prepare`] and
//! [`validate()`] are the entry points.
#![warn(missing_docs)]

pub mod cli;
pub mod collect;
pub mod corpus;
pub mod emulator;
pub mod error;
pub mod input;
pub mod models;
pub mod plan;
pub mod prepare;
pub mod request;
pub mod retry;
pub mod run;
pub mod scan;
pub mod store;
pub mod validate;
pub mod vertex;

pub use error::{Error, Result};
pub use validate::{validate, ValidateOptions, ValidateReport};
