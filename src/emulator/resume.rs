//! Vertex's native resume, as the emulator models it (VERTEX.md: "to finish a failed, cancelled
//! or expired job, create a new job whose input is the previous job's output file; the new job
//! runs only the incomplete or failed rows and writes all rows, old and new, to its own output";
//! documented, no worked example found).
//!
//! An input line that is a prediction row (it has both `status` and `response`) is either
//! **carried**, when it succeeded (`status` empty, `response` a non-empty object): written to the
//! new job's output as it is, not run again; or **run again** from its `request`, with `status`,
//! `response` and `processed_time` dropped (its other members kept). Every other line is an
//! ordinary request line. Rows the earlier job never exported are not in its output, so a resume
//! cannot run them: that is the model's reading of the documentation, not a confirmed fact.

/// The input split for a resumed job.
#[derive(Debug, Default, PartialEq)]
pub struct Resumed {
    /// The lines to run (newline-terminated).
    pub to_run: Vec<u8>,
    /// Finished rows carried into the output as they were (newline-terminated).
    pub carried: Vec<u8>,
    /// How many rows `carried` holds.
    pub carried_rows: u64,
}

/// Splits `data` (JSONL) into the lines to run and the finished rows to carry; `None` when no
/// line is a prediction row (an ordinary input, left as it is).
pub fn split(data: &[u8]) -> Option<Resumed> {
    if !memchr_str(data, b"\"response\"") {
        return None;
    }
    let mut out = Resumed::default();
    let mut rows = 0;
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    for line in data.split(|&b| b == b'\n') {
        let looks_like_a_row = memchr_str(line, b"\"response\"") && memchr_str(line, b"\"status\"");
        let parsed = if looks_like_a_row {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(line).ok()
        } else {
            None
        };
        match parsed {
            Some(mut row) if row.contains_key("status") && row.contains_key("response") => {
                rows += 1;
                let done = row.get("status").and_then(|s| s.as_str()) == Some("")
                    && row
                        .get("response")
                        .and_then(|r| r.as_object())
                        .is_some_and(|r| !r.is_empty());
                if done {
                    out.carried.extend_from_slice(line);
                    out.carried.push(b'\n');
                    out.carried_rows += 1;
                } else {
                    for member in ["status", "response", "processed_time"] {
                        row.remove(member);
                    }
                    let bytes = serde_json::to_vec(&row).expect("invariant: a map serialises");
                    out.to_run.extend_from_slice(&bytes);
                    out.to_run.push(b'\n');
                }
            }
            _ => {
                out.to_run.extend_from_slice(line);
                out.to_run.push(b'\n');
            }
        }
    }
    (rows > 0).then_some(out)
}

/// True when `needle` occurs in `hay`.
fn memchr_str(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_rows_are_carried_failed_rows_run_again_and_requests_pass_through() {
        let done = r#"{"request":{"contents":[]},"status":"","response":{"candidates":[]},"processed_time":"t","batchline_key":"k1"}"#;
        let failed = r#"{"status":"Internal Server Error: x","processed_time":"t","request":{"contents":[]},"response":{},"batchline_key":"k2"}"#;
        let blocked =
            r#"{"request":{"contents":[]},"status":"","response":{},"batchline_key":"k3"}"#;
        let plain = r#"{"request":{"contents":[{"parts":[{"text":"\"response\" \"status\""}]}]}}"#;
        let data = format!("{done}\n{failed}\n\n{blocked}\n{plain}\n");
        let r = split(data.as_bytes()).unwrap();
        assert_eq!(r.carried, format!("{done}\n").into_bytes());
        assert_eq!(r.carried_rows, 1);
        assert_eq!(
            String::from_utf8(r.to_run).unwrap(),
            format!(
                "{}\n\n{}\n{plain}\n",
                r#"{"batchline_key":"k2","request":{"contents":[]}}"#,
                r#"{"batchline_key":"k3","request":{"contents":[]}}"#
            )
        );
        // An ordinary input is left alone.
        assert_eq!(split(plain.as_bytes()), None);
        assert_eq!(split(b""), None);
        assert_eq!(split(b"not json \"response\" \"status\""), None);
    }
}
