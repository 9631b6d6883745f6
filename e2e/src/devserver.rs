//! The devserver's HTTP API from the tests: dev tokens, functions, seeding data (e.g. posts
//! for list tests) without going through the page, and injecting query failures.

use std::time::Duration;

use serde_json::{json, Value};

use crate::Error;

/// A seeded user of the devserver's Clerk stand-in (see the README's table).
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// The Clerk user id, the `sub` of its tokens.
    pub id: &'static str,
    pub username: &'static str,
    pub email: &'static str,
    pub name: &'static str,
    pub password: &'static str,
}

pub const ALICE: User = User {
    id: "user_alice",
    username: "alice",
    email: "alice@example.com",
    name: "Alice Liddell",
    password: "alice-password",
};

pub const BOB: User = User {
    id: "user_bob",
    username: "bob",
    email: "bob@example.com",
    name: "Bob Builder",
    password: "bob-password",
};

/// The devserver's HTTP API.
#[derive(Clone)]
pub struct DevServer {
    url: String,
    agent: ureq::Agent,
}

impl DevServer {
    pub fn new(url: &str) -> DevServer {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .proxy(None)
            .build()
            .into();
        DevServer { url: url.trim_end_matches('/').to_string(), agent }
    }

    /// `http://127.0.0.1:<port>`, the Convex URL the demo was built with.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn post(&self, path: &str, body: &Value, token: Option<&str>) -> Result<(u16, Value), Error> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("Content-Type", "application/json");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.send(body.to_string())?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string()?;
        let value = serde_json::from_str(&text)
            .map_err(|e| format!("POST {path}: answer is not JSON ({e}): {text:.300}"))?;
        Ok((status, value))
    }

    fn get(&self, path: &str) -> Result<(u16, Value), Error> {
        let response = self.agent.get(format!("{}{path}", self.url)).call()?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string()?;
        let value = serde_json::from_str(&text)
            .map_err(|e| format!("GET {path}: answer is not JSON ({e}): {text:.300}"))?;
        Ok((status, value))
    }

    /// A Convex token for `user` from `POST /dev/token` (issued by the devserver itself, `aud`
    /// "convex", 10 minutes).
    pub fn token(&self, user: &User) -> Result<String, Error> {
        let body =
            json!({ "sub": user.id, "name": user.name, "email": user.email, "ttl_secs": 600 });
        let (status, value) = self.post("/dev/token", &body, None)?;
        value
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("POST /dev/token answered {status}: {value}").into())
    }

    /// Calls a function through `POST /api/{kind}` (`kind`: "query", "mutation", "action");
    /// its value, or an error with Convex's message.
    pub fn call(
        &self,
        kind: &str,
        path: &str,
        args: Value,
        token: Option<&str>,
    ) -> Result<Value, Error> {
        let (status, value) =
            self.post(&format!("/api/{kind}"), &json!({ "path": path, "args": args }), token)?;
        match value.get("status").and_then(Value::as_str) {
            Some("success") => Ok(value.get("value").cloned().unwrap_or(Value::Null)),
            _ => Err(format!("{kind} {path} failed ({status}): {value}").into()),
        }
    }

    pub fn query(&self, path: &str, args: Value, token: Option<&str>) -> Result<Value, Error> {
        self.call("query", path, args, token)
    }

    pub fn mutation(&self, path: &str, args: Value, token: Option<&str>) -> Result<Value, Error> {
        self.call("mutation", path, args, token)
    }

    /// Creates a post as `user` (`posts:create`); its id.
    pub fn create_post(&self, user: &User, title: &str, body: &str) -> Result<String, Error> {
        let token = self.token(user)?;
        let id =
            self.mutation("posts:create", json!({ "title": title, "body": body }), Some(&token))?;
        id.as_str().map(str::to_string).ok_or_else(|| format!("posts:create returned {id}").into())
    }

    /// Creates one post per title as `user` (body: "Body of <title>."); their ids, in order.
    pub fn seed_posts(&self, user: &User, titles: &[&str]) -> Result<Vec<String>, Error> {
        let token = self.token(user)?;
        titles
            .iter()
            .map(|title| {
                let args = json!({ "title": title, "body": format!("Body of {title}.") });
                let id = self.mutation("posts:create", args, Some(&token))?;
                id.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| Error::from(format!("posts:create returned {id}")))
            })
            .collect()
    }

    /// Deletes a post as `user` (`posts:remove`, its author only).
    pub fn remove_post(&self, user: &User, id: &str) -> Result<(), Error> {
        let token = self.token(user)?;
        self.mutation("posts:remove", json!({ "id": id }), Some(&token))?;
        Ok(())
    }

    /// `POST /dev/fail_queries`: the next `count` executions of the query function `path`
    /// (with `args` only, if given) fail with `Uncaught Error: <message>` (a default message
    /// without one); `count` 0 cancels. The injections pending afterwards.
    pub fn fail_queries(
        &self,
        path: &str,
        args: Option<Value>,
        count: u32,
        message: Option<&str>,
    ) -> Result<Vec<Value>, Error> {
        let body = json!({ "path": path, "args": args, "count": count, "message": message });
        let (status, value) = self.post("/dev/fail_queries", &body, None)?;
        match value.get("pending") {
            Some(Value::Array(pending)) if status == 200 => Ok(pending.clone()),
            _ => Err(format!("POST /dev/fail_queries answered {status}: {value}").into()),
        }
    }

    /// `POST /dev/drop_sessions`: drops the sync sockets of `session` (of every session
    /// without one) without a close frame, as a network failure would.
    pub fn drop_sessions(&self, session: Option<&str>) -> Result<(), Error> {
        let body = match session {
            Some(id) => json!({ "sessionId": id }),
            None => json!({}),
        };
        let (status, value) = self.post("/dev/drop_sessions", &body, None)?;
        if status != 200 {
            return Err(format!("POST /dev/drop_sessions answered {status}: {value}").into());
        }
        Ok(())
    }

    /// `POST /dev/block_sessions`: while `block`, every sync socket of `session` is dropped
    /// right after its Connect (those open now at once): its queries get no answers.
    pub fn block_session(&self, session: &str, block: bool) -> Result<(), Error> {
        let body = json!({ "sessionId": session, "block": block });
        let (status, value) = self.post("/dev/block_sessions", &body, None)?;
        if status != 200 {
            return Err(format!("POST /dev/block_sessions answered {status}: {value}").into());
        }
        Ok(())
    }

    /// `GET /dev/fail_queries`: the injected query failures not used up yet.
    pub fn pending_query_failures(&self) -> Result<Vec<Value>, Error> {
        let (status, value) = self.get("/dev/fail_queries")?;
        match value.get("pending") {
            Some(Value::Array(pending)) if status == 200 => Ok(pending.clone()),
            _ => Err(format!("GET /dev/fail_queries answered {status}: {value}").into()),
        }
    }

    /// Every post (`posts:list`), newest first.
    pub fn posts(&self) -> Result<Vec<Value>, Error> {
        match self.query("posts:list", json!({}), None)? {
            Value::Array(posts) => Ok(posts),
            other => Err(format!("posts:list returned {other}").into()),
        }
    }
}
