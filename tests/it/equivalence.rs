//! Path equivalence (STYLE B5, after ripgrep's `SearcherTester`): one input through every way of
//! reading it — memory-mapped and read, a file and stdin, 1 and 4 threads, chunks of 1, 7, 64 and
//! 4096 bytes and the default — must give byte-identical `--format json --max-errors 0` output.
//! This catches chunk-boundary and line-number bugs: with 1-byte chunks every line is its own
//! chunk, with 7 and 64 bytes chunk ends fall inside lines and are moved to the next newline.

use crate::common::{parse_json_output, TestContext};

/// A tiny deterministic generator (64-bit LCG), so the input is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "sky",
    "blue",
    "why",
    "café",
    "naïve",
    "日本語",
    "😀",
    "Straße",
    "\\u00e9",
    "\\n",
    "\\\"q\\\"",
    "tab\\t",
    "the",
    "of",
    "résumé",
    "Ελληνικά",
    "данные",
];

fn text(rng: &mut Lcg, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn user(t: &str) -> String {
    format!(r#"{{"role":"user","parts":[{{"text":"{t}"}}]}}"#)
}

/// A few thousand lines: valid requests, row errors of every kind, blank and whitespace lines,
/// CRLF endings, unicode and escapes, long lines, a BOM at the start, whole-job conflicts whose two
/// sides are thousands of lines apart, and a last line without newline.
fn corpus(lines: usize) -> Vec<u8> {
    let mut rng = Lcg(0x5eed_ba7c_4011_7e57);
    let mut out: Vec<u8> = b"\xEF\xBB\xBF".to_vec();
    for i in 0..lines {
        let words = 1 + rng.below(12) as usize;
        let t = text(&mut rng, words);
        let line: Vec<u8> = match i {
            // Whole-job conflicts, first sides near the top, second sides near the bottom.
            3 => format!(r#"{{"request":{{"contents":[{}]}},"meta":{{"score":"high"}}}}"#, user(&t)).into_bytes(),
            5 => format!(r#"{{"custom_id":"req-5","request":{{"contents":[{}]}}}}"#, user(&t)).into_bytes(),
            _ if i == lines - 7 => format!(r#"{{"request":{{"contents":[{}]}},"meta":{{"score":7}}}}"#, user(&t)).into_bytes(),
            _ if i == lines - 5 => format!(r#"{{"custom_id":99,"request":{{"contents":[{}]}}}}"#, user(&t)).into_bytes(),
            _ if i == lines - 3 => format!(r#"{{"request":{{"contents":[{{"role":"user","parts":{{"text":"{t}"}}}}]}}}}"#).into_bytes(),
            _ => match rng.below(20) {
                0 => Vec::new(),
                1 => b"  \t ".to_vec(),
                2 => format!(r#"{{"request":{{"contents":[{}],"generationConfig":{{"temprature":0.5}}}}}}"#, user(&t)).into_bytes(),
                3 => format!(r#"{{"request":{{"contents":[{}],"generationConfig":{{"topP":"high"}}}}}}"#, user(&t)).into_bytes(),
                4 => format!(r#"{{"request":{{"contents":[{}]}}"#, user(&t)).into_bytes(),
                5 => {
                    let mut v = format!(r#"{{"request":{{"contents":[{}]}}}}"#, user(&t)).into_bytes();
                    let at = 40 + rng.below(10) as usize;
                    v.insert(at, 0xff);
                    v
                }
                6 => {
                    let mut v = format!(r#"{{"request":{{"contents":[{}]}}}}"#, user(&t)).into_bytes();
                    let at = 40 + rng.below(10) as usize;
                    v.insert(at, 0);
                    v
                }
                7 => b"[1,2,3]".to_vec(),
                8 => format!(r#"{{"id":"x{i}","contents":[{}]}}"#, user(&t)).into_bytes(),
                9 => format!(r#"{{"request":{{"contents":[{}],"safetySettings":[{{"category":"HARM_CATEGORY_HATE_SPEECH","threshold":"BLOCK_HIGH_AND_ABOVE"}}]}}}}"#, user(&t)).into_bytes(),
                10 => format!(r#"{{"request":{{"contents":[{}]}}}}"#, user(&text(&mut rng, 300))).into_bytes(),
                11 => format!(r#"{{"key":"k-{i}","request":{{"contents":[{}],"generationConfig":{{"temperature":{}.{}}}}}}}"#, user(&t), rng.below(2), rng.below(10)).into_bytes(),
                12 => format!(r#"{{"request":{{"contents":[{},{{"role":"model","parts":[{{"text":"ok"}}]}},{}]}}}}"#, user(&t), user("more")).into_bytes(),
                _ => format!(r#"{{"request":{{"contents":[{}]}}}}"#, user(&t)).into_bytes(),
            },
        };
        out.extend_from_slice(&line);
        if i + 1 == lines {
            break; // the last line has no newline
        }
        out.extend_from_slice(if rng.below(6) == 0 { b"\r\n" } else { b"\n" });
    }
    out
}

#[test]
fn equivalence_every_read_path_gives_identical_output() {
    let ctx = TestContext::new();
    let data = corpus(3000);
    assert!(data.len() > 200_000, "{} bytes", data.len());
    let file = ctx.write("input.jsonl", &data);

    // The reference run: mapped, default chunks, all cores.
    let reference = ctx.run(&["validate", &file, "--format", "json", "--max-errors", "0"]);
    assert_eq!(reference.code, 1, "{}", reference.stderr);
    let parsed = parse_json_output(reference.clone());
    // Make sure the input exercises what it should.
    let s = &parsed.summary.total;
    assert_eq!(s.lines, 3000);
    assert!(
        s.blank_lines > 50 && s.invalid > 500 && s.valid > 1000,
        "{s:?}"
    );
    for code in [
        "W_BOM",
        "W_BLANK_LINE",
        "E_UNKNOWN_FIELD",
        "E_TYPE",
        "E_JSON_SYNTAX",
        "E_INVALID_UTF8",
        "E_NUL_BYTE",
        "E_NOT_OBJECT",
        "E_MISSING_REQUEST",
        "E_ENUM",
        "W_SINGLE_FOR_REPEATED",
        "E_JOB_TYPE_CONFLICT",
        "E_JOB_REPEATED_CONFLICT",
    ] {
        assert!(
            s.by_code.contains_key(code),
            "{code} missing: {:?}",
            s.by_code
        );
    }
    let far: Vec<(u64, Option<u64>)> = parsed
        .with_code("E_JOB_TYPE_CONFLICT")
        .iter()
        .map(|f| (f.line, f.related_line))
        .collect();
    assert_eq!(far, vec![(2994, Some(4)), (2996, Some(6))]);

    let expected_stdin = String::from_utf8(reference.stdout_bytes.clone())
        .unwrap()
        .replace(r#""file":"input.jsonl""#, r#""file":"-""#);
    let mut runs = 0;
    for source in ["--mmap", "--no-mmap", "-"] {
        for threads in ["1", "4"] {
            for chunk in [Some("1"), Some("7"), Some("64"), Some("4096"), None] {
                let mut args = vec!["validate"];
                let (stdin, want) = if source == "-" {
                    args.push("-");
                    (&data[..], expected_stdin.as_bytes())
                } else {
                    args.push(&file);
                    args.push(source);
                    (&[][..], &reference.stdout_bytes[..])
                };
                args.extend(["-j", threads, "--format", "json", "--max-errors", "0"]);
                if let Some(c) = chunk {
                    args.extend(["--chunk-bytes", c]);
                }
                let out = ctx.run_stdin(&args, stdin);
                assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
                if out.stdout_bytes != want {
                    let got = String::from_utf8_lossy(&out.stdout_bytes);
                    let want = String::from_utf8_lossy(want);
                    let first = got
                        .lines()
                        .zip(want.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or(got.lines().count().min(want.lines().count()));
                    panic!(
                        "{args:?} differs from the reference at output line {}:\n got: {}\nwant: {}",
                        first + 1,
                        got.lines().nth(first).unwrap_or("<end>"),
                        want.lines().nth(first).unwrap_or("<end>")
                    );
                }
                runs += 1;
            }
        }
    }
    assert_eq!(runs, 30);
}

#[test]
fn equivalence_truncated_and_human_output_do_not_depend_on_the_path() {
    // `--max-errors` keeps the first N findings in input order whatever the chunking, and the
    // human format is as stable as the json one.
    let ctx = TestContext::new();
    let data = corpus(1200);
    let file = ctx.write("input.jsonl", &data);
    for format in ["json", "human", "github"] {
        let base = ctx.run(&["validate", &file, "--format", format, "--max-errors", "25"]);
        assert_eq!(base.code, 1);
        for (threads, chunk) in [
            ("1", "1"),
            ("4", "7"),
            ("4", "64"),
            ("1", "4096"),
            ("3", "333"),
        ] {
            let out = ctx.run(&[
                "validate",
                &file,
                "--format",
                format,
                "--max-errors",
                "25",
                "-j",
                threads,
                "--chunk-bytes",
                chunk,
                "--no-mmap",
            ]);
            assert_eq!(
                out.stdout, base.stdout,
                "{format} -j {threads} --chunk-bytes {chunk}"
            );
        }
    }
}

#[test]
fn equivalence_single_line_and_no_newline_at_chunk_edges() {
    // Tiny inputs where a chunk boundary may fall on the last byte, a CR, or right after a BOM.
    let ctx = TestContext::new();
    let ok = r#"{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}}"#;
    let bad = r#"{"request":{"contents":[{"role":"user","parts":[{"txt":"hi"}]}]}}"#;
    let cases: Vec<Vec<u8>> = vec![
        ok.as_bytes().to_vec(),
        format!("{bad}\r\n").into_bytes(),
        format!("\u{feff}{bad}").into_bytes(),
        format!("\n\n{bad}\n\r\n{ok}").into_bytes(),
        format!("{ok}\r\n{bad}\r").into_bytes(),
        b"\r\n".to_vec(),
        b"\n".to_vec(),
    ];
    for (i, data) in cases.iter().enumerate() {
        let file = ctx.write(&format!("case{i}.jsonl"), data);
        let base = ctx.run(&[
            "validate",
            &file,
            "--format",
            "json",
            "--max-errors",
            "0",
            "-j",
            "1",
            "--no-mmap",
        ]);
        for chunk in ["1", "2", "3", "5", "8"] {
            for mmap in ["--mmap", "--no-mmap"] {
                let out = ctx.run(&[
                    "validate",
                    &file,
                    "--format",
                    "json",
                    "--max-errors",
                    "0",
                    "-j",
                    "4",
                    "--chunk-bytes",
                    chunk,
                    mmap,
                ]);
                assert_eq!(
                    out.stdout, base.stdout,
                    "case {i} {data:?} chunk {chunk} {mmap}"
                );
                assert_eq!(out.code, base.code);
            }
        }
    }
}
