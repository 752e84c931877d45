//! The storage floor: where runs and inputs live, and the one door to them.
//!
//! A [`Location`] is parsed from what the user wrote (a path, `file://`, `gs://`, `s3://`,
//! `memory://`, `http(s)://`); [`Store::open`] puts a [`Store`] behind it, rooted at that location,
//! and every run-folder read and write goes through the store's few blocking methods (`get`,
//! `head`, `put`, `put_new`, `put_if`, `delete`, `list`, multipart uploads). Local folders keep
//! `std::fs` (temporary name + rename, `fsync` where asked, positioned writes for shards), so the
//! local hot path is what it was; every other location is an `object_store` backend: Google Cloud
//! Storage through its XML API, S3 and S3-compatible services, plain HTTP(S) for inputs, and an
//! in-process memory store for tests.
//!
//! `object_store` is async; this module owns the one tokio runtime ([`block_on`]), so the rayon
//! code above it stays synchronous. Nothing here knows what a run is: [`crate::run`] holds the
//! rules, this module moves bytes.
//!
//! Credentials: a fixed bearer token ([`CloudConfig::access_token`]) when given, else
//! `object_store`'s own Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, the
//! gcloud user file, then the metadata server), and the AWS environment for S3. A token is never
//! printed, logged or written into a run ([`Secret`] redacts itself).

pub mod atomic;
mod location;
mod object;
pub mod verify;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

pub use location::{url_scheme, Location, Scheme};
pub use object::Upload;

use crate::error::{Error, Result};
use atomic::AtomicFile;

/// A secret (an access token): shown as `<redacted>` by `Debug`, never by `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself (for the one place that sends it).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Retries of transient storage failures (5xx, 429, transport errors; never other 4xx), with
/// exponential backoff and jitter (`object_store`'s retry policy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// First backoff. Default 100 ms.
    pub initial_backoff: Duration,
    /// Longest backoff. Default 15 s.
    pub max_backoff: Duration,
    /// Retries of one request. Default 10.
    pub max_retries: usize,
    /// No retry starts after this long since the first attempt. Default 3 min.
    pub retry_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(15),
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
        }
    }
}

/// How to reach object stores: endpoints, credentials, retries and upload tunables. One value
/// serves the storage layer and the Vertex client.
#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// Another server for the GCS backend (an emulator, a private endpoint), e.g.
    /// `http://127.0.0.1:9023`. Default: Google's. Env `BATCHLINE_GCS_ENDPOINT`.
    pub gcs_endpoint: Option<String>,
    /// Another server for the S3 backend. Env `BATCHLINE_S3_ENDPOINT`, else the AWS environment.
    pub s3_endpoint: Option<String>,
    /// A fixed bearer token instead of Application Default Credentials (GCS and Vertex).
    /// Env `BATCHLINE_ACCESS_TOKEN`.
    pub access_token: Option<Secret>,
    /// Retries of transient failures.
    pub retry: RetryConfig,
    /// Bytes per multipart part: a multiple of 16 MiB (the checksum block). Default 16 MiB.
    pub part_size: u64,
    /// Parts uploading at once per process (bounds memory: `part_size` × this). Default 8.
    pub parts_in_flight: usize,
}

/// The checksum block, and the smallest multipart part.
pub const PART_UNIT: u64 = 16 << 20;

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            gcs_endpoint: None,
            s3_endpoint: None,
            access_token: None,
            retry: RetryConfig::default(),
            part_size: PART_UNIT,
            parts_in_flight: 8,
        }
    }
}

impl CloudConfig {
    /// The defaults, with endpoints and token from `BATCHLINE_GCS_ENDPOINT`,
    /// `BATCHLINE_S3_ENDPOINT` and `BATCHLINE_ACCESS_TOKEN` where set (and not empty).
    pub fn from_env() -> CloudConfig {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        CloudConfig {
            gcs_endpoint: var("BATCHLINE_GCS_ENDPOINT"),
            s3_endpoint: var("BATCHLINE_S3_ENDPOINT"),
            access_token: var("BATCHLINE_ACCESS_TOKEN").map(Secret),
            ..CloudConfig::default()
        }
    }
}

/// The runtime behind every store call: two worker threads (requests are I/O-bound; the rayon
/// pool does the computing), built on first use.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("batchline-io")
            .enable_all()
            .build()
            .expect("invariant: a tokio runtime can be built (threads and an epoll fd)")
    })
}

/// Runs `f` to completion on the storage runtime, blocking this thread. Must not be called from
/// inside that runtime (no store method is).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Spawns `f` on the storage runtime.
pub(crate) fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(f)
}

/// What a store knows of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// Bytes.
    pub size: u64,
    /// The store's entity tag (an MD5 in hex for single-request uploads on S3 and GCS), if any.
    pub etag: Option<String>,
    /// The store's version (the GCS generation), if any.
    pub version: Option<String>,
    /// Last modification.
    pub modified: Option<SystemTime>,
}

/// How hard a local `put` holds on to its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Renamed into place; a power loss may still lose the content (a checksum catches it).
    Normal,
    /// Synced to disk before the rename (for the file that marks completion).
    Synced,
}

/// A store rooted at a [`Location`]; names are `/`-separated and relative to the root.
pub struct Store {
    location: Location,
    backend: Backend,
}

enum Backend {
    Local(PathBuf),
    Object(object::ObjectBackend),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Store({})", self.location)
    }
}

impl Store {
    /// A store rooted at `location`. Builds the client (no request is sent yet).
    pub fn open(location: &Location, cloud: &CloudConfig) -> Result<Store> {
        let backend = match location {
            Location::Local(p) => Backend::Local(p.clone()),
            other => Backend::Object(object::ObjectBackend::open(other, cloud)?),
        };
        Ok(Store {
            location: location.clone(),
            backend,
        })
    }

    /// The store's root.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The local folder, for a local store.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Local(p) => Some(p),
            Backend::Object(_) => None,
        }
    }

    /// How the user would write `name` in this store (a path or a URL), for messages.
    pub fn describe(&self, name: &str) -> String {
        if name.is_empty() {
            self.location.to_string()
        } else {
            self.location.join(name).to_string()
        }
    }

    fn path(&self, root: &Path, name: &str) -> PathBuf {
        if name.is_empty() {
            root.to_path_buf()
        } else {
            root.join(name)
        }
    }

    /// The object's bytes, or `None` when it does not exist.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Local(root) => {
                let p = self.path(root, name);
                match std::fs::read(&p) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(p, e)),
                }
            }
            Backend::Object(o) => o.get(name, &self.describe(name)),
        }
    }

    /// Bytes `range` of the object (the range must lie inside it).
    pub fn get_range(&self, name: &str, range: std::ops::Range<u64>) -> Result<bytes::Bytes> {
        match &self.backend {
            Backend::Local(root) => {
                use std::os::unix::fs::FileExt;
                let p = self.path(root, name);
                let f = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
                let mut buf = vec![0u8; (range.end - range.start) as usize];
                f.read_exact_at(&mut buf, range.start)
                    .map_err(|e| Error::io(&p, e))?;
                Ok(buf.into())
            }
            Backend::Object(o) => o.get_range(name, range, &self.describe(name)),
        }
    }

    /// Bytes `range` of the object, only if it is still the version `seen` (same size, and the
    /// same entity tag and generation where the store reports them; the condition is sent with
    /// the request, and the response's own metadata is checked too). `Ok(None)` when the object
    /// changed or is gone. A local store checks the size only.
    pub fn get_range_if(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
        seen: &Meta,
    ) -> Result<Option<bytes::Bytes>> {
        match &self.backend {
            Backend::Local(_) => match self.head(name)? {
                Some(m) if m.size == seen.size => self.get_range(name, range).map(Some),
                _ => Ok(None),
            },
            Backend::Object(o) => o.get_range_if(name, range, seen, &self.describe(name)),
        }
    }

    /// What the store knows of the object, or `None` when it does not exist.
    pub fn head(&self, name: &str) -> Result<Option<Meta>> {
        match &self.backend {
            Backend::Local(root) => {
                let p = self.path(root, name);
                match std::fs::metadata(&p) {
                    Ok(m) if m.is_file() => Ok(Some(Meta {
                        size: m.len(),
                        etag: None,
                        version: None,
                        modified: m.modified().ok(),
                    })),
                    Ok(_) => Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::io(p, e)),
                }
            }
            Backend::Object(o) => o.head(name, &self.describe(name)),
        }
    }

    /// The CRC32C the store keeps for the object, where it reports one (Cloud Storage's
    /// `x-goog-hash`, one more HEAD); `None` for other stores and for a missing object.
    pub fn stored_crc32c(&self, name: &str) -> Result<Option<u32>> {
        match &self.backend {
            Backend::Local(_) => Ok(None),
            Backend::Object(o) => o.stored_crc32c(name, &self.describe(name)),
        }
    }

    /// Writes the object whole: readers see the old object or the new one, never a part.
    pub fn put(&self, name: &str, bytes: &[u8], durability: Durability) -> Result<Meta> {
        match &self.backend {
            Backend::Local(root) => {
                use std::io::Write;
                let p = self.path(root, name);
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                let file = AtomicFile::create(&p)?;
                file.writer()
                    .write_all(bytes)
                    .map_err(|e| Error::io(file.temp_path(), e))?;
                match durability {
                    Durability::Normal => file.commit()?,
                    Durability::Synced => file.commit_durable()?,
                }
                Ok(Meta {
                    size: bytes.len() as u64,
                    etag: None,
                    version: None,
                    modified: None,
                })
            }
            Backend::Object(o) => o.put(name, bytes, &self.describe(name)),
        }
    }

    /// Creates the object only if no object has the name; `Ok(None)` when one has. Enforced by
    /// local folders, the memory store, GCS and S3; some emulators do not enforce it (see
    /// `docs/run-format.md`).
    pub fn put_new(&self, name: &str, bytes: &[u8]) -> Result<Option<Meta>> {
        match &self.backend {
            Backend::Local(root) => {
                use std::io::Write;
                let p = self.path(root, name);
                let mut f = match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
                    Err(e) => return Err(Error::io(p, e)),
                };
                f.write_all(bytes).map_err(|e| Error::io(&p, e))?;
                Ok(Some(Meta {
                    size: bytes.len() as u64,
                    etag: None,
                    version: None,
                    modified: None,
                }))
            }
            Backend::Object(o) => o.put_mode(
                name,
                bytes,
                object_store::PutMode::Create,
                &self.describe(name),
            ),
        }
    }

    /// Replaces the object only if it is still the version `seen` (by etag/generation);
    /// `Ok(None)` when someone changed it since. Object stores only; a local store replaces it.
    pub fn put_if(&self, name: &str, bytes: &[u8], seen: &Meta) -> Result<Option<Meta>> {
        match &self.backend {
            Backend::Local(_) => self.put(name, bytes, Durability::Synced).map(Some),
            Backend::Object(o) => o.put_mode(
                name,
                bytes,
                object_store::PutMode::Update(object_store::UpdateVersion {
                    e_tag: seen.etag.clone(),
                    version: seen.version.clone(),
                }),
                &self.describe(name),
            ),
        }
    }

    /// Removes the object; a missing object is not an error.
    pub fn delete(&self, name: &str) -> Result<()> {
        match &self.backend {
            Backend::Local(root) => {
                let p = self.path(root, name);
                match std::fs::remove_file(&p) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(Error::io(p, e)),
                }
            }
            Backend::Object(o) => o.delete(name, &self.describe(name)),
        }
    }

    /// The objects directly in `dir` (`""` for the root), by name relative to the root, sorted.
    /// Local sub-folders are left out; on object stores, names with a further `/` are too.
    pub fn list(&self, dir: &str) -> Result<Vec<(String, Meta)>> {
        match &self.backend {
            Backend::Local(root) => {
                let p = self.path(root, dir);
                let entries = match std::fs::read_dir(&p) {
                    Ok(e) => e,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                    Err(e) => return Err(Error::io(p, e)),
                };
                let mut out = Vec::new();
                for entry in entries {
                    let entry = entry.map_err(|e| Error::io(&p, e))?;
                    let Ok(meta) = entry.metadata() else { continue };
                    // Names that are not UTF-8 cannot be batchline's: listed as foreign.
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if meta.is_file() {
                        let rel = if dir.is_empty() {
                            name
                        } else {
                            format!("{dir}/{name}")
                        };
                        out.push((
                            rel,
                            Meta {
                                size: meta.len(),
                                etag: None,
                                version: None,
                                modified: meta.modified().ok(),
                            },
                        ));
                    }
                }
                out.sort_by(|a, b| a.0.cmp(&b.0));
                Ok(out)
            }
            Backend::Object(o) => o.list(dir, false, &self.describe(dir)),
        }
    }

    /// Every object under `dir`, at any depth (on a local store: files and folders below it,
    /// folders with a trailing `/`), sorted. For "does this prefix hold anything else?".
    pub fn list_all(&self, dir: &str) -> Result<Vec<String>> {
        match &self.backend {
            Backend::Local(root) => {
                let base = self.path(root, dir);
                let mut out = Vec::new();
                let mut stack = vec![base.clone()];
                while let Some(d) = stack.pop() {
                    let entries = match std::fs::read_dir(&d) {
                        Ok(e) => e,
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Error::io(d, e)),
                    };
                    for entry in entries {
                        let entry = entry.map_err(|e| Error::io(&d, e))?;
                        let path = entry.path();
                        let rel = path
                            .strip_prefix(root)
                            .unwrap_or(&path)
                            .to_string_lossy()
                            .into_owned();
                        if entry.file_type().is_ok_and(|t| t.is_dir()) {
                            out.push(format!("{rel}/"));
                            stack.push(path);
                        } else {
                            out.push(rel);
                        }
                    }
                }
                out.sort();
                Ok(out)
            }
            Backend::Object(o) => Ok(o
                .list(dir, true, &self.describe(dir))?
                .into_iter()
                .map(|(n, _)| n)
                .collect()),
        }
    }

    /// Starts a multipart upload of `name` (object stores only; `None` for a local store,
    /// which writes files in place instead).
    pub fn upload(&self, name: &str, cloud: &CloudConfig) -> Result<Option<Upload>> {
        match &self.backend {
            Backend::Local(_) => Ok(None),
            Backend::Object(o) => o.upload(name, cloud, self.describe(name)).map(Some),
        }
    }
}

/// Process-wide memory stores by name (`memory://NAME/…`), so every `Store` opened on one name
/// in a process sees the same objects.
fn memory_store(name: &str) -> Arc<object_store::memory::InMemory> {
    static STORES: OnceLock<Mutex<HashMap<String, Arc<object_store::memory::InMemory>>>> =
        OnceLock::new();
    let mut map = STORES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(name.to_string())
        .or_insert_with(|| Arc::new(object_store::memory::InMemory::new()))
        .clone()
}
