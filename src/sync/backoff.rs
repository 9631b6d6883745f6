//! Reconnect backoff, by the reason the socket closed (Convex's policy).
//!
//! The initial delay depends on who closed the socket: 100 ms when the client closed it itself,
//! 3 s when the server said it is overloaded, 1 s otherwise. Each retry doubles it, up to
//! 16 s, with ±50 % jitter. Retries reset only once the client has caught up after reconnecting.

use std::time::Duration;

/// Default cap on a single backoff delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(16);

/// Server close reasons that mean "overloaded, come back later".
const OVERLOAD_REASONS: &[&str] = &[
    "SubscriptionsWorkerFullError",
    "TooManyConcurrentRequests",
    "CommitterFullError",
    "AwsTooManyRequestsException",
    "ExecuteFullError",
    "SystemTimeoutError",
    "ExpiredInQueue",
    "VectorIndexTooLarge",
    "SearchIndexTooLarge",
    "TooManyWritesInTimePeriod",
];

/// Who closed the socket, as far as the backoff cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// The client closed it (inactivity, a forced restart).
    Client,
    /// The server reported overload.
    Overloaded,
    /// Anything else (network failure, InternalServerError, unknown).
    Other,
}

impl CloseKind {
    /// Classifies a server close reason.
    pub fn of_server_reason(reason: &str) -> Self {
        if OVERLOAD_REASONS.contains(&reason) {
            CloseKind::Overloaded
        } else {
            CloseKind::Other
        }
    }

    /// The base delay for this kind of close.
    pub fn initial(self) -> Duration {
        match self {
            CloseKind::Client => Duration::from_millis(100),
            CloseKind::Overloaded => Duration::from_secs(3),
            CloseKind::Other => Duration::from_secs(1),
        }
    }
}

/// The backoff state: consecutive retries and a small deterministic random source for jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    retries: u32,
    rng: u64,
    max: Duration,
}

impl Backoff {
    /// `seed` feeds the jitter (any value; tests pass a fixed one).
    pub fn new(seed: u64, max: Duration) -> Self {
        Self { retries: 0, rng: seed | 1, max }
    }

    /// Consecutive failed attempts so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Forgets past failures (after catching up).
    pub fn reset(&mut self) {
        self.retries = 0;
    }

    fn next_random(&mut self) -> f64 {
        // xorshift64*: plenty for jitter.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The delay before the next attempt; counts a retry.
    pub fn next_delay(&mut self, kind: CloseKind) -> Duration {
        let base = kind.initial().saturating_mul(2u32.saturating_pow(self.retries.min(16)));
        self.retries = self.retries.saturating_add(1);
        let capped = base.min(self.max);
        let jitter = capped.as_secs_f64() * (self.next_random() - 0.5);
        Duration::from_secs_f64((capped.as_secs_f64() + jitter).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bases_double_and_cap_with_bounded_jitter() {
        for (kind, base_ms) in [
            (CloseKind::Client, 100.0),
            (CloseKind::Other, 1000.0),
            (CloseKind::Overloaded, 3000.0),
        ] {
            let mut backoff = Backoff::new(42, MAX_BACKOFF);
            for retry in 0..8 {
                let expected = (base_ms * 2f64.powi(retry)).min(16_000.0);
                let got = backoff.next_delay(kind).as_secs_f64() * 1000.0;
                assert!(
                    got >= expected * 0.5 && got <= expected * 1.5,
                    "{kind:?} retry {retry}: {got} vs {expected}"
                );
            }
            assert_eq!(backoff.retries(), 8);
            backoff.reset();
            let got = backoff.next_delay(kind).as_secs_f64() * 1000.0;
            assert!(got <= base_ms * 1.5, "reset starts over");
        }
    }

    #[test]
    fn server_reasons_are_classified() {
        assert_eq!(CloseKind::of_server_reason("TooManyConcurrentRequests"), CloseKind::Overloaded);
        assert_eq!(CloseKind::of_server_reason("InternalServerError"), CloseKind::Other);
        assert_eq!(CloseKind::of_server_reason(""), CloseKind::Other);
    }
}
