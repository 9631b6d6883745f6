//! `use_convex_connection_state`.

use yew::prelude::*;

use super::provider::use_convex;
use crate::sync::ConnectionState;

/// The client's connection state, re-rendering the component when it changes
/// (`useConvexConnectionState`).
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::use_convex_connection_state;
///
/// #[function_component]
/// fn Online() -> Html {
///     let state = use_convex_connection_state();
///     html! { <span>{ if state.is_websocket_connected { "online" } else { "offline" } }</span> }
/// }
/// ```
#[hook]
pub fn use_convex_connection_state() -> ConnectionState {
    let client = use_convex();
    let state = use_state(|| client.connection_state());
    {
        let state = state.clone();
        use_effect_with(client, move |client| {
            state.set(client.connection_state());
            let subscription = client.on_connection_change(move |s| state.set(s.clone()));
            move || drop(subscription)
        });
    }
    (*state).clone()
}
