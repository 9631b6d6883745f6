//! Fuzz targets. Each target is a plain function of the input bytes that must never panic; the
//! libFuzzer binaries in `fuzz_targets/` call them (`cargo fuzz run <target>`), and
//! `tests/replay.rs` replays the corpus in `corpus/<target>/` and runs a short randomized mutation
//! of it, so `cargo test` covers them without a fuzzing engine.
//!
//! - [`value_codec`]: `Value` from wire JSON (`Value::from_json` and serde from text must agree),
//!   and encode → decode round trips (`to_json`, `Serialize`, `encode_args`) of decoded values
//!   and of values built from the bytes.
//! - [`server_message`]: the client's `ServerMessage::parse`, then the same frames fed to a
//!   `SyncEngine` with a subscription, a mutation and an action in flight.
//! - [`client_message`]: the devserver's decoding of a client frame (JSON, then
//!   `convex_sync_types::ClientMessage`, then the checks on function arguments).
//! - [`jwt`]: the devserver's token verification (`Auth::verify`) on arbitrary tokens, on tokens
//!   built from fuzzed header/payload/signature segments, and on fuzzed claims it signs itself.

use std::{
    collections::BTreeMap,
    future::Future,
    path::PathBuf,
    pin::pin,
    sync::OnceLock,
    task::{Context, Poll, Waker},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine as _};
use serde_json::{Map, Value as Json};
use yew_convex::{
    sync::{protocol::ServerMessage, Event, SocketId, SyncConfig, SyncEngine},
    value::{encode_args, Value, ValueError},
};

pub mod mutate;

/// A fuzz target: a function of the input that must not panic.
pub type Target = fn(&[u8]);

/// The targets by name, as `cargo fuzz` and the corpus directories name them.
pub const TARGETS: &[(&str, Target)] = &[
    ("value_codec", value_codec),
    ("server_message", server_message),
    ("client_message", client_message),
    ("jwt", jwt),
];

// ----- value codec -----

/// The value codec. Input: a selector byte, then either wire JSON text (even selector) or bytes
/// that build a [`Value`] directly (odd selector).
pub fn value_codec(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    if selector & 1 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        value_from_text(text);
    } else {
        let value = ValueBuilder { data: rest, depth: 0 }.value();
        value_round_trip(&value);
    }
}

fn value_from_text(text: &str) {
    let via_serde: Result<Value, _> = serde_json::from_str(text);
    let Ok(json) = serde_json::from_str::<Json>(text) else {
        // Not JSON at all (or nested deeper than serde_json's limit): the serde path refuses too.
        assert!(via_serde.is_err(), "Value deserialized from invalid JSON {text:?}");
        return;
    };
    let via_json = Value::from_json(&json);
    match (&via_json, &via_serde) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "from_json and Deserialize disagree on {text:?}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("from_json gives {a:?} but Deserialize gives {b:?} for {text:?}"),
    }
    if let Ok(value) = via_json {
        value_round_trip(&value);
        // A decoded value has no reserved field names, so it always re-encodes to the same JSON
        // (modulo number spelling): compare through a second decode.
        let again = value.to_json().expect("a decoded value encodes");
        assert_eq!(Value::from_json(&again).as_ref(), Ok(&value));
    }
}

/// Whether `value` holds an object field name starting with `$` (which cannot be encoded).
fn has_reserved_field(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(has_reserved_field),
        Value::Object(fields) => {
            fields.iter().any(|(key, value)| key.starts_with('$') || has_reserved_field(value))
        }
        _ => false,
    }
}

fn value_round_trip(value: &Value) {
    // Display and the accessors never panic.
    let _ = value.to_string();
    let _ = (value.type_name(), value.as_f64(), value.as_i64(), value.as_str());
    let reserved = has_reserved_field(value);

    match value.to_json() {
        Ok(json) => {
            assert!(!reserved, "{value:?} has a reserved field name but encoded to {json}");
            let back = Value::from_json(&json)
                .unwrap_or_else(|e| panic!("{value:?} encoded to {json}, which fails: {e}"));
            assert_eq!(&back, value, "to_json/from_json round trip via {json}");
            // Through text too: the number spelling serde_json prints must read back exactly.
            let text = json.to_string();
            let back: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{value:?} printed as {text}, which fails: {e}"));
            assert_eq!(&back, value, "text round trip via {text}");
        }
        Err(e) => assert!(reserved, "{value:?} failed to encode: {e}"),
    }
    match serde_json::to_string(value) {
        Ok(text) => {
            let back: Value = serde_json::from_str(&text).expect("Serialize output deserializes");
            assert_eq!(&back, value, "Serialize/Deserialize round trip via {text}");
        }
        Err(_) => assert!(reserved, "{value:?} failed to serialize"),
    }
    match encode_args(value) {
        Ok(text) => {
            assert!(matches!(value, Value::Object(_)) && !reserved);
            let json: Json = serde_json::from_str(&text).expect("encode_args gives JSON");
            let Json::Array(items) = json else { panic!("encode_args gave {text}") };
            assert_eq!(items.len(), 1, "encode_args gave {text}");
            assert_eq!(Value::from_json(&items[0]).as_ref(), Ok(value));
        }
        Err(ValueError::TypeMismatch { .. }) => assert!(!matches!(value, Value::Object(_))),
        Err(ValueError::ReservedFieldName(key)) => assert!(reserved && key.starts_with('$')),
        Err(e) => panic!("encode_args({value:?}) failed unexpectedly: {e}"),
    }
}

/// Builds a [`Value`] from bytes (a hand-rolled `Arbitrary`): every int64 and float64 bit
/// pattern, arbitrary strings and field names (including `$`-prefixed ones), nesting up to 8.
struct ValueBuilder<'a> {
    data: &'a [u8],
    depth: u32,
}

impl ValueBuilder<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.data.split_first() else { return 0 };
        self.data = rest;
        b
    }

    fn u64(&mut self) -> u64 {
        let mut bytes = [0u8; 8];
        for b in &mut bytes {
            *b = self.byte();
        }
        u64::from_le_bytes(bytes)
    }

    fn bytes(&mut self) -> Vec<u8> {
        let len = (self.byte() as usize % 24).min(self.data.len());
        let (head, rest) = self.data.split_at(len);
        self.data = rest;
        head.to_vec()
    }

    fn string(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn value(&mut self) -> Value {
        if self.data.is_empty() {
            return Value::Null;
        }
        let kind = self.byte() % if self.depth >= 8 { 6 } else { 8 };
        match kind {
            0 => Value::Null,
            1 => Value::Int64(self.u64() as i64),
            2 => {
                let bits = self.u64();
                // Mostly "interesting" floats: small integers, specials, then raw bit patterns.
                Value::Float64(match bits % 4 {
                    0 => (bits >> 2) as i16 as f64,
                    1 => [
                        f64::NAN,
                        -f64::NAN,
                        f64::INFINITY,
                        f64::NEG_INFINITY,
                        -0.0,
                        0.0,
                        f64::MIN_POSITIVE,
                        f64::MAX,
                        f64::MIN,
                        9007199254740993.0,
                        1e300,
                        5e-324,
                    ][(bits >> 2) as usize % 12],
                    _ => f64::from_bits(bits),
                })
            }
            3 => Value::Boolean(self.byte() & 1 == 1),
            4 => Value::String(self.string()),
            5 => Value::Bytes(self.bytes()),
            6 => {
                self.depth += 1;
                let n = self.byte() % 5;
                let items = (0..n).map(|_| self.value()).collect();
                self.depth -= 1;
                Value::Array(items)
            }
            _ => {
                self.depth += 1;
                let n = self.byte() % 5;
                let mut fields = BTreeMap::new();
                for _ in 0..n {
                    let key = self.string();
                    fields.insert(key, self.value());
                }
                self.depth -= 1;
                Value::Object(fields)
            }
        }
    }
}

// ----- the client's server-message decoder -----

/// The client's server-message decoder. Input: frames separated by `\n` (a frame itself may not
/// contain a raw newline; JSON escapes them). Each is parsed with `ServerMessage::parse`; then
/// all are delivered in order to a connected `SyncEngine` that has a subscription, a mutation
/// and an action in flight, which must never panic.
pub fn server_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for frame in text.split('\n') {
        if let Ok(message) = ServerMessage::parse(frame) {
            // Printing and cloning a parsed message never panics.
            let _ = format!("{message:?}");
            assert_eq!(message.clone(), message);
        }
    }
    feed_engine(text);
}

fn feed_engine(text: &str) {
    let mut engine = SyncEngine::new(
        SyncConfig::default(),
        "1c2f3b9a-5d6e-4f70-8a9b-0c1d2e3f4a5b".into(),
        Duration::ZERO,
    );
    let mut now = Duration::ZERO;
    let mut socket = None;
    let drain = |engine: &mut SyncEngine, socket: &mut Option<SocketId>| {
        for _ in 0..1000 {
            let mut progressed = false;
            while let Some(frame) = engine.poll_transmit() {
                // Whatever the server said, the client only sends frames the server can parse.
                let json: Json = serde_json::from_str(&frame).expect("engine sent invalid JSON");
                convex_sync_types::ClientMessage::try_from(json)
                    .unwrap_or_else(|e| panic!("the engine sent {frame}, which is invalid: {e}"));
                progressed = true;
            }
            while let Some(event) = engine.poll_event() {
                match event {
                    Event::OpenSocket { socket: s } => *socket = Some(s),
                    Event::CloseSocket { socket: s } if Some(s) == *socket => *socket = None,
                    _ => {}
                }
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
        panic!("the engine never stops producing output");
    };
    let args = Value::Object(BTreeMap::new());
    engine.subscribe("messages:list", &args).expect("subscribe");
    let _ = engine.subscribe("messages:count", &args);
    drain(&mut engine, &mut socket);
    let Some(s) = socket else { panic!("the engine asked for no socket") };
    engine.handle_open(s, now, Some(1_700_000_000_000));
    drain(&mut engine, &mut socket);
    let _ = engine.mutation("messages:send", &args, None, now);
    let _ = engine.action("messages:act", &args, now);
    drain(&mut engine, &mut socket);
    for frame in text.split('\n') {
        now += Duration::from_millis(250);
        match socket {
            Some(s) => engine.handle_text(s, frame, now),
            None => {
                // The engine dropped the socket (a fatal or auth error, a bad transition): let
                // it reconnect, then go on delivering on the new socket.
                engine.handle_timeout(now + Duration::from_secs(30));
                drain(&mut engine, &mut socket);
                if let Some(s) = socket {
                    engine.handle_open(s, now, None);
                    engine.handle_text(s, frame, now);
                }
            }
        }
        drain(&mut engine, &mut socket);
        if let Some(deadline) = engine.poll_timeout() {
            if deadline <= now {
                engine.handle_timeout(now);
                drain(&mut engine, &mut socket);
            }
        }
        let _ = engine.connection_state();
    }
    engine.close();
    drain(&mut engine, &mut socket);
}

// ----- the devserver's client-message decoder -----

/// The devserver's decoding of a client frame, as its WebSocket session does it: JSON, then
/// `convex_sync_types::ClientMessage::try_from`, then, for each function call or query in it,
/// the argument checks (`[args]` unwrapping, `values::check_encoded`) and the value printers
/// used in its error messages and HTTP answers.
pub fn client_message(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = serde_json::from_str::<Json>(text)
        .map_err(anyhow::Error::from)
        .and_then(convex_sync_types::ClientMessage::try_from);
    let Ok(message) = parsed else { return };
    use convex_sync_types::{ClientMessage, QuerySetModification};
    let _ = format!("{message:?}");
    match &message {
        ClientMessage::Mutation { args, udf_path, .. }
        | ClientMessage::Action { args, udf_path, .. } => {
            let _ = udf_path.to_string();
            check_args(args.get());
        }
        ClientMessage::ModifyQuerySet { modifications, .. } => {
            for m in modifications {
                if let QuerySetModification::Add(query) = m {
                    let _ = query.udf_path.to_string();
                    check_args(query.args.get());
                }
            }
        }
        _ => {}
    }
    // The official types re-encode what they decoded.
    let _ = Json::try_from(message);
}

/// The devserver's `sync::unwrap_args` and what it does with the result.
fn check_args(raw: &str) {
    let Ok(parsed) = serde_json::from_str::<Json>(raw) else { return };
    let value = match parsed {
        Json::Array(mut items) if items.len() == 1 => items.remove(0),
        Json::Array(items) => {
            let _ = devserver::values::display(&Json::Array(items));
            return;
        }
        other => other,
    };
    if devserver::values::check_encoded(&value).is_ok() {
        let _ = devserver::values::display(&value);
        let _ = devserver::values::to_clean_json(&value);
        // What the devserver accepts as convex encoded JSON, the client decodes too.
        if let Err(e) = Value::from_json(&value) {
            panic!("the devserver accepts {value} but Value::from_json refuses it: {e}");
        }
    }
}

// ----- the devserver's JWT verification -----

/// A fixed RS256 key for the fuzzed identity provider (generated for these tests only; it
/// protects nothing), so that corpus entries can carry its `kid` and valid signatures.
const FUZZ_KEY_PEM: &str = include_str!("../fuzz-identity-key.pem");
/// The issuer of the fuzzed identity provider.
pub const FUZZ_ISSUER: &str = "http://127.0.0.1:3210";

fn auth() -> &'static devserver::auth::Auth {
    static AUTH: OnceLock<devserver::auth::Auth> = OnceLock::new();
    AUTH.get_or_init(|| {
        let dir: PathBuf =
            std::env::temp_dir().join(format!("yew-convex-fuzz-jwt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("identity-key.pem"), FUZZ_KEY_PEM).expect("write the key");
        // No trusted remote issuer: verification never waits on the network.
        let auth =
            devserver::auth::Auth::load_or_create(&dir, &format!("{FUZZ_ISSUER}/"), vec![], 60)
                .expect("the fuzz identity provider");
        let _ = std::fs::remove_dir_all(&dir);
        auth
    })
}

/// Polls a future that must not wait (verification against the local issuer does no I/O).
fn now_or_never<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("token verification waited with no remote issuer configured"),
    }
}

/// The devserver's token verification. Input: a selector byte, then
/// - 0: the token text as is;
/// - 1: header, payload and signature bytes separated by `\n`, each base64url-encoded into a
///   token (so the fuzzer reaches the JSON inside);
/// - 2: claims JSON, which the provider signs itself and then verifies (the signature is valid:
///   this reaches the claim checks, and well-formed claims must then be accepted);
/// - 3: claims JSON given to `identity_from_claims` directly, with a `now` from the claims' `iat`.
pub fn jwt(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let auth = auth();
    match selector % 4 {
        0 => {
            let Ok(token) = std::str::from_utf8(rest) else { return };
            refuse_or_accept(auth, token);
        }
        1 => {
            let token = rest
                .splitn(3, |b| *b == b'\n')
                .map(|seg| B64URL.encode(seg))
                .collect::<Vec<_>>()
                .join(".");
            refuse_or_accept(auth, &token);
        }
        2 => {
            let Ok(claims) = serde_json::from_slice::<Json>(rest) else { return };
            let token = auth.sign_claims(&claims);
            let result = now_or_never(auth.verify(&token));
            if let Ok(identity) = &result {
                let _ = (identity.token_identifier(), identity.subject(), identity.field("email"));
            }
            if let Json::Object(claims) = &claims {
                if well_formed(claims) {
                    let identity = result
                        .unwrap_or_else(|e| panic!("a well-formed signed token was refused: {e}"));
                    assert_eq!(identity.subject(), claims["sub"].as_str().unwrap_or_default());
                }
            }
        }
        _ => {
            let Ok(Json::Object(claims)) = serde_json::from_slice::<Json>(rest) else { return };
            let now = claims.get("iat").and_then(Json::as_u64).unwrap_or(0);
            if let Ok(identity) = devserver::auth::identity_from_claims(FUZZ_ISSUER, &claims, now) {
                let _ = identity.is_expired(now);
                let _ = identity.token_identifier();
            }
        }
    }
}

/// Claims the provider must accept: its issuer, audience `convex`, a string `sub`, an integer
/// `iat` and an `exp` later than now.
fn well_formed(claims: &Map<String, Json>) -> bool {
    let iss_ok = claims.get("iss").and_then(Json::as_str).map(|s| s.trim_end_matches('/'))
        == Some(FUZZ_ISSUER);
    let aud_ok = match claims.get("aud") {
        Some(Json::String(a)) => a == "convex",
        Some(Json::Array(items)) => items.len() == 1 && items[0] == "convex",
        _ => false,
    };
    let now = devserver::auth::now_secs();
    iss_ok
        && aud_ok
        && claims.get("sub").is_some_and(Json::is_string)
        && claims.get("iat").and_then(Json::as_u64).is_some()
        && claims.get("exp").and_then(Json::as_u64).is_some_and(|exp| exp > now + 60)
}

/// Verifies `token` with the fuzzed identity provider (for tests of the harness itself).
pub fn verify(token: &str) -> Result<devserver::auth::Identity, devserver::auth::AuthError> {
    now_or_never(auth().verify(token))
}

fn refuse_or_accept(auth: &devserver::auth::Auth, token: &str) {
    match now_or_never(auth.verify(token)) {
        Ok(identity) => {
            // Only a token signed with the provider's key passes, and the fuzzer cannot forge
            // one: an accepted token must be one of the corpus's genuine tokens, re-signed.
            let _ = identity.token_identifier();
        }
        Err(e) => {
            let _ = (e.to_string(), e.code());
        }
    }
}
