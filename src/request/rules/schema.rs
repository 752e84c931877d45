//! Prose rules of Schema: `defs` only at a schema's root, and min/max bounds no value can meet.

use super::{field_index, num, set, warn, Entry, MessageCtx};
use crate::request::diag::Code;
use crate::request::path::{Findings, Path, Seg};
use crate::request::schema::msg;

// ---------------------------------------------------------------------------------------------
// Schema

/// REST Schema.defs: "Only allowed at root level of the schema." A schema whose parent message is
/// a Schema (under properties, items, anyOf or defs) is not a root. Lower-case `type` values are
/// accepted in practice (VERTEX.md, "Lenient forms"); the walk handles enum case.
#[inline(never)]
pub(super) fn schema(ctx: MessageCtx, e: &[Entry<'_, '_>], path: &Path<'_>, out: &mut Findings) {
    const DEFS: u16 = field_index(msg::SCHEMA, "defs", ["defs"]);
    const MIN_ITEMS: u16 = field_index(msg::SCHEMA, "minItems", ["min_items"]);
    const MAX_ITEMS: u16 = field_index(msg::SCHEMA, "maxItems", ["max_items"]);
    const MIN_LENGTH: u16 = field_index(msg::SCHEMA, "minLength", ["min_length"]);
    const MAX_LENGTH: u16 = field_index(msg::SCHEMA, "maxLength", ["max_length"]);
    const MIN_PROPERTIES: u16 = field_index(msg::SCHEMA, "minProperties", ["min_properties"]);
    const MAX_PROPERTIES: u16 = field_index(msg::SCHEMA, "maxProperties", ["max_properties"]);
    const MINIMUM: u16 = field_index(msg::SCHEMA, "minimum", ["minimum"]);
    const MAXIMUM: u16 = field_index(msg::SCHEMA, "maximum", ["maximum"]);
    let nested = ctx.parent == Some(msg::SCHEMA);
    let mut min_max: [Option<f64>; 8] = [None; 8];
    let mut max_keys: [&str; 4] = [""; 4];
    let mut bounds = false;
    for &Entry {
        field,
        key,
        value: v,
    } in e
    {
        let slot = match field {
            DEFS => {
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
            MIN_ITEMS => 0,
            MAX_ITEMS => 1,
            MIN_LENGTH => 2,
            MAX_LENGTH => 3,
            MIN_PROPERTIES => 4,
            MAX_PROPERTIES => 5,
            MINIMUM => 6,
            MAXIMUM => 7,
            _ => continue,
        };
        bounds = true;
        min_max[slot] = num(v);
        if slot % 2 == 1 {
            max_keys[slot / 2] = key;
        }
    }
    if !bounds {
        return;
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
