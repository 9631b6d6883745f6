//! Loads clerk-js (and optionally @clerk/ui) by script tag, from the pinned npm versions:
//! through the Frontend API's `/npm/…` path (Clerk's CDN for a real key, the devserver's
//! stand-in for the offline default), or from a URL the app gives.

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::{bridge, error::ClerkError, urls::ScriptUrls};

/// Set on our script tags by their own `load` / `error` listener (attached before the tag is
/// inserted, so it cannot miss the event): `loaded` or `failed`; absent while loading.
const STATE: &str = "data-yew-convex-state";

/// Adds `<script src=url>` (once per URL) and waits for it to load. Nothing is added or awaited
/// when `ready()` (what the script defines is already there), nor when a tag for `url` has
/// already loaded; a tag still loading is waited for; a failed one is replaced.
pub(crate) async fn load_script(
    url: &str,
    attributes: &[(&str, &str)],
    ready: &dyn Fn() -> bool,
) -> Result<(), ClerkError> {
    let fail = |reason: String| ClerkError::ScriptLoad { url: url.to_string(), reason };
    if ready() {
        return Ok(());
    }
    let document =
        web_sys::window().and_then(|w| w.document()).ok_or_else(|| fail("no document".into()))?;
    let selector = format!("script[data-yew-convex-src=\"{url}\"]");
    if let Ok(Some(existing)) = document.query_selector(&selector) {
        match existing.get_attribute(STATE).as_deref() {
            Some("loaded") => return Ok(()),
            // A failed tag that its loader has not removed yet: start clean.
            Some(_) => existing.remove(),
            None => {
                // Still loading (another provider, or an earlier render): wait for that tag.
                // Its state was checked and the listeners are attached in one go, with no
                // await between, so its `load` cannot fire unseen.
                return JsFuture::from(settled(&existing))
                    .await
                    .map(|_| ())
                    .map_err(|e| fail(e.as_string().unwrap_or_default()));
            }
        }
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
    // Every listener goes on before the tag is inserted: none can miss its event.
    mark_when_settled(&script);
    let loaded = settled(&script);
    let head = document.head().ok_or_else(|| fail("no <head>".into()))?;
    head.append_child(&script).map_err(|e| fail(format!("{e:?}")))?;
    if let Err(e) = JsFuture::from(loaded).await {
        // A failed tag goes, so that a retry starts clean.
        script.remove();
        return Err(fail(e.as_string().unwrap_or_default()));
    }
    Ok(())
}

/// Records on `script` (attribute [`STATE`]) that it loaded or failed, from its own listeners,
/// so that a later caller sees the outcome even before any awaiting task resumes.
fn mark_when_settled(script: &web_sys::Element) {
    for (event, state) in [("load", "loaded"), ("error", "failed")] {
        let target = script.clone();
        let mark = Closure::once_into_js(move || {
            let _ = target.set_attribute(STATE, state);
        });
        let _ = script.add_event_listener_with_callback(event, mark.unchecked_ref());
    }
}

/// Resolves on the script's next `load`, rejects on its next `error`.
fn settled(script: &web_sys::Element) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, reject| {
        let on_load = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let on_error = Closure::once_into_js(move || {
            let _ = reject.call1(&JsValue::NULL, &JsValue::from_str("the script failed to load"));
        });
        let _ = script.add_event_listener_with_callback("load", on_load.unchecked_ref());
        let _ = script.add_event_listener_with_callback("error", on_error.unchecked_ref());
    })
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
        load_script(&urls.clerk_js, &attributes, &|| bridge::window_clerk().is_some()).await?;
    }
    if with_ui && bridge::ui_constructor().is_none() {
        load_script(&urls.ui, &[], &|| bridge::ui_constructor().is_some()).await?;
    }
    if bridge::window_clerk().is_none() {
        return Err(ClerkError::ScriptLoad {
            url: urls.clerk_js.clone(),
            reason: "it did not define window.Clerk".into(),
        });
    }
    Ok(())
}
