//! The generated module for a spec covering every validator kind, as a snapshot
//! (`tests/snapshots/every_validator.rs`; `UPDATE_SNAPSHOTS=1 cargo test -p yew-convex-codegen`
//! rewrites it). `tests/compiles.rs` compiles that same file and uses it.

#[test]
fn every_validator_kind_generates_the_snapshot() {
    let spec = include_str!("fixtures/every_validator.json");
    let code = yew_convex_codegen::generate(spec, "tests/fixtures/every_validator.json").unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/every_validator.rs");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &code).unwrap();
    }
    let snapshot = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        code == snapshot,
        "the generated module differs from {path} (UPDATE_SNAPSHOTS=1 to accept):\n{code}"
    );
}

#[test]
fn bad_specs_are_refused_with_the_place() {
    let err = yew_convex_codegen::generate("[1", "x").unwrap_err();
    assert!(err.to_string().starts_with("not JSON"), "{err}");
    let err = yew_convex_codegen::generate(r#"{"nope": 1}"#, "x").unwrap_err();
    assert!(err.to_string().contains("npx convex function-spec"), "{err}");
    let spec = r#"{"functions": [{"identifier": "a:b", "functionType": "Query",
        "visibility": {"kind": "public"}, "args": {"type": "object", "value": {"x": {"fieldType": {"type": "wat"}}}}}]}"#;
    let err = yew_convex_codegen::generate(spec, "x").unwrap_err();
    assert_eq!(err.to_string(), "functions[0]: args: field x: unknown validator type \"wat\"");
}
