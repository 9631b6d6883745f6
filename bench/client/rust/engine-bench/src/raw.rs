//! Prototype: a Transition whose values stay raw JSON text (validated and copied, not decoded
//! into `Value`s): a lower bound for an engine that decoded values lazily.

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RawTransition<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    start_version: RawVersion,
    end_version: RawVersion,
    modifications: Vec<RawModification<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct RawVersion {
    query_set: u32,
    identity: u32,
    ts: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct RawModification<'a> {
    #[serde(rename = "type", borrow)]
    kind: &'a str,
    query_id: u32,
    value: Option<Box<RawValue>>,
    #[serde(default)]
    log_lines: Vec<String>,
    journal: Option<String>,
}

pub fn parse(text: &str) -> serde_json::Result<RawTransition<'_>> {
    serde_json::from_str(text)
}
