//! Errors of the Clerk layer.

/// What went wrong talking to Clerk.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClerkError {
    /// The publishable key is malformed.
    #[error("invalid Clerk publishable key: {0}")]
    InvalidPublishableKey(String),
    /// clerk-js (or @clerk/ui) could not be loaded.
    #[error("could not load {url}: {reason}")]
    ScriptLoad {
        /// The script's URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// clerk-js is not loaded (yet).
    #[error("Clerk is not loaded")]
    NotLoaded,
    /// Clerk's prebuilt UI (@clerk/ui) is not loaded, so modals and the user button are unavailable.
    #[error("Clerk's prebuilt UI is not loaded")]
    UiNotLoaded,
    /// The Frontend API refused a request (wrong password, unknown user, …).
    #[error("{long_message}")]
    Api {
        /// Clerk's error code (`form_password_incorrect`, …).
        code: String,
        /// Short message.
        message: String,
        /// The message to show a user.
        long_message: String,
    },
    /// clerk-js threw something else.
    #[error("Clerk error: {0}")]
    Js(String),
}
