//! The sync layer: Convex's WebSocket protocol as a **sans-IO** state machine.
//!
//! [`SyncEngine`] owns everything the protocol decides. It never touches a socket, a timer or
//! JavaScript: a runtime (the browser `ConvexClient`, or a test) feeds it events with the
//! current time and carries out what it asks. It is composed of parts with one concern each,
//! named as convex-js names them:
//!
//! | part | owns |
//! | --- | --- |
//! | `local_state` | the subscribed queries, deduplicated, and the `ModifyQuerySet`s |
//! | `remote_query_set` | the server's results, their version, chunked Transitions, and whose each result is |
//! | `request_manager` | mutations and actions, read-your-writes, re-sending, identity rules |
//! | `auth` | the token's life: first fetch, confirmation, refresh, refusal, sign-out |
//! | `connection` | the socket's life, backoff, silence, connect timeout, zombie sockets |
//!
//! The engine is proven against a model of the server under random schedules (`sim`, native
//! tests: `SIM_SEEDS=1000000 cargo test --release -p yew-convex sim` for a long run).
//!
//! # Example: driving the engine by hand
//! ```
//! use std::time::Duration;
//! use yew_convex::sync::{Event, SyncConfig, SyncEngine};
//! use yew_convex::value::Value;
//!
//! let now = Duration::ZERO;
//! let mut engine = SyncEngine::new(SyncConfig::default(), "0b5c2a4e-0000-4000-8000-000000000000".into(), now);
//! // The engine wants a socket.
//! let Some(Event::OpenSocket { socket }) = engine.poll_event() else { panic!() };
//! let (_sub, query) = engine.subscribe("posts:list", &Value::Object(Default::default())).unwrap();
//! engine.handle_open(socket, now, None);
//! // Connect, then the query set.
//! assert!(engine.poll_transmit().unwrap().contains("\"Connect\""));
//! assert!(engine.poll_transmit().unwrap().contains("\"ModifyQuerySet\""));
//! // The server answers with a Transition.
//! engine.handle_text(socket, r#"{"type":"Transition","startVersion":{"querySet":0,"identity":0,"ts":"AAAAAAAAAAA="},
//!     "endVersion":{"querySet":1,"identity":0,"ts":"AQAAAAAAAAA="},
//!     "modifications":[{"type":"QueryUpdated","queryId":0,"value":[],"logLines":[],"journal":null}]}"#, now);
//! // Results stay their wire JSON until read (`decode::<T>()`, `value()`).
//! assert_eq!(engine.query_result(query).unwrap().unwrap().json(), "[]");
//! ```

mod auth;
mod backoff;
mod connection;
mod engine;
mod error;
mod idmap;
mod ids;
mod local_state;
mod optimistic;
pub mod protocol;
mod remote_query_set;
mod request_manager;
mod token;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod sim;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use auth::{AuthStatus, Principal};
pub use backoff::CloseKind;
pub use engine::{ConnectionState, Event, FunctionKind, SyncConfig, SyncEngine};
pub use error::ConvexError;
pub use ids::{QueryId, RequestId, SocketId, SubscriptionId, TokenRequestId};
pub use optimistic::{LocalStore, OptimisticUpdate};
pub use remote_query_set::QueryResult;

/// The canonical form of a function path: `module:function`, `.js` dropped, `default` implied.
pub fn canonical_path(path: &str) -> String {
    let (module, function) = path.split_once(':').unwrap_or((path, "default"));
    let module = module.strip_suffix(".js").unwrap_or(module);
    format!("{module}:{function}")
}
