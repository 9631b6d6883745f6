//! The router in the browser: [`RouterProvider`] (yew-router's `BrowserRouter` plus the route
//! context), [`Outlet`] (runs `before_load` and the loader of each navigation, shows the
//! pending, error and not-found components, applies the head, restores scroll), and the state
//! the devtools show.

use std::{cell::RefCell, collections::HashMap, marker::PhantomData, rc::Rc, time::Duration};

use yew::prelude::*;
use yew_router::prelude::*;

use super::{
    boundary::{DefaultCatchBoundary, NotFound, PendingSkeleton},
    dom,
    head::Head,
    pending::{PendingTimer, Phase, PENDING_MIN_MS, PENDING_MS},
    route::{BeforeLoad, LoadError, RouteDef, RouterContext},
    scroll::ScrollStore,
};

/// How long preloaded data counts as fresh: a click within it shows no loading state.
pub const PRELOAD_STALE_TIME: Duration = Duration::from_secs(30);
/// How long a pointer must rest on a link before it preloads.
pub const PRELOAD_DELAY: Duration = Duration::from_millis(50);

pub(crate) fn now() -> Duration {
    let ms = web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0);
    Duration::from_secs_f64(ms.max(0.0) / 1000.0)
}

/// One load the router ran, for the devtools.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadRecord {
    /// The route's path.
    pub path: String,
    /// Whether it was a preload (on intent).
    pub preload: bool,
    /// `loading`, `ok`, `not found`, `redirect`, or the error.
    pub status: String,
    /// How long it took (while running: so far).
    pub took: Option<Duration>,
}

/// What the router knows, shared by its parts (the devtools read it).
#[derive(Default)]
pub struct RouterState {
    context: Option<RouterContext>,
    /// When each path was last preloaded.
    preloaded: HashMap<String, Duration>,
    /// Recent loads, newest last (bounded).
    pub loads: Vec<LoadRecord>,
    /// The current path.
    pub current: String,
    listeners: Vec<(u64, Rc<dyn Fn()>)>,
    next_listener: u64,
}

impl RouterState {
    fn record(&mut self, record: LoadRecord) -> usize {
        self.loads.push(record);
        if self.loads.len() > 50 {
            self.loads.remove(0);
        }
        self.loads.len() - 1
    }

    /// Paths preloaded within [`PRELOAD_STALE_TIME`].
    pub fn preloaded(&self, now: Duration) -> Vec<String> {
        let mut paths: Vec<String> = self
            .preloaded
            .iter()
            .filter(|(_, at)| now.saturating_sub(**at) < PRELOAD_STALE_TIME)
            .map(|(p, _)| p.clone())
            .collect();
        paths.sort();
        paths
    }
}

/// The router's handle in context.
pub struct RouterHandle<R> {
    pub(crate) state: Rc<RefCell<RouterState>>,
    _route: PhantomData<R>,
}

impl<R> Clone for RouterHandle<R> {
    fn clone(&self) -> Self {
        Self { state: self.state.clone(), _route: PhantomData }
    }
}

impl<R> PartialEq for RouterHandle<R> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }
}

impl<R: RouteDef> RouterHandle<R> {
    /// The route context.
    pub fn context(&self) -> Option<RouterContext> {
        self.state.borrow().context.clone()
    }

    /// The shared state (devtools).
    pub fn state(&self) -> std::cell::Ref<'_, RouterState> {
        self.state.borrow()
    }

    /// Calls `f` when the router's state changes; dropping the returned guard stops it.
    pub fn listen(&self, f: impl Fn() + 'static) -> RouterListener {
        let mut st = self.state.borrow_mut();
        let id = st.next_listener;
        st.next_listener += 1;
        st.listeners.push((id, Rc::new(f)));
        RouterListener { state: Rc::downgrade(&self.state), id }
    }

    fn changed(&self) {
        let listeners: Vec<Rc<dyn Fn()>> =
            self.state.borrow().listeners.iter().map(|(_, f)| f.clone()).collect();
        for f in listeners {
            f();
        }
    }

    /// Runs `route`'s `before_load` and loader ahead of a navigation (preload on intent),
    /// unless it was preloaded within [`PRELOAD_STALE_TIME`] or auth is still loading.
    pub fn preload(&self, route: &R) {
        let Some(mut ctx) = self.context() else { return };
        if ctx.auth.is_loading && route.needs_auth() {
            return;
        }
        let path = route.to_path();
        let at = now();
        {
            let mut st = self.state.borrow_mut();
            if st.preloaded.get(&path).is_some_and(|t| at.saturating_sub(*t) < PRELOAD_STALE_TIME) {
                return;
            }
            st.preloaded.insert(path.clone(), at);
        }
        if !matches!(route.before_load(&mut ctx), BeforeLoad::Continue) {
            return;
        }
        let Some(loader) = route.loader(&ctx) else { return };
        let index = self.state.borrow_mut().record(LoadRecord {
            path: path.clone(),
            preload: true,
            status: "loading".into(),
            took: None,
        });
        self.changed();
        let handle = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = loader.await;
            {
                let mut st = handle.state.borrow_mut();
                if result.is_err() {
                    // A failed preload is not fresh: the click loads again.
                    st.preloaded.remove(&path);
                }
                if let Some(record) = st.loads.get_mut(index) {
                    record.status = outcome_status(&result);
                    record.took = Some(now().saturating_sub(at));
                }
            }
            handle.changed();
        });
    }
}

fn outcome_status(result: &Result<(), LoadError>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(LoadError::NotFound) => "not found".into(),
        Err(LoadError::Failed(e)) => format!("error: {e}"),
    }
}

/// Stops a router listener when dropped.
pub struct RouterListener {
    state: std::rc::Weak<RefCell<RouterState>>,
    id: u64,
}

impl Drop for RouterListener {
    fn drop(&mut self) {
        if let Some(state) = self.state.upgrade() {
            if let Ok(mut st) = state.try_borrow_mut() {
                st.listeners.retain(|(id, _)| *id != self.id);
            }
        }
    }
}

/// The router of the nearest [`RouterProvider`] for routes `R`.
#[hook]
pub fn use_router<R: RouteDef>() -> RouterHandle<R> {
    use_context::<RouterHandle<R>>()
        .expect("no router: use_router / Link / Outlet must be under <RouterProvider<Route>>")
}

/// Props of [`RouterProvider`].
#[derive(Properties, PartialEq)]
pub struct RouterProviderProps {
    /// What `before_load` and loaders get (pass a new one when auth changes).
    pub context: RouterContext,
    /// The layout: navigation, an [`Outlet`], footers.
    #[prop_or_default]
    pub children: Html,
}

/// The router: yew-router's `BrowserRouter` with a route context, loaders, preloading,
/// boundaries, head and scroll restoration (TanStack Router's `RouterProvider`, as the seed's
/// `createRouter` + `routerWithQueryClient` set it up).
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_router::Routable;
/// use yew_convex::router::{Link, Outlet, RouteDef, RouterContext, RouterProvider};
///
/// #[derive(Clone, PartialEq, Routable)]
/// enum Route { #[at("/")] Home, #[not_found] #[at("/404")] NotFound }
///
/// impl RouteDef for Route {
///     fn render(&self) -> Html { html! { "home" } }
/// }
///
/// #[derive(Properties, PartialEq)]
/// struct Props { context: RouterContext }
///
/// #[function_component]
/// fn App(props: &Props) -> Html {
///     html! {
///         <RouterProvider<Route> context={props.context.clone()}>
///             <nav><Link<Route> to={Route::Home}>{"Home"}</Link<Route>></nav>
///             <Outlet<Route> />
///         </RouterProvider<Route>>
///     }
/// }
/// ```
#[function_component]
pub fn RouterProvider<R: RouteDef>(props: &RouterProviderProps) -> Html {
    let handle = use_memo((), |_| RouterHandle::<R> {
        state: Rc::new(RefCell::new(RouterState::default())),
        _route: PhantomData,
    });
    let changed = handle.state.borrow().context.as_ref() != Some(&props.context);
    if changed {
        handle.state.borrow_mut().context = Some(props.context.clone());
    }
    html! {
        <BrowserRouter>
            <ContextProvider<RouterHandle<R>> context={(*handle).clone()}>
                { props.children.clone() }
            </ContextProvider<RouterHandle<R>>>
        </BrowserRouter>
    }
}

/// A [`crate::use_suspense_query`] whose failure goes to the route's error component (Yew has
/// no error boundaries): the component suspends with the data, and on an error the route shows
/// its error component (or [`super::DefaultCatchBoundary`]) instead of the page, whose "Try
/// again" fetches it afresh.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{convex_query, router::use_route_query};
///
/// #[function_component]
/// fn Post() -> HtmlResult {
///     let post = use_route_query(convex_query::<serde_json::Value, _>("posts:get", serde_json::json!({"id": "…"})))?;
///     Ok(html! { <pre>{ post.to_string() }</pre> })
/// }
/// ```
#[hook]
pub fn use_route_query<T: 'static>(
    query: crate::hooks::CachedQuery<T>,
) -> yew::suspense::SuspensionResult<Rc<T>> {
    let held = use_mut_ref(|| None::<yew::suspense::SuspensionHandle>);
    let report = use_route_boundary();
    match crate::hooks::use_suspense_query(query)? {
        Ok(data) => Ok(data),
        Err(error) => {
            report.emit(error.to_string());
            // The page is being replaced by the error component: stay suspended until then.
            let (suspension, handle) = yew::suspense::Suspension::new();
            *held.borrow_mut() = Some(handle);
            Err(suspension)
        }
    }
}

/// Lets components under a route send query errors to the route's error component (Yew has no
/// error boundaries): `use_route_boundary().emit(message)`.
#[hook]
pub fn use_route_boundary() -> Callback<String> {
    use_context::<BoundaryReport>().map(|b| b.0).unwrap_or_else(|| Callback::from(|_| {}))
}

#[derive(Clone, PartialEq)]
struct BoundaryReport(Callback<String>);

/// One navigation.
struct Nav<R> {
    route: R,
    generation: u64,
    timer: PendingTimer,
    outcome: Option<Result<(), LoadError>>,
}

struct OutletState<R> {
    generation: u64,
    nav: Option<Nav<R>>,
    /// The last navigation that finished (shown while the next one waits).
    shown: Option<(R, Result<(), LoadError>)>,
    timer: Option<i32>,
    scroll: ScrollStore,
    /// The history entry whose scroll position scroll events update (None while settling).
    scroll_key: Option<String>,
    /// The entry the last restoration was for.
    restored_key: Option<String>,
}

/// Where the current route renders: runs its `before_load` and loader on every navigation,
/// shows the previous page (or, past `pending_ms`, the pending component) until the loader is
/// done, then the page, its not-found or its error component; applies the head and restores
/// the scroll position.
#[function_component]
pub fn Outlet<R: RouteDef>() -> Html {
    let handle = use_router::<R>();
    let route = use_route::<R>();
    let navigator = use_navigator();
    let update = use_force_update();
    let retry = use_state(|| 0u32);
    let state = use_mut_ref(|| OutletState::<R> {
        generation: 0,
        nav: None,
        shown: None,
        timer: None,
        scroll: dom::load_scroll_store(),
        scroll_key: None,
        restored_key: None,
    });
    let ctx = handle.context();
    let auth_key = ctx.as_ref().map(|c| (c.auth.is_loading, c.auth.user_id.clone()));

    // Scroll positions are saved as the reader scrolls (not while a navigation settles).
    {
        let state = state.clone();
        use_effect_with((), move |_| {
            dom::manual_scroll_restoration();
            let saving = state.clone();
            let scroll = dom::on_window("scroll", move || {
                let Ok(mut st) = saving.try_borrow_mut() else { return };
                if let Some(key) = st.scroll_key.clone() {
                    let (x, y) = dom::scroll_position();
                    st.scroll.save(&key, x, y);
                }
            });
            // Kept for a reload of the same entry.
            let leaving = dom::on_window("pagehide", move || {
                if let Ok(st) = state.try_borrow() {
                    dom::save_scroll_store(&st.scroll);
                }
            });
            move || drop((scroll, leaving))
        });
    }

    // Every navigation (or retry, or change of user) runs before_load and the loader.
    {
        let (handle, state, update, navigator) =
            (handle.clone(), state.clone(), update.clone(), navigator.clone());
        use_effect_with((route.clone(), auth_key.clone(), *retry), move |(route, _, _)| {
            let Some(route) = route.clone() else { return };
            let Some(mut ctx) = handle.context() else { return };
            let generation = {
                let mut st = state.borrow_mut();
                // Leaving an entry: its position is final; the next one settles first.
                if let Some(key) = st.scroll_key.take() {
                    let (x, y) = dom::scroll_position();
                    st.scroll.save(&key, x, y);
                    dom::save_scroll_store(&st.scroll);
                }
                st.generation += 1;
                let generation = st.generation;
                st.nav = Some(Nav {
                    route: route.clone(),
                    generation,
                    timer: PendingTimer::start(now(), PENDING_MS, PENDING_MIN_MS),
                    outcome: None,
                });
                generation
            };
            handle.state.borrow_mut().current = route.to_path();
            handle.changed();
            // Render again now that the navigation is stored: that render arms the timer that
            // shows the pending component if the loader is still running after `pending_ms`.
            update.force_update();
            if ctx.auth.is_loading && route.needs_auth() {
                // Decided when auth is known (this effect runs again then).
                return;
            }
            match route.before_load(&mut ctx) {
                BeforeLoad::Continue => {}
                BeforeLoad::Redirect(to) => {
                    if let Some(navigator) = &navigator {
                        navigator.replace(&to);
                    }
                    return;
                }
                BeforeLoad::RedirectWithQuery(to, query) => {
                    if let Some(navigator) = &navigator {
                        if navigator.replace_with_query(&to, &query).is_err() {
                            navigator.replace(&to);
                        }
                    }
                    return;
                }
            }
            let finish = move |outcome: Result<(), LoadError>| {
                let mut st = state.borrow_mut();
                if let Some(nav) = st.nav.as_mut().filter(|n| n.generation == generation) {
                    nav.timer.finish(now());
                    nav.outcome = Some(outcome);
                }
                drop(st);
                update.force_update();
            };
            match route.loader(&ctx) {
                None => finish(Ok(())),
                Some(loader) => {
                    let started = now();
                    let index = handle.state.borrow_mut().record(LoadRecord {
                        path: route.to_path(),
                        preload: false,
                        status: "loading".into(),
                        took: None,
                    });
                    wasm_bindgen_futures::spawn_local(async move {
                        let outcome = loader.await;
                        if let Some(r) = handle.state.borrow_mut().loads.get_mut(index) {
                            r.status = outcome_status(&outcome);
                            r.took = Some(now().saturating_sub(started));
                        }
                        handle.changed();
                        finish(outcome);
                    });
                }
            }
        });
    }

    let Some(route) = route else {
        return html! { <NotFound /> };
    };
    let retry_cb = {
        let (retry, handle) = (retry.clone(), handle.clone());
        Callback::from(move |()| {
            // Failed queries start afresh, then the loader runs again.
            if let Some(ctx) = handle.context() {
                ctx.queries.reset_errors();
            }
            retry.set(*retry + 1)
        })
    };
    let report = {
        let (state, update) = (state.clone(), update.clone());
        Callback::from(move |message: String| {
            let mut st = state.borrow_mut();
            if let Some(nav) = st.nav.as_mut() {
                nav.outcome = Some(Err(LoadError::Failed(message)));
            }
            drop(st);
            update.force_update();
        })
    };

    // What to show now.
    let at = now();
    let mut st = state.borrow_mut();
    let (phase, next_change) = match &st.nav {
        Some(nav) if nav.route == route => (nav.timer.phase(at), nav.timer.next_change(at)),
        _ => (Phase::Waiting, None),
    };
    if let Some(next) = next_change {
        let update = update.clone();
        if let Some(old) = st.timer.take() {
            dom::clear_timeout(old);
        }
        st.timer = dom::set_timeout(next.saturating_sub(at), move || update.force_update());
    }
    if phase == Phase::Ready {
        if let Some(nav) = &st.nav {
            if let Some(outcome) = &nav.outcome {
                st.shown = Some((nav.route.clone(), outcome.clone()));
            }
        }
    }
    let view = match (phase, &st.shown) {
        (Phase::Pending, _) => route.pending().unwrap_or_else(|| html! { <PendingSkeleton /> }),
        (Phase::Waiting, None) => html! {},
        (_, Some((shown, outcome))) => {
            let shown_now = shown.clone();
            match outcome {
                Ok(()) => html! {
                    <ContextProvider<BoundaryReport> context={BoundaryReport(report.clone())}>
                        { shown_now.render() }
                    </ContextProvider<BoundaryReport>>
                },
                Err(LoadError::NotFound) => shown_now.not_found().unwrap_or_else(|| html! { <NotFound /> }),
                Err(LoadError::Failed(message)) => shown_now
                    .error(message, retry_cb.clone())
                    .unwrap_or_else(|| html! { <DefaultCatchBoundary message={message.clone()} retry={retry_cb.clone()} /> }),
            }
        }
        (Phase::Ready, None) => html! {},
    };
    let ready_path = (phase == Phase::Ready)
        .then(|| st.shown.as_ref().map(|(r, o)| (r.to_path(), o.is_ok())))
        .flatten();
    drop(st);

    // Once the page is on screen: its head, and its scroll position.
    {
        let state = state.clone();
        let shown_route = ready_path.as_ref().map(|_| route.clone());
        let ctx = handle.context();
        use_effect_with(ready_path.clone(), move |ready| {
            if let (Some(_), Some(route), Some(ctx)) = (ready, shown_route, ctx) {
                dom::apply_head(&Head::merge([&R::root_head(), &route.head(&ctx)]));
                let key = dom::history_entry_key();
                let mut st = state.borrow_mut();
                if st.restored_key.as_deref() != Some(key.as_str()) {
                    let target = st.scroll.target(Some(&key), &dom::location_hash());
                    // A new entry has no saved position: top or its anchor.
                    dom::scroll_to(&target);
                    st.restored_key = Some(key.clone());
                }
                st.scroll_key = Some(key);
            }
        });
    }
    view
}
