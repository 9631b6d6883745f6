//! When a navigation shows its pending component (TanStack Router's `pendingMs` and
//! `pendingMinMs`): only if the loader takes longer than `pending_ms`, and then for at least
//! `pending_min_ms`, so a fast load never flashes a spinner and a slow one never flickers.
//! Time is an input.

use std::time::Duration;

/// Default `pending_ms`: 1 s.
pub const PENDING_MS: Duration = Duration::from_millis(1000);
/// Default `pending_min_ms`: 0.5 s.
pub const PENDING_MIN_MS: Duration = Duration::from_millis(500);

/// What to show for a navigation in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Keep showing the previous page (the load just started).
    Waiting,
    /// Show the pending component.
    Pending,
    /// Show the new page.
    Ready,
}

/// One navigation's timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingTimer {
    started: Duration,
    pending_ms: Duration,
    pending_min_ms: Duration,
    /// When the loader finished.
    done: Option<Duration>,
}

impl PendingTimer {
    /// A navigation that started at `now`.
    pub fn start(now: Duration, pending_ms: Duration, pending_min_ms: Duration) -> Self {
        Self { started: now, pending_ms, pending_min_ms, done: None }
    }

    /// The loader finished at `now`.
    pub fn finish(&mut self, now: Duration) {
        self.done.get_or_insert(now);
    }

    /// When the pending component appeared (if it did by `at`).
    fn shown_at(&self) -> Duration {
        self.started + self.pending_ms
    }

    /// What to show at `now`.
    pub fn phase(&self, now: Duration) -> Phase {
        let shown_at = self.shown_at();
        match self.done {
            // Done before the pending component would have shown: straight to the page.
            Some(done) if done < shown_at => Phase::Ready,
            // Shown: stays until it has been visible for `pending_min_ms`.
            Some(_) if now >= shown_at + self.pending_min_ms => Phase::Ready,
            Some(_) => Phase::Pending,
            None if now >= shown_at => Phase::Pending,
            None => Phase::Waiting,
        }
    }

    /// The next time the phase may change (to re-render then), if any.
    pub fn next_change(&self, now: Duration) -> Option<Duration> {
        let shown_at = self.shown_at();
        match (self.phase(now), self.done) {
            (Phase::Waiting, _) => Some(shown_at),
            (Phase::Pending, Some(_)) => Some(shown_at + self.pending_min_ms),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_fast_load_never_shows_pending_and_a_slow_one_shows_it_for_at_least_the_minimum() {
        let mut fast = PendingTimer::start(ms(0), PENDING_MS, PENDING_MIN_MS);
        assert_eq!(fast.phase(ms(500)), Phase::Waiting);
        assert_eq!(fast.next_change(ms(500)), Some(ms(1000)));
        fast.finish(ms(999));
        assert_eq!(fast.phase(ms(999)), Phase::Ready);

        let mut slow = PendingTimer::start(ms(0), PENDING_MS, PENDING_MIN_MS);
        assert_eq!(slow.phase(ms(1000)), Phase::Pending);
        slow.finish(ms(1100));
        assert_eq!(slow.phase(ms(1100)), Phase::Pending, "shown 100 ms ago: stays");
        assert_eq!(slow.next_change(ms(1100)), Some(ms(1500)));
        assert_eq!(slow.phase(ms(1500)), Phase::Ready);

        let mut slower = PendingTimer::start(ms(0), PENDING_MS, PENDING_MIN_MS);
        slower.finish(ms(3000));
        assert_eq!(slower.phase(ms(3000)), Phase::Ready, "shown long enough already");
    }
}
