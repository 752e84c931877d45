//! The run folder: atomic writes now; manifest, index and state come with `prepare`.

pub mod atomic;
