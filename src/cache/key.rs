//! Query keys: a list of JSON-like parts, hashed stably (object field order never matters), and
//! the keys of Convex queries.

use std::rc::Rc;

use serde::Serialize;

use crate::{
    function::{kind, FunctionArgs},
    value::{to_value, Value, ValueError},
};

/// The tag of a Convex query's key (`["convexQuery", path, args]`, as `@convex-dev/react-query`
/// builds it).
pub const CONVEX_QUERY: &str = "convexQuery";
/// The tag of a Convex action's key (`["convexAction", path, args]`).
pub const CONVEX_ACTION: &str = "convexAction";

/// A cache key: a list of parts. Two keys are equal when their parts are (field order in
/// objects is irrelevant), and a key *matches* a filter key whose parts are a prefix of its own.
///
/// # Example
/// ```
/// use yew_convex::cache::QueryKey;
/// use serde_json::json;
///
/// let a = QueryKey::from_serialize(&json!(["todos", {"done": false, "page": 1}])).unwrap();
/// let b = QueryKey::from_serialize(&json!(["todos", {"page": 1, "done": false}])).unwrap();
/// assert_eq!(a, b);
/// assert!(a.starts_with(&QueryKey::from_serialize(&json!(["todos"])).unwrap()));
/// ```
#[derive(Clone)]
pub struct QueryKey {
    parts: Rc<[Value]>,
    hash: Rc<str>,
}

fn part_hash(part: &Value) -> String {
    // The wire JSON (objects are sorted maps, so field order never matters); a `$`-prefixed
    // field name cannot go on the wire but may be in a key: its debug form is as stable.
    serde_json::to_string(part).unwrap_or_else(|_| format!("{part:?}"))
}

impl QueryKey {
    /// A key from its parts.
    pub fn new(parts: impl IntoIterator<Item = Value>) -> Self {
        let parts: Rc<[Value]> = parts.into_iter().collect();
        let hash: String = parts.iter().map(part_hash).collect::<Vec<_>>().join("|");
        Self { parts, hash: hash.into() }
    }

    /// A key from anything serializable: an array's items are its parts; anything else is a
    /// one-part key.
    pub fn from_serialize<T: Serialize + ?Sized>(key: &T) -> Result<Self, ValueError> {
        Ok(match to_value(key)? {
            Value::Array(parts) => Self::new(parts),
            other => Self::new([other]),
        })
    }

    /// The key of the Convex query `path` with `args` (an object).
    pub fn convex_query(path: &str, args: Value) -> Self {
        Self::new([
            Value::String(CONVEX_QUERY.into()),
            Value::String(crate::sync::canonical_path(path)),
            args,
        ])
    }

    /// The key of `query` (a typed reference or a path) with `args`: what
    /// [`convex_query`](crate::convex_query) caches it under, for loaders and invalidation.
    ///
    /// ```
    /// use yew_convex::{cache::QueryKey, function::QueryRef};
    /// #[derive(serde::Serialize)]
    /// struct GetArgs { id: String }
    /// const GET: QueryRef<GetArgs, Option<String>> = QueryRef::new("posts:get");
    /// let key = QueryKey::of_query(GET, &GetArgs { id: "abc".into() }).unwrap();
    /// assert_eq!(key, QueryKey::convex_query("posts:get",
    ///     yew_convex::value::to_value(&serde_json::json!({"id": "abc"})).unwrap()));
    /// ```
    pub fn of_query<A: Serialize + ?Sized>(
        query: impl FunctionArgs<kind::Query, A>,
        args: &A,
    ) -> Result<Self, ValueError> {
        Ok(Self::convex_query(query.path(), to_value(args)?))
    }

    /// The key of the Convex action `path` with `args` (an object).
    pub fn convex_action(path: &str, args: Value) -> Self {
        Self::new([
            Value::String(CONVEX_ACTION.into()),
            Value::String(crate::sync::canonical_path(path)),
            args,
        ])
    }

    /// The parts.
    pub fn parts(&self) -> &[Value] {
        &self.parts
    }

    /// The stable hash (equal keys have equal hashes).
    pub fn hash_str(&self) -> &str {
        &self.hash
    }

    /// Whether `prefix`'s parts are the first parts of this key (every key starts with the
    /// empty key).
    pub fn starts_with(&self, prefix: &QueryKey) -> bool {
        prefix.parts.len() <= self.parts.len()
            && prefix.parts.iter().zip(self.parts.iter()).all(|(a, b)| part_hash(a) == part_hash(b))
    }

    /// For a Convex query's key: its function path and args.
    pub fn as_convex_query(&self) -> Option<(&str, &Value)> {
        match &*self.parts {
            [Value::String(tag), Value::String(path), args] if tag == CONVEX_QUERY => {
                Some((path, args))
            }
            _ => None,
        }
    }

    /// Whether the key belongs to Convex (a query or an action): its data depends on who is
    /// signed in.
    pub fn is_convex(&self) -> bool {
        matches!(self.parts.first(), Some(Value::String(tag)) if tag == CONVEX_QUERY || tag == CONVEX_ACTION)
    }
}

impl PartialEq for QueryKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
    }
}

impl Eq for QueryKey {}

impl std::hash::Hash for QueryKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.hash.hash(state);
    }
}

impl std::fmt::Debug for QueryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.hash.replace('|', ", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(j: serde_json::Value) -> QueryKey {
        QueryKey::from_serialize(&j).unwrap()
    }

    #[test]
    fn hashing_is_stable_and_order_free_and_prefixes_match_whole_parts() {
        assert_eq!(key(json!([{"a": 1, "b": [1, 2]}])), key(json!([{"b": [1, 2], "a": 1}])));
        assert_ne!(key(json!(["a", 1])), key(json!(["a", "1"])));
        assert!(key(json!(["posts", 1, "x"])).starts_with(&key(json!(["posts", 1]))));
        assert!(!key(json!(["postsX"])).starts_with(&key(json!(["posts"]))));
        assert!(key(json!(["a"])).starts_with(&QueryKey::new([])));
        let k = QueryKey::convex_query("posts.js:list", Value::Object(Default::default()));
        assert_eq!(k.as_convex_query().map(|(p, _)| p), Some("posts:list"));
        assert!(k.is_convex());
        assert!(!key(json!(["todos"])).is_convex());
    }
}
