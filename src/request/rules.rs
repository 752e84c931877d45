//! Rules that Google's schema states only in prose (ranges, exclusions, companions, patterns).
//!
//! PLACEHOLDER: being written. The schema walk calls [`check_message`] once for every object it
//! visits that has a message type.

use super::path::{Findings, Path};
use super::value::JsonRef;

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

/// Checks the prose rules of one message object at `path`.
pub fn check_message(
    _ctx: MessageCtx,
    _obj: JsonRef<'_, '_>,
    _path: &Path<'_>,
    _out: &mut Findings,
) {
}

/// Explanation for a key the REST schema lacks but Google's SDK sends (PLACEHOLDER until rules land).
pub fn sdk_only_field(_msg: u16, _key: &str) -> Option<&'static str> {
    None
}
