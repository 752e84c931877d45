//! The shape of the generated schema table (`schema.rs`).
//!
//! `schema.rs` is data written by `tests/it/schema_gen.rs` from Google's Vertex AI v1 REST discovery
//! document; this file holds the hand-written types it is made of, so the generator only emits
//! literals. Names and types are facts taken from Google's published schema; descriptions are not
//! copied, only the flags derived from them (`Required.`, deprecation).

/// One message type of the request closure (`GoogleCloudAiplatformV1Part` is stored as `Part`).
#[derive(Debug)]
pub struct Message {
    /// Short name: the discovery id without the `GoogleCloudAiplatformV1` prefix.
    pub name: &'static str,
    /// Fields sorted by `json_name`.
    pub fields: &'static [Field],
}

/// One field of a message.
#[derive(Debug)]
pub struct Field {
    /// The lowerCamelCase name, as the discovery document spells it.
    pub json_name: &'static str,
    /// The snake_case (proto) spelling; equal to `json_name` when the name has no capitals.
    pub snake_name: &'static str,
    /// The JSON type of one value (of one element when repeated, of one map value when a map).
    pub ty: Ty,
    /// Single value, array, or map with user-chosen keys.
    pub container: Container,
    /// The description starts with `Required.`.
    pub required: bool,
    /// The discovery document marks the field deprecated.
    pub deprecated: bool,
    /// The field exists only in the v1beta1 document (its value is then not checked: `ty` is `Any`).
    pub beta_only: bool,
}

/// How many values a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// One value.
    Single,
    /// A JSON array of values (`type: array`).
    Repeated,
    /// A JSON object whose keys are user data (`additionalProperties`), values of `ty`.
    Map,
}

/// The type of one JSON value, as the discovery document states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// A message: index into [`MESSAGES`](super::schema::MESSAGES).
    Message(u16),
    /// An enum: index into [`ENUMS`](super::schema::ENUMS).
    Enum(u16),
    /// A plain string.
    String,
    /// `format: byte`: a base64 string.
    Bytes,
    /// `format: int32`: a JSON number without fraction, or a decimal string.
    Int32,
    /// `format: uint32`.
    UInt32,
    /// `format: int64`: a JSON number or a decimal string.
    Int64,
    /// `format: uint64`.
    UInt64,
    /// `format: float` or `double`: a number (integer literals allowed) or `"NaN"`/`"Infinity"` strings.
    Number,
    /// `type: boolean`.
    Bool,
    /// `format: google-duration`: a string such as `"1.5s"`.
    Duration,
    /// `format: google-datetime`: an RFC 3339 timestamp string.
    Timestamp,
    /// `type: any` (protobuf `Value`): any JSON value, user data, never checked.
    Any,
    /// `type: object` with `additionalProperties: any` (protobuf `Struct`): a JSON object whose
    /// contents are user data.
    Struct,
}

/// An enum's allowed string values.
#[derive(Debug)]
pub struct EnumDef {
    /// `Message.field` of the first field that uses this list.
    pub name: &'static str,
    /// Allowed values in the document's order.
    pub values: &'static [&'static str],
    /// Parallel to `values`: whether each value is marked deprecated.
    pub deprecated: &'static [bool],
}

/// Where the table came from; printed by `batchline --version`.
#[derive(Debug)]
pub struct SchemaSource {
    /// PyPI package and version, e.g. `google-api-python-client 2.202.0`.
    pub package: &'static str,
    /// The discovery document's `revision`, e.g. `20261106`.
    pub revision: &'static str,
    /// The root message of the closure.
    pub root: &'static str,
}
