//! The join key: the one encoding of a unique request's key and of the member that carries it.
//!
//! Unique request `u` has the key `bl-` followed by `u` in base 36 (digits `0-9a-z`, most
//! significant first): never numeric-looking, since Vertex has been seen to turn strings that look
//! like numbers into numbers in output rows. The member spliced into a shard line is
//! `"NAME":"bl-…",` (see `docs/run-format.md`).

use super::JoinKey;

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The base-36 digits of `u`, in `buf` (a `u64` needs at most 13).
fn base36(u: usize, buf: &mut [u8; 16]) -> &[u8] {
    let (mut n, mut k) = (u, buf.len());
    loop {
        k -= 1;
        buf[k] = DIGITS[n % 36];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    &buf[k..]
}

/// The key value of unique request `u`, e.g. `bl-2s` for 100.
pub fn key_value(u: usize) -> String {
    let mut buf = [0u8; 16];
    let digits = base36(u, &mut buf);
    format!(
        "bl-{}",
        std::str::from_utf8(digits).expect("invariant: ASCII digits")
    )
}

/// Appends the key member of unique request `u`, `"name":"bl-…",`, to `out` (no allocation).
#[inline]
pub(super) fn push_key_member(out: &mut Vec<u8>, name: &str, u: usize) {
    let mut buf = [0u8; 16];
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":\"bl-");
    out.extend_from_slice(base36(u, &mut buf));
    out.extend_from_slice(b"\",");
}

/// Bytes the key member of unique request `u` adds to its line (0 without a key).
pub(super) fn key_member_len(key: &JoinKey, u: usize) -> u64 {
    match key {
        JoinKey::None => 0,
        JoinKey::Member(name) => {
            let mut buf = [0u8; 16];
            // `"` name `":"bl-` digits `",`
            (name.len() + 7 + base36(u, &mut buf).len() + 2) as u64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_base_36_after_bl() {
        // Worked by hand: 36 = "10", 1295 = 35·36 + 35 = "zz", 46656 = 36³ = "1000".
        for (u, want) in [
            (0, "bl-0"),
            (35, "bl-z"),
            (36, "bl-10"),
            (1295, "bl-zz"),
            (46_656, "bl-1000"),
        ] {
            assert_eq!(key_value(u), want);
        }
        let mut out = Vec::new();
        push_key_member(&mut out, "batchline_key", 36);
        assert_eq!(out, b"\"batchline_key\":\"bl-10\",");
        assert_eq!(
            key_member_len(&JoinKey::Member("batchline_key".into()), 36),
            out.len() as u64
        );
        assert_eq!(key_member_len(&JoinKey::None, 36), 0);
    }
}
