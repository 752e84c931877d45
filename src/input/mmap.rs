//! The one place that decides whether an input is memory-mapped or read into memory.
//!
//! Heuristic: a regular file of at least [`MMAP_MIN_BYTES`] is mapped (with sequential advice);
//! anything else — stdin, pipes, FIFOs, small files — is read fully. `--mmap` / `--no-mmap` override
//! it. A failed map falls back to reading. `unsafe` lives only here and in [`super::sigbus`], which
//! turns the truncation of a mapped file while it is read into a clean error (exit 3).

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

use crate::error::{Error, Result};

/// Files smaller than this are read rather than mapped: mapping costs page-table work that a
/// small read does not.
pub const MMAP_MIN_BYTES: u64 = 64 * 1024;

/// Whether to memory-map inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MmapChoice {
    /// Map regular files of at least [`MMAP_MIN_BYTES`]; read everything else.
    #[default]
    Auto,
    /// Map every regular file (still never stdin or pipes).
    Always,
    /// Never map: read files fully.
    Never,
}

/// The bytes of one input, mapped or owned.
pub enum InputBytes {
    /// A read-only memory map of a regular file, watched for truncation while it lives.
    Mapped(MappedFile),
    /// Bytes read into memory (stdin, pipes, small files, or `--no-mmap`).
    Owned(Vec<u8>),
}

/// A read-only map of a file and its [`Watch`](super::sigbus::Watch): a truncation of the file while
/// it is read ends the process with a message naming the file and exit status 3, not `SIGBUS`.
pub struct MappedFile {
    // Declared first, so dropped first: unwatched before it is unmapped.
    _watch: super::sigbus::Watch,
    map: memmap2::Mmap,
}

impl Deref for MappedFile {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.map
    }
}

impl Deref for InputBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            InputBytes::Mapped(m) => m,
            InputBytes::Owned(v) => v,
        }
    }
}

impl InputBytes {
    /// True when the bytes are a memory map.
    pub fn is_mapped(&self) -> bool {
        matches!(self, InputBytes::Mapped(_))
    }
}

/// Opens `name` (`-` is stdin) and returns its bytes.
pub fn open_input(name: &str, choice: MmapChoice) -> Result<InputBytes> {
    if name == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut buf)
            .map_err(|e| Error::io("-", e))?;
        return Ok(InputBytes::Owned(buf));
    }
    if let Some(scheme) = super::url_scheme(name) {
        return Err(super::url_not_supported(name, scheme));
    }
    open_path(Path::new(name), choice)
}

/// Opens a local file by path (any bytes, UTF-8 or not) and returns its bytes, mapped or read by
/// the rule above.
pub fn open_path(path: &Path, choice: MmapChoice) -> Result<InputBytes> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::other("is a directory, not a JSONL file"),
        ));
    }
    bytes_of_file(file, meta.is_file(), meta.len(), choice, path)
}

/// The bytes of an open file of `len` bytes: mapped or read, by `choice` (the one decision, for
/// local inputs and for the spill files of remote ones). `regular`: a regular file (only those
/// are mapped).
pub(crate) fn bytes_of_file(
    file: File,
    regular: bool,
    len: u64,
    choice: MmapChoice,
    path: &Path,
) -> Result<InputBytes> {
    let want_map = regular
        && match choice {
            MmapChoice::Auto => len >= MMAP_MIN_BYTES,
            MmapChoice::Always => len > 0,
            MmapChoice::Never => false,
        };
    if want_map {
        // SAFETY: the map is read-only. Another process rewriting the file while we read it may
        // give torn data, the documented hazard of mapping (ripgrep and every mmap-based tool
        // accept it for regular files; `--no-mmap` avoids it); prepare notices it by the file's
        // stamp (`stamp`) and refuses to publish. Truncating it makes reads past the new end
        // raise SIGBUS, which the watch turns into a clean error (`sigbus`). (A spill file has no
        // name, so no other process can reach it.)
        match unsafe { memmap2::MmapOptions::new().map(&file) } {
            Ok(map) => {
                #[cfg(unix)]
                let _ = map.advise(memmap2::Advice::Sequential);
                let watch = super::sigbus::watch(&map, path);
                super::test_hold("after-map");
                return Ok(InputBytes::Mapped(MappedFile { _watch: watch, map }));
            }
            Err(_) => { /* fall back to reading below */ }
        }
    }
    let mut buf = Vec::with_capacity(len as usize);
    let mut file = file;
    file.read_to_end(&mut buf).map_err(|e| Error::io(path, e))?;
    Ok(InputBytes::Owned(buf))
}
