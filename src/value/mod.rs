//! Convex values: the [`Value`] type, document [`Id`]s, the wire JSON ("convex encoded JSON") and
//! the serde bridges between Convex values and your own types.
//!
//! This layer owns:
//! - [`Value`], the eight Convex types (null, int64, float64, boolean, string, bytes, array,
//!   object) with Convex's equality and cross-type ordering;
//! - the wire JSON, both as [`Value::to_json`]/[`Value::from_json`] and as `Serialize`/
//!   `Deserialize` impls on [`Value`] that work through any self-describing serde format
//!   (`serde_json`, `serde-wasm-bindgen`, …);
//! - [`to_value`] and [`from_value`]/[`from_value_ref`], which turn your `#[derive(Serialize,
//!   Deserialize)]` types into [`Value`]s and back;
//! - [`Id`], a typed document id, and the protocol helpers [`encode_args`], [`encode_ts`] and
//!   [`decode_ts`].
//!
//! # Numbers
//! Convex has two number types. A JavaScript `number` is a [`Value::Float64`]; a `bigint` is a
//! [`Value::Int64`]. [`to_value`] maps Rust's small integers (`i8`…`i32`, `u8`…`u32`) and floats to
//! float64 (what `v.number()` validates) and `i64`/`u64`/`i128`/`u128` to int64 (what `v.int64()`
//! validates). On the way back, any integral float64 deserializes into any Rust integer type that
//! can hold it, and an int64 deserializes into integers and floats.
//!
//! # Optional fields
//! `None` becomes `null`. Convex's `v.optional(...)` validators accept a *missing* field, not
//! `null`; mark such fields `#[serde(skip_serializing_if = "Option::is_none")]`.
//!
//! # Example
//! ```
//! use serde::{Deserialize, Serialize};
//! use yew_convex::value::{from_value, to_value, Value};
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Post {
//!     title: String,
//!     likes: i64,
//!     score: f64,
//! }
//!
//! let post = Post { title: "Hello".into(), likes: 3, score: 4.5 };
//! let value: Value = to_value(&post)?;
//! assert_eq!(value.to_string(), r#"{likes: 3n, score: 4.5, title: "Hello"}"#);
//! assert_eq!(
//!     value.to_json()?.to_string(),
//!     r#"{"likes":{"$integer":"AwAAAAAAAAA="},"score":4.5,"title":"Hello"}"#
//! );
//! let back: Post = from_value(value)?;
//! assert_eq!(back, post);
//! # Ok::<(), yew_convex::value::ValueError>(())
//! ```

use std::{
    cmp::Ordering,
    collections::BTreeMap,
    fmt,
    hash::{Hash, Hasher},
};

mod bytes;
mod de;
mod error;
mod id;
mod json;
mod raw;
mod ser;

pub use bytes::Bytes;
pub use de::{from_value, from_value_ref};
pub(crate) use error::ShowF64;
pub use error::ValueError;
pub use id::Id;
pub use raw::RawValue;
pub(crate) use raw::Reader;
pub use ser::to_value;

/// A Convex value: what functions take as arguments and return, and what documents hold.
///
/// Equality, hashing and ordering follow Convex: float64s compare by bit pattern (`NaN == NaN`,
/// `0.0 != -0.0`) and values of different types order as
/// null < int64 < float64 < boolean < string < bytes < array < object.
///
/// Its `Serialize`/`Deserialize` impls produce and consume the wire JSON ("convex encoded JSON"),
/// like [`Value::to_json`] and [`Value::from_json`]. To convert your own types, use [`to_value`]
/// and [`from_value`].
#[derive(Clone, Debug)]
pub enum Value {
    /// `null`.
    Null,
    /// A 64-bit signed integer: a JavaScript `bigint`, validated by `v.int64()`.
    Int64(i64),
    /// A 64-bit float: a JavaScript `number`, validated by `v.number()`.
    Float64(f64),
    /// `true` or `false`.
    Boolean(bool),
    /// A UTF-8 string.
    String(String),
    /// A byte string: a JavaScript `ArrayBuffer`, validated by `v.bytes()`.
    Bytes(Vec<u8>),
    /// An array of values.
    Array(Vec<Value>),
    /// An object; field names must not start with `$`.
    Object(BTreeMap<String, Value>),
}

impl Value {
    /// A [`Value::Bytes`] (there is no `From<Vec<u8>>`, because [`to_value`] turns a `Vec<u8>`
    /// into an array of numbers, as serde sees it).
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Value {
        Value::Bytes(bytes.into())
    }

    /// The Convex name of this value's type: `"null"`, `"int64"`, `"float64"`, `"boolean"`,
    /// `"string"`, `"bytes"`, `"array"` or `"object"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int64(_) => "int64",
            Value::Float64(_) => "float64",
            Value::Boolean(_) => "boolean",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The string, if this is a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a [`Value::Float64`] (an int64 gives `None`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float64(f) => Some(*f),
            _ => None,
        }
    }

    /// The integer, if this is a [`Value::Int64`] (a float64 gives `None`, even if integral).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int64(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is a [`Value::Boolean`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The elements, if this is a [`Value::Array`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The fields, if this is a [`Value::Object`].
    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(fields) => Some(fields),
            _ => None,
        }
    }

    /// The bytes, if this is a [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }

    /// Position of the type in Convex's cross-type order.
    fn type_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Int64(_) => 1,
            Value::Float64(_) => 2,
            Value::Boolean(_) => 3,
            Value::String(_) => 4,
            Value::Bytes(_) => 5,
            Value::Array(_) => 6,
            Value::Object(_) => 7,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Int64(a), Value::Int64(b)) => a == b,
            (Value::Float64(a), Value::Float64(b)) => a.to_bits() == b.to_bits(),
            (Value::Boolean(a), Value::Boolean(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.type_rank().hash(state);
        match self {
            Value::Null => {}
            Value::Int64(n) => n.hash(state),
            Value::Float64(f) => f.to_bits().hash(state),
            Value::Boolean(b) => b.hash(state),
            Value::String(s) => s.hash(state),
            Value::Bytes(b) => b.hash(state),
            Value::Array(items) => items.hash(state),
            Value::Object(fields) => fields.hash(state),
        }
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Int64(a), Value::Int64(b)) => a.cmp(b),
            // `total_cmp` is `Equal` exactly when the bit patterns are equal, so this agrees
            // with `PartialEq`.
            (Value::Float64(a), Value::Float64(b)) => a.total_cmp(b),
            (Value::Boolean(a), Value::Boolean(b)) => a.cmp(b),
            (Value::String(a), Value::String(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
            (Value::Array(a), Value::Array(b)) => a.cmp(b),
            (Value::Object(a), Value::Object(b)) => a.cmp(b),
            _ => self.type_rank().cmp(&other.type_rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int64(n)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float64(f)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Boolean(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(fields: BTreeMap<String, Value>) -> Value {
        Value::Object(fields)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    /// `None` becomes [`Value::Null`].
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// Convex's display style: `{a: 1.0, b: "x", n: 5n}`, `[null, true]`, bytes as `b"<base64>"`.
/// Field names that are not plain identifiers are quoted.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Int64(n) => write!(f, "{n}n"),
            Value::Float64(x) => write!(f, "{}", error::ShowF64(*x)),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::Bytes(b) => write!(f, "b\"{}\"", json::encode_base64(b)),
            Value::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if is_identifier(key) {
                        write!(f, "{key}: {value}")?;
                    } else {
                        write!(f, "{key:?}: {value}")?;
                    }
                }
                f.write_str("}")
            }
        }
    }
}

/// Whether `key` can be printed unquoted: ASCII letters, digits and `_`, not starting with a digit.
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The JSON text of the function arguments Convex expects: the one-element array `[args]`, with
/// `args` in wire JSON. Used for queries, mutations and actions, over the WebSocket and HTTP.
///
/// `args` must be a [`Value::Object`] (use an empty object for a function without arguments);
/// anything else is a [`ValueError::TypeMismatch`]. Encoding errors (such as a `$`-prefixed field
/// name) are passed on.
pub fn encode_args(args: &Value) -> Result<String, ValueError> {
    if !matches!(args, Value::Object(_)) {
        return Err(ValueError::TypeMismatch {
            expected: "an object of named arguments".to_owned(),
            found: args.type_name(),
        });
    }
    // Straight from the value's own wire serialisation; only on failure is the value walked
    // again, to report the precise error.
    serde_json::to_string(&[args]).map_err(|e| match reserved_field(args) {
        Some(key) => ValueError::ReservedFieldName(key.to_owned()),
        None => ValueError::Custom(e.to_string()),
    })
}

/// The first `$`-prefixed field name in `value` (the only way its serialisation can fail).
fn reserved_field(value: &Value) -> Option<&str> {
    match value {
        Value::Array(items) => items.iter().find_map(reserved_field),
        Value::Object(fields) => fields.iter().find_map(|(key, value)| {
            if key.starts_with('$') {
                Some(key.as_str())
            } else {
                reserved_field(value)
            }
        }),
        _ => None,
    }
}

pub(crate) use json::push_json_string;
pub(crate) use json::{decode_base64 as decode_base64_lenient, encode_base64 as encode_base64_std};

/// Encodes a protocol timestamp (`maxObservedTimestamp`, `Version.ts`, `MutationResponse.ts`): the
/// standard base64, with padding, of the 8 little-endian bytes of `ts`.
pub fn encode_ts(ts: u64) -> String {
    json::encode_base64(&ts.to_le_bytes())
}

/// Decodes a protocol timestamp written by [`encode_ts`] (also accepting the URL-safe alphabet and
/// missing padding).
pub fn decode_ts(s: &str) -> Result<u64, ValueError> {
    let bytes = json::decode_base64(s)
        .map_err(|e| ValueError::InvalidTimestamp(format!("`{s}` is not base64 ({e})")))?;
    let bytes: [u8; 8] = bytes.try_into().map_err(|b: Vec<u8>| {
        ValueError::InvalidTimestamp(format!("`{s}` decodes to {} bytes, expected 8", b.len()))
    })?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn obj(fields: &[(&str, Value)]) -> Value {
        Value::Object(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn hash_of(v: &Value) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn floats_compare_by_bit_pattern() {
        assert_eq!(Value::Float64(f64::NAN), Value::Float64(f64::NAN));
        assert_ne!(Value::Float64(0.0), Value::Float64(-0.0));
        assert_eq!(hash_of(&Value::Float64(f64::NAN)), hash_of(&Value::Float64(f64::NAN)));
        assert_ne!(Value::Int64(1), Value::Float64(1.0));
        assert!(Value::Float64(-0.0) < Value::Float64(0.0));
        assert!(Value::Float64(f64::INFINITY) < Value::Float64(f64::NAN));
    }

    #[test]
    fn types_order_as_convex_does() {
        let ascending = [
            Value::Null,
            Value::Int64(i64::MAX),
            Value::Float64(f64::NEG_INFINITY),
            Value::Boolean(false),
            Value::from(""),
            Value::bytes(vec![]),
            Value::Array(vec![]),
            Value::Object(BTreeMap::new()),
        ];
        for pair in ascending.windows(2) {
            assert!(pair[0] < pair[1], "{} should sort before {}", pair[0], pair[1]);
        }
        assert!(Value::Int64(-5) < Value::Int64(3));
        assert!(Value::from(vec![Value::Null]) < Value::from(vec![Value::Null, Value::Null]));
    }

    #[test]
    fn helpers_only_answer_for_their_own_type() {
        assert_eq!(Value::Int64(5).as_i64(), Some(5));
        assert_eq!(Value::Float64(5.0).as_i64(), None);
        assert_eq!(Value::Int64(5).as_f64(), None);
        assert_eq!(Value::from("x").as_str(), Some("x"));
        assert_eq!(Value::from(true).as_bool(), Some(true));
        assert_eq!(Value::bytes(vec![1, 2]).as_bytes(), Some(&[1u8, 2][..]));
        assert_eq!(Value::from(vec![Value::Null]).as_array().map(<[Value]>::len), Some(1));
        assert!(obj(&[]).as_object().is_some());
        assert!(Value::from(None::<i64>).is_null());
        assert_eq!(Value::from(Some(2.5)), Value::Float64(2.5));
        assert_eq!(Value::Bytes(vec![]).type_name(), "bytes");
    }

    #[test]
    fn display_uses_convex_style() {
        let v = obj(&[
            ("a", Value::Float64(1.0)),
            ("b", Value::from("x")),
            ("n", Value::Int64(5)),
            ("list", Value::from(vec![Value::Null, Value::Boolean(true), Value::bytes(vec![1])])),
            ("odd key", Value::Float64(f64::NAN)),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{a: 1.0, b: "x", list: [null, true, b"AQ=="], n: 5n, "odd key": NaN}"#
        );
    }

    #[test]
    fn encode_args_wraps_the_object_in_an_array() {
        let args = obj(&[("b", Value::Int64(1)), ("a", Value::from("x"))]);
        assert_eq!(encode_args(&args).unwrap(), r#"[{"a":"x","b":{"$integer":"AQAAAAAAAAA="}}]"#);
        assert_eq!(encode_args(&obj(&[])).unwrap(), "[{}]");
    }

    #[test]
    fn encode_args_rejects_non_objects_and_reserved_names() {
        assert_eq!(
            encode_args(&Value::from(vec![])),
            Err(ValueError::TypeMismatch {
                expected: "an object of named arguments".into(),
                found: "array"
            })
        );
        assert_eq!(
            encode_args(&obj(&[("$id", Value::Null)])),
            Err(ValueError::ReservedFieldName("$id".into()))
        );
    }

    #[test]
    fn timestamps_are_base64_of_little_endian_bytes() {
        assert_eq!(encode_ts(0), "AAAAAAAAAAA=");
        assert_eq!(encode_ts(1), "AQAAAAAAAAA=");
        assert_eq!(encode_ts(u64::MAX), "//////////8=");
        assert_eq!(decode_ts("AQAAAAAAAAA=").unwrap(), 1);
        assert_eq!(decode_ts("AQAAAAAAAAA").unwrap(), 1);
        assert_eq!(decode_ts("__________8").unwrap(), u64::MAX);
        for ts in [0, 1, 1_700_000_000_000_000_000, u64::MAX] {
            assert_eq!(decode_ts(&encode_ts(ts)).unwrap(), ts);
        }
    }

    #[test]
    fn bad_timestamps_are_rejected() {
        assert!(
            matches!(decode_ts("AQAA"), Err(ValueError::InvalidTimestamp(m)) if m.contains("3 bytes"))
        );
        assert!(matches!(decode_ts("not base64!"), Err(ValueError::InvalidTimestamp(_))));
    }
}
