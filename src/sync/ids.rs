//! The engine's identifiers: opaque newtypes, so a query id is never mistaken for a request id
//! and nobody outside the engine makes one up.

use serde::{Deserialize, Serialize};

/// Ids the engine hands out in increasing order and keys its small sorted maps by.
pub(crate) trait DenseId: Copy + Ord {}

macro_rules! wire_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(u32);

        impl $name {
            pub(crate) const fn new(index: u32) -> Self {
                Self(index)
            }

            /// The number on the wire.
            pub(crate) const fn index(self) -> u32 {
                self.0
            }
        }

        impl DenseId for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

wire_id!(
    /// A query's id within one client's query set (as on the wire). Ids are never reused.
    QueryId
);
wire_id!(
    /// A mutation's or action's id within one client session (as on the wire). Ids are never
    /// reused, so the server can deduplicate a re-sent mutation.
    RequestId
);

macro_rules! local_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u64);

        impl $name {
            pub(crate) const fn new(index: u64) -> Self {
                Self(index)
            }

        }
    };
}

local_id!(
    /// Identifies one `subscribe` call (several may share a query).
    SubscriptionId
);
local_id!(
    /// Identifies one WebSocket the engine asked the runtime to open.
    SocketId
);
local_id!(
    /// Identifies one token fetch (answers to superseded fetches are ignored).
    TokenRequestId
);
