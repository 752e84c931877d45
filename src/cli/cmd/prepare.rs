//! `batchline prepare FILE… -o RUN` and `batchline stats FILE…`.

use std::sync::Arc;

use serde::Serialize;

use super::{chunk_config, mmap_choice};
use crate::cli::args::{CloudArgs, Format, InputArgs, OrderArg, PlanArgs, PrepareArgs, StatsArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::{thousands, Printer};
use crate::cli::size::parse_size;
use crate::error::{Error, Result};
use crate::models::ModelTable;
use crate::plan::order::Order;
use crate::plan::shard::ShardLimits;
use crate::plan::tokens::TokensMode;
use crate::prepare::{prepare, stats, FamilyReport, JoinKey, PrepareOptions, PrepareReport};
use crate::request::diag::{Scope, Severity};
use crate::store::Location;
use crate::validate::ValidateOptions;

/// The options the flags ask for, and warnings about them (printed by [`warn`]).
fn options(input: &InputArgs, plan: &PlanArgs) -> Result<(PrepareOptions, Vec<String>)> {
    let mut warnings = Vec::new();
    let models = match &plan.pricing {
        Some(p) => ModelTable::load(p)?,
        None => ModelTable::builtin(),
    };
    let max_bytes = parse_size(&plan.max_bytes).ok_or_else(|| {
        Error::Usage(format!(
            "cannot read --max-bytes `{}`: use e.g. 1GB",
            plan.max_bytes
        ))
    })?;
    if plan.max_requests == 0 || max_bytes == 0 {
        return Err(Error::Usage(
            "--max-requests and --max-bytes must be above 0".into(),
        ));
    }
    // Larger shards are allowed (the limits may rise before the table does), but not silently.
    let lim = &models.limits;
    if plan.max_requests > lim.max_requests_per_file {
        warnings.push(format!(
            "--max-requests {} is above the {} requests one batch job takes (model table): Vertex may refuse such shards",
            thousands(plan.max_requests),
            thousands(lim.max_requests_per_file)
        ));
    }
    if max_bytes > lim.max_bytes_per_file {
        warnings.push(format!(
            "--max-bytes {} is above the {} bytes one batch job's input file may have (model table): Vertex may refuse such shards",
            thousands(max_bytes),
            thousands(lim.max_bytes_per_file)
        ));
    }
    let sim_ttl = match plan.sim_ttl.as_str() {
        "inf" | "infinite" | "none" => None,
        s => Some(s.parse::<u64>().map_err(|_| {
            Error::Usage(format!(
                "cannot read --sim-ttl `{s}`: a number of rounds or `inf`"
            ))
        })?),
    };
    if plan.no_key && plan.key_field != "batchline_key" {
        return Err(Error::Usage(
            "--no-key and --key-field exclude each other".into(),
        ));
    }
    let key_ok = !plan.key_field.is_empty()
        && plan.key_field.as_bytes()[0].is_ascii_alphabetic()
        && plan
            .key_field
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    // Column names ignore case at import: `REQUEST` beside `request` is one column twice.
    if !key_ok || plan.key_field.eq_ignore_ascii_case("request") {
        return Err(Error::Usage(format!(
            "--key-field `{}` must be a plain column name (letters, digits, `_`, starting with a letter) other than `request` in any letter case (the import's column names ignore case)",
            plan.key_field
        )));
    }
    let (inputs, threads) = super::inputs_and_threads(input)?;
    let opts = PrepareOptions {
        validate: ValidateOptions {
            inputs,
            model: plan.model.clone(),
            models,
            mmap: mmap_choice(input),
            threads,
            chunk: chunk_config(input),
            max_kept: 1000,
            progress: None,
            remote: Default::default(),
        },
        order: match plan.order {
            OrderArg::Input => Order::Input,
            OrderArg::Prefix => Order::Prefix,
            OrderArg::Primed => Order::Primed,
        },
        prime_gaps: plan.prime_gaps.clone(),
        keep_duplicates: plan.keep_duplicates,
        limits: ShardLimits {
            max_requests: plan.max_requests,
            max_bytes,
        },
        join_key: if plan.no_key {
            JoinKey::None
        } else {
            JoinKey::Member(plan.key_field.clone())
        },
        sim_workers: plan.sim_workers.max(1),
        sim_ttl,
        tokens: match &plan.tokens {
            None => None,
            Some(t) => Some(t.parse::<TokensMode>().map_err(|_| {
                Error::Usage(format!(
                    "cannot read --tokens `{t}`: use exact, sample or off"
                ))
            })?),
        },
        tokenizer_model: plan.tokenizer_model.clone(),
        sample_rate: if (0.0..=1.0).contains(&plan.sample_rate) && plan.sample_rate > 0.0 {
            plan.sample_rate
        } else {
            return Err(Error::Usage("--sample-rate must be in (0, 1]".into()));
        },
        ..PrepareOptions::default()
    };
    Ok((opts, warnings))
}

/// Runs `prepare`.
pub fn prepare_command(args: PrepareArgs) -> Result<ExitStatus> {
    let (mut opts, warnings) = options(&args.input, &args.plan)?;
    warn(&args.plan, &warnings)?;
    opts.run = super::location_arg(&args.output)?;
    opts.cloud = super::cloud_config(&args.cloud)?;
    remote_inputs(&mut opts, &args.input, &args.cloud, args.plan.quiet)?;
    opts.strict = args.strict;
    let bar = attach_progress(&mut opts, args.plan.quiet);
    let report = prepare(&opts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print(&args.plan, &report?, Some(&opts.run))
}

/// Prints the warnings about the options before the work starts, in the chosen format.
fn warn(plan: &PlanArgs, warnings: &[String]) -> Result<()> {
    let mut p = Printer::new(plan.format, plan.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    for w in warnings {
        p.warning(w).map_err(io)?;
    }
    p.flush().map_err(io)
}

/// A progress bar (on a terminal, for large inputs): bytes scanned, the planning stage, then
/// the shard bytes written (or uploaded).
fn attach_progress(opts: &mut PrepareOptions, quiet: bool) -> Option<indicatif::ProgressBar> {
    let bar = crate::cli::output::input_bar(&opts.validate.inputs, quiet, "scanning")?;
    let (b1, b2) = (bar.clone(), bar.clone());
    opts.validate.progress = Some(Arc::new(move |n| b1.inc(n)));
    opts.stage = Some(Arc::new(move |stage, total| {
        b2.set_message(stage.to_string());
        if total > 0 {
            // Writing counts the shards' bytes (sent to the store, for a remote run) on the
            // same bar: rate and ETA restart with it.
            b2.set_length(total);
            b2.reset();
        }
    }));
    Some(bar)
}

/// The storage settings and spill folder for remote inputs, and the inputs with their patterns
/// expanded to objects (in lexical order).
fn remote_inputs(
    opts: &mut PrepareOptions,
    input: &InputArgs,
    cloud: &CloudArgs,
    quiet: bool,
) -> Result<()> {
    opts.validate.remote = super::remote_options(input, cloud, quiet)?;
    opts.validate.inputs =
        crate::input::expand_inputs(&opts.validate.inputs, &opts.validate.remote)?;
    Ok(())
}

/// Runs `stats`.
pub fn stats_command(args: StatsArgs) -> Result<ExitStatus> {
    let (mut opts, warnings) = options(&args.input, &args.plan)?;
    warn(&args.plan, &warnings)?;
    remote_inputs(&mut opts, &args.input, &args.cloud, args.plan.quiet)?;
    let bar = attach_progress(&mut opts, args.plan.quiet);
    let report = stats(&opts);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    print(&args.plan, &report?, None)
}

fn print(plan: &PlanArgs, r: &PrepareReport, run: Option<&Location>) -> Result<ExitStatus> {
    let mut p = Printer::new(plan.format, plan.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    // Show whole-job findings and errors; row warnings are counted in the summary.
    for d in r
        .diagnostics
        .iter()
        .filter(|d| d.scope == Scope::Job || d.severity == Severity::Error)
        .take(50)
    {
        p.diagnostic(d).map_err(io)?;
    }
    match plan.format {
        Format::Json => {
            #[derive(Serialize)]
            struct Out<'a> {
                #[serde(rename = "type")]
                kind: &'static str,
                run: Option<String>,
                #[serde(flatten)]
                report: &'a PrepareReport,
            }
            p.json_line(&Out {
                kind: "summary",
                run: run.map(|r| r.to_string()),
                report: r,
            })
            .map_err(io)?;
        }
        Format::Human => human(&mut p, r, run).map_err(io)?,
        Format::Github => {}
    }
    p.flush().map_err(io)?;
    Ok(if r.shard_job_errors > 0 {
        ExitStatus::InputErrors
    } else {
        ExitStatus::Ok
    })
}

/// `$12.34`, or four decimals below a dollar so small runs do not read as free.
fn dollars(x: f64) -> String {
    if x < 1.0 {
        format!("${x:.4}")
    } else {
        format!("${x:.2}")
    }
}

/// What a family earns, or how far it is from earning anything. A prefix within a quarter of the
/// minimum says how many tokens it lacks: a shared instruction can often be lengthened to cross it.
fn family_verdict(f: &FamilyReport, min_cache_tokens: u64) -> String {
    if f.cacheable {
        if f.cached_tokens == 0 {
            // The model has no implicit cache in batch (the figures say why).
            return String::new();
        }
        return format!(
            ": up to {} tokens cached, saving {}",
            thousands(f.cached_tokens),
            dollars(f.saving_usd)
        );
    }
    let short = min_cache_tokens.saturating_sub(f.prefix_tokens);
    if short * 4 <= min_cache_tokens {
        format!(
            " — {} tokens short of the cache minimum ({} of {})",
            thousands(short),
            thousands(f.prefix_tokens),
            thousands(min_cache_tokens)
        )
    } else {
        " — below the cache minimum".to_string()
    }
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn human(p: &mut Printer, r: &PrepareReport, run: Option<&Location>) -> std::io::Result<()> {
    let c = &r.counts;
    if r.already_done {
        p.human_line(&format!(
            "{}: already prepared from these inputs with these options; nothing to do",
            run.map(|r| r.to_string()).unwrap_or_default()
        ))?;
    }
    p.human_line(&format!(
        "{} lines: {} valid, {} invalid (not sent), {} blank; {} unique requests, {} duplicates ({} bytes not sent again)",
        thousands(c.lines),
        thousands(c.valid),
        thousands(c.invalid),
        thousands(c.blank),
        thousands(c.unique),
        thousands(c.duplicates),
        thousands(r.duplicate_bytes)
    ))?;
    if r.sampling_duplicates > 0 {
        p.human_line(&format!(
            "warning: {} duplicates repeat a request that samples (temperature > 0 or unset, or candidateCount > 1); deduplication collapsed that repeated sampling — use --keep-duplicates to send every copy",
            thousands(r.sampling_duplicates)
        ))?;
    }
    let t = &r.tokens;
    if let Some(note) = &t.note {
        p.human_line(&format!("note: {note}"))?;
    }
    if let Some(sample) = &t.sample {
        p.human_line(&format!(
            "tokens sampled: {} of {} text bytes tokenised ({:.1}% of distinct blocks), {:.3} tokens/byte",
            thousands(sample.sampled_bytes),
            thousands(sample.sampled_bytes + sample.unsampled_bytes),
            sample.rate * 100.0,
            sample.tokens_per_byte
        ))?;
    }
    p.human_line(&format!(
        "prompt tokens ({}{}): {} unique ({} with duplicates); per request min {} · p50 {} · p90 {} · p99 {} · max {}",
        t.counter,
        if t.exact || t.counter.contains("estimate") {
            ""
        } else {
            ", estimate"
        },
        thousands(t.prompt_tokens),
        thousands(t.prompt_tokens_with_duplicates),
        t.per_request[0],
        t.per_request[1],
        t.per_request[2],
        t.per_request[3],
        t.per_request[4]
    ))?;
    if !r.families.is_empty() {
        p.human_line(&format!(
            "largest shared prefixes, by tokens they can have cached (cache minimum {} tokens):",
            thousands(r.min_cache_tokens)
        ))?;
        for f in r.families.iter().take(5) {
            p.human_line(&format!(
                "  {} tokens × {} requests{} (e.g. {})",
                thousands(f.prefix_tokens),
                thousands(f.requests),
                family_verdict(f, r.min_cache_tokens),
                f.example
            ))?;
        }
    }
    let sims: Vec<String> = r
        .simulation
        .iter()
        .map(|s| {
            format!(
                "{:?} {} ({} of bound)",
                s.order,
                pct(s.cached_share),
                pct(s.of_bound)
            )
            .to_lowercase()
        })
        .collect();
    p.human_line(&format!(
        "predicted cached prompt tokens (a model, not a measurement; collect reports the real rate): {}",
        sims.join(" · ")
    ))?;
    let cost = &r.cost;
    p.human_line(&format!(
        "estimated input cost for {}: {} online without dedup → {} batch → {} batch with predicted cache hits",
        cost.model,
        dollars(cost.online_no_dedup),
        dollars(cost.batch),
        dollars(cost.batch_with_cache)
    ))?;
    let shard_bytes: u64 = r.shards.iter().map(|s| s.bytes).sum();
    p.human_line(&format!(
        "{} shard(s), {} bytes, order {:?}{}",
        r.shards.len(),
        thousands(shard_bytes),
        r.order,
        match run {
            Some(run) => format!(" → {run}"),
            None => String::new(),
        }
    ))?;
    if r.shard_job_errors > 0 {
        p.human_line(&format!(
            "error: {} whole-job problem(s) in shards: those jobs would fail at import (listed in {}; `batchline validate` on the inputs shows them too)",
            r.shard_job_errors,
            run.map_or("the report".to_string(), |d| d.join("report.json").to_string())
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(prefix_tokens: u64, cacheable: bool, cached_tokens: u64) -> FamilyReport {
        FamilyReport {
            prefix_tokens,
            requests: 9,
            cacheable,
            cached_tokens,
            saving_usd: cached_tokens as f64 * 0.12e-6,
            example: "a.jsonl:1".into(),
        }
    }

    #[test]
    fn a_family_says_what_it_saves_or_how_far_it_is_from_the_minimum() {
        assert_eq!(
            family_verdict(&family(2462, true, 19_696), 2048),
            ": up to 19,696 tokens cached, saving $0.0024"
        );
        // Cacheable by size, but the model has no implicit cache in batch: nothing claimed.
        assert_eq!(family_verdict(&family(2462, true, 0), 2048), "");
        // Within a quarter of the minimum (512 of 2,048 tokens): how many tokens it lacks.
        assert_eq!(
            family_verdict(&family(1990, false, 0), 2048),
            " — 58 tokens short of the cache minimum (1,990 of 2,048)"
        );
        assert_eq!(
            family_verdict(&family(1536, false, 0), 2048),
            " — 512 tokens short of the cache minimum (1,536 of 2,048)"
        );
        assert_eq!(
            family_verdict(&family(1535, false, 0), 2048),
            " — below the cache minimum"
        );
    }
}
