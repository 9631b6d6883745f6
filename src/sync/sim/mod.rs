//! The engine against a model of the server ([`model`]) under seeded random schedules: the
//! application subscribes, mutates, signs in and out and switches users; tokens come back
//! new, the same, missing or expired; frames are processed and delivered in any order the
//! network allows, sockets drop between any two frames (with or without a close frame), the
//! server restarts, the network goes down and up, tabs hide, time jumps.
//!
//! After every step the invariants below are checked; at the end the network is healed and
//! the run must converge. A failing seed is shrunk to a minimal list of steps and printed, to
//! replay with `SIM_SEED=<seed>`.
//!
//! Invariants:
//! 1. no result of one identity is ever visible while another is current, and the client is
//!    never reported authenticated before the server established its identity;
//! 2. no mutation is applied twice, none runs as another user than the one who made it, and
//!    every mutation reported done is stored;
//! 3. no deadline is left in the past after the engine handled it (no busy timers);
//! 4. the client never violates the protocol (the model would answer with a FatalError);
//! 5. once the network is up and quiet: every request completes, the identity settles, every
//!    subscription shows the model's result, and tokens are fetched no more often than their
//!    lifetime needs (no polling).
//!
//! `SIM_SEEDS` sets the number of seeds (default 5,000), `SIM_SEED` runs one.

mod model;

use std::{collections::HashMap, time::Duration};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use serde_json::json;

use super::{
    AuthStatus, ConvexError, Event, Principal, QueryId, RequestId, SocketId, SubscriptionId,
    SyncConfig, SyncEngine, TokenRequestId,
};
use crate::value::Value;
use model::{evaluate, Outgoing, Server};

/// Unix time of the simulation's start, seconds.
const EPOCH: u64 = 1_700_000_000;
/// Token lifetime.
const LIFETIME: u64 = 60;
const QUERIES: [&str; 4] = ["users:me", "posts:mine", "posts:count", "posts:list"];
const USERS: [&str; 2] = ["alice", "bob"];

/// How a token fetch is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A newly issued token.
    New,
    /// The token issued last for that user (possibly the current one).
    Same,
    /// None (signed out at the source, or the fetch failed).
    Nothing,
    /// A token that has already expired.
    Expired,
}

/// How the auth source answers once the network is healed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A new token every time.
    Fresh,
    /// The last token while it is valid (as a token cache does), then a new one.
    Caching,
    /// Always the last token, even expired (a broken source): the client must not poll it.
    Stuck,
}

/// One step of a schedule. Numbers pick among what exists at that point (modulo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Subscribe(u8),
    Unsubscribe(u8),
    Mutate,
    Action,
    SignIn(u8),
    SignOut,
    AnswerToken(Answer),
    /// The server handles the next frame it received (the flag: answer before the Transition).
    ServerProcess(bool),
    /// The client receives the next frame the server sent.
    Deliver,
    /// The pending socket opens.
    SocketOpens,
    /// The browser refuses to create the pending socket.
    SocketFails,
    /// The socket drops, with or without a close frame.
    Drop(bool),
    ServerRestart,
    NetworkDown,
    NetworkUp,
    Visible,
    Online,
    ForeignWrite,
    Advance(u32),
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn schedule(seed: u64, len: usize) -> Vec<Step> {
    let mut rng = Rng(seed);
    (0..len)
        .map(|_| {
            let r = rng.below(1000);
            let pick = rng.below(256) as u8;
            match r {
                0..=59 => Step::Subscribe(pick),
                60..=94 => Step::Unsubscribe(pick),
                95..=154 => Step::Mutate,
                155..=174 => Step::Action,
                175..=214 => Step::SignIn(pick),
                215..=239 => Step::SignOut,
                240..=289 => Step::AnswerToken(Answer::New),
                290..=304 => Step::AnswerToken(Answer::Same),
                305..=314 => Step::AnswerToken(Answer::Nothing),
                315..=324 => Step::AnswerToken(Answer::Expired),
                325..=524 => Step::ServerProcess(pick % 2 == 0),
                525..=724 => Step::Deliver,
                725..=779 => Step::SocketOpens,
                780..=789 => Step::SocketFails,
                790..=819 => Step::Drop(pick % 2 == 0),
                820..=829 => Step::ServerRestart,
                830..=844 => Step::NetworkDown,
                845..=874 => Step::NetworkUp,
                875..=889 => Step::Visible,
                890..=899 => Step::Online,
                900..=919 => Step::ForeignWrite,
                920..=979 => Step::Advance(50 + rng.below(2_000) as u32),
                _ => Step::Advance(10_000 + rng.below(110_000) as u32),
            }
        })
        .collect()
}

struct MutationRecord {
    title: String,
    /// Who made it: the engine's principal then (with `expect_auth`, the source still to
    /// come, whose user is known once the app signs in).
    principal: Principal,
}

struct Sim {
    engine: SyncEngine,
    server: Server,
    now: Duration,
    network_up: bool,
    /// The socket the engine asked for and has not been opened yet.
    pending_socket: Option<SocketId>,
    /// The open socket and its index on the server.
    socket: Option<(SocketId, usize)>,
    /// Token fetches to answer: id and the user of the source that asked.
    fetches: Vec<(TokenRequestId, Option<String>)>,
    /// The user of each source, in `set_auth` order.
    sources: Vec<String>,
    /// The last token issued per user.
    last_token: HashMap<String, String>,
    subs: Vec<(SubscriptionId, QueryId)>,
    mutations: HashMap<RequestId, MutationRecord>,
    done: HashMap<RequestId, Result<(), ConvexError>>,
    counter: u64,
    token_fetches: usize,
    /// `expect_auth`, and the app has neither signed in nor out yet.
    expecting: bool,
}

type Failure = String;

impl Sim {
    fn new(seed: u64) -> Self {
        // A quarter of the runs hold everything until the app sets or clears auth.
        let expect_auth = seed % 4 == 1;
        let config = SyncConfig { jitter_seed: seed, expect_auth, ..SyncConfig::default() };
        let engine =
            SyncEngine::new(config, format!("00000000-0000-4000-8000-{seed:012x}"), Duration::ZERO);
        let mut sim = Sim {
            engine,
            server: Server::default(),
            now: Duration::ZERO,
            network_up: true,
            pending_socket: None,
            socket: None,
            fetches: Vec::new(),
            sources: Vec::new(),
            last_token: HashMap::new(),
            subs: Vec::new(),
            mutations: HashMap::new(),
            done: HashMap::new(),
            counter: 0,
            token_fetches: 0,
            expecting: expect_auth,
        };
        sim.drain();
        sim
    }

    fn now_secs(&self) -> u64 {
        EPOCH + self.now.as_secs()
    }

    fn user_of(&self, principal: Principal) -> Option<String> {
        match principal {
            Principal::Anonymous => None,
            Principal::Source(n) => self.sources.get(n as usize - 1).cloned(),
        }
    }

    fn issue(&mut self, user: &str, expired: bool) -> String {
        self.counter += 1;
        let iat = if expired { self.now_secs() - 2 * LIFETIME } else { self.now_secs() };
        let claims = json!({"iat": iat, "exp": iat + LIFETIME, "sub": user, "n": self.counter});
        let token =
            format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()));
        self.server.tokens.insert(token.clone(), (user.to_string(), iat + LIFETIME));
        self.last_token.insert(user.to_string(), token.clone());
        token
    }

    /// Carries out the engine's outputs.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(frame) = self.engine.poll_transmit() {
                progressed = true;
                if let Some((_, index)) = self.socket {
                    if let Some(s) = self.server.sockets.get_mut(index) {
                        if !s.closed {
                            s.inbox.push_back(frame);
                        }
                    }
                }
            }
            while let Some(event) = self.engine.poll_event() {
                progressed = true;
                match event {
                    Event::OpenSocket { socket } => self.pending_socket = Some(socket),
                    Event::CloseSocket { socket } => {
                        if self.pending_socket == Some(socket) {
                            self.pending_socket = None;
                        }
                        if let Some((id, index)) = self.socket {
                            if id == socket {
                                self.server.drop_socket(index);
                                self.socket = None;
                            }
                        }
                    }
                    Event::FetchToken { request, .. } => {
                        self.token_fetches += 1;
                        let user = self.user_of(self.engine.principal());
                        self.fetches.push((request, user));
                    }
                    Event::MutationDone { request, result }
                    | Event::ActionDone { request, result } => {
                        self.done.insert(request, result.map(|_| ()));
                    }
                    _ => {}
                }
            }
            if !progressed {
                return;
            }
        }
    }

    /// Moves time to `target`, firing every deadline on the way.
    fn advance_to(&mut self, target: Duration) -> Result<(), Failure> {
        let mut guard = 0;
        while let Some(deadline) = self.engine.poll_timeout().filter(|d| *d <= target) {
            self.now = deadline.max(self.now);
            self.engine.handle_timeout(self.now);
            self.drain();
            if self.engine.poll_timeout().is_some_and(|d| d < self.now) {
                return Err(format!(
                    "a deadline in the past after handle_timeout at {:?}",
                    self.now
                ));
            }
            guard += 1;
            if guard > 10_000 {
                return Err("timers fire without end".into());
            }
        }
        self.now = target;
        Ok(())
    }

    fn step(&mut self, step: Step) -> Result<(), Failure> {
        match step {
            Step::Subscribe(pick) => {
                let path = QUERIES[pick as usize % QUERIES.len()];
                let args = Value::Object(Default::default());
                let (sub, query) = self.engine.subscribe(path, &args).map_err(|e| e.to_string())?;
                self.subs.push((sub, query));
            }
            Step::Unsubscribe(pick) => {
                if !self.subs.is_empty() {
                    let (sub, _) = self.subs.remove(pick as usize % self.subs.len());
                    self.engine.unsubscribe(sub);
                }
            }
            Step::Mutate => {
                self.counter += 1;
                let title = format!("post-{}", self.counter);
                let args =
                    Value::from_json(&json!({ "title": title })).map_err(|e| e.to_string())?;
                let principal = self.engine.principal();
                let id = self
                    .engine
                    .mutation("posts:create", &args, None, self.now)
                    .map_err(|e| e.to_string())?;
                self.mutations.insert(id, MutationRecord { title, principal });
            }
            Step::Action => {
                let args = Value::Object(Default::default());
                self.engine.action("users:whoami", &args, self.now).map_err(|e| e.to_string())?;
            }
            Step::SignIn(pick) => {
                self.sources.push(USERS[pick as usize % USERS.len()].to_string());
                self.expecting = false;
                self.engine.set_auth();
            }
            Step::SignOut => {
                self.expecting = false;
                self.engine.clear_auth();
            }
            Step::AnswerToken(answer) => {
                if !self.fetches.is_empty() {
                    let (id, user) = self.fetches.remove(0);
                    let token = match (answer, user) {
                        (_, None) | (Answer::Nothing, _) => None,
                        (Answer::New, Some(u)) => Some(self.issue(&u, false)),
                        (Answer::Expired, Some(u)) => Some(self.issue(&u, true)),
                        (Answer::Same, Some(u)) => match self.last_token.get(&u) {
                            Some(t) => Some(t.clone()),
                            None => Some(self.issue(&u, false)),
                        },
                    };
                    self.engine.handle_token(id, token, self.now);
                }
            }
            Step::ServerProcess(response_first) => {
                if let Some((_, index)) = self.socket {
                    let now_secs = self.now_secs();
                    self.server.process(index, now_secs, response_first);
                }
            }
            Step::Deliver => {
                if let Some((socket, index)) = self.socket {
                    match self.server.sockets[index].outbox.pop_front() {
                        Some(Outgoing::Text(text)) => {
                            self.engine.handle_text(socket, &text, self.now)
                        }
                        Some(Outgoing::Close(reason)) => {
                            self.socket = None;
                            self.engine.handle_close(socket, Some(&reason), self.now);
                        }
                        None => {}
                    }
                }
            }
            Step::SocketOpens => {
                if let Some(socket) = self.pending_socket.take() {
                    if self.network_up {
                        let index = self.server.connect();
                        self.socket = Some((socket, index));
                        self.engine.handle_open(socket, self.now, Some(self.now_secs() * 1000));
                    } else {
                        self.engine.handle_close(socket, None, self.now);
                    }
                }
            }
            Step::SocketFails => {
                if let Some(socket) = self.pending_socket.take() {
                    self.engine.handle_open_failed(socket, "refused by the page's CSP", self.now);
                }
            }
            Step::Drop(close_frame) => self.drop_socket(close_frame),
            Step::ServerRestart => {
                self.drop_socket(false);
                for index in 0..self.server.sockets.len() {
                    self.server.drop_socket(index);
                }
            }
            Step::NetworkDown => {
                self.network_up = false;
                self.drop_socket(false);
            }
            Step::NetworkUp => {
                self.network_up = true;
            }
            Step::Visible => self.engine.handle_visibility(true, self.now),
            Step::Online => {
                if self.network_up {
                    self.engine.handle_online(self.now);
                }
            }
            Step::ForeignWrite => {
                self.counter += 1;
                let now_secs = self.now_secs();
                self.server.foreign_write(format!("foreign-{}", self.counter), now_secs);
            }
            Step::Advance(ms) => {
                let target = self.now + Duration::from_millis(u64::from(ms));
                self.advance_to(target)?;
            }
        }
        self.drain();
        self.check()
    }

    fn drop_socket(&mut self, close_frame: bool) {
        if let Some((socket, index)) = self.socket.take() {
            self.server.drop_socket(index);
            let reason = close_frame.then_some("InternalServerError");
            self.engine.handle_close(socket, reason, self.now);
        }
    }

    /// The invariants that hold after every step.
    fn check(&self) -> Result<(), Failure> {
        if let Some(v) = self.server.violations.first() {
            return Err(format!("protocol violation: {v}"));
        }
        if self.engine.auth_status() == AuthStatus::Authenticated && !self.engine.identity_settled()
        {
            return Err("authenticated before the server established the identity".into());
        }
        let current = self.user_of(self.engine.principal());
        for (_, query) in &self.subs {
            if let Some(Ok(value)) = self.engine.query_result(*query) {
                let json: serde_json::Value =
                    serde_json::from_str(value.json()).map_err(|e| e.to_string())?;
                if let Some(who) = json.get("as") {
                    if *who != json!(current) {
                        return Err(format!(
                            "query {query} shows {json} while the identity is {current:?}"
                        ));
                    }
                }
            }
        }
        let dups = self.server.duplicates();
        if !dups.is_empty() {
            return Err(format!("mutations applied twice: {dups:?}"));
        }
        for post in &self.server.posts {
            let made_by = self.mutations.values().find(|m| m.title == post.title);
            if let Some(m) = made_by {
                let user = self.user_of(m.principal);
                if user != post.author {
                    return Err(format!("{} made by {user:?} ran as {:?}", m.title, post.author));
                }
            }
        }
        for (id, result) in &self.done {
            if let (Some(m), Ok(())) = (self.mutations.get(id), result) {
                if !self.server.posts.iter().any(|p| p.title == m.title) {
                    return Err(format!("{} reported done but not stored", m.title));
                }
            }
        }
        Ok(())
    }

    /// Heals the network and runs until quiet; then the run must have converged. Token fetches
    /// are answered as `source` says.
    fn settle(&mut self, source: Source) -> Result<(), Failure> {
        // An app that expected a sign-in learns by now that nobody is signed in.
        if self.expecting {
            self.step(Step::SignOut)?;
        }
        self.network_up = true;
        self.engine.handle_online(self.now);
        self.drain();
        let fetches_before = self.token_fetches;
        let start = self.now;
        let end = start + Duration::from_secs(600);
        let mut rounds = 0;
        while self.now < end {
            rounds += 1;
            if rounds > 100_000 {
                return Err("no quiet after healing".into());
            }
            // Everything in flight is handled, every fetch answered with a fresh token.
            let mut busy = true;
            while busy {
                busy = false;
                while let Some((_, user)) = self.fetches.first() {
                    let valid =
                        user.as_ref().and_then(|u| self.last_token.get(u)).is_some_and(|t| {
                            self.server.tokens.get(t).is_some_and(|(_, exp)| *exp > self.now_secs())
                        });
                    let answer = match source {
                        Source::Fresh => Answer::New,
                        Source::Caching if valid => Answer::Same,
                        Source::Caching => Answer::New,
                        Source::Stuck => Answer::Same,
                    };
                    self.step(Step::AnswerToken(answer))?;
                    busy = true;
                }
                if self.pending_socket.is_some() {
                    self.step(Step::SocketOpens)?;
                    busy = true;
                }
                if let Some((_, index)) = self.socket {
                    if !self.server.sockets[index].inbox.is_empty() {
                        self.step(Step::ServerProcess(true))?;
                        busy = true;
                    }
                    if !self.server.sockets[index].outbox.is_empty() {
                        self.step(Step::Deliver)?;
                        busy = true;
                    }
                }
            }
            let next = self
                .engine
                .poll_timeout()
                .unwrap_or(end)
                .min(end)
                .max(self.now + Duration::from_millis(1));
            // The server pings every 15 s: the socket is never silent for long.
            let next = next.min(self.now + Duration::from_secs(15));
            self.advance_to(next)?;
            if let Some((socket, _)) = self.socket {
                self.engine.handle_text(socket, r#"{"type":"Ping"}"#, self.now);
                self.drain();
            }
        }
        // Converged?
        let state = self.engine.connection_state();
        if state.has_inflight_requests {
            return Err(format!("requests never completed: {state:?}"));
        }
        if !self.engine.identity_settled() {
            return Err(format!("identity never settled ({:?})", self.engine.principal()));
        }
        if self.engine.principal() != Principal::Anonymous
            && self.engine.auth_status() != AuthStatus::Authenticated
        {
            return Err(format!("signed in but {:?}", self.engine.auth_status()));
        }
        let user = self.user_of(self.engine.principal());
        for (_, query) in &self.subs {
            let (path, _) =
                self.engine.query_info(*query).ok_or("a subscribed query is unknown")?;
            let expected = evaluate(&self.server.posts, path, user.as_deref());
            let expected_value = Value::from_json(&expected).map_err(|e| e.to_string())?;
            match self.engine.query_result(*query) {
                Some(Ok(v)) if v.value().ok().as_deref() == Some(&expected_value) => {}
                other => return Err(format!("{path} shows {other:?}, the server has {expected}")),
            }
        }
        for id in self.mutations.keys() {
            if !self.done.contains_key(id) {
                return Err(format!("mutation {id} never completed"));
            }
        }
        // Ten minutes of 60 s tokens refreshed at 50 s: about 12 fetches (a caching source
        // answers the first refresh with the same token, so up to 3 a token), never a poll.
        let fetches = self.token_fetches - fetches_before;
        if fetches > if source == Source::Caching { 40 } else { 16 } {
            return Err(format!("{fetches} token fetches in 10 quiet minutes"));
        }
        Ok(())
    }
}

/// Runs `steps`; the first failure, if any.
fn run(seed: u64, steps: &[Step]) -> Result<(), Failure> {
    let mut sim = Sim::new(seed);
    for (i, step) in steps.iter().enumerate() {
        sim.step(*step).map_err(|e| format!("after step {i} ({step:?}): {e}"))?;
    }
    let source = [Source::Fresh, Source::Caching, Source::Stuck][seed as usize % 3];
    sim.settle(source).map_err(|e| format!("after healing: {e}"))
}

/// The shortest list of steps (by removing steps) that still fails.
fn shrink(seed: u64, mut steps: Vec<Step>) -> Vec<Step> {
    let mut chunk = steps.len() / 2;
    while chunk >= 1 {
        let mut i = 0;
        while i < steps.len() {
            let mut candidate = steps.clone();
            candidate.drain(i..(i + chunk).min(steps.len()));
            if run(seed, &candidate).is_err() {
                steps = candidate;
            } else {
                i += chunk;
            }
        }
        chunk /= 2;
    }
    steps
}

const STEPS: usize = 160;

fn check_seed(seed: u64) -> Result<(), String> {
    let steps = schedule(seed, STEPS);
    if let Err(first) = run(seed, &steps) {
        let minimal = shrink(seed, steps);
        let error = run(seed, &minimal).err().unwrap_or_default();
        return Err(format!(
            "seed {seed} fails: {first}\nminimal schedule ({} steps), replay with SIM_SEED={seed}:\n{minimal:#?}\nit fails {error}",
            minimal.len()
        ));
    }
    Ok(())
}

#[test]
fn the_engine_against_a_model_server_under_random_schedules() {
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        check_seed(seed).unwrap_or_else(|e| panic!("{e}"));
        return;
    }
    let seeds: u64 = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5_000);
    for seed in 0..seeds {
        check_seed(seed).unwrap_or_else(|e| panic!("{e}"));
    }
}
