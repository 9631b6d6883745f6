//! Typed Convex function references from a deployment's function spec.
//!
//! `npx convex function-spec` (or `devserver function-spec`) prints every function of a
//! deployment with its argument and return validators. This crate turns that JSON into a Rust
//! module, as `npx convex dev` generates `api` for TypeScript:
//!
//! - `api::<module>::<function>`: a `yew_convex::function::FunctionRef` constant per public
//!   query, mutation and action (`api::posts::list`, `api::admin::users::remove`);
//! - argument structs and result types from the validators: objects → structs, unions of
//!   string literals → enums, `v.id("posts")` → `Id<tables::Posts>`, optional fields →
//!   `Option`, a union with `v.null()` → `Option`, other unions → untagged enums, `v.any()` →
//!   `Value`, `v.int64()` → `i64`, `v.bytes()` → `Bytes`, records → `BTreeMap`;
//! - names made Rust: `snake_case` functions and fields, `PascalCase` types, keywords as raw
//!   identifiers, collisions numbered, `#[serde(rename)]` wherever the wire name differs.
//!
//! From a build script:
//!
//! ```text
//! // build.rs
//! fn main() {
//!     yew_convex_codegen::build("convex/function-spec.json", "convex_api.rs").unwrap();
//! }
//! // src/main.rs
//! include!(concat!(env!("OUT_DIR"), "/convex_api.rs"));
//! ```
//!
//! Or from the command line: `yew-convex-codegen spec.json -o src/convex_api.rs`.

mod generate;
pub mod spec;

use std::path::Path;

pub use generate::{pascal, snake};
pub use spec::SpecError;

/// The Rust module for the function spec `spec_json`; `source` names it in the header.
pub fn generate(spec_json: &str, source: &str) -> Result<String, SpecError> {
    let functions = spec::parse(spec_json)?;
    Ok(generate::generate(&functions, source))
}

/// For build scripts: reads the spec at `spec` (relative to the package) and writes the module
/// to `$OUT_DIR/<out_file>`; tells cargo to run again when the spec changes.
pub fn build(spec: impl AsRef<Path>, out_file: &str) -> Result<(), Box<dyn std::error::Error>> {
    let spec = spec.as_ref();
    println!("cargo:rerun-if-changed={}", spec.display());
    let text = std::fs::read_to_string(spec)
        .map_err(|e| format!("cannot read the function spec {}: {e}", spec.display()))?;
    let code = generate(&text, &spec.display().to_string())
        .map_err(|e| format!("{}: {e}", spec.display()))?;
    let out = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set (not in a build script?)")?;
    std::fs::write(Path::new(&out).join(out_file), code)?;
    Ok(())
}
