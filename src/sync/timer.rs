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
        let mut due: Vec<(Duration, Timer)> = ALL
            .iter()
            .filter_map(|t| self.get(*t).filter(|d| *d <= now).map(|d| (d, *t)))
            .collect();
        due.sort_by_key(|(d, t)| (*d, *t as usize));
        for (_, t) in &due {
            self.stop(*t);
        }
        due.into_iter().map(|(_, t)| t).collect()
    }
}
