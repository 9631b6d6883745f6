//! What an entry holds: its data (any `'static + PartialEq` type, shared), its error, and its
//! state as TanStack Query reports it.

use std::{any::Any, rc::Rc, time::Duration};

use crate::sync::ConvexError;

/// Data a cache entry can hold: any `'static` type with equality (structural sharing compares
/// a new result with the current one and keeps the current `Rc` when they are equal).
pub trait CacheData: Any {
    /// Whether `other` holds an equal value of the same type.
    fn same(&self, other: &dyn CacheData) -> bool;
    /// The value, to downcast.
    fn as_any(&self) -> &dyn Any;
    /// The shared value, to downcast without copying it.
    fn into_any_rc(self: Rc<Self>) -> Rc<dyn Any>;
}

impl<T: Any + PartialEq> CacheData for T {
    fn same(&self, other: &dyn CacheData) -> bool {
        other.as_any().downcast_ref::<T>().is_some_and(|o| o == self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any_rc(self: Rc<Self>) -> Rc<dyn Any> {
        self
    }
}

/// The data as a `T`, shared (no copy); `None` when it holds another type.
pub fn downcast<T: Any>(data: &Data) -> Option<Rc<T>> {
    data.clone().into_any_rc().downcast::<T>().ok()
}

/// Shared data of an entry.
pub type Data = Rc<dyn CacheData>;

/// Wraps a value as entry data.
pub fn data<T: Any + PartialEq>(value: T) -> Data {
    Rc::new(value)
}

/// Why a query has no data: a Convex error (with its `ConvexError` data) or any other failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// From Convex: the function threw, the connection failed, the identity changed.
    #[error(transparent)]
    Convex(#[from] ConvexError),
    /// From another query function (a `gloo-net` fetch, your own code).
    #[error("{0}")]
    Other(Rc<str>),
    /// The data in the cache is not of the type the reader asked for.
    #[error("the cached data for this key is not a {0}")]
    WrongType(&'static str),
}

impl QueryError {
    /// An error with this message.
    pub fn msg(message: impl std::fmt::Display) -> Self {
        QueryError::Other(message.to_string().into())
    }
}

/// Whether the entry has data (TanStack's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryStatus {
    /// No data yet (and no final error).
    Pending,
    /// Data is there.
    Success,
    /// The last fetch failed for good (after its retries).
    Error,
}

/// Whether a fetch runs (TanStack's `fetchStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchStatus {
    /// A fetch (or its retry) is under way.
    Fetching,
    /// A fetch wants to run but the network is offline: it continues when it is back.
    Paused,
    /// Nothing is running.
    Idle,
}

/// An entry's state.
#[derive(Clone)]
pub struct QueryState {
    /// The last data (kept through errors and refetches).
    pub data: Option<Data>,
    /// When `data` was last set (cache time).
    pub data_updated_at: Option<Duration>,
    /// The last final error (cleared by a success).
    pub error: Option<QueryError>,
    /// When `error` was set.
    pub error_updated_at: Option<Duration>,
    /// How many times a final error was set.
    pub error_update_count: u32,
    /// Failed attempts of the current fetch (reset by a success).
    pub failure_count: u32,
    /// The last attempt's error, while retrying.
    pub failure_reason: Option<QueryError>,
    /// Pending / success / error.
    pub status: QueryStatus,
    /// Fetching / paused / idle.
    pub fetch_status: FetchStatus,
    /// `invalidate` marked it stale.
    pub is_invalidated: bool,
}

impl Default for QueryState {
    fn default() -> Self {
        Self {
            data: None,
            data_updated_at: None,
            error: None,
            error_updated_at: None,
            error_update_count: 0,
            failure_count: 0,
            failure_reason: None,
            status: QueryStatus::Pending,
            fetch_status: FetchStatus::Idle,
            is_invalidated: false,
        }
    }
}

impl QueryState {
    /// Whether what an observer shows differs between `self` and `other` (data by pointer).
    pub fn differs(&self, other: &QueryState) -> bool {
        let data_differs = match (&self.data, &other.data) {
            (Some(a), Some(b)) => !Rc::ptr_eq(a, b),
            (None, None) => false,
            _ => true,
        };
        data_differs
            || self.error != other.error
            || self.status != other.status
            || self.fetch_status != other.fetch_status
            || self.is_invalidated != other.is_invalidated
            || self.failure_count != other.failure_count
    }
}

impl std::fmt::Debug for QueryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryState")
            .field("has_data", &self.data.is_some())
            .field("status", &self.status)
            .field("fetch_status", &self.fetch_status)
            .field("error", &self.error)
            .field("failure_count", &self.failure_count)
            .finish()
    }
}
