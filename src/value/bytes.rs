//! [`Bytes`]: Convex bytes (`v.bytes()`) as a field of your own types.

use std::{fmt, ops::Deref};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Convex bytes (`v.bytes()`, an `ArrayBuffer` in JavaScript) for serde structs. A plain
/// `Vec<u8>` is a sequence in serde (an array of numbers on the wire); this serializes as bytes
/// (`{"$bytes": base64}`).
///
/// ```
/// use yew_convex::value::{to_value, from_value, Bytes, Value};
/// let v = to_value(&Bytes::from(vec![1u8, 2, 3])).unwrap();
/// assert_eq!(v, Value::bytes(vec![1, 2, 3]));
/// assert_eq!(from_value::<Bytes>(v).unwrap().as_slice(), &[1, 2, 3]);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Bytes;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(v.to_vec()))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
                Ok(Bytes(v))
            }
        }
        deserializer.deserialize_byte_buf(Visitor)
    }
}
