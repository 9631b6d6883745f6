//! The devtools panel: one corner button opens a panel over the query cache (entries, their
//! status, observers and Convex subscriptions, with refetch / invalidate / remove), the Convex
//! connection, the auth state (Clerk and Convex) and the router (current route, loads and
//! preloads). Debug builds only, unless the `devtools` cargo feature is on: in a release build
//! without it the component renders nothing and its code is left out.

use std::time::Duration;

use yew::prelude::*;

use crate::{
    cache::{QueryClient, QueryKey, QueryStatus, Subscription},
    clerk::ClerkContext,
    client::ConvexClient,
    hooks::ConvexAuthState,
    router::{RouteDef, RouterHandle},
    sync::ConnectionState,
    value::Value,
};

/// Whether this build has the devtools.
pub const ENABLED: bool = cfg!(any(debug_assertions, feature = "devtools"));

fn key_label(key: &QueryKey) -> String {
    match key.as_convex_query() {
        Some((path, Value::Object(args))) if args.is_empty() => path.to_string(),
        Some((path, args)) => format!("{path} {}", serde_json::to_string(args).unwrap_or_default()),
        None => format!("{key:?}"),
    }
}

fn preview(data: &crate::cache::Data) -> String {
    let text = match crate::cache::convex_value(data) {
        Some(value) => value.json().to_string(),
        None => "(Rust value)".to_string(),
    };
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The devtools for an app whose routes are `R` (mount it once, anywhere under the
/// providers: it finds the query cache, the Convex client, Clerk and the router it can).
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_router::Routable;
/// use yew_convex::{devtools::Devtools, router::RouteDef};
///
/// #[derive(Clone, PartialEq, Routable)]
/// enum Route { #[at("/")] Home }
/// impl RouteDef for Route { fn render(&self) -> Html { html! {} } }
///
/// #[function_component]
/// fn Layout() -> Html {
///     html! { <><main>{"…"}</main><Devtools<Route> /></> }
/// }
/// ```
#[function_component]
pub fn Devtools<R: RouteDef>() -> Html {
    let open = use_state(|| false);
    let tick = use_state(|| 0u32);
    // While open, the panel refreshes twice a second (it reads live state).
    {
        let tick = tick.clone();
        use_effect_with((*open, *tick), move |(open, _)| {
            let handle = open.then(|| {
                let tick = tick.clone();
                crate::router::set_timeout(Duration::from_millis(500), move || tick.set(*tick + 1))
            });
            move || {
                if let Some(h) = handle.flatten() {
                    if let Some(w) = web_sys::window() {
                        w.clear_timeout_with_handle(h);
                    }
                }
            }
        });
    }
    let queries = use_context::<QueryClient>();
    let convex = use_context::<crate::hooks::ConvexContext>().map(|c| c.client);
    let auth = use_context::<crate::hooks::ConvexAuthContext>().map(|c| c.0);
    let clerk = use_context::<ClerkContext>();
    let router = use_context::<RouterHandle<R>>();
    if !ENABLED {
        return html! {};
    }
    let toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };
    let button = html! {
        <button class="yc-devtools-toggle" aria-label={if *open { "Close devtools" } else { "Open devtools" }}
                aria-expanded={(*open).to_string()} onclick={toggle}>{"⚙"}</button>
    };
    if !*open {
        return button;
    }
    html! {
        <>
            { button }
            <aside class="yc-devtools" aria-label="devtools">
                <h2>{"Devtools"}</h2>
                { cache_section(queries.as_ref()) }
                { connection_section(convex.as_ref()) }
                { auth_section(convex.as_ref(), auth.as_ref(), clerk.as_ref()) }
                { router_section(router.as_ref()) }
            </aside>
        </>
    }
}

fn cache_section(queries: Option<&QueryClient>) -> Html {
    let Some(queries) = queries else {
        return html! { <section><h3>{"Query cache"}</h3><p>{"No QueryClientProvider."}</p></section> };
    };
    let entries = queries.describe();
    html! {
        <section class="yc-devtools-cache">
            <h3>{ format!("Query cache ({})", entries.len()) }</h3>
            <table>
                <thead><tr><th>{"key"}</th><th>{"status"}</th><th>{"observers"}</th><th>{"subscription"}</th><th>{"updated"}</th><th>{"data"}</th><th /></tr></thead>
                <tbody>
                { for entries.into_iter().map(|e| {
                    let (k1, k2, k3) = (e.key.clone(), e.key.clone(), e.key.clone());
                    let (q1, q2, q3) = (queries.clone(), queries.clone(), queries.clone());
                    let status = match (e.state.status, e.state.fetch_status) {
                        (QueryStatus::Pending, _) => "pending",
                        (QueryStatus::Error, _) => "error",
                        (QueryStatus::Success, crate::cache::FetchStatus::Fetching) => "fetching",
                        (QueryStatus::Success, _) => "success",
                    };
                    let subscription = match e.subscription {
                        Some(Subscription::Open) => "open".to_string(),
                        Some(Subscription::Lingering) => "lingering".to_string(),
                        Some(Subscription::Closed) => match e.gc_in {
                            Some(gc) => format!("closed (gc in {})", secs(gc)),
                            None => "closed".to_string(),
                        },
                        None => "—".to_string(),
                    };
                    html! {
                        <tr class="yc-devtools-entry">
                            <td class="key">{ key_label(&e.key) }</td>
                            <td>{ status }</td>
                            <td>{ e.observers }</td>
                            <td>{ subscription }</td>
                            <td>{ e.state.data_updated_at.map(secs).unwrap_or_default() }</td>
                            <td class="preview">{ e.state.data.as_ref().map(preview).unwrap_or_else(|| e.state.error.as_ref().map(|er| er.to_string()).unwrap_or_default()) }</td>
                            <td class="actions">
                                <button onclick={Callback::from(move |_: MouseEvent| q1.refetch(&k1))}>{"refetch"}</button>
                                <button onclick={Callback::from(move |_: MouseEvent| q2.invalidate(&k2))}>{"invalidate"}</button>
                                <button onclick={Callback::from(move |_: MouseEvent| q3.remove(&k3))}>{"remove"}</button>
                            </td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
        </section>
    }
}

fn connection_section(convex: Option<&ConvexClient>) -> Html {
    let Some(convex) = convex else { return html! {} };
    let ConnectionState {
        is_websocket_connected,
        connection_count,
        connection_retries,
        inflight_mutations,
        inflight_actions,
        last_connection_error,
        fatal_error,
        ..
    } = convex.connection_state();
    html! {
        <section class="yc-devtools-connection">
            <h3>{"Convex connection"}</h3>
            <dl>
                <dt>{"socket"}</dt><dd>{ if is_websocket_connected { "open" } else { "closed" } }</dd>
                <dt>{"connections"}</dt><dd>{ connection_count }</dd>
                <dt>{"retries"}</dt><dd>{ connection_retries }</dd>
                <dt>{"pending mutations"}</dt><dd>{ inflight_mutations }</dd>
                <dt>{"pending actions"}</dt><dd>{ inflight_actions }</dd>
                if let Some(e) = last_connection_error { <dt>{"last error"}</dt><dd>{ e }</dd> }
                if let Some(e) = fatal_error { <dt>{"fatal"}</dt><dd>{ e }</dd> }
            </dl>
        </section>
    }
}

fn auth_section(
    convex: Option<&ConvexClient>,
    auth: Option<&ConvexAuthState>,
    clerk: Option<&ClerkContext>,
) -> Html {
    let now = js_sys::Date::now() / 1000.0;
    let clerk_state = clerk.map(|c| crate::clerk::AuthState::from_snapshot(&c.snapshot));
    let expiry = convex.and_then(ConvexClient::token_expiry).map(|exp| {
        let left = exp as f64 - now;
        if left >= 0.0 {
            format!("in {left:.0} s")
        } else {
            format!("expired {:.0} s ago", -left)
        }
    });
    html! {
        <section class="yc-devtools-auth">
            <h3>{"Auth"}</h3>
            <dl>
                if let Some(c) = &clerk_state {
                    <dt>{"Clerk"}</dt><dd>{ if c.is_loaded { "loaded" } else { "loading" } }</dd>
                    <dt>{"signed in as"}</dt><dd>{ c.user_id.clone().unwrap_or_else(|| "nobody".into()) }</dd>
                }
                if let Some(a) = auth {
                    <dt>{"Convex"}</dt><dd>{ if a.is_loading { "loading" } else if a.is_authenticated { "authenticated" } else { "signed out" } }</dd>
                    <dt>{"refreshing"}</dt><dd>{ a.is_refreshing.to_string() }</dd>
                }
                <dt>{"token expires"}</dt><dd>{ expiry.unwrap_or_else(|| "no token".into()) }</dd>
            </dl>
        </section>
    }
}

fn router_section<R: RouteDef>(router: Option<&RouterHandle<R>>) -> Html {
    let Some(router) = router else { return html! {} };
    let state = router.state();
    let now = crate::router::now_for_devtools();
    html! {
        <section class="yc-devtools-router">
            <h3>{"Router"}</h3>
            <dl>
                <dt>{"route"}</dt><dd>{ state.current.clone() }</dd>
                <dt>{"preloaded"}</dt><dd>{ state.preloaded(now).join(", ") }</dd>
            </dl>
            <table>
                <thead><tr><th>{"loader"}</th><th>{"kind"}</th><th>{"status"}</th><th>{"took"}</th></tr></thead>
                <tbody>
                { for state.loads.iter().rev().take(10).map(|l| html! {
                    <tr><td>{ &l.path }</td><td>{ if l.preload { "preload" } else { "navigation" } }</td>
                        <td>{ &l.status }</td><td>{ l.took.map(secs).unwrap_or_default() }</td></tr>
                }) }
                </tbody>
            </table>
        </section>
    }
}
