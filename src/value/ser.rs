//! [`to_value`]: a serde `Serializer` that turns any `Serialize` type into a [`Value`].

use std::collections::BTreeMap;

use serde::{ser, Serialize};

use super::{json, Value, ValueError};

/// Converts any `Serialize` type into a Convex [`Value`].
///
/// | Rust (serde data model) | Convex |
/// | --- | --- |
/// | `i8`, `i16`, `i32`, `u8`, `u16`, `u32`, `f32`, `f64` | float64 (`v.number()`) |
/// | `i64`; `u64`, `i128`, `u128` if they fit | int64 (`v.int64()`), else [`ValueError::IntegerOutOfRange`] |
/// | `bool`; `char`, `str` | boolean; string |
/// | bytes (`serde_bytes`) | bytes |
/// | `None`, `()`, unit struct | null |
/// | `Some(x)`, newtype struct | `x` |
/// | sequence, tuple, tuple struct | array |
/// | map (string keys only, else [`ValueError::NonStringKey`]), struct | object |
/// | unit variant | the variant name as a string |
/// | newtype / tuple / struct variant | `{variant: value}` / `{variant: [..]}` / `{variant: {..}}` |
///
/// Field names and map keys starting with `$` are a [`ValueError::ReservedFieldName`], with one
/// exception so that wire JSON converts faithfully: a map whose only key is `$integer`, `$float` or
/// `$bytes` is decoded as that special value. Hence `to_value(&value) == Ok(value)` for any
/// [`Value`] without reserved field names.
///
/// A `Vec<u8>` is a sequence in serde, so it becomes an array of numbers; use [`Value::bytes`] or
/// the `serde_bytes` crate for Convex bytes.
///
/// ```
/// # use yew_convex::value::{to_value, Value};
/// assert_eq!(to_value(&5u32).unwrap(), Value::Float64(5.0));
/// assert_eq!(to_value(&5i64).unwrap(), Value::Int64(5));
/// assert_eq!(to_value(&Some("x")).unwrap(), Value::from("x"));
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ValueSerializer)
}

/// Serializes into a [`Value`].
struct ValueSerializer;

fn int64<T: TryInto<i64> + Copy + ToString>(n: T) -> Result<Value, ValueError> {
    n.try_into().map(Value::Int64).map_err(|_| {
        ValueError::IntegerOutOfRange(format!(
            "{} does not fit in a Convex int64 (-2^63 to 2^63-1)",
            n.to_string()
        ))
    })
}

/// Struct fields and variant names become object keys, so they must not start with `$`.
fn field_name(name: &str) -> Result<String, ValueError> {
    if name.starts_with('$') {
        Err(ValueError::ReservedFieldName(name.to_owned()))
    } else {
        Ok(name.to_owned())
    }
}

/// `{name: value}`, the shape of an externally tagged enum variant.
fn tagged(name: &str, value: Value) -> Result<Value, ValueError> {
    let mut fields = BTreeMap::new();
    fields.insert(field_name(name)?, value);
    Ok(Value::Object(fields))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ValueError;
    type SerializeSeq = SeqSerializer;
    type SerializeTuple = SeqSerializer;
    type SerializeTupleStruct = SeqSerializer;
    type SerializeTupleVariant = TupleVariantSerializer;
    type SerializeMap = MapSerializer;
    type SerializeStruct = StructSerializer;
    type SerializeStructVariant = StructVariantSerializer;

    fn serialize_bool(self, v: bool) -> Result<Value, ValueError> {
        Ok(Value::Boolean(v))
    }

    fn serialize_i8(self, v: i8) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_i16(self, v: i16) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_i32(self, v: i32) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_i64(self, v: i64) -> Result<Value, ValueError> {
        Ok(Value::Int64(v))
    }

    fn serialize_i128(self, v: i128) -> Result<Value, ValueError> {
        int64(v)
    }

    fn serialize_u8(self, v: u8) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_u16(self, v: u16) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_u32(self, v: u32) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_u64(self, v: u64) -> Result<Value, ValueError> {
        int64(v)
    }

    fn serialize_u128(self, v: u128) -> Result<Value, ValueError> {
        int64(v)
    }

    fn serialize_f32(self, v: f32) -> Result<Value, ValueError> {
        Ok(Value::Float64(v.into()))
    }

    fn serialize_f64(self, v: f64) -> Result<Value, ValueError> {
        Ok(Value::Float64(v))
    }

    fn serialize_char(self, v: char) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_string()))
    }

    fn serialize_str(self, v: &str) -> Result<Value, ValueError> {
        Ok(Value::String(v.to_owned()))
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ValueError> {
        Ok(Value::Bytes(v.to_vec()))
    }

    fn serialize_none(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ValueError> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, ValueError> {
        Ok(Value::Null)
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, ValueError> {
        Ok(Value::String(variant.to_owned()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, ValueError> {
        tagged(variant, value.serialize(ValueSerializer)?)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer, ValueError> {
        Ok(SeqSerializer { items: Vec::with_capacity(len.unwrap_or(0).min(4096)) })
    }

    fn serialize_tuple(self, len: usize) -> Result<SeqSerializer, ValueError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqSerializer, ValueError> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<TupleVariantSerializer, ValueError> {
        Ok(TupleVariantSerializer { variant, items: Vec::with_capacity(len.min(4096)) })
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<MapSerializer, ValueError> {
        Ok(MapSerializer { fields: BTreeMap::new(), next_key: None, reserved: None })
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<StructSerializer, ValueError> {
        Ok(StructSerializer { fields: BTreeMap::new() })
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<StructVariantSerializer, ValueError> {
        Ok(StructVariantSerializer { variant, fields: BTreeMap::new() })
    }
}

/// Sequences, tuples and tuple structs.
struct SeqSerializer {
    items: Vec<Value>,
}

impl ser::SerializeSeq for SeqSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.items.push(to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Array(self.items))
    }
}

impl ser::SerializeTuple for SeqSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Value, ValueError> {
        ser::SerializeSeq::end(self)
    }
}

/// `Enum::Variant(a, b)` → `{"Variant": [a, b]}`.
struct TupleVariantSerializer {
    variant: &'static str,
    items: Vec<Value>,
}

impl ser::SerializeTupleVariant for TupleVariantSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        self.items.push(to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        tagged(self.variant, Value::Array(self.items))
    }
}

/// Maps. `$`-prefixed keys are only allowed as the single key of a wire-JSON special value; the
/// check waits for `end` because that is when the number of keys is known.
struct MapSerializer {
    fields: BTreeMap<String, Value>,
    next_key: Option<String>,
    /// The first `$`-prefixed key seen.
    reserved: Option<String>,
}

impl ser::SerializeMap for MapSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ValueError> {
        let key = key.serialize(MapKeySerializer)?;
        if key.starts_with('$') && self.reserved.is_none() {
            self.reserved = Some(key.clone());
        }
        self.next_key = Some(key);
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ValueError> {
        let key = self.next_key.take().ok_or_else(|| {
            ValueError::Custom("serialize_value was called before serialize_key".to_owned())
        })?;
        self.fields.insert(key, to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        let Some(reserved) = self.reserved else {
            return Ok(Value::Object(self.fields));
        };
        if self.fields.len() == 1 {
            if let Some(kind) = json::special_kind(&reserved) {
                if let Some(payload) = self.fields.get(kind) {
                    return json::decode_special(kind, payload);
                }
            }
        }
        Err(ValueError::ReservedFieldName(reserved))
    }
}

/// Structs: `{field: value, ..}`.
struct StructSerializer {
    fields: BTreeMap<String, Value>,
}

impl ser::SerializeStruct for StructSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.fields.insert(field_name(key)?, to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        Ok(Value::Object(self.fields))
    }
}

/// `Enum::Variant { a, b }` → `{"Variant": {"a": a, "b": b}}`.
struct StructVariantSerializer {
    variant: &'static str,
    fields: BTreeMap<String, Value>,
}

impl ser::SerializeStructVariant for StructVariantSerializer {
    type Ok = Value;
    type Error = ValueError;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ValueError> {
        self.fields.insert(field_name(key)?, to_value(value)?);
        Ok(())
    }

    fn end(self) -> Result<Value, ValueError> {
        tagged(self.variant, Value::Object(self.fields))
    }
}

/// Map keys: strings, chars, unit variants (their name) and newtypes around those.
struct MapKeySerializer;

fn non_string_key<T>() -> Result<T, ValueError> {
    Err(ValueError::NonStringKey)
}

impl ser::Serializer for MapKeySerializer {
    type Ok = String;
    type Error = ValueError;
    type SerializeSeq = ser::Impossible<String, ValueError>;
    type SerializeTuple = ser::Impossible<String, ValueError>;
    type SerializeTupleStruct = ser::Impossible<String, ValueError>;
    type SerializeTupleVariant = ser::Impossible<String, ValueError>;
    type SerializeMap = ser::Impossible<String, ValueError>;
    type SerializeStruct = ser::Impossible<String, ValueError>;
    type SerializeStructVariant = ser::Impossible<String, ValueError>;

    fn serialize_str(self, v: &str) -> Result<String, ValueError> {
        Ok(v.to_owned())
    }

    fn serialize_char(self, v: char) -> Result<String, ValueError> {
        Ok(v.to_string())
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, ValueError> {
        Ok(variant.to_owned())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, ValueError> {
        value.serialize(self)
    }

    fn serialize_bool(self, _: bool) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_i8(self, _: i8) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_i16(self, _: i16) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_i32(self, _: i32) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_i64(self, _: i64) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_u8(self, _: u8) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_u16(self, _: u16) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_u32(self, _: u32) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_u64(self, _: u64) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_f32(self, _: f32) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_f64(self, _: f64) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_none(self) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_unit(self) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, ValueError> {
        non_string_key()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        non_string_key()
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, ValueError> {
        non_string_key()
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        non_string_key()
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        non_string_key()
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        non_string_key()
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        non_string_key()
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        non_string_key()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::Serialize;

    use super::*;

    fn obj(fields: &[(&str, Value)]) -> Value {
        Value::Object(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn small_integers_and_floats_are_float64() {
        assert_eq!(to_value(&-3i8).unwrap(), Value::Float64(-3.0));
        assert_eq!(to_value(&300i16).unwrap(), Value::Float64(300.0));
        assert_eq!(to_value(&i32::MIN).unwrap(), Value::Float64(f64::from(i32::MIN)));
        assert_eq!(to_value(&255u8).unwrap(), Value::Float64(255.0));
        assert_eq!(to_value(&65535u16).unwrap(), Value::Float64(65535.0));
        assert_eq!(to_value(&u32::MAX).unwrap(), Value::Float64(f64::from(u32::MAX)));
        assert_eq!(to_value(&1.5f32).unwrap(), Value::Float64(1.5));
        assert_eq!(to_value(&-0.0f64).unwrap(), Value::Float64(-0.0));
    }

    #[test]
    fn wide_integers_are_int64_when_they_fit() {
        assert_eq!(to_value(&i64::MIN).unwrap(), Value::Int64(i64::MIN));
        assert_eq!(to_value(&(i64::MAX as u64)).unwrap(), Value::Int64(i64::MAX));
        assert_eq!(to_value(&-5i128).unwrap(), Value::Int64(-5));
        assert_eq!(to_value(&7u128).unwrap(), Value::Int64(7));
    }

    #[test]
    fn wide_integers_out_of_range_are_rejected() {
        let err = to_value(&u64::MAX).unwrap_err();
        assert_eq!(
            err,
            ValueError::IntegerOutOfRange(
                "18446744073709551615 does not fit in a Convex int64 (-2^63 to 2^63-1)".into()
            )
        );
        assert!(matches!(
            to_value(&(i128::from(i64::MIN) - 1)),
            Err(ValueError::IntegerOutOfRange(_))
        ));
        assert!(matches!(to_value(&u128::MAX), Err(ValueError::IntegerOutOfRange(_))));
    }

    #[test]
    fn scalars_and_empties() {
        assert_eq!(to_value(&true).unwrap(), Value::Boolean(true));
        assert_eq!(to_value(&'x').unwrap(), Value::from("x"));
        assert_eq!(to_value("hi").unwrap(), Value::from("hi"));
        assert_eq!(to_value(&()).unwrap(), Value::Null);
        assert_eq!(to_value(&None::<i64>).unwrap(), Value::Null);
        assert_eq!(to_value(&Some(2i64)).unwrap(), Value::Int64(2));
        #[derive(Serialize)]
        struct Unit;
        assert_eq!(to_value(&Unit).unwrap(), Value::Null);
        #[derive(Serialize)]
        struct Meters(f64);
        assert_eq!(to_value(&Meters(2.0)).unwrap(), Value::Float64(2.0));
    }

    #[test]
    fn bytes_need_serialize_bytes() {
        struct Raw<'a>(&'a [u8]);
        impl Serialize for Raw<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(self.0)
            }
        }
        assert_eq!(to_value(&Raw(&[1, 2])).unwrap(), Value::bytes(vec![1, 2]));
        // A plain Vec<u8> is a sequence of numbers.
        assert_eq!(
            to_value(&vec![1u8, 2]).unwrap(),
            Value::from(vec![Value::Float64(1.0), Value::Float64(2.0)])
        );
    }

    #[test]
    fn sequences_and_tuples_are_arrays() {
        assert_eq!(
            to_value(&(1i64, "a", [true])).unwrap(),
            Value::from(vec![
                Value::Int64(1),
                Value::from("a"),
                Value::from(vec![Value::Boolean(true)])
            ])
        );
        #[derive(Serialize)]
        struct Pair(i64, bool);
        assert_eq!(
            to_value(&Pair(1, false)).unwrap(),
            Value::from(vec![Value::Int64(1), Value::Boolean(false)])
        );
    }

    #[test]
    fn enums_are_externally_tagged() {
        #[derive(Serialize)]
        enum Shape {
            Empty,
            Circle(f64),
            Line(i64, i64),
            Rect { w: f64, h: f64 },
        }
        assert_eq!(to_value(&Shape::Empty).unwrap(), Value::from("Empty"));
        assert_eq!(to_value(&Shape::Circle(1.0)).unwrap(), obj(&[("Circle", Value::Float64(1.0))]));
        assert_eq!(
            to_value(&Shape::Line(1, 2)).unwrap(),
            obj(&[("Line", Value::from(vec![Value::Int64(1), Value::Int64(2)]))])
        );
        assert_eq!(
            to_value(&Shape::Rect { w: 1.0, h: 2.0 }).unwrap(),
            obj(&[("Rect", obj(&[("h", Value::Float64(2.0)), ("w", Value::Float64(1.0))]))])
        );
    }

    #[test]
    fn maps_need_string_keys() {
        let mut m = HashMap::new();
        m.insert("b".to_string(), 1i64);
        m.insert("a".to_string(), 2i64);
        assert_eq!(to_value(&m).unwrap(), obj(&[("a", Value::Int64(2)), ("b", Value::Int64(1))]));
        let mut by_number = BTreeMap::new();
        by_number.insert(1u32, "x");
        assert_eq!(to_value(&by_number), Err(ValueError::NonStringKey));
        let mut by_char = BTreeMap::new();
        by_char.insert('c', 1.0);
        assert_eq!(to_value(&by_char).unwrap(), obj(&[("c", Value::Float64(1.0))]));
    }

    #[test]
    fn reserved_names_are_rejected() {
        #[derive(Serialize)]
        struct Doc {
            #[serde(rename = "$id")]
            id: String,
        }
        assert_eq!(
            to_value(&Doc { id: "x".into() }),
            Err(ValueError::ReservedFieldName("$id".into()))
        );
        let mut m = BTreeMap::new();
        m.insert("$x", 1.0);
        assert_eq!(to_value(&m), Err(ValueError::ReservedFieldName("$x".into())));
        m.insert("a", 1.0);
        assert_eq!(to_value(&m), Err(ValueError::ReservedFieldName("$x".into())));
        let mut two_specials = BTreeMap::new();
        two_specials.insert("$integer", "AQAAAAAAAAA=");
        two_specials.insert("$bytes", "");
        assert_eq!(to_value(&two_specials), Err(ValueError::ReservedFieldName("$bytes".into())));
    }

    #[test]
    fn wire_json_converts_faithfully() {
        let special = serde_json::json!({"$integer": "AQAAAAAAAAA="});
        assert_eq!(to_value(&special).unwrap(), Value::Int64(1));
        let bad = serde_json::json!({"$integer": "AQ=="});
        assert!(matches!(to_value(&bad), Err(ValueError::InvalidSpecial { kind: "$integer", .. })));
        for v in [
            Value::Int64(-9),
            Value::Float64(f64::NAN),
            Value::Float64(-0.0),
            Value::bytes(vec![9, 8]),
            obj(&[("n", Value::Int64(1)), ("list", Value::from(vec![Value::bytes(vec![])]))]),
        ] {
            assert_eq!(to_value(&v).unwrap(), v);
        }
    }
}
