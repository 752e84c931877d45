//! Where a run's prediction rows are: each job's output folder as Vertex reported it, and the
//! files or folders given with `--predictions`.

use std::path::Path;

use super::{JobFacts, RunFacts};
use crate::error::{Error, Result};
use crate::input::remote::{expand_inputs, RemoteOptions};
use crate::run::state::RunState;
use crate::run::Run;
use crate::store::{url_scheme, Location, Store};

/// One file of prediction rows.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its path or URL.
    pub url: String,
    /// The job it belongs to (index into the jobs), `None` for `--predictions`.
    pub job: Option<usize>,
    /// 0 for the prepared shards' jobs and `--predictions`, N for retry round N.
    pub round: u32,
}

/// True for a file name Vertex gives prediction rows: `predictions*.jsonl`.
pub fn is_predictions_name(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    file.starts_with("predictions") && file.ends_with(".jsonl")
}

/// The retry round of a shard name: `retry-N/…` is N, anything else 0.
pub fn round_of(shard: &str) -> u32 {
    shard
        .strip_prefix("retry-")
        .and_then(|r| r.split_once('/'))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or(0)
}

/// Requests per shard name: the manifest's shards, and each retry round's manifest.
fn shard_requests(run: &Run, facts: &RunFacts, shard: &str) -> Result<u64> {
    if let Some(s) = facts.manifest.shards.iter().find(|s| s.name == shard) {
        return Ok(s.requests.unwrap_or(0));
    }
    let round = round_of(shard);
    if round == 0 {
        return Ok(0);
    }
    let Some(bytes) = run.read(&format!("retry-{round}/manifest.json"))? else {
        return Ok(0);
    };
    let m: super::write::RetryManifest =
        serde_json::from_slice(&bytes).map_err(|e| Error::BadData {
            path: run.describe(&format!("retry-{round}/manifest.json")).into(),
            message: e.to_string(),
        })?;
    Ok(m.shards
        .iter()
        .find(|s| s.name == shard)
        .and_then(|s| s.requests)
        .unwrap_or(0))
}

/// The jobs of the run, and every prediction file to read, jobs' first (by round, then shard),
/// then `--predictions` in the order given.
pub(super) fn find(
    run: &Run,
    facts: &RunFacts,
    state: Option<&RunState>,
    predictions: &[String],
    remote: &RemoteOptions,
) -> Result<(Vec<Source>, Vec<JobFacts>)> {
    let mut jobs: Vec<JobFacts> = Vec::new();
    if let Some(state) = state {
        for (shard, rec) in &state.jobs {
            jobs.push(JobFacts {
                shard: shard.clone(),
                name: rec.name.clone(),
                state: rec.state.clone(),
                ended: rec.is_terminal(),
                round: round_of(shard),
                requests: shard_requests(run, facts, shard)?,
                output_directory: rec.output_directory.clone(),
                error: rec
                    .error
                    .as_ref()
                    .and_then(|e| serde_json::to_value(e).ok()),
            });
        }
    }
    jobs.sort_by(|a, b| (a.round, &a.shard).cmp(&(b.round, &b.shard)));
    let mut sources = Vec::new();
    for (j, job) in jobs.iter().enumerate() {
        let Some(dir) = &job.output_directory else {
            continue;
        };
        for url in list_predictions(dir, remote)? {
            sources.push(Source {
                url,
                job: Some(j),
                round: job.round,
            });
        }
    }
    for p in predictions {
        let found = if url_scheme(p).is_some_and(|s| s != "file") {
            if crate::input::remote::is_pattern(p) {
                expand_inputs(&[p.as_str().into()], remote)?
                    .into_iter()
                    .map(|u| u.to_string())
                    .filter(|u| p.contains(['*', '?']) || is_predictions_name(u))
                    .collect()
            } else {
                vec![p.clone()]
            }
        } else {
            let path = match Location::parse(p)? {
                Location::Local(path) => path,
                _ => unreachable!("invariant: a name without a URL scheme is local"),
            };
            local_predictions(&path)?
        };
        if found.is_empty() {
            return Err(Error::Usage(format!(
                "--predictions {p}: no predictions*.jsonl there"
            )));
        }
        for url in found {
            sources.push(Source {
                url,
                job: None,
                round: 0,
            });
        }
    }
    Ok((sources, jobs))
}

/// The `predictions*.jsonl` files under an output folder, at any depth, sorted.
fn list_predictions(dir: &str, remote: &RemoteOptions) -> Result<Vec<String>> {
    let location = Location::parse(dir)?;
    if let Location::Local(path) = &location {
        return local_predictions(path);
    }
    let store = Store::open(&location, &remote.cloud)?;
    Ok(store
        .list_all("")?
        .into_iter()
        .filter(|n| !n.ends_with('/') && is_predictions_name(n))
        .map(|n| store.describe(&n))
        .collect())
}

/// A local file (whatever its name), or the `predictions*.jsonl` files under a local folder.
fn local_predictions(path: &Path) -> Result<Vec<String>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_file() {
        return Ok(vec![path.to_string_lossy().into_owned()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let p = entry.path();
            let ft = entry.file_type().map_err(|e| Error::io(&p, e))?;
            if ft.is_dir() {
                stack.push(p);
            } else if is_predictions_name(&entry.file_name().to_string_lossy()) {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_rounds() {
        assert!(is_predictions_name("a/b/predictions.jsonl"));
        assert!(is_predictions_name(
            "x/incremental_predictions/predictions_00001.jsonl"
        ));
        assert!(!is_predictions_name("a/predictions.jsonl.tmp"));
        assert!(!is_predictions_name("a/errors.jsonl"));
        assert_eq!(round_of("shards/shard-00000.jsonl"), 0);
        assert_eq!(round_of("retry-12/shard-00003.jsonl"), 12);
        assert_eq!(round_of("retry-x/shard-00003.jsonl"), 0);
    }
}
