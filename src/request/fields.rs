//! Fast field lookup by either spelling.
//!
//! Every object member of every line is looked up in its message's field list, so this is the
//! hottest lookup of the walk. Each field name (camelCase and snake_case) gets a 64-bit fingerprint
//! of its length and its first and last eight bytes; a lookup probes a small open-addressing table
//! of fingerprints (usually one slot) and confirms the match with a single string comparison.

use std::sync::OnceLock;

use super::schema::MESSAGES;
use super::schema_types::Field;

/// Marks an empty slot of a table.
const EMPTY: u16 = u16::MAX;

/// One message's open-addressing table: `(fingerprint, field index)`, a power-of-two size at
/// least four times the number of names, probed linearly from the fingerprint's top bits.
struct Table {
    /// `(fingerprint, first 8 bytes, last 8 bytes, field index)`: for names of at most 16 bytes
    /// the length (in the fingerprint) and both words determine the name, so no string
    /// comparison is needed.
    slots: Vec<(u64, u64, u64, u16)>,
    shift: u32,
}

struct Index {
    per_message: Vec<Table>,
    /// Per message: indexes of its required (v1) fields.
    required: Vec<Vec<u16>>,
}

#[inline]
fn slot_of(fp: u64, shift: u32) -> usize {
    (fp.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| Index {
        per_message: MESSAGES
            .iter()
            .map(|m| {
                let size = (m.fields.len() * 8).next_power_of_two().max(8);
                let shift = 64 - size.trailing_zeros();
                let mut slots = vec![(0u64, 0u64, 0u64, EMPTY); size];
                for (i, f) in m.fields.iter().enumerate() {
                    for name in [f.json_name, f.snake_name] {
                        let (fp, head, tail) = words(name.as_bytes());
                        let entry = (fp, head, tail, i as u16);
                        let mut at = slot_of(fp, shift);
                        while slots[at].3 != EMPTY && slots[at] != entry {
                            at = (at + 1) & (size - 1);
                        }
                        slots[at] = entry;
                    }
                }
                Table { slots, shift }
            })
            .collect(),
        required: MESSAGES
            .iter()
            .map(|m| {
                m.fields
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| f.required && !f.beta_only)
                    .map(|(i, _)| i as u16)
                    .collect()
            })
            .collect(),
    })
}

/// Indexes of message `msg`'s required fields (v1 fields whose description starts with
/// `Required.`).
#[inline]
pub fn required_fields(msg: u16) -> &'static [u16] {
    &index().required[msg as usize]
}

/// The bytes (at most 8) as a little-endian integer, zero-extended. Shorter inputs are read as
/// two overlapping halves (the overlap holds the same bytes in both, so OR-ing them is exact)
/// instead of byte by byte.
#[inline]
fn load(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    if let Ok(eight) = <[u8; 8]>::try_from(bytes) {
        return u64::from_le_bytes(eight);
    }
    if n >= 4 {
        let lo = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as u64;
        let hi =
            u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]) as u64;
        return lo | (hi << (8 * (n - 4)));
    }
    if n == 0 {
        return 0;
    }
    (bytes[0] as u64)
        | ((bytes[n / 2] as u64) << (8 * (n / 2)))
        | ((bytes[n - 1] as u64) << (8 * (n - 1)))
}

/// `(fingerprint, first 8 bytes, last 8 bytes)` of a name; the fingerprint mixes in the length.
#[inline]
fn words(key: &[u8]) -> (u64, u64, u64) {
    let n = key.len();
    let head = load(&key[..n.min(8)]);
    let tail = if n > 8 { load(&key[n - 8..]) } else { 0 };
    (head ^ tail.rotate_left(29) ^ ((n as u64) << 56), head, tail)
}

/// The field of message `msg` whose camelCase or snake_case name is `key`, with its index.
#[inline]
pub fn find_field(msg: u16, key: &str) -> Option<(usize, &'static Field)> {
    FieldLookup::of(msg).find(key)
}

/// One message's field lookup, resolved once for all the members of an object.
#[derive(Clone, Copy)]
pub struct FieldLookup {
    fields: &'static [Field],
    table: &'static Table,
}

impl FieldLookup {
    /// The lookup of message `msg`.
    #[inline]
    pub fn of(msg: u16) -> Self {
        FieldLookup {
            fields: MESSAGES[msg as usize].fields,
            table: &index().per_message[msg as usize],
        }
    }

    /// The field whose camelCase or snake_case name is `key`, with its index.
    #[inline]
    pub fn find(self, key: &str) -> Option<(usize, &'static Field)> {
        let bytes = key.as_bytes();
        let (fp, head, tail) = words(bytes);
        let table = self.table;
        let mask = table.slots.len() - 1;
        let mut at = slot_of(fp, table.shift);
        loop {
            let (f, h, t, i) = table.slots[at];
            if i == EMPTY {
                return None;
            }
            if f == fp && h == head && t == tail {
                let field = &self.fields[i as usize];
                // Same length, first and last 8 bytes: identical up to 16 bytes; longer names
                // compare their middle.
                if bytes.len() <= 16
                    || field.json_name.as_bytes() == bytes
                    || field.snake_name.as_bytes() == bytes
                {
                    return Some((i as usize, field));
                }
            }
            at = (at + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::schema::{msg, MESSAGES};

    #[test]
    fn load_reads_short_inputs_like_a_zero_extended_little_endian_word() {
        let bytes = *b"abcdefgh";
        for n in 0..=8 {
            let mut padded = [0u8; 8];
            padded[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(load(&bytes[..n]), u64::from_le_bytes(padded), "{n} bytes");
        }
    }

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
