//! Rules that Google's schema states only in prose: ranges, mutually exclusive fields, companions,
//! exactly one data field per part, non-empty lists, roles, MIME types, file URIs, function-name
//! and label patterns, `defs` only at a schema's root, and explicit caching in batch.
//!
//! The schema walk (`walk.rs`) owns everything the generated table states (unknown fields, JSON
//! types, enums, `Required.`, base64, integers, durations) and calls [`check_message`] once for
//! every object that has a message type, after checking its fields. This module adds only what the
//! descriptions say in words. Each rule cites its source next to it and in its message; where
//! Google's sources disagree or are silent the rule never errors (policy in `docs/policy.md`):
//! it warns with `W_UNCONFIRMED_LIMIT` or says nothing.
//!
//! Sources, cited below by short name:
//! - "REST": the Vertex AI v1 discovery document, `aiplatform.v1.json` revision 20261106
//!   (google-api-python-client 2.202.0), schema `GoogleCloudAiplatformV1<Message>`, field prose.
//! - "VERTEX.md": the project's fact sheet (`shared/VERTEX.md`), by section.
//! - "genai": Google's python-genai SDK 3.6.1, `models.py` `_*_to_vertex` converters.
//!
//! Everything here runs for every object of every line: no allocation unless a finding is made,
//! one pass over an object's members, and a `match` on the message index first.

use super::diag::Code;
use super::path::{Findings, Path, Seg};
use super::schema::msg;
use super::value::{same_field, JsonRef, Kind};

/// Binds each `$var` to the first non-null member of `$obj` whose key is `$camel` or `$snake`
/// (a [`Member`]), in one pass over the members with a `match` on the literal keys (protobuf JSON
/// accepts exactly these two spellings). A camelCase name with capitals must be given its
/// snake_case spelling, checked at compile time.
macro_rules! members {
    ($obj:expr; $($var:ident = $camel:literal $(/ $snake:literal)?),+ $(,)?) => {
        $(
            const _: () = assert!(!has_upper($camel) $(|| is_snake_of($camel, $snake))?);
        )+
        $( let mut $var: Member<'_, '_> = None; )+
        for (key, value) in $obj.members() {
            if !set(&value) {
                continue;
            }
            match key {
                $( $camel $(| $snake)? if $var.is_none() => $var = Some((key, value)), )+
                _ => {}
            }
        }
    };
}

/// Where a message sits, for rules that depend on it.
#[derive(Debug, Clone, Copy)]
pub struct MessageCtx {
    /// The message type of the object (index into `schema::MESSAGES`; constants in `schema::msg`).
    pub msg: u16,
    /// The message type of the nearest enclosing message object, if any.
    pub parent: Option<u16>,
    /// The name of the field (json_name, camelCase) this object was found under, if any.
    pub field: Option<&'static str>,
}

/// Checks the prose rules of one message object at `path` (the object itself); findings point
/// below it. A member whose value is `null` counts as absent, as in protobuf JSON parsing.
pub fn check_message(ctx: MessageCtx, obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    match ctx.msg {
        msg::PART => part(obj, path, out),
        msg::CONTENT => content(ctx, obj, path, out),
        msg::SCHEMA => schema(ctx, obj, path, out),
        msg::GENERATE_CONTENT_REQUEST => request(obj, path, out),
        msg::GENERATION_CONFIG => generation_config(obj, path, out),
        msg::BLOB | msg::FUNCTION_RESPONSE_BLOB => blob(obj, path, out),
        msg::FILE_DATA | msg::FUNCTION_RESPONSE_FILE_DATA => file_data(obj, path, out),
        msg::FUNCTION_RESPONSE_PART => function_response_part(obj, path, out),
        msg::FUNCTION_DECLARATION => function_declaration(obj, path, out),
        msg::FUNCTION_CALL => function_call(obj, path, out),
        msg::FUNCTION_RESPONSE => function_response(obj, path, out),
        msg::TOOL => tool(obj, path, out),
        msg::VIDEO_METADATA => video_metadata(obj, path, out),
        msg::GENERATION_CONFIG_THINKING_CONFIG => thinking_config(obj, path, out),
        msg::SPEECH_CONFIG => speech_config(obj, path, out),
        msg::MULTI_SPEAKER_VOICE_CONFIG => multi_speaker(obj, path, out),
        msg::GOOGLE_TYPE_LAT_LNG => lat_lng(obj, path, out),
        msg::FUNCTION_CALLING_CONFIG => function_calling_config(obj, path, out),
        msg::AUDIO_TRANSCRIPTION_CONFIG => audio_transcription_config(obj, path, out),
        msg::VERTEX_AI_SEARCH => vertex_ai_search(obj, path, out),
        msg::TOOL_GOOGLE_SEARCH | msg::ENTERPRISE_WEB_SEARCH => exclude_domains(obj, path, out),
        msg::GENERATE_CONTENT_REQUEST_OUTPUT_CONFIG => {
            members!(obj; uri = "outputUriPrefix" / "output_uri_prefix");
            gcs_uri(uri, path, out, "outputUriPrefix")
        }
        msg::VIDEO_RESPONSE_FORMAT => {
            members!(obj; uri = "gcsUri" / "gcs_uri");
            gcs_uri(uri, path, out, "gcsUri")
        }
        msg::IMAGE_CONFIG_IMAGE_OUTPUT_OPTIONS | msg::REPLICATED_VOICE_CONFIG => {
            mime_field(obj, path, out, false)
        }
        _ => {}
    }
}

/// Explains a key that the v1 REST schema lacks but Google's python-genai SDK sends to Vertex, so
/// the walk can warn (`W_SDK_FIELD`) instead of rejecting it as unknown. `key` may be in either
/// spelling. Source: genai 3.6.1 `models.py` (`_GenerateContentConfig_to_vertex`,
/// `_Part_to_vertex`, `_FunctionResponsePart_to_vertex`, `_Tool_to_vertex`), checked against the
/// v1 and v1beta1 discovery documents (revision 20261106): none of these is in either.
pub fn sdk_only_field(msg: u16, key: &str) -> Option<&'static str> {
    let f = |camel: &str| same_field(key, camel);
    match msg {
        msg::GENERATE_CONTENT_REQUEST if f("serviceTier") => Some(
            "`serviceTier` is sent by Google's python-genai SDK \
             (GenerateContentConfig.service_tier) but is not in the Vertex v1 REST schema; a \
             batch job is priced as batch: remove it",
        ),
        msg::PART | msg::FUNCTION_RESPONSE_PART if f("documentMetadata") => Some(
            "`documentMetadata` is sent by Google's python-genai SDK but is not in the Vertex v1 \
             REST schema; Vertex may ignore or reject it: remove it unless you have seen it work",
        ),
        msg::PART | msg::FUNCTION_RESPONSE_PART if f("spreadsheetMetadata") => Some(
            "`spreadsheetMetadata` is sent by Google's python-genai SDK but is not in the Vertex \
             v1 REST schema; Vertex may ignore or reject it: remove it unless you have seen it \
             work",
        ),
        msg::PART | msg::FUNCTION_RESPONSE_PART if f("audioMetadata") => Some(
            "`audioMetadata` is sent by Google's python-genai SDK but is not in the Vertex v1 \
             REST schema; Vertex may ignore or reject it: remove it unless you have seen it work",
        ),
        msg::FUNCTION_RESPONSE_PART if f("mediaResolution") || f("videoMetadata") => Some(
            "sent by Google's python-genai SDK inside a function response part, but not in the \
             Vertex v1 REST schema there (only on Part); remove it unless you have seen it work",
        ),
        msg::TOOL if f("mcpServers") => Some(
            "`mcpServers` is sent by Google's python-genai SDK but is not in the Vertex v1 REST \
             schema (the SDK usually connects to MCP servers itself); remove it",
        ),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The value as a number: JSON numbers, and the strings protobuf JSON accepts for numbers
/// (`"5"`, `"1.5"`, `"NaN"`, `"Infinity"`). `None` for anything else (the walk reports types).
fn num(v: JsonRef<'_, '_>) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse::<f64>().ok()))
}

/// True unless `lo <= x <= hi` (so NaN is outside every range).
fn outside(x: f64, lo: f64, hi: f64) -> bool {
    !(x >= lo && x <= hi)
}

/// A present member: `null` means unset in protobuf JSON.
fn set(v: &JsonRef<'_, '_>) -> bool {
    v.kind() != Kind::Null
}

/// A set repeated field: a non-empty array, or a single value given where a list belongs.
fn set_list(v: &JsonRef<'_, '_>) -> bool {
    match v.kind() {
        Kind::Null => false,
        Kind::Array => !v.is_empty(),
        _ => true,
    }
}

/// The member's value as a number, with its key.
fn number<'i>(m: Member<'_, 'i>) -> Option<(&'i str, f64)> {
    m.and_then(|(k, v)| num(v).map(|x| (k, x)))
}

/// True when the value is the boolean `true`.
fn is_true(v: &JsonRef<'_, '_>) -> bool {
    v.as_bool() == Some(true)
}

/// One value of a field looked up in a one-pass scan: the key as written and the value.
type Member<'t, 'i> = Option<(&'i str, JsonRef<'t, 'i>)>;

/// Whether `s` has an ASCII capital (compile time).
const fn has_upper(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_uppercase() {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether `snake` is the snake_case spelling of the lowerCamelCase `camel` (compile time).
const fn is_snake_of(camel: &str, snake: &str) -> bool {
    let (c, k) = (camel.as_bytes(), snake.as_bytes());
    let (mut i, mut j) = (0, 0);
    while j < c.len() {
        if c[j].is_ascii_uppercase() {
            if i + 1 >= k.len() || k[i] != b'_' || k[i + 1] != c[j].to_ascii_lowercase() {
                return false;
            }
            i += 2;
        } else {
            if i >= k.len() || k[i] != c[j] {
                return false;
            }
            i += 1;
        }
        j += 1;
    }
    i == k.len()
}

/// Emits `E_EXCLUSIVE` at the second of two fields set together.
fn exclusive(out: &mut Findings, path: &Path<'_>, a: Member, b: Member, why: &str) {
    if let (Some((ka, _)), Some((kb, _))) = (a, b) {
        out.at_key(
            Code::E_EXCLUSIVE,
            path,
            &[Seg::Key(kb)],
            format!("`{ka}` and `{kb}` must not both be set; keep one ({why})"),
        );
    }
}

/// Whether a RFC 9110 token character (`tchar`).
fn tchar(b: u8) -> bool {
    TCHAR[b as usize]
}

/// [`tchar`] as a table.
static TCHAR: [bool; 256] = byte_table(b"!#$%&'*+-.^_`|~");

/// A table of ASCII letters, digits and `extra`.
const fn byte_table(extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        t[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        t[extra[i] as usize] = true;
        i += 1;
    }
    t
}

/// Whether `s` looks like a MIME type, `type/subtype` with optional `;parameters` (RFC 9110
/// media-type syntax; parameters are not checked).
fn mime_syntax_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let end = b.iter().position(|&c| c == b';').unwrap_or(b.len());
    let essence = b[..end].trim_ascii();
    let mut slash = None;
    for (i, &c) in essence.iter().enumerate() {
        if c == b'/' && slash.is_none() {
            slash = Some(i);
        } else if !tchar(c) {
            return false;
        }
    }
    slash.is_some_and(|i| i > 0 && i + 1 < essence.len())
}

/// The essence (`type/subtype`, without parameters) of a MIME type, trimmed.
fn mime_essence(s: &str) -> &str {
    s.split(';').next().unwrap_or("").trim()
}

/// Checks a `mimeType` member. Source: REST Blob/FileData/FunctionResponseBlob/
/// FunctionResponseFileData `mimeType`: "Required. The IANA standard MIME type of the source
/// data." (an empty string is the proto default, i.e. unset); ImageConfigImageOutputOptions and
/// ReplicatedVoiceConfig `mimeType` are optional MIME types.
#[inline(never)]
fn mime_field(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings, required: bool) {
    members!(obj; mime = "mimeType" / "mime_type");
    let Some((key, value)) = mime else { return };
    let Some(s) = value.as_str() else { return };
    if s.is_empty() {
        if required {
            out.at(
                Code::E_MIME_TYPE,
                path,
                &[Seg::Key(key)],
                "empty MIME type; give the IANA type of the data, e.g. \"image/png\" or \
                 \"application/pdf\" (REST: mimeType is required)",
            );
        }
    } else if !mime_syntax_ok(s) {
        out.at(
            Code::E_MIME_TYPE,
            path,
            &[Seg::Key(key)],
            format!(
                "\"{s}\" is not a MIME type; write type/subtype, e.g. \"image/png\" (REST: IANA \
                 MIME type)"
            ),
        );
    }
}

/// Why a file URI cannot be read by Vertex, if it cannot. Source: REST FileData.fileUri
/// ("The URI of the file in Google Cloud Storage"); Vertex docs also take public `http(s)://`
/// URLs and YouTube links (https).
fn file_uri_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        return Some("is empty; give gs://bucket/object or an https:// URL");
    }
    if let Some(rest) = strip_prefix_ci(s, "gs://") {
        return gcs_object_problem(rest);
    }
    let rest = strip_prefix_ci(s, "https://").or_else(|| strip_prefix_ci(s, "http://"));
    match rest {
        Some(rest)
            if rest
                .split(['/', '?', '#'])
                .next()
                .is_some_and(|h| !h.is_empty()) =>
        {
            None
        }
        Some(_) => Some("has no host name"),
        None => Some("must start with gs://, https:// or http://"),
    }
}

/// Problems with the part of a `gs://` URI after the scheme, for an object.
fn gcs_object_problem(rest: &str) -> Option<&'static str> {
    let (bucket, object) = rest.split_once('/').unwrap_or((rest, ""));
    if let Some(p) = bucket_problem(bucket) {
        return Some(p);
    }
    if object.is_empty() {
        return Some("names a bucket or folder, not an object; give gs://bucket/path/to/file");
    }
    None
}

/// Problems with a Cloud Storage bucket name: lower-case letters, digits, `-`, `_` and `.`
/// (Cloud Storage naming rules; a bucket that breaks them cannot exist).
fn bucket_problem(bucket: &str) -> Option<&'static str> {
    if bucket.is_empty() {
        return Some("has no bucket name; write gs://bucket/object");
    }
    let ok =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.');
    if !bucket.bytes().all(ok) {
        return Some(
            "has an invalid bucket name (bucket names use only lower-case letters, digits, '-', \
             '_' and '.')",
        );
    }
    None
}

/// `s` without `prefix`, compared ASCII case-insensitively (URI schemes are case-insensitive).
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Parses a protobuf duration string (`"1.5s"`) into seconds; `None` if it is not one (the walk
/// reports the format).
fn duration_secs(v: JsonRef<'_, '_>) -> Option<f64> {
    v.as_str()?.strip_suffix('s')?.parse::<f64>().ok()
}

// ---------------------------------------------------------------------------------------------
// GenerateContentRequest

#[inline(never)]
fn request(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        contents = "contents",
        cached = "cachedContent" / "cached_content",
        armor = "modelArmorConfig" / "model_armor_config",
        safety = "safetySettings" / "safety_settings",
        labels = "labels",
    );
    // REST GenerateContentRequest.contents: "Required. The content of the current conversation";
    // an empty list is no conversation (protobuf treats [] as unset).
    if let Some((key, v)) = contents {
        if v.kind() == Kind::Array && v.is_empty() {
            out.at(
                Code::E_EMPTY_CONTENTS,
                path,
                &[Seg::Key(key)],
                "`contents` is empty; give at least one content with a user turn (REST: contents \
                 is required)",
            );
        }
    }
    // VERTEX.md "GenerateContentRequest": explicit caching fails per row in batch (404 or 400 in
    // every report). An empty string is the proto default, i.e. unset.
    if let Some((key, v)) = cached {
        if v.as_str().is_none_or(|s| !s.is_empty()) {
            out.at(
                Code::E_CACHED_CONTENT,
                path,
                &[Seg::Key(key)],
                "explicit caching fails per row in batch (404/400 in every report); remove \
                 cachedContent and put the shared prefix first in each request: implicit caching \
                 applies automatically",
            );
        }
    }
    // REST GenerateContentRequest.modelArmorConfig: "If supplied, safety_settings must not be
    // supplied." An empty list is not supplied (repeated fields have no presence).
    if safety.is_some_and(|(_, v)| set_list(&v)) {
        exclusive(
            out,
            path,
            safety,
            armor,
            "REST: if modelArmorConfig is supplied, safetySettings must not be",
        );
    }
    if let Some((key, v)) = labels {
        check_labels(key, v, path, out);
    }
}

/// Checks `request.labels`. Source: REST GenerateContentRequest.labels: "Label keys and values
/// can be no longer than 63 characters (Unicode codepoints) and can only contain lowercase
/// letters, numeric characters, underscores, and dashes. International characters are allowed.
/// Label values are optional. Label keys must start with a letter." The count limit (64) is in
/// VERTEX.md and Google Cloud's general label rules only: a warning.
#[inline(never)]
fn check_labels(field: &str, labels: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    if labels.len() > MAX_LABELS {
        out.at(
            Code::W_UNCONFIRMED_LIMIT,
            path,
            &[Seg::Key(field)],
            format!(
                "{} labels; Google Cloud allows at most {MAX_LABELS} labels per resource (not \
                 stated for request labels): keep at most {MAX_LABELS}",
                labels.len()
            ),
        );
    }
    for (key, value) in labels.members() {
        if let Some(why) = label_problem(key, true) {
            out.at_key(
                Code::E_LABEL,
                path,
                &[Seg::Key(field), Seg::Key(key)],
                format!("label key \"{key}\" {why} (REST: GenerateContentRequest.labels)"),
            );
        }
        if let Some(s) = value.as_str() {
            if let Some(why) = label_problem(s, false) {
                out.at(
                    Code::E_LABEL,
                    path,
                    &[Seg::Key(field), Seg::Key(key)],
                    format!("label value \"{s}\" {why} (REST: GenerateContentRequest.labels)"),
                );
            }
        }
    }
}

/// Most labels Google Cloud allows on one resource.
const MAX_LABELS: usize = 64;
/// Longest label key or value, in Unicode code points (REST GenerateContentRequest.labels).
const MAX_LABEL_CHARS: usize = 63;

/// Why a label key or value breaks the rules, if it does.
fn label_problem(s: &str, is_key: bool) -> Option<&'static str> {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        // "Label values are optional."
        return is_key.then_some("is empty; keys must start with a lower-case letter");
    };
    if is_key && first.is_ascii() && !first.is_ascii_lowercase() {
        return Some("must start with a lower-case letter");
    }
    // Fast path: ASCII, by table.
    match b.iter().position(|&c| !LABEL_ASCII[c as usize]) {
        None if b.len() > MAX_LABEL_CHARS => return Some("is longer than 63 characters"),
        None => return None,
        Some(i) if b[i].is_ascii() => {
            return Some("may contain only lower-case letters, digits, '_' and '-'")
        }
        Some(_) => {}
    }
    if s.chars().count() > MAX_LABEL_CHARS {
        return Some("is longer than 63 characters");
    }
    if is_key && !s.chars().next().is_some_and(label_letter) {
        return Some("must start with a lower-case letter");
    }
    let ok = |c: char| label_letter(c) || c.is_numeric() || matches!(c, '_' | '-');
    if !s.chars().all(ok) {
        return Some(
            "may contain only lower-case letters (international ones too), digits, '_' and '-'",
        );
    }
    None
}

/// ASCII bytes allowed in labels: lower-case letters, digits, `_`, `-`.
static LABEL_ASCII: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
        c += 1;
    }
    t
};

/// A letter allowed in labels: lower-case, or a letter without case (e.g. CJK): "international
/// characters are allowed" but upper-case ones are not lowercase letters.
fn label_letter(c: char) -> bool {
    c.is_ascii_lowercase() || (!c.is_ascii() && c.is_alphabetic() && !c.is_uppercase())
}

// ---------------------------------------------------------------------------------------------
// Content and Part

#[inline(never)]
fn content(ctx: MessageCtx, obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    let system = ctx.field == Some("systemInstruction");
    let mut parts = None;
    let mut role = None;
    for (key, v) in obj.members() {
        match key {
            "parts" => parts = Some((key, v)),
            "role" => role = Some((key, v)),
            _ => {}
        }
    }
    if let Some((key, v)) = parts {
        // REST Content.parts: "A Content message must have at least one Part." A single object
        // instead of a list was seen accepted (VERTEX.md, "Lenient forms"): not flagged here.
        if v.kind() == Kind::Array && v.is_empty() {
            out.at(
                Code::E_EMPTY_PARTS,
                path,
                &[Seg::Key(key)],
                "`parts` is empty; a content needs at least one part, e.g. {\"text\": \"…\"} \
                 (REST: Content.parts)",
            );
        }
        if system {
            system_parts(key, v, path, out);
        }
    }
    // REST Content.role: "Must be either 'user' or 'model'. If not set, the service will default
    // to 'user'." Vertex answers "Please use a valid role: user, model." (VERTEX.md, Output).
    // The role of systemInstruction is ignored. "" is the proto default, i.e. unset.
    if let Some((key, v)) = role {
        if let Some(r) = v.as_str() {
            if !system && !r.is_empty() && r != "user" && r != "model" {
                out.at(
                    Code::E_ROLE,
                    path,
                    &[Seg::Key(key)],
                    format!(
                        "role \"{r}\" is not valid; use \"user\" or \"model\" (put system text in \
                         request.systemInstruction)"
                    ),
                );
            }
        }
    }
}

/// REST GenerateContentRequest.systemInstruction: "only text should be used in parts": "should",
/// so a warning.
#[inline(never)]
fn system_parts(key: &str, parts: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    let mut check = |part: JsonRef<'_, '_>, index: Option<usize>| {
        for (k, v) in part.members() {
            if set(&v) && part_field(k) == PartField::Data && k != "text" {
                let mut rel = [Seg::Key(key), Seg::Index(0), Seg::Key(k)];
                let rel: &[Seg] = match index {
                    Some(i) => {
                        rel[1] = Seg::Index(i);
                        &rel
                    }
                    None => {
                        rel[1] = Seg::Key(k);
                        &rel[..2]
                    }
                };
                out.at(
                    Code::W_UNCONFIRMED_LIMIT,
                    path,
                    rel,
                    format!(
                        "systemInstruction should hold only text parts, not `{k}`; move it into \
                         contents (REST: GenerateContentRequest.systemInstruction)"
                    ),
                );
            }
        }
    };
    match parts.kind() {
        Kind::Array => parts
            .elements()
            .enumerate()
            .for_each(|(i, p)| check(p, Some(i))),
        Kind::Object => check(parts, None),
        _ => {}
    }
}

/// What a Part member is.
#[derive(PartialEq, Eq, Clone, Copy)]
enum PartField {
    /// A member of the `data` oneof.
    Data,
    /// `thoughtSignature`.
    Signature,
    /// `videoMetadata`.
    Video,
    /// Anything else (metadata, or unknown: the walk reports those).
    Other,
}

/// Classifies a Part key, in either spelling. Source: REST Part: "A `Part` must contain one of
/// the accepted types in `Part.data`"; the `data` oneof of the v1 proto (`content.proto`) is
/// text, inline_data, file_data, function_call, function_response, executable_code,
/// code_execution_result. thought, thought_signature, video_metadata, media_resolution,
/// speech_metadata and audio_transcription are outside it.
fn part_field(key: &str) -> PartField {
    match key {
        "text"
        | "inlineData"
        | "inline_data"
        | "fileData"
        | "file_data"
        | "functionCall"
        | "function_call"
        | "functionResponse"
        | "function_response"
        | "executableCode"
        | "executable_code"
        | "codeExecutionResult"
        | "code_execution_result" => PartField::Data,
        "thoughtSignature" | "thought_signature" => PartField::Signature,
        "videoMetadata" | "video_metadata" => PartField::Video,
        _ => PartField::Other,
    }
}

/// A key that is neither a Part field of the schema nor one Google's SDK sends.
fn unknown_part_key(key: &str) -> bool {
    let known = super::schema::MESSAGES[msg::PART as usize]
        .fields
        .iter()
        .any(|f| f.json_name == key || f.snake_name == key);
    !known && sdk_only_field(msg::PART, key).is_none()
}

#[inline(never)]
fn part(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    let mut data = 0usize;
    let mut first: Option<&str> = None;
    let mut second: Option<&str> = None;
    let mut empty_text: Option<&str> = None;
    let mut signature = false;
    let mut video: Option<&str> = None;
    let mut media = false;
    for (key, v) in obj.members() {
        if !set(&v) {
            continue;
        }
        match part_field(key) {
            PartField::Data => {
                data += 1;
                match (first, second) {
                    (None, _) => first = Some(key),
                    (Some(_), None) => second = Some(key),
                    _ => {}
                }
                match key {
                    "text" if v.as_str() == Some("") => empty_text = Some(key),
                    "inlineData" | "inline_data" | "fileData" | "file_data" => media = true,
                    _ => {}
                }
            }
            PartField::Signature => signature = true,
            PartField::Video => video = Some(key),
            PartField::Other => {}
        }
    }
    // REST Part: "A `Part` must contain one of the accepted types in `Part.data`"; protobuf JSON
    // parsing rejects a second member of a oneof ("oneof field 'data' is already set").
    match (data, first, second) {
        // A part whose only members are unknown keys was already reported by the walk (with a
        // did-you-mean, e.g. `txt`); a second finding would say the same thing.
        (0, _, _) if obj.members().any(|(k, _)| unknown_part_key(k)) => {}
        (0, _, _) => out.at(
            Code::E_PART_DATA,
            path,
            &[],
            "the part has no data; give exactly one of text, inlineData, fileData, functionCall, \
             functionResponse, executableCode, codeExecutionResult (REST: Part.data)",
        ),
        (1, _, _) => {}
        (n, Some(a), Some(b)) => out.at_key(
            Code::E_PART_DATA,
            path,
            &[Seg::Key(b)],
            format!(
                "the part has {n} data fields (`{a}` and `{b}`…); a part holds exactly one: split \
                 it into separate parts (REST: Part.data oneof)"
            ),
        ),
        _ => {}
    }
    // Reported by many users as a 400 "Unable to submit request because it has an empty text
    // parameter", but also reported accepted (a lone empty part), and a model turn sent back as
    // history may hold an empty text part carrying a thought signature: a warning, and parts with
    // a signature are left alone.
    if let (Some(key), false) = (empty_text, signature) {
        out.at(
            Code::W_UNCONFIRMED_LIMIT,
            path,
            &[Seg::Key(key)],
            "empty text part; Vertex often rejects it (400 \"empty text parameter\"): drop the \
             part or give it text",
        );
    }
    // REST Part.videoMetadata: "The metadata should only be specified while the video data is
    // presented in inline_data or file_data." "should": a warning.
    if let (Some(key), false) = (video, media) {
        out.at_key(
            Code::W_UNCONFIRMED_LIMIT,
            path,
            &[Seg::Key(key)],
            "videoMetadata without inlineData or fileData in the same part; put it beside the \
             video it describes (REST: Part.videoMetadata)",
        );
    }
}

/// REST FunctionResponsePart: "can only contain one of the accepted types in
/// `FunctionResponsePart.data`" (inlineData, fileData).
#[inline(never)]
fn function_response_part(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; inline = "inlineData" / "inline_data", file = "fileData" / "file_data");
    match (inline, file) {
        (None, None) => out.at(
            Code::E_PART_DATA,
            path,
            &[],
            "the function response part has no data; give inlineData or fileData (REST: \
             FunctionResponsePart.data)",
        ),
        (Some((ka, _)), Some((kb, _))) => out.at_key(
            Code::E_PART_DATA,
            path,
            &[Seg::Key(kb)],
            format!(
                "the function response part has both `{ka}` and `{kb}`; a part holds exactly one: \
                 split it (REST: FunctionResponsePart.data)"
            ),
        ),
        _ => {}
    }
}

/// Blob / FunctionResponseBlob: REST "mimeType: Required. The IANA standard MIME type", "data:
/// Required. Raw bytes." (base64 is checked by the walk; empty bytes are the proto default).
#[inline(never)]
fn blob(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    mime_field(obj, path, out, true);
    members!(obj; data = "data");
    if let Some((key, v)) = data {
        if v.as_str() == Some("") {
            out.at(
                Code::E_EMPTY_VALUE,
                path,
                &[Seg::Key(key)],
                "inline data is empty; give the base64-encoded bytes or drop the part (REST: \
                 Blob.data is required)",
            );
        }
    }
}

/// FileData / FunctionResponseFileData: REST "fileUri: Required. The URI of the file in Google
/// Cloud Storage", "mimeType: Required. The IANA standard MIME type".
#[inline(never)]
fn file_data(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    mime_field(obj, path, out, true);
    members!(obj; uri = "fileUri" / "file_uri");
    if let Some((key, v)) = uri {
        if let Some(s) = v.as_str() {
            if let Some(why) = file_uri_problem(s) {
                out.at(
                    Code::E_FILE_URI,
                    path,
                    &[Seg::Key(key)],
                    format!("file URI \"{s}\" {why} (REST: FileData.fileUri)"),
                );
            }
        }
    }
}

/// A field that must be a Cloud Storage URI. Sources: REST
/// GenerateContentRequestOutputConfig.outputUriPrefix ("Supported URI schemes: `gs://`"),
/// VideoResponseFormat.gcsUri ("The Google Cloud Storage URI").
#[inline(never)]
fn gcs_uri(uri: Member<'_, '_>, path: &Path<'_>, out: &mut Findings, name: &str) {
    let Some((key, v)) = uri else { return };
    let Some(s) = v.as_str() else { return };
    if s.is_empty() {
        return;
    }
    let why = match strip_prefix_ci(s, "gs://") {
        Some(rest) => bucket_problem(rest.split('/').next().unwrap_or("")),
        None => Some("must start with gs:// (the only supported scheme)"),
    };
    if let Some(why) = why {
        out.at(
            Code::E_FILE_URI,
            path,
            &[Seg::Key(key)],
            format!("\"{s}\" {why} (REST: {name})"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// GenerationConfig

/// JSON response types accepted with a response schema. Source: REST GenerationConfig
/// responseSchema ("you must also set the response_mime_type to application/json") and
/// responseJsonSchema (same); `text/x.enum` is documented by Vertex for enum schemas.
fn json_mime(s: &str) -> bool {
    let e = mime_essence(s);
    e.eq_ignore_ascii_case("application/json") || e.eq_ignore_ascii_case("text/x.enum")
}

#[inline(never)]
fn generation_config(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        temperature = "temperature",
        top_p = "topP" / "top_p",
        top_k = "topK" / "top_k",
        candidates = "candidateCount" / "candidate_count",
        max_tokens = "maxOutputTokens" / "max_output_tokens",
        presence = "presencePenalty" / "presence_penalty",
        frequency = "frequencyPenalty" / "frequency_penalty",
        stops = "stopSequences" / "stop_sequences",
        schema = "responseSchema" / "response_schema",
        json_schema = "responseJsonSchema" / "response_json_schema",
        mime = "responseMimeType" / "response_mime_type",
        format = "responseFormat" / "response_format",
        logprobs = "logprobs",
        response_logprobs = "responseLogprobs" / "response_logprobs",
    );
    // REST temperature: "The valid range is (0.0, 2.0]"; the Gemini API documents [0, 2] and
    // temperature 0 is documented behaviour (VERTEX.md): accept [0, 2].
    if let Some((k, x)) = number(temperature) {
        if outside(x, 0.0, 2.0) {
            range(
                out,
                path,
                k,
                format!(
                    "temperature {x} is outside [0, 2]; use a value from 0 to 2 (REST: \
                     GenerationConfig.temperature)"
                ),
            );
        }
    }
    // topP, topK: no range in REST (VERTEX.md). Negative values are impossible; topP above 1 is
    // not a probability, but unconfirmed.
    if let Some((k, x)) = number(top_p) {
        if x < 0.0 || x.is_nan() {
            range(
                out,
                path,
                k,
                format!("topP {x} is negative; use a probability in [0, 1]"),
            );
        } else if x > 1.0 {
            warn(
                out,
                path,
                k,
                format!(
                    "topP {x} is above 1; nucleus sampling takes a probability in [0, 1] (no \
                     range stated in REST)"
                ),
            );
        }
    }
    if let Some((k, x)) = number(top_k) {
        if x < 0.0 || x.is_nan() {
            range(
                out,
                path,
                k,
                format!("topK {x} is negative; use a positive number of tokens"),
            );
        }
    }
    // candidateCount, maxOutputTokens: no range in REST. Negative counts are impossible; 0 is
    // unconfirmed (these fields have explicit presence in the proto, so 0 is not "unset").
    for (m, name) in [
        (candidates, "candidateCount"),
        (max_tokens, "maxOutputTokens"),
    ] {
        if let Some((k, x)) = number(m) {
            if x < 0.0 {
                range(
                    out,
                    path,
                    k,
                    format!("{name} {x} is negative; use at least 1"),
                );
            } else if x == 0.0 {
                warn(
                    out,
                    path,
                    k,
                    format!(
                        "{name} 0 asks for nothing; use at least 1 or leave it out (no range \
                         stated in REST)"
                    ),
                );
            }
        }
    }
    // REST presencePenalty / frequencyPenalty: "Valid values can range from [-2.0, 2.0]."
    for (m, name) in [
        (presence, "presencePenalty"),
        (frequency, "frequencyPenalty"),
    ] {
        if let Some((k, x)) = number(m) {
            if outside(x, -2.0, 2.0) {
                range(
                    out,
                    path,
                    k,
                    format!(
                        "{name} {x} is outside [-2, 2]; use a value from -2 to 2 (REST: \
                         GenerationConfig.{name})"
                    ),
                );
            }
        }
    }
    // At most 5 stop sequences is documented only for the Gemini Developer API (VERTEX.md).
    if let Some((k, v)) = stops {
        if v.len() > MAX_STOP_SEQUENCES {
            warn(
                out,
                path,
                k,
                format!(
                    "{} stop sequences; the Gemini Developer API allows at most \
                     {MAX_STOP_SEQUENCES} (not stated for Vertex)",
                    v.len()
                ),
            );
        }
    }
    // REST responseJsonSchema: "When this field is set, response_schema must be omitted and
    // response_mime_type must be set to `application/json`."
    exclusive(
        out,
        path,
        schema,
        json_schema,
        "REST: GenerationConfig.responseJsonSchema",
    );
    // REST responseSchema: "When this field is set, you must also set the response_mime_type to
    // application/json." Skipped when the newer responseFormat is used: how the two combine is
    // not documented.
    if format.is_none() {
        let which = match (schema, json_schema) {
            (Some((k, _)), _) => Some((k, "responseSchema")),
            (None, Some((k, _))) => Some((k, "responseJsonSchema")),
            _ => None,
        };
        if let Some((k, field)) = which {
            let given = mime.and_then(|(_, v)| v.as_str());
            if !given.is_some_and(json_mime) {
                let now = match given {
                    Some(s) => format!("responseMimeType is \"{s}\""),
                    None => "responseMimeType is not set".to_string(),
                };
                out.at_key(
                    Code::E_COMPANION,
                    path,
                    &[Seg::Key(k)],
                    format!(
                        "`{k}` needs responseMimeType \"application/json\" (or \"text/x.enum\" \
                         for an enum schema) but {now}; add \"responseMimeType\": \
                         \"application/json\" (REST: GenerationConfig.{field})"
                    ),
                );
            }
        }
    }
    // REST responseMimeType: "The IANA standard MIME type of the response."
    if let Some((k, v)) = mime {
        if let Some(s) = v.as_str() {
            if !s.is_empty() && !mime_syntax_ok(s) {
                out.at(
                    Code::E_MIME_TYPE,
                    path,
                    &[Seg::Key(k)],
                    format!(
                        "responseMimeType \"{s}\" is not a MIME type; use \"application/json\" or \
                         \"text/plain\""
                    ),
                );
            }
        }
    }
    // logprobs: no range in REST; Vertex and Gemini API docs give 0..20 and require
    // responseLogprobs: warnings, except negative counts.
    if let Some((k, x)) = number(logprobs) {
        if x < 0.0 {
            range(
                out,
                path,
                k,
                format!("logprobs {x} is negative; ask for 1 to {MAX_LOGPROBS} top tokens"),
            );
        } else if x > MAX_LOGPROBS as f64 {
            warn(
                out,
                path,
                k,
                format!(
                    "logprobs {x} is above {MAX_LOGPROBS}, the most Google's docs allow (not \
                     stated in REST)"
                ),
            );
        } else if x > 0.0 && !response_logprobs.is_some_and(|(_, v)| is_true(&v)) {
            warn(
                out,
                path,
                k,
                "logprobs is set without responseLogprobs: true; Google's docs require both (not \
                 stated in REST)"
                    .to_string(),
            );
        }
    }
}

/// Stop sequences the Gemini Developer API allows.
const MAX_STOP_SEQUENCES: usize = 5;
/// Top log probabilities Google's docs allow per token.
const MAX_LOGPROBS: usize = 20;

/// Emits `E_RANGE` at member `key`.
fn range(out: &mut Findings, path: &Path<'_>, key: &str, message: String) {
    out.at(Code::E_RANGE, path, &[Seg::Key(key)], message);
}

/// Emits `W_UNCONFIRMED_LIMIT` at member `key`.
fn warn(out: &mut Findings, path: &Path<'_>, key: &str, message: String) {
    out.at(Code::W_UNCONFIRMED_LIMIT, path, &[Seg::Key(key)], message);
}

/// thinkingBudget and thinkingLevel together return 400 per the Gemini Developer API docs
/// (Gemini 3 guide); REST is silent, so a warning. Budget -1 means dynamic, 0 off.
#[inline(never)]
fn thinking_config(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        budget = "thinkingBudget" / "thinking_budget",
        level = "thinkingLevel" / "thinking_level",
    );
    if let (Some((kb, _)), Some((kl, _))) = (budget, level) {
        warn(
            out,
            path,
            kl,
            format!(
                "`{kb}` and `{kl}` together are rejected by the Gemini Developer API (not stated \
                 for Vertex); keep one: thinkingLevel for Gemini 3, thinkingBudget for 2.5"
            ),
        );
    }
    if let Some((k, x)) = number(budget) {
        if x < -1.0 {
            warn(
                out,
                path,
                k,
                format!(
                    "thinkingBudget {x} is below -1; use -1 (dynamic), 0 (off) or a token count"
                ),
            );
        }
    }
}

/// REST SpeechConfig.multiSpeakerVoiceConfig: "This field is mutually exclusive with
/// `voice_config`."
#[inline(never)]
fn speech_config(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        single = "voiceConfig" / "voice_config",
        multi = "multiSpeakerVoiceConfig" / "multi_speaker_voice_config",
    );
    exclusive(
        out,
        path,
        single,
        multi,
        "REST: SpeechConfig.multiSpeakerVoiceConfig",
    );
}

/// REST MultiSpeakerVoiceConfig.speakerVoiceConfigs: "Exactly two speaker voice configurations
/// must be provided."
#[inline(never)]
fn multi_speaker(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; configs = "speakerVoiceConfigs" / "speaker_voice_configs");
    if let Some((k, v)) = configs {
        if v.kind() == Kind::Array && v.len() != 2 {
            range(
                out,
                path,
                k,
                format!(
                    "{} speaker voice configs; multi-speaker speech takes exactly 2 (REST: \
                     MultiSpeakerVoiceConfig)",
                    v.len()
                ),
            );
        }
    }
}

/// REST AudioTranscriptionConfig.mode: "Timestamps and diarization are incompatible with mode
/// `SMART`."
#[inline(never)]
fn audio_transcription_config(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        mode = "mode",
        words = "wordTimestamp" / "word_timestamp",
        diarization = "diarization",
    );
    let smart =
        mode.is_some_and(|(_, v)| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("SMART")));
    if !smart {
        return;
    }
    for (k, v) in [words, diarization].into_iter().flatten() {
        if is_true(&v) {
            out.at_key(
                Code::E_EXCLUSIVE,
                path,
                &[Seg::Key(k)],
                format!(
                    "`{k}` cannot be used with mode SMART; drop it or use mode VERBATIM (REST: \
                     AudioTranscriptionConfig.mode)"
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Media, places and tools

/// REST VideoMetadata.fps: "The valid range is (0.0, 24.0]." startOffset after endOffset is an
/// empty clip.
#[inline(never)]
fn video_metadata(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        fps = "fps",
        start = "startOffset" / "start_offset",
        end = "endOffset" / "end_offset",
    );
    if let Some((k, x)) = number(fps) {
        if !(x > 0.0 && x <= 24.0) {
            range(
                out,
                path,
                k,
                format!(
                    "fps {x} is outside (0, 24]; use a frame rate above 0 and at most 24 (REST: \
                     VideoMetadata.fps)"
                ),
            );
        }
    }
    if let (Some((_, s)), Some((ke, e))) = (start, end) {
        if let (Some(a), Some(b)) = (duration_secs(s), duration_secs(e)) {
            if a > b {
                range(
                    out,
                    path,
                    ke,
                    format!("endOffset ({b}s) is before startOffset ({a}s); swap them"),
                );
            }
        }
    }
}

/// GoogleTypeLatLng: "latitude ... must be in the range [-90.0, +90.0]", "longitude ... must be
/// in the range [-180.0, +180.0]."
#[inline(never)]
fn lat_lng(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; lat = "latitude", lng = "longitude");
    for (m, limit, name) in [(lat, 90.0, "latitude"), (lng, 180.0, "longitude")] {
        if let Some((k, x)) = number(m) {
            if outside(x, -limit, limit) {
                range(
                    out,
                    path,
                    k,
                    format!(
                        "{name} {x} is outside [-{limit}, {limit}] degrees (REST: LatLng.{name})"
                    ),
                );
            }
        }
    }
}

/// Most function declarations in one tool. Source: REST Tool.functionDeclarations: "Maximum 512
/// function declarations can be provided."
const MAX_FUNCTION_DECLARATIONS: usize = 512;

#[inline(never)]
fn tool(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; declarations = "functionDeclarations" / "function_declarations");
    if let Some((k, v)) = declarations {
        if v.len() > MAX_FUNCTION_DECLARATIONS {
            range(
                out,
                path,
                k,
                format!(
                    "{} function declarations; a tool takes at most {MAX_FUNCTION_DECLARATIONS} \
                     (REST: Tool.functionDeclarations)",
                    v.len()
                ),
            );
        }
    }
}

/// Longest function name REST allows.
const MAX_FUNCTION_NAME: usize = 128;
/// Longest function name the googleapis proto (and some 400 errors seen in 2025) allow.
const PROTO_FUNCTION_NAME: usize = 64;

/// Why a function name breaks REST FunctionDeclaration.name: "Must start with a letter or an
/// underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a
/// maximum length of 128."
fn function_name_problem(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    if b.is_empty() {
        return Some("is empty");
    }
    if !(b[0].is_ascii_alphabetic() || b[0] == b'_') {
        return Some("must start with a letter or '_'");
    }
    if !b
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-'))
    {
        return Some("may contain only a-z, A-Z, 0-9, '_', '.', ':' and '-'");
    }
    if b.len() > MAX_FUNCTION_NAME {
        return Some("is longer than 128 characters");
    }
    None
}

#[inline(never)]
fn function_declaration(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        name = "name",
        parameters = "parameters",
        parameters_json = "parametersJsonSchema" / "parameters_json_schema",
        response = "response",
        response_json = "responseJsonSchema" / "response_json_schema",
        behavior = "behavior",
    );
    if let Some((k, v)) = name {
        if let Some(s) = v.as_str() {
            if let Some(why) = function_name_problem(s) {
                out.at(
                    Code::E_FUNCTION_NAME,
                    path,
                    &[Seg::Key(k)],
                    format!("function name \"{s}\" {why} (REST: FunctionDeclaration.name)"),
                );
            } else if s.len() > PROTO_FUNCTION_NAME {
                warn(
                    out,
                    path,
                    k,
                    format!(
                        "function name is {} characters; REST allows 128 but the proto and some \
                         Gemini endpoints allow only {PROTO_FUNCTION_NAME}: shorten it",
                        s.len()
                    ),
                );
            }
        }
    }
    // REST parametersJsonSchema: "This field is mutually exclusive with `parameters`."
    exclusive(
        out,
        path,
        parameters,
        parameters_json,
        "REST: FunctionDeclaration.parametersJsonSchema",
    );
    // REST responseJsonSchema: "This field is mutually exclusive with `response`."
    exclusive(
        out,
        path,
        response,
        response_json,
        "REST: FunctionDeclaration.responseJsonSchema",
    );
    // REST parameters: "Parameter names must start with a letter or an underscore and must only
    // contain chars a-z, A-Z, 0-9, or underscores with a maximum length of 64." Not seen
    // enforced: a warning.
    if let Some((kp, p)) = parameters {
        if let Some(props) = p.get("properties") {
            let kprops = "properties";
            for (param, _) in props.members() {
                if !parameter_name_ok(param) {
                    out.at_key(
                        Code::W_UNCONFIRMED_LIMIT,
                        path,
                        &[Seg::Key(kp), Seg::Key(kprops), Seg::Key(param)],
                        format!(
                            "parameter name \"{param}\" should start with a letter or '_' and use \
                             only a-z, A-Z, 0-9 and '_', at most 64 characters (REST: \
                             FunctionDeclaration.parameters)"
                        ),
                    );
                }
            }
        }
    }
    // REST behavior: "This field is currently only supported by the BidiGenerateContent method."
    if let Some((k, _)) = behavior {
        out.at_key(
            Code::W_UNCONFIRMED_LIMIT,
            path,
            &[Seg::Key(k)],
            "`behavior` is supported only by the Live API (BidiGenerateContent), not by batch; \
             remove it (REST: FunctionDeclaration.behavior)",
        );
    }
}

/// REST FunctionDeclaration.parameters parameter-name pattern.
fn parameter_name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= PROTO_FUNCTION_NAME
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
}

/// REST FunctionCall.name: "Optional. The name of the function to call" (optional only because
/// streamed calls send `partialArgs` first). A call in a request's history with neither a name
/// nor partial arguments names no function.
#[inline(never)]
fn function_call(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; name = "name", partial = "partialArgs" / "partial_args");
    if partial.is_some() {
        return;
    }
    match name {
        Some((k, v)) if v.as_str() == Some("") => out.at(
            Code::E_EMPTY_VALUE,
            path,
            &[Seg::Key(k)],
            "functionCall.name is empty; give the name of the declared function it called",
        ),
        None => out.at(
            Code::E_EMPTY_VALUE,
            path,
            &[],
            "functionCall has no name; give the name of the declared function it called",
        ),
        _ => {}
    }
}

/// REST FunctionResponse.name: "Required." (a missing name is the walk's `E_REQUIRED`; an empty
/// string is the proto default, i.e. unset).
#[inline(never)]
fn function_response(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; name = "name");
    if let Some((k, v)) = name {
        if v.as_str() == Some("") {
            out.at(
                Code::E_EMPTY_VALUE,
                path,
                &[Seg::Key(k)],
                "functionResponse.name is empty; give the name of the function that was called \
                 (REST: required)",
            );
        }
    }
}

/// REST FunctionCallingConfig.allowedFunctionNames: "Only set when the Mode is ANY." VALIDATED
/// (newer) is documented with it too. Enforcement not seen: a warning.
#[inline(never)]
fn function_calling_config(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; names = "allowedFunctionNames" / "allowed_function_names", mode = "mode");
    let Some((k, v)) = names else { return };
    if !set_list(&v) {
        return;
    }
    let mode = mode.and_then(|(_, m)| m.as_str()).unwrap_or("");
    if !(mode.eq_ignore_ascii_case("ANY") || mode.eq_ignore_ascii_case("VALIDATED")) {
        warn(
            out,
            path,
            k,
            format!(
                "allowedFunctionNames is meant only for mode ANY (mode is \"{}\"); set \"mode\": \
                 \"ANY\" or drop the list (REST: FunctionCallingConfig)",
                if mode.is_empty() { "AUTO" } else { mode }
            ),
        );
    }
}

/// REST VertexAISearch: "datastore and engine are mutually exclusive"; maxResults: "The maximumm
/// allowed value is 10."
#[inline(never)]
fn vertex_ai_search<'t, 'i>(obj: JsonRef<'t, 'i>, path: &Path<'_>, out: &mut Findings) {
    members!(
        obj;
        datastore = "datastore",
        engine = "engine",
        max_results = "maxResults" / "max_results",
    );
    let nonempty =
        |m: Option<(&'i str, JsonRef<'t, 'i>)>| m.filter(|(_, v)| v.as_str() != Some(""));
    exclusive(
        out,
        path,
        nonempty(datastore),
        nonempty(engine),
        "REST: VertexAISearch",
    );
    if let Some((k, x)) = number(max_results) {
        if outside(x, 0.0, 10.0) {
            range(
                out,
                path,
                k,
                format!("maxResults {x} is outside [0, 10] (REST: VertexAISearch.maxResults)"),
            );
        }
    }
}

/// REST ToolGoogleSearch / EnterpriseWebSearch excludeDomains: "The default limit is 2000
/// domains." A default limit may be raised: a warning.
#[inline(never)]
fn exclude_domains(obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    members!(obj; domains = "excludeDomains" / "exclude_domains");
    if let Some((k, v)) = domains {
        if v.len() > 2000 {
            warn(
                out,
                path,
                k,
                format!(
                    "{} excluded domains; the default limit is 2000 (REST: excludeDomains)",
                    v.len()
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Schema

/// REST Schema.defs: "Only allowed at root level of the schema." A schema whose parent message is
/// a Schema (under properties, items, anyOf or defs) is not a root. Lower-case `type` values are
/// accepted in practice (VERTEX.md, "Lenient forms"); the walk handles enum case.
#[inline(never)]
fn schema(ctx: MessageCtx, obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    let nested = ctx.parent == Some(msg::SCHEMA);
    let mut min_max: [Option<f64>; 8] = [None; 8];
    let mut max_keys: [&str; 4] = [""; 4];
    for (key, v) in obj.members() {
        let slot = match key {
            "defs" => {
                if nested && set(&v) {
                    out.at_key(
                        Code::E_DEFS_NOT_ROOT,
                        path,
                        &[Seg::Key(key)],
                        "`defs` is allowed only at the root of a schema; move these definitions \
                         to the root schema's defs (REST: Schema.defs)",
                    );
                }
                continue;
            }
            "minItems" | "min_items" => 0,
            "maxItems" | "max_items" => 1,
            "minLength" | "min_length" => 2,
            "maxLength" | "max_length" => 3,
            "minProperties" | "min_properties" => 4,
            "maxProperties" | "max_properties" => 5,
            "minimum" => 6,
            "maximum" => 7,
            _ => continue,
        };
        min_max[slot] = num(v);
        if slot % 2 == 1 {
            max_keys[slot / 2] = key;
        }
    }
    // Bounds that no value can meet: not stated as rejected anywhere, so a warning.
    for (i, key) in max_keys.iter().enumerate() {
        if let (Some(lo), Some(hi)) = (min_max[2 * i], min_max[2 * i + 1]) {
            if lo > hi {
                warn(
                    out,
                    path,
                    key,
                    format!(
                        "`{key}` {hi} is below the matching minimum {lo}; no value can satisfy \
                         this schema"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
