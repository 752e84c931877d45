//! Where a run or an input lives: a local path, or an object-store URL.
//!
//! Exact rules:
//! - `-` is stdin (inputs only) and is not a `Location`.
//! - A name with a URL scheme (`scheme://rest`, scheme = a letter then letters, digits, `+-.`) is
//!   a URL: `file://` is a local path (`file:///abs/path`, or `file://relative` as written),
//!   `gs://bucket/prefix`, `s3://bucket/prefix` and `memory://name/prefix` are object stores,
//!   `http://` and `https://` are read-only objects (inputs only). Any other scheme is refused.
//! - Anything else is a local path, as the operating system reads it (bytes, not UTF-8: see
//!   [`Location::local`]).
//! - Object prefixes have no leading or trailing `/`, no empty segments, and no `.`/`..`
//!   segments: object stores treat `a//b` and `a/./b` as other names than `a/b`, so they are
//!   refused rather than silently written somewhere unexpected.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The kind of object store behind a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Google Cloud Storage (`gs://`), through its XML API.
    Gcs,
    /// Amazon S3 or an S3-compatible service (`s3://`).
    S3,
    /// A process-wide in-memory store (`memory://`), for tests.
    Memory,
    /// A plain HTTP(S) URL, read-only (`http://`, `https://`).
    Http,
}

impl Scheme {
    /// The URL scheme as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Gcs => "gs",
            Scheme::S3 => "s3",
            Scheme::Memory => "memory",
            Scheme::Http => "https",
        }
    }
}

/// A run folder or input, parsed from what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    /// A local path (a plain path or `file://`).
    Local(PathBuf),
    /// An object-store location: `bucket` and a `prefix` of `/`-separated segments (may be
    /// empty: the bucket's root).
    Object {
        /// The store kind.
        scheme: Scheme,
        /// Bucket (or memory store name).
        bucket: String,
        /// Object name or prefix inside the bucket, without leading or trailing `/`.
        prefix: String,
    },
    /// A plain HTTP(S) URL (inputs only): the whole URL as written.
    Http(String),
}

/// The scheme of a URL-like name (`gs://bucket/x` → `gs`), or `None` for a path.
pub fn url_scheme(name: &str) -> Option<&str> {
    let (scheme, rest) = name.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (valid && !rest.is_empty()).then_some(scheme)
}

impl Location {
    /// Parses a run folder or input name (see the module doc for the rules).
    pub fn parse(name: &str) -> Result<Location> {
        let Some(scheme) = url_scheme(name) else {
            return Ok(Location::Local(PathBuf::from(name)));
        };
        let rest = &name[scheme.len() + 3..];
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "file" => return Ok(Location::Local(PathBuf::from(rest))),
            "http" | "https" => return Ok(Location::Http(name.to_string())),
            "gs" => Scheme::Gcs,
            "s3" | "s3a" => Scheme::S3,
            "memory" => Scheme::Memory,
            other => {
                return Err(Error::Usage(format!(
                    "{name}: `{other}://` is not a storage batchline knows; use a local path, file://, gs://, s3:// (or http(s):// for inputs)"
                )))
            }
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(Error::Usage(format!("{name}: the URL names no bucket")));
        }
        let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(Error::Usage(format!(
                "{name}: an object path with an empty, `.` or `..` segment names another object than it seems; write it without them"
            )));
        }
        Ok(Location::Object {
            scheme: kind,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// A local path given as bytes (a name that is not UTF-8 is still a path): never a URL.
    pub fn local(path: impl Into<PathBuf>) -> Location {
        Location::Local(path.into())
    }

    /// The local path, if this is one.
    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Location::Local(p) => Some(p),
            _ => None,
        }
    }

    /// `self` with `name` (a `/`-separated relative name) appended.
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Local(p) => Location::Local(p.join(name)),
            Location::Object {
                scheme,
                bucket,
                prefix,
            } => Location::Object {
                scheme: *scheme,
                bucket: bucket.clone(),
                prefix: if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}/{name}")
                },
            },
            Location::Http(url) => Location::Http(format!("{}/{name}", url.trim_end_matches('/'))),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::Object {
                scheme,
                bucket,
                prefix,
            } if prefix.is_empty() => write!(f, "{}://{bucket}", scheme.as_str()),
            Location::Object {
                scheme,
                bucket,
                prefix,
            } => write!(f, "{}://{bucket}/{prefix}", scheme.as_str()),
            Location::Http(url) => f.write_str(url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(scheme: Scheme, bucket: &str, prefix: &str) -> Location {
        Location::Object {
            scheme,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    #[test]
    fn names_parse_to_locations() {
        let cases = [
            ("run", Location::Local("run".into())),
            ("/tmp/gs/x", Location::Local("/tmp/gs/x".into())),
            ("./gs:/x", Location::Local("./gs:/x".into())),
            ("dir/gs://x", Location::Local("dir/gs://x".into())),
            ("file:///abs/run", Location::Local("/abs/run".into())),
            ("file://rel/run", Location::Local("rel/run".into())),
            ("gs://b", object(Scheme::Gcs, "b", "")),
            ("gs://b/", object(Scheme::Gcs, "b", "")),
            ("gs://b/runs/r1/", object(Scheme::Gcs, "b", "runs/r1")),
            ("s3://bk/a/b.jsonl", object(Scheme::S3, "bk", "a/b.jsonl")),
            ("memory://t/x", object(Scheme::Memory, "t", "x")),
            (
                "https://h/a.jsonl",
                Location::Http("https://h/a.jsonl".into()),
            ),
        ];
        for (name, want) in cases {
            assert_eq!(Location::parse(name).unwrap(), want, "{name}");
        }
    }

    #[test]
    fn odd_urls_are_refused_with_the_reason() {
        for (name, why) in [
            ("gs:///x", "names no bucket"),
            ("gs://b/a//c", "empty, `.` or `..`"),
            ("gs://b/a/../c", "empty, `.` or `..`"),
            ("ftp://h/x", "`ftp://` is not a storage"),
        ] {
            let e = Location::parse(name).unwrap_err().to_string();
            assert!(e.contains(why), "{name}: {e}");
        }
    }

    #[test]
    fn display_round_trips_and_join_appends() {
        for name in ["gs://b/runs/r1", "s3://b", "memory://t/x/y", "run/a"] {
            assert_eq!(Location::parse(name).unwrap().to_string(), name);
        }
        let run = Location::parse("gs://b/runs/r1").unwrap();
        assert_eq!(
            run.join("shards/shard-00000.jsonl").to_string(),
            "gs://b/runs/r1/shards/shard-00000.jsonl"
        );
        assert_eq!(
            Location::parse("gs://b")
                .unwrap()
                .join("m.json")
                .to_string(),
            "gs://b/m.json"
        );
    }
}
