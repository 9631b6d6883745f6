//! `use_paginated_query` in headless Chromium against the devserver's `posts:listPaginated`:
//! the first page, `load_more`, live changes inside loaded pages, a page split with every item
//! exactly once, and the end of the list.
#![cfg(target_arch = "wasm32")]

mod support;

use std::{cell::RefCell, rc::Rc, time::Duration};

use serde::Deserialize;
use serde_json::json;
use support::{install_send_spy, sent, token, unique, wait_until, CONVEX_URL};
use wasm_bindgen_test::*;
use yew::prelude::*;
use yew_convex::{
    client::{ConvexClient, ConvexHttpClient},
    use_paginated_query, ConvexProvider, PaginationStatus, UsePaginatedQuery,
};

wasm_bindgen_test_configure!(run_in_browser);

const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, PartialEq)]
struct Post {
    #[serde(rename = "_id")]
    id: String,
    title: String,
}

/// One render: the status and the titles shown.
type Render = (PaginationStatus, Vec<String>);

/// Every render.
#[derive(Clone, Default, PartialEq)]
struct Renders(Rc<RefCell<Vec<Render>>>);

/// The list's `load_more`, reachable from the test.
#[derive(Clone, Default, PartialEq)]
struct More(Rc<RefCell<Option<Callback<usize>>>>);

#[derive(Properties, PartialEq)]
struct ListProps {
    renders: Renders,
    more: More,
}

#[function_component]
fn List(props: &ListProps) -> Html {
    let posts: UsePaginatedQuery<Post> =
        use_paginated_query::<Post, serde_json::Value>("posts:listPaginated", json!({}), 3);
    let titles: Vec<String> = posts.results.iter().map(|p| p.title.clone()).collect();
    props.renders.0.borrow_mut().push((posts.status, titles));
    *props.more.0.borrow_mut() = Some(posts.load_more_callback());
    html! {}
}

#[derive(Properties, PartialEq)]
struct AppProps {
    client: ConvexClient,
    renders: Renders,
    more: More,
}

#[function_component]
fn App(props: &AppProps) -> Html {
    html! {
        <ConvexProvider client={props.client.clone()}>
            <List renders={props.renders.clone()} more={props.more.clone()} />
        </ConvexProvider>
    }
}

#[wasm_bindgen_test]
async fn pages_load_stay_live_split_and_end() {
    let http = ConvexHttpClient::new(CONVEX_URL).expect("http client");
    http.set_auth(Some(token("pager", "Pager", 600).await));
    let run = unique("page");
    let create = |n: usize| {
        let (http, title) = (http.clone(), format!("{run}-{n}"));
        async move {
            http.mutation::<_, String>("posts:create", &json!({"title": title, "body": ""}))
                .await
                .expect("create")
        }
    };
    let mut ids = Vec::new();
    for n in 1..=5 {
        ids.push(create(n).await);
    }
    let t = |n: usize| format!("{run}-{n}");

    install_send_spy();
    let client = ConvexClient::new(CONVEX_URL).expect("client");
    let (renders, more) = (Renders::default(), More::default());
    let handle = support::mount::<App>(AppProps {
        client: client.clone(),
        renders: renders.clone(),
        more: more.clone(),
    });
    let last = || {
        renders.0.borrow().last().cloned().unwrap_or((PaginationStatus::LoadingFirstPage, vec![]))
    };

    wait_until("the first render", WAIT, || !renders.0.borrow().is_empty()).await;
    let first = renders.0.borrow().first().map(|r| r.0);
    assert_eq!(first, Some(PaginationStatus::LoadingFirstPage));
    wait_until("the first page", WAIT, || last().0 == PaginationStatus::CanLoadMore).await;
    assert_eq!(last().1, [t(5), t(4), t(3)], "the newest three");

    let load_more = |n: usize| more.0.borrow().clone().expect("rendered").emit(n);
    load_more(2);
    wait_until("the second page", WAIT, || {
        last().1.len() == 5 && last().0 != PaginationStatus::LoadingMore
    })
    .await;
    assert_eq!(last().1, [t(5), t(4), t(3), t(2), t(1)]);

    // A new post lands in the loaded first page; a deleted one leaves the second.
    create(6).await;
    wait_until("the new post, live", WAIT, || last().1.first() == Some(&t(6))).await;
    http.mutation::<_, Option<String>>("posts:remove", &json!({"id": ids[1]}))
        .await
        .expect("remove");
    wait_until("the removed post gone", WAIT, || !last().1.contains(&t(2))).await;
    assert_eq!(last().1, [t(6), t(5), t(4), t(3), t(1)]);

    // The first page grows to twice its size: the server suggests a split, the client splits
    // it, and no render shows an item twice or loses one.
    for n in 7..=9 {
        create(n).await;
    }
    let expected = [t(9), t(8), t(7), t(6), t(5), t(4), t(3), t(1)];
    wait_until("the grown page", WAIT, || last().1 == expected).await;
    // Splits show up as two subscriptions replacing one: wait until the sent frames settle by
    // checking a fresh render after a later change.
    create(10).await;
    wait_until("another live update after the split", WAIT, || last().1.first() == Some(&t(10)))
        .await;
    // The client did split: it asked for two pages with fixed ends.
    let halves = sent()
        .iter()
        .filter(|m| m["type"] == "ModifyQuerySet")
        .flat_map(|m| m["modifications"].as_array().cloned().unwrap_or_default())
        .filter(|m| m["type"] == "Add" && m["args"][0]["paginationOpts"]["endCursor"].is_string())
        .count();
    assert_eq!(halves, 2, "the first page was split in two");
    for (status, titles) in renders.0.borrow().iter() {
        let mut seen = std::collections::HashSet::new();
        assert!(
            titles.iter().all(|t| seen.insert(t.clone())),
            "an item twice ({status:?}): {titles:?}"
        );
    }
    let ours: Vec<String> = last().1.into_iter().take(9).collect();
    assert_eq!(ours, [t(10), t(9), t(8), t(7), t(6), t(5), t(4), t(3), t(1)]);

    // Load until the end.
    load_more(100_000);
    wait_until("the end", WAIT, || last().0 == PaginationStatus::Exhausted).await;
    handle.destroy();
}
