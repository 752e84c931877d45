//! Shared helpers of the integration tests: a [`TestContext`] with its own temporary directory,
//! the path of the `batchline` binary, and runners that return the exit code, stdout and stderr,
//! or the parsed `--format json` output.
//!
//! Every spawned command gets `GCE_METADATA_HOST`, `GCE_METADATA_ROOT` and `GCE_METADATA_IP` set to
//! `127.0.0.1:9` (project rule: no test traffic leaves the machine) and `NO_COLOR=1`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;

pub mod jobs;
pub mod moto;

/// A temporary working directory plus helpers to run the binary in it.
pub struct TestContext {
    /// Removed when the context is dropped.
    pub temp: tempfile::TempDir,
}

/// What one run of the binary gave.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code (`-1` when killed by a signal).
    pub code: i32,
    /// Raw stdout.
    pub stdout_bytes: Vec<u8>,
    /// Stdout as (lossy) UTF-8.
    pub stdout: String,
    /// Stderr as (lossy) UTF-8.
    pub stderr: String,
}

/// One `"type":"finding"` object of `--format json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Finding {
    /// The input as named on the command line.
    pub file: String,
    /// 1-based line (0 for file-level findings).
    pub line: u64,
    /// 1-based byte column (0 for file-level findings).
    pub column: u64,
    /// 0-based byte offset in the file.
    pub byte: u64,
    /// RFC 6901 pointer.
    pub pointer: String,
    /// Stable code, e.g. `E_TYPE`.
    pub code: String,
    /// `error` or `warning`.
    pub severity: String,
    /// `row` or `job`.
    pub scope: String,
    /// The message.
    pub message: String,
    /// The other line of a whole-job conflict.
    #[serde(default)]
    pub related_line: Option<u64>,
    /// The pointer at the other line.
    #[serde(default)]
    pub related_pointer: Option<String>,
    /// How many values share a whole-job problem.
    #[serde(default)]
    pub occurrences: Option<u64>,
}

/// Counts of one file (or the total) in the json summary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FileSummary {
    /// The file as named (`(total)` for the total).
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lines.
    pub lines: u64,
    /// Blank lines.
    pub blank_lines: u64,
    /// Non-blank lines.
    pub requests: u64,
    /// Non-blank lines without errors.
    pub valid: u64,
    /// Non-blank lines with a row error.
    pub invalid: u64,
    /// Error findings.
    pub errors: u64,
    /// Warning findings.
    pub warnings: u64,
    /// Whole-job errors.
    pub job_errors: u64,
    /// Findings by code.
    pub by_code: BTreeMap<String, u64>,
    /// Top-level members beside `request`.
    pub extra_members: BTreeMap<String, u64>,
    /// Largest line in bytes.
    pub max_line_bytes: u64,
}

/// The `"type":"summary"` object of `--format json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// No errors.
    pub ok: bool,
    /// Model whose limits applied.
    pub model: String,
    /// Schema revision.
    pub schema_revision: String,
    /// Findings were cut by `--max-errors`.
    pub truncated: bool,
    /// Per input file.
    pub files: Vec<FileSummary>,
    /// Over all files.
    pub total: FileSummary,
}

/// A parsed `validate --format json` run.
#[derive(Debug, Clone)]
pub struct JsonRun {
    /// The raw run.
    pub out: Output,
    /// Every finding line, in output order.
    pub findings: Vec<Finding>,
    /// The last line.
    pub summary: Summary,
}

impl JsonRun {
    /// Findings with `code`.
    pub fn with_code(&self, code: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.code == code).collect()
    }

    /// `(line, column, code, pointer)` of every finding, in output order.
    pub fn tuples(&self) -> Vec<(u64, u64, String, String)> {
        self.findings
            .iter()
            .map(|f| (f.line, f.column, f.code.clone(), f.pointer.clone()))
            .collect()
    }
}

/// The crate root (for `testdata/` and `src/`).
pub fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Absolute path of `testdata/<rel>` as a string argument.
pub fn testdata(rel: &str) -> String {
    crate_root()
        .join("testdata")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// Sorted `*.jsonl` files of `testdata/<dir>`.
pub fn testdata_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(crate_root().join("testdata").join(dir))
        .unwrap_or_else(|e| panic!("testdata/{dir}: {e}"))
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    files
}

/// The `batchline` binary built for this test run.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_batchline"))
}

/// Credentials and credential files a developer's machine may hold, which the Google and AWS
/// credential chains read when a test gives none: removed from every child, so a test can only
/// use the explicit test credentials it passes.
const AMBIENT_CREDENTIALS: [&str; 11] = [
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PATH",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "CLOUDSDK_CONFIG",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "BATCHLINE_ACCESS_TOKEN",
];

/// A `batchline` command that cannot reach a cloud by accident: the metadata servers of Google
/// and AWS point at a closed loopback port, ambient credentials are removed, colour is off.
/// Tests add the explicit credentials and endpoints they use.
pub fn batchline() -> std::process::Command {
    let mut cmd = std::process::Command::new(bin());
    for k in ["GCE_METADATA_HOST", "GCE_METADATA_ROOT", "GCE_METADATA_IP"] {
        cmd.env(k, "127.0.0.1:9");
    }
    cmd.env("AWS_METADATA_ENDPOINT", "http://127.0.0.1:9");
    for k in AMBIENT_CREDENTIALS {
        cmd.env_remove(k);
    }
    cmd.env("NO_COLOR", "1");
    cmd
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    /// A context with a fresh temporary directory.
    pub fn new() -> Self {
        TestContext {
            temp: tempfile::Builder::new()
                .prefix("batchline-it-")
                .tempdir()
                .expect("create a temporary directory"),
        }
    }

    /// The temporary directory (also the working directory of every command).
    pub fn dir(&self) -> &Path {
        self.temp.path()
    }

    /// Writes `bytes` to `name` in the temporary directory; returns `name` (relative to the
    /// working directory, so outputs carry no temporary path).
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        std::fs::write(self.dir().join(name), bytes).expect("write test input");
        name.to_string()
    }

    /// Copies `testdata/<rel>` into the temporary directory under its file name; returns that name.
    pub fn copy_testdata(&self, rel: &str) -> String {
        let name = Path::new(rel)
            .file_name()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        std::fs::copy(testdata(rel), self.dir().join(&name)).expect("copy testdata");
        name
    }

    /// A `batchline` command with the test environment, run in the temporary directory.
    pub fn command(&self) -> Command {
        let mut cmd = batchline();
        cmd.current_dir(self.dir())
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE");
        cmd
    }

    /// Runs `batchline <args>` with empty stdin.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, b"")
    }

    /// Runs `batchline <args>` with `stdin` fed to it.
    pub fn run_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn batchline");
        let mut input = child.stdin.take().expect("piped stdin");
        let data = stdin.to_vec();
        // Write from a thread so a large input cannot deadlock against a full stdout pipe.
        let writer = std::thread::spawn(move || {
            // The binary may exit before reading (usage errors): ignore a broken pipe.
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().expect("wait for batchline");
        writer.join().expect("stdin writer");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout_bytes: out.stdout,
        }
    }

    /// Runs `batchline validate <args> --format json --max-errors 0` and parses the output.
    pub fn validate_json(&self, args: &[&str]) -> JsonRun {
        self.validate_json_stdin(args, b"")
    }

    /// Like [`Self::validate_json`], with `stdin`.
    pub fn validate_json_stdin(&self, args: &[&str], stdin: &[u8]) -> JsonRun {
        let mut all = vec!["validate"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json", "--max-errors", "0"]);
        let out = self.run_stdin(&all, stdin);
        assert!(
            out.code == 0 || out.code == 1,
            "validate {args:?} exited {}\nstderr: {}",
            out.code,
            out.stderr
        );
        parse_json_output(out)
    }
}

/// Parses `--format json` output: every line one object, findings then one summary last.
pub fn parse_json_output(out: Output) -> JsonRun {
    let lines: Vec<&str> = out.stdout.lines().collect();
    let (last, rest) = lines
        .split_last()
        .unwrap_or_else(|| panic!("no output; stderr: {}", out.stderr));
    let mut findings = Vec::new();
    for line in rest {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(
            v["type"], "finding",
            "only the last line is the summary: {line}"
        );
        findings.push(
            serde_json::from_value::<Finding>(v)
                .unwrap_or_else(|e| panic!("not a finding ({e}): {line}")),
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {last}"));
    assert_eq!(v["type"], "summary", "the last line is the summary: {last}");
    let summary: Summary =
        serde_json::from_value(v).unwrap_or_else(|e| panic!("not a summary ({e}): {last}"));
    JsonRun {
        out,
        findings,
        summary,
    }
}

/// The lines of a JSONL file as `validate` numbers them: split at `\n`, a `\r` before it
/// dropped, a leading BOM skipped, no extra line after a final `\n`. Returns `(1-based line,
/// bytes)`.
pub fn split_lines(data: &[u8]) -> Vec<(u64, &[u8])> {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut out = Vec::new();
    let mut rest = data;
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        out.push((n, line.strip_suffix(b"\r").unwrap_or(line)));
        rest = next;
    }
    out
}

/// Whether `validate` treats a line as blank (spaces, tabs and carriage returns only).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r'))
}

/// 1-based byte column of the first occurrence of `needle` in `line`.
pub fn col(line: &str, needle: &str) -> u64 {
    line.find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in {line}")) as u64
        + 1
}

/// One code as declared in `src/request/diag.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredCode {
    /// E.g. `E_TYPE`.
    pub name: String,
    /// `error` or `warning`.
    pub severity: String,
    /// `row` or `job`.
    pub scope: String,
}

/// The codes declared in the `codes!` macro of `src/request/diag.rs`, read from its text (no
/// regex): each entry is a line `NAME = (Severity, Scope, "title"),`.
pub fn declared_codes() -> Vec<DeclaredCode> {
    let text = std::fs::read_to_string(crate_root().join("src/request/diag.rs"))
        .expect("read src/request/diag.rs");
    let start = text.find("codes! {").expect("the codes! invocation");
    let body = &text[start + "codes! {".len()..];
    let body = &body[..body.find("\n}").expect("end of codes!")];
    let mut out = Vec::new();
    for line in body.lines() {
        let line = line.trim();
        if !(line.starts_with("E_") || line.starts_with("W_")) {
            continue;
        }
        let Some((name, rest)) = line.split_once(" = (") else {
            continue;
        };
        let mut parts = rest.split(',').map(str::trim);
        let severity = parts.next().unwrap_or("").to_ascii_lowercase();
        let scope = parts.next().unwrap_or("").to_ascii_lowercase();
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "odd code name in diag.rs: {line}"
        );
        out.push(DeclaredCode {
            name: name.trim().to_string(),
            severity,
            scope,
        });
    }
    assert!(out.len() > 40, "found only {} codes in diag.rs", out.len());
    out
}

/// The built-in model table (`src/models.json`) with `edit` applied, written to `name` in the
/// context's directory for `--pricing`.
pub fn pricing_file(
    ctx: &TestContext,
    name: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> String {
    let text = std::fs::read_to_string(crate_root().join("src/models.json"))
        .expect("read src/models.json");
    let mut table: serde_json::Value = serde_json::from_str(&text).expect("models.json is JSON");
    edit(&mut table);
    ctx.write(
        name,
        serde_json::to_vec_pretty(&table).expect("serialise the model table"),
    )
}

/// Replaces the temporary directory and the crate root in `s` with `[TEMP]` and `[ROOT]`.
pub fn redact(ctx: &TestContext, s: &str) -> String {
    s.replace(&ctx.dir().to_string_lossy().into_owned(), "[TEMP]")
        .replace(&crate_root().to_string_lossy().into_owned(), "[ROOT]")
}

/// Every file under `dir` (at any depth) with its bytes, by path relative to `dir`.
pub fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A finished `batchline` process: exit code (-1 when killed by a signal) and its output as text.
pub(crate) struct Out {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl From<std::process::Output> for Out {
    fn from(out: std::process::Output) -> Out {
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
