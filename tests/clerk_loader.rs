//! Loading clerk-js and @clerk/ui by script tag (from the devserver's stand-in): providers
//! mounted together on a fresh page share one tag per script, and each sees the load, whether
//! it inserted the tag or found it still loading; a provider mounted later finds them loaded.
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use support::{wait_until, CONVEX_URL};
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::clerk::{use_clerk, ClerkProvider};

wasm_bindgen_test_configure!(run_in_browser);

const KEY: &str = "pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA";
const WAIT: Duration = Duration::from_secs(20);

#[function_component]
fn Status() -> Html {
    let clerk = use_clerk();
    html! { <p class="status">{ format!("loaded:{}:{}", clerk.is_loaded(), clerk.is_ui_loaded()) }</p> }
}

#[function_component]
fn App() -> Html {
    html! {
        <ClerkProvider publishable_key={KEY} proxy_url={Some(AttrValue::from(format!("{CONVEX_URL}/__clerk")))}>
            <Status />
        </ClerkProvider>
    }
}

fn mount() -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root(root.clone()).render();
    root
}

fn status(root: &web_sys::Element) -> String {
    root.query_selector(".status").ok().flatten().and_then(|e| e.text_content()).unwrap_or_default()
}

fn script_tags() -> Vec<(String, Option<String>)> {
    let document = web_sys::window().unwrap().document().unwrap();
    let tags = document.query_selector_all("script[data-yew-convex-src]").unwrap();
    (0..tags.length())
        .filter_map(|i| tags.item(i))
        .filter_map(|n| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(n).ok())
        .map(|e| {
            (
                e.get_attribute("data-yew-convex-src").unwrap(),
                e.get_attribute("data-yew-convex-state"),
            )
        })
        .collect()
}

#[wasm_bindgen_test]
async fn providers_mounted_together_share_the_tags_and_all_see_the_load() {
    assert!(script_tags().is_empty(), "a fresh page");
    let (first, second) = (mount(), mount());
    wait_until("both providers loaded", WAIT, || {
        status(&first) == "loaded:true:true" && status(&second) == "loaded:true:true"
    })
    .await;
    let tags = script_tags();
    assert_eq!(tags.len(), 2, "one tag per script: {tags:?}");
    assert!(tags.iter().all(|(_, state)| state.as_deref() == Some("loaded")), "{tags:?}");

    let third = mount();
    wait_until("a later provider loaded", WAIT, || status(&third) == "loaded:true:true").await;
    assert_eq!(script_tags().len(), 2, "no tag added");
}
