//! The sync protocol over a raw WebSocket, one test per rule. Every server message is parsed
//! with `convex_sync_types` (the official types), so these also prove wire compatibility.

mod common;

use common::{updated_value, Msg, Server, Ws};
use convex_sync_types::{ServerMessage, StateModification};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn transition_parts(
    m: &Msg,
) -> (convex_sync_types::StateVersion, convex_sync_types::StateVersion, usize) {
    match m {
        ServerMessage::Transition { start_version, end_version, modifications, .. } => {
            (*start_version, *end_version, modifications.len())
        }
        other => panic!("expected a Transition, got {other:?}"),
    }
}

#[tokio::test]
async fn query_set_version_mismatch_is_a_fatal_error() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.send(convex_sync_types::ClientMessage::ModifyQuerySet {
        base_version: 5,
        new_version: 6,
        modifications: vec![],
    })
    .await;
    match ws.recv().await {
        ServerMessage::FatalError { error_message } => assert_eq!(
            error_message,
            "Base version 5 passed up doesn't match the current version 0"
        ),
        other => panic!("expected FatalError, got {other:?}"),
    }
    assert_eq!(ws.recv_close().await, None, "a close frame without a code");
}

#[tokio::test]
async fn duplicate_and_unknown_query_ids_close_with_1011() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.add_query("posts:list", json!({})).await;
    ws.recv().await;
    ws.remove_query(41).await;
    assert_eq!(ws.recv_close().await, Some((1011, "InternalServerError".into())));
}

#[tokio::test]
async fn subscription_sees_a_mutation_with_read_your_writes_ordering() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let mut ws = Ws::connect(&server.ws("/api/1.30.0/sync")).await;
    ws.authenticate(0, Some(&token)).await;
    let (_, end, _) = transition_parts(&ws.recv().await);
    assert_eq!(end.identity, 1);

    let q = ws.add_query("posts:list", json!({})).await;
    let first = ws.recv().await;
    let (start, end, _) = transition_parts(&first);
    assert_eq!((start.query_set, end.query_set), (0, 1));
    assert_eq!(updated_value(&first, q), Some(json!([])));

    let request =
        ws.mutation("posts:create", json!({"title": "Hello", "body": "First post"})).await;
    let ts = match ws.recv().await {
        ServerMessage::MutationResponse {
            request_id,
            result: Ok(common::V(id)),
            ts: Some(ts),
            log_lines,
        } => {
            assert_eq!(request_id, request);
            assert_eq!(id.as_str().map(str::len), Some(32), "a 32-character document id");
            assert!(
                log_lines.0.iter().any(|l| l.starts_with("[LOG] 'created post")),
                "{log_lines:?}"
            );
            ts
        }
        other => panic!("expected a successful MutationResponse, got {other:?}"),
    };
    let update = ws.recv().await;
    let (start, end, _) = transition_parts(&update);
    assert!(end.ts >= ts, "Transition ts {:?} must be >= the mutation's ts {:?}", end.ts, ts);
    assert!(end.ts > start.ts);
    let posts = updated_value(&update, q).expect("posts:list updated");
    assert_eq!(posts[0]["title"], "Hello");
    assert_eq!(posts[0]["authorName"], "Alice");
    assert!(posts[0]["_creationTime"].is_f64());
}

#[tokio::test]
async fn mutation_touching_nothing_watched_still_gets_an_empty_transition() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.add_query("users:me", json!({})).await;
    ws.recv().await;
    ws.mutation("posts:create", json!({"title": "x", "body": "y"})).await;
    match ws.recv().await {
        ServerMessage::MutationResponse { result: Err(e), ts: None, .. } => {
            assert_eq!(e.get_data().map(|d| d.0.clone()), Some(json!({"code": "UNAUTHENTICATED"})));
            assert!(e.get_message().starts_with("[Request ID: "), "{}", e.get_message());
        }
        other => panic!("expected a failed MutationResponse, got {other:?}"),
    }
    let (_, _, mods) = transition_parts(&ws.recv().await);
    assert_eq!(mods, 0);
}

#[tokio::test]
async fn authenticate_reruns_every_query_under_the_new_identity() {
    let server = Server::start();
    let alice = server.token("alice", "Alice").await;
    let bob = server.token("bob", "Bob").await;
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let me = ws.add_query("users:me", json!({})).await;
    assert_eq!(updated_value(&ws.recv().await, me), Some(json!(null)));

    ws.authenticate(0, Some(&alice)).await;
    let t = ws.recv().await;
    let (start, end, _) = transition_parts(&t);
    assert_eq!((start.identity, end.identity), (0, 1));
    let value = updated_value(&t, me).expect("users:me re-run");
    assert_eq!(value["subject"], "alice");
    assert_eq!(value["name"], "Alice");
    assert_eq!(value["tokenIdentifier"], format!("{}|alice", server.http()));

    ws.authenticate(1, Some(&bob)).await;
    assert_eq!(updated_value(&ws.recv().await, me).expect("bob")["subject"], "bob");

    ws.authenticate(2, None).await;
    let t = ws.recv().await;
    assert_eq!(transition_parts(&t).1.identity, 3);
    assert_eq!(updated_value(&t, me), Some(json!(null)));
}

#[tokio::test]
async fn unknown_functions_and_bad_args_fail_the_query_in_band() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let q = ws.add_query("posts:nope", json!({})).await;
    match ws.recv().await {
        ServerMessage::Transition { modifications, .. } => match &modifications[0] {
            StateModification::QueryFailed { query_id, error_message, .. } => {
                assert_eq!(query_id.get_id(), q);
                assert!(
                    error_message.ends_with("Could not find public function for 'posts:nope'.\n"),
                    "{error_message}"
                );
            }
            other => panic!("expected QueryFailed, got {other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let q = ws.add_query("posts:get", json!({"id": "not-an-id"})).await;
    match ws.recv().await {
        ServerMessage::Transition { modifications, .. } => match &modifications[0] {
            StateModification::QueryFailed { query_id, error_message, .. } => {
                assert_eq!(query_id.get_id(), q);
                assert!(error_message.contains("ArgumentValidationError: Value does not match validator.\nPath: .id\nValue: \"not-an-id\"\nValidator: v.id(\"posts\")"), "{error_message}");
            }
            other => panic!("expected QueryFailed, got {other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn mutations_are_deduplicated_across_reconnects_and_restarts() {
    let mut server = Server::start();
    let token = server.token_with(json!({"sub": "alice", "name": "Alice", "ttl_secs": 600})).await;
    let session = convex_sync_types::SessionId::new(uuid::Uuid::new_v4());

    let mut ws = Ws::connect_session(&server.ws("/api/sync"), session).await;
    ws.authenticate(0, Some(&token)).await;
    ws.recv().await;
    ws.send_mutation(7, "posts:create", json!({"title": "Once", "body": "only once"})).await;
    let (first_id, first_ts) = match ws.recv().await {
        ServerMessage::MutationResponse { result: Ok(v), ts: Some(ts), .. } => (v.0, ts),
        other => panic!("{other:?}"),
    };
    drop(ws);

    for restart in [false, true] {
        if restart {
            server.kill_and_restart();
        }
        let mut ws = Ws::connect_session(&server.ws("/api/sync"), session).await;
        ws.authenticate(0, Some(&token)).await;
        ws.recv().await;
        ws.send_mutation(7, "posts:create", json!({"title": "Once", "body": "only once"})).await;
        match ws.recv().await {
            ServerMessage::MutationResponse { result: Ok(v), ts: Some(ts), .. } => {
                assert_eq!(v.0, first_id, "the recorded result (restart: {restart})");
                assert_eq!(ts, first_ts, "the original commit ts (restart: {restart})");
            }
            other => panic!("{other:?}"),
        }
        let (_, list) = server.call("query", "posts:list", json!({}), None).await;
        assert_eq!(
            list["value"].as_array().map(Vec::len),
            Some(1),
            "ran once (restart: {restart})"
        );
    }
}

async fn expect_auth_error(server: &Server, token: &str, expected: &str) {
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.authenticate(0, Some(token)).await;
    match ws.recv().await {
        ServerMessage::AuthError { error_message, base_version, auth_update_attempted } => {
            assert!(error_message.starts_with(expected), "{error_message}");
            assert_eq!(base_version, Some(0));
            assert_eq!(auth_update_attempted, Some(true));
        }
        other => panic!("expected AuthError, got {other:?}"),
    }
    assert_eq!(ws.recv_close().await, None, "closed without a code");
}

#[tokio::test]
async fn bad_tokens_get_auth_errors() {
    let server = Server::start();
    let other = Server::start();
    const INVALID: &str = "Could not verify OIDC token claim. Check that the token signature is valid and the token hasn't expired.";
    const NO_PROVIDER: &str = "No auth provider found matching the given token";

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Expired: issued two minutes ago with a one-minute lifetime. Minted by the CLI.
    let expired = devserver_cli_token(&server, &["--sub", "alice", "--ttl", "1"]);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    expect_auth_error(&server, &expired, INVALID).await;

    // Wrongly signed: same claims shape and issuer, another server's key.
    let forged = devserver_cli_token_with_issuer(&other, &server.http(), &["--sub", "alice"]);
    expect_auth_error(&server, &forged, INVALID).await;

    // Wrong issuer: a perfectly valid token from another issuer.
    let foreign = other.token("alice", "Alice").await;
    expect_auth_error(&server, &foreign, NO_PROVIDER).await;

    // Wrong audience: re-signing is impossible, so tamper with a valid token's payload.
    let valid = server.token("alice", "Alice").await;
    let parts: Vec<&str> = valid.split('.').collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = json!({"iss": server.http(), "sub": "alice", "aud": "not-convex", "iat": now, "exp": now + 60});
    let tampered = format!("{}.{}.{}", parts[0], b64.encode(payload.to_string()), parts[2]);
    expect_auth_error(&server, &tampered, NO_PROVIDER).await;

    // `aud` with `convex` and another audience, validly signed: the provider is found by the
    // application id and the token is then refused as unverifiable.
    let auth = devserver::auth::Auth::load_or_create(&server.data, &server.http(), vec![], 60)
        .expect("the server's identity key");
    let extra_aud = auth.sign_claims(&json!({"iss": server.http(), "sub": "alice", "aud": ["convex", "x"], "iat": now, "exp": now + 60}));
    expect_auth_error(&server, &extra_aud, INVALID).await;

    // And the signature check on its own: valid audience, tampered subject.
    let payload = json!({"iss": server.http(), "sub": "mallory", "aud": "convex", "iat": now, "exp": now + 60});
    let tampered = format!("{}.{}.{}", parts[0], b64.encode(payload.to_string()), parts[2]);
    expect_auth_error(&server, &tampered, INVALID).await;
}

fn devserver_cli_token(server: &Server, args: &[&str]) -> String {
    devserver_cli_token_with_issuer(server, &server.http(), args)
}

fn devserver_cli_token_with_issuer(server: &Server, issuer: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_devserver"))
        .arg("token")
        .args(["--data"])
        .arg(&server.data)
        .args(["--issuer", issuer])
        .args(args)
        .output()
        .expect("devserver token");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf8").trim().to_string()
}

#[tokio::test]
async fn token_expiring_mid_session_is_reported_before_the_next_transition() {
    let server = Server::start();
    // Claims have one-second resolution: a 2 s lifetime is valid now and expired in 3 s.
    let token = server.token_with(json!({"sub": "alice", "ttl_secs": 2})).await;
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.authenticate(0, Some(&token)).await;
    assert!(matches!(ws.recv().await, ServerMessage::Transition { .. }));
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    ws.add_query("users:me", json!({})).await;
    match ws.recv().await {
        ServerMessage::AuthError { error_message, base_version, auth_update_attempted } => {
            assert_eq!(error_message, "Convex token identity expired");
            assert_eq!(base_version, Some(1));
            assert_eq!(auth_update_attempted, Some(false));
        }
        other => panic!("expected AuthError, got {other:?}"),
    }
}

#[tokio::test]
async fn admin_keys_are_refused() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.send(convex_sync_types::ClientMessage::Authenticate {
        base_version: 0,
        token: convex_sync_types::AuthenticationToken::Admin("key".into(), None),
    })
    .await;
    match ws.recv().await {
        ServerMessage::AuthError { error_message, .. } => {
            assert_eq!(error_message, "The provided admin key was invalid for this instance")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn idle_sessions_get_pings() {
    let server = Server::start_with(&["--ping-interval", "1"]);
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let json = ws.recv_json().await.expect("a message");
    assert_eq!(json, json!({"type": "Ping"}));
    assert!(matches!(Msg::try_from(json).unwrap(), ServerMessage::Ping));
}

#[tokio::test]
async fn large_transitions_are_chunked_for_npm_clients_only() {
    let server = Server::start();
    let big = "é".repeat(3_000_000); // 6 MB of UTF-8, two bytes a character
    for (path, chunked) in [("/api/1.30.0/sync", true), ("/api/sync", false)] {
        let mut ws = Ws::connect(&server.ws(path)).await;
        let q = ws.add_query("values:echo", json!({"value": big})).await;
        let first = ws.recv_json().await.expect("message");
        let transition = if chunked {
            assert_eq!(first["type"], "TransitionChunk");
            let total = first["totalParts"].as_u64().unwrap();
            assert_eq!(total, 2);
            let mut text = String::new();
            let mut part = first;
            for n in 0..total {
                assert_eq!(part["partNumber"], n);
                assert!(part["chunk"].as_str().unwrap().len() <= 5_000_000);
                let parsed =
                    Msg::try_from(part.clone()).expect("chunk parses with convex_sync_types");
                assert!(matches!(parsed, ServerMessage::TransitionChunk { .. }));
                text.push_str(part["chunk"].as_str().unwrap());
                if n + 1 < total {
                    part = ws.recv_json().await.expect("next chunk");
                }
            }
            assert_eq!(part["transitionId"], text.len().to_string());
            serde_json::from_str(&text).expect("chunks join into JSON")
        } else {
            first
        };
        let message = Msg::try_from(transition).expect("transition parses");
        assert_eq!(
            updated_value(&message, q).and_then(|v| v.as_str().map(str::len)),
            Some(big.len())
        );
    }
}

#[tokio::test]
async fn garbage_on_one_socket_leaves_other_sessions_alone() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let mut watcher = Ws::connect(&server.ws("/api/sync")).await;
    let q = watcher.add_query("posts:list", json!({})).await;
    watcher.recv().await;

    let garbage: Vec<Message> = vec![
        Message::Text("this is not json".into()),
        Message::Text(r#"{"type":"Teleport"}"#.into()),
        Message::Text(r#"{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":[{"type":"Add","queryId":0,"udfPath":"::bad::","args":[{}]}]}"#.into()),
        Message::Binary(vec![0, 1, 2].into()),
    ];
    for frame in garbage {
        let is_binary = matches!(frame, Message::Binary(_));
        let mut bad = Ws::connect(&server.ws("/api/sync")).await;
        bad.send_raw(frame).await;
        if is_binary {
            assert_eq!(bad.recv_close().await, Some((1011, "InternalServerError".into())));
        } else {
            match bad.recv().await {
                ServerMessage::FatalError { error_message } => {
                    assert!(
                        error_message.starts_with("Received Invalid JSON on websocket: "),
                        "{error_message}"
                    )
                }
                other => panic!("expected FatalError, got {other:?}"),
            }
            assert_eq!(bad.recv_close().await, None);
        }
        let (status, _) = server
            .call(
                "mutation",
                "posts:create",
                json!({"title": "still here", "body": ""}),
                Some(&token),
            )
            .await;
        assert_eq!(status, 200);
        let update = watcher.recv().await;
        assert!(updated_value(&update, q).is_some(), "the watcher still gets updates");
    }
}

#[tokio::test]
async fn actions_run_queries_and_answer() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let (_, created) = server
        .call(
            "mutation",
            "posts:create",
            json!({"title": "Rust", "body": "one two three"}),
            Some(&token),
        )
        .await;
    let id = created["value"].as_str().unwrap().to_string();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let request = ws.action("posts:summarize", json!({"id": id})).await;
    match ws.recv().await {
        ServerMessage::ActionResponse { request_id, result: Ok(v), .. } => {
            assert_eq!(request_id, request);
            assert_eq!(v.0, json!("\u{201c}Rust\u{201d} by Alice: 3 words. one two three"));
        }
        other => panic!("{other:?}"),
    }
    // An action response is followed by a Transition, as Convex does.
    assert!(matches!(ws.recv().await, ServerMessage::Transition { .. }));
}

#[tokio::test]
async fn only_the_author_may_remove_a_post() {
    let server = Server::start();
    let alice = server.token("alice", "Alice").await;
    let bob = server.token("bob", "Bob").await;
    let (_, created) = server
        .call("mutation", "posts:create", json!({"title": "Mine", "body": ""}), Some(&alice))
        .await;
    let id = created["value"].clone();
    let (_, denied) = server.call("mutation", "posts:remove", json!({"id": id}), Some(&bob)).await;
    assert_eq!(denied["errorData"], json!({"code": "FORBIDDEN"}));
    let (_, removed) =
        server.call("mutation", "posts:remove", json!({"id": id}), Some(&alice)).await;
    assert_eq!(removed, json!({"status": "success", "value": null}));
    let (_, too_long) = server
        .call(
            "mutation",
            "posts:create",
            json!({"title": "x".repeat(201), "body": ""}),
            Some(&alice),
        )
        .await;
    assert_eq!(too_long["errorData"]["code"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn dev_endpoint_drops_a_sessions_socket_without_a_close_frame() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.add_query("posts:list", json!({})).await;
    ws.recv().await;
    let response = reqwest::Client::new()
        .post(format!("{}/dev/drop_sessions", server.http()))
        .json(&json!({"sessionId": ws.session.to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ws.recv_close().await, None);
}

/// `POST /dev/block_sessions`; returns the status.
async fn block_sessions(server: &Server, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/dev/block_sessions", server.http()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_blocked_session_is_dropped_after_each_connect_until_unblocked() {
    let server = Server::start();
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let session = ws.session;
    ws.add_query("posts:list", json!({})).await;
    transition_parts(&ws.recv().await);
    let mut other = Ws::connect(&server.ws("/api/sync")).await;
    let other_query = other.add_query("posts:list", json!({})).await;
    transition_parts(&other.recv().await);

    // Blocking drops the open socket at once, without a close frame.
    let body = json!({"sessionId": session.to_string(), "block": true});
    assert_eq!(block_sessions(&server, body).await, 200);
    assert_eq!(ws.recv_close().await, None);

    // Every new socket of the session is dropped right after its Connect: nothing is answered.
    for _ in 0..2 {
        let mut again = Ws::connect_session(&server.ws("/api/sync"), session).await;
        // A query that an open session would answer (sent ignoring errors: the socket may
        // already be gone).
        let add = json!({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1,
            "modifications": [{"type": "Add", "queryId": 0, "udfPath": "posts:list", "args": [{}]}]});
        again.send_raw(Message::Text(add.to_string().into())).await;
        assert_eq!(again.recv_json().await, None, "dropped without a message or close frame");
    }

    // Other sessions are not affected.
    let token = server.token("alice", "Alice").await;
    let (status, _) = server
        .call(
            "mutation",
            "posts:create",
            json!({"title": "while blocked", "body": ""}),
            Some(&token),
        )
        .await;
    assert_eq!(status, 200);
    assert!(updated_value(&other.recv().await, other_query).is_some());

    // Unblocked: the session connects and is served again.
    let body = json!({"sessionId": session.to_string(), "block": false});
    assert_eq!(block_sessions(&server, body).await, 200);
    let mut back = Ws::connect_session(&server.ws("/api/sync"), session).await;
    let q = back.add_query("posts:list", json!({})).await;
    let posts = updated_value(&back.recv().await, q).expect("posts:list answered");
    assert!(posts.as_array().unwrap().iter().any(|p| p["title"] == "while blocked"));
}

#[tokio::test]
async fn block_sessions_needs_a_session_and_a_block_flag() {
    let server = Server::start();
    assert_eq!(block_sessions(&server, json!({"block": true})).await, 400);
    assert_eq!(block_sessions(&server, json!({"sessionId": "", "block": true})).await, 400);
    assert_eq!(block_sessions(&server, json!({"sessionId": "x"})).await, 400);
}

/// `POST /dev/hold_mutations`.
async fn hold_mutations(server: &Server, session: Option<String>, hold: bool) {
    let mut body = json!({ "hold": hold });
    if let Some(session) = session {
        body["sessionId"] = json!(session);
    }
    let response = reqwest::Client::new()
        .post(format!("{}/dev/hold_mutations", server.http()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// The ids of the posts titled `title` (HTTP API).
async fn posts_titled(server: &Server, title: &str) -> Vec<serde_json::Value> {
    let (status, list) = server.call("query", "posts:list", json!({}), None).await;
    assert_eq!(status, 200, "{list}");
    let posts = list["value"].as_array().cloned().unwrap_or_default();
    posts.into_iter().filter(|p| p["title"] == title).map(|p| p["_id"].clone()).collect()
}

/// Nothing arrives on `ws` for a while.
async fn silent(ws: &mut Ws) {
    let next = tokio::time::timeout(std::time::Duration::from_millis(300), ws.recv_json()).await;
    assert!(next.is_err(), "expected no message, got {next:?}");
}

#[tokio::test]
async fn a_held_mutation_commits_and_its_answer_waits_for_the_release_in_order() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    ws.authenticate(0, Some(&token)).await;
    transition_parts(&ws.recv().await);
    let q = ws.add_query("posts:list", json!({})).await;
    transition_parts(&ws.recv().await);
    hold_mutations(&server, None, true).await;
    let first = ws.mutation("posts:create", json!({"title": "held 1", "body": ""})).await;
    let second = ws.mutation("posts:create", json!({"title": "held 2", "body": ""})).await;
    for _ in 0..100 {
        if posts_titled(&server, "held 2").await.len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(posts_titled(&server, "held 1").await.len(), 1, "it ran and committed");
    assert_eq!(posts_titled(&server, "held 2").await.len(), 1, "it ran and committed");
    silent(&mut ws).await;

    hold_mutations(&server, None, false).await;
    // Everything held arrives, in the order it was produced: answer, Transition, answer, …
    let mut answers = Vec::new();
    let mut saw_both_posts = false;
    while answers.len() < 2 || !saw_both_posts {
        match ws.recv().await {
            ServerMessage::MutationResponse { request_id, result: Ok(_), ts: Some(_), .. } => {
                answers.push(request_id)
            }
            m @ ServerMessage::Transition { .. } => {
                if let Some(posts) = updated_value(&m, q) {
                    let titles: Vec<_> =
                        posts.as_array().unwrap().iter().map(|p| p["title"].clone()).collect();
                    saw_both_posts =
                        titles.contains(&json!("held 1")) && titles.contains(&json!("held 2"));
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(answers, vec![first, second]);

    // Released: the next mutation is answered at once.
    let third = ws.mutation("posts:create", json!({"title": "not held", "body": ""})).await;
    match ws.recv().await {
        ServerMessage::MutationResponse { request_id, .. } => assert_eq!(request_id, third),
        other => panic!("expected the MutationResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn a_held_answer_lost_with_its_socket_is_answered_once_after_the_resend() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let session = ws.session;
    ws.authenticate(0, Some(&token)).await;
    transition_parts(&ws.recv().await);
    let mut other = Ws::connect(&server.ws("/api/sync")).await;
    other.authenticate(0, Some(&token)).await;
    transition_parts(&other.recv().await);

    hold_mutations(&server, Some(session.to_string()), true).await;
    let args = json!({"title": "exactly once", "body": ""});
    let request = ws.mutation("posts:create", args.clone()).await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids = posts_titled(&server, "exactly once").await;
        if !ids.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(ids.len(), 1, "the mutation ran and committed");
    silent(&mut ws).await;
    // Other sessions are not held.
    let mine = other.mutation("posts:create", json!({"title": "other", "body": ""})).await;
    match other.recv().await {
        ServerMessage::MutationResponse { request_id, .. } => assert_eq!(request_id, mine),
        m => panic!("expected the MutationResponse, got {m:?}"),
    }

    // The socket goes before the answer could: what was held is lost with it.
    let response = reqwest::Client::new()
        .post(format!("{}/dev/drop_sessions", server.http()))
        .json(&json!({"sessionId": session.to_string()}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(ws.recv_close().await, None);

    // The client reconnects with its session and re-sends the unanswered mutation.
    let mut ws = Ws::connect_session(&server.ws("/api/sync"), session).await;
    ws.authenticate(0, Some(&token)).await;
    transition_parts(&ws.recv().await);
    ws.send_mutation(request, "posts:create", args).await;
    silent(&mut ws).await;
    hold_mutations(&server, Some(session.to_string()), false).await;
    match ws.recv().await {
        ServerMessage::MutationResponse { request_id, result: Ok(id), ts: Some(_), .. } => {
            assert_eq!(request_id, request);
            assert_eq!(id.0, ids[0], "the recorded result of the first run");
        }
        m => panic!("expected the MutationResponse, got {m:?}"),
    }
    assert_eq!(posts_titled(&server, "exactly once").await.len(), 1, "deduplicated");
}

#[tokio::test]
async fn hold_mutations_needs_a_hold_flag() {
    let server = Server::start();
    let response = reqwest::Client::new()
        .post(format!("{}/dev/hold_mutations", server.http()))
        .json(&json!({"sessionId": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn arguments_over_16_mib_are_a_fatal_error_and_others_are_unaffected() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let mut watcher = Ws::connect(&server.ws("/api/sync")).await;
    let q = watcher.add_query("posts:list", json!({})).await;
    watcher.recv().await;

    let mut big = Ws::connect(&server.ws("/api/sync")).await;
    big.mutation("posts:create", json!({"title": "x", "body": "y".repeat(17 * 1024 * 1024)})).await;
    match big.recv().await {
        ServerMessage::FatalError { error_message } => {
            assert!(
                error_message.starts_with("Arguments for posts:create are too large"),
                "{error_message}"
            )
        }
        other => panic!("expected FatalError, got {other:?}"),
    }
    assert_eq!(big.recv_close().await, None);

    let (status, _) = server
        .call("mutation", "posts:create", json!({"title": "after", "body": ""}), Some(&token))
        .await;
    assert_eq!(status, 200);
    assert!(updated_value(&watcher.recv().await, q).is_some(), "the other session still updates");
}
