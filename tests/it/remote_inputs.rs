//! Remote inputs against a real storage emulator (moto), through the GCS and the S3 backend:
//! `validate`, `stats` and `prepare` on an object give what they give on the same local file;
//! patterns expand in lexical order; an object that changes while read, a missing object and a
//! full spill folder are errors with their documented messages.

use std::path::Path;
use std::process::{Command, Stdio};

use batchline::store::{CloudConfig, Durability, Location, Secret, Store};

use crate::common::moto::{Moto, ENV};
use crate::common::{testdata, Out};

/// The emulator's test credentials in this process (the S3 backend reads the AWS environment).
fn test_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (k, v) in ENV {
            if k != "BATCHLINE_ACCESS_TOKEN" {
                std::env::set_var(k, v);
            }
        }
    });
}

/// Starts moto with one bucket.
fn moto_with(bucket: &str) -> Option<Moto> {
    test_env();
    let moto = Moto::start()?;
    moto.bucket(bucket);
    Some(moto)
}

/// Puts `bytes` at `url` (an object URL) through the storage layer.
fn put(moto: &Moto, url: &str, bytes: &[u8]) {
    let cloud = CloudConfig {
        gcs_endpoint: Some(moto.url.clone()),
        s3_endpoint: Some(moto.url.clone()),
        access_token: Some(Secret::new("test-token")),
        ..CloudConfig::default()
    };
    let (dir, name) = url.rsplit_once('/').unwrap();
    let store = Store::open(&Location::parse(dir).unwrap(), &cloud).unwrap();
    store.put(name, bytes, Durability::Normal).unwrap();
}

/// Runs `batchline args` in `dir` with the emulator's environment.
fn run(moto: &Moto, dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Out {
    let out = crate::common::batchline()
        .current_dir(dir)
        .args(args)
        .envs(moto.env())
        .env("NO_COLOR", "1")
        .env_remove("BATCHLINE_SPILL_DIR")
        .envs(extra_env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    out.into()
}

/// dups.jsonl (an invalid line, duplicates) then a generated corpus of 20 MB: findings of every
/// kind, and two ranges of 16 MiB when fetched.
fn mixed_input(dir: &Path) -> Vec<u8> {
    let gen = dir.join("gen.jsonl");
    let out = crate::common::batchline()
        .args(["gen-corpus", "--seed", "3", "--size", "20MB", "-o"])
        .arg(&gen)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut data = std::fs::read(testdata("prepare/dups.jsonl")).unwrap();
    data.extend(std::fs::read(&gen).unwrap());
    std::fs::remove_file(&gen).unwrap();
    data
}

fn spill_dir_is_empty(dir: &Path) {
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        0,
        "the spill folder keeps nothing"
    );
}

#[test]
fn gs_and_s3_inputs_give_exactly_the_findings_report_and_run_of_the_local_file() {
    let Some(moto) = moto_with("inputs") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spill = tempfile::tempdir().unwrap();
    let data = mixed_input(dir.path());
    std::fs::write(dir.path().join("in.jsonl"), &data).unwrap();
    put(&moto, "gs://inputs/data/in.jsonl", &data);
    let spill_arg = spill.path().to_str().unwrap();
    let local = |args: &[&str]| {
        let out = run(&moto, dir.path(), args, &[]);
        assert!(out.code == 1 || out.code == 0, "{args:?}: {}", out.stderr);
        (out.code, out.stdout)
    };
    for (cmd, extra) in [
        ("validate", &["--format", "json", "--max-errors", "0"][..]),
        ("stats", &["--format", "json", "--tokens", "off"][..]),
    ] {
        let mut want_args = vec![cmd, "in.jsonl"];
        want_args.extend(extra);
        let (want_code, want) = local(&want_args);
        for url in ["gs://inputs/data/in.jsonl", "s3://inputs/data/in.jsonl"] {
            let mut args = vec![cmd, url, "--spill-dir", spill_arg];
            args.extend(extra);
            let got = run(&moto, dir.path(), &args, &[]);
            assert_eq!(got.code, want_code, "{cmd} {url}: {}", got.stderr);
            assert_eq!(got.stdout.replace(url, "in.jsonl"), want, "{cmd} {url}");
            assert!(got.stdout.contains(url), "{cmd}: the report names {url}");
            spill_dir_is_empty(spill.path());
        }
    }
    // prepare: the same shards, index and counts; the manifest names the object and its version.
    let (code, _) = local(&["prepare", "in.jsonl", "-o", "run-local", "--tokens", "off"]);
    assert_eq!(code, 0);
    let got = run(
        &moto,
        dir.path(),
        &[
            "prepare",
            "gs://inputs/data/in.jsonl",
            "-o",
            "run-remote",
            "--tokens",
            "off",
            "--spill-dir",
            spill_arg,
        ],
        &[],
    );
    assert_eq!(got.code, 0, "{}", got.stderr);
    spill_dir_is_empty(spill.path());
    let read = |run: &str, name: &str| std::fs::read(dir.path().join(run).join(name)).unwrap();
    let manifest = |run: &str| -> serde_json::Value {
        serde_json::from_slice(&read(run, "manifest.json")).unwrap()
    };
    let (ml, mr) = (manifest("run-local"), manifest("run-remote"));
    assert_eq!(ml["counts"], mr["counts"]);
    assert_eq!(
        ml["shards"], mr["shards"],
        "shards byte for byte (checksums)"
    );
    for f in ml["shards"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        assert!(
            read("run-local", name) == read("run-remote", name),
            "{name}"
        );
    }
    let input = &mr["inputs"][0];
    assert_eq!(input["path"], "gs://inputs/data/in.jsonl");
    assert_eq!(input["size"], data.len() as u64);
    assert_eq!(input["mtime"], 0);
    assert_eq!(input["checksum"], ml["inputs"][0]["checksum"]);
    let head = Store::open(
        &Location::parse("gs://inputs/data").unwrap(),
        &CloudConfig {
            gcs_endpoint: Some(moto.url.clone()),
            access_token: Some(Secret::new("test-token")),
            ..CloudConfig::default()
        },
    )
    .unwrap()
    .head("in.jsonl")
    .unwrap()
    .unwrap();
    let want_generation = head.version.or(head.etag).expect("moto reports a version");
    assert_eq!(input["generation"], want_generation.as_str());
    // A re-run judges the object by a metadata request: nothing is downloaded (the spill folder
    // is given a hook that reports no room, so a download would fail) and nothing rewritten.
    let before = crate::common::files_of(&dir.path().join("run-remote"));
    let again = run(
        &moto,
        dir.path(),
        &[
            "prepare",
            "gs://inputs/data/in.jsonl",
            "-o",
            "run-remote",
            "--tokens",
            "off",
            "--spill-dir",
            spill_arg,
        ],
        &[("BATCHLINE_TEST_SPILL_FREE_BYTES", "0")],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains("already prepared from these inputs with these options; nothing to do"),
        "{}",
        again.stdout
    );
    assert_eq!(
        crate::common::files_of(&dir.path().join("run-remote")),
        before
    );
}

#[test]
fn an_https_url_is_read_like_the_object_it_names() {
    let Some(moto) = moto_with("web") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = std::fs::read(testdata("prepare/dups.jsonl")).unwrap();
    std::fs::write(dir.path().join("in.jsonl"), &data).unwrap();
    // Readable without credentials, as a plain https:// object would be.
    let url = format!("{}/web/in.jsonl", moto.url);
    let status = ureq::put(&url)
        .header("x-amz-acl", "public-read")
        .header("Content-Type", "application/octet-stream")
        .send(&data[..])
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    let args = ["--format", "json", "--max-errors", "0"];
    let want = run(
        &moto,
        dir.path(),
        &[&["validate", "in.jsonl"][..], &args].concat(),
        &[],
    );
    let got = run(
        &moto,
        dir.path(),
        &[&["validate", &url][..], &args].concat(),
        &[],
    );
    assert_eq!(got.code, 1, "{}", got.stderr);
    assert_eq!(got.stdout.replace(&url, "in.jsonl"), want.stdout);
}

#[test]
fn globs_and_prefixes_expand_to_objects_in_lexical_order() {
    let Some(moto) = moto_with("many") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let line = |i: usize| {
        format!("{{\"request\":{{\"contents\":[{{\"role\":\"user\",\"parts\":[{{\"text\":\"n{i}\"}}]}}]}}}}\n")
    };
    // Written out of order; two lines in b, one elsewhere.
    for (key, body) in [
        ("in/c.jsonl", line(3)),
        ("in/a.jsonl", line(1)),
        ("in/b.jsonl", line(2) + &line(22)),
        ("in/sub/d.jsonl", line(4)),
        ("in/notes.txt", line(5)),
    ] {
        put(&moto, &format!("gs://many/{key}"), body.as_bytes());
    }
    let files = |pattern: &str| -> Vec<(String, u64)> {
        let out = run(
            &moto,
            dir.path(),
            &["validate", pattern, "--format", "json"],
            &[],
        );
        assert_eq!(out.code, 0, "{pattern}: {}", out.stderr);
        let summary: serde_json::Value =
            serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
        summary["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["file"].as_str().unwrap().to_string(),
                    f["lines"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let abc = vec![
        ("gs://many/in/a.jsonl".to_string(), 1),
        ("gs://many/in/b.jsonl".to_string(), 2),
        ("gs://many/in/c.jsonl".to_string(), 1),
    ];
    assert_eq!(files("gs://many/in/*.jsonl"), abc);
    assert_eq!(files("s3://many/in/?.jsonl").len(), 3);
    let mut with_notes = abc.clone();
    with_notes.push(("gs://many/in/notes.txt".to_string(), 1));
    assert_eq!(
        files("gs://many/in/"),
        with_notes,
        "a prefix: direct children only"
    );
    // `*` stays within one segment.
    assert_eq!(
        files("gs://many/*/*/d.jsonl"),
        vec![("gs://many/in/sub/d.jsonl".to_string(), 1)]
    );
    let out = run(&moto, dir.path(), &["validate", "gs://many/*/d.jsonl"], &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn a_pattern_that_matches_nothing_is_a_usage_error_naming_it() {
    let Some(moto) = moto_with("empty") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    put(&moto, "gs://empty/in/a.jsonl", b"{}\n");
    for cmd in ["validate", "stats"] {
        let out = run(&moto, dir.path(), &[cmd, "gs://empty/in/*.csv"], &[]);
        assert_eq!(out.code, 2, "{cmd}");
        assert_eq!(
            out.stderr.trim_end(),
            "error: gs://empty/in/*.csv: matches no object (nothing to read)",
            "{cmd}"
        );
    }
    let out = run(
        &moto,
        dir.path(),
        &["prepare", "gs://empty/nothing/", "-o", "run"],
        &[],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("gs://empty/nothing/: matches no object"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("run").exists(), "nothing written");
}

#[test]
// The hold between `head` and the first range is a debug-build hook (not in release behaviour).
#[cfg_attr(
    not(debug_assertions),
    ignore = "needs the debug-build hook BATCHLINE_TEST_HOLD_READ"
)]
fn an_object_that_changes_between_head_and_read_is_an_error_not_a_mixed_input() {
    let Some(moto) = moto_with("moving") else {
        return;
    };
    for url in ["gs://moving/in.jsonl", "s3://moving/in.jsonl"] {
        let dir = tempfile::tempdir().unwrap();
        let hold = tempfile::tempdir().unwrap();
        let spill = tempfile::tempdir().unwrap();
        // Same size before and after: only the entity tag / generation tells them apart.
        put(&moto, url, b"{\"request\":{\"contents\":[]}}\n");
        let child = crate::common::batchline()
            .current_dir(dir.path())
            .args([
                "validate",
                url,
                "--spill-dir",
                spill.path().to_str().unwrap(),
            ])
            .envs(moto.env())
            .env("BATCHLINE_TEST_HOLD_READ", hold.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let held = hold.path().join("held");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !held.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the read was never held"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_to_string(&held).unwrap(), url);
        put(&moto, url, b"{\"request\":{\"contents\":{}}}\n");
        std::fs::write(hold.path().join("release"), b"").unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{url}: {err}");
        assert!(
            err.starts_with(&format!(
                "error: {url}: the object changed while it was read (it was 28 bytes"
            )) && err.contains("nothing was used, run again once it is stable"),
            "{url}: {err}"
        );
        assert!(out.stdout.is_empty(), "no report from a mixed input");
        spill_dir_is_empty(spill.path());
    }
}

#[test]
fn a_missing_object_or_bucket_is_named_with_exit_3() {
    let Some(moto) = moto_with("here") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (args, want) in [
        (
            vec!["validate", "gs://here/missing.jsonl"],
            "error: gs://here/missing.jsonl: not found: no such object (or no such bucket); check the name",
        ),
        (
            vec!["stats", "s3://nosuchbucket/in.jsonl"],
            "error: s3://nosuchbucket/in.jsonl: not found: no such object (or no such bucket); check the name",
        ),
        (
            vec!["validate", "gs://nosuchbucket/in/*.jsonl"],
            "error: gs://nosuchbucket/in/*.jsonl: the bucket does not exist (HTTP 404 NoSuchBucket: The specified bucket does not exist)",
        ),
    ] {
        let out = run(&moto, dir.path(), &args, &[]);
        assert_eq!(out.code, 3, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with(want), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("nosuchbucket") == want.contains("nosuchbucket"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("test-token"), "the token leaked");
    }
}

/// A 1 MiB tmpfs, or `None` where this process may not mount one.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount() -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_spill_folder_without_room_is_refused_before_downloading() {
    let Some(moto) = moto_with("big") else { return };
    let dir = tempfile::tempdir().unwrap();
    put(&moto, "gs://big/in.jsonl", &vec![b'\n'; 2_000_000]);
    // A real 1 MiB filesystem where this test may mount one; else the debug-build hook that
    // pretends the folder has 1 MiB free.
    let tmpfs = Tmpfs::mount();
    let spill_dir = match &tmpfs {
        Some(t) => t.0.path().to_path_buf(),
        None => dir.path().to_path_buf(),
    };
    let hook = [("BATCHLINE_TEST_SPILL_FREE_BYTES", "1048576")];
    let out = run(
        &moto,
        dir.path(),
        &["validate", "gs://big/in.jsonl"],
        &[
            &[("BATCHLINE_SPILL_DIR", spill_dir.to_str().unwrap())][..],
            if tmpfs.is_some() { &[][..] } else { &hook[..] },
        ]
        .concat(),
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(
        out.stderr.trim_end(),
        format!(
            "error: {}: the spill folder has 1048576 bytes free, 2000000 are needed to download the input; free some space or pick another folder with --spill-dir (or BATCHLINE_SPILL_DIR)",
            spill_dir.display()
        )
    );
}
