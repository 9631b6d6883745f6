//! Bringing a WebSocket frame's text into wasm memory.
//!
//! `JsValue::as_string` (like every `&str` wasm-bindgen passes in) copies a string with a JS
//! loop over `charCodeAt` while it is ASCII, then `TextEncoder.encodeInto` for the rest. For a
//! Transition of a megabyte that loop costs more than parsing the message. Here the browser's
//! `encodeInto` writes the whole text straight into a reused buffer in wasm memory, natively.

use std::cell::RefCell;

use js_sys::{JsString, Uint8Array};
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = TextEncoder)]
    type Encoder;
    #[wasm_bindgen(constructor, js_class = "TextEncoder")]
    fn new() -> Encoder;
    #[wasm_bindgen(method, js_class = "TextEncoder", js_name = encodeInto)]
    fn encode_into(this: &Encoder, source: &JsString, dest: &Uint8Array) -> Progress;
    /// `encodeInto`'s answer.
    type Progress;
    #[wasm_bindgen(method, getter)]
    fn read(this: &Progress) -> u32;
    #[wasm_bindgen(method, getter)]
    fn written(this: &Progress) -> u32;
}

thread_local! {
    static ENCODER: Encoder = Encoder::new();
    /// Reused between frames: it grows to the largest frame seen.
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The largest buffer kept between frames.
const KEEP: usize = 64 << 10;

/// Encodes `text` into the spare capacity of `buffer` from `at`; returns (units read, bytes
/// written).
fn encode(buffer: &mut Vec<u8>, at: usize, text: &JsString) -> (usize, usize) {
    let spare = buffer.capacity() - at;
    // SAFETY: the view covers only the buffer's spare capacity and is dropped before anything
    // else runs in wasm (no allocation can grow memory and detach it meanwhile); `encodeInto`
    // writes at most `spare` bytes into it, all initialised before `set_len` counts them.
    unsafe {
        let view = Uint8Array::view_mut_raw(buffer.as_mut_ptr().add(at), spare);
        let progress = ENCODER.with(|e| e.encode_into(text, &view));
        drop(view);
        let written = (progress.written() as usize).min(spare);
        buffer.set_len(at + written);
        (progress.read() as usize, written)
    }
}

/// Runs `f` on a frame's text (`None` for a binary frame) as UTF-8 in wasm memory.
pub(crate) fn with_frame_text<T>(data: &JsValue, f: impl FnOnce(Option<&str>) -> T) -> T {
    let Some(text) = data.dyn_ref::<JsString>() else { return f(None) };
    let mut buffer = BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
    buffer.clear();
    let units = text.length() as usize;
    // Mostly ASCII: one byte per UTF-16 unit, then room for the rest at the worst 3 bytes each.
    buffer.reserve(units);
    let (read, _) = encode(&mut buffer, 0, text);
    if read < units {
        let rest = text.slice(read as u32, units as u32);
        buffer.reserve((units - read) * 3);
        let at = buffer.len();
        encode(&mut buffer, at, &rest);
    }
    // encodeInto writes UTF-8; checking it costs little next to the parse.
    let out = f(std::str::from_utf8(&buffer).ok());
    // Keep the buffer for the next frame unless it is large: a megabyte held between frames
    // would cost more memory than allocating it again costs time.
    if buffer.capacity() <= KEEP {
        BUFFER.with(|b| *b.borrow_mut() = buffer);
    }
    out
}
