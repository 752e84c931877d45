//! What a new user sees first, and the places batchline is installed into: the README's first
//! command on the bundled sample, the GitHub Actions recipe, shell completions and the man page.
//! (The wheel and the pre-commit hook need Python and are tested by `tests/dist/run.sh`.)

use std::path::Path;

use crate::common::{crate_root, testdata, TestContext};

fn readme() -> String {
    std::fs::read_to_string(crate_root().join("README.md")).expect("README.md")
}

/// The README's first command, exactly as printed, on the bundled sample: the invalid line is
/// reported and skipped, the duplicates counted, the triage family (a 2,462-token shared system
/// instruction × 9 requests) is above the cache minimum and the primed order earns a predicted
/// 32.9%, where input and prefix order earn nothing in the model's first round of 256 rows.
#[test]
fn the_readme_first_command_on_the_bundled_sample_prints_these_numbers() {
    let command = "cargo run --release -- prepare testdata/sample/requests.jsonl -o run";
    assert!(
        readme().contains(command),
        "the README's first command changed"
    );
    // The figures are Gemini's exact token counts: the vocabulary must be cached (as the token
    // tests do, fetch it once if it is not).
    if batchline::plan::tokens::locate_model(None).is_err() {
        let status = std::process::Command::new("sh")
            .arg(crate_root().join("benches/fetch_tokenizer.sh"))
            .status();
        eprintln!("fetched the Gemma 3 vocabulary: {status:?}");
    }
    let ctx = TestContext::new();
    std::fs::create_dir_all(ctx.dir().join("testdata/sample")).unwrap();
    std::fs::copy(
        testdata("sample/requests.jsonl"),
        ctx.dir().join("testdata/sample/requests.jsonl"),
    )
    .unwrap();
    let out = ctx.run(&["prepare", "testdata/sample/requests.jsonl", "-o", "run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = "\
testdata/sample/requests.jsonl:124:67: error[E_UNKNOWN_FIELD] at /request/contents/0/parts/0/txt: unknown field `txt` in Part; did you mean `text`?
444 lines: 443 valid, 1 invalid (not sent), 0 blank; 437 unique requests, 6 duplicates (1,411 bytes not sent again)
prompt tokens (gemma3): 52,362 unique (52,516 with duplicates); per request min 18 · p50 23 · p90 36 · p99 2650 · max 2653
largest shared prefixes, by tokens they can have cached (cache minimum 2,048 tokens):
  2,462 tokens × 9 requests: up to 19,696 tokens cached, saving $0.0024 (e.g. testdata/sample/requests.jsonl:315)
  2,103 tokens × 5 requests: up to 8,412 tokens cached, saving $0.0010 (e.g. testdata/sample/requests.jsonl:319)
  2,340 tokens × 2 requests: up to 2,340 tokens cached, saving $0.0003 (e.g. testdata/sample/requests.jsonl:319)
  2,339 tokens × 2 requests: up to 2,339 tokens cached, saving $0.0003 (e.g. testdata/sample/requests.jsonl:318)
  1,990 tokens × 3 requests — 58 tokens short of the cache minimum (1,990 of 2,048) (e.g. testdata/sample/requests.jsonl:322)
predicted cached prompt tokens (a model, not a measurement; collect reports the real rate): input 0.0% (0.0% of bound) · prefix 0.0% (0.0% of bound) · primed 32.9% (60.3% of bound)
estimated input cost for gemini-2.5-flash: $0.0158 online without dedup → $0.0079 batch → $0.0058 batch with predicted cache hits
1 shard(s), 296,374 bytes, order Primed → run
";
    assert_eq!(out.stdout, expected);
    // The README quotes three of these lines.
    let readme = readme();
    for line in [4, 8, 9] {
        let quoted = expected.lines().nth(line).unwrap();
        assert!(readme.contains(quoted), "the README lacks: {quoted}");
    }
    // The invalid line is listed, not sent.
    let invalid = std::fs::read_to_string(ctx.dir().join("run/invalid.jsonl")).unwrap();
    assert_eq!(invalid.lines().count(), 1, "{invalid}");
    assert!(invalid.contains("E_UNKNOWN_FIELD"), "{invalid}");
    // The same figures in report.json: the families carry their saving.
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctx.dir().join("run/report.json")).unwrap()).unwrap();
    let fam = &report["families"][0];
    assert_eq!(fam["prefix_tokens"], 2462);
    assert_eq!(fam["requests"], 9);
    assert_eq!(fam["cached_tokens"], 19696);
    let last = &report["families"][4];
    assert_eq!(
        (
            &last["prefix_tokens"],
            &last["cacheable"],
            &last["cached_tokens"]
        ),
        (&1990.into(), &false.into(), &0.into())
    );
}

/// The sample is what its script writes (so it can be regenerated and reviewed as code).
#[test]
fn the_bundled_sample_is_what_its_seeded_script_writes() {
    let Ok(out) = std::process::Command::new("python3")
        .arg(crate_root().join("testdata/sample/generate.py"))
        .output()
    else {
        // A developer without Python skips; in CI (CI=true) a missing tool is a failure.
        assert!(std::env::var_os("CI").is_none(), "python3 is needed in CI");
        eprintln!("python3 not found: skipped");
        return;
    };
    assert!(out.status.success());
    assert!(
        out.stdout == std::fs::read(testdata("sample/requests.jsonl")).unwrap(),
        "testdata/sample/requests.jsonl differs from `python3 testdata/sample/generate.py`"
    );
}

/// The GitHub Actions recipe in the README: its step, and the annotations it prints on a bad
/// file, exactly as the README shows them.
#[test]
fn the_readme_ci_recipe_prints_the_annotations_it_shows() {
    let readme = readme();
    assert!(
        readme.contains("run: batchline validate --format github data/*.jsonl"),
        "the README's CI step changed"
    );
    let ctx = TestContext::new();
    std::fs::create_dir(ctx.dir().join("data")).unwrap();
    ctx.write(
        "data/requests.jsonl",
        concat!(
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#,
            "\n",
            r#"{"request":{"contents":[{"role":"user","parts":[{"txt":"hi"}]}]}}"#,
            "\n",
            r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"temperature":3}}}"#,
            "\n",
        ),
    );
    let out = ctx.run(&["validate", "--format", "github", "data/requests.jsonl"]);
    assert_eq!(out.code, 1);
    let expected = "\
::error file=data/requests.jsonl,line=2,col=50,title=E_UNKNOWN_FIELD::/request/contents/0/parts/0/txt: unknown field `txt` in Part; did you mean `text`?
::error file=data/requests.jsonl,line=3,col=100,title=E_RANGE::/request/generationConfig/temperature: temperature 3 is outside [0, 2]; use a value from 0 to 2 (REST: GenerationConfig.temperature)
";
    assert_eq!(out.stdout, expected);
    assert!(
        readme.contains(expected),
        "the README shows other annotations than batchline prints"
    );
}

/// The completion scripts and the man page come from the clap definition: every visible command
/// and a flag of each appear, the man pages leave out the hidden `gen-corpus`, and the bash script
/// parses.
#[test]
fn completions_and_man_pages_list_the_commands_and_flags_the_parser_accepts() {
    let ctx = TestContext::new();
    // Every command the parser accepts, hidden ones excepted, in declaration order (new commands
    // join without editing this test); the oldest six must be among them.
    use clap::CommandFactory;
    let parser = batchline::cli::Cli::command();
    let names: Vec<String> = parser
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
        .map(|c| c.get_name().to_string())
        .collect();
    for c in [
        "validate",
        "prepare",
        "stats",
        "fetch-tokenizer",
        "completions",
        "man",
    ] {
        assert!(names.iter().any(|n| n == c), "{c} missing from {names:?}");
    }
    let commands: Vec<&str> = names.iter().map(String::as_str).collect();
    for (shell, opening) in [
        ("bash", "_batchline() {"),
        ("zsh", "#compdef batchline"),
        ("fish", "complete -c batchline"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'batchline'",
        ),
    ] {
        let out = ctx.run(&["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains(opening), "{shell}:\n{}", out.stdout);
        for c in &commands {
            assert!(out.stdout.contains(c), "{shell} lacks {c}");
        }
        for flag in ["deny-warnings", "prime-gaps", "tokenizer-model"] {
            assert!(out.stdout.contains(flag), "{shell} lacks --{flag}");
        }
    }
    let script = ctx.run(&["completions", "bash"]).stdout;
    ctx.write("batchline.bash", &script);
    if let Ok(check) = std::process::Command::new("bash")
        .args(["-n", "batchline.bash"])
        .current_dir(ctx.dir())
        .output()
    {
        assert!(check.status.success(), "{check:?}");
    }
    let out = ctx.run(&["completions", "elvish"]);
    assert_eq!(out.code, 2);
    assert!(out
        .stderr
        .contains("[possible values: bash, zsh, fish, powershell]"));

    // One page on stdout: the title line, then every command in its SUBCOMMANDS section.
    let man = ctx.run(&["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.contains(".TH batchline 1  \"batchline "),
        "{}",
        man.stdout
    );
    for c in &commands {
        let entry = format!("batchline\\-{}(1)", c.replace('-', "\\-"));
        assert!(man.stdout.contains(&entry), "man lacks {entry}");
    }
    assert!(!man.stdout.contains("corpus"), "{}", man.stdout);
    assert!(!man.stdout.contains("gen\\-corpus"), "{}", man.stdout);
    // --dir: that page and one per command, exactly those files, listed on stdout.
    std::fs::create_dir(ctx.dir().join("man1")).unwrap();
    let out = ctx.run(&["man", "--dir", "man1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut want: Vec<String> = vec!["batchline.1".into()];
    want.extend(commands.iter().map(|c| format!("batchline-{c}.1")));
    let listed: Vec<String> = out
        .stdout
        .lines()
        .map(|l| l.strip_prefix("man1/").unwrap_or(l).to_string())
        .collect();
    assert_eq!(listed, want);
    let mut files: Vec<String> = std::fs::read_dir(ctx.dir().join("man1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    want.sort();
    assert_eq!(files, want);
    let validate = std::fs::read_to_string(ctx.dir().join("man1/batchline-validate.1")).unwrap();
    assert!(validate.contains("\\-\\-deny\\-warnings"), "{validate}");
    let out = ctx.run(&["man", "--dir", "missing"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--dir missing: not an existing folder"));
    assert!(!Path::new(&ctx.dir().join("missing")).exists());
}
