//! [`RawValue`]: a Convex value kept as its wire JSON text, and the reader that validates that
//! text, finds where a value ends, and decodes it straight into any `Deserialize` type.
//!
//! Query results arrive as JSON text. Building a [`Value`] tree for every result, only to decode
//! that tree again into the component's own type, costs more than the client's whole protocol
//! work; so results stay text. The [`Reader`] checks a value once, when it arrives (JSON syntax
//! and Convex's rules: `$integer` / `$float` / `$bytes` payloads, no other `$`-prefixed field
//! names), and decodes it later, once per type, only when somebody reads it.
//!
//! The typed decoder follows [`from_value`](super::from_value)'s rules exactly (whole float64s
//! into integers, int64s into floats, objects visited in key order with the last of duplicate
//! keys winning, …): decoding the text into `T` gives what decoding it into a [`Value`] and then
//! into `T` gives, and both refuse the same inputs (property tests below).

use std::{
    any::{Any, TypeId},
    borrow::Cow,
    cell::RefCell,
    fmt,
    rc::Rc,
};

use serde::{
    de::{
        self,
        value::{BorrowedStrDeserializer, MapDeserializer, SeqDeserializer, StringDeserializer},
        DeserializeOwned, DeserializeSeed, Visitor,
    },
    Deserialize, Serialize,
};

use super::{
    de::{fit, integer, mismatch, safe_integer},
    json::{self, special_kind},
    Value, ValueError,
};

/// A Convex value as its wire JSON text ("convex encoded JSON"), checked when it was made and
/// decoded only when read: into your type with [`RawValue::decode`] (once per type, however many
/// readers), or into a [`Value`] with [`RawValue::value`].
///
/// Clones share the text and the decoded forms. Two raw values are equal when their texts are.
///
/// ```
/// use serde::Deserialize;
/// use yew_convex::value::{RawValue, Value};
///
/// #[derive(Debug, Deserialize, PartialEq)]
/// struct Post { title: String, likes: i64 }
///
/// let raw = RawValue::from_json(r#"{"likes":{"$integer":"AwAAAAAAAAA="},"title":"Hi"}"#)?;
/// let post = raw.decode::<Post>()?;
/// assert_eq!(*post, Post { title: "Hi".into(), likes: 3 });
/// // A second read of the same type is the same decoded value.
/// assert!(std::rc::Rc::ptr_eq(&post, &raw.decode::<Post>()?));
/// assert_eq!(raw.value()?.as_object().map(|o| o.len()), Some(2));
/// // Bad Convex JSON is refused up front.
/// assert!(RawValue::from_json(r#"{"$integer":"AQ=="}"#).is_err());
/// # Ok::<(), yew_convex::value::ValueError>(())
/// ```
#[derive(Clone)]
pub struct RawValue(Rc<Inner>);

struct Inner {
    json: Box<str>,
    /// Every object's keys are in strictly ascending order (what Convex sends), so text order
    /// is the order a [`Value`] holds them in and there are no duplicates.
    sorted: bool,
    /// Decoded forms, by type (a [`Value`] is one of them).
    decoded: RefCell<Vec<(TypeId, Rc<dyn Any>)>>,
}

impl RawValue {
    /// Checks `json` (one Convex value in wire JSON, whitespace around it allowed) and keeps it.
    pub fn from_json(json: &str) -> Result<RawValue, ValueError> {
        let mut reader = Reader::new(json);
        reader.ws();
        let start = reader.pos;
        let sorted = reader.scan_value()?;
        let end = reader.pos;
        reader.ws();
        if reader.pos != json.len() {
            return Err(reader.syntax("trailing characters after the value"));
        }
        Ok(RawValue::checked(&json[start..end], sorted))
    }

    /// A raw value from text the [`Reader`] has checked.
    pub(crate) fn checked(json: &str, sorted: bool) -> RawValue {
        RawValue(Rc::new(Inner { json: json.into(), sorted, decoded: RefCell::new(Vec::new()) }))
    }

    /// Encodes `value` (which it keeps as its decoded [`Value`], so [`RawValue::value`] costs
    /// nothing). Fails on a `$`-prefixed field name.
    pub fn from_value(value: Value) -> Result<RawValue, ValueError> {
        super::json::check_field_names(&value)?;
        let json = serde_json::to_string(&value).map_err(|e| ValueError::Custom(e.to_string()))?;
        let raw = RawValue::checked(&json, true);
        let value: Rc<dyn Any> = Rc::new(value);
        raw.0.decoded.borrow_mut().push((TypeId::of::<Value>(), value));
        Ok(raw)
    }

    /// The wire JSON text.
    pub fn json(&self) -> &str {
        &self.0.json
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        &*self.0.json == "null"
    }

    /// Whether both are the same shared value (a cheap check before comparing texts).
    pub fn ptr_eq(&self, other: &RawValue) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The value as a [`Value`] tree, built on first use and kept.
    pub fn value(&self) -> Result<Rc<Value>, ValueError> {
        self.decode::<Value>()
    }

    /// The value decoded into `T`: on first use for `T`, straight from the text; after that the
    /// same `Rc<T>`. Errors are not kept (each call reports them again).
    pub fn decode<T: DeserializeOwned + 'static>(&self) -> Result<Rc<T>, ValueError> {
        let id = TypeId::of::<T>();
        if let Some(found) = self.cached(id) {
            if let Ok(t) = found.downcast::<T>() {
                return Ok(t);
            }
        }
        let decoded = Rc::new(self.deserialize::<T>()?);
        let any: Rc<dyn Any> = decoded.clone();
        self.0.decoded.borrow_mut().push((id, any));
        Ok(decoded)
    }

    fn cached(&self, id: TypeId) -> Option<Rc<dyn Any>> {
        self.0.decoded.borrow().iter().find(|(t, _)| *t == id).map(|(_, v)| v.clone())
    }

    /// The value decoded into `T`, not kept (for a type read once, or one that is not
    /// `'static`).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ValueError> {
        decode_str::<T>(&self.0.json, self.0.sorted)
    }
}

/// Decodes checked text into `T`, with non-generic setup kept out of the generic body.
fn decode_str<T: DeserializeOwned>(json: &str, sorted: bool) -> Result<T, ValueError> {
    let mut reader = Reader::new(json);
    reader.sorted = sorted;
    T::deserialize(&mut reader)
}

impl PartialEq for RawValue {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other) || self.0.json == other.0.json
    }
}

impl fmt::Debug for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawValue({})", self.0.json)
    }
}

impl fmt::Display for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.json)
    }
}

/// Writes the value itself (through its [`Value`]).
impl Serialize for RawValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value().map_err(serde::ser::Error::custom)?.serialize(s)
    }
}

/// serde_json's nesting limit (127 levels), kept so the reader refuses exactly what it refuses.
const MAX_DEPTH: u32 = 128;

/// A cursor over JSON text: the primitives the protocol parser uses, the validating scan of a
/// Convex value, and (as `&mut Reader`) a serde `Deserializer` with [`from_value`]'s rules.
///
/// [`from_value`]: super::from_value
pub(crate) struct Reader<'de> {
    text: &'de str,
    pub(crate) pos: usize,
    /// Objects' keys are known to be ascending and distinct: they can be visited in text order.
    sorted: bool,
    depth: u32,
}

/// One value's first token.
enum Tok<'de> {
    Null,
    Bool(bool),
    Float(f64),
    Int(i64),
    Str(Cow<'de, str>),
    Bytes(Vec<u8>),
    /// `[` consumed.
    Array,
    /// `{` consumed, not a special object.
    Object,
}

impl Tok<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Tok::Null => "null",
            Tok::Bool(_) => "boolean",
            Tok::Float(_) => "float64",
            Tok::Int(_) => "int64",
            Tok::Str(_) => "string",
            Tok::Bytes(_) => "bytes",
            Tok::Array => "array",
            Tok::Object => "object",
        }
    }

    /// A scalar as a `Value`, for the number rules shared with `from_value`.
    fn number(&self) -> Value {
        match *self {
            Tok::Float(f) => Value::Float64(f),
            Tok::Int(n) => Value::Int64(n),
            Tok::Bool(b) => Value::Boolean(b),
            _ => Value::Null,
        }
    }
}

fn type_mismatch(expected: &str, found: &Tok<'_>) -> ValueError {
    ValueError::TypeMismatch { expected: expected.to_owned(), found: found.type_name() }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The first byte at or after `i` that ends a plain run of string content: `"`, `\` or a
/// control character. Eight bytes at a time (the lowest flagged byte of each word is exact).
#[inline]
fn string_stop(b: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        let quote = w ^ (LO * u64::from(b'"'));
        let slash = w ^ (LO * u64::from(b'\\'));
        let found = (quote.wrapping_sub(LO) & !quote)
            | (slash.wrapping_sub(LO) & !slash)
            | (w.wrapping_sub(LO * 0x20) & !w);
        let found = found & HI;
        if found != 0 {
            return i + (found.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

impl<'de> Reader<'de> {
    pub(crate) fn new(text: &'de str) -> Self {
        Reader { text, pos: 0, sorted: false, depth: 0 }
    }

    fn bytes(&self) -> &'de [u8] {
        self.text.as_bytes()
    }

    #[cold]
    pub(crate) fn syntax(&self, what: &str) -> ValueError {
        ValueError::Custom(format!("invalid JSON at byte {}: {what}", self.pos))
    }

    /// Skips whitespace.
    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    /// Consumes `byte` (after whitespace) or fails.
    pub(crate) fn expect(&mut self, byte: u8, what: &str) -> Result<(), ValueError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(what))
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), ValueError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.syntax("expected a value"))
        }
    }

    /// A string (the opening quote next); borrowed when it has no escapes.
    pub(crate) fn string(&mut self) -> Result<Cow<'de, str>, ValueError> {
        self.expect(b'"', "expected a string")?;
        let start = self.pos;
        let b = self.bytes();
        let stop = string_stop(b, start);
        match b.get(stop) {
            Some(b'"') => {
                self.pos = stop + 1;
                Ok(Cow::Borrowed(&self.text[start..stop]))
            }
            Some(b'\\') => {
                let mut out = String::with_capacity(stop - start + 16);
                out.push_str(&self.text[start..stop]);
                self.pos = stop;
                self.escaped(&mut out)?;
                Ok(Cow::Owned(out))
            }
            _ => {
                self.pos = stop;
                Err(self.syntax("unterminated string or control character in a string"))
            }
        }
    }

    /// The rest of a string from an escape on, into `out`; consumes the closing quote.
    fn escaped(&mut self, out: &mut String) -> Result<(), ValueError> {
        loop {
            let b = self.bytes();
            match b.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    let c = match b.get(self.pos + 1) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 2;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.syntax("invalid escape")),
                    };
                    out.push(c);
                    self.pos += 2;
                }
                Some(_) => {
                    let stop = string_stop(b, self.pos);
                    match b.get(stop) {
                        Some(b'"' | b'\\') => {
                            out.push_str(&self.text[self.pos..stop]);
                            self.pos = stop;
                        }
                        _ => {
                            self.pos = stop;
                            return Err(self.syntax("unterminated string or control character"));
                        }
                    }
                }
                None => return Err(self.syntax("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, ValueError> {
        let digits = self.text.get(self.pos..self.pos + 4).ok_or_else(|| self.syntax("bad \\u"))?;
        let n = u16::from_str_radix(digits, 16)
            .ok()
            .filter(|_| digits.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| self.syntax("bad \\u escape"))?;
        self.pos += 4;
        Ok(n)
    }

    /// `XXXX` after `\u` (and a low surrogate's `\uXXXX` after a high one).
    fn unicode_escape(&mut self) -> Result<char, ValueError> {
        let hi = self.hex4()?;
        let code = match hi {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err(self.syntax("lone leading surrogate in a \\u escape"));
                }
                self.pos += 2;
                let lo = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.syntax("lone leading surrogate in a \\u escape"));
                }
                0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.syntax("lone trailing surrogate in a \\u escape")),
            n => u32::from(n),
        };
        char::from_u32(code).ok_or_else(|| self.syntax("invalid \\u escape"))
    }

    /// Skips a string without decoding it; `Ok(true)` if it had escapes.
    fn skip_string(&mut self) -> Result<bool, ValueError> {
        self.expect(b'"', "expected a string")?;
        let b = self.bytes();
        let mut escapes = false;
        loop {
            let stop = string_stop(b, self.pos);
            match b.get(stop) {
                Some(b'"') => {
                    self.pos = stop + 1;
                    return Ok(escapes);
                }
                Some(b'\\') => {
                    escapes = true;
                    self.pos = stop;
                    match b.get(stop + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {
                            self.pos += 2
                        }
                        Some(b'u') => {
                            self.pos += 2;
                            self.unicode_escape()?;
                        }
                        _ => return Err(self.syntax("invalid escape")),
                    }
                }
                _ => {
                    self.pos = stop;
                    return Err(self.syntax("unterminated string or control character"));
                }
            }
        }
    }

    /// A JSON number, as JavaScript reads it (every number a float64, correctly rounded).
    pub(crate) fn number(&mut self) -> Result<f64, ValueError> {
        self.ws();
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i - from
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(self.syntax("invalid number")),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if digits(&mut i) == 0 {
                self.pos = i;
                return Err(self.syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if digits(&mut i) == 0 {
                self.pos = i;
                return Err(self.syntax("invalid number"));
            }
        }
        self.pos = i;
        match self.text[start..i].parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(f),
            _ => Err(self.syntax("number out of range")),
        }
    }

    fn enter(&mut self) -> Result<(), ValueError> {
        self.depth += 1;
        if self.depth >= MAX_DEPTH {
            return Err(self.syntax("nested too deeply"));
        }
        Ok(())
    }

    /// After an array element or object entry: `true` at the closing `close` (consumed), `false`
    /// after a `,` (consumed).
    pub(crate) fn next_or_end(&mut self, close: u8) -> Result<bool, ValueError> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.syntax("expected `,` or a closing bracket")),
        }
    }

    /// At the start of a container's content: `true` (consumed) if it is empty.
    pub(crate) fn empty(&mut self, close: u8) -> bool {
        if self.peek() == Some(close) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Skips any JSON value, checking its syntax only (protocol fields the client ignores).
    pub(crate) fn skip(&mut self) -> Result<(), ValueError> {
        match self.peek() {
            Some(b'"') => self.skip_string().map(drop),
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                if !self.empty(b']') {
                    loop {
                        self.skip()?;
                        if self.next_or_end(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Ok(())
            }
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                if !self.empty(b'}') {
                    loop {
                        self.skip_string()?;
                        self.expect(b':', "expected `:`")?;
                        self.skip()?;
                        if self.next_or_end(b'}')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Ok(())
            }
            _ => self.scalar().map(drop),
        }
    }

    /// `null`, `true`, `false` or a number.
    fn scalar(&mut self) -> Result<Tok<'de>, ValueError> {
        match self.peek() {
            Some(b'n') => self.literal("null").map(|_| Tok::Null),
            Some(b't') => self.literal("true").map(|_| Tok::Bool(true)),
            Some(b'f') => self.literal("false").map(|_| Tok::Bool(false)),
            Some(b'-' | b'0'..=b'9') => self.number().map(Tok::Float),
            _ => Err(self.syntax("expected a value")),
        }
    }

    /// Checks one Convex value and moves past it. Returns whether its objects' keys are all
    /// ascending and distinct (see [`Inner::sorted`]).
    pub(crate) fn scan_value(&mut self) -> Result<bool, ValueError> {
        let mut sorted = true;
        self.scan(&mut sorted)?;
        Ok(sorted)
    }

    fn scan(&mut self, sorted: &mut bool) -> Result<(), ValueError> {
        match self.peek() {
            Some(b'"') => self.skip_string().map(drop),
            Some(b'[') => {
                self.pos += 1;
                self.enter()?;
                if !self.empty(b']') {
                    loop {
                        self.scan(sorted)?;
                        if self.next_or_end(b']')? {
                            break;
                        }
                    }
                }
                self.depth -= 1;
                Ok(())
            }
            Some(b'{') => {
                self.pos += 1;
                self.enter()?;
                self.scan_object(sorted)?;
                self.depth -= 1;
                Ok(())
            }
            _ => self.scalar().map(drop),
        }
    }

    /// An object's content after `{`: special objects checked, `$` names refused, key order noted.
    fn scan_object(&mut self, sorted: &mut bool) -> Result<(), ValueError> {
        if self.empty(b'}') {
            return Ok(());
        }
        let mut previous: Option<&'de str> = None;
        let mut first = true;
        loop {
            self.ws();
            let key_start = self.pos + 1;
            let escapes = self.skip_string()?;
            let raw_key = &self.text[key_start..self.pos - 1];
            let key: Cow<'de, str> = if escapes {
                // Rare: decode it to check its first character and order.
                *sorted = false;
                let mut again =
                    Reader { text: self.text, pos: key_start - 1, sorted: false, depth: 0 };
                again.string()?
            } else {
                Cow::Borrowed(raw_key)
            };
            self.expect(b':', "expected `:`")?;
            if key.starts_with('$') {
                return match special_kind(&key) {
                    Some(kind) if first => {
                        let payload = self.string()?;
                        if !self.empty(b'}') {
                            return Err(ValueError::ReservedFieldName(key.into_owned()));
                        }
                        special_value(kind, &payload).map(drop)
                    }
                    _ => Err(ValueError::ReservedFieldName(key.into_owned())),
                };
            }
            self.scan(sorted)?;
            if !escapes {
                if previous.is_some_and(|p| p >= raw_key) {
                    *sorted = false;
                }
                previous = Some(raw_key);
            }
            first = false;
            if self.next_or_end(b'}')? {
                return Ok(());
            }
        }
    }

    /// The next value's first token; a special object is read whole.
    fn tok(&mut self) -> Result<Tok<'de>, ValueError> {
        match self.peek() {
            Some(b'"') => self.string().map(Tok::Str),
            Some(b'[') => {
                self.pos += 1;
                Ok(Tok::Array)
            }
            Some(b'{') => {
                self.pos += 1;
                let after = self.pos;
                if self.peek() == Some(b'"') {
                    let key = self.string()?;
                    if key.starts_with('$') {
                        self.expect(b':', "expected `:`")?;
                        let kind = special_kind(&key)
                            .ok_or_else(|| ValueError::ReservedFieldName(key.to_string()))?;
                        let payload = self.string()?;
                        if !self.empty(b'}') {
                            return Err(ValueError::ReservedFieldName(key.into_owned()));
                        }
                        return Ok(match special_value(kind, &payload)? {
                            Value::Int64(n) => Tok::Int(n),
                            Value::Float64(f) => Tok::Float(f),
                            Value::Bytes(b) => Tok::Bytes(b),
                            _ => Tok::Null,
                        });
                    }
                }
                self.pos = after;
                Ok(Tok::Object)
            }
            _ => self.scalar(),
        }
    }

    /// The text's length.
    pub(crate) fn len(&self) -> usize {
        self.text.len()
    }

    /// `true` or `false`.
    pub(crate) fn boolean(&mut self) -> Result<bool, ValueError> {
        match self.scalar()? {
            Tok::Bool(b) => Ok(b),
            _ => Err(self.syntax("expected a boolean")),
        }
    }

    /// Checks the Convex value that comes next and copies its text out.
    pub(crate) fn raw_value(&mut self) -> Result<RawValue, ValueError> {
        self.ws();
        let start = self.pos;
        let sorted = self.scan_value()?;
        Ok(RawValue::checked(&self.text[start..self.pos], sorted))
    }

    /// Consumes `null` if it is next.
    pub(crate) fn null(&mut self) -> bool {
        if self.peek() == Some(b'n') && self.text[self.pos..].starts_with("null") {
            self.pos += 4;
            true
        } else {
            false
        }
    }

    /// An array's elements (after `[`), as `from_value` visits them: all must be consumed.
    fn visit_array<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, ValueError> {
        self.enter()?;
        let mut seq = Seq { r: self, items: Items::default(), count: 0 };
        let out = visitor.visit_seq(&mut seq)?;
        let (mut items, count) = (seq.items, seq.count);
        // The visitor may stop early: what it left is counted for the error.
        let mut left = 0;
        while items.next(self, b']')? {
            self.skip()?;
            left += 1;
        }
        if left > 0 {
            let expected = format!("{count} elements");
            return Err(de::Error::invalid_length(count + left, &expected.as_str()));
        }
        self.depth -= 1;
        Ok(out)
    }

    /// An object's fields (after `{`), in key order, the last of equal keys winning.
    fn visit_object<V: Visitor<'de>>(&mut self, visitor: V) -> Result<V::Value, ValueError> {
        self.enter()?;
        let out = if self.sorted {
            let mut map = Fields { r: self, items: Items::default() };
            let out = visitor.visit_map(&mut map)?;
            // The visitor may stop early: skip the rest.
            let mut items = map.items;
            while items.next(self, b'}')? {
                self.skip_string()?;
                self.expect(b':', "expected `:`")?;
                self.skip()?;
            }
            out
        } else {
            let entries = self.entries()?;
            let end = self.pos;
            let out = visitor.visit_map(&mut SortedFields {
                r: self,
                entries: entries.into_iter(),
                at: None,
            })?;
            self.pos = end;
            out
        };
        self.depth -= 1;
        Ok(out)
    }

    /// An object's entries (after `{`) sorted by key, duplicates dropped but the last; the
    /// reader ends after the `}`.
    fn entries(&mut self) -> Result<Vec<(Cow<'de, str>, usize)>, ValueError> {
        let mut entries = Vec::new();
        if !self.empty(b'}') {
            loop {
                let key = self.string()?;
                self.expect(b':', "expected `:`")?;
                self.ws();
                entries.push((key, self.pos));
                self.skip()?;
                if self.next_or_end(b'}')? {
                    break;
                }
            }
        }
        // Stable: equal keys keep text order, and the last of each run wins.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: Vec<(Cow<'de, str>, usize)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match out.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => out.push(entry),
            }
        }
        Ok(out)
    }

    /// After a `Tok::Object`: its single field, for an externally tagged enum.
    fn single_field(&mut self) -> Result<Option<(Cow<'de, str>, usize, usize)>, ValueError> {
        let start = self.pos;
        let mut entries = self.entries()?;
        let end = self.pos;
        if entries.len() != 1 {
            self.pos = start;
            return Ok(None);
        }
        Ok(entries.pop().map(|(k, at)| (k, at, end)))
    }
}

/// Decodes a special object's payload (`kind` is `$integer`, `$float` or `$bytes`).
fn special_value(kind: &'static str, payload: &str) -> Result<Value, ValueError> {
    json::decode_special(kind, &Value::String(payload.to_owned()))
}

/// A field or variant name as a deserializer.
fn key_de<'de>(key: Cow<'de, str>) -> KeyDe<'de> {
    KeyDe(key)
}

/// A field name, borrowed when possible.
struct KeyDe<'de>(Cow<'de, str>);

impl<'de> de::IntoDeserializer<'de, ValueError> for KeyDe<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for KeyDe<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Cow::Borrowed(s) => BorrowedStrDeserializer::new(s).deserialize_any(visitor),
            Cow::Owned(s) => StringDeserializer::new(s).deserialize_any(visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match self.0 {
            Cow::Borrowed(s) => {
                BorrowedStrDeserializer::new(s).deserialize_enum(name, variants, visitor)
            }
            Cow::Owned(s) => StringDeserializer::new(s).deserialize_enum(name, variants, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

/// Where a container's content stands: before its first item, between items, or past its end.
#[derive(Default)]
struct Items {
    started: bool,
    done: bool,
}

impl Items {
    /// Moves to the next item of the container closed by `close`: `true` if there is one,
    /// `false` at (and after) the closing bracket, which is consumed once.
    fn next(&mut self, r: &mut Reader<'_>, close: u8) -> Result<bool, ValueError> {
        if self.done {
            return Ok(false);
        }
        let end = if self.started { r.next_or_end(close)? } else { r.empty(close) };
        self.started = true;
        self.done = end;
        Ok(!end)
    }
}

/// An array's elements.
struct Seq<'a, 'de> {
    r: &'a mut Reader<'de>,
    items: Items,
    count: usize,
}

impl<'de> de::SeqAccess<'de> for Seq<'_, 'de> {
    type Error = ValueError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ValueError> {
        if !self.items.next(self.r, b']')? {
            return Ok(None);
        }
        self.count += 1;
        seed.deserialize(&mut *self.r).map(Some)
    }
}

/// An object's fields in text order (keys known ascending and distinct).
struct Fields<'a, 'de> {
    r: &'a mut Reader<'de>,
    items: Items,
}

impl<'de> de::MapAccess<'de> for Fields<'_, 'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        if !self.items.next(self.r, b'}')? {
            return Ok(None);
        }
        let key = self.r.string()?;
        if key.starts_with('$') {
            return Err(ValueError::ReservedFieldName(key.into_owned()));
        }
        self.r.expect(b':', "expected `:`")?;
        seed.deserialize(key_de(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        seed.deserialize(&mut *self.r)
    }
}

/// An object's fields in key order, from [`Reader::entries`].
struct SortedFields<'a, 'de> {
    r: &'a mut Reader<'de>,
    entries: std::vec::IntoIter<(Cow<'de, str>, usize)>,
    at: Option<usize>,
}

impl<'de> de::MapAccess<'de> for SortedFields<'_, 'de> {
    type Error = ValueError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ValueError> {
        let Some((key, at)) = self.entries.next() else { return Ok(None) };
        if key.starts_with('$') {
            return Err(ValueError::ReservedFieldName(key.into_owned()));
        }
        self.at = Some(at);
        seed.deserialize(key_de(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ValueError> {
        let at = self
            .at
            .take()
            .ok_or_else(|| ValueError::Custom("next_value was called before next_key".into()))?;
        self.r.pos = at;
        seed.deserialize(&mut *self.r)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// `{"Variant": value}`.
struct Variant<'a, 'de> {
    r: &'a mut Reader<'de>,
    name: Cow<'de, str>,
    at: usize,
    end: usize,
}

impl<'a, 'de> de::EnumAccess<'de> for Variant<'a, 'de> {
    type Error = ValueError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), ValueError> {
        let variant = seed.deserialize(key_de(self.name.clone()))?;
        Ok((variant, self))
    }
}

impl<'de> Variant<'_, 'de> {
    fn content<T>(
        self,
        f: impl FnOnce(&mut Reader<'de>) -> Result<T, ValueError>,
    ) -> Result<T, ValueError> {
        self.r.pos = self.at;
        let out = f(self.r)?;
        self.r.pos = self.end;
        Ok(out)
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_, 'de> {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        self.content(|r| <()>::deserialize(r))
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, ValueError> {
        self.content(|r| seed.deserialize(r))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.content(|r| match r.tok()? {
            Tok::Array => r.visit_array(visitor),
            other => Err(type_mismatch("an array for a tuple variant", &other)),
        })
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.content(|r| match r.tok()? {
            Tok::Object => r.visit_object(visitor),
            other => Err(type_mismatch("an object for a struct variant", &other)),
        })
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident($ty:ty);)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            let tok = self.tok()?;
            let n = match tok {
                Tok::Float(_) | Tok::Int(_) => integer(&tok.number(), stringify!($ty))?,
                other => return Err(type_mismatch(concat!("a number for ", stringify!($ty)), &other)),
            };
            visitor.$visit(fit::<$ty>(n, stringify!($ty))?)
        }
    )*};
}

impl<'de> Reader<'de> {
    fn any<V: Visitor<'de>>(&mut self, tok: Tok<'de>, visitor: V) -> Result<V::Value, ValueError> {
        match tok {
            Tok::Null => visitor.visit_unit(),
            Tok::Int(n) => visitor.visit_i64(n),
            Tok::Float(f) => match safe_integer(f) {
                Some(n) if n >= 0 => visitor.visit_u64(n.unsigned_abs()),
                Some(n) => visitor.visit_i64(n),
                None => visitor.visit_f64(f),
            },
            Tok::Bool(b) => visitor.visit_bool(b),
            Tok::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Tok::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Tok::Bytes(b) => visitor.visit_byte_buf(b),
            Tok::Array => self.visit_array(visitor),
            Tok::Object => self.visit_object(visitor),
        }
    }

    fn str_tok<V: Visitor<'de>>(tok: Tok<'de>, visitor: V) -> Result<V::Value, ValueError> {
        match tok {
            Tok::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Tok::Str(Cow::Owned(s)) => visitor.visit_string(s),
            other => Err(type_mismatch("a string", &other)),
        }
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let tok = self.tok()?;
        self.any(tok, visitor)
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
        match self.tok()? {
            Tok::Float(f) => visitor.visit_f32(f as f32),
            Tok::Int(n) => visitor.visit_f32(n as f32),
            other => Err(type_mismatch("a number for f32", &other)),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.tok()? {
            Tok::Float(f) => visitor.visit_f64(f),
            Tok::Int(n) => visitor.visit_f64(n as f64),
            other => Err(type_mismatch("a number for f64", &other)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.tok()? {
            Tok::Bool(b) => visitor.visit_bool(b),
            other => Err(type_mismatch("a boolean", &other)),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let tok = self.tok()?;
        Reader::str_tok(tok, visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.tok()? {
            Tok::Bytes(b) => visitor.visit_byte_buf(b),
            tok @ Tok::Str(_) => Reader::str_tok(tok, visitor),
            Tok::Array => self.visit_array(visitor),
            other => Err(type_mismatch("bytes", &other)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        if self.null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.tok()? {
            Tok::Null => visitor.visit_unit(),
            other => Err(type_mismatch("null", &other)),
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
        // `Value`'s own `Deserialize` (see `de.rs`): an int64 goes over in its wire form.
        match self.tok()? {
            Tok::Int(n) => {
                let payload = json::encode_base64(&n.to_le_bytes());
                let entry = std::iter::once((json::INTEGER_KEY, payload));
                let mut map = MapDeserializer::<_, ValueError>::new(entry);
                let out = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(out)
            }
            tok => self.any(tok, visitor),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.tok()? {
            Tok::Array => self.visit_array(visitor),
            Tok::Bytes(bytes) => {
                let mut seq = SeqDeserializer::<_, ValueError>::new(bytes.into_iter());
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            other => Err(type_mismatch("an array", &other)),
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
        match self.tok()? {
            Tok::Object => self.visit_object(visitor),
            other => Err(type_mismatch("an object", &other)),
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
        const EXPECTED: &str = "an enum variant (a string, or an object with exactly one field)";
        match self.tok()? {
            Tok::Str(name) => visitor.visit_enum(key_de(name)),
            Tok::Object => match self.single_field()? {
                Some((name, at, end)) => {
                    if name.starts_with('$') {
                        return Err(ValueError::ReservedFieldName(name.into_owned()));
                    }
                    visitor.visit_enum(Variant { r: self, name, at, end })
                }
                None => Err(mismatch(EXPECTED, &Value::Object(Default::default()))),
            },
            other => Err(type_mismatch(EXPECTED, &other)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.skip()?;
        visitor.visit_unit()
    }
}

impl<'de> de::EnumAccess<'de> for KeyDe<'de> {
    type Error = ValueError;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), ValueError> {
        Ok((seed.deserialize(self)?, UnitOnly))
    }
}

/// A variant given as a plain string: a unit variant only.
struct UnitOnly;

impl<'de> de::VariantAccess<'de> for UnitOnly {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        _seed: T,
    ) -> Result<T::Value, ValueError> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"newtype variant"))
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, ValueError> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"tuple variant"))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ValueError> {
        Err(de::Error::invalid_type(de::Unexpected::UnitVariant, &"struct variant"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;
    use crate::value::{from_value_ref, Bytes};

    #[derive(Debug, Deserialize, PartialEq)]
    enum Kind {
        Draft,
        Scheduled(f64),
        Pinned { rank: u8 },
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum Loose {
        Number(f64),
        Text(String),
        List(Vec<Loose>),
        Map(BTreeMap<String, Loose>),
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Post {
        title: String,
        likes: i64,
        score: f64,
        tags: Vec<String>,
        author: Option<String>,
        #[serde(default)]
        meta: BTreeMap<String, u32>,
        kind: Kind,
        #[serde(default)]
        attachment: Option<Bytes>,
    }

    /// Decodes `raw` into `T` both ways and checks they agree: equal results (by `Debug`,
    /// which treats NaN as NaN), or both refused.
    fn agree<T: DeserializeOwned + fmt::Debug>(
        raw: &RawValue,
        value: &Value,
    ) -> Result<(), String> {
        let direct = raw.deserialize::<T>();
        let via_value = from_value_ref::<T>(value);
        match (&direct, &via_value) {
            (Ok(a), Ok(b)) if format!("{a:?}") == format!("{b:?}") => Ok(()),
            (Err(_), Err(_)) => Ok(()),
            _ => Err(format!(
                "{}: straight {direct:?}, through Value {via_value:?}, for {}",
                std::any::type_name::<T>(),
                raw.json()
            )),
        }
    }

    /// Every target type both ways.
    fn all_agree(raw: &RawValue, value: &Value) -> Result<(), String> {
        agree::<Post>(raw, value)?;
        agree::<Vec<Post>>(raw, value)?;
        agree::<Kind>(raw, value)?;
        agree::<Loose>(raw, value)?;
        agree::<serde_json::Value>(raw, value)?;
        agree::<Value>(raw, value)?;
        agree::<BTreeMap<String, f64>>(raw, value)?;
        agree::<BTreeMap<String, bool>>(raw, value)?;
        agree::<BTreeMap<String, Option<i64>>>(raw, value)?;
        agree::<Vec<i64>>(raw, value)?;
        agree::<(u8, String)>(raw, value)?;
        agree::<Option<Vec<u8>>>(raw, value)?;
        agree::<Bytes>(raw, value)?;
        agree::<u64>(raw, value)?;
        agree::<i32>(raw, value)?;
        agree::<f32>(raw, value)?;
        agree::<f64>(raw, value)?;
        agree::<bool>(raw, value)?;
        agree::<char>(raw, value)?;
        agree::<String>(raw, value)?;
        agree::<()>(raw, value)?;
        Ok(())
    }

    fn raw(json: &str) -> RawValue {
        RawValue::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn decodes_straight_into_types_with_from_values_rules() {
        let r = raw(r#"{"attachment":{"$bytes":"aGk="},"author":null,"kind":{"Pinned":{"rank":2}},
               "likes":{"$integer":"AwAAAAAAAAA="},"meta":{"a":1},"score":4.5,"tags":["x","y\n"],
               "title":"Hello \u00e9\ud83d\ude00"}"#);
        let post = r.decode::<Post>().unwrap();
        assert_eq!(post.title, "Hello é😀");
        assert_eq!(post.likes, 3);
        assert_eq!(post.kind, Kind::Pinned { rank: 2 });
        assert_eq!(post.tags, ["x", "y\n"]);
        assert_eq!(post.attachment.as_ref().map(|b| b.to_vec()), Some(b"hi".to_vec()));
        all_agree(&r, &r.value().unwrap()).unwrap();
        // Whole floats fill integers; int64 fills floats; fractions do not fill integers.
        assert_eq!(raw("7").deserialize::<u8>(), Ok(7));
        assert_eq!(raw(r#"{"$integer":"BwAAAAAAAAA="}"#).deserialize::<f64>(), Ok(7.0));
        assert!(raw("7.5").deserialize::<u8>().is_err());
        assert!(raw("300").deserialize::<u8>().is_err());
    }

    #[test]
    fn from_value_encodes_and_refuses_reserved_names_at_any_depth() {
        let ok =
            Value::from_json(&serde_json::json!({"a": [1, {"b": {"$integer": "AQAAAAAAAAA="}}]}))
                .unwrap();
        let r = RawValue::from_value(ok.clone()).unwrap();
        assert_eq!(RawValue::from_json(r.json()).unwrap().value().unwrap().as_ref(), &ok);
        let mut inner = std::collections::BTreeMap::new();
        inner.insert("$id".to_string(), Value::Null);
        let bad = Value::Array(vec![Value::Null, Value::Object(inner.clone())]);
        assert_eq!(RawValue::from_value(bad.clone()).err(), bad.to_json().err());
        assert_eq!(
            RawValue::from_value(bad).err(),
            Some(ValueError::ReservedFieldName("$id".into()))
        );
    }

    #[test]
    fn a_visitor_that_stops_early_gets_the_length_error_the_value_path_gives() {
        let r = raw(r#"["a","b","c"]"#);
        let direct = r.deserialize::<(String, String)>().unwrap_err();
        let via_value = crate::value::from_value::<(String, String)>((*r.value().unwrap()).clone())
            .unwrap_err();
        assert_eq!(direct, via_value);
        assert!(direct.to_string().contains("invalid length 3"), "{direct}");
        // Nested: the rest of the inner array is skipped and the outer one goes on.
        let r = raw(r#"[["a","b","c"],1]"#);
        assert!(r.deserialize::<((String, String), f64)>().is_err());
        assert_eq!(
            raw(r#"[["a","b"],1]"#).deserialize::<((String, String), f64)>().unwrap().1,
            1.0
        );
    }

    #[test]
    fn decoded_forms_are_kept_per_type() {
        let r = raw(r#"["a","b"]"#);
        let a = r.decode::<Vec<String>>().unwrap();
        let b = r.clone().decode::<Vec<String>>().unwrap();
        assert!(Rc::ptr_eq(&a, &b));
        let v = r.value().unwrap();
        assert!(Rc::ptr_eq(&v, &r.value().unwrap()));
        // A failed decode is not kept: the same call fails again, other types still work.
        assert!(r.decode::<Vec<u8>>().is_err());
        assert!(r.decode::<Vec<u8>>().is_err());
        assert_eq!(*r.decode::<(String, String)>().unwrap(), ("a".into(), "b".into()));
    }

    #[test]
    fn objects_are_visited_in_key_order_and_the_last_duplicate_wins() {
        let r = raw(r#"{"b":1,"a":2,"b":3}"#);
        assert!(!r.0.sorted);
        let keys: Vec<(String, f64)> =
            r.deserialize::<BTreeMap<String, f64>>().unwrap().into_iter().collect();
        assert_eq!(keys, [("a".into(), 2.0), ("b".into(), 3.0)]);
        let v = r.value().unwrap();
        assert_eq!(v.as_object().map(|o| o.len()), Some(2));
        all_agree(&r, &v).unwrap();
        // A struct sees one `b`, as through a `Value` (serde_json itself would say "duplicate").
        #[derive(Deserialize, Debug)]
        struct Ab {
            a: f64,
            b: f64,
        }
        let ab = r.deserialize::<Ab>().unwrap();
        assert_eq!((ab.a, ab.b), (2.0, 3.0));
        assert!(raw(r#"{"a":1,"b":{"c":2,"d":3}}"#).0.sorted);
        assert!(!raw(r#"{"a":1,"b":{"d":2,"c":3}}"#).0.sorted);
    }

    #[test]
    fn refuses_what_the_value_decoder_refuses() {
        for bad in [
            r#"{"$integer":"AQ=="}"#,
            r#"{"$integer":"AQAAAAAAAAA=","x":1}"#,
            r#"{"x":1,"$integer":"AQAAAAAAAAA="}"#,
            r#"{"$float":"AAAAAAAA8D8="}"#,
            r#"{"$bytes":12}"#,
            r#"{"$foo":1}"#,
            r#"{"\u0024integer":"A"}"#,
            r#"[{"a":{"$x":1}}]"#,
            "1e400",
            "-",
            "01",
            "1.",
            ".5",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\u{1}\"",
            "\"\\x\"",
            "nul",
            "[1] 2",
            "",
        ] {
            let ours = RawValue::from_json(bad);
            let theirs = serde_json::from_str::<Value>(bad);
            assert!(ours.is_err(), "{bad:?} accepted as {ours:?}");
            assert!(theirs.is_err(), "serde_json accepts {bad:?}: {theirs:?}");
        }
        for good in ["-0", "1E+2", "0.5e-3", " [ ] ", "{}", r#"{"":1}"#, "\"\\u00e9\\/\"", "1e-400"]
        {
            let ours = raw(good).value().unwrap();
            let theirs = serde_json::from_str::<Value>(good).unwrap();
            assert_eq!(*ours, theirs, "{good}");
        }
    }

    #[test]
    fn nesting_stops_where_serde_json_stops() {
        for depth in [126, 127, 128, 129] {
            for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
                let text = format!("{}null{}", open.repeat(depth), close.repeat(depth));
                assert_eq!(
                    RawValue::from_json(&text).is_ok(),
                    serde_json::from_str::<Value>(&text).is_ok(),
                    "depth {depth} of {open}"
                );
            }
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::value::json::proptests::{key, value};

        /// Values shaped like a `Post`, each field right most of the time.
        fn post_like() -> impl Strategy<Value = Value> {
            let field = |right: BoxedStrategy<Value>| prop_oneof![8 => right.prop_map(Some), 1 => value().prop_map(Some), 1 => Just(None)];
            let kind = prop_oneof![
                Just(Value::from("Draft")),
                any::<f64>().prop_map(|f| obj(&[("Scheduled", Value::Float64(f))])),
                (0u32..300)
                    .prop_map(|r| obj(&[("Pinned", obj(&[("rank", Value::Float64(r.into()))]))])),
            ];
            (
                field(any::<String>().prop_map(Value::String).boxed()),
                field(any::<i64>().prop_map(Value::Int64).boxed()),
                field(any::<f64>().prop_map(Value::Float64).boxed()),
                field(
                    prop::collection::vec("[a-z]{0,3}".prop_map(Value::String), 0..3)
                        .prop_map(Value::Array)
                        .boxed(),
                ),
                field(prop_oneof![Just(Value::Null), "[a-z]{1,4}".prop_map(Value::String)].boxed()),
                field(
                    prop::collection::btree_map(
                        key(),
                        (0u32..9).prop_map(|n| Value::Float64(n.into())),
                        0..3,
                    )
                    .prop_map(Value::Object)
                    .boxed(),
                ),
                field(kind.boxed()),
                field(prop::collection::vec(any::<u8>(), 0..5).prop_map(Value::Bytes).boxed()),
                prop::collection::btree_map(key(), value(), 0..2),
            )
                .prop_map(
                    |(title, likes, score, tags, author, meta, kind, attachment, extra)| {
                        let mut fields = extra;
                        for (k, v) in [
                            ("title", title),
                            ("likes", likes),
                            ("score", score),
                            ("tags", tags),
                            ("author", author),
                            ("meta", meta),
                            ("kind", kind),
                            ("attachment", attachment),
                        ] {
                            if let Some(v) = v {
                                fields.insert(k.to_string(), v);
                            }
                        }
                        Value::Object(fields)
                    },
                )
        }

        fn obj(fields: &[(&str, Value)]) -> Value {
            Value::Object(fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
        }

        /// Wire JSON with object keys in a shuffled order and some fields written twice (the
        /// later copy is the one that counts): text a server may legally send.
        fn write_scrambled(v: &Value, seed: &mut u64, out: &mut String) {
            let mut next = || {
                *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (*seed >> 33) as usize
            };
            match v {
                Value::Array(items) => {
                    out.push('[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_scrambled(item, seed, out);
                    }
                    out.push(']');
                }
                Value::Object(fields) => {
                    let mut entries: Vec<(&String, Option<&Value>)> =
                        fields.iter().map(|(k, v)| (k, Some(v))).collect();
                    let n = entries.len();
                    for i in (1..n).rev() {
                        entries.swap(i, next() % (i + 1));
                    }
                    if n > 0 && next() % 3 == 0 {
                        // A decoy copy of one field before its real one.
                        let i = next() % n;
                        entries.insert(i, (entries[i].0, None));
                    }
                    out.push('{');
                    for (i, (k, v)) in entries.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push(':');
                        match v {
                            Some(v) => write_scrambled(v, seed, out),
                            None => out.push_str("\"decoy\""),
                        }
                    }
                    out.push('}');
                }
                other => out.push_str(&serde_json::to_string(other).unwrap()),
            }
        }

        /// A few random edits: characters JSON cares about inserted, removed or replaced.
        fn mutate(text: &str, edits: &[(usize, usize, char)]) -> String {
            let mut chars: Vec<char> = text.chars().collect();
            for &(at, op, c) in edits {
                let at = at % (chars.len() + 1);
                match op % 3 {
                    0 => chars.insert(at, c),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ if at < chars.len() => chars[at] = c,
                    _ => {}
                }
            }
            chars.into_iter().collect()
        }

        fn json_char() -> impl Strategy<Value = char> {
            prop::sample::select(vec![
                '{', '}', '[', ']', '"', ',', ':', '\\', '$', '-', '0', '1', '.', 'e', 'u', 'n',
                ' ', 'a', '\u{1}', 'é',
            ])
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn straight_decoding_equals_decoding_through_value(v in prop_oneof![value(), post_like()]) {
                let text = serde_json::to_string(&v).unwrap();
                let r = RawValue::from_json(&text).unwrap();
                // Keys in order (escaped keys are not compared, so they count as unordered).
                prop_assert!(r.0.sorted || text.contains('\\'));
                prop_assert_eq!(&*r.value().unwrap(), &v);
                all_agree(&r, &v).map_err(TestCaseError::fail)?;
            }

            #[test]
            fn scrambled_objects_decode_as_their_value(v in prop_oneof![value(), post_like()], seed in any::<u64>()) {
                let mut text = String::new();
                write_scrambled(&v, &mut seed.clone(), &mut text);
                let r = RawValue::from_json(&text).unwrap();
                prop_assert_eq!(&*r.value().unwrap(), &v, "{}", text);
                all_agree(&r, &v).map_err(TestCaseError::fail)?;
            }

            #[test]
            fn both_refuse_the_same_texts(
                v in prop_oneof![value(), post_like()],
                edits in prop::collection::vec((any::<usize>(), any::<usize>(), json_char()), 1..4),
            ) {
                let text = mutate(&serde_json::to_string(&v).unwrap(), &edits);
                let ours = RawValue::from_json(&text);
                let theirs = serde_json::from_str::<Value>(&text);
                match (&ours, &theirs) {
                    (Ok(r), Ok(theirs)) => {
                        let value = r.value().unwrap();
                        prop_assert_eq!(&*value, theirs, "{}", text);
                        all_agree(r, &value).map_err(TestCaseError::fail)?;
                    }
                    (Err(_), Err(_)) => {}
                    _ => prop_assert!(false, "{text:?}: raw {ours:?}, Value decoder {theirs:?}"),
                }
            }
        }
    }
}
