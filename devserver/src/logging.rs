//! Logging that never shows a token.
//!
//! Two guards: the WebSocket and HTTP libraries are capped at `info` whenever `RUST_LOG` asks for
//! more (tungstenite traces every received message, and every frame's payload in hex, so
//! `RUST_LOG=trace` would print each `Authenticate` token), and everything written goes through
//! [`redact`], which replaces anything shaped like a JWT (and whatever follows `Bearer `).

use std::io::{self, Write};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::{fmt::MakeWriter, EnvFilter};

/// Libraries whose debug/trace logs carry request or message payloads.
const CAPPED: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "axum",
    "tower",
    "tower_http",
    "reqwest",
    "rustls",
];

/// The filter for `RUST_LOG` (default `info`), with [`CAPPED`] libraries at most at `info`.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let mut filter = rust_log
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new("info,devserver=info"));
    if filter.max_level_hint().is_none_or(|max| max > LevelFilter::INFO) {
        for target in CAPPED {
            if let Ok(directive) = format!("{target}=info").parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    filter
}

/// Installs the global subscriber: stderr, `RUST_LOG` filter, redacted.
pub fn init() {
    tracing_subscriber::fmt()
        .with_env_filter(filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with_writer(RedactingStderr)
        .init();
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || b == b'-'
        || b == b'_'
        || b == b'.'
        || b == b'='
        || b == b'+'
        || b == b'/'
}

/// `text` with every JWT-shaped run (`eyJ…` with two dots) and every `Bearer <credential>`
/// replaced by `<redacted>`.
pub fn redact(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let bearer = bytes[i..].len() > 7 && bytes[i..i + 7].eq_ignore_ascii_case(b"bearer ");
        let start = if bearer { i + 7 } else { i };
        let jwt_like = bytes[start..].starts_with(b"eyJ");
        if bearer || jwt_like {
            let mut end = start;
            while end < bytes.len() && is_token_char(bytes[end]) {
                end += 1;
            }
            let run = &text[start..end];
            let is_jwt = jwt_like && run.matches('.').count() >= 2;
            if (bearer && end > start) || is_jwt {
                out.push_str(&text[copied..start]);
                out.push_str("<redacted>");
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Stderr, through [`redact`] (the fmt layer writes each event with one `write_all`).
#[derive(Clone, Copy)]
pub struct RedactingStderr;

pub struct RedactingWriter;

impl Write for RedactingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingWriter;
    fn make_writer(&'a self) -> RedactingWriter {
        RedactingWriter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_jwts_and_bearer_credentials() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl-_x";
        assert_eq!(
            redact(&format!(r#"Received message {{"type":"Authenticate","value":"{jwt}"}}"#)),
            r#"Received message {"type":"Authenticate","value":"<redacted>"}"#
        );
        assert_eq!(redact("authorization: Bearer abc.def"), "authorization: Bearer <redacted>");
        assert_eq!(redact(&format!("{jwt} and {jwt}")), "<redacted> and <redacted>");
        // Not a token: left alone.
        assert_eq!(redact("eyJ alone, a.b.c, bearer"), "eyJ alone, a.b.c, bearer");
        assert_eq!(redact("héllo wörld"), "héllo wörld");
    }

    #[test]
    fn trace_does_not_reach_the_websocket_library() {
        let filter = filter(Some("trace"));
        let shown = filter.to_string();
        assert!(shown.contains("tungstenite=info"), "{shown}");
        // A quiet RUST_LOG is left as it is.
        assert!(!super::filter(Some("warn")).to_string().contains("tungstenite"));
    }
}
