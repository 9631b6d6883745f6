//! The demo app's Convex functions, written in Rust, and the registry that finds them.
//!
//! Names and behaviour are part of the devserver's contract (the client's tests and the demo
//! rely on them): `posts:list`, `posts:get`, `posts:create`, `posts:remove`, `users:me`,
//! `posts:summarize` and `values:echo`.

use std::fmt;

use rusqlite::Connection;
use serde_json::{json, Map, Value as Json};

use crate::{
    auth::Identity,
    store::{self, ReadSet, Writes},
    values::Validator,
};

/// A function's kind, named as Convex names it in error texts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Query,
    Mutation,
    Action,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Query => "Query",
            Kind::Mutation => "Mutation",
            Kind::Action => "Action",
        })
    }
}

/// Why a function call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum FnError {
    /// `throw new Error(message)` in the function.
    Uncaught(String),
    /// `throw new ConvexError(data)`: the data reaches the client as `errorData`.
    Convex(Json),
    /// The arguments do not match the function's validator (text starts `ArgumentValidationError`).
    Arguments(String),
    /// No public function by that path.
    NotFound(String),
    /// The function exists but is of another kind.
    WrongKind { path: String, called_as: Kind, defined_as: Kind },
    /// The storage failed.
    Internal(String),
}

impl From<rusqlite::Error> for FnError {
    fn from(e: rusqlite::Error) -> Self {
        FnError::Internal(e.to_string())
    }
}

impl FnError {
    fn convex(code: &str) -> Self {
        FnError::Convex(json!({ "code": code }))
    }

    /// The error text a client sees, with Convex's `[Request ID: …] Server Error` prefix.
    pub fn message(&self, request_id: &str) -> String {
        let detail = match self {
            FnError::Uncaught(m) => format!("Uncaught Error: {m}"),
            FnError::Convex(data) => format!("Uncaught ConvexError: {data}"),
            // Convex's validation errors end with an extra newline of their own.
            FnError::Arguments(m) => format!("{m}\n"),
            FnError::NotFound(path) => format!("Could not find public function for '{path}'."),
            FnError::WrongKind { path, called_as, defined_as } => {
                format!(
                    "Trying to execute {path} as {called_as}, but it is defined as {defined_as}."
                )
            }
            FnError::Internal(m) => format!("InternalServerError: {m}"),
        };
        // Convex's JS error texts end with a newline.
        format!("[Request ID: {request_id}] Server Error\n{detail}\n")
    }

    /// ConvexError data, when the function threw one.
    pub fn data(&self) -> Option<&Json> {
        match self {
            FnError::Convex(data) => Some(data),
            _ => None,
        }
    }
}

/// What a query or mutation function sees: the database, the caller's identity and a log.
pub struct Ctx<'a> {
    conn: &'a Connection,
    writes: Option<&'a mut Writes>,
    identity: Option<&'a Identity>,
    /// What the function read (for reactivity).
    pub reads: ReadSet,
    /// Lines the function logged, as Convex sends them (`[LOG] 'text'`).
    pub logs: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// A read-only context for a query.
    pub fn query(conn: &'a Connection, identity: Option<&'a Identity>) -> Self {
        Self { conn, writes: None, identity, reads: ReadSet::default(), logs: Vec::new() }
    }

    /// A read-write context inside a mutation's transaction.
    pub fn mutation(
        conn: &'a Connection,
        writes: &'a mut Writes,
        identity: Option<&'a Identity>,
    ) -> Self {
        Self { conn, writes: Some(writes), identity, reads: ReadSet::default(), logs: Vec::new() }
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.identity
    }

    pub fn log(&mut self, text: &str) {
        self.logs.push(format!("[LOG] {}", quote(text)));
    }

    pub fn get(&mut self, id: &str) -> Result<Option<Json>, FnError> {
        self.reads.docs.insert(id.to_string());
        Ok(store::get(self.conn, id)?)
    }

    pub fn scan_desc(&mut self, table: &str) -> Result<Vec<Json>, FnError> {
        self.reads.tables.insert(table.to_string());
        Ok(store::scan_desc(self.conn, table)?)
    }

    fn writes(&mut self) -> Result<&mut Writes, FnError> {
        self.writes
            .as_deref_mut()
            .ok_or_else(|| FnError::Uncaught("a query cannot write to the database".into()))
    }

    pub fn insert(&mut self, table: &str, value: Map<String, Json>) -> Result<String, FnError> {
        let conn = self.conn;
        Ok(self.writes()?.insert(conn, table, value)?)
    }

    pub fn delete(&mut self, id: &str) -> Result<bool, FnError> {
        let conn = self.conn;
        Ok(self.writes()?.delete(conn, id)?)
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// What an action sees: the caller's identity and a way to run queries.
pub struct ActionCtx<'a> {
    pub identity: Option<&'a Identity>,
    pub run_query: &'a dyn Fn(&str, Json) -> Result<Json, FnError>,
    pub logs: Vec<String>,
}

type QueryFn = fn(&mut Ctx<'_>, &Map<String, Json>) -> Result<Json, FnError>;
type ActionFn = fn(&mut ActionCtx<'_>, &Map<String, Json>) -> Result<Json, FnError>;

/// A function's body.
#[derive(Clone, Copy)]
pub enum Body {
    Query(QueryFn),
    Mutation(QueryFn),
    Action(ActionFn),
}

/// A registered public function.
pub struct Function {
    pub path: &'static str,
    pub args: fn() -> Validator,
    pub body: Body,
}

impl Function {
    pub fn kind(&self) -> Kind {
        match self.body {
            Body::Query(_) => Kind::Query,
            Body::Mutation(_) => Kind::Mutation,
            Body::Action(_) => Kind::Action,
        }
    }
}

fn no_args() -> Validator {
    Validator::Object(vec![])
}
fn id_arg() -> Validator {
    Validator::Object(vec![("id", Validator::Id("posts"))])
}
fn create_args() -> Validator {
    Validator::Object(vec![("title", Validator::String), ("body", Validator::String)])
}
fn echo_args() -> Validator {
    Validator::Object(vec![("value", Validator::Any)])
}

/// Every public function.
pub static FUNCTIONS: &[Function] = &[
    Function { path: "posts:list", args: no_args, body: Body::Query(posts_list) },
    Function { path: "posts:get", args: id_arg, body: Body::Query(posts_get) },
    Function { path: "posts:create", args: create_args, body: Body::Mutation(posts_create) },
    Function { path: "posts:remove", args: id_arg, body: Body::Mutation(posts_remove) },
    Function { path: "posts:summarize", args: id_arg, body: Body::Action(posts_summarize) },
    Function { path: "users:me", args: no_args, body: Body::Query(users_me) },
    Function { path: "values:echo", args: echo_args, body: Body::Query(values_echo) },
];

/// Canonical `module:function` form of a path: `.js` dropped, `default` implied.
pub fn canonical_path(path: &str) -> String {
    let (module, function) = path.split_once(':').unwrap_or((path, "default"));
    let module = module.strip_suffix(".js").unwrap_or(module);
    format!("{module}:{function}")
}

/// Finds the public function `path` to call as `kind`, and validates `args` against it.
pub fn resolve<'a>(
    path: &str,
    kind: Kind,
    args: &'a Json,
) -> Result<(&'static Function, &'a Map<String, Json>), FnError> {
    let canonical = canonical_path(path);
    let function = FUNCTIONS
        .iter()
        .find(|f| f.path == canonical)
        .ok_or_else(|| FnError::NotFound(canonical.clone()))?;
    if function.kind() != kind {
        let (module, name) = canonical.split_once(':').unwrap_or((&canonical, "default"));
        return Err(FnError::WrongKind {
            path: format!("{module}.js:{name}"),
            called_as: kind,
            defined_as: function.kind(),
        });
    }
    let Json::Object(map) = args else {
        return Err(FnError::Arguments(format!(
            "ArgumentValidationError: Expected to receive an object as the function's argument. Instead received: {}",
            crate::values::display(args)
        )));
    };
    (function.args)().validate(args, &store::table_number).map_err(FnError::Arguments)?;
    Ok((function, map))
}

fn str_arg<'a>(args: &'a Map<String, Json>, name: &str) -> &'a str {
    // Validators ran before the body, so a missing string is impossible; "" keeps us panic-free.
    args.get(name).and_then(Json::as_str).unwrap_or_default()
}

fn public_post(doc: Json) -> Json {
    let Json::Object(mut map) = doc else { return Json::Null };
    map.retain(|k, _| {
        matches!(k.as_str(), "_id" | "_creationTime" | "title" | "body" | "authorId" | "authorName")
    });
    Json::Object(map)
}

fn posts_list(ctx: &mut Ctx<'_>, _: &Map<String, Json>) -> Result<Json, FnError> {
    Ok(Json::Array(ctx.scan_desc("posts")?.into_iter().map(public_post).collect()))
}

fn posts_get(ctx: &mut Ctx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    Ok(ctx.get(str_arg(args, "id"))?.map(public_post).unwrap_or(Json::Null))
}

fn posts_create(ctx: &mut Ctx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    let identity = ctx.identity().ok_or_else(|| FnError::convex("UNAUTHENTICATED"))?;
    let author_id = identity.token_identifier().to_string();
    let author_name = identity
        .field("name")
        .or_else(|| identity.field("email"))
        .unwrap_or_else(|| identity.subject())
        .to_string();
    let title = str_arg(args, "title").trim();
    let length = title.chars().count();
    if !(1..=200).contains(&length) {
        return Err(FnError::Convex(json!({
            "code": "INVALID_ARGUMENT",
            "message": "The title must be 1 to 200 characters long.",
        })));
    }
    let mut doc = Map::new();
    doc.insert("title".into(), json!(title));
    doc.insert("body".into(), json!(str_arg(args, "body")));
    doc.insert("authorId".into(), json!(author_id));
    doc.insert("authorName".into(), json!(author_name));
    let id = ctx.insert("posts", doc)?;
    ctx.log(&format!("created post {id}"));
    Ok(json!(id))
}

fn posts_remove(ctx: &mut Ctx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    let identity = ctx.identity().ok_or_else(|| FnError::convex("UNAUTHENTICATED"))?;
    let me = identity.token_identifier().to_string();
    let id = str_arg(args, "id");
    let post = ctx.get(id)?.ok_or_else(|| FnError::convex("NOT_FOUND"))?;
    if post.get("authorId").and_then(Json::as_str) != Some(me.as_str()) {
        return Err(FnError::convex("FORBIDDEN"));
    }
    ctx.delete(id)?;
    Ok(Json::Null)
}

fn users_me(ctx: &mut Ctx<'_>, _: &Map<String, Json>) -> Result<Json, FnError> {
    let Some(identity) = ctx.identity() else { return Ok(Json::Null) };
    let mut me = Map::new();
    for field in ["subject", "issuer", "tokenIdentifier", "name", "email"] {
        if let Some(value) = identity.fields.get(field) {
            me.insert(field.into(), value.clone());
        }
    }
    Ok(Json::Object(me))
}

fn values_echo(_: &mut Ctx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    Ok(args.get("value").cloned().unwrap_or(Json::Null))
}

fn posts_summarize(ctx: &mut ActionCtx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    let post = (ctx.run_query)("posts:get", json!({ "id": str_arg(args, "id") }))?;
    if post.is_null() {
        return Err(FnError::convex("NOT_FOUND"));
    }
    let field = |name: &str| post.get(name).and_then(Json::as_str).unwrap_or_default().to_string();
    let body = field("body");
    let words: Vec<&str> = body.split_whitespace().collect();
    let preview: Vec<&str> = words.iter().take(12).copied().collect();
    let ellipsis = if words.len() > preview.len() { "…" } else { "" };
    ctx.logs.push(format!("[LOG] {}", quote(&format!("summarized {}", field("_id")))));
    Ok(json!(format!(
        "\u{201c}{}\u{201d} by {}: {} words. {}{}",
        field("title"),
        field("authorName"),
        words.len(),
        preview.join(" "),
        ellipsis
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_canonicalised_and_kinds_checked() {
        assert_eq!(canonical_path("posts.js:list"), "posts:list");
        assert_eq!(canonical_path("posts"), "posts:default");
        let args = json!({});
        assert!(resolve("posts.js:list", Kind::Query, &args).is_ok());
        let err = resolve("posts:list", Kind::Mutation, &args).err().unwrap();
        assert_eq!(
            err.message("abc"),
            "[Request ID: abc] Server Error\nTrying to execute posts.js:list as Mutation, but it is defined as Query.\n"
        );
        let err = resolve("posts:nope", Kind::Query, &args).err().unwrap();
        assert!(err.message("x").ends_with("Could not find public function for 'posts:nope'.\n"));
    }
}
