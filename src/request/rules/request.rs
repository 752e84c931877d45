//! Prose rules of GenerateContentRequest (contents, explicit caching, Model Armor, labels) and
//! Content (parts, roles, system instruction). Part-level rules are in `parts`.

use super::parts::{part_field, PartField};
use super::{exclusive, field_index, set, set_list, Entry, Member, MessageCtx};
use crate::request::diag::Code;
use crate::request::path::{Findings, Path, Seg};
use crate::request::schema::msg;
use crate::request::value::{JsonRef, Kind};

// ---------------------------------------------------------------------------------------------
// GenerateContentRequest

#[inline(never)]
pub(super) fn request(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, GENERATE_CONTENT_REQUEST;
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
// Content (Part rules are in `parts.rs`)

#[inline(never)]
pub(super) fn content(ctx: MessageCtx, e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    const PARTS: u16 = field_index(msg::CONTENT, "parts", ["parts"]);
    const ROLE: u16 = field_index(msg::CONTENT, "role", ["role"]);
    let system = ctx.field == Some("systemInstruction");
    let mut parts = None;
    let mut role = None;
    // The last of each, null or not.
    for &Entry { field, key, value } in e {
        match field {
            PARTS => parts = Some((key, value)),
            ROLE => role = Some((key, value)),
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
