//! Errors the sync layer reports.

use std::sync::Arc;

use crate::value::{Value, ValueError};

/// Why a query, mutation or action did not produce a value.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConvexError {
    /// The function threw. `data` carries a `ConvexError`'s data (`throw new ConvexError(data)`),
    /// which Convex never redacts; `message` is the server's text.
    #[error("{message}")]
    Function {
        /// The server's error text (`[Request ID: …] Server Error…`).
        message: String,
        /// A ConvexError's data.
        data: Option<Arc<Value>>,
    },
    /// The socket closed while an action ran. Actions are never re-sent (they may not be
    /// idempotent); retry it yourself if that is safe.
    #[error("Connection lost while action was in flight")]
    ConnectionLost,
    /// The arguments cannot be sent (e.g. not an object, or a `$`-prefixed field name).
    #[error("invalid arguments: {0}")]
    InvalidArgs(ValueError),
    /// The client was closed before the request completed.
    #[error("the Convex client was closed")]
    Closed,
    /// The server refused the connection for good (FatalError).
    #[error("the server ended the connection: {0}")]
    Fatal(String),
    /// A result did not deserialize into the type asked for.
    #[error("the result does not match the expected type: {0}")]
    Decode(ValueError),
    /// The deployment URL is not usable.
    #[error("invalid Convex deployment URL {0:?}: expected http(s)://host[:port]")]
    InvalidUrl(String),
    /// An HTTP-level failure (ConvexHttpClient): the `{code, message}` body of a non-function
    /// error, or a network failure.
    #[error("{code}: {message}")]
    Http {
        /// The backend's error code (`BadJsonBody`, `Unauthenticated`, …) or `NetworkError`.
        code: String,
        /// Its message.
        message: String,
    },
}

impl ConvexError {
    /// A ConvexError's data, when the function threw one.
    pub fn data(&self) -> Option<&Value> {
        match self {
            ConvexError::Function { data, .. } => data.as_deref(),
            _ => None,
        }
    }
}
