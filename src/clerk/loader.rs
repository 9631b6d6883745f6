//! Loads clerk-js (and optionally @clerk/ui) by script tag, from the pinned npm versions:
//! through the Frontend API's `/npm/…` path (Clerk's CDN for a real key, the devserver's
//! stand-in for the offline default), or from a URL the app gives.

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{bridge, error::ClerkError, urls::ScriptUrls};

/// Adds `<script src=url>` (once per URL) and waits for it to load.
pub(crate) async fn load_script(url: &str, attributes: &[(&str, &str)]) -> Result<(), ClerkError> {
    let fail = |reason: String| ClerkError::ScriptLoad { url: url.to_string(), reason };
    let document =
        web_sys::window().and_then(|w| w.document()).ok_or_else(|| fail("no document".into()))?;
    let selector = format!("script[data-yew-convex-src=\"{url}\"]");
    if let Ok(Some(existing)) = document.query_selector(&selector) {
        if existing.get_attribute("data-loaded").is_some() {
            return Ok(());
        }
        // Still loading (another provider, or an earlier render): wait for that tag.
        let done = js_sys::Promise::new(&mut |resolve, reject| {
            let on_load = Closure::once_into_js(move || {
                let _ = resolve.call0(&JsValue::NULL);
            });
            let on_error = Closure::once_into_js(move || {
                let _ =
                    reject.call1(&JsValue::NULL, &JsValue::from_str("the script failed to load"));
            });
            let _ = existing.add_event_listener_with_callback("load", on_load.unchecked_ref());
            let _ = existing.add_event_listener_with_callback("error", on_error.unchecked_ref());
        });
        return JsFuture::from(done)
            .await
            .map(|_| ())
            .map_err(|e| fail(e.as_string().unwrap_or_default()));
    }
    let script: web_sys::HtmlScriptElement =
        document.create_element("script").map_err(|e| fail(format!("{e:?}")))?.unchecked_into();
    script.set_src(url);
    script.set_async(true);
    script.set_cross_origin(Some("anonymous"));
    let _ = script.set_attribute("data-yew-convex-src", url);
    for (name, value) in attributes {
        let _ = script.set_attribute(name, value);
    }
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        let on_load = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let on_error = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("the script failed to load"));
        });
        script.set_onload(Some(on_load.unchecked_ref()));
        script.set_onerror(Some(on_error.unchecked_ref()));
    });
    let head = document.head().ok_or_else(|| fail("no <head>".into()))?;
    head.append_child(&script).map_err(|e| fail(format!("{e:?}")))?;
    if let Err(e) = JsFuture::from(loaded).await {
        // A failed tag goes, so that a retry starts clean.
        script.remove();
        return Err(fail(e.as_string().unwrap_or_default()));
    }
    let _ = script.set_attribute("data-loaded", "");
    Ok(())
}

/// Loads clerk-js for `publishable_key` (and @clerk/ui when `with_ui`), unless the page
/// already has `window.Clerk`.
pub(crate) async fn ensure_loaded(
    urls: &ScriptUrls,
    publishable_key: &str,
    proxy_url: Option<&str>,
    with_ui: bool,
) -> Result<(), ClerkError> {
    if bridge::window_clerk().is_none() {
        // The browser bundle creates `window.Clerk` from these globals.
        if let Some(window) = web_sys::window() {
            let _ = js_sys::Reflect::set(
                &window,
                &"__clerk_publishable_key".into(),
                &publishable_key.into(),
            );
            if let Some(proxy) = proxy_url {
                let _ = js_sys::Reflect::set(&window, &"__clerk_proxy_url".into(), &proxy.into());
            }
        }
        let mut attributes = vec![("data-clerk-publishable-key", publishable_key)];
        if let Some(proxy) = proxy_url {
            attributes.push(("data-clerk-proxy-url", proxy));
        }
        load_script(&urls.clerk_js, &attributes).await?;
    }
    if with_ui && bridge::ui_constructor().is_none() {
        load_script(&urls.ui, &[]).await?;
    }
    if bridge::window_clerk().is_none() {
        return Err(ClerkError::ScriptLoad {
            url: urls.clerk_js.clone(),
            reason: "it did not define window.Clerk".into(),
        });
    }
    Ok(())
}
