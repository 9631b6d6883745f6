//! The demo's routes and pages: the seed app (Home, Posts, post detail, a page that needs
//! sign-in, sign in/out), on the router with loaders over the query cache.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::json;
use yew::prelude::*;
use yew_convex::{
    cache::{QueryClient, QueryKey},
    clerk::{
        use_auth, use_clerk, ClerkProvider, SignInButton, SignInForm, SignedIn, SignedOut,
        UserButton,
    },
    client::ConvexClient,
    convex_query,
    devtools::Devtools,
    router::{
        BeforeLoad, Head, Link, LoadError, Loader, Meta, Outlet, RouteAuth, RouteDef,
        RouterContext, RouterProvider,
    },
    sync::ConvexError,
    use_action, use_cached_query, use_convex_connection_state, use_mutation, use_query_client,
    use_query_skip,
    value::{to_value, Id, Value},
    ConvexProviderWithClerk, QueryClientProvider,
};
use yew_router::prelude::*;

/// Where the backend is (build-time `CONVEX_URL`; default: the local devserver).
const CONVEX_URL: &str = match option_env!("CONVEX_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:3210",
};
/// Clerk's publishable key (build-time `CLERK_PUBLISHABLE_KEY`; default: the devserver's stand-in).
const CLERK_PUBLISHABLE_KEY: &str = match option_env!("CLERK_PUBLISHABLE_KEY") {
    Some(key) => key,
    None => "pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA",
};
/// Clerk's proxy (build-time `CLERK_PROXY_URL`, empty for none; default: `/__clerk`, which
/// trunk forwards to the devserver's stand-in).
const CLERK_PROXY_URL: &str = match option_env!("CLERK_PROXY_URL") {
    Some(url) => url,
    None => "/__clerk",
};
const APP: &str = "yew-convex";

#[derive(Clone, Debug, Routable, PartialEq)]
pub enum Route {
    #[at("/")]
    Home,
    #[at("/posts")]
    Posts,
    #[at("/posts/new")]
    NewPost,
    #[at("/posts/:id")]
    Post { id: String },
    #[at("/sign-in")]
    SignIn,
    #[not_found]
    #[at("/404")]
    NotFound,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Post {
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_creationTime")]
    creation_time: f64,
    title: String,
    body: String,
    #[serde(rename = "authorId")]
    author_id: String,
    #[serde(rename = "authorName")]
    author_name: String,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
struct Me {
    #[serde(rename = "tokenIdentifier")]
    token_identifier: String,
    name: Option<String>,
    email: Option<String>,
}

fn list_key() -> QueryKey {
    QueryKey::convex_query("posts:list", Value::Object(Default::default()))
}

fn post_key(id: &str) -> QueryKey {
    QueryKey::convex_query("posts:get", to_value(&json!({ "id": id })).unwrap_or(Value::Null))
}

impl RouteDef for Route {
    fn needs_auth(&self) -> bool {
        matches!(self, Route::NewPost)
    }

    fn before_load(&self, ctx: &mut RouterContext) -> BeforeLoad<Self> {
        match self {
            Route::NewPost if ctx.auth.user_id.is_none() => BeforeLoad::RedirectWithQuery(
                Route::SignIn,
                vec![("redirect".into(), Route::NewPost.to_path())],
            ),
            _ => BeforeLoad::Continue,
        }
    }

    fn loader(&self, ctx: &RouterContext) -> Option<Loader> {
        let queries = ctx.queries.clone();
        match self {
            Route::Posts => Some(Box::pin(async move {
                queries.ensure_query_data(&list_key(), None).await?;
                Ok(())
            })),
            Route::Post { id } => {
                let id = id.clone();
                Some(Box::pin(async move {
                    // A malformed id names no post: not found, never a server error.
                    if Id::<()>::parse(&id).is_err() {
                        return Err(LoadError::NotFound);
                    }
                    let data = queries.ensure_query_data(&post_key(&id), None).await?;
                    match yew_convex::cache::convex_value(&data) {
                        Some(value) if value.is_null() => Err(LoadError::NotFound),
                        _ => Ok(()),
                    }
                }))
            }
            _ => None,
        }
    }

    fn root_head() -> Head {
        Head::new()
            .title(APP)
            .meta(Meta::Charset("utf-8".into()))
            .meta(Meta::Name("viewport".into(), "width=device-width, initial-scale=1".into()))
            .meta(Meta::Name(
                "description".into(),
                "A Yew app on Convex with Clerk sign-in, in Rust and WebAssembly.".into(),
            ))
            .meta(Meta::Name("theme-color".into(), "#4f46e5".into()))
            .link("icon", "/favicon.svg")
            .link("manifest", "/site.webmanifest")
    }

    fn head(&self, ctx: &RouterContext) -> Head {
        let title = match self {
            Route::Home => APP.to_string(),
            Route::Posts => format!("Posts | {APP}"),
            Route::NewPost => format!("New post | {APP}"),
            Route::Post { id } => {
                // The loader put the post in the cache: the tab shows its title.
                let data = ctx.queries.get_query_data(&post_key(id));
                let post = data.as_ref().and_then(yew_convex::cache::convex_value).and_then(|v| {
                    v.as_object()
                        .and_then(|o| o.get("title"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                match post {
                    Some(title) => format!("{title} | {APP}"),
                    None => format!("Post | {APP}"),
                }
            }
            Route::SignIn => format!("Sign in | {APP}"),
            Route::NotFound => format!("Not found | {APP}"),
        };
        Head::new().title(title)
    }

    fn render(&self) -> Html {
        match self {
            Route::Home => html! { <Home /> },
            Route::Posts => html! { <Posts /> },
            Route::NewPost => html! { <NewPost /> },
            Route::Post { id } => html! { <PostDetail id={id.clone()} /> },
            Route::SignIn => html! { <SignInPage /> },
            Route::NotFound => html! { <yew_convex::router::NotFound /> },
        }
    }
}

/// The root: Clerk, Convex authenticated by Clerk, the query cache, then the router.
#[function_component]
pub fn Root() -> Html {
    let client = use_memo((), |_| ConvexClient::new(CONVEX_URL));
    let client = match &*client {
        Ok(client) => client.clone(),
        Err(e) => return html! { <p class="error">{ format!("Configuration error: {e}") }</p> },
    };
    let queries = use_memo(client.clone(), |c| QueryClient::new(Some(c.clone())));
    let proxy = (!CLERK_PROXY_URL.is_empty()).then(|| AttrValue::from(CLERK_PROXY_URL));
    html! {
        <ClerkProvider publishable_key={CLERK_PUBLISHABLE_KEY} proxy_url={proxy} sign_in_url={Some(AttrValue::from("/sign-in"))}>
            <ConvexProviderWithClerk client={client.clone()}>
                <QueryClientProvider client={(*queries).clone()}>
                    <Shell convex={client} />
                </QueryClientProvider>
            </ConvexProviderWithClerk>
        </ClerkProvider>
    }
}

#[derive(Properties, PartialEq)]
struct ShellProps {
    convex: ConvexClient,
}

/// The router, with the route context built from Clerk.
#[function_component]
fn Shell(props: &ShellProps) -> Html {
    let auth = use_auth();
    let clerk = use_clerk();
    let queries = use_query_client();
    let route_auth = if !auth.is_loaded {
        RouteAuth::loading()
    } else {
        RouteAuth::new(auth.user_id.clone(), move || {
            let clerk = clerk.clone();
            async move { clerk.convex_token(false).await }
        })
    };
    let context = RouterContext::new(queries, props.convex.clone(), route_auth);
    html! {
        <RouterProvider<Route> {context}>
            <Layout />
        </RouterProvider<Route>>
    }
}

#[function_component]
fn Layout() -> Html {
    html! {
        <div class="app">
            <Header />
            <main class="main"><Outlet<Route> /></main>
            <footer class="footer">
                <span>{"Built with Yew, Convex and Clerk — in Rust and WebAssembly."}</span>
            </footer>
            if cfg!(debug_assertions) { <Devtools<Route> /> }
        </div>
    }
}

#[function_component]
fn Header() -> Html {
    let connection = use_convex_connection_state();
    let (status, label) = if connection.is_websocket_connected {
        ("online", "Live")
    } else if connection.has_ever_connected {
        ("offline", "Reconnecting…")
    } else {
        ("connecting", "Connecting…")
    };
    html! {
        <header class="header">
            <div class="header-inner">
                <Link<Route> to={Route::Home} classes="brand" active_class={classes!()}>
                    <span class="logo" aria-hidden="true">{"◆"}</span><span class="brand-name">{APP}</span>
                </Link<Route>>
                <nav class="nav">
                    <Link<Route> to={Route::Home} exact=true classes="nav-link">{"Home"}</Link<Route>>
                    <Link<Route> to={Route::Posts} classes="nav-link">{"Posts"}</Link<Route>>
                </nav>
                <span class="spacer" />
                <span class={classes!("connection", status)} role="status" title={label}>
                    <span class="dot" />
                    <span class="connection-label">{ label }</span>
                </span>
                <span class="auth-slot">
                    <SignedIn><UserButton /></SignedIn>
                    <SignedOut><SignInButton /></SignedOut>
                </span>
            </div>
        </header>
    }
}

fn display_name(me: &Me) -> String {
    me.name.clone().or_else(|| me.email.clone()).unwrap_or_else(|| me.token_identifier.clone())
}

#[function_component]
fn Home() -> Html {
    let auth = use_auth();
    let me = use_query_skip::<Option<Me>, _>("users:me", auth.user_id.as_ref().map(|_| json!({})));
    let greeting = match me.value() {
        Some(Some(me)) => format!("Welcome back, {}", display_name(me)),
        _ => "A reactive app, in Rust".to_string(),
    };
    html! {
        <section class="hero">
            <h1>{ greeting }</h1>
            <p class="lead">
                {"Posts update live for everyone, pages load before you click, and sign-in is Clerk's — all in a Yew app compiled to WebAssembly."}
            </p>
            <div class="hero-actions">
                <Link<Route> to={Route::Posts} classes="button primary" active_class={classes!()}>{"Read the posts"}</Link<Route>>
                <Link<Route> to={Route::NewPost} classes="button" active_class={classes!()}>{"Write a post"}</Link<Route>>
            </div>
        </section>
    }
}

fn error_text(e: &ConvexError) -> String {
    match e
        .data()
        .and_then(|d| d.as_object())
        .and_then(|o| o.get("message"))
        .and_then(Value::as_str)
    {
        Some(message) => message.to_string(),
        None => e.to_string(),
    }
}

fn when(ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    String::from(date.to_locale_date_string("en-US", &wasm_bindgen::JsValue::UNDEFINED))
}

#[function_component]
fn Posts() -> Html {
    let posts = use_cached_query(convex_query::<Vec<Post>, _>("posts:list", json!({})));
    let body = match (posts.data(), posts.error()) {
        (Some(posts), _) if posts.is_empty() => html! {
            <div class="empty">
                <p class="empty-title">{"No posts yet"}</p>
                <p class="muted">{"Be the first to write one."}</p>
                <Link<Route> to={Route::NewPost} classes="button primary" active_class={classes!()}>{"Write a post"}</Link<Route>>
            </div>
        },
        (Some(posts), _) => html! {
            <ul class="post-list">
                { for posts.iter().map(|p| html! {
                    <li key={p.id.clone()} class="post-card">
                        <Link<Route> to={Route::Post { id: p.id.clone() }} classes="post-link" active_class={classes!()}>
                            <span class="post-title">{ &p.title }</span>
                            <span class="post-meta">{ format!("{} · {}", p.author_name, when(p.creation_time)) }</span>
                        </Link<Route>>
                    </li>
                }) }
            </ul>
        },
        (None, Some(e)) => html! { <p class="error" role="alert">{ e.to_string() }</p> },
        (None, None) => html! { <yew_convex::router::PendingSkeleton /> },
    };
    html! {
        <section class="posts">
            <div class="page-header">
                <h1>{"Posts"}</h1>
                <Link<Route> to={Route::NewPost} classes="button primary" active_class={classes!()}>{"New post"}</Link<Route>>
            </div>
            { body }
        </section>
    }
}

fn input_value(e: &InputEvent) -> String {
    use yew::TargetCast;
    if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
        return input.value();
    }
    e.target_dyn_into::<web_sys::HtmlTextAreaElement>().map(|t| t.value()).unwrap_or_default()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[function_component]
fn NewPost() -> Html {
    let title = use_state(String::new);
    let body = use_state(String::new);
    let error = use_state(|| None::<ConvexError>);
    let busy = use_state(|| false);
    let navigator = use_navigator();
    // The new post shows at once in the list (optimistically) and is replaced by the server's.
    let create = use_mutation::<serde_json::Value, String>("posts:create").with_optimistic_update(
        |store, args| {
            let list_args = Value::Object(Default::default());
            if let Some(current) = store.get_query("posts:list", &list_args) {
                let mut posts = current.as_array().map(<[Value]>::to_vec).unwrap_or_default();
                let mut post = std::collections::BTreeMap::new();
                post.insert("_id".to_string(), Value::from("optimistic"));
                post.insert("_creationTime".to_string(), Value::from(now_ms()));
                post.insert(
                    "title".to_string(),
                    Value::from(args["title"].as_str().unwrap_or_default()),
                );
                post.insert(
                    "body".to_string(),
                    Value::from(args["body"].as_str().unwrap_or_default()),
                );
                post.insert("authorId".to_string(), Value::from(""));
                post.insert("authorName".to_string(), Value::from("you"));
                posts.insert(0, Value::Object(post));
                store.set_query("posts:list", &list_args, Some(Value::Array(posts)));
            }
        },
    );
    let onsubmit = {
        let (title, body, error, busy) = (title.clone(), body.clone(), error.clone(), busy.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            busy.set(true);
            let run = create.call(json!({"title": *title, "body": *body}));
            let (error, busy, navigator) = (error.clone(), busy.clone(), navigator.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match run.await {
                    Ok(id) => {
                        if let Some(navigator) = navigator {
                            navigator.push(&Route::Post { id });
                        }
                    }
                    Err(e) => {
                        error.set(Some(e));
                        busy.set(false);
                    }
                }
            });
        })
    };
    let on_title = {
        let title = title.clone();
        Callback::from(move |e: InputEvent| title.set(input_value(&e)))
    };
    let on_body = {
        let body = body.clone();
        Callback::from(move |e: InputEvent| body.set(input_value(&e)))
    };
    html! {
        <section class="card narrow">
            <h1>{"New post"}</h1>
            <form class="form" {onsubmit}>
                <label>{"Title"}
                    <input name="title" required=true maxlength="200" placeholder="What is it about?" value={(*title).clone()} oninput={on_title} />
                </label>
                <label>{"Body"}
                    <textarea name="body" rows="6" placeholder="Write something…" value={(*body).clone()} oninput={on_body} />
                </label>
                if let Some(e) = &*error { <p class="error" role="alert">{ error_text(e) }</p> }
                <div class="form-actions">
                    <Link<Route> to={Route::Posts} classes="button" active_class={classes!()}>{"Cancel"}</Link<Route>>
                    <button class="button primary" type="submit" disabled={*busy}>{ if *busy { "Publishing…" } else { "Publish" } }</button>
                </div>
            </form>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct PostDetailProps {
    id: String,
}

#[function_component]
fn PostDetail(props: &PostDetailProps) -> Html {
    let post =
        use_cached_query(convex_query::<Option<Post>, _>("posts:get", json!({"id": props.id})));
    let auth = use_auth();
    let me = use_query_skip::<Option<Me>, _>("users:me", auth.user_id.as_ref().map(|_| json!({})));
    let summarize = use_action::<serde_json::Value, String>("posts:summarize");
    let remove = use_mutation::<serde_json::Value, Option<String>>("posts:remove");
    let summary = use_state(|| None::<Result<String, ConvexError>>);
    let navigator = use_navigator();
    let on_summarize = {
        let (id, summary) = (props.id.clone(), summary.clone());
        Callback::from(move |_: MouseEvent| {
            let (run, summary) = (summarize.call(json!({"id": id})), summary.clone());
            wasm_bindgen_futures::spawn_local(async move { summary.set(Some(run.await)) });
        })
    };
    let on_delete = {
        let (id, summary) = (props.id.clone(), summary.clone());
        Callback::from(move |_: MouseEvent| {
            let (run, summary, navigator) =
                (remove.call(json!({"id": id})), summary.clone(), navigator.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match run.await {
                    Ok(_) => {
                        if let Some(navigator) = navigator {
                            navigator.push(&Route::Posts);
                        }
                    }
                    Err(e) => summary.set(Some(Err(e))),
                }
            });
        })
    };
    let Some(post) = post.data().and_then(|p| p.as_ref().as_ref()).cloned() else {
        // Deleted while open (the loader saw it), or still arriving.
        return html! { <yew_convex::router::NotFound>{"This post no longer exists."}</yew_convex::router::NotFound> };
    };
    let mine =
        me.value().and_then(|m| m.as_ref()).is_some_and(|m| m.token_identifier == post.author_id);
    html! {
        <article class="card post">
            <Link<Route> to={Route::Posts} classes="back" active_class={classes!()}>{"← All posts"}</Link<Route>>
            <h1>{ &post.title }</h1>
            <p class="post-meta">{ format!("{} · {}", post.author_name, when(post.creation_time)) }</p>
            <div class="post-body">{ for post.body.lines().map(|line| html! { <p>{ line }</p> }) }</div>
            <div class="post-actions">
                <button class="button" onclick={on_summarize}>{"Summarize"}</button>
                if mine { <button class="button danger" onclick={on_delete}>{"Delete"}</button> }
            </div>
            {
                match &*summary {
                    Some(Ok(text)) => html! { <p class="summary">{ text }</p> },
                    Some(Err(e)) => html! { <p class="error" role="alert">{ error_text(e) }</p> },
                    None => html! {},
                }
            }
        </article>
    }
}

#[function_component]
fn SignInPage() -> Html {
    let navigator = use_navigator();
    let location = use_location();
    let redirect = location
        .and_then(|l| l.query::<HashMap<String, String>>().ok())
        .and_then(|q| q.get("redirect").cloned())
        .and_then(|path| Route::recognize(&path))
        .unwrap_or(Route::Posts);
    let on_signed_in = {
        let redirect = redirect.clone();
        Callback::from(move |_| {
            if let Some(navigator) = &navigator {
                navigator.replace(&redirect);
            }
        })
    };
    html! {
        <section class="card narrow">
            <h1>{"Sign in"}</h1>
            <SignedOut>
                <p class="muted">{"Use alice / alice-password or bob / bob-password."}</p>
                <SignInForm {on_signed_in} />
            </SignedOut>
            <SignedIn>
                <p>{"You are signed in."}</p>
                <Link<Route> to={redirect} classes="button primary" active_class={classes!()}>{"Continue"}</Link<Route>>
            </SignedIn>
        </section>
    }
}
