//! The run: the unit of state that `prepare` writes and later commands pick up, on any store.
//!
//! [`Run`] owns every run-folder rule, the same on a local folder and on an object-store prefix
//! (`docs/run-format.md` is the specification):
//! - **Whose folder.** A run is written only into a new or empty folder/prefix, or into a run
//!   (it holds the marker [`MARKER`] or `manifest.json`). Anything else is refused before anything
//!   is read ([`Run::check_writable`]).
//! - **Marker first, manifest last.** The marker is written before anything else, the manifest
//!   after everything else: a run without a manifest is visibly unfinished.
//! - **One writer.** Locally, an exclusive `flock` on the marker; on object stores, a lock object
//!   [`LOCK`] created only if absent, holding its expiry, refreshed while the writer lives and
//!   taken over once expired (so a crashed writer blocks the run for at most [`LOCK_TTL`]).
//! - **Only our names are removed** ([`is_owned_name`]): starting a half-written run clean
//!   removes the files `prepare` writes and their temporary names, nothing else.
//! - **Intact.** A finished run is intact when every file the manifest lists has its recorded
//!   size and checksum (locally, by reading it; on object stores, by the size and entity tag the
//!   store reports, without downloading) and no shard file lies beside them unlisted.
//!
//! The binary index and the manifest have modules of their own.

pub mod families;
pub mod index;
pub mod manifest;
pub mod state;
pub mod upload;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::store::{CloudConfig, Durability, Location, Meta, Store};
use manifest::{content_checksum, FileEntry, Manifest};

/// The object that marks a folder as a batchline run; written before anything else.
pub const MARKER: &str = ".batchline-run";

/// The marker's content (the same in every run, so runs stay byte-identical).
pub const MARKER_TEXT: &[u8] = b"batchline run folder (format 2); see docs/run-format.md\n";

/// The lock object of a run on an object store (local runs lock the marker instead).
pub const LOCK: &str = ".batchline-lock";

/// How long a remote lock holds without being refreshed.
pub const LOCK_TTL: Duration = Duration::from_secs(600);

/// The files `prepare` writes at the top of a run (besides the marker and the shards).
pub const RUN_FILES: [&str; 5] = [
    "manifest.json",
    "index.bin",
    "invalid.jsonl",
    "report.json",
    "families.bin",
];

/// A run folder or prefix, and its store.
#[derive(Debug)]
pub struct Run {
    store: Store,
    cloud: CloudConfig,
}

/// Holds a run for one writer; released on drop.
pub struct RunLock {
    _local: Option<std::fs::File>,
    remote: Option<RemoteLock>,
}

struct RemoteLock {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some(r) = &mut self.remote {
            r.stop.store(true, Ordering::Relaxed);
            if let Some(t) = r.thread.take() {
                t.thread().unpark();
                let _ = t.join();
            }
        }
    }
}

/// True for the names `prepare` writes in a run, relative to its root: [`RUN_FILES`], the
/// marker, the lock, `shards/shard-<digits>.jsonl`, and their temporary names
/// (`NAME.<pid>.tmp`).
pub fn is_owned_name(name: &str) -> bool {
    match name.strip_prefix("shards/") {
        Some(shard) => is_shard_name(shard),
        None => RUN_FILES.iter().chain([&MARKER, &LOCK]).any(|f| {
            name == *f
                || name
                    .strip_prefix(f)
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(is_temp_suffix)
        }),
    }
}

/// `shard-<digits>.jsonl` and its temporary `shard-<digits>.jsonl.<pid>.tmp`.
fn is_shard_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("shard-") else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && {
        let tail = &rest[digits..];
        tail == ".jsonl" || tail.strip_prefix(".jsonl.").is_some_and(is_temp_suffix)
    }
}

/// `<pid>.tmp`, the suffix of [`crate::store::atomic::AtomicFile`]'s temporary names.
fn is_temp_suffix(s: &str) -> bool {
    s.strip_suffix(".tmp")
        .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// Test hook: when `BATCHLINE_FAILPOINT` names this point, the process aborts here, as if
/// killed, so tests can check that a re-run repairs or resumes a half-written run.
pub(crate) fn failpoint(name: &str) {
    if std::env::var_os("BATCHLINE_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("batchline: failpoint {name}: aborting");
        std::process::abort();
    }
}

/// The usage error for a run folder that cannot be written (read-only, or not permitted).
fn not_writable(root: &std::path::Path, e: std::io::Error) -> Error {
    Error::Usage(format!(
        "cannot write the run folder {}: {e}; choose a run folder this user can write",
        root.display()
    ))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Run {
    /// The run at `location` (nothing is read or written yet).
    pub fn open(location: &Location, cloud: &CloudConfig) -> Result<Run> {
        Ok(Run {
            store: Store::open(location, cloud)?,
            cloud: cloud.clone(),
        })
    }

    /// Where the run is.
    pub fn location(&self) -> &Location {
        self.store.location()
    }

    /// The run's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The storage settings the run was opened with.
    pub fn cloud(&self) -> &CloudConfig {
        &self.cloud
    }

    /// `name` as the user can open it (the run's path or URL joined).
    pub fn describe(&self, name: &str) -> String {
        self.store.describe(name)
    }

    /// True when the run is on the local filesystem.
    pub fn is_local(&self) -> bool {
        self.store.local_root().is_some()
    }

    /// Refuses a location that is not a run and not new or empty (an empty `shards/` folder
    /// allowed); see the module doc. Checked before the scan and again under the lock.
    pub fn check_writable(&self) -> Result<()> {
        if let Some(root) = self.store.local_root() {
            match std::fs::metadata(root) {
                Ok(m) if !m.is_dir() => {
                    return Err(Error::Usage(format!(
                        "the run folder {} exists and is not a folder; choose a new run folder",
                        root.display()
                    )))
                }
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                    ) =>
                {
                    // A dangling symlink, or a parent that cannot hold a folder: say so now,
                    // not after the scan.
                    if std::fs::symlink_metadata(root).is_ok() {
                        return Err(Error::Usage(format!(
                            "the run folder {} is a symbolic link to nothing; remove it or choose another run folder",
                            root.display()
                        )));
                    }
                    // The folder will be created: its nearest existing ancestor must be a folder.
                    let mut missing = root;
                    let mut up = root.parent();
                    while let Some(dir) = up.filter(|d| !d.as_os_str().is_empty()) {
                        match std::fs::metadata(dir) {
                            Ok(m) if m.is_dir() => break,
                            Ok(_) => {
                                return Err(Error::Usage(format!(
                                    "cannot make the run folder {}: {} is a file, not a folder",
                                    root.display(),
                                    dir.display()
                                )))
                            }
                            Err(_) => {
                                missing = dir;
                                up = dir.parent();
                            }
                        }
                    }
                    // And it must take a new folder: make the outermost missing one and remove
                    // it again (it was empty, and ours), so a read-only place is refused now.
                    return match std::fs::create_dir(missing) {
                        Ok(()) => {
                            let _ = std::fs::remove_dir(missing);
                            Ok(())
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                        Err(e) => Err(not_writable(root, e)),
                    };
                }
                Err(e) => return Err(Error::io(root, e)),
            }
        }
        let marked = self.store.head(MARKER)?.is_some();
        let finished = self.store.head("manifest.json")?.is_some();
        if !marked && !finished {
            let all = self.store.list_all("")?;
            // The lock is ours too: another writer that has just taken it has not written the
            // marker yet, and must be met with "held by another", not "not a run". The marker
            // itself may have appeared since the look above (that writer wrote it meanwhile).
            if let Some(other) = all
                .iter()
                .find(|n| n.as_str() != "shards/" && n.as_str() != LOCK && n.as_str() != MARKER)
            {
                return Err(Error::Usage(format!(
                    "{} is not a batchline run folder (it holds {}, and no {MARKER} or manifest.json); prepare writes only into a new or empty folder or into a run it made, and never removes files it did not write: choose another run folder",
                    self.describe(""),
                    self.describe(other.trim_end_matches('/')),
                )));
            }
        }
        // An empty folder or an unfinished run will be written: it must take a new file (the
        // marker's temporary name, an owned name, made and removed at once), so a read-only
        // folder is refused now. A finished run is left alone (a re-run may have nothing to do).
        if let Some(root) = self.store.local_root().filter(|_| !finished) {
            let probe = root.join(format!("{MARKER}.{}.tmp", std::process::id()));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&probe)
            {
                Ok(_) => {
                    let _ = std::fs::remove_file(&probe);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(not_writable(root, e)),
            }
        }
        Ok(())
    }

    /// The run's manifest, if it has one. A manifest that does not parse (a crash between its
    /// rename and the disk, say) makes a marked run half-written, to be rebuilt; without the
    /// marker it is someone else's `manifest.json`, and the location is refused.
    pub fn manifest(&self) -> Result<Option<Manifest>> {
        let Some(bytes) = self.store.get("manifest.json")? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Manifest>(&bytes) {
            Ok(m) => Ok(Some(m)),
            Err(e) => {
                if self.store.head(MARKER)?.is_some() {
                    Ok(None)
                } else {
                    Err(Error::Usage(format!(
                        "{} is not a batchline run folder: {} is not a batchline manifest (not a batchline manifest: {e}) and there is no {MARKER}; choose another run folder",
                        self.describe(""),
                        self.describe("manifest.json"),
                    )))
                }
            }
        }
    }

    /// Takes the run for this process: checks it is writable, writes the marker, and locks it
    /// (see the module doc) until the returned lock is dropped. Refuses a run another writer
    /// holds (a usage error: wait, or choose another run).
    pub fn lock(&self) -> Result<RunLock> {
        self.check_writable()?;
        match self.store.local_root() {
            Some(root) => self.lock_local(root),
            None => self.lock_remote(),
        }
    }

    fn lock_local(&self, root: &std::path::Path) -> Result<RunLock> {
        use std::io::{Read, Seek, Write};
        std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        let path = root.join(MARKER);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(self.held_by_another(None)),
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| Error::io(&path, e))?;
        if text != MARKER_TEXT {
            // New, or cut short by a crash: write the fixed text in place (the lock stays on
            // this file, so it is not replaced by a rename).
            file.set_len(0).map_err(|e| Error::io(&path, e))?;
            file.rewind().map_err(|e| Error::io(&path, e))?;
            file.write_all(MARKER_TEXT)
                .map_err(|e| Error::io(&path, e))?;
        }
        Ok(RunLock {
            _local: Some(file),
            remote: None,
        })
    }

    fn held_by_another(&self, detail: Option<String>) -> Error {
        Error::Usage(format!(
            "another batchline process is writing {} now{}; wait for it, or choose another run",
            self.describe(""),
            detail.map_or(String::new(), |d| format!(" ({d})"))
        ))
    }

    fn lock_body(owner: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "owner": owner,
            "expires_unix": unix_now() + LOCK_TTL.as_secs(),
        }))
        .expect("serialisable")
    }

    fn lock_remote(&self) -> Result<RunLock> {
        let owner = format!(
            "{}:{}:{:x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into()),
            std::process::id(),
            unix_now() ^ (std::process::id() as u64) << 32
        );
        let mut seen = match self.store.put_new(LOCK, &Self::lock_body(&owner))? {
            Some(m) => m,
            None => {
                // Someone holds it, or held it and crashed: take it over only once expired,
                // and only if nobody else did meanwhile (a conditional write on its version).
                let (meta, bytes) = match (self.store.head(LOCK)?, self.store.get(LOCK)?) {
                    (Some(m), Some(b)) => (m, b),
                    _ => return Err(self.held_by_another(Some("the lock changed hands".into()))),
                };
                let held: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let expires = held["expires_unix"].as_u64().unwrap_or(0);
                if expires > unix_now() {
                    return Err(self.held_by_another(Some(format!(
                        "{} is held by {} for {} s more unless refreshed",
                        self.describe(LOCK),
                        held["owner"].as_str().unwrap_or("?"),
                        expires - unix_now()
                    ))));
                }
                match self.store.put_if(LOCK, &Self::lock_body(&owner), &meta)? {
                    Some(m) => m,
                    None => return Err(self.held_by_another(Some("the lock changed hands".into()))),
                }
            }
        };
        self.store.put(MARKER, MARKER_TEXT, Durability::Normal)?;
        // Refresh the lock while this process writes; stop on drop.
        let stop = Arc::new(AtomicBool::new(false));
        let refresher = {
            let stop = stop.clone();
            let store = Store::open(self.location(), &self.cloud)?;
            std::thread::Builder::new()
                .name("batchline-lock".into())
                .spawn(move || {
                    let every = LOCK_TTL / 4;
                    loop {
                        std::thread::park_timeout(every);
                        if stop.load(Ordering::Relaxed) {
                            let _ = store.delete(LOCK);
                            return;
                        }
                        match store.put_if(LOCK, &Self::lock_body(&owner), &seen) {
                            Ok(Some(m)) => seen = m,
                            // Lost (taken over after expiry) or unreachable: the writer's own
                            // requests fail or finish; nothing to do here but stop refreshing.
                            _ => return,
                        }
                    }
                })
                .map_err(|e| Error::io("batchline-lock thread", e))?
        };
        Ok(RunLock {
            _local: None,
            remote: Some(RemoteLock {
                stop,
                thread: Some(refresher),
            }),
        })
    }

    /// Removes what an unfinished writer may have left (the names `prepare` writes and their
    /// temporary names, except the marker and the lock), leaving everything else. Call under
    /// the lock.
    pub fn start_clean(&self) -> Result<()> {
        if let Some(root) = self.store.local_root() {
            let dir = root.join("shards");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        for dir in ["", "shards"] {
            for (name, _) in self.store.list(dir)? {
                if is_owned_name(&name) && name != MARKER && name != LOCK {
                    self.store.delete(&name)?;
                }
            }
        }
        Ok(())
    }

    /// True when every file the manifest lists is present with its recorded size and checksum,
    /// and no shard lies beside them unlisted (a stale one would be sent with the others).
    /// Local files are read (mapped) and checksummed; objects are judged by the size and entity
    /// tag the store reports, without downloading.
    pub fn intact(&self, m: &Manifest) -> Result<bool> {
        let listed: std::collections::HashSet<&str> =
            m.shards.iter().map(|f| f.name.as_str()).collect();
        let present = self.store.list("shards")?;
        if present
            .iter()
            .any(|(n, _)| is_owned_name(n) && !listed.contains(n.as_str()))
        {
            return Ok(false);
        }
        let metas: std::collections::HashMap<&str, &Meta> =
            present.iter().map(|(n, m)| (n.as_str(), m)).collect();
        for f in m.shards.iter().chain(&m.files) {
            let ok = match self.store.local_root() {
                Some(root) => {
                    crate::input::open_path(&root.join(&f.name), crate::input::MmapChoice::Auto)
                        .map(|b| b.len() as u64 == f.bytes && content_checksum(&b) == f.checksum)
                        .unwrap_or(false)
                }
                None => {
                    let meta = match metas.get(f.name.as_str()) {
                        Some(m) => Some((*m).clone()),
                        None => self.store.head(&f.name)?,
                    };
                    meta.is_some_and(|meta| {
                        meta.size == f.bytes
                            && match (&f.etag, &meta.etag) {
                                (Some(want), Some(got)) => want == got,
                                (None, _) => true,
                                (Some(_), None) => false,
                            }
                    })
                }
            };
            if !ok {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads a file of the run, `None` when it is missing.
    pub fn read(&self, name: &str) -> Result<Option<Vec<u8>>> {
        self.store.get(name)
    }

    /// Writes `name` whole and returns its manifest entry. The manifest is synced before it is
    /// published: it marks the run complete, and every other file is verified against it.
    pub fn publish(&self, name: &str, bytes: &[u8]) -> Result<FileEntry> {
        let durability = if name == "manifest.json" {
            Durability::Synced
        } else {
            Durability::Normal
        };
        let meta = self.store.put(name, bytes, durability)?;
        let mut entry = FileEntry {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            checksum: content_checksum(bytes),
            requests: None,
            crc32c: None,
            etag: None,
        };
        if !self.is_local() {
            crate::store::verify::check_put(&self.describe(name), bytes, &meta)?;
            entry.crc32c = Some(crate::store::verify::crc32c_b64(crc32c::crc32c(bytes)));
            entry.etag = meta.etag;
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_names_are_exactly_what_prepare_writes() {
        for name in [
            "shards/shard-00000.jsonl",
            "shards/shard-123456.jsonl",
            "shards/shard-00003.jsonl.4242.tmp",
            "manifest.json",
            "index.bin",
            "invalid.jsonl",
            "report.json",
            "families.bin",
            ".batchline-run",
            ".batchline-lock",
            "index.bin.77.tmp",
            ".batchline-run.5.tmp",
        ] {
            assert!(is_owned_name(name), "{name}");
        }
        for name in [
            "shards/shard-.jsonl",
            "shards/shard-00001.json",
            "shards/shard-00001.jsonl.tmp",
            "shards/shard-00001.jsonl.x1.tmp",
            "shards/shard-00001.jsonl.12.tmp.bak",
            "shards/myshard-00001.jsonl",
            "shards/shard-0001a.jsonl",
            "shard-00000.jsonl",
            "notes.txt",
            "report.json.bak",
            "index.bin.tmp",
            "index.binx.7.tmp",
            "manifest.json.7.tmp.old",
            "shards/manifest.json",
        ] {
            assert!(!is_owned_name(name), "{name}");
        }
    }
}
