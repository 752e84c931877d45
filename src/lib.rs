//! batchline: prepare, validate, submit and collect Gemini batch jobs on Vertex AI.
#![warn(missing_docs)]

pub mod request;
