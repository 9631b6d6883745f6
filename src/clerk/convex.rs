//! `ConvexProviderWithClerk`: Convex authenticated by Clerk.

use yew::prelude::*;

use super::provider::{use_auth, use_clerk, ClerkContext};
use crate::{
    client::ConvexClient,
    hooks::{AuthSource, TokenFetcher},
};

/// Props of [`ConvexProviderWithClerk`].
#[derive(Properties, PartialEq)]
pub struct ConvexProviderWithClerkProps {
    /// The Convex client to authenticate.
    pub client: ConvexClient,
    /// The app.
    #[prop_or_default]
    pub children: Html,
}

/// A [`ConvexProviderWithAuth`] fed by the nearest [`super::ClerkProvider`], as
/// `convex/react-clerk` does it: loading while Clerk loads; tokens from
/// `getToken({ skipCache })` when the session token's `aud` is `"convex"`, else from the
/// `convex` JWT template; any failure means "no token"; a new fetcher only when the session,
/// organization or role changes — so token rotations keep every result on screen, with no
/// loading state and no signed-out flash.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::{client::ConvexClient, clerk::{ClerkProvider, ConvexProviderWithClerk}};
///
/// #[function_component]
/// fn App() -> Html {
///     let client = use_memo((), |_| ConvexClient::new("http://127.0.0.1:3210").expect("valid URL"));
///     html! {
///         <ClerkProvider publishable_key="pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA" proxy_url={Some(AttrValue::from("/__clerk"))}>
///             <ConvexProviderWithClerk client={(*client).clone()}>
///                 {"the app"}
///             </ConvexProviderWithClerk>
///         </ClerkProvider>
///     }
/// }
/// ```
#[function_component]
pub fn ConvexProviderWithClerk(props: &ConvexProviderWithClerkProps) -> Html {
    let auth = use_auth();
    let clerk = use_clerk();
    let deps = (clerk, auth.session_id.clone(), auth.org_id.clone(), auth.org_role.clone());
    let fetcher = use_memo(deps, |(clerk, _, _, _)| {
        let clerk = clerk.clone();
        TokenFetcher::new(move |force| {
            let clerk = clerk.clone();
            async move { clerk.convex_token(force).await }
        })
    });
    // Clerk failed to load (bad key, script blocked): signed out, not loading forever.
    let failed = use_context::<ClerkContext>().is_some_and(|c| c.error.is_some());
    // Who the tokens speak for: the user, in this session and organization (and role).
    let identity = auth.user_id.as_ref().map(|user| {
        let part = |p: &Option<String>| p.clone().unwrap_or_default();
        AttrValue::from(format!(
            "{user}|{}|{}|{}",
            part(&auth.session_id),
            part(&auth.org_id),
            part(&auth.org_role)
        ))
    });
    let source = AuthSource {
        is_loading: !auth.is_loaded && !failed,
        is_authenticated: auth.is_signed_in.unwrap_or(false),
        fetch_access_token: (*fetcher).clone(),
        identity,
    };
    let state = crate::hooks::use_auth_bridge(props.client.clone(), source);
    crate::hooks::provide(state, props.client.clone(), props.children.clone())
}
