//! The JSON resources clerk-js 6.40.0 and @clerk/ui 1.36.0 read: environment, client, session,
//! user, sign-in, session with activities. Field names and shapes follow Clerk's Frontend API;
//! timestamps are milliseconds since the epoch.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use serde_json::{json, Value as Json};

use super::state::{Client, Session, SignIn, User};

/// The application name the prebuilt UI shows ("Sign in to yew-convex demo").
pub const APPLICATION_NAME: &str = "yew-convex demo";

fn disabled_attribute() -> Json {
    json!({
        "enabled": false, "required": false, "used_for_first_factor": false, "first_factors": [],
        "used_for_second_factor": false, "second_factors": [], "verifications": [],
        "verify_at_sign_up": false,
    })
}

/// `GET /v1/environment` (`production`) or `PATCH` (`development`, the pk_test flow).
pub fn environment(instance_type: &str) -> Json {
    let mut attributes = serde_json::Map::new();
    for name in [
        "phone_number",
        "web3_wallet",
        "first_name",
        "last_name",
        "authenticator_app",
        "backup_code",
        "passkey",
    ] {
        attributes.insert(name.into(), disabled_attribute());
    }
    // Sign in with an email address or a username, then a password; nothing else.
    let attribute = |required: bool, first_factor: bool| {
        json!({
            "enabled": true, "required": required, "used_for_first_factor": first_factor,
            "first_factors": [], "used_for_second_factor": false, "second_factors": [],
            "verifications": [], "verify_at_sign_up": false,
        })
    };
    attributes.insert("email_address".into(), attribute(false, true));
    attributes.insert("username".into(), attribute(false, true));
    attributes.insert("password".into(), attribute(true, false));
    json!({
        "object": "environment",
        "id": "env_yew_convex_standin",
        "auth_config": {
            "object": "auth_config",
            "id": "aac_yew_convex_standin",
            "single_session_mode": true,
            "claimed_at": null,
            "reverification": false,
            "preferred_channels": null,
        },
        "display_config": {
            "object": "display_config",
            "id": "display_config_yew_convex_standin",
            "instance_environment_type": instance_type,
            "application_name": APPLICATION_NAME,
            "preferred_sign_in_strategy": "password",
            "branded": false,
            "show_devmode_warning": false,
            "captcha_public_key": null,
            "captcha_widget_type": null,
            "captcha_provider": "turnstile",
            "captcha_public_key_invisible": null,
            "captcha_oauth_bypass": [],
            "captcha_heartbeat": false,
            "logo_image_url": "",
            "favicon_image_url": "",
            "home_url": "",
            "sign_in_url": "",
            "sign_up_url": "",
            "user_profile_url": "",
            "after_sign_in_url": "",
            "after_sign_up_url": "",
            "after_sign_out_one_url": "",
            "after_sign_out_all_url": "",
            "after_switch_session_url": "",
            "support_email": "",
            "terms_url": "",
            "privacy_policy_url": "",
            "theme": {},
        },
        "user_settings": {
            "attributes": attributes,
            "actions": {"delete_self": false, "create_organization": false},
            "sign_in": {"second_factor": {"required": false, "enabled": false}},
            "sign_up": {
                "mode": "restricted", "captcha_enabled": false, "allowlist_only": false,
                "legal_consent_enabled": false, "progressive": true, "mfa": {"required": false},
            },
            "password_settings": {
                "min_length": 8, "max_length": 72, "disable_hibp": true, "show_zxcvbn": false,
                "min_zxcvbn_strength": 0, "require_special_char": false,
                "require_numbers": false, "require_uppercase": false, "require_lowercase": false,
                "allowed_special_characters": "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~",
                "enforce_hibp_on_sign_in": false,
            },
            "username_settings": {"min_length": 3, "max_length": 64},
            "social": {},
            "enterprise_sso": {"enabled": false},
            "passkey_settings": {"allow_autofill": false, "show_sign_in_button": false},
            "attack_protection": {"enumeration_protection": {"enabled": false}},
        },
        "organization_settings": {"enabled": false, "max_allowed_memberships": 0},
        "maintenance_mode": false,
        "client_debug_mode": false,
    })
}

/// An avatar that needs no network: the initial on Clerk's purple, as an SVG data URL.
pub fn avatar_data_url(user: &User) -> String {
    let initial: String = user.first_name.chars().next().unwrap_or('?').to_uppercase().collect();
    let svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='128' height='128' viewBox='0 0 128 128'>\
         <rect width='128' height='128' fill='#6c47ff'/>\
         <text x='64' y='84' font-family='sans-serif' font-size='60' text-anchor='middle' \
         fill='#fff'>{initial}</text></svg>"
    );
    format!("data:image/svg+xml;base64,{}", B64.encode(svg))
}

pub fn user(user: &User) -> Json {
    json!({
        "object": "user",
        "id": user.id,
        "external_id": null,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "image_url": avatar_data_url(user),
        "has_image": false,
        "primary_email_address_id": user.email_id,
        "primary_phone_number_id": null,
        "primary_web3_wallet_id": null,
        "password_enabled": true,
        "two_factor_enabled": false,
        "totp_enabled": false,
        "backup_code_enabled": false,
        "email_addresses": [{
            "object": "email_address",
            "id": user.email_id,
            "email_address": user.email,
            "reserved": false,
            "verification": {
                "object": "verification_admin",
                "status": "verified",
                "strategy": "admin",
                "attempts": null,
                "expire_at": null,
            },
            "linked_to": [],
            "matches_sso_connection": false,
            "created_at": user.created_at,
            "updated_at": user.updated_at,
        }],
        "phone_numbers": [],
        "web3_wallets": [],
        "passkeys": [],
        "external_accounts": [],
        "enterprise_accounts": [],
        "saml_accounts": [],
        "organization_memberships": [],
        "public_metadata": {},
        "unsafe_metadata": {},
        "last_sign_in_at": user.last_sign_in_at,
        "banned": false,
        "locked": false,
        "delete_self_enabled": false,
        "create_organization_enabled": false,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    })
}

pub fn public_user_data(user: &User) -> Json {
    json!({
        "first_name": user.first_name,
        "last_name": user.last_name,
        "image_url": avatar_data_url(user),
        "has_image": false,
        "identifier": user.email,
        "username": user.username,
        "user_id": user.id,
    })
}

/// A session; `token` is its current session token (`last_active_token`).
pub fn session(session: &Session, user: &User, token: Option<&str>, now_ms: u64) -> Json {
    let fva_minutes = now_ms.saturating_sub(session.created_at) / 60_000;
    json!({
        "object": "session",
        "id": session.id,
        "status": session.status_at(now_ms),
        "expire_at": session.expire_at,
        "abandon_at": session.abandon_at,
        "last_active_at": session.last_active_at,
        "last_active_organization_id": null,
        "last_active_token": token.map(|jwt| json!({"object": "token", "jwt": jwt})),
        "actor": null,
        "tasks": null,
        "factor_verification_age": [fva_minutes, -1],
        "user": self::user(user),
        "public_user_data": public_user_data(user),
        "created_at": session.created_at,
        "updated_at": session.updated_at,
    })
}

/// A session as the user profile's security tab lists it (`/v1/me/sessions/active`).
pub fn session_with_activities(session: &Session, now_ms: u64) -> Json {
    let agent = UserAgent::parse(&session.user_agent);
    json!({
        "object": "session",
        "id": session.id,
        "status": session.status_at(now_ms),
        "expire_at": session.expire_at,
        "abandon_at": session.abandon_at,
        "last_active_at": session.last_active_at,
        "actor": null,
        "latest_activity": {
            "object": "session_activity",
            "id": format!("sess_activity_{}", session.id.trim_start_matches("sess_")),
            "device_type": agent.device_type,
            "is_mobile": agent.is_mobile,
            "browser_name": agent.browser_name,
            "browser_version": agent.browser_version,
            "ip_address": session.ip,
            // The security tab shows "<ip> (<city, country>)"; there is no geolocation here.
            "city": "localhost",
            "country": "",
        },
    })
}

pub fn sign_in(sign_in: &SignIn, user: Option<&User>) -> Json {
    let verification = sign_in.verified.then(|| {
        json!({
            "object": "verification_password",
            "status": "verified",
            "strategy": "password",
            "attempts": sign_in.attempts,
            "expire_at": null,
        })
    });
    json!({
        "object": "sign_in",
        "id": sign_in.id,
        "status": sign_in.status,
        "supported_identifiers": ["email_address", "username"],
        "identifier": sign_in.identifier,
        "supported_first_factors": if user.is_some() { json!([{"strategy": "password"}]) } else { json!([]) },
        "supported_second_factors": null,
        "first_factor_verification": verification,
        "second_factor_verification": null,
        "user_data": user.map(|u| json!({
            "first_name": u.first_name,
            "last_name": u.last_name,
            "image_url": avatar_data_url(u),
            "has_image": false,
        })),
        "created_session_id": sign_in.created_session_id,
        "abandon_at": sign_in.abandon_at,
        "created_at": sign_in.created_at,
        "updated_at": sign_in.updated_at,
    })
}

/// A client with its active sessions (already rendered) and its pending sign-in.
pub fn client(
    client: &Client,
    sessions: Vec<Json>,
    sign_in: Option<Json>,
    cookie_expires_at: u64,
) -> Json {
    json!({
        "object": "client",
        "id": client.id,
        "sessions": sessions,
        "sign_in": sign_in,
        "sign_up": null,
        "last_active_session_id": client.last_active_session_id,
        "last_authentication_strategy": null,
        "captcha_bypass": false,
        "cookie_expires_at": cookie_expires_at,
        "created_at": client.created_at,
        "updated_at": client.updated_at,
    })
}

/// What the security tab shows of a browser, guessed from its User-Agent.
#[derive(Debug, PartialEq)]
pub struct UserAgent {
    pub browser_name: String,
    pub browser_version: String,
    pub device_type: String,
    pub is_mobile: bool,
}

impl UserAgent {
    pub fn parse(ua: &str) -> Self {
        let version_after = |marker: &str| {
            ua.split(marker)
                .nth(1)
                .map(|rest| {
                    rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect::<String>()
                })
                .unwrap_or_default()
        };
        let (browser_name, browser_version) = if ua.contains("Edg/") {
            ("Edge", version_after("Edg/"))
        } else if ua.contains("Firefox/") {
            ("Firefox", version_after("Firefox/"))
        } else if ua.contains("HeadlessChrome/") {
            ("Chrome", version_after("HeadlessChrome/"))
        } else if ua.contains("Chrome/") {
            ("Chrome", version_after("Chrome/"))
        } else if ua.contains("Safari/") {
            ("Safari", version_after("Version/"))
        } else {
            ("", String::new())
        };
        let device_type = if ua.contains("iPhone") {
            "iPhone"
        } else if ua.contains("iPad") {
            "iPad"
        } else if ua.contains("Android") {
            "Android"
        } else if ua.contains("Macintosh") {
            "Macintosh"
        } else if ua.contains("Windows") {
            "Windows"
        } else if ua.contains("Linux") {
            "Linux"
        } else {
            ""
        };
        UserAgent {
            browser_name: browser_name.to_string(),
            browser_version,
            device_type: device_type.to_string(),
            is_mobile: ua.contains("Mobile") || ua.contains("Android"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_agents() {
        let ua = UserAgent::parse("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36");
        assert_eq!(ua.browser_name, "Chrome");
        assert_eq!(ua.browser_version, "156.0.0.0");
        assert_eq!(ua.device_type, "Linux");
        assert!(!ua.is_mobile);
        let ua = UserAgent::parse("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1");
        assert_eq!((ua.browser_name.as_str(), ua.browser_version.as_str()), ("Safari", "17.0"));
        assert!(ua.is_mobile);
        assert_eq!(UserAgent::parse("").browser_name, "");
    }

    #[test]
    fn environment_has_what_the_ui_reads() {
        let env = environment("development");
        assert_eq!(env["display_config"]["application_name"], APPLICATION_NAME);
        assert_eq!(env["auth_config"]["single_session_mode"], true);
        let attrs = &env["user_settings"]["attributes"];
        for name in ["email_address", "username", "password"] {
            assert_eq!(attrs[name]["enabled"], true, "{name}");
        }
        // clerk-js replaces its whole default attribute map: every attribute must be present.
        for name in ["phone_number", "web3_wallet", "passkey", "authenticator_app", "backup_code"] {
            assert_eq!(attrs[name]["enabled"], false, "{name}");
        }
    }
}
