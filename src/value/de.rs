//! [`from_value`] and [`from_value_ref`]: a serde `Deserializer` over `&Value` that turns Convex
//! values into any `Deserialize` type.

use std::{collections::btree_map, iter, slice};

use serde::{
    de::{
        self,
        value::{BorrowedStrDeserializer, MapDeserializer, SeqDeserializer},
        DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor,
    },
    Deserialize,
};

use super::{json, Value, ValueError};

/// Converts a Convex [`Value`] into any `Deserialize` type.
///
/// - A float64 that is a whole number deserializes into any Rust integer type that can hold it;
///   an int64 into any integer type that can hold it, and into `f32`/`f64`. Anything else is a
///   [`ValueError::IntegerOutOfRange`] or a [`ValueError::TypeMismatch`].
/// - null → `()`, `None`, unit structs; strings → `String`, `&str`, `char`, unit enum variants;
///   bytes → byte buffers and `Vec<u8>`; arrays → sequences and tuples; objects → maps, structs and
///   externally tagged enums (`{"Variant": …}`).
/// - Types that ask for "any" value (untagged or internally tagged enums, `serde_json::Value`) see
///   an integral float64 up to 2^53 as an integer, as serde-wasm-bindgen reports JS numbers.
/// - Deserializing a [`Value`] gives back the same value, int64s included (an object with a
///   `$`-prefixed field name, which Convex rejects anyway, is a [`ValueError::ReservedFieldName`]).
///
/// ```
/// # use yew_convex::value::{from_value, Value};
/// let n: u8 = from_value(Value::Float64(7.0)).unwrap();
/// assert_eq!(n, 7);
/// let list: Vec<i64> = from_value(Value::from(vec![Value::Int64(1), Value::Float64(2.0)])).unwrap();
/// assert_eq!(list, [1, 2]);
/// assert!(from_value::<u8>(Value::Float64(7.5)).is_err());
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    from_value_ref(&value)
}

/// Like [`from_value`], from a shared reference, so a value held elsewhere (a query result in a
/// cache) needs no deep copy first.
pub fn from_value_ref<T: DeserializeOwned>(value: &Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

pub(super) fn mismatch(expected: &str, found: &Value) -> ValueError {
    ValueError::TypeMismatch { expected: expected.to_owned(), found: found.type_name() }
}

/// 2^127 (exact in f64): whole floats in `-2^127..2^127` convert to `i128` without saturating.
const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

/// JavaScript's `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// The integer a number value holds exactly, for the integer deserializers.
pub(super) fn integer(value: &Value, target: &str) -> Result<i128, ValueError> {
    match *value {
        Value::Int64(n) => Ok(n.into()),
        Value::Float64(f) if f.is_finite() && f.fract() == 0.0 => {
            if (-TWO_POW_127..TWO_POW_127).contains(&f) {
                // In range and whole, so the conversion is exact.
                Ok(f as i128)
            } else {
                Err(ValueError::IntegerOutOfRange(format!("{f} does not fit in {target}")))
            }
        }
        Value::Float64(_) => Err(mismatch(&format!("a whole number for {target}"), value)),
        _ => Err(mismatch(&format!("a number for {target}"), value)),
    }
}

/// A float64 that JavaScript would treat as a safe integer (not `-0.0`).
pub(super) fn safe_integer(f: f64) -> Option<i64> {
    let whole = f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER;
    // `-0.0` would lose its sign as an integer.
    (whole && !(f == 0.0 && f.is_sign_negative())).then_some(f as i64)
}

/// `n` as the integer type `ty` names, or [`ValueError::IntegerOutOfRange`] (both decoders).
pub(super) fn fit<T: TryFrom<i128>>(n: i128, ty: &str) -> Result<T, ValueError> {
    T::try_from(n).map_err(|_| ValueError::IntegerOutOfRange(format!("{n} does not fit in {ty}")))
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident($ty:ty);)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            let n = integer(self, stringify!($ty))?;
            visitor.$visit(fit::<$ty>(n, stringify!($ty))?)
        }
    )*};
}

fn visit_array<'de, V: Visitor<'de>>(
    items: &'de [Value],
    visitor: V,
) -> Result<V::Value, ValueError> {
    let mut seq = SeqRef { iter: items.iter() };
    let out = visitor.visit_seq(&mut seq)?;
    match seq.iter.len() {
        0 => Ok(out),
        left => {
            let expected = format!("{} elements", items.len() - left);
            Err(de::Error::invalid_length(items.len(), &expected.as_str()))
        }
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    fields: &'de btree_map::BTreeMap<String, Value>,
    visitor: V,
) -> Result<V::Value, ValueError> {
    visitor.visit_map(MapRef { iter: fields.iter(), value: None })
}

/// Deserializes borrowed data out of a [`Value`]; used by [`from_value_ref`].
impl<'de> de::Deserializer<'de> for &'de Value {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            Value::Int64(n) => visitor.visit_i64(*n),
            Value::Float64(f) => match safe_integer(*f) {
                Some(n) if n >= 0 => visitor.visit_u64(n.unsigned_abs()),
                Some(n) => visitor.visit_i64(n),
                None => visitor.visit_f64(*f),
            },
            Value::Boolean(b) => visitor.visit_bool(*b),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(fields) => visit_object(fields, visitor),
        }
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8(i8);
        deserialize_i16 => visit_i16(i16);
        deserialize_i32 => visit_i32(i32);
        deserialize_i64 => visit_i64(i64);
        deserialize_i128 => visit_i128(i128);
        deserialize_u8 => visit_u8(u8);
        deserialize_u16 => visit_u16(u16);
        deserialize_u32 => visit_u32(u32);
        deserialize_u64 => visit_u64(u64);
        deserialize_u128 => visit_u128(u128);
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match *self {
            Value::Float64(f) => visitor.visit_f32(f as f32),
            Value::Int64(n) => visitor.visit_f32(n as f32),
            _ => Err(mismatch("a number for f32", self)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match *self {
            Value::Float64(f) => visitor.visit_f64(f),
            Value::Int64(n) => visitor.visit_f64(n as f64),
            _ => Err(mismatch("a number for f64", self)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Boolean(b) => visitor.visit_bool(*b),
            _ => Err(mismatch("a boolean", self)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::String(s) => visitor.visit_borrowed_str(s),
            _ => Err(mismatch("a string", self)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Bytes(b) => visitor.visit_borrowed_bytes(b),
            Value::String(s) => visitor.visit_borrowed_str(s),
            Value::Array(items) => visit_array(items, visitor),
            _ => Err(mismatch("bytes", self)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Null => visitor.visit_unit(),
            _ => Err(mismatch("null", self)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        if name != json::VALUE_TOKEN {
            return visitor.visit_newtype_struct(self);
        }
        // `Value`'s own `Deserialize` asks for this name. Its visitor reads every number as a
        // float64 (wire semantics), so an int64 is handed over in its wire form instead.
        match self {
            Value::Int64(n) => {
                let payload = json::encode_base64(&n.to_le_bytes());
                let entry = iter::once((json::INTEGER_KEY, payload));
                let mut map = MapDeserializer::<_, ValueError>::new(entry);
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Array(items) => visit_array(items, visitor),
            Value::Bytes(bytes) => {
                let mut seq = SeqDeserializer::<_, ValueError>::new(bytes.iter().copied());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            _ => Err(mismatch("an array", self)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Value::Object(fields) => visit_object(fields, visitor),
            _ => Err(mismatch("an object", self)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self {
            Value::String(variant) => {
                visitor.visit_enum(BorrowedStrDeserializer::<ValueError>::new(variant))
            }
            Value::Object(fields) if fields.len() == 1 => match fields.iter().next() {
                Some((variant, value)) => visitor.visit_enum(EnumRef { variant, value }),
                None => Err(mismatch("an enum variant", self)),
            },
            _ => Err(mismatch(
                "an enum variant (a string, or an object with exactly one field)",
                self,
            )),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }
}

impl<'de> IntoDeserializer<'de, ValueError> for &'de Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// The elements of an array.
struct SeqRef<'de> {
    iter: slice::Iter<'de, Value>,
}

impl<'de> de::SeqAccess<'de> for SeqRef<'de> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        self.iter.next().map(|item| seed.deserialize(item)).transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// The fields of an object.
struct MapRef<'de> {
    iter: btree_map::Iter<'de, String, Value>,
    value: Option<&'de Value>,
}

impl<'de> de::MapAccess<'de> for MapRef<'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let value = self.value.take().ok_or_else(|| {
            ValueError::Custom("next_value was called before next_key".to_owned())
        })?;
        seed.deserialize(value)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

/// `{"Variant": value}`.
struct EnumRef<'de> {
    variant: &'de str,
    value: &'de Value,
}

impl<'de> de::EnumAccess<'de> for EnumRef<'de> {
    type Error = ValueError;
    type Variant = VariantRef<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, VariantRef<'de>), ValueError> {
        let variant = seed.deserialize(BorrowedStrDeserializer::new(self.variant))?;
        Ok((variant, VariantRef { value: self.value }))
    }
}

/// The content of `{"Variant": value}`.
struct VariantRef<'de> {
    value: &'de Value,
}

impl<'de> de::VariantAccess<'de> for VariantRef<'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        <()>::deserialize(self.value)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        seed.deserialize(self.value)
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.value {
            Value::Array(items) => visit_array(items, visitor),
            other => Err(mismatch("an array for a tuple variant", other)),
        }
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.value {
            Value::Object(fields) => visit_object(fields, visitor),
            other => Err(mismatch("an object for a struct variant", other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::value::{to_value, Id};

    fn obj(fields: &[(&str, Value)]) -> Value {
        Value::Object(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    struct Users;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Status {
        Draft,
        Published { at: f64 },
        Archived(String),
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Author {
        id: Id<Users>,
        name: String,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Post {
        #[serde(rename = "_id")]
        id: Id<Post>,
        #[serde(rename = "_creationTime")]
        creation_time: f64,
        title: String,
        subtitle: Option<String>,
        tags: Vec<String>,
        views: i64,
        score: f64,
        likes: u32,
        author: Author,
        status: Status,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        pinned: Option<bool>,
    }

    fn sample_post() -> Post {
        Post {
            id: Id::new("j57a8q9d7yq1cm4bq3s0jzmnbh6zyvpr"),
            creation_time: 1_764_000_000_123.5,
            title: "Hello, Convex".into(),
            subtitle: None,
            tags: vec!["rust".into(), "yew".into()],
            views: 9_007_199_254_740_993,
            score: -0.25,
            likes: 42,
            author: Author { id: Id::new("k17f"), name: "Ada".into() },
            status: Status::Published { at: 1.5e12 },
            pinned: None,
        }
    }

    #[test]
    fn a_realistic_struct_round_trips() {
        let post = sample_post();
        let value = to_value(&post).unwrap();
        let fields = value.as_object().unwrap();
        assert_eq!(fields["_id"], Value::from("j57a8q9d7yq1cm4bq3s0jzmnbh6zyvpr"));
        assert_eq!(fields["subtitle"], Value::Null);
        assert!(!fields.contains_key("pinned"));
        assert_eq!(fields["views"], Value::Int64(9_007_199_254_740_993));
        assert_eq!(fields["likes"], Value::Float64(42.0));
        assert_eq!(fields["status"], obj(&[("Published", obj(&[("at", Value::Float64(1.5e12))]))]));
        assert_eq!(from_value_ref::<Post>(&value).unwrap(), post);
        assert_eq!(from_value::<Post>(value.clone()).unwrap(), post);

        // Through the wire JSON text and back.
        let text = serde_json::to_string(&value).unwrap();
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert_eq!(from_value::<Post>(back).unwrap(), post);

        for status in [Status::Draft, Status::Archived("old".into())] {
            let post = Post { status, pinned: Some(true), ..sample_post() };
            assert_eq!(from_value::<Post>(to_value(&post).unwrap()).unwrap(), post);
        }
    }

    #[test]
    fn whole_floats_fill_any_integer_type() {
        assert_eq!(from_value::<u8>(Value::Float64(255.0)).unwrap(), 255);
        assert_eq!(from_value::<i8>(Value::Float64(-128.0)).unwrap(), -128);
        assert_eq!(from_value::<u32>(Value::Float64(0.0)).unwrap(), 0);
        assert_eq!(from_value::<u32>(Value::Float64(-0.0)).unwrap(), 0);
        assert_eq!(from_value::<i64>(Value::Float64(-9e15)).unwrap(), -9_000_000_000_000_000);
        assert_eq!(from_value::<u64>(Value::Float64(1.8e19)).unwrap(), 18_000_000_000_000_000_000);
        assert_eq!(
            from_value::<i128>(Value::Float64(-1e30)).unwrap(),
            -1_000_000_000_000_000_019_884_624_838_656
        );
    }

    #[test]
    fn integers_are_range_checked() {
        assert_eq!(
            from_value::<u8>(Value::Float64(256.0)),
            Err(ValueError::IntegerOutOfRange("256 does not fit in u8".into()))
        );
        assert_eq!(
            from_value::<u32>(Value::Float64(-1.0)),
            Err(ValueError::IntegerOutOfRange("-1 does not fit in u32".into()))
        );
        assert_eq!(
            from_value::<u64>(Value::Int64(-1)),
            Err(ValueError::IntegerOutOfRange("-1 does not fit in u64".into()))
        );
        assert_eq!(
            from_value::<i32>(Value::Int64(i64::from(i32::MAX) + 1)),
            Err(ValueError::IntegerOutOfRange("2147483648 does not fit in i32".into()))
        );
        assert!(matches!(
            from_value::<i128>(Value::Float64(1e300)),
            Err(ValueError::IntegerOutOfRange(_))
        ));
        assert_eq!(from_value::<u64>(Value::Int64(i64::MAX)).unwrap(), i64::MAX as u64);
        assert_eq!(from_value::<i16>(Value::Int64(-300)).unwrap(), -300);
    }

    #[test]
    fn fractional_and_non_finite_floats_are_not_integers() {
        for f in [0.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                from_value::<i64>(Value::Float64(f)),
                Err(ValueError::TypeMismatch {
                    expected: "a whole number for i64".into(),
                    found: "float64"
                })
            );
        }
        assert_eq!(
            from_value::<u8>(Value::from("1")),
            Err(ValueError::TypeMismatch { expected: "a number for u8".into(), found: "string" })
        );
    }

    #[test]
    fn int64_fills_floats() {
        assert_eq!(from_value::<f64>(Value::Int64(3)).unwrap(), 3.0);
        assert_eq!(from_value::<f32>(Value::Int64(-3)).unwrap(), -3.0);
        assert_eq!(from_value::<f32>(Value::Float64(0.5)).unwrap(), 0.5);
        assert!(from_value::<f64>(Value::Float64(f64::NAN)).unwrap().is_nan());
    }

    #[test]
    fn null_strings_and_chars() {
        from_value::<()>(Value::Null).unwrap();
        assert_eq!(from_value::<Option<i64>>(Value::Null).unwrap(), None);
        assert_eq!(from_value::<Option<i64>>(Value::Int64(1)).unwrap(), Some(1));
        assert_eq!(from_value::<char>(Value::from("é")).unwrap(), 'é');
        assert!(from_value::<char>(Value::from("ab")).is_err());
        assert_eq!(
            from_value::<String>(Value::Null),
            Err(ValueError::TypeMismatch { expected: "a string".into(), found: "null" })
        );
        assert_eq!(
            from_value::<bool>(Value::Float64(1.0)),
            Err(ValueError::TypeMismatch { expected: "a boolean".into(), found: "float64" })
        );
    }

    #[test]
    fn bytes_fill_byte_vectors() {
        let v = Value::bytes(vec![1, 2, 255]);
        assert_eq!(from_value::<Vec<u8>>(v.clone()).unwrap(), vec![1, 2, 255]);
        struct Buf(Vec<u8>);
        impl<'de> Deserialize<'de> for Buf {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl Visitor<'_> for V {
                    type Value = Buf;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, b: &[u8]) -> Result<Buf, E> {
                        Ok(Buf(b.to_vec()))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
        assert_eq!(from_value::<Buf>(v).unwrap().0, vec![1, 2, 255]);
    }

    #[test]
    fn arrays_fill_sequences_and_tuples() {
        let v = Value::from(vec![Value::Int64(1), Value::from("a"), Value::Boolean(true)]);
        assert_eq!(from_value::<(i64, String, bool)>(v.clone()).unwrap(), (1, "a".into(), true));
        assert!(from_value::<(i64, String)>(v.clone()).is_err());
        assert!(from_value::<Vec<i64>>(v).is_err());
        #[derive(Deserialize, Debug, PartialEq)]
        struct Point(f64, f64);
        let p = Value::from(vec![Value::Float64(1.0), Value::Float64(2.0)]);
        assert_eq!(from_value::<Point>(p).unwrap(), Point(1.0, 2.0));
    }

    #[test]
    fn objects_fill_maps_and_structs() {
        let v = obj(&[("a", Value::Float64(1.0)), ("b", Value::Float64(2.0))]);
        let map: HashMap<String, u8> = from_value(v.clone()).unwrap();
        assert_eq!(map["b"], 2);
        let map: BTreeMap<Id<Users>, f64> = from_value(v.clone()).unwrap();
        assert_eq!(map[&Id::new("a")], 1.0);
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct OnlyA {
            a: f64,
        }
        assert_eq!(
            from_value::<OnlyA>(v).unwrap_err(),
            ValueError::Custom("unknown field `b`, expected `a`".into())
        );
        assert_eq!(
            from_value::<OnlyA>(Value::Null).unwrap_err(),
            ValueError::TypeMismatch { expected: "an object".into(), found: "null" }
        );
        assert_eq!(
            from_value::<Author>(obj(&[("name", Value::from("x"))])).unwrap_err(),
            ValueError::Custom("missing field `id`".into())
        );
    }

    #[test]
    fn enums_are_read_externally_tagged() {
        assert_eq!(from_value::<Status>(Value::from("Draft")).unwrap(), Status::Draft);
        assert_eq!(
            from_value::<Status>(obj(&[("Archived", Value::from("x"))])).unwrap(),
            Status::Archived("x".into())
        );
        assert!(from_value::<Status>(Value::from("Nope")).is_err());
        assert!(from_value::<Status>(obj(&[])).is_err());
        assert!(from_value::<Status>(Value::Int64(0)).is_err());
        #[derive(Deserialize, Debug, PartialEq)]
        enum Tuple {
            Pair(i64, i64),
            Unit,
        }
        let v = obj(&[("Pair", Value::from(vec![Value::Int64(1), Value::Float64(2.0)]))]);
        assert_eq!(from_value::<Tuple>(v).unwrap(), Tuple::Pair(1, 2));
        assert_eq!(from_value::<Tuple>(obj(&[("Unit", Value::Null)])).unwrap(), Tuple::Unit);
    }

    #[test]
    fn tagged_and_untagged_enums_see_whole_floats_as_integers() {
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(tag = "kind")]
        enum Event {
            #[serde(rename = "click")]
            Click { x: u32, y: i32, weight: f64 },
        }
        let v = obj(&[
            ("kind", Value::from("click")),
            ("x", Value::Float64(3.0)),
            ("y", Value::Float64(-4.0)),
            ("weight", Value::Float64(2.0)),
        ]);
        assert_eq!(from_value::<Event>(v).unwrap(), Event::Click { x: 3, y: -4, weight: 2.0 });
        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(untagged)]
        enum Either {
            Count(u64),
            Text(String),
        }
        assert_eq!(from_value::<Either>(Value::Float64(7.0)).unwrap(), Either::Count(7));
        assert_eq!(from_value::<Either>(Value::from("t")).unwrap(), Either::Text("t".into()));
    }

    #[test]
    fn values_deserialize_to_themselves() {
        let v = obj(&[
            ("big", Value::Int64(i64::MIN)),
            ("nan", Value::Float64(f64::NAN)),
            ("neg_zero", Value::Float64(-0.0)),
            ("whole", Value::Float64(3.0)),
            ("bytes", Value::bytes(vec![0, 1])),
            ("list", Value::from(vec![Value::Int64(2), Value::Null, Value::Boolean(false)])),
        ]);
        assert_eq!(from_value_ref::<Value>(&v).unwrap(), v);
        assert_eq!(from_value::<Option<Value>>(v.clone()).unwrap(), Some(v.clone()));
        assert_eq!(
            from_value::<Vec<Value>>(v.as_object().unwrap()["list"].clone()).unwrap().len(),
            3
        );
        let map: BTreeMap<String, Value> = from_value_ref(&v).unwrap();
        assert_eq!(map["big"], Value::Int64(i64::MIN));
    }

    #[test]
    fn serde_json_values_come_out_as_javascript_would_see_them() {
        let v = obj(&[("n", Value::Float64(2.0)), ("f", Value::Float64(2.5))]);
        let json: serde_json::Value = from_value(v).unwrap();
        assert_eq!(json, serde_json::json!({"n": 2, "f": 2.5}));
    }
}
