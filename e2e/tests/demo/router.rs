//! The router as a user meets it: pages that render with their data (no loading flash), links
//! that load their page on hover, not-found for ids that name no post, the catch boundary and
//! "Try again" (with failures injected by the devserver), the sign-in redirect of a protected
//! page, scroll restoration across history and after a reload, titles per route, the devtools
//! panel, and the pending skeleton of a loader that takes over a second.
//!
//! What a screenshot cannot show (that something *never* appeared, which frames the page sent)
//! is watched from inside the page: a `MutationObserver` on `main` ([`DomRecorder`]) and a spy
//! on `WebSocket.prototype.send` ([`SendSpy`]).

use std::time::{Duration, Instant};

use e2e::{webdriver::poll_until, Ctx, DomFrame, DomRecorder, SendSpy, ALICE};
use serde_json::{json, Value};

use crate::ui::{self, unique};

pub const TESTS: &[e2e::Test] = e2e::tests![
    posts_render_with_their_data_on_first_paint,
    hovering_a_post_link_loads_it_before_the_click,
    unknown_and_malformed_post_ids_are_not_found,
    a_failing_loader_shows_the_catch_boundary_and_try_again_recovers,
    the_new_post_page_sends_signed_out_users_to_sign_in_and_back,
    back_and_forward_restore_the_scroll_position,
    a_reload_returns_to_the_entrys_scroll_position,
    the_title_follows_the_route,
    devtools_list_the_live_cache_entries,
    the_list_loads_more_pages_and_stays_live,
    a_slow_loader_keeps_the_page_then_shows_the_skeleton_after_a_second,
];

/// The recorded frames that showed any of `selectors` or `texts`, described (empty: none did).
fn frames_showing(frames: &[DomFrame], selectors: &[&str], texts: &[&str]) -> Vec<String> {
    frames
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let hits: Vec<&String> =
                f.hits.iter().filter(|h| selectors.contains(&h.as_str())).collect();
            let words: Vec<&&str> = texts.iter().filter(|w| f.contains(w)).collect();
            (!hits.is_empty() || !words.is_empty()).then(|| {
                format!(
                    "frame {i} (at {:.0} ms): selectors {hits:?}, texts {words:?}, added {:.600?}",
                    f.at_ms, f.added
                )
            })
        })
        .collect()
}

/// Waits until `window.scrollY` is within `tolerance` px of `target` and stays there for
/// `settle` (a late jump fails it); returns it. Times out after `timeout`.
fn wait_for_scroll(
    t: &Ctx,
    what: &str,
    target: f64,
    tolerance: f64,
    settle: Duration,
    timeout: Duration,
) -> e2e::Result<f64> {
    let mut last = f64::NAN;
    let mut since: Option<Instant> = None;
    poll_until(what, timeout, Duration::from_millis(50), || {
        last = t.execute("return window.scrollY;", vec![])?.as_f64().unwrap_or(f64::NAN);
        if (last - target).abs() <= tolerance {
            let at = *since.get_or_insert_with(Instant::now);
            Ok((at.elapsed() >= settle).then_some(last))
        } else {
            since = None;
            Ok(None)
        }
    })
    .map_err(|e| format!("{e} (scrollY was {last}, wanted {target} ± {tolerance})").into())
}

// ---------------------------------------------------------------------------------------------

fn posts_render_with_their_data_on_first_paint(t: &mut Ctx) -> e2e::Result {
    let titles = [unique("First paint A"), unique("First paint B")];
    t.devserver().seed_posts(&ALICE, &[&titles[0], &titles[1]])?;
    t.open("/")?;
    t.wait_for_text(ui::PAGE_HEADING, ui::HOME_HEADING_SIGNED_OUT)?;
    let recorder = DomRecorder::install(t, ui::MAIN, ui::LOADING_SELECTORS)?;
    t.screenshot("home-recording")?;

    // Through the header's link, as a reader would.
    t.find(ui::NAV_POSTS)?.click()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    for title in &titles {
        t.wait_for_text(ui::POST_ITEM_TITLE, title)?;
    }
    t.screenshot("posts-with-data")?;
    let frames = recorder.frames()?;
    recorder.stop()?;

    let loading = frames_showing(&frames, ui::LOADING_SELECTORS, &[ui::LOADING_TEXT]);
    assert!(
        loading.is_empty(),
        "a loading state showed on the way to Posts:\n{}",
        loading.join("\n")
    );
    let empty = frames_showing(&frames, &[], &[ui::POSTS_EMPTY_TEXT]);
    assert!(empty.is_empty(), "the empty list showed before the posts:\n{}", empty.join("\n"));
    // The first frame of the Posts page already lists the seeded posts.
    let first = frames
        .iter()
        .position(|f| f.html.contains(ui::POSTS_PAGE_HTML))
        .ok_or("no recorded frame shows the Posts page")?;
    for title in &titles {
        assert!(
            frames[first].html.contains(title.as_str()),
            "the first frame of the Posts page (frame {first} of {}) lacks {title:?}: {:.2000}",
            frames.len(),
            frames[first].html
        );
    }

    // Control: the recorder does see a skeleton when one is added (then removed) under main.
    let control = DomRecorder::install(t, ui::MAIN, ui::LOADING_SELECTORS)?;
    t.execute(
        "const s = document.createElement('section'); s.className = 'skeleton';
         s.setAttribute('aria-label', 'Loading'); document.querySelector('main').append(s);
         setTimeout(() => s.remove(), 0);",
        vec![],
    )?;
    let seen = t.wait_for("the recorder to see the control skeleton", || {
        let frames = control.frames()?;
        Ok((!frames_showing(&frames, ui::LOADING_SELECTORS, &[ui::LOADING_TEXT]).is_empty())
            .then_some(()))
    });
    control.stop()?;
    seen?;
    Ok(())
}

fn hovering_a_post_link_loads_it_before_the_click(t: &mut Ctx) -> e2e::Result {
    let title = unique("Preloaded on hover");
    let body = format!("Body of {title}.");
    let id = t.devserver().create_post(&ALICE, &title, &body)?;
    let post_path = format!("{}{id}", ui::POST_PATH_PREFIX);

    t.open(ui::POSTS_PATH)?;
    let link = t.wait_for_text(ui::POST_ITEM, &title)?.find("a")?;
    // The mouse rests on nothing (the header's empty corner).
    t.move_mouse_to(5, 5)?;
    let spy = SendSpy::install(t)?;
    let recorder = DomRecorder::install(
        t,
        ui::MAIN,
        &[ui::LOADING_SELECTORS, &[ui::NOT_FOUND, ui::ERROR_BOUNDARY]].concat(),
    )?;
    let this_post = |args: &Value| args["id"] == id.as_str();
    assert!(spy.adds("posts:get", this_post)?.is_empty(), "nothing asked for the post yet");
    t.screenshot("posts-before-hover")?;

    // Hover (a WebDriver pointer move onto the link): after the intent delay, the router runs
    // the post's loader, which subscribes to posts:get for it.
    let hovered = Instant::now();
    link.hover()?;
    let adds = t.wait_for("a ModifyQuerySet Add of posts:get for the hovered post", || {
        let adds = spy.adds("posts:get", this_post)?;
        Ok((!adds.is_empty()).then_some(adds))
    })?;
    let preloaded_after = hovered.elapsed();
    t.screenshot("hovered-post-preloaded")?;
    assert_eq!(t.current_path()?, ui::POSTS_PATH, "still on the list: only hovered");

    link.click()?;
    t.wait_for_path(&post_path)?;
    t.wait_for_text(ui::POST_HEADING, &title)?;
    t.wait_for_text(ui::POST_BODY, &body)?;
    t.screenshot("post-after-click")?;
    // Anything the click would still send goes out at once; give it a moment to show.
    std::thread::sleep(Duration::from_millis(300));

    let all = spy.adds("posts:get", this_post)?;
    assert_eq!(
        all.len(),
        1,
        "one subscription for the post, from the hover (Add {:?} {preloaded_after:?} after \
         the hover); after the click: {all:?}",
        adds[0].query_id
    );
    let removed = spy.query_set_changes()?.into_iter().any(|c| {
        c.kind == "Remove" && c.socket == adds[0].socket && c.query_id == adds[0].query_id
    });
    assert!(!removed, "the preloaded subscription was kept for the page");
    let frames = recorder.frames()?;
    recorder.stop()?;
    let flashes = frames_showing(
        &frames,
        &[ui::LOADING_SELECTORS, &[ui::NOT_FOUND, ui::ERROR_BOUNDARY]].concat(),
        &[ui::LOADING_TEXT],
    );
    assert!(
        flashes.is_empty(),
        "the preloaded post showed a loading, not-found or error state:\n{}",
        flashes.join("\n")
    );
    Ok(())
}

/// `id` with one character changed (to another of Convex's base-32 digits).
fn altered(id: &str) -> String {
    let mut chars: Vec<char> = id.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

fn unknown_and_malformed_post_ids_are_not_found(t: &mut Ctx) -> e2e::Result {
    // A well-formed id that names no post: one that did, deleted.
    let devserver = t.devserver();
    let id = devserver.create_post(&ALICE, &unique("Deleted"), "Soon gone.")?;
    devserver.remove_post(&ALICE, &id)?;
    assert_eq!(devserver.query("posts:get", json!({ "id": id }), None)?, Value::Null);

    let cases = [
        (format!("{}{id}", ui::POST_PATH_PREFIX), "deleted-post-id"),
        (format!("{}{}", ui::POST_PATH_PREFIX, altered(&id)), "id-with-a-character-changed"),
        (format!("{}not-an-id", ui::POST_PATH_PREFIX), "malformed-id"),
    ];
    for (path, case) in &cases {
        t.open(path)?;
        // From the first moment a script runs after the load: no error boundary, ever.
        let recorder = DomRecorder::install(t, ui::MAIN, &[ui::ERROR_BOUNDARY])?;
        t.wait_for_text(ui::NOT_FOUND, ui::NOT_FOUND_HEADING_TEXT)?;
        t.screenshot(case)?;
        assert_eq!(&t.current_path()?, path, "{case}: stays on its address");
        assert!(t.try_find(ui::ERROR_BOUNDARY)?.is_none(), "{case}: no error boundary");
        assert!(t.try_find(ui::POST_HEADING)?.is_none(), "{case}: no post");
        let text = t.body_text()?;
        for raw in ui::RAW_SERVER_ERROR_TEXTS {
            assert!(!text.contains(raw), "{case}: the page shows {raw:?}: {text}");
        }
        let frames = recorder.frames()?;
        let errors = frames_showing(&frames, &[ui::ERROR_BOUNDARY], ui::RAW_SERVER_ERROR_TEXTS);
        assert!(errors.is_empty(), "{case}: an error showed on the way:\n{}", errors.join("\n"));
    }
    Ok(())
}

fn a_failing_loader_shows_the_catch_boundary_and_try_again_recovers(t: &mut Ctx) -> e2e::Result {
    let title = unique("Flaky");
    let body = format!("Body of {title}.");
    let devserver = t.devserver();
    let id = devserver.create_post(&ALICE, &title, &body)?;
    let post_path = format!("{}{id}", ui::POST_PATH_PREFIX);
    let message = "Injected by the e2e test: the posts table is on fire";

    // The next execution of posts:get for this post fails with a function error.
    let args = json!({ "id": id });
    let pending = devserver.fail_queries("posts:get", Some(args.clone()), 1, Some(message))?;
    assert!(pending.iter().any(|p| p["args"] == args && p["remaining"] == 1), "{pending:?}");

    t.open(&post_path)?;
    t.wait_for_element(ui::ERROR_BOUNDARY)?;
    let shown = t.wait_for_text(ui::ERROR_BOUNDARY_MESSAGE, message)?.text()?;
    t.screenshot("catch-boundary")?;
    assert!(t.try_find(ui::POST_HEADING)?.is_none(), "no post under the error");
    let pending = devserver.pending_query_failures()?;
    assert!(!pending.iter().any(|p| p["args"] == args), "the failure was used: {pending:?}");

    // "Try again": the failed entry is reset and the loader runs again (a fresh subscription,
    // which the devserver runs again: no failure is left for it).
    let spy = SendSpy::install(t)?;
    let this_post = |a: &Value| a["id"] == id.as_str();
    t.wait_for_text(ui::ERROR_BOUNDARY_BUTTON, ui::TRY_AGAIN_TEXT)?.click()?;
    t.wait_for_text(ui::POST_HEADING, &title).map_err(|e| {
        format!("{e}; posts:get Adds after Try again: {:?}", spy.adds("posts:get", this_post))
    })?;
    t.wait_for_text(ui::POST_BODY, &body)?;
    t.wait_for_no_element(ui::ERROR_BOUNDARY)?;
    t.screenshot("recovered-after-try-again")?;
    assert_eq!(t.current_path()?, post_path);
    assert!(!spy.adds("posts:get", this_post)?.is_empty(), "Try again subscribed afresh");
    assert!(shown.contains(message), "{shown:?}");
    Ok(())
}

fn the_new_post_page_sends_signed_out_users_to_sign_in_and_back(t: &mut Ctx) -> e2e::Result {
    t.open(ui::NEW_POST_PATH)?;
    let mut last = String::new();
    t.wait_for("the sign-in page with a redirect", || {
        last = t.current_path()?;
        Ok(last.starts_with(&format!("{}?", ui::SIGN_IN_PATH)).then_some(()))
    })
    .map_err(|e| format!("{e} (path: {last:?})"))?;
    let redirect = last
        .split_once('?')
        .and_then(|(_, query)| query.split('&').find_map(|kv| kv.strip_prefix("redirect=")))
        .map(|v| v.replace("%2F", "/").replace("%2f", "/"))
        .ok_or_else(|| format!("no redirect in {last:?}"))?;
    assert_eq!(redirect, ui::NEW_POST_PATH, "in {last:?}");
    t.wait_for_element(ui::SIGN_IN_IDENTIFIER)?;
    ui::wait_for_title_exactly(t, ui::TITLE_SIGN_IN)?;
    assert!(t.try_find(ui::NEW_POST_TITLE)?.is_none(), "no new-post form signed out");
    t.screenshot("redirected-to-sign-in")?;

    ui::submit_sign_in_form(t, &ALICE, ALICE.password)?;
    t.wait_for_path(ui::NEW_POST_PATH)?;
    t.wait_for_element(ui::NEW_POST_TITLE)?;
    t.wait_for_element(ui::NEW_POST_BODY)?;
    t.wait_for_element(ui::SIGNED_IN_MARKER)?;
    ui::wait_for_title_exactly(t, ui::TITLE_NEW_POST)?;
    t.screenshot("new-post-form-after-sign-in")?;
    Ok(())
}

fn back_and_forward_restore_the_scroll_position(t: &mut Ctx) -> e2e::Result {
    let titles: Vec<String> = (0..60).map(|i| unique(&format!("Scroll {i:02}"))).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    t.devserver().seed_posts(&ALICE, &refs)?;

    t.open(ui::POSTS_PATH)?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &titles[titles.len() - 1])?;
    let height =
        t.execute("return document.documentElement.scrollHeight - innerHeight;", vec![])?;
    assert!(height.as_f64().unwrap_or(0.0) > 1600.0, "the list scrolls past 1600 px: {height}");

    // Down the list, and let the position settle (the router saves it from scroll events).
    t.execute("window.scrollTo(0, 1500);", vec![])?;
    let y0 = wait_for_scroll(
        t,
        "the list to rest at 1500",
        1500.0,
        1.0,
        Duration::from_millis(200),
        t.timeout(),
    )?;
    t.screenshot("list-scrolled-to-1500")?;

    // A post in view (below the sticky header, above the bottom).
    let index = t.execute(
        "return [...document.querySelectorAll(arguments[0])].findIndex(a => {
            const r = a.getBoundingClientRect(); return r.top > 150 && r.bottom < innerHeight - 150; });",
        vec![json!(ui::POST_ITEM_LINK)],
    )?;
    let index = index.as_i64().filter(|i| *i >= 0).ok_or("no post link in view")? as usize;
    let link = t.find_all(ui::POST_ITEM_LINK)?.swap_remove(index);
    let post_path = link.attribute("href")?.ok_or("a post link without href")?;
    link.click()?;
    t.wait_for_path(&post_path)?;
    t.wait_for_element(ui::POST_HEADING)?;
    wait_for_scroll(t, "the post at the top", 0.0, 1.0, Duration::ZERO, t.timeout())?;
    t.screenshot("post-opened")?;

    let restore_timeout = Duration::from_secs(5);
    let settle = Duration::from_millis(300);
    t.back()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    t.wait_for_element(ui::POST_ITEM)?;
    wait_for_scroll(t, "back: the list where it was", y0, 3.0, settle, restore_timeout)?;
    t.screenshot("back-scroll-restored")?;

    t.forward()?;
    t.wait_for_path(&post_path)?;
    t.wait_for_element(ui::POST_HEADING)?;
    wait_for_scroll(t, "forward: the post at its top", 0.0, 1.0, settle, restore_timeout)?;
    t.screenshot("forward-post")?;

    t.back()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    t.wait_for_element(ui::POST_ITEM)?;
    wait_for_scroll(t, "back again: the list where it was", y0, 3.0, settle, restore_timeout)?;
    t.screenshot("back-again-scroll-restored")?;

    // A new navigation to the list (the header's link, from the post) is a new history entry:
    // it starts at the top, not where the older entry of the same page was.
    t.forward()?;
    t.wait_for_path(&post_path)?;
    t.wait_for_element(ui::POST_HEADING)?;
    t.find(ui::NAV_POSTS)?.click()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &titles[titles.len() - 1])?;
    wait_for_scroll(
        t,
        "a new visit of the list at the top",
        0.0,
        1.0,
        Duration::from_millis(500),
        restore_timeout,
    )?;
    t.screenshot("new-navigation-at-top")?;
    Ok(())
}

fn a_reload_returns_to_the_entrys_scroll_position(t: &mut Ctx) -> e2e::Result {
    let titles: Vec<String> = (0..40).map(|i| unique(&format!("Reload {i:02}"))).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    t.devserver().seed_posts(&ALICE, &refs)?;
    t.open(ui::POSTS_PATH)?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &titles[titles.len() - 1])?;
    let settle = Duration::from_millis(300);
    t.execute("window.scrollTo(0, 800);", vec![])?;
    let y = wait_for_scroll(t, "the list to rest at 800", 800.0, 1.0, settle, t.timeout())?;
    t.screenshot("list-at-800")?;

    // Twice: a drift would add up.
    for n in 1..=2 {
        t.refresh()?;
        t.wait_for_text(ui::POST_ITEM_TITLE, &titles[titles.len() - 1])?;
        // Until the page has settled (Clerk loaded: the header's sign-in button).
        t.wait_for_element(ui::HEADER_SIGN_IN)?;
        let restored = wait_for_scroll(
            t,
            &format!("reload {n}: the list where it was"),
            y,
            3.0,
            settle,
            Duration::from_secs(5),
        );
        t.screenshot(&format!("after-reload-{n}"))?;
        restored?;
    }
    Ok(())
}

fn the_title_follows_the_route(t: &mut Ctx) -> e2e::Result {
    let title = unique("Titled");
    let id = t.devserver().create_post(&ALICE, &title, "A post with a title.")?;

    t.open("/")?;
    t.wait_for_text(ui::PAGE_HEADING, ui::HOME_HEADING_SIGNED_OUT)?;
    ui::wait_for_title_exactly(t, ui::TITLE_HOME)?;
    t.screenshot("home")?;

    t.find(ui::NAV_POSTS)?.click()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    ui::wait_for_title_exactly(t, ui::TITLE_POSTS)?;
    t.screenshot("posts")?;

    t.wait_for_text(ui::POST_ITEM, &title)?.find("a")?.click()?;
    t.wait_for_path(&format!("{}{id}", ui::POST_PATH_PREFIX))?;
    t.wait_for_text(ui::POST_HEADING, &title)?;
    ui::wait_for_title_exactly(t, &format!("{title} | yew-convex"))?;
    t.screenshot("post")?;

    t.back()?;
    t.wait_for_path(ui::POSTS_PATH)?;
    ui::wait_for_title_exactly(t, ui::TITLE_POSTS)?;
    t.screenshot("back-to-posts")?;

    t.open(ui::SIGN_IN_PATH)?;
    t.wait_for_element(ui::SIGN_IN_IDENTIFIER)?;
    ui::wait_for_title_exactly(t, ui::TITLE_SIGN_IN)?;
    t.screenshot("sign-in")?;

    t.open(ui::UNKNOWN_PATH)?;
    t.wait_for_text(ui::NOT_FOUND, ui::NOT_FOUND_HEADING_TEXT)?;
    ui::wait_for_title_exactly(t, ui::TITLE_NOT_FOUND)?;
    t.screenshot("not-found")?;
    Ok(())
}

fn the_list_loads_more_pages_and_stays_live(t: &mut Ctx) -> e2e::Result {
    // More posts than a page holds (30): the list shows a page (the newest first) and a
    // "Load more" button.
    let titles: Vec<String> = (0..40).map(|i| unique(&format!("Paged {i:02}"))).collect();
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    t.devserver().seed_posts(&ALICE, &refs)?;
    t.open(ui::POSTS_PATH)?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &titles[39])?;
    assert_eq!(t.texts(ui::POST_ITEM_TITLE)?.len(), 30, "one page");
    let more = t.wait_for_text(ui::LOAD_MORE, "Load more")?;
    t.screenshot("list-first-page")?;
    more.click()?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &titles[0])?;
    let shown = t.texts(ui::POST_ITEM_TITLE)?;
    assert!(shown.len() > 30, "a second page: {} posts", shown.len());
    let ours: Vec<&String> = shown.iter().filter(|s| s.starts_with("Paged ")).collect();
    assert_eq!(ours.len(), 40, "each seeded post once: {ours:?}");
    t.screenshot("list-second-page")?;
    // A post written now shows at the top of the loaded list, live.
    let fresh = unique("Paged live");
    t.devserver().create_post(&ALICE, &fresh, "")?;
    t.wait_for_text(ui::POST_ITEM_TITLE, &fresh)?;
    assert_eq!(t.texts(ui::POST_ITEM_TITLE)?.first(), Some(&fresh));
    Ok(())
}

fn devtools_list_the_live_cache_entries(t: &mut Ctx) -> e2e::Result {
    // The post page reads its post through the query cache (the list reads pages live).
    let title = unique("Devtools");
    let id = t.devserver().create_post(&ALICE, &title, "Shown in the devtools.")?;
    t.open(&format!("{}/{id}", ui::POSTS_PATH))?;
    t.wait_for_text(ui::POST_HEADING, &title)?;
    let toggle = t.wait_for_element(ui::DEVTOOLS_TOGGLE)?;
    assert_eq!(toggle.attribute("aria-label")?.as_deref(), Some(ui::DEVTOOLS_OPEN_LABEL));
    t.screenshot("post-devtools-closed")?;
    toggle.click()?;
    t.wait_for_element(ui::DEVTOOLS_PANEL)?;

    let mut last = vec![];
    let entry = t
        .wait_for("a devtools row for posts:get, subscription open, observed", || {
            last = ui::devtools_entries(t)?;
            Ok(last.iter().find(|e| e.key.starts_with("posts:get ")).cloned().filter(|e| {
                e.subscription == "open" && e.observers.parse::<u32>().is_ok_and(|n| n >= 1)
            }))
        })
        .map_err(|e| format!("{e}; rows: {last:?}"))?;
    t.screenshot("devtools-open")?;
    assert_eq!(entry.status, "success", "{entry:?}");
    let toggle = t.find(ui::DEVTOOLS_TOGGLE)?;
    assert_eq!(toggle.attribute("aria-label")?.as_deref(), Some(ui::DEVTOOLS_CLOSE_LABEL));
    Ok(())
}

fn a_slow_loader_keeps_the_page_then_shows_the_skeleton_after_a_second(t: &mut Ctx) -> e2e::Result {
    let title = unique("Slow to load");
    let devserver = t.devserver();
    let id = devserver.create_post(&ALICE, &title, "Worth the wait.")?;
    let post_path = format!("{}{id}", ui::POST_PATH_PREFIX);
    t.open(ui::POSTS_PATH)?;
    let link = t.wait_for_text(ui::POST_ITEM, &title)?.find("a")?;

    // The client's session id, from its Connect after a dropped socket.
    let spy = SendSpy::install(t)?;
    devserver.drop_sessions(None)?;
    let session = t.wait_for("the client to reconnect (a Connect frame)", || spy.session_id())?;
    t.wait_for_element(ui::CONNECTION_LIVE)?;
    // Clerk has loaded (its sign-in button shows): nothing else re-renders the page meanwhile.
    t.wait_for_element(ui::HEADER_SIGN_IN)?;

    // No answers from now on: the post's loader waits.
    let recorder = DomRecorder::install(t, ui::MAIN, ui::LOADING_SELECTORS)?;
    devserver.block_session(&session, true)?;
    let clicked_at = t.execute("return performance.now();", vec![])?.as_f64().unwrap_or(0.0);
    link.click()?;
    t.wait_for_path(&post_path)?;
    let shown = t.wait_for_element(ui::PENDING_SKELETON);
    t.screenshot("pending-skeleton")?;
    shown?;
    let frames = recorder.frames()?;
    let first = frames
        .iter()
        .position(|f| f.hits.iter().any(|h| h == ".skeleton"))
        .ok_or("the recorder saw no skeleton")?;
    let after = frames[first].at_ms - clicked_at;
    assert!(after >= 950.0, "the skeleton showed {after:.0} ms after the click, before 1 s");
    assert!(
        frames[..first].iter().all(|f| f.html.contains(title.as_str())),
        "the list stayed until the skeleton"
    );
    assert!(
        !frames_showing(&frames, ui::LOADING_SELECTORS, &[ui::LOADING_TEXT]).is_empty(),
        "frames_showing sees the skeleton"
    );

    // Answers again: the post replaces the skeleton.
    devserver.block_session(&session, false)?;
    t.wait_for_path(&post_path)?;
    t.wait_for_text(ui::POST_HEADING, &title)?;
    t.wait_for_no_element(ui::PENDING_SKELETON)?;
    t.screenshot("post-after-the-wait")?;
    Ok(())
}
