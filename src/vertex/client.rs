//! A small typed async client for Vertex AI's `batchPredictionJobs`: create, get, list, cancel and
//! delete on `{endpoint}/{version}/projects/{p}/locations/{l}/batchPredictionJobs`.
//!
//! Endpoint: given (`--vertex-endpoint`, `BATCHLINE_VERTEX_ENDPOINT`; the emulator's URL), else
//! chosen from the location: `https://{location}-aiplatform.googleapis.com`, and
//! `https://aiplatform.googleapis.com` for `global`.
//!
//! Every call goes through [`RetryConfig`]'s policy (see [`super::retry`]), with one exception
//! that keeps `create` from making two jobs: a create that reached the service and got a 500, 502
//! or 504 may have created the job, so it is not retried; the caller looks the job up by its
//! labels instead. A create answered 429 or 503, or that never reached the service, is retried.
//!
//! Errors carry Google's `error.message` and `status` ([`VertexError::Api`]); the token is sent
//! only in the `Authorization` header and never appears in an error.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::auth::{Auth, AuthConfig};
use super::retry::{retryable_status, Backoff, RetryConfig};
use super::wire::{
    BatchPredictionJob, ErrorBody, JobName, ListBatchPredictionJobsResponse, Operation,
};
use super::VertexError;

/// Environment variable that overrides the endpoint (like `--vertex-endpoint`).
pub const ENDPOINT_ENV: &str = "BATCHLINE_VERTEX_ENDPOINT";

/// What a [`VertexClient`] talks to and how.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Project id or number.
    pub project: String,
    /// Location, e.g. `us-central1` or `global`.
    pub location: String,
    /// Base URL without version (`http://127.0.0.1:8123`); `None` chooses from the location.
    pub endpoint: Option<String>,
    /// API version path segment: `v1` (default) or `v1beta1`.
    pub api_version: String,
    /// Where the bearer token comes from.
    pub auth: AuthConfig,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Per-request timeout (default 60 s).
    pub timeout: Duration,
}

impl ClientOptions {
    /// Options for `project` and `location` with ADC, `v1`, the default retry policy and the
    /// endpoint from [`ENDPOINT_ENV`] if set.
    pub fn new(project: impl Into<String>, location: impl Into<String>) -> ClientOptions {
        ClientOptions {
            project: project.into(),
            location: location.into(),
            endpoint: std::env::var(ENDPOINT_ENV).ok().filter(|e| !e.is_empty()),
            api_version: "v1".into(),
            auth: AuthConfig::ApplicationDefault,
            retry: RetryConfig::default(),
            timeout: Duration::from_secs(60),
        }
    }
}

/// The endpoint Google serves `location` from: regional `https://{location}-aiplatform.googleapis.com`,
/// or `https://aiplatform.googleapis.com` for `global`.
pub fn endpoint_for(location: &str) -> String {
    if location == "global" {
        "https://aiplatform.googleapis.com".to_string()
    } else {
        format!("https://{location}-aiplatform.googleapis.com")
    }
}

/// A Vertex `batchPredictionJobs` client for one project and location. Cheap to clone.
#[derive(Debug, Clone)]
pub struct VertexClient {
    http: reqwest::Client,
    /// `{endpoint}/{version}/projects/{p}/locations/{l}`.
    parent_url: String,
    project: String,
    location: String,
    auth: Auth,
    retry: RetryConfig,
}

/// Whether a call may be repeated after the service may have acted on it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Repeat {
    /// get, list, cancel, delete: repeating does no harm.
    Safe,
    /// create: repeat only when the service surely did nothing (429, 503, not sent).
    Create,
}

impl VertexClient {
    /// A client for `opts` (no request is sent).
    pub fn new(opts: &ClientOptions) -> Result<VertexClient, VertexError> {
        for (what, v) in [("project", &opts.project), ("location", &opts.location)] {
            if v.is_empty() || v.contains('/') || v.contains('?') || v.contains('#') {
                return Err(VertexError::Usage(format!("{what} {v:?} is not valid")));
            }
        }
        let endpoint = opts
            .endpoint
            .clone()
            .unwrap_or_else(|| endpoint_for(&opts.location));
        let endpoint = endpoint.trim_end_matches('/');
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(VertexError::Usage(format!(
                "Vertex endpoint {endpoint:?}: give an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .build()
            .map_err(|e| VertexError::Usage(format!("HTTP client: {e}")))?;
        Ok(VertexClient {
            http,
            parent_url: format!(
                "{endpoint}/{}/projects/{}/locations/{}",
                opts.api_version, opts.project, opts.location
            ),
            project: opts.project.clone(),
            location: opts.location.clone(),
            auth: Auth::new(&opts.auth)?,
            retry: opts.retry,
        })
    }

    /// `projects/{p}/locations/{l}`.
    pub fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    /// The URL of a job given by full name or by id; a full name of another project or location
    /// is refused (this client's URL holds its own).
    fn job_url(&self, name: &str) -> Result<String, VertexError> {
        let id = match JobName::parse(name) {
            Some(n) if n.project == self.project && n.location == self.location => n.id,
            Some(n) => {
                return Err(VertexError::Usage(format!(
                    "{n} is not in projects/{}/locations/{}",
                    self.project, self.location
                )))
            }
            None if !name.is_empty() && !name.contains(['/', '?', '#', ':']) => name.to_string(),
            None => return Err(VertexError::Usage(format!("{name:?} is not a job name"))),
        };
        Ok(format!("{}/batchPredictionJobs/{id}", self.parent_url))
    }

    /// Creates a job from `body` (see [`super::wire::create_body`]); returns the job as created.
    pub async fn create(
        &self,
        body: &BatchPredictionJob,
    ) -> Result<BatchPredictionJob, VertexError> {
        let url = format!("{}/batchPredictionJobs", self.parent_url);
        self.call(Method::POST, url, Some(body), Repeat::Create)
            .await
    }

    /// The job named `name` (full name or id).
    pub async fn get(&self, name: &str) -> Result<BatchPredictionJob, VertexError> {
        let url = self.job_url(name)?;
        self.call::<(), _>(Method::GET, url, None, Repeat::Safe)
            .await
    }

    /// One page of jobs. `filter` uses Vertex's list filter syntax (e.g. `labels.run="r1"`).
    pub async fn list(
        &self,
        filter: Option<&str>,
        page_size: Option<u32>,
        page_token: Option<&str>,
    ) -> Result<ListBatchPredictionJobsResponse, VertexError> {
        let mut url = reqwest::Url::parse(&format!("{}/batchPredictionJobs", self.parent_url))
            .map_err(|e| VertexError::Usage(format!("endpoint: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(f) = filter {
                q.append_pair("filter", f);
            }
            if let Some(n) = page_size {
                q.append_pair("pageSize", &n.to_string());
            }
            if let Some(t) = page_token {
                q.append_pair("pageToken", t);
            }
        }
        let url = url.to_string().trim_end_matches('?').to_string();
        self.call::<(), _>(Method::GET, url, None, Repeat::Safe)
            .await
    }

    /// Every job matching `filter`, all pages.
    pub async fn list_all(
        &self,
        filter: Option<&str>,
    ) -> Result<Vec<BatchPredictionJob>, VertexError> {
        let mut jobs = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self.list(filter, Some(100), token.as_deref()).await?;
            jobs.extend(page.batch_prediction_jobs);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(jobs),
            }
        }
    }

    /// Asks the service to cancel the job (it goes through `JOB_STATE_CANCELLING`).
    pub async fn cancel(&self, name: &str) -> Result<(), VertexError> {
        let url = format!("{}:cancel", self.job_url(name)?);
        let _: serde_json::Value = self
            .call(
                Method::POST,
                url,
                Some(&serde_json::json!({})),
                Repeat::Safe,
            )
            .await?;
        Ok(())
    }

    /// Deletes the job (not a running one); returns the delete operation.
    pub async fn delete(&self, name: &str) -> Result<Operation, VertexError> {
        let url = self.job_url(name)?;
        self.call::<(), _>(Method::DELETE, url, None, Repeat::Safe)
            .await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: String,
        body: Option<&B>,
        repeat: Repeat,
    ) -> Result<T, VertexError> {
        let start = Instant::now();
        let mut backoff = Backoff::new(self.retry.backoff);
        let mut retries = 0;
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| VertexError::Usage(format!("request body: {e}")))?;
        loop {
            let (err, again) = match self.attempt(&method, &url, body.as_deref()).await {
                Ok(text) => {
                    return serde_json::from_slice(&text).map_err(|e| VertexError::Decode {
                        url: url.clone(),
                        message: format!("{e}: {}", start_of(&text)),
                    })
                }
                Err(e) => {
                    let again = match &e {
                        VertexError::Api { http, .. } => {
                            retryable_status(*http)
                                && (repeat == Repeat::Safe || matches!(http, 429 | 503))
                        }
                        VertexError::Transport { source, .. } => {
                            repeat == Repeat::Safe || source.is_connect()
                        }
                        _ => false,
                    };
                    (e, again)
                }
            };
            let wait = backoff.next_wait();
            if !again
                || retries >= self.retry.max_retries
                || start.elapsed() + wait > self.retry.retry_timeout
            {
                return Err(if retries == 0 {
                    err
                } else {
                    VertexError::GaveUp {
                        retries,
                        elapsed_ms: start.elapsed().as_millis(),
                        source: Box::new(err),
                    }
                });
            }
            retries += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// One request: the body on success, else the error it makes.
    async fn attempt(
        &self,
        method: &Method,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<bytes::Bytes, VertexError> {
        let method_name = method_name(method);
        let mut req = self.http.request(method.clone(), url);
        if let Some(token) = self.auth.bearer().await? {
            req = req.bearer_auth(&*token);
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_vec());
        }
        let transport = |source: reqwest::Error| VertexError::Transport {
            method: method_name,
            url: url.to_string(),
            source: source.without_url(),
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let text = resp.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(text);
        }
        Err(api_error(method_name, url, status, &text))
    }
}

fn method_name(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "request",
    }
}

/// The error of a non-2xx answer: Google's body if it is one, else the start of the body.
fn api_error(method: &'static str, url: &str, status: StatusCode, body: &[u8]) -> VertexError {
    let (google_status, message) = match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.error.message.is_empty() || !b.error.status.is_empty() => {
            (b.error.status, b.error.message)
        }
        _ => (
            status
                .canonical_reason()
                .unwrap_or("")
                .to_uppercase()
                .replace(' ', "_"),
            start_of(body),
        ),
    };
    VertexError::Api {
        method,
        url: url.to_string(),
        http: status.as_u16(),
        status: google_status,
        message,
    }
}

/// At most 300 characters of a body, for messages.
fn start_of(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(body);
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
