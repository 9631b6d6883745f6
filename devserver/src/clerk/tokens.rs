//! The tokens the stand-in issues, all RS256-signed with the devserver's identity key
//! ([`Auth::sign_claims`]) and with `iss` = the devserver's issuer, whose discovery and JWKS the
//! devserver serves:
//!
//! - **session tokens** (`POST …/tokens`, a session's `last_active_token`): Clerk's v2 claims
//!   (`sid`, `sub`, `iat`, `exp`, `nbf`, `fva`, `v`, `azp`); *no* `aud`, so
//!   `ConvexProviderWithClerk` asks for the `convex` template, as with a Clerk instance without
//!   the Convex integration;
//! - **`convex` template tokens** (`POST …/tokens/convex`): `aud: "convex"`, the same `iss`,
//!   `sub` = the Clerk user id, `sid`, and the user's `name`, `given_name`, `family_name`,
//!   `nickname`, `email`, `email_verified`. The devserver's Convex auth accepts them.
//!
//! clerk-js never verifies signatures but needs numeric `iat` and `exp`.

use serde_json::{json, Map, Value as Json};

use super::state::{Session, User};
use crate::auth::{Auth, AUDIENCE};

/// The templates the stand-in knows.
pub const TEMPLATES: &[&str] = &["convex"];

/// Clerk backdates `nbf` a little against clock skew.
const NBF_SKEW_SECS: u64 = 10;

fn base_claims(
    auth: &Auth,
    session: &Session,
    azp: Option<&str>,
    iat: u64,
    ttl: u64,
) -> Map<String, Json> {
    let mut claims = Map::new();
    if let Some(azp) = azp {
        claims.insert("azp".into(), json!(azp));
    }
    claims.insert("exp".into(), json!(iat + ttl.max(1)));
    claims.insert("iat".into(), json!(iat));
    claims.insert("iss".into(), json!(auth.issuer()));
    claims.insert("jti".into(), json!(format!("{:020x}", rand::random::<u128>() >> 48)));
    claims.insert("nbf".into(), json!(iat.saturating_sub(NBF_SKEW_SECS)));
    claims.insert("sid".into(), json!(session.id));
    claims.insert("sub".into(), json!(session.user_id));
    claims
}

/// A session token for `session`, issued at `iat` (seconds), valid `ttl` seconds.
pub fn session_token(
    auth: &Auth,
    session: &Session,
    azp: Option<&str>,
    iat: u64,
    ttl: u64,
) -> String {
    let mut claims = base_claims(auth, session, azp, iat, ttl);
    // Minutes since the first factor was verified; no second factor.
    let fva = iat.saturating_sub(session.created_at / 1000) / 60;
    claims.insert("fva".into(), json!([fva, -1]));
    claims.insert("sts".into(), json!("active"));
    claims.insert("v".into(), json!(2));
    auth.sign_claims(&Json::Object(claims))
}

/// A token from template `name` (only `convex` exists), or None for an unknown template.
pub fn template_token(
    auth: &Auth,
    name: &str,
    session: &Session,
    user: &User,
    azp: Option<&str>,
    iat: u64,
    ttl: u64,
) -> Option<String> {
    if name != "convex" {
        return None;
    }
    let mut claims = base_claims(auth, session, azp, iat, ttl);
    claims.insert("aud".into(), json!(AUDIENCE));
    claims.insert("name".into(), json!(user.full_name()));
    claims.insert("given_name".into(), json!(user.first_name));
    claims.insert("family_name".into(), json!(user.last_name));
    claims.insert("nickname".into(), json!(user.username));
    claims.insert("email".into(), json!(user.email));
    claims.insert("email_verified".into(), json!(true));
    Some(auth.sign_claims(&Json::Object(claims)))
}
