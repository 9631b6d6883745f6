//! What an app declares per route: its `before_load` step (which may redirect), its loader,
//! its head, and how it renders (with optional pending, error and not-found components).

use std::{future::Future, pin::Pin, rc::Rc};

use yew::prelude::*;
use yew_router::Routable;

use super::head::Head;
use crate::{cache::QueryClient, client::ConvexClient};

/// Why a route could not load.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// What the route shows does not exist (a post id nobody knows): the not-found component,
    /// not an error.
    NotFound,
    /// Something failed: the error component ("Try again" runs the loader again).
    Failed(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::NotFound => f.write_str("not found"),
            LoadError::Failed(message) => f.write_str(message),
        }
    }
}

impl From<crate::cache::QueryError> for LoadError {
    fn from(e: crate::cache::QueryError) -> Self {
        LoadError::Failed(e.to_string())
    }
}

/// A loader: fills the cache (typically `ensure_query_data`) before the route renders.
pub type Loader = Pin<Box<dyn Future<Output = Result<(), LoadError>>>>;

type TokenFn = Rc<dyn Fn() -> Pin<Box<dyn Future<Output = Option<String>>>>>;

/// Who is signed in, as routes see it (the seed's `beforeLoad` puts `userId` and the Convex
/// token in the route context).
#[derive(Clone, Default)]
pub struct RouteAuth {
    /// The auth provider is still deciding (routes that need a user wait).
    pub is_loading: bool,
    /// The signed-in user.
    pub user_id: Option<String>,
    token: Option<TokenFn>,
}

impl PartialEq for RouteAuth {
    fn eq(&self, other: &Self) -> bool {
        self.is_loading == other.is_loading && self.user_id == other.user_id
    }
}

impl RouteAuth {
    /// Auth that is known: `user_id` (None: signed out), with `token` fetching the user's
    /// Convex token (Clerk's `getToken({template: "convex"})`).
    pub fn new<F, Fut>(user_id: Option<String>, token: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = Option<String>> + 'static,
    {
        Self { is_loading: false, user_id, token: Some(Rc::new(move || Box::pin(token()))) }
    }

    /// Auth that is still loading.
    pub fn loading() -> Self {
        Self { is_loading: true, user_id: None, token: None }
    }

    /// Signed out (no auth provider).
    pub fn signed_out() -> Self {
        Self::default()
    }

    /// The signed-in user's Convex token.
    pub async fn token(&self) -> Option<String> {
        match &self.token {
            Some(f) => f().await,
            None => None,
        }
    }
}

/// What `before_load` and loaders get: the query cache, the Convex client and the auth state
/// (TanStack Router's route context, as the seed's `routerWithQueryClient` builds it), plus
/// whatever a `before_load` adds for its loader ([`RouterContext::insert`]).
#[derive(Clone)]
pub struct RouterContext {
    /// The query cache (loaders call `ensure_query_data`).
    pub queries: QueryClient,
    /// The Convex client.
    pub convex: ConvexClient,
    /// Who is signed in.
    pub auth: RouteAuth,
    /// Values `before_load` added, by type.
    extra: Vec<Rc<dyn std::any::Any>>,
}

impl PartialEq for RouterContext {
    fn eq(&self, other: &Self) -> bool {
        self.queries == other.queries && self.convex == other.convex && self.auth == other.auth
    }
}

impl RouterContext {
    /// A context with nothing added.
    pub fn new(queries: QueryClient, convex: ConvexClient, auth: RouteAuth) -> Self {
        Self { queries, convex, auth, extra: Vec::new() }
    }

    /// Adds a value for the loader (one per type; a second replaces the first): what a
    /// `before_load` returns into TanStack Router's context.
    pub fn insert<T: 'static>(&mut self, value: T) {
        self.extra.retain(|v| !v.is::<T>());
        self.extra.push(Rc::new(value));
    }

    /// A value `before_load` added.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.extra.iter().find_map(|v| v.downcast_ref::<T>())
    }
}

/// What `before_load` decides.
#[derive(Debug, Clone, PartialEq)]
pub enum BeforeLoad<R> {
    /// Go on to the loader.
    Continue,
    /// Go elsewhere instead (replacing this history entry), e.g. the sign-in route.
    Redirect(R),
    /// Go elsewhere with a query string, e.g. the sign-in route with `redirect` back here.
    RedirectWithQuery(R, Vec<(String, String)>),
}

/// A route of the app: yew-router's `Routable` plus what TanStack Router declares per route.
/// Every method but `render` has a default.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_router::Routable;
/// use yew_convex::router::{BeforeLoad, Head, Loader, RouteDef, RouterContext};
///
/// #[derive(Clone, PartialEq, Routable)]
/// enum Route {
///     #[at("/")] Home,
///     #[at("/account")] Account,
///     #[at("/sign-in")] SignIn,
///     #[not_found] #[at("/404")] NotFound,
/// }
///
/// impl RouteDef for Route {
///     fn before_load(&self, ctx: &mut RouterContext) -> BeforeLoad<Self> {
///         match self {
///             Route::Account if ctx.auth.user_id.is_none() => BeforeLoad::Redirect(Route::SignIn),
///             _ => BeforeLoad::Continue,
///         }
///     }
///     fn head(&self, _ctx: &RouterContext) -> Head {
///         Head::new().title(match self { Route::Account => "Account", _ => "Home" })
///     }
///     fn render(&self) -> Html {
///         html! { <p>{ self.to_path() }</p> }
///     }
/// }
/// ```
pub trait RouteDef: Routable + Clone + PartialEq + 'static {
    /// Whether `before_load` must wait until the auth provider has decided who is signed in
    /// (routes that check the user; while it decides, the navigation is pending). Default:
    /// `false`.
    fn needs_auth(&self) -> bool {
        false
    }

    /// Runs first; may redirect, or add values for the loader to the context
    /// ([`RouterContext::insert`]). Default: continue.
    fn before_load(&self, _ctx: &mut RouterContext) -> BeforeLoad<Self> {
        BeforeLoad::Continue
    }

    /// Fills the cache before the route renders. Default: none.
    fn loader(&self, _ctx: &RouterContext) -> Option<Loader> {
        None
    }

    /// The head of the whole app (charset, viewport, stylesheets, icons, manifest); every
    /// route's head is merged over it. Default: empty.
    fn root_head() -> Head {
        Head::default()
    }

    /// This route's head, once its loader is done: `ctx.queries` holds what the loader
    /// fetched (a post page titled with the post's title). Default: empty.
    fn head(&self, _ctx: &RouterContext) -> Head {
        Head::default()
    }

    /// The page.
    fn render(&self) -> Html;

    /// Shown while the loader runs past `pending_ms`. Default: a skeleton.
    fn pending(&self) -> Option<Html> {
        None
    }

    /// Shown when the loader or a query failed. Default: [`super::DefaultCatchBoundary`].
    fn error(&self, _error: &str, _retry: Callback<()>) -> Option<Html> {
        None
    }

    /// Shown when what the route shows does not exist. Default: [`super::NotFound`].
    fn not_found(&self) -> Option<Html> {
        None
    }
}
