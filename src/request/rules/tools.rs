//! Prose rules of Tool and FunctionDeclaration (counts, names, exclusive schemas),
//! FunctionCallingConfig, retrieval (VertexAISearch, search domain exclusions) and LatLng.

use super::{exclusive, number, outside, range, set, set_list, warn, Entry, Member};
use crate::request::diag::Code;
use crate::request::path::{Findings, Path, Seg};
use crate::request::value::JsonRef;

// ---------------------------------------------------------------------------------------------
// Places and tools

/// GoogleTypeLatLng: "latitude ... must be in the range [-90.0, +90.0]", "longitude ... must be
/// in the range [-180.0, +180.0]."
#[inline(never)]
pub(super) fn lat_lng(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, GOOGLE_TYPE_LAT_LNG; lat = "latitude", lng = "longitude");
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
pub(super) fn tool(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, TOOL; declarations = "functionDeclarations" / "function_declarations");
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
pub(super) fn function_declaration(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, FUNCTION_DECLARATION;
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

/// REST FunctionCallingConfig.allowedFunctionNames: "Only set when the Mode is ANY." VALIDATED
/// (newer) is documented with it too. Enforcement not seen: a warning.
#[inline(never)]
pub(super) fn function_calling_config(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, FUNCTION_CALLING_CONFIG; names = "allowedFunctionNames" / "allowed_function_names", mode = "mode");
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
pub(super) fn vertex_ai_search<'t, 'i>(e: &[Entry<'t, 'i>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, VERTEX_AI_SEARCH;
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
pub(super) fn exclude_domains(domains: Member<'_, '_>, path: &Path<'_>, out: &mut Findings) {
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
