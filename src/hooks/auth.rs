//! Authentication for Yew: [`ConvexProviderWithAuth`] takes any auth source and keeps the
//! client's token in step with it; [`use_convex_auth`] and the gated components read the result.

use std::{cell::Cell, future::Future, pin::Pin, rc::Rc};

use yew::prelude::*;

use super::ChildrenProps;
use crate::{client::ConvexClient, sync::AuthStatus};

type TokenFuture = Pin<Box<dyn Future<Output = Option<String>>>>;

/// Fetches an access token: `fetch(force_refresh)` resolves to the token, or `None` when the
/// user is signed out (or fetching failed). Equal only to its own clones, so a new fetcher
/// means a new auth source (e.g. another session).
#[derive(Clone)]
pub struct TokenFetcher(Rc<dyn Fn(bool) -> TokenFuture>);

impl TokenFetcher {
    /// Wraps an async token function.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn(bool) -> Fut + 'static,
        Fut: Future<Output = Option<String>> + 'static,
    {
        Self(Rc::new(move |force| Box::pin(fetch(force)) as TokenFuture))
    }

    /// Fetches a token.
    pub fn fetch(&self, force_refresh: bool) -> impl Future<Output = Option<String>> {
        (self.0)(force_refresh)
    }
}

impl PartialEq for TokenFetcher {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for TokenFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenFetcher")
    }
}

/// What an auth provider (Clerk, Auth0, your own) tells Convex: `useAuth` of
/// `ConvexProviderWithAuth` in Convex.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthSource {
    /// The provider has not decided yet whether a user is signed in.
    pub is_loading: bool,
    /// A user is signed in.
    pub is_authenticated: bool,
    /// Gets the user's token for Convex.
    pub fetch_access_token: TokenFetcher,
    /// Who the tokens speak for: whatever decides the user's data (user id, plus session and
    /// organization if they matter). A new fetcher with the same identity is never a sign-in:
    /// nothing re-runs and nothing shows loading. `None`: every new fetcher is a new identity
    /// (so memoize it on what decides the identity, never on the token).
    pub identity: Option<AttrValue>,
}

/// The auth state, as the auth providers give it (a context apart from the client's, so that
/// only the components that read auth re-render when it moves).
#[derive(Clone, PartialEq)]
pub(crate) struct ConvexAuthContext(pub(crate) ConvexAuthState);

/// Authentication as Convex sees it, from [`use_convex_auth`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConvexAuthState {
    /// The auth provider is loading, or the server has not yet confirmed the token.
    pub is_loading: bool,
    /// Signed in, and the server accepted the token.
    pub is_authenticated: bool,
    /// A token refresh is under way (still authenticated meanwhile).
    pub is_refreshing: bool,
    /// Results on screen belong to the current identity (false briefly after a sign-in,
    /// sign-out or change of user; [`crate::use_query`] shows `Loading` meanwhile).
    pub identity_settled: bool,
}

/// Props of [`ConvexProviderWithAuth`].
#[derive(Properties, PartialEq)]
pub struct ConvexProviderWithAuthProps {
    /// The client.
    pub client: ConvexClient,
    /// The auth provider's current state; pass a new value whenever it changes.
    pub auth: AuthSource,
    /// The app.
    #[prop_or_default]
    pub children: Html,
}

/// A [`ConvexProvider`] that authenticates the client with tokens from `auth`: when the auth
/// provider reports a signed-in user it hands `fetch_access_token` to the client (which
/// refreshes tokens before they expire); when it reports none it signs the client out.
/// Replacing the fetcher while signed in never shows a signed-out state in between
/// (convex-js #82), and unsubscriptions of components that unmount with a sign-out reach the
/// server before the sign-out does.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{client::ConvexClient, AuthSource, ConvexProviderWithAuth, TokenFetcher};
///
/// #[derive(Properties, PartialEq)]
/// struct Props { client: ConvexClient, user_id: Option<String>, token: Option<String> }
///
/// #[function_component]
/// fn App(props: &Props) -> Html {
///     let token = props.token.clone();
///     // A new fetcher for every token is fine: the identity says it is the same user, so a
///     // rotation re-runs nothing and shows no loading state.
///     let fetcher = use_memo(token.clone(), |t| {
///         let t = t.clone();
///         TokenFetcher::new(move |_force| std::future::ready(t.clone()))
///     });
///     let auth = AuthSource {
///         is_loading: false,
///         is_authenticated: token.is_some(),
///         fetch_access_token: (*fetcher).clone(),
///         identity: props.user_id.clone().map(AttrValue::from),
///     };
///     html! { <ConvexProviderWithAuth client={props.client.clone()} {auth}>{"…"}</ConvexProviderWithAuth> }
/// }
/// ```
#[function_component]
pub fn ConvexProviderWithAuth(props: &ConvexProviderWithAuthProps) -> Html {
    let state = use_auth_bridge(props.client.clone(), props.auth.clone());
    provide(state, props.client.clone(), props.children.clone())
}

/// Both contexts, without an intermediate component.
pub(crate) fn provide(state: ConvexAuthState, client: ConvexClient, children: Html) -> Html {
    html! {
        <ContextProvider<super::provider::ConvexContext> context={super::provider::ConvexContext { client }}>
            <ContextProvider<ConvexAuthContext> context={ConvexAuthContext(state)}>
                { children }
            </ContextProvider<ConvexAuthContext>>
        </ContextProvider<super::provider::ConvexContext>>
    }
}

/// [`ConvexProviderWithAuth`]'s logic, as a hook (so `ConvexProviderWithClerk` needs no extra
/// component level).
#[hook]
pub(crate) fn use_auth_bridge(client: ConvexClient, auth: AuthSource) -> ConvexAuthState {
    struct P {
        client: ConvexClient,
        auth: AuthSource,
    }
    let props = &P { client, auth };
    let update = use_force_update();
    // Which source the client currently uses (None: signed out or not applied yet): its
    // identity if it has one, else its fetcher.
    let applied: Rc<std::cell::RefCell<Option<Applied>>> = use_mut_ref(|| None);
    // A sign-out is scheduled but not yet handed to the client.
    let clearing: Rc<Rc<Cell<bool>>> = use_memo((), |_| Rc::new(Cell::new(false)));

    // Re-render when the client's auth state moves (confirmation, refresh, sign-out).
    {
        let update = update.clone();
        use_effect_with(props.client.clone(), move |client| {
            let subscription = client.on_auth_state_change(move || update.force_update());
            move || drop(subscription)
        });
    }

    {
        let applied = applied.clone();
        let clearing = (*clearing).clone();
        let deps = (
            props.client.clone(),
            props.auth.is_loading,
            props.auth.is_authenticated,
            props.auth.fetch_access_token.clone(),
            props.auth.identity.clone(),
        );
        use_effect_with(deps, move |(client, is_loading, is_authenticated, fetcher, identity)| {
            if !*is_loading {
                if *is_authenticated {
                    let fetch = fetcher.clone();
                    clearing.set(false);
                    match identity {
                        // The same identity again only swaps the fetcher in the client.
                        Some(id) => {
                            client.set_auth_for(id, move |force| fetch.fetch(force), |_| {})
                        }
                        None => client.set_auth(move |force| fetch.fetch(force), |_| {}),
                    }
                    *applied.borrow_mut() = Some(Applied::of(fetcher, identity));
                } else {
                    let had_auth = applied.borrow_mut().take().is_some();
                    if had_auth {
                        clearing.set(true);
                    }
                    clear_auth_after_cleanups(client.clone(), clearing.clone(), update.clone());
                }
                update.force_update();
            }
            let client = client.clone();
            move || {
                // Unmounting, or the source or client changed: sign this client out, unless
                // auth is set on it again (by the next effect, or another provider mounting)
                // before the next turn.
                if applied.borrow().is_some() {
                    clear_auth_after_cleanups(client, clearing, update);
                }
            }
        });
    }

    let status = props.client.auth_status();
    let applied_now = applied.borrow().as_ref()
        == Some(&Applied::of(&props.auth.fetch_access_token, &props.auth.identity));
    let source = &props.auth;
    // The auth source moved on but the client has not caught up yet (its effect or the
    // deferred sign-out is still to run): results on screen may be the previous user's.
    let in_step = source.is_loading
        || if source.is_authenticated {
            applied_now
        } else {
            applied.borrow().is_none() && !clearing.get()
        };
    ConvexAuthState {
        is_loading: source.is_loading
            || (source.is_authenticated
                && (status == AuthStatus::Loading
                    || (!applied_now && status != AuthStatus::Authenticated))),
        is_authenticated: source.is_authenticated && status == AuthStatus::Authenticated,
        is_refreshing: props.client.is_refreshing(),
        identity_settled: props.client.identity_settled() && in_step,
    }
}

/// What [`use_auth_bridge`] handed to the client: an identity, or (without one) a fetcher.
#[derive(PartialEq)]
enum Applied {
    Identity(AttrValue),
    Fetcher(TokenFetcher),
}

impl Applied {
    fn of(fetcher: &TokenFetcher, identity: &Option<AttrValue>) -> Self {
        match identity {
            Some(id) => Applied::Identity(id.clone()),
            None => Applied::Fetcher(fetcher.clone()),
        }
    }
}

/// Signs the client out on the next turn, after the components unmounting in this render
/// have dropped their subscriptions (so those queries never re-run signed out), unless auth
/// was set or cleared on that client meanwhile (by anyone: the client's auth epoch tells).
fn clear_auth_after_cleanups(
    client: ConvexClient,
    clearing: Rc<Cell<bool>>,
    update: UseForceUpdateHandle,
) {
    let epoch = client.auth_epoch();
    wasm_bindgen_futures::spawn_local(async move {
        if client.auth_epoch() == epoch {
            client.clear_auth();
        }
        clearing.set(false);
        update.force_update();
    });
}

/// Authentication as Convex sees it: `useConvexAuth` in Convex. `is_authenticated` is true
/// only once the server has accepted the token.
///
/// # Panics
/// When no [`ConvexProviderWithAuth`] (or [`crate::ConvexProviderWithClerk`]) is above the
/// component.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::use_convex_auth;
///
/// #[function_component]
/// fn Badge() -> Html {
///     let auth = use_convex_auth();
///     html! { <span>{ if auth.is_loading { "…" } else if auth.is_authenticated { "signed in" } else { "signed out" } }</span> }
/// }
/// ```
#[hook]
pub fn use_convex_auth() -> ConvexAuthState {
    use_context::<ConvexAuthContext>().map(|c| c.0).expect(
        "no Convex auth: use_convex_auth (and <Authenticated>, <Unauthenticated>, <AuthLoading>) \
         must be used under <ConvexProviderWithAuth> or <ConvexProviderWithClerk>",
    )
}

/// Renders its children only when the user is signed in and the server accepted the token.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{Authenticated, Unauthenticated, AuthLoading};
///
/// #[function_component]
/// fn Gate() -> Html {
///     html! { <>
///         <AuthLoading>{"Loading…"}</AuthLoading>
///         <Authenticated>{"Welcome back"}</Authenticated>
///         <Unauthenticated>{"Please sign in"}</Unauthenticated>
///     </> }
/// }
/// ```
#[function_component]
pub fn Authenticated(props: &ChildrenProps) -> Html {
    let auth = use_convex_auth();
    if auth.is_authenticated && !auth.is_loading {
        props.children.clone()
    } else {
        Html::default()
    }
}

/// Renders its children only when no user is signed in (and auth is not loading).
#[function_component]
pub fn Unauthenticated(props: &ChildrenProps) -> Html {
    let auth = use_convex_auth();
    if !auth.is_authenticated && !auth.is_loading {
        props.children.clone()
    } else {
        Html::default()
    }
}

/// Renders its children while auth is loading.
#[function_component]
pub fn AuthLoading(props: &ChildrenProps) -> Html {
    if use_convex_auth().is_loading {
        props.children.clone()
    } else {
        Html::default()
    }
}

/// Renders its children while a token refresh is under way.
#[function_component]
pub fn AuthRefreshing(props: &ChildrenProps) -> Html {
    if use_convex_auth().is_refreshing {
        props.children.clone()
    } else {
        Html::default()
    }
}
