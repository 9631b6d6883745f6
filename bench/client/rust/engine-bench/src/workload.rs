//! The same workload as `web/workload.js`, byte for byte: ~1 KB values for `bench:item {i}` and
//! the Transition texts that update them.

use std::fmt::Write;

use yew_convex::value::encode_ts;

/// The ts of the fake server's first Transition (`web/fake_server.js`).
pub const FIRST_TS: u64 = 1000;

const LOREM: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. ";

#[derive(Debug, Clone, Copy)]
pub struct Version {
    pub query_set: u32,
    pub identity: u32,
    pub ts: u64,
}

fn version_json(out: &mut String, v: Version) {
    let _ = write!(
        out,
        r#"{{"querySet":{},"identity":{},"ts":"{}"}}"#,
        v.query_set,
        v.identity,
        encode_ts(v.ts)
    );
}

/// `itemValue(i, rev)` of workload.js, as JSON text (keys ascending, as a Convex backend writes them).
pub fn item_value(out: &mut String, i: u32, rev: u32) {
    let body: String = LOREM.repeat(3).chars().take(813).collect();
    let score = f64::from(i) * 1.25;
    let _ = write!(
        out,
        r#"{{"_creationTime":{},"_id":"j57{i:029}","author":"user_{}","body":"{body}","done":{},"i":{i},"rev":{rev},"score":{score},"tags":["alpha","beta","gamma","delta"],"title":"Item {i} revision {rev}"}}"#,
        1_764_000_000_000u64 + u64::from(i),
        i % 97,
        rev % 2 == 1,
    );
}

/// `transitionText(start, end, updates)` of workload.js; each update is `(query id = i, rev)`.
pub fn transition_text(
    start: Version,
    end: Version,
    updates: impl Iterator<Item = (u32, u32)>,
) -> String {
    let mut out = String::from(r#"{"type":"Transition","startVersion":"#);
    version_json(&mut out, start);
    out.push_str(r#","endVersion":"#);
    version_json(&mut out, end);
    out.push_str(r#","modifications":["#);
    for (k, (q, rev)) in updates.enumerate() {
        if k > 0 {
            out.push(',');
        }
        let _ = write!(out, r#"{{"type":"QueryUpdated","queryId":{q},"value":"#);
        item_value(&mut out, q, rev);
        out.push_str(r#","logLines":[],"journal":null}"#);
    }
    out.push_str("]}");
    out
}
