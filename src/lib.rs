//! yew-convex: the Rust/WebAssembly way to build a Yew app on Convex with Clerk sign-in.
