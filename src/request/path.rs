//! The position of the walk inside a line, kept as a stack of segments and turned into an RFC 6901
//! JSON pointer only when a finding needs one (most lines have none).
//!
//! A pointer cannot tell apart the members of an object that repeats a key, so the walk pushes
//! [`Seg::Member`] steps that also carry the member's position; when a finding is made, the path
//! works out (from the line's tape) which occurrence of each repeated key it went through, and the
//! finding carries that next to its pointer (see [`Finding::key_nth`]).

use std::fmt::Write as _;

use super::diag::{push_pointer_token, Code, Finding};
use super::value::JsonRef;

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
}

impl<'a> Path<'a> {
    /// An empty path (the line's root).
    pub fn new() -> Self {
        Path {
            segs: Vec::new(),
            root: None,
        }
    }
    /// A path reusing `segs`' allocation (must be empty).
    pub fn from_vec(segs: Vec<Seg<'a>>) -> Self {
        Path { segs, root: None }
    }
    /// Sets the line's root value, which [`Seg::Member`] steps start from. Without one, findings
    /// are located by their pointer alone (the first member of each repeated key).
    pub fn set_root(&mut self, root: JsonRef<'a, 'a>) {
        self.root = Some(root);
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
        for (n, seg) in self.segs.iter().enumerate() {
            let next = match *seg {
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
