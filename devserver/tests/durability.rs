//! Acknowledged mutations survive a SIGKILL.
//!
//! A SIGKILL leaves the killed process's writes in the page cache, so this test passes even with
//! `synchronous=OFF`: it proves commit-before-acknowledge, not fsync. What makes a commit survive
//! a power loss (WAL with `synchronous=FULL` on the committing connection) is asserted by
//! `store::tests::commits_are_fsynced_wal_with_synchronous_full`, and `Store::open` refuses to
//! run with anything weaker; `tests/power_loss.rs` loses every unsynced write and checks that no
//! acknowledged mutation goes with them.

mod common;

use common::Server;
use serde_json::json;

#[tokio::test]
async fn acknowledged_posts_survive_sigkill() {
    let mut server = Server::start();
    let token = server.token_with(json!({"sub": "alice", "name": "Alice", "ttl_secs": 600})).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let (status, body) = server
            .call(
                "mutation",
                "posts:create",
                json!({"title": format!("post {i}"), "body": "durable"}),
                Some(&token),
            )
            .await;
        assert_eq!((status, body["status"].as_str()), (200, Some("success")));
        ids.push(body["value"].as_str().unwrap().to_string());
    }
    server.kill_and_restart();
    let (_, list) = server.call("query", "posts:list", json!({}), None).await;
    let listed: Vec<String> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["_id"].as_str().unwrap().to_string())
        .collect();
    ids.reverse(); // newest first
    assert_eq!(listed, ids);
    // Creation times stay strictly increasing across the restart.
    let (_, created) = server
        .call("mutation", "posts:create", json!({"title": "after", "body": ""}), Some(&token))
        .await;
    let (_, list) = server.call("query", "posts:list", json!({}), None).await;
    assert_eq!(list["value"][0]["_id"], created["value"]);
    assert!(
        list["value"][0]["_creationTime"].as_f64() > list["value"][1]["_creationTime"].as_f64()
    );
}

#[tokio::test]
async fn a_taken_port_gets_a_clear_message() {
    let server = Server::start();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_devserver"))
        .args(["--port", &server.port.to_string(), "--data"])
        .arg(&server.data)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("port {} is already in use", server.port)), "{stderr}");
}
