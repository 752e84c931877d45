//! Byte sizes as users write them on the command line (`--max-bytes 1GB`, `--part-size 16MiB`,
//! `gen-corpus --size 50MB`).

/// Parses a byte size such as `1GB`, `50MB`, `512KiB`, `1.5G` or `1048576`.
///
/// `K`/`KB`, `M`/`MB`, `G`/`GB`, `T`/`TB` are powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` powers
/// of 1024; a trailing `B` alone means bytes. Case-insensitive; spaces between number and unit
/// are allowed. Returns `None` for anything else.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "m" | "mb" => 1_000_000,
        "g" | "gb" => 1_000_000_000,
        "t" | "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    let bytes = number * multiplier as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_decimal_and_binary_units() {
        assert_eq!(parse_size("1GB"), Some(1_000_000_000));
        assert_eq!(parse_size("50 MB"), Some(50_000_000));
        assert_eq!(parse_size("1.5k"), Some(1500));
        assert_eq!(parse_size("2MiB"), Some(2 << 20));
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size(""), None);
    }
}
