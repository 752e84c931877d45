//! How far the run's jobs have got: rows counted in the prediction files a job has already
//! exported (Vertex writes finished rows while a job runs), for `status`, and the progress bar
//! `wait` shows on a terminal.
//!
//! Counting rule (VERTEX.md: list the folder, never guess names, never count a row twice): every
//! `predictions*.jsonl` under the job's `outputInfo.gcsOutputDirectory`, at any depth; when the
//! final `predictions.jsonl` directly in the folder exists it holds every row once more, so it
//! alone is counted, else the sum of the others (the incremental files). A row is a line with
//! anything but whitespace on it. Files are read once per process (`ExportCounter` keeps each
//! file's count: exported files are not rewritten), in 16 MiB ranges, never held whole.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::Result;
use crate::run::state::{JobRecord, RunState};
use crate::store::{CloudConfig, Location, Store};

/// Rows found in a job's exported prediction files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Exported {
    /// Rows (non-blank lines) counted.
    pub rows_exported: u64,
    /// Files they were counted in.
    pub files: usize,
}

/// Counts exported rows, reading each file once.
pub(crate) struct ExportCounter {
    cloud: CloudConfig,
    lines: HashMap<String, u64>,
}

impl ExportCounter {
    /// A counter reading through `cloud`'s endpoints and token.
    pub(crate) fn new(cloud: CloudConfig) -> ExportCounter {
        ExportCounter {
            cloud,
            lines: HashMap::new(),
        }
    }

    /// The rows exported so far under `dir` (a job's output directory).
    pub(crate) fn count(&mut self, dir: &str) -> Result<Exported> {
        let (store, chosen) = row_files(dir, &self.cloud)?;
        let mut rows = 0;
        for name in &chosen {
            let url = store.describe(name);
            let n = match self.lines.get(&url) {
                Some(n) => *n,
                None => {
                    let n = count_object_rows(&store, name)?;
                    self.lines.insert(url, n);
                    n
                }
            };
            rows += n;
        }
        Ok(Exported {
            rows_exported: rows,
            files: chosen.len(),
        })
    }
}

/// The files under `dir` (a job's output directory) that hold each exported row once: the final
/// `predictions.jsonl` alone when it exists, else every other `predictions*.jsonl` at any depth;
/// names relative to `dir`, sorted, with the store they are in.
pub(crate) fn row_files(dir: &str, cloud: &CloudConfig) -> Result<(Store, Vec<String>)> {
    let store = Store::open(&Location::parse(dir)?, cloud)?;
    let names: Vec<String> = store
        .list_all("")?
        .into_iter()
        .filter(|n| !n.ends_with('/'))
        .filter(|n| {
            let file = n.rsplit('/').next().unwrap_or(n);
            file.starts_with("predictions") && file.ends_with(".jsonl")
        })
        .collect();
    let chosen = if names.iter().any(|n| n == "predictions.jsonl") {
        vec!["predictions.jsonl".to_string()]
    } else {
        names
    };
    Ok((store, chosen))
}

/// Bytes read per request when counting: a file is never held whole in memory.
const COUNT_CHUNK: u64 = 16 << 20;

/// The rows of object `name`, read in [`COUNT_CHUNK`] ranges (a missing object has none).
fn count_object_rows(store: &Store, name: &str) -> Result<u64> {
    let Some(meta) = store.head(name)? else {
        return Ok(0);
    };
    let mut counter = RowCounter::default();
    let mut at = 0;
    while at < meta.size {
        let end = (at + COUNT_CHUNK).min(meta.size);
        counter.feed(&store.get_range(name, at..end)?);
        at = end;
    }
    Ok(counter.finish())
}

/// Counts lines with anything but ASCII whitespace on them, fed in pieces cut anywhere.
#[derive(Default)]
struct RowCounter {
    rows: u64,
    /// The line being read has a non-whitespace byte.
    in_row: bool,
}

impl RowCounter {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                self.rows += u64::from(self.in_row);
                self.in_row = false;
            } else if !b.is_ascii_whitespace() {
                self.in_row = true;
            }
        }
    }

    /// The count, the last line needing no newline.
    fn finish(self) -> u64 {
        self.rows + u64::from(self.in_row)
    }
}

/// Lines with anything but ASCII whitespace on them (the last line needs no newline).
#[cfg(test)]
fn count_rows(bytes: &[u8]) -> u64 {
    let mut c = RowCounter::default();
    c.feed(bytes);
    c.finish()
}

/// Rows done and rows in all, over the run's jobs, for the progress bar: a job that has ended
/// counts all its requests; a running one the larger of what its `completionStats` says and
/// what `exported` counted for it; a held or queued one nothing. Jobs whose request count was
/// not recorded add nothing to either figure.
pub(crate) fn rows_done(state: &RunState, exported: &HashMap<String, u64>) -> (u64, u64) {
    let mut done = 0;
    let mut total = 0;
    for (shard, r) in &state.jobs {
        let Some(requests) = r.requests else {
            continue;
        };
        total += requests;
        done += if r.is_terminal() {
            requests
        } else {
            stats_rows(r)
                .max(exported.get(shard).copied().unwrap_or(0))
                .min(requests)
        };
    }
    (done, total)
}

/// Rows `completionStats` reports finished (succeeded plus failed).
fn stats_rows(r: &JobRecord) -> u64 {
    r.completion_stats.as_ref().map_or(0, |c| {
        c.successful()
            .unwrap_or(0)
            .saturating_add(c.failed().unwrap_or(0))
            .max(0) as u64
    })
}

/// The progress bar of `wait`: rows done of all, rate and ETA, on stderr; only on a terminal
/// and without `--quiet`.
pub(crate) fn wait_bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{wide_bar}] {pos}/{len} rows {per_sec} eta {eta}",
        )
        .expect("invariant: the template is valid")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// The bar's message: jobs live, held and ended.
pub(crate) fn bar_message(state: &RunState) -> String {
    let ended = state.jobs.values().filter(|r| r.is_terminal()).count();
    let held = state.jobs.values().filter(|r| r.is_held()).count();
    format!(
        "{} live, {held} held, {ended}/{} ended",
        state.live(),
        state.jobs.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vertex::wire::BatchPredictionJob;
    use std::collections::BTreeMap;

    #[test]
    fn count_rows_skips_blank_lines_and_counts_an_unterminated_last_line() {
        assert_eq!(count_rows(b""), 0);
        assert_eq!(count_rows(b"{}\n"), 1);
        assert_eq!(count_rows(b"{}\n \r\n\n{\"a\":1}"), 2);
        assert_eq!(count_rows(b"\n\n\t\n"), 0);
        // Cut anywhere, the pieces count the same.
        let text = b"{\"a\":1}\n  \n{}\r\n\n x";
        for cut in 0..=text.len() {
            let mut c = RowCounter::default();
            c.feed(&text[..cut]);
            c.feed(&text[cut..]);
            assert_eq!(c.finish(), 3, "cut at {cut}");
        }
    }

    #[test]
    fn an_object_is_counted_in_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::parse(dir.path().to_str().unwrap()).unwrap();
        let store = Store::open(&loc, &CloudConfig::default()).unwrap();
        let line = "x".repeat(999) + "\n";
        // Two chunks and a bit: rows cross the chunk edges.
        let n = (2 * COUNT_CHUNK / 1000 + 7) as usize;
        std::fs::write(dir.path().join("p.jsonl"), line.repeat(n)).unwrap();
        assert_eq!(count_object_rows(&store, "p.jsonl").unwrap(), n as u64);
        assert_eq!(count_object_rows(&store, "absent.jsonl").unwrap(), 0);
    }

    fn record(state: &str, stats: &str, requests: Option<u64>) -> JobRecord {
        let mut r =
            JobRecord::reserved(BatchPredictionJob::default(), String::new(), String::new());
        let job: BatchPredictionJob = serde_json::from_str(&format!(
            r#"{{"name": "projects/p/locations/l/batchPredictionJobs/1", "state": "{state}", "completionStats": {stats}}}"#
        ))
        .unwrap();
        r.update(&job, String::new());
        r.requests = requests;
        r
    }

    #[test]
    fn rows_done_takes_the_larger_of_stats_and_exported_rows_and_all_of_an_ended_job() {
        let mut jobs = BTreeMap::new();
        jobs.insert(
            "a".to_string(),
            record("JOB_STATE_FAILED", r#"{"successfulCount": "1"}"#, Some(10)),
        );
        jobs.insert(
            "b".to_string(),
            record(
                "JOB_STATE_RUNNING",
                r#"{"successfulCount": "3", "failedCount": "1"}"#,
                Some(20),
            ),
        );
        jobs.insert("c".to_string(), record("JOB_STATE_RUNNING", "{}", Some(30)));
        jobs.insert("d".to_string(), record("JOB_STATE_RUNNING", "{}", None));
        let held = JobRecord::held(
            BatchPredictionJob::default(),
            String::new(),
            String::new(),
            "x".into(),
        );
        jobs.insert(
            "e".to_string(),
            JobRecord {
                requests: Some(5),
                ..held
            },
        );
        let state = RunState {
            format_version: 1,
            run_id: "r".into(),
            project: "p".into(),
            location: "l".into(),
            max_concurrent: Some(2),
            source: None,
            destination: None,
            jobs,
        };
        let exported = HashMap::from([
            ("b".to_string(), 2),
            ("c".to_string(), 99),
            ("d".to_string(), 7),
        ]);
        // a: 10 (ended); b: max(4, 2); c: min(99, 30); d: unknown size; e: held.
        assert_eq!(
            rows_done(&state, &exported),
            (10 + 4 + 30, 10 + 20 + 30 + 5)
        );
        assert_eq!(bar_message(&state), "3 live, 1 held, 1/5 ended");
    }
}
