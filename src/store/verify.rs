//! Checking an upload against what the store reports, with checksums computed while writing.
//!
//! Cloud Storage keeps a CRC32C of every object (`x-goog-hash`, read by
//! [`Store::stored_crc32c`](super::Store::stored_crc32c)); where the store reports one it decides,
//! and the entity tag is only recorded: GCS documents that the tag of an XML multipart object is
//! not based on MD5. Otherwise the tag is checked where it has an MD5 form: S3 (and GCS for
//! single-request uploads) report the MD5 of the object's bytes in hex, and S3 for multipart
//! uploads the MD5 of the parts' MD5 digests followed by `-<parts>`. A tag of another form leaves
//! the size to check. The tag is recorded either way, so a later re-run can tell the object is
//! unchanged without reading it, and so is the CRC32C, as GCS writes it (base64 of the
//! big-endian value), so `gcloud storage objects describe` can be compared with the manifest.

use base64::Engine;
use md5::{Digest, Md5};

use super::{Meta, Store};
use crate::error::{Error, Result};

/// The MD5 digest of `bytes`.
pub fn md5(bytes: &[u8]) -> [u8; 16] {
    Md5::digest(bytes).into()
}

/// CRC32C as GCS shows it: base64 of the 4 big-endian bytes.
pub fn crc32c_b64(crc: u32) -> String {
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// The entity tag without quotes, when it has an MD5 form: (hex digest, part count if multipart).
fn md5_form(etag: &str) -> Option<(&str, Option<usize>)> {
    let t = etag.trim_matches('"');
    let (digest, parts) = match t.split_once('-') {
        Some((d, n)) => (d, Some(n.parse().ok()?)),
        None => (t, None),
    };
    (digest.len() == 32 && digest.bytes().all(|b| b.is_ascii_hexdigit())).then_some((digest, parts))
}

/// The entity tag S3 gives a multipart object whose parts have these MD5 digests.
pub fn multipart_etag(part_md5s: &[[u8; 16]]) -> String {
    let mut h = Md5::new();
    for d in part_md5s {
        h.update(d);
    }
    format!("{}-{}", hex(&h.finalize()), part_md5s.len())
}

fn mismatch(url: &str, what: String) -> Error {
    Error::Remote {
        url: url.to_string(),
        message: format!(
            "the upload does not match what was sent ({what}); nothing that depends on it was written, re-run to upload it again"
        ),
    }
}

/// Checks a single-request upload's reported tag against the bytes sent.
pub fn check_put(url: &str, bytes: &[u8], meta: &Meta) -> Result<()> {
    if let Some((digest, None)) = meta.etag.as_deref().and_then(md5_form) {
        let want = hex(&md5(bytes));
        if !digest.eq_ignore_ascii_case(&want) {
            return Err(mismatch(
                url,
                format!("the store reports MD5 {digest}, the bytes have {want}"),
            ));
        }
    }
    Ok(())
}

/// Checks an object after upload: its size as the store reports it, then the strongest checksum
/// the store offers. Where the store keeps a CRC32C (Cloud Storage), it must equal `crc32c`,
/// computed while writing, and the entity tag is only recorded: Cloud Storage documents that the
/// tag of an object made by a multipart upload is not based on MD5, whatever form it has.
/// Elsewhere the tag is checked against the MD5 of the bytes (one part) or of the parts' digests
/// (several parts).
pub fn check_object(
    url: &str,
    size: u64,
    part_md5s: &[[u8; 16]],
    crc32c: u32,
    stored_crc32c: Option<u32>,
    meta: &Meta,
) -> Result<()> {
    if meta.size != size {
        return Err(mismatch(
            url,
            format!("the store holds {} bytes, {size} were sent", meta.size),
        ));
    }
    if let Some(stored) = stored_crc32c {
        if stored != crc32c {
            return Err(mismatch(
                url,
                format!(
                    "the store keeps CRC32C {}, the bytes sent have {}",
                    crc32c_b64(stored),
                    crc32c_b64(crc32c)
                ),
            ));
        }
        return Ok(());
    }
    match meta.etag.as_deref().and_then(md5_form) {
        Some((digest, Some(n))) => {
            let want = multipart_etag(part_md5s);
            if n != part_md5s.len() || !want.starts_with(&digest.to_ascii_lowercase()) {
                return Err(mismatch(
                    url,
                    format!("the store reports tag {digest}-{n}, the parts sent give {want}"),
                ));
            }
        }
        Some((digest, None)) => {
            // One part sent as one request: the tag is the MD5 of the bytes.
            if let [w] = part_md5s {
                let want = hex(w);
                if !digest.eq_ignore_ascii_case(&want) {
                    return Err(mismatch(
                        url,
                        format!("the store reports MD5 {digest}, the bytes have {want}"),
                    ));
                }
            }
        }
        None => {}
    }
    Ok(())
}

/// Verifies an object just uploaded to `store` ([`check_object`] on what the store reports,
/// with its CRC32C where it keeps one) and returns its metadata.
pub fn verify_upload(
    store: &Store,
    name: &str,
    size: u64,
    part_md5s: &[[u8; 16]],
    crc32c: u32,
) -> Result<Meta> {
    let url = store.describe(name);
    let head = store.head(name)?.ok_or_else(|| Error::Remote {
        url: url.clone(),
        message: "the object is missing right after its upload".into(),
    })?;
    let stored = store.stored_crc32c(name)?;
    check_object(&url, size, part_md5s, crc32c, stored, &head)?;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_published_test_vectors() {
        // RFC 1321's test suite, and the CRC32C check value of "123456789" (0xE3069283).
        assert_eq!(hex(&md5(b"abc")), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(crc32c_b64(crc32c::crc32c(b"123456789")), "4waSgw==");
        assert_eq!(crc32c_b64(0xE306_9283), "4waSgw==");
    }

    #[test]
    fn multipart_tags_are_md5_of_part_digests() {
        // Two parts "a" and "b": MD5(MD5("a") ‖ MD5("b")), computed here by hand from the bytes.
        let parts = [md5(b"a"), md5(b"b")];
        let mut joined = Vec::new();
        joined.extend_from_slice(&parts[0]);
        joined.extend_from_slice(&parts[1]);
        assert_eq!(multipart_etag(&parts), format!("{}-2", hex(&md5(&joined))));
    }

    #[test]
    fn a_tag_that_disagrees_is_an_error_and_other_forms_are_accepted() {
        let meta = |etag: &str, size| Meta {
            size,
            etag: Some(etag.into()),
            version: None,
            modified: None,
        };
        let good = format!("\"{}\"", hex(&md5(b"hello")));
        assert!(check_put("gs://b/x", b"hello", &meta(&good, 5)).is_ok());
        let e = check_put("gs://b/x", b"hellO", &meta(&good, 5)).unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
        // GCS generation-style tags are not MD5s: accepted (size checked elsewhere).
        assert!(check_put("gs://b/x", b"hello", &meta("CJjL7p3K+oYDEAE=", 5)).is_ok());
        let parts = [md5(b"a"), md5(b"b")];
        let tag = multipart_etag(&parts);
        let crc = crc32c::crc32c(b"ab");
        assert!(check_object("u", 2, &parts, crc, None, &meta(&tag, 2)).is_ok());
        assert!(check_object("u", 3, &parts, crc, None, &meta(&tag, 2)).is_err());
        assert!(check_object("u", 2, &parts[..1], crc, None, &meta(&tag, 2)).is_err());
    }

    #[test]
    fn a_stored_crc32c_decides_and_a_multipart_tag_is_then_only_recorded() {
        let meta = |etag: &str| Meta {
            size: 2,
            etag: Some(etag.into()),
            version: None,
            modified: None,
        };
        let parts = [md5(b"a"), md5(b"b")];
        let crc = crc32c::crc32c(b"ab");
        // A `<hex>-2` tag not made from the parts' MD5s (Cloud Storage's XML multipart objects
        // are not MD5-based): refused without a stored CRC32C, accepted when the CRC32C agrees.
        let other = format!("{}-2", hex(&md5(b"not the parts")));
        let e = check_object("gs://b/x", 2, &parts, crc, None, &meta(&other)).unwrap_err();
        assert!(e.to_string().contains("the store reports tag"), "{e}");
        assert!(check_object("gs://b/x", 2, &parts, crc, Some(crc), &meta(&other)).is_ok());
        // A stored CRC32C that disagrees is an error even when the tag agrees.
        let good = multipart_etag(&parts);
        let e = check_object("gs://b/x", 2, &parts, crc, Some(crc ^ 1), &meta(&good))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "gs://b/x: the upload does not match what was sent (the store keeps CRC32C {}, the bytes sent have {}); nothing that depends on it was written, re-run to upload it again",
                crc32c_b64(crc ^ 1),
                crc32c_b64(crc)
            )
        );
        // The size is checked first, whatever the CRC32C says.
        let e = check_object("gs://b/x", 3, &parts, crc, Some(crc), &meta(&good)).unwrap_err();
        assert!(
            e.to_string()
                .contains("the store holds 2 bytes, 3 were sent"),
            "{e}"
        );
    }
}
