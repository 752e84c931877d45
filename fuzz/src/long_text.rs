//! Long text in one request (`long_text` target): validate's context-window estimate on
//! megabyte runs of text.

use batchline::request::diag::Code;
use batchline::request::line::{LineChecker, LineKind, RequestLimits};

/// The longest text [`long_text_line`] builds: 8 MiB, past the million characters of one run that
/// once overflowed the o200k tokenizer's regex stack.
pub const LONG_TEXT_MAX: usize = 8 << 20;

/// One request line whose only text part is the rest of `data` (lossy UTF-8) repeated
/// 2^(`data[0]` % 24) times, cut to [`LONG_TEXT_MAX`] bytes, so that a few seed bytes reach
/// megabyte runs. `None` when there is nothing to repeat. Returns the text and the line.
pub fn long_text_line(data: &[u8]) -> Option<(String, Vec<u8>)> {
    let (&exponent, unit) = data.split_first()?;
    let unit = String::from_utf8_lossy(unit);
    if unit.is_empty() {
        return None;
    }
    let times = (1usize << (exponent % 24))
        .min(LONG_TEXT_MAX / unit.len())
        .max(1);
    let text = unit.repeat(times);
    let line = serde_json::json!({"request": {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
    }});
    Some((text, serde_json::to_vec(&line).expect("serialisable")))
}

/// Checks [`long_text_line`]`(data)` with a context window one token below the line's byte
/// length, so that the estimate tokenises all of the text: no panic, and no context-window
/// finding, because o200k never counts more tokens than the text's bytes (every token covers at
/// least one byte), and those are fewer than the line's.
pub fn check_long_text(data: &[u8]) {
    let Some((text, line)) = long_text_line(data) else {
        return;
    };
    let mut checker = LineChecker::new();
    checker.limits = Some(RequestLimits {
        context_window: line.len() as u64 - 1,
        max_request_bytes: u64::MAX,
    });
    let outcome = checker.check(&line, 0, 0);
    assert_eq!(
        outcome.kind,
        LineKind::Object,
        "{} bytes of text",
        text.len()
    );
    let over: Vec<_> = checker
        .findings
        .items
        .iter()
        .filter(|f| matches!(f.code, Code::W_CONTEXT_WINDOW | Code::E_CONTEXT_WINDOW))
        .map(|f| f.message.clone())
        .collect();
    assert!(
        over.is_empty(),
        "{} bytes of text estimated above their byte count: {over:?}",
        text.len()
    );
}
