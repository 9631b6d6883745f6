//! A generated reference with the wrong argument type, the wrong result type or the wrong
//! kind does not compile (trybuild; the expected compiler errors are the `.stderr` files next
//! to each case, `TRYBUILD=overwrite` rewrites them).

#[test]
fn wrong_types_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/compile_fail/*.rs");
}
