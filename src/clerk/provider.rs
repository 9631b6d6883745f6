//! `ClerkProvider`: loads clerk-js, follows its state, and offers it to hooks and components.

use std::{cell::RefCell, rc::Rc};

use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use super::{
    bindings::Clerk,
    bridge,
    error::ClerkError,
    loader,
    publishable_key::PublishableKey,
    state::{AuthState, ClerkSnapshot, Session, User},
    urls::ScriptUrls,
};

/// A handle on the loaded Clerk instance: what [`use_clerk`] returns. Every method answers
/// [`ClerkError::NotLoaded`] (or `None`) until clerk-js has loaded.
#[derive(Clone, Default)]
pub struct ClerkHandle {
    clerk: Option<Clerk>,
    ui: bool,
    sign_in_url: Option<AttrValue>,
}

impl PartialEq for ClerkHandle {
    fn eq(&self, other: &Self) -> bool {
        let same_instance = match (&self.clerk, &other.clerk) {
            (Some(a), Some(b)) => js_sys::Object::is(a, b),
            (None, None) => true,
            _ => false,
        };
        same_instance && self.ui == other.ui && self.sign_in_url == other.sign_in_url
    }
}

impl ClerkHandle {
    fn clerk(&self) -> Result<&Clerk, ClerkError> {
        self.clerk.as_ref().ok_or(ClerkError::NotLoaded)
    }

    /// Whether clerk-js has loaded.
    pub fn is_loaded(&self) -> bool {
        self.clerk.is_some()
    }

    /// Whether Clerk's prebuilt UI (@clerk/ui) is loaded (modals, user button).
    pub fn is_ui_loaded(&self) -> bool {
        self.ui
    }

    /// The app's own sign-in route, if configured.
    pub fn sign_in_url(&self) -> Option<&str> {
        self.sign_in_url.as_deref()
    }

    /// A session token (`template`: a JWT template such as `"convex"`); `None` when signed out.
    pub async fn get_token(
        &self,
        template: Option<&str>,
        skip_cache: bool,
    ) -> Result<Option<String>, ClerkError> {
        bridge::get_token(self.clerk()?, template, skip_cache).await
    }

    /// The token Convex needs, as `ConvexProviderWithClerk` gets it: the session token itself
    /// when its `aud` is `"convex"` (Clerk's Convex integration), else the `convex` template;
    /// `None` on any failure.
    pub async fn convex_token(&self, force_refresh: bool) -> Option<String> {
        let clerk = self.clerk().ok()?;
        let template = match bridge::session_token_audience(clerk).as_deref() {
            Some("convex") => None,
            _ => Some("convex"),
        };
        match bridge::get_token(clerk, template, force_refresh).await {
            Ok(token) => token,
            Err(e) => {
                web_sys::console::warn_1(
                    &format!("Clerk: could not get a token for Convex: {e}").into(),
                );
                None
            }
        }
    }

    /// Signs in with a password through clerk-js's headless API and activates the session.
    pub async fn sign_in_with_password(
        &self,
        identifier: &str,
        password: &str,
    ) -> Result<(), ClerkError> {
        bridge::sign_in_with_password(self.clerk()?, identifier, password).await
    }

    /// Signs out; the page stays unless `redirect_url` is given.
    pub async fn sign_out(&self, redirect_url: Option<&str>) -> Result<(), ClerkError> {
        bridge::sign_out(self.clerk()?, redirect_url).await
    }

    /// Opens Clerk's sign-in modal (needs the prebuilt UI).
    pub fn open_sign_in(&self) -> Result<(), ClerkError> {
        if !self.ui {
            return Err(ClerkError::UiNotLoaded);
        }
        self.clerk()?.open_sign_in(&JsValue::UNDEFINED).map(|_| ()).map_err(bridge::error)
    }

    /// Sends the browser to Clerk's sign-in page (`redirectToSignIn`).
    pub fn redirect_to_sign_in(&self) -> Result<(), ClerkError> {
        self.clerk()?.redirect_to_sign_in(&JsValue::UNDEFINED).map(|_| ()).map_err(bridge::error)
    }

    pub(crate) fn mount_user_button(&self, node: &web_sys::Element) -> Result<(), ClerkError> {
        if !self.ui {
            return Err(ClerkError::UiNotLoaded);
        }
        self.clerk()?
            .mount_user_button(node, &JsValue::UNDEFINED)
            .map(|_| ())
            .map_err(bridge::error)
    }

    pub(crate) fn unmount_user_button(&self, node: &web_sys::Element) {
        if let Ok(clerk) = self.clerk() {
            let _ = clerk.unmount_user_button(node);
        }
    }
}

/// An `addListener` callback and the function that removes it.
type Listener = (Closure<dyn FnMut(JsValue)>, JsValue);

/// What [`ClerkProvider`] shares: the handle and the latest state.
#[derive(Clone, Default)]
pub struct ClerkContext {
    /// The instance.
    pub handle: ClerkHandle,
    /// What clerk-js reports.
    pub snapshot: Rc<ClerkSnapshot>,
    /// Loading failed.
    pub error: Option<ClerkError>,
}

impl PartialEq for ClerkContext {
    /// The provider makes a new snapshot only when clerk-js reports a change, so comparing
    /// snapshots by pointer is exact (and cheaper than comparing their contents).
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.snapshot, &other.snapshot)
            && self.handle == other.handle
            && self.error == other.error
    }
}

/// Props of [`ClerkProvider`].
#[derive(Properties, PartialEq)]
pub struct ClerkProviderProps {
    /// `pk_test_…` / `pk_live_…`.
    pub publishable_key: AttrValue,
    /// Send clerk-js's Frontend API calls here (e.g. `/__clerk` on the app's origin, which
    /// the devserver's stand-in serves through trunk's proxy). Default: none (Clerk's host).
    #[prop_or_default]
    pub proxy_url: Option<AttrValue>,
    /// Where the pinned `/npm/@clerk/…` bundles are. Default: the proxy URL if set, else
    /// `https://<frontend API>` (Clerk's CDN).
    #[prop_or_default]
    pub script_base: Option<AttrValue>,
    /// Load Clerk's prebuilt UI (modal sign-in, user button). Default: `true`.
    #[prop_or(true)]
    pub with_ui: bool,
    /// The app's sign-in route, for [`crate::clerk::SignInButton`] without the prebuilt UI.
    /// Changing it only updates the handle (clerk-js is not loaded again).
    #[prop_or_default]
    pub sign_in_url: Option<AttrValue>,
    /// Create a new Clerk instance even if the page already has one (`window.Clerk`).
    /// Default: `false`.
    #[prop_or_default]
    pub new_instance: bool,
    /// The app.
    #[prop_or_default]
    pub children: Html,
}

/// Loads clerk-js (pinned version, by script tag) for the publishable key, follows its state
/// through `addListener`, and makes it available to [`use_auth`], [`use_user`],
/// [`use_session`], [`use_clerk`] and Clerk's components.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::clerk::{ClerkProvider, SignedIn, SignedOut, SignInButton, UserButton};
///
/// #[function_component]
/// fn App() -> Html {
///     html! {
///         <ClerkProvider publishable_key="pk_test_Y2xlcmsuZGV2c2VydmVyLmxvY2FsJA" proxy_url={Some(AttrValue::from("/__clerk"))}>
///             <SignedIn><UserButton /></SignedIn>
///             <SignedOut><SignInButton /></SignedOut>
///         </ClerkProvider>
///     }
/// }
/// ```
#[function_component]
pub fn ClerkProvider(props: &ClerkProviderProps) -> Html {
    // What loading produced and what clerk-js reports; `sign_in_url` is added at render, so
    // that changing it never reloads.
    let context = use_state(ClerkContext::default);
    let listener: Rc<RefCell<Option<Listener>>> = use_mut_ref(|| None);
    {
        let context = context.clone();
        let listener = listener.clone();
        let deps = (
            props.publishable_key.clone(),
            props.proxy_url.clone(),
            props.script_base.clone(),
            props.with_ui,
            props.new_instance,
        );
        use_effect_with(deps, move |(key, proxy, base, with_ui, new_instance)| {
            let (key, proxy, base, with_ui, new_instance) =
                (key.clone(), proxy.clone(), base.clone(), *with_ui, *new_instance);
            let alive = Rc::new(std::cell::Cell::new(true));
            let still = alive.clone();
            let slot = listener.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let loaded =
                    load(&key, proxy.as_deref(), base.as_deref(), with_ui, new_instance).await;
                if !still.get() {
                    return;
                }
                match loaded {
                    Err(error) => {
                        web_sys::console::error_1(&error.to_string().into());
                        context.set(ClerkContext { error: Some(error), ..Default::default() });
                    }
                    Ok((clerk, ui)) => {
                        let handle =
                            ClerkHandle { clerk: Some(clerk.clone()), ui, sign_in_url: None };
                        let current = Rc::new(RefCell::new(Rc::new(bridge::snapshot(&clerk))));
                        context.set(ClerkContext {
                            handle: handle.clone(),
                            snapshot: current.borrow().clone(),
                            error: None,
                        });
                        let (ctx, watched) = (context.clone(), clerk.clone());
                        let callback =
                            Closure::<dyn FnMut(JsValue)>::new(move |_resources: JsValue| {
                                let next = bridge::snapshot(&watched);
                                if *current.borrow().as_ref() != next {
                                    let next = Rc::new(next);
                                    *current.borrow_mut() = next.clone();
                                    ctx.set(ClerkContext {
                                        handle: handle.clone(),
                                        snapshot: next,
                                        error: None,
                                    });
                                }
                            });
                        let unsubscribe = clerk
                            .add_listener(callback.as_ref().unchecked_ref())
                            .unwrap_or(JsValue::UNDEFINED);
                        *slot.borrow_mut() = Some((callback, unsubscribe));
                    }
                }
            });
            move || {
                alive.set(false);
                if let Some((_callback, unsubscribe)) = listener.borrow_mut().take() {
                    if let Some(f) = unsubscribe.dyn_ref::<js_sys::Function>() {
                        let _ = f.call0(&JsValue::NULL);
                    }
                }
            }
        });
    }
    let mut shared = (*context).clone();
    shared.handle.sign_in_url = props.sign_in_url.clone();
    html! {
        <ContextProvider<ClerkContext> context={shared}>
            { props.children.clone() }
        </ContextProvider<ClerkContext>>
    }
}

async fn load(
    key: &str,
    proxy: Option<&str>,
    base: Option<&str>,
    with_ui: bool,
    new_instance: bool,
) -> Result<(Clerk, bool), ClerkError> {
    let parsed = PublishableKey::parse(key)?;
    let base = base
        .or(proxy)
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://{}", parsed.frontend_api));
    let urls = ScriptUrls::under(&base);
    loader::ensure_loaded(&urls, key, proxy, with_ui).await?;
    let existing = bridge::window_clerk().ok_or(ClerkError::NotLoaded)?;
    let clerk = if new_instance { bridge::new_instance(&existing, key, proxy)? } else { existing };
    let ui_ctor = if with_ui { bridge::ui_constructor() } else { None };
    // Clerk navigates after sign-in/out (and in its UI): keep that inside the single-page app.
    let (push, replace) = bridge::spa_navigation();
    let mut options =
        vec![("telemetry", JsValue::FALSE), ("routerPush", push), ("routerReplace", replace)];
    if let Some(ctor) = &ui_ctor {
        options.push(("ui", bridge::object(&[("ClerkUI", ctor.clone())])));
    }
    let promise = clerk.load(&bridge::object(&options)).map_err(bridge::error)?;
    JsFuture::from(promise).await.map_err(bridge::error)?;
    Ok((clerk, ui_ctor.is_some()))
}

#[hook]
fn use_clerk_context() -> ClerkContext {
    use_context::<ClerkContext>()
        .expect("no Clerk: Clerk hooks and components must be used under <ClerkProvider>")
}

/// The Clerk instance of the nearest [`ClerkProvider`] (`useClerk`).
#[hook]
pub fn use_clerk() -> ClerkHandle {
    use_clerk_context().handle
}

/// Authentication as `useAuth` reports it (the [`AuthState`] fields, by `Deref`: `auth.is_signed_in`,
/// `auth.user_id`, …), plus a token getter.
#[derive(Clone, PartialEq)]
pub struct UseAuth {
    /// Loaded, signed in, who.
    pub state: AuthState,
    /// Gets tokens (`get_token.get_token(template, skip_cache)`).
    pub get_token: ClerkHandle,
}

impl std::ops::Deref for UseAuth {
    type Target = AuthState;
    fn deref(&self) -> &AuthState {
        &self.state
    }
}

/// Whether a user is signed in, and who (`useAuth` in Clerk's React SDK).
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::clerk::use_auth;
///
/// #[function_component]
/// fn Who() -> Html {
///     let auth = use_auth();
///     html! { <span>{ auth.user_id.clone().unwrap_or_else(|| "nobody".into()) }</span> }
/// }
/// ```
#[hook]
pub fn use_auth() -> UseAuth {
    let context = use_clerk_context();
    UseAuth { state: AuthState::from_snapshot(&context.snapshot), get_token: context.handle }
}

/// The signed-in user (`useUser`); `None` when signed out or loading.
#[hook]
pub fn use_user() -> Option<User> {
    let context = use_clerk_context();
    let state = AuthState::from_snapshot(&context.snapshot);
    if state.is_signed_in == Some(true) {
        context.snapshot.user.clone()
    } else {
        None
    }
}

/// The active session (`useSession`); `None` when signed out or loading.
#[hook]
pub fn use_session() -> Option<Session> {
    let context = use_clerk_context();
    let state = AuthState::from_snapshot(&context.snapshot);
    if state.is_signed_in == Some(true) {
        context.snapshot.session.clone()
    } else {
        None
    }
}
