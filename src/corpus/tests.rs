//! Tests of the corpus generator.

use super::json::{add_spaces, ascii_escape, escaped};
use super::words::{CATEGORIES, CODE, JAPANESE, SPECIALS, THRESHOLDS, WORDS};
use super::*;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

fn corpus(seed: u64, shape: Shape, target_bytes: u64) -> (Vec<u8>, CorpusReport) {
    generate_vec(&CorpusOptions {
        seed,
        shape,
        target_bytes,
    })
}

fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .strip_suffix(b"\n")
        .unwrap_or(bytes)
        .split(|&b| b == b'\n')
}

/// A 2 MB corpus of each shape, generated and parsed once for all tests that read it.
struct Sample {
    bytes: Vec<u8>,
    report: CorpusReport,
    values: Vec<Value>,
}

fn sample(shape: Shape) -> &'static Sample {
    static SAMPLES: [OnceLock<Sample>; 2] = [OnceLock::new(), OnceLock::new()];
    SAMPLES[shape as usize].get_or_init(|| {
        let (bytes, report) = corpus(11, shape, 2_000_000);
        let values = lines(&bytes)
            .map(|line| serde_json::from_slice(line).expect("line parses"))
            .collect();
        Sample {
            bytes,
            report,
            values,
        }
    })
}

#[test]
fn corpus_is_deterministic() {
    for shape in [Shape::Short, Shape::Long] {
        let (a, report_a) = corpus(42, shape, 300_000);
        let (b, report_b) = corpus(42, shape, 300_000);
        assert!(a == b, "{shape}: same seed, different bytes");
        assert_eq!(report_a, report_b);
        let (c, _) = corpus(43, shape, 300_000);
        assert!(a != c, "{shape}: different seeds, same bytes");
    }
}

#[test]
fn corpus_stops_after_the_line_reaching_the_target() {
    assert_eq!(corpus(1, Shape::Short, 0).1, CorpusReport::default());
    for (shape, target) in [
        (Shape::Short, 1),
        (Shape::Short, 123_457),
        (Shape::Long, 200_000),
    ] {
        let (bytes, report) = corpus(5, shape, target);
        assert_eq!(report.bytes, bytes.len() as u64);
        assert_eq!(
            report.lines,
            bytes.iter().filter(|&&b| b == b'\n').count() as u64
        );
        assert!(bytes.ends_with(b"\n"));
        let last = lines(&bytes).last().unwrap().len() as u64 + 1;
        assert!(
            report.bytes >= target && report.bytes - last < target,
            "{shape} {target}"
        );
    }
}

/// JSON type of a value, integers and floats alike (as the BigQuery import sees them).
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Records the type of every key path (array indexes ignored) and checks the whole-job
/// rules: one type per path, no nulls, no empty objects, nesting at most 15.
fn walk(value: &Value, path: &mut String, depth: usize, types: &mut HashMap<String, &'static str>) {
    assert!(depth <= 15, "nesting too deep at {path}");
    let seen = types.entry(path.clone()).or_insert(kind(value));
    assert_eq!(*seen, kind(value), "type of {path} differs between lines");
    match value {
        Value::Null => panic!("null at {path}"),
        Value::Object(map) => {
            assert!(!map.is_empty(), "empty object at {path}");
            for (k, v) in map {
                assert!(
                    k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "key {k:?} is not a column name"
                );
                let len = path.len();
                path.push('.');
                path.push_str(k);
                walk(v, path, depth + 1, types);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let len = path.len();
            path.push_str("[]");
            for item in items {
                walk(item, path, depth + 1, types);
            }
            path.truncate(len);
        }
        _ => {}
    }
}

fn field<'a>(object: &'a Value, camel: &str, snake: &str) -> Option<&'a Value> {
    object.get(camel).or_else(|| object.get(snake))
}

fn check_request(request: &Value) {
    let contents = request["contents"]
        .as_array()
        .expect("contents is an array");
    assert!(!contents.is_empty());
    for (i, content) in contents.iter().enumerate() {
        match content.get("role").and_then(Value::as_str) {
            Some("user") | Some("model") => {}
            None => assert_eq!(contents.len(), 1, "role omitted in a multi-turn request"),
            Some(role) => panic!("bad role {role}"),
        }
        if i + 1 == contents.len() {
            assert_ne!(content["role"], "model", "the last turn is the user's");
        }
        let parts = content["parts"].as_array().expect("parts is an array");
        assert!(!parts.is_empty());
        for part in parts {
            let part = part.as_object().unwrap();
            assert_eq!(part.len(), 1, "one data field per part: {part:?}");
            if let Some(text) = part.get("text") {
                assert!(!text.as_str().unwrap().is_empty());
            } else {
                let file = field(&Value::Object(part.clone()), "fileData", "file_data")
                    .expect("text or fileData")
                    .clone();
                let uri = field(&file, "fileUri", "file_uri")
                    .unwrap()
                    .as_str()
                    .unwrap();
                assert!(uri.starts_with("gs://") && uri.ends_with(".pdf"));
            }
        }
    }
    if let Some(config) = field(request, "generationConfig", "generation_config") {
        let temperature = config["temperature"].as_f64().unwrap();
        assert!((0.0..=1.5).contains(&temperature));
        if field(config, "responseSchema", "response_schema").is_some() {
            let mime = field(config, "responseMimeType", "response_mime_type").unwrap();
            assert_eq!(mime, "application/json");
            assert!(request.get("tools").is_none());
        }
    }
    if let Some(settings) = field(request, "safetySettings", "safety_settings") {
        for setting in settings.as_array().unwrap() {
            assert!(CATEGORIES.contains(&setting["category"].as_str().unwrap()));
            assert!(THRESHOLDS.contains(&setting["threshold"].as_str().unwrap()));
        }
    }
}

#[test]
fn corpus_lines_are_valid_requests_with_consistent_types() {
    for shape in [Shape::Short, Shape::Long] {
        let mut types = HashMap::new();
        for value in &sample(shape).values {
            let object = value.as_object().unwrap();
            assert!(object.keys().all(|k| k == "request" || k == "id"));
            if let Some(id) = object.get("id") {
                let id = id.as_str().expect("id is a string");
                assert!(id.starts_with("req-") && id.parse::<f64>().is_err());
            }
            check_request(&value["request"]);
            walk(value, &mut String::new(), 1, &mut types);
        }
    }
}

#[test]
fn corpus_counts_duplicates_exactly() {
    for shape in [Shape::Short, Shape::Long] {
        let Sample {
            bytes,
            report,
            values,
        } = sample(shape);
        let distinct_lines: HashSet<&[u8]> = lines(bytes).collect();
        // serde_json without `preserve_order` sorts keys: a canonical form.
        let distinct_requests: HashSet<String> =
            values.iter().map(|v| v["request"].to_string()).collect();
        assert_eq!(report.lines, report.unique_requests + report.duplicates());
        assert_eq!(
            distinct_requests.len() as u64,
            report.unique_requests,
            "{shape}"
        );
        assert_eq!(
            distinct_lines.len() as u64,
            report.lines - report.exact_duplicates
        );
        assert!(report.exact_duplicates > 0 && report.reserialized_duplicates > 0);
        if shape == Shape::Short {
            let share = report.duplicates() as f64 / report.lines as f64;
            assert!((0.05..0.11).contains(&share), "duplicate share {share}");
        }
    }
}

#[test]
fn corpus_average_line_size_matches_shape() {
    for (shape, range) in [
        (Shape::Short, 1000.0..2000.0),
        (Shape::Long, 7000.0..14000.0),
    ] {
        let report = sample(shape).report;
        let average = report.bytes as f64 / report.lines as f64;
        assert!(
            range.contains(&average),
            "{shape}: average line {average} bytes"
        );
    }
}

#[test]
fn corpus_has_unicode_and_escapes() {
    let text = std::str::from_utf8(&sample(Shape::Short).bytes).unwrap();
    for needle in [
        "é",
        "日本語",
        "🚀",
        "\\n",
        "\\\"",
        "\\\\",
        "\\t",
        "\\u00e9",
        "\\ud83d",
        "\": \"",
        "\":\"",
        "generation_config",
        "generationConfig",
        "fileData",
        "functionDeclarations",
        "\"labels\"",
        "BLOCK_ONLY_HIGH",
        "\"id\":\"req-",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the corpus");
    }
}

#[test]
fn styles_keep_the_value() {
    let compact = r#"{"a":"x, y: \"z\" \\","b":[1,2.5,{"c":"é😀日"}]}"#;
    let mut spaced = Vec::new();
    add_spaces(compact.as_bytes(), &mut spaced);
    assert_eq!(
        std::str::from_utf8(&spaced).unwrap(),
        r#"{"a": "x, y: \"z\" \\", "b": [1, 2.5, {"c": "é😀日"}]}"#
    );
    let mut ascii = Vec::new();
    ascii_escape(&spaced, &mut ascii);
    assert!(ascii.is_ascii());
    assert!(std::str::from_utf8(&ascii)
        .unwrap()
        .contains(r#""\u00e9\ud83d\ude00\u65e5""#));
    let original: Value = serde_json::from_str(compact).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&ascii).unwrap(), original);
}

#[test]
fn escaping_matches_serde_json() {
    let mut all: Vec<&str> = SPECIALS
        .iter()
        .chain(CODE)
        .chain(JAPANESE)
        .copied()
        .collect();
    all.push("\u{1}\u{8}\u{c}\r\u{1f}");
    for s in all {
        let expected = serde_json::to_string(s).unwrap();
        assert_eq!(
            escaped(s),
            expected.as_bytes()[1..expected.len() - 1],
            "{s:?}"
        );
    }
    assert!(WORDS.split_whitespace().all(|w| escaped(w) == w.as_bytes()));
}

#[test]
fn shapes_parse() {
    assert_eq!("short".parse::<Shape>(), Ok(Shape::Short));
    assert_eq!("LONG".parse::<Shape>(), Ok(Shape::Long));
    assert!("medium".parse::<Shape>().is_err());
}

/// Generation speed in release builds:
/// `cargo test --release --lib corpus::tests::corpus_generation_speed -- --ignored --nocapture`
#[test]
#[ignore = "measurement, run by hand in release"]
fn corpus_generation_speed() {
    for shape in [Shape::Short, Shape::Long] {
        let opts = CorpusOptions {
            seed: 1,
            shape,
            target_bytes: 1 << 30,
        };
        let start = std::time::Instant::now();
        let report = generate(&opts, io::sink()).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{shape}: {} MB in {seconds:.2} s = {:.0} MB/s; {} lines, average {:.0} B, duplicates {:.1}% ({} exact, {} re-serialised)",
            report.bytes / 1_000_000,
            report.bytes as f64 / 1e6 / seconds,
            report.lines,
            report.bytes as f64 / report.lines as f64,
            100.0 * report.duplicates() as f64 / report.lines as f64,
            report.exact_duplicates,
            report.reserialized_duplicates,
        );
    }
}
