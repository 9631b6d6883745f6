//! Identity changes as a user of a Yew app sees them, in headless Chromium against the
//! devserver: a sign-out while offline, a change of user across a dropped socket, token
//! rotations for the same user, and the client called from inside an optimistic update.
//!
//! "Offline" is the devserver's `POST /dev/block_sessions`: the client's sockets are dropped
//! without a close frame right after each Connect, as a failing network would drop them.
#![cfg(target_arch = "wasm32")]

mod support;

use std::{cell::RefCell, future::Future, rc::Rc, time::Duration};

use serde::Deserialize;
use serde_json::json;
use support::{post, token, unique, wait_until, Log, CONVEX_URL};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::{
    client::ConvexClient,
    sync::{AuthStatus, ConvexError, SyncConfig},
    use_query, AuthSource, ConvexProviderWithAuth, QueryState, TokenFetcher,
};

wasm_bindgen_test_configure!(run_in_browser);

/// Long enough for a reconnect after a few backoff rounds (1 s, 2 s, 4 s, ±50 %).
const WAIT: Duration = Duration::from_secs(30);

#[derive(Deserialize)]
struct Me {
    name: String,
}

/// Every text [`ShowMe`] rendered, one entry per render. Equal only to its own clones, so the
/// component's props never change and only its query makes it render.
#[derive(Clone, Default)]
struct Renders(Rc<RefCell<Vec<String>>>);

impl PartialEq for Renders {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl Renders {
    fn len(&self) -> usize {
        self.0.borrow().len()
    }
    fn since(&self, from: usize) -> Vec<String> {
        self.0.borrow()[from..].to_vec()
    }
}

#[derive(Properties, PartialEq)]
struct ShowMeProps {
    renders: Renders,
}

/// `users:me`: "loading", the user's name, or "anonymous" when signed out.
#[function_component]
fn ShowMe(props: &ShowMeProps) -> Html {
    let me = use_query::<Option<Me>, _>("users:me", json!({}));
    let text = match &me {
        QueryState::Loading => "loading".to_string(),
        QueryState::Failed(e) => format!("error: {e}"),
        QueryState::Ready(me) => match me.as_ref() {
            Some(me) => me.name.clone(),
            None => "anonymous".to_string(),
        },
    };
    props.renders.0.borrow_mut().push(text.clone());
    html! { <p id="me">{ text }</p> }
}

#[derive(Properties, PartialEq)]
struct AppProps {
    client: ConvexClient,
    auth: AuthSource,
    renders: Renders,
}

#[function_component]
fn App(props: &AppProps) -> Html {
    html! {
        <ConvexProviderWithAuth client={props.client.clone()} auth={props.auth.clone()}>
            <ShowMe renders={props.renders.clone()} />
        </ConvexProviderWithAuth>
    }
}

/// The app mounted in a div of its own; the test changes its auth source as an auth provider
/// would.
struct Mounted {
    root: web_sys::Element,
    handle: Option<yew::AppHandle<App>>,
    client: ConvexClient,
    renders: Renders,
    /// The root's text after every DOM change (a MutationObserver's records).
    dom: js_sys::Array,
}

impl Mounted {
    fn new(client: ConvexClient, auth: AuthSource) -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        let dom = observe_text(&root);
        let renders = Renders::default();
        let props = AppProps { client: client.clone(), auth, renders: renders.clone() };
        let handle = yew::Renderer::<App>::with_root_and_props(root.clone(), props).render();
        Self { root, handle: Some(handle), client, renders, dom }
    }

    fn set_auth(&mut self, auth: AuthSource) {
        let props = AppProps { client: self.client.clone(), auth, renders: self.renders.clone() };
        self.handle.as_mut().expect("mounted").update(props);
    }

    fn text(&self) -> String {
        self.root
            .query_selector("#me")
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    /// What the root showed, from DOM change `from` on.
    fn dom_since(&self, from: u32) -> Vec<String> {
        (from..self.dom.length()).filter_map(|i| self.dom.get(i).as_string()).collect()
    }

    fn unmount(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.destroy();
        }
        self.root.remove();
    }
}

/// Records `root.textContent` after every change under it.
fn observe_text(root: &web_sys::Element) -> js_sys::Array {
    let install = js_sys::Function::new_with_args(
        "root",
        "const seen = []; new MutationObserver(() => seen.push(root.textContent)) \
         .observe(root, {subtree: true, childList: true, characterData: true}); return seen;",
    );
    install.call1(&JsValue::NULL, root).expect("observer").unchecked_into()
}

fn fetcher(token: Option<String>) -> TokenFetcher {
    TokenFetcher::new(move |_force| std::future::ready(token.clone()))
}

fn signed_in(token: String, identity: &str) -> AuthSource {
    AuthSource {
        is_loading: false,
        is_authenticated: true,
        fetch_access_token: fetcher(Some(token)),
        identity: Some(AttrValue::from(identity.to_string())),
    }
}

fn signed_out() -> AuthSource {
    AuthSource {
        is_loading: false,
        is_authenticated: false,
        fetch_access_token: fetcher(None),
        identity: None,
    }
}

/// From now on the devserver drops this session's sockets (the open one at once, each new
/// one right after its Connect), until [`unblock`].
async fn block(client: &ConvexClient) {
    let reply =
        post("/dev/block_sessions", &json!({"sessionId": client.session_id(), "block": true}))
            .await;
    assert!(reply["notified"].is_number(), "{reply}");
}

async fn unblock(client: &ConvexClient) {
    let reply =
        post("/dev/block_sessions", &json!({"sessionId": client.session_id(), "block": false}))
            .await;
    assert!(reply["notified"].is_number(), "{reply}");
}

/// Blocks the session and waits until its socket is gone.
async fn go_offline(client: &ConvexClient) {
    block(client).await;
    wait_until("the socket is down", WAIT, || !client.connection_state().is_websocket_connected)
        .await;
}

/// Waits until the client has tried (and failed) to connect again.
async fn one_failed_reconnect(client: &ConvexClient) {
    let count = client.connection_state().connection_count;
    wait_until("a reconnect attempt was dropped", WAIT, || {
        let state = client.connection_state();
        state.connection_count > count && !state.is_websocket_connected
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_sign_out_while_offline_shows_signed_out_data_once_back_online() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let alice = token("alice", "Alice", 600).await;
    let mut app = Mounted::new(client.clone(), signed_in(alice, "alice"));
    wait_until("users:me is Alice", WAIT, || app.text() == "Alice").await;

    go_offline(&client).await;
    let (renders, dom) = (app.renders.len(), app.dom.length());
    app.set_auth(signed_out());
    wait_until("the client is signed out", WAIT, || {
        client.auth_status() == AuthStatus::Unauthenticated
    })
    .await;
    // Alice's result is hidden at once; the signed-out result needs the server.
    wait_until("users:me is loading", WAIT, || app.text() == "loading").await;
    one_failed_reconnect(&client).await;
    assert_eq!(app.text(), "loading", "still offline");

    unblock(&client).await;
    wait_until("users:me is anonymous (not loading forever)", WAIT, || app.text() == "anonymous")
        .await;
    for seen in [app.renders.since(renders), app.dom_since(dom)] {
        assert!(!seen.iter().any(|t| t.contains("Alice")), "Alice after the sign-out: {seen:?}");
    }
    app.unmount();
}

#[wasm_bindgen_test]
async fn a_user_switch_across_a_dropped_socket_never_renders_the_previous_user() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let alice = token("alice", "Alice", 600).await;
    let bob = token("bob", "Bob", 600).await;
    let mut app = Mounted::new(client.clone(), signed_in(alice, "alice"));
    wait_until("users:me is Alice", WAIT, || app.text() == "Alice").await;

    go_offline(&client).await;
    let (renders, dom) = (app.renders.len(), app.dom.length());
    app.set_auth(signed_in(bob, "bob"));
    one_failed_reconnect(&client).await;
    assert_ne!(app.text(), "Alice", "Alice's result is hidden once the user changed");

    unblock(&client).await;
    wait_until("users:me is Bob", WAIT, || app.text() == "Bob").await;
    let (rendered, shown) = (app.renders.since(renders), app.dom_since(dom));
    for seen in [&rendered, &shown] {
        assert!(!seen.iter().any(|t| t.contains("Alice")), "Alice after the switch: {seen:?}");
    }
    assert_eq!(rendered.last().map(String::as_str), Some("Bob"), "{rendered:?}");
    app.unmount();
}

/// Records the text of every WebSocket frame the page sends (`window.__ycSent`).
fn install_send_spy() {
    let install = js_sys::Function::new_no_args(
        "if (!window.__ycSent) { window.__ycSent = []; const send = WebSocket.prototype.send; \
         WebSocket.prototype.send = function (d) { window.__ycSent.push(String(d)); return send.call(this, d); }; }",
    );
    install.call0(&JsValue::NULL).expect("spy");
}

/// The number of frames sent so far.
fn sent_frames() -> usize {
    let sent = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__ycSent".into())
        .expect("spy installed");
    js_sys::Array::from(&sent).length() as usize
}

/// The tokens of the Authenticate frames sent from frame `from` on (None: a sign-out).
fn sent_tokens(from: usize) -> Vec<Option<String>> {
    let sent = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__ycSent".into())
        .expect("spy installed");
    js_sys::Array::from(&sent)
        .iter()
        .skip(from)
        .filter_map(|v| v.as_string())
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .filter(|m| m["type"] == "Authenticate")
        .map(|m| m["value"].as_str().map(str::to_string))
        .collect()
}

/// A 13 s token for alice. `tag`, in a claim `users:me` does not return, keeps tokens minted in
/// the same second distinct while the query's result stays the same. With a 10 s refresh
/// leeway, the client asks its current fetcher for a new token 3 s after it fetched this one.
async fn short_alice_token(tag: &str) -> String {
    let body = json!({"sub": "alice", "name": "Alice", "ttl_secs": 13, "extra": {"rotation": tag}});
    post("/dev/token", &body).await["token"].as_str().expect("token").to_string()
}

/// Waits until `token` was sent and the server confirmed it (no refresh under way).
async fn confirmed(client: &ConvexClient, token: &str) {
    wait_until("the new token is sent and confirmed", WAIT, || {
        sent_tokens(0).iter().any(|t| t.as_deref() == Some(token))
            && client.auth_status() == AuthStatus::Authenticated
            && !client.is_refreshing()
    })
    .await;
}

#[wasm_bindgen_test]
async fn token_rotations_for_the_same_user_do_not_re_render_query_components() {
    install_send_spy();
    let frames_before = sent_frames();
    let config =
        SyncConfig { auth_refresh_leeway: Duration::from_secs(10), ..SyncConfig::default() };
    let client = ConvexClient::with_config(CONVEX_URL, config).expect("client");
    // Like an auth provider's: the cached token, or (forced) a fresh one.
    let (cached, fresh) = (short_alice_token("cached").await, short_alice_token("fresh").await);
    let first = {
        let (cached, fresh) = (cached.clone(), fresh.clone());
        TokenFetcher::new(move |force| {
            std::future::ready(Some(if force { fresh.clone() } else { cached.clone() }))
        })
    };
    let auth = AuthSource {
        is_loading: false,
        is_authenticated: true,
        fetch_access_token: first,
        identity: Some("user_alice".into()),
    };
    let mut app = Mounted::new(client.clone(), auth);
    wait_until("users:me is Alice", WAIT, || app.text() == "Alice").await;
    let (renders, dom) = (app.renders.len(), app.dom.length());
    confirmed(&client, &fresh).await;

    for rotation in 0..3 {
        // A new token, a new fetcher, the same identity.
        let next = short_alice_token(&format!("rotation{rotation}")).await;
        assert!(!sent_tokens(0).contains(&Some(next.clone())));
        app.set_auth(signed_in(next.clone(), "user_alice"));
        confirmed(&client, &next).await;
        assert_eq!(app.text(), "Alice");
    }

    let sent = sent_tokens(frames_before);
    assert!(sent.iter().all(Option::is_some), "never signed out in between: {sent:?}");
    assert!(sent.len() >= 5, "cached, fresh and three rotations: {sent:?}");
    assert_eq!(app.renders.len(), renders, "re-rendered: {:?}", app.renders.since(renders));
    let shown = app.dom_since(dom);
    assert!(!shown.iter().any(|t| t == "loading"), "showed loading: {shown:?}");
    assert_eq!(app.text(), "Alice");
    app.unmount();
}

/// Polls `future` once; it must be ready.
fn ready_now<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("expected an immediate answer"),
    }
}

#[wasm_bindgen_test]
async fn calling_the_client_from_an_optimistic_update_is_an_error_not_a_panic() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let alice = token("alice", "Alice", 600).await;
    client.set_auth_for("alice", move |_| std::future::ready(Some(alice.clone())), |_| {});
    let posts: Log<bool> = Log::default();
    let log = posts.clone();
    let _list = client
        .subscribe("posts:list", &json!({}), move |r| log.push(matches!(r, Some(Ok(_)))))
        .expect("subscribe");
    wait_until("posts:list", WAIT, || posts.all().contains(&true)).await;

    type Calls = (
        Result<(), ConvexError>,
        Result<serde_json::Value, ConvexError>,
        Result<serde_json::Value, ConvexError>,
    );
    let calls: Log<Calls> = Log(Default::default());
    let (inner, log) = (client.clone(), calls.clone());
    let title = unique("reentrant");
    let id: String = client
        .mutation_with_optimistic_update(
            "posts:create",
            &json!({"title": title, "body": ""}),
            move |_store| {
                let subscribed = inner.subscribe("posts:list", &json!({}), |_| {}).map(drop);
                let mutation = ready_now(inner.mutation::<_, serde_json::Value>(
                    "posts:create",
                    &json!({"title": "from inside an optimistic update", "body": ""}),
                ));
                let action = ready_now(
                    inner.action::<_, serde_json::Value>("posts:summarize", &json!({"id": "x"})),
                );
                log.push((subscribed, mutation, action));
            },
        )
        .await
        .expect("the mutation completes");
    assert!(calls.len() > 0, "the optimistic update ran");
    for (subscribed, mutation, action) in calls.all() {
        assert_eq!(subscribed, Err(ConvexError::Reentrant));
        assert_eq!(mutation.err(), Some(ConvexError::Reentrant));
        assert_eq!(action.err(), Some(ConvexError::Reentrant));
    }
    let post: Option<serde_json::Value> =
        client.query("posts:get", &json!({"id": id})).await.expect("posts:get");
    assert_eq!(post.as_ref().and_then(|p| p["title"].as_str()), Some(title.as_str()));
    // The client still works after the refused calls.
    let echoed: f64 = client.query("values:echo", &json!({"value": 7})).await.expect("query");
    assert_eq!(echoed, 7.0);
}
