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
    /// The signed-in identity changed (a sign-out, another user) before the server had this
    /// request: it was not sent (or not re-sent after a dropped socket) so that it never runs
    /// as somebody else. A mutation sent on a socket that dropped before its answer may or may
    /// not have run as the previous identity.
    #[error("the signed-in user changed before the server received this request; it was not run as the new user")]
    IdentityChanged,
    /// The client was called from inside its own callback where that is not allowed (e.g. from
    /// an optimistic update, which may only edit the `LocalStore` it is given).
    #[error(
        "the Convex client cannot be called from inside an optimistic update or while it is busy"
    )]
    Reentrant,
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
