//! Table-driven tests of the protocol rules, with a fake clock and a hand-driven server side.
//! Every frame the engine transmits is also parsed with the official `convex_sync_types`
//! (wire compatibility, client → server).

use std::time::Duration;

use serde_json::{json, Value as Json};

use super::{protocol::QueryId, *};
use crate::{
    sync::token::fake_jwt,
    value::{encode_ts, Value},
};

fn obj(json: Json) -> Value {
    Value::from_json(&json).expect("test value")
}

fn empty() -> Value {
    obj(json!({}))
}

/// The engine, a clock, and the server's view of versions.
struct Harness {
    engine: SyncEngine,
    now: Duration,
    socket: Option<SocketId>,
    sent: Vec<Json>,
    events: Vec<Event>,
    /// The server's (querySet, identity, ts) as last sent.
    version: (u32, u32, u64),
}

impl Harness {
    fn new() -> Self {
        Self::with_config(SyncConfig::default())
    }

    fn with_config(config: SyncConfig) -> Self {
        let engine =
            SyncEngine::new(config, "1c2f3b9a-5d6e-4f70-8a9b-0c1d2e3f4a5b".into(), Duration::ZERO);
        let mut h = Harness {
            engine,
            now: Duration::ZERO,
            socket: None,
            sent: vec![],
            events: vec![],
            version: (0, 0, 0),
        };
        h.drain();
        h
    }

    /// Collects transmits and events; remembers socket requests.
    fn drain(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(frame) = self.engine.poll_transmit() {
                let json: Json = serde_json::from_str(&frame).expect("engine sent invalid JSON");
                convex_sync_types::ClientMessage::try_from(json.clone())
                    .unwrap_or_else(|e| panic!("convex_sync_types rejects {json}: {e}"));
                self.sent.push(json);
                progressed = true;
            }
            while let Some(event) = self.engine.poll_event() {
                match &event {
                    Event::OpenSocket { socket } => self.socket = Some(*socket),
                    Event::CloseSocket { socket } if Some(*socket) == self.socket => {
                        self.socket = None
                    }
                    _ => {}
                }
                self.events.push(event);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    fn open(&mut self) {
        let socket = self.socket.expect("the engine asked for a socket");
        // The server starts every socket from the initial version.
        self.version = (0, 0, 0);
        self.engine.handle_open(socket, self.now, Some(1_700_000_000_000));
        self.drain();
    }

    fn close(&mut self, reason: Option<&str>) {
        let socket = self.socket.take().expect("a socket");
        self.engine.handle_close(socket, reason, self.now);
        self.drain();
    }

    fn deliver(&mut self, message: Json) {
        let socket = self.socket.expect("a socket");
        self.engine.handle_text(socket, &message.to_string(), self.now);
        self.drain();
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.engine.poll_timeout().filter(|d| *d <= target) {
            self.now = deadline.max(self.now);
            self.engine.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    fn take_sent(&mut self) -> Vec<Json> {
        std::mem::take(&mut self.sent)
    }

    fn sent_types(&mut self) -> Vec<String> {
        self.take_sent().iter().map(|m| m["type"].as_str().unwrap_or("?").to_string()).collect()
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn version_json(v: (u32, u32, u64)) -> Json {
        json!({"querySet": v.0, "identity": v.1, "ts": encode_ts(v.2)})
    }

    /// A Transition from the server's current version to (query_set, identity, ts).
    fn transition(&mut self, query_set: u32, identity: u32, ts: u64, modifications: Json) {
        let start = Self::version_json(self.version);
        self.version = (query_set, identity, ts);
        let end = Self::version_json(self.version);
        self.deliver(json!({"type": "Transition", "startVersion": start, "endVersion": end,
            "modifications": modifications, "clientClockSkew": 0, "serverTs": 1}));
    }

    fn value(&self, query: QueryId) -> Option<Json> {
        match self.engine.query_result(query)? {
            Ok(v) => Some(v.value().expect("a value").to_json().expect("json")),
            Err(e) => Some(json!({"error": e.to_string()})),
        }
    }
}

fn updated(query: QueryId, value: Json) -> Json {
    json!({"type": "QueryUpdated", "queryId": query, "value": value, "logLines": [], "journal": null})
}

/// The events of one kind, as `pick` maps them.
fn pick<T>(events: &[Event], pick: impl Fn(&Event) -> Option<T>) -> Vec<T> {
    events.iter().filter_map(pick).collect()
}

fn changed(events: &[Event]) -> Vec<QueryId> {
    pick(events, |e| match e {
        Event::QueryChanged { query } => Some(*query),
        _ => None,
    })
}

fn mutation_done(events: &[Event]) -> Vec<(RequestId, bool)> {
    pick(events, |e| match e {
        Event::MutationDone { request, result } => Some((*request, result.is_ok())),
        _ => None,
    })
}

fn token_fetches(events: &[Event]) -> Vec<(TokenRequestId, bool)> {
    pick(events, |e| match e {
        Event::FetchToken { request, force_refresh } => Some((*request, *force_refresh)),
        _ => None,
    })
}

// ----- connection and query set -----

#[test]
fn connect_carries_a_stable_session_and_the_query_set_follows() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts.js:list", &empty()).unwrap();
    h.open();
    let sent = h.take_sent();
    assert_eq!(sent[0]["type"], "Connect");
    assert_eq!(sent[0]["connectionCount"], 0);
    assert_eq!(sent[0]["lastCloseReason"], "InitialConnect");
    assert_eq!(sent[0]["clientTs"], 1_700_000_000_000u64);
    let session = sent[0]["sessionId"].clone();
    assert_eq!(
        sent[1],
        json!({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1,
        "modifications": [{"type": "Add", "queryId": q, "udfPath": "posts:list", "args": [{}]}]})
    );

    h.close(None);
    h.advance(Duration::from_secs(2));
    h.open();
    let sent = h.take_sent();
    assert_eq!(sent[0]["sessionId"], session, "one session id for the client's whole life");
    assert_eq!(sent[0]["connectionCount"], 1);
    assert_eq!(sent[0]["lastCloseReason"], "Unknown");
}

#[test]
fn subscriptions_are_deduplicated_refcounted_and_batched() {
    let mut h = Harness::new();
    h.open();
    h.take_sent();
    let args = obj(json!({"id": "x"}));
    let (a, q1) = h.engine.subscribe("posts:get", &args).unwrap();
    let (b, q2) = h.engine.subscribe("posts:get", &args).unwrap();
    let (c, q3) = h.engine.subscribe("posts:list", &empty()).unwrap();
    assert_eq!(q1, q2);
    assert_ne!(q1, q3);
    h.engine.unsubscribe(c); // withdrawn before it was sent
    h.drain();
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1, "one ModifyQuerySet per batch: {sent:?}");
    assert_eq!(sent[0]["modifications"].as_array().unwrap().len(), 1);

    h.engine.unsubscribe(a);
    h.drain();
    assert!(h.take_sent().is_empty(), "still one subscriber");
    h.engine.unsubscribe(b);
    h.drain();
    let sent = h.take_sent();
    assert_eq!(sent[0]["modifications"], json!([{"type": "Remove", "queryId": q1}]));
    assert_eq!(
        (sent[0]["baseVersion"].clone(), sent[0]["newVersion"].clone()),
        (json!(1), json!(2))
    );

    let (_, q4) = h.engine.subscribe("posts:get", &args).unwrap();
    assert!(q4 > q3, "query ids are never reused");
}

#[test]
fn a_transition_must_start_at_the_clients_version() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.transition(1, 0, 10, json!([updated(q, json!([1]))]));
    assert_eq!(h.value(q), Some(json!([1.0])));
    h.take_events();
    // The server skips a version: the client refuses it and reconnects.
    h.version = (5, 0, 10);
    h.transition(6, 0, 11, json!([updated(q, json!([2]))]));
    let events = h.take_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::Warning(w) if w.contains("does not start at"))),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, Event::CloseSocket { .. })));
    assert_eq!(h.value(q), Some(json!([1.0])), "the bad Transition is not applied");
}

#[test]
fn query_failures_carry_convex_error_data_and_logs_are_forwarded() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:get", &obj(json!({"id": "x"}))).unwrap();
    h.open();
    h.transition(
        1,
        0,
        1,
        json!([{"type": "QueryFailed", "queryId": q, "errorMessage": "boom",
        "errorData": {"code": "NOPE"}, "logLines": ["[LOG] 'hi'"], "journal": null}]),
    );
    match h.engine.query_result(q) {
        Some(Err(ConvexError::Function { message, data })) => {
            assert_eq!(message, "boom");
            assert_eq!(data.unwrap().to_json().unwrap(), json!({"code": "NOPE"}));
        }
        other => panic!("{other:?}"),
    }
    let events = h.take_events();
    assert!(events.contains(&Event::ServerLog {
        udf_path: "posts:get".into(),
        kind: FunctionKind::Query,
        lines: vec!["[LOG] 'hi'".into()],
    }));
}

// ----- mutations -----

#[test]
fn mutations_complete_only_when_a_transition_reaches_their_ts() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.transition(1, 0, 3, json!([updated(q, json!([]))]));
    let m = h.engine.mutation("posts:create", &obj(json!({"title": "t"})), None, h.now).unwrap();
    h.drain();
    assert_eq!(h.take_sent().last().unwrap()["type"], "Mutation");
    h.take_events();
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": true, "result": "id1", "ts": encode_ts(5), "logLines": []}));
    assert!(mutation_done(&h.take_events()).is_empty(), "not before its effect is visible");
    h.transition(1, 0, 4, json!([]));
    assert!(mutation_done(&h.take_events()).is_empty(), "ts 4 < 5");
    h.transition(1, 0, 5, json!([updated(q, json!(["id1"]))]));
    let events = h.take_events();
    let change_at = events.iter().position(|e| matches!(e, Event::QueryChanged { .. })).unwrap();
    let done_at = events.iter().position(|e| matches!(e, Event::MutationDone { .. })).unwrap();
    assert!(change_at < done_at, "results first, then the mutation resolves: {events:?}");
    assert_eq!(mutation_done(&events), vec![(m, true)]);
}

#[test]
fn subscriptions_made_before_a_mutation_are_sent_before_it() {
    let mut h = Harness::new();
    h.open();
    h.take_sent();
    h.engine.subscribe("posts:list", &empty()).unwrap();
    h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    assert_eq!(h.sent_types(), ["ModifyQuerySet", "Mutation"]);
    // Also when both waited for a token.
    let mut h = Harness::new();
    h.open();
    h.engine.set_auth();
    h.engine.subscribe("posts:list", &empty()).unwrap();
    h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.take_sent();
    sign_in(&mut h, &fake_jwt(0, 60, "alice"), false);
    assert_eq!(h.sent_types(), ["Authenticate", "ModifyQuerySet", "Mutation"]);
}

#[test]
fn failed_mutations_complete_at_once() {
    let mut h = Harness::new();
    h.open();
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": false, "result": "nope", "ts": null, "logLines": [], "errorData": {"code": "UNAUTHENTICATED"}}));
    let events = h.take_events();
    match events.iter().find(|e| matches!(e, Event::MutationDone { .. })) {
        Some(Event::MutationDone { result: Err(e), .. }) => {
            assert_eq!(e.data().unwrap().to_json().unwrap(), json!({"code": "UNAUTHENTICATED"}))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_args_are_refused_before_anything_is_sent() {
    let mut h = Harness::new();
    h.open();
    h.take_sent();
    assert!(matches!(
        h.engine.mutation("a:b", &Value::Float64(1.0), None, h.now),
        Err(ConvexError::InvalidArgs(_))
    ));
    let reserved = Value::Object([("$bad".to_string(), Value::from(1.0))].into_iter().collect());
    assert!(matches!(h.engine.subscribe("a:b", &reserved), Err(ConvexError::InvalidArgs(_))));
    h.drain();
    assert!(h.take_sent().is_empty());
}

fn add_post(store: &mut LocalStore<'_>) {
    let args = Value::Object(Default::default());
    if let Some(list) = store.get_query("posts:list", &args) {
        let list = list.value().expect("a value");
        let mut items = list.as_array().map(<[Value]>::to_vec).unwrap_or_default();
        items.insert(0, Value::from("optimistic"));
        store.set_query("posts:list", &args, Some(Value::Array(items)));
    }
}

#[test]
fn optimistic_updates_replay_over_new_results_and_drop_without_flicker() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.transition(1, 0, 1, json!([updated(q, json!(["a"]))]));
    h.take_events();
    let m = h.engine.mutation("posts:create", &empty(), Some(Box::new(add_post)), h.now).unwrap();
    h.drain();
    assert_eq!(changed(&h.take_events()), vec![q], "applied at once");
    assert_eq!(h.value(q), Some(json!(["optimistic", "a"])));

    // Someone else's post arrives first: the update is replayed over it.
    h.transition(1, 0, 2, json!([updated(q, json!(["b", "a"]))]));
    assert_eq!(h.value(q), Some(json!(["optimistic", "b", "a"])));
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": true, "result": null, "ts": encode_ts(3), "logLines": []}));
    assert_eq!(h.value(q), Some(json!(["optimistic", "b", "a"])), "still shown until reflected");
    h.take_events();
    // The Transition that reflects the mutation drops the update in the same step.
    h.transition(1, 0, 3, json!([updated(q, json!(["real", "b", "a"]))]));
    assert_eq!(h.value(q), Some(json!(["real", "b", "a"])));
    let events = h.take_events();
    assert_eq!(changed(&events), vec![q], "exactly one change, no intermediate state");
    assert_eq!(mutation_done(&events), vec![(m, true)]);
}

#[test]
fn optimistic_updates_roll_back_when_the_mutation_fails() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.transition(1, 0, 1, json!([updated(q, json!(["a"]))]));
    let m = h.engine.mutation("posts:create", &empty(), Some(Box::new(add_post)), h.now).unwrap();
    h.drain();
    h.take_events();
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": false, "result": "denied", "ts": null, "logLines": []}));
    assert_eq!(h.value(q), Some(json!(["a"])));
    let events = h.take_events();
    assert_eq!(changed(&events), vec![q]);
    assert_eq!(mutation_done(&events), vec![(m, false)]);
}

// ----- reconnects -----

#[test]
fn reconnect_rebuilds_auth_then_queries_then_unfinished_mutations() {
    let mut h = Harness::new();
    h.engine.set_auth();
    h.drain();
    let (fetch, _) = token_fetches(&h.take_events())[0];
    let token = fake_jwt(1000, 1060, "alice");
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.engine.handle_token(fetch, Some(token.clone()), h.now);
    h.drain();
    assert_eq!(h.sent_types(), ["Connect", "Authenticate", "ModifyQuerySet"]);
    h.transition(1, 1, 5, json!([updated(q, json!([]))]));
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    let unanswered = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": true, "result": "id", "ts": encode_ts(9), "logLines": []}));
    h.take_sent();

    h.close(Some("InternalServerError"));
    assert_eq!(h.value(q), Some(json!([])), "old results stay visible while reconnecting");
    h.advance(Duration::from_secs(2));
    h.open();
    let sent = h.take_sent();
    let types: Vec<&str> = sent.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Connect", "Authenticate", "ModifyQuerySet", "Mutation", "Mutation"]);
    assert_eq!(sent[0]["lastCloseReason"], "InternalServerError");
    assert_eq!(sent[0]["maxObservedTimestamp"], encode_ts(5));
    assert_eq!(sent[1]["baseVersion"], 0);
    assert_eq!(sent[1]["value"], token);
    assert_eq!(sent[2]["modifications"][0]["queryId"], json!(q));
    assert_eq!(
        (&sent[3]["requestId"], &sent[4]["requestId"]),
        (&json!(m), &json!(unanswered)),
        "unfinished mutations are re-sent, the committed-but-unseen one too: the server \
         deduplicates them and answers with the recorded ts"
    );
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": true, "result": "id", "ts": encode_ts(9), "logLines": []}));
    h.transition(0, 1, 9, json!([]));
    assert!(
        mutation_done(&h.take_events()).is_empty(),
        "the query still shows the old socket's result"
    );
    h.transition(1, 1, 9, json!([updated(q, json!(["id"]))]));
    assert_eq!(mutation_done(&h.take_events()), vec![(m, true)]);
}

#[test]
fn actions_in_flight_fail_on_reconnect_and_are_never_resent() {
    let mut h = Harness::new();
    h.open();
    let a = h.engine.action("posts:summarize", &empty(), h.now).unwrap();
    h.drain();
    h.take_sent();
    h.close(None);
    let events = h.take_events();
    assert!(events
        .contains(&Event::ActionDone { request: a, result: Err(ConvexError::ConnectionLost) }));
    h.advance(Duration::from_secs(2));
    h.open();
    assert_eq!(h.sent_types(), ["Connect"], "nothing re-sent");
    // An action made while disconnected waits and goes once connected.
    h.close(None);
    let b = h.engine.action("posts:summarize", &empty(), h.now).unwrap();
    h.advance(Duration::from_secs(3));
    h.open();
    let sent = h.take_sent();
    assert_eq!(sent.last().unwrap()["requestId"], json!(b));
}

fn reconnect_delay(h: &mut Harness) -> Duration {
    let deadline = h.engine.poll_timeout();
    deadline.unwrap_or_else(|| panic!("a reconnect is scheduled; events {:?}", h.events)) - h.now
}

#[test]
fn backoff_depends_on_the_close_reason_doubles_and_resets_after_catching_up() {
    let cases: [(Option<&str>, f64); 3] =
        [(None, 1.0), (Some("InternalServerError"), 1.0), (Some("TooManyConcurrentRequests"), 3.0)];
    for (reason, base) in cases {
        let mut h = Harness::new();
        for retry in 0..4 {
            h.open();
            h.close(reason);
            let expected = (base * 2f64.powi(retry)).min(16.0);
            let got = reconnect_delay(&mut h).as_secs_f64();
            assert!(
                got >= expected * 0.5 && got <= expected * 1.5,
                "{reason:?} retry {retry}: {got}s vs {expected}s"
            );
            // To the reconnect (not beyond: an unopened socket times out after 10 s).
            let delay = reconnect_delay(&mut h);
            h.advance(delay);
        }
        assert_eq!(h.engine.connection_state().connection_retries, 4);
        // Catching up (no queries, no requests, no auth) resets the count.
        h.open();
        h.transition(0, 0, 1, json!([]));
        assert_eq!(h.engine.connection_state().connection_retries, 0);
    }
    // The client closing its own socket (server silent) backs off from 100 ms.
    let mut h = Harness::new();
    h.open();
    h.advance(Duration::from_secs(60));
    assert!(h.take_events().iter().any(|e| matches!(e, Event::CloseSocket { .. })));
    let got = reconnect_delay(&mut h).as_secs_f64();
    assert!((0.05..=0.15).contains(&got), "{got}");
}

#[test]
fn backoff_does_not_reset_until_queries_have_fresh_results() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.close(None);
    h.advance(Duration::from_secs(2));
    h.open();
    h.transition(0, 0, 1, json!([]));
    assert_eq!(h.engine.connection_state().connection_retries, 1, "the query has no result yet");
    h.transition(1, 0, 2, json!([updated(q, json!([]))]));
    assert_eq!(h.engine.connection_state().connection_retries, 0);
}

#[test]
fn online_and_visibility_reconnect_at_once() {
    let mut h = Harness::new();
    h.open();
    h.close(None);
    h.take_events();
    h.engine.handle_online(h.now);
    h.drain();
    assert!(h.take_events().iter().any(|e| matches!(e, Event::OpenSocket { .. })));
    h.open();
    // A socket silent for 25 s while the tab was hidden is replaced when it becomes visible.
    h.advance(Duration::from_secs(25));
    h.take_events();
    h.engine.handle_visibility(true, h.now);
    h.drain();
    let events = h.take_events();
    assert!(events.iter().any(|e| matches!(e, Event::CloseSocket { .. })), "{events:?}");
    assert!(events.iter().any(|e| matches!(e, Event::OpenSocket { .. })), "{events:?}");
    // A lively socket is left alone.
    h.open();
    h.deliver(json!({"type": "Ping"}));
    h.take_events();
    h.engine.handle_visibility(true, h.now);
    h.drain();
    assert!(!h.take_events().iter().any(|e| matches!(e, Event::CloseSocket { .. })));
}

#[test]
fn malformed_messages_reconnect_and_lose_nothing() {
    let mut h = Harness::new();
    h.open();
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.take_sent();
    for garbage in ["not json", r#"{"type":"Teleport"}"#, r#"{"type":"Transition"}"#] {
        let socket = h.socket.unwrap();
        h.engine.handle_text(socket, garbage, h.now);
        h.drain();
        let events = h.take_events();
        assert!(events.iter().any(|e| matches!(e, Event::Warning(_))), "{garbage}: {events:?}");
        assert!(events.iter().any(|e| matches!(e, Event::CloseSocket { .. })), "{garbage}");
        h.advance(Duration::from_secs(1));
        h.open();
        let sent = h.take_sent();
        assert_eq!(sent.last().unwrap()["requestId"], json!(m), "the mutation is re-sent");
    }
}

#[test]
fn fatal_errors_stop_the_client_and_fail_requests() {
    let mut h = Harness::new();
    h.open();
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.deliver(json!({"type": "FatalError", "error": "bad"}));
    let events = h.take_events();
    assert!(events.contains(&Event::MutationDone {
        request: m,
        result: Err(ConvexError::Fatal("bad".into()))
    }));
    assert_eq!(h.engine.connection_state().fatal_error.as_deref(), Some("bad"));
    assert_eq!(h.engine.poll_timeout(), None, "no reconnect");
}

#[test]
fn transition_chunks_are_reassembled() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("values:echo", &empty()).unwrap();
    h.open();
    let text = json!({"type": "Transition", "startVersion": Harness::version_json((0, 0, 0)),
        "endVersion": Harness::version_json((1, 0, 7)), "modifications": [updated(q, json!("é".repeat(50)))]})
    .to_string();
    let bytes = text.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let mut end = (start + 40).min(bytes.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(&text[start..end]);
        start = end;
    }
    for (i, part) in parts.iter().enumerate() {
        assert!(h.value(q).is_none());
        h.deliver(json!({"type": "TransitionChunk", "chunk": part, "partNumber": i, "totalParts": parts.len(), "transitionId": text.len().to_string()}));
    }
    assert_eq!(h.value(q), Some(json!("é".repeat(50))));

    // A missing part is a protocol error: reconnect.
    h.take_events();
    h.deliver(json!({"type": "TransitionChunk", "chunk": "{", "partNumber": 1, "totalParts": 3, "transitionId": "9"}));
    assert!(h.take_events().iter().any(|e| matches!(e, Event::CloseSocket { .. })));
}

// ----- auth -----

/// Signs in: set_auth, a token, confirmation. Returns the token.
fn sign_in(h: &mut Harness, token: &str, force_expected: bool) {
    let fetches = token_fetches(&h.take_events());
    let (fetch, force) = *fetches.last().expect("a token fetch");
    assert_eq!(force, force_expected);
    h.engine.handle_token(fetch, Some(token.to_string()), h.now);
    h.drain();
}

#[test]
fn set_auth_pauses_queries_until_the_token_and_authenticates_first() {
    let mut h = Harness::new();
    h.open();
    h.take_sent();
    h.engine.set_auth();
    let (_, q) = h.engine.subscribe("users:me", &empty()).unwrap();
    h.drain();
    assert!(h.take_sent().is_empty(), "held back while the token is fetched");
    assert_eq!(h.engine.auth_status(), AuthStatus::Loading);
    sign_in(&mut h, &fake_jwt(0, 60, "alice"), false);
    assert_eq!(h.sent_types(), ["Authenticate", "ModifyQuerySet"]);
    h.transition(1, 1, 1, json!([updated(q, json!({"subject": "alice"}))]));
    let events = h.take_events();
    assert_eq!(h.engine.auth_status(), AuthStatus::Authenticated);
    // The first token may have come from a cache: a fresh one is fetched right away.
    assert_eq!(token_fetches(&events).len(), 1);
    assert!(token_fetches(&events)[0].1, "forced");
}

#[test]
fn expect_auth_holds_queries_and_requests_until_the_app_sets_auth() {
    let config = SyncConfig { expect_auth: true, ..SyncConfig::default() };
    let mut h = Harness::with_config(config);
    let (_, q) = h.engine.subscribe("users:me", &empty()).unwrap();
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.open();
    assert_eq!(h.sent_types(), ["Connect"], "nothing runs anonymously first");
    assert_eq!(h.engine.auth_status(), AuthStatus::Loading);
    assert!(!h.engine.identity_settled());
    h.engine.set_auth();
    h.drain();
    assert!(h.take_sent().is_empty(), "held while the token is fetched");
    sign_in(&mut h, &fake_jwt(0, 60, "alice"), false);
    assert_eq!(h.sent_types(), ["Authenticate", "ModifyQuerySet", "Mutation"]);
    h.transition(1, 1, 1, json!([updated(q, json!({"subject": "alice"}))]));
    assert_eq!(h.value(q), Some(json!({"subject": "alice"})));
    assert!(mutation_done(&h.take_events()).is_empty(), "the mutation is running as alice");
    let _ = m;
}

#[test]
fn expect_auth_released_by_a_sign_out_runs_queries_anonymously_and_fails_requests() {
    let config = SyncConfig { expect_auth: true, ..SyncConfig::default() };
    let mut h = Harness::with_config(config);
    let (_, q) = h.engine.subscribe("users:me", &empty()).unwrap();
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.open();
    h.take_sent();
    h.engine.clear_auth();
    h.drain();
    assert_eq!(h.sent_types(), ["ModifyQuerySet"], "no Authenticate: anonymous from the start");
    assert_eq!(h.engine.auth_status(), AuthStatus::Unauthenticated);
    let failed: Vec<RequestId> = h
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::MutationDone { request, result: Err(ConvexError::IdentityChanged), .. } => {
                Some(request)
            }
            _ => None,
        })
        .collect();
    assert_eq!(failed, [m], "made for the expected user, never run as nobody");
    h.transition(1, 0, 1, json!([updated(q, json!(null))]));
    assert_eq!(h.value(q), Some(json!(null)));
}

#[test]
fn a_paginated_querys_journal_is_handed_back_on_a_new_socket() {
    let mut h = Harness::new();
    let args = obj(json!({"paginationOpts": {"numItems": 2, "cursor": null}}));
    let (_, q) = h.engine.subscribe("posts:listPaginated", &args).unwrap();
    h.open();
    h.take_sent();
    h.transition(
        1,
        0,
        1,
        json!([{"type": "QueryUpdated", "queryId": q, "value": {"page": []},
        "logLines": [], "journal": "t:5"}]),
    );
    h.close(None);
    h.advance(Duration::from_secs(2));
    h.open();
    let sent = h.take_sent();
    let add = &sent[1]["modifications"][0];
    assert_eq!(
        (add["type"].clone(), add["journal"].clone()),
        (json!("Add"), json!("t:5")),
        "{sent:?}"
    );
}

#[test]
fn tokens_refresh_at_lifetime_minus_leeway() {
    let mut h = Harness::new();
    h.open();
    h.engine.set_auth();
    h.drain();
    // First fetch answered from "the network" (force after an empty cache).
    let (f, _) = token_fetches(&h.take_events())[0];
    h.engine.handle_token(f, None, h.now);
    h.drain();
    sign_in(&mut h, &fake_jwt(1000, 1060, "alice"), true);
    h.take_sent();
    h.transition(0, 1, 1, json!([]));
    let events = h.take_events();
    assert_eq!(h.engine.auth_status(), AuthStatus::Authenticated);
    assert!(token_fetches(&events).is_empty(), "a fresh token is not re-fetched at once");
    let fetched_at = h.now;
    h.advance(Duration::from_secs(49));
    assert!(token_fetches(&h.take_events()).is_empty());
    h.advance(Duration::from_secs(1));
    let events = h.take_events();
    assert_eq!(token_fetches(&events).len(), 1, "refresh at exp - iat - 10 s");
    assert_eq!(h.now - fetched_at, Duration::from_secs(50));
    h.events = events;
    sign_in(&mut h, &fake_jwt(1050, 1110, "alice"), true);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1, "exactly one Authenticate per rotation");
    assert_eq!(sent[0]["type"], "Authenticate");
    assert_eq!(sent[0]["baseVersion"], 1);
    assert_eq!(h.engine.auth_status(), AuthStatus::Authenticated, "no loading during rotation");
    h.transition(0, 2, 2, json!([]));
    assert_eq!(h.engine.auth_status(), AuthStatus::Authenticated, "no flicker");
    assert!(h.engine.identity_settled());
}

#[test]
fn a_refresh_returning_the_same_valid_token_is_not_an_error() {
    // convex-js #184.
    let mut h = Harness::new();
    h.open();
    h.engine.set_auth();
    h.drain();
    let token = fake_jwt(0, 60, "alice");
    let (f, _) = token_fetches(&h.take_events())[0];
    h.engine.handle_token(f, None, h.now);
    h.drain();
    sign_in(&mut h, &token, true);
    h.transition(0, 1, 1, json!([]));
    h.take_events();
    h.take_sent();
    h.advance(Duration::from_secs(50));
    sign_in(&mut h, &token, true);
    h.take_events();
    assert!(h.take_sent().is_empty(), "nothing to re-send");
    assert_eq!(h.engine.auth_status(), AuthStatus::Authenticated);
    h.advance(Duration::from_secs(4));
    assert!(token_fetches(&h.take_events()).is_empty(), "no polling");
    h.advance(Duration::from_secs(1));
    assert_eq!(token_fetches(&h.take_events()).len(), 1, "asks once more as expiry nears");
}

#[test]
fn replacing_the_auth_source_never_sends_a_signed_out_state() {
    // convex-js #82.
    let mut h = Harness::new();
    h.open();
    h.engine.set_auth();
    h.drain();
    sign_in(&mut h, &fake_jwt(0, 600, "alice"), false);
    h.transition(0, 1, 1, json!([]));
    h.take_sent();
    h.engine.set_auth();
    h.drain();
    assert!(h.take_sent().is_empty(), "no Authenticate{{None}} while the new token is fetched");
    assert_eq!(h.engine.auth_status(), AuthStatus::Loading, "a new source is a new identity");
    sign_in(&mut h, &fake_jwt(0, 600, "alice-2"), false);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["tokenType"], "User");
}

fn authenticated(h: &mut Harness, token: &str) {
    h.open();
    h.engine.set_auth();
    h.drain();
    let (f, _) = token_fetches(&h.take_events())[0];
    h.engine.handle_token(f, None, h.now);
    h.drain();
    sign_in(h, token, true);
    h.transition(0, 1, 1, json!([]));
    h.take_events();
    h.take_sent();
}

#[test]
fn auth_error_branches() {
    // 1. Not about the update while confirming a new token: ignored.
    let mut h = Harness::new();
    authenticated(&mut h, &fake_jwt(0, 60, "alice"));
    h.advance(Duration::from_secs(50));
    sign_in(&mut h, &fake_jwt(50, 110, "alice"), true);
    h.deliver(json!({"type": "AuthError", "error": "Convex token identity expired", "baseVersion": 1, "authUpdateAttempted": false}));
    assert!(!h.take_events().iter().any(|e| matches!(e, Event::CloseSocket { .. })));

    // 2. About an earlier Authenticate than the latest: ignored.
    let mut h = Harness::new();
    authenticated(&mut h, &fake_jwt(0, 60, "alice"));
    h.advance(Duration::from_secs(50));
    sign_in(&mut h, &fake_jwt(50, 110, "alice"), true); // second Authenticate (base 1)
    h.deliver(
        json!({"type": "AuthError", "error": "old", "baseVersion": 0, "authUpdateAttempted": true}),
    );
    assert!(!h.take_events().iter().any(|e| matches!(e, Event::CloseSocket { .. })));

    // 3. Rejected: one forced refetch; a new token is used on the next socket.
    let mut h = Harness::new();
    authenticated(&mut h, &fake_jwt(0, 60, "alice"));
    h.deliver(
        json!({"type": "AuthError", "error": "bad", "baseVersion": 1, "authUpdateAttempted": true}),
    );
    let events = h.take_events();
    assert!(events.iter().any(|e| matches!(e, Event::CloseSocket { .. })));
    assert_eq!(token_fetches(&events).iter().map(|f| f.1).collect::<Vec<_>>(), [true]);
    h.advance(Duration::from_secs(5));
    assert!(
        !h.take_events().iter().any(|e| matches!(e, Event::OpenSocket { .. })),
        "waits for the token"
    );
    let fresh = fake_jwt(5, 65, "alice");
    let (f, _) = token_fetches(&events)[0];
    h.engine.handle_token(f, Some(fresh.clone()), h.now);
    h.drain();
    h.open();
    let sent = h.take_sent();
    assert_eq!(sent[1]["value"], fresh);

    // 4. The refetch brings the same (rejected) token, or none: signed out.
    for answer in [Some(fake_jwt(0, 60, "alice")), None] {
        let mut h = Harness::new();
        authenticated(&mut h, &fake_jwt(0, 60, "alice"));
        h.deliver(json!({"type": "AuthError", "error": "bad", "baseVersion": 1, "authUpdateAttempted": true}));
        let (f, _) = token_fetches(&h.take_events())[0];
        h.engine.handle_token(f, answer, h.now);
        h.drain();
        h.take_events();
        assert_eq!(h.engine.auth_status(), AuthStatus::Unauthenticated);
        h.advance(Duration::from_secs(1));
        h.open();
        assert_eq!(h.sent_types(), ["Connect"], "reconnects signed out");
    }

    // 5. After two failed confirmations the client gives up.
    let mut h = Harness::new();
    authenticated(&mut h, &fake_jwt(0, 60, "alice"));
    for n in 0..3 {
        h.deliver(json!({"type": "AuthError", "error": "bad", "baseVersion": 1, "authUpdateAttempted": true}));
        let events = h.take_events();
        if n == 2 {
            assert_eq!(h.engine.auth_status(), AuthStatus::Unauthenticated, "{events:?}");
            break;
        }
        let (f, _) = token_fetches(&events)[0];
        h.engine.handle_token(f, Some(fake_jwt(100 + n, 160 + n, "alice")), h.now);
        h.drain();
        h.advance(Duration::from_secs(1));
        h.open();
        h.version = (0, 1, 1);
    }
}

#[test]
fn clear_auth_tells_the_server() {
    let mut h = Harness::new();
    authenticated(&mut h, &fake_jwt(0, 60, "alice"));
    h.engine.clear_auth();
    h.drain();
    let sent = h.take_sent();
    assert_eq!(sent[0], json!({"type": "Authenticate", "baseVersion": 1, "tokenType": "None"}));
    assert_eq!(h.engine.auth_status(), AuthStatus::Unauthenticated);
    assert!(h.take_events().contains(&Event::AuthStateChanged));
}

#[test]
fn server_messages_built_by_convex_sync_types_parse() {
    use convex_sync_types as cst;
    #[derive(Clone, Debug)]
    struct V(Json);
    impl From<V> for Json {
        fn from(v: V) -> Json {
            v.0
        }
    }
    let ts = cst::Timestamp::try_from(5u64).unwrap();
    let version = cst::StateVersion { query_set: 1, identity: 2, ts };
    let messages: Vec<cst::ServerMessage<V>> = vec![
        cst::ServerMessage::Transition {
            start_version: version,
            end_version: version,
            modifications: vec![
                cst::StateModification::QueryUpdated {
                    query_id: cst::QueryId::new(0),
                    value: V(json!({"$integer": "AQAAAAAAAAA="})),
                    log_lines: cst::LogLinesMessage(vec!["l".into()]),
                    journal: None,
                },
                cst::StateModification::QueryFailed {
                    query_id: cst::QueryId::new(1),
                    error_message: "e".into(),
                    log_lines: cst::LogLinesMessage(vec![]),
                    journal: None,
                    error_data: Some(V(json!({"code": 1}))),
                },
                cst::StateModification::QueryRemoved { query_id: cst::QueryId::new(2) },
            ],
            client_clock_skew: Some(3),
            server_ts: Some(ts),
        },
        cst::ServerMessage::TransitionChunk {
            chunk: "{".into(),
            part_number: 0,
            total_parts: 2,
            transition_id: "1".into(),
        },
        cst::ServerMessage::MutationResponse {
            request_id: 1,
            result: Ok(V(json!(null))),
            ts: Some(ts),
            log_lines: cst::LogLinesMessage(vec![]),
        },
        cst::ServerMessage::MutationResponse {
            request_id: 2,
            result: Err(cst::ErrorPayload::ErrorData { message: "m".into(), data: V(json!("d")) }),
            ts: None,
            log_lines: cst::LogLinesMessage(vec![]),
        },
        cst::ServerMessage::ActionResponse {
            request_id: 3,
            result: Err(cst::ErrorPayload::Message("m".into())),
            log_lines: cst::LogLinesMessage(vec![]),
        },
        cst::ServerMessage::ActionResponse {
            request_id: 4,
            result: Ok(V(json!([1, "x"]))),
            log_lines: cst::LogLinesMessage(vec![]),
        },
        cst::ServerMessage::AuthError {
            error_message: "a".into(),
            base_version: Some(1),
            auth_update_attempted: Some(true),
        },
        cst::ServerMessage::FatalError { error_message: "f".into() },
        cst::ServerMessage::Ping,
    ];
    for message in messages {
        let json: Json = message.clone().into();
        let parsed = protocol::ServerMessage::parse(&json.to_string())
            .unwrap_or_else(|e| panic!("cannot parse {json}: {e}"));
        match (&message, &parsed) {
            (
                cst::ServerMessage::Transition { modifications, .. },
                protocol::ServerMessage::Transition { modifications: ours, end_version, .. },
            ) => {
                assert_eq!(modifications.len(), ours.len());
                assert_eq!(
                    *end_version,
                    protocol::StateVersion { query_set: 1, identity: 2, ts: 5 }
                );
                assert!(
                    matches!(&ours[0], protocol::StateModification::QueryUpdated { value, .. } if *value.value().unwrap() == Value::Int64(1))
                );
                assert!(
                    matches!(&ours[1], protocol::StateModification::QueryFailed { error, .. } if error.data.is_some())
                );
            }
            (
                cst::ServerMessage::MutationResponse { ts: Some(_), .. },
                protocol::ServerMessage::MutationResponse { ts, .. },
            ) => {
                assert_eq!(*ts, Some(5))
            }
            _ => {}
        }
    }
}

#[test]
fn results_are_shared_not_copied() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:list", &empty()).unwrap();
    h.open();
    h.transition(1, 0, 1, json!([updated(q, json!(["a"]))]));
    let a = h.engine.query_result(q).unwrap().unwrap();
    let b = h.engine.query_result(q).unwrap().unwrap();
    assert!(a.ptr_eq(&b));
}

#[test]
fn results_are_hidden_while_the_identity_changes_but_not_during_a_refresh() {
    // convex-js #152: no result of the old identity may be shown as the new one's.
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("users:me", &empty()).unwrap();
    h.open();
    h.transition(1, 0, 1, json!([updated(q, json!(null))]));
    assert!(h.engine.identity_settled());
    h.engine.set_auth();
    h.drain();
    assert!(!h.engine.identity_settled(), "signing in: anonymous results are not alice's");
    let events = h.take_events();
    assert!(events.contains(&Event::AuthStateChanged));
    let (f, _) = token_fetches(&events)[0];
    h.engine.handle_token(f, None, h.now);
    h.drain();
    sign_in(&mut h, &fake_jwt(0, 60, "alice"), true);
    assert!(!h.engine.identity_settled(), "sent, not yet confirmed");
    h.transition(1, 1, 2, json!([updated(q, json!({"subject": "alice"}))]));
    assert!(h.engine.identity_settled());
    // A refresh for the same user keeps results on screen throughout.
    h.advance(Duration::from_secs(50));
    sign_in(&mut h, &fake_jwt(50, 110, "alice"), true);
    assert!(h.engine.identity_settled());
    assert!(h.engine.is_refreshing());
    h.transition(1, 2, 3, json!([]));
    assert!(!h.engine.is_refreshing());
    // Signing out hides results until the server re-ran them signed out.
    h.take_sent();
    h.engine.clear_auth();
    h.drain();
    assert!(!h.engine.identity_settled());
    h.transition(1, 3, 4, json!([updated(q, json!(null))]));
    assert!(h.engine.identity_settled());
    // Setting an auth source that has no token leaves an anonymous client settled.
    h.engine.set_auth();
    h.drain();
    for _ in 0..2 {
        let (f, _) = *token_fetches(&h.take_events()).last().unwrap();
        h.engine.handle_token(f, None, h.now);
        h.drain();
    }
    assert!(h.engine.identity_settled());
}

#[test]
fn unsubscriptions_reach_the_server_before_a_sign_out() {
    let mut h = Harness::new();
    authenticated(&mut h, &fake_jwt(0, 600, "alice"));
    let (sub, _) = h.engine.subscribe("users:me", &empty()).unwrap();
    h.drain();
    h.take_sent();
    h.engine.unsubscribe(sub);
    h.engine.clear_auth();
    h.drain();
    assert_eq!(h.sent_types(), ["ModifyQuerySet", "Authenticate"]);
}

#[test]
fn lookup_finds_a_subscribed_querys_result() {
    let mut h = Harness::new();
    let (_, q) = h.engine.subscribe("posts:get", &obj(json!({"id": "a"}))).unwrap();
    h.open();
    h.transition(1, 0, 1, json!([updated(q, json!("x"))]));
    assert_eq!(h.engine.lookup("posts.js:get", &obj(json!({"id": "a"}))), h.engine.query_result(q));
    assert_eq!(h.engine.lookup("posts:get", &obj(json!({"id": "b"}))), None);
}

// ----- issue 7: identity and auth regressions (each failed on the engine before the split) -----

/// Alice signed in with `users:me` showing her; the socket is open at identity version 1.
fn alice_with_me(h: &mut Harness) -> QueryId {
    let (_, q) = h.engine.subscribe("users:me", &empty()).unwrap();
    authenticated(h, &fake_jwt(0, 600, "alice"));
    h.transition(1, 1, 2, json!([updated(q, json!("alice"))]));
    assert_eq!(h.value(q), Some(json!("alice")));
    q
}

#[test]
fn defect_1_a_sign_out_while_offline_never_leaves_queries_loading() {
    // Three ways to end signed out with no socket: the app signs out, a refresh finds no
    // token, or the recovery after a refusal brings the refused token back.
    for way in 0..3 {
        let mut h = Harness::new();
        let q = alice_with_me(&mut h);
        match way {
            0 => {
                h.close(None);
                h.engine.clear_auth();
            }
            1 => {
                h.close(None);
                h.advance(Duration::from_secs(590)); // the refresh comes due while offline
                let (f, _) = *token_fetches(&h.take_events()).last().expect("a refresh");
                h.engine.handle_token(f, None, h.now);
            }
            _ => {
                h.deliver(json!({"type": "AuthError", "error": "bad", "baseVersion": 0, "authUpdateAttempted": false}));
                let (f, _) = *token_fetches(&h.take_events()).last().expect("a recovery fetch");
                h.engine.handle_token(f, Some(fake_jwt(0, 600, "alice")), h.now);
            }
        }
        h.drain();
        assert_eq!(h.engine.auth_status(), AuthStatus::Unauthenticated, "way {way}");
        assert_eq!(h.value(q), None, "way {way}: alice's result is hidden");
        h.engine.handle_online(h.now); // the network is back: reconnect now
        h.drain();
        h.take_sent();
        h.open();
        assert_eq!(h.sent_types(), ["Connect", "ModifyQuerySet"], "way {way}: no Authenticate");
        assert!(h.engine.identity_settled(), "way {way}: a signed-out socket is settled at once");
        h.transition(1, 0, 3, json!([updated(q, json!(null))]));
        assert_eq!(h.value(q), Some(json!(null)), "way {way}: signed-out data, not Loading");
    }
}

#[test]
fn defect_2_a_user_switch_across_a_dropped_socket_never_shows_the_previous_users_result() {
    let mut h = Harness::new();
    let q = alice_with_me(&mut h);
    h.engine.set_auth();
    h.drain();
    h.close(None);
    let (f, _) = *token_fetches(&h.take_events()).last().unwrap();
    h.engine.handle_token(f, Some(fake_jwt(0, 600, "bob")), h.now);
    h.drain();
    h.engine.handle_online(h.now);
    h.drain();
    h.open();
    assert_eq!(h.sent_types(), ["Connect", "Authenticate", "ModifyQuerySet"]);
    // The backend answers the Authenticate before it sees the query set: identity only.
    h.transition(0, 1, 2, json!([]));
    assert_eq!(h.value(q), None, "alice's result from the old socket is not bob's");
    assert_eq!(h.engine.lookup("users:me", &empty()), None);
    h.transition(1, 1, 3, json!([updated(q, json!("bob"))]));
    assert_eq!(h.value(q), Some(json!("bob")));
    assert!(h.engine.identity_settled());
}

#[test]
fn defect_3_an_older_tokens_confirmation_is_not_taken_for_the_newer_one() {
    let mut h = Harness::new();
    h.open();
    h.engine.set_auth();
    h.drain();
    sign_in(&mut h, &fake_jwt(0, 600, "alice"), false);
    h.engine.set_auth();
    h.drain();
    sign_in(&mut h, &fake_jwt(0, 600, "bob"), false);
    let sent = h.take_sent();
    assert_eq!(sent.iter().filter(|m| m["type"] == "Authenticate").count(), 2);
    // The server confirms alice's Authenticate (identity version 1) first.
    h.transition(0, 1, 1, json!([]));
    assert_eq!(h.engine.auth_status(), AuthStatus::Loading, "alice's confirmation is not bob's");
    assert!(!h.engine.identity_settled());
    assert!(token_fetches(&h.take_events()).is_empty(), "no refresh scheduled from it");
    h.transition(0, 2, 2, json!([]));
    assert_eq!(h.engine.auth_status(), AuthStatus::Authenticated);
    assert!(h.engine.identity_settled());
}

#[test]
fn defect_4_a_refresh_returning_the_same_token_does_not_poll() {
    let mut h = Harness::new();
    let token = fake_jwt(0, 60, "alice");
    authenticated(&mut h, &token);
    let mut fetches = 0;
    for _ in 0..600 {
        h.advance(Duration::from_secs(1));
        // Keep the socket alive as the server's pings do.
        h.deliver(json!({"type": "Ping"}));
        for (f, _) in token_fetches(&h.take_events()) {
            fetches += 1;
            h.engine.handle_token(f, Some(token.clone()), h.now);
            h.drain();
        }
    }
    assert!(fetches <= 2, "{fetches} fetches in 10 minutes for one token");
}

#[test]
fn defect_7_no_api_hands_out_the_previous_identitys_result() {
    let mut h = Harness::new();
    let q = alice_with_me(&mut h);
    h.engine.clear_auth();
    h.drain();
    let events = h.take_events();
    assert!(changed(&events).contains(&q), "subscribers hear that the result is gone");
    assert_eq!(h.engine.query_result(q), None);
    assert_eq!(h.engine.lookup("users:me", &empty()), None);
    h.transition(1, 2, 3, json!([updated(q, json!(null))]));
    assert_eq!(h.engine.query_result(q).map(|r| r.is_ok()), Some(true));
}

#[test]
fn defect_8_mutations_are_never_sent_as_another_user() {
    // a. Alice's unanswered mutation, her socket dropped, then bob signs in.
    let mut h = Harness::new();
    alice_with_me(&mut h);
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.close(None);
    h.engine.set_auth();
    h.drain();
    let events = h.take_events();
    let failed = pick(&events, |e| match e {
        Event::MutationDone { request, result: Err(e) } => Some((*request, e.clone())),
        _ => None,
    });
    assert_eq!(failed, vec![(m, ConvexError::IdentityChanged)]);
    let (f, _) = *token_fetches(&events).last().unwrap();
    h.engine.handle_token(f, Some(fake_jwt(0, 600, "bob")), h.now);
    h.engine.handle_online(h.now);
    h.drain();
    h.take_sent();
    h.open();
    assert!(!h.sent_types().contains(&"Mutation".to_string()), "not re-sent as bob");

    // b. A mutation queued while offline, then alice signs out: it does not run anonymously.
    let mut h = Harness::new();
    alice_with_me(&mut h);
    h.close(None);
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.engine.clear_auth();
    h.drain();
    assert_eq!(mutation_done(&h.take_events()), vec![(m, false)]);

    // c. Sent on the open socket before the switch: it runs as alice (the server handles
    // messages in order), so it is not failed.
    let mut h = Harness::new();
    alice_with_me(&mut h);
    let m = h.engine.mutation("posts:create", &empty(), None, h.now).unwrap();
    h.drain();
    h.engine.clear_auth();
    h.drain();
    assert!(mutation_done(&h.take_events()).is_empty());
    let sent = h.take_sent();
    let types: Vec<&str> = sent.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Mutation", "Authenticate"]);
    h.deliver(json!({"type": "MutationResponse", "requestId": m, "success": true, "result": "id", "ts": encode_ts(3), "logLines": []}));
    h.transition(1, 2, 3, json!([]));
    assert_eq!(mutation_done(&h.take_events()), vec![(m, true)]);
}

#[test]
fn defect_9_a_socket_that_cannot_be_created_or_never_opens_is_reported_and_replaced() {
    let mut h = Harness::new();
    let socket = h.socket.expect("a socket");
    h.engine.handle_open_failed(socket, "blocked by Content-Security-Policy", h.now);
    h.drain();
    let state = h.engine.connection_state();
    assert_eq!(state.last_connection_error.as_deref(), Some("blocked by Content-Security-Policy"));
    assert!(h.take_events().contains(&Event::ConnectionChanged));
    // It is retried after a backoff; this one hangs and is replaced after the connect timeout.
    let delay = reconnect_delay(&mut h);
    h.advance(delay);
    let stuck = h.socket.expect("a new socket");
    h.advance(Duration::from_secs(10));
    let events = h.take_events();
    assert!(events.contains(&Event::CloseSocket { socket: stuck }), "{events:?}");
    assert!(h.engine.connection_state().last_connection_error.is_some());
    // A tab becoming visible replaces a socket stuck connecting at once.
    let delay = reconnect_delay(&mut h);
    h.advance(delay);
    let stuck = h.socket.expect("another socket");
    h.advance(Duration::from_secs(9));
    h.engine.handle_visibility(true, h.now + Duration::from_secs(20));
    h.drain();
    let events = h.take_events();
    assert!(events.contains(&Event::CloseSocket { socket: stuck }));
    assert!(events.iter().any(|e| matches!(e, Event::OpenSocket { socket } if *socket != stuck)));
    // A socket that opens clears the error.
    h.open();
    assert_eq!(h.engine.connection_state().last_connection_error, None);
}
