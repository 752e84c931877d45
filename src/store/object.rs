//! The object-store backends behind [`Store`](super::Store): building the client for a URL, the
//! blocking calls, multipart uploads with bounded parts in flight, and turning `object_store`'s
//! errors into messages that name the object and the cause.

use std::sync::{Arc, Mutex, OnceLock};

use futures::TryStreamExt;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::{block_on, memory_store, spawn, CloudConfig, Location, Meta, Scheme};
use crate::error::{Error, Result};

pub(super) struct ObjectBackend {
    store: Arc<dyn ObjectStore>,
    multipart: Option<Arc<dyn MultipartStore>>,
    root: String,
    /// GCS only: what its HEAD answers beyond `object_store`'s metadata.
    gcs: Option<GcsHashes>,
}

/// Reads the checksums Cloud Storage keeps for an object (`x-goog-hash`), which `object_store`'s
/// metadata does not carry: a HEAD on the XML API with the backend's own credentials.
struct GcsHashes {
    http: reqwest::Client,
    /// `{endpoint}/{bucket, percent-encoded}`, as `object_store` addresses objects.
    bucket_url: String,
    credentials: object_store::gcp::GcpCredentialProvider,
    retry: super::RetryConfig,
}

fn retry_config(cloud: &CloudConfig) -> object_store::RetryConfig {
    object_store::RetryConfig {
        backoff: object_store::BackoffConfig {
            init_backoff: cloud.retry.initial_backoff,
            max_backoff: cloud.retry.max_backoff,
            ..Default::default()
        },
        max_retries: cloud.retry.max_retries,
        retry_timeout: cloud.retry.retry_timeout,
    }
}

impl GcsHashes {
    fn new(
        credentials: object_store::gcp::GcpCredentialProvider,
        bucket: &str,
        cloud: &CloudConfig,
    ) -> Result<GcsHashes> {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let endpoint = cloud
            .gcs_endpoint
            .as_deref()
            .unwrap_or("https://storage.googleapis.com")
            .trim_end_matches('/');
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Usage(format!("cannot set up the storage client: {e}")))?;
        Ok(GcsHashes {
            http,
            bucket_url: format!(
                "{endpoint}/{}",
                utf8_percent_encode(bucket, NON_ALPHANUMERIC)
            ),
            credentials,
            retry: cloud.retry,
        })
    }

    fn crc32c(&self, path: &ObjPath, url: &str) -> Result<Option<u32>> {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let target = format!(
            "{}/{}",
            self.bucket_url,
            utf8_percent_encode(path.as_ref(), NON_ALPHANUMERIC)
        );
        let failed = |message: String| Error::Remote {
            url: url.to_string(),
            message: format!("cannot read the checksum the store keeps: {message}"),
        };
        block_on(async {
            let started = std::time::Instant::now();
            let mut backoff = crate::retry::Backoff::new(crate::retry::BackoffConfig {
                init_backoff: self.retry.initial_backoff,
                max_backoff: self.retry.max_backoff,
            });
            let mut attempt = 0;
            loop {
                let credential = self
                    .credentials
                    .get_credential()
                    .await
                    .map_err(|e| remote_error(url, e))?;
                let sent = self
                    .http
                    .head(&target)
                    .bearer_auth(&credential.bearer)
                    .send()
                    .await;
                let transient = match sent {
                    Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => return Ok(None),
                    Ok(r) if r.status().is_success() => {
                        return Ok(crc32c_of_goog_hash(
                            r.headers()
                                .get_all("x-goog-hash")
                                .iter()
                                .filter_map(|v| v.to_str().ok()),
                        ))
                    }
                    Ok(r) if crate::retry::retryable_status(r.status().as_u16()) => {
                        format!("HTTP {}", r.status())
                    }
                    Ok(r) => return Err(failed(format!("HTTP {}", r.status()))),
                    Err(e) => format!("{e}"),
                };
                attempt += 1;
                if attempt > self.retry.max_retries || started.elapsed() >= self.retry.retry_timeout
                {
                    return Err(failed(transient));
                }
                tokio::time::sleep(backoff.next_wait()).await;
            }
        })
    }
}

/// The CRC32C in `x-goog-hash` values (`crc32c=<base64 of 4 big-endian bytes>`, beside
/// `md5=…`; one header per hash or several joined by commas).
pub(super) fn crc32c_of_goog_hash<'a>(values: impl Iterator<Item = &'a str>) -> Option<u32> {
    use base64::Engine;
    values
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().strip_prefix("crc32c="))
        .find_map(|b64| {
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            Some(u32::from_be_bytes(bytes.try_into().ok()?))
        })
}

fn client_options(endpoint: Option<&str>) -> ClientOptions {
    ClientOptions::new().with_allow_http(endpoint.is_some_and(|e| e.starts_with("http://")))
}

impl ObjectBackend {
    pub(super) fn open(location: &Location, cloud: &CloudConfig) -> Result<ObjectBackend> {
        let config_error = |e: object_store::Error| {
            Error::Usage(format!("{location}: cannot set up the storage client: {e}"))
        };
        match location {
            Location::Object {
                scheme,
                bucket,
                prefix,
            } => {
                let mut gcs = None;
                let (store, multipart): (Arc<dyn ObjectStore>, Arc<dyn MultipartStore>) =
                    match scheme {
                        Scheme::Gcs => {
                            let mut b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                                .with_bucket_name(bucket)
                                .with_retry(retry_config(cloud))
                                .with_client_options(client_options(cloud.gcs_endpoint.as_deref()));
                            if let Some(e) = &cloud.gcs_endpoint {
                                b = b.with_base_url(e);
                            }
                            if let Some(t) = &cloud.access_token {
                                b = b.with_bearer_token(t.expose());
                            }
                            let s = Arc::new(b.build().map_err(config_error)?);
                            gcs = Some(GcsHashes::new(s.credentials().clone(), bucket, cloud)?);
                            (s.clone(), s)
                        }
                        Scheme::S3 => {
                            let mut b = object_store::aws::AmazonS3Builder::from_env()
                                .with_bucket_name(bucket)
                                .with_retry(retry_config(cloud))
                                .with_client_options(client_options(cloud.s3_endpoint.as_deref()));
                            if let Some(e) = &cloud.s3_endpoint {
                                b = b.with_endpoint(e);
                            }
                            if std::env::var_os("AWS_REGION").is_none()
                                && std::env::var_os("AWS_DEFAULT_REGION").is_none()
                            {
                                b = b.with_region("us-east-1");
                            }
                            let s = Arc::new(b.build().map_err(config_error)?);
                            (s.clone(), s)
                        }
                        Scheme::Memory => {
                            let s = memory_store(bucket);
                            (s.clone(), s)
                        }
                        Scheme::Http => unreachable!("invariant: http is Location::Http"),
                    };
                Ok(ObjectBackend {
                    store,
                    multipart: Some(multipart),
                    root: prefix.clone(),
                    gcs,
                })
            }
            Location::Http(url) => {
                let store = object_store::http::HttpBuilder::new()
                    .with_url(url.as_str())
                    .with_retry(retry_config(cloud))
                    .with_client_options(client_options(Some(url)))
                    .build()
                    .map_err(config_error)?;
                Ok(ObjectBackend {
                    store: Arc::new(store),
                    multipart: None,
                    root: String::new(),
                    gcs: None,
                })
            }
            Location::Local(_) => unreachable!("invariant: local stores use std::fs"),
        }
    }

    fn path(&self, name: &str) -> ObjPath {
        match (self.root.is_empty(), name.is_empty()) {
            (true, _) => ObjPath::from(name),
            (false, true) => ObjPath::from(self.root.as_str()),
            (false, false) => ObjPath::from(format!("{}/{name}", self.root)),
        }
    }

    pub(super) fn get(&self, name: &str, url: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path(name);
        block_on(async {
            match self.store.get(&path).await {
                Ok(r) => r.bytes().await.map(|b| Some(b.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .map_err(|e| remote_error(url, e))
    }

    pub(super) fn get_range(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
        url: &str,
    ) -> Result<bytes::Bytes> {
        let path = self.path(name);
        block_on(self.store.get_range(&path, range)).map_err(|e| remote_error(url, e))
    }

    /// Bytes `range` of the object only if it is still the version `seen` (by entity tag and
    /// generation where the store has them); `Ok(None)` when it changed or is gone.
    pub(super) fn get_range_if(
        &self,
        name: &str,
        range: std::ops::Range<u64>,
        seen: &Meta,
        url: &str,
    ) -> Result<Option<bytes::Bytes>> {
        let path = self.path(name);
        let opts = object_store::GetOptions {
            if_match: seen.etag.clone(),
            version: seen.version.clone(),
            range: Some(range.into()),
            ..Default::default()
        };
        let got = block_on(async {
            let r = self.store.get_opts(&path, opts).await?;
            let m = r.meta.clone();
            r.bytes().await.map(|b| (m, b))
        });
        match got {
            // A store that ignores the condition still says which object it sent.
            Ok((m, b)) => Ok((m.size == seen.size
                && (seen.etag.is_none() || m.e_tag == seen.etag)
                && (seen.version.is_none() || m.version.is_none() || m.version == seen.version))
                .then_some(b)),
            Err(object_store::Error::Precondition { .. })
            | Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(remote_error(url, e)),
        }
    }

    pub(super) fn head(&self, name: &str, url: &str) -> Result<Option<Meta>> {
        let path = self.path(name);
        match block_on(self.store.head(&path)) {
            Ok(m) => Ok(Some(meta(&m))),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(remote_error(url, e)),
        }
    }

    /// The CRC32C the store keeps for the object, where the store reports one (GCS); `None`
    /// elsewhere, or when the object or the checksum is absent.
    pub(super) fn stored_crc32c(&self, name: &str, url: &str) -> Result<Option<u32>> {
        match &self.gcs {
            Some(g) => g.crc32c(&self.path(name), url),
            None => Ok(None),
        }
    }

    pub(super) fn put(&self, name: &str, bytes: &[u8], url: &str) -> Result<Meta> {
        self.put_mode(name, bytes, PutMode::Overwrite, url)
            .map(|m| m.expect("invariant: an overwrite never meets a precondition"))
    }

    pub(super) fn put_mode(
        &self,
        name: &str,
        bytes: &[u8],
        mode: PutMode,
        url: &str,
    ) -> Result<Option<Meta>> {
        let path = self.path(name);
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(bytes));
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match block_on(self.store.put_opts(&path, payload, opts)) {
            Ok(r) => Ok(Some(Meta {
                size: bytes.len() as u64,
                etag: r.e_tag,
                version: r.version,
                modified: None,
            })),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(None),
            Err(e) => Err(remote_error(url, e)),
        }
    }

    pub(super) fn delete(&self, name: &str, url: &str) -> Result<()> {
        let path = self.path(name);
        match block_on(self.store.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(remote_error(url, e)),
        }
    }

    pub(super) fn list(&self, dir: &str, deep: bool, url: &str) -> Result<Vec<(String, Meta)>> {
        let prefix = self.path(dir);
        let root_len = if self.root.is_empty() {
            0
        } else {
            self.root.len() + 1
        };
        let found: Vec<object_store::ObjectMeta> = block_on(async {
            if deep {
                self.store.list(Some(&prefix)).try_collect().await
            } else {
                self.store
                    .list_with_delimiter(Some(&prefix))
                    .await
                    .map(|r| r.objects)
            }
        })
        .map_err(|e| remote_error(url, e))?;
        let mut out: Vec<(String, Meta)> = found
            .iter()
            .map(|m| {
                let full = m.location.as_ref();
                (full.get(root_len..).unwrap_or(full).to_string(), meta(m))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    pub(super) fn upload(&self, name: &str, cloud: &CloudConfig, url: String) -> Result<Upload> {
        let Some(mp) = self.multipart.clone() else {
            return Err(Error::Usage(format!("{url}: this store takes no uploads")));
        };
        let path = self.path(name);
        let id = block_on(mp.create_multipart(&path)).map_err(|e| remote_error(&url, e))?;
        Ok(Upload {
            store: mp,
            path,
            id,
            url,
            slots: slots(cloud.parts_in_flight),
            parts: Arc::new(Mutex::new(Vec::new())),
            tasks: Mutex::new(Vec::new()),
        })
    }
}

fn meta(m: &object_store::ObjectMeta) -> Meta {
    Meta {
        size: m.size,
        etag: m.e_tag.clone(),
        version: m.version.clone(),
        modified: Some(m.last_modified.into()),
    }
}

/// The process-wide bound on parts in flight (sized by the first upload's config).
fn slots(n: usize) -> Arc<tokio::sync::Semaphore> {
    static SLOTS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| Arc::new(tokio::sync::Semaphore::new(n.max(1))))
        .clone()
}

/// A multipart upload in progress. Parts are numbered by the caller and may be sent in any
/// order (GCS's XML API and S3 assemble them by number); at most
/// [`CloudConfig::parts_in_flight`] parts are held in memory at once across the process.
pub struct Upload {
    store: Arc<dyn MultipartStore>,
    path: ObjPath,
    id: String,
    url: String,
    slots: Arc<tokio::sync::Semaphore>,
    parts: Arc<Mutex<Vec<Option<PartId>>>>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<object_store::Result<()>>>>,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({})", self.url)
    }
}

impl Upload {
    /// Sends part `index` (0-based). Blocks while the process has its maximum of parts in
    /// flight; returns once the part is on its way (its failure is reported by
    /// [`finish`](Self::finish)).
    pub fn put_part(&self, index: usize, bytes: Vec<u8>) {
        let permit = block_on(self.slots.clone().acquire_owned())
            .expect("invariant: the semaphore is never closed");
        let (store, path, id, parts) = (
            self.store.clone(),
            self.path.clone(),
            self.id.clone(),
            self.parts.clone(),
        );
        let task = spawn(async move {
            let _permit = permit;
            let part = store
                .put_part(&path, &id, index, PutPayload::from(bytes))
                .await?;
            let mut p = parts.lock().unwrap_or_else(|e| e.into_inner());
            if p.len() <= index {
                p.resize(index + 1, None);
            }
            p[index] = Some(part);
            Ok(())
        });
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Waits for every part, then completes the object (`parts` parts, numbered 0..parts).
    /// On any failure the upload is aborted and the error names the object.
    pub fn finish(self, parts: usize) -> Result<Meta> {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        let result = block_on(async {
            let mut first: Option<object_store::Error> = None;
            for t in tasks {
                let r = t.await.map_err(object_store::Error::from).and_then(|r| r);
                if let (Err(e), None) = (r, &first) {
                    first = Some(e);
                }
            }
            if let Some(e) = first {
                return Err(e);
            }
            let ids: Vec<PartId> = {
                let p = self.parts.lock().unwrap_or_else(|e| e.into_inner());
                (0..parts)
                    .map(|i| p.get(i).cloned().flatten())
                    .collect::<Option<_>>()
                    .ok_or_else(|| object_store::Error::Generic {
                        store: "batchline",
                        source: "a part of the upload was never sent".into(),
                    })?
            };
            self.store
                .complete_multipart(&self.path, &self.id, ids)
                .await
        });
        match result {
            Ok(r) => Ok(Meta {
                size: 0,
                etag: r.e_tag,
                version: r.version,
                modified: None,
            }),
            Err(e) => {
                let _ = block_on(self.store.abort_multipart(&self.path, &self.id));
                Err(remote_error(&self.url, e))
            }
        }
    }

    /// Abandons the upload (its parts are discarded by the store).
    pub fn abort(self) {
        for t in std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner())) {
            t.abort();
        }
        let _ = block_on(self.store.abort_multipart(&self.path, &self.id));
    }
}

/// An `object_store` error as batchline's: the object's URL and the cause in words, then the
/// service's own code and message (never a credential: requests carry the token in a header,
/// which object_store does not print).
pub(crate) fn remote_error(url: &str, e: object_store::Error) -> Error {
    use object_store::Error as E;
    let chain = error_chain(&e);
    // Listing errors arrive as `Generic` with the HTTP status in the text: read it there too.
    let has = |needle: &str| chain.contains(needle);
    let cause = match &e {
        _ if has("NoSuchBucket") => "the bucket does not exist",
        E::NotFound { .. } => "not found (is the bucket name right, and does it exist?)",
        E::PermissionDenied { .. } => "permission denied: the credentials in use may not access it",
        E::Unauthenticated { .. } => {
            "not authenticated: pass --access-token or set up Application Default Credentials"
        }
        _ if has("404 Not Found") => "not found (is the bucket name right, and does it exist?)",
        _ if has("403 Forbidden") => "permission denied: the credentials in use may not access it",
        _ if has("401 Unauthorized") => {
            "not authenticated: pass --access-token or set up Application Default Credentials"
        }
        _ if has("onnection refused") || has("error sending request") || has("dns error") => {
            "cannot reach the storage service (network, endpoint or proxy)"
        }
        _ => "the request failed",
    };
    Error::Remote {
        url: url.to_string(),
        message: format!("{cause} ({})", service_detail(&chain)),
    }
}

/// The service's `<Code>` and `<Message>` when its answer is an XML error document (S3 and the
/// GCS XML API), else the error text, cut to a readable length.
fn service_detail(chain: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let from = chain.find(&open)? + open.len();
        let to = from + chain[from..].find(&format!("</{name}>"))?;
        Some(chain[from..to].to_string())
    };
    if let (Some(code), Some(message)) = (tag("Code"), tag("Message")) {
        let status = [
            "400", "401", "403", "404", "409", "412", "429", "500", "503",
        ]
        .into_iter()
        .find(|s| chain.contains(&format!("status code: {s}")))
        .map_or(String::new(), |s| format!("HTTP {s} "));
        return format!("{status}{code}: {message}");
    }
    let mut s: String = chain.chars().take(400).collect();
    if s.len() < chain.len() {
        s.push('…');
    }
    s
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::crc32c_of_goog_hash;

    #[test]
    fn the_crc32c_is_read_from_either_form_of_x_goog_hash() {
        // CRC32C("123456789") = 0xE3069283, base64 of its big-endian bytes "4waSgw==".
        assert_eq!(
            crc32c_of_goog_hash(["crc32c=4waSgw==", "md5=XUFAKrxLKna5cZ2REBfFkg=="].into_iter()),
            Some(0xE306_9283)
        );
        assert_eq!(
            crc32c_of_goog_hash(["md5=XUFAKrxLKna5cZ2REBfFkg==, crc32c=4waSgw=="].into_iter()),
            Some(0xE306_9283)
        );
        assert_eq!(
            crc32c_of_goog_hash(["md5=XUFAKrxLKna5cZ2REBfFkg=="].into_iter()),
            None
        );
        assert_eq!(
            crc32c_of_goog_hash(["crc32c=not base64!"].into_iter()),
            None
        );
        assert_eq!(crc32c_of_goog_hash(["crc32c=AAAAAAA="].into_iter()), None);
        assert_eq!(crc32c_of_goog_hash(std::iter::empty()), None);
    }
}
