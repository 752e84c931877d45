//! `families.bin`: the run's cacheable prompt families, so `collect` can set the cache hits Vertex
//! reports beside the family each request belongs to and its distance from the family's first
//! request (the primer).
//!
//! A family is a maximal group of unique requests whose prompts share a prefix of at least the
//! model's minimum cacheable tokens; only outermost families are kept (each request is in at most
//! one). Members are listed in send order (shard, then position in it).
//!
//! Layout, little-endian: the 8 bytes `BLFAM01\n`; `u32` family count; per family `u64` prefix
//! tokens, `u32` member count, then that many `u32` unique ids.

/// One family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheFamily {
    /// Tokens of the shared prefix.
    pub prefix_tokens: u64,
    /// Unique request ids, in send order.
    pub members: Vec<u32>,
}

const MAGIC: &[u8; 8] = b"BLFAM01\n";

/// Encodes `families`.
pub fn encode(families: &[CacheFamily]) -> Vec<u8> {
    let total: usize = families.iter().map(|f| 12 + 4 * f.members.len()).sum();
    let mut out = Vec::with_capacity(12 + total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(families.len() as u32).to_le_bytes());
    for f in families {
        out.extend_from_slice(&f.prefix_tokens.to_le_bytes());
        out.extend_from_slice(&(f.members.len() as u32).to_le_bytes());
        for m in &f.members {
            out.extend_from_slice(&m.to_le_bytes());
        }
    }
    out
}

/// Decodes a `families.bin`; every member must be below `uniques`.
pub fn decode(bytes: &[u8], uniques: usize) -> Result<Vec<CacheFamily>, String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("not a families.bin (bad magic)")?;
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let piece = rest
            .get(at..at + n)
            .ok_or_else(|| format!("truncated at byte {}", 8 + at))?;
        at += n;
        Ok(piece)
    };
    let u32_of = |b: &[u8]| u32::from_le_bytes(b.try_into().expect("4 bytes"));
    let count = u32_of(take(4)?) as usize;
    let mut out = Vec::with_capacity(count.min(1 << 20));
    for _ in 0..count {
        let prefix_tokens = u64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
        let len = u32_of(take(4)?) as usize;
        let raw = take(len.checked_mul(4).ok_or("member count overflows")?)?;
        let members: Vec<u32> = raw.chunks_exact(4).map(u32_of).collect();
        if let Some(bad) = members.iter().find(|&&m| m as usize >= uniques) {
            return Err(format!("member {bad} is not a request of the run"));
        }
        out.push(CacheFamily {
            prefix_tokens,
            members,
        });
    }
    if 8 + at != bytes.len() {
        return Err(format!(
            "{} bytes after the last family",
            bytes.len() - 8 - at
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let fams = vec![
            CacheFamily {
                prefix_tokens: 2048,
                members: vec![3, 1, 2],
            },
            CacheFamily {
                prefix_tokens: u64::MAX,
                members: vec![],
            },
        ];
        let bytes = encode(&fams);
        assert_eq!(bytes.len(), 8 + 4 + (12 + 12) + 12);
        assert_eq!(&bytes[..12], b"BLFAM01\n\x02\0\0\0");
        assert_eq!(decode(&bytes, 4).unwrap(), fams);
        assert_eq!(
            decode(&bytes, 3).unwrap_err(),
            "member 3 is not a request of the run"
        );
        assert_eq!(
            decode(&bytes[..bytes.len() - 1], 4).unwrap_err(),
            "truncated at byte 44"
        );
        let mut long = bytes.clone();
        long.push(0);
        assert_eq!(
            decode(&long, 4).unwrap_err(),
            "1 bytes after the last family"
        );
        assert!(decode(b"BLFAM01\n\xff\xff\xff\xff", 4).is_err());
        assert_eq!(
            decode(b"nope", 4).unwrap_err(),
            "not a families.bin (bad magic)"
        );
    }
}
