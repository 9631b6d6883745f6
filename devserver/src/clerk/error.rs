//! Clerk-shaped errors: `{"errors": [{message, long_message, code, meta: {param_name?}}],
//! "clerk_trace_id"}` with a 4xx status, as the Frontend API sends them. clerk-js turns them into
//! a `ClerkAPIResponseError` (`errors[0].longMessage` becomes its message) and the prebuilt UI
//! shows an error whose `meta.param_name` names a form field under that field.
//!
//! The codes and texts are Clerk's: `form_identifier_not_found` ("Couldn't find your account."),
//! `form_password_incorrect` ("Password is incorrect. Try again, or use another method."),
//! `resource_not_found`, `session_exists`, … A 401 makes clerk-js sign the page out locally, so
//! it is sent only when the session really is gone.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json as AxumJson,
};
use serde_json::{json, Map, Value as Json};

/// One FAPI error response.
#[derive(Debug, Clone, PartialEq)]
pub struct FapiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub long_message: String,
    pub param: Option<&'static str>,
    /// The client, sent along as `meta.client` (clerk-js then updates its state).
    pub client: Option<Json>,
}

impl FapiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        long_message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            long_message: long_message.into(),
            param: None,
            client: None,
        }
    }

    /// The form field this error is about.
    pub fn param(mut self, name: &'static str) -> Self {
        self.param = Some(name);
        self
    }

    pub fn with_client(mut self, client: Option<Json>) -> Self {
        self.client = client;
        self
    }

    /// 422 `form_identifier_not_found` on `identifier`.
    pub fn identifier_not_found() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_identifier_not_found",
            "Couldn't find your account.",
            "Couldn't find your account.",
        )
        .param("identifier")
    }

    /// 422 `form_password_incorrect` on `password`.
    pub fn password_incorrect() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_password_incorrect",
            "Password is incorrect. Try again, or use another method.",
            "Password is incorrect. Try again, or use another method.",
        )
        .param("password")
    }

    /// 422 `form_param_nil`: a required field is missing or blank.
    pub fn missing(param: &'static str, what: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "form_param_nil",
            "is missing",
            format!("Enter {what}."),
        )
        .param(param)
    }

    /// 422 `strategy_for_user_invalid`: a first factor the stand-in does not offer.
    pub fn strategy_invalid(strategy: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "strategy_for_user_invalid",
            "Invalid verification strategy",
            format!("The verification strategy `{strategy}` is not valid for this account; this Clerk stand-in offers `password` only."),
        )
        .param("strategy")
    }

    /// 422 `session_exists`: single-session mode and the client is signed in already.
    pub fn session_exists() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "session_exists",
            "You're already signed in.",
            "You're currently in single session mode. You can only be signed into one account at a time.",
        )
    }

    /// 404 `resource_not_found` for an unknown id (`kind` e.g. "session", "sign in").
    pub fn not_found(kind: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            format!("No {kind} was found with id {id}"),
        )
    }

    /// 404 for a path the stand-in does not serve.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "resource_not_found",
            "not found",
            format!("The Clerk stand-in has no endpoint {method} {path}"),
        )
    }

    /// 401 `signed_out`: the session exists but is no longer active (ended, removed, revoked,
    /// expired), or there is no session at all.
    pub fn signed_out() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "signed_out", "Signed out", "You are signed out.")
    }

    /// 422 for a sign-in that is not waiting for a first factor.
    pub fn sign_in_not_pending(status: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "verification_already_verified",
            "This verification has already been verified.",
            format!(
                "This sign-in is `{status}`; it does not need a first factor. Start a new sign-in."
            ),
        )
    }

    /// 500 for a storage failure.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_clerk_error",
            "Oops, an unexpected error occurred",
            format!("The Clerk stand-in's database failed: {detail}"),
        )
    }

    /// The response body.
    pub fn body(&self) -> Json {
        let mut meta = Map::new();
        if let Some(param) = self.param {
            meta.insert("param_name".into(), json!(param));
        }
        let mut body = json!({
            "errors": [{
                "message": self.message,
                "long_message": self.long_message,
                "code": self.code,
                "meta": meta,
            }],
            "clerk_trace_id": format!("{:032x}", rand::random::<u128>()),
        });
        if let Some(client) = &self.client {
            body["meta"] = json!({ "client": client });
        }
        body
    }
}

impl IntoResponse for FapiError {
    fn into_response(self) -> Response {
        (self.status, AxumJson(self.body())).into_response()
    }
}

/// A failure while serving a request: a Clerk-shaped error or a storage error.
#[derive(Debug)]
pub enum Failure {
    Fapi(Box<FapiError>),
    Db(rusqlite::Error),
}

impl From<FapiError> for Failure {
    fn from(e: FapiError) -> Self {
        Failure::Fapi(Box::new(e))
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Db(e)
    }
}

pub type Result<T> = std::result::Result<T, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_like_clerk() {
        let body = FapiError::password_incorrect().body();
        assert_eq!(body["errors"][0]["code"], "form_password_incorrect");
        assert_eq!(body["errors"][0]["meta"], json!({"param_name": "password"}));
        assert!(body["errors"][0]["long_message"].is_string());
        assert_eq!(body["clerk_trace_id"].as_str().map(str::len), Some(32));
        assert!(body.get("meta").is_none());
        let body = FapiError::not_found("session", "sess_x").with_client(Some(json!({}))).body();
        assert_eq!(body["errors"][0]["meta"], json!({}));
        assert_eq!(body["meta"]["client"], json!({}));
    }
}
