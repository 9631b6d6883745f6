//! [`ValueError`]: everything that can go wrong while building, encoding or decoding a Convex value.

use std::fmt::Display;

/// The error of the `value` layer: encoding to or decoding from Convex's wire JSON, converting
/// between your types and [`Value`](super::Value), and parsing ids and timestamps.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// An object field name starts with `$`, which Convex reserves for its own encodings
    /// (`$integer`, `$float`, `$bytes`). Convex rejects such names both ways.
    #[error(
        "field name `{0}` starts with `$`, which Convex reserves for its own encodings; \
         rename the field (for example with `#[serde(rename = \"...\")]`)"
    )]
    ReservedFieldName(String),

    /// A `{"$integer": …}`, `{"$float": …}` or `{"$bytes": …}` object in the wire JSON could not be
    /// decoded (bad base64, wrong length, or a payload that should have been a plain number).
    #[error("invalid `{kind}` value in Convex JSON: {reason}")]
    InvalidSpecial {
        /// The special key: `$integer`, `$float` or `$bytes`.
        kind: &'static str,
        /// What was wrong with its payload.
        reason: String,
    },

    /// An integer does not fit the target: a Rust integer wider than Convex's int64 on the way in,
    /// or a Convex number too large (or negative) for the Rust integer type on the way out.
    #[error("integer out of range: {0}")]
    IntegerOutOfRange(String),

    /// A map with non-string keys was turned into a Convex object; Convex object keys are
    /// strings. Use a `Vec` of pairs, or convert the keys to strings first.
    #[error(
        "map keys must be strings to become a Convex object; \
         convert the keys to strings or use a list of pairs"
    )]
    NonStringKey,

    /// A string is not a valid Convex document id; the message says why.
    #[error("invalid Convex document id: {0}")]
    InvalidId(String),

    /// A protocol timestamp is not the base64 of 8 little-endian bytes.
    #[error("invalid Convex timestamp: {0}")]
    InvalidTimestamp(String),

    /// The value has a different Convex type than the one required.
    #[error("expected {expected}, found {found}")]
    TypeMismatch {
        /// What was required, in words (for example "an object of named arguments").
        expected: String,
        /// The Convex type that was found ([`Value::type_name`](super::Value::type_name)).
        found: &'static str,
    },

    /// A message from serde or from your own `Serialize`/`Deserialize` implementation (a missing
    /// field, an unknown variant, …).
    #[error("{0}")]
    Custom(String),
}

impl serde::ser::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

impl serde::de::Error for ValueError {
    fn custom<T: Display>(msg: T) -> Self {
        ValueError::Custom(msg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            ValueError::TypeMismatch { expected: "an object".into(), found: "array" }.to_string(),
            "expected an object, found array"
        );
        assert!(ValueError::ReservedFieldName("$x".into()).to_string().contains("`$x`"));
        assert_eq!(
            ValueError::InvalidSpecial { kind: "$integer", reason: "bad".into() }.to_string(),
            "invalid `$integer` value in Convex JSON: bad"
        );
        let custom = <ValueError as serde::de::Error>::missing_field("title");
        assert_eq!(custom, ValueError::Custom("missing field `title`".into()));
    }
}
