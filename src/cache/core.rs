//! The query cache's core: entries, observers, fetch decisions, retries, staleness, garbage
//! collection and the Convex subscriptions' lifetimes, as a state machine with no I/O (as the
//! sync engine is): commands and inputs carry `now`, the core answers with events to carry out
//! ([`CacheEvent`]) and its next deadline. `F` is the runtime's query function type; the core
//! only stores and hands it back.

use std::{
    collections::{HashMap, VecDeque},
    rc::Rc,
    time::Duration,
};

use super::{
    data::{Data, FetchStatus, QueryError, QueryState, QueryStatus},
    key::QueryKey,
    options::{CacheConfig, QueryOptions, Refetch, Retry, StaleTime},
};

/// Identifies an observer (a component's view of one key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(u64);

/// Identifies one run of a query function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FetchId(u64);

/// What the core asks of its runtime, or tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheEvent<F> {
    /// Run `query_fn` for `key`; report with `fetch_succeeded` / `fetch_failed`.
    Fetch {
        /// The entry.
        key: QueryKey,
        /// This run.
        fetch: FetchId,
        /// The function to run.
        query_fn: F,
    },
    /// Drop this run (its answer would be ignored).
    CancelFetch {
        /// The run.
        fetch: FetchId,
    },
    /// Open the Convex subscription of this key; report results with `convex_result`.
    Subscribe {
        /// A key of [`QueryKey::convex_query`].
        key: QueryKey,
    },
    /// Close it.
    Unsubscribe {
        /// The key.
        key: QueryKey,
    },
    /// The entry's state changed: its observers read it again.
    Changed {
        /// The entry.
        key: QueryKey,
    },
    /// A fetch ended (data, or a final error) or a Convex result arrived: one-off fetches
    /// waiting on the key read it now.
    Settled {
        /// The entry.
        key: QueryKey,
    },
    /// The entry is gone (garbage-collected, removed, or dropped with an identity).
    Removed {
        /// The entry.
        key: QueryKey,
    },
}

/// A Convex entry's subscription, as the devtools show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscription {
    /// Open, with observers.
    Open,
    /// Open, its last observer gone: it closes after the linger.
    Lingering,
    /// Closed (the data stays until gc).
    Closed,
}

/// One entry, for the devtools.
#[derive(Debug, Clone)]
pub struct EntryInfo {
    /// The key.
    pub key: QueryKey,
    /// Its state.
    pub state: QueryState,
    /// How many components observe it.
    pub observers: usize,
    /// For a Convex query: its subscription.
    pub subscription: Option<Subscription>,
    /// When it is garbage-collected (unobserved entries).
    pub gc_in: Option<Duration>,
}

/// How a one-off fetch decides ([`QueryCache::hold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchMode {
    /// `fetch_query` / `prefetch_query`: fetch unless the data is fresh.
    IfStale,
    /// `ensure_query_data`: fetch only when there is no data.
    IfMissing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Data from a query function.
    Fetched,
    /// Data pushed by a Convex subscription.
    Subscribed,
}

struct Entry<F> {
    kind: Kind,
    state: QueryState,
    query_fn: Option<F>,
    observers: Vec<(ObserverId, QueryOptions)>,
    /// One-off fetches holding the entry (for a Convex key: its subscription too).
    holds: u32,
    fetch: Option<FetchId>,
    /// The running fetch's retry policy.
    retry: Retry,
    retry_at: Option<Duration>,
    /// A fetch waits for the network.
    paused: bool,
    /// The longest `gc_time` any observer asked for (`None`: forever).
    gc_time: Option<Duration>,
    gc_at: Option<Duration>,
    subscribed: bool,
    linger_at: Option<Duration>,
}

impl<F> Entry<F> {
    fn new(key: &QueryKey, gc_time: Option<Duration>) -> Self {
        Self {
            kind: if key.as_convex_query().is_some() { Kind::Subscribed } else { Kind::Fetched },
            state: QueryState::default(),
            query_fn: None,
            observers: Vec::new(),
            holds: 0,
            fetch: None,
            retry: Retry::default(),
            retry_at: None,
            paused: false,
            gc_time,
            gc_at: None,
            subscribed: false,
            linger_at: None,
        }
    }

    fn is_active(&self) -> bool {
        self.holds > 0 || self.observers.iter().any(|(_, o)| o.enabled)
    }

    fn is_stale(&self, stale_time: StaleTime, now: Duration) -> bool {
        if self.kind == Kind::Subscribed {
            return !self.subscribed || self.state.data.is_none();
        }
        if self.state.is_invalidated {
            return true;
        }
        match (self.state.data_updated_at, stale_time) {
            (None, _) => true,
            (Some(_), StaleTime::Never) => false,
            (Some(at), StaleTime::After(d)) => now >= at + d,
        }
    }

    fn next_deadline(&self) -> Option<Duration> {
        [self.retry_at, self.linger_at, self.gc_at].into_iter().flatten().min()
    }
}

/// Structural sharing: the current data when the new one equals it.
fn share(current: &Option<Data>, new: Data) -> Data {
    match current {
        Some(old) if Rc::ptr_eq(old, &new) || old.same(&*new) => old.clone(),
        _ => new,
    }
}

/// The cache.
pub struct QueryCache<F> {
    config: CacheConfig,
    entries: HashMap<QueryKey, Entry<F>>,
    observers: HashMap<ObserverId, QueryKey>,
    next_observer: u64,
    next_fetch: u64,
    online: bool,
    events: VecDeque<CacheEvent<F>>,
}

impl<F: Clone> QueryCache<F> {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            observers: HashMap::new(),
            next_observer: 0,
            next_fetch: 0,
            online: true,
            events: VecDeque::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<CacheEvent<F>> {
        self.events.pop_front()
    }

    /// The earliest deadline; call [`QueryCache::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.entries.values().filter_map(Entry::next_deadline).min()
    }

    // ----- reading -----

    /// The state of `key`'s entry.
    pub fn state(&self, key: &QueryKey) -> Option<&QueryState> {
        self.entries.get(key).map(|e| &e.state)
    }

    /// The data of `key`'s entry.
    pub fn get_query_data(&self, key: &QueryKey) -> Option<Data> {
        self.entries.get(key).and_then(|e| e.state.data.clone())
    }

    /// Whether `key`'s data is stale for `stale_time` (no entry: stale).
    pub fn is_stale(&self, key: &QueryKey, stale_time: StaleTime, now: Duration) -> bool {
        self.entries.get(key).is_none_or(|e| e.is_stale(stale_time, now))
    }

    /// Whether a Convex subscription is open for `key`.
    pub fn is_subscribed(&self, key: &QueryKey) -> bool {
        self.entries.get(key).is_some_and(|e| e.subscribed)
    }

    /// Every key in the cache.
    pub fn keys(&self) -> Vec<QueryKey> {
        self.entries.keys().cloned().collect()
    }

    /// Every entry as the devtools show it, sorted by key.
    pub fn describe(&self, now: Duration) -> Vec<EntryInfo> {
        let mut all: Vec<EntryInfo> = self
            .entries
            .iter()
            .map(|(key, e)| EntryInfo {
                key: key.clone(),
                state: e.state.clone(),
                observers: e.observers.len(),
                subscription: match (e.kind, e.subscribed, e.linger_at) {
                    (Kind::Fetched, _, _) => None,
                    (Kind::Subscribed, true, Some(_)) => Some(Subscription::Lingering),
                    (Kind::Subscribed, true, None) => Some(Subscription::Open),
                    (Kind::Subscribed, false, _) => Some(Subscription::Closed),
                },
                gc_in: e.gc_at.map(|at| at.saturating_sub(now)),
            })
            .collect();
        all.sort_by(|a, b| a.key.hash_str().cmp(b.key.hash_str()));
        all
    }

    /// How many observers `key` has.
    pub fn observer_count(&self, key: &QueryKey) -> usize {
        self.entries.get(key).map_or(0, |e| e.observers.len())
    }

    // ----- observers -----

    fn entry(&mut self, key: &QueryKey) -> &mut Entry<F> {
        let gc = self.config.default_options.gc_time;
        self.entries.entry(key.clone()).or_insert_with(|| Entry::new(key, gc))
    }

    /// A component starts observing `key` with `options` (`None`: the defaults); `query_fn`
    /// fetches it (ignored for Convex queries). The entry is created, subscribed or fetched as
    /// the options say.
    pub fn observe(
        &mut self,
        key: &QueryKey,
        options: Option<QueryOptions>,
        query_fn: Option<F>,
        now: Duration,
    ) -> ObserverId {
        let options = options.unwrap_or(self.config.default_options);
        let id = ObserverId(self.next_observer);
        self.next_observer += 1;
        self.observers.insert(id, key.clone());
        let entry = self.entry(key);
        if query_fn.is_some() {
            entry.query_fn = query_fn;
        }
        entry.observers.push((id, options));
        entry.gc_time = match (entry.gc_time, options.gc_time) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        entry.gc_at = None;
        if options.enabled {
            self.mount(key, options, now);
        }
        id
    }

    /// An observer's options changed (e.g. `enabled` became true).
    pub fn set_options(&mut self, observer: ObserverId, options: QueryOptions, now: Duration) {
        let Some(key) = self.observers.get(&observer).cloned() else { return };
        let Some(entry) = self.entries.get_mut(&key) else { return };
        let mut was_enabled = false;
        for (id, o) in entry.observers.iter_mut() {
            if *id == observer {
                was_enabled = o.enabled;
                *o = options;
            }
        }
        if options.enabled && !was_enabled {
            self.mount(&key, options, now);
        } else if !options.enabled && was_enabled {
            self.maybe_idle(&key, now);
        }
    }

    /// What an enabled observer attaching does: subscribe, or fetch if the entry needs it.
    fn mount(&mut self, key: &QueryKey, options: QueryOptions, now: Duration) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        match entry.kind {
            Kind::Subscribed => self.subscribe(key),
            Kind::Fetched => {
                let fetch = match options.refetch_on_mount {
                    _ if entry.state.data.is_none() => true,
                    Refetch::Always => true,
                    Refetch::IfStale => entry.is_stale(options.stale_time, now),
                    Refetch::Never => false,
                };
                if fetch {
                    self.start_fetch(key, options.retry, now);
                }
            }
        }
    }

    fn subscribe(&mut self, key: &QueryKey) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        entry.linger_at = None;
        if !entry.subscribed {
            entry.subscribed = true;
            self.events.push_back(CacheEvent::Subscribe { key: key.clone() });
        }
    }

    /// An observer stops (its component unmounted or moved to another key).
    pub fn unobserve(&mut self, observer: ObserverId, now: Duration) {
        let Some(key) = self.observers.remove(&observer) else { return };
        let Some(entry) = self.entries.get_mut(&key) else { return };
        entry.observers.retain(|(id, _)| *id != observer);
        self.maybe_idle(&key, now);
    }

    /// Nobody needs the entry any more: its subscription lingers, then closes; its data stays
    /// until `gc_time` passes.
    fn maybe_idle(&mut self, key: &QueryKey, now: Duration) {
        let linger = self.config.convex_linger;
        let Some(entry) = self.entries.get_mut(key) else { return };
        if entry.is_active() {
            return;
        }
        if entry.subscribed && entry.linger_at.is_none() {
            entry.linger_at = Some(now + linger);
        }
        if entry.observers.is_empty() && entry.holds == 0 {
            entry.gc_at = entry.gc_time.map(|gc| now + gc);
        }
    }

    // ----- one-off fetches -----

    /// A one-off fetch of `key` (`fetch_query`, `prefetch_query`, `ensure_query_data`, a route
    /// loader): holds the entry (a Convex key's subscription opens) and fetches it if `mode`
    /// says so. Returns whether the caller must wait for [`CacheEvent::Settled`] (false: the
    /// data is there). Call [`QueryCache::release`] when done.
    pub fn hold(
        &mut self,
        key: &QueryKey,
        query_fn: Option<F>,
        options: Option<QueryOptions>,
        mode: FetchMode,
        now: Duration,
    ) -> bool {
        let options = options.unwrap_or(self.config.default_options);
        let entry = self.entry(key);
        if query_fn.is_some() {
            entry.query_fn = query_fn;
        }
        entry.holds += 1;
        entry.gc_at = None;
        match entry.kind {
            Kind::Subscribed => {
                let has_data = entry.state.data.is_some();
                let subscribed = entry.subscribed;
                let failed = entry.state.status == QueryStatus::Error;
                self.subscribe(key);
                // A live subscription's result (data or error) is current; a closed one's data
                // is not. An error is final until the server sends something else.
                !((has_data || failed) && (subscribed || mode == FetchMode::IfMissing))
            }
            Kind::Fetched => {
                let needed = match mode {
                    FetchMode::IfMissing => entry.state.data.is_none(),
                    FetchMode::IfStale => entry.is_stale(options.stale_time, now),
                };
                if needed {
                    self.start_fetch(key, options.retry, now);
                }
                needed
            }
        }
    }

    /// Ends a hold taken by [`QueryCache::hold`].
    pub fn release(&mut self, key: &QueryKey, now: Duration) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.holds = entry.holds.saturating_sub(1);
            self.maybe_idle(key, now);
        }
    }

    // ----- fetching -----

    fn start_fetch(&mut self, key: &QueryKey, retry: Retry, now: Duration) {
        let online = self.online;
        let Some(entry) = self.entries.get_mut(key) else { return };
        if entry.kind == Kind::Subscribed || entry.fetch.is_some() || entry.retry_at.is_some() {
            return; // deduplicated: one run at a time
        }
        let Some(query_fn) = entry.query_fn.clone() else { return };
        entry.retry = retry;
        if !online {
            entry.paused = true;
            entry.state.fetch_status = FetchStatus::Paused;
            self.events.push_back(CacheEvent::Changed { key: key.clone() });
            return;
        }
        let _ = now;
        let fetch = FetchId(self.next_fetch);
        self.next_fetch += 1;
        entry.fetch = Some(fetch);
        entry.paused = false;
        entry.state.fetch_status = FetchStatus::Fetching;
        self.events.push_back(CacheEvent::Fetch { key: key.clone(), fetch, query_fn });
        self.events.push_back(CacheEvent::Changed { key: key.clone() });
    }

    fn find_fetch(&self, fetch: FetchId) -> Option<QueryKey> {
        self.entries.iter().find(|(_, e)| e.fetch == Some(fetch)).map(|(k, _)| k.clone())
    }

    /// A run succeeded.
    pub fn fetch_succeeded(&mut self, fetch: FetchId, data: Data, now: Duration) {
        let Some(key) = self.find_fetch(fetch) else { return };
        let Some(entry) = self.entries.get_mut(&key) else { return };
        entry.fetch = None;
        let state = &mut entry.state;
        state.data = Some(share(&state.data, data));
        state.data_updated_at = Some(now);
        state.error = None;
        state.failure_count = 0;
        state.failure_reason = None;
        state.status = QueryStatus::Success;
        state.fetch_status = FetchStatus::Idle;
        state.is_invalidated = false;
        self.events.push_back(CacheEvent::Changed { key: key.clone() });
        self.events.push_back(CacheEvent::Settled { key });
    }

    /// A run failed: retried after a delay, or (retries used up) a final error.
    pub fn fetch_failed(&mut self, fetch: FetchId, error: QueryError, now: Duration) {
        let Some(key) = self.find_fetch(fetch) else { return };
        let Some(entry) = self.entries.get_mut(&key) else { return };
        entry.fetch = None;
        let state = &mut entry.state;
        state.failure_count += 1;
        state.failure_reason = Some(error.clone());
        if state.failure_count <= entry.retry.count {
            // Still fetching, as far as anyone can tell: the next attempt comes after a delay.
            entry.retry_at = Some(now + entry.retry.delay(state.failure_count - 1));
            self.events.push_back(CacheEvent::Changed { key });
            return;
        }
        state.error = Some(error);
        state.error_updated_at = Some(now);
        state.error_update_count += 1;
        state.status = QueryStatus::Error;
        state.fetch_status = FetchStatus::Idle;
        self.events.push_back(CacheEvent::Changed { key: key.clone() });
        self.events.push_back(CacheEvent::Settled { key });
    }

    /// A Convex subscription's result (`None`: it has none for now, e.g. after a change of
    /// user). Results for keys that are gone or not subscribed are ignored.
    pub fn convex_result(
        &mut self,
        key: &QueryKey,
        result: Option<Result<Data, QueryError>>,
        now: Duration,
    ) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        if !entry.subscribed {
            return;
        }
        let state = &mut entry.state;
        match result {
            Some(Ok(data)) => {
                state.data = Some(share(&state.data, data));
                state.data_updated_at = Some(now);
                state.error = None;
                state.status = QueryStatus::Success;
            }
            Some(Err(error)) => {
                state.error = Some(error);
                state.error_updated_at = Some(now);
                state.error_update_count += 1;
                state.status = QueryStatus::Error;
            }
            None => {
                state.data = None;
                state.data_updated_at = None;
                state.error = None;
                state.status = QueryStatus::Pending;
            }
        }
        self.events.push_back(CacheEvent::Changed { key: key.clone() });
        if entry.state.status != QueryStatus::Pending {
            self.events.push_back(CacheEvent::Settled { key: key.clone() });
        }
    }

    /// Deadlines: retries run, lingering subscriptions close, unobserved entries go.
    pub fn handle_timeout(&mut self, now: Duration) {
        let due: Vec<QueryKey> = self
            .entries
            .iter()
            .filter(|(_, e)| e.next_deadline().is_some_and(|d| d <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let Some(entry) = self.entries.get_mut(&key) else { continue };
            if entry.retry_at.is_some_and(|at| at <= now) {
                entry.retry_at = None;
                let retry = entry.retry;
                entry.state.fetch_status = FetchStatus::Idle;
                self.start_fetch(&key, retry, now);
            }
            let Some(entry) = self.entries.get_mut(&key) else { continue };
            if entry.linger_at.is_some_and(|at| at <= now) {
                entry.linger_at = None;
                if entry.subscribed && !entry.is_active() {
                    entry.subscribed = false;
                    self.events.push_back(CacheEvent::Unsubscribe { key: key.clone() });
                    self.events.push_back(CacheEvent::Changed { key: key.clone() });
                }
            }
            let Some(entry) = self.entries.get(&key) else { continue };
            if entry.gc_at.is_some_and(|at| at <= now) {
                self.remove(&key);
            }
        }
    }

    // ----- commands -----

    /// Marks every entry whose key starts with `prefix` stale and refetches those in use.
    /// Convex queries are live already: they are left alone.
    pub fn invalidate(&mut self, prefix: &QueryKey, now: Duration) {
        let keys: Vec<QueryKey> = self.matching(prefix);
        for key in keys {
            let Some(entry) = self.entries.get_mut(&key) else { continue };
            if entry.kind == Kind::Subscribed {
                continue;
            }
            entry.state.is_invalidated = true;
            self.events.push_back(CacheEvent::Changed { key: key.clone() });
            let active = entry.observers.iter().find(|(_, o)| o.enabled).map(|(_, o)| o.retry);
            if let Some(retry) = active {
                self.start_fetch(&key, retry, now);
            }
        }
    }

    fn matching(&self, prefix: &QueryKey) -> Vec<QueryKey> {
        self.entries.keys().filter(|k| k.starts_with(prefix)).cloned().collect()
    }

    /// Fetches `key` again now (unless a fetch already runs).
    pub fn refetch(&mut self, key: &QueryKey, now: Duration) {
        let retry = self
            .entries
            .get(key)
            .and_then(|e| e.observers.first().map(|(_, o)| o.retry))
            .unwrap_or(self.config.default_options.retry);
        self.start_fetch(key, retry, now);
    }

    /// Stops `key`'s running fetch (and its retries); the data stays as it was.
    pub fn cancel(&mut self, key: &QueryKey) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        if let Some(fetch) = entry.fetch.take() {
            self.events.push_back(CacheEvent::CancelFetch { fetch });
        }
        entry.retry_at = None;
        entry.paused = false;
        if entry.state.fetch_status != FetchStatus::Idle {
            entry.state.fetch_status = FetchStatus::Idle;
            self.events.push_back(CacheEvent::Changed { key: key.clone() });
        }
    }

    /// Drops `key`'s entry (its fetch is cancelled, its subscription closed). A key that is
    /// not in the cache is fine.
    pub fn remove(&mut self, key: &QueryKey) {
        let Some(entry) = self.entries.remove(key) else { return };
        if let Some(fetch) = entry.fetch {
            self.events.push_back(CacheEvent::CancelFetch { fetch });
        }
        if entry.subscribed {
            self.events.push_back(CacheEvent::Unsubscribe { key: key.clone() });
        }
        for (id, _) in &entry.observers {
            self.observers.remove(id);
        }
        self.events.push_back(CacheEvent::Removed { key: key.clone() });
    }

    /// Drops every entry whose last fetch or result failed, so the next use fetches (or
    /// subscribes) afresh: what an error boundary's "Try again" does (TanStack's
    /// `QueryErrorResetBoundary`).
    pub fn reset_errors(&mut self) {
        let failed: Vec<QueryKey> = self
            .entries
            .iter()
            .filter(|(_, e)| e.state.status == QueryStatus::Error)
            .map(|(k, _)| k.clone())
            .collect();
        for key in failed {
            self.remove(&key);
        }
    }

    /// Sets `key`'s data (creating the entry), as a fetch would.
    pub fn set_query_data(&mut self, key: &QueryKey, data: Data, now: Duration) {
        let new = !self.entries.contains_key(key);
        let entry = self.entry(key);
        let state = &mut entry.state;
        state.data = Some(share(&state.data, data));
        state.data_updated_at = Some(now);
        state.error = None;
        state.status = QueryStatus::Success;
        state.is_invalidated = false;
        if new {
            self.maybe_idle(key, now);
        }
        self.events.push_back(CacheEvent::Changed { key: key.clone() });
    }

    /// The window regained focus: stale queries in use refetch (if their options say so).
    pub fn focus(&mut self, now: Duration) {
        self.refetch_active(now, |o| o.refetch_on_window_focus);
    }

    /// The network went offline or came back. Offline, new fetches and retries wait (paused);
    /// back online they run, and stale queries in use refetch (if their options say so).
    pub fn set_online(&mut self, online: bool, now: Duration) {
        let was = self.online;
        self.online = online;
        if !online || was {
            return;
        }
        let paused: Vec<(QueryKey, Retry)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.paused)
            .map(|(k, e)| (k.clone(), e.retry))
            .collect();
        for (key, retry) in paused {
            if let Some(entry) = self.entries.get_mut(&key) {
                entry.paused = false;
            }
            self.start_fetch(&key, retry, now);
        }
        self.refetch_active(now, |o| o.refetch_on_reconnect);
    }

    fn refetch_active(&mut self, now: Duration, when: impl Fn(&QueryOptions) -> Refetch) {
        let due: Vec<(QueryKey, Retry)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.kind == Kind::Fetched)
            .filter_map(|(k, e)| {
                e.observers
                    .iter()
                    .filter(|(_, o)| o.enabled)
                    .find(|(_, o)| match when(o) {
                        Refetch::Never => false,
                        Refetch::Always => true,
                        Refetch::IfStale => e.is_stale(o.stale_time, now),
                    })
                    .map(|(_, o)| (k.clone(), o.retry))
            })
            .collect();
        for (key, retry) in due {
            self.start_fetch(&key, retry, now);
        }
    }

    /// The signed-in identity changed (a sign-out, another user): no Convex data of the
    /// previous one may be shown. Entries nobody uses are dropped; those in use lose their data
    /// (subscriptions bring the new identity's; Convex actions run again).
    pub fn identity_changed(&mut self, now: Duration) {
        let keys: Vec<QueryKey> = self.entries.keys().filter(|k| k.is_convex()).cloned().collect();
        for key in keys {
            let Some(entry) = self.entries.get_mut(&key) else { continue };
            if !entry.is_active() && entry.observers.is_empty() {
                self.remove(&key);
                continue;
            }
            if let Some(fetch) = entry.fetch.take() {
                self.events.push_back(CacheEvent::CancelFetch { fetch });
            }
            entry.retry_at = None;
            entry.state = QueryState::default();
            self.events.push_back(CacheEvent::Changed { key: key.clone() });
            if entry.kind == Kind::Fetched && entry.is_active() {
                let retry = entry.retry;
                self.start_fetch(&key, retry, now);
            }
        }
    }
}
