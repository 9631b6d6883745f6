//! `devserver`: a local backend that speaks Convex's sync protocol and HTTP API, stores its data
//! in SQLite, and is its own OIDC identity provider. It is yew-convex's embedded default: the
//! demo and every test run against it offline.
//!
//! Layout: [`ids`] (document ids), [`values`] (wire values, validators), [`store`] (SQLite),
//! [`functions`] (the demo's functions), [`auth`] (identity provider, token verification),
//! [`engine`] (execution and the shared result cache), [`wire`] + [`sync`] (the WebSocket
//! protocol), [`http_api`] (HTTP endpoints), [`clerk`] (a stand-in for Clerk's Frontend API,
//! under [`clerk::PREFIX`]).

pub mod auth;
pub mod clerk;
pub mod engine;
pub mod functions;
pub mod http_api;
pub mod ids;
pub mod logging;
pub mod store;
pub mod sync;
pub mod values;
pub mod wire;

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{Path, Request, State, WebSocketUpgrade},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};

pub use engine::{Config, Engine};

/// The port Convex's own local backend uses.
pub const DEFAULT_PORT: u16 = 3210;
/// Frames up to twice the 16 MiB argument limit are read (so oversized arguments get Convex's
/// FatalError); anything larger closes the socket, so memory stays bounded.
const MAX_WS_MESSAGE: usize = 32 * 1024 * 1024;

/// The issuer a devserver on `addr` uses unless told otherwise.
pub fn default_issuer(addr: SocketAddr) -> String {
    let host =
        if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
    format!("http://{host}:{}", addr.port())
}

/// The router with every endpoint. Fails only when the Clerk stand-in's database cannot be opened.
pub fn router(engine: Arc<Engine>) -> anyhow::Result<Router> {
    let clerk = clerk::Clerk::open(engine.clone())?;
    let router = Router::new()
        .route("/", get(index))
        .route("/api/sync", get(sync_socket))
        .route("/api/{version}/sync", get(sync_socket_versioned))
        .route("/api/query", post(http_api::query))
        .route("/api/mutation", post(http_api::mutation))
        .route("/api/action", post(http_api::action))
        .route("/.well-known/openid-configuration", get(http_api::openid_configuration))
        .route("/.well-known/jwks.json", get(http_api::jwks))
        .route("/dev/token", post(http_api::dev_token))
        .route("/dev/drop_sessions", post(http_api::dev_drop_sessions))
        .route("/dev/block_sessions", post(http_api::dev_block_sessions))
        .route(
            "/dev/hold_mutations",
            post(http_api::dev_hold_mutations).get(http_api::dev_held_mutations),
        )
        .route(
            "/dev/fail_queries",
            post(http_api::dev_fail_queries).get(http_api::dev_query_faults),
        )
        .route(&format!("{}/npm/{{*path}}", clerk::PREFIX), get(clerk_asset));
    Ok(clerk::mount(router, clerk).layer(middleware::from_fn(cors)).with_state(engine))
}

/// The pinned clerk-js and @clerk/ui bundles (from npm, fetched by `scripts/setup`) at
/// `/__clerk/npm/<package>@<version>/dist/...`: the same layout as Clerk's CDN, so a page
/// loads them from its Frontend API whether that is Clerk or this stand-in.
async fn clerk_asset(State(engine): State<Arc<Engine>>, Path(path): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such asset").into_response();
    let Some(root) = &engine.config.clerk_assets else { return not_found() };
    if path.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") || path.contains('\\')
    {
        return not_found();
    }
    let file = root.join(&path);
    let Ok(bytes) = tokio::fs::read(&file).await else { return not_found() };
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("js" | "mjs") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
            // Pages with `Cross-Origin-Embedder-Policy: require-corp` (the test runner's) load
            // @clerk/ui's chunks without CORS; this lets them.
            (header::HeaderName::from_static("cross-origin-resource-policy"), "cross-origin"),
        ],
        bytes,
    )
        .into_response()
}

async fn index(State(engine): State<Arc<Engine>>) -> impl IntoResponse {
    format!(
        "yew-convex devserver\n\nsync WebSocket: /api/sync, /api/<version>/sync\nHTTP API: POST /api/query, /api/mutation, /api/action\nOIDC issuer: {}\nClerk Frontend-API stand-in (clerk-js proxyUrl): {}\n",
        engine.auth.issuer(),
        clerk::PREFIX
    )
}

/// Browsers call the HTTP API and the dev endpoints from other origins (the test runner's page,
/// `trunk serve`); answer preflights and echo the origin with credentials, as Convex does.
async fn cors(request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).cloned();
    let mut response = if request.method() == Method::OPTIONS {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, authorization, convex-client"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(header::VARY, HeaderValue::from_static("origin"));
    }
    response
}

fn upgrade(
    engine: Arc<Engine>,
    ws: WebSocketUpgrade,
    version: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    let client = headers.get("convex-client").and_then(|v| v.to_str().ok());
    let info = sync::ClientInfo::detect(version, client);
    ws.max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| sync::run(engine, socket, info))
}

async fn sync_socket(
    State(engine): State<Arc<Engine>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(engine, ws, None, &headers)
}

async fn sync_socket_versioned(
    State(engine): State<Arc<Engine>>,
    Path(version): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    upgrade(engine, ws, Some(&version), &headers)
}

/// Binds `addr`, with a clear message when the port is taken.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow::anyhow!(
                "port {} is already in use (is another devserver running?); stop it or pick another port with --port",
                addr.port()
            )
        } else {
            anyhow::anyhow!("cannot listen on {addr}: {e}")
        }
    })
}

/// Serves until `shutdown` resolves, then drops every socket and returns.
pub async fn serve(
    listener: tokio::net::TcpListener,
    engine: Arc<Engine>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(engine.clone())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    // Without TCP_NODELAY a MutationResponse followed by its Transition waits out the peer's
    // delayed ACK (Nagle): ~40 ms on every mutation over the sync socket.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        result = &mut server => return result.map_err(Into::into),
        () = shutdown => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(());
    engine.drop_sessions(None);
    // Upgraded sockets are not tracked by graceful shutdown; give in-flight requests a moment.
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    Ok(())
}
