//! Clerk for Yew: clerk-js loaded by script tag and called through wasm-bindgen, its state as
//! plain Rust, hooks (`use_auth`, `use_user`, `use_session`, `use_clerk`), components
//! (`SignedIn`, `SignedOut`, `SignInButton`, `SignOutButton`, `UserButton`, `SignInForm`), and
//! [`ConvexProviderWithClerk`].
//!
//! The boundary with JavaScript is three files: `bindings` (raw externs, every one `catch`),
//! `loader` (script tags) and `bridge` (the only place a `JsValue` becomes Rust).

mod error;
mod publishable_key;
mod state;
mod urls;

pub use error::ClerkError;
pub use publishable_key::{InstanceType, PublishableKey};
pub use state::{AuthState, ClerkSnapshot, Session, User};
pub use urls::{ScriptUrls, CLERK_JS_VERSION, CLERK_UI_VERSION};

#[cfg(target_arch = "wasm32")]
mod bindings;
#[cfg(target_arch = "wasm32")]
mod bridge;
#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod convex;
#[cfg(target_arch = "wasm32")]
mod loader;
#[cfg(target_arch = "wasm32")]
mod provider;

#[cfg(target_arch = "wasm32")]
pub use components::{
    SignInButton, SignInButtonProps, SignInForm, SignInFormProps, SignInMode, SignOutButton,
    SignOutButtonProps, SignedIn, SignedOut, UserButton,
};
#[cfg(target_arch = "wasm32")]
pub use convex::{ConvexProviderWithClerk, ConvexProviderWithClerkProps};
#[cfg(target_arch = "wasm32")]
pub use provider::{
    use_auth, use_clerk, use_session, use_user, ClerkContext, ClerkHandle, ClerkProvider,
    ClerkProviderProps, UseAuth,
};
