//! Generates the typed function references (`api::posts::list`, …) from the devserver's
//! function spec (`devserver function-spec > demo/convex/function-spec.json`).

fn main() {
    if let Err(e) = yew_convex_codegen::build("convex/function-spec.json", "convex_api.rs") {
        panic!("{e}");
    }
}
