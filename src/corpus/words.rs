//! Built-in word lists, code snippets, sentences, schemas and other static tables of the corpus generator.

// ---------------------------------------------------------------------------------------------
// Built-in text

/// Pseudo-English vocabulary, whitespace-separated. Plain words only (no character needs a JSON
/// escape); a few carry non-ASCII letters.
pub(super) const WORDS: &str = "\
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
pub(super) const JAPANESE: &[&str] = &[
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
pub(super) const SPECIALS: &[&str] = &[
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
pub(super) const CODE: &[&str] = &[
    "def parse(line: str) -> dict:\n    \"\"\"Parse one record.\"\"\"\n    key, _, value = line.partition(\"\\t\")\n    return {\"key\": key.strip(), \"value\": value.rstrip(\"\\n\")}",
    "fn main() {\n    let path = r\"C:\\data\\input.jsonl\";\n    let n = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);\n    println!(\"{path}: {n} bytes\");\n}",
    "SELECT user_id, COUNT(*) AS n\nFROM events\nWHERE name = 'checkout'\n  AND ts >= '2024-01-01'\nGROUP BY user_id\nORDER BY n DESC\nLIMIT 20;",
    "{\"name\": \"Zoë\", \"tags\": [\"a\", \"b\"], \"path\": \"C:\\\\tmp\\\\out\", \"note\": \"line1\\nline2\"}",
    "grep -E \"^[0-9]+\\t\" data.tsv | awk -F'\\t' '{ sum += $2 } END { print sum }'",
    "const msg = `Hello, ${name}!`;\nconsole.log(msg.replace(/\\s+/g, \" \"));\r\nexport default msg;",
    "for i in range(3):\n\tprint(f\"row {i}:\\t{values[i]!r}\")",
];

pub(super) const QUESTION_STARTS: &[&str] = &[
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

pub(super) const UNIQUE_INSTRUCTIONS: &[&str] = &[
    "Rewrite the following paragraph in plain language:",
    "Translate the following text into French:",
    "Write a short product description based on these notes:",
    "Classify the tone of this message and explain why:",
    "Draft a polite reply to this customer email:",
    "Give three follow-up questions about the following:",
    "Correct the grammar in the text below:",
    "Turn these notes into a bulleted action list:",
];

pub(super) const TEAMS: &[&str] = &["search", "ads", "support", "research", "finance", "growth"];
pub(super) const ENVIRONMENTS: &[&str] = &["prod", "dev", "eval"];
pub(super) const CATEGORIES: &[&str] = &[
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
];
pub(super) const THRESHOLDS: &[&str] = &[
    "BLOCK_NONE",
    "BLOCK_ONLY_HIGH",
    "BLOCK_MEDIUM_AND_ABOVE",
    "BLOCK_LOW_AND_ABOVE",
    "OFF",
];
pub(super) const TOP_P: &[&str] = &["0.8", "0.9", "0.95", "1.0"];
pub(super) const MAX_OUTPUT_TOKENS: &[&str] = &["256", "512", "1024", "2048", "8192"];

/// Response schemas (JSON, keys identical in both spellings). One JSON type per key path across
/// all of them: `type`/`description` strings, `enum`/`required` arrays of strings.
pub(super) const SCHEMAS: &[&str] = &[
    r#"{"type":"OBJECT","properties":{"label":{"type":"STRING","enum":["positive","negative","neutral"]},"confidence":{"type":"NUMBER"}},"required":["label"]}"#,
    r#"{"type":"OBJECT","properties":{"entities":{"type":"ARRAY","items":{"type":"OBJECT","properties":{"name":{"type":"STRING"},"kind":{"type":"STRING","enum":["person","organization","place"]}},"required":["name","kind"]}},"summary":{"type":"STRING","description":"One sentence."}},"required":["entities"]}"#,
    r#"{"type":"OBJECT","properties":{"category":{"type":"STRING","enum":["billing","shipping","account","other"]},"priority":{"type":"INTEGER","description":"1 (low) to 4 (urgent)"},"tags":{"type":"ARRAY","items":{"type":"STRING"}}},"required":["category","priority"]}"#,
    r#"{"type":"OBJECT","properties":{"answer":{"type":"STRING"},"citations":{"type":"ARRAY","items":{"type":"INTEGER"}}},"required":["answer"]}"#,
];

/// Function declarations as `(name, description, parameters)`; parameters are JSON.
pub(super) const FUNCTIONS: &[(&str, &str, &str)] = &[
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
