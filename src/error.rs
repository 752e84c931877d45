//! The library's one public error type.
//!
//! Findings about the input (a bad line, a field Vertex would reject) are not errors: they are
//! [`Diagnostic`](crate::request::diag::Diagnostic)s in a report. `Error` is for what stops a command:
//! a file that cannot be read, a bad option, a failed write.

use std::path::PathBuf;

/// What stopped a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input or output file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file as the user named it.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An option or a combination of options is not valid.
    #[error("{0}")]
    Usage(String),
    /// The input has errors and the command was asked to stop on them (`--strict`).
    #[error("{0}")]
    InvalidInput(String),
    /// A storage or remote-service request failed (after retries where they apply).
    #[error("{url}: {message}")]
    Remote {
        /// The object or service URL.
        url: String,
        /// The cause in words, then the service's own message.
        message: String,
    },
    /// An input changed while it was being read; nothing built from it was published.
    #[error("{0}")]
    InputChanged(String),
    /// A data file given by the user (e.g. `--pricing`) is not valid.
    #[error("{path}: {message}")]
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the position where known.
        message: String,
    },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
