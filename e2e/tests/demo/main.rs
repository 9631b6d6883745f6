//! End-to-end tests of the demo, driven through WebDriver from outside the page.
//!
//! Run with `./scripts/e2e [FILTER…]` (or `cargo test -p e2e --test demo -- [FILTER…]`): the
//! runner (`e2e::run`) builds and starts the devserver, `trunk serve` and ChromeDriver once, then
//! runs each test in a fresh browser session; screenshots go to
//! `<target>/e2e-screenshots/<module>-<test>/NN-<step>.png`.
//!
//! A new group of tests: a module here with `pub const TESTS: &[e2e::Test] = e2e::tests![…];`,
//! listed in `main` below. Selectors and texts of the demo live in `ui.rs`.

mod router;
mod smoke;
mod ui;

fn main() -> std::process::ExitCode {
    e2e::run(&[smoke::TESTS, router::TESTS])
}
