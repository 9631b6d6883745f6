//! Clerk publishable keys: `pk_test_` or `pk_live_` + base64(`<frontend API host>$`), padding
//! removed. The prefix alone decides development vs production.

use super::error::ClerkError;

/// The kind of Clerk instance a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceType {
    /// `pk_test_`.
    Development,
    /// `pk_live_`.
    Production,
}

/// A parsed publishable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishableKey {
    /// The key as given.
    pub key: String,
    /// Development or production.
    pub instance_type: InstanceType,
    /// The Frontend API host, e.g. `clerk.example.com` or `happy-otter-12.clerk.accounts.dev`.
    pub frontend_api: String,
}

impl PublishableKey {
    /// Parses and checks a key.
    pub fn parse(key: &str) -> Result<Self, ClerkError> {
        let bad = |why: &str| ClerkError::InvalidPublishableKey(format!("{why} (got {key:?})"));
        let key = key.trim();
        let (instance_type, rest) = if let Some(rest) = key.strip_prefix("pk_test_") {
            (InstanceType::Development, rest)
        } else if let Some(rest) = key.strip_prefix("pk_live_") {
            (InstanceType::Production, rest)
        } else {
            return Err(bad("a publishable key starts with pk_test_ or pk_live_"));
        };
        let bytes = crate::value::decode_base64_lenient(rest)
            .map_err(|_| bad("the part after the prefix is not base64"))?;
        let decoded =
            String::from_utf8(bytes).map_err(|_| bad("the key does not decode to text"))?;
        let host =
            decoded.strip_suffix('$').ok_or_else(|| bad("the decoded key must end with '$'"))?;
        let host_ok = host.contains('.')
            && !host.starts_with('.')
            && host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:".contains(c));
        if !host_ok {
            return Err(bad("the decoded key must name a Frontend API host containing a '.'"));
        }
        Ok(Self { key: key.to_string(), instance_type, frontend_api: host.to_string() })
    }

    /// Builds the key for `frontend_api` (what the devserver's stand-in uses).
    pub fn for_host(instance_type: InstanceType, frontend_api: &str) -> String {
        let prefix = match instance_type {
            InstanceType::Development => "pk_test_",
            InstanceType::Production => "pk_live_",
        };
        format!(
            "{prefix}{}",
            crate::value::encode_base64_std(format!("{frontend_api}$").as_bytes())
                .trim_end_matches('=')
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_test_and_live_keys() {
        let key = PublishableKey::for_host(InstanceType::Development, "clerk.devserver.local");
        let parsed = PublishableKey::parse(&key).unwrap();
        assert_eq!(parsed.instance_type, InstanceType::Development);
        assert_eq!(parsed.frontend_api, "clerk.devserver.local");
        let live = PublishableKey::parse("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k").unwrap();
        assert_eq!(live.instance_type, InstanceType::Production);
        assert_eq!(live.frontend_api, "clerk.example.com");
    }

    #[test]
    fn bad_keys_get_clear_errors() {
        let cases = [
            ("", "starts with pk_test_ or pk_live_"),
            ("sk_test_abc", "starts with pk_test_ or pk_live_"),
            ("pk_test_!!!", "not base64"),
            ("pk_test_Y2xlcmsuZXhhbXBsZS5jb20", "must end with '$'"), // no '$'
            ("pk_test_bG9jYWxob3N0JA", "containing a '.'"),           // "localhost$"
        ];
        for (key, needle) in cases {
            match PublishableKey::parse(key) {
                Err(ClerkError::InvalidPublishableKey(msg)) => {
                    assert!(msg.contains(needle), "{key}: {msg}")
                }
                other => panic!("{key}: {other:?}"),
            }
        }
    }
}
