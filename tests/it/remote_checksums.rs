//! Uploads checked by the checksum Cloud Storage keeps: `x-goog-hash`'s CRC32C decides where the
//! store reports one, so a multipart object whose entity tag is not MD5-based (as GCS documents
//! for XML multipart uploads) is accepted, a resumed upload skips it, and a wrong CRC32C fails.
//! The store is moto behind `tests/storage/gcs_front.py`, which adds the header.

use batchline::store::{Location, Store};

use crate::common::moto::Moto;
use crate::remote::{cloud, corpus, local_run, manifest, objects, run};

#[test]
fn a_multipart_object_with_a_tag_not_made_from_md5s_is_verified_by_its_crc32c() {
    let Some(moto) = Moto::start_gcs_front("gcs") else {
        return;
    };
    moto.bucket("runs");
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = local_run(dir.path());
    let args = [
        "prepare",
        &input,
        "-o",
        "gs://runs/r",
        "--tokens",
        "off",
        "--max-bytes",
        "30MB",
        "-q",
    ];
    let out = run(Some(&moto), &args, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got = objects(&moto, "gs://runs/r");
    let m = manifest(&got["manifest.json"]);
    let big = &m["shards"][0];
    let bytes = &got["shards/shard-00000.jsonl"];
    assert!(bytes.len() > 16 << 20, "{}", bytes.len());
    // The tag the front reports is `<hex>-2`, but not S3's MD5 of the parts' MD5s.
    let parts: Vec<[u8; 16]> = bytes
        .chunks(16 << 20)
        .map(batchline::store::verify::md5)
        .collect();
    let s3_form = batchline::store::verify::multipart_etag(&parts);
    let tag = big["etag"].as_str().unwrap().trim_matches('"');
    assert!(tag.ends_with("-2") && tag != s3_form, "{tag} vs {s3_form}");
    assert_eq!(
        big["crc32c"].as_str().unwrap(),
        batchline::store::verify::crc32c_b64(crc32c::crc32c(bytes))
    );
    // The store reports the CRC32C the manifest records.
    let store = Store::open(&Location::parse("gs://runs/r").unwrap(), &cloud(&moto)).unwrap();
    assert_eq!(
        store.stored_crc32c("shards/shard-00000.jsonl").unwrap(),
        Some(crc32c::crc32c(bytes))
    );
    assert_eq!(store.stored_crc32c("no-such-object").unwrap(), None);
}

#[test]
fn a_resumed_upload_skips_objects_whose_crc32c_matches() {
    let Some(moto) = Moto::start_gcs_front("gcs") else {
        return;
    };
    moto.bucket("pub");
    let dir = tempfile::tempdir().unwrap();
    let (_, local) = local_run(dir.path());
    let up = ["upload", local.to_str().unwrap(), "gs://pub/run"];
    let out = run(Some(&moto), &up, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Unfinished again (no manifest): every object is present with the same bytes, the
    // multipart shard included, whose tag is not the MD5 form batchline would compute.
    let store = Store::open(&Location::parse("gs://pub/run").unwrap(), &cloud(&moto)).unwrap();
    store.delete("manifest.json").unwrap();
    let out = run(Some(&moto), &[&up[..], &["--format", "json"]].concat(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    let files = crate::common::files_of(&local).len() - 2; // not the marker, not the manifest
    assert_eq!(summary["skipped"], files, "{summary}");
    assert_eq!(summary["uploaded"], 0, "{summary}");
    assert_eq!(summary["bytes_sent"], 0, "{summary}");
}

#[test]
fn a_crc32c_that_disagrees_fails_the_upload_and_no_manifest_is_written() {
    let Some(moto) = Moto::start_gcs_front("lie") else {
        return;
    };
    moto.bucket("runs");
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path(), "1MB");
    let out = run(
        Some(&moto),
        &[
            "prepare",
            &input,
            "-o",
            "gs://runs/bad",
            "--tokens",
            "off",
            "-q",
        ],
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("gs://runs/bad/shards/shard-00000.jsonl: the upload does not match what was sent (the store keeps CRC32C "),
        "{}",
        out.stderr
    );
    assert!(!objects(&moto, "gs://runs/bad").contains_key("manifest.json"));
}
