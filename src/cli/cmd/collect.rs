//! `batchline collect RUN`: the merged output and the collect report (see [`crate::collect`]).

use serde::Serialize;

use super::{cloud_config, location_arg};
use crate::cli::args::{CollectArgs, Format, ResponseForm};
use crate::cli::exit::ExitStatus;
use crate::cli::output::{thousands, Printer};
use crate::collect::{collect, CollectEvent, CollectOptions, CollectReport, Progress};
use crate::error::{Error, Result};
use crate::models::ModelTable;
use crate::store::Location;

/// Runs `collect`.
pub fn run(args: CollectArgs) -> Result<ExitStatus> {
    let cloud = cloud_config(&args.cloud)?;
    let given = location_arg(&args.run)?;
    let mut output = args.output.as_deref().map(Location::parse).transpose()?;
    // A local run that `submit --to` uploaded: its jobs (and retry rounds) live in the copy,
    // and the merged output lands in the local run unless -o says otherwise.
    let run = match super::submit_to::uploaded_copy(&given, &cloud)? {
        Some(copy) => {
            output = output.or_else(|| Some(given.join("results.jsonl")));
            copy
        }
        None => given,
    };
    let models = match &args.pricing {
        Some(p) => ModelTable::load(p)?,
        None => ModelTable::builtin(),
    };
    let opts = CollectOptions {
        run: run.clone(),
        cloud,
        output,
        predictions: args.predictions.clone(),
        include_request: args.include_request,
        text: args.response == ResponseForm::Text,
        retry_round: !args.no_retry_round,
        trust_keys: args.trust_keys,
        spill_dir: args.spill_dir.clone(),
        models,
        progress: None,
    };
    let bar = bar(args.quiet);
    let opts = CollectOptions {
        progress: bar.clone().map(|b| {
            Progress(std::sync::Arc::new(move |e| match e {
                CollectEvent::Stage(what, total) => {
                    b.set_message(what);
                    b.set_position(0);
                    b.set_length(total);
                    b.set_style(style(what == "rows"));
                }
                CollectEvent::Done(n) => b.inc(n),
            }))
        }),
        ..opts
    };
    let report = collect(&opts);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let report = report?;
    let mut p = Printer::new(args.format, args.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    match args.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(rename = "type")]
                kind: &'static str,
                run: String,
                #[serde(flatten)]
                report: &'a CollectReport,
            }
            p.json_line(&Out {
                kind: "summary",
                run: run.to_string(),
                report: &report,
            })
            .map_err(io)?;
        }
        Format::Human => {
            for line in human(&report) {
                p.human_line(&line).map_err(io)?;
            }
        }
        Format::Github => {
            for e in &report.rows.examples {
                p.human_line(&format!("::warning ::{e}")).map_err(io)?;
            }
        }
    }
    p.flush().map_err(io)?;
    Ok(exit_status(&report))
}

/// A bar on a terminal (bytes of rows, then output lines).
fn bar(quiet: bool) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let b = indicatif::ProgressBar::new(0);
    b.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(b)
}

fn style(bytes: bool) -> indicatif::ProgressStyle {
    let t = if bytes {
        "{spinner} {msg:8} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{spinner} {msg:8} [{bar:40}] {human_pos}/{human_len} lines eta {eta}"
    };
    indicatif::ProgressStyle::with_template(t)
        .expect("invariant: the template is valid")
        .progress_chars("=> ")
}

/// 0 when every sent line has a response, else 1.
pub fn exit_status(r: &CollectReport) -> ExitStatus {
    if r.lines.failed > 0 || r.lines.missing > 0 {
        ExitStatus::InputErrors
    } else {
        ExitStatus::Ok
    }
}

/// Dollars: cents for a dollar or more, three significant digits below, so small runs do not
/// read $0.00.
fn usd(x: f64) -> String {
    if x >= 1.0 || x <= 0.0 || !x.is_finite() {
        format!("${x:.2}")
    } else {
        let decimals = (2.0 - x.log10().floor()).clamp(2.0, 12.0) as usize;
        format!("${x:.decimals$}")
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The human summary: lines, per-job table, cache, cost, retry round.
fn human(r: &CollectReport) -> Vec<String> {
    let mut out = Vec::new();
    let l = &r.lines;
    out.push(format!(
        "{}: {} lines — {} succeeded, {} failed, {} missing, {} invalid (not sent)",
        r.output,
        thousands(l.lines),
        thousands(l.succeeded),
        thousands(l.failed),
        thousands(l.missing),
        thousands(l.invalid)
    ));
    let q = &r.requests;
    out.push(format!(
        "unique requests: {} — {} succeeded, {} failed ({} retryable, {} permanent), {} missing",
        thousands(q.requests),
        thousands(q.succeeded),
        thousands(q.failed),
        thousands(q.retryable),
        thousands(q.permanent),
        thousands(q.missing)
    ));
    for (reason, n) in &q.failed_by_reason {
        out.push(format!("  failed {reason}: {}", thousands(*n)));
    }
    let rows = &r.rows;
    out.push(format!(
        "rows: {} read from {} file(s) — {} by key, {} by request hash, {} superseded, {} unmatched, {} unreadable",
        thousands(rows.rows),
        rows.files,
        thousands(rows.by_key),
        thousands(rows.by_hash),
        thousands(rows.superseded),
        thousands(rows.unmatched),
        thousands(rows.unreadable)
    ));
    if rows.foreign_keys > 0 {
        out.push(format!(
            "  {} row(s) from --predictions carry a key of this run but echo another request (another run's keys): matched by request hash instead, where possible",
            thousands(rows.foreign_keys)
        ));
    }
    for e in &rows.examples {
        out.push(format!("  {e}"));
    }
    if !r.jobs.is_empty() {
        out.push(format!(
            "{:<28} {:<22} {:>9} {:>9} {:>7} {:>7} {:>7}",
            "shard", "state", "requests", "succeeded", "failed", "missing", "cached"
        ));
        for j in &r.jobs {
            out.push(format!(
                "{:<28} {:<22} {:>9} {:>9} {:>7} {:>7} {:>7}{}",
                j.shard,
                j.state.trim_start_matches("JOB_STATE_"),
                j.outcomes.requests,
                j.outcomes.succeeded,
                j.outcomes.failed,
                j.outcomes.missing,
                pct(j.cached_share),
                if j.failed { "  (every row failed)" } else { "" }
            ));
            if let Some(e) = &j.error {
                let msg = e
                    .get("message")
                    .and_then(|m| m.as_str())
                    .unwrap_or_default();
                out.push(format!("  {}: {msg}", j.shard));
            }
        }
    }
    let t = &r.tokens;
    out.push(format!(
        "tokens: prompt {}, cached {}, output {}, thinking {}, tool use {}",
        thousands(t.prompt),
        thousands(t.cached),
        thousands(t.candidates),
        thousands(t.thoughts),
        thousands(t.tool_use)
    ));
    out.push(format!(
        "cache: measured {} of prompt tokens; prepare predicted {} for the {} order",
        pct(r.cache.measured_share),
        r.cache
            .predicted_share
            .map(pct)
            .unwrap_or_else(|| "?".into()),
        r.cache.order.as_deref().unwrap_or("?")
    ));
    let buckets: Vec<String> = r
        .cache
        .by_distance
        .iter()
        .filter(|b| b.requests > 0)
        .map(|b| {
            let range = match b.to {
                Some(t) if t == b.from => format!("{t}"),
                Some(t) => format!("{}–{t}", b.from),
                None => format!("{}+", b.from),
            };
            format!("{range}: {} of {}", pct(b.cached_share), b.requests)
        })
        .collect();
    if !buckets.is_empty() {
        out.push(format!(
            "cache by requests sent after the family's first: {}",
            buckets.join(", ")
        ));
    }
    if let Some(c) = &r.cost {
        out.push(format!(
            "cost ({}, prices of {}): {} batch with cache, {} without cache, {} online without dedup",
            c.model,
            c.prices_as_of,
            usd(c.batch_with_cache),
            usd(c.batch_no_cache),
            usd(c.online_no_dedup)
        ));
    }
    if let Some(e) = r.tokenizer.error {
        out.push(format!(
            "token counter ({}): {:+.2}% against Vertex's promptTokenCount",
            r.tokenizer.counter.as_deref().unwrap_or("?"),
            e * 100.0
        ));
    }
    match &r.retry {
        Some(rt) => out.push(format!(
            "retry round {}: {} request(s) in {} shard(s){}; send them with `batchline submit --retry`",
            rt.round,
            thousands(rt.requests),
            rt.shards.len(),
            if rt.written { "" } else { " (already written)" }
        )),
        None if !r.all_jobs_ended => {
            out.push("some jobs have not ended: no retry round written yet".into())
        }
        None => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::usd;

    #[test]
    fn dollars_keep_three_significant_digits_below_one() {
        assert_eq!(usd(0.0), "$0.00");
        assert_eq!(usd(12.3456), "$12.35");
        assert_eq!(usd(0.5), "$0.500");
        assert_eq!(usd(0.0123), "$0.0123");
        assert_eq!(usd(4.5e-7), "$0.000000450");
    }
}
