//! Test harness: runs the real `devserver` binary on a free port and a temporary data dir, and
//! talks to it over raw WebSockets with `convex_sync_types` messages.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use convex_sync_types::{
    AuthenticationToken, ClientMessage, Query, QueryId, QuerySetModification, ServerMessage,
    SessionId, UdfPath,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio::net::TcpStream;
use tokio_tungstenite::{tungstenite::Message, MaybeTlsStream, WebSocketStream};

/// A JSON value standing in for Convex values when parsing server messages.
#[derive(Debug, Clone, PartialEq)]
pub struct V(pub Json);

impl From<V> for Json {
    fn from(v: V) -> Json {
        v.0
    }
}

impl TryFrom<Json> for V {
    type Error = anyhow::Error;
    fn try_from(v: Json) -> anyhow::Result<V> {
        Ok(V(v))
    }
}

pub type Msg = ServerMessage<V>;

/// A running devserver process.
pub struct Server {
    child: Child,
    pub port: u16,
    pub data: PathBuf,
    extra: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Server {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().to_path_buf();
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let (child, port) = spawn(&data, 0, &extra);
        Server { child, port, data, extra, _tmp: Some(tmp) }
    }

    /// SIGKILLs the process (no clean shutdown) and starts it again on the same port and data.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
        let mut last_err = None;
        for _ in 0..50 {
            match try_spawn(&self.data, self.port, &self.extra) {
                Ok((child, port)) => {
                    self.child = child;
                    self.port = port;
                    return;
                }
                Err(e) => {
                    last_err = Some(e);
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        panic!("devserver did not restart: {last_err:?}");
    }

    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://127.0.0.1:{}{path}", self.port)
    }

    /// Mints a token through `POST /dev/token`.
    pub async fn token(&self, sub: &str, name: &str) -> String {
        self.token_with(json!({"sub": sub, "name": name, "email": format!("{sub}@example.com")}))
            .await
    }

    pub async fn token_with(&self, body: Json) -> String {
        let response: Json = reqwest::Client::new()
            .post(format!("{}/dev/token", self.http()))
            .json(&body)
            .send()
            .await
            .expect("dev token")
            .json()
            .await
            .expect("dev token json");
        response["token"].as_str().expect("token").to_string()
    }

    /// Calls the HTTP API; returns (status, body).
    pub async fn call(
        &self,
        kind: &str,
        path: &str,
        args: Json,
        token: Option<&str>,
    ) -> (u16, Json) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/{kind}", self.http()))
            .json(&json!({"path": path, "args": args, "format": "convex_encoded_json"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("http call");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(data: &PathBuf, port: u16, extra: &[String]) -> (Child, u16) {
    try_spawn(data, port, extra).expect("devserver start")
}

fn try_spawn(data: &PathBuf, port: u16, extra: &[String]) -> Result<(Child, u16), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_devserver"))
        .args(["--port", &port.to_string(), "--data"])
        .arg(data)
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    match lines.next() {
        Some(Ok(line)) if line.starts_with("devserver listening on http://127.0.0.1:") => {
            let port = line
                .rsplit(':')
                .next()
                .and_then(|p| p.trim().parse().ok())
                .ok_or("bad port line")?;
            // Keep draining stdout and stderr so the child never blocks on a full pipe (a few
            // hundred warnings fill a pipe's buffer, and the next log line would hang it).
            std::thread::spawn(move || for _ in lines {});
            if let Some(stderr) = child.stderr.take() {
                std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
            }
            Ok((child, port))
        }
        other => {
            let _ = child.kill();
            let mut err = String::new();
            if let Some(stderr) = child.stderr.take() {
                use std::io::Read;
                let _ = BufReader::new(stderr).read_to_string(&mut err);
            }
            Err(format!("unexpected first line {other:?}; stderr: {err}"))
        }
    }
}

/// A raw sync-protocol WebSocket.
pub struct Ws {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_query: u32,
    query_set: u32,
    pub session: SessionId,
    next_request: u32,
}

pub const TIMEOUT: Duration = Duration::from_secs(10);

impl Ws {
    pub async fn connect(url: &str) -> Ws {
        Self::connect_session(url, SessionId::new(uuid::Uuid::new_v4())).await
    }

    /// Connects and sends Connect with `session`.
    pub async fn connect_session(url: &str, session: SessionId) -> Ws {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("ws connect");
        let mut ws = Ws { socket, next_query: 0, query_set: 0, session, next_request: 0 };
        ws.send(ClientMessage::Connect {
            session_id: session,
            connection_count: 0,
            last_close_reason: "InitialConnect".into(),
            max_observed_timestamp: None,
            client_ts: None,
        })
        .await;
        ws
    }

    pub async fn send(&mut self, message: ClientMessage) {
        let json = Json::try_from(message).expect("client message to json");
        self.socket.send(Message::Text(json.to_string().into())).await.expect("ws send");
    }

    pub async fn send_raw(&mut self, message: Message) {
        let _ = self.socket.send(message).await;
    }

    /// The next text frame (skipping WebSocket pings), parsed as JSON; None when closed.
    pub async fn recv_json(&mut self) -> Option<Json> {
        loop {
            let frame = tokio::time::timeout(TIMEOUT, self.socket.next())
                .await
                .expect("timed out waiting for a server message");
            match frame {
                Some(Ok(Message::Text(t))) => {
                    return Some(serde_json::from_str(&t).expect("server sent invalid JSON"))
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// The next server message, parsed with `convex_sync_types` (protocol Pings are skipped
    /// unless `keep_pings`).
    pub async fn recv(&mut self) -> Msg {
        loop {
            let json = self.recv_json().await.expect("socket closed");
            let message = Msg::try_from(json.clone())
                .unwrap_or_else(|e| panic!("convex_sync_types cannot parse {json}: {e}"));
            if matches!(message, ServerMessage::Ping) {
                continue;
            }
            return message;
        }
    }

    /// The close frame (code, reason) after the server closes; skips other messages.
    pub async fn recv_close(&mut self) -> Option<(u16, String)> {
        loop {
            let frame = tokio::time::timeout(TIMEOUT, self.socket.next())
                .await
                .expect("timed out waiting for close");
            match frame {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                None | Some(Err(_)) => return None,
                _ => continue,
            }
        }
    }

    /// Adds one query; returns its id.
    pub async fn add_query(&mut self, path: &str, args: Json) -> u32 {
        let id = self.next_query;
        self.next_query += 1;
        let base = self.query_set;
        self.query_set += 1;
        self.send(ClientMessage::ModifyQuerySet {
            base_version: base,
            new_version: base + 1,
            modifications: vec![QuerySetModification::Add(Query {
                query_id: QueryId::new(id),
                udf_path: path.parse::<UdfPath>().expect("udf path"),
                args: convex_sync_types::types::SerializedArgs::from_args(vec![args])
                    .expect("args"),
                journal: None,
                component_path: None,
            })],
        })
        .await;
        id
    }

    pub async fn remove_query(&mut self, id: u32) {
        let base = self.query_set;
        self.query_set += 1;
        self.send(ClientMessage::ModifyQuerySet {
            base_version: base,
            new_version: base + 1,
            modifications: vec![QuerySetModification::Remove { query_id: QueryId::new(id) }],
        })
        .await;
    }

    pub async fn authenticate(&mut self, base_version: u32, token: Option<&str>) {
        let token = match token {
            Some(t) => AuthenticationToken::User(t.to_string()),
            None => AuthenticationToken::None,
        };
        self.send(ClientMessage::Authenticate { base_version, token }).await;
    }

    /// Sends a mutation; returns its request id.
    pub async fn mutation(&mut self, path: &str, args: Json) -> u32 {
        let id = self.next_request;
        self.next_request += 1;
        self.send_mutation(id, path, args).await;
        id
    }

    pub async fn send_mutation(&mut self, request_id: u32, path: &str, args: Json) {
        self.send(ClientMessage::Mutation {
            request_id,
            udf_path: path.parse().expect("udf path"),
            args: convex_sync_types::types::SerializedArgs::from_args(vec![args]).expect("args"),
            component_path: None,
        })
        .await;
    }

    pub async fn action(&mut self, path: &str, args: Json) -> u32 {
        let id = self.next_request;
        self.next_request += 1;
        self.send(ClientMessage::Action {
            request_id: id,
            udf_path: path.parse().expect("udf path"),
            args: convex_sync_types::types::SerializedArgs::from_args(vec![args]).expect("args"),
            component_path: None,
        })
        .await;
        id
    }
}

/// The value of query `id` in a Transition's modifications, if updated there.
pub fn updated_value(message: &Msg, id: u32) -> Option<Json> {
    let ServerMessage::Transition { modifications, .. } = message else { return None };
    modifications.iter().find_map(|m| match m {
        convex_sync_types::StateModification::QueryUpdated { query_id, value, .. }
            if query_id.get_id() == id =>
        {
            Some(value.0.clone())
        }
        _ => None,
    })
}
