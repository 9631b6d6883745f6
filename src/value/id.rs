//! [`Id`]: a Convex document id, typed by the table it points into.

use std::{
    borrow::Borrow,
    cmp::Ordering,
    fmt,
    hash::{Hash, Hasher},
    marker::PhantomData,
    str::FromStr,
};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{Value, ValueError};

/// A Convex document id (its string form, as `v.id("posts")` validates), typed by a marker for
/// its table: `Id<Post>`. The marker only guides the compiler; [`Id::cast`] changes it.
///
/// It serializes as a plain string, so it works as a field in your `Serialize`/`Deserialize`
/// structs. Deserializing does not check the format (the server is trusted); [`Id::parse`] does.
/// All trait impls work for any marker type (no `T: Clone` etc. needed), and the marker never
/// affects `Send`/`Sync`.
///
/// ```
/// # use yew_convex::value::Id;
/// struct Post;
/// let id: Id<Post> = Id::parse("z43zp6c3e75gkmz1kfwj6mbbx5sw281h").unwrap();
/// assert_eq!(id.to_string(), "z43zp6c3e75gkmz1kfwj6mbbx5sw281h");
/// assert!(Id::<Post>::parse("not-an-id").is_err());
/// ```
pub struct Id<T = ()> {
    id: String,
    table: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    /// Wraps a string as an id without checking it.
    pub fn new(id: impl Into<String>) -> Id<T> {
        Id { id: id.into(), table: PhantomData }
    }

    /// Parses a string in Convex's id format, checking it entirely: the lowercase Crockford base32
    /// alphabet (`0123456789abcdefghjkmnpqrstvwxyz`), 31 to 37 characters, a non-zero table number
    /// (VInt), a 16-byte internal id and the Fletcher-16 checksum footer, canonically encoded.
    pub fn parse(s: &str) -> Result<Id<T>, ValueError> {
        check_format(s)?;
        Ok(Id::new(s))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.id
    }

    /// The same id with another table marker.
    pub fn cast<U>(self) -> Id<U> {
        Id::new(self.id)
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        Id::new(self.id.clone())
    }
}

impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({:?})", self.id)
    }
}

impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl<T> PartialEq for Id<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<T> Eq for Id<T> {}

impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Id<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.id.cmp(&other.id)
    }
}

impl<T> AsRef<str> for Id<T> {
    fn as_ref(&self) -> &str {
        &self.id
    }
}

/// Hashes and compares like the string, so a `HashMap<Id<T>, _>` can be searched with a `&str`.
impl<T> Borrow<str> for Id<T> {
    fn borrow(&self) -> &str {
        &self.id
    }
}

/// [`Id::parse`].
impl<T> FromStr for Id<T> {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, ValueError> {
        Id::parse(s)
    }
}

impl<T> Serialize for Id<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.id)
    }
}

impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Id::new)
    }
}

impl<T> From<Id<T>> for Value {
    fn from(id: Id<T>) -> Value {
        Value::String(id.id)
    }
}

/// A [`Value::String`] becomes an id (unchecked, like deserializing); anything else is a
/// [`ValueError::TypeMismatch`].
impl<T> TryFrom<Value> for Id<T> {
    type Error = ValueError;

    fn try_from(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::String(s) => Ok(Id::new(s)),
            other => Err(ValueError::TypeMismatch {
                expected: "a document id (a string)".to_owned(),
                found: other.type_name(),
            }),
        }
    }
}

/// Convex's base32 alphabet: Crockford's, lowercase (no `i`, `l`, `o`, `u`).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Bytes of the internal id.
const INTERNAL_ID_LEN: usize = 16;
/// Bytes of the checksum footer.
const FOOTER_LEN: usize = 2;
/// Shortest and longest ids: a 1- to 5-byte VInt table number + 16 + 2 bytes, in base32.
const MIN_LEN: usize = 31;
const MAX_LEN: usize = 37;

/// Base32 characters needed for `bytes` bytes.
fn encoded_len(bytes: usize) -> usize {
    (bytes * 8).div_ceil(5)
}

/// The value of a base32 character.
fn digit(c: u8) -> Option<u8> {
    ALPHABET.iter().position(|&a| a == c).and_then(|i| u8::try_from(i).ok())
}

/// `s` for an error message, shortened if very long.
fn shown(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((end, _)) => format!("`{}…`", &s[..end]),
        None => format!("`{s}`"),
    }
}

/// Decodes base32 (most significant bits first, no padding). The bits left over after the last
/// whole byte must be zero, so that each byte string has exactly one encoding.
fn decode_base32(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in s.bytes() {
        let d = digit(c).ok_or_else(|| {
            format!(
                "{} contains {:?}, which is not in Convex's id alphabet \
                 `0123456789abcdefghjkmnpqrstvwxyz`",
                shown(s),
                char::from(c)
            )
        })?;
        buffer = (buffer << 5) | u32::from(d);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            // Keeps the low 8 of the top bits; the mask makes the truncation explicit.
            out.push(((buffer >> bits) & 0xff) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    if buffer != 0 || encoded_len(out.len()) != s.len() {
        return Err(format!("{} is not canonically encoded", shown(s)));
    }
    Ok(out)
}

/// Reads a VInt (7-bit groups, least significant first, high bit = more follows) of at most 5
/// bytes, returning the number and the bytes read. Overlong encodings are rejected.
fn read_vint(bytes: &[u8]) -> Option<(u32, usize)> {
    let mut n: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A final zero group after others would be an overlong encoding.
            if i > 0 && b == 0 {
                return None;
            }
            return u32::try_from(n).ok().map(|n| (n, i + 1));
        }
    }
    None
}

/// Fletcher-16 with modulus 256, as Convex computes it.
pub(crate) fn fletcher16(bytes: &[u8]) -> u16 {
    let (mut c0, mut c1) = (0u8, 0u8);
    for &b in bytes {
        c0 = c0.wrapping_add(b);
        c1 = c1.wrapping_add(c0);
    }
    (u16::from(c1) << 8) | u16::from(c0)
}

/// Checks Convex's id format; see [`Id::parse`].
fn check_format(s: &str) -> Result<(), ValueError> {
    let invalid = |reason: String| ValueError::InvalidId(reason);
    if !(MIN_LEN..=MAX_LEN).contains(&s.len()) {
        return Err(invalid(format!(
            "{} has {} characters; Convex ids have {MIN_LEN} to {MAX_LEN}",
            shown(s),
            s.len()
        )));
    }
    let bytes = decode_base32(s).map_err(invalid)?;
    let Some((table, vint_len)) = read_vint(&bytes) else {
        return Err(invalid(format!("{} does not start with a valid table number", shown(s))));
    };
    if table == 0 {
        return Err(invalid(format!("{} has table number 0", shown(s))));
    }
    if bytes.len() != vint_len + INTERNAL_ID_LEN + FOOTER_LEN {
        return Err(invalid(format!("{} has the wrong length for its table number", shown(s))));
    }
    let (body, footer) = bytes.split_at(vint_len + INTERNAL_ID_LEN);
    let expected = fletcher16(body);
    if footer != expected.to_le_bytes() {
        return Err(invalid(format!("{} fails its checksum (a typo, or not an id)", shown(s))));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::{Deserialize, Serialize};

    use super::*;

    struct Post;
    struct User;

    /// Encodes an id as Convex does: VInt(table) + internal id + fletcher16 footer, base32.
    pub(super) fn encode_id(table: u32, internal: [u8; 16]) -> String {
        let mut bytes = Vec::new();
        let mut n = table;
        while n >= 0x80 {
            bytes.push((n & 0x7f) as u8 | 0x80);
            n >>= 7;
        }
        bytes.push(n as u8);
        bytes.extend_from_slice(&internal);
        let footer = fletcher16(&bytes);
        bytes.extend_from_slice(&footer.to_le_bytes());
        encode_base32(&bytes)
    }

    fn encode_base32(bytes: &[u8]) -> String {
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0);
        for &b in bytes {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
            }
            buffer &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    fn sample_internal_id() -> [u8; 16] {
        let mut internal = [251u8; 16];
        for i in 1..16 {
            internal[i] = internal[i - 1].wrapping_mul(251);
        }
        internal
    }

    #[test]
    fn parses_convex_reference_id() {
        // Convex's own stability test: table 1017 with this internal id.
        let s = "z43zp6c3e75gkmz1kfwj6mbbx5sw281h";
        assert_eq!(encode_id(1017, sample_internal_id()), s);
        let id: Id<Post> = Id::parse(s).unwrap();
        assert_eq!(id.as_str(), s);
    }

    #[test]
    fn parses_ids_of_every_length() {
        for table in [1, 127, 128, 10_001, 1 << 21, 1 << 28, u32::MAX] {
            let s = encode_id(table, sample_internal_id());
            assert!((MIN_LEN..=MAX_LEN).contains(&s.len()), "{s}");
            assert!(Id::<()>::parse(&s).is_ok(), "table {table}: {s}");
        }
        assert_eq!(encode_id(10_001, [0; 16]).len(), 32);
    }

    #[test]
    fn rejects_malformed_ids() {
        let good = encode_id(10_001, sample_internal_id());
        let reason = |s: &str| match Id::<()>::parse(s) {
            Err(ValueError::InvalidId(reason)) => reason,
            other => panic!("{s} parsed as {other:?}"),
        };
        assert!(reason("abc").contains("has 3 characters"));
        assert!(reason(&"x".repeat(100)).contains('…'));
        let upper = good.to_uppercase();
        assert!(reason(&upper).contains("not in Convex's id alphabet"));
        let with_u = format!("u{}", &good[1..]);
        assert!(reason(&with_u).contains("'u'"));
        // One character changed: the checksum catches it.
        let last = good.as_bytes()[5];
        let swapped = if last == b'0' { '1' } else { '0' };
        let typo = format!("{}{}{}", &good[..5], swapped, &good[6..]);
        assert!(reason(&typo).contains("checksum"), "{}", reason(&typo));
        // Zero table number.
        assert!(reason(&encode_id(0, [1; 16])).contains("table number 0"));
        // Convex's own non-canonical example.
        assert!(Id::<()>::parse("mz1xn7tymdnktmmzqy5xxhn7tjs2nkkfmtjjr").is_err());
        // Looks like a one-byte table number but is not (Convex's regression case).
        assert!(Id::<()>::parse("sssswsgggggggggsgcsssfafffsffks").is_err());
        // An extra character.
        assert!(Id::<()>::parse(&format!("{good}0")).is_err());
    }

    #[test]
    fn rejects_non_canonical_trailing_bits() {
        // 32 characters carry 160 bits = 20 bytes exactly; 31 carry 155 = 19 bytes + 3 bits.
        let s = encode_id(1, [7; 16]);
        assert_eq!(s.len(), 31);
        assert!(Id::<()>::parse(&s).is_ok());
        let last = digit(s.as_bytes()[30]).unwrap();
        let bumped = ALPHABET[usize::from(last | 1)] as char;
        if bumped != s.as_bytes()[30] as char {
            let odd = format!("{}{}", &s[..30], bumped);
            assert!(Id::<()>::parse(&odd).is_err());
        }
    }

    #[test]
    fn rejects_overlong_table_numbers() {
        // Table 1 written as two VInt bytes [0x81, 0x00].
        let mut bytes = vec![0x81, 0x00];
        bytes.extend_from_slice(&[3; 16]);
        let footer = fletcher16(&bytes);
        bytes.extend_from_slice(&footer.to_le_bytes());
        let s = encode_base32(&bytes);
        assert!(matches!(Id::<()>::parse(&s), Err(ValueError::InvalidId(_))));
    }

    #[test]
    fn traits_need_no_bounds_on_the_marker() {
        let a: Id<User> = Id::new("a");
        let b = a.clone();
        assert_eq!(a, b);
        assert!(Id::<User>::new("a") < Id::new("b"));
        assert_eq!(format!("{a:?}"), r#"Id("a")"#);
        assert_eq!(a.to_string(), "a");
        let mut map = HashMap::new();
        map.insert(a.clone(), 1);
        assert_eq!(map.get("a"), Some(&1));
        let post: Id<Post> = a.cast();
        assert_eq!(post.into_string(), "a");
        fn assert_send_sync<S: Send + Sync>() {}
        assert_send_sync::<Id<std::rc::Rc<()>>>();
    }

    #[test]
    fn converts_to_and_from_values_as_a_string() {
        let id: Id<Post> = Id::new("abc");
        assert_eq!(Value::from(id.clone()), Value::from("abc"));
        assert_eq!(Id::<Post>::try_from(Value::from("abc")).unwrap(), id);
        assert_eq!(
            Id::<Post>::try_from(Value::Int64(1)),
            Err(ValueError::TypeMismatch {
                expected: "a document id (a string)".into(),
                found: "int64"
            })
        );
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Doc {
            author: Id<User>,
        }
        let doc = Doc { author: Id::new("k123") };
        assert_eq!(serde_json::to_string(&doc).unwrap(), r#"{"author":"k123"}"#);
        assert_eq!(serde_json::from_str::<Doc>(r#"{"author":"k123"}"#).unwrap(), doc);
        let value = crate::value::to_value(&doc).unwrap();
        assert_eq!(crate::value::from_value::<Doc>(value).unwrap(), doc);
        assert_eq!("k".parse::<Id<User>>().map_err(|_| ()), Err(()));
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Id::<()>::parse(&s);
        }

        /// Every accepted string is the one encoding of its bytes.
        #[test]
        fn accepted_ids_are_canonical(s in "[0123456789abcdefghjkmnpqrstvwxyz]{31,37}") {
            if Id::<()>::parse(&s).is_ok() {
                let bytes = decode_base32(&s).unwrap();
                let (table, len) = read_vint(&bytes).unwrap();
                prop_assert!(table > 0);
                prop_assert_eq!(bytes.len(), len + INTERNAL_ID_LEN + FOOTER_LEN);
            }
        }

        #[test]
        fn encoded_ids_parse(table in 1u32.., internal in any::<[u8; 16]>()) {
            let s = super::tests::encode_id(table, internal);
            prop_assert!(Id::<()>::parse(&s).is_ok(), "{}", s);
        }
    }
}
