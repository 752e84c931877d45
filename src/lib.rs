//! batchline: prepare, validate, submit and collect Gemini batch jobs on Vertex AI.
#![warn(missing_docs)]

pub mod cli;
pub mod corpus;
pub mod emulator;
pub mod error;
pub mod input;
pub mod models;
pub mod plan;
pub mod prepare;
pub mod request;
pub mod run;
pub mod validate;
pub mod vertex;

pub use error::{Error, Result};
pub use validate::{validate, ValidateOptions, ValidateReport};
