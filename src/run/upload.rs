//! Publishing a finished local run to an object store (`batchline upload RUN gs://…`).
//!
//! Exact rules:
//! - The source must be a finished run (it has a manifest) and intact (every file has the size
//!   and checksum its manifest records); anything else is refused before a byte is sent.
//! - The destination follows the run rules of [`Run`]: new, empty, or a run; it is locked while
//!   the upload runs; the marker goes first and the manifest last, so a destination without a
//!   manifest is visibly unfinished.
//! - An object already at the destination with the file's size and an entity tag equal to the
//!   one its bytes give (see [`crate::store::verify`]) is skipped, so an interrupted upload
//!   resumes where it stopped and a finished one sends nothing again.
//! - Each object sent is verified against what the store reports, and the destination's
//!   manifest is the source's with each file's CRC32C and entity tag recorded.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use super::manifest::{FileEntry, Manifest};
use super::{Run, MARKER, MARKER_TEXT};
use crate::error::{Error, Result};
use crate::store::verify::{crc32c_b64, md5, multipart_etag, verify_upload};
use crate::store::Durability;

/// What an upload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UploadReport {
    /// Files sent.
    pub uploaded: usize,
    /// Files already at the destination with the same size and tag.
    pub skipped: usize,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// True when the destination was already a complete copy (nothing was sent).
    pub already_done: bool,
}

/// Called with the bytes of each part as it is sent (for progress displays).
pub type Progress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// The entity tag an S3-style store gives these bytes uploaded in parts of `part` bytes (one
/// request, hence a plain MD5, when they fit one part).
fn expected_etag(bytes: &[u8], part: u64) -> String {
    if bytes.len() as u64 <= part {
        md5(bytes).iter().map(|b| format!("{b:02x}")).collect()
    } else {
        let md5s: Vec<[u8; 16]> = bytes.chunks(part as usize).map(md5).collect();
        multipart_etag(&md5s)
    }
}

/// Copies the finished local run `src` to `dest` (see the module doc).
pub fn upload(src: &Run, dest: &Run, progress: Option<Progress>) -> Result<UploadReport> {
    let Some(root) = src.store().local_root().map(|p| p.to_path_buf()) else {
        return Err(Error::Usage(format!(
            "{}: upload publishes a local run; this one is already in an object store",
            src.describe("")
        )));
    };
    let Some(manifest) = src.manifest()? else {
        return Err(Error::Usage(format!(
            "{} is not a finished run (it has no manifest.json): run `batchline prepare … -o {}` first",
            src.describe(""),
            src.describe("")
        )));
    };
    if !src.intact(&manifest)? {
        return Err(Error::Usage(format!(
            "{}: a file of the run does not match its manifest (changed or damaged since prepare): re-run `batchline prepare` on it before uploading",
            src.describe("")
        )));
    }
    let _lock = dest.lock()?;
    let part = dest.cloud().part_size;
    // A complete copy already: the destination's manifest lists the same files with the same
    // checksums, and each object still has its recorded size and tag.
    if let Some(there) = dest.manifest()? {
        let same = |a: &[FileEntry], b: &[FileEntry]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.name == y.name && x.checksum == y.checksum)
        };
        if same(&there.shards, &manifest.shards)
            && same(&there.files, &manifest.files)
            && there.inputs == manifest.inputs
            && dest.intact(&there)?
        {
            return Ok(UploadReport {
                already_done: true,
                skipped: manifest.shards.len() + manifest.files.len(),
                ..UploadReport::default()
            });
        }
    }
    dest.store().put(MARKER, MARKER_TEXT, Durability::Normal)?;
    let uploaded = AtomicUsize::new(0);
    let skipped = AtomicUsize::new(0);
    let sent = AtomicU64::new(0);
    let entries: Mutex<Vec<(usize, FileEntry)>> = Mutex::new(Vec::new());
    let files: Vec<&FileEntry> = manifest.shards.iter().chain(&manifest.files).collect();
    files
        .par_iter()
        .enumerate()
        .try_for_each(|(i, f)| -> Result<()> {
            let path = root.join(&f.name);
            let data = crate::input::open_path(&path, crate::input::MmapChoice::Auto)?;
            let want_tag = expected_etag(&data, part);
            let mut entry = (*f).clone();
            let crc = crc32c::crc32c(&data);
            entry.crc32c = Some(crc32c_b64(crc));
            let there = dest.store().head(&f.name)?;
            let tag = there.as_ref().and_then(|m| m.etag.clone());
            // Present already: the same size, and the same tag or (where the store keeps one,
            // as Cloud Storage does for every object) the same CRC32C.
            let same = match &there {
                Some(m) if m.size == data.len() as u64 => {
                    tag.as_deref()
                        .is_some_and(|t| t.trim_matches('"').eq_ignore_ascii_case(&want_tag))
                        || dest.store().stored_crc32c(&f.name)? == Some(crc)
                }
                _ => false,
            };
            if same {
                entry.etag = tag;
                skipped.fetch_add(1, Ordering::Relaxed);
            } else {
                entry.etag = put_file(dest, &f.name, &data, crc, part, progress.as_ref())?;
                sent.fetch_add(data.len() as u64, Ordering::Relaxed);
                uploaded.fetch_add(1, Ordering::Relaxed);
                super::failpoint("upload-after-a-file");
            }
            entries
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((i, entry));
            Ok(())
        })?;
    let mut entries = entries.into_inner().unwrap_or_else(|p| p.into_inner());
    entries.sort_by_key(|(i, _)| *i);
    let mut out: Manifest = manifest.clone();
    let (shards, files): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .map(|(_, e)| e)
        .partition(|e| e.name.starts_with("shards/"));
    out.shards = shards;
    out.files = files;
    let bytes = serde_json::to_vec_pretty(&out).expect("serialisable");
    dest.publish("manifest.json", &bytes)?;
    Ok(UploadReport {
        uploaded: uploaded.into_inner(),
        skipped: skipped.into_inner(),
        bytes_sent: sent.into_inner(),
        already_done: false,
    })
}

/// Sends one file (one request, or parts in parallel) and verifies it; returns the tag.
fn put_file(
    dest: &Run,
    name: &str,
    data: &[u8],
    crc32c: u32,
    part: u64,
    progress: Option<&Progress>,
) -> Result<Option<String>> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(part as usize).collect()
    };
    let md5s: Vec<[u8; 16]> = chunks.iter().map(|c| md5(c)).collect();
    if chunks.len() == 1 {
        dest.store().put(name, data, Durability::Normal)?;
    } else {
        let upload = dest
            .store()
            .upload(name, dest.cloud())?
            .expect("invariant: object stores take uploads");
        for (k, c) in chunks.iter().enumerate() {
            upload.put_part(k, c.to_vec());
            if let Some(p) = progress {
                p(c.len() as u64);
            }
        }
        upload.finish(chunks.len())?;
    }
    if chunks.len() == 1 {
        if let Some(p) = progress {
            p(data.len() as u64);
        }
    }
    let head = verify_upload(dest.store(), name, data.len() as u64, &md5s, crc32c)?;
    Ok(head.etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_tags_follow_the_part_size() {
        // One part: the plain MD5 of the bytes (RFC 1321: "abc").
        assert_eq!(
            expected_etag(b"abc", 16),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        // Two parts of 2 and 1 bytes: MD5(MD5("ab") ‖ MD5("c"))-2.
        assert_eq!(
            expected_etag(b"abc", 2),
            multipart_etag(&[md5(b"ab"), md5(b"c")])
        );
    }
}
