//! One module per command.

pub mod emulator;
pub mod fetch_tokenizer;
pub mod gen_corpus;
pub mod prepare;
pub mod validate;

use super::args::InputArgs;
use crate::error::{Error, Result};
use crate::input::{ChunkConfig, MmapChoice};

/// Most worker threads `-j` takes: far above any core count, far below what stalls the machine.
const MAX_THREADS: usize = 1024;

/// The inputs and thread count the flags ask for, checked: stdin at most once (a second `-`
/// would read nothing), and `-j` at most [`MAX_THREADS`].
pub(crate) fn inputs_and_threads(a: &InputArgs) -> Result<(Vec<String>, usize)> {
    if a.inputs.iter().filter(|n| n.as_str() == "-").count() > 1 {
        return Err(Error::Usage(
            "`-` (stdin) is given more than once; stdin can be read only once".into(),
        ));
    }
    if a.threads > MAX_THREADS {
        return Err(Error::Usage(format!(
            "-j {}: at most {MAX_THREADS} threads (0 uses every core)",
            a.threads
        )));
    }
    Ok((a.inputs.clone(), a.threads))
}

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
