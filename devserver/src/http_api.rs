//! The HTTP API (`POST /api/query`, `/api/mutation`, `/api/action`), the identity provider's
//! well-known documents, and the dev-only endpoints (`/dev/token`, `/dev/drop_sessions`,
//! `/dev/block_sessions`, `/dev/hold_mutations`, `/dev/fail_queries`).
//!
//! Function outcomes are HTTP 200 with `{status: "success" | "error", …}` as the real backend
//! answers; everything else is `{code, message}` with a 4xx status.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json as AxumJson,
};
use serde::Deserialize;
use serde_json::{json, Map, Value as Json};

use crate::{
    auth::{Identity, TokenRequest},
    engine::{random_request_id, CallOutcome, Engine, QueryFault},
    functions::{FnError, Kind},
    values::{check_encoded, to_clean_json, MAX_ARGS_BYTES},
};

/// A `{code, message}` error with its status.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, AxumJson(json!({"code": self.code, "message": self.message}))).into_response()
    }
}

#[derive(Deserialize)]
struct CallBody {
    path: String,
    #[serde(default)]
    args: Option<Json>,
    #[serde(default)]
    format: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Clean,
    Encoded,
}

/// The identity in the `Authorization` header, checked as the real backend checks it.
async fn identity_from_headers(
    engine: &Engine,
    headers: &HeaderMap,
) -> Result<Option<Identity>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| {
        ApiError::new(400, "HeaderParseFailure", format!("Failed to parse header {value:?}"))
    })?;
    if value.len() < 7 {
        return Err(ApiError::new(400, "InvalidHeaderFailure", "Invalid authentication header"));
    }
    if value.starts_with("Convex ") {
        return Err(ApiError::new(
            401,
            "BadAdminKey",
            "The provided admin key was invalid for this instance",
        ));
    }
    let token = value
        .strip_prefix("Bearer ")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(400, "InvalidAdminKey", "Invalid admin key"))?;
    engine.auth.verify(token).await.map(Some).map_err(|e| {
        let (code, status) = e.code();
        ApiError::new(status, code, e.to_string())
    })
}

fn valid_function_path(path: &str) -> bool {
    let (module, function) = path.split_once(':').unwrap_or((path, "default"));
    let module_ok = !module.is_empty()
        && !module.starts_with('/')
        && module.split('/').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
        });
    let function_ok = !function.is_empty()
        && function.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !function.starts_with(|c: char| c.is_ascii_digit());
    module_ok && function_ok
}

async fn call(engine: Arc<Engine>, kind: Kind, headers: HeaderMap, body: Bytes) -> Response {
    match call_inner(engine, kind, headers, body).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn call_inner(
    engine: Arc<Engine>,
    kind: Kind,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The real backend checks the header's shape, then the body, then the token.
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        if value.to_str().map(|v| v.len() < 7).unwrap_or(false) {
            return Err(ApiError::new(
                400,
                "InvalidHeaderFailure",
                "Invalid authentication header",
            ));
        }
    }
    let is_json =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(ApiError::new(
            400,
            "BadJsonBody",
            "Expected request with `Content-Type: application/json`",
        ));
    }
    let value: Json = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(400, "BadJsonBody", format!("Failed to parse the request body as JSON: {e}"))
    })?;
    let request: CallBody = serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            400,
            "BadJsonBody",
            format!("Failed to deserialize the JSON body into the target type: {e}"),
        )
    })?;
    if !valid_function_path(&request.path) {
        return Err(ApiError::new(
            400,
            "BadConvexFunctionIdentifier",
            format!("{} is not a valid path to a Convex function.", request.path),
        ));
    }
    let format = match request.format.as_deref() {
        None | Some("json") | Some("convex_clean_json") | Some("export_json") => Format::Clean,
        Some("convex_encoded_json") | Some("convex_json") => Format::Encoded,
        Some(other) => {
            return Err(ApiError::new(400, "InvalidFormat", format!("Invalid format: {other}")))
        }
    };
    let identity = identity_from_headers(&engine, &headers).await?;
    let args = match request.args {
        None => Ok(Json::Object(Map::new())),
        Some(Json::Array(mut items)) if items.len() == 1 => Ok(items.remove(0)),
        Some(Json::Array(items)) => Err(FnError::Arguments(format!(
            "ArgumentValidationError: Expected to receive a single object as the function's argument. Instead received {} arguments: {}",
            items.len(),
            crate::values::display(&Json::Array(items.clone()))
        ))),
        Some(other) => Ok(other),
    }
    .and_then(|args| {
        if args.to_string().len() > MAX_ARGS_BYTES {
            return Err(FnError::Arguments(format!(
                "ArgumentValidationError: Arguments are too large; the limit is {MAX_ARGS_BYTES} bytes."
            )));
        }
        check_encoded(&args).map_err(|e| FnError::Arguments(format!("ArgumentValidationError: {e}")))?;
        Ok(args)
    });
    let path = request.path;
    let outcome = match args {
        Err(e) => CallOutcome {
            result: Err(e),
            log_lines: vec![],
            ts: None,
            request_id: random_request_id(),
        },
        Ok(args) => {
            // HTTP mutations run one at a time, in their order of arrival (and wait while the
            // dev endpoint holds them); the turn ends when the mutation has run, even if the
            // request is dropped meanwhile.
            let turn = match kind {
                Kind::Mutation => Some(engine.http_mutation_turn().await),
                Kind::Query | Kind::Action => None,
            };
            let joined = tokio::task::spawn_blocking(move || {
                let _turn = turn;
                match kind {
                    Kind::Query => {
                        let outcome = engine.query(&path, &args, identity.as_ref());
                        CallOutcome {
                            result: match &outcome.result {
                                Ok(raw) => serde_json::from_str(raw.get())
                                    .map_err(|e| FnError::Internal(e.to_string())),
                                Err(e) => Err(e.clone()),
                            },
                            log_lines: outcome.log_lines.clone(),
                            ts: None,
                            request_id: outcome.request_id.clone(),
                        }
                    }
                    Kind::Mutation => engine.mutation(&path, &args, identity.as_ref(), None),
                    Kind::Action => {
                        engine.action(&path, &args, identity.as_ref(), random_request_id())
                    }
                }
            })
            .await;
            joined.map_err(|e| ApiError::new(500, "InternalServerError", e.to_string()))?
        }
    };
    let convert = |v: &Json| if format == Format::Clean { to_clean_json(v) } else { v.clone() };
    let mut body = Map::new();
    match &outcome.result {
        Ok(value) => {
            body.insert("status".into(), json!("success"));
            body.insert("value".into(), convert(value));
        }
        Err(e) => {
            body.insert("status".into(), json!("error"));
            body.insert("errorMessage".into(), json!(outcome.error_message()));
            if let Some(data) = e.data() {
                body.insert("errorData".into(), convert(data));
            }
        }
    }
    if !outcome.log_lines.is_empty() {
        body.insert("logLines".into(), json!(outcome.log_lines));
    }
    Ok((StatusCode::OK, AxumJson(Json::Object(body))).into_response())
}

pub async fn query(State(engine): State<Arc<Engine>>, headers: HeaderMap, body: Bytes) -> Response {
    call(engine, Kind::Query, headers, body).await
}

pub async fn mutation(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(engine, Kind::Mutation, headers, body).await
}

pub async fn action(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    call(engine, Kind::Action, headers, body).await
}

pub async fn openid_configuration(State(engine): State<Arc<Engine>>) -> Response {
    AxumJson(engine.auth.discovery_document()).into_response()
}

pub async fn jwks(State(engine): State<Arc<Engine>>) -> Response {
    AxumJson(engine.auth.jwks()).into_response()
}

/// `POST /dev/token {sub, name?, email?, ttl_secs?}` → `{token}` (dev only).
pub async fn dev_token(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let request: TokenRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return ApiError::new(
                400,
                "BadJsonBody",
                format!("Failed to parse the request body as JSON: {e}"),
            )
            .into_response()
        }
    };
    if request.sub.is_empty() {
        return ApiError::new(400, "BadRequest", "`sub` must not be empty").into_response();
    }
    AxumJson(json!({ "token": engine.auth.mint(&request) })).into_response()
}

/// `POST /dev/drop_sessions {sessionId?}`: drops WebSockets without a close frame (dev only),
/// as a network failure would.
pub async fn dev_drop_sessions(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let session = serde_json::from_slice::<Json>(&body)
        .ok()
        .and_then(|v| v.get("sessionId").and_then(Json::as_str).map(str::to_string));
    let listeners = engine.drop_sessions(session);
    AxumJson(json!({ "notified": listeners })).into_response()
}

/// `POST /dev/block_sessions {sessionId, block}` (dev only): while `block` is true, that
/// session's sync sockets are dropped without a close frame right after their Connect, as a
/// network failure would (the ones open now at once); `block: false` lets it connect again.
pub async fn dev_block_sessions(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<Json>(&body) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::new(
                400,
                "BadJsonBody",
                format!("Failed to parse the request body as JSON: {e}"),
            )
            .into_response()
        }
    };
    let Some(session) = request.get("sessionId").and_then(Json::as_str).filter(|s| !s.is_empty())
    else {
        return ApiError::new(400, "BadRequest", "`sessionId` must be a session id")
            .into_response();
    };
    let Some(block) = request.get("block").and_then(Json::as_bool) else {
        return ApiError::new(400, "BadRequest", "`block` must be true or false").into_response();
    };
    let listeners = engine.block_sessions(session.to_string(), block);
    AxumJson(json!({ "notified": listeners })).into_response()
}

/// `POST /dev/hold_mutations {sessionId?, hold}` (dev only): while `hold` is true, WebSocket
/// mutations of that session (of every session without `sessionId`) still run and commit, but
/// their answers, and everything the session sends after one, are held back until a call with
/// `hold: false` (without `sessionId`: ends every hold, the HTTP one included). A socket dropped
/// meanwhile loses what was held, so the client must re-send, and deduplication by (sessionId,
/// requestId) answers it.
///
/// `POST /dev/hold_mutations {http: true, hold}`: while `hold` is true, HTTP API mutations
/// (`POST /api/mutation`) are neither run nor answered; once it is false they run one at a time
/// in their order of arrival. Every reply carries `heldHttp`, the number of HTTP mutations
/// waiting to run now (while held: the held ones); `GET /dev/hold_mutations` reports it alone.
pub async fn dev_hold_mutations(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<Json>(&body) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::new(
                400,
                "BadJsonBody",
                format!("Failed to parse the request body as JSON: {e}"),
            )
            .into_response()
        }
    };
    let Some(hold) = request.get("hold").and_then(Json::as_bool) else {
        return ApiError::new(400, "BadRequest", "`hold` must be true or false").into_response();
    };
    let http = match request.get("http") {
        None | Some(Json::Null) => false,
        Some(Json::Bool(http)) => *http,
        Some(_) => {
            return ApiError::new(400, "BadRequest", "`http` must be true or false").into_response()
        }
    };
    let session = request.get("sessionId").and_then(Json::as_str).map(str::to_string);
    if http {
        if session.is_some() {
            return ApiError::new(
                400,
                "BadRequest",
                "HTTP mutations have no session: give `sessionId` or `http: true`, not both",
            )
            .into_response();
        }
        let held = engine.hold_http_mutations(hold);
        return AxumJson(json!({ "heldHttp": held, "holdingHttp": hold })).into_response();
    }
    let listeners = engine.hold_mutations(session, hold);
    AxumJson(json!({
        "notified": listeners,
        "heldHttp": engine.http_mutations_waiting(),
        "holdingHttp": engine.http_mutations_held(),
    }))
    .into_response()
}

/// `GET /dev/hold_mutations` (dev only): `{heldHttp, holdingHttp}`, the number of HTTP API
/// mutations waiting to run now (while they are held: the held ones) and whether they are held.
pub async fn dev_held_mutations(State(engine): State<Arc<Engine>>) -> Response {
    AxumJson(json!({
        "heldHttp": engine.http_mutations_waiting(),
        "holdingHttp": engine.http_mutations_held(),
    }))
    .into_response()
}

/// The message of an injected failure when `/dev/fail_queries` is given none.
pub const DEFAULT_INJECTED_MESSAGE: &str = "Injected failure (POST /dev/fail_queries)";

fn faults_json(faults: &[QueryFault]) -> Json {
    Json::Array(
        faults
            .iter()
            .map(|f| {
                json!({
                    "path": f.path,
                    "args": f.args.as_deref().and_then(|a| serde_json::from_str::<Json>(a).ok()),
                    "remaining": f.remaining,
                    "message": f.message,
                })
            })
            .collect(),
    )
}

/// `POST /dev/fail_queries {path, args?, count, message?}` (dev only): the next `count`
/// executions of the query function `path` (only those with `args`, if given) fail with
/// `Uncaught Error: <message>`, as a function that throws before reading anything would. Such
/// a failure is never cached: the subscription that got it keeps it (no write can change it)
/// until it is removed or its identity changes, and any other lookup runs the function again.
/// Results of `path` cached now are dropped, so the next lookup runs it. `count: 0` removes
/// the injection. Answers `{pending: [{path, args, remaining, message}]}`, as
/// `GET /dev/fail_queries` does.
pub async fn dev_fail_queries(State(engine): State<Arc<Engine>>, body: Bytes) -> Response {
    let request = match serde_json::from_slice::<Json>(&body) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::new(
                400,
                "BadJsonBody",
                format!("Failed to parse the request body as JSON: {e}"),
            )
            .into_response()
        }
    };
    let Some(path) = request.get("path").and_then(Json::as_str).filter(|p| valid_function_path(p))
    else {
        return ApiError::new(400, "BadRequest", "`path` must be a function path (`posts:get`)")
            .into_response();
    };
    let Some(count) =
        request.get("count").and_then(Json::as_u64).and_then(|c| u32::try_from(c).ok())
    else {
        return ApiError::new(400, "BadRequest", "`count` must be a whole number >= 0")
            .into_response();
    };
    let args = match request.get("args") {
        None | Some(Json::Null) => None,
        Some(args @ Json::Object(_)) => Some(args),
        Some(_) => {
            return ApiError::new(400, "BadRequest", "`args` must be an object").into_response()
        }
    };
    let message = match request.get("message") {
        None | Some(Json::Null) => DEFAULT_INJECTED_MESSAGE.to_string(),
        Some(Json::String(m)) => m.clone(),
        Some(_) => {
            return ApiError::new(400, "BadRequest", "`message` must be a string").into_response()
        }
    };
    let pending = engine.fail_queries(path, args, count, message);
    AxumJson(json!({ "pending": faults_json(&pending) })).into_response()
}

/// `GET /dev/fail_queries` (dev only): `{pending: [{path, args, remaining, message}]}`, the
/// injected query failures not used up yet.
pub async fn dev_query_faults(State(engine): State<Arc<Engine>>) -> Response {
    AxumJson(json!({ "pending": faults_json(&engine.query_faults()) })).into_response()
}

#[cfg(test)]
mod tests {
    use super::valid_function_path;

    #[test]
    fn function_paths() {
        assert!(valid_function_path("posts:list"));
        assert!(valid_function_path("dir/posts.js:list"));
        assert!(valid_function_path("posts"));
        assert!(!valid_function_path(""));
        assert!(!valid_function_path("posts:"));
        assert!(!valid_function_path("posts:li st"));
        assert!(!valid_function_path("/abs:x"));
    }
}
