//! The one retry policy of the HTTP calls batchline makes itself (Vertex, and the HEAD that reads
//! Cloud Storage's checksums; object_store retries its own requests by `store::RetryConfig`).
//!
//! Retried: HTTP 429, 500, 502, 503, 504 and failures to get an answer at all (connection refused or
//! reset, timeouts). Never retried: any other 4xx (a bad request stays bad; its message goes to the
//! user at once). Waits follow "decorrelated jitter": each wait is drawn uniformly between the
//! initial backoff and three times the previous wait, capped at the maximum; so concurrent clients
//! that failed together spread out instead of retrying in step. A call gives up after
//! `max_retries` retries or once `retry_timeout` has passed since its first attempt, whichever
//! comes first.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Retry tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Wait bounds.
    pub backoff: BackoffConfig,
    /// Retries after the first attempt (default 10).
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt (default 3 minutes).
    pub retry_timeout: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
        }
    }
}

/// Wait bounds of the decorrelated jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The shortest wait and the first wait's upper bound is three times it (default 200 ms).
    pub init_backoff: Duration,
    /// The longest wait (default 30 s).
    pub max_backoff: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Whether an HTTP status is worth retrying: 429 and 500/502/503/504.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// The waits of one call: `next()` gives the wait before each retry.
#[derive(Debug)]
pub struct Backoff {
    config: BackoffConfig,
    previous: Duration,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// Waits seeded from the clock (each call spreads differently).
    pub fn new(config: BackoffConfig) -> Backoff {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Backoff::with_seed(config, seed)
    }

    /// Waits from a fixed seed (tests).
    pub fn with_seed(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            config,
            previous: config.init_backoff,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// The next wait: uniform in `[init, 3 × previous]`, at most `max_backoff`.
    pub fn next_wait(&mut self) -> Duration {
        let lo = self.config.init_backoff.as_secs_f64();
        let hi = (self.previous.as_secs_f64() * 3.0).max(lo);
        let wait = if hi > lo {
            self.rng.random_range(lo..=hi)
        } else {
            lo
        };
        let wait = Duration::from_secs_f64(wait).min(self.config.max_backoff);
        self.previous = wait;
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_429_and_the_four_5xx_are_retried() {
        let retried: Vec<u16> = (100..600).filter(|&s| retryable_status(s)).collect();
        assert_eq!(retried, [429, 500, 502, 503, 504]);
    }

    #[test]
    fn waits_stay_within_the_decorrelated_jitter_bounds() {
        let config = BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        };
        let mut b = Backoff::with_seed(config, 7);
        let mut previous = config.init_backoff;
        let mut reached_cap = false;
        for _ in 0..50 {
            let w = b.next_wait();
            assert!(w >= config.init_backoff, "{w:?}");
            assert!(
                w <= (previous * 3).min(config.max_backoff),
                "{w:?} after {previous:?}"
            );
            reached_cap |= w == config.max_backoff;
            previous = w;
        }
        assert!(reached_cap, "50 waits never reached the cap");
        // Same seed, same waits.
        let a: Vec<_> = (0..5)
            .map({
                let mut b = Backoff::with_seed(config, 1);
                move |_| b.next_wait()
            })
            .collect();
        let c: Vec<_> = (0..5)
            .map({
                let mut b = Backoff::with_seed(config, 1);
                move |_| b.next_wait()
            })
            .collect();
        assert_eq!(a, c);
    }
}
