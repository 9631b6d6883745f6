//! The shared core of the devserver: storage, the result cache, and function execution.
//!
//! Queries run against the latest committed state. Their outcomes are cached per (function,
//! args, identity) and a commit drops exactly the cached outcomes whose read sets it touched, so
//! after a mutation each distinct query is re-run once, however many sessions subscribe to it.
//! Sessions learn of commits through a `watch` channel carrying the newest commit timestamp.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use serde_json::{value::RawValue, Value as Json};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, watch, OwnedMutexGuard};

use crate::{
    auth::{Auth, Identity},
    functions::{self, ActionCtx, Body, Ctx, FnError, Kind},
    store::{ReadSet, Store},
};

/// Bound on cached query outcomes; the cache is only an accelerator and is cleared past it.
const MAX_CACHED_OUTCOMES: usize = 20_000;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    /// Lifetime of minted tokens, seconds.
    pub token_ttl: u64,
    /// Send `{"type":"Ping"}` after this long without an outgoing message.
    pub ping_interval: Duration,
    /// Drop a client that sent nothing (not even a pong) for this long.
    pub client_timeout: Duration,
    /// Transitions longer than this are sent as TransitionChunks (to clients that support them).
    pub chunk_threshold: usize,
    /// Issuers trusted besides this server's own, e.g. a Clerk Frontend API URL.
    pub trusted_issuers: Vec<String>,
    /// Lifetime, seconds, of the Clerk stand-in's session tokens and `convex` template tokens
    /// (Clerk's own session tokens live 60 s).
    pub clerk_token_ttl: u64,
    /// Where the npm bundles of clerk-js and @clerk/ui are (`<dir>/@clerk/clerk-js@<v>/dist/…`),
    /// served at `/__clerk/npm/…`.
    pub clerk_assets: Option<PathBuf>,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            token_ttl: 60,
            ping_interval: Duration::from_secs(15),
            client_timeout: Duration::from_secs(120),
            chunk_threshold: 5_000_000,
            trusted_issuers: Vec::new(),
            clerk_token_ttl: 60,
            clerk_assets: None,
        }
    }
}

/// Identifies a query result: function, canonical args text, identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryKey {
    pub path: String,
    pub args: String,
    pub identity: Option<String>,
}

/// The outcome of running a query once.
#[derive(Debug)]
pub struct QueryOutcome {
    pub result: Result<Box<RawValue>, FnError>,
    pub log_lines: Vec<String>,
    pub reads: ReadSet,
    pub request_id: String,
    /// Dev-only (`/dev/fail_queries`): the failure was injected, for this query (function, args,
    /// identity). Never cached: it answers only the subscription that got it (see
    /// [`Engine::evaluate`]).
    pub injected_for: Option<QueryKey>,
}

impl QueryOutcome {
    /// Whether two outcomes look the same to a client (request ids aside).
    pub fn same_as(&self, other: &QueryOutcome) -> bool {
        match (&self.result, &other.result) {
            (Ok(a), Ok(b)) => a.get() == b.get(),
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }

    pub fn error_message(&self) -> Option<String> {
        self.result.as_ref().err().map(|e| e.message(&self.request_id))
    }
}

/// The outcome of a mutation or action.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    pub result: Result<Json, FnError>,
    pub log_lines: Vec<String>,
    /// Commit timestamp (successful mutations only).
    pub ts: Option<u64>,
    pub request_id: String,
}

impl CallOutcome {
    pub fn error_message(&self) -> Option<String> {
        self.result.as_ref().err().map(|e| e.message(&self.request_id))
    }
}

/// Dev-only: the sessions whose mutation answers are held back (`/dev/hold_mutations`).
#[derive(Default)]
struct Holds {
    everyone: bool,
    sessions: HashSet<String>,
}

/// Dev-only: failures to inject into the next executions of a query function
/// (`/dev/fail_queries`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryFault {
    /// The function (canonical path, `posts:get`).
    pub path: String,
    /// Only executions with these args (canonical text), or any.
    pub args: Option<String>,
    /// How many executions are left to fail.
    pub remaining: u32,
    /// The error's message (the function "throws `new Error(message)`").
    pub message: String,
}

struct State {
    store: Store,
    cache: HashMap<QueryKey, Arc<QueryOutcome>>,
    /// Dev-only: injected failures, in order of injection.
    faults: Vec<QueryFault>,
}

/// The devserver's shared state.
pub struct Engine {
    state: Mutex<State>,
    commits: watch::Sender<u64>,
    drops: broadcast::Sender<Option<String>>,
    holds: Mutex<Holds>,
    /// Bumped at every change of `holds`.
    hold_changes: watch::Sender<u64>,
    /// HTTP API mutations take turns here (tokio's mutex is fair: in their order of arrival).
    http_turns: Arc<tokio::sync::Mutex<()>>,
    /// Dev-only: whether HTTP API mutations are held (`/dev/hold_mutations {http: true}`).
    http_hold: watch::Sender<bool>,
    /// HTTP API mutations received and not yet running (while `http_hold`: the held ones).
    http_waiting: AtomicUsize,
    /// Dev-only: sessions whose sockets are dropped right after their Connect
    /// (`/dev/block_sessions`).
    blocked: Mutex<HashSet<String>>,
    pub auth: Auth,
    pub config: Config,
}

/// A fresh request id (16 hex digits), as Convex shows in error texts.
pub fn random_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The request id of a WebSocket mutation or action: derived from (sessionId, requestId), so a
/// re-send after a reconnect keeps it.
pub fn session_request_id(session: &str, request: u32) -> String {
    let digest = Sha256::digest(format!("{session}|{request}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Canonical text of args (object keys sorted), for cache keys.
pub fn canonical_args(args: &Json) -> String {
    // serde_json's map is ordered, so serialising is canonical.
    args.to_string()
}

impl Engine {
    /// Opens the data dir (creating it), the database and the identity key.
    pub fn open(config: Config, issuer: &str) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create the data dir {}: {e}", config.data_dir.display())
        })?;
        let store = Store::open(&config.data_dir.join("devserver.sqlite3"))?;
        let auth = Auth::load_or_create(
            &config.data_dir,
            issuer,
            config.trusted_issuers.clone(),
            config.token_ttl,
        )?;
        let (commits, _) = watch::channel(store.ts());
        let (drops, _) = broadcast::channel(16);
        let (hold_changes, _) = watch::channel(0);
        Ok(Arc::new(Self {
            state: Mutex::new(State { store, cache: HashMap::new(), faults: Vec::new() }),
            commits,
            drops,
            holds: Mutex::new(Holds::default()),
            hold_changes,
            http_turns: Arc::new(tokio::sync::Mutex::new(())),
            http_hold: watch::channel(false).0,
            http_waiting: AtomicUsize::new(0),
            blocked: Mutex::new(HashSet::new()),
            auth,
            config,
        }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the SQLite state torn (transactions roll
        // back on drop), so a poisoned lock is safe to reuse.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notified with the newest commit timestamp after each commit.
    pub fn subscribe_commits(&self) -> watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Dev-only: sessions listen here for "drop your socket" orders (None = everyone).
    pub fn subscribe_drops(&self) -> broadcast::Receiver<Option<String>> {
        self.drops.subscribe()
    }

    /// Dev-only: drops the sockets of `session` (or of every session), without a close frame.
    pub fn drop_sessions(&self, session: Option<String>) -> usize {
        self.drops.send(session).unwrap_or(0)
    }

    /// Dev-only: while `block` is true, every socket of `session` is dropped without a close
    /// frame right after its Connect (the client sees a network that fails again and again);
    /// blocking also drops its sockets open now. Returns the number of listening sessions.
    pub fn block_sessions(&self, session: String, block: bool) -> usize {
        {
            let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
            if block {
                blocked.insert(session.clone());
            } else {
                blocked.remove(&session);
            }
        }
        if block {
            self.drop_sessions(Some(session))
        } else {
            self.drops.receiver_count()
        }
    }

    /// Dev-only: whether `session`'s sockets are refused (`/dev/block_sessions`).
    pub fn session_blocked(&self, session: &str) -> bool {
        self.blocked.lock().unwrap_or_else(|p| p.into_inner()).contains(session)
    }

    /// Dev-only: starts (`hold`) or ends holding back the answers to WebSocket mutations of
    /// `session` (None: of every session; ending it for None ends every hold). A held mutation
    /// still runs and commits; its MutationResponse, and everything its session would send after
    /// it, wait until the hold ends (and are lost if the socket goes first), so the client sees
    /// an executed mutation whose answer never came. Ending it for None also ends the hold on
    /// HTTP mutations (`hold_http_mutations`). Returns the number of listening sessions.
    pub fn hold_mutations(&self, session: Option<String>, hold: bool) -> usize {
        {
            let mut holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
            match (session, hold) {
                (None, true) => holds.everyone = true,
                (None, false) => {
                    *holds = Holds::default();
                    self.hold_http_mutations(false);
                }
                (Some(s), true) => {
                    holds.sessions.insert(s);
                }
                (Some(s), false) => {
                    holds.sessions.remove(&s);
                }
            }
        }
        self.hold_changes.send_modify(|n| *n += 1);
        self.hold_changes.receiver_count()
    }

    /// Dev-only: starts (`hold`) or ends holding HTTP API mutations. A held HTTP mutation is
    /// neither run nor answered until the hold ends; then the held ones run one at a time, in
    /// their order of arrival. Returns the number of HTTP mutations held now.
    pub fn hold_http_mutations(&self, hold: bool) -> usize {
        self.http_hold.send_replace(hold);
        self.http_mutations_waiting()
    }

    /// Dev-only: the HTTP API mutations received and not running yet (while they are held:
    /// the held ones).
    pub fn http_mutations_waiting(&self) -> usize {
        self.http_waiting.load(Ordering::SeqCst)
    }

    /// Dev-only: whether HTTP API mutations are held now.
    pub fn http_mutations_held(&self) -> bool {
        *self.http_hold.borrow()
    }

    /// Waits for an HTTP API mutation's turn: they run one at a time, in their order of
    /// arrival, and none starts while they are held (`hold_http_mutations`). Keep the returned
    /// guard until the mutation has run.
    pub async fn http_mutation_turn(&self) -> OwnedMutexGuard<()> {
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.http_waiting.fetch_add(1, Ordering::SeqCst);
        let waiting = Waiting(&self.http_waiting);
        let turn = self.http_turns.clone().lock_owned().await;
        let mut hold = self.http_hold.subscribe();
        let held = *hold.borrow_and_update();
        if held {
            tracing::info!("holding an HTTP mutation (dev endpoint)");
            // The sender lives as long as the engine, so this ends only with the hold.
            let _ = hold.wait_for(|held| !held).await;
        }
        drop(waiting);
        turn
    }

    /// Dev-only: whether answers to `session`'s mutations are held back now.
    pub fn mutations_held(&self, session: Option<&str>) -> bool {
        let holds = self.holds.lock().unwrap_or_else(|p| p.into_inner());
        holds.everyone || session.is_some_and(|s| holds.sessions.contains(s))
    }

    /// Dev-only: notified whenever a hold starts or ends.
    pub fn subscribe_holds(&self) -> watch::Receiver<u64> {
        self.hold_changes.subscribe()
    }

    /// Runs (or reuses) the queries `keys` against one snapshot; returns its timestamp and the
    /// outcomes in order. With each key comes the outcome its subscription holds now, if any:
    /// an injected failure it holds stays its outcome (it read nothing, so no write changes it;
    /// a change of identity is another key and runs the query again), while every other lookup
    /// of that query runs it (Convex caches no failed executions).
    pub fn evaluate(
        &self,
        keys: &[(&QueryKey, &Json, Option<&Arc<QueryOutcome>>)],
        identity: Option<&Identity>,
    ) -> (u64, Vec<Arc<QueryOutcome>>) {
        let mut state = self.lock();
        let ts = state.store.ts();
        let outcomes = keys
            .iter()
            .map(|(key, args, held)| match held {
                Some(held) if held.injected_for.as_ref() == Some(*key) => (*held).clone(),
                _ => state.outcome(key, args, identity),
            })
            .collect();
        (ts, outcomes)
    }

    /// Dev-only: the next `count` executions of the query function `path` (with `args` only,
    /// if given) fail with `Uncaught Error: <message>`, as if the function threw before reading
    /// anything; `count` 0 removes the injection. Results of `path` cached now are dropped, so
    /// the next lookup of it runs it (a new subscription, an HTTP query, an action's
    /// `runQuery`, or, at the next commit, a subscription open now). Replaces an earlier
    /// injection for the same `path` and `args`. Returns the injections pending now.
    pub fn fail_queries(
        &self,
        path: &str,
        args: Option<&Json>,
        count: u32,
        message: String,
    ) -> Vec<QueryFault> {
        let path = functions::canonical_path(path);
        let args = args.map(canonical_args);
        let mut state = self.lock();
        state.faults.retain(|f| !(f.path == path && f.args == args));
        if count > 0 {
            state
                .cache
                .retain(|key, _| key.path != path || args.as_ref().is_some_and(|a| *a != key.args));
            tracing::info!(%path, ?args, count, "injecting query failures (dev endpoint)");
            state.faults.push(QueryFault { path, args, remaining: count, message });
        }
        state.faults.clone()
    }

    /// Dev-only: the injected failures still pending (`GET /dev/fail_queries`).
    pub fn query_faults(&self) -> Vec<QueryFault> {
        self.lock().faults.clone()
    }

    /// Runs a query once (HTTP API, actions).
    pub fn query(&self, path: &str, args: &Json, identity: Option<&Identity>) -> Arc<QueryOutcome> {
        let key = QueryKey {
            path: functions::canonical_path(path),
            args: canonical_args(args),
            identity: identity.map(|i| i.cache_key.clone()),
        };
        let mut state = self.lock();
        state.outcome_for_path(&key, path, args, identity)
    }

    /// Runs a mutation. With `dedup` (sessionId, requestId), a mutation that already succeeded
    /// returns its recorded result and timestamp without running again.
    pub fn mutation(
        &self,
        path: &str,
        args: &Json,
        identity: Option<&Identity>,
        dedup: Option<(&str, u32)>,
    ) -> CallOutcome {
        let request_id = match dedup {
            Some((session, request)) => session_request_id(session, request),
            None => random_request_id(),
        };
        let fail = |e: FnError, logs: Vec<String>| CallOutcome {
            result: Err(e),
            log_lines: logs,
            ts: None,
            request_id: request_id.clone(),
        };
        let (function, args) = match functions::resolve(path, Kind::Mutation, args) {
            Ok(found) => found,
            Err(e) => return fail(e, vec![]),
        };
        let Body::Mutation(body) = function.body else {
            return fail(FnError::Internal("function kind changed".into()), vec![]);
        };
        let mut state = self.lock();
        if let Some((session, request)) = dedup {
            match state.store.recorded(session, request) {
                Ok(Some(recorded)) => {
                    tracing::debug!(
                        path,
                        session,
                        request,
                        "duplicate mutation: returning its recorded result"
                    );
                    return CallOutcome {
                        result: Ok(recorded.result),
                        log_lines: recorded.log_lines,
                        ts: Some(recorded.ts),
                        request_id,
                    };
                }
                Ok(None) => {}
                Err(e) => return fail(e.into(), vec![]),
            }
        }
        let mutated = state.store.mutate(dedup, |conn, writes| {
            let mut ctx = Ctx::mutation(conn, writes, identity);
            let result = body(&mut ctx, args)
                .and_then(|v| functions::check_returns(function, &v).map(|()| v));
            (result, ctx.logs)
        });
        let mutated = match mutated {
            Ok(m) => m,
            Err(e) => return fail(e.into(), vec![]),
        };
        if let Some(ts) = mutated.ts {
            let writes = &mutated.writes;
            state.cache.retain(|_, outcome| !outcome.reads.intersects(writes));
            drop(state);
            self.commits.send_replace(ts);
            tracing::debug!(path, ts, writes = mutated.writes.docs.len(), "committed");
        }
        CallOutcome {
            result: mutated.result,
            log_lines: mutated.log_lines,
            ts: mutated.ts,
            request_id,
        }
    }

    /// Runs an action (blocking: call it from `spawn_blocking`).
    pub fn action(
        &self,
        path: &str,
        args: &Json,
        identity: Option<&Identity>,
        request_id: String,
    ) -> CallOutcome {
        let (function, args) = match functions::resolve(path, Kind::Action, args) {
            Ok(found) => found,
            Err(e) => {
                return CallOutcome { result: Err(e), log_lines: vec![], ts: None, request_id }
            }
        };
        let Body::Action(body) = function.body else {
            return CallOutcome {
                result: Err(FnError::Internal("function kind changed".into())),
                log_lines: vec![],
                ts: None,
                request_id,
            };
        };
        let run_query = |path: &str, args: Json| -> Result<Json, FnError> {
            let outcome = self.query(path, &args, identity);
            match &outcome.result {
                Ok(raw) => {
                    serde_json::from_str(raw.get()).map_err(|e| FnError::Internal(e.to_string()))
                }
                Err(e) => Err(e.clone()),
            }
        };
        let run_mutation = |path: &str, args: Json| -> Result<Json, FnError> {
            self.mutation(path, &args, identity, None).result
        };
        let mut ctx = ActionCtx {
            identity,
            run_query: &run_query,
            run_mutation: &run_mutation,
            logs: Vec::new(),
        };
        let result =
            body(&mut ctx, args).and_then(|v| functions::check_returns(function, &v).map(|()| v));
        CallOutcome { result, log_lines: ctx.logs, ts: None, request_id }
    }
}

impl State {
    fn outcome(
        &mut self,
        key: &QueryKey,
        args: &Json,
        identity: Option<&Identity>,
    ) -> Arc<QueryOutcome> {
        let path = key.path.clone();
        self.outcome_for_path(key, &path, args, identity)
    }

    /// Dev-only: takes one injected failure for `key`, if one is pending.
    fn take_fault(&mut self, key: &QueryKey) -> Option<String> {
        let at = self
            .faults
            .iter()
            .position(|f| f.path == key.path && f.args.as_ref().is_none_or(|a| *a == key.args))?;
        let fault = &mut self.faults[at];
        fault.remaining -= 1;
        let message = fault.message.clone();
        if fault.remaining == 0 {
            self.faults.remove(at);
        }
        Some(message)
    }

    fn outcome_for_path(
        &mut self,
        key: &QueryKey,
        path: &str,
        args: &Json,
        identity: Option<&Identity>,
    ) -> Arc<QueryOutcome> {
        if let Some(hit) = self.cache.get(key) {
            return hit.clone();
        }
        if let Some(message) = self.take_fault(key) {
            tracing::info!(path = %key.path, args = %key.args, "an injected query failure (dev endpoint)");
            return Arc::new(QueryOutcome {
                result: Err(FnError::Uncaught(message)),
                log_lines: vec![],
                reads: ReadSet::default(),
                request_id: random_request_id(),
                injected_for: Some(key.clone()),
            });
        }
        let outcome = Arc::new(self.run(path, args, identity));
        if self.cache.len() >= MAX_CACHED_OUTCOMES {
            self.cache.clear();
        }
        self.cache.insert(key.clone(), outcome.clone());
        outcome
    }

    fn run(&self, path: &str, args: &Json, identity: Option<&Identity>) -> QueryOutcome {
        let request_id = random_request_id();
        let failed = |e: FnError| QueryOutcome {
            result: Err(e),
            log_lines: vec![],
            reads: ReadSet::default(),
            request_id: request_id.clone(),
            injected_for: None,
        };
        let (function, args) = match functions::resolve(path, Kind::Query, args) {
            Ok(found) => found,
            Err(e) => return failed(e),
        };
        let Body::Query(body) = function.body else {
            return failed(FnError::Internal("function kind changed".into()));
        };
        let mut ctx = Ctx::query(self.store.connection(), identity);
        let result = body(&mut ctx, args)
            .and_then(|value| functions::check_returns(function, &value).map(|()| value))
            .and_then(|value| {
                serde_json::value::to_raw_value(&value)
                    .map_err(|e| FnError::Internal(e.to_string()))
            });
        QueryOutcome {
            result,
            log_lines: ctx.logs,
            reads: ctx.reads,
            request_id,
            injected_for: None,
        }
    }
}
