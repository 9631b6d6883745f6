//! wasm exports for the browser benchmark (bench/client/web/ours.js calls them).
//!
//! - `client_*`: a real `ConvexClient` on the page's (fake) global `WebSocket`; the page hands
//!   Transition texts to the socket's `onmessage`, exactly as a browser would.
//! - `engine_*`: a bare `SyncEngine`, to compare the two JSON routes (serde_json from the text,
//!   or the browser's `JSON.parse` + serde-wasm-bindgen into `ServerMessage`) and to split the
//!   client's time into parsing, engine and client layers.
//! - `rust_heap_*`: live bytes of the Rust heap (a counting global allocator), for scenario C.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::{Cell, RefCell},
    hint::black_box,
    sync::atomic::{AtomicUsize, Ordering::Relaxed},
    time::Duration,
};

use serde::Serialize;
use wasm_bindgen::{prelude::*, JsCast};
use yew_convex::{
    client::{ConvexClient, QuerySubscription},
    sync::{protocol::ServerMessage, Event, SocketId, SyncConfig, SyncEngine},
    value::{to_value, Value},
};

// ----- a counting allocator: one add per (de)allocation -----

struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Relaxed);
            LIVE_BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Relaxed);
            LIVE_BLOCKS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes currently allocated on the Rust heap (as requested; the allocator adds a few bytes of
/// bookkeeping per block, see `rust_heap_blocks`).
#[wasm_bindgen]
pub fn rust_heap_bytes() -> f64 {
    LIVE_BYTES.load(Relaxed) as f64
}

/// Blocks currently allocated on the Rust heap.
#[wasm_bindgen]
pub fn rust_heap_blocks() -> f64 {
    LIVE_BLOCKS.load(Relaxed) as f64
}

/// The wasm linear memory's size in bytes (it never shrinks).
#[wasm_bindgen]
pub fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
}

#[derive(Serialize)]
struct ItemArgs {
    i: f64,
}

fn item_args(i: u32) -> Value {
    // A JavaScript number, as the official client sends `{i}`.
    to_value(&ItemArgs { i: f64::from(i) }).expect("plain args")
}

// ----- the client -----

thread_local! {
    static CLIENT: RefCell<Option<ConvexClient>> = const { RefCell::new(None) };
    static SUBSCRIPTIONS: RefCell<Vec<QuerySubscription>> = const { RefCell::new(Vec::new()) };
    static CALLBACKS: Cell<u32> = const { Cell::new(0) };
}

fn js_error(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// Creates a `ConvexClient` on whatever `globalThis.WebSocket` is (the page's fake server).
#[wasm_bindgen]
pub fn client_setup(url: &str) -> Result<(), JsValue> {
    let client = ConvexClient::new(url).map_err(js_error)?;
    CLIENT.with(|c| *c.borrow_mut() = Some(client));
    Ok(())
}

/// Subscribes to `bench:item {i}` for `i` in `first..first + n`; each callback counts itself.
#[wasm_bindgen]
pub fn client_subscribe(first: u32, n: u32) -> Result<(), JsValue> {
    subscribe_items(first, n, false)
}

/// One workload item, as a component would declare it.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Item {
    _id: String,
    #[serde(rename = "_creationTime")]
    creation_time: f64,
    i: f64,
    rev: f64,
    title: String,
    author: String,
    tags: Vec<String>,
    score: f64,
    done: bool,
    body: String,
}

/// Like `client_subscribe`, but each callback reads its value as an `Item` (decoded from the
/// text once per result and shared, as `use_query` does): what a component showing it pays.
#[wasm_bindgen]
pub fn client_subscribe_typed(first: u32, n: u32) -> Result<(), JsValue> {
    subscribe_items(first, n, true)
}

fn subscribe_items(first: u32, n: u32, typed: bool) -> Result<(), JsValue> {
    let client = CLIENT.with(|c| c.borrow().clone()).ok_or("client_setup first")?;
    let mut subs = Vec::with_capacity(n as usize);
    for i in first..first + n {
        let sub = client
            .subscribe("bench:item", &ItemArgs { i: f64::from(i) }, move |result| {
                if let Some(Ok(value)) = result {
                    if typed {
                        black_box(value.decode::<Item>().is_ok());
                    } else {
                        black_box(&value);
                    }
                }
                CALLBACKS.set(CALLBACKS.get() + 1);
            })
            .map_err(js_error)?;
        subs.push(sub);
    }
    SUBSCRIPTIONS.with(|s| s.borrow_mut().extend(subs));
    Ok(())
}

/// Drops every subscription and the client.
#[wasm_bindgen]
pub fn client_teardown() {
    SUBSCRIPTIONS.with(|s| s.borrow_mut().clear());
    if let Some(client) = CLIENT.with(|c| c.borrow_mut().take()) {
        client.close();
    }
}

/// Subscription callbacks run so far (client and engine harness alike).
#[wasm_bindgen]
pub fn callbacks() -> u32 {
    CALLBACKS.get()
}

// ----- the bare engine -----

struct EngineBench {
    engine: SyncEngine,
    socket: SocketId,
}

thread_local! {
    static ENGINE: RefCell<Option<EngineBench>> = const { RefCell::new(None) };
}

/// A `SyncEngine` with `n` subscriptions (`bench:item {i}`), its socket open and its
/// ModifyQuerySet sent (query set version 1), waiting for the first Transition.
#[wasm_bindgen]
pub fn engine_setup(n: u32) -> Result<(), JsValue> {
    let mut engine =
        SyncEngine::new(
            SyncConfig::default(),
            "0b5c2a4e-0000-4000-8000-000000000000".into(),
            Duration::ZERO,
        );
    let socket = loop {
        match engine.poll_event() {
            Some(Event::OpenSocket { socket }) => break socket,
            Some(_) => continue,
            None => return Err("the engine asked for no socket".into()),
        }
    };
    for i in 0..n {
        engine.subscribe("bench:item", &item_args(i)).map_err(js_error)?;
    }
    engine.handle_open(socket, Duration::ZERO, None);
    let mut bench = EngineBench { engine, socket };
    bench.drain();
    ENGINE.with(|e| *e.borrow_mut() = Some(bench));
    Ok(())
}

impl EngineBench {
    /// Carries out the engine's outputs as the client's pump does: frames are dropped, and
    /// each changed query's result is read and handed to a counting "callback".
    fn drain(&mut self) -> u32 {
        let mut changed = 0;
        loop {
            let mut progressed = false;
            while let Some(frame) = self.engine.poll_transmit() {
                black_box(frame);
                progressed = true;
            }
            while let Some(event) = self.engine.poll_event() {
                progressed = true;
                if let Event::QueryChanged { query } = event {
                    let result = self.engine.query_result(query);
                    black_box(&result);
                    changed += 1;
                }
            }
            if !progressed {
                break;
            }
        }
        CALLBACKS.set(CALLBACKS.get() + changed);
        changed
    }
}

fn with_engine<T>(f: impl FnOnce(&mut EngineBench) -> T) -> Result<T, JsValue> {
    ENGINE.with(|e| e.borrow_mut().as_mut().map(f)).ok_or_else(|| "engine_setup first".into())
}

/// The serde_json route: the text crosses into wasm and `handle_text` parses it.
/// Returns the number of queries whose result changed.
#[wasm_bindgen]
pub fn engine_text(text: &str) -> Result<u32, JsValue> {
    with_engine(|b| {
        b.engine.handle_text(b.socket, text, Duration::ZERO);
        b.drain()
    })
}

/// Parsing alone (the message is built and dropped): the reader checks every value and copies
/// its text out; nothing is decoded.
#[wasm_bindgen]
pub fn parse_text_only(text: &str) -> bool {
    black_box(ServerMessage::parse(text)).is_ok()
}

/// The cost of getting the text into wasm memory alone (what every `&str` export pays).
#[wasm_bindgen]
pub fn text_len(text: &str) -> u32 {
    black_box(text).len() as u32
}

// ----- a faster way into wasm for the text (prototype for the client's `onmessage`) -----
//
// wasm-bindgen copies a `&str` argument (and `JsValue::as_string`) into wasm memory with a JS loop
// over `charCodeAt` while the text is ASCII. The browser's `TextEncoder.encodeInto` writes
// straight into a view of wasm memory, natively.

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = TextEncoder)]
    type JsTextEncoder;
    #[wasm_bindgen(constructor, js_class = "TextEncoder")]
    fn new() -> JsTextEncoder;
    #[wasm_bindgen(method, js_class = "TextEncoder", js_name = encodeInto)]
    fn encode_into(
        this: &JsTextEncoder,
        source: &JsValue,
        dest: &js_sys::Uint8Array,
    ) -> EncodeIntoResult;
    type EncodeIntoResult;
    #[wasm_bindgen(method, getter)]
    fn written(this: &EncodeIntoResult) -> u32;
}

thread_local! {
    static ENCODER: JsTextEncoder = JsTextEncoder::new();
    static TEXT_BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the JS string `text` encoded as UTF-8 in wasm memory by `encodeInto`.
fn with_text<T>(text: &JsValue, f: impl FnOnce(&str) -> T) -> Option<T> {
    let units = text.dyn_ref::<js_sys::JsString>()?.length() as usize;
    let mut buffer = TEXT_BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
    buffer.clear();
    // UTF-16 to UTF-8: at most 3 bytes per unit.
    buffer.reserve(units * 3);
    // SAFETY: the view covers the buffer's spare capacity and lives only for this call, during
    // which nothing allocates (so wasm memory cannot grow and detach it).
    let written = unsafe {
        let view = js_sys::Uint8Array::view_mut_raw(buffer.as_mut_ptr(), buffer.capacity());
        let written = ENCODER.with(|e| e.encode_into(text, &view)).written() as usize;
        buffer.set_len(written.min(buffer.capacity()));
        written
    };
    let out = std::str::from_utf8(&buffer[..written]).ok().map(f);
    TEXT_BUFFER.with(|b| *b.borrow_mut() = buffer);
    out
}

/// The copy alone, `encodeInto` route (compare `text_len`).
#[wasm_bindgen]
pub fn text_len_encode_into(text: JsValue) -> u32 {
    with_text(&text, |s| black_box(s).len() as u32).unwrap_or(0)
}

/// `engine_text` with the text brought in by `encodeInto`.
#[wasm_bindgen]
pub fn engine_text_encode_into(text: JsValue) -> Result<u32, JsValue> {
    with_engine(|b| {
        with_text(&text, |s| b.engine.handle_text(b.socket, s, Duration::ZERO));
        b.drain()
    })
}

/// Parsing alone, with the text brought in by `encodeInto` (the client's route).
#[wasm_bindgen]
pub fn parse_encode_into_only(text: JsValue) -> bool {
    with_text(&text, |s| black_box(ServerMessage::parse(s)).is_ok()).unwrap_or(false)
}

/// Drops the engine.
#[wasm_bindgen]
pub fn engine_teardown() {
    ENGINE.with(|e| e.borrow_mut().take());
}
