//! `batchline fetch-tokenizer`: fills the cache folder with the Gemma 3 vocabulary.

use crate::cli::args::FetchTokenizerArgs;
use crate::cli::exit::ExitStatus;
use crate::error::{Error, Result};
use crate::plan::tokens::cache_dir;
use crate::plan::tokens::fetch::{fetch_model, Fetched};

/// Runs `fetch-tokenizer`.
pub fn run(args: FetchTokenizerArgs) -> Result<ExitStatus> {
    let dir = match args.dir.or_else(cache_dir) {
        Some(dir) => dir,
        None => {
            return Err(Error::Usage(
                "no cache folder: set BATCHLINE_CACHE_DIR (or HOME), or pass --dir".into(),
            ))
        }
    };
    match fetch_model(&dir, &args.from)? {
        Fetched::AlreadyPresent(path) => {
            println!("{}: already present, sha256 verified", path.display());
        }
        Fetched::Written(path) => {
            println!(
                "{}: fetched from {}, sha256 verified",
                path.display(),
                args.from
            );
        }
    }
    Ok(ExitStatus::Ok)
}
