//! The query cache: TanStack Query's semantics for Yew, with Convex queries as first-class
//! entries (`@convex-dev/react-query`'s `ConvexQueryClient`, with its known faults fixed).
//!
//! The core ([`QueryCache`]) is framework-free and sans-IO: no `web_sys`, no `yew`, no clock;
//! time and timers are inputs, as in [`crate::sync`]. In the browser, `QueryClient` drives it
//! (query functions as futures, one timer, Convex subscriptions through a
//! [`crate::client::ConvexClient`]), and the hooks (`use_cached_query`, `use_suspense_query`,
//! `use_cached_mutation`, `QueryClientProvider`) are a thin layer over it.
//!
//! Entries are keyed by [`QueryKey`]. A Convex query's key ([`QueryKey::convex_query`]) is
//! special: its first observer opens a subscription whose results are pushed into the entry
//! (never stale while subscribed); after its last observer leaves, the subscription lingers
//! ([`CacheConfig::convex_linger`], 5 s) so a returning component reuses it, and the data stays
//! for `gc_time` (5 min) so a return visit shows it at once while the subscription reopens.
//! A change of signed-in user drops every Convex entry of the previous one.
//!
//! # When to use which
//! - [`crate::use_query`]: a live Convex query in a component, nothing else. Smallest and
//!   fastest; shows `Loading` again after the component remounts.
//! - `use_cached_query` / `use_suspense_query`: data that should survive a remount (pages you
//!   come back to), that a route loader fetched ahead, or that is not from Convex (HTTP APIs).

#[cfg(target_arch = "wasm32")]
mod browser;
mod core;
mod data;
mod key;
mod mutation;
mod observer;
mod options;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use self::core::{
    CacheEvent, EntryInfo, FetchId, FetchMode, ObserverId, QueryCache, Subscription,
};
#[cfg(target_arch = "wasm32")]
pub use browser::{convex_value, query_fn, CacheListener, QueryClient, QueryFn};
pub use data::{data, downcast, CacheData, Data, FetchStatus, QueryError, QueryState, QueryStatus};
pub use key::{QueryKey, CONVEX_ACTION, CONVEX_QUERY};
pub use mutation::{Mutation, MutationState};
pub use observer::{ObserverView, Placeholder};
pub use options::{CacheConfig, QueryOptions, Refetch, Retry, StaleTime};
