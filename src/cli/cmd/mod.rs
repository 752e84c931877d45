//! One module per command.

pub mod cancel;
pub mod collect;
pub mod completions;
pub mod emulator;
pub mod fetch_tokenizer;
pub mod gen_corpus;
pub mod gen_predictions;
pub mod prepare;
pub mod progress;
pub mod run;
pub mod status;
pub mod submit;
pub mod submit_resume;
pub mod submit_source;
pub mod submit_to;
pub mod upload;
pub mod validate;
pub mod wait;

use super::args::{CloudArgs, InputArgs};
use crate::error::{Error, Result};
use crate::input::{ChunkConfig, InputName, MmapChoice};
use crate::store::{CloudConfig, Location, Secret, PART_UNIT};

/// Most worker threads `-j` takes: far above any core count, far below what stalls the machine.
const MAX_THREADS: usize = 1024;

/// The inputs and thread count the flags ask for, checked: stdin at most once (a second `-`
/// would read nothing), and `-j` at most [`MAX_THREADS`].
pub(crate) fn inputs_and_threads(a: &InputArgs) -> Result<(Vec<InputName>, usize)> {
    if a.inputs.iter().filter(|n| *n == "-").count() > 1 {
        return Err(Error::Usage(
            "`-` (stdin) is given more than once; stdin can be read only once".into(),
        ));
    }
    if a.threads > MAX_THREADS {
        return Err(Error::Usage(format!(
            "-j {}: at most {MAX_THREADS} threads (0 uses every core)",
            a.threads
        )));
    }
    Ok((
        a.inputs.iter().cloned().map(InputName::from).collect(),
        a.threads,
    ))
}

/// The mmap choice the flags ask for.
pub(crate) fn mmap_choice(a: &InputArgs) -> MmapChoice {
    if a.mmap {
        MmapChoice::Always
    } else if a.no_mmap {
        MmapChoice::Never
    } else {
        MmapChoice::Auto
    }
}

/// The chunking the flags ask for.
pub(crate) fn chunk_config(a: &InputArgs) -> ChunkConfig {
    match a.chunk_bytes {
        Some(n) => ChunkConfig {
            target_bytes: n.max(1),
        },
        None => ChunkConfig::default(),
    }
}

/// A run or input location from the command line: a URL when it is UTF-8 and has a scheme, else
/// a local path as the bytes given (a folder name need not be UTF-8).
pub(crate) fn location_arg(arg: &std::ffi::OsStr) -> Result<Location> {
    match arg.to_str() {
        Some(s) => Location::parse(s),
        None => Ok(Location::local(arg)),
    }
}

/// The storage settings the flags (and their environment variables) ask for.
pub(crate) fn cloud_config(a: &CloudArgs) -> Result<CloudConfig> {
    let part = crate::cli::size::parse_size(&a.part_size).ok_or_else(|| {
        Error::Usage(format!(
            "cannot read --part-size `{}`: use e.g. 16MiB or 64MiB",
            a.part_size
        ))
    })?;
    if part < PART_UNIT || part % PART_UNIT != 0 {
        return Err(Error::Usage(format!(
            "--part-size {}: a multiple of 16 MiB (16777216 bytes) is needed, the checksum block",
            a.part_size
        )));
    }
    if a.parts_in_flight == 0 {
        return Err(Error::Usage("--parts-in-flight must be at least 1".into()));
    }
    let defaults = CloudConfig::default();
    Ok(CloudConfig {
        gcs_endpoint: a.gcs_endpoint.clone().filter(|s| !s.is_empty()),
        s3_endpoint: a.s3_endpoint.clone().filter(|s| !s.is_empty()),
        access_token: a
            .access_token
            .clone()
            .filter(|s| !s.is_empty())
            .map(Secret::new),
        retry: crate::store::RetryConfig {
            max_retries: a.retries,
            retry_timeout: std::time::Duration::from_secs(a.retry_timeout),
            ..defaults.retry
        },
        part_size: part,
        parts_in_flight: a.parts_in_flight,
    })
}

/// How remote inputs are reached (the storage flags), where they are spilled, and a download
/// progress bar (on a terminal, unless `quiet`).
pub(crate) fn remote_options(
    input: &InputArgs,
    cloud: &CloudArgs,
    quiet: bool,
) -> Result<crate::input::RemoteOptions> {
    Ok(crate::input::RemoteOptions {
        cloud: cloud_config(cloud)?,
        spill_dir: input.spill_dir.clone(),
        progress: if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            None
        } else {
            Some(download_bar())
        },
    })
}

/// One bar per download: bytes, rate and ETA, cleared when it ends.
fn download_bar() -> crate::input::remote::DownloadProgress {
    use crate::input::remote::DownloadEvent;
    let bar: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);
    std::sync::Arc::new(move |event| {
        let mut bar = bar.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            DownloadEvent::Start { url, size } => {
                let b = indicatif::ProgressBar::new(size);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                    )
                    .expect("invariant: the template is valid")
                    .progress_chars("=> "),
                );
                b.set_message(format!("downloading {url}"));
                b.enable_steady_tick(std::time::Duration::from_millis(120));
                *bar = Some(b);
            }
            DownloadEvent::Advance(n) => {
                if let Some(b) = bar.as_ref() {
                    b.inc(n);
                }
            }
            DownloadEvent::Finish => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    })
}
