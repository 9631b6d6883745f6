//! `ConvexProvider` and `use_convex`.

use yew::prelude::*;

use crate::client::ConvexClient;

/// The client, as every Convex provider gives it. It never changes with auth (a token
/// rotation, a sign-in): the query hooks read only this, so auth changes do not re-render them.
/// The auth state is a context of its own ([`super::auth::ConvexAuthContext`]).
#[derive(Clone, PartialEq)]
pub(crate) struct ConvexContext {
    pub(crate) client: ConvexClient,
}

/// Props of [`ConvexProvider`].
#[derive(Properties, PartialEq)]
pub struct ConvexProviderProps {
    /// The client every hook below uses.
    pub client: ConvexClient,
    /// The app.
    #[prop_or_default]
    pub children: Html,
}

/// Makes `client` available to [`use_convex`], [`crate::use_query`] and the other hooks of
/// the components below it. For authentication use [`crate::ConvexProviderWithAuth`] or
/// [`crate::ConvexProviderWithClerk`] instead (they include this provider).
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{client::ConvexClient, ConvexProvider};
///
/// #[function_component]
/// fn App() -> Html {
///     let client = use_memo((), |_| ConvexClient::new("http://127.0.0.1:3210").expect("a valid URL"));
///     html! { <ConvexProvider client={(*client).clone()}><p>{"hello"}</p></ConvexProvider> }
/// }
/// ```
#[function_component]
pub fn ConvexProvider(props: &ConvexProviderProps) -> Html {
    html! {
        <ContextProvider<ConvexContext> context={ConvexContext { client: props.client.clone() }}>
            { props.children.clone() }
        </ContextProvider<ConvexContext>>
    }
}

/// The [`ConvexClient`] of the nearest [`ConvexProvider`].
///
/// # Panics
/// When no provider is above the component: that is a mistake in the component tree, which
/// the message names.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::use_convex;
///
/// #[function_component]
/// fn Status() -> Html {
///     let client = use_convex();
///     html! { <p>{ format!("connected to {}", client.url()) }</p> }
/// }
/// ```
#[hook]
pub fn use_convex() -> ConvexClient {
    use_context::<ConvexContext>().map(|c| c.client).expect(
        "no Convex client: use_convex / use_query / use_mutation must be used in a component \
         under <ConvexProvider> (or ConvexProviderWithAuth / ConvexProviderWithClerk)",
    )
}
