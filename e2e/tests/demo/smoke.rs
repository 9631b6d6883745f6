//! Smoke tests of the demo: it renders, lists posts (seeded through the devserver's API, live),
//! opens one and goes back and forth, signs in through the `/sign-in` page, writes a post.

use e2e::{Ctx, ALICE};

use crate::ui::{self, unique};

pub const TESTS: &[e2e::Test] = e2e::tests![
    home_page_renders_with_its_title,
    posts_page_lists_posts_live,
    post_page_opens_from_the_list_and_history_works,
    sign_in_with_the_page_form,
    sign_in_with_a_wrong_password_shows_the_error,
    signed_in_user_writes_a_post,
];

fn home_page_renders_with_its_title(t: &mut Ctx) -> e2e::Result {
    t.open("/")?;
    t.wait_for_text(ui::PAGE_HEADING, ui::HOME_HEADING_SIGNED_OUT)?;
    let title = t.wait_for_title(&format!("containing {:?}", ui::APP_TITLE), |title| {
        title.contains(ui::APP_TITLE)
    })?;
    assert!(!title.trim().is_empty(), "the document has a title");
    // The header: both links, Home marked as the current page.
    t.wait_for_element(&format!("{}{}", ui::NAV_HOME, ui::ACTIVE_LINK))?;
    assert!(t.try_find(&format!("{}{}", ui::NAV_POSTS, ui::ACTIVE_LINK))?.is_none());
    t.screenshot("home")?;

    // The same page at a phone's width.
    t.set_window_size(390, 844)?;
    t.wait_for_text(ui::PAGE_HEADING, ui::HOME_HEADING_SIGNED_OUT)?;
    t.screenshot("home-phone-width")?;
    Ok(())
}

fn posts_page_lists_posts_live(t: &mut Ctx) -> e2e::Result {
    t.open("/")?;
    t.wait_for_text(ui::PAGE_HEADING, ui::HOME_HEADING_SIGNED_OUT)?;
    t.screenshot("home")?;

    // Hover (the router preloads on intent), then click through the header.
    let link = t.wait_for_element(ui::NAV_POSTS)?;
    link.hover()?;
    t.screenshot("hover-posts-link")?;
    link.click()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    let any = ui::wait_for_posts_loaded(t)?;
    t.wait_for_title(&format!("starting with {:?}", ui::POSTS_TITLE_PREFIX), |title| {
        title.starts_with(ui::POSTS_TITLE_PREFIX) && title.contains(ui::APP_TITLE)
    })?;
    t.wait_for_element(&format!("{}{}", ui::NAV_POSTS, ui::ACTIVE_LINK))?;
    if !any {
        t.wait_for_page_text(ui::POSTS_EMPTY_TEXT)?;
    }
    t.screenshot("posts-loaded")?;

    // Posts written elsewhere (the devserver's HTTP API) show up without a reload, newest first.
    let (first, second) = (unique("Seeded first"), unique("Seeded second"));
    t.devserver().seed_posts(&ALICE, &[&first, &second])?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &second)?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &first)?;
    let titles = ui::post_titles(t)?;
    let at = |title: &str| titles.iter().position(|x| x == title);
    assert!(at(&second) < at(&first), "newest first: {second:?} before {first:?} in {titles:?}");
    t.screenshot("seeded-posts-live")?;
    Ok(())
}

fn post_page_opens_from_the_list_and_history_works(t: &mut Ctx) -> e2e::Result {
    let title = unique("History");
    let body = format!("Body of {title}.");
    let id = t.devserver().create_post(&ALICE, &title, &body)?;

    // Straight to /posts (trunk serves index.html for it), the seeded post in the list.
    t.open(ui::POSTS_PATH)?;
    let item = t.wait_for_text(ui::POST_ITEM, &title)?;
    t.screenshot("posts")?;
    let link = item.find("a")?;
    assert_eq!(link.attribute("href")?.as_deref(), Some(format!("/posts/{id}").as_str()));
    link.hover()?;
    t.screenshot("hover-post")?;
    link.click()?;

    let post_path = format!("{}{id}", ui::POST_PATH_PREFIX);
    t.wait_for_path(&post_path)?;
    t.wait_for_text(ui::POST_HEADING, &title)?;
    t.wait_for_text(ui::POST_BODY, &body)?;
    t.screenshot("post")?;

    t.back()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &title)?;
    t.screenshot("back-to-posts")?;

    t.forward()?;
    t.wait_for_path(&post_path)?;
    t.wait_for_text(ui::POST_HEADING, &title)?;
    t.screenshot("forward-to-post")?;
    Ok(())
}

fn sign_in_with_the_page_form(t: &mut Ctx) -> e2e::Result {
    t.open(ui::SIGN_IN_PATH)?;
    t.wait_for_element(ui::SIGN_IN_IDENTIFIER)?;
    t.screenshot("sign-in-page")?;

    let identifier = t.find(ui::SIGN_IN_IDENTIFIER)?;
    identifier.send_keys(ALICE.username)?;
    t.find(ui::SIGN_IN_PASSWORD)?.send_keys(ALICE.password)?;
    assert_eq!(identifier.property("value")?.as_str(), Some(ALICE.username));
    t.screenshot("form-filled")?;
    t.find(ui::SIGN_IN_SUBMIT)?.click()?;

    t.wait_for_element(ui::SIGNED_IN_MARKER)?;
    t.wait_for_path(ui::AFTER_SIGN_IN_PATH)?;
    ui::wait_for_posts_loaded(t)?;
    t.screenshot("signed-in")?;

    // Convex sees the Clerk user: Home greets them by name.
    t.find(ui::NAV_HOME)?.click()?;
    let welcome = format!("{}{}", ui::HOME_WELCOME_BACK, ALICE.name);
    t.wait_for_text(ui::PAGE_HEADING, &welcome)?;
    t.screenshot("welcome-back")?;

    // The session survives a reload (Clerk's client cookie through trunk's /__clerk proxy).
    t.refresh()?;
    t.wait_for_element(ui::SIGNED_IN_MARKER)?;
    t.wait_for_text(ui::PAGE_HEADING, &welcome)?;
    t.screenshot("after-reload")?;
    Ok(())
}

fn sign_in_with_a_wrong_password_shows_the_error(t: &mut Ctx) -> e2e::Result {
    t.open(ui::SIGN_IN_PATH)?;
    ui::submit_sign_in_form(t, &ALICE, "not-the-password")?;
    let error = t.wait_for_element(ui::SIGN_IN_ERROR)?;
    let text = error.text()?;
    assert!(!text.trim().is_empty(), "an error message under the form");
    assert!(t.try_find(ui::SIGNED_IN_MARKER)?.is_none(), "not signed in");
    assert_eq!(t.current_path()?, ui::SIGN_IN_PATH);
    t.screenshot("wrong-password")?;
    Ok(())
}

fn signed_in_user_writes_a_post(t: &mut Ctx) -> e2e::Result {
    ui::sign_in(t, &ALICE)?;
    t.open(ui::NEW_POST_PATH)?;
    t.wait_for_element(ui::NEW_POST_TITLE)?;
    let title = unique("Written in the browser");
    t.find(ui::NEW_POST_TITLE)?.send_keys(&title)?;
    t.find(ui::NEW_POST_BODY)?.send_keys("Typed through WebDriver.")?;
    t.screenshot("new-post-filled")?;
    t.find(ui::NEW_POST_SUBMIT)?.click()?;

    // The post's page once the server has it, then in the list, by Alice.
    t.wait_for_text(ui::POST_HEADING, &title)?;
    let path = t.current_path()?;
    assert!(
        path.starts_with(ui::POST_PATH_PREFIX) && path != ui::NEW_POST_PATH,
        "on the new post's page, not {path}"
    );
    t.screenshot("post-created")?;
    t.find(ui::NAV_POSTS)?.click()?;
    let item = t.wait_for_text(ui::POST_ITEM, &title)?;
    t.wait_for(&format!("{title:?} by {}", ALICE.name), || {
        Ok(item.text()?.contains(ALICE.name).then_some(()))
    })?;
    t.screenshot("in-the-list")?;

    let posts = t.devserver().posts()?;
    let stored =
        posts.iter().find(|p| p["title"] == title.as_str()).expect("stored by the devserver");
    assert_eq!(stored["authorName"], ALICE.name);
    Ok(())
}
