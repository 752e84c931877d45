//! Rules that Google's schema states only in prose: ranges, mutually exclusive fields, companions,
//! exactly one data field per part, non-empty lists, roles, MIME types, file URIs, function-name
//! and label patterns, `defs` only at a schema's root, and explicit caching in batch.
//!
//! The schema walk (`walk/`) owns everything the generated table states (unknown fields, JSON
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
//!
//! Layout: this file holds the entry points ([`check_message`], [`sdk_only_field`]) and the
//! helpers every area shares; the rules themselves live in one submodule per area: `request`
//! (GenerateContentRequest, Content, labels), `parts` (Part, Blob, FileData, function calls and
//! responses, video metadata, output URIs), `generation` (GenerationConfig, thinking, speech,
//! transcription), `tools` (Tool, FunctionDeclaration, tool config, retrieval, places) and
//! `schema` (Schema).

use super::diag::Code;
use super::fields::find_field;
use super::path::{Findings, Path, Seg};
use super::schema::{msg, MESSAGES};
use super::value::{same_field, JsonRef, Kind};

/// Binds each `$var` to the first non-null member of the walk's `$entries` whose key is `$camel`
/// or `$snake` (a [`Member`]), in one pass over the members with a `match` on the field index
/// (protobuf JSON accepts exactly these two spellings, and the walk resolved each key to its
/// field). `$msg` names the message (a constant of `schema::msg`); each name is checked at compile
/// time to be a field of it, spelled `$camel` / `$snake` (or `$camel` in both spellings when no
/// `$snake` is given), so the field index stands for exactly these two keys.
macro_rules! members {
    ($entries:expr, $msg:ident; $($var:ident = $camel:literal $(/ $snake:literal)?),+ $(,)?) => {
        #[allow(non_upper_case_globals)]
        mod field_of {
            $(
                pub(super) const $var: u16 = $crate::request::rules::field_index(
                    $crate::request::schema::msg::$msg,
                    $camel,
                    [$camel $(, $snake)?],
                );
            )+
        }
        $( let mut $var: Member<'_, '_> = None; )+
        for e in $entries {
            if !set(&e.value) {
                continue;
            }
            match e.field {
                $( field_of::$var if $var.is_none() => $var = Some((e.key, e.value)), )+
                _ => {}
            }
        }
    };
}

mod generation;
mod parts;
mod request;
mod schema;
mod tools;

use generation::{
    audio_transcription_config, generation_config, multi_speaker, speech_config, thinking_config,
};
use parts::{
    blob, file_data, function_call, function_response, function_response_part, gcs_uri, part,
    video_metadata,
};
use request::{content, request};
use schema::schema;
use tools::{
    exclude_domains, function_calling_config, function_declaration, lat_lng, tool, vertex_ai_search,
};

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

/// One member of a message object as the walk found it: the index of its field in the message's
/// field list ([`NO_FIELD`] for a key that is no field), the key as written, and the value.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'t, 'i> {
    /// Index into the message's `fields`, or [`NO_FIELD`].
    pub field: u16,
    /// The key as written (either spelling).
    pub key: &'i str,
    /// The member's value.
    pub value: JsonRef<'t, 'i>,
}

/// [`Entry::field`] of a key that is no field of the message.
pub const NO_FIELD: u16 = u16::MAX;

/// Checks the prose rules of one message object at `path` (the object itself); findings point
/// below it. A member whose value is `null` counts as absent, as in protobuf JSON parsing.
///
/// Resolves the members' fields itself (and allocates); the walk, which has resolved them
/// already, calls [`check_entries`].
pub fn check_message(ctx: MessageCtx, obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
    let entries: Vec<Entry<'_, '_>> = obj
        .members()
        .map(|(key, value)| Entry {
            field: find_field(ctx.msg, key).map_or(NO_FIELD, |(i, _)| i as u16),
            key,
            value,
        })
        .collect();
    check_entries(ctx, &entries, path, out)
}

/// [`check_message`] given the object's members in document order (duplicates kept), each with
/// its field resolved as [`find_field`] does.
#[inline]
pub fn check_entries(
    ctx: MessageCtx,
    entries: &[Entry<'_, '_>],
    path: &Path<'_>,
    out: &mut Findings,
) {
    let e = entries;
    match ctx.msg {
        msg::PART => part(e, path, out),
        msg::CONTENT => content(ctx, e, path, out),
        msg::SCHEMA => schema(ctx, e, path, out),
        msg::GENERATE_CONTENT_REQUEST => request(e, path, out),
        msg::GENERATION_CONFIG => generation_config(e, path, out),
        msg::BLOB => {
            members!(e, BLOB; mime = "mimeType" / "mime_type", data = "data");
            blob(mime, data, path, out)
        }
        msg::FUNCTION_RESPONSE_BLOB => {
            members!(e, FUNCTION_RESPONSE_BLOB; mime = "mimeType" / "mime_type", data = "data");
            blob(mime, data, path, out)
        }
        msg::FILE_DATA => {
            members!(e, FILE_DATA; mime = "mimeType" / "mime_type", uri = "fileUri" / "file_uri");
            file_data(mime, uri, path, out)
        }
        msg::FUNCTION_RESPONSE_FILE_DATA => {
            members!(
                e, FUNCTION_RESPONSE_FILE_DATA;
                mime = "mimeType" / "mime_type",
                uri = "fileUri" / "file_uri",
            );
            file_data(mime, uri, path, out)
        }
        msg::FUNCTION_RESPONSE_PART => function_response_part(e, path, out),
        msg::FUNCTION_DECLARATION => function_declaration(e, path, out),
        msg::FUNCTION_CALL => function_call(e, path, out),
        msg::FUNCTION_RESPONSE => function_response(e, path, out),
        msg::TOOL => tool(e, path, out),
        msg::VIDEO_METADATA => video_metadata(e, path, out),
        msg::GENERATION_CONFIG_THINKING_CONFIG => thinking_config(e, path, out),
        msg::SPEECH_CONFIG => speech_config(e, path, out),
        msg::MULTI_SPEAKER_VOICE_CONFIG => multi_speaker(e, path, out),
        msg::GOOGLE_TYPE_LAT_LNG => lat_lng(e, path, out),
        msg::FUNCTION_CALLING_CONFIG => function_calling_config(e, path, out),
        msg::AUDIO_TRANSCRIPTION_CONFIG => audio_transcription_config(e, path, out),
        msg::VERTEX_AI_SEARCH => vertex_ai_search(e, path, out),
        msg::TOOL_GOOGLE_SEARCH => {
            members!(e, TOOL_GOOGLE_SEARCH; domains = "excludeDomains" / "exclude_domains");
            exclude_domains(domains, path, out)
        }
        msg::ENTERPRISE_WEB_SEARCH => {
            members!(e, ENTERPRISE_WEB_SEARCH; domains = "excludeDomains" / "exclude_domains");
            exclude_domains(domains, path, out)
        }
        msg::GENERATE_CONTENT_REQUEST_OUTPUT_CONFIG => {
            members!(e, GENERATE_CONTENT_REQUEST_OUTPUT_CONFIG; uri = "outputUriPrefix" / "output_uri_prefix");
            gcs_uri(uri, path, out, "outputUriPrefix")
        }
        msg::VIDEO_RESPONSE_FORMAT => {
            members!(e, VIDEO_RESPONSE_FORMAT; uri = "gcsUri" / "gcs_uri");
            gcs_uri(uri, path, out, "gcsUri")
        }
        msg::IMAGE_CONFIG_IMAGE_OUTPUT_OPTIONS => {
            members!(e, IMAGE_CONFIG_IMAGE_OUTPUT_OPTIONS; mime = "mimeType" / "mime_type");
            mime_field(mime, path, out, false)
        }
        msg::REPLICATED_VOICE_CONFIG => {
            members!(e, REPLICATED_VOICE_CONFIG; mime = "mimeType" / "mime_type");
            mime_field(mime, path, out, false)
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

/// Whether two strings are equal (compile time).
const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of message `msg`'s field `camel` (compile time, for [`members!`]): fails to compile
/// unless the field exists and its snake_case spelling is the last of `spellings`, so that a key
/// resolves to this index exactly when it is one of `spellings`.
pub(crate) const fn field_index<const N: usize>(
    msg: u16,
    camel: &str,
    spellings: [&str; N],
) -> u16 {
    let fields = MESSAGES[msg as usize].fields;
    let mut i = 0;
    while i < fields.len() {
        if str_eq(fields[i].json_name, camel) {
            assert!(
                str_eq(fields[i].snake_name, spellings[N - 1]),
                "the field's snake_case spelling differs"
            );
            return i as u16;
        }
        i += 1;
    }
    panic!("no such field in this message")
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
    // The commonest values, which the scan below accepts, without the scan.
    if matches!(s, "application/json" | "text/plain") {
        return true;
    }
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
fn mime_field(mime: Member<'_, '_>, path: &Path<'_>, out: &mut Findings, required: bool) {
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

/// Emits `E_RANGE` at member `key`.
fn range(out: &mut Findings, path: &Path<'_>, key: &str, message: String) {
    out.at(Code::E_RANGE, path, &[Seg::Key(key)], message);
}

/// Emits `W_UNCONFIRMED_LIMIT` at member `key`.
fn warn(out: &mut Findings, path: &Path<'_>, key: &str, message: String) {
    out.at(Code::W_UNCONFIRMED_LIMIT, path, &[Seg::Key(key)], message);
}

#[cfg(test)]
mod tests;
