//! `ConvexClient` and `ConvexHttpClient` in headless Chromium against the devserver.
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use support::{post, token, unique, wait_until, Log, CONVEX_URL};
use wasm_bindgen_test::*;
use yew_convex::{
    client::{ConvexClient, ConvexHttpClient},
    sync::ConvexError,
    value::Value,
};

wasm_bindgen_test_configure!(run_in_browser);

const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Post {
    #[serde(rename = "_id")]
    id: String,
    title: String,
    body: String,
    #[serde(rename = "authorName")]
    author_name: String,
}

fn titles(result: &Option<yew_convex::sync::QueryResult>) -> Vec<String> {
    match result {
        Some(Ok(value)) => value
            .deserialize::<Vec<Post>>()
            .map(|posts| posts.into_iter().map(|p| p.title).collect())
            .unwrap_or_default(),
        _ => vec![],
    }
}

async fn signed_in(sub: &str, name: &str) -> (ConvexClient, Log<bool>) {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let token = token(sub, name, 600).await;
    let changes = Log::default();
    let log = changes.clone();
    client.set_auth(move |_force| std::future::ready(Some(token.clone())), move |ok| log.push(ok));
    (client, changes)
}

#[wasm_bindgen_test]
async fn subscription_sees_another_clients_mutation() {
    let watcher = ConvexClient::new(CONVEX_URL).expect("client");
    let seen: Log<Vec<String>> = Log::default();
    let log = seen.clone();
    let _sub = watcher
        .subscribe("posts:list", &json!({}), move |r| log.push(titles(&r)))
        .expect("subscribe");
    wait_until("the first result", WAIT, || seen.len() > 0).await;

    let http = ConvexHttpClient::new(CONVEX_URL).expect("http client");
    http.set_auth(Some(token("carol", "Carol", 600).await));
    let title = unique("live");
    let _: String = http
        .mutation("posts:create", &json!({"title": title, "body": "from HTTP"}))
        .await
        .expect("create");
    wait_until("the live update", WAIT, || seen.last().is_some_and(|t| t.contains(&title))).await;
}

#[wasm_bindgen_test]
async fn mutation_resolves_after_its_effect_is_visible() {
    let (client, _) = signed_in("alice", "Alice").await;
    let sub = client.subscribe("posts:list", &json!({}), |_| {}).expect("subscribe");
    let title = unique("ryw");
    let id: String = client
        .mutation("posts:create", &json!({"title": title, "body": "b"}))
        .await
        .expect("create");
    assert_eq!(id.len(), 32);
    // Read-your-writes: by the time the mutation resolves, the subscription shows it.
    assert!(titles(&sub.current()).contains(&title), "{:?}", titles(&sub.current()));
    let post: Option<Post> = client.query("posts:get", &json!({"id": id})).await.expect("get");
    assert_eq!(post.map(|p| (p.title, p.author_name)), Some((title, "Alice".to_string())));
}

#[wasm_bindgen_test]
async fn mutation_errors_carry_convex_error_data() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let err = client
        .mutation::<_, String>("posts:create", &json!({"title": "x", "body": ""}))
        .await
        .expect_err("needs auth");
    assert_eq!(err.data().and_then(|d| d.to_json().ok()), Some(json!({"code": "UNAUTHENTICATED"})));
    let err =
        client.query::<_, Value>("posts:nope", &json!({})).await.expect_err("unknown function");
    assert!(err.to_string().contains("Could not find public function for 'posts:nope'."), "{err}");
}

#[wasm_bindgen_test]
async fn actions_run() {
    let (client, _) = signed_in("alice", "Alice").await;
    let id: String = client
        .mutation("posts:create", &json!({"title": "Summarize me", "body": "one two three four"}))
        .await
        .expect("create");
    let summary: String =
        client.action("posts:summarize", &json!({"id": id})).await.expect("action");
    assert_eq!(summary, "\u{201c}Summarize me\u{201d} by Alice: 4 words. one two three four");
}

#[wasm_bindgen_test]
async fn auth_with_a_dev_token_changes_users_me() {
    let (client, changes) = signed_in("alice", "Alice").await;
    let me: Log<Option<Value>> = Log::default();
    let log = me.clone();
    let _sub = client
        .subscribe("users:me", &json!({}), move |r| {
            log.push(r.and_then(Result::ok).and_then(|v| v.value().ok()).map(|v| (*v).clone()))
        })
        .expect("subscribe");
    wait_until("users:me is alice", WAIT, || {
        me.last().flatten().and_then(|v| v.as_object().and_then(|o| o.get("subject").cloned()))
            == Some(Value::from("alice"))
    })
    .await;
    assert_eq!(changes.all().first(), Some(&true));
    assert!(
        me.all().iter().all(|v| !matches!(v, Some(Value::Null))),
        "never shown signed out: {:?}",
        me.all()
    );
}

#[wasm_bindgen_test]
async fn a_forged_token_is_refused_and_the_client_continues_signed_out() {
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let real = token("mallory", "Mallory", 600).await;
    let mut parts: Vec<String> = real.split('.').map(str::to_string).collect();
    parts[2] = parts[2].chars().rev().collect(); // break the signature
    let forged = parts.join(".");
    let changes = Log::default();
    let log = changes.clone();
    client.set_auth(move |_| std::future::ready(Some(forged.clone())), move |ok| log.push(ok));
    wait_until("auth is refused", WAIT, || changes.last() == Some(false)).await;
    assert!(!changes.all().contains(&true));
    let me: Value = client.query("users:me", &json!({})).await.expect("users:me");
    assert_eq!(me, Value::Null);
}

#[wasm_bindgen_test]
async fn http_client_maps_outcomes_and_errors() {
    let http = ConvexHttpClient::new(CONVEX_URL).expect("http client");
    let posts: Vec<Post> = http.query("posts:list", &json!({})).await.expect("list");
    let _ = posts;
    let err = http
        .mutation::<_, String>("posts:create", &json!({"title": "x", "body": ""}))
        .await
        .expect_err("auth");
    assert_eq!(err.data().and_then(|d| d.to_json().ok()), Some(json!({"code": "UNAUTHENTICATED"})));
    http.set_auth(Some("not.a.jwt".into()));
    match http.query::<_, Value>("users:me", &json!({})).await {
        Err(ConvexError::Http { code, .. }) => assert_eq!(code, "InvalidAuthHeader"),
        other => panic!("{other:?}"),
    }
    http.set_auth(Some(token("dave", "Dave", 600).await));
    let me: Value = http.query("users:me", &json!({})).await.expect("me");
    assert_eq!(me.as_object().and_then(|o| o.get("name")).and_then(Value::as_str), Some("Dave"));
    // Mutations run in order.
    let (a, b) = futures_join(
        http.mutation::<_, String>("posts:create", &json!({"title": "first", "body": ""})),
        http.mutation::<_, String>("posts:create", &json!({"title": "second", "body": ""})),
    )
    .await;
    let (a, b) = (a.expect("a"), b.expect("b"));
    let list: Vec<Post> = http.query("posts:list", &json!({})).await.expect("list");
    let pos = |id: &str| list.iter().position(|p| p.id == id).expect("listed");
    assert!(pos(&b) < pos(&a), "newest first: the second ran after the first");
}

/// Polls `future` once (it starts, and stays pending).
fn poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let _ = future.poll(&mut cx);
}

/// How many HTTP mutations the devserver holds now (`GET /dev/hold_mutations`).
async fn held_http() -> u64 {
    support::get("/dev/hold_mutations").await["heldHttp"].as_u64().expect("heldHttp")
}

#[wasm_bindgen_test]
async fn http_mutations_dropped_by_their_caller_keep_the_queue_in_order() {
    let http = ConvexHttpClient::new(CONVEX_URL).expect("http client");
    http.set_auth(Some(token("dave", "Dave", 600).await));
    let (a, b, c) = (unique("sent-then-dropped"), unique("dropped-in-queue"), unique("next"));
    let (args_a, args_b) = (json!({"title": a, "body": ""}), json!({"title": b, "body": ""}));
    // The devserver holds HTTP mutations: received, but neither run nor answered.
    post("/dev/hold_mutations", &json!({"http": true, "hold": true})).await;
    // A is sent (and held); its caller drops it while the request is in flight.
    let mut first = Box::pin(http.mutation::<_, String>("posts:create", &args_a));
    poll_once(first.as_mut());
    support::wait_until_async("A is held", WAIT, || async { held_http().await == 1 }).await;
    drop(first);
    // B is dropped while it waits for A: it is never sent.
    let mut second = Box::pin(http.mutation::<_, String>("posts:create", &args_b));
    poll_once(second.as_mut());
    drop(second);
    // C is started (not awaited): it may be sent only once A's request has finished.
    let outcome: Log<Result<String, String>> = Log(Default::default());
    {
        let (http, outcome, args) =
            (http.clone(), outcome.clone(), json!({"title": c, "body": ""}));
        wasm_bindgen_futures::spawn_local(async move {
            let result = http.mutation::<_, String>("posts:create", &args).await;
            outcome.push(result.map_err(|e| e.to_string()));
        });
    }
    // Something that must not happen: for a while, the devserver still holds A alone (had C
    // been sent, it would hold 2). The hold is released before asserting, so a failure does
    // not leave the other tests' HTTP mutations held.
    let mut seen = Vec::new();
    let start = js_sys::Date::now();
    while js_sys::Date::now() - start < 300.0 {
        seen.push(held_http().await);
        support::sleep(20).await;
    }
    post("/dev/hold_mutations", &json!({"http": true, "hold": false})).await;
    assert!(
        seen.iter().all(|&held| held == 1),
        "nothing else (neither B nor C) is sent while A's request is in flight \
         (held HTTP mutations seen: {seen:?})"
    );
    assert_eq!(outcome.len(), 0, "C waits for A");

    // Released: A runs, then C, which resolves.
    wait_until("C resolved", WAIT, || outcome.len() > 0).await;
    let id_c = outcome.all()[0].clone().expect("C succeeds");
    let list: Vec<Post> = http.query("posts:list", &json!({})).await.expect("list");
    let pos = |title: &str| list.iter().position(|p| p.title == title);
    assert_eq!(list.iter().filter(|p| p.title == a).count(), 1, "A ran once");
    assert!(pos(&b).is_none(), "a mutation dropped before its turn is never sent");
    let (pos_a, pos_c) = (pos(&a).expect("A ran"), pos(&c).expect("C ran"));
    assert_eq!(list[pos_c].id, id_c);
    assert!(pos_c < pos_a, "newest first: C ran after A");
    assert_eq!(outcome.len(), 1);
}

async fn futures_join<A: std::future::Future, B: std::future::Future>(
    a: A,
    b: B,
) -> (A::Output, B::Output) {
    let mut a = Box::pin(a);
    let mut b = Box::pin(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let std::task::Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let std::task::Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    (ra.expect("a"), rb.expect("b"))
}

/// Records the text of every WebSocket frame the page sends (`window.__ycSent`).
fn install_send_spy() {
    let install = js_sys::Function::new_no_args(
        "if (!window.__ycSent) { window.__ycSent = []; const send = WebSocket.prototype.send; \
         WebSocket.prototype.send = function (d) { window.__ycSent.push(String(d)); return send.call(this, d); }; }",
    );
    install.call0(&wasm_bindgen::JsValue::NULL).expect("spy");
}

/// The Mutation frames sent so far whose text contains `needle`.
fn sent_mutations_with(needle: &str) -> usize {
    let sent = js_sys::Reflect::get(&web_sys::window().expect("window"), &"__ycSent".into())
        .expect("spy installed");
    js_sys::Array::from(&sent)
        .iter()
        .filter_map(|v| v.as_string())
        .filter_map(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .filter(|m| m["type"] == "Mutation" && m.to_string().contains(needle))
        .count()
}

#[wasm_bindgen_test]
async fn a_dropped_socket_reconnects_without_losing_or_duplicating_mutations() {
    install_send_spy();
    let (client, _) = signed_in("erin", "Erin").await;
    let seen: Log<Vec<String>> = Log::default();
    let log = seen.clone();
    let _sub = client
        .subscribe("posts:list", &json!({}), move |r| log.push(titles(&r)))
        .expect("subscribe");
    wait_until("the first result", WAIT, || seen.len() > 0).await;
    let connections = client.connection_state().connection_count;
    let session = client.session_id();

    // The devserver runs this session's mutations but holds their answers back.
    post("/dev/hold_mutations", &json!({"sessionId": session, "hold": true})).await;
    let title = unique("exactly-once");
    let outcome: Log<Result<String, String>> = Log(Default::default());
    {
        let (client, outcome, args) =
            (client.clone(), outcome.clone(), json!({"title": title, "body": ""}));
        wasm_bindgen_futures::spawn_local(async move {
            let result = client.mutation::<_, String>("posts:create", &args).await;
            outcome.push(result.map_err(|e| e.to_string()));
        });
    }
    // Once the mutation has committed (seen through the HTTP API), its answer is held.
    let http = ConvexHttpClient::new(CONVEX_URL).expect("http client");
    let start = js_sys::Date::now();
    let committed = loop {
        let list: Vec<Post> = http.query("posts:list", &json!({})).await.expect("list");
        if let Some(post) = list.into_iter().find(|p| p.title == title) {
            break post.id;
        }
        assert!(js_sys::Date::now() - start < WAIT.as_millis() as f64, "the mutation never ran");
        support::sleep(20).await;
    };
    assert_eq!(outcome.len(), 0, "unanswered while held");
    assert_eq!(sent_mutations_with(&title), 1);

    // The socket goes while the mutation is unanswered: its held answer is lost with it.
    post("/dev/drop_sessions", &json!({"sessionId": session})).await;
    wait_until("reconnected", WAIT, || client.connection_state().connection_count > connections)
        .await;
    post("/dev/hold_mutations", &json!({"sessionId": session, "hold": false})).await;
    // The client re-sends it on the new socket; the devserver's deduplication by (sessionId,
    // requestId) answers with the recorded result instead of running it again.
    wait_until("the mutation resolved", WAIT, || outcome.len() > 0).await;
    assert_eq!(
        outcome.all(),
        vec![Ok(committed.clone())],
        "resolved once, with the first run's id"
    );
    assert_eq!(sent_mutations_with(&title), 2, "sent, then re-sent after the reconnect");
    let list: Vec<Post> = client.query("posts:list", &json!({})).await.expect("list");
    assert_eq!(list.iter().filter(|p| p.title == title).count(), 1, "exactly once");
    assert!(seen.last().is_some_and(|t| t.contains(&title)));
    // The subscription keeps working on the new socket.
    let again = unique("after");
    let _: String = client
        .mutation("posts:create", &json!({"title": again, "body": ""}))
        .await
        .expect("create");
    assert!(seen.last().is_some_and(|t| t.contains(&again)));
    assert_eq!(outcome.len(), 1, "resolved exactly once");
}
