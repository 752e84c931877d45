use super::*;
use crate::request::line::LineChecker;
use crate::request::syntax::syntax_column;

fn check(line: &str) -> Vec<(String, String)> {
    let mut c = LineChecker::new();
    c.check(line.as_bytes(), 0, 0);
    c.findings
        .items
        .iter()
        .map(|f| (f.code.as_str().to_string(), f.pointer.clone()))
        .collect()
}

fn codes(line: &str) -> Vec<String> {
    check(line).into_iter().map(|(c, _)| c).collect()
}

#[test]
fn valid_minimal_request_has_no_findings() {
    assert_eq!(
        check(r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#),
        vec![]
    );
}

#[test]
fn mixed_spellings_are_accepted() {
    let line = r#"{"request":{"contents":[{"role":"user","parts":[{"file_data":{"file_uri":"gs://b/a.pdf","mime_type":"application/pdf"}},{"text":"sum"}]}],"generationConfig":{"temperature":0,"max_output_tokens":"100"}}}"#;
    assert_eq!(check(line), vec![]);
}

#[test]
fn unknown_field_suggests_a_name() {
    let mut c = LineChecker::new();
    c.check(
        br#"{"request":{"contents":[{"role":"user","parts":[{"txt":"hi"}]}]}}"#,
        0,
        0,
    );
    let f = &c.findings.items[0];
    assert_eq!(f.code, Code::E_UNKNOWN_FIELD);
    assert_eq!(f.pointer, "/request/contents/0/parts/0/txt");
    assert!(f.at_key);
    assert!(f.message.contains("did you mean `text`"), "{}", f.message);
}

#[test]
fn types_enums_and_required() {
    let found = check(
        r#"{"request":{"contents":[{"role":"user","parts":[{"text":5}]}],"safetySettings":[{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_HIGH_AND_ABOVE"}],"generationConfig":{"temperature":"hot","candidateCount":1.5}}}"#,
    );
    assert_eq!(
        found,
        vec![
            ("E_TYPE".into(), "/request/contents/0/parts/0/text".into()),
            (
                "E_ENUM".into(),
                "/request/safetySettings/0/threshold".into()
            ),
            (
                "E_TYPE".into(),
                "/request/generationConfig/temperature".into()
            ),
            (
                "E_INTEGER".into(),
                "/request/generationConfig/candidateCount".into()
            ),
        ]
    );
    assert_eq!(codes(r#"{"request":{}}"#), vec!["E_REQUIRED"]);
}

#[test]
fn line_level_problems() {
    assert_eq!(codes(r#"{"id":"x"}"#), vec!["E_MISSING_REQUEST"]);
    assert_eq!(codes(r#"[1]"#), vec!["E_NOT_OBJECT"]);
    assert_eq!(codes(r#"{"request":"#), vec!["E_JSON_SYNTAX"]);
    assert_eq!(codes("  "), vec!["W_BLANK_LINE"]);
    assert_eq!(codes("{\"request\":\u{0}}"), vec!["E_NUL_BYTE"]);
    let mut c = LineChecker::new();
    c.check(b"{\"request\": \"\xff\"}", 0, 0);
    assert_eq!(c.findings.items[0].code, Code::E_INVALID_UTF8);
    assert_eq!(syntax_column(b"{\"request\": \"\xff\"}"), 14);
    assert_eq!(syntax_column(br#"{"request": tru}"#), 16);
}

#[test]
fn single_object_for_list_is_a_warning() {
    let found = check(r#"{"request":{"contents":[{"role":"user","parts":{"text":"hi"}}]}}"#);
    assert_eq!(
        found,
        vec![(
            "W_SINGLE_FOR_REPEATED".into(),
            "/request/contents/0/parts".into()
        )]
    );
}

#[test]
fn lower_case_schema_type_is_silent_but_other_enum_case_warns() {
    let line = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"x"}]}],"generationConfig":{"responseMimeType":"application/json","responseSchema":{"type":"object","properties":{"a":{"type":"string"}}}},"safetySettings":[{"category":"harm_category_hate_speech","threshold":"BLOCK_NONE"}]}}"#;
    let found: Vec<_> = check(line)
        .into_iter()
        .filter(|(c, _)| c != "W_DEPRECATED_FIELD")
        .collect();
    assert_eq!(
        found,
        vec![(
            "W_ENUM_CASE".into(),
            "/request/safetySettings/0/category".into()
        )]
    );
}

#[test]
fn job_paths_record_kinds_with_first_lines() {
    let mut c = LineChecker::new();
    c.check(
        br#"{"request":{"contents":[{"role":"user","parts":[{"text":"a"}]}]},"meta":{"k":"1x"}}"#,
        0,
        0,
    );
    c.check(
        br#"{"request":{"contents":[{"role":"user","parts":[{"text":"b"}]}]},"meta":{"k":2}}"#,
        1,
        100,
    );
    let found = c.job.findings();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].code, Code::E_JOB_TYPE_CONFLICT);
    assert_eq!(found[0].at.line, 1);
    assert_eq!(found[0].at.line_offset, 100);
    assert_eq!(found[0].at.pointer, "/meta/k");
    assert_eq!(found[0].related.as_ref().unwrap().line, 0);
}

#[test]
fn findings_under_repeated_keys_say_which_member() {
    let mut c = LineChecker::new();
    // Nothing repeated: no occurrences, whatever the depth.
    c.check(
        br#"{"request":{"contents":[{"role":"user","parts":[{"text":5}]}],"generationConfig":{"topK":"x"}}}"#,
        0,
        0,
    );
    assert_eq!(c.findings.items.len(), 2);
    assert!(c.findings.items.iter().all(|f| f.key_nth.is_empty()));
    // `request` twice; in the second, `parts` twice, and a label key twice (a map); user data with
    // a repeated key beside it.
    c.check(
        br#"{"request":{"contents":[]},"request":{"contents":[{"role":"user","parts":[{"text":1}],"parts":[{"text":2}]}],"labels":{"k":"v","k":1}},"meta":{"x":1},"meta":{"x":{}}}"#,
        0,
        0,
    );
    let found: Vec<(&str, &str, &[u32])> = c
        .findings
        .items
        .iter()
        .map(|f| (f.code.as_str(), f.pointer.as_str(), f.key_nth.as_slice()))
        .collect();
    assert_eq!(
        found,
        vec![
            // The first request's rule finding: first occurrences only.
            ("E_EMPTY_CONTENTS", "/request/contents", &[][..]),
            ("E_DUPLICATE_FIELD", "/request", &[1][..]),
            ("E_TYPE", "/request/contents/0/parts/0/text", &[1][..]),
            (
                "E_DUPLICATE_FIELD",
                "/request/contents/0/parts",
                &[1, 0, 0, 1][..]
            ),
            (
                "E_TYPE",
                "/request/contents/0/parts/0/text",
                &[1, 0, 0, 1][..]
            ),
            ("E_TYPE", "/request/labels/k", &[1, 0, 1][..]),
        ]
    );
    let job = c.take_job().findings();
    let empty = job
        .iter()
        .find(|f| f.code == Code::E_JOB_EMPTY_OBJECT)
        .expect("E_JOB_EMPTY_OBJECT");
    assert_eq!(empty.at.pointer, "/meta/x");
    assert_eq!(empty.at.key_nth, [1]);
}
