//! Typed references to Convex functions: what `api.posts.list` is in convex/react.
//!
//! A [`FunctionRef<Kind, Args, Output>`] names a query, mutation or action together with the
//! type of its arguments and of its result. Every hook and client method that takes a function
//! accepts one next to a plain path string, so with a reference a wrong argument or result
//! type is a compile error instead of a run-time one:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use yew_convex::function::{Function, QueryRef};
//!
//! #[derive(Serialize)]
//! pub struct GetArgs {
//!     pub id: String,
//! }
//! #[derive(Deserialize)]
//! pub struct Post {
//!     pub title: String,
//! }
//! pub const GET: QueryRef<GetArgs, Option<Post>> = QueryRef::new("posts:get");
//!
//! // What a hook or client method does with it: the path goes on the wire, and the types
//! // are checked where it is called.
//! fn path_of<A, O>(f: impl Function<yew_convex::function::kind::Query, A, O>) -> String {
//!     f.path().to_string()
//! }
//! assert_eq!(path_of(GET), "posts:get");
//! // A string works too, with any argument and result types (checked at run time).
//! assert_eq!(path_of::<serde_json::Value, ()>("posts:get"), "posts:get");
//! ```
//!
//! ```compile_fail
//! # use yew_convex::function::{Function, QueryRef, kind::Query};
//! pub struct GetArgs { pub id: String }
//! pub const GET: QueryRef<GetArgs, Option<String>> = QueryRef::new("posts:get");
//! fn call<A, O>(_: impl Function<Query, A, O>, _: A) -> Option<O> { None }
//! // Wrong arguments: `u32` is not `GetArgs`.
//! let _ = call(GET, 5u32);
//! ```
//!
//! References are usually generated from the deployment's function spec by
//! `yew-convex-codegen` (see its README), as `npx convex dev` generates `api` for TypeScript.

use std::{fmt, hash::Hash, marker::PhantomData};

/// The kinds of functions, as type-level markers.
pub mod kind {
    /// A query: read-only, subscribable.
    #[derive(Debug)]
    pub enum Query {}
    /// A mutation: a transaction.
    #[derive(Debug)]
    pub enum Mutation {}
    /// An action: anything, run once.
    #[derive(Debug)]
    pub enum Action {}
}

/// A reference to the public function at `path` (`"posts:list"`, `"admin/users:remove"`) of
/// kind `K` ([`kind::Query`], [`kind::Mutation`], [`kind::Action`]), taking `A` and returning
/// `O`. Cheap to copy; build one with [`FunctionRef::new`] in a `const`.
pub struct FunctionRef<K, A, O> {
    path: &'static str,
    _marker: PhantomData<Marker<K, A, O>>,
}

/// What a [`FunctionRef`] carries at the type level only (covariant, always `Send + Sync`).
type Marker<K, A, O> = fn() -> (K, A, O);

/// A query reference: `QueryRef<Args, Output>`.
pub type QueryRef<A, O> = FunctionRef<kind::Query, A, O>;
/// A mutation reference: `MutationRef<Args, Output>`.
pub type MutationRef<A, O> = FunctionRef<kind::Mutation, A, O>;
/// An action reference: `ActionRef<Args, Output>`.
pub type ActionRef<A, O> = FunctionRef<kind::Action, A, O>;

impl<K, A, O> FunctionRef<K, A, O> {
    /// The function at `path` (`module:name`, `module` being the file's path without `.js`).
    pub const fn new(path: &'static str) -> Self {
        Self { path, _marker: PhantomData }
    }

    /// The function's path, as sent on the wire.
    pub const fn path(&self) -> &'static str {
        self.path
    }
}

impl<K, A, O> Clone for FunctionRef<K, A, O> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, A, O> Copy for FunctionRef<K, A, O> {}
impl<K, A, O> PartialEq for FunctionRef<K, A, O> {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}
impl<K, A, O> Eq for FunctionRef<K, A, O> {}
impl<K, A, O> Hash for FunctionRef<K, A, O> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.path.hash(state);
    }
}
impl<K, A, O> fmt::Debug for FunctionRef<K, A, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FunctionRef({})", self.path)
    }
}
impl<K, A, O> fmt::Display for FunctionRef<K, A, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path)
    }
}

/// A function of kind `K`, by name only: a [`FunctionRef`] of that kind or a path string.
pub trait FunctionPath<K> {
    /// The path sent on the wire.
    fn path(&self) -> &str;
}

/// A function of kind `K` taking `A`: a [`FunctionRef<K, A, _>`](FunctionRef) or a path string
/// (any `A`).
pub trait FunctionArgs<K, A: ?Sized>: FunctionPath<K> {}

/// A function of kind `K` taking `A` and returning `O`: a [`FunctionRef<K, A, O>`] (the types
/// are checked when compiled) or a path string (any `A` and `O`: the server checks the
/// arguments and the decoder the result, at run time).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a function of kind `{K}` with these argument and result types",
    label = "another kind of function, or other argument or result types",
    note = "a FunctionRef's kind, argument and result types must match where it is used"
)]
pub trait Function<K, A: ?Sized, O>: FunctionArgs<K, A> {}

impl<K, A, O> FunctionPath<K> for FunctionRef<K, A, O> {
    fn path(&self) -> &str {
        self.path
    }
}
impl<K, A, O> FunctionArgs<K, A> for FunctionRef<K, A, O> {}
impl<K, A, O> Function<K, A, O> for FunctionRef<K, A, O> {}

macro_rules! string_paths {
    ($($t:ty),*) => {$(
        impl<K> FunctionPath<K> for $t {
            fn path(&self) -> &str {
                self
            }
        }
        impl<K, A: ?Sized> FunctionArgs<K, A> for $t {}
        impl<K, A: ?Sized, O> Function<K, A, O> for $t {}
    )*};
}
string_paths!(&str, String, &String);

pub mod pagination;
pub use pagination::{PageStatus, PaginationOpts, PaginationResult};
