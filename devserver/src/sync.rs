//! One WebSocket sync session, speaking Convex's protocol.
//!
//! A session reads client messages in order, keeps the client's query set and identity, and
//! answers with Transitions computed against one snapshot. It wakes on every commit, re-checks
//! its queries (cached outcomes make that one lookup per query) and sends only what changed.
//! Protocol violations get Convex's answers: FatalError + Close for bad requests, a bare close
//! 1011 for internal inconsistencies, AuthError + Close for failed authentication.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use convex_sync_types::{AuthenticationToken, ClientMessage, QuerySetModification};
use futures_util::{stream::SplitSink, SinkExt, StreamExt};
use serde_json::Value as Json;
use tokio::{
    sync::mpsc,
    time::{sleep_until, timeout, Instant},
};

use crate::{
    auth::{now_secs, Identity},
    engine::{canonical_args, session_request_id, CallOutcome, Engine, QueryKey, QueryOutcome},
    functions::{self, FnError},
    values::{check_encoded, MAX_ARGS_BYTES},
    wire::{chunks, encode_ts, Modification, ServerMessage, Version},
};

/// How often WebSocket ping frames go out (Convex: 5 s).
const WS_PING_INTERVAL: Duration = Duration::from_secs(5);
/// Actions one session may have running; more is overload (close 1013).
const MAX_ACTIONS_IN_FLIGHT: usize = 256;
/// After a server-initiated close, how long the session keeps reading (and discarding) what the
/// client still sends, waiting for its Close, before dropping the connection.
const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// Messages queued for the socket before the session waits for the client to read.
const OUTGOING_BUFFER: usize = 256;

/// What the client told us about itself when connecting.
#[derive(Debug, Clone, Copy)]
pub struct ClientInfo {
    /// npm clients >= 1.28 understand TransitionChunk.
    pub supports_chunks: bool,
}

impl ClientInfo {
    /// From the version in `/api/<version>/sync` or the `Convex-Client` header (`npm-1.29.0`).
    pub fn detect(path_version: Option<&str>, client_header: Option<&str>) -> Self {
        let npm_version = client_header.and_then(|h| h.strip_prefix("npm-")).or(path_version);
        let supports_chunks = npm_version.and_then(parse_semver).is_some_and(|v| v >= (1, 28, 0));
        Self { supports_chunks }
    }
}

fn parse_semver(s: &str) -> Option<(u32, u32, u32)> {
    let core = s.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)))
}

enum Out {
    Text(String),
    Close(Option<CloseFrame>),
}

/// Why a session ends.
enum Stop {
    /// The client went away, or we closed it after telling it why.
    Closed,
    /// Dev-only (`/dev/drop_sessions`, `/dev/block_sessions`): the socket is dropped without a
    /// close frame, as a network failure would.
    Dropped,
}

type Flow = Result<(), Stop>;

struct Subscription {
    path: String,
    /// The single argument object, or why the args are unusable. With a journal, the end
    /// cursor it fixed is in them (`paginationOpts.endCursor`).
    args: Result<Json, FnError>,
    args_text: String,
    last: Option<Arc<QueryOutcome>>,
    /// A paginated query's journal: the end cursor of its first run, kept so that every
    /// re-run covers the same range however the data changes (and sent to the client, which
    /// hands it back when it re-adds the query on a new socket).
    journal: Option<String>,
}

impl Subscription {
    /// Whether the args ask for a page without fixing its end.
    fn open_ended(&self) -> bool {
        self.args
            .as_ref()
            .ok()
            .and_then(|a| a.get("paginationOpts"))
            .is_some_and(|o| matches!(o.get("endCursor"), None | Some(Json::Null)))
    }

    /// Fixes the page's end at `end` from now on.
    fn set_journal(&mut self, end: String) {
        if !self.open_ended() {
            return;
        }
        if let Ok(Json::Object(args)) = &mut self.args {
            if let Some(Json::Object(opts)) = args.get_mut("paginationOpts") {
                opts.insert("endCursor".into(), Json::String(end.clone()));
            }
        }
        if let Ok(args) = &self.args {
            self.args_text = canonical_args(args);
        }
        self.journal = Some(end);
    }
}

struct Session {
    engine: Arc<Engine>,
    out: mpsc::Sender<Out>,
    info: ClientInfo,
    session_id: Option<String>,
    /// The version of the last Transition sent.
    sent: Version,
    /// The newest query-set version received (ModifyQuerySet.newVersion).
    query_set: u32,
    /// The number of Authenticate messages accepted.
    identity_version: u32,
    identity: Option<Arc<Identity>>,
    queries: BTreeMap<u32, Subscription>,
    removed: Vec<u32>,
    clock_skew: Option<i64>,
    actions: mpsc::Sender<(u32, CallOutcome)>,
    /// Actions running for this session.
    actions_in_flight: usize,
    /// Dev-only (`/dev/hold_mutations`): while `Some`, a mutation's answer and everything sent
    /// after it wait here, in order, until the hold ends.
    held: std::sync::Mutex<Option<Vec<String>>>,
}

/// Serves one WebSocket until it closes.
pub async fn run(engine: Arc<Engine>, socket: WebSocket, info: ClientInfo) {
    let (sink, mut stream) = socket.split();
    let (out_tx, out_rx) = mpsc::channel(OUTGOING_BUFFER);
    let writer = tokio::spawn(write_loop(sink, out_rx, engine.config.ping_interval));
    let (actions_tx, mut actions_rx) = mpsc::channel(64);
    let mut commits = engine.subscribe_commits();
    let mut drops = engine.subscribe_drops();
    let mut holds = engine.subscribe_holds();
    let mut session = Session {
        engine: engine.clone(),
        out: out_tx,
        info,
        session_id: None,
        sent: Version::default(),
        query_set: 0,
        identity_version: 0,
        identity: None,
        queries: BTreeMap::new(),
        removed: Vec::new(),
        clock_skew: None,
        actions: actions_tx,
        actions_in_flight: 0,
        held: std::sync::Mutex::new(None),
    };
    let client_timeout = engine.config.client_timeout;
    let stop = loop {
        let flow = tokio::select! {
            frame = timeout(client_timeout, stream.next()) => match frame {
                Err(_) => {
                    tracing::info!("closing a silent client after {client_timeout:?}");
                    session.close(1000, "ClientDisconnected").await;
                    Err(Stop::Closed)
                }
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => Err(Stop::Closed),
                Ok(Some(Ok(Message::Text(text)))) => session.handle_text(text.as_str()).await,
                Ok(Some(Ok(Message::Binary(_)))) => {
                    tracing::warn!("binary frame on the sync socket");
                    session.close(1011, "InternalServerError").await;
                    Err(Stop::Closed)
                }
                Ok(Some(Ok(_))) => Ok(()), // ping / pong
            },
            changed = commits.changed() => match changed {
                Ok(()) => session.transition(false).await,
                Err(_) => Err(Stop::Closed),
            },
            Some((request_id, outcome)) = actions_rx.recv() => session.action_done(request_id, outcome).await,
            changed = holds.changed() => match changed {
                Ok(()) => session.release_if_unheld().await,
                Err(_) => Err(Stop::Closed),
            },
            dropped = drops.recv() => match dropped {
                Ok(target) if target.is_none() || target == session.session_id => {
                    tracing::info!(session = ?session.session_id, "dropping the socket (dev endpoint)");
                    Err(Stop::Dropped)
                }
                _ => Ok(()),
            },
        };
        if let Err(stop) = flow {
            break stop;
        }
    };
    drop(session);
    if matches!(stop, Stop::Dropped) {
        writer.abort();
    } else {
        // Let queued messages (a FatalError and its Close) reach the client, and keep reading
        // until the client answers our Close (or goes away). Dropping the socket while the
        // client's data is still unread (a Pong, a message sent right after Authenticate) makes
        // the kernel answer with a TCP reset, and the client may then lose what we queued.
        let drain = async {
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, Message::Close(_)) {
                    break;
                }
            }
        };
        tokio::pin!(drain);
        let mut writer = writer;
        tokio::select! {
            () = &mut drain => {
                let _ = timeout(Duration::from_secs(5), writer).await;
            }
            _ = timeout(Duration::from_secs(5), &mut writer) => {
                let _ = timeout(CLOSE_LINGER, drain).await;
            }
        }
    }
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Out>,
    ping_interval: Duration,
) {
    let mut ws_ping = tokio::time::interval(WS_PING_INTERVAL);
    let mut idle_deadline = Instant::now() + ping_interval;
    loop {
        let sent = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Out::Text(text)) => {
                    idle_deadline = Instant::now() + ping_interval;
                    sink.send(Message::Text(text.into())).await
                }
                Some(Out::Close(frame)) => {
                    let _ = sink.send(Message::Close(frame)).await;
                    let _ = sink.close().await;
                    return;
                }
                None => {
                    let _ = sink.close().await;
                    return;
                }
            },
            _ = sleep_until(idle_deadline) => {
                idle_deadline = Instant::now() + ping_interval;
                sink.send(Message::Text(ServerMessage::Ping.to_text().into())).await
            }
            _ = ws_ping.tick() => sink.send(Message::Ping(Default::default())).await,
        };
        if sent.is_err() {
            return;
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// A call or query in `message` whose arguments exceed Convex's 16 MiB limit: a protocol
/// violation (FatalError), as in Convex.
fn oversized_args(message: &ClientMessage) -> Option<(String, usize)> {
    let too_big = |udf_path: &convex_sync_types::UdfPath, args: &str| {
        (args.len() > MAX_ARGS_BYTES).then(|| (udf_path.to_string(), args.len()))
    };
    match message {
        ClientMessage::Mutation { udf_path, args, .. }
        | ClientMessage::Action { udf_path, args, .. } => too_big(udf_path, args.get()),
        ClientMessage::ModifyQuerySet { modifications, .. } => {
            modifications.iter().find_map(|m| match m {
                QuerySetModification::Add(query) => too_big(&query.udf_path, query.args.get()),
                QuerySetModification::Remove { .. } => None,
            })
        }
        _ => None,
    }
}

/// The single argument object of a call: args travel as a one-element array.
fn unwrap_args(raw: &str) -> Result<Json, FnError> {
    if raw.len() > MAX_ARGS_BYTES {
        return Err(FnError::Arguments(format!(
            "ArgumentValidationError: Arguments are too large ({} bytes, the limit is {MAX_ARGS_BYTES} bytes).",
            raw.len()
        )));
    }
    let parsed: Json = serde_json::from_str(raw).map_err(|e| {
        FnError::Arguments(format!("ArgumentValidationError: Invalid JSON arguments: {e}"))
    })?;
    let value = match parsed {
        Json::Array(mut items) if items.len() == 1 => items.remove(0),
        Json::Array(items) => {
            return Err(FnError::Arguments(format!(
                "ArgumentValidationError: Expected to receive a single object as the function's argument. Instead received {} arguments: {}",
                items.len(),
                crate::values::display(&Json::Array(items.clone()))
            )))
        }
        other => other,
    };
    check_encoded(&value)
        .map_err(|e| FnError::Arguments(format!("ArgumentValidationError: {e}")))?;
    Ok(value)
}

impl Session {
    async fn send(&self, text: String) -> Flow {
        if let Some(held) = self.held.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            held.push(text);
            return Ok(());
        }
        self.out.send(Out::Text(text)).await.map_err(|_| Stop::Closed)
    }

    /// Dev-only: from now on, messages wait until the session's mutations are no longer held.
    fn start_holding(&self) {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_none() {
            tracing::info!(session = ?self.session_id, "holding back a mutation's answer (dev endpoint)");
            *held = Some(Vec::new());
        }
    }

    /// Dev-only: sends what waited, in order, once the hold on this session has ended.
    async fn release_if_unheld(&self) -> Flow {
        if self.engine.mutations_held(self.session_id.as_deref()) {
            return Ok(());
        }
        let Some(waiting) = self.held.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return Ok(());
        };
        tracing::info!(session = ?self.session_id, messages = waiting.len(), "releasing held messages");
        for text in waiting {
            self.out.send(Out::Text(text)).await.map_err(|_| Stop::Closed)?;
        }
        Ok(())
    }

    async fn send_message(&self, message: &ServerMessage<'_>) -> Flow {
        self.send(message.to_text()).await
    }

    async fn close(&self, code: u16, reason: &str) {
        let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
        let _ = self.out.send(Out::Close(Some(frame))).await;
    }

    /// FatalError, then a close frame without a code: Convex's answer to a bad request.
    async fn fatal(&self, error: String) -> Flow {
        tracing::warn!(session = ?self.session_id, "fatal protocol error: {error}");
        let _ = self.send_message(&ServerMessage::FatalError { error }).await;
        let _ = self.out.send(Out::Close(None)).await;
        Err(Stop::Closed)
    }

    async fn internal_error(&self, why: &str) -> Flow {
        tracing::warn!(session = ?self.session_id, "closing with 1011: {why}");
        self.close(1011, "InternalServerError").await;
        Err(Stop::Closed)
    }

    async fn auth_error(&self, error: String, auth_update_attempted: bool) -> Flow {
        tracing::info!(session = ?self.session_id, "auth error: {error}");
        let message = ServerMessage::AuthError {
            error,
            base_version: self.sent.identity,
            auth_update_attempted,
        };
        let _ = self.send_message(&message).await;
        let _ = self.out.send(Out::Close(None)).await;
        Err(Stop::Closed)
    }

    /// Convex checks a user token's expiry before each Transition and each mutation/action.
    async fn revalidate_identity(&self) -> Flow {
        match &self.identity {
            Some(identity) if identity.is_expired(now_secs()) => {
                self.auth_error("Convex token identity expired".into(), false).await
            }
            _ => Ok(()),
        }
    }

    async fn handle_text(&mut self, text: &str) -> Flow {
        let parsed = serde_json::from_str::<Json>(text)
            .map_err(anyhow::Error::from)
            .and_then(ClientMessage::try_from);
        let message = match parsed {
            Ok(m) => m,
            Err(e) => return self.fatal(format!("Received Invalid JSON on websocket: {e}")).await,
        };
        if let Some((path, size)) = oversized_args(&message) {
            return self
                .fatal(format!(
                    "Arguments for {path} are too large ({size} bytes; the limit is {MAX_ARGS_BYTES} bytes)"
                ))
                .await;
        }
        match message {
            ClientMessage::Connect {
                session_id,
                client_ts,
                max_observed_timestamp,
                connection_count,
                last_close_reason,
            } => {
                let session_id = (*session_id).to_string();
                if self.engine.session_blocked(&session_id) {
                    tracing::info!(session = %session_id, "dropping a blocked session's socket (dev endpoint)");
                    return Err(Stop::Dropped);
                }
                self.session_id = Some(session_id.clone());
                self.clock_skew = client_ts.map(|ts| ts as i64 - now_ms());
                tracing::debug!(session = %session_id, connection_count, last_close_reason, "connect");
                if let Some(observed) = max_observed_timestamp {
                    let latest = *self.engine.subscribe_commits().borrow();
                    if u64::from(observed) > latest {
                        return self
                            .internal_error("client has observed a timestamp ahead of the backend")
                            .await;
                    }
                }
                Ok(())
            }
            ClientMessage::ModifyQuerySet { base_version, new_version, modifications } => {
                if base_version != self.query_set {
                    return self
                        .fatal(format!(
                            "Base version {base_version} passed up doesn't match the current version {}",
                            self.query_set
                        ))
                        .await;
                }
                if new_version <= base_version {
                    return self.internal_error("newVersion <= baseVersion").await;
                }
                self.query_set = new_version;
                for modification in modifications {
                    match modification {
                        QuerySetModification::Add(query) => {
                            let id = query.query_id.get_id();
                            if self.queries.contains_key(&id) {
                                return self
                                    .internal_error(&format!("Duplicate query ID: {id}"))
                                    .await;
                            }
                            let args = unwrap_args(query.args.get());
                            let args_text = args.as_ref().map(canonical_args).unwrap_or_default();
                            self.removed.retain(|r| *r != id);
                            let mut sub = Subscription {
                                path: functions::canonical_path(&query.udf_path.to_string()),
                                args,
                                args_text,
                                last: None,
                                journal: None,
                            };
                            // Re-added on a new socket: the journal of its earlier run.
                            if let Some(Some(journal)) = &query.journal {
                                sub.set_journal(journal.clone());
                            }
                            self.queries.insert(id, sub);
                        }
                        QuerySetModification::Remove { query_id } => {
                            let id = query_id.get_id();
                            if self.queries.remove(&id).is_none() {
                                return self
                                    .internal_error(&format!("Nonexistent query id: {id}"))
                                    .await;
                            }
                            self.removed.push(id);
                        }
                    }
                }
                self.transition(true).await
            }
            ClientMessage::Mutation { request_id, udf_path, args, .. } => {
                self.revalidate_identity().await?;
                let path = udf_path.to_string();
                let outcome = match unwrap_args(args.get()) {
                    Err(e) => CallOutcome {
                        result: Err(e),
                        log_lines: vec![],
                        ts: None,
                        request_id: self.request_id(request_id),
                    },
                    Ok(args) => {
                        let engine = self.engine.clone();
                        let identity = self.identity.clone();
                        let session = self.session_id.clone();
                        let joined = tokio::task::spawn_blocking(move || {
                            let dedup = session.as_deref().map(|s| (s, request_id));
                            engine.mutation(&path, &args, identity.as_deref(), dedup)
                        })
                        .await;
                        match joined {
                            Ok(outcome) => outcome,
                            Err(e) => CallOutcome {
                                result: Err(FnError::Internal(e.to_string())),
                                log_lines: vec![],
                                ts: None,
                                request_id: self.request_id(request_id),
                            },
                        }
                    }
                };
                let message = ServerMessage::MutationResponse {
                    request_id,
                    success: outcome.result.is_ok(),
                    result: match &outcome.result {
                        Ok(v) => v.clone(),
                        Err(_) => Json::String(outcome.error_message().unwrap_or_default()),
                    },
                    ts: outcome.ts.map(encode_ts),
                    log_lines: &outcome.log_lines,
                    error_data: outcome.result.as_ref().err().and_then(FnError::data),
                };
                if self.engine.mutations_held(self.session_id.as_deref()) {
                    self.start_holding();
                }
                self.send_message(&message).await?;
                self.transition(true).await
            }
            ClientMessage::Action { request_id, udf_path, args, .. } => {
                if self.actions_in_flight >= MAX_ACTIONS_IN_FLIGHT {
                    // Overload: close with 1013 ("try again later"), as Convex does.
                    tracing::warn!(session = ?self.session_id, "too many concurrent actions");
                    self.close(1013, "TooManyConcurrentRequests").await;
                    return Err(Stop::Closed);
                }
                self.actions_in_flight += 1;
                self.revalidate_identity().await?;
                let path = udf_path.to_string();
                let engine = self.engine.clone();
                let identity = self.identity.clone();
                let reply = self.actions.clone();
                let rid = self.request_id(request_id);
                tokio::spawn(async move {
                    let outcome = match unwrap_args(args.get()) {
                        Err(e) => CallOutcome {
                            result: Err(e),
                            log_lines: vec![],
                            ts: None,
                            request_id: rid,
                        },
                        Ok(args) => {
                            let fallback = rid.clone();
                            tokio::task::spawn_blocking(move || {
                                engine.action(&path, &args, identity.as_deref(), rid)
                            })
                            .await
                            .unwrap_or_else(|e| CallOutcome {
                                result: Err(FnError::Internal(e.to_string())),
                                log_lines: vec![],
                                ts: None,
                                request_id: fallback,
                            })
                        }
                    };
                    let _ = reply.send((request_id, outcome)).await;
                });
                Ok(())
            }
            ClientMessage::Authenticate { base_version, token } => {
                let identity = match token {
                    AuthenticationToken::User(jwt) => match self.engine.auth.verify(&jwt).await {
                        Ok(identity) => Some(Arc::new(identity)),
                        Err(e) => return self.auth_error(e.to_string(), true).await,
                    },
                    AuthenticationToken::Admin(..) => {
                        return self
                            .auth_error(
                                "The provided admin key was invalid for this instance".into(),
                                true,
                            )
                            .await
                    }
                    AuthenticationToken::None => None,
                };
                if base_version != self.identity_version {
                    return self.internal_error("Authenticate baseVersion mismatch").await;
                }
                self.identity_version += 1;
                self.identity = identity;
                self.transition(true).await
            }
            ClientMessage::Event(_) => Ok(()),
        }
    }

    fn request_id(&self, request: u32) -> String {
        match &self.session_id {
            Some(session) => session_request_id(session, request),
            None => crate::engine::random_request_id(),
        }
    }

    async fn action_done(&mut self, request_id: u32, outcome: CallOutcome) -> Flow {
        self.actions_in_flight = self.actions_in_flight.saturating_sub(1);
        let message = ServerMessage::ActionResponse {
            request_id,
            success: outcome.result.is_ok(),
            result: match &outcome.result {
                Ok(v) => v.clone(),
                Err(_) => Json::String(outcome.error_message().unwrap_or_default()),
            },
            log_lines: &outcome.log_lines,
            error_data: outcome.result.as_ref().err().and_then(FnError::data),
        };
        self.send_message(&message).await?;
        self.transition(true).await
    }

    /// Brings the client up to the latest snapshot: re-checks every query and sends a Transition
    /// with what changed (always, when `always` is set).
    async fn transition(&mut self, always: bool) -> Flow {
        self.revalidate_identity().await?;
        let identity_key = self.identity.as_ref().map(|i| i.cache_key.clone());
        let live: Vec<(u32, QueryKey, &Json, Option<&Arc<QueryOutcome>>)> = self
            .queries
            .iter()
            .filter_map(|(id, sub)| {
                let args = sub.args.as_ref().ok()?;
                let key = QueryKey {
                    path: sub.path.clone(),
                    args: sub.args_text.clone(),
                    identity: identity_key.clone(),
                };
                Some((*id, key, args, sub.last.as_ref()))
            })
            .collect();
        let keys: Vec<(&QueryKey, &Json, Option<&Arc<QueryOutcome>>)> =
            live.iter().map(|(_, k, a, held)| (k, *a, *held)).collect();
        let (ts, outcomes) = self.engine.evaluate(&keys, self.identity.as_deref());
        let mut fresh: BTreeMap<u32, Arc<QueryOutcome>> =
            live.iter().map(|(id, _, _, _)| *id).zip(outcomes).collect();

        // Queries with unusable args fail once, without running.
        for (id, sub) in &self.queries {
            if let Err(e) = &sub.args {
                if sub.last.is_none() {
                    fresh.insert(
                        *id,
                        Arc::new(QueryOutcome {
                            result: Err(e.clone()),
                            log_lines: vec![],
                            reads: Default::default(),
                            request_id: crate::engine::random_request_id(),
                            injected_for: None,
                        }),
                    );
                }
            }
        }

        let mut changed: Vec<(u32, Arc<QueryOutcome>)> = Vec::new();
        for (id, outcome) in fresh {
            let Some(sub) = self.queries.get_mut(&id) else { continue };
            let same = sub
                .last
                .as_ref()
                .is_some_and(|last| Arc::ptr_eq(last, &outcome) || last.same_as(&outcome));
            // A page's first run fixes its end: its continueCursor becomes the journal.
            if sub.journal.is_none() && sub.open_ended() {
                let end = outcome.result.as_ref().ok().and_then(|raw| {
                    let value: Json = serde_json::from_str(raw.get()).ok()?;
                    value.get("continueCursor")?.as_str().map(str::to_string)
                });
                if let Some(end) = end {
                    sub.set_journal(end);
                }
            }
            if !same {
                sub.last = Some(outcome.clone());
                changed.push((id, outcome));
            }
        }
        let removed = std::mem::take(&mut self.removed);
        let end = Version {
            query_set: self.query_set,
            identity: self.identity_version,
            ts: ts.max(self.sent.ts),
        };
        if changed.is_empty() && removed.is_empty() && !always {
            // Nothing the client watches changed: stay silent (the timestamp may move later).
            return Ok(());
        }
        let error_messages: Vec<Option<String>> =
            changed.iter().map(|(_, o)| o.error_message()).collect();
        let mut modifications = Vec::with_capacity(changed.len() + removed.len());
        for ((id, outcome), error) in changed.iter().zip(&error_messages) {
            let journal = self.queries.get(id).and_then(|s| s.journal.as_deref());
            modifications.push(match &outcome.result {
                Ok(value) => Modification::QueryUpdated {
                    query_id: *id,
                    value,
                    log_lines: &outcome.log_lines,
                    journal,
                },
                Err(e) => Modification::QueryFailed {
                    query_id: *id,
                    error_message: error.clone().unwrap_or_default(),
                    log_lines: &outcome.log_lines,
                    journal,
                    error_data: e.data(),
                },
            });
        }
        for id in &removed {
            modifications.push(Modification::QueryRemoved { query_id: *id });
        }
        let message = ServerMessage::Transition {
            start_version: self.sent,
            end_version: end,
            modifications,
            client_clock_skew: self.clock_skew,
            server_ts: now_ns(),
        };
        let text = message.to_text();
        self.sent = end;
        if self.info.supports_chunks && text.len() > self.engine.config.chunk_threshold {
            let pieces = chunks(&text, self.engine.config.chunk_threshold);
            let total_parts = pieces.len() as u32;
            let transition_id = text.len().to_string();
            for (part_number, chunk) in pieces.into_iter().enumerate() {
                let message = ServerMessage::TransitionChunk {
                    chunk,
                    part_number: part_number as u32,
                    total_parts,
                    transition_id: transition_id.clone(),
                };
                self.send_message(&message).await?;
            }
            Ok(())
        } else {
            self.send(text).await
        }
    }
}
