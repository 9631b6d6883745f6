//! The sync protocol's messages, in the shapes Convex puts on the wire.
//!
//! Client messages are serialised to JSON text once, when queued. Server messages deserialise
//! through any serde format (serde_json from text, or serde-wasm-bindgen from the browser's
//! `JSON.parse`) without buffering: fields of every message kind are read into one flat
//! struct, then checked against the message's `type`.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};

use crate::value::{decode_ts, encode_ts, Value};

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
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum QuerySetModification {
    /// Subscribe to a query.
    #[serde(rename_all = "camelCase")]
    Add {
        /// The new query's id.
        query_id: QueryId,
        /// `module:function`.
        udf_path: String,
        /// The JSON text of the one-element args array.
        args: Box<serde_json::value::RawValue>,
        /// Pagination journal, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        journal: Option<String>,
    },
    /// Unsubscribe.
    #[serde(rename_all = "camelCase")]
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

/// A message from the client.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type")]
pub enum ClientMessage {
    /// The first message on every socket.
    #[serde(rename_all = "camelCase")]
    Connect {
        /// Stable for the client's whole life (mutation dedup relies on it).
        session_id: String,
        /// Sockets opened before this one.
        connection_count: u32,
        /// Why the previous socket closed ("InitialConnect" for the first).
        last_close_reason: Option<String>,
        /// The newest timestamp this client has seen, encoded.
        #[serde(skip_serializing_if = "Option::is_none")]
        max_observed_timestamp: Option<String>,
        /// The client's wall clock, milliseconds.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_ts: Option<u64>,
    },
    /// Changes to the query set.
    #[serde(rename_all = "camelCase")]
    ModifyQuerySet {
        /// The version the changes apply to.
        base_version: u32,
        /// The version after them.
        new_version: u32,
        /// Adds and removes.
        modifications: Vec<QuerySetModification>,
    },
    /// Run a mutation.
    #[serde(rename_all = "camelCase")]
    Mutation {
        /// Never reused within the session.
        request_id: RequestId,
        /// `module:function`.
        udf_path: String,
        /// The JSON text of the one-element args array.
        args: Box<serde_json::value::RawValue>,
    },
    /// Run an action.
    #[serde(rename_all = "camelCase")]
    Action {
        /// Never reused within the session.
        request_id: RequestId,
        /// `module:function`.
        udf_path: String,
        /// The JSON text of the one-element args array.
        args: Box<serde_json::value::RawValue>,
    },
    /// Set or clear the identity (serialised by hand in [`ClientMessage::to_text`]).
    #[serde(skip_serializing)]
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
        // Every map key is a string and every value serialisable: this cannot fail, but a
        // failure must still not panic the client.
        match self {
            ClientMessage::Authenticate { base_version, token } => {
                #[derive(Serialize)]
                #[serde(rename_all = "camelCase")]
                struct Wire<'a> {
                    r#type: &'static str,
                    base_version: u32,
                    token_type: &'static str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    value: Option<&'a str>,
                }
                let (token_type, value) = match token {
                    AuthToken::User(t) => ("User", Some(t.as_str())),
                    AuthToken::None => ("None", None),
                };
                serde_json::to_string(&Wire {
                    r#type: "Authenticate",
                    base_version: *base_version,
                    token_type,
                    value,
                })
            }
            other => serde_json::to_string(other),
        }
        .unwrap_or_default()
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
        /// Its value (decoded once, shared by every subscriber).
        value: Arc<Value>,
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
        result: Result<Arc<Value>, ErrorPayload>,
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
        result: Result<Arc<Value>, ErrorPayload>,
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

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn null_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<Value>>, D::Error> {
    // `errorData: null` means "no data" on the wire.
    Ok(Option::<Value>::deserialize(d)?.map(Arc::new))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireModification {
    #[serde(rename = "type")]
    kind: String,
    query_id: QueryId,
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
    #[serde(default)]
    log_lines: Option<Vec<String>>,
    #[serde(default)]
    journal: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default, deserialize_with = "null_as_none")]
    error_data: Option<Arc<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    start_version: Option<StateVersion>,
    #[serde(default)]
    end_version: Option<StateVersion>,
    #[serde(default)]
    modifications: Option<Vec<WireModification>>,
    #[serde(default)]
    chunk: Option<String>,
    #[serde(default)]
    part_number: Option<u32>,
    #[serde(default)]
    total_parts: Option<u32>,
    #[serde(default)]
    transition_id: Option<String>,
    #[serde(default)]
    request_id: Option<RequestId>,
    #[serde(default)]
    success: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Value>,
    #[serde(default)]
    ts: Option<String>,
    #[serde(default)]
    log_lines: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_none")]
    error_data: Option<Arc<Value>>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    base_version: Option<u32>,
    #[serde(default)]
    auth_update_attempted: Option<bool>,
}

fn need<T>(field: Option<T>, kind: &str, name: &str) -> Result<T, MalformedMessage> {
    field.ok_or_else(|| MalformedMessage(format!("{kind} without `{name}`")))
}

impl WireModification {
    fn into_modification(self) -> Result<StateModification, MalformedMessage> {
        let log_lines = self.log_lines.unwrap_or_default();
        match self.kind.as_str() {
            "QueryUpdated" => Ok(StateModification::QueryUpdated {
                query_id: self.query_id,
                value: Arc::new(need(self.value, "QueryUpdated", "value")?),
                log_lines,
                journal: self.journal,
            }),
            "QueryFailed" => Ok(StateModification::QueryFailed {
                query_id: self.query_id,
                error: ErrorPayload {
                    message: need(self.error_message, "QueryFailed", "errorMessage")?,
                    data: self.error_data,
                },
                log_lines,
                journal: self.journal,
            }),
            "QueryRemoved" => Ok(StateModification::QueryRemoved { query_id: self.query_id }),
            other => Err(MalformedMessage(format!("unknown modification type {other:?}"))),
        }
    }
}

fn outcome(
    kind: &str,
    success: Option<bool>,
    result: Option<Value>,
    error_data: Option<Arc<Value>>,
) -> Result<Result<Arc<Value>, ErrorPayload>, MalformedMessage> {
    let result = need(result, kind, "result")?;
    match need(success, kind, "success")? {
        true => Ok(Ok(Arc::new(result))),
        false => match result {
            Value::String(message) => Ok(Err(ErrorPayload { message, data: error_data })),
            _ => Err(MalformedMessage(format!("{kind}: a failure's `result` must be its message"))),
        },
    }
}

impl TryFrom<WireMessage> for ServerMessage {
    type Error = MalformedMessage;

    fn try_from(m: WireMessage) -> Result<Self, MalformedMessage> {
        let kind = m.kind.as_str();
        let ts =
            m.ts.as_deref()
                .map(decode_ts)
                .transpose()
                .map_err(|e| MalformedMessage(format!("{kind}: bad `ts`: {e}")))?;
        Ok(match kind {
            "Transition" => ServerMessage::Transition {
                start_version: need(m.start_version, kind, "startVersion")?,
                end_version: need(m.end_version, kind, "endVersion")?,
                modifications: need(m.modifications, kind, "modifications")?
                    .into_iter()
                    .map(WireModification::into_modification)
                    .collect::<Result<_, _>>()?,
            },
            "TransitionChunk" => ServerMessage::TransitionChunk {
                chunk: need(m.chunk, kind, "chunk")?,
                part_number: need(m.part_number, kind, "partNumber")?,
                total_parts: need(m.total_parts, kind, "totalParts")?,
                transition_id: need(m.transition_id, kind, "transitionId")?,
            },
            "MutationResponse" => ServerMessage::MutationResponse {
                request_id: need(m.request_id, kind, "requestId")?,
                result: outcome(kind, m.success, m.result, m.error_data)?,
                ts,
                log_lines: m.log_lines.unwrap_or_default(),
            },
            "ActionResponse" => ServerMessage::ActionResponse {
                request_id: need(m.request_id, kind, "requestId")?,
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

impl<'de> Deserialize<'de> for ServerMessage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ServerMessage::try_from(WireMessage::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl ServerMessage {
    /// Parses a message's JSON text.
    pub fn parse(text: &str) -> Result<ServerMessage, MalformedMessage> {
        serde_json::from_str(text).map_err(|e| MalformedMessage(e.to_string()))
    }
}
