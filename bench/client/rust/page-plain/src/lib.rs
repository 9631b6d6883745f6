//! Bundle-size baseline: wasm-bindgen + web-sys writing to the DOM, nothing else.
use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        body.set_text_content(Some("ready"));
    }
}
