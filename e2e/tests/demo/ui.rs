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

// --- steps shared by tests -------------------------------------------------------------------

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
