//! `QueryClient`: the cache core driven in the browser. Query functions run as futures,
//! Convex keys subscribe through the [`ConvexClient`], one `setTimeout` serves every deadline,
//! the page's visibility and the network's state feed focus and reconnect refetches, and a
//! change of signed-in user empties every Convex entry.

use std::{
    cell::RefCell,
    collections::HashMap,
    future::Future,
    pin::Pin,
    rc::{Rc, Weak},
    time::Duration,
};

use futures_channel::oneshot;
use wasm_bindgen::{closure::Closure, JsCast};

use super::{
    core::{CacheEvent, FetchMode, ObserverId, QueryCache},
    data::{Data, QueryError, QueryState},
    key::QueryKey,
    options::{CacheConfig, QueryOptions},
};
use crate::{
    client::{ConnectionSubscription, ConvexClient, QuerySubscription},
    sync::Principal,
    value::RawValue,
};

/// A query function: runs once per fetch (and retry).
pub type QueryFn = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Data, QueryError>>>>>;

/// Wraps an async function as a [`QueryFn`].
pub fn query_fn<T, F, Fut>(f: F) -> QueryFn
where
    T: PartialEq + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, QueryError>> + 'static,
{
    Rc::new(move || {
        let fut = f();
        Box::pin(async move { fut.await.map(|v| Rc::new(v) as Data) })
    })
}

type Listener = Rc<dyn Fn()>;
/// A DOM listener kept so it can be removed: target, event name, handler.
type DomListener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut()>);

struct Inner {
    core: RefCell<QueryCache<QueryFn>>,
    convex: Option<ConvexClient>,
    subscriptions: RefCell<HashMap<QueryKey, QuerySubscription>>,
    listeners: RefCell<HashMap<QueryKey, Vec<(u64, Listener)>>>,
    waiters: RefCell<HashMap<QueryKey, Vec<oneshot::Sender<()>>>>,
    next_listener: std::cell::Cell<u64>,
    timer: RefCell<Option<(i32, Duration)>>,
    timer_callback: RefCell<Option<Closure<dyn FnMut()>>>,
    dom_listeners: RefCell<Vec<DomListener>>,
    principal: std::cell::Cell<Option<Principal>>,
    auth_listener: RefCell<Option<ConnectionSubscription>>,
    pumping: std::cell::Cell<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let (Some(window), Some((handle, _))) = (web_sys::window(), self.timer.get_mut().take())
        {
            window.clear_timeout_with_handle(handle);
        }
        for (target, name, closure) in self.dom_listeners.get_mut().drain(..) {
            let _ =
                target.remove_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        }
    }
}

/// The query cache of an app: TanStack Query's `QueryClient`, with Convex queries as entries
/// that a subscription keeps current. Cheap to clone; clones share one cache.
///
/// # Example
/// ```no_run
/// use yew_convex::{cache::{QueryClient, QueryKey}, client::ConvexClient};
/// # async fn demo() -> Result<(), yew_convex::cache::QueryError> {
/// let convex = ConvexClient::new("http://127.0.0.1:3210").expect("a valid URL");
/// let queries = QueryClient::new(Some(convex));
/// let key = QueryKey::convex_query("posts:list", yew_convex::value::Value::Object(Default::default()));
/// // A loader: fetches (subscribes) unless the cache has it; the route's component reuses it.
/// let posts = queries.ensure_query_data(&key, None).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct QueryClient(Rc<Inner>);

impl PartialEq for QueryClient {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for QueryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueryClient")
    }
}

fn now() -> Duration {
    let ms = web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0);
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// A Convex result as entry data ([`RawValue`] is the data type of Convex entries).
fn convex_data(result: crate::sync::QueryResult) -> Result<Data, QueryError> {
    result.map(|v| Rc::new(v) as Data).map_err(QueryError::Convex)
}

impl QueryClient {
    /// A cache with the default settings; `convex` serves its Convex keys.
    pub fn new(convex: Option<ConvexClient>) -> Self {
        Self::with_config(convex, CacheConfig::default())
    }

    /// A cache with `config`.
    pub fn with_config(convex: Option<ConvexClient>, config: CacheConfig) -> Self {
        let inner = Rc::new(Inner {
            core: RefCell::new(QueryCache::new(config)),
            principal: std::cell::Cell::new(convex.as_ref().map(ConvexClient::principal)),
            convex,
            subscriptions: RefCell::new(HashMap::new()),
            listeners: RefCell::new(HashMap::new()),
            waiters: RefCell::new(HashMap::new()),
            next_listener: std::cell::Cell::new(0),
            timer: RefCell::new(None),
            timer_callback: RefCell::new(None),
            dom_listeners: RefCell::new(Vec::new()),
            auth_listener: RefCell::new(None),
            pumping: std::cell::Cell::new(false),
        });
        let client = QueryClient(inner);
        client.install();
        client
    }

    fn weak(&self) -> Weak<Inner> {
        Rc::downgrade(&self.0)
    }

    fn from_weak(weak: &Weak<Inner>) -> Option<QueryClient> {
        weak.upgrade().map(QueryClient)
    }

    fn install(&self) {
        let weak = self.weak();
        *self.0.timer_callback.borrow_mut() = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(client) = QueryClient::from_weak(&weak) {
                *client.0.timer.borrow_mut() = None;
                client.0.core.borrow_mut().handle_timeout(now());
                client.pump();
            }
        }));
        if let Some(convex) = &self.0.convex {
            let weak = self.weak();
            let convex2 = convex.clone();
            let listener = convex.on_auth_state_change(move || {
                let Some(client) = QueryClient::from_weak(&weak) else { return };
                let principal = convex2.principal();
                if client.0.principal.replace(Some(principal)) != Some(principal) {
                    client.0.core.borrow_mut().identity_changed(now());
                    client.pump();
                }
            });
            *self.0.auth_listener.borrow_mut() = Some(listener);
        }
        let Some(window) = web_sys::window() else { return };
        let mut listeners = Vec::new();
        for (name, online) in [("online", Some(true)), ("offline", Some(false))] {
            let weak = self.weak();
            let closure = Closure::<dyn FnMut()>::new(move || {
                if let (Some(client), Some(online)) = (QueryClient::from_weak(&weak), online) {
                    client.0.core.borrow_mut().set_online(online, now());
                    client.pump();
                }
            });
            if window
                .add_event_listener_with_callback(name, closure.as_ref().unchecked_ref())
                .is_ok()
            {
                listeners.push((window.clone().unchecked_into(), name, closure));
            }
        }
        if let Some(document) = window.document() {
            let weak = self.weak();
            let doc = document.clone();
            let closure = Closure::<dyn FnMut()>::new(move || {
                if doc.visibility_state() != web_sys::VisibilityState::Visible {
                    return;
                }
                if let Some(client) = QueryClient::from_weak(&weak) {
                    client.0.core.borrow_mut().focus(now());
                    client.pump();
                }
            });
            if document
                .add_event_listener_with_callback(
                    "visibilitychange",
                    closure.as_ref().unchecked_ref(),
                )
                .is_ok()
            {
                listeners.push((document.unchecked_into(), "visibilitychange", closure));
            }
        }
        *self.0.dom_listeners.borrow_mut() = listeners;
    }

    /// The Convex client serving the Convex keys.
    pub fn convex(&self) -> Option<&ConvexClient> {
        self.0.convex.as_ref()
    }

    // ----- reading -----

    /// The state of `key`'s entry.
    pub fn state(&self, key: &QueryKey) -> Option<QueryState> {
        self.0.core.borrow().state(key).cloned()
    }

    /// The data of `key`'s entry.
    pub fn get_query_data(&self, key: &QueryKey) -> Option<Data> {
        self.0.core.borrow().get_query_data(key)
    }

    /// Whether a Convex subscription is open for `key`.
    pub fn is_subscribed(&self, key: &QueryKey) -> bool {
        self.0.core.borrow().is_subscribed(key)
    }

    /// Whether the data of `key` is stale for `options`.
    pub fn is_stale(&self, key: &QueryKey, options: &QueryOptions) -> bool {
        self.0.core.borrow().is_stale(key, options.stale_time, now())
    }

    /// Every entry as the devtools show it.
    pub fn describe(&self) -> Vec<super::core::EntryInfo> {
        self.0.core.borrow().describe(now())
    }

    /// Every key in the cache (the devtools list them).
    pub fn keys(&self) -> Vec<QueryKey> {
        self.0.core.borrow().keys()
    }

    /// The settings.
    pub fn config(&self) -> CacheConfig {
        *self.0.core.borrow().config()
    }

    // ----- observers (the hooks use these) -----

    /// Starts observing `key`.
    pub fn observe(
        &self,
        key: &QueryKey,
        options: Option<QueryOptions>,
        query_fn: Option<QueryFn>,
    ) -> ObserverId {
        let id = self.0.core.borrow_mut().observe(key, options, query_fn, now());
        self.pump();
        id
    }

    /// Changes an observer's options.
    pub fn set_options(&self, observer: ObserverId, options: QueryOptions) {
        self.0.core.borrow_mut().set_options(observer, options, now());
        self.pump();
    }

    /// Stops observing.
    pub fn unobserve(&self, observer: ObserverId) {
        if let Ok(mut core) = self.0.core.try_borrow_mut() {
            core.unobserve(observer, now());
            drop(core);
            self.pump();
        } else {
            // Called while the cache is busy (from one of its callbacks): on the next turn.
            let client = self.clone();
            wasm_bindgen_futures::spawn_local(async move { client.unobserve(observer) });
        }
    }

    /// Calls `on_change` whenever `key`'s entry changes (or is removed); dropping the handle
    /// stops it.
    pub fn listen(&self, key: &QueryKey, on_change: impl Fn() + 'static) -> CacheListener {
        let id = self.0.next_listener.get();
        self.0.next_listener.set(id + 1);
        self.0
            .listeners
            .borrow_mut()
            .entry(key.clone())
            .or_default()
            .push((id, Rc::new(on_change)));
        CacheListener { client: self.weak(), key: key.clone(), id }
    }

    // ----- one-off fetches -----

    async fn fetch_with(
        &self,
        key: &QueryKey,
        query_fn: Option<QueryFn>,
        options: Option<QueryOptions>,
        mode: FetchMode,
    ) -> Result<Data, QueryError> {
        let wait = self.0.core.borrow_mut().hold(key, query_fn, options, mode, now());
        let rx = wait.then(|| {
            let (tx, rx) = oneshot::channel();
            self.0.waiters.borrow_mut().entry(key.clone()).or_default().push(tx);
            rx
        });
        self.pump();
        if let Some(rx) = rx {
            let _ = rx.await;
        }
        let state = self.state(key);
        self.0.core.borrow_mut().release(key, now());
        self.pump();
        match state {
            Some(QueryState { data: Some(data), error: None, .. }) => Ok(data),
            Some(QueryState { error: Some(error), .. }) => Err(error),
            None => Err(QueryError::msg("the entry was removed while it was fetched")),
            Some(_) => Err(QueryError::msg("no data")),
        }
    }

    /// Fetches `key` unless its data is fresh, and returns the data (TanStack's `fetchQuery`).
    /// For a Convex key this opens its subscription (which then lingers) and waits for the
    /// first result; `query_fn` is ignored.
    pub async fn fetch_query(
        &self,
        key: &QueryKey,
        query_fn: Option<QueryFn>,
        options: Option<QueryOptions>,
    ) -> Result<Data, QueryError> {
        self.fetch_with(key, query_fn, options, FetchMode::IfStale).await
    }

    /// Like [`QueryClient::fetch_query`], ignoring the outcome (TanStack's `prefetchQuery`).
    pub async fn prefetch_query(&self, key: &QueryKey, query_fn: Option<QueryFn>) {
        let _ = self.fetch_with(key, query_fn, None, FetchMode::IfStale).await;
    }

    /// The data of `key`, fetched only if the cache has none (TanStack's `ensureQueryData`:
    /// what route loaders call).
    pub async fn ensure_query_data(
        &self,
        key: &QueryKey,
        query_fn: Option<QueryFn>,
    ) -> Result<Data, QueryError> {
        self.fetch_with(key, query_fn, None, FetchMode::IfMissing).await
    }

    // ----- commands -----

    /// Marks every entry under `prefix` stale; those in use refetch.
    pub fn invalidate(&self, prefix: &QueryKey) {
        self.0.core.borrow_mut().invalidate(prefix, now());
        self.pump();
    }

    /// Fetches `key` again.
    pub fn refetch(&self, key: &QueryKey) {
        self.0.core.borrow_mut().refetch(key, now());
        self.pump();
    }

    /// Stops `key`'s fetch.
    pub fn cancel(&self, key: &QueryKey) {
        self.0.core.borrow_mut().cancel(key);
        self.pump();
    }

    /// Drops `key`'s entry.
    pub fn remove(&self, key: &QueryKey) {
        self.0.core.borrow_mut().remove(key);
        self.pump();
    }

    /// Drops every failed entry so its next use starts afresh (an error boundary's "Try again").
    pub fn reset_errors(&self) {
        self.0.core.borrow_mut().reset_errors();
        self.pump();
    }

    /// Sets `key`'s data.
    pub fn set_query_data<T: PartialEq + 'static>(&self, key: &QueryKey, value: T) {
        self.0.core.borrow_mut().set_query_data(key, Rc::new(value), now());
        self.pump();
    }

    // ----- the driver -----

    /// Carries out the core's events, then calls listeners with no borrow held.
    fn pump(&self) {
        if self.0.pumping.replace(true) {
            return;
        }
        let mut notify: Vec<QueryKey> = Vec::new();
        loop {
            let events: Vec<CacheEvent<QueryFn>> = {
                let Ok(mut core) = self.0.core.try_borrow_mut() else { break };
                std::iter::from_fn(|| core.poll_event()).collect()
            };
            if events.is_empty() {
                break;
            }
            for event in events {
                self.handle(event, &mut notify);
            }
        }
        self.reschedule();
        self.0.pumping.set(false);
        notify.dedup();
        for key in notify {
            let listeners: Vec<Listener> = self
                .0
                .listeners
                .borrow()
                .get(&key)
                .map(|l| l.iter().map(|(_, f)| f.clone()).collect())
                .unwrap_or_default();
            for listener in listeners {
                listener();
            }
        }
    }

    fn handle(&self, event: CacheEvent<QueryFn>, notify: &mut Vec<QueryKey>) {
        match event {
            CacheEvent::Fetch { fetch, query_fn, .. } => {
                let weak = self.weak();
                wasm_bindgen_futures::spawn_local(async move {
                    let result = query_fn().await;
                    let Some(client) = QueryClient::from_weak(&weak) else { return };
                    {
                        let mut core = client.0.core.borrow_mut();
                        match result {
                            Ok(data) => core.fetch_succeeded(fetch, data, now()),
                            Err(error) => core.fetch_failed(fetch, error, now()),
                        }
                    }
                    client.pump();
                });
            }
            // The future runs to its end; the core ignores its answer.
            CacheEvent::CancelFetch { .. } => {}
            CacheEvent::Subscribe { key } => self.subscribe(&key),
            CacheEvent::Unsubscribe { key } => {
                self.0.subscriptions.borrow_mut().remove(&key);
            }
            CacheEvent::Changed { key } | CacheEvent::Removed { key } => notify.push(key),
            CacheEvent::Settled { key } => {
                let waiters = self.0.waiters.borrow_mut().remove(&key).unwrap_or_default();
                for tx in waiters {
                    let _ = tx.send(());
                }
            }
        }
    }

    fn subscribe(&self, key: &QueryKey) {
        let Some((path, args)) = key.as_convex_query() else { return };
        let Some(convex) = &self.0.convex else {
            let error = QueryError::msg("no Convex client: give the QueryClient one");
            self.0.core.borrow_mut().convex_result(key, Some(Err(error)), now());
            return;
        };
        let weak = self.weak();
        let k = key.clone();
        let subscribed = convex.subscribe_value(path, args.clone(), move |result| {
            let Some(client) = QueryClient::from_weak(&weak) else { return };
            client.0.core.borrow_mut().convex_result(&k, result.map(convex_data), now());
            client.pump();
        });
        match subscribed {
            Ok(subscription) => {
                // Another component may have had the result already.
                let current = subscription.current().map(convex_data);
                self.0.subscriptions.borrow_mut().insert(key.clone(), subscription);
                if current.is_some() {
                    self.0.core.borrow_mut().convex_result(key, current, now());
                }
            }
            Err(e) => {
                self.0.core.borrow_mut().convex_result(key, Some(Err(e.into())), now());
            }
        }
    }

    fn reschedule(&self) {
        let Some(deadline) = self.0.core.borrow().poll_timeout() else { return };
        let mut timer = self.0.timer.borrow_mut();
        if timer.is_some_and(|(_, at)| at <= deadline) {
            return;
        }
        let Some(window) = web_sys::window() else { return };
        if let Some((handle, _)) = timer.take() {
            window.clear_timeout_with_handle(handle);
        }
        let callback = self.0.timer_callback.borrow();
        let Some(callback) = callback.as_ref() else { return };
        let delay = deadline.saturating_sub(now()).as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
        if let Ok(handle) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            delay,
        ) {
            *timer = Some((handle, deadline));
        }
    }
}

/// A listener on an entry; dropping it stops the calls.
#[must_use = "dropping the listener stops it"]
pub struct CacheListener {
    client: Weak<Inner>,
    key: QueryKey,
    id: u64,
}

impl Drop for CacheListener {
    fn drop(&mut self) {
        let Some(inner) = self.client.upgrade() else { return };
        let Ok(mut listeners) = inner.listeners.try_borrow_mut() else { return };
        if let Some(list) = listeners.get_mut(&self.key) {
            list.retain(|(id, _)| *id != self.id);
            if list.is_empty() {
                listeners.remove(&self.key);
            }
        }
    }
}

/// Reads a Convex entry's data: the result as JSON text ([`RawValue::decode`] decodes it, once
/// per type, shared with every `use_query` of the same result).
pub fn convex_value(data: &Data) -> Option<&RawValue> {
    data.as_any().downcast_ref::<RawValue>()
}
