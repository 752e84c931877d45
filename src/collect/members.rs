//! The top-level members of a JSON object that is already known to be valid (a response that
//! serde_json just read, an input line that `prepare` validated), found without parsing the
//! values: strings are skipped with `memchr` to their closing quote, objects and arrays by
//! counting their own brackets outside strings. This is what lets collect read a response's
//! `usageMetadata` and copy an input line's members without a second full parse.
//!
//! On bytes that are not valid JSON the scanner never panics and never reads out of bounds: it
//! gives `None` (or members that a parser would have refused; callers use it only on valid JSON).

use std::borrow::Cow;

/// One member: its name (decoded only when it holds an escape), the name's raw bytes with their
/// quotes, and the value's raw bytes (no surrounding whitespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member<'a> {
    /// The name.
    pub name: Cow<'a, str>,
    /// The name as written, quotes included.
    pub raw_name: &'a [u8],
    /// The value as written.
    pub value: &'a [u8],
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index just past the string whose opening quote is at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', b.get(j..)?)?;
        if b[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2; // the escaped byte cannot end the string
    }
}

/// The index just past the object or array whose opening bracket is at `i`.
fn skip_nested(b: &[u8], i: usize) -> Option<usize> {
    let (open, close) = if b[i] == b'{' {
        (b'{', b'}')
    } else {
        (b'[', b']')
    };
    let mut depth = 0usize;
    let mut j = i;
    loop {
        let k = j + memchr::memchr3(b'"', open, close, b.get(j..)?)?;
        match b[k] {
            b'"' => j = skip_string(b, k)?,
            c if c == open => {
                depth += 1;
                j = k + 1;
            }
            _ => {
                depth -= 1;
                j = k + 1;
                if depth == 0 {
                    return Some(j);
                }
            }
        }
    }
}

/// The index just past the value that starts at `i`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => skip_nested(b, i),
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The members of the object `bytes` (leading and trailing whitespace allowed), in order,
/// duplicates included. `None` when `bytes` is not an object.
pub fn members(bytes: &[u8]) -> Option<Vec<Member<'_>>> {
    let b = bytes;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(out);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let name_end = skip_string(b, i)?;
        let raw_name = &b[i..name_end];
        let inner = &raw_name[1..raw_name.len() - 1];
        let name = if memchr::memchr(b'\\', inner).is_some() {
            Cow::Owned(serde_json::from_slice::<String>(raw_name).ok()?)
        } else {
            Cow::Borrowed(std::str::from_utf8(inner).ok()?)
        };
        i = skip_ws(b, name_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, i + 1);
        let end = skip_value(b, start)?;
        out.push(Member {
            name,
            raw_name,
            value: &b[start..end],
        });
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return (skip_ws(b, i + 1) == b.len()).then_some(out),
            _ => return None,
        }
    }
}

/// The value of the last member named `name` (JSON objects with a repeated name mean the last).
pub fn member<'a>(members: &[Member<'a>], name: &str) -> Option<&'a [u8]> {
    members
        .iter()
        .rev()
        .find(|m| m.name == name)
        .map(|m| m.value)
}

/// Whether `value` is an empty array (or `null`): `[]` with any whitespace inside.
pub fn is_empty_array(value: &[u8]) -> bool {
    value == b"null"
        || (value.first() == Some(&b'[')
            && value.last() == Some(&b']')
            && value[1..value.len() - 1]
                .iter()
                .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_values(b: &str) -> Option<Vec<(String, String)>> {
        members(b.as_bytes()).map(|v| {
            v.into_iter()
                .map(|m| {
                    (
                        m.name.into_owned(),
                        String::from_utf8(m.value.to_vec()).unwrap(),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn members_in_order_with_raw_values() {
        let got = names_values(
            r#" { "a" : 1 , "b":"x\"}]{[" ,"c":{"d":[1,{"e":"}"}],"f":"\\"},"g":[[],{}] , "h":null,"i":-1.5e3,"j":true} "#,
        )
        .unwrap();
        let want = [
            ("a", "1"),
            ("b", r#""x\"}]{[""#),
            ("c", r#"{"d":[1,{"e":"}"}],"f":"\\"}"#),
            ("g", "[[],{}]"),
            ("h", "null"),
            ("i", "-1.5e3"),
            ("j", "true"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn escaped_names_are_decoded_and_repeats_kept() {
        let m = members(br#"{"\u0069d":1,"id":2}"#).unwrap();
        assert_eq!(m[0].name, "id");
        assert_eq!(m[0].raw_name, br#""\u0069d""#);
        assert_eq!(member(&m, "id"), Some(&b"2"[..]));
        assert_eq!(member(&m, "x"), None);
    }

    #[test]
    fn not_objects_and_broken_bytes_give_none_without_panicking() {
        for bad in [
            "",
            "[]",
            "1",
            "{",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":\"x",
            "{\"a\":{\"b\":1}",
            "{\"a\":1} x",
            "{1:2}",
            "{\"a\":[1,2}",
            "{\"\\",
        ] {
            assert_eq!(names_values(bad), None, "{bad:?}");
        }
        assert_eq!(names_values("{}"), Some(vec![]));
        assert_eq!(names_values(" {\n} \n"), Some(vec![]));
    }

    #[test]
    fn empty_arrays() {
        assert!(is_empty_array(b"[]"));
        assert!(is_empty_array(b"[ \n ]"));
        assert!(is_empty_array(b"null"));
        assert!(!is_empty_array(b"[{}]"));
        assert!(!is_empty_array(b"{}"));
        assert!(!is_empty_array(b"["));
    }
}
