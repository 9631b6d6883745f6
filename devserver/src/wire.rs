//! Server messages of the sync protocol, serialised directly (values travel as pre-encoded raw
//! JSON, so a result shared by many sessions is never re-encoded per session). The shapes are
//! those of `convex_sync_types`; the tests prove that every message parses with it.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::Serialize;
use serde_json::{value::RawValue, Value as Json};

/// `u64` timestamps travel as base64 of their little-endian bytes.
pub fn encode_ts(ts: u64) -> String {
    STANDARD.encode(ts.to_le_bytes())
}

/// A state version: query set, identity, timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Version {
    pub query_set: u32,
    pub identity: u32,
    pub ts: u64,
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct V {
            query_set: u32,
            identity: u32,
            ts: String,
        }
        V { query_set: self.query_set, identity: self.identity, ts: encode_ts(self.ts) }
            .serialize(s)
    }
}

/// One change in a Transition.
#[derive(Serialize)]
#[serde(tag = "type")]
pub enum Modification<'a> {
    #[serde(rename_all = "camelCase")]
    QueryUpdated {
        query_id: u32,
        value: &'a RawValue,
        log_lines: &'a [String],
        journal: Option<&'a str>,
    },
    #[serde(rename_all = "camelCase")]
    QueryFailed {
        query_id: u32,
        error_message: String,
        log_lines: &'a [String],
        journal: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_data: Option<&'a Json>,
    },
    #[serde(rename_all = "camelCase")]
    QueryRemoved { query_id: u32 },
}

/// A message from the server.
#[derive(Serialize)]
#[serde(tag = "type")]
pub enum ServerMessage<'a> {
    #[serde(rename_all = "camelCase")]
    Transition {
        start_version: Version,
        end_version: Version,
        modifications: Vec<Modification<'a>>,
        client_clock_skew: Option<i64>,
        server_ts: u64,
    },
    #[serde(rename_all = "camelCase")]
    TransitionChunk {
        chunk: &'a str,
        part_number: u32,
        total_parts: u32,
        transition_id: String,
    },
    #[serde(rename_all = "camelCase")]
    MutationResponse {
        request_id: u32,
        success: bool,
        result: Json,
        ts: Option<String>,
        log_lines: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        error_data: Option<&'a Json>,
    },
    #[serde(rename_all = "camelCase")]
    ActionResponse {
        request_id: u32,
        success: bool,
        result: Json,
        log_lines: &'a [String],
        #[serde(skip_serializing_if = "Option::is_none")]
        error_data: Option<&'a Json>,
    },
    #[serde(rename_all = "camelCase")]
    AuthError {
        error: String,
        base_version: u32,
        auth_update_attempted: bool,
    },
    FatalError {
        error: String,
    },
    Ping,
}

impl ServerMessage<'_> {
    pub fn to_text(&self) -> String {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_string(self).unwrap_or_else(|e| {
            tracing::error!("cannot serialise a server message: {e}");
            String::from(r#"{"type":"FatalError","error":"InternalServerError"}"#)
        })
    }
}

/// Cuts `text` into pieces of at most `max` bytes, at UTF-8 character boundaries.
pub fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        if end == 0 {
            // `max` is smaller than one character: take the whole character.
            end = rest.chars().next().map(char::len_utf8).unwrap_or(rest.len());
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_character_boundaries() {
        let text = "aé€😀".repeat(100);
        let pieces = chunks(&text, 7);
        assert!(pieces.iter().all(|p| p.len() <= 7));
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn ping_and_versions_have_the_wire_shape() {
        assert_eq!(ServerMessage::Ping.to_text(), r#"{"type":"Ping"}"#);
        let v = Version { query_set: 1, identity: 2, ts: 0 };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"querySet":1,"identity":2,"ts":"AAAAAAAAAAA="}"#
        );
    }
}
