//! The prompt as the model reads it, as one byte stream, and its chain-hashed prefix key.
//!
//! Gemini's implicit cache hits when a request's prompt *starts* with tokens an earlier request
//! already sent. [`prompt_stream`] lays a request out in the order the model consumes it, and
//! [`chain_hashes`] cuts that stream into fixed blocks and chain-hashes them, so that two requests
//! share a prefix of `k` full blocks exactly when their first `k` hashes agree (up to 64-bit
//! collisions). Sorting requests by their hash sequences then puts every shared-prefix family next
//! to each other, nested like a trie, whatever the text is — including a long document and a
//! question concatenated in one text part.
//!
//! # Order
//! 1. `systemInstruction`: its parts (its `role`, if any, is ignored: the API ignores it too).
//! 2. `tools`: each `Tool` in order, as schema-aware canonical JSON (function declarations,
//!    search and code-execution switches: the model sees the declarations before the turns).
//! 3. `toolConfig`, as canonical JSON. Whether Vertex renders it into the prompt is not published;
//!    it can change what the model is allowed to do before the first turn (function-calling mode,
//!    allowed function names), so it is placed here, *before* the turns. The choice is
//!    conservative: requests that differ only in `toolConfig` are never predicted to share their
//!    turns' prefix, so predicted cache hits are never overstated because of it.
//! 4. `contents`: each turn's `role`, then its parts in order.
//!
//! Everything else (`generationConfig`, `safetySettings`, `labels`, `cachedContent`, …) is not
//! part of the stream: it does not change the prompt's tokens.
//!
//! # Pieces and delimiters
//! Every piece starts with the byte `0xFF` and a tag byte. `0xFF` never occurs in UTF-8 text, in
//! base64, or in canonical JSON, so pieces cannot run into each other: `"a"` + `"bc"` in two parts
//! differs from `"ab"` + `"c"`, and a document followed by a question in *one* text part differs
//! from the same document in its own part followed by the question in the next (the two streams
//! agree up to the end of the document and differ at the part boundary; that is intended — the
//! model's input differs there too).
//!
//! | piece | tag | followed by |
//! |---|---|---|
//! | system instruction starts | `S` | — (its parts follow) |
//! | one tool | `T` | canonical JSON of the `Tool` |
//! | tool config | `K` | canonical JSON of the `ToolConfig` |
//! | a turn starts | `R` | the role (empty if absent) |
//! | thought part flag | `h` | — (the part has `thought: true`) |
//! | text | `x` | the text's UTF-8 bytes (unescaped) |
//! | inline data | `i` | the mime type, then `0xFF d` and the base64 data as given |
//! | file data | `f` | the mime type, then `0xFF u` and the file URI |
//! | any other part field | `j` | its camelCase name, `:`, canonical JSON of its value |
//! | thought signature | `g` | the base64 string as given |
//!
//! "Any other part field" covers `functionCall`, `functionResponse`, `executableCode`,
//! `codeExecutionResult`, `videoMetadata`, `mediaResolution` and the rest of the schema's `Part`
//! fields, in the schema's (alphabetical) order, after text, inline data and file data. A field
//! whose value has an unexpected type (e.g. a numeric `text`) is written the same generic way.
//! Equal base64 strings mean equal bytes; differently padded or wrapped base64 of the same bytes
//! counts as different (rare; never merges different data).
//!
//! Canonical JSON is [`canon`](super::canon)'s (keys sorted, nulls dropped, numbers normalised),
//! schema-aware: field names are normalised to camelCase, user-data keys (function arguments,
//! schema property names) are kept as written.
//!
//! # Spelling, order and lenient forms
//! Fields are found in either spelling (`system_instruction`, `inline_data`, `mime_type`, …), and
//! member order inside the request and its parts never matters. `null` counts as absent; when a
//! field occurs twice (in the same or the other spelling), the first non-null occurrence is used. `parts` may
//! be a single object instead of an array (seen accepted by Vertex), and so may `contents` and
//! `tools`; a part that is a bare string is read as a text part, as is a `systemInstruction` that
//! is a bare string.

use std::sync::OnceLock;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::canon::{write_canonical_json, write_canonical_json_message, CanonScratch};
use super::fields::find_field;
use super::schema::{msg, MESSAGES};
use super::schema_types::Ty;
use super::value::{same_field, JsonRef, Kind};

/// Default block size of [`chain_hashes`], in stream bytes.
pub const DEFAULT_BLOCK_BYTES: usize = 1024;
/// Default number of blocks [`chain_hashes`] keeps (256 KiB of prompt with the default block).
pub const DEFAULT_MAX_BLOCKS: usize = 256;

/// The piece delimiter: never a byte of UTF-8 text.
pub const DELIMITER: u8 = 0xFF;

/// Reusable buffers for [`prompt_stream`]: one per worker thread.
#[derive(Default, Debug)]
pub struct PromptScratch {
    stream: Vec<u8>,
    canon: CanonScratch,
}

/// Writes the prompt stream of `request` (a `GenerateContentRequest` object, i.e. the `request`
/// member of a line) into `scratch` and returns it (valid until the next call). See the module
/// documentation for the layout. Never fails: members of unexpected types are skipped or written
/// generically.
pub fn prompt_stream<'s>(request: JsonRef<'_, '_>, scratch: &'s mut PromptScratch) -> &'s [u8] {
    let PromptScratch { stream, canon } = scratch;
    stream.clear();
    let mut w = Writer { out: stream, canon };
    // One pass over the request's members; the first non-null occurrence of each field wins.
    let (mut system, mut tools, mut config, mut contents) = (None, None, None, None);
    for (key, value) in request.members() {
        let slot = match key {
            "systemInstruction" | "system_instruction" => &mut system,
            "tools" => &mut tools,
            "toolConfig" | "tool_config" => &mut config,
            "contents" => &mut contents,
            _ => continue,
        };
        if slot.is_none() && value.kind() != Kind::Null {
            *slot = Some(value);
        }
    }
    if let Some(system) = system {
        w.piece(b'S');
        match system.kind() {
            Kind::String => w.text_piece(system.as_str().unwrap_or("")),
            _ => w.parts(&system),
        }
    }
    if let Some(tools) = tools {
        for tool in each(&tools) {
            w.piece(b'T');
            w.json(tool, msg::TOOL);
        }
    }
    if let Some(config) = config {
        w.piece(b'K');
        w.json(config, msg::TOOL_CONFIG);
    }
    if let Some(contents) = contents {
        for turn in each(&contents) {
            w.piece(b'R');
            if turn.kind() == Kind::Object {
                w.turn(&turn);
            } else {
                w.generic("content", turn, Some(msg::CONTENT));
            }
        }
    }
    stream
}

/// Cuts `stream` into blocks of `block_bytes` and chain-hashes them into `out` (cleared first):
/// `out[i] = xxh3_64(block_i, seed = mix(out[i-1], len(block_i)))`, with a fixed seed before the
/// first block. Keeps at most `max_blocks` hashes. A final partial block is included, and because
/// its length is mixed in (on top of xxh3's own length dependence), its hash differs from that of
/// any full block starting with the same bytes. Returns the number of stream bytes (all of them,
/// also those beyond the kept blocks).
///
/// Two streams share a prefix of `k` full blocks iff their first `k` hashes agree (up to 64-bit
/// collisions); a shared prefix that ends inside a block counts only up to the previous block
/// boundary.
///
/// # Panics
/// If `block_bytes` is 0.
pub fn chain_hashes(
    stream: &[u8],
    block_bytes: usize,
    max_blocks: usize,
    out: &mut Vec<u64>,
) -> u64 {
    assert!(
        block_bytes > 0,
        "chain_hashes: block_bytes must be positive"
    );
    out.clear();
    let mut prev = CHAIN_START;
    for block in stream.chunks(block_bytes).take(max_blocks) {
        let seed = prev ^ (block.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        prev = xxh3_64_with_seed(block, seed);
        out.push(prev);
    }
    stream.len() as u64
}

/// The chain's value before the first block (any fixed constant; changing it changes every key).
const CHAIN_START: u64 = 0x6261_7463_686c_696e; // "batchlin"

/// The first non-null member named `camel` (either spelling).
#[inline]
fn present<'t, 'i>(object: &JsonRef<'t, 'i>, camel: &str) -> Option<JsonRef<'t, 'i>> {
    object
        .members()
        .find(|(k, v)| v.kind() != Kind::Null && same_field(k, camel))
        .map(|(_, v)| v)
}

/// The elements of an array, or the value itself when it is not one (lenient single-object form).
fn each<'t, 'i>(value: &JsonRef<'t, 'i>) -> impl Iterator<Item = JsonRef<'t, 'i>> {
    let single = (value.kind() != Kind::Array).then_some(*value);
    value.elements().chain(single)
}

/// How a `Part` field is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Emit {
    Thought,
    Text,
    Inline,
    File,
    Signature,
    /// `j` + name + `:` + canonical JSON, with this schema message for spelling (or none).
    Generic(Option<u16>),
}

/// The `Part` fields in stream order, with how each is written (from the generated schema).
struct PartLayout {
    /// `(field index in MESSAGES[PART].fields, how)`, in the order they are written.
    order: Vec<(usize, Emit)>,
}

fn part_layout() -> &'static PartLayout {
    static LAYOUT: OnceLock<PartLayout> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let fields = MESSAGES[msg::PART as usize].fields;
        let emit_of = |name: &str| match name {
            "thought" => Emit::Thought,
            "text" => Emit::Text,
            "inlineData" => Emit::Inline,
            "fileData" => Emit::File,
            "thoughtSignature" => Emit::Signature,
            _ => Emit::Generic(None),
        };
        let rank = |e: Emit| match e {
            Emit::Thought => 0,
            Emit::Text => 1,
            Emit::Inline => 2,
            Emit::File => 3,
            Emit::Generic(_) => 4,
            Emit::Signature => 5,
        };
        let mut order: Vec<(usize, Emit)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let emit = match emit_of(f.json_name) {
                    Emit::Generic(_) => Emit::Generic(match f.ty {
                        Ty::Message(m) => Some(m),
                        _ => None,
                    }),
                    e => e,
                };
                (i, emit)
            })
            .collect();
        // Stable: generic fields stay in the schema's (alphabetical) order.
        order.sort_by_key(|&(_, e)| rank(e));
        PartLayout { order }
    })
}

/// Most `Part` fields a part can have looked up at once (the schema has 14; a test checks the
/// generated schema stays below this).
const MAX_PART_FIELDS: usize = 32;

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    canon: &'a mut CanonScratch,
}

impl Writer<'_> {
    #[inline]
    fn piece(&mut self, tag: u8) {
        self.out.extend_from_slice(&[DELIMITER, tag]);
    }

    #[inline]
    fn text_piece(&mut self, text: &str) {
        self.out.reserve(2 + text.len());
        self.piece(b'x');
        self.out.extend_from_slice(text.as_bytes());
    }

    fn json(&mut self, value: JsonRef<'_, '_>, message: u16) {
        write_canonical_json_message(value, message, self.canon, self.out);
    }

    /// `j` + name + `:` + canonical JSON (spelling normalised when `message` is known).
    fn generic(&mut self, name: &str, value: JsonRef<'_, '_>, message: Option<u16>) {
        self.piece(b'j');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b':');
        match message {
            Some(m) => self.json(value, m),
            None => write_canonical_json(value, self.canon, self.out),
        }
    }

    /// The parts of a `Content` object (the system instruction: its role is not written).
    fn parts(&mut self, content: &JsonRef<'_, '_>) {
        if let Some(parts) = present(content, "parts") {
            for part in each(&parts) {
                self.part(part);
            }
        }
    }

    /// A turn (a `Content` object) after its `R` tag: its role, then its parts.
    fn turn(&mut self, content: &JsonRef<'_, '_>) {
        let (mut role, mut parts) = (None, None);
        for (key, value) in content.members() {
            let slot = match key {
                "role" => &mut role,
                "parts" => &mut parts,
                _ => continue,
            };
            if slot.is_none() && value.kind() != Kind::Null {
                *slot = Some(value);
            }
        }
        if let Some(role) = role.and_then(|r| r.as_str()) {
            self.out.extend_from_slice(role.as_bytes());
        }
        if let Some(parts) = parts {
            for part in each(&parts) {
                self.part(part);
            }
        }
    }

    fn part(&mut self, part: JsonRef<'_, '_>) {
        match part.kind() {
            Kind::Object => {}
            Kind::String => return self.text_piece(part.as_str().unwrap_or("")),
            _ => return self.generic("part", part, Some(msg::PART)),
        }
        // Fast path: the usual part, `{"text": "…"}`.
        if part.len() == 1 {
            if let Some(("text", value)) = part.members().next() {
                if let Some(text) = value.as_str() {
                    return self.text_piece(text);
                }
            }
        }
        // First occurrence of each known field, by index in the schema's field list.
        let mut found: [Option<JsonRef<'_, '_>>; MAX_PART_FIELDS] = [None; MAX_PART_FIELDS];
        let mut any = false;
        for (key, value) in part.members() {
            if value.kind() == Kind::Null {
                continue;
            }
            if let Some((i, _)) = find_field(msg::PART, key) {
                if i < MAX_PART_FIELDS && found[i].is_none() {
                    found[i] = Some(value);
                    any = true;
                }
            }
        }
        if !any {
            return;
        }
        let fields = MESSAGES[msg::PART as usize].fields;
        for &(i, emit) in &part_layout().order {
            let Some(value) = found.get(i).copied().flatten() else {
                continue;
            };
            let name = fields[i].json_name;
            match (emit, value.kind()) {
                (Emit::Thought, Kind::Bool) => {
                    if value.as_bool() == Some(true) {
                        self.piece(b'h');
                    }
                }
                (Emit::Text, Kind::String) => self.text_piece(value.as_str().unwrap_or("")),
                (Emit::Signature, Kind::String) => {
                    self.piece(b'g');
                    self.out
                        .extend_from_slice(value.as_str().unwrap_or("").as_bytes());
                }
                (Emit::Inline, Kind::Object) => self.media(&value, b'i', "data", b'd'),
                (Emit::File, Kind::Object) => self.media(&value, b'f', "fileUri", b'u'),
                (Emit::Generic(message), _) => self.generic(name, value, message),
                _ => self.generic(name, value, None),
            }
        }
    }

    /// Inline or file data: `tag` + mime type, then `0xFF payload_tag` + the payload string.
    fn media(&mut self, value: &JsonRef<'_, '_>, tag: u8, payload: &str, payload_tag: u8) {
        let string = |camel: &str| present(value, camel).and_then(|v| v.as_str()).unwrap_or("");
        let (mime, data) = (string("mimeType"), string(payload));
        self.out.reserve(4 + mime.len() + data.len());
        self.piece(tag);
        self.out.extend_from_slice(mime.as_bytes());
        self.piece(payload_tag);
        self.out.extend_from_slice(data.as_bytes());
    }
}

#[cfg(test)]
#[path = "prompt_tests.rs"]
mod tests;
