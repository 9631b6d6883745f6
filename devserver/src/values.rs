//! Convex values as they travel on the wire ("convex encoded JSON"): checks on incoming values,
//! argument validators with Convex's own error texts, and the conversion to clean JSON for the
//! HTTP API's `format: "json"`.

use base64::Engine as _;
use serde_json::{json, Map, Value as Json};

use crate::ids::DocumentId;

/// Convex's limit on the size of a function's arguments.
pub const MAX_ARGS_BYTES: usize = 16 * 1024 * 1024;

/// Checks that `value` is well-formed convex encoded JSON: special objects (`$integer`, `$float`,
/// `$bytes`) decode, and no other field name starts with `$`.
pub fn check_encoded(value: &Json) -> Result<(), String> {
    match value {
        Json::Array(items) => items.iter().try_for_each(check_encoded),
        Json::Object(map) => {
            if let Some(special) = special_kind(map) {
                return check_special(special, map);
            }
            for (key, v) in map {
                if key.starts_with('$') {
                    return Err(format!("Field name {key} starts with a '$', which is reserved."));
                }
                check_encoded(v)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn special_kind(map: &Map<String, Json>) -> Option<&str> {
    if map.len() != 1 {
        return None;
    }
    let key = map.keys().next()?;
    matches!(key.as_str(), "$integer" | "$float" | "$bytes").then_some(key.as_str())
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(s))
        .ok()
}

fn check_special(kind: &str, map: &Map<String, Json>) -> Result<(), String> {
    let Some(Json::String(s)) = map.get(kind) else {
        return Err(format!("Malformed {kind} value: expected a base64 string"));
    };
    let bytes = decode_b64(s).ok_or_else(|| format!("Malformed {kind} value: invalid base64"))?;
    match kind {
        "$integer" if bytes.len() != 8 => Err("Received bigint value that is not 8 bytes".into()),
        "$float" if bytes.len() != 8 => Err("Received float value that is not 8 bytes".into()),
        "$float" => {
            // Only NaN, the infinities and -0 travel as `$float` (as Convex checks).
            let f = f64::from_le_bytes(bytes.try_into().unwrap_or_default());
            if f.is_nan() || f.is_infinite() || (f == 0.0 && f.is_sign_negative()) {
                Ok(())
            } else {
                Err(format!("Float {f} should be encoded as a number"))
            }
        }
        _ => Ok(()),
    }
}

/// The 8 little-endian bytes of an `$integer` or `$float` special value.
fn special_8_bytes(map: &Map<String, Json>, kind: &str) -> Option<[u8; 8]> {
    map.get(kind).and_then(Json::as_str).and_then(decode_b64).and_then(|b| b.try_into().ok())
}

/// Encodes an int64 the way Convex does: `{"$integer": base64(little-endian)}`.
pub fn encode_int64(n: i64) -> Json {
    let s = base64::engine::general_purpose::STANDARD.encode(n.to_le_bytes());
    serde_json::json!({ "$integer": s })
}

/// The Convex type of a value, as validators name it.
fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(map) => match special_kind(map) {
            Some("$integer") => "bigint",
            Some("$float") => "number",
            Some("$bytes") => "bytes",
            _ => "object",
        },
    }
}

/// Formats a value the way Convex prints values in error messages.
pub fn display(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        Json::String(s) => Json::String(s.clone()).to_string(),
        Json::Array(items) => {
            format!("[{}]", items.iter().map(display).collect::<Vec<_>>().join(", "))
        }
        Json::Object(map) => match special_kind(map) {
            Some("$integer") => special_8_bytes(map, "$integer")
                .map(|b| format!("{}n", i64::from_le_bytes(b)))
                .unwrap_or_else(|| "bigint".into()),
            Some("$float") => special_8_bytes(map, "$float")
                .map(|b| f64::from_le_bytes(b).to_string())
                .unwrap_or_else(|| "number".into()),
            Some(_) => "bytes".into(),
            None => format!(
                "{{{}}}",
                map.iter()
                    .map(|(k, v)| format!("{k}: {}", display(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

/// A validator for a function's arguments or result, as declared with Convex's `v` builder.
#[derive(Debug, Clone)]
pub enum Validator {
    Any,
    Null,
    /// `v.number()` (float64).
    Number,
    Boolean,
    String,
    Id(&'static str),
    Array(Box<Validator>),
    Union(Vec<Validator>),
    /// `v.optional(..)`: only as an object field's validator (the field may be absent).
    Optional(Box<Validator>),
    /// `v.literal("…")` (string literals).
    Literal(&'static str),
    Object(Vec<(&'static str, Validator)>),
}

impl Validator {
    fn describe(&self) -> String {
        match self {
            Validator::Any => "v.any()".into(),
            Validator::Null => "v.null()".into(),
            Validator::Number => "v.float64()".into(),
            Validator::Boolean => "v.boolean()".into(),
            Validator::String => "v.string()".into(),
            Validator::Id(table) => format!("v.id(\"{table}\")"),
            Validator::Array(inner) => format!("v.array({})", inner.describe()),
            Validator::Union(members) => format!(
                "v.union({})",
                members.iter().map(Validator::describe).collect::<Vec<_>>().join(", ")
            ),
            Validator::Optional(inner) => format!("v.optional({})", inner.describe()),
            Validator::Literal(text) => format!("v.literal({text:?})"),
            Validator::Object(fields) => format!(
                "v.object({{{}}})",
                fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.describe()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The validator as Convex's validator JSON (`ValidatorJSON`, what `npx convex
    /// function-spec` prints).
    pub fn to_spec_json(&self) -> Json {
        match self {
            Validator::Any => json!({"type": "any"}),
            Validator::Null => json!({"type": "null"}),
            Validator::Number => json!({"type": "number"}),
            Validator::Boolean => json!({"type": "boolean"}),
            Validator::String => json!({"type": "string"}),
            Validator::Id(table) => json!({"type": "id", "tableName": table}),
            Validator::Array(inner) => json!({"type": "array", "value": inner.to_spec_json()}),
            Validator::Union(members) => json!({
                "type": "union",
                "value": members.iter().map(Validator::to_spec_json).collect::<Vec<_>>(),
            }),
            Validator::Literal(text) => json!({"type": "literal", "value": text}),
            // Only meaningful as a field; on its own, the inner validator.
            Validator::Optional(inner) => inner.to_spec_json(),
            Validator::Object(fields) => {
                let value: serde_json::Map<String, Json> = fields
                    .iter()
                    .map(|(name, v)| {
                        let (field, optional) = match v {
                            Validator::Optional(inner) => (inner.as_ref(), true),
                            v => (v, false),
                        };
                        (
                            name.to_string(),
                            json!({"fieldType": field.to_spec_json(), "optional": optional}),
                        )
                    })
                    .collect();
                json!({"type": "object", "value": value})
            }
        }
    }

    /// Validates `value`, returning Convex's `ArgumentValidationError` text on failure.
    /// `table_number` resolves table names for `v.id(..)` validators.
    pub fn validate(
        &self,
        value: &Json,
        table_number: &dyn Fn(&str) -> Option<u32>,
    ) -> Result<(), String> {
        self.validate_at(value, "", table_number, "ArgumentValidationError")
    }

    /// Validates a function's result, returning Convex's `ReturnsValidationError` text.
    pub fn validate_returns(
        &self,
        value: &Json,
        table_number: &dyn Fn(&str) -> Option<u32>,
    ) -> Result<(), String> {
        self.validate_at(value, "", table_number, "ReturnsValidationError")
    }

    fn validate_at(
        &self,
        value: &Json,
        path: &str,
        table_number: &dyn Fn(&str) -> Option<u32>,
        error: &str,
    ) -> Result<(), String> {
        let mismatch = || {
            let path_line = if path.is_empty() { String::new() } else { format!("Path: {path}\n") };
            format!(
                "{error}: Value does not match validator.\n{path_line}Value: {}\nValidator: {}",
                display(value),
                self.describe()
            )
        };
        match self {
            Validator::Any => Ok(()),
            Validator::Null => value.is_null().then_some(()).ok_or_else(mismatch),
            Validator::Number => (type_name(value) == "number").then_some(()).ok_or_else(mismatch),
            Validator::Boolean => value.is_boolean().then_some(()).ok_or_else(mismatch),
            Validator::String => value.is_string().then_some(()).ok_or_else(mismatch),
            Validator::Optional(inner) => inner.validate_at(value, path, table_number, error),
            Validator::Literal(text) => {
                (value.as_str() == Some(text)).then_some(()).ok_or_else(mismatch)
            }
            Validator::Array(inner) => {
                let Json::Array(items) = value else { return Err(mismatch()) };
                for (i, item) in items.iter().enumerate() {
                    inner.validate_at(item, &format!("{path}[{i}]"), table_number, error)?;
                }
                Ok(())
            }
            Validator::Union(members) => {
                if members.iter().any(|m| m.validate_at(value, path, table_number, error).is_ok()) {
                    Ok(())
                } else {
                    Err(mismatch())
                }
            }
            Validator::Id(table) => {
                let Json::String(s) = value else { return Err(mismatch()) };
                match (DocumentId::decode(s), table_number(table)) {
                    (Ok(id), Some(n)) if id.table_number == n => Ok(()),
                    _ => Err(mismatch()),
                }
            }
            Validator::Object(fields) => {
                let Json::Object(map) = value else { return Err(mismatch()) };
                if type_name(value) != "object" {
                    return Err(mismatch());
                }
                for (name, v) in fields {
                    if !map.contains_key(*name) && !matches!(v, Validator::Optional(_)) {
                        return Err(format!(
                            "{error}: Object is missing the required field `{name}`. Consider wrapping the field validator in `v.optional(...)` if this is expected.\n\nObject: {}\nValidator: {}",
                            display(value),
                            self.describe()
                        ));
                    }
                }
                for key in map.keys() {
                    if !fields.iter().any(|(name, _)| name == key) {
                        return Err(format!(
                            "{error}: Object contains extra field `{key}` that is not in the validator.\n\nObject: {}\nValidator: {}",
                            display(value),
                            self.describe()
                        ));
                    }
                }
                for (name, validator) in fields {
                    if let Some(v) = map.get(*name) {
                        validator.validate_at(v, &format!("{path}.{name}"), table_number, error)?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// Converts convex encoded JSON to clean JSON (`format: "json"`): int64 becomes a number, bytes a
/// base64 string, special floats their names.
pub fn to_clean_json(value: &Json) -> Json {
    match value {
        Json::Array(items) => Json::Array(items.iter().map(to_clean_json).collect()),
        Json::Object(map) => match special_kind(map) {
            Some("$integer") => special_8_bytes(map, "$integer")
                .map(|b| Json::from(i64::from_le_bytes(b)))
                .unwrap_or(Json::Null),
            Some("$float") => special_8_bytes(map, "$float")
                .map(|b| {
                    let f = f64::from_le_bytes(b);
                    serde_json::Number::from_f64(f)
                        .map(Json::Number)
                        .unwrap_or_else(|| Json::String(f.to_string()))
                })
                .unwrap_or(Json::Null),
            Some(_) => map.get("$bytes").cloned().unwrap_or(Json::Null),
            None => Json::Object(map.iter().map(|(k, v)| (k.clone(), to_clean_json(v))).collect()),
        },
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn posts(name: &str) -> Option<u32> {
        (name == "posts").then_some(10001)
    }

    #[test]
    fn dollar_fields_are_rejected_but_special_values_pass() {
        assert!(check_encoded(&json!({"a": {"$integer": "AQAAAAAAAAA="}})).is_ok());
        assert!(check_encoded(&json!({"a": {"$bytes": "AAEC"}})).is_ok());
        assert!(check_encoded(&json!({"$foo": 1})).is_err());
        assert!(check_encoded(&json!([{"x": {"$set": []}}])).is_err());
        assert!(check_encoded(&json!({"$integer": "AQ=="})).is_err());
    }

    #[test]
    fn only_special_floats_travel_as_float_objects() {
        // NaN, +inf, -inf, -0 (found by fuzz/: an ordinary float was accepted).
        for special in ["AAAAAAAA+H8=", "AAAAAAAA8H8=", "AAAAAAAA8P8=", "AAAAAAAAAIA="] {
            assert!(check_encoded(&json!({"$float": special})).is_ok(), "{special}");
        }
        for ordinary in ["AAAAAAAAAKA=", "AAAAAAAAAAA=", "AAAAAAAA8D8="] {
            let err = check_encoded(&json!({"x": {"$float": ordinary}})).unwrap_err();
            assert!(err.ends_with("should be encoded as a number"), "{ordinary}: {err}");
        }
    }

    #[test]
    fn object_validator_reports_missing_extra_and_mismatched_fields() {
        let v = Validator::Object(vec![("title", Validator::String), ("body", Validator::String)]);
        let missing = v.validate(&json!({"title": "x"}), &posts).unwrap_err();
        assert!(
            missing.starts_with(
                "ArgumentValidationError: Object is missing the required field `body`"
            ),
            "{missing}"
        );
        let extra = v.validate(&json!({"title": "x", "body": "y", "z": 1}), &posts).unwrap_err();
        assert!(extra.contains("Object contains extra field `z`"), "{extra}");
        let wrong = v.validate(&json!({"title": 1, "body": "y"}), &posts).unwrap_err();
        assert_eq!(
            wrong,
            "ArgumentValidationError: Value does not match validator.\nPath: .title\nValue: 1.0\nValidator: v.string()"
        );
    }

    #[test]
    fn id_validator_checks_format_and_table() {
        let v = Validator::Id("posts");
        let good = DocumentId::random(10001).encode();
        assert!(v.validate(&json!(good), &posts).is_ok());
        assert!(v.validate(&json!(DocumentId::random(10002).encode()), &posts).is_err());
        let err = v.validate(&json!("nope"), &posts).unwrap_err();
        assert!(err.contains("Validator: v.id(\"posts\")"), "{err}");
    }

    #[test]
    fn clean_json_unwraps_special_values() {
        assert_eq!(to_clean_json(&encode_int64(-5)), json!(-5));
        assert_eq!(to_clean_json(&json!({"b": {"$bytes": "AAE="}})), json!({"b": "AAE="}));
    }
}
