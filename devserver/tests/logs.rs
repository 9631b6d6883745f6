//! No token reaches the logs, even at `RUST_LOG=trace`.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use common::Ws;
use convex_sync_types::ServerMessage;
use serde_json::json;

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn trace_logs_never_show_a_token() {
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_devserver"))
        .args(["--port", "0", "--data"])
        .arg(data.path())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = stdout.next().unwrap().unwrap();
    let base = first.trim_start_matches("devserver listening on ").trim().to_string();
    std::thread::spawn(move || for _ in stdout {});
    let ws_url = format!("{}/api/sync", base.replacen("http", "ws", 1));

    let token: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/dev/token"))
        .json(&json!({"sub": "alice", "name": "Alice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let signature = token.rsplit('.').next().unwrap().to_string();

    // WebSocket: accepted, then refused (tampered subject, same signature).
    let mut ws = Ws::connect(&ws_url).await;
    ws.authenticate(0, Some(&token)).await;
    assert!(matches!(ws.recv().await, ServerMessage::Transition { .. }));
    let parts: Vec<&str> = token.split('.').collect();
    let bad = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    let mut refused = Ws::connect(&ws_url).await;
    refused.authenticate(0, Some(&bad)).await;
    assert!(matches!(refused.recv().await, ServerMessage::AuthError { .. }));
    // HTTP: accepted and refused.
    for bearer in [&token, &bad] {
        let status = reqwest::Client::new()
            .post(format!("{base}/api/query"))
            .bearer_auth(bearer)
            .json(&json!({"path": "users:me", "args": {}}))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success() || status == 401, "{status}");
    }
    drop(ws);
    drop(refused);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let _ = child.kill();
    let _ = child.wait();

    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(logs.contains("DEBUG"), "verbose logging is on: {logs}");
    for (what, needle) in [
        ("the token", token.clone()),
        ("its signature", signature.clone()),
        ("the token's payload", parts[1].to_string()),
        ("the signature in hex", hex(&signature[..32])),
    ] {
        assert!(!logs.contains(&needle), "{what} is in the logs:\n{logs}");
    }
}
