//! Token counting through the command line: `fetch-tokenizer` against a loopback server, 10 MiB
//! runs of one character through `validate` and every `--tokens` mode of `prepare`, and what a
//! damaged or wrong vocabulary file is called. The vocabulary is fetched as in [`super::tokens`].

use std::path::Path;

use batchline::plan::tokens::{
    blocks, locate_model, MemoCounter, O200kCounter, TokenCounter, DEFAULT_MAX_BLOCK,
    MODEL_FILE_NAME, MODEL_SHA256,
};
use rayon::prelude::*;

use super::tokens::{ensure_model, gemma, root};

/// A one-file HTTP server on 127.0.0.1 (loopback only): answers every GET with `status` and
/// `body`, counting the requests.
fn serve(
    status: &'static str,
    body: Vec<u8>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/gemini-tokenizer-0.2.0.crate",
        listener.local_addr().unwrap()
    );
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    (url, hits)
}

/// A `.crate`-like package: the vocabulary under `gemini-tokenizer-0.2.0/resources/`.
fn package_with(model: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    for (name, data) in [
        ("gemini-tokenizer-0.2.0/Cargo.toml", &b"[package]\n"[..]),
        (
            &format!("gemini-tokenizer-0.2.0/resources/{MODEL_FILE_NAME}")[..],
            model,
        ),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn fetch_tokenizer_puts_only_verified_bytes_into_the_cache() {
    ensure_model();
    let model = std::fs::read(locate_model(None).expect("the vocabulary")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fetch = |cache: &Path, from: &str| {
        crate::common::batchline()
            .args([
                "fetch-tokenizer",
                "--dir",
                cache.to_str().unwrap(),
                "--from",
                from,
            ])
            .env("GCE_METADATA_HOST", "127.0.0.1:9")
            // Straight to the loopback server, never through a proxy of the environment.
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env("NO_PROXY", "*")
            .output()
            .unwrap()
    };
    // The package, over HTTP: the member is taken out, checked and written; a second run finds
    // it in place and does not ask the server again.
    let (url, hits) = serve("200 OK", package_with(&model));
    let cache = dir.path().join("cache");
    let out = fetch(&cache, &url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(cache.join(MODEL_FILE_NAME)).unwrap(), model);
    assert!(String::from_utf8_lossy(&out.stdout).contains("sha256 verified"));
    let out = fetch(&cache, &url);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already present"));
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The plain file, over HTTP, into another folder: stats finds it there.
    let (url, _) = serve("200 OK", model.clone());
    let other = dir.path().join("other");
    assert!(fetch(&other, &url).status.success());
    assert_eq!(std::fs::read(other.join(MODEL_FILE_NAME)).unwrap(), model);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_batchline"))
        .args([
            "stats",
            &root()
                .join("testdata/sample/requests.jsonl")
                .to_string_lossy(),
            "--format",
            "json",
        ])
        .env("BATCHLINE_CACHE_DIR", &other)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"counter\":\"gemma3\""));
    // Wrong bytes: refused, nothing written; an HTTP error names the URL.
    let mut damaged = model.clone();
    damaged[1000] ^= 1;
    let (url, _) = serve("200 OK", package_with(&damaged));
    let bad = dir.path().join("bad");
    let out = fetch(&bad, &url);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(MODEL_SHA256) && err.contains("nothing was written"),
        "{err}"
    );
    assert!(!bad.join(MODEL_FILE_NAME).exists());
    let (url, _) = serve("404 Not Found", b"no".to_vec());
    let out = fetch(&bad, &url);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&url));
    assert!(!bad.join(MODEL_FILE_NAME).exists());
}

/// The sum of `count` over `pieces`, each distinct piece counted once (a run's pieces repeat,
/// and the unoptimised test build would take minutes to tokenise every one).
fn by_distinct_piece<'t>(
    pieces: impl Iterator<Item = &'t str>,
    count: impl Fn(&str) -> u64,
) -> u64 {
    let mut seen = std::collections::HashMap::new();
    pieces
        .map(|p| *seen.entry(p).or_insert_with(|| count(p)))
        .sum()
}

/// A 10 MiB text part holding one long run, as one request line.
fn long_run_line(unit: &str) -> (String, String) {
    const TEN_MIB: usize = 10 << 20;
    let text = unit.repeat(TEN_MIB / unit.len());
    let line = serde_json::json!({"request": {
        "contents": [{"role": "user", "parts": [{"text": text}]}],
    }});
    (text, serde_json::to_string(&line).unwrap() + "\n")
}

/// Issue 19: a long run of one character used to overflow tiktoken's regex stack (exit 101 in
/// validate, stats and prepare). Now validate estimates it piece by piece and prepare counts it
/// in every `--tokens` mode. `estimate` is validate's expected finding: `None` for none, else
/// (code, whether the estimate stopped early).
fn long_run_is_counted_not_a_panic(unit: &str, estimate: Option<(&str, bool)>) {
    ensure_model();
    let model = locate_model(None).expect("the Gemma 3 vocabulary");
    let model = model.to_str().expect("UTF-8 path");
    let (text, line) = long_run_line(unit);
    let ctx = crate::common::TestContext::new();
    let input = ctx.write("run.jsonl", &line);
    // validate: the o200k estimate of the text part and the role ("user", one token).
    let o200k = O200kCounter::new().unwrap();
    let whole =
        by_distinct_piece(O200kCounter::pieces(&text), |p| o200k.count(p)) + o200k.count("user");
    let run = ctx.validate_json(&[&input]);
    match estimate {
        None => {
            assert_eq!(run.findings.len(), 0, "{:?}", run.findings);
            assert!(whole <= 1 << 20, "{whole}");
        }
        Some((code, stopped)) => {
            assert_eq!(run.findings.len(), 1, "{:?}", run.findings);
            let f = &run.findings[0];
            assert_eq!(f.code, code);
            assert_eq!(f.pointer, "/request");
            let said: u64 = f
                .message
                .split_whitespace()
                .find_map(|w| w.parse().ok())
                .expect("a token figure");
            if stopped {
                // Counting stops at the first piece past 1.5 × the 1,048,576-token window.
                assert!(f.message.starts_with("at least "), "{}", f.message);
                let piece = o200k.count(O200kCounter::pieces(&text).next().unwrap());
                assert!(said > 1_572_864 && said <= 1_572_864 + piece, "{said}");
            } else {
                assert!(f.message.starts_with("about "), "{}", f.message);
                assert_eq!(said, whole);
            }
        }
    }
    // prepare, each --tokens mode: exact sums the vocabulary's count of each 4 KiB block.
    let exact = by_distinct_piece(
        blocks(text.as_bytes(), DEFAULT_MAX_BLOCK).map(|r| &text[r]),
        |p| gemma().count(p),
    );
    let off = (text.len() as u64).div_ceil(4);
    // The library path too (prepare sets an over-window request aside before counting it).
    let memo_counter = gemma();
    assert_eq!(MemoCounter::new(memo_counter).count(&text), exact);
    for mode in ["exact", "sample", "off"] {
        let out_dir = format!("run-{mode}");
        let out = ctx.run(&[
            "prepare",
            &input,
            "-o",
            &out_dir,
            "--tokens",
            mode,
            "--tokenizer-model",
            model,
            "--format",
            "json",
        ]);
        // Exit 0 even when the request is over the window: prepare sets invalid rows aside.
        assert_eq!(out.code, 0, "{mode}: {}", out.stderr);
        let summary: serde_json::Value =
            serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
        let tokens = &summary["tokens"];
        assert_eq!(tokens["mode"], mode, "{tokens}");
        let valid = summary["counts"]["valid"].as_u64().unwrap();
        let over = estimate.is_some_and(|(code, _)| code.starts_with('E'));
        assert_eq!(valid, u64::from(!over), "{summary}");
        match (mode, valid) {
            (_, 0) => assert_eq!(tokens["prompt_tokens"], 0, "{tokens}"),
            ("exact", _) => {
                assert_eq!(tokens["exact"], true);
                assert_eq!(tokens["prompt_tokens"], exact, "{tokens}");
            }
            ("off", _) => {
                let n = tokens["prompt_tokens"].as_u64().unwrap();
                // The text's bytes / 4, plus the role's few bytes.
                assert!((off..=off + 2).contains(&n), "{n} vs {off}");
            }
            _ => assert_eq!(tokens["exact"], false),
        }
    }
}

#[test]
fn ten_mib_of_spaces_is_counted_not_a_panic() {
    long_run_is_counted_not_a_panic(" ", None);
}

#[test]
fn ten_mib_of_one_letter_is_counted_not_a_panic() {
    long_run_is_counted_not_a_panic("a", Some(("W_CONTEXT_WINDOW", false)));
}

#[test]
fn ten_mib_of_one_cjk_character_is_counted_not_a_panic() {
    long_run_is_counted_not_a_panic("語", Some(("E_CONTEXT_WINDOW", true)));
}

#[test]
fn ten_mib_of_the_base64_alphabet_is_counted_not_a_panic() {
    long_run_is_counted_not_a_panic(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        Some(("W_CONTEXT_WINDOW", false)),
    );
}

/// The long-text fuzz seeds (`fuzz/seeds/long_text.txt`, megabyte runs from a few bytes each) pass
/// the fuzz target's invariants on stable: no panic, no estimate above the text's bytes.
#[test]
fn long_text_fuzz_seeds_estimate_without_panic() {
    let seeds = std::fs::read(root().join("fuzz/seeds/long_text.txt")).unwrap();
    let seeds: Vec<&[u8]> = seeds
        .split(|&b| b == b'\n')
        .filter(|s| !s.is_empty())
        .collect();
    assert_eq!(seeds.len(), 6);
    seeds.par_iter().for_each(|seed| {
        let (text, _) = crate::mutation::oracle::long_text_line(seed).unwrap();
        assert!(text.len() >= 1 << 20, "{} bytes", text.len());
        crate::mutation::oracle::check_long_text(seed);
    });
}

/// Issue 18 item 9: a damaged cached vocabulary is called damaged, in auto mode (estimates by
/// bytes, exit 0) as with `--tokens exact` (exit 2), and the message says `fetch-tokenizer`
/// replaces it; it no longer says "not available".
#[test]
fn a_damaged_cached_vocabulary_is_called_damaged() {
    let ctx = crate::common::TestContext::new();
    let cache = ctx.dir().join("cache");
    std::fs::create_dir(&cache).unwrap();
    std::fs::write(cache.join(MODEL_FILE_NAME), b"a damaged copy").unwrap();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let stats = |extra: &[&str]| {
        let mut cmd = ctx.command();
        cmd.args(["stats", &input, "--format", "json"])
            .args(extra)
            .env("BATCHLINE_CACHE_DIR", &cache);
        cmd.output().unwrap()
    };
    let out = stats(&[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let note = summary["tokens"]["note"].as_str().unwrap();
    assert_eq!(summary["tokens"]["counter"], "bytes/4");
    assert!(
        note.starts_with("the gemma3 vocabulary cannot be used: ")
            && note.contains("the cached Gemma 3 vocabulary is damaged (14 bytes, sha256 ")
            && note.contains("`batchline fetch-tokenizer` replaces it")
            && note.ends_with(": sizes estimated at 4 bytes per token")
            && !note.contains("not available"),
        "{note}"
    );
    let out = stats(&["--tokens", "exact"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the cached Gemma 3 vocabulary is damaged (14 bytes"),
        "{stderr}"
    );
}

/// Issue 18 item 9: a wrong `--tokenizer-model` file is described (its size and sha256 against
/// the vocabulary's), never to be deleted, and exits 2 like a missing path does (both are a
/// wrong argument; 3 stays for a file that cannot be read).
#[test]
fn a_wrong_tokenizer_model_file_is_described_and_exits_2_like_a_missing_one() {
    let ctx = crate::common::TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let wrong = ctx.write("other.model", b"not the vocabulary");
    let out = ctx.run(&["stats", &input, "--tokenizer-model", &wrong]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "other.model: not the Gemma 3 vocabulary `{MODEL_FILE_NAME}` (sha256 {MODEL_SHA256}): \
             it has 18 bytes and sha256 "
        )) && out
            .stderr
            .contains("where the vocabulary has 4689074 bytes")
            && !out.stderr.contains("delete"),
        "{}",
        out.stderr
    );
    let out = ctx.run(&["stats", &input, "--tokenizer-model", "missing.model"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("missing.model"), "{}", out.stderr);
}
