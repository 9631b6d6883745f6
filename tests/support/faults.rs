//! The fault proxy (`e2e/src/faults.rs`) that `scripts/with-faults` starts in front of its own
//! devserver: its control API, the URLs it exports at build time, and the schedule's random
//! source. Used by `tests/faults.rs` and `tests/auth_stress.rs`.

const UNSET: &str =
    "set by scripts/with-faults (run by scripts/test), which starts the fault proxy";

/// The proxy's control API.
pub fn control_url() -> &'static str {
    option_env!("FAULTS_CONTROL_URL").unwrap_or_else(|| panic!("FAULTS_CONTROL_URL: {UNSET}"))
}

/// Where clients connect: the devserver through the proxy.
pub fn proxy_url() -> &'static str {
    option_env!("FAULTS_PROXY_URL").unwrap_or_else(|| panic!("FAULTS_PROXY_URL: {UNSET}"))
}

/// The devserver itself (its HTTP API and token endpoint, which the faults do not touch).
pub fn devserver_url() -> &'static str {
    option_env!("FAULTS_DEVSERVER_URL").unwrap_or_else(|| panic!("FAULTS_DEVSERVER_URL: {UNSET}"))
}

/// `GET {control}{path}`; the JSON reply.
pub async fn control(path: &str) -> serde_json::Value {
    let url = format!("{}{path}", control_url());
    let response = gloo_net::http::Request::get(&url).send().await.expect("fault proxy");
    let text = response.text().await.expect("body");
    assert!(response.ok(), "{url}: {text}");
    serde_json::from_str(&text).expect("json")
}

/// `POST {devserver}/api/query` with `{}` args, straight to the devserver; `None` while it
/// does not answer (restarting).
pub async fn query(path: &str) -> Option<serde_json::Value> {
    let body = serde_json::json!({"path": path, "args": {}, "format": "json"}).to_string();
    let response = gloo_net::http::Request::post(&format!("{}/api/query", devserver_url()))
        .header("Content-Type", "application/json")
        .body(body)
        .ok()?
        .send()
        .await
        .ok()?;
    let reply: serde_json::Value = serde_json::from_str(&response.text().await.ok()?).ok()?;
    (reply["status"] == "success").then(|| reply["value"].clone())
}

/// The schedule's seed: `FAULTS_SEED` at build time repeats a run's sequence of fault choices
/// (not their timing); by default each run draws a new one. Printed by the tests.
pub fn seed() -> u64 {
    option_env!("FAULTS_SEED")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(js_sys::Date::now() as u64)
        | 1
}

/// A small deterministic generator for the fault schedule.
pub struct Rng(pub u64);

impl Rng {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}
