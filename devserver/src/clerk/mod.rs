//! A stand-in for Clerk's Frontend API (FAPI), enough for the pinned clerk-js 6.40.0 and
//! @clerk/ui 1.36.0 to load, sign in with a password (headless or through the prebuilt modal),
//! keep the session across reloads, issue session and `convex` template tokens, list a user's
//! active sessions and sign out, all offline.
//!
//! clerk-js reaches it through its `proxyUrl`: [`PREFIX`] on the page's own origin (trunk's
//! proxy) or `http://127.0.0.1:<port>/__clerk` on the same site (CORS with credentials: the
//! devserver echoes the origin). The publishable key names any dotted host that is not a Clerk
//! development host (e.g. `pk_test_` + base64 of `clerk.devserver.local$`, no padding), so
//! clerk-js skips the dev-browser handshake.
//!
//! Conventions (see `../shared/reference/clerk-fapi.md`): every request comes as GET or POST,
//! with `_method=PATCH|PUT|DELETE` in the query string and a form-urlencoded body; responses are
//! `{response, client}` with the client piggy-backed, except the environment (bare), tokens
//! (`{object: "token", jwt}`) and `/v1/me/sessions/active` (a bare array). A browser's client is
//! identified only by the stand-in's own HttpOnly cookie [`COOKIE`] (path [`PREFIX`],
//! `SameSite=Lax`); without it the client is signed out.
//!
//! Layout: [`state`] (SQLite: users, clients, sign-ins, sessions), [`resources`] (the JSON clerk-js
//! reads), [`tokens`] (session and template tokens), [`error`] (Clerk-shaped errors), [`form`]
//! (request parsing), [`endpoints`] (one function per endpoint).

pub mod endpoints;
pub mod error;
pub mod form;
pub mod resources;
pub mod state;
pub mod tokens;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::any,
    Json as AxumJson, Router,
};
use rusqlite::Connection;
use serde_json::Value as Json;

use crate::engine::Engine;
use endpoints::Ctx;
use error::{Failure, FapiError};

/// Where the stand-in is mounted; clerk-js's `proxyUrl`.
pub const PREFIX: &str = "/__clerk";
/// The stand-in's client cookie.
pub const COOKIE: &str = "yew_convex_clerk_client";
/// Its database, in the data dir.
pub const DB_FILE: &str = "clerk.sqlite3";

/// The stand-in's state.
pub struct Clerk {
    engine: Arc<Engine>,
    db: Mutex<Connection>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Clerk {
    /// Opens `clerk.sqlite3` in the engine's data dir and seeds the users.
    pub fn open(engine: Arc<Engine>) -> anyhow::Result<Arc<Self>> {
        let path = engine.config.data_dir.join(DB_FILE);
        let conn = state::open(&path, now_ms()).map_err(|e| {
            anyhow::anyhow!("cannot open the Clerk stand-in's database {}: {e}", path.display())
        })?;
        Ok(Arc::new(Self { engine, db: Mutex::new(conn) }))
    }

    /// Lifetime of session and template tokens, seconds.
    pub fn token_ttl(&self) -> u64 {
        self.engine.config.clerk_token_ttl.max(1)
    }
}

/// Adds the stand-in's routes (everything under [`PREFIX`]) to `router`.
pub fn mount<S: Clone + Send + Sync + 'static>(router: Router<S>, clerk: Arc<Clerk>) -> Router<S> {
    router
        .route(PREFIX, any(handle).with_state(clerk.clone()))
        .route(&format!("{PREFIX}/{{*rest}}"), any(handle).with_state(clerk))
}

/// What one request asks for, parsed.
pub struct Request {
    /// The method after the `_method` override.
    pub method: Method,
    /// Path segments after `PREFIX/v1`, percent-decoded.
    pub segments: Vec<String>,
    pub query: HashMap<String, String>,
    pub form: HashMap<String, String>,
}

impl Request {
    /// Parses a request; None when its path is not under `PREFIX/v1`.
    pub fn parse(method: &Method, uri: &Uri, body: &[u8]) -> Option<Request> {
        let rest = uri.path().strip_prefix(PREFIX)?;
        let mut segments =
            rest.split('/').filter(|s| !s.is_empty()).map(|s| form::decode(s.as_bytes()));
        if segments.next().as_deref() != Some("v1") {
            return None;
        }
        let segments: Vec<String> = segments.collect();
        let query = form::parse_urlencoded(uri.query().unwrap_or("").as_bytes());
        let method = match (method, query.get("_method").map(|m| m.to_ascii_uppercase())) {
            (&Method::POST, Some(m)) if ["PATCH", "PUT", "DELETE"].contains(&m.as_str()) => {
                Method::from_bytes(m.as_bytes()).unwrap_or(Method::POST)
            }
            (m, _) => m.clone(),
        };
        Some(Request { method, segments, query, form: form::parse_urlencoded(body) })
    }
}

/// The one handler behind every stand-in path.
pub async fn handle(
    State(clerk): State<Arc<Clerk>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(request) = Request::parse(&method, &uri, &body) else {
        return FapiError::no_route(method.as_str(), uri.path()).into_response();
    };
    let path = uri.path().to_string();
    let mut conn = clerk.db.lock().unwrap_or_else(|p| p.into_inner());
    let outcome = run(&clerk, &mut conn, request, &headers);
    drop(conn);
    let (mut response, cookie) = match outcome {
        Ok((reply, cookie)) => ((reply.status, AxumJson(reply.body)).into_response(), cookie),
        Err((Failure::Fapi(e), cookie)) => (e.into_response(), cookie),
        Err((Failure::Db(e), _)) => {
            tracing::error!(path, error = %e, "Clerk stand-in database error");
            (FapiError::internal(e).into_response(), None)
        }
    };
    tracing::debug!(method = %method, path, status = response.status().as_u16(), "Clerk stand-in");
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}

/// A successful answer.
pub struct Reply {
    pub status: StatusCode,
    pub body: Json,
}

impl Reply {
    pub fn ok(body: Json) -> Self {
        Self { status: StatusCode::OK, body }
    }
}

type Outcome = Result<(Reply, Option<String>), (Failure, Option<String>)>;

/// Runs one request in one transaction (committed unless the database failed); returns the
/// answer and the `Set-Cookie` value to send, if any.
fn run(clerk: &Clerk, conn: &mut Connection, request: Request, headers: &HeaderMap) -> Outcome {
    let tx = conn.transaction().map_err(|e| (Failure::Db(e), None))?;
    let mut ctx = Ctx::new(clerk, &tx, request, headers).map_err(|e| (e, None))?;
    let result = endpoints::dispatch(&mut ctx);
    let cookie = ctx.set_cookie_header();
    if let Err(Failure::Db(e)) = result {
        return Err((Failure::Db(e), None));
    }
    tx.commit().map_err(|e| (Failure::Db(e), None))?;
    match result {
        Ok(reply) => Ok((reply, cookie)),
        Err(e) => Err((e, cookie)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_method_overrides_and_paths() {
        let uri: Uri = "/__clerk/v1/client/sessions?_method=DELETE&__clerk_api_version=2026-08-20"
            .parse()
            .unwrap();
        let r = Request::parse(&Method::POST, &uri, b"").unwrap();
        assert_eq!(r.method, Method::DELETE);
        assert_eq!(r.segments, ["client", "sessions"]);
        let uri: Uri = "/__clerk/v1/environment?_method=patch".parse().unwrap();
        assert_eq!(Request::parse(&Method::POST, &uri, b"").unwrap().method, Method::PATCH);
        // The override only applies to POST, and only to the three methods clerk-js uses.
        assert_eq!(Request::parse(&Method::GET, &uri, b"").unwrap().method, Method::GET);
        let uri: Uri = "/__clerk/v1/client?_method=TRACE".parse().unwrap();
        assert_eq!(Request::parse(&Method::POST, &uri, b"").unwrap().method, Method::POST);
        let uri: Uri = "/__clerk/v1//client/sign_ins/sia_1/".parse().unwrap();
        let r = Request::parse(&Method::POST, &uri, b"identifier=bob").unwrap();
        assert_eq!(r.segments, ["client", "sign_ins", "sia_1"]);
        assert_eq!(r.form["identifier"], "bob");
        assert!(Request::parse(&Method::GET, &"/__clerk/v2/client".parse().unwrap(), b"").is_none());
        assert!(Request::parse(&Method::GET, &"/__clerk".parse().unwrap(), b"").is_none());
    }
}
