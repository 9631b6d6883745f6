//! The router's few DOM operations: the document head, scroll positions, history-entry keys,
//! timers and window listeners. Failures (no window, storage disabled) are ignored: the page
//! still works, only without that nicety.

use std::time::Duration;

use wasm_bindgen::{closure::Closure, JsCast, JsValue};

use super::{
    head::{Head, Meta},
    scroll::{ScrollStore, ScrollTarget},
};

const STORE_KEY: &str = "yew-convex:scroll";
const ENTRY_KEY: &str = "yc_key";
const MANAGED: &str = "data-yc-head";

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// A window event listener; dropping it removes it.
pub(crate) struct WindowListener {
    event: &'static str,
    closure: Closure<dyn FnMut()>,
}

impl Drop for WindowListener {
    fn drop(&mut self) {
        if let Some(w) = window() {
            let _ = w.remove_event_listener_with_callback(
                self.event,
                self.closure.as_ref().unchecked_ref(),
            );
        }
    }
}

pub(crate) fn on_window(event: &'static str, f: impl FnMut() + 'static) -> Option<WindowListener> {
    let closure = Closure::<dyn FnMut()>::new(f);
    window()?.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref()).ok()?;
    Some(WindowListener { event, closure })
}

pub(crate) fn set_timeout(after: Duration, f: impl FnOnce() + 'static) -> Option<i32> {
    let callback = Closure::once_into_js(f);
    let ms = after.as_millis().min(i32::MAX as u128 - 1) as i32 + 1;
    window()?
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms)
        .ok()
}

pub(crate) fn clear_timeout(handle: i32) {
    if let Some(w) = window() {
        w.clear_timeout_with_handle(handle);
    }
}

// ----- scroll -----

pub(crate) fn manual_scroll_restoration() {
    if let Some(history) = window().and_then(|w| w.history().ok()) {
        let _ = history.set_scroll_restoration(web_sys::ScrollRestoration::Manual);
    }
}

pub(crate) fn scroll_position() -> (f64, f64) {
    window()
        .map(|w| (w.scroll_x().unwrap_or(0.0), w.scroll_y().unwrap_or(0.0)))
        .unwrap_or((0.0, 0.0))
}

pub(crate) fn scroll_to(target: &ScrollTarget) {
    let Some(w) = window() else { return };
    match target {
        ScrollTarget::Position(x, y) => w.scroll_to_with_x_and_y(*x, *y),
        ScrollTarget::Top => w.scroll_to_with_x_and_y(0.0, 0.0),
        ScrollTarget::Anchor(id) => match w.document().and_then(|d| d.get_element_by_id(id)) {
            Some(element) => element.scroll_into_view(),
            None => w.scroll_to_with_x_and_y(0.0, 0.0),
        },
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    window()?.session_storage().ok().flatten()
}

pub(crate) fn load_scroll_store() -> ScrollStore {
    session_storage()
        .and_then(|s| s.get_item(STORE_KEY).ok().flatten())
        .map(|json| ScrollStore::from_json(&json))
        .unwrap_or_default()
}

pub(crate) fn save_scroll_store(store: &ScrollStore) {
    if let Some(storage) = session_storage() {
        let _ = storage.set_item(STORE_KEY, &store.to_json());
    }
}

pub(crate) fn location_hash() -> String {
    window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// The current history entry's key: kept in its `history.state` (so back/forward and a reload
/// find it again); a new entry gets one.
pub(crate) fn history_entry_key() -> String {
    let Some(history) = window().and_then(|w| w.history().ok()) else { return String::new() };
    let state = history.state().unwrap_or(JsValue::NULL);
    if state.is_object() {
        if let Some(key) =
            js_sys::Reflect::get(&state, &ENTRY_KEY.into()).ok().and_then(|k| k.as_string())
        {
            return key;
        }
    }
    let key =
        format!("{:x}{:x}", js_sys::Date::now() as u64, (js_sys::Math::random() * 1e12) as u64);
    // Keep what the history library stored there, and add the key.
    let next = js_sys::Object::new();
    if state.is_object() {
        let _ = js_sys::Object::assign(&next, &state.unchecked_into());
    }
    let _ = js_sys::Reflect::set(&next, &ENTRY_KEY.into(), &key.clone().into());
    let _ = history.replace_state(&next, "");
    key
}

// ----- head -----

fn meta_selector(meta: &Meta) -> String {
    match meta {
        Meta::Charset(_) => "meta[charset]".into(),
        Meta::Name(name, _) => format!("meta[name=\"{name}\"]"),
        Meta::Property(p, _) => format!("meta[property=\"{p}\"]"),
    }
}

/// Sets the document's title and the route's meta and link tags; the tags of the previous
/// route are removed. Tags the page itself already has (in `index.html`) are left alone and
/// not duplicated.
pub(crate) fn apply_head(head: &Head) {
    let Some(document) = window().and_then(|w| w.document()) else { return };
    if let Some(title) = &head.title {
        document.set_title(title);
    }
    let Some(head_el) = document.head() else { return };
    if let Ok(old) = head_el.query_selector_all(&format!("[{MANAGED}]")) {
        for i in 0..old.length() {
            if let Some(node) = old.item(i) {
                if let Some(parent) = node.parent_node() {
                    let _ = parent.remove_child(&node);
                }
            }
        }
    }
    let present = |selector: &str| head_el.query_selector(selector).ok().flatten().is_some();
    for meta in &head.meta {
        if present(&meta_selector(meta)) {
            // The page's own tag: update its content rather than duplicate it.
            if let (Some(el), Meta::Name(_, content) | Meta::Property(_, content)) =
                (head_el.query_selector(&meta_selector(meta)).ok().flatten(), meta)
            {
                let _ = el.set_attribute("content", content);
            }
            continue;
        }
        let Ok(el) = document.create_element("meta") else { continue };
        let _ = match meta {
            Meta::Charset(c) => el.set_attribute("charset", c),
            Meta::Name(n, c) => {
                el.set_attribute("name", n).and_then(|_| el.set_attribute("content", c))
            }
            Meta::Property(p, c) => {
                el.set_attribute("property", p).and_then(|_| el.set_attribute("content", c))
            }
        };
        let _ = el.set_attribute(MANAGED, "");
        let _ = head_el.append_child(&el);
    }
    for link in &head.links {
        let selector = format!("link[rel=\"{}\"][href=\"{}\"]", link.rel, link.href);
        if present(&selector) {
            continue;
        }
        let Ok(el) = document.create_element("link") else { continue };
        let _ = el.set_attribute("rel", &link.rel);
        let _ = el.set_attribute("href", &link.href);
        for (k, v) in &link.attrs {
            let _ = el.set_attribute(k, v);
        }
        let _ = el.set_attribute(MANAGED, "");
        let _ = head_el.append_child(&el);
    }
}
