//! The run folder: atomic writes, the manifest, and the binary index. Submit/collect state comes
//! with their issues.

pub mod atomic;
pub mod index;
pub mod manifest;
