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
