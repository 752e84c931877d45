//! One module per command.

pub mod fetch_tokenizer;
pub mod gen_corpus;
pub mod prepare;
pub mod validate;

use super::args::InputArgs;
use crate::input::{ChunkConfig, MmapChoice};

/// The mmap choice the flags ask for.
pub(crate) fn mmap_choice(a: &InputArgs) -> MmapChoice {
    if a.mmap {
        MmapChoice::Always
    } else if a.no_mmap {
        MmapChoice::Never
    } else {
        MmapChoice::Auto
    }
}

/// The chunking the flags ask for.
pub(crate) fn chunk_config(a: &InputArgs) -> ChunkConfig {
    match a.chunk_bytes {
        Some(n) => ChunkConfig {
            target_bytes: n.max(1),
        },
        None => ChunkConfig::default(),
    }
}
