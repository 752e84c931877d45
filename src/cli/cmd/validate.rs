//! `batchline validate FILE…`

use std::sync::Arc;

use serde::Serialize;

use super::{chunk_config, mmap_choice};
use crate::cli::args::{Format, ValidateArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::{thousands, Printer};
use crate::error::{Error, Result};
use crate::models::ModelTable;
use crate::request::diag::Severity;
use crate::validate::{validate, FileReport, ValidateOptions};

/// Runs `validate`.
pub fn run(args: ValidateArgs) -> Result<ExitStatus> {
    let models = match &args.pricing {
        Some(p) => ModelTable::load(p)?,
        None => ModelTable::builtin(),
    };
    let (inputs, threads) = super::inputs_and_threads(&args.input)?;
    let mut opts = ValidateOptions {
        inputs,
        model: args.model.clone(),
        models,
        mmap: mmap_choice(&args.input),
        threads,
        chunk: chunk_config(&args.input),
        max_kept: args.max_errors,
        progress: None,
        remote: super::remote_options(&args.input, &args.cloud, args.quiet)?,
    };
    opts.inputs = crate::input::expand_inputs(&opts.inputs, &opts.remote)?;
    let bar = crate::cli::output::input_bar(&opts.inputs, args.quiet, "validating");
    if let Some(bar) = &bar {
        let bar = bar.clone();
        opts.progress = Some(Arc::new(move |n| bar.inc(n)));
    }
    let report = validate(&opts)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut p = Printer::new(args.format, args.quiet);
    let io = |e: std::io::Error| Error::io("<stdout>", e);
    for d in &report.diagnostics {
        p.diagnostic(d).map_err(io)?;
    }
    let totals = report.totals();
    match args.format {
        Format::Human => {
            if report.truncated && !args.quiet {
                p.human_line(&format!(
                    "… {} more findings not shown (--max-errors {}; 0 shows all)",
                    thousands(totals.errors + totals.warnings - report.diagnostics.len() as u64),
                    args.max_errors
                ))
                .map_err(io)?;
            }
            for f in &report.files {
                human_summary(&mut p, f, args.deny_warnings).map_err(io)?;
            }
            if report.files.len() > 1 {
                human_summary(&mut p, &totals, args.deny_warnings).map_err(io)?;
            }
        }
        Format::Json => {
            #[derive(Serialize)]
            struct Summary<'a> {
                #[serde(rename = "type")]
                kind: &'static str,
                ok: bool,
                model: &'a str,
                schema_revision: &'a str,
                truncated: bool,
                files: &'a [FileReport],
                total: &'a FileReport,
            }
            p.json_line(&Summary {
                kind: "summary",
                ok: totals.errors == 0,
                model: &report.model,
                schema_revision: &report.schema_revision,
                truncated: report.truncated,
                files: &report.files,
                total: &totals,
            })
            .map_err(io)?;
        }
        Format::Github => {}
    }
    p.flush().map_err(io)?;
    let failed = report.count(Severity::Error) > 0
        || (args.deny_warnings && report.count(Severity::Warning) > 0);
    Ok(if failed {
        ExitStatus::InputErrors
    } else {
        ExitStatus::Ok
    })
}

fn human_summary(p: &mut Printer, f: &FileReport, deny_warnings: bool) -> std::io::Result<()> {
    let verdict = if f.errors == 0 && deny_warnings && f.warnings > 0 {
        p.red("warnings (denied by --deny-warnings)")
    } else if f.errors == 0 {
        p.green("ok")
    } else if f.job_errors > 0 {
        p.red("the whole job would fail")
    } else {
        p.red("invalid lines")
    };
    p.human_line(&format!(
        "{}: {verdict} — {} lines, {} requests, {} valid, {} invalid, {} blank; {} errors ({} whole-job), {} warnings",
        p.bold(&f.file),
        thousands(f.lines),
        thousands(f.requests),
        thousands(f.valid),
        thousands(f.invalid),
        thousands(f.blank_lines),
        thousands(f.errors),
        thousands(f.job_errors),
        thousands(f.warnings),
    ))?;
    if !f.by_code.is_empty() {
        let codes: Vec<String> = f
            .by_code
            .iter()
            .map(|(c, n)| format!("{c} {}", thousands(*n)))
            .collect();
        p.human_line(&format!("  by code: {}", codes.join(", ")))?;
    }
    if !f.extra_members.is_empty() {
        let extra: Vec<String> = f
            .extra_members
            .iter()
            .map(|(k, n)| format!("{k} ({})", thousands(*n)))
            .collect();
        p.human_line(&format!(
            "  top-level members beside `request` (Vertex copies them to the output): {}",
            extra.join(", ")
        ))?;
    }
    Ok(())
}
