//! The demo's UI as the end-to-end tests see it: every selector, path and text they rely on, in
//! one place. When the demo's markup changes, change it here.

#![allow(dead_code)]

use e2e::{Ctx, User};

// --- the whole app ---------------------------------------------------------------------------

/// Every page's `document.title` contains this (the app's name).
pub const APP_TITLE: &str = "yew-convex";
/// The header's navigation links.
pub const NAV_HOME: &str = r#"header nav a[href="/"]"#;
pub const NAV_POSTS: &str = r#"header nav a[href="/posts"]"#;
/// The attribute the router's `Link` sets on the link of the current page.
pub const ACTIVE_LINK: &str = r#"[aria-current="page"]"#;
/// Where a page's content goes, and its heading.
pub const MAIN: &str = "main";
pub const PAGE_HEADING: &str = "main h1";
/// The header's sign-in button, shown signed out once Clerk has loaded.
pub const HEADER_SIGN_IN: &str = "header .header-inner button";
/// Shown in the header once signed in: the crate's `UserButton` wrapper, or Clerk's prebuilt
/// button root (after a reload while signed in, Clerk's root replaces the wrapper in the DOM).
pub const SIGNED_IN_MARKER: &str = "header .yc-user-button, header .cl-userButton-root";

// --- Home ------------------------------------------------------------------------------------

/// The heading signed out, and the start of it signed in (followed by the user's name).
pub const HOME_HEADING_SIGNED_OUT: &str = "A reactive app, in Rust";
pub const HOME_WELCOME_BACK: &str = "Welcome back, ";

// --- Posts -----------------------------------------------------------------------------------

pub const POSTS_PATH: &str = "/posts";
pub const POSTS_TITLE_PREFIX: &str = "Posts";
/// One post of the list, its link (to `/posts/<id>`) and its title.
pub const POST_ITEM: &str = "main ul li";
pub const POST_ITEM_LINK: &str = "main ul li a";
pub const POST_ITEM_TITLE: &str = "main ul li .post-title";
/// The empty list: an element and its text.
pub const POSTS_EMPTY: &str = "main .empty";
pub const LOAD_MORE: &str = "main button.load-more";
pub const POSTS_EMPTY_TEXT: &str = "No posts yet";

// --- a post ----------------------------------------------------------------------------------

pub const POST_PATH_PREFIX: &str = "/posts/";
pub const POST_HEADING: &str = "main article h1";
pub const POST_BODY: &str = "main article .post-body";

// --- writing a post --------------------------------------------------------------------------

pub const NEW_POST_PATH: &str = "/posts/new";
pub const NEW_POST_TITLE: &str = r#"main form input[name="title"]"#;
pub const NEW_POST_BODY: &str = r#"main form textarea[name="body"]"#;
pub const NEW_POST_SUBMIT: &str = r#"main form button[type="submit"]"#;

// --- signing in ------------------------------------------------------------------------------

pub const SIGN_IN_PATH: &str = "/sign-in";
pub const SIGN_IN_IDENTIFIER: &str = r#"form.yc-sign-in-form input[name="identifier"]"#;
pub const SIGN_IN_PASSWORD: &str = r#"form.yc-sign-in-form input[name="password"]"#;
pub const SIGN_IN_SUBMIT: &str = r#"form.yc-sign-in-form button[type="submit"]"#;
pub const SIGN_IN_ERROR: &str = r#"form.yc-sign-in-form [role="alert"]"#;
/// Where a successful sign-in on the page lands without a `?redirect=`.
pub const AFTER_SIGN_IN_PATH: &str = "/posts";

// --- titles (`document.title`, per route) ---------------------------------------------------

pub const TITLE_HOME: &str = "yew-convex";
pub const TITLE_POSTS: &str = "Posts | yew-convex";
pub const TITLE_SIGN_IN: &str = "Sign in | yew-convex";
pub const TITLE_NEW_POST: &str = "New post | yew-convex";
pub const TITLE_NOT_FOUND: &str = "Not found | yew-convex";

// --- the router's states ---------------------------------------------------------------------

/// The Posts page's own section (`<section class="posts">`), as it shows in `main`'s HTML.
pub const POSTS_PAGE_HTML: &str = r#"<section class="posts">"#;
/// What a loading state looks like: the router's pending skeleton (or the Posts page's own,
/// without data), anything busy, and the word.
pub const LOADING_SELECTORS: &[&str] =
    &[".skeleton", r#"[aria-busy="true"]"#, r#"[aria-label="Loading"]"#];
pub const LOADING_TEXT: &str = "Loading";
/// The router's pending component (shown when a loader takes over a second).
pub const PENDING_SKELETON: &str = "main section.skeleton";
/// The header's connection indicator when the socket is up.
pub const CONNECTION_LIVE: &str = "header .connection.online";
/// The route's catch boundary (`DefaultCatchBoundary`), its message and its buttons.
pub const ERROR_BOUNDARY: &str = "section.error-boundary";
pub const ERROR_BOUNDARY_MESSAGE: &str = "section.error-boundary .boundary-message";
pub const ERROR_BOUNDARY_BUTTON: &str = "section.error-boundary button";
pub const TRY_AGAIN_TEXT: &str = "Try again";
/// The router's not-found component.
pub const NOT_FOUND: &str = "section.not-found";
pub const NOT_FOUND_HEADING_TEXT: &str = "Not found";
/// Texts of a raw Convex server error, which a page must never show as such.
pub const RAW_SERVER_ERROR_TEXTS: &[&str] =
    &["Server Error", "Request ID", "ArgumentValidationError", "Uncaught"];
/// A path no route matches.
pub const UNKNOWN_PATH: &str = "/no-such-page";

// --- devtools (debug builds) -----------------------------------------------------------------

pub const DEVTOOLS_TOGGLE: &str = "button.yc-devtools-toggle";
pub const DEVTOOLS_OPEN_LABEL: &str = "Open devtools";
pub const DEVTOOLS_CLOSE_LABEL: &str = "Close devtools";
pub const DEVTOOLS_PANEL: &str = "aside.yc-devtools";
/// One query-cache entry: cells key, status, observers, subscription, updated, data, actions.
pub const DEVTOOLS_ENTRY: &str = "aside.yc-devtools tr.yc-devtools-entry";

/// One row of the devtools' query cache table.
#[derive(Debug, Clone)]
pub struct DevtoolsEntry {
    pub key: String,
    pub status: String,
    pub observers: String,
    pub subscription: String,
}

/// The rows of the devtools' query cache table now (the panel must be open).
pub fn devtools_entries(t: &Ctx) -> Result<Vec<DevtoolsEntry>, e2e::WebDriverError> {
    let rows = t.execute(
        "return [...document.querySelectorAll(arguments[0])]
            .map(tr => [...tr.cells].map(td => td.innerText.trim()));",
        vec![serde_json::json!(DEVTOOLS_ENTRY)],
    )?;
    let cell = |row: &serde_json::Value, i: usize| row[i].as_str().unwrap_or_default().to_string();
    Ok(rows
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| DevtoolsEntry {
            key: cell(row, 0),
            status: cell(row, 1),
            observers: cell(row, 2),
            subscription: cell(row, 3),
        })
        .collect())
}

// --- steps shared by tests -------------------------------------------------------------------

/// A title no other test (or run) uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 1_000_000)
        .unwrap_or(0);
    format!("{prefix} {millis}-{}", N.fetch_add(1, Ordering::SeqCst))
}

/// Waits until `document.title` is exactly `title`.
pub fn wait_for_title_exactly(t: &Ctx, title: &str) -> e2e::Result<String> {
    let mut last = String::new();
    t.wait_for(&format!("the title to be {title:?}"), || {
        last = t.title()?;
        Ok((last == title).then_some(()))
    })
    .map_err(|e| format!("{e} (last title: {last:?})"))?;
    Ok(last)
}

/// Waits until the posts list has loaded: a post, or the empty-list message. Returns whether
/// there are posts.
pub fn wait_for_posts_loaded(t: &Ctx) -> e2e::Result<bool> {
    let (which, _) = t.wait_for_any(&[POST_ITEM, POSTS_EMPTY])?;
    Ok(which == 0)
}

/// The titles the list shows now, top to bottom.
pub fn post_titles(t: &Ctx) -> e2e::Result<Vec<String>> {
    Ok(t.texts(POST_ITEM_TITLE)?)
}

/// Fills the `/sign-in` page's form as `user` and submits it (the page must be open).
pub fn submit_sign_in_form(t: &Ctx, user: &User, password: &str) -> e2e::Result {
    let identifier = t.wait_for_element(SIGN_IN_IDENTIFIER)?;
    identifier.clear()?;
    identifier.send_keys(user.username)?;
    let field = t.find(SIGN_IN_PASSWORD)?;
    field.clear()?;
    field.send_keys(password)?;
    t.find(SIGN_IN_SUBMIT)?.click()?;
    Ok(())
}

/// Signs in as `user` through the `/sign-in` page and waits for the signed-in header.
pub fn sign_in(t: &Ctx, user: &User) -> e2e::Result {
    t.open(SIGN_IN_PATH)?;
    submit_sign_in_form(t, user, user.password)?;
    t.wait_for_element(SIGNED_IN_MARKER)?;
    Ok(())
}
