//! One function per endpoint, all under `/__clerk/v1`:
//!
//! | endpoint | what |
//! | --- | --- |
//! | `GET /environment`, `PATCH` (pk_test) | the instance's settings ([`resources::environment`]) |
//! | `GET /client` | `{response: client or null}` (null without the cookie) |
//! | `PUT /client`, `DELETE /client` | create the client (sets the cookie), forget it |
//! | `POST /client/sign_ins` | `identifier` (username or email), optional `password`, `strategy` |
//! | `GET /client/sign_ins/{id}`, `POST …/prepare_first_factor`, `…/attempt_first_factor` | the two-step flow (`strategy=password&password=…`) |
//! | `DELETE /client/sessions` | sign out: end every session of the client |
//! | `GET /client/sessions/{sid}`, `POST …/touch`, `…/end`, `…/remove` | one session |
//! | `POST /client/sessions/{sid}/tokens`, `…/tokens/convex` | a session token, a `convex` template token |
//! | `GET /me`, `GET /me/sessions/active`, `POST /me/sessions/{sid}/revoke` | the signed-in user, their sessions (user profile) |

use axum::http::{header, HeaderMap, Method};
use rusqlite::Connection;
use serde_json::{json, Value as Json};

use super::{
    error::{FapiError, Result},
    now_ms, resources,
    state::{self, Client, Session, SignIn, User},
    tokens, Clerk, Reply, Request, COOKIE, PREFIX,
};
use crate::auth::now_secs;

/// One request's context: the database (inside a transaction), the client its cookie names,
/// and the cookie to set.
pub struct Ctx<'a> {
    clerk: &'a Clerk,
    conn: &'a Connection,
    now: u64,
    request: Request,
    client: Option<Client>,
    /// A cookie value to set (a new client), or Some("") to clear the cookie.
    cookie_out: Option<String>,
    user_agent: String,
    ip: String,
    origin: Option<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        clerk: &'a Clerk,
        conn: &'a Connection,
        request: Request,
        headers: &HeaderMap,
    ) -> Result<Self> {
        let text = |name: header::HeaderName| {
            headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
        };
        let secret = super::form::cookie(headers, COOKIE);
        let client = match &secret {
            Some(secret) => state::client_by_cookie(conn, secret)?,
            None => None,
        };
        let ip = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "127.0.0.1".to_string());
        Ok(Self {
            clerk,
            conn,
            now: now_ms(),
            request,
            // A cookie naming no client (e.g. a wiped data dir) is cleared.
            cookie_out: (secret.is_some() && client.is_none()).then(String::new),
            client,
            user_agent: text(header::USER_AGENT).unwrap_or_default(),
            ip,
            origin: text(header::ORIGIN).filter(|o| o != "null"),
        })
    }

    /// The `Set-Cookie` header value to send, if the cookie changes.
    pub fn set_cookie_header(&self) -> Option<String> {
        self.cookie_out.as_ref().map(|value| {
            let max_age = if value.is_empty() { 0 } else { state::CLIENT_COOKIE_MAX_AGE_SECS };
            format!("{COOKIE}={value}; Path={PREFIX}; Max-Age={max_age}; HttpOnly; SameSite=Lax")
        })
    }

    fn form(&self, name: &str) -> Option<&str> {
        self.request.form.get(name).map(String::as_str)
    }

    fn cookie_expires_at(&self) -> u64 {
        self.now + state::CLIENT_COOKIE_MAX_AGE_SECS * 1000
    }

    /// The request's client, created (with a new cookie) if it has none.
    fn ensure_client(&mut self) -> Result<Client> {
        if let Some(client) = &self.client {
            return Ok(client.clone());
        }
        let secret = state::new_cookie_secret();
        let client = state::insert_client(self.conn, &secret, self.now)?;
        self.cookie_out = Some(secret);
        self.client = Some(client.clone());
        Ok(client)
    }

    fn save_client(&mut self, mut client: Client) -> Result<()> {
        client.updated_at = self.now;
        state::update_client(self.conn, &client)?;
        self.client = Some(client);
        Ok(())
    }

    fn user(&self, id: &str) -> Result<User> {
        state::user(self.conn, id)?.ok_or_else(|| FapiError::not_found("user", id).into())
    }

    /// The session's token if it has at least half its life left, else a new one (stored as the
    /// session's `last_active_token`).
    fn fresh_session_token(&self, session: &Session) -> Result<String> {
        let ttl = self.clerk.token_ttl();
        let now = now_secs();
        if let Some(token) = &session.token {
            if session.token_exp >= now + ttl.div_ceil(2) {
                return Ok(token.clone());
            }
        }
        let token = tokens::session_token(
            &self.clerk.engine.auth,
            session,
            self.origin.as_deref(),
            now,
            ttl,
        );
        state::set_session_token(self.conn, &session.id, &token, now + ttl)?;
        Ok(token)
    }

    fn session_json(&self, session: &Session) -> Result<Json> {
        let user = self.user(&session.user_id)?;
        let token = if session.is_active(self.now) {
            Some(self.fresh_session_token(session)?)
        } else {
            None
        };
        Ok(resources::session(session, &user, token.as_deref(), self.now))
    }

    fn sign_in_json(&self, sign_in: &SignIn) -> Result<Json> {
        let user = match &sign_in.user_id {
            Some(id) => state::user(self.conn, id)?,
            None => None,
        };
        Ok(resources::sign_in(sign_in, user.as_ref()))
    }

    /// The client as clerk-js reads it: active sessions (with fresh tokens) and the pending
    /// sign-in; None without a client.
    fn client_json(&self) -> Result<Option<Json>> {
        let Some(client) = &self.client else { return Ok(None) };
        let sessions = state::client_sessions(self.conn, &client.id, self.now)?
            .iter()
            .map(|s| self.session_json(s))
            .collect::<Result<Vec<_>>>()?;
        let sign_in = match &client.sign_in_id {
            Some(id) => match state::sign_in(self.conn, id)? {
                Some(s) if s.status != "complete" && s.abandon_at > self.now => {
                    Some(self.sign_in_json(&s)?)
                }
                _ => None,
            },
            None => None,
        };
        Ok(Some(resources::client(client, sessions, sign_in, self.cookie_expires_at())))
    }

    /// `{response, client}`.
    fn with_client(&self, response: Json) -> Result<Reply> {
        Ok(Reply::ok(json!({ "response": response, "client": self.client_json()? })))
    }

    /// Session `sid` of this request's client; 404 if there is none, 401 if it has ended.
    fn own_session(&self, sid: &str) -> Result<Session> {
        let session = state::session(self.conn, sid)?;
        let client_id = self.client.as_ref().map(|c| c.id.as_str());
        match session {
            Some(s) if Some(s.client_id.as_str()) == client_id => {
                if s.is_active(self.now) {
                    Ok(s)
                } else {
                    Err(FapiError::signed_out().with_client(self.client_json()?).into())
                }
            }
            _ => Err(FapiError::not_found("session", sid).with_client(self.client_json()?).into()),
        }
    }

    /// The session `/v1/me` acts for: `_clerk_session_id` if given, else the client's last
    /// active session, else its only one; 401 signed out without one.
    fn current_session(&self) -> Result<Session> {
        if let Some(sid) = self.request.query.get("_clerk_session_id").filter(|s| !s.is_empty()) {
            return self.own_session(sid);
        }
        let Some(client) = &self.client else { return Err(FapiError::signed_out().into()) };
        let sessions = state::client_sessions(self.conn, &client.id, self.now)?;
        sessions
            .iter()
            .find(|s| Some(&s.id) == client.last_active_session_id.as_ref())
            .or(sessions.last())
            .cloned()
            .ok_or_else(|| FapiError::signed_out().into())
    }

    fn sign_in_of_client(&self, id: &str) -> Result<SignIn> {
        let client_id = self.client.as_ref().map(|c| c.id.as_str());
        match state::sign_in(self.conn, id)? {
            Some(s) if Some(s.client_id.as_str()) == client_id && s.abandon_at > self.now => Ok(s),
            _ => Err(FapiError::not_found("sign in", id).into()),
        }
    }

    /// Single-session mode: a client signed in already cannot sign in again.
    fn refuse_if_signed_in(&self) -> Result<()> {
        if let Some(client) = &self.client {
            if !state::client_sessions(self.conn, &client.id, self.now)?.is_empty() {
                return Err(FapiError::session_exists().into());
            }
        }
        Ok(())
    }

    /// Completes `sign_in` for `user`: a new active session, which becomes the client's last
    /// active one.
    fn complete_sign_in(&mut self, sign_in: &mut SignIn, user: &User) -> Result<()> {
        let mut client = self.ensure_client()?;
        let session = Session {
            id: state::random_id("sess"),
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            status: "active".into(),
            created_at: self.now,
            updated_at: self.now,
            last_active_at: self.now,
            expire_at: self.now + state::SESSION_LIFETIME_MS,
            abandon_at: self.now + state::SESSION_ABANDON_MS,
            token: None,
            token_exp: 0,
            user_agent: self.user_agent.clone(),
            ip: self.ip.clone(),
        };
        state::insert_session(self.conn, &session)?;
        state::set_last_sign_in(self.conn, &user.id, self.now)?;
        sign_in.status = "complete".into();
        sign_in.verified = true;
        sign_in.created_session_id = Some(session.id.clone());
        sign_in.updated_at = self.now;
        state::save_sign_in(self.conn, sign_in)?;
        client.sign_in_id = None;
        client.last_active_session_id = Some(session.id);
        self.save_client(client)
    }
}

/// Routes a parsed request.
pub fn dispatch(ctx: &mut Ctx<'_>) -> Result<Reply> {
    let method = ctx.request.method.clone();
    let segments = ctx.request.segments.clone();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&method, segs.as_slice()) {
        (&Method::GET, ["environment"]) => Ok(Reply::ok(resources::environment("production"))),
        (&Method::PATCH, ["environment"]) => Ok(Reply::ok(resources::environment("development"))),
        (&Method::GET, ["client"]) => {
            Ok(Reply::ok(json!({"response": ctx.client_json()?, "client": null})))
        }
        (&Method::PUT | &Method::POST, ["client"]) => {
            ctx.ensure_client()?;
            let client = ctx.client_json()?;
            Ok(Reply::ok(json!({"response": client, "client": client})))
        }
        (&Method::DELETE, ["client"]) => destroy_client(ctx),
        (&Method::POST, ["client", "sign_ins"]) => create_sign_in(ctx),
        (&Method::GET, ["client", "sign_ins", id]) => {
            let sign_in = ctx.sign_in_of_client(id)?;
            let json = ctx.sign_in_json(&sign_in)?;
            ctx.with_client(json)
        }
        (&Method::POST, ["client", "sign_ins", id, "prepare_first_factor"]) => {
            prepare_first_factor(ctx, id)
        }
        (&Method::POST, ["client", "sign_ins", id, "attempt_first_factor"]) => {
            attempt_first_factor(ctx, id)
        }
        (&Method::DELETE, ["client", "sessions"]) => sign_out(ctx),
        (&Method::GET, ["client", "sessions", sid]) => {
            let session = ctx.own_session(sid)?;
            let json = ctx.session_json(&session)?;
            ctx.with_client(json)
        }
        (&Method::POST, ["client", "sessions", sid, "touch"]) => touch(ctx, sid),
        (&Method::POST, ["client", "sessions", sid, "tokens"]) => token(ctx, sid, None),
        (&Method::POST, ["client", "sessions", sid, "tokens", template]) => {
            token(ctx, sid, Some(template))
        }
        (&Method::POST, ["client", "sessions", sid, action @ ("end" | "remove")]) => {
            end_session(ctx, sid, if *action == "end" { "ended" } else { "removed" })
        }
        (&Method::GET, ["me"]) => {
            let session = ctx.current_session()?;
            let user = ctx.user(&session.user_id)?;
            ctx.with_client(resources::user(&user))
        }
        (&Method::GET, ["me", "sessions", "active"]) => active_sessions(ctx),
        (&Method::POST, ["me", "sessions", sid, "revoke"]) => revoke(ctx, sid),
        _ => {
            Err(FapiError::no_route(method.as_str(), &format!("/v1/{}", segments.join("/"))).into())
        }
    }
}

fn destroy_client(ctx: &mut Ctx<'_>) -> Result<Reply> {
    let Some(client) = ctx.client.take() else {
        return Ok(Reply::ok(json!({"response": null, "client": null})));
    };
    for session in state::client_sessions(ctx.conn, &client.id, ctx.now)? {
        state::set_session_status(ctx.conn, &session.id, "ended", ctx.now)?;
    }
    state::delete_client(ctx.conn, &client.id)?;
    ctx.cookie_out = Some(String::new());
    let gone = resources::client(&client, vec![], None, ctx.now);
    Ok(Reply::ok(json!({"response": gone, "client": null})))
}

fn create_sign_in(ctx: &mut Ctx<'_>) -> Result<Reply> {
    let identifier = ctx.form("identifier").map(str::trim).unwrap_or("").to_string();
    let password = ctx.form("password").unwrap_or("").to_string();
    let strategy = ctx.form("strategy").unwrap_or("").to_string();
    ctx.refuse_if_signed_in()?;
    if !strategy.is_empty() && strategy != "password" {
        return Err(FapiError::strategy_invalid(&strategy).into());
    }
    let mut client = ctx.ensure_client()?;
    let mut sign_in = SignIn {
        id: state::random_id("sia"),
        client_id: client.id.clone(),
        user_id: None,
        identifier: None,
        status: "needs_identifier".into(),
        created_session_id: None,
        verified: false,
        attempts: 0,
        created_at: ctx.now,
        updated_at: ctx.now,
        abandon_at: ctx.now + state::SIGN_IN_LIFETIME_MS,
    };
    let user = if identifier.is_empty() {
        if !password.is_empty() || strategy == "password" {
            return Err(FapiError::missing("identifier", "your email address or username").into());
        }
        None
    } else {
        let user = state::user_by_identifier(ctx.conn, &identifier)?
            .ok_or_else(FapiError::identifier_not_found)?;
        sign_in.user_id = Some(user.id.clone());
        sign_in.identifier = Some(identifier.clone());
        sign_in.status = "needs_first_factor".into();
        Some(user)
    };
    if let Some(user) = &user {
        if !password.is_empty() {
            sign_in.attempts = 1;
            if !user.password_matches(&password) {
                return Err(FapiError::password_incorrect().into());
            }
            ctx.complete_sign_in(&mut sign_in, user)?;
            let json = ctx.sign_in_json(&sign_in)?;
            return ctx.with_client(json);
        }
        if strategy == "password" {
            return Err(FapiError::missing("password", "your password").into());
        }
    }
    state::save_sign_in(ctx.conn, &sign_in)?;
    client.sign_in_id = Some(sign_in.id.clone());
    ctx.save_client(client)?;
    let json = ctx.sign_in_json(&sign_in)?;
    ctx.with_client(json)
}

fn prepare_first_factor(ctx: &mut Ctx<'_>, id: &str) -> Result<Reply> {
    let sign_in = ctx.sign_in_of_client(id)?;
    let strategy = ctx.form("strategy").unwrap_or("");
    if strategy != "password" {
        return Err(FapiError::strategy_invalid(strategy).into());
    }
    let json = ctx.sign_in_json(&sign_in)?;
    ctx.with_client(json)
}

fn attempt_first_factor(ctx: &mut Ctx<'_>, id: &str) -> Result<Reply> {
    let mut sign_in = ctx.sign_in_of_client(id)?;
    if sign_in.status != "needs_first_factor" {
        return Err(FapiError::sign_in_not_pending(&sign_in.status).into());
    }
    let strategy = ctx.form("strategy").unwrap_or("").to_string();
    if strategy != "password" {
        return Err(FapiError::strategy_invalid(&strategy).into());
    }
    let password = ctx.form("password").unwrap_or("").to_string();
    if password.is_empty() {
        return Err(FapiError::missing("password", "your password").into());
    }
    ctx.refuse_if_signed_in()?;
    let user_id = sign_in.user_id.clone().unwrap_or_default();
    let user = ctx.user(&user_id)?;
    sign_in.attempts += 1;
    sign_in.updated_at = ctx.now;
    if !user.password_matches(&password) {
        state::save_sign_in(ctx.conn, &sign_in)?;
        return Err(FapiError::password_incorrect().into());
    }
    ctx.complete_sign_in(&mut sign_in, &user)?;
    let json = ctx.sign_in_json(&sign_in)?;
    ctx.with_client(json)
}

fn sign_out(ctx: &mut Ctx<'_>) -> Result<Reply> {
    let Some(mut client) = ctx.client.clone() else {
        return Ok(Reply::ok(json!({"response": null, "client": null})));
    };
    for session in state::client_sessions(ctx.conn, &client.id, ctx.now)? {
        state::set_session_status(ctx.conn, &session.id, "ended", ctx.now)?;
    }
    client.sign_in_id = None;
    client.last_active_session_id = None;
    ctx.save_client(client)?;
    let client = ctx.client_json()?;
    Ok(Reply::ok(json!({"response": client, "client": client})))
}

fn touch(ctx: &mut Ctx<'_>, sid: &str) -> Result<Reply> {
    let mut session = ctx.own_session(sid)?;
    state::touch_session(ctx.conn, sid, ctx.now)?;
    session.last_active_at = ctx.now;
    session.updated_at = ctx.now;
    if let Some(mut client) = ctx.client.clone() {
        client.last_active_session_id = Some(sid.to_string());
        ctx.save_client(client)?;
    }
    let json = ctx.session_json(&session)?;
    ctx.with_client(json)
}

fn token(ctx: &mut Ctx<'_>, sid: &str, template: Option<&str>) -> Result<Reply> {
    let session = ctx.own_session(sid)?;
    let auth = &ctx.clerk.engine.auth;
    let ttl = ctx.clerk.token_ttl();
    let now = now_secs();
    let jwt = match template {
        None => {
            let jwt = tokens::session_token(auth, &session, ctx.origin.as_deref(), now, ttl);
            state::set_session_token(ctx.conn, sid, &jwt, now + ttl)?;
            jwt
        }
        Some(name) => {
            let user = ctx.user(&session.user_id)?;
            tokens::template_token(auth, name, &session, &user, ctx.origin.as_deref(), now, ttl)
                .ok_or_else(|| {
                    FapiError::new(
                        axum::http::StatusCode::NOT_FOUND,
                        "resource_not_found",
                        "not found",
                        format!(
                            "No JWT template exists with name: {name} (this stand-in has: {})",
                            tokens::TEMPLATES.join(", ")
                        ),
                    )
                })?
        }
    };
    state::touch_session(ctx.conn, sid, ctx.now)?;
    Ok(Reply::ok(json!({"object": "token", "jwt": jwt})))
}

fn end_session(ctx: &mut Ctx<'_>, sid: &str, status: &str) -> Result<Reply> {
    let mut session = ctx.own_session(sid)?;
    state::set_session_status(ctx.conn, sid, status, ctx.now)?;
    session.status = status.to_string();
    session.updated_at = ctx.now;
    if let Some(mut client) = ctx.client.clone() {
        if client.last_active_session_id.as_deref() == Some(sid) {
            client.last_active_session_id = None;
            ctx.save_client(client)?;
        }
    }
    let json = ctx.session_json(&session)?;
    ctx.with_client(json)
}

fn active_sessions(ctx: &mut Ctx<'_>) -> Result<Reply> {
    let current = ctx.current_session()?;
    let sessions = state::user_sessions(ctx.conn, &current.user_id, ctx.now)?;
    Ok(Reply::ok(Json::Array(
        sessions.iter().map(|s| resources::session_with_activities(s, ctx.now)).collect(),
    )))
}

fn revoke(ctx: &mut Ctx<'_>, sid: &str) -> Result<Reply> {
    let current = ctx.current_session()?;
    let mut session = match state::session(ctx.conn, sid)? {
        Some(s) if s.user_id == current.user_id => s,
        _ => return Err(FapiError::not_found("session", sid).into()),
    };
    if session.is_active(ctx.now) {
        state::set_session_status(ctx.conn, sid, "revoked", ctx.now)?;
        session.status = "revoked".into();
        session.updated_at = ctx.now;
    }
    let json = resources::session_with_activities(&session, ctx.now);
    ctx.with_client(json)
}
