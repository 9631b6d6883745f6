//! [`ValueError`]: everything that can go wrong while building, encoding or decoding a Convex value.

use std::fmt::Display;

use serde::de::{Expected, Unexpected};

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

    // serde's own wording, with floats shown through [`ShowF64`] (serde's `Unexpected` display
    // would bring in core's float formatting).
    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ValueError::Custom(format!("invalid type: {}, expected {exp}", ShowUnexpected(unexp)))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        ValueError::Custom(format!("invalid value: {}, expected {exp}", ShowUnexpected(unexp)))
    }
}

/// A float as the shortest text that reads back the same (`1.0`, `0.1`, `1e100`, `NaN`, `inf`),
/// without core's float formatting.
pub(crate) struct ShowF64(pub(crate) f64);

impl Display for ShowF64 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(zmij::Buffer::new().format(self.0))
    }
}

/// serde's `Unexpected`, worded as serde words it.
struct ShowUnexpected<'a>(Unexpected<'a>);

impl Display for ShowUnexpected<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Unexpected::Bool(b) => write!(f, "boolean `{b}`"),
            Unexpected::Unsigned(n) => write!(f, "integer `{n}`"),
            Unexpected::Signed(n) => write!(f, "integer `{n}`"),
            Unexpected::Float(x) => write!(f, "floating point `{}`", ShowF64(x)),
            Unexpected::Char(c) => write!(f, "character `{c}`"),
            Unexpected::Str(s) => write!(f, "string {s:?}"),
            Unexpected::Bytes(_) => f.write_str("byte array"),
            Unexpected::Unit => f.write_str("unit value"),
            Unexpected::Option => f.write_str("Option value"),
            Unexpected::NewtypeStruct => f.write_str("newtype struct"),
            Unexpected::Seq => f.write_str("sequence"),
            Unexpected::Map => f.write_str("map"),
            Unexpected::Enum => f.write_str("enum"),
            Unexpected::UnitVariant => f.write_str("unit variant"),
            Unexpected::NewtypeVariant => f.write_str("newtype variant"),
            Unexpected::TupleVariant => f.write_str("tuple variant"),
            Unexpected::StructVariant => f.write_str("struct variant"),
            Unexpected::Other(other) => f.write_str(other),
        }
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

    #[test]
    fn serde_messages_read_as_serde_writes_them_floats_included() {
        use serde::de::Error as _;
        // serde's own `Unexpected` display, for comparison (it formats floats with core's fmt).
        let theirs = |u: Unexpected<'_>| format!("invalid type: {u}, expected a string");
        for u in [
            Unexpected::Float(7.5),
            Unexpected::Float(1.0),
            Unexpected::Float(-0.001),
            Unexpected::Bool(true),
            Unexpected::Unsigned(3),
            Unexpected::Signed(-3),
            Unexpected::Char('x'),
            Unexpected::Str("a\"b"),
            Unexpected::Bytes(b"x"),
            Unexpected::Unit,
            Unexpected::Option,
            Unexpected::NewtypeStruct,
            Unexpected::Seq,
            Unexpected::Map,
            Unexpected::Enum,
            Unexpected::UnitVariant,
            Unexpected::NewtypeVariant,
            Unexpected::TupleVariant,
            Unexpected::StructVariant,
            Unexpected::Other("thing"),
        ] {
            assert_eq!(ValueError::invalid_type(u, &"a string"), ValueError::Custom(theirs(u)));
        }
        assert_eq!(
            ValueError::invalid_value(Unexpected::Float(0.1), &"a whole number"),
            ValueError::Custom(
                "invalid value: floating point `0.1`, expected a whole number".into()
            )
        );
        for (x, shown) in
            [(1.0, "1.0"), (0.1, "0.1"), (-2.5, "-2.5"), (f64::NAN, "NaN"), (f64::INFINITY, "inf")]
        {
            assert_eq!(ShowF64(x).to_string(), shown);
        }
    }
}
