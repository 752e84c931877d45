//! Tests of the canonical hash and the canonical JSON writer (`canon.rs`).

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use super::*;

fn h(json: &str) -> u128 {
    canonical_hash_bytes(json.as_bytes()).unwrap_or_else(|| panic!("does not parse: {json}"))
}

/// The hash through the generic walker and [`HashSink`], which [`canonical_hash`]'s own encoder
/// must match byte for byte.
fn reference_hash(value: JsonRef<'_, '_>) -> u128 {
    let (mut buf, mut stack) = (Vec::new(), Vec::new());
    let mut sink = HashSink { buf: &mut buf };
    Walker {
        sink: &mut sink,
        stack: &mut stack,
    }
    .value(value, Ctx::Plain);
    xxhash_rust::xxh3::xxh3_128(&buf)
}

/// [`h`] and [`reference_hash`] of `json`, which must agree.
fn assert_reference(json: &str) {
    let mut bytes = json.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).unwrap();
    let root = JsonRef::root(&tape.0).unwrap();
    assert_eq!(h(json), reference_hash(root), "{json}");
}

fn canon_json(json: &str) -> String {
    let mut bytes = json.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).unwrap();
    let mut out = Vec::new();
    write_canonical_json(
        JsonRef::root(&tape.0).unwrap(),
        &mut CanonScratch::default(),
        &mut out,
    );
    String::from_utf8(out).unwrap()
}

fn assert_same(a: &str, b: &str) {
    assert_eq!(h(a), h(b), "should hash equal:\n  {a}\n  {b}");
    assert_eq!(canon_json(a), canon_json(b), "canonical JSON should agree");
}

fn assert_differ(a: &str, b: &str) {
    assert_ne!(h(a), h(b), "should hash differently:\n  {a}\n  {b}");
    assert_ne!(canon_json(a), canon_json(b), "canonical JSON should differ");
}

#[test]
fn key_order_whitespace_and_escapes_do_not_matter() {
    assert_same(r#"{"a":1,"b":2}"#, r#"{"b":2,"a":1}"#);
    assert_same(
        r#"{"a":{"y":[1,{"q":1,"p":2}],"x":"s"},"b":true}"#,
        " { \"b\" : true ,\n\t\"a\":{\"x\":\"s\",\r\n \"y\":[ 1 , {\"p\":2,\"q\":1} ] } } ",
    );
    assert_same(r#"{"t":"\u00e9"}"#, r#"{"t":"é"}"#);
    assert_same(r#"{"\u00e9":1}"#, r#"{"é":1}"#);
    assert_same(r#"["a\/b"]"#, r#"["a/b"]"#);
    assert_same(r#"["\ud83d\ude00"]"#, r#"["😀"]"#);
    assert_same(r#"["\u0041\n"]"#, r#"["A\u000a"]"#);
    // Keys sort by the bytes of the unescaped key ("é" is 0xC3 0xA9, after every ASCII key).
    assert_same(r#"{"é":1,"z":2}"#, r#"{"z":2,"\u00e9":1}"#);
    assert_eq!(
        canon_json(r#"{"é":1,"z":2,"Z":3}"#),
        r#"{"Z":3,"z":2,"é":1}"#
    );
}

#[test]
fn nulls_in_objects_are_dropped_but_not_in_arrays() {
    assert_same(r#"{"a":1,"b":null}"#, r#"{"a":1}"#);
    assert_same(
        r#"{"parts":[{"text":"x","fileData":null}]}"#,
        r#"{"parts":[{"text":"x"}]}"#,
    );
    assert_same(r#"{"a":{"b":null}}"#, r#"{"a":{}}"#);
    assert_differ(r#"[null]"#, r#"[]"#);
    assert_differ(r#"[null,1]"#, r#"[1]"#);
    assert_differ(r#"{"a":{}}"#, r#"{}"#);
    assert_eq!(
        canon_json(r#"{"b":null,"a":[null,{"c":null}]}"#),
        r#"{"a":[null,{}]}"#
    );
    // A null root is still a value.
    assert_differ("null", "{}");
}

#[test]
fn equal_numbers_are_equal() {
    for one in ["1.0", "1e0", "10e-1", "0.1e1", "1E+0", "100e-2"] {
        assert_same("[1]", &format!("[{one}]"));
    }
    assert_same("[0]", "[-0.0]");
    assert_same("[0]", "[-0]");
    assert_same("[0]", "[0e10]");
    assert_same("[-5]", "[-5.000]");
    assert_same("[1.5]", "[15e-1]");
    assert_same("[0.1]", "[1e-1]");
    assert_same("[100000000000000000000.0]", "[1e20]");
    assert_same("[10000000000000000000]", "[1e19]"); // u64 literal vs float
    assert_same("[1e300]", "[1.0e300]");
    // Integer literals beyond 2^53 compare exactly.
    assert_differ("[9007199254740993]", "[9007199254740992]");
    assert_differ("[18446744073709551615]", "[18446744073709551614]");
    assert_differ("[-9223372036854775808]", "[-9223372036854775807]");
    assert_same("[18446744073709551615]", "[18446744073709551615]");
    // A float literal is its f64 value: 2^53 + 1 rounds to 2^53.
    assert_same("[9007199254740993.0]", "[9007199254740992]");
    assert_differ("[1]", "[1.5]");
    assert_differ("[0.1]", "[0.10000000000000002]");
    assert_eq!(
        canon_json("[1.0,-0.0,2.50,1e-7,1e20,18446744073709551615]"),
        "[1,0,2.5,1e-7,1e20,18446744073709551615]"
    );
}

#[test]
fn types_and_structure_stay_distinct() {
    assert_differ(r#"["ab"]"#, r#"["a","b"]"#);
    assert_differ(r#""ab""#, r#"["ab"]"#);
    assert_differ(r#"{"a":"b"}"#, r#"["a","b"]"#);
    assert_differ(r#"{"ab":1}"#, r#"{"a":1,"b":1}"#);
    assert_differ(r#"{"a":"bc"}"#, r#"{"ab":"c"}"#);
    assert_differ("[1]", r#"["1"]"#);
    assert_differ("[1]", "[true]");
    assert_differ("[0]", "[false]");
    assert_differ("[]", "{}");
    assert_differ(r#"[""]"#, "[]");
    assert_differ(r#"[[]]"#, "[]");
    assert_differ(r#"[[1],2]"#, r#"[[1,2]]"#);
    assert_differ(r#"[1,2]"#, r#"[2,1]"#);
    assert_differ(r#"{"a":[]}"#, r#"{"a":{}}"#);
    assert_differ(r#"{"a":{"b":1}}"#, r#"{"a":{"b":1},"b":1}"#);
    assert_differ(r#"{"t":"é"}"#, r#"{"t":"e\u0301"}"#); // no Unicode normalisation
}

#[test]
fn duplicate_keys_are_kept_ordered_by_key_then_position() {
    assert_same(r#"{"a":1,"b":0,"a":2}"#, r#"{"b":0,"a":1,"a":2}"#);
    assert_same(r#"{"a":1,"a":2,"b":0}"#, r#"{"b":0,"a":1,"a":2}"#);
    assert_differ(r#"{"a":1,"a":2}"#, r#"{"a":2,"a":1}"#);
    assert_differ(r#"{"a":1,"a":2}"#, r#"{"a":2}"#);
    assert_differ(r#"{"a":1,"a":1}"#, r#"{"a":1}"#);
    // A null duplicate is dropped like any null member.
    assert_same(r#"{"a":1,"a":null}"#, r#"{"a":1}"#);
    assert_eq!(
        canon_json(r#"{"b":0,"a":2,"a":1}"#),
        r#"{"a":2,"a":1,"b":0}"#
    );
}

#[test]
fn canonical_json_escapes_minimally() {
    assert_eq!(
        canon_json(r#"["q\"b\\s\/n\nt\tc\u0001\u001fé\u2028 😀"]"#),
        "[\"q\\\"b\\\\s/n\\nt\\tc\\u0001\\u001fé\u{2028} 😀\"]"
    );
    assert_eq!(
        canon_json(r#"{"x":true,"w":false,"v":"s"}"#),
        r#"{"v":"s","w":false,"x":true}"#
    );
}

#[test]
fn schema_aware_json_normalises_field_spelling_but_not_user_keys() {
    use crate::request::schema::msg;
    let text = |json: &str| {
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let mut out = Vec::new();
        write_canonical_json_message(
            JsonRef::root(&tape.0).unwrap(),
            msg::TOOL,
            &mut CanonScratch::default(),
            &mut out,
        );
        String::from_utf8(out).unwrap()
    };
    let camel = text(
        r#"{"functionDeclarations":[{"name":"f","parameters":{"type":"OBJECT",
            "properties":{"user_id":{"type":"STRING"},"maxItems":{"type":"INTEGER"}},
            "propertyOrdering":["user_id","maxItems"]},
            "parametersJsonSchema":{"my_key":1,"a":null}}]}"#,
    );
    let snake = text(
        r#"{"function_declarations":[{"parameters_json_schema":{"my_key":1},
            "parameters":{"property_ordering":["user_id","maxItems"],
            "properties":{"maxItems":{"type":"INTEGER"},"user_id":{"type":"STRING"}},
            "type":"OBJECT"},"name":"f"}]}"#,
    );
    assert_eq!(camel, snake);
    assert_eq!(
        camel,
        r#"{"functionDeclarations":[{"name":"f","parameters":{"properties":{"maxItems":{"type":"INTEGER"},"user_id":{"type":"STRING"}},"propertyOrdering":["user_id","maxItems"],"type":"OBJECT"},"parametersJsonSchema":{"my_key":1}}]}"#
    );
    // Inside free-form values spelling is data.
    assert_ne!(
        text(r#"{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"my_key":1}}]}"#),
        text(r#"{"functionDeclarations":[{"name":"f","parametersJsonSchema":{"myKey":1}}]}"#),
    );
}

#[test]
fn request_hash_of_a_line_and_its_echo_agree() {
    let line = br#"{"id":"req-1","request":{"contents":[{"role":"user","parts":[{"text":"caf\u00e9"}]}],"generationConfig":{"temperature":0.5}}}"#;
    let echo = r#"{"processed_time":"2025-11-01T00:00:00.000+00:00","request":{"contents":[{"parts":[{"fileData":null,"text":"café"}],"role":"user"}],"generationConfig":{"temperature":0.5}},"response":{},"status":""}"#;
    assert_eq!(
        canonical_request_hash(line),
        canonical_request_hash(echo.as_bytes())
    );
    assert!(canonical_request_hash(line).is_some());
    assert_eq!(canonical_request_hash(b"{\"x\":1}"), None);
    assert_eq!(canonical_request_hash(b"not json"), None);
    assert_eq!(canonical_hash_bytes(b"{"), None);
}

#[test]
fn scratch_is_reused_without_leftovers() {
    let docs = [
        r#"{"b":{"d":1,"c":2},"a":[{"z":1,"y":null}]}"#,
        r#"{"a":1}"#,
        "[]",
    ];
    let mut scratch = CanonScratch::default();
    for _ in 0..3 {
        for doc in docs {
            let mut bytes = doc.as_bytes().to_vec();
            let tape = simd_json::to_tape(&mut bytes).unwrap();
            let root = JsonRef::root(&tape.0).unwrap();
            assert_eq!(canonical_hash(root, &mut scratch), h(doc));
        }
    }
    assert!(scratch.members.is_empty());
    assert!(
        scratch.members.capacity() >= 2,
        "members stack kept its allocation"
    );
}

#[test]
fn encoder_matches_the_reference_walker() {
    for json in [
        r#"{"b":[1,"x",null,true,1.5,{"z":false}],"a":-7,"c":null}"#,
        r#"{"a":1,"b":0,"a":2,"c":null,"a":{"y":null,"x":[null,{}]}}"#,
        r#"[1e300,-0.0,18446744073709551615,-9223372036854775808,1e20,1e38,0.1,false]"#,
        r#"{"é":1,"z":2,"Z":3,"":4,"longer key than eight":5,"longer key than nine":6}"#,
        "null",
        "\"s\"",
        "{}",
    ] {
        assert_reference(json);
    }
    let long = "x".repeat(LONG_STRING);
    for n in [LONG_STRING - 1, LONG_STRING, 5000] {
        assert_reference(&format!(
            r#"{{"k":"{}","a":["{}"]}}"#,
            &long[..n.min(long.len())],
            "y".repeat(n)
        ));
    }
    use crate::corpus::{generate_vec, CorpusOptions, Shape};
    for shape in [Shape::Short, Shape::Long] {
        let (bytes, _) = generate_vec(&CorpusOptions {
            seed: 11,
            shape,
            target_bytes: 1_000_000,
        });
        let mut scratch = CanonScratch::default();
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut copy = line.to_vec();
            let tape = simd_json::to_tape(&mut copy).unwrap();
            let request = JsonRef::root(&tape.0).unwrap().get("request").unwrap();
            assert_eq!(
                canonical_hash(request, &mut scratch),
                reference_hash(request)
            );
        }
    }
}

#[test]
fn generated_corpus_unique_requests_equal_distinct_hashes() {
    use crate::corpus::{generate_vec, CorpusOptions, Shape};
    for shape in [Shape::Short, Shape::Long] {
        let (bytes, report) = generate_vec(&CorpusOptions {
            seed: 5,
            shape,
            target_bytes: 3_000_000,
        });
        let mut scratch = CanonScratch::default();
        let mut hashes = HashSet::new();
        let mut by_text: HashMap<String, u128> = HashMap::new();
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut copy = line.to_vec();
            let tape = simd_json::to_tape(&mut copy).unwrap();
            let request = JsonRef::root(&tape.0).unwrap().get("request").unwrap();
            let hash = canonical_hash(request, &mut scratch);
            hashes.insert(hash);
            // serde_json (sorted keys, unescaped strings) as an independent canonical form.
            let value: Value = serde_json::from_slice(line).unwrap();
            let text = value["request"].to_string();
            assert_eq!(*by_text.entry(text).or_insert(hash), hash);
        }
        assert_eq!(hashes.len() as u64, report.unique_requests, "{shape}");
        assert_eq!(by_text.len(), hashes.len(), "{shape}");
    }
}

// ---- property tests ------------------------------------------------------------------------

/// Writes `value` as JSON with random member order, random whitespace, random escaping (any
/// character may be written as `\uXXXX`, non-BMP ones as surrogate pairs), random equivalent
/// number spellings, and random extra `null` members.
fn scramble(value: &Value, rng: &mut ChaCha8Rng, out: &mut String) {
    let ws = |rng: &mut ChaCha8Rng, out: &mut String| {
        for _ in 0..rng.random_range(0..3usize) {
            out.push([' ', '\t', '\n', '\r'][rng.random_range(0..4usize)]);
        }
    };
    ws(rng, out);
    match value {
        Value::Null | Value::Bool(_) => out.push_str(&value.to_string()),
        Value::Number(n) => out.push_str(&scramble_number(n, rng)),
        Value::String(s) => scramble_string(s, rng, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                scramble(item, rng, out);
            }
            ws(rng, out);
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, Option<&Value>)> =
                map.iter().map(|(k, v)| (k, Some(v))).collect();
            let extra = ["zz".to_string(), "a".to_string(), "é".to_string()];
            if rng.random_bool(0.3) {
                members.push((&extra[rng.random_range(0..3usize)], None));
            }
            members.shuffle(rng);
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                scramble_string(k, rng, out);
                ws(rng, out);
                out.push(':');
                match v {
                    Some(v) => scramble(v, rng, out),
                    None => out.push_str("null"),
                }
            }
            ws(rng, out);
            out.push('}');
        }
    }
    ws(rng, out);
}

fn scramble_string(s: &str, rng: &mut ChaCha8Rng, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        let must = c == '"' || c == '\\' || (c as u32) < 0x20;
        let p = if c.is_ascii() { 0.1 } else { 0.5 };
        if must || rng.random_bool(p) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                if rng.random_bool(0.5) {
                    out.push_str(&format!("\\u{unit:04x}"));
                } else {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
        } else if c == '/' && rng.random_bool(0.5) {
            out.push_str("\\/");
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

fn scramble_number(n: &serde_json::Number, rng: &mut ChaCha8Rng) -> String {
    const EXACT: i128 = 1 << 53;
    if let Some(i) = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
        if i.abs() <= EXACT {
            return match rng.random_range(0..5u8) {
                0 => format!("{i}.0"),
                1 => format!("{i}e0"),
                2 if i != 0 => format!("{i}0e-1"),
                3 if i == 0 => "-0.0".to_string(),
                _ => i.to_string(),
            };
        }
        return i.to_string();
    }
    let f = n.as_f64().unwrap();
    match rng.random_range(0..3u8) {
        0 => format!("{f:e}"),
        1 => format!("{f:E}"),
        _ => n.to_string(),
    }
}

/// An independent canonical form: nulls in objects dropped, keys sorted (serde_json's map is
/// ordered), numbers by value (integral → integer, else f64 bits).
fn norm(value: &Value) -> String {
    match value {
        Value::Null => "n".into(),
        Value::Bool(b) => format!("b{b}"),
        Value::Number(n) => {
            let i = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from));
            match i {
                Some(i) => format!("i{i}"),
                None => {
                    let f = n.as_f64().unwrap();
                    if f.fract() == 0.0 && f.abs() < 1e38 {
                        format!("i{}", f as i128)
                    } else {
                        format!("f{}", f.to_bits())
                    }
                }
            }
        }
        Value::String(s) => format!("s{}", Value::String(s.clone())),
        Value::Array(a) => format!("[{}]", a.iter().map(norm).collect::<Vec<_>>().join(",")),
        Value::Object(m) => {
            let mut members: Vec<(String, String)> = m
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), norm(v)))
                .collect();
            members.sort();
            let inner: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        (-100i32..100).prop_map(|i| Value::from(i as f64 / 4.0)),
        ".*".prop_map(Value::String),
        "[a-zé😀/\"\\\\\n]{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-cé_]{0,3}|.{0,4}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Small domains, so that generated values often coincide (or nearly).
fn arb_small_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        Just(Value::Bool(true)),
        Just(Value::Bool(false)),
        Just(Value::from(0)),
        Just(Value::from(1)),
        Just(Value::from(-1)),
        Just(Value::from(1.0)),
        Just(Value::from(-0.0)),
        Just(Value::from(0.5)),
        Just(Value::from("")),
        Just(Value::from("a")),
        Just(Value::from("é")),
        Just(Value::from("ab")),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "é", "ab"]),
                inner,
                0..3
            )
            .prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(crate::request::proptest_settings::config(512))]

    #[test]
    fn reserialised_values_hash_equal(value in arb_value(), seed in any::<u64>()) {
        let original = serde_json::to_string(&value).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut scrambled = String::new();
        scramble(&value, &mut rng, &mut scrambled);
        prop_assert_eq!(h(&original), h(&scrambled), "\n{}\n{}", original, scrambled);
        prop_assert_eq!(canon_json(&original), canon_json(&scrambled));
        // The canonical JSON is JSON and means the same value: it hashes like the original (serde_json
        // checks the syntax; its default float parsing is not correctly rounded, so the value is
        // compared through simd-json, which is).
        let canonical = canon_json(&original);
        prop_assert!(serde_json::from_str::<Value>(&canonical).is_ok(), "{}", canonical);
        prop_assert_eq!(h(&canonical), h(&original), "{}", canonical);
        let mut bytes = scrambled.into_bytes();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        let root = JsonRef::root(&tape.0).unwrap();
        prop_assert_eq!(h(&original), reference_hash(root));
    }

    #[test]
    fn distinct_values_hash_differently(
        values in prop::collection::vec(arb_small_value(), 2..16),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut by_norm: HashMap<String, u128> = HashMap::new();
        let mut by_hash: HashMap<u128, String> = HashMap::new();
        for value in &values {
            let mut text = String::new();
            scramble(value, &mut rng, &mut text);
            let (n, hash) = (norm(value), h(&text));
            prop_assert_eq!(*by_norm.entry(n.clone()).or_insert(hash), hash, "{}", text);
            prop_assert_eq!(by_hash.entry(hash).or_insert(n.clone()).as_str(), n.as_str());
        }
        prop_assert_eq!(by_norm.len(), by_hash.len());
    }
}

// ---- throughput ----------------------------------------------------------------------------

/// CPU time of this thread in seconds (from `/proc/thread-self/schedstat`, nanoseconds on CPU):
/// unlike wall time it does not count time spent waiting for a core on a busy machine.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Times `f` by thread CPU time, best of `runs`.
fn best_cpu_seconds(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let t = thread_cpu_seconds();
            f();
            thread_cpu_seconds() - t
        })
        .fold(f64::MAX, f64::min)
}

/// Parses every line into a reused tape (as the prepare workers do) and calls `op` on its
/// `request`, so `op` runs on a tape that is hot in cache, as in the pipeline.
fn for_each_request(lines: &[&[u8]], mut op: impl FnMut(JsonRef<'_, '_>)) {
    use simd_json::tape::Tape;
    let mut scratch: Vec<u8> = Vec::new();
    let mut buffers = simd_json::Buffers::new(4096);
    let mut tape: Option<Tape<'static>> = Some(Tape::null());
    for line in lines {
        scratch.clear();
        scratch.extend_from_slice(line);
        scratch.resize(line.len() + simd_json::INPUT_PADDING, b' ');
        let mut t: Tape<'_> = tape.take().unwrap().reset();
        simd_json::fill_tape_padded(&mut scratch, line.len(), &mut buffers, &mut t).unwrap();
        if let Some(request) = JsonRef::root(&t.0).and_then(|r| r.get("request")) {
            op(request);
        }
        tape = Some(t.reset());
    }
}

/// `cargo test --release --lib canon::tests::throughput -- --ignored --nocapture`
/// (`BATCHLINE_BENCH_MB` sets the corpus size, default 100).
///
/// Times are thread CPU time (best of five), so time spent waiting for a core on a busy machine
/// is not counted. Each operation runs on a tape that is hot in cache, as in the pipeline (the
/// line was just parsed): the loop parses each line once and runs the operation once, then again
/// with the operation repeated five times; the operation's cost is a quarter of the difference.
#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn throughput() {
    use crate::corpus::{generate_vec, CorpusOptions, Shape};
    use crate::request::prompt::{
        chain_hashes, prompt_stream, PromptScratch, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS,
    };
    let mb = std::env::var("BATCHLINE_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100u64);
    for shape in [Shape::Short, Shape::Long] {
        let (bytes, report) = generate_vec(&CorpusOptions {
            seed: 1,
            shape,
            target_bytes: mb << 20,
        });
        let lines: Vec<&[u8]> = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        let total: usize = lines.iter().map(|l| l.len()).sum();
        let mbs = |secs: f64| total as f64 / secs.max(1e-9) / 1e6;
        let mut acc = 0u128;
        let parse = best_cpu_seconds(5, || for_each_request(&lines, |_| {}));
        // Cost of `op` per pass over the corpus, on hot tapes.
        let cost = |op: &mut dyn FnMut(JsonRef<'_, '_>)| {
            let once = best_cpu_seconds(5, || for_each_request(&lines, &mut *op));
            let five = best_cpu_seconds(5, || {
                for_each_request(&lines, |r| (0..5).for_each(|_| op(r)))
            });
            (five - once) / 4.0
        };
        let mut canon = CanonScratch::default();
        let hash = cost(&mut |r| acc = acc.wrapping_add(canonical_hash(r, &mut canon)));
        let mut prompt = PromptScratch::default();
        let mut stream_bytes = 0usize;
        for_each_request(&lines, |r| {
            stream_bytes += prompt_stream(r, &mut prompt).len()
        });
        let mut sink = 0usize;
        let stream = cost(&mut |r| sink = sink.wrapping_add(prompt_stream(r, &mut prompt).len()));
        let mut chain = Vec::new();
        let mut last = 0u64;
        let both = cost(&mut |r| {
            let s = prompt_stream(r, &mut prompt);
            chain_hashes(s, DEFAULT_BLOCK_BYTES, DEFAULT_MAX_BLOCKS, &mut chain);
            last = last.wrapping_add(chain.last().copied().unwrap_or(0));
        });
        println!(
            "{shape}: {} lines, {:.1} MB (prompt streams {:.1} MB); MB of input lines per \
             CPU-second, one thread: simd-json parse into a reused tape {:.0}; canonical_hash {:.0}; \
             prompt_stream {:.0}; prompt_stream + chain_hashes {:.0} [{acc:x} {last:x} {sink}]",
            report.lines,
            total as f64 / 1e6,
            stream_bytes as f64 / 1e6,
            mbs(parse),
            mbs(hash),
            mbs(stream),
            mbs(both),
        );
    }
}

/// The hash is stored in the run index and recomputed by collect: an accidental change of the
/// encoding must fail here (a deliberate one bumps the run format version and this value).
#[test]
fn hash_values_are_pinned() {
    assert_eq!(
        h(r#"{"b":[1,"x",null,true,1.5,{"z":false}],"a":-7,"c":null}"#),
        PINNED
    );
}
const PINNED: u128 = 73360384656023805699169487712127085598;
