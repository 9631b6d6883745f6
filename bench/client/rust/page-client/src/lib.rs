//! Bundle size: `page-plain` plus a `ConvexClient` with one subscription (decoded into a typed
//! struct, as an app would) and one mutation.
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use yew_convex::client::ConvexClient;

#[derive(Serialize)]
struct ItemArgs {
    i: f64,
}

#[derive(Deserialize)]
struct Item {
    title: String,
}

fn show(text: &str) {
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        body.set_text_content(Some(text));
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    show("ready");
    let client = match ConvexClient::new("http://127.0.0.1:3210") {
        Ok(client) => client,
        Err(e) => return show(&e.to_string()),
    };
    let subscription = client.subscribe("bench:item", &ItemArgs { i: 1.0 }, |result| {
        let Some(result) = result else { return };
        match result.map(|v| v.deserialize::<Item>()) {
            Ok(Ok(item)) => show(&item.title),
            Ok(Err(e)) => show(&e.to_string()),
            Err(e) => show(&e.to_string()),
        }
    });
    std::mem::forget(subscription);
    wasm_bindgen_futures::spawn_local(async move {
        let done: Result<Option<String>, _> =
            client.mutation("bench:set", &ItemArgs { i: 1.0 }).await;
        if let Err(e) = done {
            show(&e.to_string());
        }
    });
}
