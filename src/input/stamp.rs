//! Noticing that a local input changed while it was read.
//!
//! A mapped input is read in place, so a file edited during a run would send bytes that were
//! never validated. A [`Stamp`] taken before the file is opened holds its device, inode, size,
//! and modification and status-change times in nanoseconds; any write to the file, and any
//! rename over it, changes one of them (the status-change time cannot be set back by a user,
//! unlike the modification time). Comparing the stamp again before a run is published tells
//! whether the bytes read are still the file's.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The identity and times of a local file at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

/// The stamp of the file at `path` now, or `None` for stdin (`-`), URLs and files that cannot be
/// stat'ed (their own open reports that).
pub fn stamp(path: &Path) -> Option<Stamp> {
    if path.as_os_str() == "-" {
        return None;
    }
    let m = std::fs::metadata(path).ok()?;
    m.is_file().then(|| Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        ctime_ns: m.ctime() as i128 * 1_000_000_000 + m.ctime_nsec() as i128,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_of_the_same_length_changes_the_stamp_and_a_read_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.jsonl");
        std::fs::write(&p, b"{\"a\":1}\n").unwrap();
        let before = stamp(&p).unwrap();
        let _ = std::fs::read(&p).unwrap();
        assert_eq!(stamp(&p), Some(before));
        // Same length, and the modification time put back: the status-change time still moves.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(&p, b"{\"a\":2}\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = stamp(&p).unwrap();
        assert_eq!(after.size, before.size);
        assert_eq!(after.mtime_ns, before.mtime_ns);
        assert_ne!(after, before);
        assert_eq!(stamp(Path::new("-")), None);
        assert_eq!(stamp(&dir.path().join("missing")), None);
    }
}
