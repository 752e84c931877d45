//! Writing a file atomically: write to a temporary name beside it, then rename over the target.
//! A reader never sees a half-written file, and an interrupted write leaves only a `.tmp` file,
//! which the next run replaces.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A file being written under a temporary name; [`commit`](Self::commit) publishes it.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
}

impl AtomicFile {
    /// Starts writing `target` (as `target` + `.<pid>.tmp`).
    pub fn create(target: &Path) -> Result<AtomicFile> {
        let mut name = target.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{}.tmp", std::process::id()));
        let temp = target.with_file_name(name);
        let file = File::create(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            temp,
            file: Some(file),
        })
    }

    /// The temporary file's path (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The open temporary file.
    pub fn writer(&self) -> &File {
        self.file.as_ref().expect("invariant: present until commit")
    }

    /// Flushes and renames the temporary file onto the target, without forcing it to disk.
    ///
    /// Readers never see a partial file. After a power loss the content may still be lost; the
    /// run's manifest records a checksum of every file, and a re-run verifies them, so that is
    /// caught. Use [`commit_durable`](Self::commit_durable) for the file that marks completion.
    pub fn commit(self) -> Result<()> {
        self.finish(false)
    }

    /// Like [`commit`](Self::commit), but syncs the content to disk before the rename.
    pub fn commit_durable(self) -> Result<()> {
        self.finish(true)
    }

    fn finish(mut self, durable: bool) -> Result<()> {
        let mut file = self.file.take().expect("invariant: present until commit");
        file.flush().map_err(|e| Error::io(&self.temp, e))?;
        if durable {
            file.sync_all().map_err(|e| Error::io(&self.temp, e))?;
        }
        drop(file);
        std::fs::rename(&self.temp, &self.target).map_err(|e| Error::io(&self.target, e))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
