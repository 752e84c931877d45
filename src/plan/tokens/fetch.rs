//! Putting the Gemma 3 vocabulary into the cache folder: `batchline fetch-tokenizer`.
//!
//! Counting never downloads. `stats` and `prepare` read the vocabulary from the cache folder or
//! `--tokenizer-model`; a pre-flight run in CI therefore makes no network call. This one explicit
//! command fills the cache, once per machine, as Google's SDK does on first use: it fetches the
//! bytes, checks their sha256 against [`MODEL_SHA256`], and only then renames them into place.
//!
//! The default source is the crates.io package `gemini-tokenizer` 0.2.0 ([`DEFAULT_SOURCE`]),
//! which ships the same file under `resources/`. It is served by the crates.io CDN, which build
//! machines that reach the package registry also reach. `--from` names another source:
//! - an `http(s)://` URL or a local path;
//! - either the vocabulary file itself (for example google/gemma_pytorch's raw file, which
//!   Google's SDK downloads) or a gzip'd tar archive (a `.crate`) that holds it.
//!
//! Whatever the source, the bytes that land are the checked ones.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::gemma::sha256_hex;
use super::{MODEL_FILE_NAME, MODEL_SHA256};
use crate::error::{Error, Result};
use crate::store::atomic::AtomicFile;

/// Where `fetch-tokenizer` gets the vocabulary by default: the crates.io package that ships it.
pub const DEFAULT_SOURCE: &str =
    "https://static.crates.io/crates/gemini-tokenizer/gemini-tokenizer-0.2.0.crate";

/// Largest source read (the package is about 4 MB compressed, the vocabulary 4.69 MB).
const MAX_SOURCE_BYTES: u64 = 64 << 20;

/// What [`fetch_model`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The cache already held the verified vocabulary; nothing was fetched.
    AlreadyPresent(PathBuf),
    /// The vocabulary was fetched, verified and written here.
    Written(PathBuf),
}

/// Puts the verified vocabulary into `dir` (created if missing) as [`MODEL_FILE_NAME`], taking it
/// from `from` (a URL or a path; see the module documentation) unless `dir` already holds it.
/// Nothing is written unless the bytes have the expected sha256.
pub fn fetch_model(dir: &Path, from: &str) -> Result<Fetched> {
    let target = dir.join(MODEL_FILE_NAME);
    if let Ok(bytes) = std::fs::read(&target) {
        if sha256_hex(&bytes) == MODEL_SHA256 {
            return Ok(Fetched::AlreadyPresent(target));
        }
    }
    let source = read_source(from)?;
    let model = if source.starts_with(&[0x1f, 0x8b]) {
        model_from_archive(&source, from)?
    } else {
        source
    };
    let actual = sha256_hex(&model);
    if actual != MODEL_SHA256 {
        return Err(Error::BadData {
            path: PathBuf::from(from),
            message: format!(
                "the fetched file has sha256 {actual}, not the Gemma 3 vocabulary's {MODEL_SHA256}; nothing was written"
            ),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let file = AtomicFile::create(&target)?;
    std::io::Write::write_all(&mut file.writer(), &model).map_err(|e| Error::io(&target, e))?;
    file.commit()?;
    Ok(Fetched::Written(target))
}

/// The bytes of `from`: an `http(s)://` URL (fetched with timeouts and a size cap) or a file.
fn read_source(from: &str) -> Result<Vec<u8>> {
    let too_big = || Error::BadData {
        path: PathBuf::from(from),
        message: format!("larger than {MAX_SOURCE_BYTES} bytes: not the vocabulary or its package"),
    };
    if from.starts_with("http://") || from.starts_with("https://") {
        let net = |e: ureq::Error| Error::io(from, std::io::Error::other(e));
        // The system's trust store (not a bundled one): proxies that inspect TLS, common on
        // build machines, are trusted there.
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        let mut response = agent.get(from).call().map_err(net)?;
        let mut bytes = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_SOURCE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(from, e))?;
        if bytes.len() as u64 > MAX_SOURCE_BYTES {
            return Err(too_big());
        }
        Ok(bytes)
    } else {
        let meta = std::fs::metadata(from).map_err(|e| Error::io(from, e))?;
        if meta.len() > MAX_SOURCE_BYTES {
            return Err(too_big());
        }
        std::fs::read(from).map_err(|e| Error::io(from, e))
    }
}

/// The vocabulary from a gzip'd tar archive: the member named [`MODEL_FILE_NAME`] in a
/// `resources/` folder (any package folder above it), else anywhere.
fn model_from_archive(archive: &[u8], from: &str) -> Result<Vec<u8>> {
    let bad = |message: String| Error::BadData {
        path: PathBuf::from(from),
        message,
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = tar
        .entries()
        .map_err(|e| bad(format!("not a readable .tar.gz archive: {e}")))?;
    let mut fallback = None;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("not a readable .tar.gz archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("bad member name in the archive: {e}")))?
            .into_owned();
        if path.file_name().and_then(|n| n.to_str()) != Some(MODEL_FILE_NAME) {
            continue;
        }
        let mut bytes = Vec::new();
        (&mut entry)
            .take(MAX_SOURCE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
        let in_resources = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|p| p == "resources");
        if in_resources {
            return Ok(bytes);
        }
        fallback.get_or_insert(bytes);
    }
    fallback.ok_or_else(|| bad(format!("the archive holds no {MODEL_FILE_NAME}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::fast(),
        ));
        for (name, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn the_member_in_resources_wins_and_a_missing_member_is_named() {
        let name = MODEL_FILE_NAME;
        let archive = tar_gz(&[
            ("pkg-1.0/README.md", b"readme"),
            (&format!("pkg-1.0/other/{name}"), b"elsewhere"),
            (&format!("pkg-1.0/resources/{name}"), b"the one"),
        ]);
        assert_eq!(model_from_archive(&archive, "x").unwrap(), b"the one");
        let archive = tar_gz(&[(&format!("pkg/other/{name}"), b"elsewhere")]);
        assert_eq!(model_from_archive(&archive, "x").unwrap(), b"elsewhere");
        let archive = tar_gz(&[("pkg/README.md", b"readme")]);
        let err = model_from_archive(&archive, "x").unwrap_err().to_string();
        assert!(
            err.contains("holds no gemma3_cleaned_262144_v2.spiece.model"),
            "{err}"
        );
        let err = model_from_archive(&[0x1f, 0x8b, 0, 1, 2], "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a readable .tar.gz archive"), "{err}");
    }

    #[test]
    fn wrong_bytes_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source.crate");
        let name = MODEL_FILE_NAME;
        std::fs::write(
            &source,
            tar_gz(&[(&format!("p/resources/{name}"), b"not the vocabulary")]),
        )
        .unwrap();
        let cache = dir.path().join("cache");
        let err = fetch_model(&cache, source.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(MODEL_SHA256) && err.contains("nothing was written"),
            "{err}"
        );
        assert!(!cache.exists());
        // A plain file with the wrong bytes, too.
        let plain = dir.path().join("plain.model");
        std::fs::write(&plain, b"not the vocabulary").unwrap();
        assert!(fetch_model(&cache, plain.to_str().unwrap()).is_err());
        assert!(!cache.exists());
        // A missing source names itself.
        let err = fetch_model(&cache, "/no/such/source")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/source"), "{err}");
    }
}
