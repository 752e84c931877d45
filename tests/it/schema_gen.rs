//! Regenerates `src/request/schema.rs` from Google's Vertex AI REST discovery documents and fails
//! when the checked-in table is stale (the rust-analyzer "sourcegen" pattern: generated code is
//! committed, and this test keeps it current).
//!
//! The documents come from the pinned PyPI package `google-api-python-client`
//! (`googleapiclient/discovery_cache/documents/aiplatform.v1.json` and `aiplatform.v1beta1.json`).
//! They are looked up in, in order:
//! 1. `$BATCHLINE_DISCOVERY_DIR` (a folder holding both files);
//! 2. `target/discovery/googleapiclient/discovery_cache/documents/` under the crate root;
//! 3. otherwise the test downloads the wheel with `python3 -m pip download` into `target/discovery`
//!    and extracts the two files with Python's `zipfile`. If that fails, the test fails.
//!
//! `BATCHLINE_UPDATE_SCHEMA=1 cargo test --test it schema_gen` rewrites the table instead of
//! comparing. The output goes through `rustfmt`, so formatting never makes the comparison fail.
//! Only facts are copied (names, types, enum values, flags), never Google's description text.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PACKAGE: &str = "google-api-python-client";
const VERSION: &str = "2.202.0";
const DOCS_IN_WHEEL: &str = "googleapiclient/discovery_cache/documents";
const V1_FILE: &str = "aiplatform.v1.json";
const BETA_FILE: &str = "aiplatform.v1beta1.json";
const V1_PREFIX: &str = "GoogleCloudAiplatformV1";
const BETA_PREFIX: &str = "GoogleCloudAiplatformV1beta1";
const ROOT_ID: &str = "GoogleCloudAiplatformV1GenerateContentRequest";
const OUTPUT: &str = "src/request/schema.rs";
const STALE: &str =
    "src/request/schema.rs is stale; run BATCHLINE_UPDATE_SCHEMA=1 cargo test --test it schema_gen";

#[test]
fn schema_table_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = discovery_dir(root);
    let v1 = read_document(&dir.join(V1_FILE));
    let beta = read_document(&dir.join(BETA_FILE));
    let table = Table::build(&v1, &beta);
    let generated = rustfmt(root, &table.render());

    let path = root.join(OUTPUT);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var("BATCHLINE_UPDATE_SCHEMA").as_deref() == Ok("1") {
        if current != generated {
            std::fs::write(&path, &generated)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            eprintln!("updated {OUTPUT}");
        }
        return;
    }
    if current.replace("\r\n", "\n") != generated {
        panic!("{STALE}");
    }
}

// ---------------------------------------------------------------------------------------------
// Locating the documents

fn discovery_dir(root: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("BATCHLINE_DISCOVERY_DIR") {
        let dir = PathBuf::from(dir);
        for file in [V1_FILE, BETA_FILE] {
            assert!(
                dir.join(file).is_file(),
                "BATCHLINE_DISCOVERY_DIR={} does not hold {file}",
                dir.display()
            );
        }
        return dir;
    }
    let download = root.join("target").join("discovery");
    let dir = download.join(DOCS_IN_WHEEL);
    if dir.join(V1_FILE).is_file() && dir.join(BETA_FILE).is_file() {
        return dir;
    }
    fetch(&download);
    for file in [V1_FILE, BETA_FILE] {
        assert!(
            dir.join(file).is_file(),
            "extracting {PACKAGE}=={VERSION} did not produce {}",
            dir.join(file).display()
        );
    }
    dir
}

/// Downloads the pinned wheel into `dest` and extracts the two documents beside it.
fn fetch(dest: &Path) {
    std::fs::create_dir_all(dest)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dest.display()));
    let spec = format!("{PACKAGE}=={VERSION}");
    run_python(
        &[
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            &spec,
            "-d",
        ],
        dest,
        &format!("downloading {spec} with pip"),
    );
    let script = format!(
        "import glob, sys, zipfile\n\
         dest = sys.argv[1]\n\
         wheels = glob.glob(dest + '/google_api_python_client-{VERSION}-*.whl')\n\
         if not wheels: sys.exit('no {PACKAGE} {VERSION} wheel in ' + dest)\n\
         with zipfile.ZipFile(wheels[0]) as z:\n\
         \x20   for name in ('{V1_FILE}', '{BETA_FILE}'):\n\
         \x20       z.extract('{DOCS_IN_WHEEL}/' + name, dest)\n"
    );
    run_python(
        &["-c", &script],
        dest,
        &format!("extracting the documents from the {spec} wheel"),
    );
}

fn run_python(args: &[&str], last: &Path, what: &str) {
    let hint = "set BATCHLINE_DISCOVERY_DIR to a folder holding aiplatform.v1.json and \
                aiplatform.v1beta1.json from that package";
    let output = Command::new("python3")
        .args(args)
        .arg(last)
        .output()
        .unwrap_or_else(|e| panic!("{what} failed: cannot run python3: {e}; {hint}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}\n{hint}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

fn read_document(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn rustfmt(root: &Path, source: &str) -> String {
    let rustfmt = std::env::var_os("RUSTFMT").unwrap_or_else(|| "rustfmt".into());
    // Run in the crate root so a rustfmt.toml there applies, as it does for `cargo fmt`.
    let mut child = Command::new(rustfmt)
        .args(["--edition", "2021"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run rustfmt (install it: rustup component add rustfmt): {e}")
        });
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let input = source.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("rustfmt runs");
    writer
        .join()
        .expect("writer thread")
        .expect("write to rustfmt");
    assert!(
        output.status.success(),
        "rustfmt rejected the generated table:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("rustfmt writes UTF-8")
}

// ---------------------------------------------------------------------------------------------
// Building the table

/// A field's value type before message and enum indexes are known.
#[derive(Clone)]
enum RawTy {
    Message(String),
    Enum(Vec<String>, Vec<bool>),
    /// A `Ty` variant without payload, e.g. `"String"`.
    Plain(&'static str),
}

struct RawField {
    json_name: String,
    ty: RawTy,
    container: &'static str,
    required: bool,
    deprecated: bool,
    beta_only: bool,
}

struct RawMessage {
    name: String,
    fields: Vec<RawField>,
}

struct Table {
    revision: String,
    beta_revision: String,
    messages: Vec<RawMessage>,
}

impl Table {
    fn build(v1: &Value, beta: &Value) -> Table {
        let schemas = v1["schemas"]
            .as_object()
            .expect("v1 document has `schemas`");
        let beta_schemas = beta["schemas"]
            .as_object()
            .expect("v1beta1 document has `schemas`");

        // The closure of message ids reachable from the root.
        let mut ids = BTreeSet::new();
        let mut todo = vec![ROOT_ID.to_owned()];
        while let Some(id) = todo.pop() {
            if !ids.insert(id.clone()) {
                continue;
            }
            for (_, prop) in properties(schemas, &id) {
                collect_refs(prop, &mut todo);
            }
        }
        // Root first, then the rest sorted by short name.
        let mut order: Vec<&String> = ids.iter().filter(|id| *id != ROOT_ID).collect();
        order.sort_by_key(|id| short_name(id));
        order.insert(0, ids.get(ROOT_ID).expect("root is in the closure"));

        let mut messages = Vec::new();
        for id in order {
            let name = short_name(id).to_owned();
            let mut fields: Vec<RawField> = properties(schemas, id)
                .map(|(json_name, prop)| raw_field(&name, json_name, prop))
                .collect();
            let beta_id = match id.strip_prefix(V1_PREFIX) {
                Some(short) => format!("{BETA_PREFIX}{short}"),
                None => id.clone(),
            };
            if beta_schemas.contains_key(&beta_id) {
                let known: BTreeSet<String> = fields.iter().map(|f| f.json_name.clone()).collect();
                for (json_name, prop) in properties(beta_schemas, &beta_id) {
                    if !known.contains(json_name) {
                        fields.push(RawField {
                            json_name: json_name.clone(),
                            ty: RawTy::Plain("Any"),
                            container: "Single",
                            required: false,
                            deprecated: is_deprecated(prop),
                            beta_only: true,
                        });
                    }
                }
            }
            fields.sort_by(|a, b| a.json_name.cmp(&b.json_name));
            messages.push(RawMessage { name, fields });
        }
        Table {
            revision: revision(v1),
            beta_revision: revision(beta),
            messages,
        }
    }

    fn render(&self) -> String {
        let index: HashMap<&str, usize> = self
            .messages
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.as_str(), i))
            .collect();
        assert!(
            self.messages.len() <= usize::from(u16::MAX),
            "too many messages for u16"
        );

        // Enums, deduplicated by (values, deprecated), numbered in first-use order.
        let mut enums: Vec<(String, &[String], &[bool])> = Vec::new();
        let mut enum_index: BTreeMap<(&[String], &[bool]), usize> = BTreeMap::new();
        for message in &self.messages {
            for field in &message.fields {
                if let RawTy::Enum(values, deprecated) = &field.ty {
                    enum_index
                        .entry((values.as_slice(), deprecated.as_slice()))
                        .or_insert_with(|| {
                            let name = format!("{}.{}", message.name, field.json_name);
                            enums.push((name, values, deprecated));
                            enums.len() - 1
                        });
                }
            }
        }

        let field_count: usize = self.messages.iter().map(|m| m.fields.len()).sum();
        let beta_count = self
            .messages
            .iter()
            .flat_map(|m| &m.fields)
            .filter(|f| f.beta_only)
            .count();
        let mut out = String::new();
        let w = &mut out;
        wl(w, format_args!(
            "//! GENERATED by tests/it/schema_gen.rs from {PACKAGE} {VERSION} ({DOCS_IN_WHEEL}/{V1_FILE}, revision {}). Do not edit.",
            self.revision
        ));
        wl(w, format_args!("//!"));
        wl(w, format_args!(
            "//! {} messages, {field_count} fields ({beta_count} only in {BETA_FILE}, revision {}), {} enums.",
            self.messages.len(),
            self.beta_revision,
            enums.len()
        ));
        wl(
            w,
            format_args!(
                "//! Regenerate: `BATCHLINE_UPDATE_SCHEMA=1 cargo test --test it schema_gen`."
            ),
        );
        wl(
            w,
            format_args!("//! See docs/schema.md for the type mapping."),
        );
        wl(w, format_args!(""));
        wl(w, format_args!("use super::schema_types::*;"));
        wl(w, format_args!(""));
        wl(w, format_args!("/// Where this table came from."));
        wl(w, format_args!(
            "pub static SOURCE: SchemaSource = SchemaSource {{ package: \"{PACKAGE} {VERSION}\", revision: {}, root: {} }};",
            lit(&self.revision),
            lit(&self.messages[0].name)
        ));
        wl(w, format_args!(""));
        wl(
            w,
            format_args!(
                "/// Index of the root message (`{}`) in [`MESSAGES`].",
                self.messages[0].name
            ),
        );
        wl(w, format_args!("pub const ROOT: u16 = 0;"));
        wl(w, format_args!(""));
        wl(
            w,
            format_args!(
                "/// Indexes into [`MESSAGES`], one per message type, named after the message."
            ),
        );
        wl(w, format_args!("pub mod msg {{"));
        for (i, message) in self.messages.iter().enumerate() {
            wl(
                w,
                format_args!(
                    "    /// Index of `{}` in [`MESSAGES`](super::MESSAGES).",
                    message.name
                ),
            );
            wl(
                w,
                format_args!("    pub const {}: u16 = {i};", constant_name(&message.name)),
            );
        }
        wl(w, format_args!("}}"));
        wl(w, format_args!(""));
        wl(w, format_args!("/// Every message type of the closure: the root first, then by name; fields sorted by `json_name`."));
        wl(w, format_args!("#[rustfmt::skip]"));
        wl(w, format_args!("pub static MESSAGES: &[Message] = &["));
        for message in &self.messages {
            wl(
                w,
                format_args!("    Message {{ name: {}, fields: &[", lit(&message.name)),
            );
            for field in &message.fields {
                let ty = match &field.ty {
                    RawTy::Message(id) => {
                        let name = short_name(id);
                        assert!(index.contains_key(name), "{name} is not in the closure");
                        format!("Ty::Message(msg::{})", constant_name(name))
                    }
                    RawTy::Enum(values, deprecated) => {
                        format!(
                            "Ty::Enum({})",
                            enum_index[&(values.as_slice(), deprecated.as_slice())]
                        )
                    }
                    RawTy::Plain(variant) => format!("Ty::{variant}"),
                };
                wl(w, format_args!(
                    "        Field {{ json_name: {}, snake_name: {}, ty: {ty}, container: Container::{}, required: {}, deprecated: {}, beta_only: {} }},",
                    lit(&field.json_name),
                    lit(&snake_name(&field.json_name)),
                    field.container,
                    field.required,
                    field.deprecated,
                    field.beta_only
                ));
            }
            wl(w, format_args!("    ] }},"));
        }
        wl(w, format_args!("];"));
        wl(w, format_args!(""));
        wl(
            w,
            format_args!(
                "/// Every enum the closure uses, deduplicated; `Ty::Enum(i)` indexes this list."
            ),
        );
        wl(w, format_args!("#[rustfmt::skip]"));
        wl(w, format_args!("pub static ENUMS: &[EnumDef] = &["));
        for (i, (name, values, deprecated)) in enums.iter().enumerate() {
            let values: Vec<String> = values.iter().map(|v| lit(v)).collect();
            let deprecated: Vec<String> = deprecated.iter().map(|d| d.to_string()).collect();
            wl(w, format_args!("    // {i}"));
            wl(
                w,
                format_args!(
                    "    EnumDef {{ name: {}, values: &[{}], deprecated: &[{}] }},",
                    lit(name),
                    values.join(", "),
                    deprecated.join(", ")
                ),
            );
        }
        wl(w, format_args!("];"));
        out
    }
}

fn wl(out: &mut String, args: std::fmt::Arguments<'_>) {
    out.write_fmt(args).expect("writing to a String");
    out.push('\n');
}

fn revision(doc: &Value) -> String {
    doc["revision"]
        .as_str()
        .expect("document has a `revision`")
        .to_owned()
}

/// The properties of message `id`, in the document's order.
fn properties<'a>(
    schemas: &'a Map<String, Value>,
    id: &str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    let schema = schemas
        .get(id)
        .unwrap_or_else(|| panic!("`$ref` to unknown schema {id}"));
    assert_eq!(schema["type"], "object", "schema {id} is not an object");
    schema["properties"].as_object().into_iter().flatten()
}

fn collect_refs(prop: &Value, todo: &mut Vec<String>) {
    if let Some(id) = prop["$ref"].as_str() {
        todo.push(id.to_owned());
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = prop.get(key) {
            collect_refs(inner, todo);
        }
    }
}

/// `GoogleCloudAiplatformV1Part` → `Part`; ids outside that namespace (`GoogleTypeLatLng`) stay whole.
fn short_name(id: &str) -> &str {
    id.strip_prefix(V1_PREFIX).unwrap_or(id)
}

fn raw_field(message: &str, json_name: &str, prop: &Value) -> RawField {
    let at = format!("{message}.{json_name}");
    let (ty, container) = match prop["type"].as_str() {
        Some("array") => {
            let items = prop
                .get("items")
                .unwrap_or_else(|| panic!("{at}: array without items"));
            let ty = value_type(&at, items);
            (ty, "Repeated")
        }
        Some("object") if prop.get("$ref").is_none() => match prop.get("additionalProperties") {
            // protobuf Struct: the whole object is user data.
            Some(value) if value["type"] == "any" => (RawTy::Plain("Struct"), "Single"),
            Some(value) => (value_type(&at, value), "Map"),
            // An object with neither a schema nor value type: opaque, treat like a Struct.
            None => (RawTy::Plain("Struct"), "Single"),
        },
        _ => (value_type(&at, prop), "Single"),
    };
    RawField {
        json_name: json_name.to_owned(),
        ty,
        container,
        required: description(prop).starts_with("Required."),
        deprecated: is_deprecated(prop),
        beta_only: false,
    }
}

fn description(prop: &Value) -> &str {
    prop["description"].as_str().unwrap_or("").trim_start()
}

fn is_deprecated(prop: &Value) -> bool {
    prop["deprecated"] == true || description(prop).starts_with("Deprecated")
}

/// The type of one value (an array element, a map value, or a single field).
fn value_type(at: &str, prop: &Value) -> RawTy {
    if let Some(id) = prop["$ref"].as_str() {
        return RawTy::Message(id.to_owned());
    }
    let format = prop["format"].as_str();
    let ty = prop["type"].as_str();
    let plain = match (ty, format) {
        (Some("string"), _) if prop.get("enum").is_some() => {
            let values: Vec<String> = prop["enum"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: enum is not an array"))
                .iter()
                .map(|v| v.as_str().unwrap_or_else(|| panic!("{at}: enum value not a string")).to_owned())
                .collect();
            let deprecated: Vec<bool> = match prop.get("enumDeprecated") {
                Some(list) => list
                    .as_array()
                    .unwrap_or_else(|| panic!("{at}: enumDeprecated is not an array"))
                    .iter()
                    .map(|v| v.as_bool().unwrap_or(false))
                    .collect(),
                None => vec![false; values.len()],
            };
            assert_eq!(values.len(), deprecated.len(), "{at}: enum and enumDeprecated differ in length");
            return RawTy::Enum(values, deprecated);
        }
        (Some("string" | "integer"), Some("int32")) => "Int32",
        (Some("string" | "integer"), Some("int64")) => "Int64",
        (Some("string" | "integer"), Some("uint32")) => "UInt32",
        (Some("string" | "integer"), Some("uint64")) => "UInt64",
        (Some("integer"), None) => "Int32",
        (Some("string"), Some("byte")) => "Bytes",
        (Some("string"), Some("google-duration")) => "Duration",
        (Some("string"), Some("google-datetime")) => "Timestamp",
        // A FieldMask travels as a comma-separated string.
        (Some("string"), None | Some("google-fieldmask")) => "String",
        (Some("number"), None | Some("float" | "double")) => "Number",
        (Some("boolean"), None) => "Bool",
        (Some("any"), None) => "Any",
        (Some("object"), None) if prop.get("additionalProperties").is_none() => "Struct",
        _ => panic!(
            "{at}: no mapping for type {ty:?} with format {format:?}; extend value_type in tests/it/schema_gen.rs"
        ),
    };
    RawTy::Plain(plain)
}

/// camelCase → snake_case: each ASCII capital becomes `_` plus its lowercase (the proto spelling).
fn snake_name(json_name: &str) -> String {
    let mut out = String::with_capacity(json_name.len() + 4);
    for c in json_name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `GenerationConfigThinkingConfig` → `GENERATION_CONFIG_THINKING_CONFIG`. A run of capitals is
/// one word (`VertexAISearch` → `VERTEX_AI_SEARCH`), its last capital starting the next word when
/// a lowercase letter follows.
fn constant_name(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 8);
    for (i, &c) in chars.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn lit(s: &str) -> String {
    format!("{s:?}")
}

#[test]
fn schema_gen_names() {
    assert_eq!(snake_name("generationConfig"), "generation_config");
    assert_eq!(snake_name("text"), "text");
    assert_eq!(
        constant_name("GenerationConfigThinkingConfig"),
        "GENERATION_CONFIG_THINKING_CONFIG"
    );
    assert_eq!(constant_name("VertexAISearch"), "VERTEX_AI_SEARCH");
    assert_eq!(
        constant_name("VertexAISearchDataStoreSpec"),
        "VERTEX_AI_SEARCH_DATA_STORE_SPEC"
    );
    assert_eq!(constant_name("GoogleTypeLatLng"), "GOOGLE_TYPE_LAT_LNG");
    assert_eq!(constant_name("Part"), "PART");
}
