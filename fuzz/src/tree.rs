//! An independent JSON tree with byte spans: the oracle every pointer and position is checked
//! against.

/// A JSON value with its byte span in the line.
#[derive(Debug, Clone)]
pub struct Node {
    /// First byte of the value.
    pub start: usize,
    /// One past its last byte.
    pub end: usize,
    /// What it is.
    pub kind: NodeKind,
}

/// The shape of a [`Node`].
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A number, `true`, `false` or `null`.
    Scalar,
    /// A string; `text` is its unescaped value (`None` when serde_json cannot unescape it, e.g. a
    /// lone surrogate).
    Str {
        /// The unescaped string.
        text: Option<String>,
    },
    /// An array.
    Array(Vec<Node>),
    /// An object, members in document order, duplicates kept.
    Object(Vec<Member>),
}

/// One object member.
#[derive(Debug, Clone)]
pub struct Member {
    /// Byte offset of the key's opening quote.
    pub key_start: usize,
    /// The unescaped key (`None` when it cannot be unescaped).
    pub key: Option<String>,
    /// The value.
    pub value: Node,
}

/// Deepest nesting the oracle parses (simd-json stops at 512 in batchline).
const ORACLE_MAX_DEPTH: usize = 2048;

/// Parses `line` as exactly one JSON value surrounded by JSON whitespace, strictly (RFC 8259:
/// no control characters in strings, valid escapes, the number grammar, UTF-8). `None` if it is
/// not JSON.
pub fn parse_tree(line: &[u8]) -> Option<Node> {
    let mut p = Parser { b: line, i: 0 };
    p.ws();
    let node = p.value(0)?;
    p.ws();
    (p.i == line.len()).then_some(node)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }
    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > ORACLE_MAX_DEPTH {
            return None;
        }
        let start = self.i;
        let kind = match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b'}').is_none() {
                    loop {
                        self.ws();
                        let key_start = self.i;
                        let key = match self.string()? {
                            NodeKind::Str { text } => text,
                            _ => unreachable!("string() returns Str"),
                        };
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                        let value = self.value(depth + 1)?;
                        members.push(Member {
                            key_start,
                            key,
                            value,
                        });
                        self.ws();
                        if self.eat(b',').is_none() {
                            self.eat(b'}')?;
                            break;
                        }
                    }
                }
                NodeKind::Object(members)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b']').is_none() {
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        if self.eat(b',').is_none() {
                            self.eat(b']')?;
                            break;
                        }
                    }
                }
                NodeKind::Array(items)
            }
            b'"' => self.string()?,
            b't' => self.literal(b"true")?,
            b'f' => self.literal(b"false")?,
            b'n' => self.literal(b"null")?,
            b'-' | b'0'..=b'9' => self.number()?,
            _ => return None,
        };
        Some(Node {
            start,
            end: self.i,
            kind,
        })
    }
    fn literal(&mut self, word: &[u8]) -> Option<NodeKind> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Some(NodeKind::Scalar)
        } else {
            None
        }
    }
    fn digits(&mut self) -> usize {
        let from = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - from
    }
    fn number(&mut self) -> Option<NodeKind> {
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(NodeKind::Scalar)
    }
    fn string(&mut self) -> Option<NodeKind> {
        let start = self.i;
        self.eat(b'"')?;
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek()?.is_ascii_hexdigit() {
                                    return None;
                                }
                                self.i += 1;
                            }
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let raw = &self.b[start..self.i];
        std::str::from_utf8(raw).ok()?;
        Some(NodeKind::Str {
            text: serde_json::from_slice::<String>(raw).ok(),
        })
    }
}

impl Node {
    /// Calls `f` on this node and every node below it, in document order.
    pub fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Node)) {
        f(self);
        match &self.kind {
            NodeKind::Array(items) => items.iter().for_each(|n| n.visit(f)),
            NodeKind::Object(members) => members.iter().for_each(|m| m.value.visit(f)),
            _ => {}
        }
    }

    /// True when a key or string cannot be unescaped (then pointers made by another parser may
    /// not match this tree's keys).
    pub fn has_odd_strings(&self) -> bool {
        let mut odd = false;
        self.visit(&mut |n| match &n.kind {
            NodeKind::Str { text: None } => odd = true,
            NodeKind::Object(members) => odd |= members.iter().any(|m| m.key.is_none()),
            _ => {}
        });
        odd
    }

    /// True when some object has the same key twice, or a key or string cannot be unescaped
    /// (then pointers made by another parser may not match this tree's keys).
    pub fn has_duplicates_or_odd_strings(&self) -> bool {
        let mut odd = false;
        self.visit(&mut |n| match &n.kind {
            NodeKind::Str { text: None } => odd = true,
            NodeKind::Object(members) => {
                let mut keys = std::collections::HashSet::new();
                for m in members {
                    match &m.key {
                        Some(k) => odd |= !keys.insert(k.as_str()),
                        None => odd = true,
                    }
                }
            }
            _ => {}
        });
        odd
    }

    /// Byte offsets where the RFC 6901 `pointer` can be said to sit: the start of every value it
    /// resolves to (through any duplicate key), or the key's opening quote when `at_key` is set and
    /// the last step is an object member. Empty when it does not resolve.
    pub fn resolve(&self, pointer: &str, at_key: bool) -> Vec<usize> {
        let tokens: Vec<String> = if pointer.is_empty() {
            Vec::new()
        } else if let Some(rest) = pointer.strip_prefix('/') {
            rest.split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect()
        } else {
            return Vec::new();
        };
        let mut out = Vec::new();
        self.resolve_into(&tokens, at_key, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The one byte offset where `pointer` sits when its `n`-th key step means member number
    /// `key_nth[n]` among the members with that key (missing entries: the first), as in
    /// [`Finding::key_nth`](batchline::request::diag::Finding::key_nth); `None` when it does not
    /// resolve.
    pub fn resolve_nth(&self, pointer: &str, key_nth: &[u32], at_key: bool) -> Option<usize> {
        let tokens: Vec<String> = if pointer.is_empty() {
            Vec::new()
        } else {
            pointer
                .strip_prefix('/')?
                .split('/')
                .map(|t| t.replace("~1", "/").replace("~0", "~"))
                .collect()
        };
        let mut node = self;
        for (n, token) in tokens.iter().enumerate() {
            let last = n + 1 == tokens.len();
            match &node.kind {
                NodeKind::Object(members) => {
                    let nth = key_nth.get(n).copied().unwrap_or(0) as usize;
                    let m = members
                        .iter()
                        .filter(|m| m.key.as_deref() == Some(token.as_str()))
                        .nth(nth)?;
                    if last && at_key {
                        return Some(m.key_start);
                    }
                    node = &m.value;
                }
                NodeKind::Array(items) => {
                    let canonical = token == "0" || (!token.starts_with('0') && !token.is_empty());
                    if !canonical || !token.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    node = items.get(token.parse::<usize>().ok()?)?;
                }
                _ => return None,
            }
        }
        Some(node.start)
    }

    fn resolve_into(&self, tokens: &[String], at_key: bool, out: &mut Vec<usize>) {
        let Some((token, rest)) = tokens.split_first() else {
            out.push(self.start);
            return;
        };
        match &self.kind {
            NodeKind::Object(members) => {
                for m in members {
                    if m.key.as_deref() == Some(token.as_str()) {
                        if rest.is_empty() && at_key {
                            out.push(m.key_start);
                        } else {
                            m.value.resolve_into(rest, at_key, out);
                        }
                    }
                }
            }
            NodeKind::Array(items) => {
                let canonical = token == "0" || (!token.starts_with('0') && !token.is_empty());
                if let (true, Ok(i)) = (canonical, token.parse::<usize>()) {
                    if token.bytes().all(|b| b.is_ascii_digit()) {
                        if let Some(item) = items.get(i) {
                            item.resolve_into(rest, at_key, out);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Writes this value back out with members in the order `order` picks and `gap` between
    /// tokens. Scalars and strings are copied byte for byte from `line`, so only key order and
    /// whitespace change.
    pub fn render(
        &self,
        line: &[u8],
        order: &mut dyn FnMut(usize) -> Vec<usize>,
        gap: &mut dyn FnMut() -> &'static [u8],
        out: &mut Vec<u8>,
    ) {
        match &self.kind {
            NodeKind::Scalar | NodeKind::Str { .. } => {
                out.extend_from_slice(&line[self.start..self.end])
            }
            NodeKind::Array(items) => {
                out.push(b'[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(gap());
                    item.render(line, order, gap, out);
                }
                out.extend_from_slice(gap());
                out.push(b']');
            }
            NodeKind::Object(members) => {
                out.push(b'{');
                let permutation = order(members.len());
                debug_assert_eq!(permutation.len(), members.len());
                for (n, &i) in permutation.iter().enumerate() {
                    let m = &members[i];
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(gap());
                    let key_end = string_end(line, m.key_start);
                    out.extend_from_slice(&line[m.key_start..key_end]);
                    out.extend_from_slice(gap());
                    out.push(b':');
                    out.extend_from_slice(gap());
                    m.value.render(line, order, gap, out);
                }
                out.extend_from_slice(gap());
                out.push(b'}');
            }
        }
    }
}

/// One past the closing quote of the (valid) JSON string starting at `start`.
fn string_end(line: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while line[j] != b'"' {
        j += if line[j] == b'\\' { 2 } else { 1 };
    }
    j + 1
}

/// `line` with every object's members in reverse order and a space between tokens.
pub fn reversed(line: &[u8], tree: &Node) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() * 2);
    tree.render(
        line,
        &mut |n| (0..n).rev().collect(),
        &mut || b" ",
        &mut out,
    );
    out
}
