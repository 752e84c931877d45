//! The position of the walk inside a line, kept as a stack of segments and turned into an RFC 6901
//! JSON pointer only when a finding needs one (most lines have none).

use super::diag::{push_pointer_token, Code, Finding};

/// One step from a value to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// An object member.
    Key(&'a str),
    /// An array element.
    Index(usize),
}

/// A stack of segments from the line's root.
#[derive(Debug, Default, Clone)]
pub struct Path<'a> {
    segs: Vec<Seg<'a>>,
}

impl<'a> Path<'a> {
    /// An empty path (the line's root).
    pub fn new() -> Self {
        Path { segs: Vec::new() }
    }
    /// A path reusing `segs`' allocation (must be empty).
    pub fn from_vec(segs: Vec<Seg<'a>>) -> Self {
        Path { segs }
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
                Seg::Key(k) => push_pointer_token(&mut out, k),
                Seg::Index(i) => {
                    out.push('/');
                    out.push_str(&i.to_string());
                }
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
