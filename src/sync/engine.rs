//! The sync engine: Convex's client protocol as a state machine with no I/O. It composes the
//! parts, each owning one concern: the local query set ([`super::local_state`]), the server's
//! results ([`super::remote_query_set`]), requests and read-your-writes
//! ([`super::request_manager`]), tokens ([`super::auth`]) and the socket ([`super::connection`]).
//! The engine decides what crosses between them: which identity a Transition's results belong
//! to, which results are shown, when session traffic may go out.
//!
//! # API families (as in quinn-proto)
//! - **Commands** from the application: [`SyncEngine::subscribe`], [`SyncEngine::unsubscribe`],
//!   [`SyncEngine::mutation`], [`SyncEngine::action`], [`SyncEngine::set_auth`],
//!   [`SyncEngine::clear_auth`], [`SyncEngine::close`].
//! - **Inputs** from the runtime (`handle_*`): socket opened / failed / text received / closed,
//!   a token fetched, a timer fired, the browser went online or a tab became visible.
//! - **Outputs**, polled until `None` after every input or command:
//!   [`SyncEngine::poll_transmit`] (frames to send on the current socket),
//!   [`SyncEngine::poll_event`] (sockets to open/close, tokens to fetch, results to deliver),
//!   [`SyncEngine::poll_timeout`] (the next deadline; call `handle_timeout` then).
//! - **Getters**: [`SyncEngine::query_result`], [`SyncEngine::connection_state`],
//!   [`SyncEngine::auth_status`], [`SyncEngine::identity_settled`].
//!
//! Time is an input: every call that needs it takes `now`, a [`Duration`] since any fixed
//! origin the runtime chooses (the engine never reads a clock).
//!
//! # Identity
//! Results are shown only to the identity the server computed them as: after a sign-in, a
//! sign-out or a change of user, a query reads as loading until the server has re-run it as
//! the new identity (convex-js #152), in every API (callbacks, streams, `query_result`). A
//! token refresh never changes the identity, so it never hides a result (convex-backend #259).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    time::Duration,
};

pub use super::auth::AuthStatus;
use super::{
    auth::{Authentication, Principal},
    backoff::{Backoff, CloseKind, MAX_BACKOFF},
    connection::{Connection, Expired, Limits, SocketState},
    error::ConvexError,
    idmap::IdSet,
    ids::{QueryId, RequestId, SocketId, SubscriptionId, TokenRequestId},
    local_state::{LocalQuerySet, Unsubscribed},
    optimistic::{LocalStore, OptimisticUpdate, QueryView},
    protocol::{AuthToken, ClientMessage, ErrorPayload, MalformedMessage, ServerMessage},
    remote_query_set::{QueryResult, RemoteQuerySet},
    request_manager::{Completion, RequestManager},
};
use crate::value::{encode_args, encode_ts, RawValue, Value};

/// The kind of function a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionKind {
    /// A query (`Q`).
    Query,
    /// A mutation (`M`).
    Mutation,
    /// An action (`A`).
    Action,
}

impl FunctionKind {
    /// Convex's one-letter tag: `Q`, `M` or `A`.
    pub fn letter(self) -> char {
        match self {
            FunctionKind::Query => 'Q',
            FunctionKind::Mutation => 'M',
            FunctionKind::Action => 'A',
        }
    }
}

/// What the engine asks of its runtime, or tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Open a WebSocket to the sync URL; report it with `handle_open` / `handle_open_failed` /
    /// `handle_close`.
    OpenSocket {
        /// The socket's id, to pass back.
        socket: SocketId,
    },
    /// Close this socket (the engine already treats it as gone).
    CloseSocket {
        /// The socket.
        socket: SocketId,
    },
    /// Fetch an auth token and pass it to `handle_token`.
    FetchToken {
        /// The fetch's id, to pass back.
        request: TokenRequestId,
        /// Bypass any token cache.
        force_refresh: bool,
    },
    /// A query's visible result changed; read it with `query_result`.
    QueryChanged {
        /// The query.
        query: QueryId,
    },
    /// A mutation completed: its effect is visible in every query (read-your-writes), or it failed.
    MutationDone {
        /// The mutation.
        request: RequestId,
        /// Its value or error.
        result: QueryResult,
    },
    /// An action completed.
    ActionDone {
        /// The action.
        request: RequestId,
        /// Its value or error.
        result: QueryResult,
    },
    /// [`SyncEngine::connection_state`] changed.
    ConnectionChanged,
    /// [`SyncEngine::auth_status`], [`SyncEngine::is_refreshing`] or
    /// [`SyncEngine::identity_settled`] changed.
    AuthStateChanged,
    /// Lines a function logged on the server.
    ServerLog {
        /// The function.
        udf_path: String,
        /// Its kind.
        kind: FunctionKind,
        /// The lines (`[LOG] 'text'`).
        lines: Vec<String>,
    },
    /// Something went wrong that the application should see in its console.
    Warning(String),
}

/// Engine settings.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Reconnect when the server has been silent this long. Default: `60 s`.
    pub inactivity_timeout: Duration,
    /// Give up on a socket that has not opened after this long, and try another.
    /// Default: `10 s`.
    pub connect_timeout: Duration,
    /// Refresh a token this long before it expires. Default: `10 s`.
    pub auth_refresh_leeway: Duration,
    /// Longest reconnect backoff. Default: `16 s`.
    pub max_backoff: Duration,
    /// When a hidden tab becomes visible (or the browser comes online) and the server has been
    /// silent this long, the socket is presumed dead and replaced at once. Default: `20 s`
    /// (the server pings every 15 s).
    pub zombie_threshold: Duration,
    /// Seed for the backoff jitter. Default: `0x5eed`.
    pub jitter_seed: u64,
    /// Hold every query and request until the application sets auth (or clears it), as
    /// `ConvexReactClient`'s `expectAuth`: a signed-in user's page never runs its queries
    /// anonymously first. Requests made meanwhile run as the identity then set (and fail with
    /// [`ConvexError::IdentityChanged`] if it signs out instead). Default: `false`.
    pub expect_auth: bool,
    /// Browser client: while mutations are unacknowledged, leaving the page asks first (a
    /// `beforeunload` prompt), as `ConvexReactClient`'s `unsavedChangesWarning`. Default:
    /// `true`.
    pub unsaved_changes_warning: bool,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            inactivity_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            auth_refresh_leeway: Duration::from_secs(10),
            max_backoff: MAX_BACKOFF,
            zombie_threshold: Duration::from_secs(20),
            jitter_seed: 0x5eed,
            expect_auth: false,
            unsaved_changes_warning: true,
        }
    }
}

/// The connection, as an application may want to show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionState {
    /// A socket is open.
    pub is_websocket_connected: bool,
    /// A socket has been open at least once.
    pub has_ever_connected: bool,
    /// Sockets opened so far.
    pub connection_count: u32,
    /// Consecutive failed attempts since the last time the client caught up.
    pub connection_retries: u32,
    /// Mutations and actions not yet completed.
    pub has_inflight_requests: bool,
    /// Mutations not yet completed.
    pub inflight_mutations: usize,
    /// Actions not yet completed.
    pub inflight_actions: usize,
    /// When the oldest incomplete request was made (engine time).
    pub time_of_oldest_inflight_request: Option<Duration>,
    /// Why the last attempt to open a socket failed (the browser refused to create it, e.g. a
    /// Content-Security-Policy or a bad URL, or it did not open in time); cleared when one opens.
    pub last_connection_error: Option<String>,
    /// The server ended the connection for good.
    pub fatal_error: Option<String>,
}

/// One `Authenticate` sent on the current socket: whose it is, and which token (if any).
#[derive(Debug, Clone, Copy)]
struct SentAuth {
    principal: Principal,
    seq: Option<u64>,
}

/// The current socket's session.
#[derive(Debug, Default)]
struct Session {
    /// Authenticate, query set and requests went out (they wait for a deciding token).
    started: bool,
    /// The Authenticates sent on this socket: the n-th moves the server to identity version n.
    sent_auth: Vec<SentAuth>,
    /// Requests outstanding when the socket opened; the backoff resets once they are done and
    /// everything else is back (`None`: caught up).
    catching_up: Option<Vec<RequestId>>,
}

impl Session {
    fn principal_at(&self, identity_version: u32) -> Option<Principal> {
        match identity_version {
            0 => Some(Principal::Anonymous),
            v => self.sent_auth.get(v as usize - 1).map(|a| a.principal),
        }
    }

    fn last_seq(&self) -> Option<u64> {
        self.sent_auth.last().and_then(|a| a.seq)
    }
}

/// The protocol state machine. See the module docs for the call order.
pub struct SyncEngine {
    session_id: String,
    local: LocalQuerySet,
    remote: RemoteQuerySet,
    requests: RequestManager,
    auth: Authentication,
    connection: Connection,
    session: Session,
    /// The identity the server has established for this client: the principal of its latest
    /// identity version (kept across reconnects until a new socket moves it).
    established: Principal,
    overlay: HashMap<QueryId, Option<RawValue>>,
    transmit: VecDeque<String>,
    events: VecDeque<Event>,
    last_state: ConnectionState,
    last_auth_state: (AuthStatus, bool, bool),
}

fn payload_error(e: ErrorPayload) -> ConvexError {
    ConvexError::Function { message: e.message, data: e.data }
}

impl SyncEngine {
    /// A new engine for a client whose session id is `session_id` (a UUID, kept for the
    /// client's whole life). It asks for its first socket at once.
    pub fn new(config: SyncConfig, session_id: String, now: Duration) -> Self {
        let limits = Limits {
            inactivity_timeout: config.inactivity_timeout,
            connect_timeout: config.connect_timeout,
            zombie_threshold: config.zombie_threshold,
        };
        let backoff = Backoff::new(config.jitter_seed, config.max_backoff);
        let mut engine = Self {
            session_id,
            local: LocalQuerySet::default(),
            remote: RemoteQuerySet::default(),
            requests: RequestManager::default(),
            auth: Authentication::with_expectation(config.auth_refresh_leeway, config.expect_auth),
            connection: Connection::new(limits, backoff),
            session: Session::default(),
            established: Principal::Anonymous,
            overlay: HashMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            last_state: ConnectionState::default(),
            last_auth_state: (AuthStatus::Unauthenticated, false, true),
        };
        engine.open_socket(now);
        engine
    }

    /// The session id sent in every Connect.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    // ----- outputs -----

    /// The next frame to send on the current socket.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.flush_query_set();
        self.transmit.pop_front()
    }

    /// The next event for the runtime.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.flush_query_set();
        while let Some(fetch) = self.auth.poll_fetch() {
            self.events
                .push_back(Event::FetchToken { request: fetch.id, force_refresh: fetch.force });
        }
        self.events.pop_front()
    }

    /// The earliest deadline; call [`SyncEngine::handle_timeout`] when it passes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        match (self.connection.next_deadline(), self.auth.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ----- getters -----

    /// The visible result of `query`: the server's result with optimistic updates applied;
    /// `None` while it loads, and while the only result there is belongs to another identity
    /// (after a sign-in, sign-out or change of user, until the server re-ran it).
    pub fn query_result(&self, query: QueryId) -> Option<QueryResult> {
        match self.overlay.get(&query) {
            Some(Some(value)) => Some(Ok(value.clone())),
            Some(None) => None,
            None => self.visible_remote(query).cloned(),
        }
    }

    fn visible_remote(&self, query: QueryId) -> Option<&QueryResult> {
        let principal = self.auth.principal();
        self.remote.get(query).filter(|r| r.principal == principal).map(|r| &r.result)
    }

    /// The function and args of `query`.
    pub fn query_info(&self, query: QueryId) -> Option<(&str, &Value)> {
        self.local.get(query).map(|q| (q.path.as_str(), q.args()))
    }

    /// The connection as the application may show it.
    pub fn connection_state(&self) -> ConnectionState {
        ConnectionState {
            is_websocket_connected: self.connection.open_socket().is_some(),
            has_ever_connected: self.connection.has_ever_connected(),
            connection_count: self.connection.connection_count(),
            connection_retries: self.connection.retries(),
            has_inflight_requests: !self.requests.is_empty(),
            inflight_mutations: self.requests.count(FunctionKind::Mutation),
            inflight_actions: self.requests.count(FunctionKind::Action),
            time_of_oldest_inflight_request: self.requests.oldest(),
            last_connection_error: self.connection.last_error().cloned(),
            fatal_error: self.connection.fatal_error().cloned(),
        }
    }

    /// Where authentication stands.
    pub fn auth_status(&self) -> AuthStatus {
        self.auth.status()
    }

    /// Whose results and requests these are now.
    pub fn principal(&self) -> Principal {
        self.auth.principal()
    }

    /// Whether the server has established the current identity: false from a `set_auth` or
    /// `clear_auth` that changes who the client is (a sign-in, a sign-out, another user) until
    /// the server has taken the change; a token refresh never makes it false. Results of
    /// another identity are never shown, whatever this says.
    pub fn identity_settled(&self) -> bool {
        !self.auth.awaiting_first_token() && self.established == self.auth.principal()
    }

    /// When the token in use expires (its `exp`, Unix seconds), if it says.
    pub fn token_expiry(&self) -> Option<u64> {
        self.auth.token().and_then(|t| super::token::issued_and_expiry(&t.text)).map(|(_, exp)| exp)
    }

    /// A token refresh is under way (the client stays authenticated meanwhile).
    pub fn is_refreshing(&self) -> bool {
        self.auth.is_refreshing()
    }

    /// The visible result of the query `path` with `args`, if some subscription has it.
    pub fn lookup(&self, path: &str, args: &Value) -> Option<QueryResult> {
        self.query_result(self.local.lookup(path, args)?)
    }

    // ----- commands -----

    /// Subscribes to the query `path` with `args` (an object). Subscriptions to the same
    /// function and args share one server query.
    pub fn subscribe(
        &mut self,
        path: &str,
        args: &Value,
    ) -> Result<(SubscriptionId, QueryId), ConvexError> {
        self.local.subscribe(path, args)
    }

    /// Drops a subscription; the server query goes when its last subscriber does.
    pub fn unsubscribe(&mut self, sub: SubscriptionId) {
        if let Unsubscribed::Removed(query) = self.local.unsubscribe(sub) {
            self.remote.remove(query);
            self.overlay.remove(&query);
        }
    }

    /// Runs a mutation. It completes (an [`Event::MutationDone`]) once its effect is visible in
    /// every subscribed query, or at once if it fails. `optimistic` edits results locally until
    /// then. It runs as the current identity: if that changes before the server has it, it
    /// fails with [`ConvexError::IdentityChanged`] rather than run as someone else.
    pub fn mutation(
        &mut self,
        path: &str,
        args: &Value,
        optimistic: Option<OptimisticUpdate>,
        now: Duration,
    ) -> Result<RequestId, ConvexError> {
        let id = self.request(FunctionKind::Mutation, path, args, now)?;
        if let Some(update) = optimistic {
            if let Some(request) = self.requests.get_mut(id) {
                request.optimistic = Some(update);
            }
            self.apply_new_optimistic(id);
        }
        self.send_waiting();
        self.note_state();
        Ok(id)
    }

    /// Runs an action. Actions are not re-sent after a reconnect: one in flight when the socket
    /// drops fails with [`ConvexError::ConnectionLost`].
    pub fn action(
        &mut self,
        path: &str,
        args: &Value,
        now: Duration,
    ) -> Result<RequestId, ConvexError> {
        let id = self.request(FunctionKind::Action, path, args, now)?;
        self.send_waiting();
        self.note_state();
        Ok(id)
    }

    fn request(
        &mut self,
        kind: FunctionKind,
        path: &str,
        args: &Value,
        now: Duration,
    ) -> Result<RequestId, ConvexError> {
        if let Some(fatal) = self.connection.fatal_error() {
            return Err(ConvexError::Fatal(fatal.clone()));
        }
        if self.connection.is_stopped() {
            return Err(ConvexError::Closed);
        }
        let args_json = encode_args(args).map_err(ConvexError::InvalidArgs)?;
        let path = super::canonical_path(path);
        Ok(self.requests.add(kind, path, args_json, self.auth.principal(), now))
    }

    /// Uses a new auth source: a new identity (a sign-in, or another user). The runtime is
    /// asked for a token (`FetchToken`); queries and requests wait for it, so nothing runs
    /// under a wrong identity, and the previous token stays with the server meanwhile (no
    /// transient signed-out state, convex-js #82). To replace the token fetcher of the *same*
    /// identity, do not call this: keep the engine as it is and answer later fetches with the
    /// new fetcher.
    pub fn set_auth(&mut self) {
        self.change_auth(|auth| auth.set_source());
    }

    /// Stops using auth: the server is told the client is signed out.
    pub fn clear_auth(&mut self) {
        self.change_auth(Authentication::clear);
        // Nothing is awaited any more (e.g. `expect_auth` ended by a sign-out, or a sign-out
        // while the first token was on its way): held-back traffic goes now.
        if !self.auth.blocking() {
            match self.connection.state() {
                SocketState::Open { .. } if !self.session.started => {
                    self.start_session();
                    self.note_state();
                }
                SocketState::Disconnected => self.connection.release_soon(),
                _ => {}
            }
        }
    }

    /// Closes the client for good: the socket closes, incomplete requests fail with
    /// [`ConvexError::Closed`].
    pub fn close(&mut self) {
        self.stop(ConvexError::Closed);
    }

    fn stop(&mut self, error: ConvexError) {
        if let Some(id) = self.connection.current() {
            self.events.push_back(Event::CloseSocket { socket: id });
        }
        self.connection.stop();
        self.transmit.clear();
        let failed = self.requests.fail_all(error);
        self.complete(failed);
        self.note_state();
    }

    // ----- inputs -----

    /// The socket opened. `client_ts` is the wall clock in milliseconds, if known.
    pub fn handle_open(&mut self, socket: SocketId, now: Duration, client_ts: Option<u64>) {
        let count = self.connection.connection_count();
        if !self.connection.opened(socket, now) {
            return;
        }
        let connect = ClientMessage::Connect {
            session_id: self.session_id.clone(),
            connection_count: count,
            last_close_reason: self.connection.last_close_reason(),
            max_observed_timestamp: self.remote.max_observed_ts().map(encode_ts),
            client_ts,
        };
        self.transmit.push_back(connect.to_text());
        // The server starts from nothing on every socket.
        self.remote.restart();
        self.local.restart();
        self.session = Session { catching_up: Some(self.requests.ids()), ..Session::default() };
        self.resume(now);
        self.note_state();
    }

    /// The runtime could not open socket `socket` (the browser refused to create it: a
    /// Content-Security-Policy, a bad URL). The error shows in
    /// [`ConnectionState::last_connection_error`]; the engine tries again after a backoff.
    pub fn handle_open_failed(&mut self, socket: SocketId, error: &str, now: Duration) {
        if self.connection.current() != Some(socket) {
            return;
        }
        self.events.push_back(Event::Warning(format!("cannot open a WebSocket: {error}")));
        self.connection.failed(error.to_string(), now);
        self.socket_gone();
        self.note_state();
    }

    /// A text frame arrived on `socket`.
    pub fn handle_text(&mut self, socket: SocketId, text: &str, now: Duration) {
        match ServerMessage::parse(text) {
            Ok(message) => self.handle_message(socket, message, now),
            Err(e) => self.protocol_error(socket, e, now),
        }
    }

    /// A frame that could not be decoded arrived on `socket`: the socket is replaced.
    pub fn protocol_error(&mut self, socket: SocketId, error: MalformedMessage, now: Duration) {
        if self.connection.current() != Some(socket) {
            return;
        }
        self.events.push_back(Event::Warning(format!("{error}; reconnecting")));
        self.restart_socket(now);
        self.note_state();
    }

    /// A decoded message arrived on `socket`.
    pub fn handle_message(&mut self, socket: SocketId, message: ServerMessage, now: Duration) {
        if !self.connection.heard(socket, now) {
            return;
        }
        match message {
            ServerMessage::Transition { start_version, end_version, modifications } => {
                self.on_transition(socket, start_version, end_version, modifications, now)
            }
            ServerMessage::TransitionChunk { chunk, part_number, total_parts, transition_id } => {
                match self.remote.add_chunk(chunk, part_number, total_parts, transition_id) {
                    Ok(None) => {}
                    Ok(Some(text)) => match ServerMessage::parse(&text) {
                        Ok(message @ ServerMessage::Transition { .. }) => {
                            return self.handle_message(socket, message, now)
                        }
                        Ok(_) => self.protocol_error(
                            socket,
                            MalformedMessage("TransitionChunks must join into a Transition".into()),
                            now,
                        ),
                        Err(e) => self.protocol_error(socket, e, now),
                    },
                    Err(e) => self.protocol_error(socket, e, now),
                }
            }
            ServerMessage::MutationResponse { request_id, result, ts, log_lines } => {
                self.on_mutation_response(request_id, result, ts, log_lines)
            }
            ServerMessage::ActionResponse { request_id, result, log_lines } => {
                let result = result.map_err(payload_error);
                if let Some((completion, path)) = self.requests.action_response(request_id, result)
                {
                    self.log(path, FunctionKind::Action, log_lines);
                    self.complete(vec![completion]);
                }
            }
            ServerMessage::AuthError { error, base_version, auth_update_attempted } => {
                self.on_auth_error(error, base_version, auth_update_attempted, now)
            }
            ServerMessage::FatalError { error } => {
                self.events.push_back(Event::Warning(format!("Convex server error: {error}")));
                if let Some(id) = self.connection.current() {
                    self.events.push_back(Event::CloseSocket { socket: id });
                }
                self.connection.fatal(error.clone());
                self.stop(ConvexError::Fatal(error));
            }
            ServerMessage::Ping => {}
        }
        self.check_caught_up();
        self.note_state();
    }

    /// The socket closed (or failed to open). `reason` is the close frame's reason.
    pub fn handle_close(&mut self, socket: SocketId, reason: Option<&str>, now: Duration) {
        if self.connection.current() != Some(socket) {
            return;
        }
        let reason = reason.filter(|r| !r.is_empty());
        let kind = reason.map(CloseKind::of_server_reason).unwrap_or(CloseKind::Other);
        self.connection.lost(reason.unwrap_or("Unknown").to_string(), kind, now);
        self.socket_gone();
        self.note_state();
    }

    /// A timer passed.
    pub fn handle_timeout(&mut self, now: Duration) {
        match self.connection.expired(now) {
            Some(Expired::Reconnect) => self.open_socket(now),
            Some(Expired::Silent) => {
                self.events.push_back(Event::Warning(
                    "the Convex server has been silent too long; reconnecting".into(),
                ));
                self.restart_socket(now);
            }
            Some(Expired::ConnectTimedOut) => {
                if let Some(id) = self.connection.current() {
                    self.events.push_back(Event::CloseSocket { socket: id });
                }
                self.events.push_back(Event::Warning(
                    "the WebSocket did not open in time; retrying".into(),
                ));
                self.connection.failed("the WebSocket did not open in time".into(), now);
                self.socket_gone();
            }
            None => {}
        }
        self.auth.handle_timeout(now);
        self.note_state();
    }

    /// The browser reports it is online again: reconnect at once instead of waiting, and
    /// replace a socket that went quiet (or never opened) meanwhile.
    pub fn handle_online(&mut self, now: Duration) {
        self.revive(now);
    }

    /// The tab became visible (or hidden). A socket that went quiet while the tab was hidden
    /// (or is stuck connecting) is replaced at once, and a pending reconnect happens now
    /// (convex-js #183).
    pub fn handle_visibility(&mut self, visible: bool, now: Duration) {
        if visible {
            self.revive(now);
        }
    }

    fn revive(&mut self, now: Duration) {
        if self.connection.is_zombie(now) {
            self.restart_socket(now);
        }
        if self.connection.reconnect_now() {
            self.open_socket(now);
        }
        self.note_state();
    }

    /// The token for fetch `request`: `None` when the auth source has none.
    pub fn handle_token(&mut self, request: TokenRequestId, token: Option<String>, now: Duration) {
        self.change_auth(|auth| auth.token_fetched(request, token, now));
        self.resume(now);
        self.note_state();
    }

    // ----- internals -----

    /// Applies an auth change and everything that follows from it: a new identity hides the
    /// previous one's results and fails its requests that are not on the wire; the server is
    /// told the new token (or the sign-out).
    fn change_auth(&mut self, change: impl FnOnce(&mut Authentication)) {
        let before = self.auth.principal();
        change(&mut self.auth);
        let after = self.auth.principal();
        if before != after {
            let generation = self.connection.open_socket().map(|_| self.remote.generation());
            let failed = self.requests.identity_changed(after, generation);
            self.complete(failed);
            // Which results are visible changed; recompute the optimistic layer as well.
            let mut changed = IdSet::new();
            for (query, r) in self.remote.iter() {
                if r.principal == before || r.principal == after {
                    changed.insert(*query);
                }
            }
            self.recompute_visible(changed);
        }
        self.sync_auth();
        self.note_state();
    }

    /// Whether session traffic (query set, requests) may go out now: not while a token that
    /// decides the identity is awaited.
    fn can_send(&self) -> bool {
        self.connection.open_socket().is_some() && self.session.started && !self.auth.blocking()
    }

    fn open_socket(&mut self, now: Duration) {
        if self.auth.blocking() && self.connection.connection_count() > 0 {
            // Recovering from an auth refusal: reconnect once the new token is here.
            self.connection.hold();
            return;
        }
        let id = self.connection.open(now);
        self.events.push_back(Event::OpenSocket { socket: id });
    }

    /// The client closes the current socket itself and reconnects quickly.
    fn restart_socket(&mut self, now: Duration) {
        if let Some(id) = self.connection.current() {
            self.events.push_back(Event::CloseSocket { socket: id });
            self.connection.lost("ClientRestart".into(), CloseKind::Client, now);
            self.socket_gone();
        }
    }

    /// After the connection lost its socket: what was in flight on it.
    fn socket_gone(&mut self) {
        self.session = Session::default();
        self.transmit.clear();
        self.remote.socket_lost();
        let lost = self.requests.socket_lost();
        self.complete(lost);
        // A request made as an identity that is no longer current cannot be re-sent.
        let failed = self.requests.identity_changed(self.auth.principal(), None);
        self.complete(failed);
    }

    /// Lets held-back traffic go once no token is awaited: on an open socket, the session
    /// setup (or the requests made meanwhile); with no socket, a reconnect that was waiting.
    fn resume(&mut self, now: Duration) {
        if self.auth.blocking() {
            return;
        }
        match self.connection.state() {
            SocketState::Open { .. } if !self.session.started => self.start_session(),
            SocketState::Open { .. } => self.send_waiting(),
            SocketState::Disconnected if self.connection.release() => self.open_socket(now),
            _ => {}
        }
    }

    /// Sends Authenticate, the whole query set and every unfinished request on a new socket.
    fn start_session(&mut self) {
        self.session.started = true;
        if self.auth.token().is_none() {
            // No Authenticate: the server's identity version 0 is anonymous.
            self.established = Principal::Anonymous;
        }
        self.sync_auth();
        self.flush_query_set();
        let mut out = Vec::new();
        self.requests.resend_committed(self.auth.principal(), &mut out);
        self.transmit.extend(out.iter().map(ClientMessage::to_text));
        self.send_waiting();
    }

    /// Tells the server the current token (or the sign-out) if it has another one.
    fn sync_auth(&mut self) {
        if !self.can_send() {
            return;
        }
        let token = self.auth.token();
        let want = token.map(|t| t.seq);
        if want == self.session.last_seq() {
            return;
        }
        let message = ClientMessage::Authenticate {
            base_version: self.session.sent_auth.len() as u32,
            token: token.map_or(AuthToken::None, |t| AuthToken::User(t.text.clone())),
        };
        // Unsubscriptions made just before go first: those queries must not re-run as the
        // new identity. Subscriptions go after, to run as it.
        if let Some(removals) = self.local.take_removals() {
            self.transmit.push_back(removals.to_text());
        }
        self.session.sent_auth.push(SentAuth { principal: self.auth.principal(), seq: want });
        self.transmit.push_back(message.to_text());
    }

    fn send_waiting(&mut self) {
        if !self.can_send() {
            return;
        }
        // Subscriptions made before a request reach the server first, so the Transition that
        // completes a mutation already carries their results (read-your-writes).
        self.flush_query_set();
        let mut out = Vec::new();
        let failed =
            self.requests.send_waiting(self.remote.generation(), self.auth.principal(), &mut out);
        self.transmit.extend(out.iter().map(ClientMessage::to_text));
        self.complete(failed);
    }

    fn flush_query_set(&mut self) {
        if !self.can_send() {
            return;
        }
        if let Some(message) = self.local.take_modification() {
            self.transmit.push_back(message.to_text());
        }
    }

    fn log(&mut self, udf_path: String, kind: FunctionKind, lines: Vec<String>) {
        if !lines.is_empty() {
            self.events.push_back(Event::ServerLog { udf_path, kind, lines });
        }
    }

    fn on_auth_error(
        &mut self,
        error: String,
        base_version: Option<u32>,
        auth_update_attempted: Option<bool>,
        now: Duration,
    ) {
        if auth_update_attempted == Some(false) && self.auth.confirming() {
            // About the token being replaced, not the new one.
            return;
        }
        if base_version.is_some_and(|base| base + 1 < self.session.sent_auth.len() as u32) {
            // About an earlier Authenticate than the latest.
            return;
        }
        self.events.push_back(Event::Warning(format!("Convex refused the auth token: {error}")));
        // A recovery fetch, or (nothing more to try) a sign-out.
        self.change_auth(|auth| {
            auth.refused();
        });
        // The server closes the socket after an AuthError; reconnect with the outcome (held
        // until a recovery token arrives).
        self.restart_socket(now);
    }

    fn on_transition(
        &mut self,
        socket: SocketId,
        start: super::protocol::StateVersion,
        end: super::protocol::StateVersion,
        modifications: Vec<super::protocol::StateModification>,
        now: Duration,
    ) {
        let Some(principal) = self.session.principal_at(end.identity) else {
            let error = format!(
                "Transition to identity version {} but only {} Authenticate were sent",
                end.identity,
                self.session.sent_auth.len()
            );
            return self.protocol_error(socket, MalformedMessage(error), now);
        };
        for modification in &modifications {
            if let super::protocol::StateModification::QueryUpdated { query_id, journal, .. }
            | super::protocol::StateModification::QueryFailed { query_id, journal, .. } =
                modification
            {
                self.local.set_journal(*query_id, journal.as_ref());
            }
        }
        let mut logs = Vec::new();
        let local = &self.local;
        let changed = match self.remote.apply(
            start,
            end,
            modifications,
            principal,
            |q| local.contains(q),
            &mut logs,
        ) {
            Ok(changed) => changed,
            Err(e) => return self.protocol_error(socket, e, now),
        };
        for (query, lines) in logs {
            if let Some(q) = self.local.get(query) {
                let path = q.path.clone();
                self.log(path, FunctionKind::Query, lines);
            }
        }
        if end.identity != start.identity {
            if let Some(sent) = self.session.sent_auth.get(end.identity as usize - 1).copied() {
                self.established = sent.principal;
                if let Some(seq) = sent.seq {
                    self.auth.confirmed(seq);
                }
            }
        }
        // Mutations whose commit this Transition reaches complete now, after their effect is
        // on screen; their optimistic updates go in the same step.
        let completions = match self.visible_ts() {
            Some(ts) => self.requests.completed_at(ts),
            None => Vec::new(),
        };
        self.recompute_visible(changed);
        for c in completions {
            self.push_completion(c);
        }
    }

    /// The timestamp every shown result has reached: `None` while some query still shows a
    /// previous socket's result.
    fn visible_ts(&self) -> Option<u64> {
        (!self.remote.any_stale()).then(|| self.remote.version().ts)
    }

    fn on_mutation_response(
        &mut self,
        request: RequestId,
        result: Result<RawValue, ErrorPayload>,
        ts: Option<u64>,
        log_lines: Vec<String>,
    ) {
        let Some(path) = self.requests.get(request).map(|r| r.path.clone()) else { return };
        self.log(path, FunctionKind::Mutation, log_lines);
        let visible = self.visible_ts();
        let result = result.map_err(payload_error);
        if let Some(completion) = self.requests.mutation_response(request, result, ts, visible) {
            self.complete(vec![completion]);
        }
    }

    /// Reports completed requests; rolls back or drops their optimistic updates.
    fn complete(&mut self, completions: Vec<Completion>) {
        if completions.is_empty() {
            return;
        }
        if completions.iter().any(|c| c.had_update) {
            self.recompute_visible(IdSet::new());
        }
        for c in completions {
            self.push_completion(c);
        }
    }

    fn push_completion(&mut self, c: Completion) {
        self.events.push_back(match c.kind {
            FunctionKind::Action => Event::ActionDone { request: c.request, result: c.result },
            _ => Event::MutationDone { request: c.request, result: c.result },
        });
    }

    /// Replays the current identity's optimistic updates over the visible server results and
    /// reports each query whose visible result differs from before (plus `changed`, whose
    /// server result moved).
    fn recompute_visible(&mut self, mut changed: IdSet<QueryId>) {
        let principal = self.auth.principal();
        let updates: Vec<RequestId> = self
            .requests
            .with_updates()
            .into_iter()
            .filter(|id| self.requests.get(*id).is_some_and(|r| r.principal == principal))
            .collect();
        let old_overlay = std::mem::take(&mut self.overlay);
        if !updates.is_empty() {
            let mut overlay = HashMap::new();
            let mut touched = HashSet::new();
            for id in updates {
                self.run_update(id, &mut overlay, &mut touched);
            }
            self.overlay = overlay;
        }
        for (id, before) in &old_overlay {
            let same = match (before, self.overlay.get(id)) {
                (Some(a), Some(Some(b))) => a == b,
                (None, Some(None)) => true,
                (Some(a), None) => {
                    matches!(self.visible_remote(*id), Some(Ok(b)) if a == b)
                }
                _ => false,
            };
            if !same {
                changed.insert(*id);
            }
        }
        for id in self.overlay.keys() {
            if !old_overlay.contains_key(id) {
                changed.insert(*id);
            }
        }
        self.emit_changed(changed);
    }

    fn run_update(
        &self,
        request: RequestId,
        overlay: &mut HashMap<QueryId, Option<RawValue>>,
        touched: &mut HashSet<QueryId>,
    ) {
        let Some(update) = self.requests.get(request).and_then(|r| r.optimistic.as_ref()) else {
            return;
        };
        let queries = self
            .local
            .iter()
            .map(|(id, q)| {
                let value = match self.visible_remote(*id) {
                    Some(Ok(v)) => Some(v.clone()),
                    _ => None,
                };
                (*id, QueryView { path: &q.path, args: q.args(), args_key: &q.args_json, value })
            })
            .collect();
        let mut store = LocalStore { queries, overlay, touched };
        update(&mut store);
    }

    fn apply_new_optimistic(&mut self, request: RequestId) {
        let mut overlay = std::mem::take(&mut self.overlay);
        let before = overlay.clone();
        let mut touched = HashSet::new();
        self.run_update(request, &mut overlay, &mut touched);
        self.overlay = overlay;
        let mut changed = IdSet::new();
        for id in touched {
            if before.get(&id) != self.overlay.get(&id) || !before.contains_key(&id) {
                changed.insert(id);
            }
        }
        self.emit_changed(changed);
    }

    fn emit_changed(&mut self, changed: IdSet<QueryId>) {
        for query in changed {
            if self.local.contains(query) {
                self.events.push_back(Event::QueryChanged { query });
            }
        }
    }

    /// After a reconnect, the backoff resets once everything is back: requests from before the
    /// reconnect are done, every query has a fresh result, and auth is settled.
    fn check_caught_up(&mut self) {
        let Some(waiting) = &self.session.catching_up else { return };
        if !self.session.started {
            return;
        }
        let requests_done = waiting.iter().all(|id| !self.requests.contains(*id));
        // Queries added but not yet sent cannot have results; they do not hold the reset back.
        let queries_fresh = self.local.ids().all(|id| {
            self.local.is_unsent(id) || self.remote.get(id).is_some() && !self.remote.is_stale(id)
        });
        if requests_done && queries_fresh && self.auth.settled() {
            self.session.catching_up = None;
            self.connection.reset_backoff();
        }
    }

    /// Emits `ConnectionChanged` / `AuthStateChanged` when those states moved.
    fn note_state(&mut self) {
        let state = self.connection_state();
        if state != self.last_state {
            self.last_state = state;
            self.events.push_back(Event::ConnectionChanged);
        }
        let auth = (self.auth_status(), self.is_refreshing(), self.identity_settled());
        if auth != self.last_auth_state {
            self.last_auth_state = auth;
            self.events.push_back(Event::AuthStateChanged);
        }
    }
}
