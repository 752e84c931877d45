//! The promises of the run under hostile use: an input edited mid-run, options that change the
//! shards, thousands of shards under a small file limit, a run folder whose name is not UTF-8,
//! `--strict` on a finished run, bad destinations, and what makes an input the same input.

use std::path::Path;

use crate::common::{files_of, pricing_file, testdata, TestContext};

fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap()
}

const ALREADY: &str = "already prepared from these inputs with these options; nothing to do";

#[test]
fn prepare_refuses_an_input_edited_during_the_scan() {
    // Before: line 1 overwritten in place (same length) during the scan was shipped unchecked,
    // and the re-run vouched for it ("already prepared").
    let ctx = TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let path = ctx.dir().join(&input);
    let original = std::fs::read(&path).unwrap();
    let hold = ctx.dir().join("hold");
    std::fs::write(&hold, b"").unwrap();
    let child = ctx
        .command()
        .args(["prepare", &input, "-o", "run", "--mmap", "-q"])
        .env(
            "BATCHLINE_TEST_HOLD",
            format!("after-scan:{}", hold.display()),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let held = ctx.dir().join("hold.held");
    let start = std::time::Instant::now();
    while !held.exists() {
        assert!(
            start.elapsed().as_secs() < 60,
            "prepare never reached the hold"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // An invalid first line of the same length, written in place.
    let line1_len = original.iter().position(|&b| b == b'\n').unwrap();
    let mut edited = original.clone();
    let bad = format!("{{\"request\":\"{}\"}}", "x".repeat(line1_len - 14));
    assert_eq!(bad.len(), line1_len);
    edited[..line1_len].copy_from_slice(bad.as_bytes());
    {
        use std::io::{Seek, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.rewind().unwrap();
        f.write_all(&edited[..line1_len]).unwrap();
    }
    std::fs::remove_file(&hold).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!("error: {input} changed while prepare was reading it (written, replaced or truncated by another process); the run was not published and its shards were removed: run prepare again once the file is complete")
    );
    let run = ctx.dir().join("run");
    assert!(!run.join("manifest.json").exists());
    assert_eq!(std::fs::read_dir(run.join("shards")).unwrap().count(), 0);
    // The re-run scans the file as it is now: line 1 is invalid and not sent.
    let out = ctx.run(&["prepare", &input, "-o", "run", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let invalid = std::fs::read_to_string(run.join("invalid.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(invalid.lines().next().unwrap()).unwrap();
    assert_eq!(
        first,
        serde_json::json!({"codes": ["E_TYPE"], "file": input, "line": 1}),
        "{invalid}"
    );
}

#[test]
fn prepare_records_the_effective_cache_minimum_and_tokenizer_and_judges_reruns_on_them() {
    // Before: another --pricing file (another cache minimum, so another primed order) was
    // "already prepared … with these options", and `--tokens` unset was recorded as "auto".
    let ctx = TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let out = ctx.run(&["prepare", &input, "-o", "run", "--tokens", "off", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let m = manifest(&ctx.dir().join("run"));
    assert_eq!(m["options"]["tokens"], "off");
    assert_eq!(m["options"]["tokenizer"], "bytes/4");
    assert_eq!(
        m["options"]["model_facts"],
        serde_json::json!({"context_window": 1048576, "max_request_bytes": 20971520, "min_cache_tokens": 2048, "implicit_cache_in_batch": true})
    );
    let pricing = pricing_file(&ctx, "pricing.json", |t| {
        t["models"]["gemini-2.5-flash"]["min_cache_tokens"] = 1024.into();
    });
    let out = ctx.run(&[
        "prepare",
        &input,
        "-o",
        "run",
        "--tokens",
        "off",
        "-q",
        "--pricing",
        &pricing,
    ]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert_eq!(
        out.stderr.trim_end(),
        "error: run holds a run prepared with other options; use a new run folder (or delete it)"
    );
    // Prices alone do not change the shards: the same run.
    let cheaper = pricing_file(&ctx, "cheaper.json", |t| {
        t["models"]["gemini-2.5-flash"]["price"]["input"] = 0.01.into();
    });
    let out = ctx.run(&[
        "prepare",
        &input,
        "-o",
        "run",
        "--tokens",
        "off",
        "-q",
        "--pricing",
        &cheaper,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(ALREADY), "{}", out.stdout);
}

#[test]
fn prepare_writes_600_shards_under_a_limit_of_256_open_files() {
    // Before: every shard's temporary file was open at once: "Too many open files" (exit 3)
    // after the whole scan, from about 1,000 shards.
    let ctx = TestContext::new();
    let lines: String = (0..600)
        .map(|i| {
            format!(
                "{{\"request\":{{\"contents\":[{{\"role\":\"user\",\"parts\":[{{\"text\":\"question {i}\"}}]}}]}}}}\n"
            )
        })
        .collect();
    let input = ctx.write("in.jsonl", lines);
    let out = std::process::Command::new("sh")
        .current_dir(ctx.dir())
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec \"$0\" prepare {input} -o run --max-requests 1 --tokens off -q"
        ))
        .arg(env!("CARGO_BIN_EXE_batchline"))
        .envs([
            ("GCE_METADATA_HOST", "127.0.0.1:9"),
            ("GCE_METADATA_ROOT", "127.0.0.1:9"),
            ("GCE_METADATA_IP", "127.0.0.1:9"),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = manifest(&ctx.dir().join("run"));
    let shards = m["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 600);
    assert_eq!(shards[599]["name"], "shards/shard-00599.jsonl");
    assert_eq!(
        std::fs::read_dir(ctx.dir().join("run/shards"))
            .unwrap()
            .count(),
        600
    );
}

#[test]
fn a_run_folder_whose_name_is_not_utf8_is_prepared_once() {
    // Before: such a run was rebuilt on every re-run, while a copy under a UTF-8 name was not.
    use std::os::unix::ffi::OsStrExt;
    let ctx = TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let name = std::ffi::OsStr::from_bytes(b"run-\xff");
    let prepare = || {
        ctx.command()
            .arg("prepare")
            .arg(&input)
            .arg("-o")
            .arg(name)
            .args(["--tokens", "off"])
            .output()
            .unwrap()
    };
    assert!(prepare().status.success());
    let run = ctx.dir().join(name);
    let before = files_of(&run);
    let second = prepare();
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains(ALREADY));
    assert_eq!(files_of(&run), before);
}

#[test]
fn an_input_whose_name_is_not_utf8_is_validated_prepared_and_collected() {
    // Before: argument parsing refused such a name (exit 2), so the file could not be checked.
    use std::os::unix::ffi::OsStrExt;
    let ctx = TestContext::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9-\xff.jsonl");
    let good = r#"{"id":"a","request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#;
    std::fs::write(
        ctx.dir().join(name),
        format!("{good}\n{{\"id\":\"b\",\"request\":5}}\n"),
    )
    .unwrap();
    let shown = r"caf\xE9-\xFF.jsonl";
    let run = |args: &[&str]| {
        let mut cmd = ctx.command();
        cmd.arg(args[0]).arg(name).args(&args[1..]);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    // validate: the finding names the file (bytes outside UTF-8 as \xNN), line 2.
    let (code, stdout, stderr) = run(&["validate", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(
        (&first["file"], &first["line"]),
        (&serde_json::json!(shown), &serde_json::json!(2))
    );
    // prepare: the manifest shows the name and records its bytes; a re-run finds it the same.
    let (code, _, stderr) = run(&["prepare", "-o", "run", "--tokens", "off", "-q"]);
    assert_eq!(code, 0, "{stderr}");
    let m = manifest(&ctx.dir().join("run"));
    assert_eq!(m["inputs"][0]["path"], shown);
    assert_eq!(m["inputs"][0]["path_bytes"], "636166e92dff2e6a736f6e6c");
    let (_, stdout, stderr) = run(&["prepare", "-o", "run", "--tokens", "off"]);
    assert!(stdout.contains(ALREADY), "{stdout}{stderr}");
    // collect opens the input again by its bytes: each line's own members come back.
    let row = serde_json::json!({"status": "", "request": serde_json::from_str::<serde_json::Value>(good).unwrap()["request"],
        "response": {"candidates": [{"content": {"role": "model", "parts": [{"text": "yo"}]}}]}});
    ctx.write("predictions.jsonl", format!("{row}\n"));
    let out = ctx.run(&[
        "collect",
        "run",
        "-o",
        "results.jsonl",
        "--predictions",
        "predictions.jsonl",
        "-q",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got: Vec<serde_json::Value> = std::fs::read_to_string(ctx.dir().join("results.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<_> = got
        .iter()
        .map(|v| {
            (
                v["file"].clone(),
                v["line"].clone(),
                v["status"].clone(),
                v["id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (shown.into(), 1.into(), "succeeded".into(), "a".into()),
            (shown.into(), 2.into(), "invalid".into(), "b".into()),
        ]
    );
}

#[test]
fn strict_judges_a_finished_run_by_its_saved_counts() {
    // Before: `prepare in -o r` then `prepare in -o r --strict` exited 0 ("already prepared")
    // though the run had invalid lines; a fresh --strict run exits 1.
    let ctx = TestContext::new();
    let input = ctx.write(
        "in.jsonl",
        "{\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"a\"}]}]}}\n{\"request\":5}\n",
    );
    assert_eq!(ctx.run(&["prepare", &input, "-o", "run", "-q"]).code, 0);
    let before = files_of(&ctx.dir().join("run"));
    let out = ctx.run(&["prepare", &input, "-o", "run", "--strict", "-q"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert_eq!(
        out.stderr.trim_end(),
        "error: --strict: run already holds a run with 1 invalid line(s) and 1 whole-job error(s) (prepared without --strict); nothing was written (run `batchline validate` to see them)"
    );
    assert_eq!(files_of(&ctx.dir().join("run")), before);
    // A clean input passes --strict on its finished run.
    let clean = ctx.write(
        "clean.jsonl",
        "{\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"b\"}]}]}}\n",
    );
    assert_eq!(ctx.run(&["prepare", &clean, "-o", "ok", "-q"]).code, 0);
    let out = ctx.run(&["prepare", &clean, "-o", "ok", "--strict", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(ALREADY));
}

#[test]
fn bad_destinations_are_refused_before_the_scan() {
    // Before: a dangling symlink or a path under a file was reported after the whole scan, as
    // "File exists (os error 17)".
    let ctx = TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    std::os::unix::fs::symlink(ctx.dir().join("nowhere"), ctx.dir().join("link")).unwrap();
    let out = ctx.run(&["prepare", &input, "-o", "link", "-q"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim_end(),
        "error: the run folder link is a symbolic link to nothing; remove it or choose another run folder"
    );
    ctx.write("afile", b"x");
    let out = ctx.run(&["prepare", &input, "-o", "afile/sub/run", "-q"]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.trim_end(),
        "error: cannot make the run folder afile/sub/run: afile is a file, not a folder"
    );
    // A place that cannot take a new folder, even for root (chmod does not stop root; sysfs
    // does): refused before any input is opened (the input here does not exist, and is not
    // what the error is about).
    #[cfg(target_os = "linux")]
    {
        let out = ctx.run(&[
            "prepare",
            "missing.jsonl",
            "-o",
            "/sys/batchline-no/run",
            "-q",
        ]);
        assert_eq!(out.code, 2, "{}", out.stderr);
        let err = out.stderr.trim_end();
        let (prefix, suffix) = (
            "error: cannot write the run folder /sys/batchline-no/run: ",
            "; choose a run folder this user can write",
        );
        assert!(err.starts_with(prefix) && err.ends_with(suffix), "{err}");
        // The system's reason: root is refused by sysfs itself, another user by its mode, and
        // a container may mount it read-only.
        let cause = &err[prefix.len()..err.len() - suffix.len()];
        assert!(
            [
                "Operation not permitted (os error 1)",
                "Permission denied (os error 13)",
                "Read-only file system (os error 30)"
            ]
            .contains(&cause),
            "{err}"
        );
        assert!(!std::path::Path::new("/sys/batchline-no").exists());
    }
}

#[test]
fn an_input_is_the_same_input_by_its_bytes_not_its_path_or_time() {
    // Before: `./in.jsonl`, or a `touch`ed file, was "prepared from other inputs".
    let ctx = TestContext::new();
    let name = ctx.copy_testdata("sample/requests.jsonl");
    let input = ctx.dir().join(&name).to_str().unwrap().to_string();
    assert_eq!(ctx.run(&["prepare", &name, "-o", "run", "-q"]).code, 0);
    let before = files_of(&ctx.dir().join("run"));
    let dotted = format!("./{name}");
    let out = ctx.run(&["prepare", &dotted, "-o", "run", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(ALREADY), "{}", out.stdout);
    let f = std::fs::File::options().write(true).open(&input).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let out = ctx.run(&["prepare", &input, "-o", "run", "-q"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(ALREADY), "{}", out.stdout);
    assert_eq!(files_of(&ctx.dir().join("run")), before);
    // Other bytes are another input.
    let mut bytes = std::fs::read(&input).unwrap();
    bytes.extend_from_slice(
        b"{\"request\":{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"new\"}]}]}}\n",
    );
    std::fs::write(&input, bytes).unwrap();
    let out = ctx.run(&["prepare", &input, "-o", "run", "-q"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("holds a run prepared from other inputs"),
        "{}",
        out.stderr
    );
    let _ = testdata;
}

/// Runs `batchline <args>` with the test hook `BATCHLINE_TEST_HOLD=<point>:<hold file>`, waits
/// until it holds, calls `act` (the child's pid given), lets it go on and returns its exit code,
/// stdout and stderr.
fn run_held(
    ctx: &TestContext,
    args: &[&str],
    point: &str,
    act: impl FnOnce(u32),
) -> (Option<i32>, String, String) {
    let hold = ctx.dir().join(format!("hold-{point}"));
    std::fs::write(&hold, b"").unwrap();
    let held = ctx.dir().join(format!("hold-{point}.held"));
    let _ = std::fs::remove_file(&held);
    let child = ctx
        .command()
        .args(args)
        .env("BATCHLINE_TEST_HOLD", format!("{point}:{}", hold.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while !held.exists() {
        assert!(start.elapsed().as_secs() < 60, "never reached {point}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    act(child.id());
    std::fs::remove_file(&hold).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The message of a mapped input truncated while it is read (`src/input/sigbus.rs`).
fn truncated_message(input: &str) -> String {
    format!("error: {input}: the file was truncated while it was being read; stopped before anything was published (a run folder is left without a manifest, and the next prepare starts it clean): run again once the file is complete\n")
}

fn truncate_to(path: &Path, len: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

#[test]
fn validate_and_stats_stop_with_exit_3_when_a_mapped_input_is_truncated_during_the_read() {
    // Before: the read of a page past the new end of the file raised SIGBUS (exit 135, no word).
    let ctx = TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let path = ctx.dir().join(&input);
    let original = std::fs::read(&path).unwrap();
    assert!(original.len() > 64 * 1024, "large enough to be mapped");
    let expected_validate = ctx.run(&["validate", &input, "-q"]);
    assert_eq!(expected_validate.code, 1, "the sample has one invalid line");
    for args in [
        vec!["validate", input.as_str(), "--mmap"],
        vec!["stats", input.as_str(), "--mmap", "--tokens", "off"],
    ] {
        // Mapped whole, then cut to nothing before a byte of it is read.
        let (code, stdout, stderr) = run_held(&ctx, &args, "after-map", |_| truncate_to(&path, 0));
        assert_eq!(code, Some(3), "{args:?}: {stdout} {stderr}");
        assert_eq!(stderr, truncated_message(&input), "{args:?}");
        assert_eq!(stdout, "", "{args:?}");
        // Cut to a length that is not a page boundary: the rest of the last page reads as zero
        // bytes, the next page faults.
        std::fs::write(&path, &original).unwrap();
        let (code, _, stderr) = run_held(&ctx, &args, "after-map", |_| truncate_to(&path, 10_000));
        assert_eq!(code, Some(3), "{args:?}: {stderr}");
        assert_eq!(stderr, truncated_message(&input), "{args:?}");
        std::fs::write(&path, &original).unwrap();
    }
    // The file restored: the same verdict as before.
    let again = ctx.run(&["validate", &input, "-q", "--mmap"]);
    assert_eq!(
        (again.code, again.stdout),
        (expected_validate.code, expected_validate.stdout)
    );
    // Read instead of mapped (--no-mmap), the hook never holds and nothing can fault: the map is
    // the only way to SIGBUS.
    let out = ctx.run(&["validate", &input, "-q", "--no-mmap"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn prepare_stopped_by_an_input_truncated_while_shards_are_written_leaves_no_manifest() {
    // Before: SIGBUS (exit 135) in the middle of writing the shards. Now exit 3 with the file
    // named; the run is left without a manifest (nothing to trust), and the re-run on the
    // restored file rebuilds it to exactly what a fresh run gives.
    let ctx = TestContext::new();
    let input = ctx.copy_testdata("sample/requests.jsonl");
    let path = ctx.dir().join(&input);
    let original = std::fs::read(&path).unwrap();
    let args: [&str; 7] = ["prepare", &input, "-o", "run", "--tokens", "off", "-q"];
    let mut pid = 0;
    let (code, stdout, stderr) = run_held(&ctx, &args, "before-shards", |child| {
        pid = child;
        truncate_to(&path, 10_000);
    });
    assert_eq!(code, Some(3), "{stdout} {stderr}");
    assert_eq!(stderr, truncated_message(&input));
    let run = ctx.dir().join("run");
    let left: Vec<String> = files_of(&run).into_keys().collect();
    assert_eq!(
        left,
        [
            ".batchline-run".to_string(),
            format!("shards/shard-00000.jsonl.{pid}.tmp")
        ],
        "the marker and the unfinished shard under its temporary name; no manifest"
    );
    std::fs::write(&path, &original).unwrap();
    let out = ctx.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(ALREADY), "{}", out.stdout);
    let fresh = ctx.run(&["prepare", &input, "-o", "fresh", "--tokens", "off", "-q"]);
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert_eq!(files_of(&run), files_of(&ctx.dir().join("fresh")));
}
