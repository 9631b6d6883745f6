//! Where `JsValue`s from clerk-js become Rust: snapshots, users, sessions, errors, and the few
//! async calls the rest of the layer needs. Nothing past this file sees a `JsValue`.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{
    bindings::{Clerk, ClerkSession, SignIn},
    error::ClerkError,
    state::{ClerkSnapshot, Session, User},
};

fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_null() || target.is_undefined() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string().filter(|s| !s.is_empty())
}

/// A plain JS object from key/value pairs.
pub(crate) fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    }
    object.into()
}

/// Turns whatever clerk-js threw into a [`ClerkError`]: API errors keep Clerk's code and
/// messages (`errors[0]`), anything else its message.
pub(crate) fn error(e: JsValue) -> ClerkError {
    let errors = get(&e, "errors");
    if let Some(first) = errors.dyn_ref::<Array>().and_then(|a| a.iter().next()) {
        let message = get_string(&first, "message").unwrap_or_default();
        return ClerkError::Api {
            code: get_string(&first, "code").unwrap_or_default(),
            long_message: get_string(&first, "longMessage")
                .or_else(|| get_string(&first, "long_message"))
                .unwrap_or_else(|| message.clone()),
            message,
        };
    }
    let message =
        get_string(&e, "message").or_else(|| e.as_string()).unwrap_or_else(|| format!("{e:?}"));
    ClerkError::Js(message)
}

fn user(value: &JsValue) -> Option<User> {
    let id = get_string(value, "id")?;
    Some(User {
        id,
        username: get_string(value, "username"),
        first_name: get_string(value, "firstName"),
        last_name: get_string(value, "lastName"),
        primary_email_address: get_string(&get(value, "primaryEmailAddress"), "emailAddress"),
        image_url: get_string(value, "imageUrl"),
    })
}

fn session(value: &JsValue) -> Option<Session> {
    Some(Session {
        id: get_string(value, "id")?,
        status: get_string(value, "status").unwrap_or_default(),
    })
}

/// What `clerk` reports now.
pub(crate) fn snapshot(clerk: &Clerk) -> ClerkSnapshot {
    let loaded = clerk.loaded().ok().and_then(|v| v.as_bool()).unwrap_or(false);
    let session_value = clerk.session().unwrap_or(JsValue::UNDEFINED);
    let organization = clerk.organization().unwrap_or(JsValue::UNDEFINED);
    let org_id = get_string(&organization, "id");
    // The member's role in the active organization, when clerk-js exposes it.
    let org_role = org_id.as_ref().and_then(|id| {
        let memberships = get(&get(&session_value, "user"), "organizationMemberships");
        memberships.dyn_ref::<Array>()?.iter().find_map(|m| {
            (get_string(&get(&m, "organization"), "id").as_deref() == Some(id.as_str()))
                .then(|| get_string(&m, "role"))
                .flatten()
        })
    });
    ClerkSnapshot {
        loaded,
        user: clerk.user().ok().as_ref().and_then(user),
        session: session(&session_value),
        org_id,
        org_role,
    }
}

/// The `aud` claim of the active session's last token, if any.
pub(crate) fn session_token_audience(clerk: &Clerk) -> Option<String> {
    let session = clerk.session().ok()?;
    let claims = get(&get(&get(&session, "lastActiveToken"), "jwt"), "claims");
    let aud = get(&claims, "aud");
    aud.as_string().or_else(|| aud.dyn_ref::<Array>().and_then(|a| a.get(0).as_string()))
}

/// `session.getToken(options)`; `None` when signed out.
pub(crate) async fn get_token(
    clerk: &Clerk,
    template: Option<&str>,
    skip_cache: bool,
) -> Result<Option<String>, ClerkError> {
    let session = clerk.session().map_err(error)?;
    if session.is_null() || session.is_undefined() {
        return Ok(None);
    }
    let session: ClerkSession = session.unchecked_into();
    let mut options = vec![("skipCache", JsValue::from_bool(skip_cache))];
    if let Some(template) = template {
        options.push(("template", JsValue::from_str(template)));
    }
    let promise = session.get_token(&object(&options)).map_err(error)?;
    let token = JsFuture::from(promise).await.map_err(error)?;
    Ok(token.as_string().filter(|t| !t.is_empty()))
}

/// Password sign-in with the headless API (one step, or two when clerk-js asks for the first
/// factor), then makes the new session active.
pub(crate) async fn sign_in_with_password(
    clerk: &Clerk,
    identifier: &str,
    password: &str,
) -> Result<(), ClerkError> {
    let client = clerk.client().map_err(error)?;
    let sign_in = get(&client, "signIn");
    if sign_in.is_undefined() || sign_in.is_null() {
        return Err(ClerkError::NotLoaded);
    }
    let sign_in: SignIn = sign_in.unchecked_into();
    let params = object(&[
        ("identifier", JsValue::from_str(identifier)),
        ("password", JsValue::from_str(password)),
    ]);
    let mut result =
        JsFuture::from(sign_in.create(&params).map_err(error)?).await.map_err(error)?;
    if get_string(&result, "status").as_deref() == Some("needs_first_factor") {
        let attempt: SignIn = result.clone().unchecked_into();
        let params = object(&[
            ("strategy", JsValue::from_str("password")),
            ("password", JsValue::from_str(password)),
        ]);
        result = JsFuture::from(attempt.attempt_first_factor(&params).map_err(error)?)
            .await
            .map_err(error)?;
    }
    match get_string(&result, "status").as_deref() {
        Some("complete") => {
            let session = get(&result, "createdSessionId");
            let promise = clerk.set_active(&object(&[("session", session)])).map_err(error)?;
            JsFuture::from(promise).await.map_err(error)?;
            Ok(())
        }
        other => Err(ClerkError::Js(format!("sign-in not complete (status {other:?})"))),
    }
}

/// `clerk.signOut(cb)` with a no-op callback, so the page stays where it is (SPA), or
/// `signOut({ redirectUrl })`.
pub(crate) async fn sign_out(clerk: &Clerk, redirect_url: Option<&str>) -> Result<(), ClerkError> {
    let options: JsValue = match redirect_url {
        Some(url) => object(&[("redirectUrl", JsValue::from_str(url))]),
        // A callback keeps clerk-js from navigating after sign-out.
        None => wasm_bindgen::closure::Closure::once_into_js(|| ()),
    };
    let promise = clerk.sign_out(&options).map_err(error)?;
    JsFuture::from(promise).await.map_err(error)?;
    Ok(())
}

/// `window.Clerk`, read fresh on every call (an early read could cache `undefined`).
pub(crate) fn window_clerk() -> Option<Clerk> {
    let window = web_sys::window()?;
    let value = get(&window, "Clerk");
    (value.is_object()).then(|| value.unchecked_into())
}

/// `window.__internal_ClerkUICtor`, set by @clerk/ui's browser bundle.
pub(crate) fn ui_constructor() -> Option<JsValue> {
    let window = web_sys::window()?;
    let value = get(&window, "__internal_ClerkUICtor");
    (!value.is_undefined() && !value.is_null()).then_some(value)
}

/// Creates another `Clerk` instance with the class of `existing`.
pub(crate) fn new_instance(
    existing: &Clerk,
    publishable_key: &str,
    proxy_url: Option<&str>,
) -> Result<Clerk, ClerkError> {
    let class: js_sys::Function =
        get(existing, "constructor").dyn_into().map_err(|_| ClerkError::NotLoaded)?;
    let mut options = vec![];
    if let Some(proxy) = proxy_url {
        options.push(("proxyUrl", JsValue::from_str(proxy)));
    }
    let args = Array::of2(&JsValue::from_str(publishable_key), &object(&options));
    super::bindings::construct(&class, &args).map_err(error)
}

#[wasm_bindgen::prelude::wasm_bindgen(inline_js = r#"
export function yc_spa_router(replace) {
  return (to) => {
    const url = new URL(to, window.location.href);
    if (url.origin !== window.location.origin) { window.location.assign(url.href); return; }
    const path = url.pathname + url.search + url.hash;
    if (replace) { window.history.replaceState(null, '', path); } else { window.history.pushState(null, '', path); }
    window.dispatchEvent(new PopStateEvent('popstate', { state: null }));
  };
}
"#)]
extern "C" {
    /// A `(to) => void` navigating inside the single-page app (a JS module function: no
    /// `eval`, so a Content-Security-Policy without `unsafe-eval` is fine).
    fn yc_spa_router(replace: bool) -> JsValue;
}

/// `routerPush` / `routerReplace` for `Clerk.load`: same-origin navigation through the
/// History API plus a `popstate` event (which yew-router follows), so Clerk never reloads a
/// single-page app; other origins load normally.
pub(crate) fn spa_navigation() -> (JsValue, JsValue) {
    (yc_spa_router(false), yc_spa_router(true))
}
