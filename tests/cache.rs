//! The query cache in headless Chromium against the devserver: Convex entries that survive a
//! remount (within the subscription's linger, and after it within `gc_time`), live updates,
//! suspense, a change of user, and retries of a failing fetcher.
#![cfg(target_arch = "wasm32")]

mod support;

use std::{cell::RefCell, rc::Rc, time::Duration};

use serde::Deserialize;
use serde_json::json;
use support::{token, unique, wait_until, CONVEX_URL};
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::{
    cache::{CacheConfig, QueryClient, QueryError, QueryKey},
    cached_query,
    client::ConvexClient,
    convex_query, use_cached_query, use_suspense_query, ConvexProvider, QueryClientProvider,
};

wasm_bindgen_test_configure!(run_in_browser);

const WAIT: Duration = Duration::from_secs(20);

/// Records every WebSocket frame the page sends, with its socket (`window.__ycFrames`).
fn install_send_spy() {
    let install = js_sys::Function::new_no_args(
        "if (!window.__ycFrames) { window.__ycFrames = []; let n = 0; const send = WebSocket.prototype.send; \
         WebSocket.prototype.send = function (d) { if (this.__ycId === undefined) { this.__ycId = n++; } \
         window.__ycFrames.push([this.__ycId, String(d)]); return send.call(this, d); }; }",
    );
    install.call0(&wasm_bindgen::JsValue::NULL).expect("spy");
}

/// How many ModifyQuerySet modifications of `kind` ("Add"/"Remove") concern the query whose
/// Add mentions `needle` (a Remove names only the query id, on the same socket).
fn query_set_changes(kind: &str, needle: &str) -> usize {
    let frames = js_sys::Reflect::get(&web_sys::window().expect("window"), &"__ycFrames".into())
        .expect("spy installed");
    let mods: Vec<(f64, serde_json::Value)> = js_sys::Array::from(&frames)
        .iter()
        .filter_map(|pair| {
            let pair = js_sys::Array::from(&pair);
            let socket = pair.get(0).as_f64()?;
            let message: serde_json::Value =
                serde_json::from_str(&pair.get(1).as_string()?).ok()?;
            (message["type"] == "ModifyQuerySet").then_some((socket, message))
        })
        .flat_map(|(socket, m)| {
            let list = m["modifications"].as_array().cloned().unwrap_or_default();
            list.into_iter().map(move |x| (socket, x))
        })
        .collect();
    let adds: Vec<(f64, serde_json::Value)> = mods
        .iter()
        .filter(|(_, m)| m["type"] == "Add" && m.to_string().contains(needle))
        .map(|(socket, m)| (*socket, m["queryId"].clone()))
        .collect();
    match kind {
        "Add" => adds.len(),
        _ => mods
            .iter()
            .filter(|(socket, m)| {
                m["type"] == "Remove" && adds.contains(&(*socket, m["queryId"].clone()))
            })
            .count(),
    }
}

/// What components rendered, in order (consecutive duplicates dropped).
#[derive(Clone, Default, PartialEq)]
struct Seen(Rc<RefCell<Vec<String>>>);

impl Seen {
    fn push(&self, text: String) {
        let mut s = self.0.borrow_mut();
        if s.last() != Some(&text) {
            s.push(text);
        }
    }
    fn all(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
    fn last(&self) -> Option<String> {
        self.0.borrow().last().cloned()
    }
    fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

#[derive(Properties, PartialEq)]
struct EchoProps {
    value: String,
    seen: Seen,
}

#[function_component]
fn Echo(props: &EchoProps) -> Html {
    let echo =
        use_cached_query(convex_query::<String, _>("values:echo", json!({"value": props.value})));
    let text = match (echo.data(), echo.error()) {
        (Some(v), _) => format!("data:{v}"),
        (None, Some(e)) => format!("error:{e}"),
        (None, None) => "loading".to_string(),
    };
    props.seen.push(text.clone());
    html! { <p>{ text }</p> }
}

#[derive(Properties, PartialEq)]
struct ToggleProps {
    convex: ConvexClient,
    queries: QueryClient,
    show: bool,
    children: Html,
}

#[function_component]
fn Toggle(props: &ToggleProps) -> Html {
    html! {
        <ConvexProvider client={props.convex.clone()}>
            <QueryClientProvider client={props.queries.clone()}>
                if props.show { { props.children.clone() } }
            </QueryClientProvider>
        </ConvexProvider>
    }
}

/// A mounted app whose child can be shown and hidden.
struct Mounted {
    handle: yew::AppHandle<Toggle>,
    convex: ConvexClient,
    queries: QueryClient,
    child: Html,
}

impl Mounted {
    fn new(convex: ConvexClient, queries: QueryClient, child: Html) -> Self {
        let props = ToggleProps {
            convex: convex.clone(),
            queries: queries.clone(),
            show: true,
            children: child.clone(),
        };
        let handle = support::mount::<Toggle>(props);
        Mounted { handle, convex, queries, child }
    }

    fn show(&mut self, show: bool) {
        self.handle.update(ToggleProps {
            convex: self.convex.clone(),
            queries: self.queries.clone(),
            show,
            children: self.child.clone(),
        });
    }
}

fn clients(linger: Duration) -> (ConvexClient, QueryClient) {
    let convex = ConvexClient::new(CONVEX_URL).expect("client");
    let config = CacheConfig { convex_linger: linger, ..CacheConfig::default() };
    let queries = QueryClient::with_config(Some(convex.clone()), config);
    (convex, queries)
}

fn echo_key(value: &str) -> QueryKey {
    let args = yew_convex::value::to_value(&json!({ "value": value })).unwrap();
    QueryKey::convex_query("values:echo", args)
}

#[wasm_bindgen_test]
async fn a_component_back_within_the_linger_shows_its_data_at_once_on_the_same_subscription() {
    install_send_spy();
    let value = unique("linger");
    let (convex, queries) = clients(Duration::from_secs(3));
    let seen = Seen::default();
    let child = html! { <Echo value={value.clone()} seen={seen.clone()} /> };
    let mut app = Mounted::new(convex, queries.clone(), child);
    let data = format!("data:{value}");
    wait_until("the echo shows", WAIT, || seen.last().as_deref() == Some(data.as_str())).await;
    assert_eq!(query_set_changes("Add", &value), 1);
    app.show(false);
    support::sleep(200).await;
    seen.clear();
    app.show(true);
    support::sleep(100).await;
    assert_eq!(seen.all().first(), Some(&data), "the first render after returning has the data");
    assert!(!seen.all().contains(&"loading".to_string()));
    assert_eq!(query_set_changes("Add", &value), 1, "no new subscription");
    assert_eq!(query_set_changes("Remove", &value), 0);
    assert!(queries.is_subscribed(&echo_key(&value)));
}

#[wasm_bindgen_test]
async fn after_the_linger_the_subscription_closes_and_the_data_still_shows_at_once() {
    install_send_spy();
    let value = unique("gc");
    let (convex, queries) = clients(Duration::from_millis(500));
    let seen = Seen::default();
    let child = html! { <Echo value={value.clone()} seen={seen.clone()} /> };
    let mut app = Mounted::new(convex, queries.clone(), child);
    let data = format!("data:{value}");
    wait_until("the echo shows", WAIT, || seen.last().as_deref() == Some(data.as_str())).await;
    app.show(false);
    let key = echo_key(&value);
    wait_until("the subscription closes", WAIT, || {
        !queries.is_subscribed(&key) && query_set_changes("Remove", &value) == 1
    })
    .await;
    assert!(queries.get_query_data(&key).is_some(), "the data stays until gc_time");
    seen.clear();
    app.show(true);
    support::sleep(50).await;
    assert_eq!(seen.all().first(), Some(&data), "shown at once from the cache");
    wait_until("the subscription reopens", WAIT, || query_set_changes("Add", &value) == 2).await;
    assert!(queries.is_subscribed(&key));
    assert!(!seen.all().contains(&"loading".to_string()), "{:?}", seen.all());
}

#[derive(Deserialize, PartialEq, Debug)]
struct Post {
    title: String,
}

#[derive(Properties, PartialEq)]
struct SeenProps {
    seen: Seen,
}

#[function_component]
fn Titles(props: &SeenProps) -> Html {
    let posts = use_cached_query(convex_query::<Vec<Post>, _>("posts:list", json!({})));
    let text = match posts.data() {
        Some(posts) => posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>().join(","),
        None => "loading".into(),
    };
    props.seen.push(text.clone());
    html! { <p>{ text }</p> }
}

#[wasm_bindgen_test]
async fn a_mutation_elsewhere_updates_a_cached_convex_entry_live() {
    let (convex, queries) = clients(Duration::from_secs(5));
    let seen = Seen::default();
    let _app = Mounted::new(convex, queries, html! { <Titles seen={seen.clone()} /> });
    wait_until("posts load", WAIT, || seen.last().is_some_and(|s| s != "loading")).await;
    let other = ConvexClient::new(CONVEX_URL).expect("client");
    let author = token("writer", "Writer", 600).await;
    other.set_auth(move |_| std::future::ready(Some(author.clone())), |_| {});
    let title = unique("live");
    let _: String = other
        .mutation("posts:create", &json!({"title": title, "body": "b"}))
        .await
        .expect("created");
    wait_until("the new post shows", WAIT, || seen.last().is_some_and(|s| s.contains(&title)))
        .await;
}

#[function_component]
fn SuspendedEcho(props: &EchoProps) -> HtmlResult {
    let echo = use_suspense_query(convex_query::<String, _>(
        "values:echo",
        json!({"value": props.value}),
    ))?;
    let text = match echo {
        Ok(v) => format!("data:{v}"),
        Err(e) => format!("error:{e}"),
    };
    props.seen.push(text.clone());
    Ok(html! { <p>{ text }</p> })
}

#[function_component]
fn Fallback(props: &SeenProps) -> Html {
    props.seen.push("fallback".into());
    html! { <p>{"fallback"}</p> }
}

#[wasm_bindgen_test]
async fn a_suspense_component_renders_its_fallback_then_the_data() {
    let value = unique("suspense");
    let (convex, queries) = clients(Duration::from_secs(5));
    let seen = Seen::default();
    let child = html! {
        <Suspense fallback={html! { <Fallback seen={seen.clone()} /> }}>
            <SuspendedEcho value={value.clone()} seen={seen.clone()} />
        </Suspense>
    };
    let _app = Mounted::new(convex, queries, child);
    let data = format!("data:{value}");
    wait_until("the data shows", WAIT, || seen.last().as_deref() == Some(data.as_str())).await;
    assert_eq!(seen.all(), vec!["fallback".to_string(), data]);
}

#[derive(Deserialize, PartialEq, Debug)]
struct Me {
    subject: String,
}

#[function_component]
fn CachedMe(props: &SeenProps) -> Html {
    let me = use_cached_query(convex_query::<Option<Me>, _>("users:me", json!({})));
    let text = match me.data() {
        Some(me) => me.as_ref().as_ref().map_or("anonymous".to_string(), |m| m.subject.clone()),
        None => "loading".into(),
    };
    props.seen.push(text.clone());
    html! { <p>{ text }</p> }
}

#[wasm_bindgen_test]
async fn a_new_user_never_sees_the_previous_users_cached_entries() {
    let (convex, queries) = clients(Duration::from_millis(300));
    let alice = token("alice-cache", "Alice", 600).await;
    convex.set_auth(move |_| std::future::ready(Some(alice.clone())), |_| {});
    let seen = Seen::default();
    let mut app =
        Mounted::new(convex.clone(), queries.clone(), html! { <CachedMe seen={seen.clone()} /> });
    wait_until("alice shows", WAIT, || seen.last().as_deref() == Some("alice-cache")).await;
    // Alice leaves the page: her entry stays cached (for a return visit).
    app.show(false);
    let me =
        QueryKey::convex_query("users:me", yew_convex::value::Value::Object(Default::default()));
    wait_until("the subscription closes", WAIT, || !queries.is_subscribed(&me)).await;
    assert!(queries.get_query_data(&me).is_some());
    // She signs out; bob signs in and opens the page.
    convex.clear_auth();
    let bob = token("bob-cache", "Bob", 600).await;
    convex.set_auth(move |_| std::future::ready(Some(bob.clone())), |_| {});
    assert!(queries.get_query_data(&me).is_none(), "alice's entry went with her");
    seen.clear();
    app.show(true);
    wait_until("bob shows", WAIT, || seen.last().as_deref() == Some("bob-cache")).await;
    assert!(!seen.all().contains(&"alice-cache".to_string()), "{:?}", seen.all());
}

#[derive(Properties, PartialEq)]
struct FlakyProps {
    seen: Seen,
    calls: Rc<RefCell<u32>>,
}

#[function_component]
fn Flaky(props: &FlakyProps) -> Html {
    let calls = props.calls.clone();
    let query = cached_query(&["flaky", "always-fails"], move || {
        *calls.borrow_mut() += 1;
        async { Err::<String, _>(QueryError::msg("the weather service is down")) }
    });
    let weather = use_cached_query(query);
    let text = match (weather.data(), weather.error()) {
        (Some(v), _) => format!("data:{v}"),
        (None, Some(e)) => format!("error:{e}"),
        (None, None) => "loading".to_string(),
    };
    props.seen.push(text.clone());
    html! { <p>{ text }</p> }
}

#[wasm_bindgen_test]
async fn a_failing_fetcher_retries_three_times_then_shows_its_error() {
    let (convex, queries) = clients(Duration::from_secs(5));
    let seen = Seen::default();
    let calls = Rc::new(RefCell::new(0));
    let _app = Mounted::new(
        convex,
        queries,
        html! { <Flaky seen={seen.clone()} calls={calls.clone()} /> },
    );
    wait_until("the error shows", WAIT, || seen.last().is_some_and(|s| s.starts_with("error:")))
        .await;
    assert_eq!(*calls.borrow(), 4, "the first attempt and three retries");
    assert_eq!(
        seen.all(),
        vec!["loading".to_string(), "error:the weather service is down".to_string()],
        "no error shown while retrying"
    );
}
