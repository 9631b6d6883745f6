//! The Clerk Frontend-API stand-in over HTTP, as clerk-js 6.40.0 drives it: GET or POST with
//! `_method` in the query, form-urlencoded bodies, the stand-in's own client cookie (kept by hand
//! here, as a browser would), `{response, client}` answers and Clerk-shaped errors.

mod common;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine as _};
use common::Server;
use serde_json::{json, Value as Json};

const QUERY: &str = "__clerk_api_version=2026-08-20&_clerk_js_version=6.40.0";
const ORIGIN: &str = "http://127.0.0.1:8080";
const COOKIE: &str = "yew_convex_clerk_client";

/// A browser's view of the stand-in: one cookie jar (the stand-in's client cookie).
struct Browser {
    base: String,
    http: reqwest::Client,
    cookie: Option<String>,
    set_cookies: Vec<String>,
}

struct Answer {
    status: u16,
    body: Json,
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser {
            base: format!("{}/__clerk/v1", server.http()),
            http: reqwest::Client::new(),
            cookie: None,
            set_cookies: vec![],
        }
    }

    /// Sends `method` (GET or POST; others as POST + `_method`) with a form body.
    async fn send(&mut self, method: &str, path: &str, form: &[(&str, &str)]) -> Answer {
        let mut url = format!("{}{path}", self.base);
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str(QUERY);
        if !matches!(method, "GET" | "POST") {
            url.push_str(&format!("&_method={method}"));
        }
        let mut request = if method == "GET" {
            self.http.get(&url)
        } else {
            let body: String = form
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            self.http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
        };
        request = request.header("origin", ORIGIN).header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36");
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", format!("{COOKIE}={cookie}"));
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        assert_eq!(
            response.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()),
            Some(ORIGIN),
            "CORS echoes the origin"
        );
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().expect("ascii cookie").to_string();
            let (pair, _) = value.split_once(';').expect("attributes");
            let (name, cookie) = pair.split_once('=').expect("name=value");
            assert_eq!(name, COOKIE);
            self.cookie =
                (!cookie.is_empty() && !value.contains("Max-Age=0")).then(|| cookie.to_string());
            self.set_cookies.push(value);
        }
        let body = response.json().await.expect("JSON body");
        Answer { status, body }
    }

    async fn get(&mut self, path: &str) -> Answer {
        self.send("GET", path, &[]).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.send("POST", path, form).await
    }

    /// One-step password sign-in; returns the new session id.
    async fn sign_in(&mut self, identifier: &str, password: &str) -> String {
        let a = self
            .post(
                "/client/sign_ins",
                &[("identifier", identifier), ("password", password), ("locale", "en-US")],
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body["response"]["created_session_id"].as_str().expect("created_session_id").to_string()
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn claims(jwt: &str) -> Json {
    let payload = jwt.split('.').nth(1).expect("three segments");
    let header = jwt.split('.').next().unwrap();
    let header: Json = serde_json::from_slice(&B64URL.decode(header).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert!(jwt.split('.').nth(2).is_some_and(|s| s.len() > 100), "a real signature");
    serde_json::from_slice(&B64URL.decode(payload).expect("base64url")).expect("JSON claims")
}

fn assert_error(a: &Answer, status: u16, code: &str, param: Option<&str>) {
    assert_eq!(a.status, status, "{}", a.body);
    let error = &a.body["errors"][0];
    assert_eq!(error["code"], code, "{}", a.body);
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", a.body);
    assert!(error["long_message"].as_str().is_some_and(|m| !m.is_empty()), "{}", a.body);
    match param {
        Some(param) => assert_eq!(error["meta"]["param_name"], param, "{}", a.body),
        None => assert!(error["meta"].is_object() && error["meta"].get("param_name").is_none()),
    }
}

#[tokio::test]
async fn loads_signed_out_with_both_environment_flavours() {
    let server = Server::start();
    let mut browser = Browser::new(&server);
    for (method, kind) in [("PATCH", "development"), ("GET", "production")] {
        let env = browser.send(method, "/environment", &[]).await;
        assert_eq!(env.status, 200);
        assert_eq!(env.body["display_config"]["application_name"], "yew-convex demo");
        assert_eq!(env.body["display_config"]["instance_environment_type"], kind);
        assert_eq!(env.body["auth_config"]["single_session_mode"], true);
        let attributes = &env.body["user_settings"]["attributes"];
        for name in ["email_address", "username", "password"] {
            assert_eq!(attributes[name]["enabled"], true);
        }
        assert_eq!(env.body["display_config"]["preferred_sign_in_strategy"], "password");
    }
    let client = browser.get("/client").await;
    assert_eq!((client.status, client.body), (200, json!({"response": null, "client": null})));
    assert!(browser.set_cookies.is_empty(), "loading sets no cookie");
    // Preflights are answered.
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/__clerk/v1/client", server.http()))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-credentials"], "true");
}

#[tokio::test]
async fn one_step_sign_in_tokens_touch_reload_and_sign_out() {
    let server = Server::start();
    let mut browser = Browser::new(&server);
    let a = browser
        .post(
            "/client/sign_ins",
            &[("identifier", "alice"), ("password", "alice-password"), ("strategy", "password")],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let set_cookie = &browser.set_cookies[0];
    for attribute in ["Path=/__clerk", "HttpOnly", "SameSite=Lax"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let sign_in = &a.body["response"];
    assert_eq!(sign_in["object"], "sign_in");
    assert_eq!(sign_in["status"], "complete");
    assert_eq!(sign_in["supported_first_factors"], json!([{"strategy": "password"}]));
    let sid = sign_in["created_session_id"].as_str().unwrap().to_string();
    // The piggy-backed client already holds the new active session (setActive needs it).
    let client = &a.body["client"];
    assert_eq!(client["last_active_session_id"], sid);
    assert_eq!(client["sign_in"], Json::Null);
    let session = &client["sessions"][0];
    assert_eq!(session["id"], sid);
    assert_eq!(session["status"], "active");
    let user = &session["user"];
    assert_eq!(user["id"], "user_alice");
    assert_eq!(user["username"], "alice");
    assert_eq!(
        (user["first_name"].as_str(), user["last_name"].as_str()),
        (Some("Alice"), Some("Liddell"))
    );
    assert_eq!(user["primary_email_address_id"], user["email_addresses"][0]["id"]);
    assert_eq!(user["email_addresses"][0]["email_address"], "alice@example.com");
    assert_eq!(user["email_addresses"][0]["verification"]["status"], "verified");
    let last = claims(session["last_active_token"]["jwt"].as_str().expect("last_active_token"));
    assert_eq!(
        (last["sid"].as_str(), last["sub"].as_str()),
        (Some(sid.as_str()), Some("user_alice"))
    );

    // setActive: touch.
    let touch = browser
        .post(&format!("/client/sessions/{sid}/touch"), &[("intent", "select_session")])
        .await;
    assert_eq!(touch.status, 200, "{}", touch.body);
    assert_eq!(touch.body["response"]["id"], sid);
    assert_eq!(touch.body["client"]["sessions"][0]["id"], sid);

    // A session token: 60 s, numeric iat/exp, no aud (so the client uses the template).
    let token = browser.post(&format!("/client/sessions/{sid}/tokens"), &[]).await;
    assert_eq!(token.status, 200, "{}", token.body);
    assert_eq!(token.body["object"], "token");
    let jwt = token.body["jwt"].as_str().unwrap().to_string();
    let c = claims(&jwt);
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 60);
    assert!(c.get("aud").is_none(), "{c}");
    assert_eq!((c["sub"].as_str(), c["sid"].as_str()), (Some("user_alice"), Some(sid.as_str())));
    assert_eq!(c["iss"], server.http());
    assert_eq!(c["azp"], ORIGIN);
    // The session token is not a Convex token.
    let (_, body) = server.call("query", "users:me", json!({}), Some(&jwt)).await;
    assert_eq!(body["code"], "NoAuthProvider", "{body}");
    // skip_cache gives a fresh one, which becomes the session's last_active_token.
    let again = browser.post(&format!("/client/sessions/{sid}/tokens?debug=skip_cache"), &[]).await;
    let fresh = again.body["jwt"].as_str().unwrap().to_string();
    assert_ne!(fresh, jwt);
    let client = browser.get("/client").await;
    assert_eq!(client.body["response"]["sessions"][0]["last_active_token"]["jwt"], fresh);

    // The convex template: aud "convex", the devserver's issuer, accepted by its Convex auth.
    let template = browser.post(&format!("/client/sessions/{sid}/tokens/convex"), &[]).await;
    assert_eq!(template.status, 200, "{}", template.body);
    let convex = template.body["jwt"].as_str().unwrap().to_string();
    let c = claims(&convex);
    assert_eq!(c["aud"], "convex");
    assert_eq!(c["iss"], server.http());
    assert_eq!(c["sub"], "user_alice");
    assert_eq!(c["sid"], sid);
    assert_eq!(c["name"], "Alice Liddell");
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 60);
    let (status, body) = server.call("query", "users:me", json!({}), Some(&convex)).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["value"],
        json!({
            "subject": "user_alice",
            "issuer": server.http(),
            "tokenIdentifier": format!("{}|user_alice", server.http()),
            "name": "Alice Liddell",
            "email": "alice@example.com",
        })
    );
    let unknown = browser.post(&format!("/client/sessions/{sid}/tokens/supabase"), &[]).await;
    assert_error(&unknown, 404, "resource_not_found", None);

    // Reload: a new page load with the same cookie finds the session.
    let reload = browser.get("/client").await;
    assert_eq!(reload.status, 200);
    assert_eq!(reload.body["client"], Json::Null);
    assert_eq!(reload.body["response"]["sessions"][0]["id"], sid);
    assert_eq!(reload.body["response"]["sessions"][0]["user"]["id"], "user_alice");

    // The user profile's security tab.
    let active = browser.get(&format!("/me/sessions/active?_clerk_session_id={sid}")).await;
    assert_eq!(active.status, 200);
    let list = active.body.as_array().expect("a bare array");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], sid);
    assert_eq!(list[0]["latest_activity"]["browser_name"], "Chrome");
    assert_eq!(list[0]["latest_activity"]["ip_address"], "127.0.0.1");
    let me = browser.get("/me").await;
    assert_eq!(me.body["response"]["id"], "user_alice");

    // Single-session mode: signing in again while signed in is refused.
    let twice = browser
        .post("/client/sign_ins", &[("identifier", "bob"), ("password", "bob-password")])
        .await;
    assert_error(&twice, 422, "session_exists", None);

    // Sign out: every session ends; the cookie stays, the client is signed out.
    let out = browser.send("DELETE", "/client/sessions", &[]).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(out.body["response"]["sessions"], json!([]));
    assert!(browser.cookie.is_some());
    let reload = browser.get("/client").await;
    assert_eq!(reload.body["response"]["sessions"], json!([]));
    assert_eq!(reload.body["response"]["last_active_session_id"], Json::Null);
    // The old session's tokens are gone: 401 signed_out (clerk-js then signs the page out).
    let stale = browser.post(&format!("/client/sessions/{sid}/tokens/convex"), &[]).await;
    assert_error(&stale, 401, "signed_out", None);
    assert_eq!(stale.body["meta"]["client"]["sessions"], json!([]));
    let active = browser.get("/me/sessions/active").await;
    assert_error(&active, 401, "signed_out", None);
    // A template token minted before sign-out still verifies until it expires, like Clerk's.
    let (_, body) = server.call("query", "users:me", json!({}), Some(&convex)).await;
    assert_eq!(body["value"]["subject"], "user_alice");
}

#[tokio::test]
async fn two_step_sign_in_with_the_email_address() {
    let server = Server::start();
    let mut browser = Browser::new(&server);
    let first = browser
        .post("/client/sign_ins", &[("identifier", "Bob@Example.com"), ("locale", "en-US")])
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let sign_in = &first.body["response"];
    assert_eq!(sign_in["status"], "needs_first_factor");
    assert_eq!(sign_in["identifier"], "Bob@Example.com");
    assert_eq!(sign_in["supported_first_factors"], json!([{"strategy": "password"}]));
    assert_eq!(sign_in["user_data"]["first_name"], "Bob");
    let id = sign_in["id"].as_str().unwrap().to_string();
    // The client carries the sign-in in progress (the prebuilt UI's factor-one page reads it).
    assert_eq!(first.body["client"]["sign_in"]["id"], id);
    assert_eq!(first.body["client"]["sessions"], json!([]));
    let reloaded = browser.get(&format!("/client/sign_ins/{id}")).await;
    assert_eq!(reloaded.body["response"]["status"], "needs_first_factor");

    let path = format!("/client/sign_ins/{id}/attempt_first_factor");
    let wrong = browser.post(&path, &[("strategy", "password"), ("password", "nope")]).await;
    assert_error(&wrong, 422, "form_password_incorrect", Some("password"));
    assert_eq!(
        wrong.body["errors"][0]["long_message"],
        "Password is incorrect. Try again, or use another method."
    );
    let code = browser.post(&path, &[("strategy", "email_code"), ("code", "424242")]).await;
    assert_error(&code, 422, "strategy_for_user_invalid", Some("strategy"));
    let empty = browser.post(&path, &[("strategy", "password")]).await;
    assert_error(&empty, 422, "form_param_nil", Some("password"));

    let ok = browser.post(&path, &[("strategy", "password"), ("password", "bob-password")]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["response"]["status"], "complete");
    assert_eq!(ok.body["response"]["first_factor_verification"]["status"], "verified");
    let sid = ok.body["response"]["created_session_id"].as_str().unwrap().to_string();
    assert_eq!(ok.body["client"]["sessions"][0]["id"], sid);
    assert_eq!(ok.body["client"]["sessions"][0]["user"]["id"], "user_bob");
    assert_eq!(ok.body["client"]["sign_in"], Json::Null);
    // A finished sign-in cannot be attempted again.
    let again =
        browser.post(&path, &[("strategy", "password"), ("password", "bob-password")]).await;
    assert_error(&again, 422, "verification_already_verified", None);

    let template = browser.post(&format!("/client/sessions/{sid}/tokens/convex"), &[]).await;
    let convex = template.body["jwt"].as_str().unwrap().to_string();
    let (_, body) = server.call("query", "users:me", json!({}), Some(&convex)).await;
    assert_eq!(body["value"]["subject"], "user_bob");
    assert_eq!(body["value"]["name"], "Bob Builder");
    assert_eq!(body["value"]["email"], "bob@example.com");

    // Ending one session (Session.end) signs this client out.
    let end = browser.post(&format!("/client/sessions/{sid}/end"), &[]).await;
    assert_eq!(end.status, 200, "{}", end.body);
    assert_eq!(end.body["response"]["status"], "ended");
    assert_eq!(end.body["client"]["sessions"], json!([]));
    let touch = browser.post(&format!("/client/sessions/{sid}/touch"), &[]).await;
    assert_error(&touch, 401, "signed_out", None);
}

#[tokio::test]
async fn bad_input_gets_clerk_shaped_errors() {
    let server = Server::start();
    let mut browser = Browser::new(&server);
    let unknown = browser
        .post("/client/sign_ins", &[("identifier", "carol"), ("password", "whatever")])
        .await;
    assert_error(&unknown, 422, "form_identifier_not_found", Some("identifier"));
    assert_eq!(unknown.body["errors"][0]["message"], "Couldn't find your account.");
    let unknown = browser.post("/client/sign_ins", &[("identifier", "carol")]).await;
    assert_error(&unknown, 422, "form_identifier_not_found", Some("identifier"));
    let wrong = browser
        .post("/client/sign_ins", &[("identifier", "alice"), ("password", "bob-password")])
        .await;
    assert_error(&wrong, 422, "form_password_incorrect", Some("password"));
    let missing = browser.post("/client/sign_ins", &[("password", "alice-password")]).await;
    assert_error(&missing, 422, "form_param_nil", Some("identifier"));
    let oauth = browser.post("/client/sign_ins", &[("strategy", "oauth_google")]).await;
    assert_error(&oauth, 422, "strategy_for_user_invalid", Some("strategy"));
    // An empty sign-in waits for an identifier.
    let empty = browser.post("/client/sign_ins", &[]).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.body["response"]["status"], "needs_identifier");

    // Unknown ids, paths and methods: 404, Clerk-shaped.
    for path in [
        "/client/sessions/sess_nope/tokens",
        "/client/sessions/sess_nope/tokens/convex",
        "/client/sessions/sess_nope/touch",
        "/client/sign_ins/sia_nope/attempt_first_factor",
        "/nothing/here",
    ] {
        let a = browser.post(path, &[("strategy", "password"), ("password", "x")]).await;
        assert_error(&a, 404, "resource_not_found", None);
    }
    let a = browser.get("/client/sessions/sess_nope").await;
    assert_error(&a, 404, "resource_not_found", None);

    // Malformed bodies and cookies never break anything.
    let raw = reqwest::Client::new()
        .post(format!("{}/__clerk/v1/client/sign_ins?{QUERY}", server.http()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("{COOKIE}=garbage%%%; other=1"))
        .body(&b"identifier=%zz%&password=\xff\xfe&&=="[..])
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 422);
    let body: Json = raw.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "form_identifier_not_found");
    // A cookie that names no client is a signed-out client (and the cookie is cleared).
    let mut stranger = Browser::new(&server);
    stranger.cookie = Some("no-such-client".into());
    let client = stranger.get("/client").await;
    assert_eq!(client.body, json!({"response": null, "client": null}));
    assert!(stranger.set_cookies[0].contains("Max-Age=0"));
    assert_eq!(stranger.cookie, None);
    // Without a cookie, sign-out still succeeds (clerk-js's signOut throws on a 404).
    let out = stranger.send("DELETE", "/client/sessions", &[]).await;
    assert_eq!(out.status, 200);
    let me = stranger.get("/me").await;
    assert_error(&me, 401, "signed_out", None);
}

#[tokio::test]
async fn sessions_belong_to_their_client_and_survive_a_restart() {
    let mut server = Server::start_with(&["--clerk-token-ttl", "15"]);
    let mut alice = Browser::new(&server);
    let sid = alice.sign_in("alice@example.com", "alice-password").await;
    // Another browser (another cookie) cannot use alice's session.
    let mut other = Browser::new(&server);
    let stolen = other.post(&format!("/client/sessions/{sid}/tokens/convex"), &[]).await;
    assert_error(&stolen, 404, "resource_not_found", None);
    let bob_sid = other.sign_in("bob", "bob-password").await;

    // The configured token lifetime applies to both kinds of tokens.
    for path in ["tokens", "tokens/convex"] {
        let t = alice.post(&format!("/client/sessions/{sid}/{path}"), &[]).await;
        let c = claims(t.body["jwt"].as_str().unwrap());
        assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 15, "{path}");
    }

    server.kill_and_restart();
    assert_eq!(alice.base, format!("{}/__clerk/v1", server.http()), "same port");
    alice.http = reqwest::Client::new(); // the pooled connection died with the old process
    let reload = alice.get("/client").await;
    assert_eq!(reload.body["response"]["sessions"][0]["id"], sid, "{}", reload.body);
    let template = alice.post(&format!("/client/sessions/{sid}/tokens/convex"), &[]).await;
    let convex = template.body["jwt"].as_str().unwrap().to_string();
    let (_, body) = server.call("query", "users:me", json!({}), Some(&convex)).await;
    assert_eq!(body["value"]["subject"], "user_alice");

    // Alice's profile lists only her sessions; revoking one from another device ends it there.
    let mut second = Browser::new(&server);
    let sid2 = second.sign_in("alice", "alice-password").await;
    let active = alice.get("/me/sessions/active").await;
    let ids: Vec<&str> =
        active.body.as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids, [sid.as_str(), sid2.as_str()]);
    assert!(!ids.contains(&bob_sid.as_str()));
    let revoked = alice.post(&format!("/me/sessions/{sid2}/revoke"), &[]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(revoked.body["response"]["status"], "revoked");
    let gone = second.post(&format!("/client/sessions/{sid2}/tokens"), &[]).await;
    assert_error(&gone, 401, "signed_out", None);
    let bobs = alice.post(&format!("/me/sessions/{bob_sid}/revoke"), &[]).await;
    assert_error(&bobs, 404, "resource_not_found", None);

    // Forgetting the client (DELETE /v1/client) clears the cookie.
    let destroyed = alice.send("DELETE", "/client", &[]).await;
    assert_eq!(destroyed.status, 200);
    assert_eq!(alice.cookie, None);
    assert_eq!(alice.get("/client").await.body["response"], Json::Null);
}
