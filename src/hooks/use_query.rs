//! `use_query`: a component's live view of one query.

use std::{cell::RefCell, rc::Rc};

use serde::{de::DeserializeOwned, Serialize};
use yew::prelude::*;

use super::provider::use_convex;
use crate::{
    client::QuerySubscription,
    function::{kind, Function},
    sync::{ConvexError, QueryResult},
    value::{to_value, Value},
};

/// What a query shows right now.
#[derive(Debug)]
pub enum QueryState<T> {
    /// No result yet (or, after a change of user, none for the new user yet).
    Loading,
    /// The latest result, decoded once and shared by every render.
    Ready(Rc<T>),
    /// The query failed (its ConvexError data is in [`ConvexError::data`]) or its result did
    /// not decode into `T`.
    Failed(ConvexError),
}

impl<T> Clone for QueryState<T> {
    fn clone(&self) -> Self {
        match self {
            QueryState::Loading => QueryState::Loading,
            QueryState::Ready(v) => QueryState::Ready(v.clone()),
            QueryState::Failed(e) => QueryState::Failed(e.clone()),
        }
    }
}

impl<T> PartialEq for QueryState<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (QueryState::Loading, QueryState::Loading) => true,
            (QueryState::Ready(a), QueryState::Ready(b)) => Rc::ptr_eq(a, b),
            (QueryState::Failed(a), QueryState::Failed(b)) => a == b,
            _ => false,
        }
    }
}

impl<T> QueryState<T> {
    /// The value, when ready.
    pub fn value(&self) -> Option<&T> {
        match self {
            QueryState::Ready(v) => Some(v),
            _ => None,
        }
    }

    /// Whether there is no result yet.
    pub fn is_loading(&self) -> bool {
        matches!(self, QueryState::Loading)
    }

    /// The error, when the query failed.
    pub fn error(&self) -> Option<&ConvexError> {
        match self {
            QueryState::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// The last result a hook saw, and its decoded form.
struct Cell<T> {
    key: Option<(String, String)>,
    raw: Option<QueryResult>,
    state: QueryState<T>,
}

fn same(a: &Option<QueryResult>, b: &Option<QueryResult>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Ok(x)), Some(Ok(y))) => x == y,
        (Some(Err(x)), Some(Err(y))) => x == y,
        _ => false,
    }
}

fn decode<T: DeserializeOwned + 'static>(raw: &Option<QueryResult>) -> QueryState<T> {
    match raw {
        None => QueryState::Loading,
        Some(Err(e)) => QueryState::Failed(e.clone()),
        // Decoded straight from the JSON text, once per result and type: every component
        // reading the same result as `T` shares this `Rc<T>`.
        Some(Ok(value)) => match value.decode::<T>() {
            Ok(v) => QueryState::Ready(v),
            Err(e) => QueryState::Failed(ConvexError::Decode(e)),
        },
    }
}

impl<T: DeserializeOwned + 'static> Cell<T> {
    /// Takes `raw` if it differs; returns whether it did.
    fn offer(&mut self, raw: Option<QueryResult>) -> bool {
        if same(&self.raw, &raw) {
            return false;
        }
        self.state = decode(&raw);
        self.raw = raw;
        true
    }
}

/// Subscribes the component to the query `path` with `args` and returns what it shows:
/// [`QueryState::Loading`], [`QueryState::Ready`] with the value decoded into `T`, or
/// [`QueryState::Failed`]. The component re-renders only when the result changes; components
/// asking for the same query share one subscription and one decoded value per render.
///
/// While the signed-in user changes (sign-in, sign-out, another user) the hook shows
/// `Loading` rather than a result that belonged to the previous user (the client itself never
/// hands out another identity's result); a token refresh for the same user never does
/// (convex-js #152, convex-backend #259).
///
/// See [`use_query_skip`] to subscribe conditionally (`useQuery(fn, "skip")`).
///
/// # Example
/// ```no_run
/// use serde::Deserialize;
/// use yew::prelude::*;
/// use yew_convex::{use_query, QueryState};
///
/// #[derive(Deserialize)]
/// struct Post { title: String }
///
/// #[function_component]
/// fn Posts() -> Html {
///     match use_query::<Vec<Post>, _>("posts:list", serde_json::json!({})) {
///         QueryState::Loading => html! { <p>{"Loading…"}</p> },
///         QueryState::Failed(e) => html! { <p>{ e.to_string() }</p> },
///         QueryState::Ready(posts) => html! {
///             <ul>{ for posts.iter().map(|p| html! { <li>{ &p.title }</li> }) }</ul>
///         },
///     }
/// }
/// ```
#[hook]
pub fn use_query<T, A>(query: impl Function<kind::Query, A, T>, args: A) -> QueryState<T>
where
    T: DeserializeOwned + 'static,
    A: Serialize + 'static,
{
    use_query_skip(query.path(), Some(args))
}

/// Like [`use_query`], but `None` skips the query (no subscription; [`QueryState::Loading`]),
/// as `useQuery(fn, "skip")` does.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{use_query_skip, QueryState};
///
/// #[derive(Properties, PartialEq)]
/// struct Props { id: Option<String> }
///
/// #[function_component]
/// fn Post(props: &Props) -> Html {
///     let args = props.id.as_ref().map(|id| serde_json::json!({ "id": id }));
///     let post = use_query_skip::<serde_json::Value, _>("posts:get", args);
///     html! { <pre>{ format!("{:?}", post.value()) }</pre> }
/// }
/// ```
#[hook]
pub fn use_query_skip<T, A>(
    query: impl Function<kind::Query, A, T>,
    args: Option<A>,
) -> QueryState<T>
where
    T: DeserializeOwned + 'static,
    A: Serialize + 'static,
{
    let path = query.path();
    let client = use_convex();
    let update = use_force_update();
    let cell: Rc<RefCell<Cell<T>>> =
        use_mut_ref(|| Cell { key: None, raw: None, state: QueryState::Loading });

    let args: Option<Result<(Value, String), ConvexError>> = args.map(|a| {
        let value = to_value(&a).map_err(ConvexError::InvalidArgs)?;
        let text = crate::value::encode_args(&value).map_err(ConvexError::InvalidArgs)?;
        Ok((value, text))
    });
    let invalid = match &args {
        Some(Err(e)) => Some(e.clone()),
        _ => None,
    };
    let key = match &args {
        Some(Ok((_, text))) => Some((path.to_string(), text.clone())),
        _ => None,
    };
    let value = match args {
        Some(Ok((value, _))) => Some(value),
        _ => None,
    };

    // A new query (or none) starts from what the client already has for it.
    {
        let mut c = cell.borrow_mut();
        if c.key != key {
            c.key = key.clone();
            c.raw = None;
            c.state = QueryState::Loading;
            if let (Some((path, _)), Some(value)) = (&key, &value) {
                let cached = client.cached_value(path, value);
                c.offer(cached);
            }
        }
    }

    {
        let cell = cell.clone();
        use_effect_with((client, key), move |(client, key)| {
            let subscription: Option<QuerySubscription> = match (key, value) {
                (Some((path, _)), Some(value)) => {
                    let (cell_cb, update_cb) = (cell.clone(), update.clone());
                    let mine = key.clone();
                    let subscribed = client.subscribe_value(path, value, move |raw| {
                        let mut cell = cell_cb.borrow_mut();
                        // Between a render with new args and its effect, the old
                        // subscription may still deliver: its results are not this query's.
                        if cell.key == mine && cell.offer(raw) {
                            drop(cell);
                            update_cb.force_update();
                        }
                    });
                    match subscribed {
                        Ok(sub) => {
                            // Another component may have had the result already.
                            if cell.borrow_mut().offer(sub.current()) {
                                update.force_update();
                            }
                            Some(sub)
                        }
                        Err(e) => {
                            cell.borrow_mut().state = QueryState::Failed(e);
                            update.force_update();
                            None
                        }
                    }
                }
                _ => None,
            };
            move || drop(subscription)
        });
    }

    if let Some(e) = invalid {
        return QueryState::Failed(e);
    }
    let state = cell.borrow().state.clone();
    state
}

/// A query subscribed ahead of the component that shows it (convex/react's preloading): start
/// it in an event handler, a parent or a route loader with [`preload_query`], hand it down,
/// and [`use_preloaded_query`] shows its result from its first render, with no loading state
/// if the result has arrived. The subscription lives as long as any clone of it.
pub struct PreloadedQuery<T> {
    path: Rc<str>,
    args: Rc<Value>,
    subscription: Rc<QuerySubscription>,
    _result: std::marker::PhantomData<fn() -> T>,
}

impl<T> Clone for PreloadedQuery<T> {
    fn clone(&self) -> Self {
        Self {
            path: self.path.clone(),
            args: self.args.clone(),
            subscription: self.subscription.clone(),
            _result: std::marker::PhantomData,
        }
    }
}

impl<T> PartialEq for PreloadedQuery<T> {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path && self.args == other.args
    }
}

impl<T> std::fmt::Debug for PreloadedQuery<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreloadedQuery({} {:?})", self.path, self.args)
    }
}

impl<T> PreloadedQuery<T> {
    /// Whether its result (or error) has arrived.
    pub fn is_ready(&self) -> bool {
        self.subscription.current().is_some()
    }
}

/// Subscribes `client` to `query` with `args` now, before any component asks for it.
///
/// ```no_run
/// # use yew_convex::{client::ConvexClient, preload_query};
/// # fn f(client: &ConvexClient) -> Result<(), yew_convex::sync::ConvexError> {
/// let posts = preload_query::<Vec<serde_json::Value>, _>(client, "posts:list", &serde_json::json!({}))?;
/// // … later, in a component: `let state = use_preloaded_query(&posts);`
/// # Ok(()) }
/// ```
pub fn preload_query<T, A>(
    client: &crate::client::ConvexClient,
    query: impl Function<kind::Query, A, T>,
    args: &A,
) -> Result<PreloadedQuery<T>, ConvexError>
where
    A: Serialize + ?Sized,
{
    let args = to_value(args).map_err(ConvexError::InvalidArgs)?;
    let subscription = client.subscribe_value(query.path(), args.clone(), |_| {})?;
    Ok(PreloadedQuery {
        path: Rc::from(query.path()),
        args: Rc::new(args),
        subscription: Rc::new(subscription),
        _result: std::marker::PhantomData,
    })
}

/// Shows a [`PreloadedQuery`] as [`use_query`] would (live, decoded into `T`), starting from
/// what the preload already received.
#[hook]
pub fn use_preloaded_query<T>(preloaded: &PreloadedQuery<T>) -> QueryState<T>
where
    T: DeserializeOwned + 'static,
{
    let path = preloaded.path.to_string();
    let args: Value = (*preloaded.args).clone();
    use_query_skip::<T, Value>(path.as_str(), Some(args))
}
