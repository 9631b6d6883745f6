//! Server-initiated closes reach the client intact: every refused socket receives its
//! AuthError/FatalError and then a close frame, even when the client has sent more data the
//! server never reads (a dropped connection with unread data turns into a TCP reset, and the
//! reset can overtake what the server queued).

mod common;

use common::Server;
use convex_sync_types::{
    AuthenticationToken, ClientMessage, Query, QueryId, QuerySetModification, SessionId,
};
use futures_util::{stream, SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio_tungstenite::tungstenite::Message;

const SOCKETS: usize = 500;
const PARALLEL: usize = 16;

fn text(message: ClientMessage) -> Message {
    Message::Text(Json::try_from(message).expect("to json").to_string().into())
}

fn connect_message() -> Message {
    text(ClientMessage::Connect {
        session_id: SessionId::new(uuid::Uuid::new_v4()),
        connection_count: 0,
        last_close_reason: "InitialConnect".into(),
        max_observed_timestamp: None,
        client_ts: None,
    })
}

fn add_query(base_version: u32) -> Message {
    text(ClientMessage::ModifyQuerySet {
        base_version,
        new_version: base_version + 1,
        modifications: vec![QuerySetModification::Add(Query {
            query_id: QueryId::new(0),
            udf_path: "posts:list".parse().expect("udf path"),
            args: convex_sync_types::types::SerializedArgs::from_args(vec![json!({})])
                .expect("args"),
            journal: None,
            component_path: None,
        })],
    })
}

/// What one socket saw after its messages: the first server message's `type`, and the close
/// frame (`Some(None)`: a close frame without a code; `None`: no close frame at all).
#[derive(Debug, PartialEq)]
struct Seen {
    first: Option<String>,
    close: Option<Option<u16>>,
}

/// Opens a socket, sends `messages` back to back without reading, then reads until it closes.
async fn refused(url: String, messages: Vec<Message>) -> Seen {
    let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.expect("ws connect");
    for message in messages {
        if socket.feed(message).await.is_err() {
            break;
        }
    }
    let _ = socket.flush().await;
    let mut seen = Seen { first: None, close: None };
    loop {
        let frame = tokio::time::timeout(common::TIMEOUT, socket.next())
            .await
            .expect("the server neither answered nor closed");
        match frame {
            Some(Ok(Message::Text(t))) => {
                let json: Json = serde_json::from_str(&t).expect("server sent invalid JSON");
                let kind = json["type"].as_str().unwrap_or_default().to_string();
                if kind != "Ping" && seen.first.is_none() {
                    seen.first = Some(kind);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                seen.close = Some(frame.map(|f| u16::from(f.code)));
                // Answer the close (tungstenite queues the reply; reading on sends it).
                let _ = tokio::time::timeout(common::TIMEOUT, socket.next()).await;
                return seen;
            }
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return seen,
        }
    }
}

async fn run_many(messages: impl Fn() -> Vec<Message>, url: String) -> Vec<Seen> {
    stream::iter((0..SOCKETS).map(|_| refused(url.clone(), messages())))
        .buffer_unordered(PARALLEL)
        .collect()
        .await
}

fn report(what: &str, seen: &[Seen], expected_first: &str) {
    let ok = seen
        .iter()
        .filter(|s| s.first.as_deref() == Some(expected_first) && s.close == Some(None))
        .count();
    let no_error = seen.iter().filter(|s| s.first.as_deref() != Some(expected_first)).count();
    let no_close = seen.iter().filter(|s| s.close.is_none()).count();
    eprintln!(
        "{what}: {ok}/{} with {expected_first} + close frame ({no_error} without {expected_first}, {no_close} without a close frame)",
        seen.len()
    );
    let bad: Vec<&Seen> = seen.iter().filter(|s| s.close != Some(None)).take(3).collect();
    assert_eq!(ok, seen.len(), "{what}: e.g. {bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_token_gets_its_auth_error_and_a_close_frame() {
    let server = Server::start();
    let valid = server.token("alice", "Alice").await;
    // Forged: a valid token's payload with another subject (the signature no longer matches).
    let parts: Vec<&str> = valid.split('.').collect();
    use base64::Engine as _;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let payload = json!({"iss": server.http(), "sub": "mallory", "aud": "convex", "iat": now, "exp": now + 600});
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    // The JS client's order: Connect, Authenticate, ModifyQuerySet, without waiting.
    let seen = run_many(
        || {
            vec![
                connect_message(),
                text(ClientMessage::Authenticate {
                    base_version: 0,
                    token: AuthenticationToken::User(forged.clone()),
                }),
                add_query(0),
            ]
        },
        server.ws("/api/1.30.0/sync"),
    )
    .await;
    report("refused tokens", &seen, "AuthError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_violation_gets_its_fatal_error_and_a_close_frame() {
    let server = Server::start();
    // A ModifyQuerySet with the wrong baseVersion, then a well-formed one the server never reads.
    let seen = run_many(
        || vec![connect_message(), add_query(5), add_query(0)],
        server.ws("/api/1.30.0/sync"),
    )
    .await;
    report("protocol violations", &seen, "FatalError");
}
