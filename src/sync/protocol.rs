//! The sync protocol's messages, in the shapes Convex puts on the wire.
//!
//! Client messages are serialised to JSON text once, when queued. Server messages are read
//! from their text in one pass ([`ServerMessage::parse`]): fields of every message kind into one
//! flat struct, then checked against the message's `type`; results stay JSON text
//! ([`RawValue`]), checked but not decoded.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use crate::value::{decode_ts, encode_ts, RawValue, Reader, Value, ValueError};

pub use super::ids::{QueryId, RequestId};

/// The server's state version: query set, identity and timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateVersion {
    /// Query-set version (bumped by each ModifyQuerySet).
    pub query_set: u32,
    /// Identity version (bumped by each Authenticate).
    pub identity: u32,
    /// Database timestamp the results are consistent at.
    pub ts: u64,
}

impl Serialize for StateVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            query_set: u32,
            identity: u32,
            ts: String,
        }
        Wire { query_set: self.query_set, identity: self.identity, ts: encode_ts(self.ts) }
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for StateVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Wire {
            query_set: u32,
            identity: u32,
            ts: String,
        }
        let wire = Wire::deserialize(d)?;
        let ts = decode_ts(&wire.ts).map_err(serde::de::Error::custom)?;
        Ok(StateVersion { query_set: wire.query_set, identity: wire.identity, ts })
    }
}

/// One change to the query set.
#[derive(Debug, Clone)]
pub enum QuerySetModification {
    /// Subscribe to a query.
    Add {
        /// The new query's id.
        query_id: QueryId,
        /// `module:function`.
        udf_path: String,
        /// The JSON text of the one-element args array, as [`encode_args`](crate::value::encode_args)
        /// writes it (sent as is).
        args: String,
        /// Pagination journal, if any.
        journal: Option<String>,
    },
    /// Unsubscribe.
    Remove {
        /// The query to drop.
        query_id: QueryId,
    },
}

/// The token of an Authenticate message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthToken {
    /// A user's JWT.
    User(String),
    /// Signed out.
    None,
}

/// A message from the client ([`ClientMessage::to_text`] writes its wire JSON).
#[derive(Debug, Clone)]
pub enum ClientMessage {
    /// The first message on every socket.
    Connect {
        /// Stable for the client's whole life (mutation dedup relies on it).
        session_id: String,
        /// Sockets opened before this one.
        connection_count: u32,
        /// Why the previous socket closed ("InitialConnect" for the first).
        last_close_reason: Option<String>,
        /// The newest timestamp this client has seen, encoded.
        max_observed_timestamp: Option<String>,
        /// The client's wall clock, milliseconds.
        client_ts: Option<u64>,
    },
    /// Changes to the query set.
    ModifyQuerySet {
        /// The version the changes apply to.
        base_version: u32,
        /// The version after them.
        new_version: u32,
        /// Adds and removes.
        modifications: Vec<QuerySetModification>,
    },
    /// Run a mutation.
    Mutation {
        /// Never reused within the session.
        request_id: RequestId,
        /// `module:function`.
        udf_path: String,
        /// The JSON text of the one-element args array (sent as is).
        args: String,
    },
    /// Run an action.
    Action {
        /// Never reused within the session.
        request_id: RequestId,
        /// `module:function`.
        udf_path: String,
        /// The JSON text of the one-element args array (sent as is).
        args: String,
    },
    /// Set or clear the identity.
    Authenticate {
        /// The identity version the change applies to.
        base_version: u32,
        /// The token.
        token: AuthToken,
    },
}

impl ClientMessage {
    /// The message's JSON text.
    pub fn to_text(&self) -> String {
        let mut w = Writer(String::with_capacity(128));
        match self {
            ClientMessage::Connect {
                session_id,
                connection_count,
                last_close_reason,
                max_observed_timestamp,
                client_ts,
            } => {
                w.open("Connect");
                w.key("sessionId").string(session_id);
                w.key("connectionCount").number(u64::from(*connection_count));
                w.key("lastCloseReason").nullable_string(last_close_reason.as_deref());
                if let Some(ts) = max_observed_timestamp {
                    w.key("maxObservedTimestamp").string(ts);
                }
                if let Some(ts) = client_ts {
                    w.key("clientTs").number(*ts);
                }
            }
            ClientMessage::ModifyQuerySet { base_version, new_version, modifications } => {
                w.open("ModifyQuerySet");
                w.key("baseVersion").number(u64::from(*base_version));
                w.key("newVersion").number(u64::from(*new_version));
                w.key("modifications").0.push('[');
                for (i, m) in modifications.iter().enumerate() {
                    if i > 0 {
                        w.0.push(',');
                    }
                    match m {
                        QuerySetModification::Add { query_id, udf_path, args, journal } => {
                            w.open("Add");
                            w.key("queryId").number(u64::from(query_id.index()));
                            w.key("udfPath").string(udf_path);
                            w.key("args").0.push_str(args);
                            if let Some(journal) = journal {
                                w.key("journal").string(journal);
                            }
                        }
                        QuerySetModification::Remove { query_id } => {
                            w.open("Remove");
                            w.key("queryId").number(u64::from(query_id.index()));
                        }
                    }
                    w.0.push('}');
                }
                w.0.push(']');
            }
            ClientMessage::Mutation { request_id, udf_path, args }
            | ClientMessage::Action { request_id, udf_path, args } => {
                w.open(if matches!(self, ClientMessage::Mutation { .. }) {
                    "Mutation"
                } else {
                    "Action"
                });
                w.key("requestId").number(u64::from(request_id.index()));
                w.key("udfPath").string(udf_path);
                w.key("args").0.push_str(args);
            }
            ClientMessage::Authenticate { base_version, token } => {
                w.open("Authenticate");
                w.key("baseVersion").number(u64::from(*base_version));
                match token {
                    AuthToken::User(t) => {
                        w.key("tokenType").string("User");
                        w.key("value").string(t);
                    }
                    AuthToken::None => {
                        w.key("tokenType").string("None");
                    }
                }
            }
        }
        w.0.push('}');
        w.0
    }
}

/// Writes a client message's JSON (flat objects of strings and integers; the args text as is).
struct Writer(String);

impl Writer {
    /// `{"type":"<kind>"`: the object stays open for [`Writer::key`]s.
    fn open(&mut self, kind: &str) {
        self.0.push_str("{\"type\":");
        self.string(kind);
    }

    fn key(&mut self, key: &str) -> &mut Self {
        self.0.push(',');
        self.string(key);
        self.0.push(':');
        self
    }

    fn number(&mut self, n: u64) {
        use std::fmt::Write as _;
        let _ = write!(self.0, "{n}");
    }

    fn nullable_string(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.string(s),
            None => self.0.push_str("null"),
        }
    }

    fn string(&mut self, s: &str) {
        crate::value::push_json_string(&mut self.0, s);
    }
}

/// A failed function's message and, for a ConvexError, its data.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorPayload {
    /// The error text.
    pub message: String,
    /// ConvexError data.
    pub data: Option<Arc<Value>>,
}

/// One change in a Transition.
#[derive(Debug, Clone, PartialEq)]
pub enum StateModification {
    /// A query's new result.
    QueryUpdated {
        /// The query.
        query_id: QueryId,
        /// Its value, as the server's JSON text (decoded when read, shared by every
        /// subscriber).
        value: RawValue,
        /// Lines the query logged.
        log_lines: Vec<String>,
        /// Pagination journal.
        journal: Option<String>,
    },
    /// A query failed.
    QueryFailed {
        /// The query.
        query_id: QueryId,
        /// The error.
        error: ErrorPayload,
        /// Lines the query logged.
        log_lines: Vec<String>,
        /// Pagination journal.
        journal: Option<String>,
    },
    /// The server dropped a query.
    QueryRemoved {
        /// The query.
        query_id: QueryId,
    },
}

/// A message from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    /// New results, from `start_version` to `end_version`.
    Transition {
        /// Must equal the client's current version.
        start_version: StateVersion,
        /// The version after this Transition.
        end_version: StateVersion,
        /// What changed.
        modifications: Vec<StateModification>,
    },
    /// A piece of a large Transition's JSON text.
    TransitionChunk {
        /// The piece.
        chunk: String,
        /// 0-based.
        part_number: u32,
        /// How many pieces.
        total_parts: u32,
        /// Shared by the pieces of one Transition.
        transition_id: String,
    },
    /// A mutation's outcome.
    MutationResponse {
        /// The request.
        request_id: RequestId,
        /// Value, or error.
        result: Result<RawValue, ErrorPayload>,
        /// Commit timestamp (successes).
        ts: Option<u64>,
        /// Lines the mutation logged.
        log_lines: Vec<String>,
    },
    /// An action's outcome.
    ActionResponse {
        /// The request.
        request_id: RequestId,
        /// Value, or error.
        result: Result<RawValue, ErrorPayload>,
        /// Lines the action logged.
        log_lines: Vec<String>,
    },
    /// Authentication failed.
    AuthError {
        /// Why.
        error: String,
        /// The server's identity version.
        base_version: Option<u32>,
        /// Whether the error answers an Authenticate (else: the current token expired).
        auth_update_attempted: Option<bool>,
    },
    /// The server refuses to continue; the client must not reconnect.
    FatalError {
        /// Why.
        error: String,
    },
    /// Keep-alive.
    Ping,
}

/// A server message that does not follow the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed server message: {0}")]
pub struct MalformedMessage(pub String);

/// A message's fields, of every kind, as they come; checked against `type` at the end.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    start_version: Option<StateVersion>,
    end_version: Option<StateVersion>,
    modifications: Option<Vec<StateModification>>,
    chunk: Option<String>,
    part_number: Option<u32>,
    total_parts: Option<u32>,
    transition_id: Option<String>,
    request_id: Option<u32>,
    success: Option<bool>,
    result: Option<RawValue>,
    ts: Option<String>,
    log_lines: Option<Vec<String>>,
    error_data: Option<Arc<Value>>,
    error: Option<String>,
    base_version: Option<u32>,
    auth_update_attempted: Option<bool>,
}

fn need<T>(field: Option<T>, kind: &str, name: &str) -> Result<T, MalformedMessage> {
    field.ok_or_else(|| MalformedMessage(format!("{kind} without `{name}`")))
}

fn bad(what: String) -> ValueError {
    ValueError::Custom(what)
}

/// A non-negative whole number that fits in a u32.
fn read_u32(r: &mut Reader<'_>, name: &str) -> Result<u32, ValueError> {
    let f = r.number()?;
    if f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) {
        Ok(f as u32)
    } else {
        Err(bad(format!("`{name}` must be a whole number, found {}", crate::value::ShowF64(f))))
    }
}

/// `null` as `None`, else what `read` reads.
fn nullable<'de, T>(
    r: &mut Reader<'de>,
    read: impl FnOnce(&mut Reader<'de>) -> Result<T, ValueError>,
) -> Result<Option<T>, ValueError> {
    if r.null() {
        Ok(None)
    } else {
        read(r).map(Some)
    }
}

fn read_string(r: &mut Reader<'_>) -> Result<String, ValueError> {
    r.string().map(|s| s.into_owned())
}

/// An array, each element read by `item`; `what` names it in the error when it is not one.
fn read_array<'de, T>(
    r: &mut Reader<'de>,
    what: &str,
    mut item: impl FnMut(&mut Reader<'de>) -> Result<T, ValueError>,
) -> Result<Vec<T>, ValueError> {
    r.expect(b'[', what)?;
    let mut out = Vec::new();
    if !r.empty(b']') {
        loop {
            out.push(item(r)?);
            if r.next_or_end(b']')? {
                break;
            }
        }
    }
    Ok(out)
}

fn read_strings(r: &mut Reader<'_>) -> Result<Vec<String>, ValueError> {
    read_array(r, "expected an array of strings", read_string)
}

/// Calls `field` with every key of the object that comes next; `field` reads (or skips) its value.
fn read_object<'de>(
    r: &mut Reader<'de>,
    mut field: impl FnMut(&mut Reader<'de>, &str) -> Result<(), ValueError>,
) -> Result<(), ValueError> {
    r.expect(b'{', "expected an object")?;
    if r.empty(b'}') {
        return Ok(());
    }
    loop {
        let key = r.string()?;
        r.expect(b':', "expected `:`")?;
        field(r, &key)?;
        if r.next_or_end(b'}')? {
            return Ok(());
        }
    }
}

fn read_version(r: &mut Reader<'_>) -> Result<StateVersion, ValueError> {
    let (mut query_set, mut identity, mut ts) = (None, None, None);
    read_object(r, |r, key| {
        match key {
            "querySet" => query_set = Some(read_u32(r, key)?),
            "identity" => identity = Some(read_u32(r, key)?),
            "ts" => ts = Some(decode_ts(&r.string()?)?),
            _ => r.skip()?,
        }
        Ok(())
    })?;
    match (query_set, identity, ts) {
        (Some(query_set), Some(identity), Some(ts)) => Ok(StateVersion { query_set, identity, ts }),
        _ => Err(bad("a version needs `querySet`, `identity` and `ts`".into())),
    }
}

/// ConvexError data: `null` means none.
fn read_error_data(r: &mut Reader<'_>) -> Result<Option<Arc<Value>>, ValueError> {
    nullable(r, |r| Ok(Arc::new(r.raw_value()?.deserialize::<Value>()?)))
}

fn read_modification(r: &mut Reader<'_>) -> Result<StateModification, ValueError> {
    let (mut kind, mut query_id, mut value, mut log_lines, mut journal) =
        (None, None, None, None, None);
    let (mut error_message, mut error_data) = (None, None);
    read_object(r, |r, key| {
        match key {
            "type" => kind = Some(r.string()?),
            "queryId" => query_id = Some(QueryId::new(read_u32(r, key)?)),
            "value" => value = Some(r.raw_value()?),
            "logLines" => log_lines = nullable(r, read_strings)?,
            "journal" => journal = nullable(r, read_string)?,
            "errorMessage" => error_message = Some(read_string(r)?),
            "errorData" => error_data = read_error_data(r)?,
            _ => r.skip()?,
        }
        Ok(())
    })?;
    fn need<T>(field: Option<T>, kind: &str, name: &str) -> Result<T, ValueError> {
        field.ok_or_else(|| bad(format!("{kind} without `{name}`")))
    }
    let kind = need(kind, "a modification", "type")?;
    let query_id = need(query_id, &kind, "queryId")?;
    let log_lines = log_lines.unwrap_or_default();
    match &*kind {
        "QueryUpdated" => Ok(StateModification::QueryUpdated {
            query_id,
            value: need(value, &kind, "value")?,
            log_lines,
            journal,
        }),
        "QueryFailed" => Ok(StateModification::QueryFailed {
            query_id,
            error: ErrorPayload {
                message: need(error_message, &kind, "errorMessage")?,
                data: error_data,
            },
            log_lines,
            journal,
        }),
        "QueryRemoved" => Ok(StateModification::QueryRemoved { query_id }),
        other => Err(bad(format!("unknown modification type {other:?}"))),
    }
}

fn read_fields(r: &mut Reader<'_>) -> Result<Fields, ValueError> {
    let mut m = Fields::default();
    read_object(r, |r, key| {
        match key {
            "type" => m.kind = Some(read_string(r)?),
            "startVersion" => m.start_version = Some(read_version(r)?),
            "endVersion" => m.end_version = Some(read_version(r)?),
            "modifications" => {
                m.modifications =
                    Some(read_array(r, "expected an array of modifications", read_modification)?);
            }
            "chunk" => m.chunk = Some(read_string(r)?),
            "partNumber" => m.part_number = Some(read_u32(r, key)?),
            "totalParts" => m.total_parts = Some(read_u32(r, key)?),
            "transitionId" => m.transition_id = Some(read_string(r)?),
            "requestId" => m.request_id = Some(read_u32(r, key)?),
            "success" => m.success = Some(r.boolean()?),
            "result" => m.result = Some(r.raw_value()?),
            "ts" => m.ts = nullable(r, read_string)?,
            "logLines" => m.log_lines = nullable(r, read_strings)?,
            "errorData" => m.error_data = read_error_data(r)?,
            "error" => m.error = nullable(r, read_string)?,
            "baseVersion" => m.base_version = nullable(r, |r| read_u32(r, "baseVersion"))?,
            "authUpdateAttempted" => m.auth_update_attempted = nullable(r, Reader::boolean)?,
            _ => r.skip()?,
        }
        Ok(())
    })?;
    r.ws();
    if r.pos != r.len() {
        return Err(r.syntax("trailing characters after the message"));
    }
    Ok(m)
}

fn outcome(
    kind: &str,
    success: Option<bool>,
    result: Option<RawValue>,
    error_data: Option<Arc<Value>>,
) -> Result<Result<RawValue, ErrorPayload>, MalformedMessage> {
    let result = need(result, kind, "result")?;
    match need(success, kind, "success")? {
        true => Ok(Ok(result)),
        false => match result.deserialize::<Value>() {
            Ok(Value::String(message)) => Ok(Err(ErrorPayload { message, data: error_data })),
            _ => Err(MalformedMessage(format!("{kind}: a failure's `result` must be its message"))),
        },
    }
}

impl TryFrom<Fields> for ServerMessage {
    type Error = MalformedMessage;

    fn try_from(m: Fields) -> Result<Self, MalformedMessage> {
        let kind = need(m.kind, "a message", "type")?;
        let kind = kind.as_str();
        let ts =
            m.ts.as_deref()
                .map(decode_ts)
                .transpose()
                .map_err(|e| MalformedMessage(format!("{kind}: bad `ts`: {e}")))?;
        Ok(match kind {
            "Transition" => ServerMessage::Transition {
                start_version: need(m.start_version, kind, "startVersion")?,
                end_version: need(m.end_version, kind, "endVersion")?,
                modifications: need(m.modifications, kind, "modifications")?,
            },
            "TransitionChunk" => ServerMessage::TransitionChunk {
                chunk: need(m.chunk, kind, "chunk")?,
                part_number: need(m.part_number, kind, "partNumber")?,
                total_parts: need(m.total_parts, kind, "totalParts")?,
                transition_id: need(m.transition_id, kind, "transitionId")?,
            },
            "MutationResponse" => ServerMessage::MutationResponse {
                request_id: RequestId::new(need(m.request_id, kind, "requestId")?),
                result: outcome(kind, m.success, m.result, m.error_data)?,
                ts,
                log_lines: m.log_lines.unwrap_or_default(),
            },
            "ActionResponse" => ServerMessage::ActionResponse {
                request_id: RequestId::new(need(m.request_id, kind, "requestId")?),
                result: outcome(kind, m.success, m.result, m.error_data)?,
                log_lines: m.log_lines.unwrap_or_default(),
            },
            "AuthError" => ServerMessage::AuthError {
                error: need(m.error, kind, "error")?,
                base_version: m.base_version,
                auth_update_attempted: m.auth_update_attempted,
            },
            "FatalError" => ServerMessage::FatalError { error: need(m.error, kind, "error")? },
            "Ping" => ServerMessage::Ping,
            other => return Err(MalformedMessage(format!("unknown message type {other:?}"))),
        })
    }
}

impl ServerMessage {
    /// Parses a message's JSON text. Query results and function results stay JSON text
    /// ([`RawValue`]), checked here (syntax and Convex's rules) and decoded when read.
    pub fn parse(text: &str) -> Result<ServerMessage, MalformedMessage> {
        let fields =
            read_fields(&mut Reader::new(text)).map_err(|e| MalformedMessage(e.to_string()))?;
        ServerMessage::try_from(fields)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(message: &ClientMessage) -> serde_json::Value {
        let text = message.to_text();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    #[test]
    fn client_messages_are_the_wire_shapes_with_every_string_escaped() {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{7} nul \u{0} é 🚀 \u{7f}";
        let connect = ClientMessage::Connect {
            session_id: "0f8b0b1e-6f3c-4c55-9a43-5b2f4c1f9a11".into(),
            connection_count: 3,
            last_close_reason: Some(awkward.into()),
            max_observed_timestamp: Some("AAAAAAAAAAA=".into()),
            client_ts: Some(1_700_000_000_123),
        };
        assert_eq!(
            wire(&connect),
            json!({"type": "Connect", "sessionId": "0f8b0b1e-6f3c-4c55-9a43-5b2f4c1f9a11",
                   "connectionCount": 3, "lastCloseReason": awkward, "maxObservedTimestamp": "AAAAAAAAAAA=",
                   "clientTs": 1_700_000_000_123_u64})
        );
        let reconnect = ClientMessage::Connect {
            session_id: "0f8b0b1e-6f3c-4c55-9a43-5b2f4c1f9a11".into(),
            connection_count: 0,
            last_close_reason: None,
            max_observed_timestamp: None,
            client_ts: None,
        };
        assert_eq!(
            wire(&reconnect),
            json!({"type": "Connect", "sessionId": "0f8b0b1e-6f3c-4c55-9a43-5b2f4c1f9a11",
                   "connectionCount": 0, "lastCloseReason": null})
        );
        let modify = ClientMessage::ModifyQuerySet {
            base_version: 4,
            new_version: 5,
            modifications: vec![
                QuerySetModification::Add {
                    query_id: QueryId::new(7),
                    udf_path: "posts:list".into(),
                    args: r#"[{"n":{"$integer":"AQAAAAAAAAA="}}]"#.into(),
                    journal: Some(awkward.into()),
                },
                QuerySetModification::Remove { query_id: QueryId::new(2) },
            ],
        };
        assert_eq!(
            wire(&modify),
            json!({"type": "ModifyQuerySet", "baseVersion": 4, "newVersion": 5, "modifications": [
                {"type": "Add", "queryId": 7, "udfPath": "posts:list",
                 "args": [{"n": {"$integer": "AQAAAAAAAAA="}}], "journal": awkward},
                {"type": "Remove", "queryId": 2}]})
        );
        let empty = ClientMessage::ModifyQuerySet {
            base_version: 0,
            new_version: 1,
            modifications: vec![],
        };
        assert_eq!(
            wire(&empty),
            json!({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": []})
        );
        for (message, kind) in [
            (
                ClientMessage::Mutation {
                    request_id: RequestId::new(9),
                    udf_path: "a:b".into(),
                    args: "[{}]".into(),
                },
                "Mutation",
            ),
            (
                ClientMessage::Action {
                    request_id: RequestId::new(9),
                    udf_path: "a:b".into(),
                    args: "[{}]".into(),
                },
                "Action",
            ),
        ] {
            assert_eq!(
                wire(&message),
                json!({"type": kind, "requestId": 9, "udfPath": "a:b", "args": [{}]})
            );
        }
        let auth =
            ClientMessage::Authenticate { base_version: 1, token: AuthToken::User("h.p.s".into()) };
        assert_eq!(
            wire(&auth),
            json!({"type": "Authenticate", "baseVersion": 1, "tokenType": "User", "value": "h.p.s"})
        );
        let none = ClientMessage::Authenticate { base_version: 2, token: AuthToken::None };
        assert_eq!(
            wire(&none),
            json!({"type": "Authenticate", "baseVersion": 2, "tokenType": "None"})
        );
        // The official types accept every one of them.
        for message in [connect, reconnect, modify, empty, auth, none] {
            convex_sync_types::ClientMessage::try_from(wire(&message))
                .unwrap_or_else(|e| panic!("convex_sync_types rejects {}: {e}", message.to_text()));
        }
    }
}
