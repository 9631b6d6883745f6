//! The devserver's identity provider and Convex-style token verification.
//!
//! The provider owns one RS256 key, generated on first start and kept in the data dir; it serves
//! OIDC discovery and JWKS, and mints tokens (for `POST /dev/token`, `devserver token` and the
//! Clerk stand-in). Verification follows Convex's OIDC rules: the provider is chosen by `iss`
//! (trailing slash trimmed) among the trusted issuers and by `aud` containing `convex` (any
//! other audience in `aud` then fails verification), the key is
//! found by `kid` in the issuer's JWKS (discovered from `<iss>/.well-known/openid-configuration`
//! for issuers other than this server), the signature is RS256, `exp` is enforced with no leeway,
//! and `sub`, `iat` and `exp` are required.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine as _};
use rsa::{
    pkcs1v15::{Signature, SigningKey, VerifyingKey},
    pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding},
    signature::{SignatureEncoding, Signer, Verifier},
    traits::PublicKeyParts,
    BigUint, RsaPrivateKey, RsaPublicKey,
};
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};

/// The audience Convex requires in user tokens (the `applicationID` of the auth config).
pub const AUDIENCE: &str = "convex";
const KEY_FILE: &str = "identity-key.pem";

/// Why a token was refused. The texts are the ones a Convex deployment sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Could not parse JWT payload. Check that the token is a valid JWT format with three base64-encoded parts separated by dots.")]
    Malformed(String),
    #[error("Missing issuer claim ('iss') in JWT payload. The JWT must include an 'iss' claim that matches one of your configured auth providers.")]
    MissingIssuer,
    #[error("No auth provider found matching the given token. Check that your JWT's issuer and audience match one of your configured providers: [{0}]")]
    NoProvider(String),
    #[error("Could not verify OIDC token claim. Check that the token signature is valid and the token hasn't expired.")]
    InvalidToken,
    #[error("Auth provider discovery of {0} failed")]
    Discovery(String, String),
}

impl AuthError {
    /// The error code the HTTP API reports, and its status.
    pub fn code(&self) -> (&'static str, u16) {
        match self {
            AuthError::Malformed(_) | AuthError::MissingIssuer => ("InvalidAuthHeader", 401),
            AuthError::NoProvider(_) => ("NoAuthProvider", 401),
            AuthError::InvalidToken => ("Unauthenticated", 401),
            AuthError::Discovery(..) => ("AuthProviderDiscoveryFailed", 400),
        }
    }
}

/// The identity a verified token carries, as Convex exposes it to functions (`UserIdentity`).
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// `UserIdentity` fields: `tokenIdentifier`, `subject`, `issuer`, `name`, `email`, …
    pub fields: Map<String, Json>,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// A stable key for caching query results per identity.
    pub cache_key: String,
}

impl Identity {
    pub fn token_identifier(&self) -> &str {
        self.fields.get("tokenIdentifier").and_then(Json::as_str).unwrap_or_default()
    }
    pub fn subject(&self) -> &str {
        self.fields.get("subject").and_then(Json::as_str).unwrap_or_default()
    }
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Json::as_str)
    }
    pub fn is_expired(&self, now_secs: u64) -> bool {
        self.exp <= now_secs
    }
}

/// Claims for a token the provider mints.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct TokenRequest {
    pub sub: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    /// Any further claims (e.g. Clerk's `sid`, `picture`).
    #[serde(default)]
    pub extra: Map<String, Json>,
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn trim_issuer(iss: &str) -> &str {
    iss.trim_end_matches('/')
}

struct RemoteKeys {
    keys: HashMap<String, RsaPublicKey>,
    fetched: Instant,
}

/// The identity provider and the set of trusted issuers.
pub struct Auth {
    issuer: String,
    signing: SigningKey<Sha256>,
    public: RsaPublicKey,
    kid: String,
    trusted_remote: Vec<String>,
    remote_cache: Mutex<HashMap<String, Arc<RemoteKeys>>>,
    http: reqwest::Client,
    default_ttl: u64,
}

impl Auth {
    /// Loads the key from `data_dir` or generates and stores a new one.
    pub fn load_or_create(
        data_dir: &Path,
        issuer: &str,
        trusted_remote: Vec<String>,
        default_ttl: u64,
    ) -> anyhow::Result<Self> {
        let path = data_dir.join(KEY_FILE);
        let key = match std::fs::read_to_string(&path) {
            Ok(pem) => RsaPrivateKey::from_pkcs8_pem(&pem).map_err(|e| {
                anyhow::anyhow!("the identity key {} is unreadable: {e}", path.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048)?;
                let pem = key.to_pkcs8_pem(LineEnding::LF)?;
                let tmp = path.with_extension("pem.tmp");
                std::fs::write(&tmp, pem.as_bytes())?;
                std::fs::rename(&tmp, &path)?;
                tracing::info!(path = %path.display(), "generated a new RS256 identity key");
                key
            }
            Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
        };
        let public = key.to_public_key();
        let kid = {
            let digest = Sha256::digest(public.n().to_bytes_be());
            digest[..8].iter().map(|b| format!("{b:02x}")).collect::<String>()
        };
        Ok(Self {
            issuer: trim_issuer(issuer).to_string(),
            signing: SigningKey::<Sha256>::new(key),
            public,
            kid,
            trusted_remote: trusted_remote.iter().map(|s| trim_issuer(s).to_string()).collect(),
            remote_cache: Mutex::new(HashMap::new()),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?,
            default_ttl,
        })
    }

    /// This provider's issuer URL (the `iss` of the tokens it mints).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The default lifetime of minted tokens, in seconds.
    pub fn default_ttl(&self) -> u64 {
        self.default_ttl
    }

    /// `/.well-known/openid-configuration`.
    pub fn discovery_document(&self) -> Json {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/.well-known/jwks.json", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "name", "email", "picture"],
        })
    }

    /// `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Json {
        json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": self.kid,
                "n": B64URL.encode(self.public.n().to_bytes_be()),
                "e": B64URL.encode(self.public.e().to_bytes_be()),
            }]
        })
    }

    /// Mints a signed token for `req` (audience `convex`).
    pub fn mint(&self, req: &TokenRequest) -> String {
        self.mint_at(req, now_secs())
    }

    /// Mints a token as if issued at `iat` (tests use this for expired tokens).
    pub fn mint_at(&self, req: &TokenRequest, iat: u64) -> String {
        let ttl = req.ttl_secs.unwrap_or(self.default_ttl);
        let mut claims = req.extra.clone();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(req.sub));
        claims.insert("aud".into(), json!(AUDIENCE));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(iat + ttl));
        if let Some(name) = &req.name {
            claims.insert("name".into(), json!(name));
        }
        if let Some(email) = &req.email {
            claims.insert("email".into(), json!(email));
        }
        self.sign_claims(&Json::Object(claims))
    }

    /// Signs arbitrary claims with this provider's key (RS256, with its `kid`).
    pub fn sign_claims(&self, claims: &Json) -> String {
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input =
            format!("{}.{}", B64URL.encode(header.to_string()), B64URL.encode(claims.to_string()));
        let signature = self.signing.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", B64URL.encode(signature.to_bytes()))
    }

    /// Verifies a user token as Convex does and returns its identity.
    pub async fn verify(&self, token: &str) -> Result<Identity, AuthError> {
        let (header, claims, signing_input, signature) = split_jwt(token)?;
        let iss = claims
            .get("iss")
            .and_then(Json::as_str)
            .map(trim_issuer)
            .ok_or(AuthError::MissingIssuer)?;
        // The provider is the one whose application id `aud` contains; a token that also names
        // other audiences then fails verification (Convex: `Unauthenticated`, not
        // `NoAuthProvider`).
        let (aud_contains, aud_extra) = match claims.get("aud") {
            Some(Json::String(a)) => (a == AUDIENCE, false),
            Some(Json::Array(items)) => {
                (items.iter().any(|a| a == AUDIENCE), items.iter().any(|a| a != AUDIENCE))
            }
            _ => (false, false),
        };
        let is_local = iss == self.issuer;
        if !aud_contains || !(is_local || self.trusted_remote.iter().any(|t| t == iss)) {
            return Err(AuthError::NoProvider(self.describe_providers()));
        }
        if aud_extra {
            return Err(AuthError::InvalidToken);
        }
        if header.get("alg").and_then(Json::as_str) != Some("RS256") {
            return Err(AuthError::InvalidToken);
        }
        let kid = header.get("kid").and_then(Json::as_str).unwrap_or("");
        let key = if is_local {
            (kid == self.kid).then(|| self.public.clone())
        } else {
            self.remote_key(iss, kid).await?
        };
        let key = key.ok_or(AuthError::InvalidToken)?;
        let signature =
            Signature::try_from(signature.as_slice()).map_err(|_| AuthError::InvalidToken)?;
        VerifyingKey::<Sha256>::new(key)
            .verify(signing_input.as_bytes(), &signature)
            .map_err(|_| AuthError::InvalidToken)?;
        identity_from_claims(iss, &claims, now_secs())
    }

    fn describe_providers(&self) -> String {
        std::iter::once(&self.issuer)
            .chain(&self.trusted_remote)
            .map(|iss| format!("OIDC(domain={iss}, app_id={AUDIENCE})"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    async fn remote_key(&self, iss: &str, kid: &str) -> Result<Option<RsaPublicKey>, AuthError> {
        let cached = self.remote_cache.lock().ok().and_then(|c| c.get(iss).cloned());
        if let Some(keys) = &cached {
            // Refetch on an unknown kid, at most once a minute (key rotation).
            if keys.keys.contains_key(kid) || keys.fetched.elapsed() < Duration::from_secs(60) {
                return Ok(keys.keys.get(kid).cloned());
            }
        }
        let keys = Arc::new(self.fetch_remote_keys(iss).await?);
        let key = keys.keys.get(kid).cloned();
        if let Ok(mut cache) = self.remote_cache.lock() {
            cache.insert(iss.to_string(), keys);
        }
        Ok(key)
    }

    async fn get_json(&self, url: &str) -> Result<Json, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        response.json().await.map_err(|e| e.to_string())
    }

    async fn fetch_remote_keys(&self, iss: &str) -> Result<RemoteKeys, AuthError> {
        let err = |e: String| AuthError::Discovery(iss.to_string(), e);
        let discovery =
            self.get_json(&format!("{iss}/.well-known/openid-configuration")).await.map_err(err)?;
        tracing::debug!(issuer = iss, "fetched OIDC discovery");
        if discovery.get("issuer").and_then(Json::as_str).map(trim_issuer) != Some(iss) {
            return Err(err("the discovery document names another issuer".into()));
        }
        let jwks_uri = discovery
            .get("jwks_uri")
            .and_then(Json::as_str)
            .ok_or_else(|| err("the discovery document has no jwks_uri".into()))?;
        let jwks = self.get_json(jwks_uri).await.map_err(err)?;
        Ok(RemoteKeys { keys: parse_jwks(&jwks), fetched: Instant::now() })
    }
}

/// RSA keys of a JWKS document, by `kid`; keys of other types are skipped.
pub fn parse_jwks(jwks: &Json) -> HashMap<String, RsaPublicKey> {
    let mut out = HashMap::new();
    for key in jwks.get("keys").and_then(Json::as_array).into_iter().flatten() {
        let field = |name: &str| key.get(name).and_then(Json::as_str);
        if field("kty") != Some("RSA") {
            continue;
        }
        let (Some(kid), Some(n), Some(e)) = (field("kid"), field("n"), field("e")) else {
            continue;
        };
        let (Ok(n), Ok(e)) = (B64URL.decode(n), B64URL.decode(e)) else { continue };
        if let Ok(k) = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e)) {
            out.insert(kid.to_string(), k);
        }
    }
    out
}

type JwtParts = (Map<String, Json>, Map<String, Json>, String, Vec<u8>);

fn split_jwt(token: &str) -> Result<JwtParts, AuthError> {
    let malformed = |what: &str| AuthError::Malformed(what.to_string());
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("expected three segments"));
    };
    let decode_json = |seg: &str, what: &str| -> Result<Map<String, Json>, AuthError> {
        let bytes =
            B64URL.decode(seg).map_err(|_| malformed(&format!("{what} is not base64url")))?;
        match serde_json::from_slice(&bytes) {
            Ok(Json::Object(map)) => Ok(map),
            _ => Err(malformed(&format!("{what} is not a JSON object"))),
        }
    };
    let header = decode_json(h, "header")?;
    let claims = decode_json(p, "payload")?;
    let signature = B64URL.decode(s).map_err(|_| malformed("signature is not base64url"))?;
    Ok((header, claims, format!("{h}.{p}"), signature))
}

/// Builds Convex's `UserIdentity` from verified claims, enforcing `sub`, `iat` and `exp`.
pub fn identity_from_claims(
    iss: &str,
    claims: &Map<String, Json>,
    now: u64,
) -> Result<Identity, AuthError> {
    let sub = claims.get("sub").and_then(Json::as_str).ok_or(AuthError::InvalidToken)?;
    claims.get("iat").and_then(Json::as_u64).ok_or(AuthError::InvalidToken)?;
    let exp = claims.get("exp").and_then(Json::as_u64).ok_or(AuthError::InvalidToken)?;
    if exp <= now {
        return Err(AuthError::InvalidToken);
    }
    let mut fields = Map::new();
    fields.insert("tokenIdentifier".into(), json!(format!("{iss}|{sub}")));
    fields.insert("subject".into(), json!(sub));
    fields.insert("issuer".into(), json!(iss));
    const RENAMED: &[(&str, &str)] = &[
        ("name", "name"),
        ("given_name", "givenName"),
        ("family_name", "familyName"),
        ("nickname", "nickname"),
        ("preferred_username", "preferredUsername"),
        ("profile", "profileUrl"),
        ("picture", "pictureUrl"),
        ("website", "websiteUrl"),
        ("email", "email"),
        ("email_verified", "emailVerified"),
        ("gender", "gender"),
        ("birthdate", "birthday"),
        ("zoneinfo", "timezone"),
        ("locale", "language"),
        ("phone_number", "phoneNumber"),
        ("phone_number_verified", "phoneNumberVerified"),
        ("address", "address"),
        ("updated_at", "updatedAt"),
    ];
    const RESERVED: &[&str] = &["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "azp"];
    for (key, value) in claims {
        if RESERVED.contains(&key.as_str()) {
            continue;
        }
        let name = RENAMED.iter().find(|(c, _)| c == key).map(|(_, n)| *n).unwrap_or(key);
        fields.insert(name.to_string(), value.clone());
    }
    let cache_key = Json::Object(fields.clone()).to_string();
    Ok(Identity { fields, exp, cache_key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(dir: &Path) -> Auth {
        Auth::load_or_create(dir, "http://127.0.0.1:3210/", vec![], 60).unwrap()
    }

    fn req(sub: &str) -> TokenRequest {
        TokenRequest { sub: sub.into(), name: Some("Alice".into()), ..Default::default() }
    }

    #[tokio::test]
    async fn minted_tokens_verify_and_carry_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let auth = provider(dir.path());
        assert_eq!(auth.issuer(), "http://127.0.0.1:3210");
        let identity = auth.verify(&auth.mint(&req("alice"))).await.unwrap();
        assert_eq!(identity.token_identifier(), "http://127.0.0.1:3210|alice");
        assert_eq!(identity.field("name"), Some("Alice"));
        // The key survives a restart: a token minted before still verifies.
        let token = auth.mint(&req("bob"));
        let again = provider(dir.path());
        assert!(again.verify(&token).await.is_ok());
    }

    #[tokio::test]
    async fn refuses_expired_forged_and_foreign_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let auth = provider(dir.path());
        let expired = auth.mint_at(&req("alice"), now_secs() - 3600);
        assert_eq!(auth.verify(&expired).await, Err(AuthError::InvalidToken));

        let other_dir = tempfile::tempdir().unwrap();
        let forged = provider(other_dir.path()).mint(&req("alice"));
        assert_eq!(auth.verify(&forged).await, Err(AuthError::InvalidToken));

        let token = auth.mint(&req("alice"));
        let mut parts: Vec<&str> = token.split('.').collect();
        let wrong_aud = B64URL.encode(
            json!({"iss": auth.issuer(), "sub": "a", "aud": ["convex", "other"], "iat": now_secs(), "exp": now_secs() + 60}).to_string(),
        );
        parts[1] = &wrong_aud;
        // The provider is found (`aud` contains `convex`), the extra audience is refused.
        assert_eq!(auth.verify(&parts.join(".")).await, Err(AuthError::InvalidToken));
        // Signed, so only the audience is wrong.
        let extra_aud = auth.sign_claims(&json!({"iss": auth.issuer(), "sub": "a", "aud": ["convex", "x"], "iat": now_secs(), "exp": now_secs() + 60}));
        assert_eq!(auth.verify(&extra_aud).await, Err(AuthError::InvalidToken));
        assert_eq!(AuthError::InvalidToken.code(), ("Unauthenticated", 401));
        let only_aud = auth.sign_claims(&json!({"iss": auth.issuer(), "sub": "a", "aud": ["convex"], "iat": now_secs(), "exp": now_secs() + 60}));
        assert!(auth.verify(&only_aud).await.is_ok());
        let other_aud = auth.sign_claims(&json!({"iss": auth.issuer(), "sub": "a", "aud": ["x"], "iat": now_secs(), "exp": now_secs() + 60}));
        assert!(matches!(auth.verify(&other_aud).await, Err(AuthError::NoProvider(_))));

        let wrong_iss = auth.sign_claims(&json!({"iss": "https://evil.example", "sub": "a", "aud": "convex", "iat": now_secs(), "exp": now_secs() + 60}));
        assert!(matches!(auth.verify(&wrong_iss).await, Err(AuthError::NoProvider(_))));

        let no_sub = auth.sign_claims(&json!({"iss": auth.issuer(), "aud": "convex", "iat": now_secs(), "exp": now_secs() + 60}));
        assert_eq!(auth.verify(&no_sub).await, Err(AuthError::InvalidToken));

        assert!(matches!(auth.verify("garbage").await, Err(AuthError::Malformed(_))));
    }
}
