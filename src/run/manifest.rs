//! `manifest.json`: what a run holds. Written last and atomically: a run with a manifest is
//! complete; without one it is half-written and the next `prepare` starts it clean. Reading it
//! is [`crate::run::Run::manifest`]'s job (it knows what a damaged one means).

use serde::{Deserialize, Serialize};

/// Current manifest format (2: inputs identified by size and checksum, with a generation for
/// objects; files carry the CRC32C and entity tag of their upload on object stores).
pub const FORMAT_VERSION: u32 = 2;

/// The manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Format version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// batchline version that wrote it.
    pub tool_version: String,
    /// Schema revision the inputs were validated against.
    pub schema_revision: String,
    /// The inputs.
    pub inputs: Vec<InputEntry>,
    /// Options that shape the output (a re-run with other options is refused).
    pub options: serde_json::Value,
    /// Counts.
    pub counts: Counts,
    /// The shards in order.
    pub shards: Vec<FileEntry>,
    /// Other files of the run (index, invalid list, report).
    pub files: Vec<FileEntry>,
}

/// One input file. An input is the same input when its size and checksum are: the path as
/// written, the modification time and the generation are recorded for people and for the quick
/// check, and do not decide.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InputEntry {
    /// As given (a path, or a URL for an object); a path that is not UTF-8 is shown with `\xNN`
    /// escapes (see [`crate::input::InputName`]) and its bytes are in `path_bytes`.
    pub path: String,
    /// The raw bytes of a path that is not UTF-8, in hex (absent for UTF-8 names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
    /// Bytes.
    pub size: u64,
    /// Modification time, seconds since the Unix epoch (0 for stdin and objects).
    pub mtime: u64,
    /// The object's generation or entity tag, for inputs read from an object store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// `xxh3-128:<hex>` of the content (see [`content_checksum`]).
    pub checksum: String,
}

impl InputEntry {
    /// True when both name the same bytes (size and checksum; not path, time or generation).
    pub fn same_content(&self, other: &InputEntry) -> bool {
        self.size == other.size && self.checksum == other.checksum
    }
}

/// One file of the run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    /// Path relative to the run folder.
    pub name: String,
    /// Bytes.
    pub bytes: u64,
    /// `xxh3-128:<hex>` of the content.
    pub checksum: String,
    /// Requests (shards only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// CRC32C of the content as GCS shows it (base64, big-endian), for files on object stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<String>,
    /// The entity tag the object store reported after the upload (a re-run compares it instead
    /// of downloading the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

/// Counts of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counts {
    /// Input lines.
    pub lines: u64,
    /// Blank lines.
    pub blank: u64,
    /// Invalid lines (not sent).
    pub invalid: u64,
    /// Valid lines.
    pub valid: u64,
    /// Unique requests sent.
    pub unique: u64,
    /// Valid lines represented by an earlier identical request.
    pub duplicates: u64,
}

/// Block size of [`content_checksum`].
pub const CHECKSUM_BLOCK: u64 = 16 << 20;

/// `xxh3-128:<hex>` of `data`, computed over 16 MiB blocks in parallel: the xxh3-128 of the
/// concatenated little-endian xxh3-128 digests of the blocks (so it can be computed in parallel
/// and streamed).
pub fn content_checksum(data: &[u8]) -> String {
    use rayon::prelude::*;
    let digests: Vec<u128> = data
        .par_chunks(CHECKSUM_BLOCK as usize)
        .map(xxhash_rust::xxh3::xxh3_128)
        .collect();
    checksum_of_blocks(&digests)
}

/// [`content_checksum`] from the xxh3-128 digests of the content's blocks, in order (for a
/// writer that hashes blocks as it writes them).
pub fn checksum_of_blocks(digests: &[u128]) -> String {
    let bytes: Vec<u8> = digests.iter().flat_map(|d| d.to_le_bytes()).collect();
    format!("xxh3-128:{:032x}", xxhash_rust::xxh3::xxh3_128(&bytes))
}
