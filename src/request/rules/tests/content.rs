//! Rules of the request, its contents and parts, blobs and file data.

use super::*;

// ---- GenerateContentRequest -----------------------------------------------------------------

#[test]
fn request_contents_cache_and_model_armor() {
    table(
        &req,
        &[
            (
                r#"{"contents":[]}"#,
                &[("E_EMPTY_CONTENTS", "/request/contents")],
            ),
            (
                r#"{"contents":[{"parts":[{"text":"x"}]}],"cachedContent":"projects/p/locations/us-central1/cachedContents/1"}"#,
                &[("E_CACHED_CONTENT", "/request/cachedContent")],
            ),
            (
                r#"{"cached_content":"c"}"#,
                &[("E_CACHED_CONTENT", "/request/cached_content")],
            ),
            (r#"{"cachedContent":""}"#, &[]),
            (r#"{"cachedContent":null}"#, &[]),
        ],
    );
    let armor = r#"{"modelArmorConfig":{"promptTemplateName":"projects/p/locations/l/templates/t"},"safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}]}"#;
    assert_eq!(
        req(armor),
        vec![("E_EXCLUSIVE", p("/request/modelArmorConfig"))]
    );
    table(
        &req,
        &[
            (
                r#"{"model_armor_config":{},"safety_settings":[{}]}"#,
                &[("E_EXCLUSIVE", "/request/model_armor_config")],
            ),
            (r#"{"modelArmorConfig":{},"safetySettings":[]}"#, &[]),
            (r#"{"modelArmorConfig":null,"safetySettings":[{}]}"#, &[]),
        ],
    );
}

#[test]
fn labels_follow_the_documented_pattern() {
    table(
        &req,
        &[(
            r#"{"labels":{"team":"ml-ops","run_id":"a1_b-2","empty":"","日本":"値","émile":"ça"}}"#,
            &[],
        )],
    );
    let found = req(
        r#"{"labels":{"Team":"x","1st":"x","a b":"x","ok":"Hello","k":"a.b","":"x","Éa":"x"}}"#,
    );
    assert_eq!(
        found,
        vec![
            ("E_LABEL", p("/request/labels/Team")),
            ("E_LABEL", p("/request/labels/1st")),
            ("E_LABEL", p("/request/labels/a b")),
            ("E_LABEL", p("/request/labels/ok")),
            ("E_LABEL", p("/request/labels/k")),
            ("E_LABEL", p("/request/labels/")),
            ("E_LABEL", p("/request/labels/Éa")),
        ]
    );
    // 63 code points is the limit, counted in code points, not bytes.
    let ok = format!(
        r#"{{"labels":{{"k":"{}","é":"{}"}}}}"#,
        "a".repeat(63),
        "é".repeat(63)
    );
    assert_eq!(req(&ok), vec![]);
    let long = format!(
        r#"{{"labels":{{"k":"{}","{}":"v"}}}}"#,
        "a".repeat(64),
        "é".repeat(64)
    );
    assert_eq!(codes(&req(&long)), vec!["E_LABEL", "E_LABEL"]);
    let many: Vec<String> = (0..65).map(|i| format!(r#""l{i}":"v""#)).collect();
    assert_eq!(
        req(&format!(r#"{{"labels":{{{}}}}}"#, many.join(","))),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/labels"))]
    );
    let max: Vec<String> = (0..64).map(|i| format!(r#""l{i}":"v""#)).collect();
    assert_eq!(
        req(&format!(r#"{{"labels":{{{}}}}}"#, max.join(","))),
        vec![]
    );
}

#[test]
fn label_keys_point_at_the_key() {
    let mut bytes = br#"{"request":{"labels":{"Bad":"v","ok":"Bad"}}}"#.to_vec();
    let tape = simd_json::to_tape(&mut bytes).unwrap();
    let request = JsonRef::root(&tape.0).unwrap().get("request").unwrap();
    let mut path = Path::new();
    path.push(Seg::Key("request"));
    let mut out = Findings::default();
    check_message(
        ctx(msg::GENERATE_CONTENT_REQUEST, None, None),
        request,
        &path,
        &mut out,
    );
    assert!(out.items[0].at_key, "a bad key points at the key");
    assert!(!out.items[1].at_key, "a bad value points at the value");
    assert!(
        out.items[0].message.contains("lower-case letter"),
        "{}",
        out.items[0].message
    );
}

// ---- Content and Part ------------------------------------------------------------------------

fn content(value: &str, field: &'static str) -> Found {
    let line = if field == "systemInstruction" {
        format!(r#"{{"request":{{"systemInstruction":{value}}}}}"#)
    } else {
        format!(r#"{{"request":{{"contents":[{value}]}}}}"#)
    };
    let at: &[Seg<'static>] = if field == "systemInstruction" {
        &[Seg::Key("request"), Seg::Key("systemInstruction")]
    } else {
        &[Seg::Key("request"), Seg::Key("contents"), Seg::Index(0)]
    };
    run(
        &line,
        at,
        ctx(
            msg::CONTENT,
            Some(msg::GENERATE_CONTENT_REQUEST),
            Some(field),
        ),
    )
}

#[test]
fn content_parts_and_roles() {
    assert_eq!(
        content(r#"{"role":"user","parts":[]}"#, "contents"),
        vec![("E_EMPTY_PARTS", p("/request/contents/0/parts"))]
    );
    assert_eq!(
        content(r#"{"role":"system","parts":[{"text":"x"}]}"#, "contents"),
        vec![("E_ROLE", p("/request/contents/0/role"))]
    );
    assert_eq!(
        content(r#"{"role":"User","parts":[{"text":"x"}]}"#, "contents"),
        vec![("E_ROLE", p("/request/contents/0/role"))]
    );
    assert_eq!(
        content(r#"{"role":"model","parts":[{"text":"x"}]}"#, "contents"),
        vec![]
    );
    assert_eq!(
        content(r#"{"role":"","parts":[{"text":"x"}]}"#, "contents"),
        vec![]
    );
    // A single object instead of a list was seen accepted.
    assert_eq!(
        content(r#"{"role":"user","parts":{"text":"x"}}"#, "contents"),
        vec![]
    );
    // The role of systemInstruction is ignored.
    assert_eq!(
        content(
            r#"{"role":"system","parts":[{"text":"x"}]}"#,
            "systemInstruction"
        ),
        vec![]
    );
    assert_eq!(
        content(
            r#"{"parts":[{"text":"x"},{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}"#,
            "systemInstruction"
        ),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/systemInstruction/parts/1/inlineData")
        )]
    );
    assert_eq!(
        content(r#"{"parts":{"file_data":{}}}"#, "systemInstruction"),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/systemInstruction/parts/file_data")
        )]
    );
}

#[test]
fn part_holds_exactly_one_data_field() {
    table(
        &part,
        &[
            (r#"{"text":"hi"}"#, &[]),
            (r#"{"text":"hi","thought":true}"#, &[]),
            (
                r#"{"text":"hi","thoughtSignature":"AAAA","mediaResolution":{"level":"MEDIA_RESOLUTION_LOW"}}"#,
                &[],
            ),
            (r#"{"text":"hi","fileData":null,"inlineData":null}"#, &[]),
            (
                r#"{"thought":true}"#,
                &[("E_PART_DATA", "/request/contents/0/parts/0")],
            ),
            (
                r#"{"thoughtSignature":"AAAA"}"#,
                &[("E_PART_DATA", "/request/contents/0/parts/0")],
            ),
            (
                r#"{"documentMetadata":{"startPage":1}}"#,
                &[("E_PART_DATA", "/request/contents/0/parts/0")],
            ),
        ],
    );
    // An unknown key (`txt`) is the walk's E_UNKNOWN_FIELD; no second finding.
    table(
        &part,
        &[
            (r#"{"txt":"hi"}"#, &[]),
            (
                r#"{"text":"a","inlineData":{"mimeType":"image/png","data":"AA=="}}"#,
                &[("E_PART_DATA", "/request/contents/0/parts/0/inlineData")],
            ),
            (
                r#"{"function_call":{"name":"f"},"text":"a","executable_code":{}}"#,
                &[("E_PART_DATA", "/request/contents/0/parts/0/text")],
            ),
        ],
    );
}

#[test]
fn part_empty_text_and_video_metadata_warn() {
    table(
        &part,
        &[
            (
                r#"{"text":""}"#,
                &[("W_UNCONFIRMED_LIMIT", "/request/contents/0/parts/0/text")],
            ),
            (r#"{"text":"","thoughtSignature":"AAAA"}"#, &[]),
            (
                r#"{"text":"x","videoMetadata":{"fps":1}}"#,
                &[(
                    "W_UNCONFIRMED_LIMIT",
                    "/request/contents/0/parts/0/videoMetadata",
                )],
            ),
            (
                r#"{"file_data":{"file_uri":"gs://b/v.mp4","mime_type":"video/mp4"},"video_metadata":{"fps":1}}"#,
                &[],
            ),
        ],
    );
}

#[test]
fn function_response_part_holds_one_of_inline_or_file() {
    let at = |v: &str| {
        run(
            &format!(r#"{{"request":{{"x":{{"parts":[{v}]}}}}}}"#),
            &[
                Seg::Key("request"),
                Seg::Key("x"),
                Seg::Key("parts"),
                Seg::Index(0),
            ],
            ctx(
                msg::FUNCTION_RESPONSE_PART,
                Some(msg::FUNCTION_RESPONSE),
                Some("parts"),
            ),
        )
    };
    table(
        &at,
        &[
            (
                r#"{"inlineData":{"mimeType":"image/png","data":"AA=="}}"#,
                &[],
            ),
            (r#"{}"#, &[("E_PART_DATA", "/request/x/parts/0")]),
            (
                r#"{"inlineData":{},"fileData":{}}"#,
                &[("E_PART_DATA", "/request/x/parts/0/fileData")],
            ),
        ],
    );
}

// ---- Blob and FileData --------------------------------------------------------------------

#[test]
fn blob_mime_type_and_data() {
    let blob = |v: &str| in_part("inlineData", msg::BLOB, v);
    table(
        &blob,
        &[
            (r#"{"mimeType":"image/png","data":"AA=="}"#, &[]),
            (
                r#"{"mime_type":"audio/L16; rate=24000","data":"AA=="}"#,
                &[],
            ),
            (
                r#"{"mimeType":"","data":"AA=="}"#,
                &[(
                    "E_MIME_TYPE",
                    "/request/contents/0/parts/0/inlineData/mimeType",
                )],
            ),
            (
                r#"{"mimeType":"png","data":"AA=="}"#,
                &[(
                    "E_MIME_TYPE",
                    "/request/contents/0/parts/0/inlineData/mimeType",
                )],
            ),
            (
                r#"{"mimeType":"image/","data":"AA=="}"#,
                &[(
                    "E_MIME_TYPE",
                    "/request/contents/0/parts/0/inlineData/mimeType",
                )],
            ),
            (
                r#"{"mimeType":"image png/x","data":"AA=="}"#,
                &[(
                    "E_MIME_TYPE",
                    "/request/contents/0/parts/0/inlineData/mimeType",
                )],
            ),
            (
                r#"{"mimeType":"image/png","data":""}"#,
                &[(
                    "E_EMPTY_VALUE",
                    "/request/contents/0/parts/0/inlineData/data",
                )],
            ),
        ],
    );
}

#[test]
fn file_uris_and_mime_types() {
    let file = |uri: &str| {
        in_part(
            "fileData",
            msg::FILE_DATA,
            &format!(r#"{{"fileUri":"{uri}","mimeType":"application/pdf"}}"#),
        )
    };
    for ok in [
        "gs://bucket/a.pdf",
        "gs://my-bucket.example_1/dir/file name.pdf",
        "https://www.youtube.com/watch?v=abc",
        "HTTPS://example.com/a.pdf",
        "http://example.com",
    ] {
        assert_eq!(file(ok), vec![], "{ok}");
    }
    for bad in [
        "",
        "gs://bucket",
        "gs://bucket/",
        "gs:///a.pdf",
        "gs://My_Bucket/a.pdf",
        "s3://b/a.pdf",
        "/local/a.pdf",
        "https:///a",
        "ftp://h/a",
    ] {
        assert_eq!(
            file(bad),
            vec![(
                "E_FILE_URI",
                p("/request/contents/0/parts/0/fileData/fileUri")
            )],
            "{bad}"
        );
    }
    assert_eq!(
        in_part(
            "file_data",
            msg::FILE_DATA,
            r#"{"file_uri":"gs://b/a","mime_type":"pdf"}"#
        ),
        vec![(
            "E_MIME_TYPE",
            p("/request/contents/0/parts/0/file_data/mime_type")
        )]
    );
    assert_eq!(
        alone(
            msg::FUNCTION_RESPONSE_FILE_DATA,
            r#"{"fileUri":"b/a.png","mimeType":"image/png"}"#
        ),
        vec![("E_FILE_URI", p("/request/x/fileUri"))]
    );
}

#[test]
fn output_locations_are_cloud_storage() {
    assert_eq!(
        alone(
            msg::GENERATE_CONTENT_REQUEST_OUTPUT_CONFIG,
            r#"{"outputUriPrefix":"gs://b/out/"}"#
        ),
        vec![]
    );
    assert_eq!(
        alone(
            msg::GENERATE_CONTENT_REQUEST_OUTPUT_CONFIG,
            r#"{"output_uri_prefix":"https://b/out/"}"#
        ),
        vec![("E_FILE_URI", p("/request/x/output_uri_prefix"))]
    );
    assert_eq!(
        alone(msg::VIDEO_RESPONSE_FORMAT, r#"{"gcsUri":"gs://Bad/x"}"#),
        vec![("E_FILE_URI", p("/request/x/gcsUri"))]
    );
    assert_eq!(
        alone(
            msg::IMAGE_CONFIG_IMAGE_OUTPUT_OPTIONS,
            r#"{"mimeType":"jpeg"}"#
        ),
        vec![("E_MIME_TYPE", p("/request/x/mimeType"))]
    );
    assert_eq!(
        alone(
            msg::IMAGE_CONFIG_IMAGE_OUTPUT_OPTIONS,
            r#"{"mimeType":"image/jpeg"}"#
        ),
        vec![]
    );
}
