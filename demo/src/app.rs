//! The demo's components and routes.

use serde::Deserialize;
use serde_json::json;
use yew::prelude::*;
use yew_convex::{
    clerk::{ClerkProvider, SignInButton, SignInForm, SignedIn, SignedOut, UserButton},
    client::ConvexClient,
    sync::ConvexError,
    use_action, use_convex_auth, use_convex_connection_state, use_mutation, use_query,
    use_query_skip,
    value::Value,
    Authenticated, ConvexProviderWithClerk, QueryState, Unauthenticated,
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

#[derive(Clone, Routable, PartialEq)]
enum Route {
    #[at("/")]
    Home,
    #[at("/posts")]
    Posts,
    #[at("/posts/:id")]
    Post { id: String },
    #[at("/sign-in")]
    SignIn,
    #[not_found]
    #[at("/404")]
    NotFound,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
struct Post {
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

/// The root: Clerk, then Convex authenticated by Clerk, then the router.
#[function_component]
pub fn Root() -> Html {
    let client = use_memo((), |_| ConvexClient::new(CONVEX_URL));
    let client = match &*client {
        Ok(client) => client.clone(),
        Err(e) => return html! { <p class="error">{ format!("Configuration error: {e}") }</p> },
    };
    let proxy = (!CLERK_PROXY_URL.is_empty()).then(|| AttrValue::from(CLERK_PROXY_URL));
    html! {
        <ClerkProvider publishable_key={CLERK_PUBLISHABLE_KEY} proxy_url={proxy} sign_in_url={Some(AttrValue::from("/sign-in"))}>
            <ConvexProviderWithClerk {client}>
                <BrowserRouter>
                    <Header />
                    <hr />
                    <main><Switch<Route> render={switch} /></main>
                </BrowserRouter>
            </ConvexProviderWithClerk>
        </ClerkProvider>
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::Posts => html! { <Posts /> },
        Route::Post { id } => html! { <PostDetail {id} /> },
        Route::SignIn => html! { <SignInPage /> },
        Route::NotFound => html! { <NotFound /> },
    }
}

#[function_component]
fn Header() -> Html {
    let route = use_route::<Route>();
    let bold = |r: Route| if route.as_ref() == Some(&r) { "font-bold" } else { "" };
    let connection = use_convex_connection_state();
    html! {
        <nav class="header">
            <Link<Route> to={Route::Home} classes={classes!(bold(Route::Home))}>{"Home"}</Link<Route>>
            <Link<Route> to={Route::Posts} classes={classes!(bold(Route::Posts))}>{"Posts"}</Link<Route>>
            <span class="spacer" />
            <span class={classes!("dot", connection.is_websocket_connected.then_some("online"))}
                  title={ if connection.is_websocket_connected { "connected" } else { "reconnecting" } } />
            <SignedIn><UserButton /></SignedIn>
            <SignedOut><SignInButton /></SignedOut>
        </nav>
    }
}

#[function_component]
fn Home() -> Html {
    let auth = use_convex_auth();
    let me = use_query_skip::<Option<Me>, _>("users:me", auth.is_authenticated.then(|| json!({})));
    let greeting = match me.value() {
        Some(Some(me)) => format!(
            "Welcome back, {}!",
            me.name
                .clone()
                .or_else(|| me.email.clone())
                .unwrap_or_else(|| me.token_identifier.clone())
        ),
        _ => "Welcome!".to_string(),
    };
    html! {
        <section>
            <h3>{ greeting }</h3>
            <p>{"A Yew app on Convex with Clerk sign-in, in Rust and WebAssembly."}</p>
            <Unauthenticated><p>{"Sign in to write posts."}</p></Unauthenticated>
        </section>
    }
}

fn show_error(e: &ConvexError) -> Html {
    let text = match e
        .data()
        .and_then(|d| d.as_object())
        .and_then(|o| o.get("code"))
        .and_then(Value::as_str)
    {
        Some(code) => format!("Error: {code}"),
        None => e.to_string(),
    };
    html! { <p class="error" role="alert">{ text }</p> }
}

#[function_component]
fn Posts() -> Html {
    let posts = use_query::<Vec<Post>, _>("posts:list", json!({}));
    html! {
        <section class="posts">
            <Authenticated><NewPost /></Authenticated>
            {
                match &posts {
                    QueryState::Loading => html! { <p>{"Loading posts…"}</p> },
                    QueryState::Failed(e) => show_error(e),
                    QueryState::Ready(posts) if posts.is_empty() => html! { <p>{"No posts yet."}</p> },
                    QueryState::Ready(posts) => html! {
                        <ul>
                            { for posts.iter().map(|p| html! {
                                <li key={p.id.clone()}>
                                    <Link<Route> to={Route::Post { id: p.id.clone() }}>{ &p.title }</Link<Route>>
                                    <span class="muted">{ format!(" by {}", p.author_name) }</span>
                                </li>
                            }) }
                        </ul>
                    },
                }
            }
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

#[function_component]
fn NewPost() -> Html {
    let title = use_state(String::new);
    let body = use_state(String::new);
    let error = use_state(|| None::<ConvexError>);
    // The new post shows at once (optimistically) and is replaced by the server's copy.
    let create = use_mutation::<serde_json::Value, String>("posts:create").with_optimistic_update(
        |store, args| {
            let list_args = Value::Object(Default::default());
            if let Some(current) = store.get_query("posts:list", &list_args) {
                let mut posts = current.as_array().map(<[Value]>::to_vec).unwrap_or_default();
                let mut post = std::collections::BTreeMap::new();
                post.insert("_id".to_string(), Value::from("optimistic"));
                post.insert("_creationTime".to_string(), Value::from(js_sys_now()));
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
        let (title, body, error) = (title.clone(), body.clone(), error.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let run = create.call(json!({"title": *title, "body": *body}));
            let (title, body, error) = (title.clone(), body.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match run.await {
                    Ok(_) => {
                        title.set(String::new());
                        body.set(String::new());
                        error.set(None);
                    }
                    Err(e) => error.set(Some(e)),
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
        <form class="new-post" {onsubmit}>
            <input name="title" placeholder="Title" value={(*title).clone()} oninput={on_title} />
            <textarea name="body" placeholder="Write something…" value={(*body).clone()} oninput={on_body} />
            <button type="submit">{"Post"}</button>
            if let Some(e) = &*error { { show_error(e) } }
        </form>
    }
}

fn js_sys_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.time_origin() + p.now())
        .unwrap_or(0.0)
}

#[derive(Properties, PartialEq)]
struct PostDetailProps {
    id: String,
}

#[function_component]
fn PostDetail(props: &PostDetailProps) -> Html {
    let post = use_query::<Option<Post>, _>("posts:get", json!({"id": props.id}));
    let me = use_query::<Option<Me>, _>("users:me", json!({}));
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
    match &post {
        QueryState::Loading => html! { <p>{"Loading…"}</p> },
        QueryState::Failed(e) => show_error(e),
        QueryState::Ready(post) => match post.as_ref() {
            None => html! { <NotFound /> },
            Some(post) => {
                let mine = me
                    .value()
                    .and_then(|m| m.as_ref())
                    .is_some_and(|m| m.token_identifier == post.author_id);
                html! {
                    <article class="post">
                        <h4>{ &post.title }</h4>
                        <p class="muted">{ format!("by {}", post.author_name) }</p>
                        <p>{ &post.body }</p>
                        <button onclick={on_summarize}>{"Summarize"}</button>
                        if mine { <button class="danger" onclick={on_delete}>{"Delete"}</button> }
                        {
                            match &*summary {
                                Some(Ok(text)) => html! { <p class="summary">{ text }</p> },
                                Some(Err(e)) => show_error(e),
                                None => html! {},
                            }
                        }
                    </article>
                }
            }
        },
    }
}

#[function_component]
fn SignInPage() -> Html {
    let navigator = use_navigator();
    let on_signed_in = Callback::from(move |_| {
        if let Some(navigator) = &navigator {
            navigator.push(&Route::Posts);
        }
    });
    html! {
        <section>
            <h3>{"Sign in"}</h3>
            <SignedOut><SignInForm {on_signed_in} /></SignedOut>
            <SignedIn><p>{"You are signed in."}</p></SignedIn>
        </section>
    }
}

#[function_component]
fn NotFound() -> Html {
    html! {
        <section>
            <p>{"The page you are looking for does not exist."}</p>
            <Link<Route> to={Route::Home}>{"Start over"}</Link<Route>>
        </section>
    }
}
