//! The Yew runtime: providers that put a [`ConvexClient`] in context, hooks that subscribe
//! components to queries and run mutations and actions, and auth-aware components.
//!
//! Names follow `convex/react`: [`ConvexProvider`], [`use_query`] (`useQuery`),
//! [`use_mutation`] (`useMutation`), [`use_action`], [`use_convex_auth`],
//! [`ConvexProviderWithAuth`], [`Authenticated`], [`Unauthenticated`], [`AuthLoading`].
//!
//! [`ConvexClient`]: crate::client::ConvexClient

mod auth;
mod cached;
mod provider;
mod use_connection_state;
mod use_mutation;
mod use_paginated_query;
mod use_queries;
mod use_query;

pub(crate) use auth::{provide, use_auth_bridge, ConvexAuthContext};
pub use auth::{
    use_convex_auth, AuthLoading, AuthRefreshing, AuthSource, Authenticated, ConvexAuthState,
    ConvexProviderWithAuth, ConvexProviderWithAuthProps, TokenFetcher, Unauthenticated,
};
pub use cached::{
    cached_query, convex_action, convex_query, use_cached_mutation, use_cached_query,
    use_query_client, use_suspense_query, CachedQuery, QueryClientProvider,
    QueryClientProviderProps, UseCachedMutation, UseCachedQuery,
};
pub(crate) use provider::ConvexContext;
pub use provider::{use_convex, ConvexProvider, ConvexProviderProps};
pub use use_connection_state::use_convex_connection_state;
pub use use_mutation::{use_action, use_mutation, Action, Mutation};
pub use use_paginated_query::{use_paginated_query, PaginationStatus, UsePaginatedQuery};
pub use use_queries::{use_queries, QuerySpec};
pub use use_query::{
    preload_query, use_preloaded_query, use_query, use_query_skip, PreloadedQuery, QueryState,
};

/// Children props shared by the auth-gated components.
#[derive(yew::Properties, PartialEq)]
pub struct ChildrenProps {
    /// What to render when the condition holds.
    #[prop_or_default]
    pub children: yew::Html,
}
