//! The sync layer: Convex's WebSocket protocol as a **sans-IO** state machine.
//!
//! [`SyncEngine`] owns everything the protocol decides: the query set and its versions,
//! mutation and action requests, read-your-writes, optimistic updates, reconnects and their
//! backoff, and the auth token's life (confirmation, refresh, errors). It never touches a
//! socket, a timer or JavaScript: a runtime (the browser `ConvexClient`, or a test) feeds it
//! events with the current time and carries out what it asks.
//!
//! # Example: driving the engine by hand
//! ```
//! use std::time::Duration;
//! use yew_convex::sync::{Event, SyncConfig, SyncEngine};
//! use yew_convex::value::Value;
//!
//! let mut engine = SyncEngine::new(SyncConfig::default(), "0b5c2a4e-0000-4000-8000-000000000000".into());
//! let now = Duration::ZERO;
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
//! assert_eq!(engine.query_result(query).unwrap().unwrap().as_array().map(<[Value]>::len), Some(0));
//! ```

mod backoff;
mod engine;
mod error;
mod idmap;
mod optimistic;
pub mod protocol;
mod timer;
mod token;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use backoff::CloseKind;
pub use engine::{
    AuthStatus, ConnectionState, Event, FunctionKind, QueryResult, SocketId, SubscriptionId,
    SyncConfig, SyncEngine, TokenRequestId,
};
pub use error::ConvexError;
pub use optimistic::{LocalStore, OptimisticUpdate};
pub use protocol::{QueryId, RequestId};

/// The canonical form of a function path: `module:function`, `.js` dropped, `default` implied.
pub fn canonical_path(path: &str) -> String {
    let (module, function) = path.split_once(':').unwrap_or((path, "default"));
    let module = module.strip_suffix(".js").unwrap_or(module);
    format!("{module}:{function}")
}
