//! A model of the Convex backend's protocol behaviour, for the simulation: one durable store
//! shared by every socket, and per socket what a real sync worker keeps (query set and its
//! version, identity and its version, the results it last sent). It answers frames in the
//! orders the real backend does:
//! - every `Authenticate` bumps the identity version and is answered by a Transition that
//!   re-runs the queries as the new identity but carries only the results that changed;
//! - a refused token gets `AuthError` and the socket closes; so does an expired identity
//!   before the next Transition or mutation ("Convex token identity expired");
//! - a mutation commits once per (session id, request id): a duplicate gets the recorded
//!   result and timestamp; every commit moves every socket forward with a Transition;
//! - a protocol violation by the client is a `FatalError` (the simulation treats it as a bug).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde_json::{json, Value as Json};

use crate::value::encode_ts;

/// A frame on its way to the client.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outgoing {
    Text(String),
    /// The server closes the socket (with a close frame carrying this reason).
    Close(String),
}

/// A post in the store.
#[derive(Debug, Clone)]
pub(super) struct Post {
    pub(super) title: String,
    pub(super) author: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct ServerSocket {
    pub(super) inbox: VecDeque<String>,
    pub(super) outbox: VecDeque<Outgoing>,
    session: Option<String>,
    /// The verified identity: user and token expiry (seconds).
    identity: Option<(String, u64)>,
    identity_version: u32,
    query_set_version: u32,
    queries: BTreeMap<u32, (String, Json)>,
    sent: HashMap<u32, Json>,
    version: (u32, u32, u64),
    /// The server has closed it (after an AuthError).
    pub(super) closed: bool,
}

/// The backend.
#[derive(Debug, Default)]
pub(super) struct Server {
    pub(super) ts: u64,
    pub(super) posts: Vec<Post>,
    dedup: HashMap<(String, u32), (Json, u64)>,
    /// Tokens the identity provider issued: user and expiry (seconds).
    pub(super) tokens: HashMap<String, (String, u64)>,
    pub(super) sockets: Vec<ServerSocket>,
    /// Protocol violations seen (each a bug of the client).
    pub(super) violations: Vec<String>,
}

/// What a query returns: identity-dependent results say whose they are in `as`.
pub(super) fn evaluate(posts: &[Post], path: &str, user: Option<&str>) -> Json {
    match path {
        "users:me" => json!({ "as": user }),
        "posts:mine" => json!({
            "as": user,
            "titles": posts.iter().filter(|p| p.author.as_deref() == user && user.is_some())
                .map(|p| p.title.clone()).collect::<Vec<_>>(),
        }),
        "posts:count" => json!({ "n": posts.len() }),
        "posts:list" => json!(posts.iter().map(|p| p.title.clone()).collect::<Vec<_>>()),
        other => json!({ "unknown": other }),
    }
}

fn version_json(v: (u32, u32, u64)) -> Json {
    json!({"querySet": v.0, "identity": v.1, "ts": encode_ts(v.2)})
}

impl Server {
    /// A new socket; its index.
    pub(super) fn connect(&mut self) -> usize {
        self.sockets.push(ServerSocket::default());
        self.sockets.len() - 1
    }

    /// The socket is gone (either side): nothing more is read or sent on it.
    pub(super) fn drop_socket(&mut self, index: usize) {
        if let Some(s) = self.sockets.get_mut(index) {
            s.closed = true;
            s.inbox.clear();
            s.outbox.clear();
        }
    }

    /// Handles the next frame the client sent on socket `index`.
    pub(super) fn process(&mut self, index: usize, now_secs: u64, response_first: bool) {
        let Some(socket) = self.sockets.get_mut(index) else { return };
        if socket.closed {
            return;
        }
        let Some(text) = socket.inbox.pop_front() else { return };
        let message: Json = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => return self.fatal(index, format!("unparseable frame {text}: {e}")),
        };
        match message["type"].as_str().unwrap_or("") {
            "Connect" => {
                let session = message["sessionId"].as_str().unwrap_or("").to_string();
                self.sockets[index].session = Some(session);
            }
            "ModifyQuerySet" => self.modify_query_set(index, &message, now_secs),
            "Authenticate" => self.authenticate(index, &message, now_secs),
            "Mutation" => self.mutation(index, &message, now_secs, response_first),
            "Action" => {
                let s = &mut self.sockets[index];
                let user = s.identity.as_ref().map(|(u, _)| u.clone());
                s.outbox.push_back(Outgoing::Text(
                    json!({"type": "ActionResponse", "requestId": message["requestId"],
                        "success": true, "result": {"as": user}, "logLines": []})
                    .to_string(),
                ));
            }
            other => self.fatal(index, format!("unknown client message {other:?}")),
        }
    }

    fn fatal(&mut self, index: usize, error: String) {
        self.violations.push(error.clone());
        let s = &mut self.sockets[index];
        s.outbox
            .push_back(Outgoing::Text(json!({"type": "FatalError", "error": error}).to_string()));
        s.outbox.push_back(Outgoing::Close("InternalServerError".into()));
        s.closed = true;
    }

    fn modify_query_set(&mut self, index: usize, message: &Json, now_secs: u64) {
        let s = &mut self.sockets[index];
        if s.session.is_none() {
            return self.fatal(index, "ModifyQuerySet before Connect".into());
        }
        let base = message["baseVersion"].as_u64().unwrap_or(u64::MAX);
        let new = message["newVersion"].as_u64().unwrap_or(u64::MAX);
        if base != u64::from(s.query_set_version) || new != base + 1 {
            let error =
                format!("query set {base}->{new} but the server is at {}", s.query_set_version);
            return self.fatal(index, error);
        }
        let empty = vec![];
        for m in message["modifications"].as_array().unwrap_or(&empty) {
            let Some(id) = m["queryId"].as_u64().map(|q| q as u32) else {
                return self.fatal(index, format!("modification without a queryId: {m}"));
            };
            match m["type"].as_str() {
                Some("Add") => {
                    let path = m["udfPath"].as_str().unwrap_or("").to_string();
                    if s.queries.insert(id, (path, m["args"].clone())).is_some() {
                        return self.fatal(index, format!("query {id} added twice"));
                    }
                }
                Some("Remove") => {
                    if s.queries.remove(&id).is_none() {
                        return self.fatal(index, format!("query {id} removed but unknown"));
                    }
                    s.sent.remove(&id);
                }
                _ => return self.fatal(index, format!("bad modification {m}")),
            }
        }
        s.query_set_version = new as u32;
        self.transition(index, now_secs);
    }

    fn authenticate(&mut self, index: usize, message: &Json, now_secs: u64) {
        let s = &mut self.sockets[index];
        if s.session.is_none() {
            return self.fatal(index, "Authenticate before Connect".into());
        }
        let base = message["baseVersion"].as_u64().unwrap_or(u64::MAX);
        if base != u64::from(s.identity_version) {
            let error = format!("identity base {base} but the server is at {}", s.identity_version);
            return self.fatal(index, error);
        }
        let identity = match message["tokenType"].as_str() {
            Some("None") => None,
            Some("User") => {
                let token = message["value"].as_str().unwrap_or("");
                match self.tokens.get(token) {
                    Some((user, exp)) if *exp > now_secs => Some((user.clone(), *exp)),
                    found => {
                        let error = if found.is_some() {
                            "Token expired"
                        } else {
                            "Could not verify OIDC token claim"
                        };
                        let s = &mut self.sockets[index];
                        s.outbox.push_back(Outgoing::Text(
                            json!({"type": "AuthError", "error": error,
                                "baseVersion": s.identity_version, "authUpdateAttempted": true})
                            .to_string(),
                        ));
                        s.outbox.push_back(Outgoing::Close("AuthError".into()));
                        s.closed = true;
                        return;
                    }
                }
            }
            other => return self.fatal(index, format!("bad tokenType {other:?}")),
        };
        let s = &mut self.sockets[index];
        s.identity = identity;
        s.identity_version += 1;
        self.transition(index, now_secs);
    }

    /// The identity's token expired: AuthError and close (true when that happened).
    fn expired(&mut self, index: usize, now_secs: u64) -> bool {
        let s = &mut self.sockets[index];
        if s.identity.as_ref().is_none_or(|(_, exp)| *exp > now_secs) {
            return false;
        }
        s.outbox.push_back(Outgoing::Text(
            json!({"type": "AuthError", "error": "Convex token identity expired",
                "baseVersion": s.identity_version, "authUpdateAttempted": false})
            .to_string(),
        ));
        s.outbox.push_back(Outgoing::Close("AuthError".into()));
        s.closed = true;
        true
    }

    fn mutation(&mut self, index: usize, message: &Json, now_secs: u64, response_first: bool) {
        if self.sockets[index].session.is_none() {
            return self.fatal(index, "Mutation before Connect".into());
        }
        if self.expired(index, now_secs) {
            return;
        }
        let Some(request) = message["requestId"].as_u64().map(|r| r as u32) else {
            return self.fatal(index, "Mutation without requestId".into());
        };
        let session = self.sockets[index].session.clone().unwrap_or_default();
        let key = (session, request);
        let (response, committed) = match self.dedup.get(&key) {
            Some((result, ts)) => (Self::mutation_response(request, result, *ts), false),
            None => {
                let args = &message["args"][0];
                let author = self.sockets[index].identity.as_ref().map(|(u, _)| u.clone());
                let path = message["udfPath"].as_str().unwrap_or("");
                let result = match path {
                    "posts:create" => {
                        let title = args["title"].as_str().unwrap_or("").to_string();
                        self.posts.push(Post { title: title.clone(), author });
                        json!(title)
                    }
                    _ => json!({"error": format!("no mutation {path}")}),
                };
                self.ts += 1;
                self.dedup.insert(key, (result.clone(), self.ts));
                (Self::mutation_response(request, &result, self.ts), true)
            }
        };
        if response_first {
            self.sockets[index].outbox.push_back(Outgoing::Text(response.clone()));
        }
        if committed {
            self.broadcast(now_secs);
        } else {
            self.transition(index, now_secs);
        }
        if !response_first {
            self.sockets[index].outbox.push_back(Outgoing::Text(response));
        }
    }

    fn mutation_response(request: u32, result: &Json, ts: u64) -> String {
        json!({"type": "MutationResponse", "requestId": request, "success": true,
            "result": result, "ts": encode_ts(ts), "logLines": []})
        .to_string()
    }

    /// Another client wrote: every socket moves on.
    pub(super) fn foreign_write(&mut self, title: String, now_secs: u64) {
        self.posts.push(Post { title, author: Some("mallory".into()) });
        self.ts += 1;
        self.broadcast(now_secs);
    }

    fn broadcast(&mut self, now_secs: u64) {
        for index in 0..self.sockets.len() {
            if !self.sockets[index].closed && self.sockets[index].session.is_some() {
                self.transition(index, now_secs);
            }
        }
    }

    /// Sends what changed since the socket's last Transition, if anything did.
    fn transition(&mut self, index: usize, now_secs: u64) {
        if self.expired(index, now_secs) {
            return;
        }
        let s = &mut self.sockets[index];
        let end = (s.query_set_version, s.identity_version, self.ts);
        let user = s.identity.as_ref().map(|(u, _)| u.as_str());
        let mut modifications = Vec::new();
        for (id, (path, _args)) in &s.queries {
            let value = evaluate(&self.posts, path, user);
            if s.sent.get(id) != Some(&value) {
                modifications.push(json!({"type": "QueryUpdated", "queryId": id, "value": value,
                    "logLines": [], "journal": null}));
                s.sent.insert(*id, value);
            }
        }
        if end == s.version && modifications.is_empty() {
            return;
        }
        let message = json!({"type": "Transition", "startVersion": version_json(s.version),
            "endVersion": version_json(end), "modifications": modifications});
        s.version = end;
        s.outbox.push_back(Outgoing::Text(message.to_string()));
    }

    /// Titles stored more than once.
    pub(super) fn duplicates(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.posts.iter().filter(|p| !seen.insert(&p.title)).map(|p| p.title.clone()).collect()
    }
}
