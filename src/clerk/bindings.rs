//! Raw bindings to clerk-js (`@clerk/clerk-js` 6.x). Every extern is `catch`: clerk-js may be
//! missing, half-loaded or throw, and none of that may panic the app. Only `bridge.rs` turns
//! what these return into Rust types.

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The `Clerk` instance (`window.Clerk`).
    #[wasm_bindgen(extends = Object)]
    #[derive(Clone, Debug)]
    pub type Clerk;

    /// `new Clerk(publishableKey, { proxyUrl?, domain? })`, through the class of an existing
    /// instance (the browser bundle exposes an instance, not the class).
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = construct)]
    pub fn construct(class: &Function, args: &js_sys::Array) -> Result<Clerk, JsValue>;

    /// `clerk.load(options): Promise<void>` (options: `{ ui?: { ClerkUI }, telemetry? }`).
    #[wasm_bindgen(method, catch)]
    pub fn load(this: &Clerk, options: &JsValue) -> Result<Promise, JsValue>;

    /// `clerk.loaded: boolean`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn loaded(this: &Clerk) -> Result<JsValue, JsValue>;

    /// `clerk.addListener(cb): () => void` (cb gets `{ client, session, user, organization }`,
    /// at once and on every change).
    #[wasm_bindgen(method, catch, js_name = addListener)]
    pub fn add_listener(this: &Clerk, callback: &Function) -> Result<JsValue, JsValue>;

    /// `clerk.session: Session | null | undefined`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn session(this: &Clerk) -> Result<JsValue, JsValue>;

    /// `clerk.user: User | null | undefined`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn user(this: &Clerk) -> Result<JsValue, JsValue>;

    /// `clerk.organization`.
    #[wasm_bindgen(method, getter, catch)]
    pub fn organization(this: &Clerk) -> Result<JsValue, JsValue>;

    /// `clerk.client: Client` (holds `signIn`).
    #[wasm_bindgen(method, getter, catch)]
    pub fn client(this: &Clerk) -> Result<JsValue, JsValue>;

    /// `clerk.setActive({ session }): Promise<void>`.
    #[wasm_bindgen(method, catch, js_name = setActive)]
    pub fn set_active(this: &Clerk, params: &JsValue) -> Result<Promise, JsValue>;

    /// `clerk.openSignIn(props?)` (needs @clerk/ui).
    #[wasm_bindgen(method, catch, js_name = openSignIn)]
    pub fn open_sign_in(this: &Clerk, props: &JsValue) -> Result<JsValue, JsValue>;

    /// `clerk.mountUserButton(node, props?)` (needs @clerk/ui).
    #[wasm_bindgen(method, catch, js_name = mountUserButton)]
    pub fn mount_user_button(
        this: &Clerk,
        node: &web_sys::Element,
        props: &JsValue,
    ) -> Result<JsValue, JsValue>;

    /// `clerk.unmountUserButton(node)`.
    #[wasm_bindgen(method, catch, js_name = unmountUserButton)]
    pub fn unmount_user_button(this: &Clerk, node: &web_sys::Element) -> Result<JsValue, JsValue>;

    /// `clerk.signOut(callbackOrOptions?): Promise<void>`.
    #[wasm_bindgen(method, catch, js_name = signOut)]
    pub fn sign_out(this: &Clerk, options: &JsValue) -> Result<Promise, JsValue>;

    /// `clerk.redirectToSignIn(options?): Promise<unknown>`.
    #[wasm_bindgen(method, catch, js_name = redirectToSignIn)]
    pub fn redirect_to_sign_in(this: &Clerk, options: &JsValue) -> Result<Promise, JsValue>;

    /// A `Session` resource.
    #[wasm_bindgen(extends = Object)]
    #[derive(Clone, Debug)]
    pub type ClerkSession;

    /// `session.getToken({ template?, skipCache? }): Promise<string | null>`.
    #[wasm_bindgen(method, catch, js_name = getToken)]
    pub fn get_token(this: &ClerkSession, options: &JsValue) -> Result<Promise, JsValue>;

    /// The `SignIn` resource (`clerk.client.signIn`, or what `create` resolves to).
    #[wasm_bindgen(extends = Object)]
    #[derive(Clone, Debug)]
    pub type SignIn;

    /// `signIn.create({ identifier, password? }): Promise<SignIn>`.
    #[wasm_bindgen(method, catch)]
    pub fn create(this: &SignIn, params: &JsValue) -> Result<Promise, JsValue>;

    /// `signIn.attemptFirstFactor({ strategy: "password", password }): Promise<SignIn>`.
    #[wasm_bindgen(method, catch, js_name = attemptFirstFactor)]
    pub fn attempt_first_factor(this: &SignIn, params: &JsValue) -> Result<Promise, JsValue>;
}
