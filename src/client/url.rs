//! Deployment URLs: `https://happy-otter-123.convex.cloud` (or the devserver's
//! `http://127.0.0.1:3210`) and the sync WebSocket URL derived from them.

use crate::sync::ConvexError;

/// The client version this crate announces in the sync URL (`/api/<version>/sync`). The server
/// uses it to pick protocol features; this client supports everything npm `convex` 1.31 does
/// (TransitionChunk included).
pub const PROTOCOL_CLIENT_VERSION: &str = "1.31.0";

/// Checks a deployment URL and returns it without a trailing slash.
pub fn normalize_deployment_url(url: &str) -> Result<String, ConvexError> {
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| ConvexError::InvalidUrl(url.to_string()))?;
    let host_ok = !rest.is_empty()
        && !rest.contains(['/', '?', '#', ' '])
        && rest.split(':').next().is_some_and(|h| !h.is_empty());
    if !host_ok {
        return Err(ConvexError::InvalidUrl(url.to_string()));
    }
    Ok(trimmed.to_string())
}

/// The sync WebSocket URL of a (normalized) deployment URL.
pub fn sync_url(deployment: &str) -> String {
    let ws = if let Some(rest) = deployment.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        format!("ws://{}", deployment.trim_start_matches("http://"))
    };
    format!("{ws}/api/{PROTOCOL_CLIENT_VERSION}/sync")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            sync_url(&normalize_deployment_url("https://happy-otter-123.convex.cloud/").unwrap()),
            "wss://happy-otter-123.convex.cloud/api/1.31.0/sync"
        );
        assert_eq!(
            sync_url(&normalize_deployment_url("http://127.0.0.1:3210").unwrap()),
            "ws://127.0.0.1:3210/api/1.31.0/sync"
        );
        for bad in ["", "127.0.0.1:3210", "ftp://x", "https://", "https://a/b", "http://:80"] {
            assert!(normalize_deployment_url(bad).is_err(), "{bad}");
        }
    }
}
