//! `ConvexClient`: the sync engine driven by a browser WebSocket and timers.

use std::{
    cell::RefCell,
    collections::HashMap,
    future::Future,
    pin::Pin,
    rc::{Rc, Weak},
    task::{Context, Poll},
    time::Duration,
};

use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use serde::{de::DeserializeOwned, Serialize};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::url::{normalize_deployment_url, sync_url};
use crate::{
    function::{kind, Function, FunctionArgs},
    sync::{
        AuthStatus, ConnectionState, ConvexError, Event, LocalStore, QueryId, QueryResult,
        RequestId, SocketId, SubscriptionId, SyncConfig, SyncEngine,
    },
    value::{to_value, Value},
};

type TokenFuture = Pin<Box<dyn Future<Output = Option<String>>>>;
type TokenFetcher = Rc<dyn Fn(bool) -> TokenFuture>;
type QueryCallback = Rc<dyn Fn(Option<QueryResult>)>;
type ConnectionCallback = Rc<dyn Fn(&ConnectionState)>;
/// A DOM listener kept so it can be removed: target, event name, handler.
type DomListener = (web_sys::EventTarget, &'static str, Closure<dyn FnMut(web_sys::Event)>);

struct LiveSocket {
    id: SocketId,
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl LiveSocket {
    fn shut(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// Closes a socket. Its handlers may be running right now (a message handler that decided to
/// reconnect), so they are freed on a later turn, never during their own call.
fn retire(shared: &Rc<Shared>, st: &mut State, socket: LiveSocket) {
    socket.shut();
    st.graveyard.push(socket);
    let weak = Rc::downgrade(shared);
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(shared) = weak.upgrade() {
            if let Ok(mut st) = shared.state.try_borrow_mut() {
                st.graveyard.clear();
            }
        }
    });
}

struct AuthSource {
    /// Who the tokens are for (`None`: unknown, every `set_auth` is a new identity).
    identity: Option<String>,
    fetcher: TokenFetcher,
    on_change: Rc<dyn Fn(bool)>,
    /// What `on_change` was last told.
    reported: Option<bool>,
}

struct State {
    engine: SyncEngine,
    url: String,
    socket: Option<LiveSocket>,
    graveyard: Vec<LiveSocket>,
    /// The pending `setTimeout`: its handle and deadline.
    timer: Option<(i32, Duration)>,
    /// The one timer callback, reused for every `setTimeout`.
    timer_callback: Option<Closure<dyn FnMut()>>,
    /// Each query's callbacks, by the engine's subscription (most queries have one: the
    /// vectors start at capacity 1).
    listeners: HashMap<QueryId, Vec<(SubscriptionId, QueryCallback)>>,
    next_listener: u64,
    mutations: HashMap<RequestId, oneshot::Sender<QueryResult>>,
    actions: HashMap<RequestId, oneshot::Sender<QueryResult>>,
    auth: Option<AuthSource>,
    connection_listeners: Vec<(u64, ConnectionCallback)>,
    auth_listeners: Vec<(u64, Rc<dyn Fn()>)>,
    flush_scheduled: bool,
    window_listeners: Vec<DomListener>,
    /// Bumped by every `set_auth` and `clear_auth`.
    auth_epoch: u64,
}

struct Shared {
    state: RefCell<State>,
    /// A pump is running (a nested call only asks it to go round again).
    pumping: std::cell::Cell<bool>,
    /// Something happened during the running pump that it must look at.
    again: std::cell::Cell<bool>,
}

/// A Convex client for the browser: reactive queries over one WebSocket, mutations with
/// read-your-writes and optimistic updates, actions, and auth with automatic token refresh.
///
/// Cheap to clone (clones share one connection). The connection closes when the last clone is
/// dropped or [`ConvexClient::close`] is called.
///
/// # Example
/// ```no_run
/// # async fn demo() -> Result<(), yew_convex::sync::ConvexError> {
/// use yew_convex::client::ConvexClient;
/// let client = ConvexClient::new("http://127.0.0.1:3210")?;
/// let _sub = client.subscribe("posts:list", &serde_json::json!({}), |result| {
///     web_sys::console::log_1(&format!("posts: {result:?}").into());
/// })?;
/// let id: String = client.mutation("posts:create", &serde_json::json!({"title": "Hi", "body": ""})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ConvexClient {
    shared: Rc<Shared>,
}

impl PartialEq for ConvexClient {
    /// Clones of one client are equal; separately created clients are not.
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for ConvexClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConvexClient").field("url", &self.url()).finish()
    }
}

thread_local! {
    /// `window.performance`, looked up once.
    static PERFORMANCE: Option<web_sys::Performance> = web_sys::window().and_then(|w| w.performance());
}

/// Engine time: `performance.now()` (monotonic) as a duration since the page's time origin.
fn now() -> Duration {
    let ms = PERFORMANCE.with(|p| p.as_ref().map(|p| p.now())).unwrap_or(0.0);
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

fn wall_clock_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    let filled = web_sys::window()
        .and_then(|w| w.crypto().ok())
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).ok())
        .is_some();
    if !filled {
        for b in bytes.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

fn seed() -> u64 {
    (js_sys::Math::random() * u64::MAX as f64) as u64
}

fn to_args<A: Serialize + ?Sized>(args: &A) -> Result<Value, ConvexError> {
    to_value(args).map_err(ConvexError::InvalidArgs)
}

fn decode<T: DeserializeOwned>(result: QueryResult) -> Result<T, ConvexError> {
    result?.deserialize::<T>().map_err(ConvexError::Decode)
}

impl ConvexClient {
    /// Connects to the deployment at `deployment_url` (`https://<name>.convex.cloud`, or the
    /// devserver's `http://127.0.0.1:3210`).
    pub fn new(deployment_url: &str) -> Result<Self, ConvexError> {
        Self::with_config(deployment_url, SyncConfig::default())
    }

    /// Like [`ConvexClient::new`] with engine settings (timeouts, refresh leeway, backoff).
    pub fn with_config(deployment_url: &str, mut config: SyncConfig) -> Result<Self, ConvexError> {
        let url = normalize_deployment_url(deployment_url)?;
        config.jitter_seed = seed();
        let unsaved_changes_warning = config.unsaved_changes_warning;
        let shared = Rc::new(Shared {
            state: RefCell::new(State {
                engine: SyncEngine::new(config, random_uuid(), now()),
                url,
                socket: None,
                graveyard: Vec::new(),
                timer: None,
                timer_callback: None,
                listeners: HashMap::new(),
                next_listener: 0,
                mutations: HashMap::new(),
                actions: HashMap::new(),
                auth: None,
                connection_listeners: Vec::new(),
                auth_listeners: Vec::new(),
                auth_epoch: 0,
                flush_scheduled: false,
                window_listeners: Vec::new(),
            }),
            pumping: std::cell::Cell::new(false),
            again: std::cell::Cell::new(false),
        });
        install_window_listeners(&shared, unsaved_changes_warning);
        let weak = Rc::downgrade(&shared);
        let timer_callback = Closure::<dyn FnMut()>::new(move || {
            let Some(shared) = weak.upgrade() else { return };
            if let Ok(mut st) = shared.state.try_borrow_mut() {
                st.timer = None;
                st.engine.handle_timeout(now());
            }
            pump(&shared);
        });
        shared.state.borrow_mut().timer_callback = Some(timer_callback);
        let client = ConvexClient { shared };
        client.pump();
        Ok(client)
    }

    /// The deployment URL.
    pub fn url(&self) -> String {
        self.shared.state.borrow().url.clone()
    }

    /// The session id this client sends on every connection.
    pub fn session_id(&self) -> String {
        self.shared.state.borrow().engine.session_id().to_string()
    }

    fn pump(&self) {
        pump(&self.shared);
    }

    /// The client's state, or [`ConvexError::Reentrant`] when it is busy: called from inside
    /// an optimistic update (which runs within the client).
    fn state(&self) -> Result<std::cell::RefMut<'_, State>, ConvexError> {
        self.shared.state.try_borrow_mut().map_err(|_| ConvexError::Reentrant)
    }

    /// Subscribes to a query; `on_update` runs with every new result (`None`: loading, e.g.
    /// an optimistic update cleared it). Subscriptions to the same function and args share
    /// one server query. Dropping the returned handle unsubscribes.
    pub fn subscribe<A: Serialize + ?Sized>(
        &self,
        query: impl FunctionArgs<kind::Query, A>,
        args: &A,
        on_update: impl Fn(Option<QueryResult>) + 'static,
    ) -> Result<QuerySubscription, ConvexError> {
        self.subscribe_value(query.path(), to_args(args)?, on_update)
    }

    /// [`ConvexClient::subscribe`] with args already converted (the hooks have them as a
    /// `Value`: converting them again through serde would copy them and instantiate
    /// `to_value::<Value>`).
    pub(crate) fn subscribe_value(
        &self,
        path: &str,
        args: Value,
        on_update: impl Fn(Option<QueryResult>) + 'static,
    ) -> Result<QuerySubscription, ConvexError> {
        let (sub, query) = {
            let mut st = self.state()?;
            let (sub, query) = st.engine.subscribe(path, &args)?;
            let callbacks = st.listeners.entry(query).or_insert_with(|| Vec::with_capacity(1));
            callbacks.push((sub, Rc::new(on_update)));
            (sub, query)
        };
        schedule_flush(&self.shared);
        Ok(QuerySubscription { shared: Rc::downgrade(&self.shared), sub, query })
    }

    /// Subscribes to a query as a stream of results: the current one first (if any), then each
    /// change. Dropping the stream unsubscribes.
    pub fn watch<A: Serialize + ?Sized>(
        &self,
        query: impl FunctionArgs<kind::Query, A>,
        args: &A,
    ) -> Result<QueryStream, ConvexError> {
        let (tx, rx) = mpsc::unbounded();
        let sender = tx.clone();
        let subscription = self.subscribe(query.path(), args, move |result| {
            if let Some(result) = result {
                let _ = sender.unbounded_send(result);
            }
        })?;
        if let Some(current) = subscription.current() {
            let _ = tx.unbounded_send(current);
        }
        Ok(QueryStream { _subscription: subscription, rx })
    }

    /// Runs a query once: its current result, or the first the server sends.
    pub async fn query<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        query: impl Function<kind::Query, A, T>,
        args: &A,
    ) -> Result<T, ConvexError> {
        let mut stream = self.watch(query.path(), args)?;
        let result = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await;
        decode(result.ok_or(ConvexError::Closed)?)
    }

    /// Runs a mutation. It resolves once its effect is visible in every subscribed query
    /// (read-your-writes), or at once with its error.
    pub async fn mutation<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        mutation: impl Function<kind::Mutation, A, T>,
        args: &A,
    ) -> Result<T, ConvexError> {
        self.mutation_inner(mutation.path(), args, None).await
    }

    /// Runs a mutation with an optimistic update: `update` edits the local query results at
    /// once and again over each new server result until the mutation's effect arrives (or is
    /// rolled back if it fails).
    ///
    /// `update` runs inside the client (at once, and on every replay): it may only read and
    /// write the [`LocalStore`] it is given, never call the client itself.
    pub async fn mutation_with_optimistic_update<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        mutation: impl Function<kind::Mutation, A, T>,
        args: &A,
        update: impl Fn(&mut LocalStore<'_>) + 'static,
    ) -> Result<T, ConvexError> {
        self.mutation_inner(mutation.path(), args, Some(Box::new(update))).await
    }

    async fn mutation_inner<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        args: &A,
        update: Option<crate::sync::OptimisticUpdate>,
    ) -> Result<T, ConvexError> {
        decode(self.mutation_raw(path, to_args(args), update).await)
    }

    /// A mutation's result as JSON text: the non-generic part of every mutation call.
    pub(crate) async fn mutation_raw(
        &self,
        path: &str,
        args: Result<Value, ConvexError>,
        update: Option<crate::sync::OptimisticUpdate>,
    ) -> QueryResult {
        let args = args?;
        let rx = {
            let mut st = self.state()?;
            let id = st.engine.mutation(path, &args, update, now())?;
            let (tx, rx) = oneshot::channel();
            st.mutations.insert(id, tx);
            rx
        };
        self.pump();
        rx.await.map_err(|_| ConvexError::Closed)?
    }

    /// Runs an action. An action in flight when the connection drops fails with
    /// [`ConvexError::ConnectionLost`] (it is never re-sent).
    pub async fn action<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        action: impl Function<kind::Action, A, T>,
        args: &A,
    ) -> Result<T, ConvexError> {
        decode(self.action_raw(action.path(), to_args(args)).await)
    }

    /// An action's result as JSON text: the non-generic part of every action call.
    pub(crate) async fn action_raw(
        &self,
        path: &str,
        args: Result<Value, ConvexError>,
    ) -> QueryResult {
        let args = args?;
        let rx = {
            let mut st = self.state()?;
            let id = st.engine.action(path, &args, now())?;
            let (tx, rx) = oneshot::channel();
            st.actions.insert(id, tx);
            rx
        };
        self.pump();
        rx.await.map_err(|_| ConvexError::Closed)?
    }

    /// Authenticates with tokens from `fetch_token(force_refresh)` (`None`: no token), which
    /// is called again before each token expires. `on_change(true)` runs when the server
    /// accepts a token, `on_change(false)` when auth ends. Every call is a new identity (a
    /// sign-in, or another user): results read as loading until the server re-ran them as it,
    /// and requests not yet sent as the previous identity fail with
    /// [`ConvexError::IdentityChanged`]. To replace the fetcher of the same user (a new
    /// closure, a new session object) without any of that, use
    /// [`ConvexClient::set_auth_for`].
    ///
    /// # Panics
    /// When called from inside an optimistic update.
    pub fn set_auth<F, Fut>(&self, fetch_token: F, on_change: impl Fn(bool) + 'static)
    where
        F: Fn(bool) -> Fut + 'static,
        Fut: Future<Output = Option<String>> + 'static,
    {
        self.set_auth_inner(
            None,
            Rc::new(move |force| Box::pin(fetch_token(force)) as TokenFuture),
            Rc::new(on_change),
        );
    }

    /// Like [`ConvexClient::set_auth`], for the identity named `identity` (a user id, or the
    /// user with session and organization: whatever decides *who* the token speaks for). When it equals
    /// the identity already in use, only the fetcher is replaced: no token is fetched, nothing
    /// is re-run, no result is hidden.
    ///
    /// # Example
    /// ```no_run
    /// # fn demo(client: yew_convex::client::ConvexClient, token: String) {
    /// let t = token.clone();
    /// client.set_auth_for("user_2abc", move |_force| std::future::ready(Some(t.clone())), |_| {});
    /// // Later, a new closure for the same user: nothing re-runs.
    /// client.set_auth_for("user_2abc", move |_force| std::future::ready(Some(token.clone())), |_| {});
    /// # }
    /// ```
    pub fn set_auth_for<F, Fut>(
        &self,
        identity: &str,
        fetch_token: F,
        on_change: impl Fn(bool) + 'static,
    ) where
        F: Fn(bool) -> Fut + 'static,
        Fut: Future<Output = Option<String>> + 'static,
    {
        self.set_auth_inner(
            Some(identity.to_string()),
            Rc::new(move |force| Box::pin(fetch_token(force)) as TokenFuture),
            Rc::new(on_change),
        );
    }

    fn set_auth_inner(
        &self,
        identity: Option<String>,
        fetcher: TokenFetcher,
        on_change: Rc<dyn Fn(bool)>,
    ) {
        {
            let mut st = self.shared.state.borrow_mut();
            st.auth_epoch += 1;
            let same = identity.is_some()
                && st.auth.as_ref().is_some_and(|a| a.identity == identity)
                && st.engine.principal() != crate::sync::Principal::Anonymous;
            let reported = if same { st.auth.as_ref().and_then(|a| a.reported) } else { None };
            st.auth = Some(AuthSource { identity, fetcher, on_change, reported });
            if !same {
                st.engine.set_auth();
            }
        }
        self.pump();
    }

    /// Signs the connection out.
    ///
    /// # Panics
    /// When called from inside an optimistic update.
    pub fn clear_auth(&self) {
        let ended = {
            let mut st = self.shared.state.borrow_mut();
            st.auth_epoch += 1;
            st.engine.clear_auth();
            st.auth.take().filter(|a| a.reported == Some(true)).map(|a| a.on_change)
        };
        // The replaced source hears that its auth ended.
        if let Some(on_change) = ended {
            on_change(false);
        }
        self.pump();
    }

    /// Changes with every [`ConvexClient::set_auth`] and [`ConvexClient::clear_auth`]: code that
    /// defers an auth change can check that nobody set auth since.
    pub fn auth_epoch(&self) -> u64 {
        self.shared.state.borrow().auth_epoch
    }

    /// Whose results and requests these are now: anonymous, or the n-th auth source (a new
    /// one with every change of user). The query cache drops a previous identity's entries
    /// when it changes.
    pub fn principal(&self) -> crate::sync::Principal {
        self.shared.state.borrow().engine.principal()
    }

    /// When the token in use expires (its `exp`, Unix seconds), if it says (devtools).
    pub fn token_expiry(&self) -> Option<u64> {
        self.shared.state.borrow().engine.token_expiry()
    }

    /// Where authentication stands.
    pub fn auth_status(&self) -> AuthStatus {
        self.shared.state.borrow().engine.auth_status()
    }

    /// A token refresh is under way (the client stays authenticated meanwhile).
    pub fn is_refreshing(&self) -> bool {
        self.shared.state.borrow().engine.is_refreshing()
    }

    /// Whether results belong to the current identity (false from a sign-in, sign-out or
    /// change of user until the server has re-run the queries; never false for a refresh).
    pub fn identity_settled(&self) -> bool {
        self.shared.state.borrow().engine.identity_settled()
    }

    /// The current result of the query `path` with `args`, if some subscription has it.
    pub fn cached<A: Serialize + ?Sized>(&self, path: &str, args: &A) -> Option<QueryResult> {
        let args = to_value(args).ok()?;
        self.cached_value(path, &args)
    }

    pub(crate) fn cached_value(&self, path: &str, args: &Value) -> Option<QueryResult> {
        self.shared.state.borrow().engine.lookup(path, args)
    }

    /// Calls `on_change` when [`ConvexClient::auth_status`], [`ConvexClient::is_refreshing`] or
    /// [`ConvexClient::identity_settled`] change; dropping the handle stops it.
    pub fn on_auth_state_change(&self, on_change: impl Fn() + 'static) -> ConnectionSubscription {
        let mut st = self.shared.state.borrow_mut();
        let id = st.next_listener;
        st.next_listener += 1;
        st.auth_listeners.push((id, Rc::new(on_change)));
        ConnectionSubscription { shared: Rc::downgrade(&self.shared), id }
    }

    /// The connection's state.
    pub fn connection_state(&self) -> ConnectionState {
        self.shared.state.borrow().engine.connection_state()
    }

    /// Calls `on_change` whenever the connection state changes; dropping the handle stops it.
    pub fn on_connection_change(
        &self,
        on_change: impl Fn(&ConnectionState) + 'static,
    ) -> ConnectionSubscription {
        let mut st = self.shared.state.borrow_mut();
        let id = st.next_listener;
        st.next_listener += 1;
        st.connection_listeners.push((id, Rc::new(on_change)));
        ConnectionSubscription { shared: Rc::downgrade(&self.shared), id }
    }

    /// Closes the connection for good; requests in flight fail with [`ConvexError::Closed`].
    pub fn close(&self) {
        self.shared.state.borrow_mut().engine.close();
        self.pump();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let st = self.state.get_mut();
        if let Some(socket) = st.socket.take() {
            socket.shut();
        }
        st.graveyard.clear();
        if let (Some(window), Some((handle, _))) = (web_sys::window(), st.timer.take()) {
            window.clear_timeout_with_handle(handle);
        }
        for (target, name, closure) in st.window_listeners.drain(..) {
            let _ =
                target.remove_event_listener_with_callback(name, closure.as_ref().unchecked_ref());
        }
    }
}

/// A query subscription; dropping it unsubscribes.
#[must_use = "dropping the subscription unsubscribes at once"]
pub struct QuerySubscription {
    shared: Weak<Shared>,
    sub: SubscriptionId,
    query: QueryId,
}

impl QuerySubscription {
    /// The query's current result (`None` while loading).
    pub fn current(&self) -> Option<QueryResult> {
        self.shared.upgrade()?.state.borrow().engine.query_result(self.query)
    }
}

impl Drop for QuerySubscription {
    fn drop(&mut self) {
        let Some(shared) = self.shared.upgrade() else { return };
        let Ok(mut st) = shared.state.try_borrow_mut() else {
            // Dropped from inside a pump (a callback): finish on the next turn.
            let (weak, sub, query) = (self.shared.clone(), self.sub, self.query);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(shared) = weak.upgrade() {
                    remove_listener(&shared, sub, query);
                }
            });
            return;
        };
        drop_listener(&mut st, self.sub, self.query);
        drop(st);
        schedule_flush(&shared);
    }
}

fn drop_listener(st: &mut State, sub: SubscriptionId, query: QueryId) {
    let Some(list) = st.listeners.get_mut(&query) else { return };
    let Some(at) = list.iter().position(|(id, _)| *id == sub) else { return };
    list.remove(at);
    if list.is_empty() {
        st.listeners.remove(&query);
    }
    st.engine.unsubscribe(sub);
}

fn remove_listener(shared: &Rc<Shared>, sub: SubscriptionId, query: QueryId) {
    if let Ok(mut st) = shared.state.try_borrow_mut() {
        drop_listener(&mut st, sub, query);
    }
    schedule_flush(shared);
}

/// A stream of a query's results; dropping it unsubscribes.
pub struct QueryStream {
    _subscription: QuerySubscription,
    rx: mpsc::UnboundedReceiver<QueryResult>,
}

impl Stream for QueryStream {
    type Item = QueryResult;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<QueryResult>> {
        Pin::new(&mut self.rx).poll_next(cx)
    }
}

/// A connection- or auth-state listener; dropping it stops the calls.
#[must_use = "dropping the handle stops the calls"]
pub struct ConnectionSubscription {
    shared: Weak<Shared>,
    id: u64,
}

impl Drop for ConnectionSubscription {
    fn drop(&mut self) {
        fn remove(shared: &Shared, id: u64) -> bool {
            let Ok(mut st) = shared.state.try_borrow_mut() else { return false };
            st.connection_listeners.retain(|(l, _)| *l != id);
            st.auth_listeners.retain(|(l, _)| *l != id);
            true
        }
        let Some(shared) = self.shared.upgrade() else { return };
        if !remove(&shared, self.id) {
            // Dropped while the client is busy (inside a pump): finish on the next turn.
            let (weak, id) = (self.shared.clone(), self.id);
            wasm_bindgen_futures::spawn_local(async move {
                if let Some(shared) = weak.upgrade() {
                    remove(&shared, id);
                }
            });
        }
    }
}

/// Subscription changes made in one turn go to the server as one ModifyQuerySet.
fn schedule_flush(shared: &Rc<Shared>) {
    {
        let Ok(mut st) = shared.state.try_borrow_mut() else { return };
        if st.flush_scheduled {
            return;
        }
        st.flush_scheduled = true;
    }
    let weak = Rc::downgrade(shared);
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(shared) = weak.upgrade() {
            if let Ok(mut st) = shared.state.try_borrow_mut() {
                st.flush_scheduled = false;
            }
            pump(&shared);
        }
    });
}

/// What a `beforeunload` prompt says while mutations are unacknowledged (browsers show their
/// own text; some show this), as `ConvexReactClient` says it.
const UNSAVED_CHANGES: &str = "Are you sure you want to leave? Your changes may not be saved.";

fn install_window_listeners(shared: &Rc<Shared>, unsaved_changes_warning: bool) {
    let Some(window) = web_sys::window() else { return };
    let mut listeners = Vec::new();
    if unsaved_changes_warning {
        let weak = Rc::downgrade(shared);
        let before_unload = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(shared) = weak.upgrade() else { return };
            let pending = match shared.state.try_borrow() {
                Ok(st) => st.engine.connection_state().inflight_mutations > 0,
                // Busy (an update running): be safe and ask.
                Err(_) => true,
            };
            if pending {
                e.prevent_default();
                let _ = js_sys::Reflect::set(&e, &"returnValue".into(), &UNSAVED_CHANGES.into());
            }
        });
        if window
            .add_event_listener_with_callback(
                "beforeunload",
                before_unload.as_ref().unchecked_ref(),
            )
            .is_ok()
        {
            listeners.push((
                window.clone().unchecked_into::<web_sys::EventTarget>(),
                "beforeunload",
                before_unload,
            ));
        }
    }
    let weak = Rc::downgrade(shared);
    let online = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
        if let Some(shared) = weak.upgrade() {
            if let Ok(mut st) = shared.state.try_borrow_mut() {
                st.engine.handle_online(now());
            }
            pump(&shared);
        }
    });
    if window.add_event_listener_with_callback("online", online.as_ref().unchecked_ref()).is_ok() {
        listeners.push((window.clone().unchecked_into::<web_sys::EventTarget>(), "online", online));
    }
    if let Some(document) = window.document() {
        let weak = Rc::downgrade(shared);
        let doc = document.clone();
        let visibility = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            let visible = doc.visibility_state() == web_sys::VisibilityState::Visible;
            if let Some(shared) = weak.upgrade() {
                if let Ok(mut st) = shared.state.try_borrow_mut() {
                    st.engine.handle_visibility(visible, now());
                }
                pump(&shared);
            }
        });
        if document
            .add_event_listener_with_callback(
                "visibilitychange",
                visibility.as_ref().unchecked_ref(),
            )
            .is_ok()
        {
            listeners.push((
                document.unchecked_into::<web_sys::EventTarget>(),
                "visibilitychange",
                visibility,
            ));
        }
    }
    shared.state.borrow_mut().window_listeners = listeners;
}

fn open_socket(shared: &Rc<Shared>, st: &mut State, id: SocketId) {
    if let Some(old) = st.socket.take() {
        retire(shared, st, old);
    }
    let url = sync_url(&st.url);
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(e) => {
            let reason = e
                .dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .or_else(|| e.as_string())
                .unwrap_or_else(|| format!("{e:?}"));
            st.engine.handle_open_failed(id, &format!("{url}: {reason}"), now());
            return;
        }
    };
    let weak = Rc::downgrade(shared);
    let on_open = Closure::<dyn FnMut()>::new(move || {
        if let Some(shared) = weak.upgrade() {
            shared.state.borrow_mut().engine.handle_open(id, now(), Some(wall_clock_ms()));
            pump(&shared);
        }
    });
    let weak = Rc::downgrade(shared);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(shared) = weak.upgrade() else { return };
        super::text::with_frame_text(&event.data(), |text| match text {
            Some(text) => shared.state.borrow_mut().engine.handle_text(id, text, now()),
            None => shared.state.borrow_mut().engine.protocol_error(
                id,
                crate::sync::protocol::MalformedMessage("a binary frame".into()),
                now(),
            ),
        });
        pump(&shared);
    });
    let weak = Rc::downgrade(shared);
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
        let Some(shared) = weak.upgrade() else { return };
        let reason = event.reason();
        shared.state.borrow_mut().engine.handle_close(id, Some(&reason), now());
        pump(&shared);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    st.socket = Some(LiveSocket {
        id,
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    });
}

/// Carries out what the engine asks, then runs user callbacks with the state released (so they
/// may call the client again).
fn pump(shared: &Rc<Shared>) {
    if shared.pumping.get() {
        // Called from a callback of the running pump: it goes round again when the callbacks
        // are done, so results are delivered in order.
        shared.again.set(true);
        return;
    }
    shared.pumping.set(true);
    pump_loop(shared);
    shared.pumping.set(false);
}

fn pump_loop(shared: &Rc<Shared>) {
    loop {
        shared.again.set(false);
        let mut calls: Vec<Box<dyn FnOnce()>> = Vec::new();
        {
            let Ok(mut guard) = shared.state.try_borrow_mut() else { return };
            let st = &mut *guard;
            loop {
                let mut progressed = false;
                while let Some(frame) = st.engine.poll_transmit() {
                    progressed = true;
                    if let Some(socket) = &st.socket {
                        if socket.ws.send_with_str(&frame).is_err() {
                            web_sys::console::warn_1(&"Convex: a frame could not be sent".into());
                        }
                    }
                }
                while let Some(event) = st.engine.poll_event() {
                    progressed = true;
                    handle_event(shared, st, event, &mut calls);
                }
                if !progressed {
                    break;
                }
            }
            reschedule_timer(st);
        }
        if calls.is_empty() && !shared.again.get() {
            return;
        }
        for call in calls {
            call();
        }
    }
}

fn handle_event(
    shared: &Rc<Shared>,
    st: &mut State,
    event: Event,
    calls: &mut Vec<Box<dyn FnOnce()>>,
) {
    match event {
        Event::OpenSocket { socket } => open_socket(shared, st, socket),
        Event::CloseSocket { socket } => {
            if st.socket.as_ref().is_some_and(|s| s.id == socket) {
                if let Some(s) = st.socket.take() {
                    retire(shared, st, s);
                }
            }
        }
        Event::FetchToken { request, force_refresh } => match st.auth.as_ref() {
            Some(auth) => {
                // The fetcher is the application's code: call it with the state released.
                let fetcher = auth.fetcher.clone();
                let weak = Rc::downgrade(shared);
                wasm_bindgen_futures::spawn_local(async move {
                    let token = fetcher(force_refresh).await;
                    if let Some(shared) = weak.upgrade() {
                        shared.state.borrow_mut().engine.handle_token(request, token, now());
                        pump(&shared);
                    }
                });
            }
            None => st.engine.handle_token(request, None, now()),
        },
        Event::QueryChanged { query } => {
            let result = st.engine.query_result(query);
            for (_, callback) in st.listeners.get(&query).into_iter().flatten() {
                let (callback, result) = (callback.clone(), result.clone());
                calls.push(Box::new(move || callback(result)));
            }
        }
        Event::MutationDone { request, result } => {
            if let Some(tx) = st.mutations.remove(&request) {
                let _ = tx.send(result);
            }
        }
        Event::ActionDone { request, result } => {
            if let Some(tx) = st.actions.remove(&request) {
                let _ = tx.send(result);
            }
        }
        Event::ConnectionChanged => {
            let state = st.engine.connection_state();
            for (_, callback) in &st.connection_listeners {
                let (callback, state) = (callback.clone(), state.clone());
                calls.push(Box::new(move || callback(&state)));
            }
        }
        Event::AuthStateChanged => {
            let status = st.engine.auth_status();
            if let Some(auth) = st.auth.as_mut() {
                let authenticated = match status {
                    AuthStatus::Authenticated => Some(true),
                    AuthStatus::Unauthenticated => Some(false),
                    AuthStatus::Loading => None,
                };
                if authenticated.is_some() && authenticated != auth.reported {
                    auth.reported = authenticated;
                    let on_change = auth.on_change.clone();
                    let value = authenticated == Some(true);
                    calls.push(Box::new(move || on_change(value)));
                }
            }
            for (_, callback) in &st.auth_listeners {
                let callback = callback.clone();
                calls.push(Box::new(move || callback()));
            }
        }
        Event::ServerLog { udf_path, kind, lines } => {
            for line in lines {
                let text = format!("[CONVEX {}({udf_path})] {line}", kind.letter());
                web_sys::console::log_1(&text.into());
            }
        }
        Event::Warning(message) => web_sys::console::warn_1(&format!("Convex: {message}").into()),
    }
}

/// Keeps one `setTimeout` at or before the engine's next deadline. A deadline that moves later
/// (the inactivity timer, on every message) leaves the timer alone: it fires, finds nothing due,
/// and is set again, so a busy connection costs no timer churn.
fn reschedule_timer(st: &mut State) {
    let Some(deadline) = st.engine.poll_timeout() else { return };
    if st.timer.is_some_and(|(_, scheduled)| scheduled <= deadline) {
        return;
    }
    let Some(window) = web_sys::window() else { return };
    if let Some((handle, _)) = st.timer.take() {
        window.clear_timeout_with_handle(handle);
    }
    let Some(callback) = &st.timer_callback else { return };
    // One extra millisecond so the deadline has surely passed when it fires.
    let delay_ms = deadline.saturating_sub(now()).as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
    if let Ok(handle) = window.set_timeout_with_callback_and_timeout_and_arguments_0(
        callback.as_ref().unchecked_ref(),
        delay_ms,
    ) {
        st.timer = Some((handle, deadline));
    }
}
