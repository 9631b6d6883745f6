//! Helpers for the browser tests: the devserver's URL, dev tokens, and waiting without fixed
//! sleeps.
#![allow(dead_code)]

use std::{cell::RefCell, rc::Rc, time::Duration};

use wasm_bindgen::JsCast;

pub mod faults;

/// The devserver the tests run against (`CONVEX_URL` at build time; `scripts/test` sets it).
pub const CONVEX_URL: &str = match option_env!("CONVEX_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:3210",
};

/// Resolves after `ms` milliseconds.
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("window");
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            resolve.unchecked_ref(),
            ms as i32,
        );
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Polls `condition` every 20 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !condition() {
        if js_sys::Date::now() - start > timeout.as_millis() as f64 {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        sleep(20).await;
    }
}

/// Like [`wait_until`], for a condition that has to ask (e.g. the devserver): polls it every
/// 20 ms until it holds; panics with `what` after `timeout`.
pub async fn wait_until_async<F: std::future::Future<Output = bool>>(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> F,
) {
    let start = js_sys::Date::now();
    while !condition().await {
        if js_sys::Date::now() - start > timeout.as_millis() as f64 {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        sleep(20).await;
    }
}

/// GETs a JSON reply from the devserver.
pub async fn get(path: &str) -> serde_json::Value {
    let response = gloo_net::http::Request::get(&format!("{CONVEX_URL}{path}"))
        .send()
        .await
        .expect("devserver reachable");
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).expect("json reply")
}

/// POSTs JSON to the devserver; returns the parsed reply.
pub async fn post(path: &str, body: &serde_json::Value) -> serde_json::Value {
    let response = gloo_net::http::Request::post(&format!("{CONVEX_URL}{path}"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .expect("request")
        .send()
        .await
        .expect("devserver reachable");
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).expect("json reply")
}

/// A dev token for `sub`, lasting `ttl_secs`.
pub async fn token(sub: &str, name: &str, ttl_secs: u64) -> String {
    let reply =
        post("/dev/token", &serde_json::json!({"sub": sub, "name": name, "ttl_secs": ttl_secs}))
            .await;
    reply["token"].as_str().expect("token").to_string()
}

/// A unique string for this run (tests share one devserver).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", js_sys::Date::now() as u64, (js_sys::Math::random() * 1e9) as u64)
}

/// Collects values pushed by callbacks.
#[derive(Clone, Default)]
pub struct Log<T>(pub Rc<RefCell<Vec<T>>>);

/// The same log (for component props).
impl<T> PartialEq for Log<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T: Clone> Log<T> {
    pub fn push(&self, value: T) {
        self.0.borrow_mut().push(value);
    }
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }
    pub fn last(&self) -> Option<T> {
        self.0.borrow().last().cloned()
    }
    pub fn all(&self) -> Vec<T> {
        self.0.borrow().clone()
    }
}

/// Subscribes `client` to `path` with `{}` and records every result it is shown (`None`:
/// loading or failed). Keep the subscription alive as long as the log matters.
pub fn record(
    client: &yew_convex::client::ConvexClient,
    path: &str,
) -> (Log<Option<yew_convex::value::Value>>, yew_convex::client::QuerySubscription) {
    let log: Log<Option<yew_convex::value::Value>> = Log::default();
    let sink = log.clone();
    let subscription = client
        .subscribe(path, &serde_json::json!({}), move |r| {
            sink.push(r.and_then(Result::ok).and_then(|v| v.value().ok()).map(|v| (*v).clone()))
        })
        .expect("subscribe");
    (log, subscription)
}

/// Records the text of every WebSocket frame the page sends (`window.__ycSent`).
pub fn install_send_spy() {
    let install = js_sys::Function::new_no_args(
        "if (!window.__ycSent) { window.__ycSent = []; const send = WebSocket.prototype.send; \
         WebSocket.prototype.send = function (d) { window.__ycSent.push(String(d)); return send.call(this, d); }; }",
    );
    install.call0(&wasm_bindgen::JsValue::NULL).expect("spy");
}

/// The frames sent so far, parsed.
pub fn sent() -> Vec<serde_json::Value> {
    let sent = js_sys::Reflect::get(&web_sys::window().expect("window"), &"__ycSent".into())
        .expect("spy installed");
    js_sys::Array::from(&sent)
        .iter()
        .filter_map(|v| v.as_string())
        .filter_map(|s| serde_json::from_str(&s).ok())
        .collect()
}

/// Renders component `C` with `props` into a new element at the end of the page's body.
pub fn mount<C>(props: C::Properties) -> yew::AppHandle<C>
where
    C: yew::BaseComponent,
{
    let document = web_sys::window().expect("window").document().expect("document");
    let root = document.create_element("div").expect("a div");
    document.body().expect("body").append_child(&root).expect("appended");
    yew::Renderer::<C>::with_root_and_props(root, props).render()
}
