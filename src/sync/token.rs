//! What the engine reads from a JWT: only `iat` and `exp`, to schedule refreshes. Signatures
//! are the server's business.

use std::time::Duration;

/// Longest refresh delay (Convex caps it at 20 days: timers overflow beyond ~24).
const MAX_REFRESH_DELAY: Duration = Duration::from_secs(20 * 24 * 3600);

/// `iat` and `exp` of a JWT, in seconds, when both are present and numeric.
pub fn issued_and_expiry(token: &str) -> Option<(u64, u64)> {
    let payload = token.split('.').nth(1)?;
    let bytes = crate::value::decode_base64_lenient(payload).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    // Plain JSON (claims are not Convex values): walk the top-level object for the two numbers.
    let mut r = crate::value::Reader::new(text);
    r.expect(b'{', "expected an object").ok()?;
    let (mut iat, mut exp) = (None, None);
    if !r.empty(b'}') {
        loop {
            let key = r.string().ok()?;
            r.expect(b':', "expected `:`").ok()?;
            match &*key {
                "iat" => iat = Some(r.number().ok()?),
                "exp" => exp = Some(r.number().ok()?),
                _ => r.skip().ok()?,
            }
            if r.next_or_end(b'}').ok()? {
                break;
            }
        }
    }
    r.ws();
    if r.pos != r.len() {
        return None;
    }
    let (iat, exp) = (iat?, exp?);
    (iat >= 0.0 && exp >= 0.0).then_some((iat as u64, exp as u64))
}

/// When to refresh a token, measured from when it was fetched: its lifetime (`exp − iat`, which
/// is immune to clock skew) minus `leeway`. `None` when the token cannot be refreshed usefully
/// (no `iat`/`exp`, or a lifetime of 2 s or less); zero when the leeway exceeds the lifetime.
pub fn refresh_delay(token: &str, leeway: Duration) -> Option<Duration> {
    let (iat, exp) = issued_and_expiry(token)?;
    let lifetime = Duration::from_secs(exp.checked_sub(iat)?);
    if lifetime <= Duration::from_secs(2) {
        return None;
    }
    Some(lifetime.saturating_sub(leeway).min(MAX_REFRESH_DELAY))
}

#[cfg(test)]
pub(crate) fn fake_jwt(iat: u64, exp: u64, sub: &str) -> String {
    let claims = serde_json::json!({"iat": iat, "exp": exp, "sub": sub});
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
    format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_delay_is_lifetime_minus_leeway() {
        let leeway = Duration::from_secs(10);
        let cases = [
            (1000, 1060, Some(50)),                     // 60 s token → refresh after 50 s
            (1000, 1015, Some(5)),                      // 15 s token
            (1000, 1005, Some(0)),                      // leeway exceeds the lifetime: at once
            (1000, 1002, None),                         // 2 s or less: never
            (1000, 900, None),                          // exp before iat
            (0, 100 * 24 * 3600, Some(20 * 24 * 3600)), // capped at 20 days
        ];
        for (iat, exp, expected) in cases {
            assert_eq!(
                refresh_delay(&fake_jwt(iat, exp, "u"), leeway),
                expected.map(Duration::from_secs),
                "iat {iat} exp {exp}"
            );
        }
        assert_eq!(refresh_delay("not a jwt", leeway), None);
        assert_eq!(refresh_delay("a.bm90IGpzb24.c", leeway), None);
    }

    #[test]
    fn claims_are_read_from_any_json_object() {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
        let jwt = |claims: &str| format!("h.{}.s", URL_SAFE_NO_PAD.encode(claims));
        // Other claims of any shape (a `$` name, nesting, escapes) are skipped; order is free.
        let clerk = r#" { "azp": "http://x", "$custom": {"a": [1, {"b": null}]}, "exp": 1060,
            "name": "Al \"the\" \u00e9", "iat": 1000.0, "nbf": 990 } "#;
        assert_eq!(issued_and_expiry(&jwt(clerk)), Some((1000, 1060)));
        for bad in [
            r#"{"iat": 1000}"#,                       // no exp
            r#"{"iat": "1000", "exp": 1060}"#,        // not a number
            r#"{"iat": 1000, "exp": 1060} trailing"#, // not one object
            r#"{"iat": 1000, "exp": 1060"#,           // cut short
            r#"[1000, 1060]"#,                        // not an object
            r#"{"iat": -5, "exp": 1060}"#,            // negative
        ] {
            assert_eq!(issued_and_expiry(&jwt(bad)), None, "{bad}");
        }
    }
}
