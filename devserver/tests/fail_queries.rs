//! `POST /dev/fail_queries`: injected query failures fail the next executions of a function, as
//! a function that throws before reading anything would, and are never cached: the subscription
//! that got one keeps it across unrelated commits, while a new subscription (a re-subscription
//! after "Try again"), an HTTP query or a change of identity runs the function again.

mod common;

use common::{updated_value, Msg, Server, Ws};
use convex_sync_types::{ServerMessage, StateModification};
use serde_json::{json, Value as Json};

async fn fail_queries(server: &Server, body: Json) -> (u16, Json) {
    let response = reqwest::Client::new()
        .post(format!("{}/dev/fail_queries", server.http()))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn pending(server: &Server) -> Json {
    let body: Json = reqwest::get(format!("{}/dev/fail_queries", server.http()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["pending"].clone()
}

/// The error message of query `id` in a Transition, if it failed there.
fn failed_message(message: &Msg, id: u32) -> Option<String> {
    let ServerMessage::Transition { modifications, .. } = message else { return None };
    modifications.iter().find_map(|m| match m {
        StateModification::QueryFailed { query_id, error_message, .. }
            if query_id.get_id() == id =>
        {
            Some(error_message.clone())
        }
        _ => None,
    })
}

/// Nothing arrives on `ws` for a while (a session sends no Transition when nothing it watches
/// changed).
async fn silent(ws: &mut Ws) {
    let next = tokio::time::timeout(std::time::Duration::from_millis(300), ws.recv_json()).await;
    assert!(next.is_err(), "expected no message, got {next:?}");
}

/// Whether a Transition mentions query `id` at all.
fn mentions(message: &Msg, id: u32) -> bool {
    updated_value(message, id).is_some() || failed_message(message, id).is_some()
}

async fn create_post(server: &Server, token: &str, title: &str) -> String {
    let (status, body) = server
        .call("mutation", "posts:create", json!({"title": title, "body": "b"}), Some(token))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("success")), "{body}");
    body["value"].as_str().expect("an id").to_string()
}

#[tokio::test]
async fn an_injected_failure_answers_only_its_subscription_and_a_resubscription_runs_again() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let id = create_post(&server, &token, "Target").await;
    let other = create_post(&server, &token, "Other").await;

    // Another session already watches the post: its cached result must not answer the next
    // subscription.
    let mut watcher = Ws::connect(&server.ws("/api/sync")).await;
    let w = watcher.add_query("posts:get", json!({"id": id})).await;
    assert_eq!(updated_value(&watcher.recv().await, w).unwrap()["title"], "Target");

    let (status, body) = fail_queries(
        &server,
        json!({"path": "posts.js:get", "args": {"id": id}, "count": 1, "message": "the disk is on fire"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["pending"],
        json!([{"path": "posts:get", "args": {"id": id}, "remaining": 1, "message": "the disk is on fire"}])
    );

    // Other args are not affected.
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let o = ws.add_query("posts:get", json!({"id": other})).await;
    assert_eq!(updated_value(&ws.recv().await, o).unwrap()["title"], "Other");

    // The next execution with these args fails, as a function error.
    let q = ws.add_query("posts:get", json!({"id": id})).await;
    let message = failed_message(&ws.recv().await, q).expect("QueryFailed");
    assert!(message.starts_with("[Request ID: "), "{message}");
    assert!(
        message.ends_with("] Server Error\nUncaught Error: the disk is on fire\n"),
        "{message}"
    );
    assert_eq!(pending(&server).await, json!([]), "used up");

    // A commit that does not touch it: the failure stays (it read nothing), and the watcher,
    // which re-runs at that commit, gets the real post (the injection is used up).
    let _ = create_post(&server, &token, "Unrelated").await;
    silent(&mut ws).await;
    silent(&mut watcher).await;

    // Subscribing again (as a client's "Try again" does) runs it again.
    ws.remove_query(q).await;
    let q2 = ws.add_query("posts:get", json!({"id": id})).await;
    let mut seen = None;
    for _ in 0..2 {
        let t = ws.recv().await;
        if let Some(v) = updated_value(&t, q2) {
            seen = Some(v);
            break;
        }
    }
    assert_eq!(seen.expect("posts:get re-run")["title"], "Target");

    // The same over HTTP: a failure, then the value (no failure is cached).
    fail_queries(&server, json!({"path": "posts:get", "count": 1})).await;
    let (_, body) = server.call("query", "posts:get", json!({"id": id}), None).await;
    assert_eq!(body["status"], "error", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .unwrap()
            .ends_with("Uncaught Error: Injected failure (POST /dev/fail_queries)\n"),
        "{body}"
    );
    let (_, body) = server.call("query", "posts:get", json!({"id": id}), None).await;
    assert_eq!(body["value"]["title"], "Target", "{body}");
}

#[tokio::test]
async fn counts_identity_changes_cancel_and_bad_requests() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;

    // Two executions fail, whoever runs them; the third succeeds.
    fail_queries(&server, json!({"path": "posts:list", "count": 2})).await;
    assert_eq!(pending(&server).await[0]["remaining"], 2);
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let q = ws.add_query("posts:list", json!({})).await;
    assert!(failed_message(&ws.recv().await, q).is_some());
    let (_, body) = server.call("query", "posts:list", json!({}), None).await;
    assert_eq!(body["status"], "error");
    let (_, body) = server.call("query", "posts:list", json!({}), None).await;
    assert_eq!(body["value"], json!([]));

    // A new identity runs every query again, an injected failure included.
    let me = ws.add_query("users:me", json!({})).await;
    assert!(mentions(&ws.recv().await, me));
    ws.authenticate(0, Some(&token)).await;
    assert_eq!(updated_value(&ws.recv().await, q), Some(json!([])));

    // count 0 removes an injection.
    fail_queries(&server, json!({"path": "posts:list", "count": 5})).await;
    let (status, body) = fail_queries(&server, json!({"path": "posts:list", "count": 0})).await;
    assert_eq!((status, body["pending"].clone()), (200, json!([])));
    let (_, body) = server.call("query", "posts:list", json!({}), None).await;
    assert_eq!(body["status"], "success");

    for bad in [
        json!({"count": 1}),
        json!({"path": "not a path", "count": 1}),
        json!({"path": "posts:list"}),
        json!({"path": "posts:list", "count": -1}),
        json!({"path": "posts:list", "count": 1, "args": [1]}),
        json!({"path": "posts:list", "count": 1, "message": 5}),
    ] {
        let (status, body) = fail_queries(&server, bad.clone()).await;
        assert_eq!(status, 400, "{bad} → {body}");
        assert_eq!(body["code"], "BadRequest");
    }
    assert_eq!(pending(&server).await, json!([]));
}
