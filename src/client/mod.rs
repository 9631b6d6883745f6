//! The browser runtime: [`ConvexClient`] drives the sans-IO [`crate::sync::SyncEngine`] with a
//! WebSocket and timers; [`ConvexHttpClient`] calls the HTTP API. Both are wasm32-only; the
//! URL helpers are not.

mod url;
pub use url::{normalize_deployment_url, sync_url, PROTOCOL_CLIENT_VERSION};

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod http;
#[cfg(target_arch = "wasm32")]
mod text;

#[cfg(target_arch = "wasm32")]
pub use browser::{ConnectionSubscription, ConvexClient, QueryStream, QuerySubscription};
#[cfg(target_arch = "wasm32")]
pub use http::ConvexHttpClient;
