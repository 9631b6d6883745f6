//! Bundle size: `page-yew` plus a `ConvexClient` with one subscription (decoded into a typed
//! struct) and one mutation, from a component.
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use yew::prelude::*;
use yew_convex::client::ConvexClient;
use yew_router::prelude::*;

#[derive(Clone, Routable, PartialEq)]
enum Route {
    #[at("/")]
    Home,
    #[not_found]
    #[at("/404")]
    NotFound,
}

#[derive(Serialize)]
struct ItemArgs {
    i: f64,
}

#[derive(Deserialize)]
struct Item {
    title: String,
}

#[function_component(Home)]
fn home() -> Html {
    let count = use_state(|| 0u32);
    let title = use_state(String::new);
    {
        let title = title.clone();
        use_effect_with((), move |_| {
            let client = ConvexClient::new("http://127.0.0.1:3210").ok();
            let subscription = client.as_ref().and_then(|client| {
                client
                    .subscribe("bench:item", &ItemArgs { i: 1.0 }, move |result| {
                        let text = match result {
                            Some(Ok(v)) => match v.deserialize::<Item>() {
                                Ok(item) => item.title,
                                Err(e) => e.to_string(),
                            },
                            Some(Err(e)) => e.to_string(),
                            None => return,
                        };
                        title.set(text);
                    })
                    .ok()
            });
            if let Some(client) = client.clone() {
                wasm_bindgen_futures::spawn_local(async move {
                    let _: Result<Option<String>, _> =
                        client.mutation("bench:set", &ItemArgs { i: 1.0 }).await;
                });
            }
            move || drop((subscription, client))
        });
    }
    let onclick = {
        let count = count.clone();
        Callback::from(move |_| count.set(*count + 1))
    };
    html! { <div><p>{ "ready " }{ *count }{ " " }{ (*title).clone() }</p><button {onclick}>{ "+" }</button><Link<Route> to={Route::NotFound}>{ "elsewhere" }</Link<Route>></div> }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::NotFound => html! { <p>{ "not found" }</p> },
    }
}

#[function_component(App)]
fn app() -> Html {
    html! { <BrowserRouter><Switch<Route> render={switch} /></BrowserRouter> }
}

#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<App>::new().render();
}
