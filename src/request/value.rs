//! A borrowed view of one parsed line: a cursor over simd-json's tape.
//!
//! The tape is a flat array of nodes; an object node is followed by its keys and values, an array
//! node by its elements, and both record how many nodes they span, so skipping a subtree is O(1).
//! Walking the tape keeps key order and duplicate keys (a hash map would lose both) and allocates
//! nothing.

use simd_json::tape::Node;
use simd_json::StaticNode;

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `null`
    Null,
    /// `true` / `false`
    Bool,
    /// A number with no fraction or exponent that fits 64 bits.
    Integer,
    /// Any other number.
    Float,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

impl Kind {
    /// A lower-case name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Null => "null",
            Kind::Bool => "boolean",
            Kind::Integer | Kind::Float => "number",
            Kind::String => "string",
            Kind::Array => "array",
            Kind::Object => "object",
        }
    }
}

/// One value inside a tape: a node and the nodes it spans.
#[derive(Debug, Clone, Copy)]
pub struct JsonRef<'t, 'i> {
    nodes: &'t [Node<'i>],
}

impl<'t, 'i> JsonRef<'t, 'i> {
    /// The root value of a tape produced by `simd_json::fill_tape*`.
    pub fn root(tape: &'t [Node<'i>]) -> Option<Self> {
        if tape.is_empty() {
            return None;
        }
        Some(JsonRef { nodes: span(tape) })
    }

    /// An identity of this value within its tape (the address of its node), to tell two values
    /// of one parse apart without comparing them.
    pub fn id(&self) -> usize {
        self.nodes.as_ptr() as usize
    }

    /// The JSON type.
    pub fn kind(&self) -> Kind {
        match self.nodes[0] {
            Node::String(_) => Kind::String,
            Node::Object { .. } => Kind::Object,
            Node::Array { .. } => Kind::Array,
            Node::Static(StaticNode::Null) => Kind::Null,
            Node::Static(StaticNode::Bool(_)) => Kind::Bool,
            Node::Static(StaticNode::I64(_)) | Node::Static(StaticNode::U64(_)) => Kind::Integer,
            Node::Static(StaticNode::F64(_)) => Kind::Float,
        }
    }

    /// The string, if this is one (already unescaped).
    pub fn as_str(&self) -> Option<&'i str> {
        match self.nodes[0] {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self.nodes[0] {
            Node::Static(StaticNode::I64(v)) => Some(v as f64),
            Node::Static(StaticNode::U64(v)) => Some(v as f64),
            Node::Static(StaticNode::F64(v)) => Some(v),
            _ => None,
        }
    }

    /// The number as `i128` if it is an integer literal.
    pub fn as_integer(&self) -> Option<i128> {
        match self.nodes[0] {
            Node::Static(StaticNode::I64(v)) => Some(v as i128),
            Node::Static(StaticNode::U64(v)) => Some(v as i128),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.nodes[0] {
            Node::Static(StaticNode::Bool(b)) => Some(b),
            _ => None,
        }
    }

    /// Number of members (object) or elements (array); 0 otherwise.
    pub fn len(&self) -> usize {
        match self.nodes[0] {
            Node::Object { len, .. } | Node::Array { len, .. } => len,
            _ => 0,
        }
    }

    /// True for an empty object or array, and for scalars.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Members of an object in document order (duplicates kept); empty for non-objects.
    pub fn members(&self) -> Members<'t, 'i> {
        match self.nodes[0] {
            Node::Object { len, .. } => Members {
                rest: &self.nodes[1..],
                left: len,
            },
            _ => Members { rest: &[], left: 0 },
        }
    }

    /// Elements of an array in order; empty for non-arrays.
    pub fn elements(&self) -> Elements<'t, 'i> {
        match self.nodes[0] {
            Node::Array { len, .. } => Elements {
                rest: &self.nodes[1..],
                left: len,
            },
            _ => Elements { rest: &[], left: 0 },
        }
    }

    /// The first member whose key is `camel` or its snake_case spelling.
    pub fn field(&self, camel: &str) -> Option<(&'i str, JsonRef<'t, 'i>)> {
        self.members().find(|(k, _)| same_field(k, camel))
    }

    /// The first member whose key is exactly `key`.
    pub fn get(&self, key: &str) -> Option<JsonRef<'t, 'i>> {
        self.members().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The nodes a value starting at `nodes[0]` spans.
fn span<'t, 'i>(nodes: &'t [Node<'i>]) -> &'t [Node<'i>] {
    &nodes[..span_len(nodes)]
}

/// How many nodes the value starting at `nodes[0]` (which must exist) spans, at most
/// `nodes.len()`.
#[inline]
fn span_len(nodes: &[Node<'_>]) -> usize {
    let n = match nodes[0] {
        Node::Object { count, .. } | Node::Array { count, .. } => count.saturating_add(1),
        _ => 1,
    };
    n.min(nodes.len())
}

/// Iterator over an object's `(key, value)` pairs.
pub struct Members<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Members<'t, 'i> {
    type Item = (&'i str, JsonRef<'t, 'i>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.rest.len() < 2 {
            return None;
        }
        self.left -= 1;
        let key = match self.rest[0] {
            Node::String(s) => s,
            _ => "",
        };
        let after = &self.rest[1..];
        let (value, rest) = after.split_at(span_len(after));
        self.rest = rest;
        Some((key, JsonRef { nodes: value }))
    }
}

/// Iterator over an array's elements.
pub struct Elements<'t, 'i> {
    rest: &'t [Node<'i>],
    left: usize,
}

impl<'t, 'i> Iterator for Elements<'t, 'i> {
    type Item = JsonRef<'t, 'i>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 || self.rest.is_empty() {
            return None;
        }
        self.left -= 1;
        let (value, rest) = self.rest.split_at(span_len(self.rest));
        self.rest = rest;
        Some(JsonRef { nodes: value })
    }
}

/// True when `key` is `camel` or its snake_case form (`responseMimeType` ~ `response_mime_type`),
/// without allocating. Protobuf JSON parsing accepts both spellings.
pub fn same_field(key: &str, camel: &str) -> bool {
    if key == camel {
        return true;
    }
    let (k, c) = (key.as_bytes(), camel.as_bytes());
    if k.len() <= c.len() {
        return false;
    }
    let (mut i, mut j) = (0, 0);
    while i < k.len() && j < c.len() {
        let cb = c[j];
        if cb.is_ascii_uppercase() {
            if k[i] != b'_' || i + 1 >= k.len() || k[i + 1] != cb.to_ascii_lowercase() {
                return false;
            }
            i += 2;
        } else {
            if k[i] != cb {
                return false;
            }
            i += 1;
        }
        j += 1;
    }
    i == k.len() && j == c.len()
}

/// The snake_case spelling of a lowerCamelCase name.
pub fn to_snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Turns an emptied vector of `T` into an empty vector of `U` that keeps the allocation, for scratch
/// stacks whose elements borrow from one line's tape: `T` and `U` are the same type with different
/// lifetimes, so collecting the empty iterator reuses the buffer in place (std's in-place iteration
/// for equal size and alignment). (`filter_map` rather than `filter`: it is what changes the type.)
#[allow(clippy::unnecessary_filter_map)]
pub fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tape<R>(json: &str, f: impl FnOnce(JsonRef<'_, '_>) -> R) -> R {
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).unwrap();
        f(JsonRef::root(&tape.0).unwrap())
    }

    #[test]
    fn walks_members_and_elements_in_order_with_duplicates() {
        with_tape(r#"{"a":[1,{"x":null},"s"],"b":2.5,"a":true}"#, |v| {
            let keys: Vec<_> = v.members().map(|(k, v)| (k, v.kind())).collect();
            assert_eq!(
                keys,
                vec![("a", Kind::Array), ("b", Kind::Float), ("a", Kind::Bool)]
            );
            let a = v.get("a").unwrap();
            let kinds: Vec<_> = a.elements().map(|e| e.kind()).collect();
            assert_eq!(kinds, vec![Kind::Integer, Kind::Object, Kind::String]);
            assert_eq!(a.elements().nth(2).unwrap().as_str(), Some("s"));
        });
    }

    #[test]
    fn field_matches_both_spellings() {
        assert!(same_field("response_mime_type", "responseMimeType"));
        assert!(same_field("responseMimeType", "responseMimeType"));
        assert!(!same_field("response_mimetype", "responseMimeType"));
        assert!(!same_field("response_mime_type_", "responseMimeType"));
        assert!(same_field("text", "text"));
        assert_eq!(to_snake("responseMimeType"), "response_mime_type");
        with_tape(r#"{"generation_config":{"top_k":3}}"#, |v| {
            let (k, g) = v.field("generationConfig").unwrap();
            assert_eq!(k, "generation_config");
            assert_eq!(g.field("topK").unwrap().1.as_integer(), Some(3));
        });
    }
}
