//! Paginated queries (`posts:listPaginated`, Convex's `paginate()`): pages, cursors, the
//! query journal that keeps a subscribed page's bounds across re-runs and reconnects, and
//! split suggestions.

mod common;

use common::{Server, Ws};
use serde_json::{json, Value as Json};

/// Posts titled `titles`, created in order (the last is the newest).
async fn seed(server: &Server, token: &str, titles: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for title in titles {
        let (_, body) = server
            .call("mutation", "posts:create", json!({"title": title, "body": ""}), Some(token))
            .await;
        assert_eq!(body["status"], "success", "{body}");
        ids.push(body["value"].as_str().unwrap().to_string());
    }
    ids
}

fn opts(num_items: u32, cursor: Json) -> Json {
    json!({"paginationOpts": {"numItems": num_items, "cursor": cursor}})
}

/// The next Transition's update of `id`: (titles, the whole result, its journal).
async fn next_page(ws: &mut Ws, id: u32) -> (Vec<String>, Json, Json) {
    loop {
        let message = ws.recv_json().await.expect("socket open");
        if message["type"] != "Transition" {
            continue;
        }
        let Some(update) = message["modifications"]
            .as_array()
            .and_then(|mods| mods.iter().find(|m| m["queryId"] == id))
        else {
            continue;
        };
        assert_eq!(update["type"], "QueryUpdated", "{update}");
        let value = update["value"].clone();
        let titles = value["page"]
            .as_array()
            .map(|p| {
                p.iter().map(|d| d["title"].as_str().unwrap_or_default().to_string()).collect()
            })
            .unwrap_or_default();
        return (titles, value, update["journal"].clone());
    }
}

#[tokio::test]
async fn pages_keep_their_bounds_as_posts_come_and_go() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    let ids = seed(&server, &token, &["p1", "p2", "p3", "p4", "p5"]).await;

    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let first = ws.add_query("posts:listPaginated", opts(2, Json::Null)).await;
    let (titles, page1, journal1) = next_page(&mut ws, first).await;
    assert_eq!(titles, ["p5", "p4"]);
    assert_eq!(page1["isDone"], false);
    let cursor1 = page1["continueCursor"].clone();
    assert_eq!(journal1, cursor1, "the journal fixes the page's end");

    let second = ws.add_query("posts:listPaginated", opts(2, cursor1.clone())).await;
    let (titles, page2, _) = next_page(&mut ws, second).await;
    assert_eq!(titles, ["p3", "p2"]);
    let third = ws.add_query("posts:listPaginated", opts(2, page2["continueCursor"].clone())).await;
    let (titles, page3, _) = next_page(&mut ws, third).await;
    assert_eq!(titles, ["p1"]);
    assert_eq!(
        (page3["isDone"].clone(), page3["continueCursor"].clone()),
        (json!(true), json!("_end"))
    );

    // A new post lands in the first page, which grows instead of pushing p4 to the second.
    seed(&server, &token, &["p6"]).await;
    let (titles, _, _) = next_page(&mut ws, first).await;
    assert_eq!(titles, ["p6", "p5", "p4"]);

    // A deleted post leaves its page.
    let (_, body) =
        server.call("mutation", "posts:remove", json!({"id": ids[2]}), Some(&token)).await;
    assert_eq!(body["status"], "success", "{body}");
    let (titles, _, _) = next_page(&mut ws, second).await;
    assert_eq!(titles, ["p2"]);

    // On a new socket the client re-adds the page with its journal: the same bounds.
    let mut again = Ws::connect(&server.ws("/api/sync")).await;
    again
        .send(convex_sync_types::ClientMessage::ModifyQuerySet {
            base_version: 0,
            new_version: 1,
            modifications: vec![convex_sync_types::QuerySetModification::Add(
                convex_sync_types::Query {
                    query_id: convex_sync_types::QueryId::new(0),
                    udf_path: "posts:listPaginated".parse().unwrap(),
                    args: convex_sync_types::types::SerializedArgs::from_args(vec![opts(
                        2,
                        Json::Null,
                    )])
                    .unwrap(),
                    journal: Some(Some(journal1.as_str().unwrap().to_string())),
                    component_path: None,
                },
            )],
        })
        .await;
    let (titles, _, journal) = next_page(&mut again, 0).await;
    assert_eq!(titles, ["p6", "p5", "p4"], "not the first two posts: the journal's range");
    assert_eq!(journal, journal1);
}

#[tokio::test]
async fn a_page_that_grew_suggests_a_split_and_bad_cursors_fail() {
    let server = Server::start();
    let token = server.token("alice", "Alice").await;
    seed(&server, &token, &["a", "b"]).await;
    let mut ws = Ws::connect(&server.ws("/api/sync")).await;
    let first = ws.add_query("posts:listPaginated", opts(2, Json::Null)).await;
    let (titles, page, _) = next_page(&mut ws, first).await;
    assert_eq!(titles, ["b", "a"]);
    assert_eq!(page["isDone"], true, "everything fit");
    assert_eq!(page["splitCursor"], Json::Null);

    seed(&server, &token, &["c", "d"]).await;
    let (titles, page) = loop {
        let (titles, page, _) = next_page(&mut ws, first).await;
        if titles.len() == 4 {
            break (titles, page);
        }
    };
    assert_eq!(titles, ["d", "c", "b", "a"]);
    assert_eq!(page["pageStatus"], "SplitRecommended");
    let split = page["splitCursor"].clone();

    // The two halves the client asks for instead cover the page exactly once.
    let (_, low) = server
        .call(
            "query",
            "posts:listPaginated",
            json!({"paginationOpts": {"numItems": 2, "cursor": null, "endCursor": split}}),
            None,
        )
        .await;
    let (_, high) = server
        .call(
            "query",
            "posts:listPaginated",
            json!({"paginationOpts": {"numItems": 2, "cursor": split, "endCursor": page["continueCursor"]}}),
            None,
        )
        .await;
    let titles = |v: &Json| -> Vec<String> {
        v["value"]["page"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        (titles(&low), titles(&high)),
        (vec!["d".to_string(), "c".into()], vec!["b".to_string(), "a".into()])
    );

    let (_, body) =
        server.call("query", "posts:listPaginated", opts(2, json!("nonsense")), None).await;
    assert!(body["errorMessage"].as_str().unwrap().contains("InvalidCursor"), "{body}");
}
