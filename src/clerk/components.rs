//! Clerk's components for Yew: `SignedIn`, `SignedOut`, `SignInButton`, `SignOutButton`,
//! `UserButton`, and `SignInForm` (an identifier + password form on the headless API).

use wasm_bindgen::JsCast;
use yew::prelude::*;

use super::{
    error::ClerkError,
    provider::{use_auth, use_clerk, use_user},
};
use crate::hooks::ChildrenProps;

/// Renders its children only when a user is signed in.
#[function_component]
pub fn SignedIn(props: &ChildrenProps) -> Html {
    if use_auth().is_signed_in == Some(true) {
        props.children.clone()
    } else {
        Html::default()
    }
}

/// Renders its children only when no user is signed in (not while Clerk loads).
#[function_component]
pub fn SignedOut(props: &ChildrenProps) -> Html {
    if use_auth().is_signed_in == Some(false) {
        props.children.clone()
    } else {
        Html::default()
    }
}

/// How [`SignInButton`] signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SignInMode {
    /// Clerk's sign-in modal (falls back to `Redirect` without the prebuilt UI). Default.
    #[default]
    Modal,
    /// The app's sign-in route, or Clerk's sign-in page.
    Redirect,
}

/// Props of [`SignInButton`].
#[derive(Properties, PartialEq)]
pub struct SignInButtonProps {
    /// Modal or redirect. Default: [`SignInMode::Modal`].
    #[prop_or_default]
    pub mode: SignInMode,
    /// CSS class of the button.
    #[prop_or_default]
    pub class: Classes,
    /// Button content. Default: "Sign in".
    #[prop_or_default]
    pub children: Html,
}

/// A button that starts sign-in: Clerk's modal when its prebuilt UI is loaded, else the
/// provider's `sign_in_url`, else Clerk's sign-in page.
#[function_component]
pub fn SignInButton(props: &SignInButtonProps) -> Html {
    let clerk = use_clerk();
    let mode = props.mode;
    let onclick = Callback::from(move |_: MouseEvent| {
        let modal = mode == SignInMode::Modal && clerk.is_ui_loaded();
        let result = if modal {
            clerk.open_sign_in()
        } else if let Some(url) = clerk.sign_in_url() {
            web_sys::window()
                .map(|w| w.location().assign(url))
                .transpose()
                .map(|_| ())
                .map_err(|e| ClerkError::Js(format!("{e:?}")))
        } else {
            clerk.redirect_to_sign_in()
        };
        if let Err(e) = result {
            web_sys::console::error_1(&format!("sign-in: {e}").into());
        }
    });
    let content = if props.children == Html::default() {
        html! {"Sign in"}
    } else {
        props.children.clone()
    };
    html! { <button type="button" class={props.class.clone()} {onclick}>{ content }</button> }
}

/// Props of [`SignOutButton`].
#[derive(Properties, PartialEq)]
pub struct SignOutButtonProps {
    /// Where to go afterwards. Default: stay on the page.
    #[prop_or_default]
    pub redirect_url: Option<AttrValue>,
    /// CSS class of the button.
    #[prop_or_default]
    pub class: Classes,
    /// Button content. Default: "Sign out".
    #[prop_or_default]
    pub children: Html,
}

/// A button that signs the user out.
#[function_component]
pub fn SignOutButton(props: &SignOutButtonProps) -> Html {
    let onclick = sign_out_on_click(use_clerk(), props.redirect_url.clone());
    let content = if props.children == Html::default() {
        html! {"Sign out"}
    } else {
        props.children.clone()
    };
    html! { <button type="button" class={props.class.clone()} {onclick}>{ content }</button> }
}

/// Signs out on click (shared by [`SignOutButton`] and [`UserButton`]'s fallback, which
/// renders a plain button rather than a whole `SignOutButton` component).
fn sign_out_on_click(
    clerk: super::provider::ClerkHandle,
    redirect: Option<AttrValue>,
) -> Callback<MouseEvent> {
    Callback::from(move |_: MouseEvent| {
        let (clerk, redirect) = (clerk.clone(), redirect.clone());
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = clerk.sign_out(redirect.as_deref()).await {
                web_sys::console::error_1(&format!("sign-out: {e}").into());
            }
        });
    })
}

/// Clerk's prebuilt user button (avatar, profile, sign-out). Without the prebuilt UI it
/// shows the user's name and a [`SignOutButton`].
#[function_component]
pub fn UserButton() -> Html {
    let clerk = use_clerk();
    let user = use_user();
    let node = use_node_ref();
    {
        let (clerk, node) = (clerk.clone(), node.clone());
        use_effect_with(clerk, move |clerk| {
            let element = node.cast::<web_sys::Element>();
            if let Some(element) = &element {
                if clerk.is_ui_loaded() {
                    if let Err(e) = clerk.mount_user_button(element) {
                        web_sys::console::error_1(&format!("user button: {e}").into());
                    }
                }
            }
            let clerk = clerk.clone();
            move || {
                if let Some(element) = element {
                    clerk.unmount_user_button(&element);
                }
            }
        });
    }
    if clerk.is_ui_loaded() {
        html! { <div class="yc-user-button" ref={node}></div> }
    } else {
        let name = user.map(|u| u.display_name()).unwrap_or_default();
        let onclick = sign_out_on_click(clerk, None);
        html! { <div class="yc-user-button" ref={node}><span>{ name }</span>{" "}<button type="button" {onclick}>{"Sign out"}</button></div> }
    }
}

/// Props of [`SignInForm`].
#[derive(Properties, PartialEq)]
pub struct SignInFormProps {
    /// Called after a successful sign-in.
    #[prop_or_default]
    pub on_signed_in: Callback<()>,
}

fn input_value(event: &Event) -> String {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

/// A small sign-in form (identifier + password) on clerk-js's headless sign-in API, for apps
/// that want their own UI. Clerk's error messages (unknown user, wrong password) show under it.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::clerk::{SignInForm, SignedOut};
///
/// #[function_component]
/// fn Login() -> Html {
///     html! { <SignedOut><SignInForm /></SignedOut> }
/// }
/// ```
#[function_component]
pub fn SignInForm(props: &SignInFormProps) -> Html {
    let clerk = use_clerk();
    let identifier = use_state(String::new);
    let password = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (identifier, password, error, busy) =
            (identifier.clone(), password.clone(), error.clone(), busy.clone());
        let on_signed_in = props.on_signed_in.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (clerk, identifier, password) =
                (clerk.clone(), (*identifier).clone(), (*password).clone());
            let (error, busy, on_signed_in) = (error.clone(), busy.clone(), on_signed_in.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match clerk.sign_in_with_password(&identifier, &password).await {
                    Ok(()) => {
                        error.set(None);
                        on_signed_in.emit(());
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
                busy.set(false);
            });
        })
    };
    let on_identifier = {
        let identifier = identifier.clone();
        Callback::from(move |e: InputEvent| identifier.set(input_value(&e)))
    };
    let on_password = {
        let password = password.clone();
        Callback::from(move |e: InputEvent| password.set(input_value(&e)))
    };
    html! {
        <form class="yc-sign-in-form" {onsubmit}>
            <label>{"Email or username"}
                <input name="identifier" autocomplete="username" value={(*identifier).clone()} oninput={on_identifier} />
            </label>
            <label>{"Password"}
                <input name="password" type="password" autocomplete="current-password" value={(*password).clone()} oninput={on_password} />
            </label>
            <button type="submit" disabled={*busy}>{ if *busy { "Signing in…" } else { "Sign in" } }</button>
            if let Some(message) = &*error {
                <p class="yc-error" role="alert">{ message }</p>
            }
        </form>
    }
}
