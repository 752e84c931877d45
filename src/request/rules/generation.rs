//! Prose rules of GenerationConfig (sampling ranges, response schema companions, logprobs) and
//! its nested configs: thinking, speech (single or multi-speaker) and audio transcription.

use super::{
    exclusive, is_true, mime_essence, mime_syntax_ok, number, outside, range, set, warn, Entry,
    Member,
};
use crate::request::diag::Code;
use crate::request::path::{Findings, Path, Seg};
use crate::request::value::Kind;

// ---------------------------------------------------------------------------------------------
// GenerationConfig

/// JSON response types accepted with a response schema. Source: REST GenerationConfig
/// responseSchema ("you must also set the response_mime_type to application/json") and
/// responseJsonSchema (same); `text/x.enum` is documented by Vertex for enum schemas.
fn json_mime(s: &str) -> bool {
    // The commonest value, which the test below accepts, without splitting.
    if s == "application/json" {
        return true;
    }
    let e = mime_essence(s);
    e.eq_ignore_ascii_case("application/json") || e.eq_ignore_ascii_case("text/x.enum")
}

#[inline(never)]
pub(super) fn generation_config(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, GENERATION_CONFIG;
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

/// thinkingBudget and thinkingLevel together return 400 per the Gemini Developer API docs
/// (Gemini 3 guide); REST is silent, so a warning. Budget -1 means dynamic, 0 off.
#[inline(never)]
pub(super) fn thinking_config(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, GENERATION_CONFIG_THINKING_CONFIG;
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
pub(super) fn speech_config(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, SPEECH_CONFIG;
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
pub(super) fn multi_speaker(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(e, MULTI_SPEAKER_VOICE_CONFIG; configs = "speakerVoiceConfigs" / "speaker_voice_configs");
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
pub(super) fn audio_transcription_config(e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    members!(
        e, AUDIO_TRANSCRIPTION_CONFIG;
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
