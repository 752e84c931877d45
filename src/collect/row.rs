//! One prediction row, as Vertex writes it, read by member name.
//!
//! A row is one JSON object with `request`, `status`, `response` and `processed_time` in either
//! member order (rows before 2025-09 start with `status`, later ones with `request`), plus any
//! top-level members the input line had beside `request` (the join key among them).
//! [`parse_row`] borrows from the row's bytes: the echoed request and the response are kept as
//! their raw JSON text, so a response is copied to the merged output exactly as Vertex wrote it.
//!
//! What a row says:
//! - `status` empty and a response with candidates (or without `promptFeedback.blockReason`):
//!   [`Outcome::Succeeded`];
//! - `status` empty and `promptFeedback.blockReason` with no candidates: [`Outcome::Blocked`]
//!   (a safety block; permanent);
//! - `status` not empty: [`Outcome::Failed`], with the `Reason: {json}` string parsed into
//!   [`RowError`] (code, message, status; `details` kept as raw JSON).

use std::borrow::Cow;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// A row's members, borrowed from its bytes.
#[derive(Debug)]
pub struct RawRow<'a> {
    /// The echoed request, as written.
    pub request: Option<&'a RawValue>,
    /// The status string (`""` on success).
    pub status: Option<Cow<'a, str>>,
    /// The response object, as written.
    pub response: Option<&'a RawValue>,
    /// `processed_time`, as written.
    pub processed_time: Option<Cow<'a, str>>,
    /// The key member's value: a string, or a number's text (a key that came back as a number).
    pub key: Option<Cow<'a, str>>,
}

/// The parsed `Reason: {"error": {...}}` of a failed row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    /// The HTTP-like code (400, 429, 500 …), when the string held one.
    pub code: Option<i64>,
    /// The message.
    pub message: String,
    /// The canonical status name (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED` …), when given.
    pub status: Option<String>,
    /// `details`, as raw JSON, when given.
    pub details: Option<String>,
}

/// How a row ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A response.
    Succeeded,
    /// A prompt blocked by safety filters (`promptFeedback.blockReason`), no candidates.
    Blocked(String),
    /// A failed row.
    Failed(RowError),
}

/// Token counts of a response's `usageMetadata` (absent counts are 0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// `promptTokenCount`.
    #[serde(default)]
    pub prompt_token_count: u64,
    /// `cachedContentTokenCount` (implicit cache hits).
    #[serde(default)]
    pub cached_content_token_count: u64,
    /// `candidatesTokenCount`.
    #[serde(default)]
    pub candidates_token_count: u64,
    /// `thoughtsTokenCount`.
    #[serde(default)]
    pub thoughts_token_count: u64,
    /// `toolUsePromptTokenCount`.
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
}

/// A row read: its members, how it ended, its usage and the first candidate's text.
#[derive(Debug)]
pub struct Row<'a> {
    /// The raw members.
    pub raw: RawRow<'a>,
    /// How it ended.
    pub outcome: Outcome,
    /// Token counts (zero for failed rows, which are not billed).
    pub usage: Usage,
}

/// Why a row could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowFault {
    /// What is wrong.
    pub message: String,
}

/// Reads one prediction row. `key_name` is the join-key member to pick up (`None`: none).
pub fn parse_row<'a>(bytes: &'a [u8], key_name: Option<&str>) -> Result<Row<'a>, RowFault> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let raw = de
        .deserialize_map(RowVisitor { key_name })
        .and_then(|r| de.end().map(|()| r))
        .map_err(|e| RowFault {
            message: format!("not a prediction row: {}", at_column(&e)),
        })?;
    let status = raw.status.as_deref().unwrap_or("");
    let (outcome, usage) = if !status.is_empty() {
        (Outcome::Failed(parse_status(status)), Usage::default())
    } else {
        let Some(response) = raw.response else {
            return Err(RowFault {
                message: "a row with an empty status and no response".into(),
            });
        };
        // serde_json has just read the response whole: find its three members without a second
        // parse of the (large) candidates.
        let Some(members) = super::members::members(response.get().as_bytes()) else {
            return Err(RowFault {
                message: "the response is not a JSON object".into(),
            });
        };
        let not_a_response = |what: &str, e: serde_json::Error| RowFault {
            message: format!(
                "the response is not a GenerateContentResponse: {what}: {}",
                at_column(&e)
            ),
        };
        let usage = match super::members::member(&members, "usageMetadata") {
            Some(v) => serde_json::from_slice::<Option<Usage>>(v)
                .map_err(|e| not_a_response("usageMetadata", e))?
                .unwrap_or_default(),
            None => Usage::default(),
        };
        let no_candidates = match super::members::member(&members, "candidates") {
            None => true,
            Some(v) if super::members::is_empty_array(v) => true,
            Some(v) if v.first() == Some(&b'[') => false,
            Some(v) => {
                return Err(RowFault {
                    message: format!(
                    "the response is not a GenerateContentResponse: candidates is {}, not an array",
                    kind_of(v)
                ),
                })
            }
        };
        let feedback = match super::members::member(&members, "promptFeedback") {
            Some(v) => serde_json::from_slice::<Option<PromptFeedback>>(v)
                .map_err(|e| not_a_response("promptFeedback", e))?,
            None => None,
        };
        let blocked = feedback
            .and_then(|f| f.block_reason)
            .filter(|_| no_candidates);
        match blocked {
            Some(reason) => (Outcome::Blocked(reason), usage),
            None => (Outcome::Succeeded, usage),
        }
    };
    Ok(Row {
        raw,
        outcome,
        usage,
    })
}

impl Row<'_> {
    /// The members collect writes for this row in an output line (`,"status":…` and the
    /// response, its text, or the error), as bytes that follow an object's first member.
    pub fn output_members(&self, text: bool) -> Vec<u8> {
        let mut out = Vec::new();
        super::write::fragment(self, text, &mut out);
        out
    }
}

/// serde_json's message with its position given as the column in the row (its "line 1" is the
/// row, not the file's line).
fn at_column(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let bare = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(head, _)| head);
    if e.column() > 0 {
        format!("{bare} at column {}", e.column())
    } else {
        bare.to_string()
    }
}

/// The first candidate's text: its text parts joined, thought parts left out; `""` without one.
pub fn first_text(response: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Resp {
        #[serde(default)]
        candidates: Vec<Cand>,
    }
    #[derive(Deserialize)]
    struct Cand {
        #[serde(default)]
        content: Option<Content>,
    }
    #[derive(Deserialize)]
    struct Content {
        #[serde(default)]
        parts: Option<Parts>,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Parts {
        Many(Vec<Part>),
        One(Part),
    }
    #[derive(Deserialize)]
    struct Part {
        #[serde(default)]
        text: Option<String>,
        #[serde(default)]
        thought: Option<bool>,
    }
    let Ok(resp) = serde_json::from_str::<Resp>(response.get()) else {
        return String::new();
    };
    let Some(parts) = resp
        .candidates
        .into_iter()
        .next()
        .and_then(|c| c.content)
        .and_then(|c| c.parts)
    else {
        return String::new();
    };
    let parts = match parts {
        Parts::Many(v) => v,
        Parts::One(p) => vec![p],
    };
    parts
        .into_iter()
        .filter(|p| p.thought != Some(true))
        .filter_map(|p| p.text)
        .collect()
}

/// Parses a failed row's status, `Reason: {"error": {"code": …, "message": …, "status": …}}`.
/// A string of another form keeps the whole string as the message.
pub fn parse_status(status: &str) -> RowError {
    #[derive(Deserialize)]
    struct Wrapper<'a> {
        #[serde(borrow)]
        error: Inner<'a>,
    }
    #[derive(Deserialize)]
    struct Inner<'a> {
        #[serde(default)]
        code: Option<i64>,
        #[serde(default)]
        message: Option<String>,
        #[serde(default)]
        status: Option<String>,
        #[serde(default, borrow)]
        details: Option<&'a RawValue>,
    }
    if let Some(at) = status.find('{') {
        if let Ok(w) = serde_json::from_str::<Wrapper>(status[at..].trim_end()) {
            return RowError {
                code: w.error.code,
                message: w.error.message.unwrap_or_default(),
                status: w.error.status,
                details: w.error.details.map(|d| d.get().to_string()),
            };
        }
    }
    RowError {
        code: None,
        message: status.to_string(),
        status: None,
        details: None,
    }
}

/// What kind of JSON value `v` (valid JSON) is, for a message.
fn kind_of(v: &[u8]) -> &'static str {
    match v.first() {
        Some(b'{') => "an object",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

struct RowVisitor<'k> {
    key_name: Option<&'k str>,
}

/// A string borrowed from the row when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A key member's value: a string, or a number (kept as its text).
struct KeyValue<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for KeyValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyValue<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key (string or number)")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(KeyValue(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(KeyValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(KeyValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(KeyValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(KeyValue(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(KeyValue(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(KeyValue(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(KeyValue(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Self::Value, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(KeyValue(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for RowVisitor<'_> {
    type Value = RawRow<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a prediction row (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawRow<'de>, A::Error> {
        let mut row = RawRow {
            request: None,
            status: None,
            response: None,
            processed_time: None,
            key: None,
        };
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            match name.as_ref() {
                "request" => row.request = Some(map.next_value()?),
                "response" => row.response = Some(map.next_value()?),
                "status" => {
                    let s: Option<Text<'de>> = map.next_value()?;
                    row.status = Some(s.map(|t| t.0).unwrap_or_default());
                }
                "processed_time" => {
                    row.processed_time = map.next_value::<Option<Text<'de>>>()?.map(|t| t.0)
                }
                other if Some(other) == self.key_name => {
                    row.key = map.next_value::<KeyValue<'de>>()?.0;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(row)
    }
}

#[cfg(test)]
#[path = "row_tests.rs"]
mod tests;
