//! The client against a local server that replays queued responses and records what it got.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use super::*;
use crate::vertex::retry::BackoffConfig;
use crate::vertex::wire::{create_body, CreateSpec, Destination, JobState, Source};

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path_and_query: String,
    authorization: Option<String>,
    body: String,
}

#[derive(Default)]
struct Replay {
    queue: Mutex<VecDeque<(u16, String)>>,
    seen: Mutex<Vec<Seen>>,
}

/// Serves `responses` in order (then 599) on a free loopback port; returns its URL.
async fn replay(responses: Vec<(u16, &str)>) -> (String, Arc<Replay>) {
    let state = Arc::new(Replay::default());
    state
        .queue
        .lock()
        .unwrap()
        .extend(responses.into_iter().map(|(s, b)| (s, b.to_string())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let st = Arc::clone(&state);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let st = Arc::clone(&st);
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let st = Arc::clone(&st);
                    async move {
                        let method = req.method().to_string();
                        let path_and_query = req.uri().to_string();
                        let authorization = req
                            .headers()
                            .get("authorization")
                            .map(|v| v.to_str().unwrap().to_string());
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        st.seen.lock().unwrap().push(Seen {
                            method,
                            path_and_query,
                            authorization,
                            body: String::from_utf8_lossy(&body).into(),
                        });
                        let (status, body) = st
                            .queue
                            .lock()
                            .unwrap()
                            .pop_front()
                            .unwrap_or((599, "no response queued".into()));
                        Ok::<_, Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body)))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (url, state)
}

fn client(url: &str) -> VertexClient {
    let mut o = ClientOptions::new("p", "us-central1");
    o.endpoint = Some(url.to_string());
    o.auth = AuthConfig::Token("tok-123".into());
    o.retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(10),
    };
    VertexClient::new(&o).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

const JOB: &str = r#"{"name": "projects/p/locations/us-central1/batchPredictionJobs/77", "displayName": "d", "state": "JOB_STATE_PENDING"}"#;

fn body() -> BatchPredictionJob {
    create_body(&CreateSpec {
        display_name: "d".into(),
        model: "gemini-2.5-flash".into(),
        source: Source::parse("gs://b/in.jsonl").unwrap(),
        destination: Some(Destination::parse("gs://b/out").unwrap()),
        labels: Default::default(),
    })
    .unwrap()
}

#[test]
fn a_429_and_a_503_are_retried_and_the_job_comes_back() {
    runtime().block_on(async {
        let (url, seen) = replay(vec![
            (429, r#"{"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}"#),
            (503, r#"{"error": {"code": 503, "message": "unavailable", "status": "UNAVAILABLE"}}"#),
            (200, JOB),
        ])
        .await;
        let job = client(&url).create(&body()).await.unwrap();
        assert_eq!(job.id(), Some("77"));
        assert_eq!(job.state(), JobState::Pending);
        let seen = seen.seen.lock().unwrap();
        assert_eq!(seen.len(), 3);
        for s in seen.iter() {
            assert_eq!(s.method, "POST");
            assert_eq!(s.path_and_query, "/v1/projects/p/locations/us-central1/batchPredictionJobs");
            assert_eq!(s.authorization.as_deref(), Some("Bearer tok-123"));
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&s.body).unwrap(),
                serde_json::to_value(body()).unwrap()
            );
        }
    });
}

#[test]
fn a_400_is_not_retried_and_its_message_is_shown_without_the_token() {
    runtime().block_on(async {
        let (url, seen) = replay(vec![
            (400, r#"{"error": {"code": 400, "message": "Please use a valid role: user, model.", "status": "INVALID_ARGUMENT"}}"#),
            (200, JOB),
        ])
        .await;
        let err = client(&url).get("77").await.unwrap_err();
        assert_eq!(err.http_status(), Some(400));
        let text = err.to_string();
        assert_eq!(
            text,
            format!("GET {url}/v1/projects/p/locations/us-central1/batchPredictionJobs/77: 400 INVALID_ARGUMENT: Please use a valid role: user, model.")
        );
        assert!(!text.contains("tok-123"));
        assert_eq!(seen.seen.lock().unwrap().len(), 1, "a 400 must not be retried");
    });
}

#[test]
fn a_500_on_create_is_not_repeated_but_on_get_it_is() {
    runtime().block_on(async {
        let e500 = r#"{"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}}"#;
        let (url, seen) = replay(vec![(500, e500), (500, e500), (200, JOB)]).await;
        let c = client(&url);
        let err = c.create(&body()).await.unwrap_err();
        assert_eq!(err.http_status(), Some(500));
        assert_eq!(seen.seen.lock().unwrap().len(), 1);
        let job = c.get("projects/p/locations/us-central1/batchPredictionJobs/77").await.unwrap();
        assert_eq!(job.id(), Some("77"));
        assert_eq!(seen.seen.lock().unwrap().len(), 3);
    });
}

#[test]
fn retries_stop_at_max_retries_and_say_so() {
    runtime().block_on(async {
        let e = r#"{"error": {"code": 503, "message": "busy", "status": "UNAVAILABLE"}}"#;
        let (url, seen) = replay(vec![(503, e); 6]).await;
        let err = client(&url).get("77").await.unwrap_err();
        assert_eq!(seen.seen.lock().unwrap().len(), 4, "1 attempt + 3 retries");
        assert!(
            matches!(err, VertexError::GaveUp { retries: 3, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("503 UNAVAILABLE: busy"), "{err}");
    });
}

#[test]
fn list_cancel_delete_use_the_documented_paths() {
    runtime().block_on(async {
        let (url, seen) = replay(vec![
            (200, r#"{"batchPredictionJobs": [{"name": "projects/p/locations/us-central1/batchPredictionJobs/1"}], "nextPageToken": "n2"}"#),
            (200, r#"{"batchPredictionJobs": [{"name": "projects/p/locations/us-central1/batchPredictionJobs/2"}]}"#),
            (200, "{}"),
            (200, r#"{"name": "projects/p/locations/us-central1/operations/9", "done": true}"#),
            (502, "<html>bad gateway</html>"),
            (404, r#"{"error": {"code": 404, "message": "The BatchPredictionJob does not exist.", "status": "NOT_FOUND"}}"#),
        ])
        .await;
        let c = client(&url);
        let jobs = c.list_all(Some("labels.run=\"r 1\"")).await.unwrap();
        assert_eq!(
            jobs.iter().map(|j| j.id().unwrap()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        c.cancel("1").await.unwrap();
        let op = c.delete("2").await.unwrap();
        assert!(op.done);
        // A non-Google 502 body is retried, then the 404 is Google's and final.
        let err = c.get("3").await.unwrap_err();
        assert_eq!(err.http_status(), Some(404));
        assert!(err.to_string().contains("NOT_FOUND: The BatchPredictionJob does not exist."));
        let seen: Vec<(String, String)> = seen
            .seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| (s.method.clone(), s.path_and_query.clone()))
            .collect();
        let base = "/v1/projects/p/locations/us-central1/batchPredictionJobs";
        assert_eq!(
            seen,
            [
                ("GET".into(), format!("{base}?filter=labels.run%3D%22r+1%22&pageSize=100")),
                ("GET".into(), format!("{base}?filter=labels.run%3D%22r+1%22&pageSize=100&pageToken=n2")),
                ("POST".into(), format!("{base}/1:cancel")),
                ("DELETE".into(), format!("{base}/2")),
                ("GET".into(), format!("{base}/3")),
                ("GET".into(), format!("{base}/3")),
            ]
        );
    });
}

#[test]
fn endpoints_follow_the_location_and_names_are_checked() {
    assert_eq!(
        endpoint_for("us-central1"),
        "https://us-central1-aiplatform.googleapis.com"
    );
    assert_eq!(endpoint_for("global"), "https://aiplatform.googleapis.com");
    let c = client("http://127.0.0.1:9/");
    assert_eq!(
        c.job_url("5").unwrap(),
        "http://127.0.0.1:9/v1/projects/p/locations/us-central1/batchPredictionJobs/5"
    );
    assert!(c
        .job_url("projects/q/locations/us-central1/batchPredictionJobs/5")
        .is_err());
    assert!(c.job_url("5:cancel").is_err());
    assert!(c.job_url("").is_err());
    let mut o = ClientOptions::new("p", "l");
    o.endpoint = Some("127.0.0.1:9".into());
    assert!(VertexClient::new(&o).is_err());
}
