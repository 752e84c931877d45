//! Runs on object stores: `prepare -o gs://…` and `upload` against a real storage emulator (moto,
//! GCS XML API and S3 API on 127.0.0.1), the run rules on the memory store, and proof that a run
//! against the emulator connects nowhere else.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use batchline::store::{CloudConfig, Durability, Location, Secret, Store};

use crate::common::moto::Moto;
use crate::common::Out;

fn bin(moto: Option<&Moto>) -> Command {
    let mut c = crate::common::batchline();
    if let Some(m) = moto {
        c.envs(m.env());
    }
    c
}

pub(crate) fn run(moto: Option<&Moto>, args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = bin(moto)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    out.into()
}

pub(crate) fn cloud(moto: &Moto) -> CloudConfig {
    CloudConfig {
        gcs_endpoint: Some(moto.url.clone()),
        s3_endpoint: Some(moto.url.clone()),
        access_token: Some(Secret::new("test-token")),
        ..CloudConfig::default()
    }
}

/// Every object under `url` (bytes), by name relative to it.
pub(crate) fn objects(moto: &Moto, url: &str) -> BTreeMap<String, Vec<u8>> {
    let store = Store::open(&Location::parse(url).unwrap(), &cloud(moto)).unwrap();
    store
        .list_all("")
        .unwrap()
        .into_iter()
        .map(|n| {
            let bytes = store.get(&n).unwrap().unwrap();
            (n, bytes)
        })
        .collect()
}

/// (name, etag) of every object under `url`.
fn tags(moto: &Moto, url: &str) -> BTreeMap<String, Option<String>> {
    let store = Store::open(&Location::parse(url).unwrap(), &cloud(moto)).unwrap();
    store
        .list_all("")
        .unwrap()
        .into_iter()
        .map(|n| {
            let tag = store.head(&n).unwrap().unwrap().etag;
            (n, tag)
        })
        .collect()
}

pub(crate) fn manifest(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// A generated corpus of about `size` (the seeded generator of `batchline gen-corpus`).
pub(crate) fn corpus(dir: &Path, size: &str) -> String {
    let path = dir.join(format!("in-{size}.jsonl"));
    let out = run(
        None,
        &[
            "gen-corpus",
            "--seed",
            "11",
            "--shape",
            "short",
            "--size",
            size,
            "-o",
            path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    path.to_str().unwrap().to_string()
}

/// A local run of two shards from a 40 MB corpus, the first over 16 MiB (a multipart upload of
/// two parts when published): (the input, the run folder).
pub(crate) fn local_run(dir: &Path) -> (String, std::path::PathBuf) {
    let input = corpus(dir, "40MB");
    let local = dir.join("run");
    let out = run(
        None,
        &[
            "prepare",
            &input,
            "-o",
            local.to_str().unwrap(),
            "--tokens",
            "off",
            "--max-bytes",
            "30MB",
            "-q",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    (input, local)
}

#[test]
fn prepare_to_gcs_equals_the_local_run_byte_for_byte_with_a_multipart_shard_over_100_mb() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("runs");
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path(), "130MB");
    let local = dir.path().join("local");
    let common = ["--tokens", "off", "--max-bytes", "110MB", "-q"];
    let mut args = vec!["prepare", input.as_str(), "-o", local.to_str().unwrap()];
    args.extend(common);
    let out = run(None, &args, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut args = vec!["prepare", input.as_str(), "-o", "gs://runs/r1"];
    args.extend(common);
    let out = run(Some(&moto), &args, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let want = crate::common::files_of(&local);
    let got = objects(&moto, "gs://runs/r1");
    // The same files, the shards and the index byte for byte (report.json names the run).
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    for name in [
        "shards/shard-00000.jsonl",
        "shards/shard-00001.jsonl",
        "index.bin",
        "invalid.jsonl",
        ".batchline-run",
    ] {
        assert!(got[name] == want[name], "{name} differs");
    }
    assert!(
        got["shards/shard-00000.jsonl"].len() > 100_000_000,
        "the first shard must be over 100 MB: {}",
        got["shards/shard-00000.jsonl"].len()
    );
    // The manifests agree on every shard's size and checksum; the remote one adds the CRC32C
    // and the entity tag of a multipart upload (MD5 of the part digests, 7 parts of 16 MiB).
    let (lm, rm) = (
        manifest(&want["manifest.json"]),
        manifest(&got["manifest.json"]),
    );
    for (l, r) in lm["shards"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rm["shards"].as_array().unwrap())
    {
        for k in ["name", "bytes", "checksum", "requests"] {
            assert_eq!(l[k], r[k], "{k}");
        }
        assert!(l.get("etag").is_none() && l.get("crc32c").is_none());
    }
    let big = &rm["shards"][0];
    let parts = (big["bytes"].as_u64().unwrap()).div_ceil(16 << 20);
    assert!(
        big["etag"]
            .as_str()
            .unwrap()
            .ends_with(&format!("-{parts}\"")),
        "{big}"
    );
    let crc = crc32c::crc32c(&got["shards/shard-00000.jsonl"]);
    assert_eq!(
        big["crc32c"].as_str().unwrap(),
        batchline::store::verify::crc32c_b64(crc)
    );
    // A re-run finds the run complete and rewrites nothing.
    let before = tags(&moto, "gs://runs/r1");
    let out = run(Some(&moto), &args, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "gs://runs/r1: already prepared from these inputs with these options; nothing to do"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(tags(&moto, "gs://runs/r1"), before);
}

#[test]
fn an_interrupted_remote_prepare_is_rebuilt_and_a_foreign_prefix_refused() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("runs");
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path(), "3MB");
    let args = [
        "prepare",
        input.as_str(),
        "-o",
        "s3://runs/r2",
        "--tokens",
        "off",
        "--max-bytes",
        "1MB",
    ];
    // Killed after the shards, before the manifest: visibly unfinished.
    let out = run(
        Some(&moto),
        &args,
        &[("BATCHLINE_FAILPOINT", "before-manifest")],
    );
    assert_ne!(out.code, 0);
    let half = objects(&moto, "s3://runs/r2");
    assert!(half.contains_key(".batchline-run") && !half.contains_key("manifest.json"));
    assert!(
        half.contains_key(".batchline-lock"),
        "a killed writer leaves its lock"
    );
    // The lock of the killed writer has not expired: a re-run is refused, names it, and waits
    // for nothing.
    let out = run(Some(&moto), &args, &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("another batchline process is writing s3://runs/r2 now")
            && out
                .stderr
                .contains("s3://runs/r2/.batchline-lock is held by"),
        "{}",
        out.stderr
    );
    // Once the lock has expired (made so here by rewriting its expiry), the run is rebuilt.
    let store = Store::open(&Location::parse("s3://runs/r2").unwrap(), &cloud(&moto)).unwrap();
    store
        .put(
            ".batchline-lock",
            br#"{"owner":"gone:1:0","expires_unix":1}"#,
            Durability::Normal,
        )
        .unwrap();
    let out = run(Some(&moto), &args, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let local = dir.path().join("local");
    let mut largs = args.to_vec();
    largs[3] = local.to_str().unwrap();
    assert_eq!(run(None, &largs, &[]).code, 0);
    let want = crate::common::files_of(&local);
    let got = objects(&moto, "s3://runs/r2");
    assert!(!got.contains_key(".batchline-lock"), "the lock is released");
    assert!(want.len() > 6, "several shards: {:?}", want.keys());
    for (name, bytes) in &want {
        if name.starts_with("shards/") || name == "index.bin" {
            assert!(&got[name] == bytes, "{name} differs");
        }
    }
    // A prefix that holds someone else's object is refused before anything is read or written.
    let other = Store::open(&Location::parse("s3://runs/r3").unwrap(), &cloud(&moto)).unwrap();
    other.put("notes.txt", b"mine", Durability::Normal).unwrap();
    let mut args3 = args.to_vec();
    args3[3] = "s3://runs/r3";
    let out = run(Some(&moto), &args3, &[]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim_end(),
        "error: s3://runs/r3 is not a batchline run folder (it holds s3://runs/r3/notes.txt, and no .batchline-run or manifest.json); prepare writes only into a new or empty folder or into a run it made, and never removes files it did not write: choose another run folder"
    );
    assert_eq!(objects(&moto, "s3://runs/r3").len(), 1);
}

#[test]
fn upload_publishes_a_local_run_and_resumes_after_an_interruption() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("pub");
    let dir = tempfile::tempdir().unwrap();
    let (_, local) = local_run(dir.path());
    let want = crate::common::files_of(&local);
    let files = want.len() - 2; // the marker and the manifest are not counted as files
                                // Killed after the first file: no manifest at the destination.
    let up: &[&str] = &["upload", local.to_str().unwrap(), "gs://pub/run"];
    let out = run(
        Some(&moto),
        up,
        &[("BATCHLINE_FAILPOINT", "upload-after-a-file")],
    );
    assert_ne!(out.code, 0);
    let half = objects(&moto, "gs://pub/run");
    assert!(!half.contains_key("manifest.json"));
    let sent_before: Vec<String> = half
        .keys()
        .filter(|k| !k.starts_with('.'))
        .cloned()
        .collect();
    assert!(!sent_before.is_empty());
    // The lock of the killed process expires; here it is made to.
    let store = Store::open(&Location::parse("gs://pub/run").unwrap(), &cloud(&moto)).unwrap();
    store.delete(".batchline-lock").unwrap();
    let tags_before = tags(&moto, "gs://pub/run");
    let out = run(Some(&moto), &[up, &["--format", "json"]].concat(), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(summary["skipped"], sent_before.len());
    assert_eq!(summary["uploaded"], files - sent_before.len());
    // What was there was not sent again.
    let after = tags(&moto, "gs://pub/run");
    for name in &sent_before {
        assert_eq!(after[name], tags_before[name], "{name} was sent again");
    }
    let got = objects(&moto, "gs://pub/run");
    for (name, bytes) in &want {
        if name != "manifest.json" {
            assert!(&got[name] == bytes, "{name} differs");
        }
    }
    // The destination's manifest is the local one plus CRC32C and tags.
    let (lm, rm) = (
        manifest(&want["manifest.json"]),
        manifest(&got["manifest.json"]),
    );
    assert_eq!(lm["inputs"], rm["inputs"]);
    assert_eq!(lm["shards"].as_array().unwrap().len(), 2);
    for (l, r) in lm["shards"]
        .as_array()
        .unwrap()
        .iter()
        .zip(rm["shards"].as_array().unwrap())
    {
        assert_eq!(l["checksum"], r["checksum"]);
        assert!(r["etag"].is_string() && r["crc32c"].is_string());
    }
    // Once more: a complete copy, nothing sent.
    let out = run(Some(&moto), up, &[]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout.trim(),
        format!(
            "gs://pub/run: already a complete copy of {}; nothing to do",
            local.display()
        )
    );
}

#[test]
fn part_size_and_parts_in_flight_shape_the_upload_and_bad_values_are_refused() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("parts");
    let dir = tempfile::tempdir().unwrap();
    let input = corpus(dir.path(), "40MB");
    let prepare = |url: &str, extra: &[&str]| {
        let mut args = vec![
            "prepare",
            input.as_str(),
            "-o",
            url,
            "--tokens",
            "off",
            "--max-bytes",
            "110MB",
            "-q",
        ];
        args.extend_from_slice(extra);
        run(Some(&moto), &args, &[])
    };
    // 32 MiB parts, one in flight: a shard of about 40 MB goes up in two parts, not three.
    let out = prepare(
        "gs://parts/p32",
        &["--part-size", "32MiB", "--parts-in-flight", "1"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got = objects(&moto, "gs://parts/p32");
    let shard = &got["shards/shard-00000.jsonl"];
    assert!(
        shard.len() > 32 << 20 && shard.len() < 48 << 20,
        "{}",
        shard.len()
    );
    let m = manifest(&got["manifest.json"]);
    assert!(
        m["shards"][0]["etag"].as_str().unwrap().ends_with("-2\""),
        "{}",
        m["shards"][0]
    );
    assert_eq!(
        m["shards"][0]["crc32c"].as_str().unwrap(),
        batchline::store::verify::crc32c_b64(crc32c::crc32c(shard))
    );
    // The same run with the default 16 MiB parts: three parts, the same bytes.
    let out = prepare("gs://parts/p16", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let default = objects(&moto, "gs://parts/p16");
    assert!(default["shards/shard-00000.jsonl"] == *shard);
    let m = manifest(&default["manifest.json"]);
    assert!(m["shards"][0]["etag"].as_str().unwrap().ends_with("-3\""));
    // No credential reaches a run's files.
    for (name, bytes) in got.iter().chain(&default) {
        assert!(
            !bytes.windows(10).any(|w| w == b"test-token"),
            "{name} holds the access token"
        );
    }
    // Values the upload cannot use are usage errors before anything is read.
    for (flags, message) in [
        (
            ["--part-size", "10MiB"],
            "error: --part-size 10MiB: a multiple of 16 MiB (16777216 bytes) is needed, the checksum block",
        ),
        (
            ["--part-size", "lots"],
            "error: cannot read --part-size `lots`: use e.g. 16MiB or 64MiB",
        ),
        (
            ["--parts-in-flight", "0"],
            "error: --parts-in-flight must be at least 1",
        ),
    ] {
        let out = prepare("gs://parts/bad", &flags);
        assert_eq!(out.code, 2, "{flags:?}: {}", out.stderr);
        assert_eq!(out.stderr.trim_end(), message);
    }
    assert!(objects(&moto, "gs://parts/bad").is_empty());
}

#[test]
fn storage_failures_name_the_object_and_exit_3() {
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::copy(crate::common::testdata("sample/requests.jsonl"), &input).unwrap();
    let input = input.to_str().unwrap();
    let out = run(
        Some(&moto),
        &["prepare", input, "-o", "gs://nosuchbucket/run", "-q"],
        &[],
    );
    assert_eq!(out.code, 3);
    assert_eq!(
        out.stderr.trim_end(),
        "error: gs://nosuchbucket/run: the bucket does not exist (HTTP 404 NoSuchBucket: The specified bucket does not exist)"
    );
    // A server that refuses every request (as a bucket without the caller's permission does).
    let server = refusing_server();
    let out = run(
        None,
        &["prepare", input, "-o", "gs://b/run", "-q"],
        &[
            ("BATCHLINE_GCS_ENDPOINT", &server),
            ("BATCHLINE_ACCESS_TOKEN", "secret-token-123"),
        ],
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with(
            "error: gs://b/run/.batchline-run: permission denied: the credentials in use may not access it ("
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("secret-token-123"));
    // Nothing reachable: a closed port, one retry.
    let out = run(
        None,
        &[
            "prepare",
            input,
            "-o",
            "gs://b/run",
            "-q",
            "--retries",
            "1",
            "--retry-timeout",
            "2",
        ],
        &[
            ("BATCHLINE_GCS_ENDPOINT", "http://127.0.0.1:9"),
            ("BATCHLINE_ACCESS_TOKEN", "test-token"),
        ],
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.contains(
            "gs://b/run/.batchline-run: cannot reach the storage service (network, endpoint or proxy)"
        ),
        "{}",
        out.stderr
    );
}

/// A loopback HTTP server that answers every request `403` with an S3/GCS XML error document.
fn refusing_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            let body = "<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code><Message>Access denied.</Message></Error>";
            let _ = write!(
                s,
                "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

#[test]
fn a_run_against_the_emulator_connects_nowhere_else() {
    // Every connect(2) of the process and its threads, traced: only loopback addresses.
    let Some(moto) = Moto::start() else { return };
    let Some(strace) = ["/usr/bin/strace", "/bin/strace"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "strace is needed under CI (apt-get install strace)"
        );
        eprintln!("skipped: strace not installed");
        return;
    };
    moto.bucket("egress");
    let dir = tempfile::tempdir().unwrap();
    let input = crate::common::testdata("sample/requests.jsonl");
    let trace = dir.path().join("trace");
    let mut text = String::new();
    for url in ["gs://egress/run", "s3://egress/run2"] {
        let status = Command::new(strace)
            .args(["-f", "-e", "trace=connect", "-o", trace.to_str().unwrap()])
            .arg(env!("CARGO_BIN_EXE_batchline"))
            .args(["prepare", &input, "-o", url, "-q", "--tokens", "off"])
            .envs(moto.env())
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        text.push_str(&std::fs::read_to_string(&trace).unwrap());
    }
    let port = moto.url.rsplit(':').next().unwrap().to_string();
    let mut to_moto = 0;
    for line in text.lines().filter(|l| l.contains("connect(")) {
        if line.contains("sa_family=AF_UNIX") {
            continue;
        }
        assert!(
            line.contains("inet_addr(\"127.0.0.1\")") || line.contains("\"::1\""),
            "a connection off the machine: {line}"
        );
        if line.contains(&format!("htons({port})")) {
            to_moto += 1;
        }
    }
    assert!(
        to_moto > 0,
        "the trace saw no connection to the emulator:\n{text}"
    );
}

#[test]
fn the_memory_store_enforces_one_writer_and_takes_over_an_expired_lock() {
    use batchline::prepare::{prepare, PrepareOptions};
    use batchline::run::Run;
    let loc = Location::parse("memory://locks/run").unwrap();
    let cloud = CloudConfig::default();
    let opts = |run: &Location| PrepareOptions {
        validate: batchline::ValidateOptions {
            inputs: vec![crate::common::testdata("sample/requests.jsonl").into()],
            ..batchline::ValidateOptions::default()
        },
        run: run.clone(),
        tokens: Some(batchline::plan::tokens::TokensMode::Off),
        ..PrepareOptions::default()
    };
    let holder = Run::open(&loc, &cloud).unwrap();
    let lock = holder.lock().unwrap();
    let err = prepare(&opts(&loc)).unwrap_err().to_string();
    assert!(
        err.starts_with("another batchline process is writing memory://locks/run now (memory://locks/run/.batchline-lock is held by "),
        "{err}"
    );
    drop(lock);
    assert!(
        holder.store().head(".batchline-lock").unwrap().is_none(),
        "released"
    );
    // A lock whose holder died long ago is taken over.
    holder
        .store()
        .put(
            ".batchline-lock",
            br#"{"owner":"gone","expires_unix":5}"#,
            Durability::Normal,
        )
        .unwrap();
    let report = prepare(&opts(&loc)).unwrap();
    assert_eq!(report.shards.len(), 1);
    assert!(holder.manifest().unwrap().is_some());
}

#[test]
fn of_many_writers_racing_for_a_free_or_an_expired_lock_exactly_one_wins() {
    use batchline::run::Run;
    let cloud = CloudConfig::default();
    for (i, stale) in [None, Some(&br#"{"owner":"gone","expires_unix":5}"#[..])]
        .into_iter()
        .enumerate()
    {
        let loc = Location::parse(&format!("memory://race/run{i}")).unwrap();
        if let Some(body) = stale {
            let run = Run::open(&loc, &cloud).unwrap();
            run.store()
                .put(".batchline-lock", body, Durability::Normal)
                .unwrap();
        }
        let start = std::sync::Barrier::new(8);
        let results: Vec<Result<_, String>> = std::thread::scope(|scope| {
            let racers: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        let run = Run::open(&loc, &cloud).unwrap();
                        start.wait();
                        run.lock().map_err(|e| e.to_string())
                    })
                })
                .collect();
            racers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let won = results.iter().filter(|r| r.is_ok()).count();
        let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(won, 1, "stale lock {}: {errors:?}", stale.is_some());
        for err in errors {
            assert!(
                err.starts_with(&format!(
                    "another batchline process is writing memory://race/run{i} now ("
                )),
                "{err}"
            );
        }
    }
}
