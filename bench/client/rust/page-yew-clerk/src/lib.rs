//! Bundle size: `page-yew-client`'s app (one subscription decoded into a typed struct, one
//! mutation) written on the full public stack, as `demo/src/app.rs` does it:
//! `ClerkProvider` + `ConvexProviderWithClerk`, `use_query`, `use_mutation`, and
//! `SignedIn`/`SignedOut`/`SignInButton`/`UserButton`. What it adds over `page-yew-client` is
//! what the Yew and Clerk layers cost (clerk-js itself is loaded by script tag at run time and
//! is not in the bundle).
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use yew::prelude::*;
use yew_convex::{
    clerk::{ClerkProvider, SignInButton, SignedIn, SignedOut, UserButton},
    client::ConvexClient,
    use_mutation, use_query, ConvexProviderWithClerk, QueryState,
};
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
    let item = use_query::<Item, _>("bench:item", ItemArgs { i: 1.0 });
    let set = use_mutation::<ItemArgs, Option<String>>("bench:set");
    use_effect_with((), move |_| {
        let run = set.call(ItemArgs { i: 1.0 });
        wasm_bindgen_futures::spawn_local(async move {
            let _ = run.await;
        });
    });
    let title = match &item {
        QueryState::Loading => String::new(),
        QueryState::Failed(e) => e.to_string(),
        QueryState::Ready(item) => item.title.clone(),
    };
    let onclick = {
        let count = count.clone();
        Callback::from(move |_| count.set(*count + 1))
    };
    html! { <div><p>{ "ready " }{ *count }{ " " }{ title }</p><button {onclick}>{ "+" }</button><Link<Route> to={Route::NotFound}>{ "elsewhere" }</Link<Route>></div> }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Home => html! { <Home /> },
        Route::NotFound => html! { <p>{ "not found" }</p> },
    }
}

#[function_component(App)]
fn app() -> Html {
    let client = use_memo((), |_| ConvexClient::new("http://127.0.0.1:3210"));
    let client = match &*client {
        Ok(client) => client.clone(),
        Err(e) => return html! { <p>{ e.to_string() }</p> },
    };
    html! {
        <ClerkProvider publishable_key="pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA" proxy_url={Some(AttrValue::from("/__clerk"))}>
            <ConvexProviderWithClerk {client}>
                <BrowserRouter>
                    <SignedIn><UserButton /></SignedIn>
                    <SignedOut><SignInButton /></SignedOut>
                    <Switch<Route> render={switch} />
                </BrowserRouter>
            </ConvexProviderWithClerk>
        </ClerkProvider>
    }
}

#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<App>::new().render();
}
