//! Parser fixtures: rows as Vertex writes them (both member orders), failures, blocks, odd
//! success rows.

use super::*;

const KEY: Option<&str> = Some("batchline_key");

/// A success row in the member order since 2025-11, with the key member after them.
const CURRENT: &str = r#"{"request":{"contents":[{"parts":[{"text":"Hi"}],"role":"user"}]},"status":"","response":{"candidates":[{"avgLogprobs":-0.2,"content":{"parts":[{"text":"Hello"},{"text":" there"}],"role":"model"},"finishReason":"STOP"}],"createTime":"2025-11-02T10:00:00.123456Z","modelVersion":"gemini-2.5-flash","responseId":"abc","usageMetadata":{"cachedContentTokenCount":1024,"candidatesTokenCount":3,"promptTokenCount":2048,"thoughtsTokenCount":17,"toolUsePromptTokenCount":5,"totalTokenCount":2073,"trafficType":"ON_DEMAND"}},"processed_time":"2025-11-02T10:00:01.123456+00:00","batchline_key":"bl-1z"}"#;

/// The order until 2025-09 (status, processed_time, request, response), milliseconds.
const Y2025: &str = r#"{"status":"","processed_time":"2025-06-01T08:00:00.123+00:00","request":{"contents":[{"parts":[{"text":"Hi"}],"role":"user"}]},"response":{"candidates":[{"content":{"parts":[{"text":"Yo"}],"role":"model"},"finishReason":"STOP"}],"modelVersion":"gemini-2.0-flash-001","usageMetadata":{"candidatesTokenCount":1,"promptTokenCount":2,"totalTokenCount":3}}}"#;

#[test]
fn both_layouts_read_by_name() {
    let r = parse_row(CURRENT.as_bytes(), KEY).unwrap();
    assert_eq!(r.outcome, Outcome::Succeeded);
    assert_eq!(r.raw.key.as_deref(), Some("bl-1z"));
    assert_eq!(r.raw.status.as_deref(), Some(""));
    assert_eq!(
        r.raw.processed_time.as_deref(),
        Some("2025-11-02T10:00:01.123456+00:00")
    );
    assert_eq!(
        r.raw.request.unwrap().get(),
        r#"{"contents":[{"parts":[{"text":"Hi"}],"role":"user"}]}"#
    );
    assert!(r
        .raw
        .response
        .unwrap()
        .get()
        .starts_with(r#"{"candidates":[{"avgLogprobs""#));
    assert_eq!(
        r.usage,
        Usage {
            prompt_token_count: 2048,
            cached_content_token_count: 1024,
            candidates_token_count: 3,
            thoughts_token_count: 17,
            tool_use_prompt_token_count: 5,
        }
    );
    assert_eq!(first_text(r.raw.response.unwrap()), "Hello there");

    let r = parse_row(Y2025.as_bytes(), KEY).unwrap();
    assert_eq!(r.outcome, Outcome::Succeeded);
    assert_eq!(r.raw.key, None);
    assert_eq!(
        r.raw.processed_time.as_deref(),
        Some("2025-06-01T08:00:00.123+00:00")
    );
    assert_eq!(r.usage.prompt_token_count, 2);
    assert_eq!(r.usage.cached_content_token_count, 0);
    assert_eq!(first_text(r.raw.response.unwrap()), "Yo");
}

#[test]
fn failed_row_with_empty_response_and_details() {
    let row = r#"{"request":{"contents":[{"parts":[{"text":"x"}],"role":"system"}]},"status":"Bad Request: {\"error\": {\"code\": 400, \"message\": \"Please use a valid role: user, model.\", \"status\": \"INVALID_ARGUMENT\", \"details\": [{\"@type\": \"type.googleapis.com/google.rpc.BadRequest\", \"fieldViolations\": [{\"field\": \"contents[0].role\"}]}]}}","response":{},"processed_time":"2025-11-02T10:00:01.5+00:00","batchline_key":"bl-0"}"#;
    let r = parse_row(row.as_bytes(), KEY).unwrap();
    assert_eq!(r.raw.key.as_deref(), Some("bl-0"));
    assert_eq!(r.raw.response.unwrap().get(), "{}");
    assert_eq!(r.usage, Usage::default());
    let Outcome::Failed(e) = &r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(e.code, Some(400));
    assert_eq!(e.message, "Please use a valid role: user, model.");
    assert_eq!(e.status.as_deref(), Some("INVALID_ARGUMENT"));
    assert_eq!(
        e.details.as_deref(),
        Some(
            r#"[{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "contents[0].role"}]}]"#
        )
    );
    assert!(!crate::collect::is_retryable(e));
    assert_eq!(
        crate::collect::reason_of(&r.outcome).as_deref(),
        Some("INVALID_ARGUMENT")
    );
    // The fragment carries the parsed error, not the empty response.
    let mut out = Vec::new();
    crate::collect::write::fragment(&r, false, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#","status":"failed","error":{"code":400,"message":"Please use a valid role: user, model.","status":"INVALID_ARGUMENT","details":[{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "contents[0].role"}]}]}"#
    );
}

#[test]
fn statuses_classed() {
    let e = parse_status(
        r#"Too Many Requests: {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}"#,
    );
    assert_eq!(e.code, Some(429));
    assert!(crate::collect::is_retryable(&e));
    let e = parse_status(r#"Internal: {"error": {"code": 500, "message": "boom"}}"#);
    assert_eq!((e.code, e.status.as_deref()), (Some(500), None));
    assert!(crate::collect::is_retryable(&e));
    assert_eq!(
        crate::collect::reason_of(&Outcome::Failed(e)).as_deref(),
        Some("HTTP_500")
    );
    // Not the documented form: the whole string is the message, and it is not retried.
    let e = parse_status("something odd happened");
    assert_eq!(
        e,
        RowError {
            code: None,
            message: "something odd happened".into(),
            status: None,
            details: None
        }
    );
    assert!(!crate::collect::is_retryable(&e));
    let e = parse_status(
        r#"Unavailable: {"error": {"code": 503, "message": "m", "status": "UNAVAILABLE"}}"#,
    );
    assert!(crate::collect::is_retryable(&e));
}

#[test]
fn odd_success_rows() {
    // Empty text, no candidatesTokenCount, no totalTokenCount.
    let row = r#"{"request":{"contents":[]},"status":"","response":{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":9}},"processed_time":"2025-11-02T10:00:01.123456+00:00"}"#;
    let r = parse_row(row.as_bytes(), KEY).unwrap();
    assert_eq!(r.outcome, Outcome::Succeeded);
    assert_eq!(r.usage.prompt_token_count, 9);
    assert_eq!(r.usage.candidates_token_count, 0);
    assert_eq!(first_text(r.raw.response.unwrap()), "");
    // A candidate whose content has no parts (MAX_TOKENS with thinking only).
    let row = r#"{"request":{},"status":"","response":{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":4,"thoughtsTokenCount":100,"totalTokenCount":104}},"processed_time":"2025-11-02T10:00:01+00:00"}"#;
    let r = parse_row(row.as_bytes(), KEY).unwrap();
    assert_eq!(r.outcome, Outcome::Succeeded);
    assert_eq!(r.usage.thoughts_token_count, 100);
    assert_eq!(first_text(r.raw.response.unwrap()), "");
    let mut out = Vec::new();
    crate::collect::write::fragment(&r, true, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#","status":"succeeded","text":"""#
    );
    // Thought parts are not the answer.
    let row = r#"{"status":"","response":{"candidates":[{"content":{"parts":[{"text":"thinking…","thought":true},{"text":"42"}]}}]},"request":{}}"#;
    let r = parse_row(row.as_bytes(), KEY).unwrap();
    assert_eq!(first_text(r.raw.response.unwrap()), "42");
}

#[test]
fn null_filled_2024_echo_matches_by_hash() {
    // Rows from 2024 filled members missing from some array elements with null.
    let row = r#"{"status":"","processed_time":"2024-10-01T08:00:00.123+00:00","request":{"contents":[{"parts":[{"fileData":null,"text":"Describe"},{"fileData":{"fileUri":"gs://b/c.png","mimeType":"image/png"},"text":null}],"role":"user"}]},"response":{"candidates":[{"content":{"parts":[{"text":"A cat"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":300,"candidatesTokenCount":2,"totalTokenCount":302}}}"#;
    let r = parse_row(row.as_bytes(), KEY).unwrap();
    let input = r#"{"contents": [{"role": "user", "parts": [{"text": "Describe"}, {"fileData": {"mimeType": "image/png", "fileUri": "gs://b/c.png"}}]}]}"#;
    let echoed =
        crate::request::canon::canonical_hash_bytes(r.raw.request.unwrap().get().as_bytes());
    let original = crate::request::canon::canonical_hash_bytes(input.as_bytes());
    assert!(echoed.is_some());
    assert_eq!(echoed, original);
}

#[test]
fn safety_block() {
    let row = r#"{"request":{"contents":[{"parts":[{"text":"bad"}],"role":"user"}]},"status":"","response":{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}},"processed_time":"2025-11-02T10:00:01.123456+00:00","batchline_key":"bl-2"}"#;
    let r = parse_row(row.as_bytes(), KEY).unwrap();
    assert_eq!(r.outcome, Outcome::Blocked("SAFETY".into()));
    assert_eq!(
        crate::collect::reason_of(&r.outcome).as_deref(),
        Some("BLOCKED_SAFETY")
    );
    let mut out = Vec::new();
    crate::collect::write::fragment(&r, false, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#","status":"failed","response":{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3}},"error":{"blockReason":"SAFETY","message":"the prompt was blocked (SAFETY): no candidates","status":"BLOCKED"}"#
    );
}

#[test]
fn keys_as_numbers_and_odd_values() {
    let r = parse_row(
        br#"{"status":"","response":{"candidates":[]},"batchline_key":17}"#,
        KEY,
    )
    .unwrap();
    assert_eq!(r.raw.key.as_deref(), Some("17"));
    let r = parse_row(
        br#"{"status":"","response":{"candidates":[]},"batchline_key":{"a":1}}"#,
        KEY,
    )
    .unwrap();
    assert_eq!(r.raw.key, None);
    // Escaped key text is unescaped.
    let r = parse_row(
        br#"{"status":"","response":{},"batchline_key":"bl-\u0031"}"#,
        KEY,
    )
    .unwrap();
    assert_eq!(r.raw.key.as_deref(), Some("bl-1"));
}

#[test]
fn not_rows() {
    for bad in [
        &b"[1,2]"[..],
        b"{\"status\":\"\"}",
        b"{\"status\":\"\",\"response\":[1]}",
        b"{\"status\":\"\",\"response\":{}} trailing",
        b"\xff\xfe",
        b"{\"status\":5}",
    ] {
        let e = parse_row(bad, KEY).unwrap_err();
        assert!(!e.message.is_empty());
    }
    // Deep nesting: skipped without recursion, no stack overflow.
    let deep = format!(
        "{{\"status\":\"\",\"response\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        parse_row(deep.as_bytes(), KEY).unwrap_err().message,
        "the response is not a JSON object"
    );
    let deep = format!(
        "{{\"status\":\"\",\"response\":{{\"x\":{}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(
        parse_row(deep.as_bytes(), KEY).unwrap().outcome,
        Outcome::Succeeded
    );
}
