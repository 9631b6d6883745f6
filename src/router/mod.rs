//! Routing with loaders over the query cache (TanStack Router's part of the seed, on top of
//! yew-router): per route a `before_load` step that may redirect, a loader that fills the cache
//! before the route renders, preload on intent, pending / error / not-found components, active
//! links, the document head, and scroll restoration.
//!
//! The pure rules (head merging, pending timing, scroll positions, active matching) live in
//! their own modules and are tested natively; the browser part is a thin layer.

mod active;
mod head;
mod pending;
mod scroll;

#[cfg(target_arch = "wasm32")]
mod boundary;
#[cfg(target_arch = "wasm32")]
mod dom;
#[cfg(target_arch = "wasm32")]
mod link;
#[cfg(target_arch = "wasm32")]
mod route;
#[cfg(target_arch = "wasm32")]
mod runtime;

pub use active::is_active;
pub use head::{Head, LinkTag, Meta};
pub use pending::{PendingTimer, Phase, PENDING_MIN_MS, PENDING_MS};
pub use scroll::{ScrollStore, ScrollTarget};

#[cfg(target_arch = "wasm32")]
pub use boundary::{
    CatchBoundaryProps, DefaultCatchBoundary, NotFound, NotFoundProps, PendingSkeleton,
};
#[cfg(target_arch = "wasm32")]
pub use link::{Link, LinkProps};
#[cfg(target_arch = "wasm32")]
pub use route::{BeforeLoad, LoadError, Loader, RouteAuth, RouteDef, RouterContext};
#[cfg(target_arch = "wasm32")]
pub use runtime::{
    use_route_boundary, use_route_query, use_router, LoadRecord, Outlet, RouterHandle,
    RouterListener, RouterProvider, RouterProviderProps, RouterState, PRELOAD_DELAY,
    PRELOAD_STALE_TIME,
};

#[cfg(target_arch = "wasm32")]
pub(crate) use dom::set_timeout;

/// Engine-independent time for the devtools (`performance.now()`).
#[cfg(target_arch = "wasm32")]
pub fn now_for_devtools() -> std::time::Duration {
    runtime::now()
}
