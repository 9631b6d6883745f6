//! `use_mutation` and `use_action`.

use std::{future::Future, marker::PhantomData, rc::Rc};

use serde::{de::DeserializeOwned, Serialize};
use yew::prelude::*;

use super::provider::use_convex;
use crate::{
    client::ConvexClient,
    function::{kind, Function},
    sync::{ConvexError, LocalStore},
};

type Optimistic<A> = Rc<dyn Fn(&mut LocalStore<'_>, &A)>;

/// A mutation bound to a client, from [`use_mutation`]. Cheap to clone; calling it returns a
/// future of the mutation's result.
pub struct Mutation<A, T> {
    client: ConvexClient,
    path: Rc<str>,
    optimistic: Option<Optimistic<A>>,
    _result: PhantomData<fn() -> T>,
}

impl<A, T> Clone for Mutation<A, T> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            path: self.path.clone(),
            optimistic: self.optimistic.clone(),
            _result: PhantomData,
        }
    }
}

impl<A, T> PartialEq for Mutation<A, T> {
    fn eq(&self, other: &Self) -> bool {
        self.client == other.client
            && self.path == other.path
            && match (&self.optimistic, &other.optimistic) {
                (None, None) => true,
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl<A: Serialize + 'static, T: DeserializeOwned + 'static> Mutation<A, T> {
    /// Runs the mutation. The future resolves once its effect is visible in every subscribed
    /// query (read-your-writes), or with its error.
    pub fn call(&self, args: A) -> impl Future<Output = Result<T, ConvexError>> + 'static {
        let (client, path, optimistic) =
            (self.client.clone(), self.path.clone(), self.optimistic.clone());
        async move {
            match optimistic {
                None => client.mutation(&*path, &args).await,
                Some(update) => {
                    let captured = Rc::new(args);
                    let for_update = captured.clone();
                    client
                        .mutation_with_optimistic_update(&*path, &*captured, move |store| {
                            update(store, &for_update)
                        })
                        .await
                }
            }
        }
    }

    /// The same mutation with an optimistic update: `update(store, args)` edits the local
    /// results at once, is replayed over new server results, and goes when the mutation's
    /// effect arrives (or is rolled back if it fails) — `withOptimisticUpdate` in Convex.
    pub fn with_optimistic_update(
        mut self,
        update: impl Fn(&mut LocalStore<'_>, &A) + 'static,
    ) -> Self {
        self.optimistic = Some(Rc::new(update));
        self
    }
}

/// A mutation of the nearest provider's client: `useMutation` in Convex.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::use_mutation;
///
/// #[function_component]
/// fn NewPost() -> Html {
///     let create = use_mutation::<serde_json::Value, String>("posts:create");
///     let onclick = Callback::from(move |_| {
///         let run = create.call(serde_json::json!({"title": "Hello", "body": "…"}));
///         wasm_bindgen_futures::spawn_local(async move {
///             if let Err(e) = run.await {
///                 web_sys::console::error_1(&e.to_string().into());
///             }
///         });
///     });
///     html! { <button {onclick}>{"Post"}</button> }
/// }
/// ```
#[hook]
pub fn use_mutation<A, T>(mutation: impl Function<kind::Mutation, A, T>) -> Mutation<A, T>
where
    A: Serialize + 'static,
    T: DeserializeOwned + 'static,
{
    let client = use_convex();
    let path = mutation.path();
    let path: Rc<str> = (*use_memo(path.to_string(), |p| Rc::<str>::from(p.as_str()))).clone();
    Mutation { client, path, optimistic: None, _result: PhantomData }
}

/// An action bound to a client, from [`use_action`].
pub struct Action<A, T> {
    client: ConvexClient,
    path: Rc<str>,
    _types: PhantomData<fn(A) -> T>,
}

impl<A, T> Clone for Action<A, T> {
    fn clone(&self) -> Self {
        Self { client: self.client.clone(), path: self.path.clone(), _types: PhantomData }
    }
}

impl<A, T> PartialEq for Action<A, T> {
    fn eq(&self, other: &Self) -> bool {
        self.client == other.client && self.path == other.path
    }
}

impl<A: Serialize + 'static, T: DeserializeOwned + 'static> Action<A, T> {
    /// Runs the action. It fails with [`ConvexError::ConnectionLost`] if the connection drops
    /// while it runs (actions are never re-sent).
    pub fn call(&self, args: A) -> impl Future<Output = Result<T, ConvexError>> + 'static {
        let (client, path) = (self.client.clone(), self.path.clone());
        async move { client.action(&*path, &args).await }
    }
}

/// An action of the nearest provider's client: `useAction` in Convex.
///
/// # Example
/// ```no_run
/// use yew::prelude::*;
/// use yew_convex::use_action;
///
/// #[function_component]
/// fn Summary() -> Html {
///     let summarize = use_action::<serde_json::Value, String>("posts:summarize");
///     let text = use_state(String::new);
///     let onclick = {
///         let text = text.clone();
///         Callback::from(move |_| {
///             let (run, text) = (summarize.call(serde_json::json!({"id": "…"})), text.clone());
///             wasm_bindgen_futures::spawn_local(async move {
///                 text.set(run.await.unwrap_or_else(|e| e.to_string()));
///             });
///         })
///     };
///     html! { <button {onclick}>{ (*text).clone() }</button> }
/// }
/// ```
#[hook]
pub fn use_action<A, T>(action: impl Function<kind::Action, A, T>) -> Action<A, T>
where
    A: Serialize + 'static,
    T: DeserializeOwned + 'static,
{
    let client = use_convex();
    let path = action.path();
    let path: Rc<str> = (*use_memo(path.to_string(), |p| Rc::<str>::from(p.as_str()))).clone();
    Action { client, path, _types: PhantomData }
}
