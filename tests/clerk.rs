//! The Yew runtime with the real clerk-js (6.40.0, loaded from the devserver's stand-in like
//! from Clerk's CDN) in headless Chromium: sign-in through `SignInForm`, token rotations,
//! reload, sign-out and a change of user, as a user of the app would see them.
#![cfg(target_arch = "wasm32")]

mod support;

use std::{cell::RefCell, time::Duration};

use serde::Deserialize;
use serde_json::json;
use support::{sleep, wait_until, CONVEX_URL};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::{
    clerk::{ClerkProvider, SignInForm, SignOutButton, SignedIn, SignedOut},
    client::ConvexClient,
    sync::SyncConfig,
    use_query, AuthLoading, Authenticated, ConvexProviderWithClerk, QueryState, Unauthenticated,
};

wasm_bindgen_test_configure!(run_in_browser);

const KEY: &str = "pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA";
const WAIT: Duration = Duration::from_secs(20);

thread_local! {
    /// Every state the `Me` component rendered, in order.
    static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn seen() -> Vec<String> {
    SEEN.with(|s| s.borrow().clone())
}

fn proxy() -> String {
    format!("{CONVEX_URL}/__clerk")
}

#[derive(Deserialize, PartialEq, Debug)]
struct Me {
    subject: String,
}

#[function_component]
fn ShowMe() -> Html {
    let me = use_query::<Option<Me>, _>("users:me", json!({}));
    let text = match &me {
        QueryState::Loading => "me:loading".to_string(),
        QueryState::Failed(e) => format!("me:error:{e}"),
        QueryState::Ready(me) => match me.as_ref() {
            Some(me) => format!("me:{}", me.subject),
            None => "me:null".to_string(),
        },
    };
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.last() != Some(&text) {
            s.push(text.clone());
        }
    });
    html! { <p id="me">{ text }</p> }
}

#[derive(Properties, PartialEq)]
struct AppProps {
    client: ConvexClient,
    new_instance: bool,
}

#[function_component]
fn App(props: &AppProps) -> Html {
    html! {
        <ClerkProvider publishable_key={KEY} proxy_url={Some(AttrValue::from(proxy()))} with_ui={false} new_instance={props.new_instance}>
            <ConvexProviderWithClerk client={props.client.clone()}>
                <p id="auth">
                    <AuthLoading>{"loading"}</AuthLoading>
                    <Authenticated>{"authenticated"}</Authenticated>
                    <Unauthenticated>{"unauthenticated"}</Unauthenticated>
                </p>
                <ShowMe />
                <SignedOut><SignInForm /></SignedOut>
                <SignedIn><SignOutButton /></SignedIn>
            </ConvexProviderWithClerk>
        </ClerkProvider>
    }
}

struct Mounted {
    root: web_sys::Element,
    handle: Option<yew::AppHandle<App>>,
}

impl Mounted {
    fn new(client: ConvexClient, new_instance: bool) -> Self {
        let document = web_sys::window().unwrap().document().unwrap();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        let handle = yew::Renderer::<App>::with_root_and_props(
            root.clone(),
            AppProps { client, new_instance },
        )
        .render();
        Self { root, handle: Some(handle) }
    }

    fn text(&self, id: &str) -> String {
        self.root
            .query_selector(&format!("#{id}"))
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    }

    fn has(&self, selector: &str) -> bool {
        self.root.query_selector(selector).ok().flatten().is_some()
    }

    fn type_into(&self, name: &str, value: &str) {
        let input: web_sys::HtmlInputElement = self
            .root
            .query_selector(&format!("input[name={name}]"))
            .unwrap()
            .unwrap()
            .dyn_into()
            .unwrap();
        input.set_value(value);
        let event = web_sys::InputEvent::new_with_event_init_dict("input", &{
            let init = web_sys::InputEventInit::new();
            init.set_bubbles(true);
            init
        })
        .unwrap();
        input.dispatch_event(&event).unwrap();
    }

    fn click(&self, selector: &str) {
        let button: web_sys::HtmlElement =
            self.root.query_selector(selector).unwrap().unwrap().dyn_into().unwrap();
        button.click();
    }

    fn unmount(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.destroy();
        }
        self.root.remove();
    }
}

/// Counts Authenticate frames every WebSocket on the page sends, with their tokens.
fn install_send_spy() {
    let install = js_sys::Function::new_no_args(
        "if (!window.__ycSent) { window.__ycSent = []; const send = WebSocket.prototype.send; \
         WebSocket.prototype.send = function (d) { window.__ycSent.push(String(d)); return send.call(this, d); }; }",
    );
    install.call0(&wasm_bindgen::JsValue::NULL).unwrap();
}

fn sent_authenticates() -> Vec<serde_json::Value> {
    let sent = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__ycSent".into()).unwrap();
    js_sys::Array::from(&sent)
        .iter()
        .filter_map(|v| v.as_string())
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .filter(|m| m["type"] == "Authenticate")
        .collect()
}

fn client() -> ConvexClient {
    // 15 s tokens from the stand-in; refresh 5 s before expiry, so every ~10 s.
    let config =
        SyncConfig { auth_refresh_leeway: Duration::from_secs(5), ..SyncConfig::default() };
    ConvexClient::with_config(CONVEX_URL, config).unwrap()
}

async fn sign_in(app: &Mounted, identifier: &str, password: &str) {
    wait_until("the sign-in form", WAIT, || app.has("form.yc-sign-in-form")).await;
    app.type_into("identifier", identifier);
    app.type_into("password", password);
    sleep(50).await;
    app.click("form.yc-sign-in-form button[type=submit]");
}

#[wasm_bindgen_test]
async fn sign_in_rotate_reload_sign_out_and_switch_user() {
    install_send_spy();
    let app = Mounted::new(client(), false);

    // Start signed out (a previous run may have left a session in the cookie).
    wait_until("clerk has loaded", WAIT, || app.has("form.yc-sign-in-form") || app.has("button"))
        .await;
    if !app.has("form.yc-sign-in-form") {
        app.click("button");
    }
    wait_until("signed out", WAIT, || app.text("auth") == "unauthenticated").await;
    wait_until("users:me is null", WAIT, || app.text("me") == "me:null").await;

    // A wrong password shows Clerk's error and keeps the user signed out.
    sign_in(&app, "alice", "not-her-password").await;
    wait_until("the error", WAIT, || app.has("form.yc-sign-in-form .yc-error")).await;
    assert_eq!(app.text("auth"), "unauthenticated");

    // Sign in as alice through SignInForm.
    sign_in(&app, "alice", "alice-password").await;
    wait_until("authenticated", WAIT, || app.text("auth") == "authenticated").await;
    wait_until("users:me is alice", WAIT, || app.text("me") == "me:user_alice").await;

    // Token rotations while the query stays mounted: never back to loading, one
    // Authenticate per rotation.
    let before = sent_authenticates().len();
    let seen_before = seen().len();
    sleep(32_000).await;
    let rotations: Vec<serde_json::Value> = sent_authenticates().split_off(before);
    assert!(rotations.len() >= 2, "several rotations in 32 s, got {}", rotations.len());
    let mut tokens: Vec<&str> = rotations.iter().filter_map(|m| m["value"].as_str()).collect();
    let count = tokens.len();
    tokens.dedup();
    assert_eq!(tokens.len(), count, "each Authenticate carries a new token");
    assert!(rotations.iter().all(|m| m["tokenType"] == "User"), "never signed out in between");
    assert_eq!(
        seen()[seen_before..].to_vec(),
        Vec::<String>::new(),
        "the value never changed (no loading)"
    );
    assert_eq!(app.text("me"), "me:user_alice");

    // Reload: a new Clerk instance and a new Convex client find alice still signed in.
    app.unmount();
    let app = Mounted::new(client(), true);
    wait_until("authenticated after reload", WAIT, || app.text("auth") == "authenticated").await;
    wait_until("users:me is alice after reload", WAIT, || app.text("me") == "me:user_alice").await;

    // Sign out: alice's results are gone, and never come back.
    let from = seen().len();
    app.click("button");
    wait_until("signed out", WAIT, || app.text("auth") == "unauthenticated").await;
    wait_until("users:me is null", WAIT, || app.text("me") == "me:null").await;
    let after_sign_out = seen()[from..].to_vec();
    assert!(!after_sign_out.contains(&"me:user_alice".to_string()), "{after_sign_out:?}");

    // Sign in as bob: only bob's results.
    let from = seen().len();
    sign_in(&app, "bob@example.com", "bob-password").await;
    wait_until("users:me is bob", WAIT, || app.text("me") == "me:user_bob").await;
    let during_switch = seen()[from..].to_vec();
    assert!(during_switch.iter().all(|s| s != "me:user_alice"), "{during_switch:?}");
    app.click("button");
    wait_until("signed out again", WAIT, || app.text("auth") == "unauthenticated").await;
    app.unmount();
}

#[wasm_bindgen_test]
async fn remounting_the_provider_on_the_same_client_keeps_the_user_signed_in() {
    let client = client();
    let app = Mounted::new(client.clone(), false);
    wait_until("clerk has loaded", WAIT, || app.has("form.yc-sign-in-form") || app.has("button"))
        .await;
    if !app.has("form.yc-sign-in-form") {
        app.click("button");
    }
    sign_in(&app, "alice", "alice-password").await;
    wait_until("users:me is alice", WAIT, || app.text("me") == "me:user_alice").await;

    // A new provider tree on the same client (a route or layout change): the old tree's
    // deferred sign-out must not undo the new tree's auth.
    app.unmount();
    let app = Mounted::new(client.clone(), false);
    wait_until("authenticated again", WAIT, || app.text("auth") == "authenticated").await;
    sleep(1500).await;
    assert_eq!(app.text("auth"), "authenticated");
    assert_eq!(app.text("me"), "me:user_alice");
    assert_eq!(client.auth_status(), yew_convex::sync::AuthStatus::Authenticated);

    app.click("button");
    wait_until("signed out", WAIT, || app.text("auth") == "unauthenticated").await;
    app.unmount();
}

#[derive(Properties, PartialEq)]
struct UrlAppProps {
    sign_in_url: Option<AttrValue>,
}

#[function_component]
fn ShowSignInUrl() -> Html {
    let clerk = yew_convex::clerk::use_clerk();
    let text = match (clerk.is_loaded(), clerk.sign_in_url()) {
        (false, _) => "loading".to_string(),
        (true, url) => format!("url:{}", url.unwrap_or("none")),
    };
    html! { <p id="url">{ text }</p> }
}

#[function_component]
fn UrlApp(props: &UrlAppProps) -> Html {
    html! {
        <ClerkProvider publishable_key={KEY} proxy_url={Some(AttrValue::from(proxy()))} with_ui={false} sign_in_url={props.sign_in_url.clone()}>
            <ShowSignInUrl />
        </ClerkProvider>
    }
}

#[wasm_bindgen_test]
async fn changing_sign_in_url_updates_the_handle_without_loading_clerk_again() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let mut handle = yew::Renderer::<UrlApp>::with_root_and_props(
        root.clone(),
        UrlAppProps { sign_in_url: Some("/a".into()) },
    )
    .render();
    let text = || {
        root.query_selector("#url")
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .unwrap_or_default()
    };
    wait_until("clerk has loaded", WAIT, || text() == "url:/a").await;

    // Count the instance's `load` calls from now on.
    let count = js_sys::Function::new_no_args(
        "const c = window.Clerk; window.__ycLoads = 0; const load = c.load; \
         c.load = function (...a) { window.__ycLoads += 1; return load.apply(this, a); }; \
         window.__ycRestoreLoad = () => { c.load = load; };",
    );
    count.call0(&wasm_bindgen::JsValue::NULL).unwrap();
    let loads = || {
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__ycLoads".into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(-1.0)
    };

    handle.update(UrlAppProps { sign_in_url: Some("/b".into()) });
    wait_until("the new sign-in URL", WAIT, || text() == "url:/b").await;
    handle.update(UrlAppProps { sign_in_url: None });
    wait_until("no sign-in URL", WAIT, || text() == "url:none").await;
    sleep(300).await;
    assert_eq!(loads(), 0.0, "clerk.load() must not run again");
    assert_eq!(text(), "url:none");

    let restore = js_sys::Reflect::get(&web_sys::window().unwrap(), &"__ycRestoreLoad".into())
        .unwrap()
        .unchecked_into::<js_sys::Function>();
    restore.call0(&wasm_bindgen::JsValue::NULL).unwrap();
    handle.destroy();
    root.remove();
}
