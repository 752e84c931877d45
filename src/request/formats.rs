//! Value formats and message helpers of the schema walk: integer range names, type names for
//! messages, did-you-mean suggestions, base64, protobuf durations and RFC 3339 timestamps.

use super::schema::{ENUMS, MESSAGES};
use super::schema_types::Ty;

pub(crate) fn int_name(ty: Ty) -> &'static str {
    match ty {
        Ty::Int32 => "int32",
        Ty::UInt32 => "uint32",
        Ty::Int64 => "int64",
        _ => "uint64",
    }
}

pub(crate) fn ty_name(ty: Ty) -> String {
    match ty {
        Ty::Message(m) => format!("an object ({})", MESSAGES[m as usize].name),
        Ty::Enum(e) => format!("a string enum ({})", ENUMS[e as usize].name),
        Ty::String => "a string".into(),
        Ty::Bytes => "a base64 string".into(),
        Ty::Int32 => "an int32 (number or decimal string)".into(),
        Ty::UInt32 => "a uint32 (number or decimal string)".into(),
        Ty::Int64 => "an int64 (number or decimal string)".into(),
        Ty::UInt64 => "a uint64 (number or decimal string)".into(),
        Ty::Number => "a number".into(),
        Ty::Bool => "a boolean".into(),
        Ty::Duration => "a duration string such as \"1.5s\"".into(),
        Ty::Timestamp => "an RFC 3339 timestamp string".into(),
        Ty::Any => "any value".into(),
        Ty::Struct => "an object".into(),
    }
}

/// `", did you mean `x`?"` when a candidate is close to `s`, else empty.
pub fn did_you_mean<'a>(s: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&s.to_ascii_lowercase(), &c.to_ascii_lowercase());
        if score > best.map_or(0.0, |b| b.0) {
            best = Some((score, c));
        }
    }
    match best {
        Some((score, c)) if score >= 0.85 => format!("; did you mean `{c}`?"),
        _ => String::new(),
    }
}

pub(crate) fn clip(s: &str) -> String {
    if s.len() <= 60 {
        return s.to_string();
    }
    let mut end = 57;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(crate) fn looks_numeric(s: &str) -> bool {
    !s.is_empty() && s.trim().parse::<f64>().is_ok()
}

/// Standard or URL-safe base64, padded or not (protobuf JSON accepts both). Err = byte index.
pub(crate) fn check_base64(s: &[u8]) -> Result<(), usize> {
    let mut end = s.len();
    while end > 0 && s[end - 1] == b'=' {
        end -= 1;
    }
    if s.len() - end > 2 {
        return Err(end);
    }
    for (i, &b) in s[..end].iter().enumerate() {
        if !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')) {
            return Err(i);
        }
    }
    if end % 4 == 1 || (s.len() != end && !s.len().is_multiple_of(4)) {
        return Err(end.saturating_sub(1));
    }
    Ok(())
}

/// Largest whole seconds of a `google.protobuf.Duration` (10,000 years), either sign.
pub(crate) const MAX_DURATION_SECS: u64 = 315_576_000_000;

/// `-?digits(.digits{1,9})?s`, as protobuf's JSON mapping of Duration, within its range of
/// ±[`MAX_DURATION_SECS`] seconds (the fraction included).
pub(crate) fn valid_duration(s: &str) -> bool {
    let Some(body) = s.strip_suffix('s') else {
        return false;
    };
    let body = body.strip_prefix('-').unwrap_or(body);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let in_range = || {
        let whole = int.trim_start_matches('0');
        whole.len() <= 12
            && match whole.parse::<u64>().unwrap_or(0) {
                n if n < MAX_DURATION_SECS => true,
                MAX_DURATION_SECS => frac.is_none_or(|f| f.bytes().all(|b| b == b'0')),
                _ => false,
            }
    };
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac
            .is_none_or(|f| !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()))
        && in_range()
}

/// A loose RFC 3339 check: `YYYY-MM-DDTHH:MM:SS[.f]` then `Z` or `±HH:MM`.
pub(crate) fn valid_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(|c| c.is_ascii_digit());
    let head = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !head {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    let rest = &s[i..];
    rest == "Z" || rest == "z" || (rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-'))
}

#[cfg(test)]
mod duration_tests {
    use super::valid_duration;

    #[test]
    fn durations_follow_protobufs_json_form_and_range() {
        for ok in [
            "0s",
            "1.5s",
            "-2s",
            "0.000000001s",
            "00012s",
            "315576000000s",
            "-315576000000s",
            "315576000000.000s",
            "315575999999.999999999s",
        ] {
            assert!(valid_duration(ok), "{ok}");
        }
        for bad in [
            "1",
            "s",
            "1.s",
            "1.0000000001s",
            "+1s",
            "1e3s",
            "315576000001s",
            "315576000000.5s",
            "-999999999999s",
            "99999999999999999999999s",
        ] {
            assert!(!valid_duration(bad), "{bad}");
        }
    }
}
