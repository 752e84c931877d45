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

mod config;
mod content;

/// A case table for one checker: each input and the exact (code, pointer) findings it gives, in
/// order.
fn table(check: &dyn Fn(&str) -> Found, cases: &[(&str, &[(&str, &str)])]) {
    for (input, want) in cases {
        let want: Vec<(&str, String)> = want.iter().map(|(c, p)| (*c, p.to_string())).collect();
        assert_eq!(check(input), want, "{input}");
    }
}
