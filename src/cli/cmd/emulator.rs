//! `batchline emulator`: checks the flags, binds 127.0.0.1, prints the URL as the first stdout
//! line, and serves until killed.

use std::io::Write as _;
use std::time::Duration;

use crate::cli::args::EmulatorArgs;
use crate::cli::exit::ExitStatus;
use crate::emulator::jobs::Jobs;
use crate::emulator::{
    http, CacheConfig, EmulatorConfig, EndState, FailureRates, RowLayout, StorageConfig,
};
use crate::error::{Error, Result};
use crate::models::ModelTable;

/// Reads `500ms`, `2s`, `1.5m`, `1h` (a bare number is seconds).
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok()
}

fn config(a: &EmulatorArgs) -> Result<EmulatorConfig> {
    let storage = match (&a.storage_root, &a.gcs_endpoint) {
        (Some(dir), None) => StorageConfig::Local(dir.clone()),
        (None, Some(endpoint)) => {
            let token = a
                .access_token
                .clone()
                .or_else(|| std::env::var("BATCHLINE_ACCESS_TOKEN").ok())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| Error::Usage("--gcs-endpoint needs --access-token".into()))?;
            StorageConfig::Gcs {
                endpoint: endpoint.clone(),
                token,
            }
        }
        _ => {
            return Err(Error::Usage(
                "give --storage-root DIR or --gcs-endpoint URL".into(),
            ))
        }
    };
    let rates = FailureRates {
        internal: a.fail_internal,
        invalid_argument: a.fail_invalid_argument,
        safety: a.block_safety,
    };
    for (flag, r) in [
        ("--fail-internal", rates.internal),
        ("--fail-invalid-argument", rates.invalid_argument),
        ("--block-safety", rates.safety),
    ] {
        if !(0.0..=1.0).contains(&r) {
            return Err(Error::Usage(format!("{flag} {r}: a rate between 0 and 1")));
        }
    }
    if rates.internal + rates.invalid_argument + rates.safety > 1.0 + 1e-9 {
        return Err(Error::Usage(
            "--fail-internal, --fail-invalid-argument and --block-safety add up to more than 1"
                .into(),
        ));
    }
    let pending_for = parse_duration(&a.pending_for).ok_or_else(|| {
        Error::Usage(format!(
            "--pending-for {}: a duration such as 500ms, 2s, 1m",
            a.pending_for
        ))
    })?;
    if !(a.rows_per_second >= 0.0 && a.rows_per_second.is_finite()) {
        return Err(Error::Usage(
            "--rows-per-second: a number of rows, 0 for no limit".into(),
        ));
    }
    let ttl_rounds = match a.cache_ttl.as_str() {
        "inf" | "infinite" | "none" => None,
        s => Some(s.parse::<u64>().map_err(|_| {
            Error::Usage(format!("--cache-ttl `{s}`: a number of rounds or `inf`"))
        })?),
    };
    let models = match &a.pricing {
        Some(p) => ModelTable::load(p)?,
        None => ModelTable::builtin(),
    };
    Ok(EmulatorConfig {
        storage,
        seed: a.seed,
        layout: if a.row_layout == "2025" {
            RowLayout::Y2025
        } else {
            RowLayout::Current
        },
        rates,
        end_state: a.end_state.as_deref().and_then(EndState::parse),
        pending_for,
        pending_jobs: a.pending_jobs,
        reject_creates: a.reject_creates,
        rows_per_second: a.rows_per_second,
        export_rows: a.export_rows.max(1),
        cache: CacheConfig {
            workers: a.cache_workers.max(1),
            ttl_rounds,
            min_cache_tokens: a.min_cache_tokens,
        },
        models,
    })
}

/// Runs the emulator until the process is killed.
pub fn run(a: EmulatorArgs) -> Result<ExitStatus> {
    let config = config(&a)?;
    if let StorageConfig::Local(dir) = &config.storage {
        if !dir.is_dir() {
            return Err(Error::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "--storage-root is not a folder",
                ),
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("tokio runtime", e))?;
    runtime.block_on(async {
        let (listener, addr) = http::bind(a.port)
            .await
            .map_err(|e| Error::io(format!("127.0.0.1:{}", a.port), e))?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "http://{addr}")
            .and_then(|_| out.flush())
            .map_err(|e| Error::io("stdout", e))?;
        drop(out);
        http::serve(listener, Jobs::new(config)).await;
        Ok(ExitStatus::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_units_and_refuse_the_rest() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5m"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        for bad in ["", "s", "-1s", "2d", "1e9999s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}
