//! The default components a route falls back to: [`DefaultCatchBoundary`] (the error, "Try
//! again", "Go back"), [`NotFound`], and a pending skeleton.

use yew::prelude::*;

/// Props of [`DefaultCatchBoundary`].
#[derive(Properties, PartialEq)]
pub struct CatchBoundaryProps {
    /// What went wrong.
    pub message: AttrValue,
    /// Runs the route's loader again.
    pub retry: Callback<()>,
}

/// What a route shows when its loader or one of its queries failed (the seed's
/// `DefaultCatchBoundary`): the message, "Try again" (runs the loader again) and "Go back".
#[function_component]
pub fn DefaultCatchBoundary(props: &CatchBoundaryProps) -> Html {
    let retry = props.retry.reform(|_: MouseEvent| ());
    let back = Callback::from(|_: MouseEvent| {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.back();
        }
    });
    html! {
        <section class="boundary error-boundary" role="alert">
            <h2>{"Something went wrong"}</h2>
            <p class="boundary-message">{ &props.message }</p>
            <div class="boundary-actions">
                <button class="button primary" onclick={retry}>{"Try again"}</button>
                <button class="button" onclick={back}>{"Go back"}</button>
            </div>
        </section>
    }
}

/// Props of [`NotFound`].
#[derive(Properties, PartialEq)]
pub struct NotFoundProps {
    /// What to say (default: "The page you are looking for does not exist.").
    #[prop_or_default]
    pub children: Html,
}

/// What a route shows when what it shows does not exist (the seed's `NotFound`).
#[function_component]
pub fn NotFound(props: &NotFoundProps) -> Html {
    let back = Callback::from(|_: MouseEvent| {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.back();
        }
    });
    html! {
        <section class="boundary not-found">
            <h2>{"Not found"}</h2>
            if props.children == Html::default() {
                <p>{"The page you are looking for does not exist."}</p>
            } else {
                { props.children.clone() }
            }
            <div class="boundary-actions">
                <button class="button" onclick={back}>{"Go back"}</button>
                <a class="button primary" href="/">{"Start over"}</a>
            </div>
        </section>
    }
}

/// The default pending component: a few shimmering lines.
#[function_component]
pub fn PendingSkeleton() -> Html {
    html! {
        <section class="skeleton" aria-busy="true" aria-label="Loading">
            <div class="skeleton-line wide" />
            <div class="skeleton-line" />
            <div class="skeleton-line" />
        </section>
    }
}
