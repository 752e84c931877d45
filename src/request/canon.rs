//! Canonical form of a JSON value: the identity used to deduplicate requests and to match the
//! request Vertex echoes back in its output rows.
//!
//! Two values are *canonically equal* when they are equal JSON after these rules:
//!
//! - **Object members are sorted by key**, comparing the unescaped keys byte by byte (UTF-8 byte
//!   order, which is code-point order).
//! - **Members whose value is `null` are dropped** (protobuf reads `null` as "unset", and Vertex's
//!   echo sometimes fills missing members with `"fileData": null`). A `null` *element of an array*
//!   is kept: array positions are meaningful, so `[null]` differs from `[]`.
//! - **Duplicate keys are all kept**, ordered by key and then by their position in the document
//!   (a stable sort). So `{"a":1,"b":0,"a":2}` equals `{"b":0,"a":1,"a":2}` but not
//!   `{"a":2,"a":1,"b":0}`. JSON parsers disagree about which duplicate wins; keeping all of them
//!   never merges two requests that some reader could tell apart.
//! - **Arrays keep their order.**
//! - **Whitespace is insignificant; strings compare after unescaping** (`"\u00e9"` equals `"é"`,
//!   `"\/"` equals `"/"`).
//! - **Equal numbers are equal**: a number whose value is an integer (an integer literal, or a
//!   float such as `1.0`, `1e0`, `10e-1`, `-0.0`) is compared as that integer (`i128`), so integer
//!   literals beyond 2^53 are compared exactly; any other number is compared by its `f64` value
//!   (the correctly rounded parse of its text). So `9007199254740993` differs from
//!   `9007199254740992`, while `9007199254740993.0` (a float literal, which rounds to
//!   2^53) equals `9007199254740992`. simd-json rejects integer literals beyond the `u64`/`i64`
//!   range, so such lines never reach this module.
//! - Types stay distinct: `1` ≠ `"1"` ≠ `true`, `{}` ≠ `[]`.
//!
//! Key *spelling* is not normalised by [`canonical_hash`]: `systemInstruction` and
//! `system_instruction` are different keys there (Vertex's echo keeps the spelling, so a request and
//! its echo still hash equal). The schema-aware JSON form ([`write_canonical_json_message`]) used by
//! the prompt stream does normalise spelling.
//!
//! [`canonical_hash`] walks the parsed tape (no JSON text is produced) and writes an unambiguous
//! binary encoding — a type tag before every value, a length before every string and key, an end
//! tag after every array and object — into a reused buffer, then hashes it with one xxh3-128, so
//! `["ab"]`, `["a","b"]` and `"ab"` all encode differently. Strings of 256 bytes or more are
//! encoded as their length and their own xxh3-128 (hashed in place rather than copied; which form
//! a string gets depends only on its length). The encoding is little-endian and the same on every
//! platform; it is pinned by a test, since run indexes store these hashes. Objects whose keys are already in order and hold
//! no `null` (the common case) are encoded straight from the tape; other objects collect their
//! members on a stack shared by all depths (reused across calls) and sort them there, so the hot
//! path does not allocate once the buffers have grown.
//!
//! [`write_canonical_json`] writes the same canonical form as compact JSON text (sorted keys, nulls
//! dropped, numbers normalised), for the prompt stream and for people.

use std::cmp::Ordering;
use std::io::Write as _;

use xxhash_rust::xxh3::xxh3_128;

use super::fields::find_field;
use super::schema::MESSAGES;
use super::schema_types::{Container, Ty};
use super::value::{recycle, JsonRef, Kind};

/// Reusable buffers for [`canonical_hash`] and the canonical JSON writers: one per worker thread.
#[derive(Default)]
pub struct CanonScratch {
    /// The binary encoding of the value being hashed.
    buf: Vec<u8>,
    /// Members of the objects being sorted, for every depth at once (lifetime-erased while idle;
    /// see [`with_stack`]).
    stack: Vec<Entry<'static, 'static>>,
    /// The same for [`canonical_hash`], whose members need no schema context.
    members: Vec<Member<'static, 'static>>,
}

impl std::fmt::Debug for CanonScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CanonScratch")
            .field("buf_capacity", &self.buf.capacity())
            .field("stack_capacity", &self.stack.capacity())
            .field("members_capacity", &self.members.capacity())
            .finish()
    }
}

/// The canonical 128-bit hash (xxh3-128) of a JSON value: equal iff the values are canonically
/// equal (see the module documentation), up to hash collisions.
///
/// For a request line, hash the `request` member, not the whole line (extra top-level members such
/// as `id` are not part of the request).
pub fn canonical_hash(value: JsonRef<'_, '_>, scratch: &mut CanonScratch) -> u128 {
    let CanonScratch { buf, members, .. } = scratch;
    buf.clear();
    with_stack(members, |members| HashEncoder { buf, members }.value(value));
    xxh3_128(buf)
}

/// Parses `json` (any JSON value, e.g. a `request` object or a whole line) and returns the
/// canonical hash of the whole value, or `None` if it does not parse. Allocates: for tests and
/// occasional use (the hot path uses [`canonical_hash`] on an already parsed tape).
pub fn canonical_hash_bytes(json: &[u8]) -> Option<u128> {
    let mut bytes = json.to_vec();
    let tape = simd_json::to_tape(&mut bytes).ok()?;
    let root = JsonRef::root(&tape.0)?;
    Some(canonical_hash(root, &mut CanonScratch::default()))
}

/// Parses one JSONL line (`{"request": …, …}`, as written to a shard or echoed in an output row)
/// and returns the canonical hash of its `request` member; `None` if the line does not parse, is
/// not an object, or has no `request`.
pub fn canonical_request_hash(line: &[u8]) -> Option<u128> {
    let mut bytes = line.to_vec();
    let tape = simd_json::to_tape(&mut bytes).ok()?;
    let root = JsonRef::root(&tape.0)?;
    let request = root.get("request")?;
    Some(canonical_hash(request, &mut CanonScratch::default()))
}

/// Appends the canonical form of `value` to `out` as compact JSON text: keys sorted as in
/// [`canonical_hash`], members with `null` values dropped, numbers normalised (integral values
/// within 64 bits in decimal, other numbers as Rust's shortest round-trip form of the `f64`, e.g.
/// `0.1`, `1e-7`, `1e20`), strings re-escaped
/// minimally (`"`, `\` and control characters; everything else raw UTF-8). Canonically equal values
/// give identical bytes. The output is valid UTF-8 and never contains the byte `0xFF`.
pub fn write_canonical_json(value: JsonRef<'_, '_>, scratch: &mut CanonScratch, out: &mut Vec<u8>) {
    write_json(value, Ctx::Plain, scratch, out);
}

/// Like [`write_canonical_json`], for a value of the schema message `message` (an index into
/// [`MESSAGES`], e.g. [`msg::TOOL`](super::schema::msg::TOOL)): field names are normalised to
/// their camelCase spelling (so `function_declarations` and `functionDeclarations` give the same
/// text) and sorted by it, recursively through message-typed fields; the keys of maps (such as a
/// schema's `properties`) and everything inside free-form values (`Struct`/`Value` fields such as
/// `args` or `parametersJsonSchema`) are user data and kept as written. Unknown fields keep their
/// spelling.
pub fn write_canonical_json_message(
    value: JsonRef<'_, '_>,
    message: u16,
    scratch: &mut CanonScratch,
    out: &mut Vec<u8>,
) {
    write_json(value, Ctx::Message(message), scratch, out);
}

fn write_json(value: JsonRef<'_, '_>, ctx: Ctx, scratch: &mut CanonScratch, out: &mut Vec<u8>) {
    let mut sink = JsonSink { out };
    with_stack(&mut scratch.stack, |stack| {
        Walker {
            sink: &mut sink,
            stack,
        }
        .value(value, ctx)
    });
}

/// One member being sorted: canonical key, value, and the schema context of the value.
type Entry<'t, 'i> = (&'i str, JsonRef<'t, 'i>, Ctx);

/// Lends the stored (empty) stack to `f` with the lifetimes of the current tape, keeping its
/// allocation (see [`recycle`]); the stack is always empty between calls. `T` and `U` are the same
/// member type with `'static` and with the tape's lifetimes.
fn with_stack<T, U, R>(stored: &mut Vec<T>, f: impl FnOnce(&mut Vec<U>) -> R) -> R {
    let mut stack: Vec<U> = recycle(std::mem::take(stored));
    let result = f(&mut stack);
    *stored = recycle(stack);
    result
}

/// One member of an object being hashed: key and value.
type Member<'t, 'i> = (&'i str, JsonRef<'t, 'i>);

/// The schema context of a value, for spelling normalisation in the JSON writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    /// Plain JSON: keys as written.
    Plain,
    /// A value (or array of values) of this message: field names normalised.
    Message(u16),
    /// A map whose values (or arrays of values) are this message: keys as written.
    MapOf(u16),
}

/// A number in canonical form.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

/// 2^127 as `f64`: integral floats below it in magnitude convert to `i128` exactly.
const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

#[inline]
fn number(value: &JsonRef<'_, '_>) -> Num {
    if let Some(i) = value.as_integer() {
        return Num::Int(i);
    }
    let f = value.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < TWO_POW_127 {
        Num::Int(f as i128)
    } else {
        Num::Float(f)
    }
}

/// Receives the canonical value, in canonical order.
trait Sink {
    fn null(&mut self);
    fn boolean(&mut self, b: bool);
    fn number(&mut self, n: Num);
    fn string(&mut self, s: &str);
    fn begin_array(&mut self);
    /// Before element `index` of the current array.
    fn element(&mut self, index: usize);
    fn end_array(&mut self);
    fn begin_object(&mut self);
    /// Member `index` (after nulls are dropped) of the current object; its value follows.
    fn key(&mut self, key: &str, index: usize);
    fn end_object(&mut self);
}

struct Walker<'a, 't, 'i, S> {
    sink: &'a mut S,
    stack: &'a mut Vec<Entry<'t, 'i>>,
}

impl<'t, 'i, S: Sink> Walker<'_, 't, 'i, S> {
    fn value(&mut self, value: JsonRef<'t, 'i>, ctx: Ctx) {
        match value.kind() {
            Kind::Null => self.sink.null(),
            Kind::Bool => self.sink.boolean(value.as_bool().unwrap_or(false)),
            Kind::Integer | Kind::Float => self.sink.number(number(&value)),
            Kind::String => self.sink.string(value.as_str().unwrap_or("")),
            Kind::Array => {
                self.sink.begin_array();
                for (i, element) in value.elements().enumerate() {
                    self.sink.element(i);
                    self.value(element, ctx);
                }
                self.sink.end_array();
            }
            Kind::Object => self.object(value, ctx),
        }
    }

    fn object(&mut self, value: JsonRef<'t, 'i>, ctx: Ctx) {
        self.sink.begin_object();
        let child = match ctx {
            Ctx::Plain => Some(Ctx::Plain),
            Ctx::MapOf(m) => Some(Ctx::Message(m)),
            Ctx::Message(_) => None,
        };
        match child {
            // Fast path: keys as written, already in order, no nulls: straight from the tape.
            Some(child) if in_order_without_nulls(&value) => {
                for (i, (key, v)) in value.members().enumerate() {
                    self.sink.key(key, i);
                    self.value(v, child);
                }
            }
            _ => {
                let base = self.stack.len();
                for (key, v) in value.members() {
                    if v.kind() == Kind::Null {
                        continue;
                    }
                    let (key, child) = match ctx {
                        Ctx::Plain => (key, Ctx::Plain),
                        Ctx::MapOf(m) => (key, Ctx::Message(m)),
                        Ctx::Message(m) => field_ctx(m, key),
                    };
                    self.stack.push((key, v, child));
                }
                // Stable: duplicate keys keep their document order.
                self.stack[base..].sort_by(|a, b| key_cmp(a.0.as_bytes(), b.0.as_bytes()));
                let end = self.stack.len();
                for j in base..end {
                    let (key, v, child) = self.stack[j];
                    self.sink.key(key, j - base);
                    self.value(v, child);
                }
                self.stack.truncate(base);
            }
        }
        self.sink.end_object();
    }
}

/// True when the object's keys are in non-decreasing byte order and no value is `null`.
#[inline]
fn in_order_without_nulls(value: &JsonRef<'_, '_>) -> bool {
    let mut prev: &[u8] = &[];
    for (key, v) in value.members() {
        let key = key.as_bytes();
        if key_cmp(key, prev) == Ordering::Less || v.kind() == Kind::Null {
            return false;
        }
        prev = key;
    }
    true
}

/// Byte-order comparison of two keys, like `<[u8]>::cmp` but inlined: keys are short and usually
/// differ in their first bytes, where a call to `memcmp` costs more than the comparison.
#[inline]
fn key_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Byte by byte over the first 8 bytes, then 8 at a time.
    while i < n.min(8) {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    while i + 8 <= n {
        let x = u64::from_be_bytes(a[i..i + 8].try_into().unwrap_or([0; 8]));
        let y = u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        if x != y {
            return x.cmp(&y);
        }
        i += 8;
    }
    while i < n {
        if a[i] != b[i] {
            return a[i].cmp(&b[i]);
        }
        i += 1;
    }
    a.len().cmp(&b.len())
}

/// The camelCase name of `key` in message `m` and the context of its value; unknown keys are kept
/// and their values are plain JSON.
fn field_ctx(m: u16, key: &str) -> (&str, Ctx) {
    if (m as usize) >= MESSAGES.len() {
        return (key, Ctx::Plain);
    }
    match find_field(m, key) {
        Some((_, field)) => {
            let ctx = match (field.container, field.ty) {
                (Container::Map, Ty::Message(inner)) => Ctx::MapOf(inner),
                (Container::Map, _) => Ctx::Plain,
                (_, Ty::Message(inner)) => Ctx::Message(inner),
                _ => Ctx::Plain,
            };
            (field.json_name, ctx)
        }
        None => (key, Ctx::Plain),
    }
}

// Tags of the binary encoding hashed by `canonical_hash`.
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_INT64: u8 = 3;
const T_INT128: u8 = 4;
const T_FLOAT: u8 = 5;
const T_STRING: u8 = 6;
const T_ARRAY: u8 = 7;
const T_OBJECT: u8 = 8;
const T_KEY: u8 = 9;
const T_END: u8 = 10;
/// A string of at least [`LONG_STRING`] bytes: its length and its own xxh3-128, so long texts are
/// hashed where they lie instead of being copied into the buffer first. Whether a string is long
/// depends only on its length, so equal strings always encode the same way.
const T_LONG_STRING: u8 = 11;
const LONG_STRING: usize = 256;

// The encoding's pieces, shared by [`HashEncoder`] and the tests' reference sink.

/// `tag`, the length as 8 bytes, the bytes.
#[inline]
fn put_bytes(buf: &mut Vec<u8>, tag: u8, s: &[u8]) {
    let mut head = [tag; 9];
    head[1..].copy_from_slice(&(s.len() as u64).to_le_bytes());
    buf.reserve(9 + s.len());
    buf.extend_from_slice(&head);
    buf.extend_from_slice(s);
}

/// A string: inline below [`LONG_STRING`] bytes, else its length and own xxh3-128.
#[inline(always)]
fn put_string(buf: &mut Vec<u8>, s: &str) {
    let s = s.as_bytes();
    if s.len() >= LONG_STRING {
        put_long_string(buf, s);
    } else {
        put_bytes(buf, T_STRING, s);
    }
}

#[inline(never)]
fn put_long_string(buf: &mut Vec<u8>, s: &[u8]) {
    let mut piece = [T_LONG_STRING; 25];
    piece[1..9].copy_from_slice(&(s.len() as u64).to_le_bytes());
    piece[9..].copy_from_slice(&xxh3_128(s).to_le_bytes());
    buf.extend_from_slice(&piece);
}

/// A number in canonical form.
#[inline]
fn put_number(buf: &mut Vec<u8>, n: Num) {
    match n {
        Num::Int(i) => match i64::try_from(i) {
            Ok(small) => {
                let mut piece = [T_INT64; 9];
                piece[1..].copy_from_slice(&small.to_le_bytes());
                buf.extend_from_slice(&piece);
            }
            Err(_) => {
                let mut piece = [T_INT128; 17];
                piece[1..].copy_from_slice(&i.to_le_bytes());
                buf.extend_from_slice(&piece);
            }
        },
        Num::Float(f) => {
            let mut piece = [T_FLOAT; 9];
            piece[1..].copy_from_slice(&f.to_bits().to_le_bytes());
            buf.extend_from_slice(&piece);
        }
    }
}

/// Writes the binary encoding hashed by [`canonical_hash`]: prefix-free, so distinct canonical
/// values give distinct byte strings.
///
/// A walker of its own rather than a [`Sink`] of [`Walker`]: hashing needs no schema context, and
/// each object's members are read from the tape once, onto the members stack (nulls skipped, order
/// checked on the way), sorted there only when out of order, and encoded from the stack.
struct HashEncoder<'a, 't, 'i> {
    buf: &'a mut Vec<u8>,
    members: &'a mut Vec<Member<'t, 'i>>,
}

impl<'t, 'i> HashEncoder<'_, 't, 'i> {
    /// Scalars are encoded inline; only containers recurse (a call per scalar cost more than the
    /// scalar's encoding).
    #[inline(always)]
    fn value(&mut self, value: JsonRef<'t, 'i>) {
        match value.kind() {
            Kind::String => put_string(self.buf, value.as_str().unwrap_or("")),
            Kind::Object | Kind::Array => self.container(value),
            Kind::Integer | Kind::Float => put_number(self.buf, number(&value)),
            Kind::Bool => self.buf.push(if value.as_bool() == Some(true) {
                T_TRUE
            } else {
                T_FALSE
            }),
            Kind::Null => self.buf.push(T_NULL),
        }
    }

    fn container(&mut self, value: JsonRef<'t, 'i>) {
        if value.kind() == Kind::Array {
            self.buf.push(T_ARRAY);
            for element in value.elements() {
                self.value(element);
            }
            self.buf.push(T_END);
            return;
        }
        self.buf.push(T_OBJECT);
        let base = self.members.len();
        let mut sorted = true;
        let mut prev: &[u8] = &[];
        for (key, v) in value.members() {
            if v.kind() == Kind::Null {
                continue;
            }
            sorted &= key_cmp(key.as_bytes(), prev) != Ordering::Less;
            prev = key.as_bytes();
            self.members.push((key, v));
        }
        if !sorted {
            // Stable: duplicate keys keep their document order.
            self.members[base..].sort_by(|a, b| key_cmp(a.0.as_bytes(), b.0.as_bytes()));
        }
        for j in base..self.members.len() {
            let (key, v) = self.members[j];
            put_bytes(self.buf, T_KEY, key.as_bytes());
            self.value(v);
        }
        self.members.truncate(base);
        self.buf.push(T_END);
    }
}

/// The binary encoding through the generic [`Walker`] (the same pieces, `put_*`): the reference
/// [`HashEncoder`]'s walk is tested against.
#[cfg(test)]
struct HashSink<'a> {
    buf: &'a mut Vec<u8>,
}

#[cfg(test)]
impl Sink for HashSink<'_> {
    #[inline]
    fn null(&mut self) {
        self.buf.push(T_NULL);
    }
    #[inline]
    fn boolean(&mut self, b: bool) {
        self.buf.push(if b { T_TRUE } else { T_FALSE });
    }
    #[inline]
    fn number(&mut self, n: Num) {
        put_number(self.buf, n);
    }
    #[inline]
    fn string(&mut self, s: &str) {
        put_string(self.buf, s);
    }
    #[inline]
    fn begin_array(&mut self) {
        self.buf.push(T_ARRAY);
    }
    #[inline]
    fn element(&mut self, _index: usize) {}
    #[inline]
    fn end_array(&mut self) {
        self.buf.push(T_END);
    }
    #[inline]
    fn begin_object(&mut self) {
        self.buf.push(T_OBJECT);
    }
    #[inline]
    fn key(&mut self, key: &str, _index: usize) {
        put_bytes(self.buf, T_KEY, key.as_bytes());
    }
    #[inline]
    fn end_object(&mut self) {
        self.buf.push(T_END);
    }
}

/// Compact canonical JSON text.
struct JsonSink<'a> {
    out: &'a mut Vec<u8>,
}

impl Sink for JsonSink<'_> {
    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }
    fn boolean(&mut self, b: bool) {
        self.out
            .extend_from_slice(if b { &b"true"[..] } else { &b"false"[..] });
    }
    fn number(&mut self, n: Num) {
        // Writing to a Vec cannot fail.
        let _ = match n {
            Num::Int(i) if i64::try_from(i).is_ok() || u64::try_from(i).is_ok() => {
                write!(self.out, "{i}")
            }
            // Beyond 64 bits the value came from a float literal (JSON parsers, simd-json
            // included, reject such integer literals): write it as the float it is (exact).
            Num::Int(i) => write!(self.out, "{:?}", i as f64),
            // `{:?}` is the shortest round-trip form, valid JSON for finite values (`0.1`,
            // `1e-7`, `1.5e300`); integral values get here only beyond 2^127.
            Num::Float(f) => write!(self.out, "{f:?}"),
        };
    }
    fn string(&mut self, s: &str) {
        escape_json(s, self.out);
    }
    fn begin_array(&mut self) {
        self.out.push(b'[');
    }
    fn element(&mut self, index: usize) {
        if index > 0 {
            self.out.push(b',');
        }
    }
    fn end_array(&mut self) {
        self.out.push(b']');
    }
    fn begin_object(&mut self) {
        self.out.push(b'{');
    }
    fn key(&mut self, key: &str, index: usize) {
        if index > 0 {
            self.out.push(b',');
        }
        escape_json(key, self.out);
        self.out.push(b':');
    }
    fn end_object(&mut self) {
        self.out.push(b'}');
    }
}

/// Writes `s` as a JSON string literal: `"`, `\` and control characters escaped (short forms where
/// JSON has them, else `\u00xx`), everything else raw.
fn escape_json(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // Most strings need no escape: one branch-free (vectorised) scan, then one copy.
    let plain = !bytes.iter().fold(false, |any, &b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..=0x1f => 0,
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if short != 0 {
            out.extend_from_slice(&[b'\\', short]);
        } else {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 15) as usize],
            ]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
#[path = "canon_tests.rs"]
mod tests;
