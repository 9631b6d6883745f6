//! yew-convex: the Rust/WebAssembly way to build a Yew app on Convex with Clerk sign-in.
//!
//! Layers (each depends only on the ones above it):
//! - [`value`]: Convex values, their wire JSON, and serde bridges to your own types;
//! - [`function`]: typed references to Convex functions (`FunctionRef`), what `api` is in TypeScript;
//! - [`sync`]: the sync protocol as a sans-IO state machine (no socket, timer or JavaScript);
//! - [`client`] (browser): `ConvexClient` drives [`sync`] with a WebSocket and timers;
//!   `ConvexHttpClient` calls the HTTP API.
#![warn(missing_docs)]

pub mod cache;
pub mod clerk;
pub mod client;
#[cfg(target_arch = "wasm32")]
pub mod devtools;
pub mod function;
#[cfg(target_arch = "wasm32")]
pub mod hooks;
pub mod router;
pub mod sync;
pub mod value;

#[cfg(target_arch = "wasm32")]
pub use clerk::ConvexProviderWithClerk;
#[cfg(target_arch = "wasm32")]
pub use hooks::*;

/// The README's Rust examples, compiled as doctests (for the browser target, where they run).
#[cfg(all(doctest, target_arch = "wasm32"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
