//! Prose rules of Part and FunctionResponsePart (exactly one data field), Blob and FileData (MIME
//! types, file URIs), FunctionCall and FunctionResponse names, VideoMetadata, and the output
//! fields that must be Cloud Storage URIs.

use super::{
    bucket_problem, duration_secs, field_index, file_uri_problem, mime_field, number, range,
    sdk_only_field, set, strip_prefix_ci, Entry, Member, NO_FIELD,
};
use crate::request::diag::Code;
use crate::request::fields::find_field;
use crate::request::path::{Findings, Path, Seg};
use crate::request::schema::msg;

// ---------------------------------------------------------------------------------------------
// Part

/// What a Part member is.
#[derive(PartialEq, Eq, Clone, Copy)]
pub(super) enum PartField {
    /// A member of the `data` oneof.
    Data,
    /// `thoughtSignature`.
    Signature,
    /// `videoMetadata`.
    Video,
    /// Anything else (metadata, or unknown: the walk reports those).
    Other,
}

// Part fields by index (see `field_index`).
const TEXT: u16 = field_index(msg::PART, "text", ["text"]);
const INLINE_DATA: u16 = field_index(msg::PART, "inlineData", ["inline_data"]);
const FILE_DATA: u16 = field_index(msg::PART, "fileData", ["file_data"]);
const FUNCTION_CALL: u16 = field_index(msg::PART, "functionCall", ["function_call"]);
const FUNCTION_RESPONSE: u16 = field_index(msg::PART, "functionResponse", ["function_response"]);
const EXECUTABLE_CODE: u16 = field_index(msg::PART, "executableCode", ["executable_code"]);
const CODE_EXECUTION_RESULT: u16 =
    field_index(msg::PART, "codeExecutionResult", ["code_execution_result"]);
const THOUGHT_SIGNATURE: u16 = field_index(msg::PART, "thoughtSignature", ["thought_signature"]);
const VIDEO_METADATA: u16 = field_index(msg::PART, "videoMetadata", ["video_metadata"]);

/// Classifies a Part member by its field index (see [`part_field`] for a key). Source: REST
/// Part: "A `Part` must contain one of the accepted types in `Part.data`"; the `data` oneof of the
/// v1 proto (`content.proto`) is text, inline_data, file_data, function_call, function_response,
/// executable_code, code_execution_result. thought, thought_signature, video_metadata,
/// media_resolution, speech_metadata and audio_transcription are outside it.
fn part_field_at(field: u16) -> PartField {
    match field {
        TEXT
        | INLINE_DATA
        | FILE_DATA
        | FUNCTION_CALL
        | FUNCTION_RESPONSE
        | EXECUTABLE_CODE
        | CODE_EXECUTION_RESULT => PartField::Data,
        THOUGHT_SIGNATURE => PartField::Signature,
        VIDEO_METADATA => PartField::Video,
        _ => PartField::Other,
    }
}

/// Classifies a Part key, in either spelling.
pub(super) fn part_field(key: &str) -> PartField {
    find_field(msg::PART, key).map_or(PartField::Other, |(i, _)| part_field_at(i as u16))
}

/// A member that is neither a Part field of the schema nor one Google's SDK sends.
fn unknown_part_key(e: &Entry<'_, '_>) -> bool {
    e.field == NO_FIELD && sdk_only_field(msg::PART, e.key).is_none()
}

#[inline(never)]
pub(super) fn part(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    let mut data = 0usize;
    let mut first: Option<&str> = None;
    let mut second: Option<&str> = None;
    let mut empty_text: Option<&str> = None;
    let mut signature = false;
    let mut video: Option<&str> = None;
    let mut media = false;
    for &Entry {
        field,
        key,
        value: v,
    } in e
    {
        if !set(&v) {
            continue;
        }
        match part_field_at(field) {
            PartField::Data => {
                data += 1;
                match (first, second) {
                    (None, _) => first = Some(key),
                    (Some(_), None) => second = Some(key),
                    _ => {}
                }
                match field {
                    TEXT if v.as_str() == Some("") => empty_text = Some(key),
                    INLINE_DATA | FILE_DATA => media = true,
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
        (0, _, _) if e.iter().any(unknown_part_key) => {}
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
pub(super) fn function_response_part(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, FUNCTION_RESPONSE_PART; inline = "inlineData" / "inline_data", file = "fileData" / "file_data");
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
pub(super) fn blob(
    mime: Member<'_, '_>,
    data: Member<'_, '_>,
    path: &Path<'_>,
    out: &mut Findings,
) {
    mime_field(mime, path, out, true);
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
pub(super) fn file_data(
    mime: Member<'_, '_>,
    uri: Member<'_, '_>,
    path: &Path<'_>,
    out: &mut Findings,
) {
    mime_field(mime, path, out, true);
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
pub(super) fn gcs_uri(uri: Member<'_, '_>, path: &Path<'_>, out: &mut Findings, name: &str) {
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

/// REST FunctionCall.name: "Optional. The name of the function to call" (optional only because
/// streamed calls send `partialArgs` first). A call in a request's history with neither a name
/// nor partial arguments names no function.
#[inline(never)]
pub(super) fn function_call(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, FUNCTION_CALL; name = "name", partial = "partialArgs" / "partial_args");
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
pub(super) fn function_response(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, FUNCTION_RESPONSE; name = "name");
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

// ---------------------------------------------------------------------------------------------
// Media

/// REST VideoMetadata.fps: "The valid range is (0.0, 24.0]." startOffset after endOffset is an
/// empty clip.
#[inline(never)]
pub(super) fn video_metadata(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, VIDEO_METADATA;
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
