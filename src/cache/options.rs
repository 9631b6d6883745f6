//! Query options and their defaults (TanStack Query v5's, unless said otherwise).

use std::time::Duration;

/// How long data stays fresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaleTime {
    /// Fresh for this long after it was fetched.
    After(Duration),
    /// Never stale (Convex queries: the subscription keeps them current).
    Never,
}

/// When an event (mount, window focus, reconnect) refetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refetch {
    /// Never.
    Never,
    /// If the data is stale.
    IfStale,
    /// Always.
    Always,
}

/// How a query's fetches retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Retries after the first failure. Default: `3` (so four attempts).
    pub count: u32,
    /// Longest delay between attempts. Default: `30 s`.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self { count: 3, max_delay: Duration::from_secs(30) }
    }
}

impl Retry {
    /// No retries.
    pub const NONE: Retry = Retry { count: 0, max_delay: Duration::from_secs(30) };

    /// The delay before retry `n` (0-based): `min(1000 ms × 2^n, max_delay)`.
    pub fn delay(&self, n: u32) -> Duration {
        Duration::from_millis(1000u64.saturating_mul(1u64 << n.min(30))).min(self.max_delay)
    }
}

/// An observer's options (a component's, or a one-off fetch's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueryOptions {
    /// Whether the query runs at all. Default: `true`.
    pub enabled: bool,
    /// How long fetched data is fresh. Default: `0` (stale at once); Convex queries: never
    /// stale while subscribed.
    pub stale_time: StaleTime,
    /// How long an entry nobody observes keeps its data. Default: `5 min`; `None`: forever.
    pub gc_time: Option<Duration>,
    /// Retries of a failed fetch. Default: 3, delays 1 s, 2 s, 4 s (capped at 30 s).
    pub retry: Retry,
    /// Refetch when an observer attaches. Default: if stale.
    pub refetch_on_mount: Refetch,
    /// Refetch when the window regains focus. Default: if stale.
    pub refetch_on_window_focus: Refetch,
    /// Refetch when the network comes back. Default: if stale.
    pub refetch_on_reconnect: Refetch,
}

impl Default for QueryOptions {
    fn default() -> Self {
        Self {
            enabled: true,
            stale_time: StaleTime::After(Duration::ZERO),
            gc_time: Some(Duration::from_secs(5 * 60)),
            retry: Retry::default(),
            refetch_on_mount: Refetch::IfStale,
            refetch_on_window_focus: Refetch::IfStale,
            refetch_on_reconnect: Refetch::IfStale,
        }
    }
}

/// Client-wide settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheConfig {
    /// Options of observers that set none.
    pub default_options: QueryOptions,
    /// How long a Convex subscription stays open after its last observer left, so a component
    /// that comes back (a page visited again, a loader followed by its route) reuses it.
    /// Independent of `gc_time`, which keeps the *data*. Default: `5 s`.
    pub convex_linger: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { default_options: QueryOptions::default(), convex_linger: Duration::from_secs(5) }
    }
}
