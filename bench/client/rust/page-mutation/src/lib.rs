//! bench/run's mutation-to-DOM page (the twin's is `bench/twin/mutation.html`): 100 mounted
//! components, each subscribed with `use_query` to `ledger:list` and rendering
//! `<li class="bench-item" data-last=… data-count=…>`; `window.__benchMutate(key)` runs
//! `ledger:add({key})` and returns its promise. The backend is `?convex=<url>` (default the
//! devserver on 127.0.0.1:3210).
use wasm_bindgen::prelude::*;
use yew::prelude::*;
use yew_convex::{client::ConvexClient, use_query, ConvexProvider, QueryState};

/// Components subscribed to the list.
const N: usize = 100;

#[function_component(Item)]
fn item() -> Html {
    match use_query::<Vec<String>, _>("ledger:list", serde_json::json!({})) {
        QueryState::Ready(keys) => html! {
            <li class="bench-item" data-last={keys.last().cloned().unwrap_or_default()} data-count={keys.len().to_string()} />
        },
        QueryState::Loading => html! { <li class="bench-item loading" /> },
        QueryState::Failed(e) => html! { <li class="bench-item error">{ e.to_string() }</li> },
    }
}

#[derive(Properties, PartialEq)]
struct AppProps {
    client: ConvexClient,
}

#[function_component(App)]
fn app(props: &AppProps) -> Html {
    html! {
        <ConvexProvider client={props.client.clone()}>
            <ul>{ for (0..N).map(|_| html! { <Item /> }) }</ul>
        </ConvexProvider>
    }
}

fn convex_url() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|p| p.get("convex"))
        .unwrap_or_else(|| "http://127.0.0.1:3210".to_string())
}

#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    let client = ConvexClient::new(&convex_url()).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let mutate = {
        let client = client.clone();
        Closure::<dyn Fn(String) -> js_sys::Promise>::new(move |key: String| {
            let client = client.clone();
            wasm_bindgen_futures::future_to_promise(async move {
                client
                    .mutation::<_, yew_convex::value::Value>("ledger:add", &serde_json::json!({ "key": key }))
                    .await
                    .map(|_| JsValue::TRUE)
                    .map_err(|e| JsValue::from_str(&e.to_string()))
            })
        })
    };
    let window = web_sys::window().ok_or("no window")?;
    js_sys::Reflect::set(&window, &"__benchMutate".into(), mutate.as_ref())?;
    mutate.forget();
    let root = window.document().and_then(|d| d.body()).ok_or("no body")?;
    yew::Renderer::<App>::with_root_and_props(root.into(), AppProps { client }).render();
    Ok(())
}
