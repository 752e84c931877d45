//! Rules of the generation config, media metadata, places, tools and schemas, and the SDK-only
//! fields.

use super::*;

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
    table(&gen, &[(r#"{"temperature":"hot"}"#, &[])]);
}

#[test]
fn sampling_ranges() {
    table(
        &gen,
        &[
            (
                r#"{"topP":1,"topK":40,"candidateCount":1,"maxOutputTokens":8192}"#,
                &[],
            ),
            (
                r#"{"top_p":-0.1}"#,
                &[("E_RANGE", "/request/generationConfig/top_p")],
            ),
            (
                r#"{"topP":1.5}"#,
                &[("W_UNCONFIRMED_LIMIT", "/request/generationConfig/topP")],
            ),
            (
                r#"{"topK":-1}"#,
                &[("E_RANGE", "/request/generationConfig/topK")],
            ),
            (
                r#"{"candidateCount":-1}"#,
                &[("E_RANGE", "/request/generationConfig/candidateCount")],
            ),
            (
                r#"{"candidateCount":0}"#,
                &[(
                    "W_UNCONFIRMED_LIMIT",
                    "/request/generationConfig/candidateCount",
                )],
            ),
            (
                r#"{"max_output_tokens":"0"}"#,
                &[(
                    "W_UNCONFIRMED_LIMIT",
                    "/request/generationConfig/max_output_tokens",
                )],
            ),
            (r#"{"presencePenalty":2,"frequencyPenalty":-2}"#, &[]),
            (
                r#"{"presencePenalty":2.5,"frequency_penalty":-2.01}"#,
                &[
                    ("E_RANGE", "/request/generationConfig/presencePenalty"),
                    ("E_RANGE", "/request/generationConfig/frequency_penalty"),
                ],
            ),
        ],
    );
}

#[test]
fn stop_sequences_and_logprobs_warn() {
    table(
        &gen,
        &[
            (r#"{"stopSequences":["1","2","3","4","5"]}"#, &[]),
            (
                r#"{"stop_sequences":["1","2","3","4","5","6"]}"#,
                &[(
                    "W_UNCONFIRMED_LIMIT",
                    "/request/generationConfig/stop_sequences",
                )],
            ),
            (r#"{"responseLogprobs":true,"logprobs":20}"#, &[]),
            (r#"{"logprobs":0}"#, &[]),
            (
                r#"{"logprobs":3}"#,
                &[("W_UNCONFIRMED_LIMIT", "/request/generationConfig/logprobs")],
            ),
            (
                r#"{"response_logprobs":true,"logprobs":21}"#,
                &[("W_UNCONFIRMED_LIMIT", "/request/generationConfig/logprobs")],
            ),
            (
                r#"{"logprobs":-1}"#,
                &[("E_RANGE", "/request/generationConfig/logprobs")],
            ),
        ],
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
    table(
        &gen,
        &[
            (
                r#"{"responseMimeType":"text/x.enum","responseSchema":{"type":"STRING","format":"enum","enum":["a","b"]}}"#,
                &[],
            ),
            (
                r#"{"responseMimeType":"application/json","responseJsonSchema":{"type":"object"}}"#,
                &[],
            ),
        ],
    );
    assert_eq!(
        gen(&format!(r#"{{"responseSchema":{schema}}}"#)),
        vec![("E_COMPANION", p("/request/generationConfig/responseSchema"))]
    );
    table(
        &gen,
        &[(
            r#"{"responseMimeType":"text/plain","response_json_schema":{"type":"object"}}"#,
            &[(
                "E_COMPANION",
                "/request/generationConfig/response_json_schema",
            )],
        )],
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
    table(
        &gen,
        &[
            (
                r#"{"responseMimeType":"json"}"#,
                &[("E_MIME_TYPE", "/request/generationConfig/responseMimeType")],
            ),
            (r#"{"responseMimeType":""}"#, &[]),
        ],
    );
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
    table(
        &video,
        &[
            (r#"{"startOffset":"1.5s","endOffset":"2s"}"#, &[]),
            (r#"{"startOffset":"2s","endOffset":"2s"}"#, &[]),
            (
                r#"{"start_offset":"10s","end_offset":"5.5s"}"#,
                &[(
                    "E_RANGE",
                    "/request/contents/0/parts/0/videoMetadata/end_offset",
                )],
            ),
        ],
    );
}

#[test]
fn lat_lng_ranges() {
    let at = |v: &str| alone(msg::GOOGLE_TYPE_LAT_LNG, v);
    table(
        &at,
        &[
            (r#"{"latitude":90,"longitude":-180}"#, &[]),
            (r#"{"latitude":-90.0,"longitude":180.0}"#, &[]),
            (
                r#"{"latitude":90.5,"longitude":-181}"#,
                &[
                    ("E_RANGE", "/request/x/latitude"),
                    ("E_RANGE", "/request/x/longitude"),
                ],
            ),
        ],
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
    table(
        &decl,
        &[
            (
                r#"{"name":"f","parameters":{"type":"OBJECT"},"parameters_json_schema":{"type":"object"}}"#,
                &[(
                    "E_EXCLUSIVE",
                    "/request/tools/0/functionDeclarations/0/parameters_json_schema",
                )],
            ),
            (
                r#"{"name":"f","response":{"type":"OBJECT"},"responseJsonSchema":{"type":"object"}}"#,
                &[(
                    "E_EXCLUSIVE",
                    "/request/tools/0/functionDeclarations/0/responseJsonSchema",
                )],
            ),
            (
                r#"{"name":"f","parametersJsonSchema":{"type":"object","properties":{"file-path":{}}}}"#,
                &[],
            ),
            (
                r#"{"name":"f","parameters":{"type":"OBJECT","properties":{"city":{"type":"STRING"},"file-path":{"type":"STRING"}}}}"#,
                &[(
                    "W_UNCONFIRMED_LIMIT",
                    "/request/tools/0/functionDeclarations/0/parameters/properties/file-path",
                )],
            ),
            (
                r#"{"name":"f","behavior":"NON_BLOCKING"}"#,
                &[(
                    "W_UNCONFIRMED_LIMIT",
                    "/request/tools/0/functionDeclarations/0/behavior",
                )],
            ),
        ],
    );
}

#[test]
fn function_call_and_response_names() {
    let call = |v: &str| in_part("functionCall", msg::FUNCTION_CALL, v);
    table(
        &call,
        &[
            (r#"{"name":"f","args":{"a":1}}"#, &[]),
            (
                r#"{"args":{"a":1}}"#,
                &[("E_EMPTY_VALUE", "/request/contents/0/parts/0/functionCall")],
            ),
            (
                r#"{"name":""}"#,
                &[(
                    "E_EMPTY_VALUE",
                    "/request/contents/0/parts/0/functionCall/name",
                )],
            ),
            (
                r#"{"partialArgs":[{"jsonPath":"$.a","stringValue":"x"}]}"#,
                &[],
            ),
        ],
    );
    let response = |v: &str| in_part("functionResponse", msg::FUNCTION_RESPONSE, v);
    table(
        &response,
        &[
            (r#"{"name":"f","response":{"output":1}}"#, &[]),
            (
                r#"{"name":"","response":{"output":1}}"#,
                &[(
                    "E_EMPTY_VALUE",
                    "/request/contents/0/parts/0/functionResponse/name",
                )],
            ),
        ],
    );
}

#[test]
fn tool_configs() {
    let calling = |v: &str| alone(msg::FUNCTION_CALLING_CONFIG, v);
    table(
        &calling,
        &[
            (r#"{"mode":"ANY","allowedFunctionNames":["f"]}"#, &[]),
            (
                r#"{"mode":"validated","allowed_function_names":["f"]}"#,
                &[],
            ),
            (r#"{"mode":"AUTO","allowedFunctionNames":[]}"#, &[]),
            (
                r#"{"allowedFunctionNames":["f"]}"#,
                &[("W_UNCONFIRMED_LIMIT", "/request/x/allowedFunctionNames")],
            ),
        ],
    );
    let search = |v: &str| alone(msg::VERTEX_AI_SEARCH, v);
    table(
        &search,
        &[
            (
                r#"{"datastore":"projects/p/locations/l/collections/c/dataStores/d","maxResults":10}"#,
                &[],
            ),
            (
                r#"{"datastore":"d","engine":"e","max_results":11}"#,
                &[
                    ("E_EXCLUSIVE", "/request/x/engine"),
                    ("E_RANGE", "/request/x/max_results"),
                ],
            ),
            (r#"{"datastore":"","engine":"e"}"#, &[]),
        ],
    );
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
    table(
        &schema,
        &[
            (
                r#"{"type":"array","minItems":"1","maxItems":"5","minimum":0,"maximum":0}"#,
                &[],
            ),
            (
                r#"{"type":"ARRAY","min_items":"5","max_items":"1","minLength":3,"maxLength":2,"minimum":1,"maximum":0.5}"#,
                &[
                    ("W_UNCONFIRMED_LIMIT", "/request/x/max_items"),
                    ("W_UNCONFIRMED_LIMIT", "/request/x/maxLength"),
                    ("W_UNCONFIRMED_LIMIT", "/request/x/maximum"),
                ],
            ),
        ],
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
