//! Unit tests of the prose rules: each builds a line, walks to one message object by hand, calls
//! `check_message`, and asserts the exact codes and pointers. `walk_all` visits every message
//! object of a line (post-order, like the schema walk) so whole Google-style requests can be
//! checked for silence.

use super::*;
use crate::request::schema::{MESSAGES, ROOT};
use crate::request::schema_types::{Container, Ty};
use crate::request::value::Kind;

type Found = Vec<(&'static str, String)>;

fn collect(out: &Findings) -> Found {
    out.items
        .iter()
        .map(|f| (f.code.as_str(), f.pointer.clone()))
        .collect()
}

/// Runs `check_message` on the object at `at` (segments from the line root).
fn run(line: &str, at: &[Seg<'static>], ctx: MessageCtx) -> Found {
    let mut bytes = line.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).expect("valid JSON");
    let mut v = JsonRef::root(&tape.0).unwrap();
    let mut path = Path::new();
    for seg in at {
        v = match *seg {
            Seg::Key(k) => v.get(k).unwrap_or_else(|| panic!("no member {k}")),
            Seg::Member(_, n) => v.members().nth(n as usize).expect("no member").1,
            Seg::Index(i) => v.elements().nth(i).expect("no element"),
        };
        path.push(*seg);
    }
    let mut out = Findings::default();
    check_message(ctx, v, &path, &mut out);
    collect(&out)
}

fn ctx(msg: u16, parent: Option<u16>, field: Option<&'static str>) -> MessageCtx {
    MessageCtx { msg, parent, field }
}

fn p(s: &str) -> String {
    s.to_string()
}

/// The request object itself.
fn req(body: &str) -> Found {
    run(
        &format!(r#"{{"request":{body}}}"#),
        &[Seg::Key("request")],
        ctx(msg::GENERATE_CONTENT_REQUEST, None, None),
    )
}

/// `request.generationConfig`.
fn gen(config: &str) -> Found {
    run(
        &format!(r#"{{"request":{{"generationConfig":{config}}}}}"#),
        &[Seg::Key("request"), Seg::Key("generationConfig")],
        ctx(
            msg::GENERATION_CONFIG,
            Some(msg::GENERATE_CONTENT_REQUEST),
            Some("generationConfig"),
        ),
    )
}

/// `request.contents[0].parts[0]`.
fn part(p: &str) -> Found {
    run(
        &format!(r#"{{"request":{{"contents":[{{"role":"user","parts":[{p}]}}]}}}}"#),
        &[
            Seg::Key("request"),
            Seg::Key("contents"),
            Seg::Index(0),
            Seg::Key("parts"),
            Seg::Index(0),
        ],
        ctx(msg::PART, Some(msg::CONTENT), Some("parts")),
    )
}

/// An object of message `m` held by part 0 under `key` (e.g. `fileData`).
fn in_part(key: &'static str, m: u16, value: &str) -> Found {
    run(
        &format!(r#"{{"request":{{"contents":[{{"parts":[{{"{key}":{value}}}]}}]}}}}"#),
        &[
            Seg::Key("request"),
            Seg::Key("contents"),
            Seg::Index(0),
            Seg::Key("parts"),
            Seg::Index(0),
            Seg::Key(key),
        ],
        ctx(m, Some(msg::PART), None),
    )
}

/// `request.tools[0].<key>[0]` or `request.tools[0]` when `key` is empty.
fn in_tool(key: &'static str, m: u16, value: &str) -> Found {
    if key.is_empty() {
        return run(
            &format!(r#"{{"request":{{"tools":[{value}]}}}}"#),
            &[Seg::Key("request"), Seg::Key("tools"), Seg::Index(0)],
            ctx(m, Some(msg::GENERATE_CONTENT_REQUEST), Some("tools")),
        );
    }
    run(
        &format!(r#"{{"request":{{"tools":[{{"{key}":[{value}]}}]}}}}"#),
        &[
            Seg::Key("request"),
            Seg::Key("tools"),
            Seg::Index(0),
            Seg::Key(key),
            Seg::Index(0),
        ],
        ctx(m, Some(msg::TOOL), None),
    )
}

/// An object of message `m` alone at `request.x` (for messages whose rules ignore context).
fn alone(m: u16, value: &str) -> Found {
    run(
        &format!(r#"{{"request":{{"x":{value}}}}}"#),
        &[Seg::Key("request"), Seg::Key("x")],
        ctx(m, None, None),
    )
}

fn codes(found: &Found) -> Vec<&'static str> {
    found.iter().map(|(c, _)| *c).collect()
}

/// Visits every message object of a line like the schema walk (children first) and runs the rules.
fn walk_all(line: &str) -> Found {
    fn visit<'t, 'i>(
        v: JsonRef<'t, 'i>,
        m: u16,
        parent: Option<u16>,
        field: Option<&'static str>,
        path: &mut Path<'i>,
        out: &mut Findings,
    ) {
        for (key, value) in v.members() {
            let Some(f) = MESSAGES[m as usize]
                .fields
                .iter()
                .find(|f| f.json_name == key || f.snake_name == key)
            else {
                continue;
            };
            let Ty::Message(child) = f.ty else { continue };
            path.push(Seg::Key(key));
            match (f.container, value.kind()) {
                (Container::Repeated, Kind::Array) => {
                    for (i, e) in value.elements().enumerate() {
                        path.push(Seg::Index(i));
                        if e.kind() == Kind::Object {
                            visit(e, child, Some(m), Some(f.json_name), path, out);
                        }
                        path.pop();
                    }
                }
                (Container::Map, Kind::Object) => {
                    for (k, e) in value.members() {
                        path.push(Seg::Key(k));
                        if e.kind() == Kind::Object {
                            visit(e, child, Some(m), None, path, out);
                        }
                        path.pop();
                    }
                }
                (_, Kind::Object) => visit(value, child, Some(m), Some(f.json_name), path, out),
                _ => {}
            }
            path.pop();
        }
        check_message(ctx(m, parent, field), v, path, out);
    }
    let mut bytes = line.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).expect("valid JSON");
    let root = JsonRef::root(&tape.0).unwrap();
    let mut path = Path::new();
    path.push(Seg::Key("request"));
    let mut out = Findings::default();
    visit(
        root.get("request").unwrap(),
        ROOT,
        None,
        None,
        &mut path,
        &mut out,
    );
    collect(&out)
}

// ---- whole requests -----------------------------------------------------------------------

#[test]
fn google_style_requests_have_no_findings() {
    let lines = [
        // Vertex batch documentation examples.
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"What is the relation between the following video and image samples?"},{"fileData":{"fileUri":"gs://cloud-samples-data/generative-ai/video/animals.mp4","mimeType":"video/mp4"}},{"fileData":{"fileUri":"gs://cloud-samples-data/generative-ai/image/cricket.jpeg","mimeType":"image/jpeg"}}]}],"generationConfig":{"temperature":0.9,"topP":1,"maxOutputTokens":256}}}"#,
        r#"{"id":1,"request":{"contents":[{"role":"user","parts":{"text":"Give me a recipe for banana bread."}}],"system_instruction":{"parts":[{"text":"You are a chef."}]}}}"#,
        r#"{"request":{"contents":[{"role":"user","parts":[{"file_data":{"file_uri":"gs://b/a.pdf","mime_type":"application/pdf"}},{"text":"Summarise."}]}],"generationConfig":{"temperature":0,"response_mime_type":"application/json","response_schema":{"type":"object","properties":{"title":{"type":"string"},"tags":{"type":"array","items":{"type":"STRING"},"minItems":"1","maxItems":"5"}},"required":["title"]}},"labels":{"batch":"run-7","team":"ml_ops","empty":""}}}"#,
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":"Weather in Paris?"}]},{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"AAAA"}]},{"role":"user","parts":[{"functionResponse":{"name":"get_weather","response":{"output":"sunny"}}}]}],"tools":[{"functionDeclarations":[{"name":"get_weather","description":"d","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"}},"required":["city"]}}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_weather"]},"retrievalConfig":{"latLng":{"latitude":48.85,"longitude":2.35}}}}}"#,
        r#"{"request":{"contents":[{"role":"user","parts":[{"fileData":{"fileUri":"https://www.youtube.com/watch?v=abc","mimeType":"video/mp4"},"videoMetadata":{"startOffset":"1.5s","endOffset":"10s","fps":24}},{"inlineData":{"mimeType":"audio/L16;rate=24000","data":"AAAA"}},{"text":"Describe."}]}],"generationConfig":{"thinkingConfig":{"thinkingBudget":-1},"speechConfig":{"voiceConfig":{"prebuiltVoiceConfig":{"voiceName":"Kore"}}},"presencePenalty":2,"frequencyPenalty":-2,"stopSequences":["a","b","c","d","e"],"responseLogprobs":true,"logprobs":5}}}"#,
    ];
    for line in lines {
        assert_eq!(walk_all(line), vec![], "{line}");
    }
}

#[test]
fn walk_all_reports_in_post_order_with_pointers() {
    let line = r#"{"request":{"contents":[{"role":"system","parts":[{"text":"a","inline_data":{"mime_type":"png","data":"AA=="}}]}],"cached_content":"projects/p/locations/l/cachedContents/c"}}"#;
    assert_eq!(
        walk_all(line),
        vec![
            (
                "E_MIME_TYPE",
                p("/request/contents/0/parts/0/inline_data/mime_type")
            ),
            ("E_PART_DATA", p("/request/contents/0/parts/0/inline_data")),
            ("E_ROLE", p("/request/contents/0/role")),
            ("E_CACHED_CONTENT", p("/request/cached_content")),
        ]
    );
}

// ---- GenerateContentRequest -----------------------------------------------------------------

#[test]
fn request_contents_cache_and_model_armor() {
    assert_eq!(
        req(r#"{"contents":[]}"#),
        vec![("E_EMPTY_CONTENTS", p("/request/contents"))]
    );
    assert_eq!(
        req(
            r#"{"contents":[{"parts":[{"text":"x"}]}],"cachedContent":"projects/p/locations/us-central1/cachedContents/1"}"#
        ),
        vec![("E_CACHED_CONTENT", p("/request/cachedContent"))]
    );
    assert_eq!(
        req(r#"{"cached_content":"c"}"#),
        vec![("E_CACHED_CONTENT", p("/request/cached_content"))]
    );
    assert_eq!(req(r#"{"cachedContent":""}"#), vec![]);
    assert_eq!(req(r#"{"cachedContent":null}"#), vec![]);
    let armor = r#"{"modelArmorConfig":{"promptTemplateName":"projects/p/locations/l/templates/t"},"safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_NONE"}]}"#;
    assert_eq!(
        req(armor),
        vec![("E_EXCLUSIVE", p("/request/modelArmorConfig"))]
    );
    assert_eq!(
        req(r#"{"model_armor_config":{},"safety_settings":[{}]}"#),
        vec![("E_EXCLUSIVE", p("/request/model_armor_config"))]
    );
    assert_eq!(
        req(r#"{"modelArmorConfig":{},"safetySettings":[]}"#),
        vec![]
    );
    assert_eq!(
        req(r#"{"modelArmorConfig":null,"safetySettings":[{}]}"#),
        vec![]
    );
}

#[test]
fn labels_follow_the_documented_pattern() {
    assert_eq!(
        req(
            r#"{"labels":{"team":"ml-ops","run_id":"a1_b-2","empty":"","日本":"値","émile":"ça"}}"#
        ),
        vec![]
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
    assert_eq!(part(r#"{"text":"hi"}"#), vec![]);
    assert_eq!(part(r#"{"text":"hi","thought":true}"#), vec![]);
    assert_eq!(
        part(
            r#"{"text":"hi","thoughtSignature":"AAAA","mediaResolution":{"level":"MEDIA_RESOLUTION_LOW"}}"#
        ),
        vec![]
    );
    assert_eq!(
        part(r#"{"text":"hi","fileData":null,"inlineData":null}"#),
        vec![]
    );
    assert_eq!(
        part(r#"{"thought":true}"#),
        vec![("E_PART_DATA", p("/request/contents/0/parts/0"))]
    );
    assert_eq!(
        part(r#"{"thoughtSignature":"AAAA"}"#),
        vec![("E_PART_DATA", p("/request/contents/0/parts/0"))]
    );
    assert_eq!(
        part(r#"{"documentMetadata":{"startPage":1}}"#),
        vec![("E_PART_DATA", p("/request/contents/0/parts/0"))]
    );
    // An unknown key (`txt`) is the walk's E_UNKNOWN_FIELD; no second finding.
    assert_eq!(part(r#"{"txt":"hi"}"#), vec![]);
    assert_eq!(
        part(r#"{"text":"a","inlineData":{"mimeType":"image/png","data":"AA=="}}"#),
        vec![("E_PART_DATA", p("/request/contents/0/parts/0/inlineData"))]
    );
    assert_eq!(
        part(r#"{"function_call":{"name":"f"},"text":"a","executable_code":{}}"#),
        vec![("E_PART_DATA", p("/request/contents/0/parts/0/text"))]
    );
}

#[test]
fn part_empty_text_and_video_metadata_warn() {
    assert_eq!(
        part(r#"{"text":""}"#),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/contents/0/parts/0/text"))]
    );
    assert_eq!(part(r#"{"text":"","thoughtSignature":"AAAA"}"#), vec![]);
    assert_eq!(
        part(r#"{"text":"x","videoMetadata":{"fps":1}}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/contents/0/parts/0/videoMetadata")
        )]
    );
    assert_eq!(
        part(
            r#"{"file_data":{"file_uri":"gs://b/v.mp4","mime_type":"video/mp4"},"video_metadata":{"fps":1}}"#
        ),
        vec![]
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
    assert_eq!(
        at(r#"{"inlineData":{"mimeType":"image/png","data":"AA=="}}"#),
        vec![]
    );
    assert_eq!(at(r#"{}"#), vec![("E_PART_DATA", p("/request/x/parts/0"))]);
    assert_eq!(
        at(r#"{"inlineData":{},"fileData":{}}"#),
        vec![("E_PART_DATA", p("/request/x/parts/0/fileData"))]
    );
}

// ---- Blob and FileData --------------------------------------------------------------------

#[test]
fn blob_mime_type_and_data() {
    let blob = |v: &str| in_part("inlineData", msg::BLOB, v);
    assert_eq!(blob(r#"{"mimeType":"image/png","data":"AA=="}"#), vec![]);
    assert_eq!(
        blob(r#"{"mime_type":"audio/L16; rate=24000","data":"AA=="}"#),
        vec![]
    );
    assert_eq!(
        blob(r#"{"mimeType":"","data":"AA=="}"#),
        vec![(
            "E_MIME_TYPE",
            p("/request/contents/0/parts/0/inlineData/mimeType")
        )]
    );
    assert_eq!(
        blob(r#"{"mimeType":"png","data":"AA=="}"#),
        vec![(
            "E_MIME_TYPE",
            p("/request/contents/0/parts/0/inlineData/mimeType")
        )]
    );
    assert_eq!(
        blob(r#"{"mimeType":"image/","data":"AA=="}"#),
        vec![(
            "E_MIME_TYPE",
            p("/request/contents/0/parts/0/inlineData/mimeType")
        )]
    );
    assert_eq!(
        blob(r#"{"mimeType":"image png/x","data":"AA=="}"#),
        vec![(
            "E_MIME_TYPE",
            p("/request/contents/0/parts/0/inlineData/mimeType")
        )]
    );
    assert_eq!(
        blob(r#"{"mimeType":"image/png","data":""}"#),
        vec![(
            "E_EMPTY_VALUE",
            p("/request/contents/0/parts/0/inlineData/data")
        )]
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

// ---- GenerationConfig ---------------------------------------------------------------------

#[test]
fn temperature_accepts_zero_to_two() {
    for ok in ["0", "0.0", "1", "2", "2.0", "\"1.5\""] {
        assert_eq!(gen(&format!(r#"{{"temperature":{ok}}}"#)), vec![], "{ok}");
    }
    for bad in ["2.0001", "-0.1", "3", "\"NaN\"", "\"Infinity\""] {
        assert_eq!(
            gen(&format!(r#"{{"temperature":{bad}}}"#)),
            vec![("E_RANGE", p("/request/generationConfig/temperature"))],
            "{bad}"
        );
    }
    // Wrong types are the walk's job.
    assert_eq!(gen(r#"{"temperature":"hot"}"#), vec![]);
}

#[test]
fn sampling_ranges() {
    assert_eq!(
        gen(r#"{"topP":1,"topK":40,"candidateCount":1,"maxOutputTokens":8192}"#),
        vec![]
    );
    assert_eq!(
        gen(r#"{"top_p":-0.1}"#),
        vec![("E_RANGE", p("/request/generationConfig/top_p"))]
    );
    assert_eq!(
        gen(r#"{"topP":1.5}"#),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/generationConfig/topP"))]
    );
    assert_eq!(
        gen(r#"{"topK":-1}"#),
        vec![("E_RANGE", p("/request/generationConfig/topK"))]
    );
    assert_eq!(
        gen(r#"{"candidateCount":-1}"#),
        vec![("E_RANGE", p("/request/generationConfig/candidateCount"))]
    );
    assert_eq!(
        gen(r#"{"candidateCount":0}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/generationConfig/candidateCount")
        )]
    );
    assert_eq!(
        gen(r#"{"max_output_tokens":"0"}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/generationConfig/max_output_tokens")
        )]
    );
    assert_eq!(
        gen(r#"{"presencePenalty":2,"frequencyPenalty":-2}"#),
        vec![]
    );
    assert_eq!(
        gen(r#"{"presencePenalty":2.5,"frequency_penalty":-2.01}"#),
        vec![
            ("E_RANGE", p("/request/generationConfig/presencePenalty")),
            ("E_RANGE", p("/request/generationConfig/frequency_penalty")),
        ]
    );
}

#[test]
fn stop_sequences_and_logprobs_warn() {
    assert_eq!(gen(r#"{"stopSequences":["1","2","3","4","5"]}"#), vec![]);
    assert_eq!(
        gen(r#"{"stop_sequences":["1","2","3","4","5","6"]}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/generationConfig/stop_sequences")
        )]
    );
    assert_eq!(gen(r#"{"responseLogprobs":true,"logprobs":20}"#), vec![]);
    assert_eq!(gen(r#"{"logprobs":0}"#), vec![]);
    assert_eq!(
        gen(r#"{"logprobs":3}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/generationConfig/logprobs")
        )]
    );
    assert_eq!(
        gen(r#"{"response_logprobs":true,"logprobs":21}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/generationConfig/logprobs")
        )]
    );
    assert_eq!(
        gen(r#"{"logprobs":-1}"#),
        vec![("E_RANGE", p("/request/generationConfig/logprobs"))]
    );
}

#[test]
fn response_schema_needs_json_and_excludes_json_schema() {
    let schema = r#"{"type":"OBJECT","properties":{"a":{"type":"STRING"}}}"#;
    assert_eq!(
        gen(&format!(
            r#"{{"responseMimeType":"application/json","responseSchema":{schema}}}"#
        )),
        vec![]
    );
    assert_eq!(
        gen(&format!(
            r#"{{"response_mime_type":"application/json; charset=utf-8","response_schema":{schema}}}"#
        )),
        vec![]
    );
    assert_eq!(
        gen(
            r#"{"responseMimeType":"text/x.enum","responseSchema":{"type":"STRING","format":"enum","enum":["a","b"]}}"#
        ),
        vec![]
    );
    assert_eq!(
        gen(r#"{"responseMimeType":"application/json","responseJsonSchema":{"type":"object"}}"#),
        vec![]
    );
    assert_eq!(
        gen(&format!(r#"{{"responseSchema":{schema}}}"#)),
        vec![("E_COMPANION", p("/request/generationConfig/responseSchema"))]
    );
    assert_eq!(
        gen(r#"{"responseMimeType":"text/plain","response_json_schema":{"type":"object"}}"#),
        vec![(
            "E_COMPANION",
            p("/request/generationConfig/response_json_schema")
        )]
    );
    assert_eq!(
        gen(&format!(
            r#"{{"responseMimeType":"application/json","responseSchema":{schema},"responseJsonSchema":{{"type":"object"}}}}"#
        )),
        vec![(
            "E_EXCLUSIVE",
            p("/request/generationConfig/responseJsonSchema")
        )]
    );
    // With the newer responseFormat the combination is not documented: no finding.
    assert_eq!(
        gen(&format!(
            r#"{{"responseSchema":{schema},"responseFormat":[{{"text":{{"mimeType":"APPLICATION_JSON"}}}}]}}"#
        )),
        vec![]
    );
    assert_eq!(
        gen(r#"{"responseMimeType":"json"}"#),
        vec![(
            "E_MIME_TYPE",
            p("/request/generationConfig/responseMimeType")
        )]
    );
    assert_eq!(gen(r#"{"responseMimeType":""}"#), vec![]);
}

#[test]
fn thinking_speech_and_transcription() {
    let at = |m: u16, v: &str| alone(m, v);
    assert_eq!(
        at(
            msg::GENERATION_CONFIG_THINKING_CONFIG,
            r#"{"thinkingBudget":0}"#
        ),
        vec![]
    );
    assert_eq!(
        at(
            msg::GENERATION_CONFIG_THINKING_CONFIG,
            r#"{"thinkingLevel":"HIGH","includeThoughts":true}"#
        ),
        vec![]
    );
    assert_eq!(
        at(
            msg::GENERATION_CONFIG_THINKING_CONFIG,
            r#"{"thinking_budget":1024,"thinking_level":"LOW"}"#
        ),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/x/thinking_level"))]
    );
    assert_eq!(
        at(
            msg::GENERATION_CONFIG_THINKING_CONFIG,
            r#"{"thinkingBudget":-2}"#
        ),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/x/thinkingBudget"))]
    );
    let voice = r#"{"prebuiltVoiceConfig":{"voiceName":"Kore"}}"#;
    let speakers = |n: usize| {
        let one = format!(r#"{{"speaker":"A","voiceConfig":{voice}}}"#);
        format!(r#"{{"speakerVoiceConfigs":[{}]}}"#, vec![one; n].join(","))
    };
    assert_eq!(
        at(
            msg::SPEECH_CONFIG,
            &format!(
                r#"{{"voiceConfig":{voice},"multiSpeakerVoiceConfig":{}}}"#,
                speakers(2)
            )
        ),
        vec![("E_EXCLUSIVE", p("/request/x/multiSpeakerVoiceConfig"))]
    );
    assert_eq!(at(msg::MULTI_SPEAKER_VOICE_CONFIG, &speakers(2)), vec![]);
    assert_eq!(
        at(msg::MULTI_SPEAKER_VOICE_CONFIG, &speakers(3)),
        vec![("E_RANGE", p("/request/x/speakerVoiceConfigs"))]
    );
    assert_eq!(
        at(
            msg::AUDIO_TRANSCRIPTION_CONFIG,
            r#"{"mode":"VERBATIM","wordTimestamp":true,"diarization":true}"#
        ),
        vec![]
    );
    assert_eq!(
        at(
            msg::AUDIO_TRANSCRIPTION_CONFIG,
            r#"{"mode":"SMART","wordTimestamp":false}"#
        ),
        vec![]
    );
    assert_eq!(
        at(
            msg::AUDIO_TRANSCRIPTION_CONFIG,
            r#"{"mode":"smart","word_timestamp":true,"diarization":true}"#
        ),
        vec![
            ("E_EXCLUSIVE", p("/request/x/word_timestamp")),
            ("E_EXCLUSIVE", p("/request/x/diarization"))
        ]
    );
}

// ---- media, places, tools -----------------------------------------------------------------

#[test]
fn video_metadata_fps_and_offsets() {
    let video = |v: &str| in_part("videoMetadata", msg::VIDEO_METADATA, v);
    for ok in ["24", "0.5", "1", "24.0"] {
        assert_eq!(video(&format!(r#"{{"fps":{ok}}}"#)), vec![], "{ok}");
    }
    for bad in ["0", "-1", "24.5", "\"NaN\""] {
        assert_eq!(
            video(&format!(r#"{{"fps":{bad}}}"#)),
            vec![(
                "E_RANGE",
                p("/request/contents/0/parts/0/videoMetadata/fps")
            )],
            "{bad}"
        );
    }
    assert_eq!(video(r#"{"startOffset":"1.5s","endOffset":"2s"}"#), vec![]);
    assert_eq!(video(r#"{"startOffset":"2s","endOffset":"2s"}"#), vec![]);
    assert_eq!(
        video(r#"{"start_offset":"10s","end_offset":"5.5s"}"#),
        vec![(
            "E_RANGE",
            p("/request/contents/0/parts/0/videoMetadata/end_offset")
        )]
    );
}

#[test]
fn lat_lng_ranges() {
    let at = |v: &str| alone(msg::GOOGLE_TYPE_LAT_LNG, v);
    assert_eq!(at(r#"{"latitude":90,"longitude":-180}"#), vec![]);
    assert_eq!(at(r#"{"latitude":-90.0,"longitude":180.0}"#), vec![]);
    assert_eq!(
        at(r#"{"latitude":90.5,"longitude":-181}"#),
        vec![
            ("E_RANGE", p("/request/x/latitude")),
            ("E_RANGE", p("/request/x/longitude"))
        ]
    );
}

#[test]
fn tool_declaration_count() {
    let decls = |n: usize| {
        let all: Vec<String> = (0..n).map(|i| format!(r#"{{"name":"f{i}"}}"#)).collect();
        format!(r#"{{"functionDeclarations":[{}]}}"#, all.join(","))
    };
    assert_eq!(in_tool("", msg::TOOL, &decls(512)), vec![]);
    assert_eq!(
        in_tool("", msg::TOOL, &decls(513)),
        vec![("E_RANGE", p("/request/tools/0/functionDeclarations"))]
    );
}

#[test]
fn function_declaration_names_and_exclusions() {
    let decl = |v: &str| in_tool("functionDeclarations", msg::FUNCTION_DECLARATION, v);
    let name = |n: &str| decl(&format!(r#"{{"name":"{n}"}}"#));
    for ok in ["get_weather", "_x", "a.b:c-D9", &"a".repeat(64)] {
        assert_eq!(name(ok), vec![], "{ok}");
    }
    for bad in ["", "1abc", "get weather", "naïve", "-x", &"a".repeat(129)] {
        assert_eq!(
            name(bad),
            vec![(
                "E_FUNCTION_NAME",
                p("/request/tools/0/functionDeclarations/0/name")
            )],
            "{bad}"
        );
    }
    assert_eq!(
        name(&"a".repeat(65)),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/tools/0/functionDeclarations/0/name")
        )]
    );
    assert_eq!(
        name(&"a".repeat(128)),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/tools/0/functionDeclarations/0/name")
        )]
    );
    assert_eq!(
        decl(
            r#"{"name":"f","parameters":{"type":"OBJECT"},"parameters_json_schema":{"type":"object"}}"#
        ),
        vec![(
            "E_EXCLUSIVE",
            p("/request/tools/0/functionDeclarations/0/parameters_json_schema")
        )]
    );
    assert_eq!(
        decl(r#"{"name":"f","response":{"type":"OBJECT"},"responseJsonSchema":{"type":"object"}}"#),
        vec![(
            "E_EXCLUSIVE",
            p("/request/tools/0/functionDeclarations/0/responseJsonSchema")
        )]
    );
    assert_eq!(
        decl(
            r#"{"name":"f","parametersJsonSchema":{"type":"object","properties":{"file-path":{}}}}"#
        ),
        vec![]
    );
    assert_eq!(
        decl(
            r#"{"name":"f","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"},"file-path":{"type":"STRING"}}}}"#
        ),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/tools/0/functionDeclarations/0/parameters/properties/file-path")
        )]
    );
    assert_eq!(
        decl(r#"{"name":"f","behavior":"NON_BLOCKING"}"#),
        vec![(
            "W_UNCONFIRMED_LIMIT",
            p("/request/tools/0/functionDeclarations/0/behavior")
        )]
    );
}

#[test]
fn function_call_and_response_names() {
    let call = |v: &str| in_part("functionCall", msg::FUNCTION_CALL, v);
    assert_eq!(call(r#"{"name":"f","args":{"a":1}}"#), vec![]);
    assert_eq!(
        call(r#"{"args":{"a":1}}"#),
        vec![(
            "E_EMPTY_VALUE",
            p("/request/contents/0/parts/0/functionCall")
        )]
    );
    assert_eq!(
        call(r#"{"name":""}"#),
        vec![(
            "E_EMPTY_VALUE",
            p("/request/contents/0/parts/0/functionCall/name")
        )]
    );
    assert_eq!(
        call(r#"{"partialArgs":[{"jsonPath":"$.a","stringValue":"x"}]}"#),
        vec![]
    );
    let response = |v: &str| in_part("functionResponse", msg::FUNCTION_RESPONSE, v);
    assert_eq!(response(r#"{"name":"f","response":{"output":1}}"#), vec![]);
    assert_eq!(
        response(r#"{"name":"","response":{"output":1}}"#),
        vec![(
            "E_EMPTY_VALUE",
            p("/request/contents/0/parts/0/functionResponse/name")
        )]
    );
}

#[test]
fn tool_configs() {
    let calling = |v: &str| alone(msg::FUNCTION_CALLING_CONFIG, v);
    assert_eq!(
        calling(r#"{"mode":"ANY","allowedFunctionNames":["f"]}"#),
        vec![]
    );
    assert_eq!(
        calling(r#"{"mode":"validated","allowed_function_names":["f"]}"#),
        vec![]
    );
    assert_eq!(
        calling(r#"{"mode":"AUTO","allowedFunctionNames":[]}"#),
        vec![]
    );
    assert_eq!(
        calling(r#"{"allowedFunctionNames":["f"]}"#),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/x/allowedFunctionNames"))]
    );
    let search = |v: &str| alone(msg::VERTEX_AI_SEARCH, v);
    assert_eq!(
        search(
            r#"{"datastore":"projects/p/locations/l/collections/c/dataStores/d","maxResults":10}"#
        ),
        vec![]
    );
    assert_eq!(
        search(r#"{"datastore":"d","engine":"e","max_results":11}"#),
        vec![
            ("E_EXCLUSIVE", p("/request/x/engine")),
            ("E_RANGE", p("/request/x/max_results"))
        ]
    );
    assert_eq!(search(r#"{"datastore":"","engine":"e"}"#), vec![]);
    let domains = |n: usize| {
        format!(
            r#"{{"excludeDomains":[{}]}}"#,
            vec![r#""a.com""#; n].join(",")
        )
    };
    assert_eq!(alone(msg::TOOL_GOOGLE_SEARCH, &domains(2000)), vec![]);
    assert_eq!(
        alone(msg::ENTERPRISE_WEB_SEARCH, &domains(2001)),
        vec![("W_UNCONFIRMED_LIMIT", p("/request/x/excludeDomains"))]
    );
}

// ---- Schema -------------------------------------------------------------------------------

#[test]
fn defs_only_at_the_schema_root() {
    let root = run(
        r##"{"request":{"generationConfig":{"responseSchema":{"type":"object","defs":{"Pet":{"type":"string"}},"properties":{"pet":{"ref":"#/defs/Pet"}}}}}}"##,
        &[
            Seg::Key("request"),
            Seg::Key("generationConfig"),
            Seg::Key("responseSchema"),
        ],
        ctx(
            msg::SCHEMA,
            Some(msg::GENERATION_CONFIG),
            Some("responseSchema"),
        ),
    );
    assert_eq!(root, vec![]);
    let nested = run(
        r#"{"request":{"generationConfig":{"responseSchema":{"type":"object","properties":{"pet":{"type":"object","defs":{"Pet":{"type":"string"}}}}}}}}"#,
        &[
            Seg::Key("request"),
            Seg::Key("generationConfig"),
            Seg::Key("responseSchema"),
            Seg::Key("properties"),
            Seg::Key("pet"),
        ],
        ctx(msg::SCHEMA, Some(msg::SCHEMA), None),
    );
    assert_eq!(
        nested,
        vec![(
            "E_DEFS_NOT_ROOT",
            p("/request/generationConfig/responseSchema/properties/pet/defs")
        )]
    );
    // Through the whole walk, including a Schema named "items".
    let line = r#"{"request":{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":{"type":"ARRAY","items":{"type":"object","defs":{}}}}}}"#;
    assert_eq!(
        walk_all(line),
        vec![(
            "E_DEFS_NOT_ROOT",
            p("/request/generationConfig/responseSchema/items/defs")
        )]
    );
}

#[test]
fn schema_bounds_that_cannot_be_met_warn() {
    let schema = |v: &str| alone(msg::SCHEMA, v);
    assert_eq!(
        schema(r#"{"type":"array","minItems":"1","maxItems":"5","minimum":0,"maximum":0}"#),
        vec![]
    );
    assert_eq!(
        schema(
            r#"{"type":"ARRAY","min_items":"5","max_items":"1","minLength":3,"maxLength":2,"minimum":1,"maximum":0.5}"#
        ),
        vec![
            ("W_UNCONFIRMED_LIMIT", p("/request/x/max_items")),
            ("W_UNCONFIRMED_LIMIT", p("/request/x/maxLength")),
            ("W_UNCONFIRMED_LIMIT", p("/request/x/maximum")),
        ]
    );
}

// ---- SDK-only fields ----------------------------------------------------------------------

#[test]
fn sdk_only_fields_are_explained() {
    assert!(sdk_only_field(msg::GENERATE_CONTENT_REQUEST, "serviceTier").is_some());
    assert!(sdk_only_field(msg::GENERATE_CONTENT_REQUEST, "service_tier").is_some());
    assert!(sdk_only_field(msg::PART, "documentMetadata").is_some());
    assert!(sdk_only_field(msg::PART, "spreadsheet_metadata").is_some());
    assert!(sdk_only_field(msg::FUNCTION_RESPONSE_PART, "videoMetadata").is_some());
    assert!(sdk_only_field(msg::TOOL, "mcpServers").is_some());
    assert_eq!(sdk_only_field(msg::PART, "serviceTier"), None);
    assert_eq!(sdk_only_field(msg::PART, "videoMetadata"), None);
    assert_eq!(
        sdk_only_field(msg::GENERATE_CONTENT_REQUEST, "servicetier"),
        None
    );
    assert_eq!(sdk_only_field(msg::CONTENT, "documentMetadata"), None);
}

#[test]
fn empty_objects_of_every_message_type_are_handled() {
    // An empty object of every message type: only the "needs data" rules fire, nothing panics.
    for m in 0..MESSAGES.len() as u16 {
        let found = alone(m, "{}");
        assert!(
            found
                .iter()
                .all(|(c, _)| *c == "E_PART_DATA" || *c == "E_EMPTY_VALUE"),
            "{}: {found:?}",
            MESSAGES[m as usize].name
        );
    }
}

#[test]
fn mime_fast_paths_agree_with_the_full_checks() {
    for s in ["application/json", "text/plain"] {
        assert!(mime_syntax_ok(s));
        let b = s.as_bytes();
        let slash = b.iter().position(|&c| c == b'/').unwrap();
        assert!(slash > 0 && slash + 1 < b.len());
        assert!(b.iter().all(|&c| c == b'/' || tchar(c)));
    }
    assert!(mime_essence("application/json").eq_ignore_ascii_case("application/json"));
}
