//! Tests of the prompt stream and its chain hashes (`prompt.rs`).

use proptest::prelude::*;

use super::*;

fn stream_of(json: &str) -> Vec<u8> {
    let mut bytes = json.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).unwrap_or_else(|e| panic!("{e}: {json}"));
    let request = JsonRef::root(&tape.0).unwrap();
    prompt_stream(request, &mut PromptScratch::default()).to_vec()
}

fn chain(stream: &[u8], block: usize) -> Vec<u64> {
    let mut out = vec![42]; // cleared by chain_hashes
    let n = chain_hashes(stream, block, usize::MAX, &mut out);
    assert_eq!(n, stream.len() as u64);
    out
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn shared_hashes(a: &[u64], b: &[u64]) -> usize {
    common_prefix_u64(a, b)
}

fn common_prefix_u64(a: &[u64], b: &[u64]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.into()).to_string()
}

/// Printable rendering of a stream for assertion messages: `0xFF t` as `|t`.
fn show(stream: &[u8]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < stream.len() {
        if stream[i] == DELIMITER {
            out.push('|');
            i += 1;
            continue;
        }
        let end = stream[i..]
            .iter()
            .position(|&b| b == DELIMITER)
            .map_or(stream.len(), |p| i + p);
        out.push_str(&String::from_utf8_lossy(&stream[i..end]));
        i = end;
    }
    out
}

#[test]
fn layout_is_system_tools_config_then_turns() {
    let s = stream_of(
        r#"{"contents":[{"role":"user","parts":[{"text":"Q1"}]},
                        {"role":"model","parts":[{"text":"A1"}]},
                        {"role":"user","parts":[{"text":"Q2"},{"inlineData":{"mimeType":"image/png","data":"AAEC"}}]}],
            "generationConfig":{"temperature":0.3},
            "toolConfig":{"functionCallingConfig":{"mode":"ANY"}},
            "tools":[{"functionDeclarations":[{"name":"f"}]}],
            "systemInstruction":{"role":"system","parts":[{"text":"Be brief."}]},
            "labels":{"k":"v"}}"#,
    );
    assert_eq!(
        show(&s),
        concat!(
            "|S|xBe brief.",
            r#"|T{"functionDeclarations":[{"name":"f"}]}"#,
            r#"|K{"functionCallingConfig":{"mode":"ANY"}}"#,
            "|Ruser|xQ1|Rmodel|xA1|Ruser|xQ2|iimage/png|dAAEC",
        )
    );
}

#[test]
fn shared_system_instruction_shares_exactly_its_full_blocks() {
    let block = 64;
    for sys_len in [0usize, 10, 50, 52, 53, 63, 64, 100, 116, 117, 500, 1000] {
        let system: String = (0..sys_len)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let request = |q: &str| {
            format!(
                r#"{{"systemInstruction":{{"parts":[{{"text":{}}}]}},"contents":[{{"role":"user","parts":[{{"text":{}}}]}}]}}"#,
                json_str(&system),
                json_str(q)
            )
        };
        let (a, b) = (stream_of(&request("Alpha?")), stream_of(&request("Beta?")));
        // `|S|x` + system + `|Ruser|x` before the questions differ.
        let shared = 4 + sys_len + 2 + 4 + 2;
        assert_eq!(common_prefix(&a, &b), shared);
        let (ha, hb) = (chain(&a, block), chain(&b, block));
        assert_eq!(
            shared_hashes(&ha, &hb),
            shared / block,
            "system of {sys_len} bytes"
        );
    }
}

#[test]
fn document_in_one_part_or_two_diverges_at_the_part_boundary() {
    let doc: String = "Lorem ipsum dolor sit amet. ".repeat(100);
    let question = "Summarise the text.";
    let one = stream_of(&format!(
        r#"{{"contents":[{{"role":"user","parts":[{{"text":{}}}]}}]}}"#,
        json_str(&format!("{doc}{question}"))
    ));
    let two = stream_of(&format!(
        r#"{{"contents":[{{"role":"user","parts":[{{"text":{}}},{{"text":{}}}]}}]}}"#,
        json_str(&doc),
        json_str(question)
    ));
    let start = 2 + 4 + 2; // |Ruser|x
    assert_eq!(common_prefix(&one, &two), start + doc.len());
    assert_eq!(two[start + doc.len()], DELIMITER);
    let (h1, h2) = (chain(&one, 256), chain(&two, 256));
    assert_eq!(shared_hashes(&h1, &h2), (start + doc.len()) / 256);
    // The same document with different questions in one part shares the document's blocks.
    let other = stream_of(&format!(
        r#"{{"contents":[{{"role":"user","parts":[{{"text":{}}}]}}]}}"#,
        json_str(&format!("{doc}Translate it."))
    ));
    assert_eq!(
        shared_hashes(&h1, &chain(&other, 256)),
        (start + doc.len()) / 256
    );
}

#[test]
fn key_order_spelling_escapes_and_non_prompt_fields_do_not_matter() {
    let camel = stream_of(
        r#"{"systemInstruction":{"parts":[{"text":"Sys é"}]},
            "tools":[{"functionDeclarations":[{"name":"get","description":"d",
                "parameters":{"type":"OBJECT","properties":{"city_name":{"type":"STRING"}},"required":["city_name"]}}]}],
            "toolConfig":{"functionCallingConfig":{"mode":"AUTO","allowedFunctionNames":["get"]}},
            "contents":[{"role":"user","parts":[{"text":"hi"},{"fileData":{"mimeType":"application/pdf","fileUri":"gs://b/x.pdf"}}]},
                        {"role":"model","parts":[{"functionCall":{"name":"get","args":{"city_name":"Oslo","n":1}}}]},
                        {"role":"user","parts":[{"functionResponse":{"name":"get","response":{"t":20.0}}}]}],
            "generationConfig":{"temperature":0}}"#,
    );
    let snake = stream_of(
        r#"{"generation_config":{"temperature":1.5,"top_k":3},"safety_settings":[],
            "contents":[{"parts":[{"text":"hi"},{"file_data":{"file_uri":"gs://b/x.pdf","mime_type":"application/pdf","display_name":"X"}}],"role":"user"},
                        {"parts":{"function_call":{"args":{"n":1.0,"city_name":"Oslo"},"name":"get"}},"role":"model"},
                        {"role":"user","parts":[{"function_response":{"response":{"t":20},"name":"get"}}]}],
            "tool_config":{"function_calling_config":{"allowed_function_names":["get"],"mode":"AUTO"}},
            "system_instruction":{"parts":{"text":"Sys \u00e9"}},
            "tools":{"function_declarations":[{"parameters":{"required":["city_name"],"properties":{"city_name":{"type":"STRING"}},"type":"OBJECT"},"description":"d","name":"get"}]},
            "labels":{"team":"x"}}"#,
    );
    assert_eq!(show(&camel), show(&snake));
    assert_eq!(camel, snake);
    // User data keeps its spelling: a snake_case argument name is not camelised.
    assert!(
        show(&camel).contains(r#""args":{"city_name":"Oslo","n":1}"#),
        "{}",
        show(&camel)
    );
}

#[test]
fn parts_as_single_object_equals_one_element_array() {
    let object = stream_of(r#"{"contents":[{"role":"user","parts":{"text":"hello"}}]}"#);
    let array = stream_of(r#"{"contents":[{"role":"user","parts":[{"text":"hello"}]}]}"#);
    assert_eq!(object, array);
    let contents_object = stream_of(r#"{"contents":{"role":"user","parts":{"text":"hello"}}}"#);
    assert_eq!(contents_object, array);
    let system_string = stream_of(r#"{"systemInstruction":"sys","contents":[]}"#);
    let system_parts =
        stream_of(r#"{"systemInstruction":{"parts":[{"text":"sys"}]},"contents":[]}"#);
    assert_eq!(system_string, system_parts);
}

#[test]
fn inline_data_and_text_with_the_same_bytes_differ() {
    let text = stream_of(r#"{"contents":[{"parts":[{"text":"aGVsbG8="}]}]}"#);
    let inline =
        stream_of(r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"","data":"aGVsbG8="}}]}]}"#);
    let file = stream_of(
        r#"{"contents":[{"parts":[{"fileData":{"mimeType":"","fileUri":"aGVsbG8="}}]}]}"#,
    );
    assert_ne!(text, inline);
    assert_ne!(inline, file);
    assert_ne!(text, file);
    // Same base64, same stream; another mime type, another stream.
    let png = stream_of(
        r#"{"contents":[{"parts":[{"inline_data":{"data":"aGVsbG8=","mime_type":"image/png"}}]}]}"#,
    );
    let jpg = stream_of(
        r#"{"contents":[{"parts":[{"inlineData":{"mimeType":"image/jpeg","data":"aGVsbG8="}}]}]}"#,
    );
    assert_ne!(png, jpg);
    assert_eq!(show(&png), "|R|iimage/png|daGVsbG8=");
}

#[test]
fn part_boundaries_are_unambiguous() {
    let a = stream_of(r#"{"contents":[{"parts":[{"text":"a"},{"text":"bc"}]}]}"#);
    let b = stream_of(r#"{"contents":[{"parts":[{"text":"ab"},{"text":"c"}]}]}"#);
    let c = stream_of(r#"{"contents":[{"parts":[{"text":"abc"}]}]}"#);
    let d = stream_of(r#"{"contents":[{"parts":[{"text":"a"}]},{"parts":[{"text":"bc"}]}]}"#);
    let e = stream_of(r#"{"contents":[{"role":"user","parts":[{"text":"x"}]}]}"#);
    let f = stream_of(r#"{"contents":[{"role":"use","parts":[{"text":"rx"}]}]}"#);
    let all = [&a, &b, &c, &d];
    for (i, x) in all.iter().enumerate() {
        for y in &all[i + 1..] {
            assert_ne!(x, y);
        }
    }
    assert_ne!(e, f);
    // Turns and system instruction are marked apart.
    let sys = stream_of(r#"{"systemInstruction":{"parts":[{"text":"x"}]},"contents":[]}"#);
    let turn = stream_of(r#"{"contents":[{"parts":[{"text":"x"}]}]}"#);
    assert_ne!(sys, turn);
}

#[test]
fn nulls_are_absent_and_first_duplicate_wins() {
    let plain = stream_of(r#"{"contents":[{"role":"user","parts":[{"text":"q"}]}]}"#);
    let nulls = stream_of(
        r#"{"systemInstruction":null,"tools":null,"toolConfig":null,
            "contents":[{"role":"user","parts":[{"fileData":null,"text":"q","inlineData":null}]}]}"#,
    );
    assert_eq!(plain, nulls);
    let dup = stream_of(r#"{"contents":[{"role":"user","parts":[{"text":"q","text":"other"}]}]}"#);
    assert_eq!(plain, dup);
}

#[test]
fn tool_config_and_thoughts_and_other_fields_are_in_the_stream() {
    let base = r#""contents":[{"role":"user","parts":[{"text":"q"}]}]"#;
    let none = stream_of(&format!("{{{base}}}"));
    let any = stream_of(&format!(
        r#"{{"toolConfig":{{"functionCallingConfig":{{"mode":"ANY"}}}},{base}}}"#
    ));
    let none_mode = stream_of(&format!(
        r#"{{"toolConfig":{{"functionCallingConfig":{{"mode":"NONE"}}}},{base}}}"#
    ));
    assert_ne!(none, any);
    assert_ne!(any, none_mode);
    // toolConfig comes before the turns: the two differ from the first byte of the config on.
    assert_eq!(
        common_prefix(&any, &none_mode),
        2 + r#"{"functionCallingConfig":{"mode":""#.len()
    );
    let generation = stream_of(&format!(
        r#"{{"generationConfig":{{"temperature":1}},{base}}}"#
    ));
    assert_eq!(none, generation);

    let thought = stream_of(
        r#"{"contents":[{"role":"model","parts":[{"text":"t","thought":true,"thoughtSignature":"c2ln"}]}]}"#,
    );
    assert_eq!(show(&thought), "|Rmodel|h|xt|gc2ln");
    let not_thought =
        stream_of(r#"{"contents":[{"role":"model","parts":[{"thought":false,"text":"t"}]}]}"#);
    assert_eq!(show(&not_thought), "|Rmodel|xt");
    let video = stream_of(
        r#"{"contents":[{"parts":[{"video_metadata":{"end_offset":"10s","start_offset":"1s"},
            "file_data":{"mime_type":"video/mp4","file_uri":"gs://b/v.mp4"}}]}]}"#,
    );
    assert_eq!(
        show(&video),
        r#"|R|fvideo/mp4|ugs://b/v.mp4|jvideoMetadata:{"endOffset":"10s","startOffset":"1s"}"#
    );
    let code = stream_of(
        r#"{"contents":[{"role":"model","parts":[{"executableCode":{"language":"PYTHON","code":"print(1)"}},
            {"codeExecutionResult":{"outcome":"OUTCOME_OK","output":"1\n"}}]}]}"#,
    );
    assert_eq!(
        show(&code),
        r#"|Rmodel|jexecutableCode:{"code":"print(1)","language":"PYTHON"}|jcodeExecutionResult:{"outcome":"OUTCOME_OK","output":"1\n"}"#
    );
}

#[test]
fn odd_shapes_do_not_panic() {
    for json in [
        "{}",
        r#"{"contents":5}"#,
        r#"{"contents":[5,"x",null,[]]}"#,
        r#"{"contents":[{"parts":[1,"s",null,{"text":7},{"inlineData":"x"},{"unknown":1}]}]}"#,
        r#"{"systemInstruction":[1],"tools":[1,{"x":null}],"toolConfig":"s"}"#,
        "[1,2]",
        r#""just a string""#,
    ] {
        let s = stream_of(json);
        for (i, &b) in s.iter().enumerate() {
            if b == DELIMITER {
                assert!(b"STKRhxifjdug".contains(&s[i + 1]), "{}", show(&s));
            }
        }
    }
    assert_eq!(
        show(&stream_of(r#"{"contents":[{"parts":[{"text":7}]}]}"#)),
        "|R|jtext:7"
    );
}

#[test]
fn part_fields_fit_the_lookup_table() {
    assert!(MESSAGES[msg::PART as usize].fields.len() <= MAX_PART_FIELDS);
    // Every known field appears exactly once in the layout.
    let mut seen: Vec<usize> = part_layout().order.iter().map(|&(i, _)| i).collect();
    seen.sort();
    assert_eq!(
        seen,
        (0..MESSAGES[msg::PART as usize].fields.len()).collect::<Vec<_>>()
    );
}

#[test]
fn chain_includes_partial_last_block_and_respects_the_cap() {
    let full: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
    let partial = &full[..1000];
    let (hf, hp) = (chain(&full, 1024), chain(partial, 1024));
    assert_eq!((hf.len(), hp.len()), (1, 1));
    assert_ne!(
        hf[0], hp[0],
        "a partial block differs from the full block it begins"
    );

    let long: Vec<u8> = (0..3500u32).map(|i| (i % 253) as u8).collect();
    let h = chain(&long, 1024);
    assert_eq!(h.len(), 4);
    let mut tail = long.clone();
    *tail.last_mut().unwrap() ^= 1;
    let ht = chain(&tail, 1024);
    assert_eq!(&h[..3], &ht[..3]);
    assert_ne!(h[3], ht[3], "a different tail changes the last hash");
    let mut extended = long.clone();
    extended.push(b'!');
    assert_ne!(chain(&extended, 1024)[3], h[3]);

    let mut out = Vec::new();
    assert_eq!(chain_hashes(&long, 1024, 2, &mut out), 3500);
    assert_eq!(out, h[..2]);
    assert_eq!(chain_hashes(&[], 1024, 256, &mut out), 0);
    assert!(out.is_empty());
    // Block contents are hashed in their chain position: equal blocks at other offsets differ.
    let twice: Vec<u8> = full.iter().chain(&full).copied().collect();
    let ht = chain(&twice, 1024);
    assert_ne!(ht[0], ht[1]);
}

#[test]
fn scratch_reuse_gives_the_same_streams() {
    let docs = [
        r#"{"contents":[{"role":"user","parts":[{"text":"a"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":{"b":1,"a":2}}]}]}"#,
        r#"{"contents":[{"role":"user","parts":{"text":"bb"}}]}"#,
    ];
    let mut scratch = PromptScratch::default();
    for _ in 0..2 {
        for doc in docs {
            let mut bytes = doc.as_bytes().to_vec();
            let tape = simd_json::to_tape(&mut bytes).unwrap();
            let got = prompt_stream(JsonRef::root(&tape.0).unwrap(), &mut scratch).to_vec();
            assert_eq!(got, stream_of(doc));
        }
    }
}

#[test]
fn corpus_streams_are_well_formed() {
    use crate::corpus::{generate_vec, CorpusOptions, Shape};
    let (bytes, _) = generate_vec(&CorpusOptions {
        seed: 3,
        shape: Shape::Short,
        target_bytes: 1_000_000,
    });
    let mut scratch = PromptScratch::default();
    let mut families = std::collections::HashMap::<u64, usize>::new();
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let mut copy = line.to_vec();
        let tape = simd_json::to_tape(&mut copy).unwrap();
        let request = JsonRef::root(&tape.0).unwrap().get("request").unwrap();
        let stream = prompt_stream(request, &mut scratch);
        assert!(!stream.is_empty());
        // Every delimiter is followed by a known tag, and pieces between are UTF-8.
        for (i, &b) in stream.iter().enumerate() {
            if b == DELIMITER {
                assert!(b"STKRhxifjdug".contains(&stream[i + 1]), "{}", show(stream));
            }
        }
        for piece in stream.split(|&b| b == DELIMITER).skip(1) {
            assert!(std::str::from_utf8(&piece[1..]).is_ok());
        }
        chain_hashes(stream, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS, &mut out);
        if let Some(&first) = out.first() {
            *families.entry(first).or_default() += 1;
        }
    }
    // The corpus has shared-prefix families: some first blocks are shared by many requests.
    assert!(families.values().any(|&n| n >= 5), "no shared first block");
}

proptest! {
    #![proptest_config(crate::request::proptest_settings::config(256))]

    /// Two streams share k full blocks iff their first k chain hashes agree.
    #[test]
    fn shared_full_blocks_iff_equal_hashes(
        prefix in prop::collection::vec(any::<u8>(), 0..300),
        a in prop::collection::vec(any::<u8>(), 0..100),
        b in prop::collection::vec(any::<u8>(), 0..100),
        block in 1usize..64,
    ) {
        let x: Vec<u8> = prefix.iter().chain(&a).copied().collect();
        let y: Vec<u8> = prefix.iter().chain(&b).copied().collect();
        let common = common_prefix(&x, &y);
        let (hx, hy) = (chain(&x, block), chain(&y, block));
        let full_blocks = if x == y { hx.len() } else { common / block };
        prop_assert_eq!(common_prefix_u64(&hx, &hy), full_blocks);
        prop_assert_eq!(hx.len(), x.len().div_ceil(block));
    }

    /// Splitting a text into parts differently never yields the same stream.
    #[test]
    fn part_splits_are_distinguished(text in "[a-zé ]{2,20}", cut1 in 0usize..20, cut2 in 0usize..20) {
        let chars: Vec<char> = text.chars().collect();
        let split = |cut: usize| {
            let cut = cut.min(chars.len());
            let (l, r): (String, String) = (chars[..cut].iter().collect(), chars[cut..].iter().collect());
            stream_of(&format!(
                r#"{{"contents":[{{"parts":[{{"text":{}}},{{"text":{}}}]}}]}}"#,
                json_str(&l), json_str(&r)
            ))
        };
        let (c1, c2) = (cut1.min(chars.len()), cut2.min(chars.len()));
        prop_assert_eq!(split(cut1) == split(cut2), c1 == c2);
    }
}

/// Chain hashes are part of the run's prompt keys: an accidental change must fail here.
#[test]
fn chain_values_are_pinned() {
    let s = stream_of(
        r#"{"systemInstruction":{"parts":[{"text":"sys"}]},"contents":[{"role":"user","parts":[{"text":"hello"}]}]}"#,
    );
    assert_eq!(chain(&s, 8), PINNED);
}
const PINNED: [u64; 3] = [
    7266035516424340185,
    11575824353962214759,
    18409843305200163488,
];
