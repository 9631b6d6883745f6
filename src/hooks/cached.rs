//! Cached queries for Yew: `QueryClientProvider`, `use_query_client`, `use_cached_query`
//! (TanStack's `useQuery`), `use_suspense_query` (`useSuspenseQuery`) and
//! `use_cached_mutation` (`useMutation`), a thin layer over [`crate::cache`].

use std::{cell::Cell, cell::RefCell, future::Future, rc::Rc, time::Duration};

use serde::{de::DeserializeOwned, Serialize};
use yew::{prelude::*, suspense::Suspension};

use crate::{
    cache::{
        convex_value, downcast, query_fn, Data, FetchStatus, Mutation, MutationState, ObserverView,
        Placeholder, QueryClient, QueryError, QueryFn, QueryKey, QueryOptions, QueryState,
        QueryStatus, Refetch, StaleTime,
    },
    function::{kind, Function},
    sync::ConvexError,
    value::{to_value, Value},
};

/// Props of [`QueryClientProvider`].
#[derive(Properties, PartialEq)]
pub struct QueryClientProviderProps {
    /// The cache every cached hook below uses.
    pub client: QueryClient,
    /// The app.
    #[prop_or_default]
    pub children: Html,
}

/// Makes a [`QueryClient`] available to [`use_query_client`], [`use_cached_query`],
/// [`use_suspense_query`] and [`use_cached_mutation`] below it (TanStack's
/// `QueryClientProvider`). Put it inside the Convex provider whose client it was given.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{cache::QueryClient, client::ConvexClient, ConvexProvider, QueryClientProvider};
///
/// #[function_component]
/// fn App() -> Html {
///     let convex = use_memo((), |_| ConvexClient::new("http://127.0.0.1:3210").expect("a valid URL"));
///     let queries = use_memo((), |_| QueryClient::new(Some((*convex).clone())));
///     html! {
///         <ConvexProvider client={(*convex).clone()}>
///             <QueryClientProvider client={(*queries).clone()}>{"the app"}</QueryClientProvider>
///         </ConvexProvider>
///     }
/// }
/// ```
#[function_component]
pub fn QueryClientProvider(props: &QueryClientProviderProps) -> Html {
    html! {
        <ContextProvider<QueryClient> context={props.client.clone()}>
            { props.children.clone() }
        </ContextProvider<QueryClient>>
    }
}

/// The [`QueryClient`] of the nearest [`QueryClientProvider`] (TanStack's `useQueryClient`).
///
/// # Panics
/// When no provider is above the component (a mistake in the tree, which the message names).
#[hook]
pub fn use_query_client() -> QueryClient {
    use_context::<QueryClient>().expect(
        "no QueryClient: use_query_client / use_cached_query / use_suspense_query / \
         use_cached_mutation must be used under <QueryClientProvider>",
    )
}

type Decode<T> = Rc<dyn Fn(&Data) -> Result<Rc<T>, QueryError>>;

/// Where a cached query's data comes from.
#[derive(Clone)]
enum Source {
    /// A Convex query: its key's subscription.
    ConvexQuery,
    /// A Convex action, run as a query function.
    ConvexAction { path: String, args: Value },
    /// Any async function.
    Fn(QueryFn),
}

/// A cached query: its key, where its data comes from, its options and how its data reads as
/// `T` (TanStack's query options object). Build one with [`convex_query`], [`convex_action`]
/// or [`cached_query`], then adjust it with the builder methods.
pub struct CachedQuery<T> {
    key: Result<QueryKey, QueryError>,
    source: Source,
    options: QueryOptions,
    placeholder: Placeholder,
    decode: Decode<T>,
}

impl<T> Clone for CachedQuery<T> {
    fn clone(&self) -> Self {
        Self {
            key: self.key.clone(),
            source: self.source.clone(),
            options: self.options,
            placeholder: self.placeholder.clone(),
            decode: self.decode.clone(),
        }
    }
}

fn convex_args<A: Serialize>(args: &A) -> Result<Value, QueryError> {
    to_value(args).map_err(|e| QueryError::Convex(ConvexError::InvalidArgs(e)))
}

fn decode_convex<T: DeserializeOwned + 'static>() -> Decode<T> {
    Rc::new(|data: &Data| {
        let value = convex_value(data).ok_or(QueryError::WrongType("Convex value"))?;
        value.decode::<T>().map_err(|e| QueryError::Convex(ConvexError::Decode(e)))
    })
}

/// The Convex query `path` with `args`, cached: `convexQuery(api.x, args)` of
/// `@convex-dev/react-query`. Its first observer opens a subscription that keeps it current
/// (it is never stale while subscribed); the result is decoded into `T`.
///
/// # Example
/// ```no_run
/// use serde::Deserialize;
/// use yew::prelude::*;
/// use yew_convex::{convex_query, use_cached_query};
///
/// #[derive(Deserialize, PartialEq)]
/// struct Post { title: String }
///
/// #[function_component]
/// fn Posts() -> Html {
///     let posts = use_cached_query(convex_query::<Vec<Post>, _>("posts:list", serde_json::json!({})));
///     match (posts.data(), posts.error()) {
///         (Some(posts), _) => html! { <ul>{ for posts.iter().map(|p| html! { <li>{ &p.title }</li> }) }</ul> },
///         (None, Some(e)) => html! { <p>{ e.to_string() }</p> },
///         (None, None) => html! { <p>{"Loading…"}</p> },
///     }
/// }
/// ```
pub fn convex_query<T, A>(query: impl Function<kind::Query, A, T>, args: A) -> CachedQuery<T>
where
    T: DeserializeOwned + 'static,
    A: Serialize,
{
    let path = query.path();
    let key = convex_args(&args).map(|args| QueryKey::convex_query(path, args));
    CachedQuery {
        key,
        source: Source::ConvexQuery,
        options: QueryOptions { stale_time: StaleTime::Never, ..QueryOptions::default() },
        placeholder: Placeholder::None,
        decode: decode_convex::<T>(),
    }
}

/// The Convex action `path` with `args`, cached as an ordinary query (not reactive: it runs
/// again when stale, like any fetch). Its entry belongs to the signed-in user and is dropped
/// when that changes.
pub fn convex_action<T, A>(action: impl Function<kind::Action, A, T>, args: A) -> CachedQuery<T>
where
    T: DeserializeOwned + 'static,
    A: Serialize,
{
    let path = action.path();
    let args = convex_args(&args);
    let key = args.clone().map(|args| QueryKey::convex_action(path, args));
    CachedQuery {
        key,
        source: Source::ConvexAction {
            path: path.to_string(),
            args: args.unwrap_or(Value::Object(Default::default())),
        },
        options: QueryOptions::default(),
        placeholder: Placeholder::None,
        decode: decode_convex::<T>(),
    }
}

/// Any async function as a cached query under `key` (anything serializable: an array's items
/// are the key's parts).
///
/// # Example
/// ```no_run
/// use yew_convex::{cached_query, cache::QueryError};
/// let weather = cached_query(&["weather", "paris"], || async {
///     let response = gloo_net::http::Request::get("/api/weather/paris").send().await
///         .map_err(QueryError::msg)?;
///     response.text().await.map_err(QueryError::msg)
/// });
/// ```
pub fn cached_query<T, K, F, Fut>(key: &K, fetch: F) -> CachedQuery<T>
where
    T: PartialEq + 'static,
    K: Serialize + ?Sized,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, QueryError>> + 'static,
{
    CachedQuery {
        key: QueryKey::from_serialize(key)
            .map_err(|e| QueryError::msg(format!("bad query key: {e}"))),
        source: Source::Fn(query_fn(fetch)),
        options: QueryOptions::default(),
        placeholder: Placeholder::None,
        decode: Rc::new(|data: &Data| {
            downcast::<T>(data).ok_or(QueryError::WrongType(std::any::type_name::<T>()))
        }),
    }
}

impl<T: 'static> CachedQuery<T> {
    /// The key.
    pub fn key(&self) -> Option<&QueryKey> {
        self.key.as_ref().ok()
    }

    /// Whether it runs at all (`enabled`). Default: `true`.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.options.enabled = enabled;
        self
    }

    /// How long fetched data is fresh (`staleTime`). Default: `0`; Convex queries: never stale.
    pub fn stale_time(mut self, stale_time: Duration) -> Self {
        self.options.stale_time = StaleTime::After(stale_time);
        self
    }

    /// How long unobserved data is kept (`gcTime`). Default: `5 min`.
    pub fn gc_time(mut self, gc_time: Duration) -> Self {
        self.options.gc_time = Some(gc_time);
        self
    }

    /// Retries of a failed fetch (`retry`). Default: `3`.
    pub fn retry(mut self, count: u32) -> Self {
        self.options.retry.count = count;
        self
    }

    /// Refetch when a component mounts (`refetchOnMount`). Default: if stale.
    pub fn refetch_on_mount(mut self, when: Refetch) -> Self {
        self.options.refetch_on_mount = when;
        self
    }

    /// Refetch when the window regains focus (`refetchOnWindowFocus`). Default: if stale.
    pub fn refetch_on_window_focus(mut self, when: Refetch) -> Self {
        self.options.refetch_on_window_focus = when;
        self
    }

    /// Refetch when the network comes back (`refetchOnReconnect`). Default: if stale.
    pub fn refetch_on_reconnect(mut self, when: Refetch) -> Self {
        self.options.refetch_on_reconnect = when;
        self
    }

    /// While the key's data is not there yet, keep showing what this component showed before
    /// its key changed (`placeholderData: keepPreviousData`).
    pub fn keep_previous_data(mut self) -> Self {
        self.placeholder = Placeholder::KeepPrevious;
        self
    }

    /// While the key's data is not there yet, show `value` (`placeholderData`).
    pub fn placeholder_data(mut self, value: T) -> Self
    where
        T: PartialEq,
    {
        self.placeholder = Placeholder::Data(Rc::new(value));
        let decode = self.decode.clone();
        // A placeholder is a `T` already; the data is whatever the source gives.
        self.decode =
            Rc::new(move |data: &Data| downcast::<T>(data).map(Ok).unwrap_or_else(|| decode(data)));
        self
    }

    /// Reads the data through `select` (`select`): the component sees `U`, recomputed only when
    /// the data changes, and re-renders only when the `U` differs.
    pub fn select<U: PartialEq + 'static>(
        self,
        select: impl Fn(&T) -> U + 'static,
    ) -> CachedQuery<U> {
        let decode = self.decode.clone();
        let last: Rc<RefCell<Option<Rc<U>>>> = Rc::default();
        CachedQuery {
            key: self.key,
            source: self.source,
            options: self.options,
            placeholder: match self.placeholder {
                Placeholder::KeepPrevious => Placeholder::KeepPrevious,
                _ => Placeholder::None,
            },
            decode: Rc::new(move |data: &Data| {
                let selected = select(&*decode(data)?);
                let mut last = last.borrow_mut();
                match &*last {
                    Some(previous) if **previous == selected => Ok(previous.clone()),
                    _ => {
                        let rc = Rc::new(selected);
                        *last = Some(rc.clone());
                        Ok(rc)
                    }
                }
            }),
        }
    }

    fn query_fn(&self, client: &QueryClient) -> Option<QueryFn> {
        match &self.source {
            Source::ConvexQuery => None,
            Source::Fn(f) => Some(f.clone()),
            Source::ConvexAction { path, args } => {
                let convex = client.convex()?.clone();
                let (path, args) = (path.clone(), args.clone());
                Some(Rc::new(move || {
                    let (convex, path, args) = (convex.clone(), path.clone(), args.clone());
                    Box::pin(async move {
                        convex
                            .action_raw(&path, Ok(args))
                            .await
                            .map(|v| Rc::new(v) as Data)
                            .map_err(QueryError::Convex)
                    })
                }))
            }
        }
    }
}

/// Fields a component read (only changes in those re-render it, as TanStack tracks them).
const TRACK_FETCHING: u8 = 1;
const TRACK_STALE: u8 = 2;
const TRACK_FAILURES: u8 = 4;

/// What [`use_cached_query`] returns: the data and the state around it. Reading
/// `is_fetching`, `fetch_status`, `is_stale` or `failure_count` subscribes the component to
/// their changes; otherwise a background refetch that brings equal data re-renders nothing.
pub struct UseCachedQuery<T> {
    data: Option<Rc<T>>,
    error: Option<QueryError>,
    status: QueryStatus,
    fetch_status: FetchStatus,
    is_placeholder: bool,
    is_stale: bool,
    failure_count: u32,
    refetch: Callback<()>,
    tracked: Rc<Cell<u8>>,
}

impl<T> UseCachedQuery<T> {
    /// The data (or a placeholder, see [`UseCachedQuery::is_placeholder`]).
    pub fn data(&self) -> Option<&Rc<T>> {
        self.data.as_ref()
    }
    /// The last final error (the data, if any, is kept beside it).
    pub fn error(&self) -> Option<&QueryError> {
        self.error.as_ref()
    }
    /// Pending / success / error.
    pub fn status(&self) -> QueryStatus {
        self.status
    }
    /// No data yet (`isPending`).
    pub fn is_pending(&self) -> bool {
        self.status == QueryStatus::Pending && self.data.is_none()
    }
    /// The last fetch failed for good (`isError`).
    pub fn is_error(&self) -> bool {
        self.status == QueryStatus::Error
    }
    /// Data is there (`isSuccess`).
    pub fn is_success(&self) -> bool {
        self.status == QueryStatus::Success
    }
    /// A fetch (or retry) runs (`isFetching`).
    pub fn is_fetching(&self) -> bool {
        self.tracked.set(self.tracked.get() | TRACK_FETCHING);
        self.fetch_status == FetchStatus::Fetching
    }
    /// Fetching / paused / idle (`fetchStatus`).
    pub fn fetch_status(&self) -> FetchStatus {
        self.tracked.set(self.tracked.get() | TRACK_FETCHING);
        self.fetch_status
    }
    /// The data is stale (`isStale`).
    pub fn is_stale(&self) -> bool {
        self.tracked.set(self.tracked.get() | TRACK_STALE);
        self.is_stale
    }
    /// Failed attempts of the current fetch (`failureCount`).
    pub fn failure_count(&self) -> u32 {
        self.tracked.set(self.tracked.get() | TRACK_FAILURES);
        self.failure_count
    }
    /// The data shown is a placeholder (`isPlaceholderData`).
    pub fn is_placeholder(&self) -> bool {
        self.is_placeholder
    }
    /// Fetches again (`refetch`).
    pub fn refetch(&self) {
        self.refetch.emit(());
    }
}

/// What a render showed, to compare with the next state.
#[derive(Clone)]
struct Shown {
    data: Option<Data>,
    error: Option<QueryError>,
    status: QueryStatus,
    fetch_status: FetchStatus,
    is_stale: bool,
    failure_count: u32,
}

impl Shown {
    fn of(state: Option<&QueryState>, is_stale: bool) -> Self {
        Shown {
            data: state.and_then(|s| s.data.clone()),
            error: state.and_then(|s| s.error.clone()),
            status: state.map_or(QueryStatus::Pending, |s| s.status),
            fetch_status: state.map_or(FetchStatus::Idle, |s| s.fetch_status),
            is_stale,
            failure_count: state.map_or(0, |s| s.failure_count),
        }
    }

    fn differs(&self, other: &Shown, tracked: u8) -> bool {
        let data = match (&self.data, &other.data) {
            (Some(a), Some(b)) => !Rc::ptr_eq(a, b),
            (None, None) => false,
            _ => true,
        };
        data || self.error != other.error
            || self.status != other.status
            || (tracked & TRACK_FETCHING != 0 && self.fetch_status != other.fetch_status)
            || (tracked & TRACK_STALE != 0 && self.is_stale != other.is_stale)
            || (tracked & TRACK_FAILURES != 0 && self.failure_count != other.failure_count)
    }
}

struct HookState<T> {
    shown: Option<Shown>,
    /// The data the component showed last (for `keep_previous_data`).
    previous: Option<Data>,
    decoded: Option<(Data, Rc<T>)>,
}

/// A cached query in a component (TanStack's `useQuery`): the data shows at once if the cache
/// has it (a page visited again, a loader that ran before the route), the component re-renders
/// when it changes, and a Convex query stays live while any component observes it (and lingers
/// a few seconds after).
///
/// See [`convex_query`] for an example, and [`crate::cache`] for when to prefer
/// [`crate::use_query`].
#[hook]
pub fn use_cached_query<T: 'static>(query: CachedQuery<T>) -> UseCachedQuery<T> {
    let client = use_query_client();
    let update = use_force_update();
    let tracked: Rc<Cell<u8>> = (*use_memo((), |_| Rc::new(Cell::new(0u8)))).clone();
    let hook: Rc<RefCell<HookState<T>>> =
        use_mut_ref(|| HookState { shown: None, previous: None, decoded: None });
    // Bumped when the entry is removed under the component: it observes it again.
    let epoch = use_state(|| 0u32);

    let key = query.key.clone();
    {
        let client = client.clone();
        let query = query.clone();
        let hook = hook.clone();
        let tracked = tracked.clone();
        let epoch_handle = epoch.clone();
        let deps = (client.clone(), key.clone().ok(), query.options.enabled, *epoch);
        use_effect_with(deps, move |(client, key, _, _)| {
            let observed = key.as_ref().map(|key| {
                let observer = client.observe(key, Some(query.options), query.query_fn(client));
                let (c, k, options) = (client.clone(), key.clone(), query.options);
                let listener = client.listen(key, move || {
                    let state = c.state(&k);
                    if state.is_none() {
                        // Removed: observe it again.
                        epoch_handle.set(*epoch_handle + 1);
                        return;
                    }
                    let now = Shown::of(state.as_ref(), c.is_stale(&k, &options));
                    let differs = hook
                        .borrow()
                        .shown
                        .as_ref()
                        .is_none_or(|shown| shown.differs(&now, tracked.get()));
                    if differs {
                        update.force_update();
                    }
                });
                (observer, listener)
            });
            let client = client.clone();
            move || {
                if let Some((observer, listener)) = observed {
                    drop(listener);
                    client.unobserve(observer);
                }
            }
        });
    }

    let refetch = {
        let (client, key) = (client.clone(), key.clone().ok());
        Callback::from(move |()| {
            if let Some(key) = &key {
                client.refetch(key);
            }
        })
    };
    let key = match key {
        Ok(key) => key,
        Err(error) => {
            return UseCachedQuery {
                data: None,
                error: Some(error),
                status: QueryStatus::Error,
                fetch_status: FetchStatus::Idle,
                is_placeholder: false,
                is_stale: true,
                failure_count: 0,
                refetch,
                tracked,
            }
        }
    };
    let state = client.state(&key);
    let is_stale = client.is_stale(&key, &query.options);
    let shown = Shown::of(state.as_ref(), is_stale);
    let mut h = hook.borrow_mut();
    let view =
        ObserverView::compute(state.as_ref(), h.previous.as_ref(), query.placeholder.clone());
    let mut error = shown.error.clone();
    let data = view.data.as_ref().and_then(|d| {
        if let Some((cached, decoded)) = &h.decoded {
            if Rc::ptr_eq(cached, d) {
                return Some(decoded.clone());
            }
        }
        match (query.decode)(d) {
            Ok(decoded) => {
                h.decoded = Some((d.clone(), decoded.clone()));
                Some(decoded)
            }
            Err(e) => {
                error = Some(e);
                None
            }
        }
    });
    if view.data.is_some() {
        h.previous = view.data.clone();
    }
    h.shown = Some(shown.clone());
    drop(h);
    UseCachedQuery {
        data,
        status: if error.is_some() && shown.status != QueryStatus::Error && view.data.is_some() {
            QueryStatus::Error
        } else {
            shown.status
        },
        error,
        fetch_status: shown.fetch_status,
        is_placeholder: view.is_placeholder,
        is_stale,
        failure_count: shown.failure_count,
        refetch,
        tracked,
    }
}

/// A cached query that suspends (TanStack's `useSuspenseQuery`): under a Yew `<Suspense>`, the
/// fallback shows until the data is there (fetched, or the Convex subscription's first
/// result); then the value, kept live as with [`use_cached_query`]. Yew has no error
/// boundaries, so a failure is returned as `Err`.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{convex_query, use_suspense_query};
///
/// #[function_component]
/// fn Count() -> HtmlResult {
///     let posts = use_suspense_query(convex_query::<Vec<serde_json::Value>, _>("posts:list", serde_json::json!({})))?;
///     Ok(match posts {
///         Ok(posts) => html! { <p>{ format!("{} posts", posts.len()) }</p> },
///         Err(e) => html! { <p>{ e.to_string() }</p> },
///     })
/// }
///
/// #[function_component]
/// fn Page() -> Html {
///     html! { <Suspense fallback={html! {"Loading…"}}><Count /></Suspense> }
/// }
/// ```
#[hook]
pub fn use_suspense_query<T: 'static>(
    query: CachedQuery<T>,
) -> yew::suspense::SuspensionResult<Result<Rc<T>, QueryError>> {
    let client = use_query_client();
    let fetcher = query.query_fn(&client);
    let key = query.key.clone();
    let result = use_cached_query(query);
    if let Some(data) = result.data() {
        return Ok(Ok(data.clone()));
    }
    if let Some(error) = result.error() {
        if !result.is_pending() || result.status() == QueryStatus::Error {
            return Ok(Err(error.clone()));
        }
    }
    let key = match key {
        Ok(key) => key,
        Err(error) => return Ok(Err(error)),
    };
    let (suspension, handle) = Suspension::new();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = client.ensure_query_data(&key, fetcher).await;
        handle.resume();
    });
    Err(suspension)
}

type MutationCall<T> = std::pin::Pin<Box<dyn Future<Output = Result<Rc<T>, QueryError>>>>;

/// What [`use_cached_mutation`] returns.
pub struct UseCachedMutation<V, T> {
    state: MutationState<T>,
    run: Rc<dyn Fn(V) -> MutationCall<T>>,
    reset: Callback<()>,
}

impl<V: 'static, T: 'static> UseCachedMutation<V, T> {
    /// Runs the mutation; the outcome shows in the state (`mutate`).
    pub fn mutate(&self, vars: V) {
        let run = (self.run)(vars);
        wasm_bindgen_futures::spawn_local(async move {
            let _ = run.await;
        });
    }
    /// Runs the mutation and returns its outcome (`mutateAsync`).
    pub fn mutate_async(&self, vars: V) -> impl Future<Output = Result<Rc<T>, QueryError>> {
        (self.run)(vars)
    }
    /// Idle / pending / success / error.
    pub fn state(&self) -> &MutationState<T> {
        &self.state
    }
    /// Running (`isPending`).
    pub fn is_pending(&self) -> bool {
        matches!(self.state, MutationState::Pending)
    }
    /// The last run's error.
    pub fn error(&self) -> Option<&QueryError> {
        match &self.state {
            MutationState::Error(e) => Some(e),
            _ => None,
        }
    }
    /// Back to idle (`reset`).
    pub fn reset(&self) {
        self.reset.emit(());
    }
}

/// A mutation in a component (TanStack's `useMutation`): its state, and its lifecycle
/// callbacks and invalidations (see [`Mutation`]) run for every call.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{cache::{Mutation, QueryError, QueryKey}, use_cached_mutation, use_convex};
///
/// #[function_component]
/// fn NewPost() -> Html {
///     let convex = use_convex();
///     let create = use_cached_mutation(
///         Mutation::new(move |title: String| {
///             let convex = convex.clone();
///             async move {
///                 convex.mutation::<_, String>("posts:create", &serde_json::json!({"title": title, "body": ""}))
///                     .await.map_err(QueryError::from)
///             }
///         })
///         .invalidates(QueryKey::from_serialize(&["drafts"]).unwrap()),
///     );
///     let onclick = Callback::from(move |_| create.mutate("Hello".to_string()));
///     html! { <button {onclick}>{"Post"}</button> }
/// }
/// ```
#[hook]
pub fn use_cached_mutation<V, T>(mutation: Mutation<V, T>) -> UseCachedMutation<V, T>
where
    V: Clone + 'static,
    T: 'static,
{
    let client = use_query_client();
    let state = use_state(|| MutationState::<T>::Idle);
    // The latest mutation (callbacks may capture new props every render).
    let latest = use_mut_ref(|| mutation.clone());
    *latest.borrow_mut() = mutation;
    // Only the latest call's outcome shows (TanStack's behaviour).
    let calls = use_mut_ref(|| 0u64);
    let run = {
        let (state, client) = (state.clone(), client.clone());
        Rc::new(move |vars: V| {
            let (state, client, mutation, calls) =
                (state.clone(), client.clone(), latest.borrow().clone(), calls.clone());
            *calls.borrow_mut() += 1;
            let call = *calls.borrow();
            state.set(MutationState::Pending);
            Box::pin(async move {
                let result = mutation.run(vars, |key| client.invalidate(key)).await;
                if *calls.borrow() == call {
                    state.set(match &result {
                        Ok(v) => MutationState::Success(v.clone()),
                        Err(e) => MutationState::Error(e.clone()),
                    });
                }
                result
            }) as MutationCall<T>
        })
    };
    let reset = {
        let state = state.clone();
        Callback::from(move |()| state.set(MutationState::Idle))
    };
    UseCachedMutation { state: (*state).clone(), run, reset }
}
