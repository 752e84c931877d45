//! Fast field lookup by either spelling.
//!
//! Every object member of every line is looked up in its message's field list, so this is the
//! hottest lookup of the walk. Each field name (camelCase and snake_case) gets a 64-bit fingerprint
//! of its length and its first and last eight bytes; a lookup scans the message's fingerprints (a
//! few dozen integers) and confirms the one match with a single string comparison.

use std::sync::OnceLock;

use super::schema::MESSAGES;
use super::schema_types::Field;

struct Index {
    /// Per message: (fingerprint, field index), both spellings.
    per_message: Vec<Vec<(u64, u16)>>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| Index {
        per_message: MESSAGES
            .iter()
            .map(|m| {
                let mut v = Vec::with_capacity(m.fields.len() * 2);
                for (i, f) in m.fields.iter().enumerate() {
                    v.push((fingerprint(f.json_name.as_bytes()), i as u16));
                    if f.snake_name != f.json_name {
                        v.push((fingerprint(f.snake_name.as_bytes()), i as u16));
                    }
                }
                v
            })
            .collect(),
    })
}

#[inline]
fn load(bytes: &[u8]) -> u64 {
    let mut buf = [0u8; 8];
    buf[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(buf)
}

#[inline]
fn fingerprint(key: &[u8]) -> u64 {
    let n = key.len();
    let head = load(&key[..n.min(8)]);
    let tail = if n > 8 { load(&key[n - 8..]) } else { 0 };
    head ^ tail.rotate_left(29) ^ ((n as u64) << 56)
}

/// The field of message `msg` whose camelCase or snake_case name is `key`, with its index.
#[inline]
pub fn find_field(msg: u16, key: &str) -> Option<(usize, &'static Field)> {
    let fields = MESSAGES[msg as usize].fields;
    let fp = fingerprint(key.as_bytes());
    for &(f, i) in &index().per_message[msg as usize] {
        if f == fp {
            let field = &fields[i as usize];
            if field.json_name == key || field.snake_name == key {
                return Some((i as usize, field));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::schema::{msg, MESSAGES};

    #[test]
    fn finds_every_field_by_both_spellings_and_nothing_else() {
        for (m, message) in MESSAGES.iter().enumerate() {
            for (i, f) in message.fields.iter().enumerate() {
                assert_eq!(find_field(m as u16, f.json_name).unwrap().0, i);
                assert_eq!(find_field(m as u16, f.snake_name).unwrap().0, i);
            }
        }
        assert!(find_field(msg::PART, "txt").is_none());
        assert!(find_field(msg::PART, "Text").is_none());
        assert_eq!(
            find_field(msg::GENERATION_CONFIG, "response_mime_type")
                .unwrap()
                .1
                .json_name,
            "responseMimeType"
        );
    }
}
