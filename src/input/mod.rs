//! Reading inputs: local files memory-mapped (or read), stdin read fully, then cut into chunks at
//! newline boundaries and processed in parallel, with exact line numbers.
//!
//! This module knows nothing of requests; it hands out lines. See [`chunk`] for the split and
//! [`mmap`] for the one place that decides between mapping and reading.

pub mod chunk;
pub mod lines;
pub mod mmap;

pub use chunk::{split_chunks, ChunkConfig};
pub use lines::{Line, LineIter};
pub use mmap::{open_input, InputBytes, MmapChoice};

/// A UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The scheme of a URL-like name (`gs://bucket/x` → `gs`): such names are not local paths (the
/// operating system would read `gs://b/x` as the folder `gs:`), and object storage comes with the
/// storage issue, so inputs and run folders named this way are refused instead of misread.
pub fn url_scheme(name: &str) -> Option<&str> {
    let (scheme, rest) = name.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && !rest.is_empty()).then_some(scheme)
}

/// The usage error for a URL-like input (`output` false) or run folder (`output` true); see
/// [`url_scheme`].
pub fn url_not_supported(name: &str, scheme: &str, output: bool) -> crate::error::Error {
    let (what, hint) = if output {
        (
            "run folders",
            "; prepare into a local folder, then copy it with `gcloud storage cp -r`",
        )
    } else {
        (
            "inputs",
            "; copy the file with `gcloud storage cp` and give the local path",
        )
    };
    crate::error::Error::Usage(if scheme == "gs" {
        format!("{name}: {what} in Cloud Storage (gs://) are not supported yet{hint}")
    } else {
        format!("{name}: {what} at {scheme}:// URLs are not supported")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_like_names_are_told_from_paths() {
        assert_eq!(url_scheme("gs://bucket/a.jsonl"), Some("gs"));
        assert_eq!(url_scheme("s3://b/k"), Some("s3"));
        assert_eq!(url_scheme("git+ssh://h/x"), Some("git+ssh"));
        for path in [
            "a.jsonl",
            "-",
            "/tmp/gs/x",
            "./gs:/x",
            "gs://",
            "1gs://x",
            "dir/gs://x",
            "://x",
        ] {
            assert_eq!(url_scheme(path), None, "{path}");
        }
    }
}
