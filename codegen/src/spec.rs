//! Convex's function spec (`npx convex function-spec`) and its validator JSON, parsed.

use std::fmt;

use serde_json::{Map, Value as Json};

/// Why a spec could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn err<T>(message: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(message.into()))
}

/// A function's kind, as the spec's `functionType` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunctionType {
    Query,
    Mutation,
    Action,
}

impl FunctionType {
    /// The `yew_convex::function` alias for a reference of this kind.
    pub fn ref_alias(self) -> &'static str {
        match self {
            FunctionType::Query => "QueryRef",
            FunctionType::Mutation => "MutationRef",
            FunctionType::Action => "ActionRef",
        }
    }
}

/// A validator, as Convex serializes one (`ValidatorJSON`).
#[derive(Debug, Clone, PartialEq)]
pub enum Validator {
    Null,
    /// `v.number()` / `v.float64()`.
    Float64,
    /// `v.int64()` / `v.bigint()`.
    Int64,
    Boolean,
    String,
    Bytes,
    Any,
    /// `v.literal(..)`: a string, number, boolean, or int64 literal.
    Literal(Literal),
    /// `v.id("table")`.
    Id(String),
    Array(Box<Validator>),
    /// `v.record(keys, values)`.
    Record(Box<Validator>, Box<Validator>),
    Object(Vec<Field>),
    Union(Vec<Validator>),
}

/// A literal's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    String(String),
    Number(f64),
    Boolean(bool),
    /// An int64 literal (`{"$integer": base64}` on the wire).
    Int64(i64),
}

/// An object's field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub validator: Validator,
    pub optional: bool,
}

/// One public query, mutation or action.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// `module:name` (the module's path without its extension: `posts`, `admin/users`).
    pub path: String,
    pub module: Vec<String>,
    pub name: String,
    pub kind: FunctionType,
    /// `None`: no args validator (any object).
    pub args: Option<Validator>,
    /// `None`: no returns validator (any value).
    pub returns: Option<Validator>,
}

/// The public functions of a spec, in its order. Internal functions and HTTP actions are left
/// out (clients cannot call them).
pub fn parse(text: &str) -> Result<Vec<Function>, SpecError> {
    let spec: Json = serde_json::from_str(text).map_err(|e| SpecError(format!("not JSON: {e}")))?;
    let functions = match &spec {
        Json::Object(o) => o.get("functions").and_then(Json::as_array),
        Json::Array(a) => Some(a),
        _ => None,
    };
    let Some(functions) = functions else {
        return err("expected {\"functions\": [...]} (the output of `npx convex function-spec`)");
    };
    let mut out = Vec::new();
    for (i, f) in functions.iter().enumerate() {
        let at = |m: &str| SpecError(format!("functions[{i}]: {m}"));
        let Json::Object(f) = f else { return Err(at("not an object")) };
        let kind = match f.get("functionType").and_then(Json::as_str) {
            Some("Query") => FunctionType::Query,
            Some("Mutation") => FunctionType::Mutation,
            Some("Action") => FunctionType::Action,
            Some("HttpAction") => continue,
            other => return Err(at(&format!("unknown functionType {other:?}"))),
        };
        let visibility = f.get("visibility").and_then(|v| v.get("kind")).and_then(Json::as_str);
        if visibility != Some("public") {
            continue;
        }
        let identifier =
            f.get("identifier").and_then(Json::as_str).ok_or_else(|| at("missing identifier"))?;
        let (file, name) = identifier.rsplit_once(':').unwrap_or((identifier, "default"));
        let module_path = ["js", "ts", "jsx", "tsx", "mjs", "cjs"]
            .iter()
            .find_map(|ext| file.strip_suffix(&format!(".{ext}")))
            .unwrap_or(file);
        let module: Vec<String> = module_path.split('/').map(str::to_string).collect();
        let validator = |key: &str| -> Result<Option<Validator>, SpecError> {
            match f.get(key) {
                None | Some(Json::Null) => Ok(None),
                // The CLI prints validators as JSON text in some versions.
                Some(Json::String(text)) => {
                    let json: Json = serde_json::from_str(text)
                        .map_err(|e| at(&format!("{key}: not JSON: {e}")))?;
                    validator_of(&json).map(Some).map_err(|e| at(&format!("{key}: {}", e.0)))
                }
                Some(json) => {
                    validator_of(json).map(Some).map_err(|e| at(&format!("{key}: {}", e.0)))
                }
            }
        };
        out.push(Function {
            path: format!("{module_path}:{name}"),
            module,
            name: name.to_string(),
            kind,
            args: validator("args")?,
            returns: validator("returns")?,
        });
    }
    Ok(out)
}

fn fields_of(value: &Json) -> Result<Vec<Field>, SpecError> {
    let Some(map) = value.as_object() else { return err("object `value` is not a map") };
    // By name, as Convex's backend orders them (whatever order the JSON had).
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
        .into_iter()
        .map(|(name, field)| {
            let validator = field
                .get("fieldType")
                .ok_or_else(|| SpecError("missing fieldType".into()))
                .and_then(validator_of)
                .map_err(|e| SpecError(format!("field {name}: {}", e.0)))?;
            let optional = field.get("optional").and_then(Json::as_bool).unwrap_or(false);
            Ok(Field { name: name.clone(), validator, optional })
        })
        .collect()
}

fn literal_of(value: &Json) -> Result<Literal, SpecError> {
    Ok(match value {
        Json::String(s) => Literal::String(s.clone()),
        Json::Bool(b) => Literal::Boolean(*b),
        Json::Number(n) => Literal::Number(n.as_f64().unwrap_or(f64::NAN)),
        Json::Object(o) if o.len() == 1 && o.contains_key("$integer") => {
            let text = o.get("$integer").and_then(Json::as_str).unwrap_or_default();
            Literal::Int64(decode_integer(text)?)
        }
        other => return err(format!("unsupported literal {other}")),
    })
}

/// `$integer`: base64 of the little-endian 8 bytes.
fn decode_integer(text: &str) -> Result<i64, SpecError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits: u128 = 0;
    let mut n = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .ok_or_else(|| SpecError(format!("bad $integer {text:?}")))?;
        bits = (bits << 6) | v as u128;
        n += 6;
    }
    if n < 64 {
        return err(format!("bad $integer {text:?}"));
    }
    let bytes = ((bits >> (n - 64)) as u64).to_be_bytes();
    Ok(i64::from_le_bytes(bytes))
}

/// Parses one `ValidatorJSON`.
pub fn validator_of(json: &Json) -> Result<Validator, SpecError> {
    let Json::Object(o) = json else { return err(format!("validator is not an object: {json}")) };
    let ty = o.get("type").and_then(Json::as_str).unwrap_or_default();
    let value = || o.get("value").ok_or_else(|| SpecError(format!("{ty}: missing value")));
    Ok(match ty {
        "null" => Validator::Null,
        "number" | "float64" => Validator::Float64,
        "bigint" | "int64" => Validator::Int64,
        "boolean" => Validator::Boolean,
        "string" => Validator::String,
        "bytes" => Validator::Bytes,
        "any" => Validator::Any,
        "literal" => Validator::Literal(literal_of(value()?)?),
        "id" => Validator::Id(
            o.get("tableName")
                .and_then(Json::as_str)
                .ok_or_else(|| SpecError("id: missing tableName".into()))?
                .to_string(),
        ),
        "array" => Validator::Array(Box::new(validator_of(value()?)?)),
        "record" => {
            let keys = o.get("keys").ok_or_else(|| SpecError("record: missing keys".into()))?;
            let values =
                o.get("values").ok_or_else(|| SpecError("record: missing values".into()))?;
            // `values` is a field type ({fieldType, optional: false}) in ValidatorJSON.
            let values = values.get("fieldType").unwrap_or(values);
            Validator::Record(Box::new(validator_of(keys)?), Box::new(validator_of(values)?))
        }
        "object" => Validator::Object(fields_of(value()?)?),
        "union" => Validator::Union(
            value()?
                .as_array()
                .ok_or_else(|| SpecError("union: value is not an array".into()))?
                .iter()
                .map(validator_of)
                .collect::<Result<_, _>>()?,
        ),
        other => return err(format!("unknown validator type {other:?}")),
    })
}

/// A validator back to Convex's JSON (the devserver prints its spec with it).
pub fn validator_json(v: &Validator) -> Json {
    let mut o = Map::new();
    let ty = match v {
        Validator::Null => "null",
        Validator::Float64 => "number",
        Validator::Int64 => "bigint",
        Validator::Boolean => "boolean",
        Validator::String => "string",
        Validator::Bytes => "bytes",
        Validator::Any => "any",
        Validator::Literal(_) => "literal",
        Validator::Id(_) => "id",
        Validator::Array(_) => "array",
        Validator::Record(..) => "record",
        Validator::Object(_) => "object",
        Validator::Union(_) => "union",
    };
    o.insert("type".into(), ty.into());
    match v {
        Validator::Literal(l) => {
            let value = match l {
                Literal::String(s) => Json::from(s.clone()),
                Literal::Number(n) => Json::from(*n),
                Literal::Boolean(b) => Json::from(*b),
                Literal::Int64(i) => {
                    let mut m = Map::new();
                    m.insert("$integer".into(), encode_integer(*i).into());
                    Json::Object(m)
                }
            };
            o.insert("value".into(), value);
        }
        Validator::Id(t) => {
            o.insert("tableName".into(), t.clone().into());
        }
        Validator::Array(inner) => {
            o.insert("value".into(), validator_json(inner));
        }
        Validator::Record(k, val) => {
            o.insert("keys".into(), validator_json(k));
            let mut field = Map::new();
            field.insert("fieldType".into(), validator_json(val));
            field.insert("optional".into(), false.into());
            o.insert("values".into(), Json::Object(field));
        }
        Validator::Object(fields) => {
            let mut m = Map::new();
            for f in fields {
                let mut field = Map::new();
                field.insert("fieldType".into(), validator_json(&f.validator));
                field.insert("optional".into(), f.optional.into());
                m.insert(f.name.clone(), Json::Object(field));
            }
            o.insert("value".into(), Json::Object(m));
        }
        Validator::Union(vs) => {
            o.insert("value".into(), Json::Array(vs.iter().map(validator_json).collect()));
        }
        _ => {}
    }
    Json::Object(o)
}

fn encode_integer(i: i64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = i.to_le_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_through_base64() {
        for i in [0i64, 1, -1, 42, i64::MIN, i64::MAX, 1 << 40] {
            assert_eq!(decode_integer(&encode_integer(i)), Ok(i), "{i}");
        }
        // Convex's encoding of 1n: 8 little-endian bytes.
        assert_eq!(encode_integer(1), "AQAAAAAAAAA=");
    }

    #[test]
    fn validators_round_trip_through_json() {
        let v = Validator::Object(vec![
            Field { name: "a".into(), validator: Validator::Id("posts".into()), optional: true },
            Field {
                name: "b".into(),
                validator: Validator::Union(vec![
                    Validator::Literal(Literal::String("x".into())),
                    Validator::Literal(Literal::Int64(-3)),
                    Validator::Record(
                        Box::new(Validator::String),
                        Box::new(Validator::Array(Box::new(Validator::Bytes))),
                    ),
                ]),
                optional: false,
            },
        ]);
        assert_eq!(validator_of(&validator_json(&v)), Ok(v));
    }
}
