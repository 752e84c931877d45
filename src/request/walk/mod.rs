//! The schema walk: one pass over a parsed line that applies the generated schema (types,
//! enums, formats, required fields, spellings), calls the prose rules on each message object's
//! members, and records every key path's kinds and flags for the whole-job checks. Driven per line
//! by [`super::line::LineChecker`].

use super::diag::{Code, Finding};
use super::fields::{required_fields, FieldLookup};
use super::formats::{
    check_base64, clip, did_you_mean, int_name, looks_numeric, ty_name, valid_duration,
    valid_timestamp,
};
use super::job::{self, child_hash, flag, kind, JobStats};
use super::path::{Findings, Path, Seg};
use super::rules::{self, Entry, MessageCtx, NO_FIELD};
use super::schema::{ENUMS, MESSAGES, ROOT};
use super::schema_types::{Container, Field, Ty};
use super::value::{JsonRef, Kind};

/// What the walk expects at a value.
#[derive(Clone, Copy)]
enum Expect {
    /// A value of a schema type.
    Ty(Ty, Option<&'static Field>),
    /// User data: only the whole-job bookkeeping applies.
    Free,
}

/// The schema walk over one parsed line (see the module doc).
pub(super) struct Walk<'w, 'i> {
    path: Path<'i>,
    /// The members of the message objects being walked, outermost first: each object pushes its
    /// members (with the field each key resolved to) as it walks them, hands its own to the
    /// rules, and truncates them away.
    entries: Vec<Entry<'i, 'i>>,
    /// json_name of the field whose value is being walked (consumed by the next message object).
    current_field: Option<&'static str>,
    findings: &'w mut Findings,
    job: &'w mut JobStats,
    line_index: u64,
    line_offset: u64,
    /// Members entered so far on this line (document order), for [`Seen::order`].
    members_seen: u64,
}

impl<'w, 'i> Walk<'w, 'i> {
    /// A walk that reuses `path` and `entries` (empty, recycled from the last line) and adds to
    /// `findings` and `job`; `line_index` and `line_offset` are recorded for whole-job findings.
    pub(super) fn new(
        path: Path<'i>,
        entries: Vec<Entry<'i, 'i>>,
        findings: &'w mut Findings,
        job: &'w mut JobStats,
        line_index: u64,
        line_offset: u64,
    ) -> Self {
        Walk {
            path,
            entries,
            current_field: None,
            findings,
            job,
            line_index,
            line_offset,
            members_seen: 0,
        }
    }

    /// The findings the walk adds to.
    pub(super) fn findings(&mut self) -> &mut Findings {
        self.findings
    }

    /// The path and entry buffers, for the next line.
    pub(super) fn into_buffers(self) -> (Path<'i>, Vec<Entry<'i, 'i>>) {
        (self.path, self.entries)
    }

    /// Walks the line's top-level object: `request` against the schema, other members as user
    /// data (their names go to `extras`).
    pub(super) fn line(&mut self, root: JsonRef<'i, 'i>, extras: &mut Vec<String>) {
        let mut request = None;
        let mut seen_request = false;
        self.path.set_root(root);
        for (n, (key, value)) in root.members().enumerate() {
            let h = child_hash(job::ROOT_HASH, key);
            self.members_seen += 1;
            self.path.push(Seg::Member(key, n as u32));
            self.key_column(h, key);
            if key == "request" {
                if seen_request {
                    // Which of the two a reader takes differs (first or last wins, or a refusal),
                    // so the line cannot be sent, nor its request identified for dedup.
                    self.findings.at_key(
                        Code::E_DUPLICATE_FIELD,
                        &self.path,
                        &[],
                        "`request` appears twice on this line; JSON readers differ on which one they use (or reject the line), so it is not sent: keep one",
                    );
                }
                seen_request = true;
                request = Some(value);
                self.value(value, Expect::Ty(Ty::Message(ROOT), None), h, 1, None);
            } else {
                extras.push(key.to_string());
                if let Some(s) = value.as_str() {
                    if looks_numeric(s) {
                        self.findings.at(
                            Code::W_NUMERIC_STRING_KEY,
                            &self.path,
                            &[],
                            format!("`{key}` is the string \"{s}\", which looks like a number: Vertex has been seen to return such values as numbers, so matching results by it may fail; add a non-digit prefix"),
                        );
                    }
                }
                self.value(value, Expect::Free, h, 1, None);
            }
            self.path.pop();
        }
        if request.is_none() {
            self.findings.items.push(Finding {
                code: Code::E_MISSING_REQUEST,
                pointer: String::new(),
                key_nth: Vec::new(),
                message: "no `request` member: each line must be {\"request\": {…GenerateContentRequest…}}".into(),
                at_key: false,
            });
        }
        self.record(job::ROOT_HASH, kind::OBJECT | kind::SINGLE, 0, false);
    }

    /// Walks `v` at path hash `h`; `depth` counts enclosing objects (the line is 0).
    ///
    /// The common case (a single value where a single value or user data is expected) is
    /// inlined into the callers; lists, maps and arrays go through [`value_slow`](Self::value_slow).
    #[inline(always)]
    fn value(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        let single = match expect {
            Expect::Ty(_, Some(field)) => field.container == Container::Single,
            _ => true,
        };
        if single && v.kind() != Kind::Array {
            self.record_single(v, h, depth);
            self.typed(v, expect, h, depth, parent_msg);
        } else {
            self.value_slow(v, expect, h, depth, parent_msg);
        }
    }

    /// [`value`](Self::value) for repeated fields, maps and arrays.
    #[inline(never)]
    fn value_slow(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        // Containers first: the field decides whether an array is expected.
        if let Expect::Ty(_, Some(field)) = expect {
            match field.container {
                Container::Repeated => {
                    if v.kind() == Kind::Array {
                        self.record(h, kind::ARRAY, 0, false);
                        for (i, e) in v.elements().enumerate() {
                            self.path.push(Seg::Index(i));
                            self.element(e, Expect::Ty(field.ty, None), h, depth, parent_msg);
                            self.path.pop();
                        }
                        return;
                    }
                    if v.kind() != Kind::Null {
                        self.findings.at(
                            Code::W_SINGLE_FOR_REPEATED,
                            &self.path,
                            &[],
                            format!("`{}` should be a list; a single {} was given (seen accepted, but mixing it with lists in one file fails the whole job)", field.json_name, v.kind().name()),
                        );
                    }
                    return self.value(v, Expect::Ty(field.ty, None), h, depth, parent_msg);
                }
                Container::Map => {
                    if v.kind() != Kind::Object {
                        return self.mismatch(v, "an object (map)", h, depth);
                    }
                    self.object_bits(v, h, depth);
                    for (n, (key, mv)) in v.members().enumerate() {
                        let ch = child_hash(h, key);
                        self.members_seen += 1;
                        self.path.push(Seg::Member(key, n as u32));
                        self.key_column(ch, key);
                        self.value(mv, Expect::Ty(field.ty, None), ch, depth + 1, parent_msg);
                        self.path.pop();
                    }
                    return;
                }
                Container::Single => {}
            }
        }
        match v.kind() {
            Kind::Array => {
                self.record(h, kind::ARRAY, 0, false);
                self.unexpected_array(v, expect, h, depth, parent_msg);
            }
            _ => {
                self.record_single(v, h, depth);
                self.typed(v, expect, h, depth, parent_msg);
            }
        }
    }

    /// Walks one element of an array at path hash `h` (the array's own path: indexes are ignored).
    #[inline(always)]
    fn element(
        &mut self,
        e: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        match e.kind() {
            Kind::Array => {
                self.record(h, 0, flag::NESTED_ARRAY, false);
                self.unexpected_array(e, expect, h, depth, parent_msg);
            }
            _ => {
                self.record_elem_kind(e, h, depth);
                self.typed(e, expect, h, depth, parent_msg);
            }
        }
    }

    /// An array where the schema expects one value (or user data): reports the type unless any
    /// value is allowed, then walks the elements as user data for the whole-job checks.
    fn unexpected_array(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        if let Expect::Ty(ty, _) = expect {
            if !matches!(ty, Ty::Any) {
                self.type_error(v, ty);
            }
        }
        for (i, e) in v.elements().enumerate() {
            self.path.push(Seg::Index(i));
            self.element(e, Expect::Free, h, depth, parent_msg);
            self.path.pop();
        }
    }

    /// Reports a value whose JSON type does not fit, and still walks it as user data.
    fn mismatch(&mut self, v: JsonRef<'i, 'i>, wanted: &str, h: u64, depth: usize) {
        self.findings.at(
            Code::E_TYPE,
            &self.path,
            &[],
            format!("expected {wanted}, found {}", v.kind().name()),
        );
        if v.kind() == Kind::Array {
            self.value(v, Expect::Free, h, depth, None);
        } else {
            self.record_single(v, h, depth);
            self.typed(v, Expect::Free, h, depth, None);
        }
    }

    fn type_error(&mut self, v: JsonRef<'_, 'i>, ty: Ty) {
        self.findings.at(
            Code::E_TYPE,
            &self.path,
            &[],
            format!("expected {}, found {}", ty_name(ty), v.kind().name()),
        );
    }

    /// Checks a non-array value against `expect` and descends into objects.
    ///
    /// Inlined for the common cases (user data, a message object, a string field); the other
    /// types go through [`typed_slow`](Self::typed_slow).
    #[inline(always)]
    fn typed(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        match expect {
            Expect::Free => {
                if v.kind() == Kind::Object {
                    self.free_object(v, h, depth);
                }
            }
            Expect::Ty(Ty::Message(m), _) if v.kind() == Kind::Object => {
                self.message(v, m, h, depth, parent_msg)
            }
            Expect::Ty(Ty::String, _) if v.kind() == Kind::String => {}
            _ => self.typed_slow(v, expect, h, depth, parent_msg),
        }
    }

    /// [`typed`](Self::typed) for everything else.
    #[inline(never)]
    fn typed_slow(
        &mut self,
        v: JsonRef<'i, 'i>,
        expect: Expect,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        let ty = match expect {
            Expect::Free => {
                if v.kind() == Kind::Object {
                    self.free_object(v, h, depth);
                }
                return;
            }
            Expect::Ty(ty, _) => ty,
        };
        if v.kind() == Kind::Null {
            // A null leaves the field unset in protobuf JSON; the job check warns about it.
            return;
        }
        match ty {
            Ty::Message(m) => {
                if v.kind() != Kind::Object {
                    return self.type_error(v, ty);
                }
                self.message(v, m, h, depth, parent_msg);
            }
            Ty::Struct => {
                if v.kind() != Kind::Object {
                    return self.type_error(v, ty);
                }
                self.free_object(v, h, depth);
            }
            Ty::Any => {
                if v.kind() == Kind::Object {
                    self.free_object(v, h, depth);
                }
            }
            Ty::String => {
                if v.kind() != Kind::String {
                    self.type_error(v, ty);
                }
            }
            Ty::Bool => {
                if v.kind() != Kind::Bool {
                    self.type_error(v, ty);
                }
            }
            Ty::Bytes => match v.as_str() {
                None => self.type_error(v, ty),
                Some(s) => {
                    if let Err(at) = check_base64(s.as_bytes()) {
                        self.findings.at(Code::E_BASE64, &self.path, &[], format!("not valid base64 (bad byte at offset {at} of the string): inline data must be base64-encoded"));
                    }
                }
            },
            Ty::Int32 | Ty::Int64 | Ty::UInt32 | Ty::UInt64 => self.integer(v, ty),
            Ty::Number => match v.kind() {
                Kind::Integer | Kind::Float => {}
                Kind::String => {
                    let s = v.as_str().unwrap_or("");
                    if !matches!(s, "NaN" | "Infinity" | "-Infinity")
                        && s.trim().parse::<f64>().is_err()
                    {
                        self.type_error(v, ty);
                    }
                }
                _ => self.type_error(v, ty),
            },
            Ty::Duration => match v.as_str() {
                None => self.type_error(v, ty),
                Some(s) => {
                    if !valid_duration(s) {
                        self.findings.at(Code::E_DURATION, &self.path, &[], format!("\"{}\" is not a duration: write seconds with an `s` suffix, e.g. \"1.5s\", at most 315576000000s either way", clip(s)));
                    }
                }
            },
            Ty::Timestamp => match v.as_str() {
                None => self.type_error(v, ty),
                Some(s) => {
                    if !valid_timestamp(s) {
                        self.findings.at(Code::E_TIMESTAMP, &self.path, &[], format!("\"{}\" is not an RFC 3339 timestamp such as \"2025-01-31T12:00:00Z\"", clip(s)));
                    }
                }
            },
            Ty::Enum(e) => self.enum_value(v, e),
        }
    }

    fn integer(&mut self, v: JsonRef<'_, 'i>, ty: Ty) {
        let value: Option<i128> = match v.kind() {
            Kind::Integer => v.as_integer(),
            Kind::Float => v
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1.8e19)
                .map(|f| f as i128),
            Kind::String => v.as_str().and_then(|s| s.parse::<i128>().ok()),
            _ => return self.type_error(v, ty),
        };
        let (lo, hi): (i128, i128) = match ty {
            Ty::Int32 => (i32::MIN as i128, i32::MAX as i128),
            Ty::UInt32 => (0, u32::MAX as i128),
            Ty::Int64 => (i64::MIN as i128, i64::MAX as i128),
            _ => (0, u64::MAX as i128),
        };
        match value {
            Some(n) if n >= lo && n <= hi => {}
            Some(n) => self.findings.at(
                Code::E_INTEGER,
                &self.path,
                &[],
                format!("{n} is outside the {} range [{lo}, {hi}]", int_name(ty)),
            ),
            None => self.findings.at(
                Code::E_INTEGER,
                &self.path,
                &[],
                format!(
                    "expected {}, found a value that is not a whole number",
                    ty_name(ty)
                ),
            ),
        }
    }

    fn enum_value(&mut self, v: JsonRef<'_, 'i>, e: u16) {
        let def = &ENUMS[e as usize];
        match v.kind() {
            Kind::String => {}
            // Protobuf JSON also takes an enum's number.
            Kind::Integer => {
                let n = v.as_integer().unwrap_or(-1);
                if n < 0 || n >= def.values.len() as i128 {
                    self.findings.at(
                        Code::E_ENUM,
                        &self.path,
                        &[],
                        format!(
                            "{n} is not a number of an enum value of {} (0..{})",
                            def.name,
                            def.values.len()
                        ),
                    );
                }
                return;
            }
            _ => return self.type_error(v, Ty::Enum(e)),
        }
        let s = v.as_str().unwrap_or("");
        if let Some(i) = def.values.iter().position(|x| *x == s) {
            if def.deprecated.get(i).copied().unwrap_or(false) {
                self.findings.at(
                    Code::W_DEPRECATED_VALUE,
                    &self.path,
                    &[],
                    format!("{s} is deprecated in {}", def.name),
                );
            }
            return;
        }
        if let Some(found) = def.values.iter().find(|x| x.eq_ignore_ascii_case(s)) {
            // Lower-case Schema types were seen accepted in real batch output: no finding there.
            if def.name != "Schema.type" {
                self.findings.at(
                    Code::W_ENUM_CASE,
                    &self.path,
                    &[],
                    format!(
                        "\"{s}\" differs from the enum value {found} only in case; write {found}"
                    ),
                );
            }
            return;
        }
        let suggestion = did_you_mean(s, def.values.iter().copied());
        let listed = if def.values.len() <= 12 {
            format!("; allowed: {}", def.values.join(", "))
        } else {
            String::new()
        };
        self.findings.at(
            Code::E_ENUM,
            &self.path,
            &[],
            format!(
                "\"{}\" is not a value of {}{}{}",
                clip(s),
                def.name,
                suggestion,
                listed
            ),
        );
    }

    /// An object of user data: keys are column names; values are walked for the job checks.
    fn free_object(&mut self, v: JsonRef<'i, 'i>, h: u64, depth: usize) {
        for (n, (key, mv)) in v.members().enumerate() {
            let ch = child_hash(h, key);
            self.members_seen += 1;
            self.path.push(Seg::Member(key, n as u32));
            self.key_column(ch, key);
            self.value(mv, Expect::Free, ch, depth + 1, None);
            self.path.pop();
        }
    }

    fn message(
        &mut self,
        v: JsonRef<'i, 'i>,
        m: u16,
        h: u64,
        depth: usize,
        parent_msg: Option<u16>,
    ) {
        let msg = &MESSAGES[m as usize];
        // The field this object sits under (set by the enclosing message's loop).
        let my_field = self.current_field;
        // One bit per field (no message has more than 64, checked at compile time).
        let mut seen: u64 = 0;
        let lookup = FieldLookup::of(m);
        // Built on the object's first repeated field only.
        let mut repeats: Option<Repeats> = None;
        let start = self.entries.len();
        for (n, (key, mv)) in v.members().enumerate() {
            let ch = child_hash(h, key);
            self.members_seen += 1;
            self.path.push(Seg::Member(key, n as u32));
            self.key_column(ch, key);
            let found = lookup.find(key);
            self.entries.push(Entry {
                field: found.map_or(NO_FIELD, |(i, _)| i as u16),
                key,
                value: mv,
            });
            match found {
                Some((i, field)) => {
                    let bit = 1u64 << i;
                    if seen & bit != 0 {
                        // The same value twice is harmless; two values are ambiguous: readers
                        // take the first, the last, or refuse, and the rules checked the first.
                        // Both facts are worked out once per object and field, so a field
                        // repeated 100k times costs linear time, not quadratic.
                        let repeats = repeats.get_or_insert_with(|| Repeats::of(v, lookup));
                        let first = repeats.first_hash(i, &self.entries[start..]);
                        let same_value = first == canonical_hash_of(mv);
                        let (code, what) = if repeats.both_spellings(i) {
                            (Code::E_DUPLICATE_FIELD, "is given twice, in camelCase and snake_case; protobuf JSON parsing rejects that")
                        } else if same_value {
                            (
                                Code::W_DUPLICATE_KEY,
                                "appears twice in this object, with the same value",
                            )
                        } else {
                            (
                                Code::E_DUPLICATE_FIELD,
                                "appears twice in this object with different values; JSON readers differ on which one they use (protobuf's JSON parsing rejects it), so the line is not sent: keep one",
                            )
                        };
                        self.findings.at_key(
                            code,
                            &self.path,
                            &[],
                            format!("`{}` {what}", field.json_name),
                        );
                    }
                    seen |= bit;
                    if field.beta_only {
                        self.findings.at_key(Code::W_BETA_FIELD, &self.path, &[], format!("`{key}` exists only in the v1beta1 API of {}; the v1 batch endpoint may reject or ignore it", msg.name));
                        self.value(mv, Expect::Free, ch, depth + 1, Some(m));
                    } else {
                        if field.deprecated {
                            // Reported once per key path and file, with a count: a deprecated
                            // field is usually on every line.
                            self.record(ch, 0, flag::DEPRECATED, true);
                        }
                        self.current_field = Some(field.json_name);
                        self.value(
                            mv,
                            Expect::Ty(field.ty, Some(field)),
                            ch,
                            depth + 1,
                            Some(m),
                        );
                    }
                }
                None => {
                    if let Some(why) = rules::sdk_only_field(m, key) {
                        self.findings
                            .at_key(Code::W_SDK_FIELD, &self.path, &[], why);
                    } else if mv.kind() == Kind::Null {
                        // Protobuf JSON reads a null as "unset" and Vertex ran such lines
                        // (docs/policy.md, "Unknown members set to null").
                        self.findings.at_key(
                            Code::W_UNKNOWN_FIELD_NULL,
                            &self.path,
                            &[],
                            format!("unknown field `{key}` in {} is null: Vertex reads a null as unset and has run such lines, so it is dropped and reaches the model as nothing (it still makes the object non-empty for the import)", msg.name),
                        );
                    } else {
                        let names = msg.fields.iter().map(|f| {
                            if key.contains('_') {
                                f.snake_name
                            } else {
                                f.json_name
                            }
                        });
                        let suggestion = did_you_mean(key, names);
                        self.findings.at_key(
                            Code::E_UNKNOWN_FIELD,
                            &self.path,
                            &[],
                            format!("unknown field `{key}` in {}{suggestion}", msg.name),
                        );
                    }
                    self.value(mv, Expect::Free, ch, depth + 1, Some(m));
                }
            }
            self.path.pop();
        }
        for &i in required_fields(m) {
            let i = i as usize;
            if seen & (1u64 << i) == 0 {
                self.findings.at(
                    Code::E_REQUIRED,
                    &self.path,
                    &[],
                    format!("{} needs `{}`", msg.name, msg.fields[i].json_name),
                );
            }
        }
        // Siblings (the next element of the same list) see the same field name.
        self.current_field = my_field;
        let ctx = MessageCtx {
            msg: m,
            parent: parent_msg,
            field: my_field,
        };
        rules::check_entries(ctx, &self.entries[start..], &self.path, self.findings);
        self.entries.truncate(start);
    }
}

// Every message has at most 64 fields, so [`Walk::message`] tracks the fields it saw in a `u64`.
const _: () = {
    let mut m = 0;
    while m < MESSAGES.len() {
        assert!(MESSAGES[m].fields.len() <= 64);
        m += 1;
    }
};

/// What [`Walk::message`] needs to judge a repeated field, computed once per object.
struct Repeats {
    /// Bit `i`: the object has field `i` spelled as its `json_name`.
    camel: u64,
    /// Bit `i`: the object has field `i` spelled as its `snake_name`.
    snake: u64,
    /// Canonical hash of the first value of each repeated field, as found.
    first: Vec<(usize, u128)>,
}

impl Repeats {
    /// One pass over the object's members.
    #[cold]
    fn of(v: JsonRef<'_, '_>, lookup: FieldLookup) -> Self {
        let (mut camel, mut snake) = (0u64, 0u64);
        for (k, _) in v.members() {
            if let Some((i, field)) = lookup.find(k) {
                if k == field.json_name {
                    camel |= 1 << i;
                }
                if k == field.snake_name && field.snake_name != field.json_name {
                    snake |= 1 << i;
                }
            }
        }
        Repeats {
            camel,
            snake,
            first: Vec::new(),
        }
    }

    /// Whether the object has field `i` both as `json_name` and `snake_name` (so a repeat is a
    /// spelling clash; a field whose two names are one never clashes).
    fn both_spellings(&self, i: usize) -> bool {
        (self.camel & self.snake) & (1 << i) != 0
    }

    /// The canonical hash of the first value of field `i` among `entries` (the object's members
    /// so far), found once.
    #[cold]
    fn first_hash(&mut self, i: usize, entries: &[Entry<'_, '_>]) -> u128 {
        if let Some(&(_, h)) = self.first.iter().find(|(f, _)| *f == i) {
            return h;
        }
        let h = entries
            .iter()
            .find(|e| e.field == i as u16)
            .map_or(0, |e| canonical_hash_of(e.value));
        self.first.push((i, h));
        h
    }
}

/// The canonical hash of a value (see [`super::canon`]); for the rare repeated field.
#[cold]
fn canonical_hash_of(v: JsonRef<'_, '_>) -> u128 {
    let mut scratch = super::canon::CanonScratch::default();
    super::canon::canonical_hash(v, &mut scratch)
}

mod record;

#[cfg(test)]
mod tests;
