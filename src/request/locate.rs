//! Finding where a JSON pointer sits in a raw line, to give findings a byte column.
//!
//! The fast path parses with simd-json, whose tape has no positions; lines with findings are rare,
//! so they are re-scanned here with a small byte scanner that follows the pointer. The line is
//! known to be valid JSON (it parsed), but the scanner never panics on anything.

use std::collections::HashMap;

use super::diag::Finding;

/// Byte offset (in `line`) of the value at `pointer`, or of its key when `at_key` is set and the
/// last step is an object member. Falls back to the deepest position reached; 0 for the root.
/// Each key step goes to the first member with that key; see [`locate_nth`] for repeated keys.
pub fn locate(line: &[u8], pointer: &str, at_key: bool) -> usize {
    locate_nth(line, pointer, &[], at_key)
}

/// Byte offset (in `line`) of `finding`: [`locate_nth`] with its pointer and occurrences.
pub fn locate_finding(line: &[u8], finding: &Finding) -> usize {
    locate_nth(line, &finding.pointer, &finding.key_nth, finding.at_key)
}

/// Like [`locate`], but the `n`-th key step goes to member number `key_nth[n]` (0-based) among
/// the members with that key, for objects that repeat a key; missing entries are 0 (the first).
pub fn locate_nth(line: &[u8], pointer: &str, key_nth: &[u32], at_key: bool) -> usize {
    let tokens: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer[1..]
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    let mut s = Scanner { b: line, i: 0 };
    s.ws();
    let mut best = s.i;
    for (n, token) in tokens.iter().enumerate() {
        let last = n + 1 == tokens.len();
        match s.peek() {
            Some(b'{') => {
                s.i += 1;
                let mut found = false;
                let mut skip = key_nth.get(n).copied().unwrap_or(0);
                loop {
                    let (key_at, key) = match s.member() {
                        Ok(Some(member)) => member,
                        Ok(None) => break,
                        Err(()) => return best,
                    };
                    if key == *token {
                        if skip == 0 {
                            if last && at_key {
                                return key_at;
                            }
                            found = true;
                            break;
                        }
                        skip -= 1;
                    }
                    match s.past_value() {
                        Next::More => {}
                        Next::End => break,
                        Next::Broken => return best,
                    }
                }
                if !found {
                    return best;
                }
            }
            Some(b'[') => {
                let Ok(index) = token.parse::<usize>() else {
                    return best;
                };
                s.i += 1;
                for _ in 0..index {
                    s.ws();
                    if s.past_value() != Next::More {
                        return best;
                    }
                }
                s.ws();
            }
            _ => return best,
        }
        best = s.i;
    }
    best
}

/// Locates many findings of one line in time linear in the line's size: each container on a
/// finding's path is indexed once (keys to their occurrences, elements by position), where
/// [`locate_nth`] scans from the line's start every time (with 100k findings on one line that
/// took minutes). Gives the same offsets as [`locate_nth`].
pub struct Locator<'a> {
    line: &'a [u8],
    /// Indexed containers by the byte offset of their `{` or `[`.
    containers: HashMap<usize, Container>,
}

enum Container {
    /// Per key (unescaped), each occurrence's key offset and value offset, in order.
    Object(HashMap<String, Vec<(usize, usize)>>),
    /// Element offsets, and the offset after `[` and blanks (where an empty array's element 0
    /// would be).
    Array(Vec<usize>, usize),
    /// Not a container, or bytes that are not JSON: the caller falls back to a scan.
    Other,
}

impl<'a> Locator<'a> {
    /// A locator over `line` (nothing is indexed yet).
    pub fn new(line: &'a [u8]) -> Self {
        Locator {
            line,
            containers: HashMap::new(),
        }
    }

    /// [`locate_finding`], from the index.
    pub fn locate_finding(&mut self, finding: &Finding) -> usize {
        self.locate_nth(&finding.pointer, &finding.key_nth, finding.at_key)
    }

    /// [`locate_nth`], from the index.
    pub fn locate_nth(&mut self, pointer: &str, key_nth: &[u32], at_key: bool) -> usize {
        let mut s = Scanner { b: self.line, i: 0 };
        s.ws();
        let mut best = s.i;
        if pointer.is_empty() {
            return best;
        }
        let tokens: Vec<String> = pointer[1..]
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect();
        for (n, token) in tokens.iter().enumerate() {
            let last = n + 1 == tokens.len();
            let line = self.line;
            let container = self
                .containers
                .entry(best)
                .or_insert_with(|| Container::of(line, best));
            best = match container {
                Container::Object(keys) => {
                    let nth = key_nth.get(n).copied().unwrap_or(0) as usize;
                    match keys.get(token.as_str()).and_then(|at| at.get(nth)) {
                        Some(&(key_at, _)) if last && at_key => return key_at,
                        Some(&(_, value_at)) => value_at,
                        None => return best,
                    }
                }
                Container::Array(elements, open) => {
                    let Ok(index) = token.parse::<usize>() else {
                        return best;
                    };
                    match elements.get(index) {
                        Some(&at) => at,
                        None if index == 0 => *open,
                        None => return best,
                    }
                }
                Container::Other => {
                    if matches!(line.get(best), Some(b'{' | b'[')) {
                        // Not JSON after all: the scan says how far it gets.
                        return locate_nth(line, pointer, key_nth, at_key);
                    }
                    return best;
                }
            };
        }
        best
    }
}

impl Container {
    /// Indexes the container at `at`, in one pass over its bytes.
    fn of(line: &[u8], at: usize) -> Container {
        let mut s = Scanner { b: line, i: at };
        match s.peek() {
            Some(b'{') => {
                s.i += 1;
                let mut keys: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
                loop {
                    let (key_at, key) = match s.member() {
                        Ok(Some(member)) => member,
                        Ok(None) => break,
                        Err(()) => return Container::Other,
                    };
                    keys.entry(key).or_default().push((key_at, s.i));
                    match s.past_value() {
                        Next::More => {}
                        Next::End => break,
                        Next::Broken => return Container::Other,
                    }
                }
                Container::Object(keys)
            }
            Some(b'[') => {
                s.i += 1;
                s.ws();
                let open = s.i;
                let mut elements = Vec::new();
                while !matches!(s.peek(), Some(b']') | None) {
                    elements.push(s.i);
                    match s.past_value() {
                        Next::More => s.ws(),
                        Next::End => break,
                        Next::Broken => return Container::Other,
                    }
                }
                Container::Array(elements, open)
            }
            _ => Container::Other,
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

/// What follows a member's or element's value.
#[derive(PartialEq, Eq)]
enum Next {
    /// A comma: another member or element.
    More,
    /// Anything else (the container's close).
    End,
    /// The value does not end, or is not JSON.
    Broken,
}

impl Scanner<'_> {
    /// At a member's key (blanks first): its offset and unescaped text, leaving `i` at the value.
    /// `None` where no key follows (the object ends); `Err` when the member is not JSON.
    fn member(&mut self) -> Result<Option<(usize, String)>, ()> {
        self.ws();
        if self.peek() != Some(b'"') {
            return Ok(None);
        }
        let key_at = self.i;
        let key = self.string().ok_or(())?;
        self.ws();
        if self.peek() != Some(b':') {
            return Err(());
        }
        self.i += 1;
        self.ws();
        Ok(Some((key_at, key)))
    }
    /// Skips the value at `i` and the blanks after it, and a comma if one follows.
    fn past_value(&mut self) -> Next {
        if !self.skip_value() {
            return Next::Broken;
        }
        self.ws();
        if self.peek() == Some(b',') {
            self.i += 1;
            Next::More
        } else {
            Next::End
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }
    /// Reads a string at `i` (which is at `"`), returning it unescaped.
    fn string(&mut self) -> Option<String> {
        let start = self.i + 1;
        let mut j = start;
        let mut escaped = false;
        while j < self.b.len() {
            match self.b[j] {
                b'\\' => {
                    escaped = true;
                    j += 2;
                }
                b'"' => break,
                _ => j += 1,
            }
        }
        if j >= self.b.len() {
            return None;
        }
        self.i = j + 1;
        let raw = &self.b[start..j];
        if !escaped {
            return Some(String::from_utf8_lossy(raw).into_owned());
        }
        serde_json::from_slice::<String>(&self.b[start - 1..=j]).ok()
    }
    /// Skips one value; false when the bytes end or are not JSON.
    fn skip_value(&mut self) -> bool {
        match self.peek() {
            Some(b'"') => self.string().is_some(),
            Some(b'{') | Some(b'[') => {
                let mut depth = 0usize;
                while let Some(c) = self.peek() {
                    match c {
                        b'"' => {
                            if self.string().is_none() {
                                return false;
                            }
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                return true;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
                false
            }
            Some(_) => {
                while let Some(c) = self.peek() {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{locate, locate_nth, Locator};

    #[test]
    fn the_locator_gives_the_offsets_of_the_scan() {
        let line =
            br#" {"a": {"b": [1]}, "c": [], "a": {"b": [2], "b": [3, 4]}, "e\"k": {"x~/": 5}}"#;
        let mut locator = Locator::new(line);
        let cases: &[(&str, &[u32], bool)] = &[
            ("", &[], false),
            ("/a", &[], true),
            ("/a", &[1], true),
            ("/a", &[1], false),
            ("/a/b/0", &[1, 1], false),
            ("/a/b/1", &[1, 1, 0], false),
            ("/a/b/2", &[1, 1], false),
            ("/a/b", &[1, 2], false),
            ("/c/0", &[], false),
            ("/c/1", &[], false),
            ("/c/x", &[], false),
            ("/a/b/0/deeper", &[], false),
            ("/e\"k/x~0~1", &[], true),
            ("/e\"k/x~0~1", &[], false),
            ("/nope", &[], true),
        ];
        for &(pointer, nth, at_key) in cases {
            let scan = locate_nth(line, pointer, nth, at_key);
            assert_eq!(
                locator.locate_nth(pointer, nth, at_key),
                scan,
                "{pointer} {nth:?} {at_key}"
            );
        }
        // Worked by hand: the second `a`'s key is at byte 28, the `4` at byte 53.
        assert_eq!(locator.locate_nth("/a", &[1], true), 28);
        assert_eq!(locator.locate_nth("/a/b/1", &[1, 1], false), 53);
    }

    #[test]
    fn finds_values_and_keys() {
        let line = br#"{"request": {"contents": [{"parts": [{"text": "a"}, {"t\"x": 1, "k~/": [2, 3]}]}]}}"#;
        let at = |p: &str, k: bool| locate(line, p, k);
        assert_eq!(at("", false), 0);
        assert_eq!(&line[at("/request", false)..][..1], b"{");
        let text = at("/request/contents/0/parts/0/text", false);
        assert_eq!(&line[text..][..3], b"\"a\"");
        let key = at("/request/contents/0/parts/1/t\"x", true);
        assert_eq!(&line[key..][..6], br#""t\"x""#);
        let three = at("/request/contents/0/parts/1/k~0~1/1", false);
        assert_eq!(line[three], b'3');
        // A missing member stops at the deepest position reached.
        let missing = at("/request/nope", false);
        assert_eq!(&line[missing..][..1], b"{");
    }

    #[test]
    fn repeated_keys_follow_the_occurrence_asked_for() {
        let line = br#"{"a": {"b": [1]}, "c": 0, "a": {"b": [2], "b": [3, 4]}}"#;
        let at = |p: &str, nth: &[u32], k: bool| locate_nth(line, p, nth, k);
        // No occurrences given: the first member of each key, as `locate`.
        assert_eq!(at("/a/b/0", &[], false), locate(line, "/a/b/0", false));
        assert_eq!(line[at("/a/b/0", &[], false)], b'1');
        assert_eq!(line[at("/a/b/0", &[1], false)], b'2');
        assert_eq!(line[at("/a/b/0", &[1, 1], false)], b'3');
        assert_eq!(line[at("/a/b/1", &[1, 1, 0], false)], b'4');
        // Keys: the repeat's own quote.
        let second_a = at("/a", &[1], true);
        assert_eq!(&line[second_a..][..8], br#""a": {"b"#);
        assert!(second_a > at("/a", &[], true));
        let third_b = at("/a/b", &[1, 1], true);
        assert_eq!(&line[third_b..][..9], br#""b": [3, "#);
        // An occurrence that does not exist stops at the deepest position reached (the object).
        let missing = at("/a/b", &[1, 2], false);
        assert_eq!(&line[missing..][..5], br#"{"b":"#);
        assert_eq!(missing, at("/a", &[1], false));
    }
}
