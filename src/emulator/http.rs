//! The emulator's HTTP surface (HTTP/1.1 on hyper, 127.0.0.1 only): routes, request checks and
//! Google-shaped errors. Paths, with `{v}` = `v1` or `v1beta1`:
//!
//! | method | path | answer |
//! |---|---|---|
//! | POST | `/{v}/projects/{p}/locations/{l}/batchPredictionJobs` | the job (`JOB_STATE_PENDING`) |
//! | GET | `/{v}/projects/{p}/locations/{l}/batchPredictionJobs/{id}` | the job |
//! | GET | `/{v}/projects/{p}/locations/{l}/batchPredictionJobs?filter&pageSize&pageToken` | a page, newest first |
//! | POST | `/{v}/projects/{p}/locations/{l}/batchPredictionJobs/{id}:cancel` | `{}` |
//! | DELETE | `/{v}/projects/{p}/locations/{l}/batchPredictionJobs/{id}` | a finished delete operation |
//!
//! Errors are `{"error": {"code", "message", "status"}}` with Google's status names. The
//! `Authorization` header is accepted and not checked.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde::Serialize;

use crate::vertex::wire::{
    BatchPredictionJob, ErrorBody, JobState, ListBatchPredictionJobsResponse, Operation,
};

use super::jobs::Jobs;

/// Serves `jobs` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, jobs: Arc<Jobs>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let jobs = Arc::clone(&jobs);
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let jobs = Arc::clone(&jobs);
                async move { Ok::<_, Infallible>(handle(&jobs, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// Binds 127.0.0.1:`port` (0 = a free port).
pub async fn bind(port: u16) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

type Answer = Response<Full<Bytes>>;

fn json<T: Serialize>(status: u16, body: &T) -> Answer {
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=UTF-8")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(body).expect("wire types serialise"),
        )))
        .expect("a valid response")
}

fn error(code: u16, status: &str, message: impl Into<String>) -> Answer {
    json(code, &ErrorBody::new(code, status, message))
}

/// What a path names.
enum Route<'a> {
    Collection { parent: String },
    Job { parent: String, id: &'a str },
    Cancel { parent: String, id: &'a str },
}

fn route(path: &str) -> Option<Route<'_>> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["v1" | "v1beta1", "projects", p, "locations", l, "batchPredictionJobs", rest @ ..] =
        parts.as_slice()
    else {
        return None;
    };
    if p.is_empty() || l.is_empty() {
        return None;
    }
    let parent = format!("projects/{p}/locations/{l}");
    match rest {
        [] => Some(Route::Collection { parent }),
        [last] => match last.strip_suffix(":cancel") {
            Some(id) => Some(Route::Cancel { parent, id }),
            None => Some(Route::Job { parent, id: last }),
        },
        _ => None,
    }
}

async fn handle(jobs: &Arc<Jobs>, req: Request<Incoming>) -> Answer {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error(400, "INVALID_ARGUMENT", format!("unreadable body: {e}")),
    };
    let Some(route) = route(&path) else {
        return error(
            404,
            "NOT_FOUND",
            format!("The requested URL {path} was not found on this server (batchline emulator)."),
        );
    };
    match (method, route) {
        (Method::POST, Route::Collection { parent }) => create(jobs, &parent, &body),
        (Method::GET, Route::Collection { parent }) => list(jobs, &parent, &query),
        (Method::GET, Route::Job { parent, id }) => {
            with_job(jobs, &parent, id, |e| json(200, &e.job))
        }
        (Method::POST, Route::Cancel { parent, id }) => cancel(jobs, &parent, id),
        (Method::DELETE, Route::Job { parent, id }) => delete(jobs, &parent, id),
        (m, _) => error(
            405,
            "METHOD_NOT_ALLOWED",
            format!("{m} is not served on {path}"),
        ),
    }
}

fn parse_id(id: &str) -> Option<u64> {
    id.parse()
        .ok()
        .filter(|_| id.bytes().all(|b| b.is_ascii_digit()))
}

fn not_found(parent: &str, id: &str) -> Answer {
    error(
        404,
        "NOT_FOUND",
        format!("The BatchPredictionJob \"{parent}/batchPredictionJobs/{id}\" does not exist."),
    )
}

fn with_job(
    jobs: &Jobs,
    parent: &str,
    id: &str,
    f: impl FnOnce(&mut super::jobs::Entry) -> Answer,
) -> Answer {
    let Some(n) = parse_id(id) else {
        return error(
            400,
            "INVALID_ARGUMENT",
            format!("Invalid BatchPredictionJob id \"{id}\": ids are numbers."),
        );
    };
    let mut table = jobs.table.lock().expect("job table");
    match table.get_mut(&n) {
        Some(e)
            if e.job
                .name
                .as_deref()
                .is_some_and(|name| name.starts_with(&format!("{parent}/"))) =>
        {
            f(e)
        }
        _ => not_found(parent, id),
    }
}

fn create(jobs: &Arc<Jobs>, parent: &str, body: &[u8]) -> Answer {
    let job: BatchPredictionJob = match serde_json::from_slice(body) {
        Ok(j) => j,
        Err(e) => {
            return error(
                400,
                "INVALID_ARGUMENT",
                format!("Invalid JSON payload received. {e}"),
            )
        }
    };
    {
        let mut left = jobs.rejects_left.lock().expect("reject counter");
        if *left > 0 {
            *left -= 1;
            return error(
                429,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for aiplatform.googleapis.com/batch_prediction_jobs (emulated by --reject-creates).",
            );
        }
    }
    if let Some(problem) = check_create(&job) {
        return error(400, "INVALID_ARGUMENT", problem);
    }
    json(200, &jobs.create(parent, job))
}

/// What the service would refuse in a create body.
fn check_create(job: &BatchPredictionJob) -> Option<String> {
    if job.display_name.as_deref().unwrap_or("").is_empty() {
        return Some("BatchPredictionJob.display_name is required.".into());
    }
    if job.model.as_deref().unwrap_or("").is_empty() {
        return Some("BatchPredictionJob.model is required.".into());
    }
    let (Some(input), Some(output)) = (&job.input_config, &job.output_config) else {
        return Some("BatchPredictionJob.input_config and output_config are required.".into());
    };
    match (&input.gcs_source, &input.bigquery_source, input.instances_format.as_str()) {
        (Some(g), None, "jsonl") if !g.uris.is_empty() && g.uris.iter().all(|u| super::split_gs(u).is_some()) => {}
        (None, Some(b), "bigquery") if b.input_uri.starts_with("bq://") => {}
        _ => return Some(format!(
            "inputConfig: give instancesFormat \"jsonl\" with gcsSource.uris (gs://…) or \"bigquery\" with bigquerySource.inputUri (bq://…); got instancesFormat {:?}",
            input.instances_format
        )),
    }
    match (&output.gcs_destination, &output.bigquery_destination, output.predictions_format.as_str()) {
        (Some(g), None, "jsonl") if super::split_gs(&g.output_uri_prefix).is_some() => None,
        (None, Some(b), "bigquery") if b.output_uri.starts_with("bq://") => None,
        _ => Some(format!(
            "outputConfig: give predictionsFormat \"jsonl\" with gcsDestination.outputUriPrefix (gs://…) or \"bigquery\" with bigqueryDestination.outputUri (bq://…); got predictionsFormat {:?}",
            output.predictions_format
        )),
    }
}

fn query_pairs(query: &str) -> BTreeMap<String, String> {
    reqwest::Url::parse(&format!("http://emulator/?{query}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// One `key=value` term of a list filter (`display_name`, `state`, `labels.KEY`; values quoted or not).
fn matches(job: &BatchPredictionJob, term: &str) -> Result<bool, String> {
    let (key, value) = term
        .split_once('=')
        .ok_or_else(|| format!("unsupported filter term {term:?}: use key=\"value\""))?;
    let (key, value) = (key.trim(), value.trim().trim_matches('"'));
    Ok(match key {
        "display_name" | "displayName" => job.display_name.as_deref() == Some(value),
        "state" => job.state().as_str() == value,
        _ => match key.strip_prefix("labels.") {
            Some(label) => job.labels.get(label).map(String::as_str) == Some(value),
            None => return Err(format!("unsupported filter key {key:?} (the emulator knows display_name, state, labels.KEY)")),
        },
    })
}

fn list(jobs: &Jobs, parent: &str, query: &str) -> Answer {
    let q = query_pairs(query);
    let size = match q.get("pageSize").map(|s| s.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if n > 0 => n.min(1000),
        Some(Ok(_)) => 100,
        Some(Err(_)) => return error(400, "INVALID_ARGUMENT", "pageSize: not a number"),
    };
    let start = match q.get("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match t.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return error(400, "INVALID_ARGUMENT", "Invalid page token."),
        },
    };
    let terms: Vec<&str> = q
        .get("filter")
        .map(|f| f.split(" AND ").filter(|t| !t.trim().is_empty()).collect())
        .unwrap_or_default();
    let table = jobs.table.lock().expect("job table");
    let mut all = Vec::new();
    // Newest first.
    for e in table.values().rev() {
        if !e
            .job
            .name
            .as_deref()
            .is_some_and(|n| n.starts_with(&format!("{parent}/")))
        {
            continue;
        }
        let mut keep = true;
        for t in &terms {
            match matches(&e.job, t) {
                Ok(m) => keep &= m,
                Err(msg) => return error(400, "INVALID_ARGUMENT", msg),
            }
        }
        if keep {
            all.push(e.job.clone());
        }
    }
    let end = (start + size).min(all.len());
    let page = all.get(start.min(all.len())..end).unwrap_or(&[]).to_vec();
    json(
        200,
        &ListBatchPredictionJobsResponse {
            batch_prediction_jobs: page,
            next_page_token: (end < all.len()).then(|| end.to_string()),
        },
    )
}

fn cancel(jobs: &Jobs, parent: &str, id: &str) -> Answer {
    with_job(jobs, parent, id, |e| {
        let state = e.job.state();
        if state.is_terminal() {
            return error(
                400,
                "FAILED_PRECONDITION",
                format!("Cannot cancel the BatchPredictionJob: it is in state {state}."),
            );
        }
        e.cancel.store(true, Ordering::SeqCst);
        if state != JobState::Cancelled {
            e.job.state = Some(JobState::Cancelling);
            e.job.update_time = Some(super::jobs::now_rfc3339());
        }
        json(200, &serde_json::json!({}))
    })
}

fn delete(jobs: &Jobs, parent: &str, id: &str) -> Answer {
    let answer = with_job(jobs, parent, id, |e| {
        let state = e.job.state();
        if !state.is_terminal() {
            return error(
                400,
                "FAILED_PRECONDITION",
                format!(
                    "The BatchPredictionJob is in state {state}: cancel it before deleting it."
                ),
            );
        }
        json(
            200,
            &Operation {
                name: format!("{parent}/operations/{id}"),
                metadata: Some(serde_json::json!({
                    "@type": "type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata",
                    "genericMetadata": {"createTime": super::jobs::now_rfc3339(), "updateTime": super::jobs::now_rfc3339()}
                })),
                done: true,
                error: None,
                response: Some(
                    serde_json::json!({"@type": "type.googleapis.com/google.protobuf.Empty"}),
                ),
            },
        )
    });
    if answer.status() == 200 {
        if let Some(n) = parse_id(id) {
            jobs.table.lock().expect("job table").remove(&n);
        }
    }
    answer
}
