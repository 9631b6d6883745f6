//! The yew-convex demo: the seed app (Home, Posts, post detail, sign in/out) on Convex with
//! Clerk, built only on the crate's public API, exactly as another Yew app would embed it.
//!
//! Run it with `./scripts/run` (devserver + `trunk serve`), then open http://127.0.0.1:8080.

#[cfg(target_arch = "wasm32")]
mod app;

#[cfg(target_arch = "wasm32")]
fn main() {
    yew::Renderer::<app::Root>::new().render();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the demo is a WebAssembly app: run `./scripts/run` (devserver + trunk serve) and open http://127.0.0.1:8080");
    std::process::exit(2);
}
