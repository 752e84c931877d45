//! Inputs on object stores (`gs://`, `s3://`, `memory://`) and HTTP(S): expanding prefixes and
//! globs to objects, and fetching an object into a local spill file that is then mapped like a
//! local input, so the scan has one hot path whatever the input's home.
//!
//! The fetch:
//! - `head` first (size, entity tag, generation), then the free space of the spill folder is
//!   checked against the size before a byte is written;
//! - the object is read as ranges of [`CloudConfig::part_size`] bytes, at most
//!   [`CloudConfig::parts_in_flight`] in flight (memory: their product), each written at its
//!   offset in an unnamed file in the spill folder;
//! - every range is asked for on condition that the object is still the version the `head` saw
//!   (`If-Match` on the entity tag, and the generation on GCS); a second `head` after the last
//!   range must agree too. An object that changed is an error (exit 3), never a silently mixed
//!   or truncated input;
//! - the spill file has no name (`O_TMPFILE`, or created and unlinked at once), so it is gone when
//!   the input is dropped, on error, and even when the process is killed.
//!
//! Patterns (`gs://b/in/*.jsonl`, `gs://b/in/`) are expanded by [`expand_inputs`] before
//! anything is read; see its doc for the exact rules.

use std::fs::File;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::mmap::{bytes_of_file, open_input, InputBytes, MmapChoice};
use super::InputName;
use crate::error::{Error, Result};
use crate::store::{url_scheme, CloudConfig, Location, Meta, Store};

/// What a download reports as it goes (for a progress bar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadEvent {
    /// A download of `size` bytes from `url` starts.
    Start {
        /// The object.
        url: String,
        /// Its size.
        size: u64,
    },
    /// `n` more bytes are in the spill file.
    Advance(u64),
    /// The download ended (done or failed).
    Finish,
}

/// A download progress callback.
pub type DownloadProgress = Arc<dyn Fn(DownloadEvent) + Send + Sync>;

/// How remote inputs are reached and where they are spilled.
#[derive(Clone, Default)]
pub struct RemoteOptions {
    /// Endpoints, credentials, retries; `part_size` and `parts_in_flight` size the ranged reads.
    pub cloud: CloudConfig,
    /// Folder for spill files; `None`: `$BATCHLINE_SPILL_DIR`, else the system temp folder.
    pub spill_dir: Option<PathBuf>,
    /// Called as downloads progress.
    pub progress: Option<DownloadProgress>,
}

impl RemoteOptions {
    /// The spill folder in use: the option, else `$BATCHLINE_SPILL_DIR` (when not empty), else
    /// the system temp folder.
    pub fn spill_dir(&self) -> PathBuf {
        self.spill_dir
            .clone()
            .or_else(|| {
                std::env::var_os("BATCHLINE_SPILL_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(std::env::temp_dir)
    }
}

/// Which object an input was read from: the version whose bytes were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectIdentity {
    /// The object's URL.
    pub url: String,
    /// Bytes.
    pub size: u64,
    /// The entity tag the store reported, if any.
    pub etag: Option<String>,
    /// The generation (GCS) or version the store reported, if any.
    pub generation: Option<String>,
}

/// One opened input: its bytes, and for an object, which version they are.
pub struct Input {
    /// The bytes (a remote object's spill file is mapped like a local file).
    pub bytes: InputBytes,
    /// The object read, for remote inputs; `None` for local files and stdin.
    pub object: Option<ObjectIdentity>,
}

impl Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// True for names that [`expand_inputs`] expands: an object-store URL ending in `/` or holding
/// `*` or `?`.
pub fn is_pattern(name: &str) -> bool {
    match url_scheme(name).map(|s| s.to_ascii_lowercase()) {
        Some(s) if matches!(s.as_str(), "gs" | "s3" | "s3a" | "memory") => {
            let rest = &name[s.len() + 3..];
            name.ends_with('/') || rest.contains(['*', '?'])
        }
        _ => false,
    }
}

/// Replaces each pattern among `names` by the objects it matches, in lexical (byte) order of
/// their names; other names are kept as they are, in place.
///
/// - `gs://b/in/` (a prefix ending in `/`): the objects directly under `in/` (not those in
///   deeper "folders"), e.g. `gs://b/in/a.jsonl` but not `gs://b/in/old/a.jsonl`.
/// - `*` matches any run of characters and `?` one character, within one `/`-separated segment:
///   `gs://b/in/*.jsonl` matches `gs://b/in/x.jsonl`, not `gs://b/in/sub/x.jsonl`. Wildcards may
///   stand in any segment after the bucket (`gs://b/*/part-?.jsonl`). There is no escape, no
///   `**`, no `[…]` or `{…}`.
/// - HTTP(S) URLs are never patterns (`?` starts their query).
///
/// A pattern that matches no object is a usage error naming it; a missing bucket or a refused
/// listing is a remote error (exit 3).
pub fn expand_inputs(names: &[InputName], opts: &RemoteOptions) -> Result<Vec<InputName>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        if !name.is_utf8() || !is_pattern(name) {
            out.push(name.clone());
            continue;
        }
        let found = expand_one(name, opts)?;
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "{name}: matches no object (nothing to read)"
            )));
        }
        out.extend(found.into_iter().map(InputName::from));
    }
    Ok(out)
}

fn expand_one(name: &str, opts: &RemoteOptions) -> Result<Vec<String>> {
    let Location::Object { scheme, bucket, .. } = Location::parse(name)? else {
        unreachable!("invariant: a pattern is an object-store URL")
    };
    let scheme_len = url_scheme(name).map_or(0, str::len);
    let after_bucket = name[scheme_len + 3..]
        .split_once('/')
        .map_or("", |(_, rest)| rest);
    let root = Location::Object {
        scheme,
        bucket,
        prefix: String::new(),
    };
    let store = Store::open(&root, &opts.cloud)?;
    let (dir, segments) = if name.ends_with('/') {
        let folder = after_bucket.strip_suffix('/').unwrap_or(after_bucket);
        if folder.contains(['*', '?']) {
            return Err(Error::Usage(format!(
                "{name}: a prefix ending in `/` cannot hold `*` or `?`; write a glob such as {name}*"
            )));
        }
        (folder.to_string(), None)
    } else {
        let segs: Vec<&str> = after_bucket.split('/').collect();
        let Some(first_wild) = segs.iter().position(|s| s.contains(['*', '?'])) else {
            return Err(Error::Usage(format!(
                "{name}: `*` and `?` are not supported in bucket names; name the bucket"
            )));
        };
        (segs[..first_wild].join("/"), Some(segs))
    };
    // A failed listing names the pattern the user wrote, not the prefix listed.
    let name_it = |e: Error| match e {
        Error::Remote { message, .. } => Error::Remote {
            url: name.to_string(),
            message,
        },
        other => other,
    };
    let mut keys: Vec<String> = match &segments {
        None => store
            .list(&dir)
            .map_err(name_it)?
            .into_iter()
            .map(|(n, _)| n)
            .collect(),
        Some(segs) => store
            .list_all(&dir)
            .map_err(name_it)?
            .into_iter()
            .filter(|key| {
                let parts: Vec<&str> = key.split('/').collect();
                parts.len() == segs.len() && parts.iter().zip(segs).all(|(p, s)| glob_match(s, p))
            })
            .collect(),
    };
    // Zero-byte "folder" placeholders some tools create are not inputs.
    keys.retain(|k| !k.ends_with('/') && !k.is_empty());
    keys.sort();
    keys.dedup();
    Ok(keys.iter().map(|k| store.describe(k)).collect())
}

/// `*` (any run) and `?` (one character) over one segment; everything else literal.
fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matcher with one backtrack point: linear in practice, no recursion.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Opens one input: stdin (`-`), a local path or `file://` URL (mapped or read by `choice`), or
/// an object or HTTP(S) URL (fetched into a spill file, then mapped or read by `choice`).
/// Patterns must be expanded first ([`expand_inputs`]).
pub fn open(name: &str, choice: MmapChoice, opts: &RemoteOptions) -> Result<Input> {
    if name == "-" || url_scheme(name).is_none() {
        return Ok(Input {
            bytes: open_input(name, choice)?,
            object: None,
        });
    }
    if is_pattern(name) {
        return Err(Error::Usage(format!(
            "{name}: a pattern, not one object; expand it first (input::expand_inputs)"
        )));
    }
    match Location::parse(name)? {
        Location::Local(p) => {
            let path = p.to_string_lossy().into_owned();
            Ok(Input {
                bytes: open_input(&path, choice)?,
                object: None,
            })
        }
        Location::Object {
            scheme,
            bucket,
            prefix,
        } => {
            let root = Location::Object {
                scheme,
                bucket,
                prefix: String::new(),
            };
            let store = Store::open(&root, &opts.cloud)?;
            fetch(&store, &prefix, name, choice, opts)
        }
        loc @ Location::Http(_) => {
            let store = Store::open(&loc, &opts.cloud)?;
            fetch(&store, "", name, choice, opts)
        }
    }
}

/// Opens the input `name` as [`open`] does; a name that is not UTF-8 is a local path (URLs are
/// text).
pub fn open_name(name: &InputName, choice: MmapChoice, opts: &RemoteOptions) -> Result<Input> {
    if name.is_utf8() {
        return open(name, choice, opts);
    }
    Ok(Input {
        bytes: super::mmap::open_path(name.path(), choice)?,
        object: None,
    })
}

/// Fetches object `key` of `store` (written by the user as `url`) into a spill file.
fn fetch(
    store: &Store,
    key: &str,
    url: &str,
    choice: MmapChoice,
    opts: &RemoteOptions,
) -> Result<Input> {
    let seen = store.head(key)?.ok_or_else(|| Error::Remote {
        url: url.to_string(),
        message: "not found: no such object (or no such bucket); check the name".into(),
    })?;
    let dir = opts.spill_dir();
    check_free_space(&dir, seen.size)?;
    let file = tempfile::tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    #[cfg(debug_assertions)]
    test_hook_hold(url);
    if let Some(p) = &opts.progress {
        p(DownloadEvent::Start {
            url: url.to_string(),
            size: seen.size,
        });
    }
    let read = read_ranges(store, key, url, &seen, &file, &dir, opts);
    if let Some(p) = &opts.progress {
        p(DownloadEvent::Finish);
    }
    read?;
    match store.head(key)? {
        Some(after) if same_version(&seen, &after) => {}
        _ => return Err(changed(url, &seen)),
    }
    // Named by its URL in messages (the spill file itself has no name).
    let bytes = bytes_of_file(file, true, seen.size, choice, Path::new(url))?;
    Ok(Input {
        bytes,
        object: Some(ObjectIdentity {
            url: url.to_string(),
            size: seen.size,
            etag: seen.etag,
            generation: seen.version,
        }),
    })
}

fn same_version(a: &Meta, b: &Meta) -> bool {
    a.size == b.size && a.etag == b.etag && a.version == b.version
}

fn changed(url: &str, seen: &Meta) -> Error {
    let mut was = format!("{} bytes", seen.size);
    if let Some(g) = &seen.version {
        was.push_str(&format!(", generation {g}"));
    }
    if let Some(e) = &seen.etag {
        was.push_str(&format!(", etag {e}"));
    }
    Error::Remote {
        url: url.to_string(),
        message: format!(
            "the object changed while it was read (it was {was}); nothing was used, run again once it is stable"
        ),
    }
}

/// Reads every range into `file`: `parts_in_flight` threads take ranges in order, each blocking
/// on one request at a time, so at most that many ranges are in memory.
fn read_ranges(
    store: &Store,
    key: &str,
    url: &str,
    seen: &Meta,
    file: &File,
    dir: &Path,
    opts: &RemoteOptions,
) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let size = seen.size;
    let step = opts.cloud.part_size.max(1);
    let ranges = size.div_ceil(step);
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let workers = opts.cloud.parts_in_flight.clamp(1, ranges.max(1) as usize);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let fail = |e: Error| {
                    stop.store(true, Ordering::Relaxed);
                    let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    first.get_or_insert(e);
                };
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ranges {
                        break;
                    }
                    let range = i * step..((i + 1) * step).min(size);
                    let want = range.end - range.start;
                    let bytes = match store.get_range_if(key, range.clone(), seen) {
                        Ok(Some(b)) if b.len() as u64 == want => b,
                        Ok(_) => return fail(changed(url, seen)),
                        Err(e) => return fail(e),
                    };
                    if let Err(e) = file.write_all_at(&bytes, range.start) {
                        return fail(Error::io(dir, e));
                    }
                    if let Some(p) = &opts.progress {
                        p(DownloadEvent::Advance(want));
                    }
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Refuses a spill folder without room for `need` bytes, before anything is written.
fn check_free_space(dir: &Path, need: u64) -> Result<()> {
    let free = free_bytes(dir)?;
    if free < need {
        return Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                format!(
                    "the spill folder has {free} bytes free, {need} are needed to download the input; free some space or pick another folder with --spill-dir (or BATCHLINE_SPILL_DIR)"
                ),
            ),
        ));
    }
    Ok(())
}

fn free_bytes(dir: &Path) -> Result<u64> {
    // Test hook (debug builds only): where a test cannot mount a small filesystem.
    #[cfg(debug_assertions)]
    if let Some(n) = std::env::var("BATCHLINE_TEST_SPILL_FREE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Ok(n);
    }
    let st = rustix::fs::statvfs(dir).map_err(|e| Error::io(dir, e.into()))?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// Test hook (debug builds only): with `BATCHLINE_TEST_HOLD_READ=DIR`, after the `head` and
/// before the first range, create `DIR/held` (holding the URL) and wait up to 60 s for
/// `DIR/release`, so a test can change the object in between.
#[cfg(debug_assertions)]
fn test_hook_hold(url: &str) {
    let Some(dir) = std::env::var_os("BATCHLINE_TEST_HOLD_READ") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let _ = std::fs::write(dir.join("held"), url);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !dir.join("release").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_segments_match_star_and_question_mark_only() {
        for (p, t, want) in [
            ("*.jsonl", "a.jsonl", true),
            ("*.jsonl", ".jsonl", true),
            ("*.jsonl", "a.json", false),
            ("part-?.jsonl", "part-1.jsonl", true),
            ("part-?.jsonl", "part-10.jsonl", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*", "", true),
            ("[ab]", "a", false),
            ("[ab]", "[ab]", true),
        ] {
            assert_eq!(glob_match(p, t), want, "{p} ~ {t}");
        }
    }

    #[test]
    fn patterns_are_object_urls_with_a_wildcard_or_a_trailing_slash() {
        for (name, want) in [
            ("gs://b/in/*.jsonl", true),
            ("gs://b/in/", true),
            ("s3://b/in/part-?.jsonl", true),
            ("memory://m/x/", true),
            ("gs://b/in/a.jsonl", false),
            ("https://h/a.jsonl?x=1", false),
            ("https://h/dir/", false),
            ("in/*.jsonl", false),
            ("-", false),
        ] {
            assert_eq!(is_pattern(name), want, "{name}");
        }
    }

    #[test]
    fn memory_inputs_expand_in_lexical_order_and_fetch_whole() {
        let opts = RemoteOptions {
            cloud: CloudConfig {
                part_size: 7,
                parts_in_flight: 3,
                ..CloudConfig::default()
            },
            ..RemoteOptions::default()
        };
        let root = Store::open(
            &Location::parse("memory://remote-unit").unwrap(),
            &opts.cloud,
        )
        .unwrap();
        let body: Vec<u8> = (0..100u8).collect();
        for k in [
            "in/b.jsonl",
            "in/a.jsonl",
            "in/c.txt",
            "in/sub/d.jsonl",
            "top.jsonl",
        ] {
            root.put(k, &body, crate::store::Durability::Normal)
                .unwrap();
        }
        let names = |v: &[&str]| v.iter().map(|&s| InputName::from(s)).collect::<Vec<_>>();
        assert_eq!(
            expand_inputs(&names(&["memory://remote-unit/in/*.jsonl", "x"]), &opts).unwrap(),
            names(&[
                "memory://remote-unit/in/a.jsonl",
                "memory://remote-unit/in/b.jsonl",
                "x"
            ])
        );
        assert_eq!(
            expand_inputs(&names(&["memory://remote-unit/in/"]), &opts).unwrap(),
            names(&[
                "memory://remote-unit/in/a.jsonl",
                "memory://remote-unit/in/b.jsonl",
                "memory://remote-unit/in/c.txt"
            ])
        );
        assert_eq!(
            expand_inputs(&names(&["memory://remote-unit/*/?.jsonl"]), &opts).unwrap(),
            names(&[
                "memory://remote-unit/in/a.jsonl",
                "memory://remote-unit/in/b.jsonl"
            ])
        );
        assert_eq!(
            expand_inputs(&names(&["memory://remote-unit/"]), &opts).unwrap(),
            names(&["memory://remote-unit/top.jsonl"]),
            "the bucket's root"
        );
        for (pattern, says) in [
            (
                "memory://remote-*/in/a.jsonl",
                "not supported in bucket names",
            ),
            ("memory://remote-unit/i*/", "cannot hold `*` or `?`"),
        ] {
            let e = expand_inputs(&names(&[pattern]), &opts)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(pattern) && e.contains(says), "{e}");
        }
        let err = expand_inputs(&names(&["memory://remote-unit/in/*.csv"]), &opts).unwrap_err();
        assert_eq!(
            err.to_string(),
            "memory://remote-unit/in/*.csv: matches no object (nothing to read)"
        );
        // 100 bytes in ranges of 7 by 3 threads: every byte in place.
        for choice in [MmapChoice::Always, MmapChoice::Never] {
            let input = open("memory://remote-unit/in/a.jsonl", choice, &opts).unwrap();
            assert_eq!(&input[..], &body[..]);
            assert_eq!(input.bytes.is_mapped(), choice == MmapChoice::Always);
            let id = input.object.unwrap();
            assert_eq!(
                (id.url.as_str(), id.size),
                ("memory://remote-unit/in/a.jsonl", 100)
            );
        }
    }
}
