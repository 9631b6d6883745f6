//! Fan-out: N WebSocket sessions subscribed to `posts:list`, one mutation; how long until every
//! session has its Transition. Run with `cargo bench -p devserver --bench fanout`
//! (`-- 10 100 1000` picks the session counts, `--rounds R` the mutations per count).

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio::sync::{mpsc, Barrier};
use tokio_tungstenite::tungstenite::Message;

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devserver"))
        .args(["--port", "0", "--data"])
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn devserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines.next().expect("a line").expect("utf8");
    let port = line.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    std::thread::spawn(move || for _ in lines {});
    Server(child, port)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn run(sessions: usize, rounds: usize) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path());
    let http = format!("http://127.0.0.1:{}", server.1);
    let client = reqwest::Client::new();
    let token: Json = client
        .post(format!("{http}/dev/token"))
        .json(&json!({"sub": "bench", "name": "Bench", "ttl_secs": 3600}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["token"].as_str().expect("token").to_string();
    for i in 0..20 {
        client
            .post(format!("{http}/api/mutation"))
            .bearer_auth(&token)
            .json(&json!({"path": "posts:create", "args": {"title": format!("seed {i}"), "body": "x ".repeat(50)}}))
            .send()
            .await
            .expect("seed");
    }

    // Every session subscribes, then reports the instant each later Transition arrives.
    let (arrivals_tx, mut arrivals_rx) = mpsc::unbounded_channel::<Instant>();
    let ready = Arc::new(Barrier::new(sessions + 1));
    let ws_url = format!("ws://127.0.0.1:{}/api/1.30.0/sync", server.1);
    for _ in 0..sessions {
        let (url, tx, ready) = (ws_url.clone(), arrivals_tx.clone(), ready.clone());
        tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.expect("connect");
            let session = uuid::Uuid::new_v4().to_string();
            let connect = json!({"type": "Connect", "sessionId": session, "connectionCount": 0, "lastCloseReason": "InitialConnect"});
            let add = json!({"type": "ModifyQuerySet", "baseVersion": 0, "newVersion": 1, "modifications": [
                {"type": "Add", "queryId": 0, "udfPath": "posts:list", "args": [{}]}]});
            ws.send(Message::Text(connect.to_string().into())).await.expect("send");
            ws.send(Message::Text(add.to_string().into())).await.expect("send");
            let mut first = true;
            while let Some(Ok(frame)) = ws.next().await {
                if let Message::Text(text) = frame {
                    if text.contains("\"Transition\"") {
                        if first {
                            first = false;
                            ready.wait().await;
                        } else if tx.send(Instant::now()).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
    ready.wait().await;

    let mut latencies = Vec::with_capacity(sessions * rounds);
    for round in 0..rounds {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let response = client
            .post(format!("{http}/api/mutation"))
            .bearer_auth(&token)
            .json(&json!({"path": "posts:create", "args": {"title": format!("round {round}"), "body": "fan-out"}}))
            .send()
            .await
            .expect("mutation");
        assert!(response.status().is_success());
        for _ in 0..sessions {
            let at = tokio::time::timeout(Duration::from_secs(30), arrivals_rx.recv())
                .await
                .expect("every session gets its Transition")
                .expect("sessions alive");
            latencies.push(at.duration_since(started).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    (percentile(&latencies, 50.0), percentile(&latencies, 99.0), latencies[latencies.len() - 1])
}

fn main() {
    let mut counts = Vec::new();
    let mut rounds = 20;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|r| r.parse().ok()).unwrap_or(rounds),
            "--bench" => {}
            other => {
                if let Ok(n) = other.parse() {
                    counts.push(n)
                }
            }
        }
    }
    if counts.is_empty() {
        counts = vec![10, 100, 1000];
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!("fan-out: N sessions subscribed to posts:list, one HTTP mutation, {rounds} rounds");
    println!("| sessions | p50 ms | p99 ms | max ms |");
    println!("| --- | --- | --- | --- |");
    for n in counts {
        let (p50, p99, max) = runtime.block_on(run(n, rounds));
        println!("| {n} | {p50:.1} | {p99:.1} | {max:.1} |");
    }
}
