//! The position of the walk inside a line, kept as a stack of segments and turned into an RFC 6901
//! JSON pointer only when a finding needs one (most lines have none).
//!
//! A pointer cannot tell apart the members of an object that repeats a key, so the walk pushes
//! [`Seg::Member`] steps that also carry the member's position; when a finding is made, the path
//! works out (from the line's tape) which occurrence of each repeated key it went through, and the
//! finding carries that next to its pointer (see [`Finding::key_nth`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::diag::{push_pointer_token, Code, Finding};
use super::value::JsonRef;

/// Containers with more children than this get a [`Children`] index the first time a finding
/// inside them needs its step resolved; smaller ones are scanned (cheaper than building one).
const INDEX_ABOVE: usize = 32;

/// The children of one large container, indexed by position, so that resolving a step costs O(1)
/// rather than a scan of the siblings before it (which, with a finding on each of 100k members of
/// one object, made the walk quadratic).
#[derive(Debug, Clone)]
struct Children<'a> {
    /// [`JsonRef::id`] of the container.
    of: usize,
    /// Per position: which occurrence of its key the member is (0 for array elements), and the
    /// value.
    items: Vec<(u32, JsonRef<'a, 'a>)>,
}

impl<'a> Children<'a> {
    fn of(v: JsonRef<'a, 'a>) -> Self {
        let items = if v.kind() == super::value::Kind::Object {
            let mut seen: HashMap<&'a str, u32> = HashMap::with_capacity(v.len());
            v.members()
                .map(|(k, mv)| {
                    let n = seen.entry(k).or_insert(0);
                    let nth = *n;
                    *n += 1;
                    (nth, mv)
                })
                .collect()
        } else {
            v.elements().map(|e| (0, e)).collect()
        };
        Children { of: v.id(), items }
    }
}

/// One step from a value to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// The first object member with this key (steps given relative to the walk's position).
    Key(&'a str),
    /// The object member at this position (0-based, among all the object's members), whose key is
    /// the string; the walk's own steps, so that repeated keys can be told apart.
    Member(&'a str, u32),
    /// An array element.
    Index(usize),
}

// The position rides in the enum's padding: pushing a member step costs what a key step did.
const _: () = assert!(std::mem::size_of::<Seg<'static>>() == 3 * std::mem::size_of::<usize>());

/// A stack of segments from the line's root.
#[derive(Debug, Default, Clone)]
pub struct Path<'a> {
    segs: Vec<Seg<'a>>,
    /// The line's root value, to tell which occurrence of a repeated key a step means.
    root: Option<JsonRef<'a, 'a>>,
    /// Per step depth, the index of the last large container resolved at that depth (the walk
    /// visits containers in document order, so each is indexed at most once per line).
    children: RefCell<Vec<Option<Children<'a>>>>,
}

impl<'a> Path<'a> {
    /// An empty path (the line's root).
    pub fn new() -> Self {
        Path {
            segs: Vec::new(),
            root: None,
            children: RefCell::default(),
        }
    }
    /// A path reusing `segs`' allocation (must be empty).
    pub fn from_vec(segs: Vec<Seg<'a>>) -> Self {
        Path {
            segs,
            root: None,
            children: RefCell::default(),
        }
    }
    /// Sets the line's root value, which [`Seg::Member`] steps start from. Without one, findings
    /// are located by their pointer alone (the first member of each repeated key).
    pub fn set_root(&mut self, root: JsonRef<'a, 'a>) {
        self.root = Some(root);
        self.children.get_mut().clear();
    }
    /// Gives the allocation back.
    pub fn into_vec(self) -> Vec<Seg<'a>> {
        self.segs
    }
    /// Descends into `seg`.
    pub fn push(&mut self, seg: Seg<'a>) {
        self.segs.push(seg);
    }
    /// Goes back up one step.
    pub fn pop(&mut self) {
        self.segs.pop();
    }
    /// Number of segments.
    pub fn depth(&self) -> usize {
        self.segs.len()
    }
    /// Drops everything (reused between lines).
    pub fn clear(&mut self) {
        self.segs.clear();
    }
    /// The segments.
    pub fn segs(&self) -> &[Seg<'a>] {
        &self.segs
    }
    /// The pointer of this path.
    pub fn pointer(&self) -> String {
        self.pointer_with(&[])
    }
    /// The pointer of this path followed by `rel` (keys or decimal indices).
    pub fn pointer_with(&self, rel: &[Seg<'_>]) -> String {
        let mut out = String::with_capacity(64);
        for seg in self.segs.iter().chain(rel.iter()) {
            match *seg {
                Seg::Key(k) | Seg::Member(k, _) => push_pointer_token(&mut out, k),
                Seg::Index(i) => {
                    out.push('/');
                    // Writing into the String needs no temporary (unlike `to_string`).
                    let _ = write!(out, "{i}");
                }
            }
        }
        out
    }
    /// Which occurrence of its key each step is among the members of its object with that key
    /// (0 = the first), up to the last step that is not a first occurrence: what
    /// [`Finding::key_nth`] holds. Empty, without allocating, when every step is a first
    /// occurrence (always on lines without repeated keys) or the path has no root.
    pub fn key_nth(&self) -> Vec<u32> {
        let mut out = Vec::new();
        let Some(mut v) = self.root else {
            return out;
        };
        let mut cache = self.children.borrow_mut();
        for (n, seg) in self.segs.iter().enumerate() {
            let next = match *seg {
                Seg::Member(_, position) if v.len() > INDEX_ABOVE => {
                    let children = indexed(&mut cache, n, v);
                    let found = children.items.get(position as usize).copied();
                    if let Some((nth, _)) = found.filter(|(nth, _)| *nth > 0) {
                        out.resize(n, 0);
                        out.push(nth);
                    }
                    found.map(|(_, mv)| mv)
                }
                Seg::Member(key, position) => {
                    let mut nth = 0u32;
                    let mut found = None;
                    for (i, (k, mv)) in v.members().enumerate() {
                        if i as u32 == position {
                            found = Some(mv);
                            break;
                        }
                        nth += u32::from(k == key);
                    }
                    if nth > 0 && found.is_some() {
                        out.resize(n, 0);
                        out.push(nth);
                    }
                    found
                }
                Seg::Key(key) => v.get(key),
                Seg::Index(i) if v.len() > INDEX_ABOVE => {
                    indexed(&mut cache, n, v).items.get(i).map(|(_, e)| *e)
                }
                Seg::Index(i) => v.elements().nth(i),
            };
            match next {
                Some(next) => v = next,
                None => break,
            }
        }
        out
    }
}

/// The index of container `v` at step depth `n`, built on first use.
fn indexed<'c, 'a>(
    cache: &'c mut Vec<Option<Children<'a>>>,
    n: usize,
    v: JsonRef<'a, 'a>,
) -> &'c Children<'a> {
    if cache.len() <= n {
        cache.resize_with(n + 1, || None);
    }
    let slot = &mut cache[n];
    if slot.as_ref().is_none_or(|c| c.of != v.id()) {
        *slot = Some(Children::of(v));
    }
    slot.as_ref().expect("invariant: filled above")
}

/// Collects the findings of one line.
#[derive(Debug, Default)]
pub struct Findings {
    /// In the order found.
    pub items: Vec<Finding>,
}

impl Findings {
    /// Records a finding at the value `path` + `rel`.
    pub fn at(&mut self, code: Code, path: &Path<'_>, rel: &[Seg<'_>], message: impl Into<String>) {
        self.items.push(Finding {
            code,
            pointer: path.pointer_with(rel),
            key_nth: path.key_nth(),
            message: message.into(),
            at_key: false,
        });
    }
    /// Records a finding at the key of the member `path` + `rel` (the last segment must be a key).
    pub fn at_key(
        &mut self,
        code: Code,
        path: &Path<'_>,
        rel: &[Seg<'_>],
        message: impl Into<String>,
    ) {
        self.items.push(Finding {
            code,
            pointer: path.pointer_with(rel),
            key_nth: path.key_nth(),
            message: message.into(),
            at_key: true,
        });
    }
    /// Drops everything (reused between lines).
    pub fn clear(&mut self) {
        self.items.clear();
    }
    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
