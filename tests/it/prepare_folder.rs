//! The run-folder rules as `prepare` keeps them: a re-run does nothing, an interrupted run is
//! rebuilt, only new, empty or own folders are written and only batchline's own files removed, a
//! damaged manifest is rebuilt while a foreign one is refused, and a running prepare locks the run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::prepare::{bin, generated, run, summary_of, testdata};
use crate::common::files_of;

/// A generated input (300 KB, `short`) and a finished run of it in `clean/`, 50 requests a
/// shard, with the files that run holds.
struct Finished {
    dir: tempfile::TempDir,
    input: PathBuf,
    clean: PathBuf,
    expected: BTreeMap<String, Vec<u8>>,
}

impl Finished {
    fn new() -> Finished {
        let dir = tempfile::tempdir().unwrap();
        let input = generated(dir.path(), 5, "short", "300KB");
        let clean = dir.path().join("clean");
        let mut f = Finished {
            dir,
            input,
            clean,
            expected: BTreeMap::new(),
        };
        let out = bin().args(f.args(&f.clean)).output().unwrap();
        assert!(out.status.success());
        f.expected = files_of(&f.clean);
        f
    }

    /// The arguments that made the run, into `run_dir`.
    fn args(&self, run_dir: &Path) -> Vec<String> {
        vec![
            "prepare".into(),
            self.input.to_str().unwrap().into(),
            "-o".into(),
            run_dir.to_str().unwrap().into(),
            "--max-requests".into(),
            "50".into(),
        ]
    }

    /// The same prepare into `run_dir` with `--format json`: its summary.
    fn json(&self, run_dir: &Path) -> serde_json::Value {
        let mut a = self.args(run_dir);
        a.extend(["--format".into(), "json".into()]);
        let out = bin().args(a).output().unwrap();
        assert!(out.status.success());
        summary_of(&String::from_utf8(out.stdout).unwrap())
    }
}

#[test]
fn prepare_rerun_of_a_finished_run_rewrites_nothing() {
    let f = Finished::new();
    let modified = || {
        std::fs::metadata(f.clean.join("manifest.json"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = modified();
    let out = bin().args(f.args(&f.clean)).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    assert_eq!(modified(), before);
    assert_eq!(files_of(&f.clean), f.expected);
}

#[test]
fn prepare_rerun_reports_the_saved_counts_shards_and_cost_as_already_done() {
    let f = Finished::new();
    let again = f.json(&f.clean);
    assert_eq!(again["already_done"], true);
    let saved: serde_json::Value =
        serde_json::from_slice(&f.expected["report.json"]).expect("report.json");
    for key in ["counts", "shards", "cost", "simulation", "tokens"] {
        assert_eq!(again[key], saved[key], "{key}");
    }
}

#[test]
fn prepare_rerun_rebuilds_a_damaged_shard_with_the_same_bytes() {
    let f = Finished::new();
    let shard = f.clean.join("shards/shard-00001.jsonl");
    let mut bytes = std::fs::read(&shard).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&shard, &bytes).unwrap();
    assert_eq!(f.json(&f.clean)["already_done"], false);
    assert_eq!(files_of(&f.clean), f.expected, "rebuilt");
}

#[test]
fn prepare_killed_after_the_shards_or_before_the_manifest_gives_the_same_run_on_a_rerun() {
    let f = Finished::new();
    for point in ["after-shards", "before-manifest"] {
        let run_dir = f.dir.path().join(point);
        let out = bin()
            .args(f.args(&run_dir))
            .env("BATCHLINE_FAILPOINT", point)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "failpoint {point} did not stop the run"
        );
        assert!(!run_dir.join("manifest.json").exists());
        let out = bin().args(f.args(&run_dir)).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(files_of(&run_dir), f.expected, "after failpoint {point}");
    }
}

#[test]
fn prepare_rerun_with_other_options_is_refused_and_changes_nothing() {
    let f = Finished::new();
    let mut other = f.args(&f.clean);
    other.extend(["--order".into(), "input".into()]);
    let out = bin().args(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("other options"));
    assert_eq!(files_of(&f.clean), f.expected);
}

#[test]
fn prepare_writes_only_into_new_empty_or_own_folders_and_removes_only_its_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = testdata("sample/requests.jsonl");
    let prepare = |run_dir: &Path, env: Option<&str>| -> Output {
        let mut c = bin();
        c.args([
            "prepare",
            &input,
            "-o",
            run_dir.to_str().unwrap(),
            "--tokens",
            "off",
        ]);
        if let Some(point) = env {
            c.env("BATCHLINE_FAILPOINT", point);
        }
        c.output().unwrap()
    };
    // A folder batchline did not make is refused before anything is read or written, whatever
    // its files are called (even a `report.json` or a `shards/` of the user's own).
    for (name, files) in [
        ("notes", vec!["notes.txt"]),
        ("report", vec!["report.json"]),
        ("shards", vec!["shards/mydata.txt"]),
    ] {
        let run_dir = dir.path().join(name);
        for f in &files {
            let p = run_dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"precious\n").unwrap();
        }
        let before = files_of(&run_dir);
        let out = prepare(&run_dir, None);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("is not a batchline run folder")
                && err.contains(run_dir.to_str().unwrap()),
            "{err}"
        );
        assert_eq!(files_of(&run_dir), before, "{name}: untouched");
    }
    // A file where the folder should be: refused.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(prepare(&file, None).status.code(), Some(2));
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
    // An empty folder (with or without an empty `shards/`) is fine, and becomes a marked run.
    let fresh = dir.path().join("fresh");
    std::fs::create_dir_all(fresh.join("shards")).unwrap();
    let out = prepare(&fresh, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = files_of(&fresh);
    assert_eq!(
        expected.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            ".batchline-run",
            "families.bin",
            "index.bin",
            "invalid.jsonl",
            "manifest.json",
            "report.json",
            "shards/shard-00000.jsonl",
        ]
    );
    // A run interrupted before its manifest, holding a stale temporary file of ours and a file of
    // the user's: the re-run removes the former, keeps the latter, and gives the same run.
    let half = dir.path().join("half");
    assert!(!prepare(&half, Some("before-manifest")).status.success());
    assert!(!half.join("manifest.json").exists());
    std::fs::write(half.join("index.bin.4242.tmp"), b"stale").unwrap();
    std::fs::write(half.join("shards/shard-00007.jsonl.4242.tmp"), b"stale").unwrap();
    std::fs::write(half.join("shards/mine.txt"), b"keep me").unwrap();
    let out = prepare(&half, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got = files_of(&half);
    assert_eq!(
        got.remove("shards/mine.txt").as_deref(),
        Some(&b"keep me"[..])
    );
    assert_eq!(got, expected);
}

#[test]
fn prepare_rebuilds_a_damaged_manifest_refuses_foreign_ones_and_locks_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = testdata("sample/requests.jsonl");
    let prepare = |run_dir: &Path| -> Output {
        run(&[
            "prepare",
            &input,
            "-o",
            run_dir.to_str().unwrap(),
            "--tokens",
            "off",
        ])
    };
    let clean = dir.path().join("clean");
    assert!(prepare(&clean).status.success());
    let expected = files_of(&clean);
    // An empty or cut manifest (a crash between its rename and the disk): the run is rebuilt.
    for damage in [&b""[..], &b"{\"format_version\": 1, \"tool"[..]] {
        std::fs::write(clean.join("manifest.json"), damage).unwrap();
        let out = prepare(&clean);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(files_of(&clean), expected);
    }
    // A stale shard the manifest does not list (it would be uploaded with the others): removed
    // by the re-run, which rebuilds.
    std::fs::copy(
        clean.join("shards/shard-00000.jsonl"),
        clean.join("shards/shard-00009.jsonl"),
    )
    .unwrap();
    let out = prepare(&clean);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("nothing to do"));
    assert_eq!(files_of(&clean), expected);
    // Someone else's manifest.json, without the marker: refused (exit 2), untouched.
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("manifest.json"), b"{\"name\":\"My app\"}").unwrap();
    let out = prepare(&app);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a batchline run folder"), "{err}");
    assert_eq!(files_of(&app).len(), 1);
    // A run that another process holds (its marker locked): refused, left as it is.
    let marker = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(clean.join(".batchline-run"))
        .unwrap();
    marker.try_lock().unwrap();
    std::fs::write(clean.join("manifest.json"), b"").unwrap();
    let damaged = files_of(&clean);
    let out = prepare(&clean);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another batchline process is writing"),
        "{err}"
    );
    assert_eq!(files_of(&clean), damaged);
    drop(marker);
    assert!(prepare(&clean).status.success());
    assert_eq!(files_of(&clean), expected);
}
