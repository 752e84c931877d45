//! Codes: which findings are about the line's bytes, the whole line, or a field given twice.

use batchline::request::diag::Code;

/// Codes about the line's bytes as a whole: their pointer is empty and their column comes from
/// the parser, not from a pointer.
pub fn is_syntax(code: Code) -> bool {
    matches!(
        code,
        Code::E_JSON_SYNTAX | Code::E_NUL_BYTE | Code::E_INVALID_UTF8
    )
}

/// Codes about the whole line placed at column 1 with an empty pointer.
pub fn is_line_level(code: Code) -> bool {
    matches!(
        code,
        Code::W_BLANK_LINE | Code::E_NOT_OBJECT | Code::E_MISSING_REQUEST
    )
}

/// Codes of a field given twice (one spelling repeated, or both spellings). The first value is
/// the one the rules check, so a reordering may legitimately change the other findings; only the
/// duplicate findings themselves must stay (see
/// [`assert_same_findings`](super::assert_same_findings)).
pub(crate) fn order_sensitive(code: Code) -> bool {
    matches!(code, Code::W_DUPLICATE_KEY | Code::E_DUPLICATE_FIELD)
}
