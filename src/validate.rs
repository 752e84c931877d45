//! `validate`: read every input, check every line in parallel, fold the whole-job statistics per
//! file, and report findings in input order.
//!
//! The result is identical whatever the thread count or chunk size (chunks are merged in order;
//! only the first `max_kept` findings are kept, but every finding is counted). The per-file work
//! is [`crate::scan`]'s.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::request::diag::{Diagnostic, Scope, Severity};
use crate::request::schema;

use crate::scan::validate_bytes;
pub use crate::scan::{FileReport, Progress, ValidateOptions};

/// The result of [`validate`].
#[derive(Debug, Clone, Serialize)]
pub struct ValidateReport {
    /// Per input file, in the order given.
    pub files: Vec<FileReport>,
    /// The first `max_kept` findings in input order (file, line, column).
    pub diagnostics: Vec<Diagnostic>,
    /// Whether `diagnostics` was cut.
    pub truncated: bool,
    /// The model whose limits applied.
    pub model: String,
    /// The schema revision checked against.
    pub schema_revision: String,
}

impl ValidateReport {
    /// Total findings of `severity`.
    pub fn count(&self, severity: Severity) -> u64 {
        self.files
            .iter()
            .map(|f| match severity {
                Severity::Error => f.errors,
                Severity::Warning => f.warnings,
            })
            .sum()
    }
    /// Totals over all files.
    pub fn totals(&self) -> FileReport {
        let mut t = FileReport {
            file: "(total)".into(),
            ..Default::default()
        };
        for f in &self.files {
            t.bytes += f.bytes;
            t.lines += f.lines;
            t.blank_lines += f.blank_lines;
            t.requests += f.requests;
            t.valid += f.valid;
            t.invalid += f.invalid;
            t.errors += f.errors;
            t.warnings += f.warnings;
            t.job_errors += f.job_errors;
            t.max_line_bytes = t.max_line_bytes.max(f.max_line_bytes);
            for (c, n) in &f.by_code {
                *t.by_code.entry(*c).or_default() += n;
            }
            for (k, n) in &f.extra_members {
                *t.extra_members.entry(k.clone()).or_default() += n;
            }
        }
        t
    }
}

/// Validates every line of every input. I/O problems are `Err`; findings are in the report.
pub fn validate(opts: &ValidateOptions) -> Result<ValidateReport> {
    if opts.inputs.is_empty() {
        return Err(Error::Usage("no input files given".into()));
    }
    let limits = opts.request_limits()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::Usage(format!("cannot start {} threads: {e}", opts.threads)))?;
    let mut files = Vec::with_capacity(opts.inputs.len());
    let mut diagnostics = Vec::new();
    let mut truncated = false;
    for name in &opts.inputs {
        let data = crate::input::open_name(name, opts.mmap, &opts.remote)?;
        let (report, mut diags) = pool.install(|| validate_bytes(name, &data, opts, limits));
        files.push(report);
        diagnostics.append(&mut diags);
        if opts.max_kept > 0 && diagnostics.len() > opts.max_kept {
            // Keep the first `max_kept` in order, plus every whole-job finding (a few per file at
            // most, and the ones that matter most).
            let mut n = 0;
            diagnostics.retain(|d| {
                n += 1;
                n <= opts.max_kept || d.scope == Scope::Job
            });
            truncated = true;
        }
    }
    let counted: u64 = files.iter().map(|f| f.errors + f.warnings).sum();
    truncated |= (diagnostics.len() as u64) < counted;
    Ok(ValidateReport {
        files,
        diagnostics,
        truncated,
        model: opts.model.clone(),
        schema_revision: schema::SOURCE.revision.to_string(),
    })
}
