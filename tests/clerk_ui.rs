//! Clerk's prebuilt UI (@clerk/ui 1.36.0) offline against the devserver's stand-in:
//! `SignInButton` opens Clerk's modal, a wrong password shows Clerk's error, signing in as
//! bob through it works, `UserButton` renders and its sign-out works.
#![cfg(target_arch = "wasm32")]

mod support;

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use support::{sleep, wait_until, CONVEX_URL};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::{
    clerk::{ClerkProvider, SignInButton, SignOutButton, SignedIn, SignedOut, UserButton},
    client::ConvexClient,
    use_query, ConvexProviderWithClerk, QueryState,
};

wasm_bindgen_test_configure!(run_in_browser);

const KEY: &str = "pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA";
const WAIT: Duration = Duration::from_secs(20);

#[derive(Deserialize, PartialEq)]
struct Me {
    subject: String,
}

#[function_component]
fn ShowMe() -> Html {
    let text = match use_query::<Option<Me>, _>("users:me", json!({})) {
        QueryState::Ready(me) => {
            me.as_ref().as_ref().map(|m| m.subject.clone()).unwrap_or_else(|| "null".into())
        }
        QueryState::Loading => "loading".into(),
        QueryState::Failed(e) => e.to_string(),
    };
    html! { <p id="me">{ text }</p> }
}

#[derive(Properties, PartialEq)]
struct Props {
    client: ConvexClient,
}

#[function_component]
fn App(props: &Props) -> Html {
    html! {
        <ClerkProvider publishable_key={KEY} proxy_url={Some(AttrValue::from(format!("{CONVEX_URL}/__clerk")))}>
            <ConvexProviderWithClerk client={props.client.clone()}>
                <SignedOut><span id="signin"><SignInButton /></span></SignedOut>
                <SignedIn><span id="user"><UserButton /></span><span id="signout"><SignOutButton /></span></SignedIn>
                <ShowMe />
            </ConvexProviderWithClerk>
        </ClerkProvider>
    }
}

/// Runs a JS snippet on the page (Clerk's UI is React: inputs need the native value setter).
fn js(body: &str, arg: &str) -> JsValue {
    js_sys::Function::new_with_args("arg", body)
        .call1(&JsValue::NULL, &JsValue::from_str(arg))
        .unwrap_or(JsValue::NULL)
}

/// The first visible element matching `arg` (Clerk keeps hidden inputs around), as JS.
const VISIBLE: &str =
    "const el = [...document.querySelectorAll(arg)].find(e => e.offsetParent !== null);";

fn exists(selector: &str) -> bool {
    js(&format!("{VISIBLE} return !!el;"), selector).as_bool() == Some(true)
}

fn fill(selector: &str, value: &str) {
    let body = format!(
        "{VISIBLE} \
         const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set; \
         set.call(el, {}); el.dispatchEvent(new Event('input', {{ bubbles: true }}));",
        serde_json::Value::String(value.into())
    );
    js(&body, selector);
}

fn click(selector: &str) {
    js(&format!("{VISIBLE} el.click();"), selector);
}

fn value_of(selector: &str) -> String {
    js(&format!("{VISIBLE} return el ? el.value : '';"), selector).as_string().unwrap_or_default()
}

/// Fills a field until the value sticks (Clerk's UI may re-mount a field while its step
/// animates in), then clicks Clerk's primary button, as a user would.
async fn fill_and_continue(selector: &str, value: &str) {
    for _ in 0..20 {
        fill(selector, value);
        sleep(250).await;
        if value_of(selector) == value {
            break;
        }
    }
    assert_eq!(value_of(selector), value, "could not type into {selector}");
    click(".cl-formButtonPrimary");
}

fn page_text() -> String {
    js("return document.body.innerText;", "").as_string().unwrap_or_default()
}

fn me_text() -> String {
    js("const el = document.querySelector('#me'); return el ? el.textContent : '';", "")
        .as_string()
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn prebuilt_modal_sign_in_user_button_and_sign_out() {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let client = ConvexClient::new(CONVEX_URL).unwrap();
    let app = yew::Renderer::<App>::with_root_and_props(root.clone(), Props { client }).render();

    wait_until("Clerk and its UI have loaded", WAIT, || {
        exists("#signin button") || exists("#signout button")
    })
    .await;
    if exists("#signout button") {
        click("#signout button");
        wait_until("signed out", WAIT, || exists("#signin button")).await;
    }

    // The modal.
    click("#signin button");
    wait_until("Clerk's sign-in modal", WAIT, || exists("input[name=identifier]")).await;
    assert!(page_text().contains("yew-convex demo"), "the modal names the application");
    fill_and_continue("input[name=identifier]", "bob").await;
    wait_until("the password step", WAIT, || exists("input[name=password]")).await;

    // A wrong password: Clerk's error, still signed out.
    fill_and_continue("input[name=password]", "wrong-password").await;

    wait_until("Clerk's error message", WAIT, || page_text().contains("Password is incorrect"))
        .await;
    assert!(exists("input[name=password]"));

    // The right one.
    fill_and_continue("input[name=password]", "bob-password").await;
    wait_until("signed in as bob", WAIT, || me_text() == "user_bob").await;

    // Clerk's user button renders and signs out from its popover.
    wait_until("the user button", WAIT, || exists("#user .cl-userButtonTrigger")).await;
    click("#user .cl-userButtonTrigger");
    wait_until("the popover", WAIT, || exists(".cl-userButtonPopoverActionButton__signOut")).await;
    assert!(page_text().contains("Bob Builder"), "the popover shows the user");
    click(".cl-userButtonPopoverActionButton__signOut");
    wait_until("signed out through the user button", WAIT, || exists("#signin button")).await;
    wait_until("bob's results are gone", WAIT, || me_text() == "null").await;
    sleep(100).await;
    app.destroy();
    root.remove();
}
