//! Prose rules of Schema: `defs` only at a schema's root, and min/max bounds no value can meet.

use super::{num, set, warn, MessageCtx};
use crate::request::diag::Code;
use crate::request::path::{Findings, Path, Seg};
use crate::request::schema::msg;
use crate::request::value::JsonRef;

// ---------------------------------------------------------------------------------------------
// Schema

/// REST Schema.defs: "Only allowed at root level of the schema." A schema whose parent message is
/// a Schema (under properties, items, anyOf or defs) is not a root. Lower-case `type` values are
/// accepted in practice (VERTEX.md, "Lenient forms"); the walk handles enum case.
#[inline(never)]
pub(super) fn schema(ctx: MessageCtx, obj: JsonRef<'_, '_>, path: &Path<'_>, out: &mut Findings) {
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
