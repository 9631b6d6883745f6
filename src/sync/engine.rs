//! The sync engine: Convex's client protocol as a state machine with no I/O.
//!
//! # API families (as in quinn-proto)
//! - **Commands** from the application: [`SyncEngine::subscribe`], [`SyncEngine::unsubscribe`],
//!   [`SyncEngine::mutation`], [`SyncEngine::action`], [`SyncEngine::set_auth`],
//!   [`SyncEngine::clear_auth`], [`SyncEngine::close`].
//! - **Inputs** from the runtime (`handle_*`): socket opened / text received / closed, a token
//!   fetched, a timer fired, the browser went online or a tab became visible.
//! - **Outputs**, polled until `None` after every input or command:
//!   [`SyncEngine::poll_transmit`] (frames to send on the current socket),
//!   [`SyncEngine::poll_event`] (sockets to open/close, tokens to fetch, results to deliver),
//!   [`SyncEngine::poll_timeout`] (the next deadline; call `handle_timeout` then).
//! - **Getters**: [`SyncEngine::query_result`], [`SyncEngine::connection_state`],
//!   [`SyncEngine::auth_status`].
//!
//! Time is an input: every call that needs it takes `now`, a [`Duration`] since any fixed
//! origin the runtime chooses (the engine never reads a clock).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
    time::Duration,
};

use serde_json::value::RawValue;

use super::{
    backoff::{Backoff, CloseKind, MAX_BACKOFF},
    canonical_path,
    error::ConvexError,
    optimistic::{LocalStore, OptimisticUpdate, QueryView},
    protocol::{
        AuthToken, ClientMessage, ErrorPayload, MalformedMessage, QueryId, QuerySetModification,
        RequestId, ServerMessage, StateModification, StateVersion,
    },
    timer::{Timer, TimerTable},
    token::refresh_delay,
};
use crate::value::{encode_args, encode_ts, Value};

/// A query's result: its value (decoded once and shared) or its error.
pub type QueryResult = Result<Arc<Value>, ConvexError>;

/// Identifies one `subscribe` call (several may share a query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// Identifies one WebSocket the engine asked the runtime to open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketId(pub u64);

/// Identifies one token fetch (answers to superseded fetches are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenRequestId(pub u64);

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
    /// Open a WebSocket to the sync URL; report it with `handle_open` / `handle_close`.
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
    /// The server confirmed a token (true) or auth ended (false).
    AuthChanged {
        /// Whether the client is now authenticated.
        authenticated: bool,
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
    /// Refresh a token this long before it expires. Default: `10 s`.
    pub auth_refresh_leeway: Duration,
    /// Longest reconnect backoff. Default: `16 s`.
    pub max_backoff: Duration,
    /// When a hidden tab becomes visible and the server has been silent this long, the socket
    /// is presumed dead and replaced at once. Default: `20 s` (the server pings every 15 s).
    pub zombie_threshold: Duration,
    /// Seed for the backoff jitter. Default: `0x5eed`.
    pub jitter_seed: u64,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            inactivity_timeout: Duration::from_secs(60),
            auth_refresh_leeway: Duration::from_secs(10),
            max_backoff: MAX_BACKOFF,
            zombie_threshold: Duration::from_secs(20),
            jitter_seed: 0x5eed,
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
    /// The server ended the connection for good.
    pub fatal_error: Option<String>,
}

/// Where authentication stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    /// No token in use.
    Unauthenticated,
    /// A token is being fetched or awaits the server's confirmation.
    Loading,
    /// The server accepted the token.
    Authenticated,
}

#[derive(Debug, Clone, PartialEq)]
enum Socket {
    /// No socket; the Reconnect timer (or a token) will bring one.
    Disconnected,
    /// Asked the runtime to open this socket.
    Connecting(SocketId),
    /// Open.
    Open { id: SocketId, last_heard: Duration },
    /// Closed by the application or by a FatalError; never reopened.
    Stopped,
}

struct LocalQuery {
    path: String,
    /// JSON text of `[args]` (what is sent, and the dedup key).
    args_json: String,
    /// The args as a value, decoded from `args_json` only if someone asks (optimistic
    /// updates, `query_info`): most queries never need it, and it would cost memory.
    args: std::cell::OnceCell<Value>,
    subscribers: usize,
}

impl LocalQuery {
    fn args(&self) -> &Value {
        self.args.get_or_init(|| {
            serde_json::from_str::<(Value,)>(&self.args_json)
                .map(|(v,)| v)
                .unwrap_or_else(|_| Value::Object(Default::default()))
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum RequestStatus {
    NotSent,
    Requested,
    /// Succeeded at `ts`; completes once a Transition reaches `ts`.
    Committed {
        ts: u64,
        value: Arc<Value>,
    },
}

struct Request {
    kind: FunctionKind,
    path: String,
    args_json: String,
    status: RequestStatus,
    made_at: Duration,
    optimistic: Option<OptimisticUpdate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FetchPurpose {
    /// `set_auth`: the first token for this auth source.
    Initial,
    /// Scheduled refresh (or fresh token after a cached one was confirmed).
    Refresh,
    /// The server rejected the token: one forced retry.
    Recovery,
}

#[derive(Debug, Clone)]
struct TokenFetch {
    id: TokenRequestId,
    force: bool,
    purpose: FetchPurpose,
}

#[derive(Debug, Clone, PartialEq)]
enum Auth {
    /// No auth source, or it has no token.
    None,
    /// `set_auth` called; the first token is on its way. `previous` keeps the token of a
    /// replaced auth source so no unauthenticated state is sent meanwhile.
    Fetching { previous: Option<String> },
    /// Authenticate sent (or to be sent on the next socket); awaiting an identity bump.
    Confirming { token: String, from_cache: bool, attempts: u32, fetched_at: Duration },
    /// Confirmed by the server.
    Authenticated { token: String, fetched_at: Duration },
}

impl Auth {
    fn token(&self) -> Option<&str> {
        match self {
            Auth::Confirming { token, .. } | Auth::Authenticated { token, .. } => Some(token),
            Auth::Fetching { previous } => previous.as_deref(),
            Auth::None => None,
        }
    }
}

/// The protocol state machine. See the module docs for the call order.
pub struct SyncEngine {
    config: SyncConfig,
    session_id: String,
    socket: Socket,
    next_socket: u64,
    connection_count: u32,
    has_ever_connected: bool,
    last_close_reason: Option<String>,
    /// The current socket's session setup (Authenticate, query set, requests) was sent.
    session_started: bool,
    max_observed_ts: Option<u64>,
    fatal_error: Option<String>,

    queries: super::idmap::IdMap<LocalQuery>,
    by_key: HashMap<(String, String), QueryId>,
    subscriptions: HashMap<SubscriptionId, QueryId>,
    next_query_id: QueryId,
    next_subscription: u64,
    pending_mods: Vec<QuerySetModification>,
    /// Query-set version the server will have after our last ModifyQuerySet.
    query_set_version: u32,

    remote_version: StateVersion,
    remote: HashMap<QueryId, QueryResult>,
    /// Queries showing a result from a previous socket until this socket brings theirs.
    stale: HashSet<QueryId>,
    overlay: HashMap<QueryId, Option<Arc<Value>>>,
    chunks: Option<(String, u32, Vec<String>)>,

    requests: super::idmap::IdMap<Request>,
    next_request_id: RequestId,
    /// Requests outstanding when the current socket opened (catch-up tracking).
    catching_up: Option<HashSet<RequestId>>,

    auth: Auth,
    fetch: Option<TokenFetch>,
    /// A reconnect waits for a token (after an auth error).
    reconnect_held: bool,
    next_fetch: u64,
    /// Authenticate messages sent on the current socket.
    auth_sent: u32,
    /// While the identity changes (new auth source, sign-out): the server identity version at
    /// which results become the new identity's (`UNSENT` until that Authenticate is sent).
    identity_target: Option<u32>,
    last_auth_state: (AuthStatus, bool, bool),
    reported_auth: Option<bool>,
    rejected_token: Option<String>,

    backoff: Backoff,
    timers: TimerTable,
    transmit: VecDeque<String>,
    events: VecDeque<Event>,
    last_state: ConnectionState,
}

/// `identity_target` before the identity-changing Authenticate is sent.
const UNSENT: u32 = u32::MAX;

fn raw(json: &str) -> Box<RawValue> {
    // `json` always comes from `encode_args`, which produces valid JSON.
    RawValue::from_string(json.to_string())
        .unwrap_or_else(|_| RawValue::from_string("[{}]".into()).expect("literal JSON"))
}

fn payload_error(e: ErrorPayload) -> ConvexError {
    ConvexError::Function { message: e.message, data: e.data }
}

impl SyncEngine {
    /// A new engine for a client whose session id is `session_id` (a UUID, kept for the
    /// client's whole life). It asks for its first socket at once.
    pub fn new(config: SyncConfig, session_id: String) -> Self {
        let backoff = Backoff::new(config.jitter_seed, config.max_backoff);
        let mut engine = Self {
            config,
            session_id,
            socket: Socket::Disconnected,
            next_socket: 0,
            connection_count: 0,
            has_ever_connected: false,
            last_close_reason: Some("InitialConnect".into()),
            session_started: false,
            max_observed_ts: None,
            fatal_error: None,
            queries: super::idmap::IdMap::new(),
            by_key: HashMap::new(),
            subscriptions: HashMap::new(),
            next_query_id: 0,
            next_subscription: 0,
            pending_mods: Vec::new(),
            query_set_version: 0,
            remote_version: StateVersion::default(),
            remote: HashMap::new(),
            stale: HashSet::new(),
            overlay: HashMap::new(),
            chunks: None,
            requests: super::idmap::IdMap::new(),
            next_request_id: 0,
            catching_up: None,
            auth: Auth::None,
            fetch: None,
            reconnect_held: false,
            next_fetch: 0,
            auth_sent: 0,
            identity_target: None,
            last_auth_state: (AuthStatus::Unauthenticated, false, true),
            reported_auth: None,
            rejected_token: None,
            backoff,
            timers: TimerTable::default(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            last_state: ConnectionState::default(),
        };
        engine.open_socket();
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
        self.events.pop_front()
    }

    /// The earliest deadline; call [`SyncEngine::handle_timeout`] when it passes.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next()
    }

    // ----- getters -----

    /// The visible result of `query` (server result with optimistic updates applied); `None`
    /// while it loads.
    pub fn query_result(&self, query: QueryId) -> Option<QueryResult> {
        match self.overlay.get(&query) {
            Some(Some(value)) => Some(Ok(value.clone())),
            Some(None) => None,
            None => self.remote.get(&query).cloned(),
        }
    }

    /// The function and args of `query`.
    pub fn query_info(&self, query: QueryId) -> Option<(&str, &Value)> {
        self.queries.get(&query).map(|q| (q.path.as_str(), q.args()))
    }

    /// The connection as the application may show it.
    pub fn connection_state(&self) -> ConnectionState {
        let inflight = || self.requests.values();
        ConnectionState {
            is_websocket_connected: matches!(self.socket, Socket::Open { .. }),
            has_ever_connected: self.has_ever_connected,
            connection_count: self.connection_count,
            connection_retries: self.backoff.retries(),
            has_inflight_requests: !self.requests.is_empty(),
            inflight_mutations: inflight().filter(|r| r.kind == FunctionKind::Mutation).count(),
            inflight_actions: inflight().filter(|r| r.kind == FunctionKind::Action).count(),
            time_of_oldest_inflight_request: inflight().map(|r| r.made_at).min(),
            fatal_error: self.fatal_error.clone(),
        }
    }

    /// Where authentication stands.
    pub fn auth_status(&self) -> AuthStatus {
        match &self.auth {
            Auth::None => AuthStatus::Unauthenticated,
            Auth::Authenticated { .. } => AuthStatus::Authenticated,
            // A refresh keeps the client authenticated while the new token is confirmed.
            Auth::Confirming { .. } | Auth::Fetching { previous: Some(_) }
                if self.reported_auth == Some(true) =>
            {
                AuthStatus::Authenticated
            }
            Auth::Confirming { .. } | Auth::Fetching { .. } => AuthStatus::Loading,
        }
    }

    /// Whether the results on screen belong to the current identity. After `set_auth` or
    /// `clear_auth` (a sign-in, a sign-out, another user) this is false until the server has
    /// re-run every query under the new identity; a token refresh for the same user never
    /// makes it false. Show no result while it is false (convex-js #152).
    pub fn identity_settled(&self) -> bool {
        self.identity_target.is_none()
    }

    /// A token refresh is under way (the client stays authenticated meanwhile).
    pub fn is_refreshing(&self) -> bool {
        matches!(self.fetch, Some(TokenFetch { purpose: FetchPurpose::Refresh, .. }))
            || (matches!(self.auth, Auth::Confirming { .. }) && self.reported_auth == Some(true))
    }

    /// The visible result of the query `path` with `args`, if some subscription has it.
    pub fn lookup(&self, path: &str, args: &Value) -> Option<QueryResult> {
        let args_json = encode_args(args).ok()?;
        let query = self.by_key.get(&(canonical_path(path), args_json))?;
        self.query_result(*query)
    }

    // ----- commands -----

    /// Subscribes to the query `path` with `args` (an object). Subscriptions to the same
    /// function and args share one server query.
    pub fn subscribe(
        &mut self,
        path: &str,
        args: &Value,
    ) -> Result<(SubscriptionId, QueryId), ConvexError> {
        let args_json = encode_args(args).map_err(ConvexError::InvalidArgs)?;
        let path = canonical_path(path);
        let query = match self.by_key.get(&(path.clone(), args_json.clone())) {
            Some(id) => *id,
            None => {
                let id = self.next_query_id;
                self.next_query_id += 1;
                self.by_key.insert((path.clone(), args_json.clone()), id);
                self.pending_mods.push(QuerySetModification::Add {
                    query_id: id,
                    udf_path: path.clone(),
                    args: raw(&args_json),
                    journal: None,
                });
                self.queries.insert(
                    id,
                    LocalQuery {
                        path,
                        args_json,
                        args: std::cell::OnceCell::new(),
                        subscribers: 0,
                    },
                );
                id
            }
        };
        if let Some(q) = self.queries.get_mut(&query) {
            q.subscribers += 1;
        }
        let sub = SubscriptionId(self.next_subscription);
        self.next_subscription += 1;
        self.subscriptions.insert(sub, query);
        Ok((sub, query))
    }

    /// Drops a subscription; the server query goes when its last subscriber does.
    pub fn unsubscribe(&mut self, sub: SubscriptionId) {
        let Some(query) = self.subscriptions.remove(&sub) else { return };
        let Some(local) = self.queries.get_mut(&query) else { return };
        local.subscribers -= 1;
        if local.subscribers > 0 {
            return;
        }
        if let Some(local) = self.queries.remove(&query) {
            let key = (local.path, local.args_json);
            self.by_key.remove(&key);
        }
        self.remote.remove(&query);
        self.overlay.remove(&query);
        self.stale.remove(&query);
        // An Add not yet sent is simply withdrawn.
        let before = self.pending_mods.len();
        self.pending_mods.retain(
            |m| !matches!(m, QuerySetModification::Add { query_id, .. } if *query_id == query),
        );
        if self.pending_mods.len() == before {
            self.pending_mods.push(QuerySetModification::Remove { query_id: query });
        }
    }

    /// Runs a mutation. It completes (an [`Event::MutationDone`]) once its effect is visible in
    /// every subscribed query, or at once if it fails. `optimistic` edits results locally until
    /// then.
    pub fn mutation(
        &mut self,
        path: &str,
        args: &Value,
        optimistic: Option<OptimisticUpdate>,
        now: Duration,
    ) -> Result<RequestId, ConvexError> {
        let id = self.request(FunctionKind::Mutation, path, args, now)?;
        if let Some(update) = optimistic {
            if let Some(request) = self.requests.get_mut(&id) {
                request.optimistic = Some(update);
            }
            self.apply_new_optimistic(id);
        }
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
        self.request(FunctionKind::Action, path, args, now)
    }

    fn request(
        &mut self,
        kind: FunctionKind,
        path: &str,
        args: &Value,
        now: Duration,
    ) -> Result<RequestId, ConvexError> {
        if let Some(fatal) = &self.fatal_error {
            return Err(ConvexError::Fatal(fatal.clone()));
        }
        if self.socket == Socket::Stopped {
            return Err(ConvexError::Closed);
        }
        let args_json = encode_args(args).map_err(ConvexError::InvalidArgs)?;
        let id = self.next_request_id;
        self.next_request_id += 1;
        self.requests.insert(
            id,
            Request {
                kind,
                path: canonical_path(path),
                args_json,
                status: RequestStatus::NotSent,
                made_at: now,
                optimistic: None,
            },
        );
        if self.can_send() {
            self.send_request(id);
        }
        self.note_state();
        Ok(id)
    }

    /// Uses an auth source. The runtime is asked for a token (`FetchToken`); queries and
    /// requests wait for it, so nothing runs under a wrong identity. Replacing a source that
    /// already has a token keeps that token in use until the new one arrives (no transient
    /// signed-out state, convex-js #82).
    pub fn set_auth(&mut self, now: Duration) {
        let _ = now;
        let previous = self.auth.token().map(str::to_string);
        self.auth = Auth::Fetching { previous };
        self.identity_target = Some(UNSENT);
        self.rejected_token = None;
        self.timers.stop(Timer::AuthRefresh);
        self.start_fetch(false, FetchPurpose::Initial);
        self.note_state();
    }

    /// Stops using auth: the server is told the client is signed out.
    pub fn clear_auth(&mut self) {
        self.fetch = None;
        self.sign_out();
        // Anything held back for a token goes now.
        self.resume();
        self.note_state();
    }

    /// Closes the client for good: the socket closes, incomplete requests fail with
    /// [`ConvexError::Closed`].
    pub fn close(&mut self) {
        self.stop(ConvexError::Closed);
    }

    fn stop(&mut self, error: ConvexError) {
        if let Socket::Connecting(id) | Socket::Open { id, .. } = self.socket {
            self.events.push_back(Event::CloseSocket { socket: id });
        }
        self.socket = Socket::Stopped;
        self.timers = TimerTable::default();
        self.transmit.clear();
        let requests = std::mem::take(&mut self.requests);
        for (request, r) in requests {
            let event = match r.kind {
                FunctionKind::Action => Event::ActionDone { request, result: Err(error.clone()) },
                _ => Event::MutationDone { request, result: Err(error.clone()) },
            };
            self.events.push_back(event);
        }
        self.recompute_visible(super::idmap::IdSet::new());
        self.note_state();
    }

    // ----- inputs -----

    /// The socket opened. `client_ts` is the wall clock in milliseconds, if known.
    pub fn handle_open(&mut self, socket: SocketId, now: Duration, client_ts: Option<u64>) {
        if self.socket != Socket::Connecting(socket) {
            return;
        }
        self.socket = Socket::Open { id: socket, last_heard: now };
        self.has_ever_connected = true;
        self.timers.set(Timer::ServerInactivity, now + self.config.inactivity_timeout);
        let connect = ClientMessage::Connect {
            session_id: self.session_id.clone(),
            connection_count: self.connection_count,
            last_close_reason: self.last_close_reason.clone(),
            max_observed_timestamp: self.max_observed_ts.map(encode_ts),
            client_ts,
        };
        self.connection_count += 1;
        self.transmit.push_back(connect.to_text());
        // The server starts from nothing on every socket.
        self.remote_version = StateVersion::default();
        self.query_set_version = 0;
        self.auth_sent = 0;
        self.session_started = false;
        self.pending_mods.clear();
        self.chunks = None;
        self.stale = self.remote.keys().copied().collect();
        self.catching_up = Some(self.requests.keys().copied().collect());
        self.resume();
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
        if !self.is_current(socket) {
            return;
        }
        self.events.push_back(Event::Warning(format!("{error}; reconnecting")));
        self.restart_socket(now);
    }

    /// A decoded message arrived on `socket`.
    pub fn handle_message(&mut self, socket: SocketId, message: ServerMessage, now: Duration) {
        let Socket::Open { id, .. } = self.socket else { return };
        if id != socket {
            return;
        }
        self.socket = Socket::Open { id, last_heard: now };
        self.timers.set(Timer::ServerInactivity, now + self.config.inactivity_timeout);
        match message {
            ServerMessage::Transition { start_version, end_version, modifications } => {
                self.on_transition(start_version, end_version, modifications, now)
            }
            ServerMessage::TransitionChunk { chunk, part_number, total_parts, transition_id } => {
                self.on_chunk(chunk, part_number, total_parts, transition_id, now)
            }
            ServerMessage::MutationResponse { request_id, result, ts, log_lines } => {
                self.on_mutation_response(request_id, result, ts, log_lines)
            }
            ServerMessage::ActionResponse { request_id, result, log_lines } => {
                self.on_action_response(request_id, result, log_lines)
            }
            ServerMessage::AuthError { error, base_version, auth_update_attempted } => {
                self.on_auth_error(error, base_version, auth_update_attempted, now)
            }
            ServerMessage::FatalError { error } => {
                self.events.push_back(Event::Warning(format!("Convex server error: {error}")));
                self.fatal_error = Some(error.clone());
                self.stop(ConvexError::Fatal(error));
            }
            ServerMessage::Ping => {}
        }
        self.check_caught_up();
        self.note_state();
    }

    /// The socket closed (or failed to open). `reason` is the close frame's reason.
    pub fn handle_close(&mut self, socket: SocketId, reason: Option<&str>, now: Duration) {
        if !self.is_current(socket) {
            return;
        }
        let reason = reason.filter(|r| !r.is_empty());
        let kind = reason.map(CloseKind::of_server_reason).unwrap_or(CloseKind::Other);
        self.socket_gone(reason.unwrap_or("Unknown").to_string(), kind, now);
    }

    /// A timer passed.
    pub fn handle_timeout(&mut self, now: Duration) {
        for timer in self.timers.expire(now) {
            match timer {
                Timer::Reconnect => {
                    if self.socket == Socket::Disconnected {
                        self.open_socket();
                    }
                }
                Timer::ServerInactivity => {
                    if matches!(self.socket, Socket::Open { .. }) {
                        self.events.push_back(Event::Warning(
                            "the Convex server has been silent too long; reconnecting".into(),
                        ));
                        self.restart_socket(now);
                    }
                }
                Timer::AuthRefresh => {
                    if matches!(self.auth, Auth::Authenticated { .. } | Auth::Confirming { .. })
                        && self.fetch.is_none()
                    {
                        self.start_fetch(true, FetchPurpose::Refresh);
                    }
                }
            }
        }
        self.note_state();
    }

    /// The browser reports it is online again: reconnect at once instead of waiting.
    pub fn handle_online(&mut self, now: Duration) {
        if self.socket == Socket::Disconnected {
            let _ = now;
            self.timers.stop(Timer::Reconnect);
            self.open_socket();
            self.note_state();
        }
    }

    /// The tab became visible (or hidden). A socket that went quiet while the tab was hidden
    /// is replaced at once, and a pending reconnect happens now (convex-js #183).
    pub fn handle_visibility(&mut self, visible: bool, now: Duration) {
        if !visible {
            return;
        }
        match self.socket {
            Socket::Disconnected => self.handle_online(now),
            Socket::Open { last_heard, .. }
                if now.saturating_sub(last_heard) >= self.config.zombie_threshold =>
            {
                self.restart_socket(now);
                self.timers.stop(Timer::Reconnect);
                if self.socket == Socket::Disconnected {
                    self.open_socket();
                }
                self.note_state();
            }
            _ => {}
        }
    }

    /// The token for fetch `request`: `None` when the auth source has none.
    pub fn handle_token(&mut self, request: TokenRequestId, token: Option<String>, now: Duration) {
        let Some(fetch) = self.fetch.clone().filter(|f| f.id == request) else { return };
        self.fetch = None;
        let token = token.filter(|t| !t.is_empty());
        match fetch.purpose {
            FetchPurpose::Initial => match token {
                Some(token) => {
                    self.auth = Auth::Confirming {
                        token: token.clone(),
                        from_cache: !fetch.force,
                        attempts: 0,
                        fetched_at: now,
                    };
                    if self.session_started {
                        self.send_authenticate(AuthToken::User(token));
                    }
                }
                // A cache may have nothing: ask once more, bypassing it.
                None if !fetch.force => {
                    self.start_fetch(true, FetchPurpose::Initial);
                }
                None => self.sign_out(),
            },
            FetchPurpose::Refresh => match token {
                Some(token) if Some(token.as_str()) == self.auth.token() => {
                    // The same, still valid token (convex-js #184): not an error. Try again
                    // shortly; the source will rotate it before it expires.
                    let retry = (self.config.auth_refresh_leeway / 2).max(Duration::from_secs(1));
                    self.timers.set(Timer::AuthRefresh, now + retry);
                }
                Some(token) => {
                    self.auth = Auth::Confirming {
                        token: token.clone(),
                        from_cache: false,
                        attempts: 0,
                        fetched_at: now,
                    };
                    if self.session_started {
                        self.send_authenticate(AuthToken::User(token));
                    }
                }
                None => self.sign_out(),
            },
            FetchPurpose::Recovery => {
                let attempts = match &self.auth {
                    Auth::Confirming { attempts, .. } => *attempts + 1,
                    _ => 1,
                };
                match token {
                    Some(token) if Some(&token) != self.rejected_token.as_ref() => {
                        self.auth = Auth::Confirming {
                            token,
                            from_cache: false,
                            attempts,
                            fetched_at: now,
                        };
                    }
                    _ => self.sign_out(),
                }
            }
        }
        self.resume();
        self.note_state();
    }

    // ----- internals -----

    fn is_current(&self, socket: SocketId) -> bool {
        matches!(self.socket, Socket::Connecting(id) | Socket::Open { id, .. } if id == socket)
    }

    /// Whether session traffic (query set, requests) may go out now: not while a token that
    /// decides the identity is awaited.
    fn can_send(&self) -> bool {
        matches!(self.socket, Socket::Open { .. }) && self.session_started && !self.blocking_fetch()
    }

    fn blocking_fetch(&self) -> bool {
        self.fetch.as_ref().is_some_and(|f| f.purpose != FetchPurpose::Refresh)
    }

    fn open_socket(&mut self) {
        if self.blocking_fetch() && self.connection_count > 0 {
            // Recovering from an auth error: reconnect once the new token is here.
            self.reconnect_held = true;
            return;
        }
        let id = SocketId(self.next_socket);
        self.next_socket += 1;
        self.socket = Socket::Connecting(id);
        self.events.push_back(Event::OpenSocket { socket: id });
    }

    /// The client closes the current socket itself and reconnects quickly.
    fn restart_socket(&mut self, now: Duration) {
        if let Socket::Connecting(id) | Socket::Open { id, .. } = self.socket {
            self.events.push_back(Event::CloseSocket { socket: id });
            self.socket_gone("ClientRestart".into(), CloseKind::Client, now);
        }
    }

    fn socket_gone(&mut self, reason: String, kind: CloseKind, now: Duration) {
        self.socket = Socket::Disconnected;
        self.session_started = false;
        self.last_close_reason = Some(reason);
        self.timers.stop(Timer::ServerInactivity);
        self.transmit.clear();
        self.chunks = None;
        // Actions are never re-sent: fail the ones in flight. Mutations are re-sent (the
        // server deduplicates them by session and request id).
        let lost: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.kind == FunctionKind::Action && r.status == RequestStatus::Requested)
            .map(|(id, _)| *id)
            .collect();
        for request in lost {
            self.requests.remove(&request);
            self.events
                .push_back(Event::ActionDone { request, result: Err(ConvexError::ConnectionLost) });
        }
        for r in self.requests.values_mut() {
            if r.status == RequestStatus::Requested {
                r.status = RequestStatus::NotSent;
            }
        }
        let delay = self.backoff.next_delay(kind);
        self.timers.set(Timer::Reconnect, now + delay);
        self.note_state();
    }

    /// Lets held-back traffic go once no token is awaited: on an open socket, the session
    /// setup (or the requests made meanwhile); with no socket, a reconnect that was waiting.
    fn resume(&mut self) {
        if self.blocking_fetch() {
            return;
        }
        match self.socket {
            Socket::Open { .. } if !self.session_started => self.start_session(),
            Socket::Open { .. } => {
                let waiting: Vec<RequestId> = self
                    .requests
                    .iter()
                    .filter(|(_, r)| r.status == RequestStatus::NotSent)
                    .map(|(id, _)| *id)
                    .collect();
                for id in waiting {
                    self.send_request(id);
                }
            }
            Socket::Disconnected if self.reconnect_held => {
                self.reconnect_held = false;
                self.open_socket();
            }
            _ => {}
        }
    }

    /// Sends Authenticate, the whole query set and every unfinished request on a new socket.
    fn start_session(&mut self) {
        self.session_started = true;
        if let Some(token) = self.auth.token().map(str::to_string) {
            self.send_authenticate(AuthToken::User(token));
        }
        let adds: Vec<QuerySetModification> = self
            .queries
            .iter()
            .map(|(id, q)| QuerySetModification::Add {
                query_id: *id,
                udf_path: q.path.clone(),
                args: raw(&q.args_json),
                journal: None,
            })
            .collect();
        self.pending_mods = adds;
        self.flush_query_set();
        // In-flight actions were failed when the old socket went; everything left is re-sent.
        let ids: Vec<RequestId> = self.requests.keys().copied().collect();
        for id in ids {
            self.send_request(id);
        }
    }

    fn flush_query_set(&mut self) {
        if self.pending_mods.is_empty() || !self.can_send() {
            return;
        }
        let modifications = std::mem::take(&mut self.pending_mods);
        let message = ClientMessage::ModifyQuerySet {
            base_version: self.query_set_version,
            new_version: self.query_set_version + 1,
            modifications,
        };
        self.query_set_version += 1;
        self.transmit.push_back(message.to_text());
    }

    fn send_request(&mut self, id: RequestId) {
        // Subscriptions made before the request reach the server first, so the Transition that
        // completes a mutation already carries their results (read-your-writes).
        self.flush_query_set();
        let Some(r) = self.requests.get_mut(&id) else { return };
        // Mutations that committed but are not yet visible are re-sent too: the server answers
        // a duplicate with its recorded result and original timestamp.
        let message = match r.kind {
            FunctionKind::Action => ClientMessage::Action {
                request_id: id,
                udf_path: r.path.clone(),
                args: raw(&r.args_json),
            },
            _ => ClientMessage::Mutation {
                request_id: id,
                udf_path: r.path.clone(),
                args: raw(&r.args_json),
            },
        };
        if !matches!(r.status, RequestStatus::Committed { .. }) {
            r.status = RequestStatus::Requested;
        }
        self.transmit.push_back(message.to_text());
    }

    fn send_authenticate(&mut self, token: AuthToken) {
        if !matches!(self.socket, Socket::Open { .. }) {
            return;
        }
        let message = ClientMessage::Authenticate { base_version: self.auth_sent, token };
        self.auth_sent += 1;
        if self.identity_target.is_some() {
            // The identity changes with this Authenticate: results are current once the
            // server's identity version reaches it.
            self.identity_target = Some(self.auth_sent);
        }
        self.transmit.push_back(message.to_text());
    }

    fn start_fetch(&mut self, force: bool, purpose: FetchPurpose) {
        let id = TokenRequestId(self.next_fetch);
        self.next_fetch += 1;
        self.fetch = Some(TokenFetch { id, force, purpose });
        self.events.push_back(Event::FetchToken { request: id, force_refresh: force });
    }

    fn report_auth(&mut self, authenticated: bool) {
        if self.reported_auth != Some(authenticated) {
            self.reported_auth = Some(authenticated);
            self.events.push_back(Event::AuthChanged { authenticated });
        }
    }

    /// The auth source has no (valid) token: the client continues signed out.
    fn sign_out(&mut self) {
        let had_token = self.auth.token().is_some();
        self.auth = Auth::None;
        self.timers.stop(Timer::AuthRefresh);
        if had_token {
            self.identity_target = Some(UNSENT);
            if self.session_started {
                // Unsubscriptions made just before go first: those queries must not re-run
                // signed out.
                self.flush_query_set();
                self.send_authenticate(AuthToken::None);
            }
        } else {
            self.identity_target = None;
        }
        self.report_auth(false);
    }

    fn on_auth_error(
        &mut self,
        error: String,
        base_version: Option<u32>,
        auth_update_attempted: Option<bool>,
        now: Duration,
    ) {
        let confirming = matches!(self.auth, Auth::Confirming { .. });
        if auth_update_attempted == Some(false) && confirming {
            // About the token being replaced, not the new one.
            return;
        }
        if let Some(base) = base_version {
            if base + 1 < self.auth_sent {
                // About an earlier Authenticate than the latest.
                return;
            }
        }
        self.events.push_back(Event::Warning(format!("Convex refused the auth token: {error}")));
        let attempts = match &self.auth {
            Auth::Confirming { attempts, .. } => *attempts,
            _ => 0,
        };
        self.rejected_token = self.auth.token().map(str::to_string);
        if self.rejected_token.is_none() || attempts >= 2 {
            self.sign_out();
        } else {
            self.start_fetch(true, FetchPurpose::Recovery);
        }
        // The server closes the socket after an AuthError; reconnect with the outcome.
        self.restart_socket(now);
    }

    fn on_identity_confirmed(&mut self) {
        match std::mem::replace(&mut self.auth, Auth::None) {
            Auth::Confirming { token, from_cache, fetched_at, .. } => {
                self.report_auth(true);
                if from_cache {
                    // A cached token may be close to expiry: get a fresh one now.
                    self.auth = Auth::Authenticated { token, fetched_at };
                    self.start_fetch(true, FetchPurpose::Refresh);
                } else {
                    if let Some(delay) = refresh_delay(&token, self.config.auth_refresh_leeway) {
                        self.timers.set(Timer::AuthRefresh, fetched_at + delay);
                    }
                    self.auth = Auth::Authenticated { token, fetched_at };
                }
            }
            other => self.auth = other,
        }
    }

    fn on_chunk(&mut self, chunk: String, part: u32, total: u32, id: String, now: Duration) {
        let socket = match self.socket {
            Socket::Open { id, .. } => id,
            _ => return,
        };
        let (expected_id, expected_total, mut parts) =
            self.chunks.take().unwrap_or_else(|| (id.clone(), total, Vec::new()));
        if expected_id != id || expected_total != total || parts.len() as u32 != part || total == 0
        {
            let error = format!(
                "TransitionChunk {part}/{total} of {id:?} out of order (expected part {} of {expected_id:?})",
                parts.len()
            );
            return self.protocol_error(socket, MalformedMessage(error), now);
        }
        parts.push(chunk);
        if part + 1 < total {
            self.chunks = Some((id, total, parts));
            return;
        }
        let text = parts.concat();
        match ServerMessage::parse(&text) {
            Ok(message @ ServerMessage::Transition { .. }) => {
                self.handle_message(socket, message, now)
            }
            Ok(_) => self.protocol_error(
                socket,
                MalformedMessage("TransitionChunks must join into a Transition".into()),
                now,
            ),
            Err(e) => self.protocol_error(socket, e, now),
        }
    }

    fn on_transition(
        &mut self,
        start: StateVersion,
        end: StateVersion,
        modifications: Vec<StateModification>,
        now: Duration,
    ) {
        if start != self.remote_version {
            let socket = match self.socket {
                Socket::Open { id, .. } => id,
                _ => return,
            };
            let error = format!(
                "Transition from {start:?} does not start at the client's version {:?}",
                self.remote_version
            );
            return self.protocol_error(socket, MalformedMessage(error), now);
        }
        let mut changed = super::idmap::IdSet::new();
        for modification in modifications {
            match modification {
                StateModification::QueryUpdated { query_id, value, log_lines, .. } => {
                    if self.queries.contains_key(&query_id) {
                        self.log(query_id, log_lines);
                        self.set_remote(query_id, Ok(value), &mut changed);
                    }
                }
                StateModification::QueryFailed { query_id, error, log_lines, .. } => {
                    if self.queries.contains_key(&query_id) {
                        self.log(query_id, log_lines);
                        self.set_remote(query_id, Err(payload_error(error)), &mut changed);
                    }
                }
                StateModification::QueryRemoved { query_id } => {
                    if self.remote.remove(&query_id).is_some() {
                        changed.insert(query_id);
                    }
                }
            }
        }
        self.remote_version = end;
        self.max_observed_ts = Some(self.max_observed_ts.unwrap_or(0).max(end.ts));
        if self.identity_target.is_some_and(|target| target != UNSENT && end.identity >= target) {
            self.identity_target = None;
        }
        if end.identity > start.identity {
            self.on_identity_confirmed();
        }
        // Mutations whose commit this Transition reaches complete now, after their effect is
        // on screen; their optimistic updates go in the same step.
        // Queries still showing a previous socket's result hold completions back.
        let visible_ts = if self.stale.is_empty() { end.ts } else { 0 };
        let done: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| matches!(r.status, RequestStatus::Committed { ts, .. } if ts <= visible_ts))
            .map(|(id, _)| *id)
            .collect();
        let mut completions = Vec::new();
        for request in done {
            if let Some(r) = self.requests.remove(&request) {
                if let RequestStatus::Committed { value, .. } = r.status {
                    completions.push(Event::MutationDone { request, result: Ok(value) });
                }
            }
        }
        self.recompute_visible(changed);
        self.events.extend(completions);
    }

    fn set_remote(&mut self, id: QueryId, result: QueryResult, changed: &mut super::idmap::IdSet) {
        // The server sends a result only when it changed, except when it re-sends everything
        // to a new socket: only then is it worth comparing with what is on screen.
        let was_stale = self.stale.remove(&id);
        let same = was_stale
            && match (self.remote.get(&id), &result) {
                (Some(Ok(a)), Ok(b)) => Arc::ptr_eq(a, b) || a == b,
                (Some(Err(a)), Err(b)) => a == b,
                _ => false,
            };
        self.remote.insert(id, result);
        if !same {
            changed.insert(id);
        }
    }

    fn log(&mut self, query: QueryId, lines: Vec<String>) {
        if lines.is_empty() {
            return;
        }
        if let Some(q) = self.queries.get(&query) {
            self.events.push_back(Event::ServerLog {
                udf_path: q.path.clone(),
                kind: FunctionKind::Query,
                lines,
            });
        }
    }

    fn on_mutation_response(
        &mut self,
        request: RequestId,
        result: Result<Arc<Value>, ErrorPayload>,
        ts: Option<u64>,
        log_lines: Vec<String>,
    ) {
        let Some(r) = self.requests.get_mut(&request) else { return };
        if !log_lines.is_empty() {
            self.events.push_back(Event::ServerLog {
                udf_path: r.path.clone(),
                kind: FunctionKind::Mutation,
                lines: log_lines,
            });
        }
        match result {
            Ok(value) => {
                let ts = ts.unwrap_or(self.remote_version.ts);
                if ts <= self.remote_version.ts && self.stale.is_empty() {
                    let had_update = r.optimistic.is_some();
                    self.requests.remove(&request);
                    if had_update {
                        self.recompute_visible(super::idmap::IdSet::new());
                    }
                    self.events.push_back(Event::MutationDone { request, result: Ok(value) });
                } else {
                    r.status = RequestStatus::Committed { ts, value };
                }
            }
            Err(e) => {
                // Failures complete at once; their optimistic update is rolled back.
                let had_update = r.optimistic.is_some();
                self.requests.remove(&request);
                if had_update {
                    self.recompute_visible(super::idmap::IdSet::new());
                }
                self.events
                    .push_back(Event::MutationDone { request, result: Err(payload_error(e)) });
            }
        }
    }

    fn on_action_response(
        &mut self,
        request: RequestId,
        result: Result<Arc<Value>, ErrorPayload>,
        log_lines: Vec<String>,
    ) {
        let Some(r) = self.requests.remove(&request) else { return };
        if !log_lines.is_empty() {
            self.events.push_back(Event::ServerLog {
                udf_path: r.path,
                kind: FunctionKind::Action,
                lines: log_lines,
            });
        }
        self.events.push_back(Event::ActionDone { request, result: result.map_err(payload_error) });
    }

    /// Replays every optimistic update over the server results and reports each query whose
    /// visible result differs from before (plus `changed`, whose server result moved).
    fn recompute_visible(&mut self, mut changed: super::idmap::IdSet) {
        let updates: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.optimistic.is_some())
            .map(|(id, _)| *id)
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
        if old_overlay.is_empty() && self.overlay.is_empty() {
            self.emit_changed(changed);
            return;
        }
        for (id, before) in &old_overlay {
            let after = self.overlay.get(id);
            let same = match (before, after) {
                (Some(a), Some(Some(b))) => Arc::ptr_eq(a, b) || a == b,
                (None, Some(None)) => true,
                (_, None) => {
                    // Back to the server's value.
                    matches!((before, self.remote.get(id)), (Some(a), Some(Ok(b))) if a == b)
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
        overlay: &mut HashMap<QueryId, Option<Arc<Value>>>,
        touched: &mut HashSet<QueryId>,
    ) {
        let Some(update) = self.requests.get(&request).and_then(|r| r.optimistic.as_ref()) else {
            return;
        };
        let queries = self
            .queries
            .iter()
            .map(|(id, q)| {
                let value = match self.remote.get(id) {
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
        // Inserted one by one: collecting into a BTreeSet sorts a Vec first (a whole stable
        // sort instantiation for a handful of ids).
        let mut changed = super::idmap::IdSet::new();
        for id in touched {
            if before.get(&id) != self.overlay.get(&id) || !before.contains_key(&id) {
                changed.insert(id);
            }
        }
        self.emit_changed(changed);
    }

    fn emit_changed(&mut self, changed: super::idmap::IdSet) {
        for query in changed {
            if self.queries.contains_key(&query) {
                self.events.push_back(Event::QueryChanged { query });
            }
        }
    }

    /// After a reconnect, the backoff resets once everything is back: requests from before the
    /// reconnect are done, every query has a fresh result, and auth is settled.
    fn check_caught_up(&mut self) {
        let Some(waiting) = &self.catching_up else { return };
        let requests_done = waiting.iter().all(|id| !self.requests.contains_key(id));
        // Queries added but not yet sent cannot have results; they do not hold the reset back.
        let unsent: HashSet<QueryId> = self
            .pending_mods
            .iter()
            .filter_map(|m| match m {
                QuerySetModification::Add { query_id, .. } => Some(*query_id),
                QuerySetModification::Remove { .. } => None,
            })
            .collect();
        let queries_fresh = self.stale.is_empty()
            && self.queries.keys().all(|id| self.remote.contains_key(id) || unsent.contains(id));
        let auth_settled = !matches!(self.auth, Auth::Fetching { .. } | Auth::Confirming { .. });
        if requests_done && queries_fresh && auth_settled && self.session_started {
            self.catching_up = None;
            self.backoff.reset();
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
