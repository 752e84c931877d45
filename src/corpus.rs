//! Seeded, deterministic generator of realistic Vertex batch-input corpora.
//!
//! Benchmarks (criterion and the whole-program throughput script) and the tests of dedup,
//! prefix-sort and sharding need large JSONL inputs whose shape resembles what users feed
//! batchline: long shared system instructions and few-shot blocks, shared documents asked many
//! questions, unique prompts, non-ASCII text and escapes, and a share of exact and re-serialised
//! duplicates. This module owns that generator and nothing else; it does not read or validate
//! JSONL (that is `input` and `request`).
//!
//! Every line is `{"request": <GenerateContentRequest>}`, sometimes with a top-level
//! `"id": "req-000123"` member. Every request is valid for Vertex and every key path keeps one
//! JSON type across the whole file, so a generated file passes the whole-job checks. The same
//! [`CorpusOptions`] always produce byte-identical output (ChaCha8 seeded from
//! [`CorpusOptions::seed`]; no clocks, threads or hash-map order). Lengths are drawn with
//! `f64::powf`, whose last bit may differ between math libraries, so byte-identity is promised per
//! platform. `docs/corpus.md` describes the mix.
//!
//! ```no_run
//! use batchline::corpus::{generate, CorpusOptions, Shape};
//! let file = std::fs::File::create("corpus.jsonl")?;
//! let opts = CorpusOptions { seed: 7, shape: Shape::Short, target_bytes: 64 << 20 };
//! let report = generate(&opts, file)?;
//! println!("{} lines, {} unique requests", report.lines, report.unique_requests);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::hash::{DefaultHasher, Hasher};
use std::io::{self, Write};
use std::str::FromStr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The kind of corpus to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Lines of about 1.5 KB on average; about 8% of lines duplicate an earlier request.
    Short,
    /// Lines of about 10 KB on average, dominated by long (4–60 KB) shared documents; about 5% of
    /// lines duplicate an earlier request.
    Long,
}

impl Shape {
    /// The name [`Shape::from_str`] accepts: `"short"` or `"long"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Shape::Short => "short",
            Shape::Long => "long",
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Shape`] from a string other than `short` or `long`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown corpus shape `{0}`: expected `short` or `long`")]
pub struct ParseShapeError(String);

impl FromStr for Shape {
    type Err = ParseShapeError;

    /// Parses `short` or `long` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("short") {
            Ok(Shape::Short)
        } else if s.eq_ignore_ascii_case("long") {
            Ok(Shape::Long)
        } else {
            Err(ParseShapeError(s.to_owned()))
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusOptions {
    /// Seed of the generator: equal options give byte-identical output.
    pub seed: u64,
    /// Line-size and content mix.
    pub shape: Shape,
    /// Size in bytes: lines are written until the output reaches this size, so the output
    /// overshoots it by less than one line. `0` writes nothing.
    pub target_bytes: u64,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorpusReport {
    /// Lines written (each ends with `\n`).
    pub lines: u64,
    /// Bytes written, newlines included.
    pub bytes: u64,
    /// Lines that are byte-for-byte copies of an earlier line.
    pub exact_duplicates: u64,
    /// Lines whose `request` equals an earlier line's request after canonicalisation (key order,
    /// whitespace, string escapes) but whose bytes differ from every earlier line.
    pub reserialized_duplicates: u64,
    /// Distinct requests: `lines - exact_duplicates - reserialized_duplicates`.
    pub unique_requests: u64,
}

impl CorpusReport {
    /// Lines that repeat an earlier request, exactly or re-serialised.
    pub fn duplicates(&self) -> u64 {
        self.exact_duplicates + self.reserialized_duplicates
    }
}

/// Writes a corpus to `out` (wrapped in a 1 MiB `BufWriter`, so a bare `File` is fine) and
/// reports what was written.
///
/// Deterministic: the same options always produce the same bytes. Stops after the line that
/// brings the output to at least `opts.target_bytes`.
pub fn generate<W: Write>(opts: &CorpusOptions, out: W) -> io::Result<CorpusReport> {
    let mut writer = io::BufWriter::with_capacity(1 << 20, out);
    let mut generator = Generator::new(opts.seed, opts.shape);
    let mut report = CorpusReport::default();
    while report.bytes < opts.target_bytes {
        let kind = generator.next_line(report.lines + 1);
        writer.write_all(&generator.out)?;
        report.lines += 1;
        report.bytes += generator.out.len() as u64;
        match kind {
            LineKind::Fresh => report.unique_requests += 1,
            LineKind::Exact => report.exact_duplicates += 1,
            LineKind::Reserialized => report.reserialized_duplicates += 1,
        }
    }
    writer.flush()?;
    Ok(report)
}

/// [`generate`] into memory, for benchmarks and tests.
pub fn generate_vec(opts: &CorpusOptions) -> (Vec<u8>, CorpusReport) {
    let mut buf = Vec::with_capacity(opts.target_bytes.min(1 << 30) as usize + (64 << 10));
    let report = generate(opts, &mut buf).expect("writing to a Vec never fails");
    (buf, report)
}

/// Parses a byte size such as `1GB`, `50MB`, `512KiB`, `1.5G` or `1048576`.
///
/// `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` are powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` powers
/// of 1024; a trailing `B` alone means bytes. Case-insensitive; spaces between number and unit
/// are allowed. Returns `None` for anything else.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    let bytes = number * multiplier as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes.round() as u64)
}

// ---------------------------------------------------------------------------------------------
// Shape parameters

/// The mix of one shape. Sizes are in bytes of JSON-escaped text.
struct Params {
    /// Share of fresh lines that belong to a system-instruction family.
    family_share: f64,
    /// Share of fresh lines that ask a question about a shared document.
    document_share: f64,
    /// System-instruction length of each family in KB, by popularity rank (Zipf-picked).
    family_system_kb: &'static [f64],
    /// Few-shot user/model pairs per family (inclusive range).
    shot_pairs: (u32, u32),
    /// Length of one few-shot example.
    shot_len: (usize, usize),
    /// Length of the unique last user turn of a family line.
    family_question_len: (usize, usize),
    /// Documents in circulation at any time.
    document_slots: usize,
    /// Document length, log-uniform with exponent `document_skew` (> 1 favours short ones).
    document_len: (usize, usize),
    document_skew: f64,
    /// Chance per document line that one slot gets a fresh document.
    document_renew: f64,
    /// Length of the system instructions of document questions.
    reader_len: (usize, usize),
    /// Share of document lines that reference the document as a `gs://` PDF instead of text.
    file_data_share: f64,
    /// Length of a unique prompt.
    unique_len: (usize, usize),
    /// Share of lines that repeat an earlier request, and the exact part of those.
    duplicate_share: f64,
    exact_share: f64,
    /// Share of lines with a top-level `id` member.
    id_share: f64,
    /// Earlier requests kept as duplicate candidates.
    pool_cap: usize,
}

const SHORT: Params = Params {
    family_share: 0.14,
    document_share: 0.24,
    family_system_kb: &[1.0, 2.0, 1.5, 4.0, 1.2, 8.0],
    shot_pairs: (0, 2),
    shot_len: (100, 350),
    family_question_len: (100, 500),
    document_slots: 64,
    document_len: (250, 2000),
    document_skew: 1.3,
    document_renew: 0.05,
    reader_len: (150, 500),
    file_data_share: 0.10,
    unique_len: (100, 1100),
    duplicate_share: 0.08,
    exact_share: 0.5,
    id_share: 0.25,
    pool_cap: 1024,
};

const LONG: Params = Params {
    family_share: 0.30,
    document_share: 0.55,
    family_system_kb: &[3.0, 6.0, 1.5, 8.0, 4.0, 2.0, 5.0, 7.0],
    shot_pairs: (1, 3),
    shot_len: (300, 1200),
    family_question_len: (200, 1500),
    document_slots: 32,
    document_len: (4000, 60000),
    document_skew: 2.7,
    document_renew: 0.025,
    reader_len: (400, 1500),
    file_data_share: 0.08,
    unique_len: (1500, 14000),
    duplicate_share: 0.05,
    exact_share: 0.5,
    id_share: 0.25,
    pool_cap: 256,
};

// ---------------------------------------------------------------------------------------------
// Built-in text

/// Pseudo-English vocabulary, whitespace-separated. Plain words only (no character needs a JSON
/// escape); a few carry non-ASCII letters.
const WORDS: &str = "\
    the of and a to in is that for it as was with be by on not this are or from at which but \
    have an had they you were their one all we can has there been if more when will would who \
    so no out up into than them only its time about new some could these two may first then do \
    any like now over such our even most made after also did many before must through back \
    years where much your way well down should because each just those people how too little \
    state good very make world still own see work long get here between both life being under \
    never day same another know while last might great old year off come since against go came \
    right used take three states himself few house use during without again place around \
    however home small found thought went say part once general high upon school every does \
    got united left number course war until always away something fact though water less \
    public put think almost hand enough far took head yet government system better set told \
    nothing night end why called eyes find going look asked later knew point next program city \
    business give group toward young days let room president side social given present several \
    order national possible rather second face per among form important often things looked \
    early white case become large big need four within felt along children saw best church \
    ever least power development light thing seemed family interest want members mind country \
    area others done turned although open problem data model request batch token cache prefix \
    shard file line record field value schema query index table column row report customer \
    invoice payment account shipment warehouse supplier contract policy ticket issue release \
    feature service server cluster network latency throughput analysis summary document \
    section paragraph question answer result error warning status region project budget \
    quarter revenue growth margin forecast risk engineer manager team user client partner \
    vendor market product price cost discount sample metric signal pattern trend score label \
    category quickly carefully rarely usually recently currently nearly roughly clearly simply \
    directly briefly strongly slightly mostly review update check compare describe explain \
    extract classify translate summarize measure estimate improve reduce increase deploy \
    monitor migrate validate prepare recent current private local global remote stable \
    critical minor major simple complex accurate robust blue green red yellow north south east \
    west morning evening winter summer spring autumn river mountain village garden kitchen \
    bridge harbor library museum station airport hospital factory office meeting schedule \
    deadline milestone roadmap incident outage backup storage memory processor pipeline \
    workflow dashboard alert threshold baseline café naïve résumé façade jalapeño Zürich São \
    Paulo Ångström über Kraków Málaga";

/// Japanese sentences mixed into text and documents.
const JAPANESE: &[&str] = &[
    "この文書の要点を三つにまとめてください。",
    "東京の天気は明日晴れる予定です。",
    "会議は午後三時に始まります。",
    "新しい製品の売上は前年比で二十パーセント増加しました。",
    "日本語のテキストも正しく処理できるか確認します。",
    "顧客からの問い合わせに丁寧に回答してください。",
    "データの品質を確認してから次の手順に進みます。",
    "このコードはバッチ処理のために最適化されています。",
    "請求書の金額と注文書の金額が一致しません。",
    "来週までに報告書を提出してください。",
];

/// Short fragments appended to sentences: emoji, quotes, backslashes, tabs, a literal `\u`.
const SPECIALS: &[&str] = &[
    "🚀",
    "✅",
    "📈",
    "🙂",
    "👍🏽",
    "☕",
    "(see \"Appendix B\")",
    "as \"soon as possible\"",
    "at C:\\Users\\analyst\\reports\\q3.csv",
    "matching ^\\d{3}-\\d{4}$",
    "with columns id\tname\tscore",
    "written caf\\u00e9 in the export",
    "(€1,299.00 or ¥180,000)",
    "— see § 4.2 —",
    "via /var/log/app/error.log",
    "tagged #release-2024",
];

/// Code snippets for code prompts and documents.
const CODE: &[&str] = &[
    "def parse(line: str) -> dict:\n    \"\"\"Parse one record.\"\"\"\n    key, _, value = line.partition(\"\\t\")\n    return {\"key\": key.strip(), \"value\": value.rstrip(\"\\n\")}",
    "fn main() {\n    let path = r\"C:\\data\\input.jsonl\";\n    let n = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);\n    println!(\"{path}: {n} bytes\");\n}",
    "SELECT user_id, COUNT(*) AS n\nFROM events\nWHERE name = 'checkout'\n  AND ts >= '2024-01-01'\nGROUP BY user_id\nORDER BY n DESC\nLIMIT 20;",
    "{\"name\": \"Zoë\", \"tags\": [\"a\", \"b\"], \"path\": \"C:\\\\tmp\\\\out\", \"note\": \"line1\\nline2\"}",
    "grep -E \"^[0-9]+\\t\" data.tsv | awk -F'\\t' '{ sum += $2 } END { print sum }'",
    "const msg = `Hello, ${name}!`;\nconsole.log(msg.replace(/\\s+/g, \" \"));\r\nexport default msg;",
    "for i in range(3):\n\tprint(f\"row {i}:\\t{values[i]!r}\")",
];

const QUESTION_STARTS: &[&str] = &[
    "What does the text say about",
    "Why does the report mention",
    "How does the author describe",
    "When did the team discuss",
    "Which section covers",
    "Who approved the change to",
    "Summarize what is said about",
    "List every reference to",
    "Explain how the document relates",
    "Is it true that the analysis found",
];

const UNIQUE_INSTRUCTIONS: &[&str] = &[
    "Rewrite the following paragraph in plain language:",
    "Translate the following text into French:",
    "Write a short product description based on these notes:",
    "Classify the tone of this message and explain why:",
    "Draft a polite reply to this customer email:",
    "Give three follow-up questions about the following:",
    "Correct the grammar in the text below:",
    "Turn these notes into a bulleted action list:",
];

const TEAMS: &[&str] = &["search", "ads", "support", "research", "finance", "growth"];
const ENVIRONMENTS: &[&str] = &["prod", "dev", "eval"];
const CATEGORIES: &[&str] = &[
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
];
const THRESHOLDS: &[&str] = &[
    "BLOCK_NONE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_LOW_AND_ABOVE",
    "OFF",
];
const TOP_P: &[&str] = &["0.8", "0.9", "0.95", "1.0"];
const MAX_OUTPUT_TOKENS: &[&str] = &["256", "512", "1024", "2048", "8192"];

/// Response schemas (JSON, keys identical in both spellings). One JSON type per key path across
/// all of them: `type`/`description` strings, `enum`/`required` arrays of strings.
const SCHEMAS: &[&str] = &[
    r#"{"type":"OBJECT","properties":{"label":{"type":"STRING","enum":["positive","negative","neutral"]},"confidence":{"type":"NUMBER"}},"required":["label"]}"#,
    r#"{"type":"OBJECT","properties":{"entities":{"type":"ARRAY","items":{"type":"OBJECT","properties":{"name":{"type":"STRING"},"kind":{"type":"STRING","enum":["person","organization","place"]}},"required":["name","kind"]}},"summary":{"type":"STRING","description":"One sentence."}},"required":["entities"]}"#,
    r#"{"type":"OBJECT","properties":{"category":{"type":"STRING","enum":["billing","shipping","account","other"]},"priority":{"type":"INTEGER","description":"1 (low) to 4 (urgent)"},"tags":{"type":"ARRAY","items":{"type":"STRING"}}},"required":["category","priority"]}"#,
    r#"{"type":"OBJECT","properties":{"answer":{"type":"STRING"},"citations":{"type":"ARRAY","items":{"type":"INTEGER"}}},"required":["answer"]}"#,
];

/// Function declarations as `(name, description, parameters)`; parameters are JSON.
const FUNCTIONS: &[(&str, &str, &str)] = &[
    (
        "get_weather",
        "Get the current weather for a city.",
        r#"{"type":"OBJECT","properties":{"city":{"type":"STRING","description":"City name, e.g. Zürich"},"unit":{"type":"STRING","enum":["celsius","fahrenheit"]}},"required":["city"]}"#,
    ),
    (
        "lookup_order",
        "Look up an order by its identifier.",
        r#"{"type":"OBJECT","properties":{"order_id":{"type":"STRING"},"include_items":{"type":"BOOLEAN"}},"required":["order_id"]}"#,
    ),
];

// ---------------------------------------------------------------------------------------------
// JSON helpers

/// Appends `s` JSON-escaped (without quotes), as serde_json does: `"`, `\`, and control
/// characters are escaped; everything else is copied.
fn escape_into(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 15) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

fn escaped(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// Appends `"key":`.
fn key(out: &mut Vec<u8>, k: &str) {
    out.push(b'"');
    out.extend_from_slice(k.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Appends `"key":"value"` for a value that needs no escaping.
fn key_str(out: &mut Vec<u8>, k: &str, v: &str) {
    key(out, k);
    out.push(b'"');
    out.extend_from_slice(v.as_bytes());
    out.push(b'"');
}

/// Copies compact JSON, adding a space after every `,` and `:` outside strings (Python's
/// `json.dumps` default separators).
fn add_spaces(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(src.len() + src.len() / 16);
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        match b {
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', &src[i..]) {
                        Some(offset) if src[i + offset] == b'\\' => i += offset + 2,
                        Some(offset) => {
                            i += offset + 1;
                            break;
                        }
                        None => {
                            i = src.len();
                            break;
                        }
                    }
                }
                out.extend_from_slice(&src[start..i.min(src.len())]);
            }
            b',' | b':' => {
                out.push(b);
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Copies JSON, writing every non-ASCII character as `\uXXXX` (a surrogate pair above U+FFFF),
/// as Python's `json.dumps(ensure_ascii=True)` does. Non-ASCII bytes occur only inside strings.
fn ascii_escape(src: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let text = std::str::from_utf8(src).expect("generated JSON is UTF-8");
    out.reserve(src.len() + src.len() / 8);
    let mut start = 0;
    while let Some(offset) = src[start..].iter().position(|b| !b.is_ascii()) {
        let at = start + offset;
        out.extend_from_slice(&src[start..at]);
        let ch = text[at..].chars().next().expect("char boundary");
        let mut units = [0u16; 2];
        for unit in ch.encode_utf16(&mut units) {
            out.extend_from_slice(b"\\u");
            for shift in [12, 8, 4, 0] {
                out.push(HEX[((*unit >> shift) & 15) as usize]);
            }
        }
        start = at + ch.len_utf8();
    }
    out.extend_from_slice(&src[start..]);
}

/// How a line's bytes are laid out; the request is the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Style {
    /// `{"a": 1, "b": 2}` instead of `{"a":1,"b":2}`.
    spaced: bool,
    /// Non-ASCII written as `\u00e9`.
    ascii: bool,
}

const PLAIN: Style = Style {
    spaced: false,
    ascii: false,
};

fn apply_style(src: &[u8], style: Style, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    out.clear();
    match (style.spaced, style.ascii) {
        (false, false) => out.extend_from_slice(src),
        (true, false) => add_spaces(src, out),
        (false, true) => ascii_escape(src, out),
        (true, true) => {
            scratch.clear();
            add_spaces(src, scratch);
            ascii_escape(scratch, out);
        }
    }
}

fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

/// Field-name spelling of one request: snake_case or camelCase, chosen per part of the request
/// (Google's own examples mix them).
#[derive(Debug, Clone, Copy)]
struct Spelling {
    /// `systemInstruction`, `generationConfig`, `safetySettings`, `functionDeclarations`.
    top: bool,
    /// Members of `generationConfig`.
    config: bool,
    /// `fileData` and its members.
    part: bool,
}

fn name(snake: bool, camel: &'static str, snake_name: &'static str) -> &'static str {
    if snake {
        snake_name
    } else {
        camel
    }
}

/// What a request asks for; decides whether it gets a response schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    Classify,
    Extract,
    Summarize,
    Chat,
    Answer,
}

// ---------------------------------------------------------------------------------------------
// Text generation

/// Random pseudo-English written straight into JSON-escaped form.
struct Text {
    rng: ChaCha8Rng,
    words: Vec<&'static [u8]>,
    capitalized: Vec<Vec<u8>>,
    specials: Vec<Vec<u8>>,
    code: Vec<Vec<u8>>,
    japanese: Vec<&'static [u8]>,
    temperatures: Vec<String>,
}

impl Text {
    fn new(rng: ChaCha8Rng) -> Text {
        let words: Vec<&'static str> = WORDS.split_whitespace().collect();
        let capitalized = words
            .iter()
            .map(|w| {
                let mut chars = w.chars();
                let first = chars.next().expect("non-empty word");
                let mut s: String = first.to_uppercase().collect();
                s.push_str(chars.as_str());
                s.into_bytes()
            })
            .collect();
        Text {
            rng,
            words: words.iter().map(|w| w.as_bytes()).collect(),
            capitalized,
            specials: SPECIALS.iter().map(|s| escaped(s)).collect(),
            code: CODE.iter().map(|s| escaped(s)).collect(),
            japanese: JAPANESE.iter().map(|s| s.as_bytes()).collect(),
            // k / 20 printed shortest-round-trip with a decimal point, as serde_json prints the
            // parsed f64: temperature is always a JSON number, 0.0 to 1.5.
            temperatures: (0..=30).map(|k| format!("{:?}", k as f64 / 20.0)).collect(),
        }
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A length drawn log-uniformly from `range`, skewed to short ones when `skew > 1`.
    fn length(&mut self, range: (usize, usize), skew: f64) -> usize {
        let u: f64 = self.rng.random();
        let (lo, hi) = (range.0 as f64, range.1 as f64);
        (lo * (hi / lo).powf(u.powf(skew))) as usize
    }

    /// `n` random words separated by spaces, the first capitalised when `capital`.
    fn words(&mut self, out: &mut Vec<u8>, n: usize, capital: bool) {
        let count = self.words.len() as u64;
        let mut bits = 0u64;
        for i in 0..n {
            if i % 4 == 0 {
                bits = self.rng.random();
            }
            let index = (((bits & 0xffff) * count) >> 16) as usize;
            bits >>= 16;
            if i == 0 && capital {
                out.extend_from_slice(&self.capitalized[index]);
            } else {
                if i > 0 {
                    out.push(b' ');
                }
                out.extend_from_slice(self.words[index]);
            }
        }
    }

    fn sentence(&mut self, out: &mut Vec<u8>) {
        let r: u64 = self.rng.random();
        if r.is_multiple_of(40) {
            out.extend_from_slice(self.japanese[(r >> 8) as usize % self.japanese.len()]);
            return;
        }
        let n = 5 + ((r >> 8) % 14) as usize;
        let comma = if (r >> 16).is_multiple_of(3) {
            2 + ((r >> 20) % (n as u64 - 2)) as usize
        } else {
            usize::MAX
        };
        if comma < n {
            self.words(out, comma, true);
            out.push(b',');
            out.push(b' ');
            self.words(out, n - comma, false);
        } else {
            self.words(out, n, true);
        }
        if (r >> 32).is_multiple_of(16) {
            out.push(b' ');
            out.extend_from_slice(&self.specials[(r >> 36) as usize % self.specials.len()]);
        }
        out.push(match (r >> 44) % 16 {
            0 => b'?',
            1 => b'!',
            _ => b'.',
        });
    }

    fn paragraph(&mut self, out: &mut Vec<u8>) {
        let n = 2 + self.below(5);
        for i in 0..n {
            if i > 0 {
                out.push(b' ');
            }
            self.sentence(out);
        }
    }

    /// Paragraphs separated by blank lines until at least `len` bytes were added.
    fn prose(&mut self, out: &mut Vec<u8>, len: usize) {
        let start = out.len();
        loop {
            self.paragraph(out);
            if out.len() - start >= len {
                break;
            }
            out.extend_from_slice(b"\\n\\n");
        }
    }

    /// A question with at least eight random words (over 64 bits of randomness, so two fresh
    /// questions never collide in practice).
    fn question(&mut self, out: &mut Vec<u8>) {
        let start = self.pick(QUESTION_STARTS).as_bytes();
        out.extend_from_slice(start);
        out.push(b' ');
        let n = 8 + self.below(10);
        self.words(out, n, false);
        if self.chance(0.4) {
            let reference = self.below(100_000);
            out.extend_from_slice(format!(" (ref {reference})").as_bytes());
        }
        out.push(b'?');
    }

    fn code_block(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"```\\n");
        let index = self.below(self.code.len());
        out.extend_from_slice(&self.code[index]);
        out.extend_from_slice(b"\\n```");
    }

    fn table(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"id\\tname\\tamount\\tstatus");
        for row in 0..2 + self.below(6) {
            let amount = self.below(100_000);
            out.extend_from_slice(format!("\\n{}\\t", row + 1).as_bytes());
            self.words(out, 2, true);
            out.extend_from_slice(format!("\\t{}.{:02}\\t", amount / 100, amount % 100).as_bytes());
            self.words(out, 1, false);
        }
    }

    /// A document: a title, then paragraphs with the odd code block, table and Japanese
    /// paragraph, until at least `len` bytes were added.
    fn document(&mut self, out: &mut Vec<u8>, len: usize) {
        let start = out.len();
        out.extend_from_slice(b"Title: ");
        let n = 3 + self.below(5);
        self.words(out, n, true);
        while out.len() - start < len {
            out.extend_from_slice(b"\\n\\n");
            match self.below(100) {
                0..=5 => self.code_block(out),
                6..=9 => self.table(out),
                10..=12 => {
                    for i in 0..2 + self.below(4) {
                        if i > 0 {
                            out.push(b' ');
                        }
                        let index = self.below(self.japanese.len());
                        out.extend_from_slice(self.japanese[index]);
                    }
                }
                _ => self.paragraph(out),
            }
        }
    }

    /// A system instruction: a role line, rules as a bulleted list, then guidance prose.
    fn system_instruction(&mut self, out: &mut Vec<u8>, len: usize, task: Task) {
        let start = out.len();
        out.extend_from_slice(match task {
            Task::Classify => b"You are a careful classifier of customer feedback." as &[u8],
            Task::Extract => b"You extract structured entities from business text.",
            Task::Summarize => b"You write concise, faithful summaries.",
            Task::Chat => b"You are a helpful assistant for an operations team.",
            Task::Answer => b"You answer questions using only the document provided.",
        });
        out.extend_from_slice(b"\\n\\nRules:");
        for _ in 0..3 + self.below(6) {
            out.extend_from_slice(b"\\n- ");
            self.sentence(out);
        }
        out.extend_from_slice(b"\\n\\n");
        let used = out.len() - start;
        self.prose(out, len.saturating_sub(used).max(1));
    }

    /// The model's answer in a few-shot pair.
    fn shot_answer(&mut self, out: &mut Vec<u8>, task: Task) {
        match task {
            Task::Classify => {
                let label = self.pick(&["positive", "negative", "neutral"]);
                let confidence = 50 + self.below(50);
                escape_into(
                    out,
                    &format!("{{\"label\": \"{label}\", \"confidence\": 0.{confidence}}}"),
                );
            }
            Task::Extract => {
                let mut name = Vec::new();
                self.words(&mut name, 2, true);
                let name = String::from_utf8(name).expect("words are UTF-8");
                let kind = self.pick(&["person", "organization", "place"]);
                escape_into(
                    out,
                    &format!(
                        "{{\"entities\": [{{\"name\": \"{name}\", \"kind\": \"{kind}\"}}], \"summary\": \"One sentence.\"}}"
                    ),
                );
            }
            _ => self.paragraph(out),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The generator

/// A line kind, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Fresh,
    Exact,
    Reserialized,
}

/// A group of requests sharing a system instruction and few-shot block.
struct Family {
    /// Request members up to the opening of the last user turn's text.
    head: Vec<u8>,
    /// Prefix of the unique user text (e.g. `Review:\n`).
    lead: &'static [u8],
    /// Closings of the last turn plus the remaining members, one picked per line.
    tails: Vec<Vec<u8>>,
    task: Task,
}

struct Document {
    serial: u64,
    text: Vec<u8>,
}

/// An earlier fresh request kept as a duplicate candidate.
struct Original {
    /// The line as generated, compact with raw UTF-8, without newline.
    compact: Vec<u8>,
    style: Style,
    /// Hashes of every rendering of this request written so far.
    variants: Vec<u64>,
}

struct Generator {
    text: Text,
    params: &'static Params,
    families: Vec<Family>,
    family_cdf: Vec<f64>,
    readers: Vec<Vec<u8>>,
    documents: Vec<Document>,
    document_cdf: Vec<f64>,
    next_document: u64,
    pool: Vec<Original>,
    /// The line being built (compact), the line to write (styled, with newline), scratch.
    line: Vec<u8>,
    out: Vec<u8>,
    scratch: Vec<u8>,
    scratch2: Vec<u8>,
}

fn zipf_cdf(n: usize, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=n).map(|i| 1.0 / (i as f64).powf(exponent)).collect();
    let total: f64 = weights.iter().sum();
    let mut sum = 0.0;
    weights
        .iter()
        .map(|w| {
            sum += w / total;
            sum
        })
        .collect()
}

impl Generator {
    fn new(seed: u64, shape: Shape) -> Generator {
        let params = match shape {
            Shape::Short => &SHORT,
            Shape::Long => &LONG,
        };
        let mut generator = Generator {
            text: Text::new(ChaCha8Rng::seed_from_u64(seed)),
            params,
            families: Vec::new(),
            family_cdf: zipf_cdf(params.family_system_kb.len(), 1.0),
            readers: Vec::new(),
            documents: Vec::new(),
            document_cdf: zipf_cdf(params.document_slots, 0.9),
            next_document: 1,
            pool: Vec::with_capacity(params.pool_cap),
            line: Vec::with_capacity(1 << 16),
            out: Vec::with_capacity(1 << 16),
            scratch: Vec::with_capacity(1 << 16),
            scratch2: Vec::new(),
        };
        for (rank, kb) in params.family_system_kb.iter().enumerate() {
            let family = generator.family(rank, (kb * 1000.0) as usize);
            generator.families.push(family);
        }
        for _ in 0..3 {
            let len = generator.text.length(params.reader_len, 1.0);
            let mut reader = Vec::new();
            generator
                .text
                .system_instruction(&mut reader, len, Task::Answer);
            generator.readers.push(reader);
        }
        for _ in 0..params.document_slots {
            let document = generator.document();
            generator.documents.push(document);
        }
        generator
    }

    fn spelling(&mut self) -> Spelling {
        match self.text.below(10) {
            0..=5 => Spelling {
                top: false,
                config: false,
                part: false,
            },
            6 | 7 => Spelling {
                top: true,
                config: true,
                part: true,
            },
            _ => Spelling {
                top: self.text.chance(0.5),
                config: self.text.chance(0.5),
                part: self.text.chance(0.5),
            },
        }
    }

    fn document(&mut self) -> Document {
        let len = self
            .text
            .length(self.params.document_len, self.params.document_skew);
        let mut text = Vec::with_capacity(len + 512);
        self.text.document(&mut text, len);
        let serial = self.next_document;
        self.next_document += 1;
        Document { serial, text }
    }

    fn family(&mut self, rank: usize, system_len: usize) -> Family {
        let task = [Task::Classify, Task::Extract, Task::Summarize, Task::Chat][rank % 4];
        let lead: &'static [u8] = match task {
            Task::Classify => b"Review:\\n",
            Task::Extract => b"Text:\\n",
            Task::Summarize => b"Summarize these notes:\\n\\n",
            _ => b"",
        };
        let spelling = self.spelling();
        let mut system = Vec::new();
        key(
            &mut system,
            name(spelling.top, "systemInstruction", "system_instruction"),
        );
        system.extend_from_slice(b"{\"parts\":[{\"text\":\"");
        self.text.system_instruction(&mut system, system_len, task);
        system.extend_from_slice(b"\"}]}");

        let mut head = Vec::new();
        let system_first = self.text.chance(0.75);
        if system_first {
            head.extend_from_slice(&system);
            head.push(b',');
        }
        key(&mut head, "contents");
        head.push(b'[');
        let (lo, hi) = self.params.shot_pairs;
        for _ in 0..self.text.rng.random_range(lo..=hi) {
            head.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");
            head.extend_from_slice(lead);
            let len = self.text.length(self.params.shot_len, 1.0);
            self.text.prose(&mut head, len);
            head.extend_from_slice(b"\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"");
            self.text.shot_answer(&mut head, task);
            head.extend_from_slice(b"\"}]},");
        }
        head.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");

        let mut tails = Vec::new();
        for _ in 0..1 + self.text.below(2) {
            let mut tail = b"\"}]}]".to_vec();
            if !system_first {
                tail.push(b',');
                tail.extend_from_slice(&system);
            }
            self.members(&mut tail, spelling, task);
            tails.push(tail);
        }
        Family {
            head,
            lead,
            tails,
            task,
        }
    }

    /// Appends `,"generationConfig":{…}` and the other optional request members.
    fn members(&mut self, out: &mut Vec<u8>, spelling: Spelling, task: Task) {
        let t = &mut self.text;
        let wants_schema = match task {
            Task::Classify | Task::Extract => t.chance(0.8),
            Task::Answer => t.chance(0.15),
            _ => false,
        };
        let snake = spelling.config;
        if wants_schema || t.chance(0.9) {
            out.push(b',');
            key(
                out,
                name(spelling.top, "generationConfig", "generation_config"),
            );
            out.push(b'{');
            key(out, "temperature");
            let temperature = t.below(t.temperatures.len());
            out.extend_from_slice(t.temperatures[temperature].as_bytes());
            if t.chance(0.5) {
                out.push(b',');
                key(out, name(snake, "topP", "top_p"));
                out.extend_from_slice(t.pick(TOP_P).as_bytes());
            }
            if t.chance(0.15) {
                out.push(b',');
                key(out, name(snake, "topK", "top_k"));
                out.extend_from_slice(b"40");
            }
            if t.chance(0.7) {
                out.push(b',');
                key(out, name(snake, "maxOutputTokens", "max_output_tokens"));
                out.extend_from_slice(t.pick(MAX_OUTPUT_TOKENS).as_bytes());
            }
            if t.chance(0.05) {
                out.push(b',');
                key(out, name(snake, "candidateCount", "candidate_count"));
                out.push(b'1');
            }
            if t.chance(0.1) {
                out.push(b',');
                key(out, "seed");
                let seed = t.below(1_000_000);
                out.extend_from_slice(seed.to_string().as_bytes());
            }
            if t.chance(0.05) {
                out.push(b',');
                key(out, name(snake, "stopSequences", "stop_sequences"));
                out.extend_from_slice(b"[\"\\n\\n###\",\"END\"]");
            }
            if t.chance(0.1) {
                out.push(b',');
                key(out, name(snake, "thinkingConfig", "thinking_config"));
                out.push(b'{');
                key(out, name(snake, "thinkingBudget", "thinking_budget"));
                out.extend_from_slice(t.pick(&["0", "1024", "8192"]).as_bytes());
                out.push(b'}');
            }
            if wants_schema {
                out.push(b',');
                key_str(
                    out,
                    name(snake, "responseMimeType", "response_mime_type"),
                    "application/json",
                );
                out.push(b',');
                key(out, name(snake, "responseSchema", "response_schema"));
                let schema = match task {
                    Task::Classify => SCHEMAS[if t.chance(0.5) { 0 } else { 2 }],
                    Task::Extract => SCHEMAS[1],
                    _ => SCHEMAS[3],
                };
                out.extend_from_slice(schema.as_bytes());
            } else if t.chance(0.05) {
                out.push(b',');
                key_str(
                    out,
                    name(snake, "responseMimeType", "response_mime_type"),
                    "text/plain",
                );
            }
            out.push(b'}');
        }
        if t.chance(0.3) {
            out.push(b',');
            key(out, name(spelling.top, "safetySettings", "safety_settings"));
            out.push(b'[');
            let first = t.below(CATEGORIES.len());
            let n = 1 + t.below(CATEGORIES.len());
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'{');
                key_str(out, "category", CATEGORIES[(first + i) % CATEGORIES.len()]);
                out.push(b',');
                key_str(out, "threshold", t.pick(THRESHOLDS));
                out.push(b'}');
            }
            out.push(b']');
        }
        // Function calling does not combine with a JSON response type.
        if !wants_schema && t.chance(0.08) {
            out.push(b',');
            key(out, "tools");
            out.extend_from_slice(b"[{");
            key(
                out,
                name(
                    spelling.top,
                    "functionDeclarations",
                    "function_declarations",
                ),
            );
            out.push(b'[');
            let n = 1 + t.below(FUNCTIONS.len());
            for (i, (function, description, parameters)) in FUNCTIONS.iter().take(n).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.push(b'{');
                key_str(out, "name", function);
                out.push(b',');
                key_str(out, "description", description);
                out.push(b',');
                key(out, "parameters");
                out.extend_from_slice(parameters.as_bytes());
                out.push(b'}');
            }
            out.extend_from_slice(b"]}]");
        }
        if t.chance(0.35) {
            out.push(b',');
            key(out, "labels");
            out.push(b'{');
            key_str(out, "team", t.pick(TEAMS));
            if t.chance(0.5) {
                out.push(b',');
                key_str(out, "env", t.pick(ENVIRONMENTS));
            }
            out.push(b'}');
        }
    }

    /// Fills `self.out` with the next line (newline included).
    fn next_line(&mut self, line_number: u64) -> LineKind {
        if !self.pool.is_empty() && self.text.chance(self.params.duplicate_share) {
            return self.duplicate();
        }
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        let id_first = self.text.chance(self.params.id_share / 2.0);
        let id_last = !id_first && self.text.chance(self.params.id_share / 2.0);
        line.push(b'{');
        if id_first {
            key_str(&mut line, "id", &format!("req-{line_number:06}"));
            line.push(b',');
        }
        key(&mut line, "request");
        line.push(b'{');
        let r: f64 = self.text.rng.random();
        if r < self.params.family_share {
            self.family_request(&mut line);
        } else if r < self.params.family_share + self.params.document_share {
            self.document_request(&mut line);
        } else {
            self.unique_request(&mut line);
        }
        line.push(b'}');
        if id_last {
            line.push(b',');
            key_str(&mut line, "id", &format!("req-{line_number:06}"));
        }
        line.push(b'}');

        let style = match self.text.below(20) {
            0..=12 => PLAIN,
            13..=16 => Style {
                spaced: true,
                ascii: true,
            },
            17 | 18 => Style {
                spaced: true,
                ascii: false,
            },
            _ => Style {
                spaced: false,
                ascii: true,
            },
        };
        let keep = self.pool.len() < self.params.pool_cap || self.text.chance(0.2);
        let slot = if self.pool.len() < self.params.pool_cap {
            self.pool.len()
        } else {
            self.text.below(self.pool.len())
        };
        if style == PLAIN {
            // Zero-copy: the compact line is the output.
            std::mem::swap(&mut line, &mut self.out);
        } else {
            apply_style(&line, style, &mut self.out, &mut self.scratch);
        }
        if keep {
            let compact: &[u8] = if style == PLAIN { &self.out } else { &line };
            let variant = hash_bytes(&self.out);
            if slot == self.pool.len() {
                self.pool.push(Original {
                    compact: compact.to_vec(),
                    style,
                    variants: vec![variant],
                });
            } else {
                let original = &mut self.pool[slot];
                original.compact.clear();
                original.compact.extend_from_slice(compact);
                original.style = style;
                original.variants.clear();
                original.variants.push(variant);
            }
        }
        self.out.push(b'\n');
        self.line = line;
        LineKind::Fresh
    }

    fn duplicate(&mut self) -> LineKind {
        let index = self.text.below(self.pool.len());
        if self.text.chance(self.params.exact_share) {
            let original = &self.pool[index];
            apply_style(
                &original.compact,
                original.style,
                &mut self.out,
                &mut self.scratch,
            );
            self.out.push(b'\n');
            return LineKind::Exact;
        }
        let reorder = self.text.chance(0.6);
        let mut respace = self.text.chance(0.5);
        let reescape = self.text.chance(0.4);
        let original = &mut self.pool[index];
        for attempt in 0..2 {
            if attempt == 1 || !(reorder || respace || reescape) {
                respace = !respace;
            }
            self.scratch2.clear();
            if reorder {
                // serde_json's map is a BTreeMap: keys come back sorted, strings unescaped.
                let value: serde_json::Value =
                    serde_json::from_slice(&original.compact).expect("generated JSON parses");
                serde_json::to_writer(&mut self.scratch2, &value).expect("Vec write");
            } else {
                self.scratch2.extend_from_slice(&original.compact);
            }
            let style = Style {
                spaced: original.style.spaced ^ respace,
                ascii: original.style.ascii ^ reescape,
            };
            apply_style(&self.scratch2, style, &mut self.out, &mut self.scratch);
            let variant = hash_bytes(&self.out);
            if !original.variants.contains(&variant) {
                original.variants.push(variant);
                self.out.push(b'\n');
                return LineKind::Reserialized;
            }
        }
        self.out.push(b'\n');
        LineKind::Exact
    }

    fn family_request(&mut self, line: &mut Vec<u8>) {
        let u: f64 = self.text.rng.random();
        let index = self.family_cdf.partition_point(|&c| c <= u);
        let family = &self.families[index.min(self.families.len() - 1)];
        line.extend_from_slice(&family.head);
        line.extend_from_slice(family.lead);
        let tail = self.text.below(family.tails.len());
        match family.task {
            Task::Chat => {
                self.text.question(line);
                line.extend_from_slice(b"\\n\\n");
                let len = self.text.length(self.params.family_question_len, 1.0);
                self.text.prose(line, len);
            }
            _ => {
                let len = self.text.length(self.params.family_question_len, 1.0);
                self.text.prose(line, len);
            }
        }
        line.extend_from_slice(&family.tails[tail]);
    }

    fn document_request(&mut self, line: &mut Vec<u8>) {
        if self.text.chance(self.params.document_renew) {
            let slot = self.text.below(self.documents.len());
            self.documents[slot] = self.document();
        }
        let u: f64 = self.text.rng.random();
        let slot = self.document_cdf.partition_point(|&c| c <= u);
        let slot = slot.min(self.documents.len() - 1);
        let spelling = self.spelling();
        if self.text.chance(0.6) {
            let reader = self.text.below(self.readers.len());
            key(
                line,
                name(spelling.top, "systemInstruction", "system_instruction"),
            );
            line.extend_from_slice(b"{\"parts\":[{\"text\":\"");
            line.extend_from_slice(&self.readers[reader]);
            line.extend_from_slice(b"\"}]},");
        }
        key(line, "contents");
        line.extend_from_slice(b"[{\"role\":\"user\",\"parts\":[");
        let document = &self.documents[slot];
        // 0..=2: concatenated, 3: question first, 4..=9: two parts, 10: a PDF in Cloud Storage.
        let layout = if self.text.chance(self.params.file_data_share) {
            10
        } else {
            self.text.below(10)
        };
        match layout {
            // The document and the question concatenated in one text part.
            0..=2 => {
                line.extend_from_slice(b"{\"text\":\"");
                line.extend_from_slice(&document.text);
                line.extend_from_slice(b"\\n\\nQuestion: ");
                self.text.question(line);
                line.extend_from_slice(b"\"}");
            }
            // The document as a PDF in Cloud Storage, then the question.
            10 => {
                line.push(b'{');
                key(line, name(spelling.part, "fileData", "file_data"));
                line.push(b'{');
                let uri = format!(
                    "gs://acme-batch-inputs/docs/2024/doc-{:05}.pdf",
                    document.serial
                );
                key_str(line, name(spelling.part, "fileUri", "file_uri"), &uri);
                line.push(b',');
                key_str(
                    line,
                    name(spelling.part, "mimeType", "mime_type"),
                    "application/pdf",
                );
                line.extend_from_slice(b"}},{\"text\":\"");
                self.text.question(line);
                line.extend_from_slice(b"\"}");
            }
            // The question first: no shared prefix (a common anti-pattern).
            3 => {
                line.extend_from_slice(b"{\"text\":\"");
                self.text.question(line);
                line.extend_from_slice(b"\"},{\"text\":\"");
                line.extend_from_slice(&document.text);
                line.extend_from_slice(b"\"}");
            }
            // The document, then the question, as two parts.
            _ => {
                line.extend_from_slice(b"{\"text\":\"");
                line.extend_from_slice(&document.text);
                line.extend_from_slice(b"\"},{\"text\":\"");
                self.text.question(line);
                line.extend_from_slice(b"\"}");
            }
        }
        line.extend_from_slice(b"]}]");
        self.members(line, spelling, Task::Answer);
    }

    fn unique_request(&mut self, line: &mut Vec<u8>) {
        let spelling = self.spelling();
        let len = self.text.length(self.params.unique_len, 1.0);
        let t = &mut self.text;
        key(line, "contents");
        line.push(b'[');
        let chat = t.chance(0.2);
        if chat {
            line.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");
            t.question(line);
            line.extend_from_slice(b"\"}]},{\"role\":\"model\",\"parts\":[{\"text\":\"");
            t.prose(line, len / 2);
            line.extend_from_slice(b"\"}]},{\"role\":\"user\",\"parts\":[{\"text\":\"");
        } else if t.chance(0.1) {
            // A single turn may omit the role.
            line.extend_from_slice(b"{\"parts\":[{\"text\":\"");
        } else {
            line.extend_from_slice(b"{\"role\":\"user\",\"parts\":[{\"text\":\"");
        }
        let task = match t.below(10) {
            0 | 1 => {
                line.extend_from_slice(b"Explain what this code does and suggest one fix:\\n\\n");
                t.code_block(line);
                line.extend_from_slice(b"\\n\\nContext: ");
                t.prose(line, len / 3);
                Task::Chat
            }
            2 => {
                line.extend_from_slice("次の文章を英語に翻訳してください。\\n\\n".as_bytes());
                for _ in 0..1 + t.below(4) {
                    let sentence = t.pick(JAPANESE);
                    line.extend_from_slice(sentence.as_bytes());
                }
                line.extend_from_slice(b"\\n\\n");
                t.prose(line, len / 2);
                Task::Chat
            }
            3 => {
                line.extend_from_slice(b"Classify the sentiment of this review:\\n\\n");
                t.prose(line, len);
                Task::Classify
            }
            4 => {
                line.extend_from_slice(b"Extract the people, organizations and places:\\n\\n");
                t.prose(line, len);
                Task::Extract
            }
            _ => {
                line.extend_from_slice(t.pick(UNIQUE_INSTRUCTIONS).as_bytes());
                line.extend_from_slice(b"\\n\\n");
                t.prose(line, if chat { len / 2 } else { len });
                Task::Summarize
            }
        };
        line.extend_from_slice(b"\"}]}]");
        self.members(line, spelling, task);
    }
}

#[cfg(test)]
mod tests {
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
    fn walk(
        value: &Value,
        path: &mut String,
        depth: usize,
        types: &mut HashMap<String, &'static str>,
    ) {
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
    fn shape_and_size_parse() {
        assert_eq!("short".parse::<Shape>(), Ok(Shape::Short));
        assert_eq!("LONG".parse::<Shape>(), Ok(Shape::Long));
        assert!("medium".parse::<Shape>().is_err());
        assert_eq!(parse_size("1GB"), Some(1_000_000_000));
        assert_eq!(parse_size("50 MB"), Some(50_000_000));
        assert_eq!(parse_size("1.5k"), Some(1500));
        assert_eq!(parse_size("2MiB"), Some(2 << 20));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size(""), None);
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
}
