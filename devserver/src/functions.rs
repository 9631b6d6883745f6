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
    /// The result does not match the function's `returns` validator (text starts
    /// `ReturnsValidationError`).
    Returns(String),
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
            FnError::Arguments(m) | FnError::Returns(m) => format!("{m}\n"),
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

/// What an action sees: the caller's identity and a way to run queries and mutations.
pub struct ActionCtx<'a> {
    pub identity: Option<&'a Identity>,
    pub run_query: &'a dyn Fn(&str, Json) -> Result<Json, FnError>,
    /// Runs a mutation in its own transaction, as `ctx.runMutation` does.
    pub run_mutation: &'a dyn Fn(&str, Json) -> Result<Json, FnError>,
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
    /// What it returns (checked after every run, as Convex checks a `returns` validator).
    pub returns: fn() -> Validator,
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
fn key_arg() -> Validator {
    Validator::Object(vec![("key", Validator::String)])
}

fn post() -> Validator {
    Validator::Object(vec![
        ("_id", Validator::Id("posts")),
        ("_creationTime", Validator::Number),
        ("title", Validator::String),
        ("body", Validator::String),
        ("authorId", Validator::String),
        ("authorName", Validator::String),
    ])
}
fn posts() -> Validator {
    Validator::Array(Box::new(post()))
}
fn post_or_null() -> Validator {
    Validator::Union(vec![post(), Validator::Null])
}
fn post_id() -> Validator {
    Validator::Id("posts")
}
fn null() -> Validator {
    Validator::Null
}
fn string() -> Validator {
    Validator::String
}
fn any() -> Validator {
    Validator::Any
}
fn me() -> Validator {
    let optional = || Validator::Optional(Box::new(Validator::String));
    Validator::Union(vec![
        Validator::Object(vec![
            ("subject", Validator::String),
            ("issuer", Validator::String),
            ("tokenIdentifier", Validator::String),
            ("name", optional()),
            ("email", optional()),
        ]),
        Validator::Null,
    ])
}
fn nullable(v: Validator) -> Validator {
    Validator::Union(vec![v, Validator::Null])
}
fn paginated_args() -> Validator {
    let optional_number = || Validator::Optional(Box::new(Validator::Number));
    Validator::Object(vec![(
        "paginationOpts",
        Validator::Object(vec![
            ("numItems", Validator::Number),
            ("cursor", nullable(Validator::String)),
            ("endCursor", Validator::Optional(Box::new(nullable(Validator::String)))),
            ("id", optional_number()),
            ("maximumRowsRead", optional_number()),
            ("maximumBytesRead", optional_number()),
        ]),
    )])
}
fn posts_page() -> Validator {
    Validator::Object(vec![
        ("page", posts()),
        ("isDone", Validator::Boolean),
        ("continueCursor", Validator::String),
        ("splitCursor", Validator::Optional(Box::new(nullable(Validator::String)))),
        (
            "pageStatus",
            Validator::Optional(Box::new(Validator::Union(vec![
                Validator::Literal("SplitRecommended"),
                Validator::Literal("SplitRequired"),
                Validator::Null,
            ]))),
        ),
    ])
}
fn ledger_id() -> Validator {
    Validator::Id("ledger")
}
fn keys() -> Validator {
    Validator::Array(Box::new(Validator::String))
}

/// Every public function.
pub static FUNCTIONS: &[Function] = &[
    Function { path: "posts:list", args: no_args, returns: posts, body: Body::Query(posts_list) },
    Function {
        path: "posts:get",
        args: id_arg,
        returns: post_or_null,
        body: Body::Query(posts_get),
    },
    Function {
        path: "posts:listPaginated",
        args: paginated_args,
        returns: posts_page,
        body: Body::Query(posts_list_paginated),
    },
    Function {
        path: "posts:create",
        args: create_args,
        returns: post_id,
        body: Body::Mutation(posts_create),
    },
    Function {
        path: "posts:remove",
        args: id_arg,
        returns: null,
        body: Body::Mutation(posts_remove),
    },
    Function {
        path: "posts:summarize",
        args: id_arg,
        returns: string,
        body: Body::Action(posts_summarize),
    },
    Function { path: "users:me", args: no_args, returns: me, body: Body::Query(users_me) },
    Function { path: "values:echo", args: echo_args, returns: any, body: Body::Query(values_echo) },
    Function {
        path: "ledger:add",
        args: key_arg,
        returns: ledger_id,
        body: Body::Mutation(ledger_add),
    },
    Function { path: "ledger:list", args: no_args, returns: keys, body: Body::Query(ledger_list) },
    Function {
        path: "ledger:act",
        args: key_arg,
        returns: ledger_id,
        body: Body::Action(ledger_act),
    },
];

/// The functions as Convex's function spec (`npx convex function-spec`): `{url, functions:
/// [{identifier, functionType, visibility, args, returns}]}`.
pub fn spec(url: &str) -> Json {
    let functions: Vec<Json> = FUNCTIONS
        .iter()
        .map(|f| {
            let (module, name) = f.path.split_once(':').unwrap_or((f.path, "default"));
            json!({
                "args": (f.args)().to_spec_json(),
                "functionType": f.kind().to_string(),
                "identifier": format!("{module}.js:{name}"),
                "returns": (f.returns)().to_spec_json(),
                "visibility": {"kind": "public"},
            })
        })
        .collect();
    json!({ "url": url, "functions": functions })
}

/// Checks a function's result against its `returns` validator (Convex's
/// `ReturnsValidationError`).
pub fn check_returns(function: &Function, value: &Json) -> Result<(), FnError> {
    (function.returns)().validate_returns(value, &store::table_number).map_err(FnError::Returns)
}

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

/// The cursor after the last document (an exhausted query's `continueCursor`).
const END_CURSOR: &str = "_end";

/// A position in `posts` (newest first): after the document with this `_creationTime`.
/// `None` is the start; `Some(f64::NEG_INFINITY)` the end.
fn parse_cursor(cursor: Option<&Json>) -> Result<Option<f64>, FnError> {
    match cursor {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) if s == END_CURSOR => Ok(Some(f64::NEG_INFINITY)),
        Some(Json::String(s)) => s
            .strip_prefix("t:")
            .and_then(|t| t.parse::<f64>().ok())
            .filter(|t| t.is_finite())
            .map(Some)
            .ok_or_else(|| {
                FnError::Uncaught(format!("InvalidCursor: {s:?} is not a cursor of this query"))
            }),
        Some(other) => Err(FnError::Uncaught(format!("InvalidCursor: {other}"))),
    }
}

fn cursor_after(doc: &Json) -> String {
    let t = doc.get("_creationTime").and_then(Json::as_f64).unwrap_or_default();
    format!("t:{t}")
}

/// `posts:listPaginated`: Convex's `paginate()` over posts, newest first. Without `endCursor`
/// a page is the next `numItems` posts after `cursor`; with one (sent by a client that split a
/// page, or kept in the subscription's journal by the sync session) it is every post between
/// the two, however many, so a page keeps its bounds as posts come and go. A page that grew to
/// twice `numItems` or more suggests a split (`splitCursor`, `pageStatus: "SplitRecommended"`).
fn posts_list_paginated(ctx: &mut Ctx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    let opts = args.get("paginationOpts").and_then(Json::as_object);
    let get = |name: &str| opts.and_then(|o| o.get(name));
    let num_items = get("numItems").and_then(Json::as_f64).unwrap_or(0.0).max(0.0) as usize;
    let start = parse_cursor(get("cursor"))?;
    let end = parse_cursor(get("endCursor"))?;
    let after_start: Vec<Json> = ctx
        .scan_desc("posts")?
        .into_iter()
        .filter(|doc| {
            let t = doc.get("_creationTime").and_then(Json::as_f64).unwrap_or_default();
            start.is_none_or(|s| t < s)
        })
        .map(public_post)
        .collect();
    let (page, is_done, continue_cursor) = match end {
        Some(end) => {
            let page: Vec<Json> = after_start
                .into_iter()
                .filter(|doc| {
                    doc.get("_creationTime").and_then(Json::as_f64).unwrap_or_default() >= end
                })
                .collect();
            let cursor = match get("endCursor") {
                Some(Json::String(s)) => s.clone(),
                _ => END_CURSOR.to_string(),
            };
            (page, end == f64::NEG_INFINITY, cursor)
        }
        None => {
            let is_done = after_start.len() <= num_items;
            let page: Vec<Json> = after_start.into_iter().take(num_items).collect();
            let cursor = match page.last() {
                Some(last) if !is_done => cursor_after(last),
                _ => END_CURSOR.to_string(),
            };
            (page, is_done, cursor)
        }
    };
    let split = (num_items > 0 && page.len() >= 2 * num_items)
        .then(|| cursor_after(&page[page.len() / 2 - 1]));
    Ok(json!({
        "page": page,
        "isDone": is_done,
        "continueCursor": continue_cursor,
        "splitCursor": split,
        "pageStatus": split.as_ref().map(|_| "SplitRecommended"),
    }))
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

fn ledger_add(ctx: &mut Ctx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    let mut doc = Map::new();
    doc.insert("key".into(), json!(str_arg(args, "key")));
    Ok(json!(ctx.insert("ledger", doc)?))
}

fn ledger_list(ctx: &mut Ctx<'_>, _: &Map<String, Json>) -> Result<Json, FnError> {
    let mut keys: Vec<Json> =
        ctx.scan_desc("ledger")?.into_iter().filter_map(|doc| doc.get("key").cloned()).collect();
    keys.reverse();
    Ok(Json::Array(keys))
}

fn ledger_act(ctx: &mut ActionCtx<'_>, args: &Map<String, Json>) -> Result<Json, FnError> {
    (ctx.run_mutation)("ledger:add", json!({ "key": str_arg(args, "key") }))
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
    #[test]
    fn the_demo_uses_the_current_function_spec() {
        // demo/convex/function-spec.json feeds the demo's generated `api`; regenerate it with
        // `devserver function-spec > demo/convex/function-spec.json` after changing a function.
        let checked_in: Json =
            serde_json::from_str(include_str!("../../demo/convex/function-spec.json")).unwrap();
        assert_eq!(
            checked_in["functions"],
            spec("http://127.0.0.1:3210")["functions"],
            "demo/convex/function-spec.json is stale: run `devserver function-spec > demo/convex/function-spec.json`"
        );
    }

    #[test]
    fn results_are_checked_against_returns_validators() {
        let list = FUNCTIONS.iter().find(|f| f.path == "ledger:list").unwrap();
        assert!(check_returns(list, &json!(["a", "b"])).is_ok());
        let err = check_returns(list, &json!(["a", 1])).unwrap_err();
        assert_eq!(
            err,
            FnError::Returns(
                "ReturnsValidationError: Value does not match validator.\nPath: [1]\nValue: 1.0\nValidator: v.string()".into()
            )
        );
        let me = FUNCTIONS.iter().find(|f| f.path == "users:me").unwrap();
        let user = json!({"subject": "a", "issuer": "i", "tokenIdentifier": "i|a"});
        assert!(check_returns(me, &user).is_ok(), "name and email are optional");
        assert!(check_returns(me, &Json::Null).is_ok());
        assert!(check_returns(me, &json!({"subject": "a"})).is_err());
    }

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
