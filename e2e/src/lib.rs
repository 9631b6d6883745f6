//! End-to-end tests of the demo: the page as built by trunk, driven from outside through
//! WebDriver (ChromeDriver + headless Chromium), against the devserver.
//!
//! - [`stack`]: builds the devserver and the demo, starts the devserver (fresh data dir),
//!   `trunk serve` and ChromeDriver on free ports, waits for each, tears them down.
//! - [`webdriver`]: a small W3C WebDriver client (blocking HTTP + JSON).
//! - [`devserver`]: the devserver's HTTP API (tokens, functions, seeding posts, injecting
//!   query failures).
//! - [`page`]: instruments installed in the page: a DOM change recorder (`MutationObserver`)
//!   and a WebSocket send spy.
//! - [`run`]: the test runner the test binary's `main` calls: the stack starts once, each test
//!   gets a fresh browser session and a screenshot folder, a panic or an `Err` fails only that
//!   test (with a screenshot and the browser's console), and everything stops at the end.
//!
//! A test is a `fn(&mut Ctx) -> e2e::Result`, listed with [`tests!`]:
//!
//! ```ignore
//! fn home_page_renders(t: &mut Ctx) -> e2e::Result {
//!     t.open("/")?;
//!     t.wait_for_text("main h3", "Welcome")?;
//!     t.screenshot("home")?;
//!     Ok(())
//! }
//! pub const TESTS: &[e2e::Test] = e2e::tests![home_page_renders];
//! ```

pub mod devserver;
pub mod faults;
pub mod page;
pub mod process;
pub mod stack;
pub mod webdriver;

use std::{
    ops::Deref,
    panic::{self, AssertUnwindSafe},
    path::PathBuf,
    process::ExitCode,
    time::Instant,
};

pub use devserver::{DevServer, User, ALICE, BOB};
pub use page::{DomFrame, DomRecorder, SendSpy};
pub use stack::Stack;
pub use webdriver::{Browser, Element, WebDriverError};

/// Any error of a test.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// What a test returns.
pub type Result<T = (), E = Error> = std::result::Result<T, E>;

/// One end-to-end test.
pub struct Test {
    /// `module::function` (the module path of the test binary without its crate name).
    pub name: &'static str,
    pub run: fn(&mut Ctx) -> Result,
    /// Why it is skipped unless asked for (`--ignored`, `--include-ignored`): a known bug it
    /// shows, for instance.
    pub ignore: Option<&'static str>,
}

impl Test {
    /// The name without the test binary's crate: `smoke::home_page_renders`.
    pub fn short_name(&self) -> &'static str {
        self.name.split_once("::").map_or(self.name, |(_, rest)| rest)
    }
}

/// Lists test functions of the current module as a `&[Test]`; `#[ignore = "why"]` before one
/// skips it unless the run asks for ignored tests (as libtest's `--ignored` and
/// `--include-ignored`).
#[macro_export]
macro_rules! tests {
    ($($(#[ignore = $why:literal])? $f:ident),* $(,)?) => {
        &[$($crate::Test {
            name: concat!(module_path!(), "::", stringify!($f)),
            run: $f,
            ignore: {
                #[allow(unused_mut)]
                let mut why: Option<&'static str> = None;
                $(why = Some($why);)?
                why
            },
        }),*]
    };
}

/// What a test works with: the running [`Stack`], its own [`Browser`] session (`Ctx` derefs to
/// it: `t.find(..)`, `t.wait_for_element(..)`), and numbered screenshots.
pub struct Ctx<'a> {
    pub stack: &'a Stack,
    pub browser: Browser,
    /// `smoke::home_page_renders`
    pub name: &'static str,
    /// `<target>/e2e-screenshots/<name>/`
    pub screenshots: PathBuf,
    shots: usize,
}

impl Deref for Ctx<'_> {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl Ctx<'_> {
    /// The demo's address of `path` (`"/posts"` → `http://127.0.0.1:<port>/posts`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.stack.app_url, path)
    }

    /// Loads the demo at `path`.
    pub fn open(&self, path: &str) -> Result {
        self.browser.goto(&self.url(path))?;
        Ok(())
    }

    /// Saves a screenshot as `NN-<step>.png` in the test's folder; its path.
    pub fn screenshot(&mut self, step: &str) -> Result<PathBuf> {
        self.shots += 1;
        let slug: String = step
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
            .collect();
        let path =
            self.screenshots.join(format!("{:02}-{}.png", self.shots, slug.trim_matches('-')));
        self.browser.save_screenshot(&path)?;
        Ok(path)
    }

    /// The devserver's HTTP API (seed data, mint tokens).
    pub fn devserver(&self) -> DevServer {
        self.stack.devserver()
    }

    /// A second, independent browser (another user, another profile).
    pub fn another_browser(&self) -> Result<Browser> {
        self.stack.browser()
    }
}

fn selected<'t>(groups: &[&'t [Test]], filters: &[String], exact: bool) -> Vec<&'t Test> {
    groups
        .iter()
        .flat_map(|g| g.iter())
        .filter(|t| {
            filters.is_empty()
                || filters.iter().any(|f| {
                    if exact {
                        t.short_name() == f
                    } else {
                        t.short_name().contains(f.as_str())
                    }
                })
        })
        .collect()
}

/// The test binary's `main`: runs the tests named on the command line (substrings of
/// `module::function`, or all; `--exact`, `--list`; ignored tests only with `--ignored`, or
/// with the others with `--include-ignored`), prints a cargo-like report, and returns failure
/// if any test failed.
pub fn run(groups: &[&[Test]]) -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|a| a == "--exact");
    let only_ignored = args.iter().any(|a| a == "--ignored");
    let include_ignored = args.iter().any(|a| a == "--include-ignored");
    let runs = |t: &Test| match t.ignore {
        Some(_) => only_ignored || include_ignored,
        None => !only_ignored,
    };
    // Values of libtest options that take one (`--test-threads 1`) are not filters.
    let mut filters = vec![];
    let mut skip_next = false;
    for a in &args {
        if skip_next {
            skip_next = false;
        } else if matches!(a.as_str(), "--test-threads" | "--format" | "--color" | "--skip" | "-Z")
        {
            skip_next = true;
        } else if !a.starts_with('-') {
            filters.push(a.clone());
        }
    }
    let matching = selected(groups, &filters, exact);
    if args.iter().any(|a| a == "--list") {
        for t in &matching {
            match t.ignore {
                Some(why) => println!("{}: test (ignored: {why})", t.short_name()),
                None => println!("{}: test", t.short_name()),
            }
        }
        return ExitCode::SUCCESS;
    }
    // With `--ignored`, the others are not run and not reported (as libtest does).
    let (tests, ignored): (Vec<&Test>, Vec<&Test>) =
        matching.into_iter().filter(|t| !only_ignored || t.ignore.is_some()).partition(|t| runs(t));
    if tests.is_empty() {
        for t in &ignored {
            println!("test {} ... ignored, {}", t.short_name(), t.ignore.unwrap_or_default());
        }
        println!(
            "\nrunning 0 tests (no test to run matches {filters:?}; {} ignored)\n",
            ignored.len()
        );
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    let mut stack = match Stack::start() {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("\nthe end-to-end stack did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let setup = started.elapsed();
    println!(
        "\nrunning {} tests (screenshots in {})",
        tests.len(),
        stack.screenshots_dir.display()
    );
    let mut failed = vec![];
    for test in &tests {
        let t0 = Instant::now();
        let name = test.short_name();
        let screenshots = stack.screenshots_dir.join(name.replace("::", "-"));
        let _ = std::fs::remove_dir_all(&screenshots);
        let outcome = match stack.browser() {
            Err(e) => Err(format!("no browser session: {e}")),
            Ok(browser) => {
                let mut ctx = Ctx { stack: &stack, browser, name, screenshots, shots: 0 };
                let result = panic::catch_unwind(AssertUnwindSafe(|| (test.run)(&mut ctx)));
                let outcome = match result {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(panic) => Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "panicked".into())),
                };
                if outcome.is_err() {
                    report_page(&mut ctx);
                }
                outcome
            }
        };
        let secs = t0.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!("test {name} ... ok ({secs:.1}s)"),
            Err(e) => {
                println!("test {name} ... FAILED ({secs:.1}s)\n    {}", e.replace('\n', "\n    "));
                failed.push(name);
            }
        }
    }
    for t in &ignored {
        println!("test {} ... ignored, {}", t.short_name(), t.ignore.unwrap_or_default());
    }
    let passed = tests.len() - failed.len();
    if !failed.is_empty() {
        println!("\nfailures:");
        for name in &failed {
            println!("    {name}");
        }
        println!("\nserver logs (ends):\n{}", stack.log_tails(3000));
        stack.keep_run_dir = true;
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {} ignored; setup {:.1}s, total {:.1}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        ignored.len(),
        setup.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    drop(stack);
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// After a failure: a screenshot, the page's HTML, its address and the browser's console.
fn report_page(ctx: &mut Ctx) {
    match ctx.screenshot("failure") {
        Ok(path) => println!("    screenshot: {}", path.display()),
        Err(e) => println!("    (no failure screenshot: {e})"),
    }
    if let Ok(html) = ctx.browser.page_source() {
        let path = ctx.screenshots.join("failure.html");
        if std::fs::create_dir_all(&ctx.screenshots)
            .and_then(|_| std::fs::write(&path, html))
            .is_ok()
        {
            println!("    page source: {}", path.display());
        }
    }
    if let Ok(url) = ctx.browser.current_url() {
        println!("    page: {url}");
    }
    let console = ctx.browser.console_log();
    if !console.is_empty() {
        println!("    browser console:");
        for line in console.iter().rev().take(30).rev() {
            println!("      {line:.400}");
        }
    }
}
