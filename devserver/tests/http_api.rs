//! The HTTP API: outcomes in band with HTTP 200, `{code, message}` errors for the rest.

mod common;

use common::Server;
use serde_json::json;

async fn raw_post(
    server: &Server,
    path: &str,
    content_type: Option<&str>,
    body: &str,
    auth: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request =
        reqwest::Client::new().post(format!("{}{path}", server.http())).body(body.to_string());
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.expect("post");
    (response.status().as_u16(), response.json().await.expect("json"))
}

#[tokio::test]
async fn success_and_convex_errors() {
    let server = Server::start();
    let (status, body) = server.call("query", "posts:list", json!({}), None).await;
    assert_eq!((status, body), (200, json!({"status": "success", "value": []})));

    let (status, body) =
        server.call("mutation", "posts:create", json!({"title": "t", "body": "b"}), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorData"], json!({"code": "UNAUTHENTICATED"}));
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("[Request ID: ")
            && message.contains("] Server Error\nUncaught ConvexError: "),
        "{message}"
    );

    let token = server.token("alice", "Alice").await;
    let (status, body) = server
        .call("mutation", "posts:create", json!({"title": "t", "body": "b"}), Some(&token))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "success");
    assert_eq!(body["logLines"].as_array().map(Vec::len), Some(1));

    let (_, body) = server.call("query", "users:me", json!({}), Some(&token)).await;
    assert_eq!(body["value"]["subject"], "alice");
    assert_eq!(body["value"]["email"], "alice@example.com");

    let (status, body) = server.call("query", "nope:nothing", json!({}), None).await;
    assert_eq!(status, 200);
    assert!(body["errorMessage"]
        .as_str()
        .unwrap()
        .ends_with("Could not find public function for 'nope:nothing'.\n"));

    let (_, body) = server.call("mutation", "posts:list", json!({}), None).await;
    assert!(body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("Trying to execute posts.js:list as Mutation, but it is defined as Query."));

    let (_, body) = server.call("query", "posts:get", json!({"id": 5}), None).await;
    assert!(body["errorMessage"].as_str().unwrap().contains(
        "ArgumentValidationError: Value does not match validator.\nPath: .id\nValue: 5.0\n"
    ));
}

#[tokio::test]
async fn values_round_trip_in_both_formats() {
    let server = Server::start();
    let value = json!({
        "int": {"$integer": "AQAAAAAAAAA="},
        "bytes": {"$bytes": "AAEC"},
        "nan": {"$float": "AAAAAAAA+H8="},
        "nested": [1.5, null, true, "s", {"a": []}],
    });
    let (_, body) = server.call("query", "values:echo", json!({"value": value}), None).await;
    assert_eq!(body["value"], value);

    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/query", server.http()))
        .json(&json!({"path": "values:echo", "args": {"value": {"$integer": "AQAAAAAAAAA="}}, "format": "json"}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(response["value"], json!(1));

    let (_, body) = server.call("query", "values:echo", json!({"value": {"$bad": 1}}), None).await;
    assert_eq!(body["status"], "error");
    assert!(body["errorMessage"].as_str().unwrap().contains("starts with a '$'"));
}

#[tokio::test]
async fn bad_tokens_and_headers() {
    let server = Server::start();
    let body = r#"{"path":"users:me","args":{}}"#;
    let (status, err) =
        raw_post(&server, "/api/query", Some("application/json"), body, Some("Bearer not.a.jwt"))
            .await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "InvalidAuthHeader");

    let other = Server::start();
    let foreign = other.token("alice", "Alice").await;
    let (status, err) = raw_post(
        &server,
        "/api/query",
        Some("application/json"),
        body,
        Some(&format!("Bearer {foreign}")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "NoAuthProvider");

    let valid = server.token("alice", "Alice").await;
    // Flip one character in the middle of the signature.
    let at = valid.len() - 20;
    let flipped = if &valid[at..at + 1] == "A" { "B" } else { "A" };
    let forged = format!("{}{flipped}{}", &valid[..at], &valid[at + 1..]);
    let (status, err) = raw_post(
        &server,
        "/api/query",
        Some("application/json"),
        body,
        Some(&format!("Bearer {forged}")),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (401, Some("Unauthenticated")));

    // `aud` names `convex` and another audience, validly signed: Convex finds the provider by the
    // application id, then refuses the token (Unauthenticated, not NoAuthProvider).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let auth = devserver::auth::Auth::load_or_create(&server.data, &server.http(), vec![], 60)
        .expect("the server's identity key");
    let extra_aud = auth.sign_claims(&json!({"iss": server.http(), "sub": "alice", "aud": ["convex", "x"], "iat": now, "exp": now + 60}));
    let (status, err) = raw_post(
        &server,
        "/api/query",
        Some("application/json"),
        body,
        Some(&format!("Bearer {extra_aud}")),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (401, Some("Unauthenticated")), "{err}");
    assert_eq!(
        err["message"],
        "Could not verify OIDC token claim. Check that the token signature is valid and the token hasn't expired."
    );

    let (status, err) =
        raw_post(&server, "/api/query", Some("application/json"), body, Some("Basic abcdefgh"))
            .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("InvalidAdminKey")));
}

#[tokio::test]
async fn malformed_bodies_are_400_bad_json_body() {
    let server = Server::start();
    for (content_type, body, needle) in [
        (Some("application/json"), "{not json", "Failed to parse the request body as JSON"),
        (Some("application/json"), r#"{"args":{}}"#, "missing field `path`"),
        (
            None,
            r#"{"path":"posts:list"}"#,
            "Expected request with `Content-Type: application/json`",
        ),
        (
            Some("text/plain"),
            r#"{"path":"posts:list"}"#,
            "Expected request with `Content-Type: application/json`",
        ),
    ] {
        let (status, err) = raw_post(&server, "/api/query", content_type, body, None).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["code"], "BadJsonBody");
        assert!(err["message"].as_str().unwrap().contains(needle), "{err}");
    }
    let (status, err) = raw_post(
        &server,
        "/api/query",
        Some("application/json"),
        r#"{"path":"no such path!"}"#,
        None,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("BadConvexFunctionIdentifier")));
}

#[tokio::test]
async fn oidc_discovery_and_jwks_are_served() {
    let server = Server::start();
    let discovery: serde_json::Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", server.http()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], server.http());
    let jwks: serde_json::Value =
        reqwest::get(discovery["jwks_uri"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    assert_eq!(jwks["keys"][0]["kty"], "RSA");
}

#[tokio::test]
async fn a_remote_issuer_is_trusted_through_its_discovery_document() {
    // One devserver trusts another as it would trust Clerk: by `--trust-issuer`, with keys
    // fetched from the issuer's OIDC discovery and JWKS.
    let issuer = Server::start();
    let server =
        Server::start_with(&["--trust-issuer", &format!("http://127.0.0.1:{}/", issuer.port)]);
    let token = issuer.token("carol", "Carol").await;
    let (status, body) = server.call("query", "users:me", json!({}), Some(&token)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"]["tokenIdentifier"], format!("{}|carol", issuer.http()));
}

/// `POST /dev/hold_mutations` with `body`; returns (status, reply).
async fn hold_mutations(server: &Server, body: serde_json::Value) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/dev/hold_mutations", server.http()))
        .json(&body)
        .send()
        .await
        .expect("post");
    (response.status().as_u16(), response.json().await.expect("json"))
}

/// `GET /dev/hold_mutations`: how many HTTP mutations wait to run now.
async fn held_http(server: &Server) -> u64 {
    let reply: serde_json::Value = reqwest::get(format!("{}/dev/hold_mutations", server.http()))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    reply["heldHttp"].as_u64().expect("heldHttp")
}

async fn wait_for_held_http(server: &Server, n: u64) {
    for _ in 0..250 {
        if held_http(server).await == n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the devserver never held {n} HTTP mutations (holds {})", held_http(server).await);
}

/// Starts `posts:create {title}` over the HTTP API in a task of its own; its (status, body).
fn spawn_create(
    server: &Server,
    token: &str,
    title: &str,
) -> tokio::task::JoinHandle<(u16, serde_json::Value)> {
    let request = reqwest::Client::new()
        .post(format!("{}/api/mutation", server.http()))
        .bearer_auth(token)
        .json(&json!({"path": "posts:create", "args": {"title": title, "body": ""}}));
    tokio::spawn(async move {
        let response = request.send().await.expect("mutation");
        (response.status().as_u16(), response.json().await.expect("json"))
    })
}

/// The titles of `posts:list`, oldest first.
async fn titles_oldest_first(server: &Server) -> Vec<String> {
    let (_, list) = server.call("query", "posts:list", json!({}), None).await;
    let mut titles: Vec<String> = list["value"]
        .as_array()
        .expect("posts")
        .iter()
        .map(|p| p["title"].as_str().expect("title").to_string())
        .collect();
    titles.reverse(); // posts:list is newest first
    titles
}

#[tokio::test]
async fn held_http_mutations_wait_unanswered_then_run_in_their_order_of_arrival() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    assert_eq!(held_http(&server).await, 0);
    let (status, reply) = hold_mutations(&server, json!({"http": true, "hold": true})).await;
    assert_eq!((status, reply), (200, json!({"heldHttp": 0, "holdingHttp": true})));

    // Three mutations arrive one after another; none runs, none is answered.
    let mut calls = Vec::new();
    for (n, title) in ["first", "second", "third"].into_iter().enumerate() {
        calls.push(spawn_create(&server, &token, title));
        wait_for_held_http(&server, n as u64 + 1).await;
    }
    // Queries are not held, and see none of them.
    assert_eq!(titles_oldest_first(&server).await, Vec::<String>::new());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(calls.iter().all(|c| !c.is_finished()), "no held mutation is answered");
    assert_eq!(held_http(&server).await, 3);
    // A WebSocket-session hold leaves them held; the no-op reply reports them too.
    let (_, reply) = hold_mutations(&server, json!({"sessionId": "nobody", "hold": false})).await;
    assert_eq!((&reply["heldHttp"], &reply["holdingHttp"]), (&json!(3), &json!(true)));

    let (status, reply) = hold_mutations(&server, json!({"http": true, "hold": false})).await;
    assert_eq!((status, &reply["holdingHttp"]), (200, &json!(false)));
    for call in calls {
        let (status, body) = call.await.expect("task");
        assert_eq!((status, &body["status"]), (200, &json!("success")), "{body}");
    }
    assert_eq!(titles_oldest_first(&server).await, ["first", "second", "third"]);
    assert_eq!(held_http(&server).await, 0);

    // Released: the next one is answered at once.
    let (status, body) = server
        .call("mutation", "posts:create", json!({"title": "t", "body": ""}), Some(&token))
        .await;
    assert_eq!((status, &body["status"]), (200, &json!("success")));
}

#[tokio::test]
async fn ending_every_hold_ends_the_http_one_and_bad_hold_requests_are_400() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    hold_mutations(&server, json!({"http": true, "hold": true})).await;
    let call = spawn_create(&server, &token, "held");
    wait_for_held_http(&server, 1).await;
    // `hold: false` without `sessionId` ends every hold, the HTTP one included.
    let (status, _) = hold_mutations(&server, json!({"hold": false})).await;
    assert_eq!(status, 200);
    let (status, body) = call.await.expect("task");
    assert_eq!((status, &body["status"]), (200, &json!("success")), "{body}");
    assert_eq!(titles_oldest_first(&server).await, ["held"]);

    for body in [
        json!({"http": true, "sessionId": "s", "hold": true}),
        json!({"http": "yes", "hold": true}),
        json!({"http": true}),
    ] {
        let (status, reply) = hold_mutations(&server, body.clone()).await;
        assert_eq!((status, reply["code"].as_str()), (400, Some("BadRequest")), "{body}");
    }
}

#[tokio::test]
async fn ledger_records_each_mutation_and_each_action_run_once() {
    let server = Server::start();
    for key in ["a", "b"] {
        let (_, body) = server.call("mutation", "ledger:add", json!({ "key": key }), None).await;
        assert_eq!(body["status"], "success", "{body}");
    }
    let (_, body) = server.call("action", "ledger:act", json!({"key": "act:c"}), None).await;
    assert_eq!(body["status"], "success", "{body}");
    let (_, body) = server.call("query", "ledger:list", json!({}), None).await;
    assert_eq!(body["value"], json!(["a", "b", "act:c"]));
    let (_, body) = server.call("mutation", "ledger:add", json!({"key": 1}), None).await;
    assert!(body["errorMessage"].as_str().unwrap().contains("ArgumentValidationError"), "{body}");
}
