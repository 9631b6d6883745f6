//! The connection: the socket's life (connecting, open, gone, stopped), reconnect backoff,
//! and the deadlines that replace a socket that went quiet or never opened (convex-js:
//! `WebSocketManager`).

use std::time::Duration;

use super::{
    backoff::{Backoff, CloseKind},
    ids::SocketId,
};

/// Connection settings (from [`super::SyncConfig`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) inactivity_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) zombie_threshold: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SocketState {
    /// No socket; the reconnect deadline (or a token) will bring one.
    Disconnected,
    /// Asked the runtime to open this socket at `since`.
    Connecting { id: SocketId, since: Duration },
    /// Open; the server was last heard from at `last_heard`.
    Open { id: SocketId, last_heard: Duration },
    /// Closed by the application or by a FatalError; never reopened.
    Stopped,
}

/// A connection deadline that passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expired {
    /// Time to open a new socket.
    Reconnect,
    /// The open socket has been silent too long.
    Silent,
    /// The socket did not open in time.
    ConnectTimedOut,
}

/// The socket and its deadlines.
#[derive(Debug)]
pub(crate) struct Connection {
    limits: Limits,
    state: SocketState,
    next_socket: u64,
    connection_count: u32,
    has_ever_connected: bool,
    last_close_reason: Option<String>,
    backoff: Backoff,
    fatal_error: Option<String>,
    last_error: Option<String>,
    reconnect_at: Option<Duration>,
    /// A reconnect waits for a token (after an auth refusal).
    held: bool,
}

impl Connection {
    pub(crate) fn new(limits: Limits, backoff: Backoff) -> Self {
        Self {
            limits,
            state: SocketState::Disconnected,
            next_socket: 0,
            connection_count: 0,
            has_ever_connected: false,
            last_close_reason: Some("InitialConnect".into()),
            backoff,
            fatal_error: None,
            last_error: None,
            reconnect_at: None,
            held: false,
        }
    }

    pub(crate) fn state(&self) -> SocketState {
        self.state
    }

    /// The open socket.
    pub(crate) fn open_socket(&self) -> Option<SocketId> {
        match self.state {
            SocketState::Open { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The socket being opened or open.
    pub(crate) fn current(&self) -> Option<SocketId> {
        match self.state {
            SocketState::Connecting { id, .. } | SocketState::Open { id, .. } => Some(id),
            _ => None,
        }
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.state == SocketState::Stopped
    }

    pub(crate) fn connection_count(&self) -> u32 {
        self.connection_count
    }

    pub(crate) fn has_ever_connected(&self) -> bool {
        self.has_ever_connected
    }

    pub(crate) fn retries(&self) -> u32 {
        self.backoff.retries()
    }

    pub(crate) fn last_close_reason(&self) -> Option<String> {
        self.last_close_reason.clone()
    }

    pub(crate) fn fatal_error(&self) -> Option<&String> {
        self.fatal_error.as_ref()
    }

    pub(crate) fn last_error(&self) -> Option<&String> {
        self.last_error.as_ref()
    }

    /// Starts a new socket.
    pub(crate) fn open(&mut self, now: Duration) -> SocketId {
        let id = SocketId::new(self.next_socket);
        self.next_socket += 1;
        self.state = SocketState::Connecting { id, since: now };
        self.reconnect_at = None;
        self.held = false;
        id
    }

    /// The reconnect must wait (for a token); [`Connection::release`] lets it go.
    pub(crate) fn hold(&mut self) {
        self.held = true;
        self.reconnect_at = None;
    }

    /// A held reconnect goes at the next timeout (the caller has no clock at hand).
    pub(crate) fn release_soon(&mut self) {
        if std::mem::take(&mut self.held) && self.state == SocketState::Disconnected {
            self.reconnect_at = Some(Duration::ZERO);
        }
    }

    /// Whether a held reconnect may go now; clears the hold.
    pub(crate) fn release(&mut self) -> bool {
        std::mem::take(&mut self.held) && self.state == SocketState::Disconnected
    }

    /// Socket `id` opened. False if it is not the one being opened.
    pub(crate) fn opened(&mut self, id: SocketId, now: Duration) -> bool {
        if !matches!(self.state, SocketState::Connecting { id: c, .. } if c == id) {
            return false;
        }
        self.state = SocketState::Open { id, last_heard: now };
        self.has_ever_connected = true;
        self.connection_count += 1;
        self.last_error = None;
        true
    }

    /// Something arrived on socket `id`. False if it is not the open socket.
    pub(crate) fn heard(&mut self, id: SocketId, now: Duration) -> bool {
        match self.state {
            SocketState::Open { id: open, .. } if open == id => {
                self.state = SocketState::Open { id, last_heard: now };
                true
            }
            _ => false,
        }
    }

    /// The socket is gone; a reconnect is scheduled after a backoff.
    pub(crate) fn lost(&mut self, reason: String, kind: CloseKind, now: Duration) {
        self.state = SocketState::Disconnected;
        self.last_close_reason = Some(reason);
        self.reconnect_at = Some(now + self.backoff.next_delay(kind));
    }

    /// The socket could not be created or did not open: the error is kept for the
    /// application to see until a socket opens.
    pub(crate) fn failed(&mut self, error: String, now: Duration) {
        self.last_error = Some(error);
        self.lost("ConnectFailed".into(), CloseKind::Other, now);
    }

    /// The server ended the connection for good.
    pub(crate) fn fatal(&mut self, error: String) {
        self.fatal_error = Some(error);
        self.stop();
    }

    pub(crate) fn stop(&mut self) {
        self.state = SocketState::Stopped;
        self.reconnect_at = None;
        self.held = false;
    }

    /// Forgets past failures (the client caught up).
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff.reset();
    }

    /// Whether a pending reconnect should happen now rather than after its backoff.
    pub(crate) fn reconnect_now(&mut self) -> bool {
        if self.state == SocketState::Disconnected && !self.held {
            self.reconnect_at = None;
            return true;
        }
        false
    }

    /// A socket that has been quiet (or connecting) for `zombie_threshold` is presumed dead.
    pub(crate) fn is_zombie(&self, now: Duration) -> bool {
        let since = match self.state {
            SocketState::Open { last_heard, .. } => last_heard,
            SocketState::Connecting { since, .. } => since,
            _ => return false,
        };
        now.saturating_sub(since) >= self.limits.zombie_threshold
    }

    /// The earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Duration> {
        match self.state {
            SocketState::Disconnected => self.reconnect_at,
            SocketState::Connecting { since, .. } => Some(since + self.limits.connect_timeout),
            SocketState::Open { last_heard, .. } => {
                Some(last_heard + self.limits.inactivity_timeout)
            }
            SocketState::Stopped => None,
        }
    }

    /// The deadline that passed at `now`, if any.
    pub(crate) fn expired(&mut self, now: Duration) -> Option<Expired> {
        if self.next_deadline().is_none_or(|d| d > now) {
            return None;
        }
        Some(match self.state {
            SocketState::Disconnected => {
                self.reconnect_at = None;
                Expired::Reconnect
            }
            SocketState::Connecting { .. } => Expired::ConnectTimedOut,
            SocketState::Open { .. } => Expired::Silent,
            SocketState::Stopped => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let limits = Limits {
            inactivity_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            zombie_threshold: Duration::from_secs(20),
        };
        Connection::new(limits, Backoff::new(1, Duration::from_secs(16)))
    }

    #[test]
    fn a_socket_that_never_opens_times_out() {
        let mut c = connection();
        let id = c.open(Duration::ZERO);
        assert_eq!(c.next_deadline(), Some(Duration::from_secs(10)));
        assert_eq!(c.expired(Duration::from_secs(9)), None);
        assert_eq!(c.expired(Duration::from_secs(10)), Some(Expired::ConnectTimedOut));
        c.failed("timed out".into(), Duration::from_secs(10));
        assert_eq!(c.last_error().map(String::as_str), Some("timed out"));
        assert!(!c.opened(id, Duration::from_secs(11)), "the old socket is not current");
        let deadline = c.next_deadline().expect("a reconnect");
        assert_eq!(c.expired(deadline), Some(Expired::Reconnect));
        let id = c.open(deadline);
        assert!(c.opened(id, deadline));
        assert_eq!(c.last_error(), None, "cleared by a socket that opens");
    }

    #[test]
    fn silence_and_zombies() {
        let mut c = connection();
        let id = c.open(Duration::ZERO);
        assert!(c.is_zombie(Duration::from_secs(20)), "connecting for too long");
        c.opened(id, Duration::from_secs(1));
        assert!(c.heard(id, Duration::from_secs(30)));
        assert!(!c.is_zombie(Duration::from_secs(49)));
        assert!(c.is_zombie(Duration::from_secs(50)));
        assert_eq!(c.expired(Duration::from_secs(90)), Some(Expired::Silent));
    }

    #[test]
    fn a_held_reconnect_waits_for_its_release() {
        let mut c = connection();
        let id = c.open(Duration::ZERO);
        c.opened(id, Duration::ZERO);
        c.lost("x".into(), CloseKind::Other, Duration::ZERO);
        c.hold();
        assert_eq!(c.next_deadline(), None);
        assert!(!c.reconnect_now());
        assert!(c.release());
        assert!(!c.release());
    }
}
