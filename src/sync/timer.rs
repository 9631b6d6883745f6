//! The engine's timers: one small table of named deadlines.

use std::time::Duration;

/// A named timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Open a new socket after a backoff.
    Reconnect = 0,
    /// Nothing heard from the server for too long: the socket is presumed dead.
    ServerInactivity = 1,
    /// Fetch a fresh token before the current one expires.
    AuthRefresh = 2,
}

const COUNT: usize = 3;
const ALL: [Timer; COUNT] = [Timer::Reconnect, Timer::ServerInactivity, Timer::AuthRefresh];

/// Deadlines by timer.
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: [Option<Duration>; COUNT],
}

impl TimerTable {
    pub fn set(&mut self, timer: Timer, deadline: Duration) {
        self.deadlines[timer as usize] = Some(deadline);
    }

    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub fn get(&self, timer: Timer) -> Option<Duration> {
        self.deadlines[timer as usize]
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Duration> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Timers due at `now`, earliest first; they are stopped.
    pub fn expire(&mut self, now: Duration) -> Vec<Timer> {
        // At most three timers: take the earliest due one until none is left (ties in `ALL`
        // order), rather than instantiating a general sort.
        let mut due = Vec::new();
        loop {
            let mut next: Option<(Duration, Timer)> = None;
            for t in ALL {
                if let Some(d) = self.get(t).filter(|d| *d <= now) {
                    if next.is_none_or(|(best, _)| d < best) {
                        next = Some((d, t));
                    }
                }
            }
            let Some((_, t)) = next else { return due };
            self.stop(t);
            due.push(t);
        }
    }
}
