//! Promises of the README and `docs/run-format.md` that no other test pins, so that breaking a
//! documented promise fails a test. Each expected value comes from outside the code under test: a
//! hand-written reader of the documented binary format, a literal, or a count made by hand from the
//! fixture.

use std::path::Path;

use crate::common::TestContext;

fn line(text: &str) -> String {
    format!(r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"{text}"}}]}}]}}}}"#)
}

const BAD: &str = r#"{"request":{"contents":[],"bogus":1}}"#;

/// One `index.bin` line record, read by hand from the layout in `docs/run-format.md`.
#[derive(Debug, PartialEq, Eq)]
struct LineRecord {
    file: u32,
    line: u64,
    offset: u64,
    length: u32,
    unique: u32,
}

/// Reads the header and line records of `index.bin` (little-endian, fixed-size records).
fn read_index_by_hand(bytes: &[u8]) -> (u32, u64, u64, Vec<LineRecord>) {
    assert_eq!(&bytes[..8], b"BLINDEX1");
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(8), 1, "version");
    let files = u32_at(12);
    let lines = u64_at(16);
    let uniques = u64_at(24);
    let mut records = Vec::new();
    for i in 0..lines as usize {
        let at = 32 + 28 * i;
        records.push(LineRecord {
            file: u32_at(at),
            line: u64_at(at + 4),
            offset: u64_at(at + 12),
            length: u32_at(at + 20),
            unique: u32_at(at + 24),
        });
    }
    assert_eq!(
        bytes.len(),
        32 + 28 * lines as usize + 24 * uniques as usize,
        "header, line records, unique records and nothing else"
    );
    (files, lines, uniques, records)
}

// Mutation that passed every test: line numbers counted across input files instead of per file.
#[test]
fn prepare_index_and_invalid_lines_name_the_file_and_its_own_line_for_every_input() {
    let ctx = TestContext::new();
    let a = format!("{}\n{}\n", line("a1"), line("a2"));
    let b = format!("{}\n{BAD}\n{}\n", line("b1"), line("b3"));
    let c = format!("{BAD}\n{}\n", line("c2"));
    for (name, text) in [("a.jsonl", &a), ("b.jsonl", &b), ("c.jsonl", &c)] {
        ctx.write(name, text);
    }
    let out = ctx.run(&["prepare", "a.jsonl", "b.jsonl", "c.jsonl", "-o", "run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (files, lines, uniques, records) =
        read_index_by_hand(&std::fs::read(ctx.dir().join("run/index.bin")).unwrap());
    assert_eq!((files, lines, uniques), (3, 7, 5));
    // Offsets and lengths by hand: each file's lines, newline excluded.
    let l = |t: &str| line(t).len() as u32;
    let none = u32::MAX;
    let expected = vec![
        LineRecord {
            file: 0,
            line: 1,
            offset: 0,
            length: l("a1"),
            unique: 0,
        },
        LineRecord {
            file: 0,
            line: 2,
            offset: l("a1") as u64 + 1,
            length: l("a2"),
            unique: 1,
        },
        LineRecord {
            file: 1,
            line: 1,
            offset: 0,
            length: l("b1"),
            unique: 2,
        },
        LineRecord {
            file: 1,
            line: 2,
            offset: l("b1") as u64 + 1,
            length: BAD.len() as u32,
            unique: none,
        },
        LineRecord {
            file: 1,
            line: 3,
            offset: (l("b1") as usize + 1 + BAD.len() + 1) as u64,
            length: l("b3"),
            unique: 3,
        },
        LineRecord {
            file: 2,
            line: 1,
            offset: 0,
            length: BAD.len() as u32,
            unique: none,
        },
        LineRecord {
            file: 2,
            line: 2,
            offset: BAD.len() as u64 + 1,
            length: l("c2"),
            unique: 4,
        },
    ];
    assert_eq!(records, expected);
    let invalid: Vec<serde_json::Value> =
        std::fs::read_to_string(ctx.dir().join("run/invalid.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let places: Vec<(String, u64)> = invalid
        .iter()
        .map(|v| {
            (
                v["file"].as_str().unwrap().to_string(),
                v["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        vec![("b.jsonl".to_string(), 2), ("c.jsonl".to_string(), 1)]
    );
}

// Two requests that differ only in one of these members are two requests, never merged.
#[test]
fn prepare_requests_differing_only_in_one_member_are_distinct() {
    let ctx = TestContext::new();
    let contents = r#""contents":[{"role":"user","parts":[{"text":"same"}]}]"#;
    let lines = [
        format!(r#"{{"request":{{{contents}}}}}"#),
        format!(
            r#"{{"request":{{{contents},"systemInstruction":{{"parts":[{{"text":"Be brief."}}]}}}}}}"#
        ),
        format!(
            r#"{{"request":{{{contents},"tools":[{{"googleSearch":{{"excludeDomains":[]}}}}]}}}}"#
        ),
        format!(
            r#"{{"request":{{{contents},"safetySettings":[{{"category":"HARM_CATEGORY_HARASSMENT","threshold":"BLOCK_NONE"}}]}}}}"#
        ),
        format!(
            r#"{{"request":{{{contents},"toolConfig":{{"functionCallingConfig":{{"mode":"NONE"}}}}}}}}"#
        ),
        // Exact repeats of the first and the last: the only duplicates.
        format!(r#"{{"request":{{{contents}}}}}"#),
        format!(
            r#"{{"request":{{{contents},"toolConfig":{{"functionCallingConfig":{{"mode":"NONE"}}}}}}}}"#
        ),
    ];
    ctx.write("in.jsonl", lines.join("\n") + "\n");
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["counts"]["invalid"], 0, "{}", out.stdout);
    assert_eq!(summary["counts"]["unique"], 5);
    assert_eq!(summary["counts"]["duplicates"], 2);
}

// Duplicates whose top-level members differ (`id`) are still one request: the members are not part
// of the request, and the first occurrence represents both.
#[test]
fn prepare_duplicates_whose_top_level_members_differ_are_one_request() {
    let ctx = TestContext::new();
    let request = r#"{"contents":[{"role":"user","parts":[{"text":"same"}]}]}"#;
    ctx.write(
        "in.jsonl",
        format!(
            "{{\"request\":{request},\"id\":\"one\"}}\n{{\"id\":\"two\",\"request\":{request}}}\n"
        ),
    );
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["counts"]["unique"], 1);
    assert_eq!(summary["counts"]["duplicates"], 1);
    let shard = std::fs::read_to_string(ctx.dir().join("run/shards/shard-00000.jsonl")).unwrap();
    assert_eq!(
        shard,
        format!("{{\"batchline_key\":\"bl-0\",\"request\":{request},\"id\":\"one\"}}\n")
    );
}

#[test]
fn prepare_no_key_writes_the_input_line_unchanged() {
    let ctx = TestContext::new();
    let l = line("x");
    ctx.write("in.jsonl", format!("{l}\n"));
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--no-key"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let shard = std::fs::read_to_string(ctx.dir().join("run/shards/shard-00000.jsonl")).unwrap();
    assert_eq!(shard, format!("{l}\n"));
}

#[test]
fn prepare_and_stats_exit_3_on_an_unreadable_input() {
    let ctx = TestContext::new();
    for args in [
        vec!["prepare", "missing.jsonl", "-o", "run"],
        vec!["stats", "missing.jsonl"],
    ] {
        let out = ctx.run(&args);
        assert_eq!(out.code, 3, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        assert!(out.stderr.contains("missing.jsonl"), "{}", out.stderr);
    }
    assert!(!ctx.dir().join("run").exists());
}

#[test]
fn version_prints_the_discovery_revision() {
    let ctx = TestContext::new();
    let out = ctx.run(&["--version"]);
    assert_eq!(out.code, 0);
    let schema =
        std::fs::read_to_string(crate::common::crate_root().join("src/request/schema.rs")).unwrap();
    // The revision as the generated schema file states it, read independently of the binary.
    let revision = schema
        .split("revision: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("schema.rs states its revision");
    assert_eq!(revision.len(), 8, "a yyyymmdd revision: {revision}");
    assert_eq!(
        out.stdout.trim(),
        format!(
            "batchline {} (Vertex AI v1 schema revision {revision} from {})",
            env!("CARGO_PKG_VERSION"),
            schema
                .split("package: \"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap()
        )
    );
}

/// Every file under `dir` with its bytes and modification time.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let meta = std::fs::metadata(&path).unwrap();
                out.push((
                    path.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                    meta.modified().unwrap(),
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn prepare_rerun_rewrites_no_file_of_the_run() {
    let ctx = TestContext::new();
    ctx.write(
        "in.jsonl",
        format!("{}\n{BAD}\n{}\n{}\n", line("a"), line("b"), line("a")),
    );
    let args = ["prepare", "in.jsonl", "-o", "run", "--max-requests", "1"];
    let out = ctx.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = snapshot(&ctx.dir().join("run"));
    let names: Vec<&str> = before.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            ".batchline-run",
            "families.bin",
            "index.bin",
            "invalid.jsonl",
            "manifest.json",
            "report.json",
            "shards/shard-00000.jsonl",
            "shards/shard-00001.jsonl",
        ]
    );
    // Coarse file-system clocks would hide a rewrite made within the same tick.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = ctx.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("already prepared"), "{}", out.stdout);
    let after = snapshot(&ctx.dir().join("run"));
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.0, a.0);
        assert!(b.1 == a.1, "{} changed", b.0);
        assert_eq!(b.2, a.2, "{} was rewritten", b.0);
    }
}

// Mutation that passed every test: block digests concatenated big-endian.
#[test]
fn prepare_checksums_follow_the_documented_format() {
    use xxhash_rust::xxh3::xxh3_128;
    let ctx = TestContext::new();
    let content = format!("{}\n", line("checksum"));
    ctx.write("in.jsonl", &content);
    let out = ctx.run(&["prepare", "in.jsonl", "-o", "run", "--no-key"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // docs/run-format.md: XXH3-128 of the concatenated little-endian XXH3-128 digests of the
    // 16 MiB blocks; one block here (none for an empty file). Written as the 128-bit number in hex.
    // Empty content has no blocks: the digest of nothing.
    let expected = |bytes: &[u8]| {
        let blocks: Vec<u8> = if bytes.is_empty() {
            Vec::new()
        } else {
            xxh3_128(bytes).to_le_bytes().to_vec()
        };
        format!("xxh3-128:{:032x}", xxh3_128(&blocks))
    };
    // A literal vector for the empty content's block digest, so a changed hash function fails too.
    assert_eq!(
        format!("{:032x}", xxh3_128(b"")),
        "99aa06d3014798d86001c324468d497f"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctx.dir().join("run/manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["inputs"][0]["checksum"],
        expected(content.as_bytes())
    );
    // The shard holds the same bytes (--no-key), so the same checksum.
    assert_eq!(
        manifest["shards"][0]["checksum"],
        expected(content.as_bytes())
    );
    for f in manifest["files"].as_array().unwrap() {
        let name = f["name"].as_str().or(f["path"].as_str()).unwrap();
        let bytes = std::fs::read(ctx.dir().join("run").join(name)).unwrap();
        assert_eq!(f["checksum"], expected(&bytes), "{name}");
    }
}

// Mutation that passed every test: the per-shard whole-job re-check limited to type conflicts.
#[test]
fn prepare_rechecks_every_whole_job_kind_per_shard() {
    // Two different requests (line 1 and 2), so that dedup keeps both.
    let with = |n: u32, extra: &str| {
        format!(
            r#"{{"request":{{"contents":[{{"role":"user","parts":[{{"text":"line {n}"}}]}}]}},{extra}}}"#
        )
    };
    // 16 objects below the line: one past the import's 15 levels.
    let deep = {
        let mut v = "1".to_string();
        for i in 0..16 {
            v = format!(r#"{{"l{i}":{v}}}"#);
        }
        v
    };
    // (code, first line, second line, whether the problem needs both lines)
    let cases = [
        (
            "E_JOB_TYPE_CONFLICT",
            with(1, r#""m":"s""#),
            with(2, r#""m":2"#),
            true,
        ),
        (
            "E_JOB_REPEATED_CONFLICT",
            with(1, r#""m":[1]"#),
            with(2, r#""m":1"#),
            true,
        ),
        (
            "E_JOB_COLUMN_CASE",
            with(1, r#""m":1"#),
            with(2, r#""M":1"#),
            true,
        ),
        (
            "E_JOB_COLUMN_NAME",
            with(1, r#""ok":1"#),
            with(2, r#""a b":1"#),
            false,
        ),
        (
            "E_JOB_DEPTH",
            with(1, r#""ok":1"#),
            with(2, &format!(r#""m":{deep}"#)),
            false,
        ),
        (
            "E_JOB_EMPTY_OBJECT",
            with(1, r#""ok":1"#),
            with(2, r#""m":{}"#),
            false,
        ),
    ];
    for (code, first, second, pair) in cases {
        let ctx = TestContext::new();
        ctx.write("in.jsonl", format!("{first}\n{second}\n"));
        for (run, split) in [("one", false), ("split", true)] {
            let mut args = vec![
                "prepare", "--tokens", "off", "in.jsonl", "-o", run, "--format", "json", "--order",
                "input",
            ];
            if split {
                args.extend(["--max-requests", "1"]);
            }
            let out = ctx.run(&args);
            let rows: Vec<serde_json::Value> = out
                .stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let shard_findings: Vec<(String, u64)> = rows
                .iter()
                .filter(|r| r["code"] == code && r["file"].as_str().unwrap().contains("/shards/"))
                .map(|r| {
                    let file = r["file"].as_str().unwrap();
                    (
                        file[file.find("shards/").unwrap()..].to_string(),
                        r["line"].as_u64().unwrap(),
                    )
                })
                .collect();
            let expected: Vec<(String, u64)> = match (pair, split) {
                // Both lines in one shard: line 2 of it.
                (_, false) => vec![("shards/shard-00000.jsonl".to_string(), 2)],
                // A pair split apart: neither shard fails.
                (true, true) => vec![],
                // A line's own problem follows it to the second shard, as its line 1.
                (false, true) => vec![("shards/shard-00001.jsonl".to_string(), 1)],
            };
            assert_eq!(
                shard_findings, expected,
                "{code} split={split}: {}",
                out.stdout
            );
            assert_eq!(
                out.code,
                if expected.is_empty() { 0 } else { 1 },
                "{code} split={split}"
            );
        }
    }
}

/// `a` within `1e-12` of `b` relative (the figures are sums of products of decimal prices).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1e-9)
}

// Mutation that passed every test: cached tokens priced at the full input price. Every figure
// below is worked out by hand from docs/cache-model.md, src/models.json and the fixture.
#[test]
fn stats_and_report_json_give_the_hand_computed_cost_and_cache_figures() {
    // Two families of three requests: a 13,500-byte system instruction (all `a`, or all `b`),
    // then a question that differs from its siblings' in its first byte. Input order
    // F1 G1 F2 G2 F3 G3, then a duplicate of F1 and an invalid line.
    let req = |system: char, question: &str| {
        format!(
            r#"{{"request":{{"systemInstruction":{{"parts":[{{"text":"{}"}}]}},"contents":[{{"role":"user","parts":[{{"text":"{question}"}}]}}]}}}}"#,
            system.to_string().repeat(13_500)
        )
    };
    let f1 = req('a', "1abc");
    let lines = [
        f1.clone(),
        req('b', "1abcdef"),
        req('a', "2abcd"),
        req('b', "2abcdefg"),
        req('a', "3abcde"),
        req('b', "3abcdefgh"),
        f1.clone(),
        BAD.to_string(),
    ];
    let ctx = TestContext::new();
    ctx.write("in.jsonl", lines.join("\n") + "\n");
    // Prompt stream (src/request/prompt.rs): FF 'S' FF 'x' <13,500 bytes> FF 'R' "user" FF 'x'
    // <question> = 13,512 + q bytes, q = 4, 7, 5, 8, 6, 9 in input order.
    // --tokens off: prompt tokens = ceil(bytes / 4):
    //   13,516 → 3,379; 13,519 → 3,380; 13,517 → 3,380; 13,520 → 3,380; 13,518 → 3,380;
    //   13,521 → 3,381. Unique total 20,280; with the duplicate F1: 20,280 + 3,379 = 23,659.
    // Per request, sorted 3,379 3,380 3,380 3,380 3,380 3,381; quantile i = round(5 p):
    //   p0 → 0, p50 → 3 (2.5 rounds up), p90 → 5 (4.5), p99 → 5, p100 → 5.
    // Blocks of 1,024 stream bytes; siblings agree on the first 13,512 bytes, so on 13 whole
    // blocks (13,312 bytes) and differ in the 14th. Prefix tokens with --tokens off are
    // bytes / 6 rounded down: 13 blocks → 13,312 / 6 = 2,218, 12 blocks → 2,048; the cache
    // minimum of gemini-2.5-flash is 2,048, so a hit on the 13-block prefix caches 2,218 tokens.
    // Simulation, W = 2 rows per round, entries never expire (--sim-ttl inf):
    //   input  F1 G1 | F2 G2 | F3 G3: rounds 1 and 2 all hit: 4 × 2,218 = 8,872.
    //   prefix (trie) X1 X2 | X3 Y1 | Y2 Y3 (X, Y = the two families in hash order): X3, Y2
    //          and Y3 hit: 3 × 2,218 = 6,654.
    //   primed with --prime-gaps 2: each family's first member moves 2 rows ahead (the first
    //          family cannot move): X1 Y1 | X2 X3 | Y2 Y3: 4 × 2,218 = 8,872.
    // Bound: 6 rows × 2,218 − one first sender per family (the nested shared prefixes' eff
    // differences telescope to 2,218 each): 13,308 − 4,436 = 8,872.
    let (unique_tokens, all_tokens, cached_primed) = (20_280u64, 23_659u64, 8_872u64);
    // Prices (src/models.json, gemini-2.5-flash): input $0.30 / M, cached $0.03 / M, batch 50 %.
    //   online without dedup: 23,659 × 0.30 / 1e6 = 0.0070977
    //   batch:                20,280 × 0.15 / 1e6 = 0.003042
    //   batch with cache (primed, the chosen order): (20,280 − 8,872) × 0.15 / 1e6
    //                         + 8,872 × 0.03 / 1e6 = 0.0017112 + 0.00026616 = 0.00197736
    //   per family: (3 − 1) × 2,218 = 4,436 tokens cached, saving (0.15 − 0.03) per M:
    //                         4,436 × 0.12 / 1e6 = 0.00053232
    let args = [
        "--tokens",
        "off",
        "--sim-workers",
        "2",
        "--sim-ttl",
        "inf",
        "--prime-gaps",
        "2",
    ];
    let stats = ctx.run(&[&["stats", "in.jsonl", "--format", "json"][..], &args[..]].concat());
    assert_eq!(stats.code, 0, "{}", stats.stderr);
    let summary: serde_json::Value =
        serde_json::from_str(stats.stdout.lines().last().unwrap()).unwrap();
    let prepare = ctx.run(&[&["prepare", "in.jsonl", "-o", "run", "-q"][..], &args[..]].concat());
    assert_eq!(prepare.code, 0, "{}", prepare.stderr);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ctx.dir().join("run/report.json")).unwrap()).unwrap();
    let line_of = |n: usize| format!("in.jsonl:{n}");
    for r in [&summary, &saved] {
        assert_eq!(
            r["counts"],
            serde_json::json!({"lines": 8, "blank": 0, "invalid": 1, "valid": 7, "unique": 6, "duplicates": 1})
        );
        assert_eq!(r["duplicate_bytes"], f1.len() + 1);
        let t = &r["tokens"];
        assert_eq!(t["counter"], "bytes/4");
        assert_eq!(t["prompt_tokens"], unique_tokens);
        assert_eq!(t["prompt_tokens_with_duplicates"], all_tokens);
        assert_eq!(
            t["per_request"],
            serde_json::json!([3379, 3380, 3381, 3381, 3381])
        );
        assert_eq!(r["min_cache_tokens"], 2048);
        assert_eq!(r["cache_bound_tokens"], 8872);
        let sims: Vec<(String, u64, f64, f64)> = r["simulation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["order"].as_str().unwrap().to_string(),
                    s["cached_tokens"].as_u64().unwrap(),
                    s["cached_share"].as_f64().unwrap(),
                    s["of_bound"].as_f64().unwrap(),
                )
            })
            .collect();
        let hand = [
            ("input", 8872, 8872.0 / 20280.0, 1.0),
            ("prefix", 6654, 6654.0 / 20280.0, 0.75),
            ("primed", 8872, 8872.0 / 20280.0, 1.0),
        ];
        assert_eq!(sims.len(), 3);
        for ((order, cached, share, of_bound), (h_order, h_cached, h_share, h_bound)) in
            sims.iter().zip(hand)
        {
            assert_eq!((order.as_str(), *cached), (h_order, h_cached));
            assert!(close(*share, h_share), "{order}: share {share}");
            assert!(close(*of_bound, h_bound), "{order}: of bound {of_bound}");
        }
        assert_eq!(cached_primed, sims[2].1);
        let c = &r["cost"];
        assert_eq!(c["model"], "gemini-2.5-flash");
        for (key, hand) in [
            ("online_no_dedup", 0.0070977),
            ("batch", 0.003042),
            ("batch_with_cache", 0.00197736),
        ] {
            let got = c[key].as_f64().unwrap();
            assert!(close(got, hand), "{key}: {got} vs {hand}");
        }
        let fams = r["families"].as_array().unwrap();
        assert_eq!(fams.len(), 2, "{fams:?}");
        let mut examples = Vec::new();
        for f in fams {
            assert_eq!(f["prefix_tokens"], 2218);
            assert_eq!(f["requests"], 3);
            assert_eq!(f["cacheable"], true);
            assert_eq!(f["cached_tokens"], 4436);
            let saving = f["saving_usd"].as_f64().unwrap();
            assert!(close(saving, 0.00053232), "{saving}");
            examples.push(f["example"].as_str().unwrap().to_string());
        }
        // One family is F (lines 1, 3, 5), the other G (lines 2, 4, 6); which member is named
        // first depends on the hashes of the questions.
        examples.sort_by_key(|e| [1, 3, 5].map(line_of).contains(e));
        assert!(
            [2, 4, 6].map(line_of).contains(&examples[0]),
            "{examples:?}"
        );
        assert!(
            [1, 3, 5].map(line_of).contains(&examples[1]),
            "{examples:?}"
        );
    }
}
