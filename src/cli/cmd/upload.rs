//! `batchline upload RUN gs://…`: publishes a finished local run (see [`crate::run::upload`]).

use std::io::IsTerminal;
use std::sync::Arc;

use serde::Serialize;

use super::{cloud_config, location_arg};
use crate::cli::args::{Format, UploadArgs};
use crate::cli::exit::ExitStatus;
use crate::cli::output::{thousands, Printer};
use crate::error::{Error, Result};
use crate::run::upload::{upload, Progress, UploadReport};
use crate::run::Run;
use crate::store::Location;

/// Runs `upload`.
pub fn run(args: UploadArgs) -> Result<ExitStatus> {
    let cloud = cloud_config(&args.cloud)?;
    let src_location = location_arg(&args.run)?;
    if src_location.as_local().is_none() {
        return Err(Error::Usage(format!(
            "{src_location}: upload publishes a local run; give the folder prepare wrote"
        )));
    }
    let dest_location = Location::parse(&args.dest)?;
    if dest_location.as_local().is_some() || matches!(dest_location, Location::Http(_)) {
        return Err(Error::Usage(format!(
            "{}: the destination must be an object store (gs://bucket/prefix or s3://…); to copy a run folder locally, use cp -r",
            args.dest
        )));
    }
    let src = Run::open(&src_location, &cloud)?;
    let dest = Run::open(&dest_location, &cloud)?;
    let bar = progress(&src, args.quiet);
    let report = upload(
        &src,
        &dest,
        bar.clone().map(|b| Arc::new(move |n| b.inc(n)) as Progress),
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = report?;
    let mut p = Printer::new(args.format, args.quiet);
    print_upload(&mut p, "summary", &src_location, &dest_location, &report)
        .and_then(|()| p.flush())
        .map_err(|e| Error::io("<stdout>", e))?;
    Ok(ExitStatus::Ok)
}

/// What an upload did, in one line: `{"type": kind, "run", "dest", …report}` in JSON, a sentence
/// otherwise (`upload`'s summary, and `submit --to`'s first line).
pub(crate) fn print_upload(
    p: &mut Printer,
    kind: &'static str,
    src: &Location,
    dest: &Location,
    report: &UploadReport,
) -> std::io::Result<()> {
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        run: String,
        dest: String,
        #[serde(flatten)]
        report: &'a UploadReport,
    }
    match p.format {
        Format::Json => p.json_line(&Out {
            kind,
            run: src.to_string(),
            dest: dest.to_string(),
            report,
        }),
        Format::Human if report.already_done => p.human_line(&format!(
            "{dest}: already a complete copy of {src}; nothing to do"
        )),
        Format::Human => p.human_line(&format!(
            "{src} → {dest}: {} file(s) uploaded ({} bytes), {} already there",
            report.uploaded,
            thousands(report.bytes_sent),
            report.skipped
        )),
        Format::Github => Ok(()),
    }
}

/// A bar of bytes sent, on a terminal.
pub(crate) fn progress(src: &Run, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let m = src.manifest().ok()??;
    let total: u64 = m.shards.iter().chain(&m.files).map(|f| f.bytes).sum();
    Some(crate::cli::output::byte_bar(total, "uploading"))
}
