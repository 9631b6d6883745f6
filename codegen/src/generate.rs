//! Rust source from parsed functions.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write,
};

use crate::spec::{Field, Function, Literal, Validator};

/// Words that cannot be identifiers as they are.
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];
/// Keywords that cannot even be raw identifiers.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// Splits a name into lowercase words: `listPaginated` → `list`, `paginated`;
/// `HTTPServer_v2` → `http`, `server`, `v2`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Makes `name` a usable identifier: keywords become raw identifiers (or get a `_` suffix when
/// they cannot be raw), a leading digit gets a `_` prefix.
fn ident(name: String) -> String {
    let name =
        if name.starts_with(|c: char| c.is_ascii_digit()) { format!("_{name}") } else { name };
    if NOT_RAW.contains(&name.as_str()) {
        format!("{name}_")
    } else if KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// `snake_case` identifier for a field, function or module name.
pub fn snake(name: &str) -> String {
    let name = words(name).join("_");
    ident(if name.is_empty() { "empty".into() } else { name })
}

/// `PascalCase` identifier for a type or variant name.
pub fn pascal(name: &str) -> String {
    let mut out = String::new();
    for word in words(name) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    ident(if out.is_empty() { "Empty".into() } else { out })
}

/// Picks `wanted`, or `wanted2`, `wanted3`… when taken.
fn unique(taken: &mut BTreeSet<String>, wanted: String) -> String {
    let mut name = wanted.clone();
    let mut n = 2;
    while taken.contains(&name) {
        let base = wanted.trim_start_matches("r#");
        name = format!("{base}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

const DERIVE: &str = "#[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]";

/// The items (structs, enums) of one module, with names unique within it.
struct Items {
    taken: BTreeSet<String>,
    code: String,
    /// `super::` repeated up to the generated file's root (where `tables` is).
    root: String,
    tables: BTreeSet<String>,
    /// Objects already defined in this module, by shape: the same shape is one type.
    shapes: BTreeMap<String, String>,
}

impl Items {
    /// The Rust type for `v`; named items get names from `hint`.
    fn rust_type(&mut self, v: &Validator, hint: &str) -> String {
        match v {
            Validator::Null => "()".into(),
            Validator::Float64 => "f64".into(),
            Validator::Int64 => "i64".into(),
            Validator::Boolean => "bool".into(),
            Validator::String => "::std::string::String".into(),
            Validator::Bytes => "::yew_convex::value::Bytes".into(),
            Validator::Any => "::yew_convex::value::Value".into(),
            Validator::Id(table) => {
                self.tables.insert(table.clone());
                format!("::yew_convex::value::Id<{}tables::{}>", self.root, pascal(table))
            }
            Validator::Literal(Literal::String(_)) => self.literal_enum(&[v], hint),
            // A lone non-string literal: its base type (Rust has no literal types).
            Validator::Literal(Literal::Number(_)) => "f64".into(),
            Validator::Literal(Literal::Boolean(_)) => "bool".into(),
            Validator::Literal(Literal::Int64(_)) => "i64".into(),
            Validator::Array(inner) => {
                format!("::std::vec::Vec<{}>", self.rust_type(inner, &format!("{hint}Item")))
            }
            Validator::Record(keys, values) => {
                let k = self.rust_type(keys, &format!("{hint}Key"));
                let v = self.rust_type(values, &format!("{hint}Value"));
                format!("::std::collections::BTreeMap<{k}, {v}>")
            }
            Validator::Object(fields) => self.object(fields, hint),
            Validator::Union(members) => self.union(members, hint),
        }
    }

    fn object(&mut self, fields: &[Field], hint: &str) -> String {
        // Convex's pagination shapes are the library's types (use_paginated_query takes them).
        if is_pagination_opts(fields) {
            return "::yew_convex::function::PaginationOpts".into();
        }
        if let Some(item) = pagination_item(fields) {
            let item = self.rust_type(item, &format!("{hint}Item"));
            return format!("::yew_convex::function::PaginationResult<{item}>");
        }
        // A document (`_id: v.id("posts")` and `_creationTime`) is named by its table, as
        // `Doc<"posts">` is in TypeScript: `PostsDoc`.
        let table = fields.iter().find_map(|f| match (&f.name[..], &f.validator) {
            ("_id", Validator::Id(table)) => Some(table.clone()),
            _ => None,
        });
        let document = table.filter(|_| fields.iter().any(|f| f.name == "_creationTime"));
        // The same document shape in several functions of a module is one type.
        let shape = format!("{fields:?}");
        if document.is_some() {
            if let Some(name) = self.shapes.get(&shape) {
                return name.clone();
            }
        }
        let hint = match &document {
            Some(table) => format!("{}Doc", pascal(table)),
            None => hint.to_string(),
        };
        let name = unique(&mut self.taken, pascal(&hint));
        if document.is_some() {
            self.shapes.insert(shape, name.clone());
        }
        let mut body = String::new();
        let mut field_names = BTreeSet::new();
        for field in fields {
            let rust = unique(&mut field_names, snake(&field.name));
            let ty = self.rust_type(&field.validator, &format!("{name}{}", pascal(&field.name)));
            let bare = rust.trim_start_matches("r#");
            if bare != field.name {
                let _ = writeln!(body, "    #[serde(rename = {:?})]", field.name);
            }
            if field.optional {
                let _ = writeln!(
                    body,
                    "    #[serde(default, skip_serializing_if = \"::std::option::Option::is_none\")]"
                );
                let _ = writeln!(body, "    pub {rust}: ::std::option::Option<{ty}>,");
            } else {
                let _ = writeln!(body, "    pub {rust}: {ty},");
            }
        }
        let _ = writeln!(self.code, "\n{DERIVE}\npub struct {name} {{\n{body}}}");
        name
    }

    /// An enum of string literals.
    fn literal_enum(&mut self, members: &[&Validator], hint: &str) -> String {
        let name = unique(&mut self.taken, pascal(hint));
        let mut variants = BTreeSet::new();
        let mut body = String::new();
        for m in members {
            if let Validator::Literal(Literal::String(s)) = m {
                let variant = unique(&mut variants, pascal(s));
                let _ = writeln!(body, "    #[serde(rename = {s:?})]\n    {variant},");
            }
        }
        let _ = writeln!(
            self.code,
            "\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize, ::serde::Deserialize)]\npub enum {name} {{\n{body}}}"
        );
        name
    }

    fn union(&mut self, members: &[Validator], hint: &str) -> String {
        let non_null: Vec<&Validator> = members.iter().filter(|m| **m != Validator::Null).collect();
        let nullable = non_null.len() < members.len();
        let inner = if non_null.is_empty() {
            "()".to_string()
        } else if non_null.len() == 1 {
            self.rust_type(non_null[0], hint)
        } else if non_null.iter().all(|m| matches!(m, Validator::Literal(Literal::String(_)))) {
            self.literal_enum(&non_null, hint)
        } else {
            self.untagged(&non_null, hint)
        };
        if nullable && inner != "()" {
            format!("::std::option::Option<{inner}>")
        } else {
            inner
        }
    }

    /// Any other union: an untagged enum, one variant per member (tried in order).
    fn untagged(&mut self, members: &[&Validator], hint: &str) -> String {
        let name = unique(&mut self.taken, pascal(hint));
        let mut variants = BTreeSet::new();
        let mut body = String::new();
        for m in members {
            let wanted = match m {
                Validator::Float64 => "Number".to_string(),
                Validator::Int64 => "Int64".into(),
                Validator::Boolean => "Boolean".into(),
                Validator::String => "String".into(),
                Validator::Bytes => "Bytes".into(),
                Validator::Any => "Any".into(),
                Validator::Id(t) => format!("{}Id", pascal(t)),
                Validator::Literal(Literal::String(s)) => pascal(s),
                Validator::Literal(_) => "Literal".into(),
                Validator::Array(_) => "Array".into(),
                Validator::Record(..) => "Record".into(),
                Validator::Object(_) => "Object".into(),
                Validator::Union(_) => "Union".into(),
                Validator::Null => "Null".into(),
            };
            let variant = unique(&mut variants, wanted);
            let ty = match m {
                // A string literal in a mixed union: a one-variant enum checks the value.
                Validator::Literal(Literal::String(_)) => {
                    self.literal_enum(&[*m], &format!("{name}{variant}"))
                }
                _ => self.rust_type(m, &format!("{name}{variant}")),
            };
            let _ = writeln!(body, "    {variant}({ty}),");
        }
        let _ = writeln!(self.code, "\n{DERIVE}\n#[serde(untagged)]\npub enum {name} {{\n{body}}}");
        name
    }
}

/// `paginationOptsValidator`'s shape: `numItems` and `cursor`, with only its optional fields
/// besides.
fn is_pagination_opts(fields: &[Field]) -> bool {
    let has = |name: &str| fields.iter().any(|f| f.name == name && !f.optional);
    has("numItems")
        && has("cursor")
        && fields.iter().all(|f| {
            matches!(
                f.name.as_str(),
                "numItems" | "cursor" | "endCursor" | "id" | "maximumRowsRead" | "maximumBytesRead"
            )
        })
}

/// A `PaginationResult`'s shape (`page`, `isDone`, `continueCursor`, optionally `splitCursor`
/// and `pageStatus`): the page's item validator.
fn pagination_item(fields: &[Field]) -> Option<&Validator> {
    let field = |name: &str| fields.iter().find(|f| f.name == name);
    let all_known = fields.iter().all(|f| {
        matches!(
            f.name.as_str(),
            "page" | "isDone" | "continueCursor" | "splitCursor" | "pageStatus"
        )
    });
    match (field("page"), field("isDone"), field("continueCursor")) {
        (Some(page), Some(done), Some(cursor))
            if all_known
                && done.validator == Validator::Boolean
                && cursor.validator == Validator::String =>
        {
            match &page.validator {
                Validator::Array(item) => Some(item),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A module in the tree: functions and submodules.
#[derive(Default)]
struct Module<'a> {
    functions: Vec<&'a Function>,
    children: BTreeMap<String, Module<'a>>,
}

/// Generates the Rust module text for `functions`: a `tables` module with a marker type per
/// table that `v.id(..)` names, and an `api` module with one submodule per Convex module and,
/// in it, one [`FunctionRef`](yew_convex::function::FunctionRef) constant per function with
/// its argument and result types.
pub fn generate(functions: &[Function], source: &str) -> String {
    let mut root = Module::default();
    for f in functions {
        let mut module = &mut root;
        for part in &f.module {
            module = module.children.entry(part.clone()).or_default();
        }
        module.functions.push(f);
    }
    let mut tables = BTreeSet::new();
    let mut api = String::new();
    emit_module(&root, 1, &mut api, &mut tables);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "// @generated by yew-convex-codegen from {source}. Do not edit: regenerate instead.\n\
         //\n\
         // `api::<module>::<function>` are typed references to the deployment's public functions\n\
         // (`api.posts.list` in TypeScript); `tables::<Table>` mark `Id`s by table.\n"
    );
    let _ = writeln!(
        out,
        "/// Marker types for document ids: `Id<tables::Posts>` is an id in `posts`."
    );
    let _ = writeln!(out, "#[allow(dead_code)]\npub mod tables {{");
    for table in &tables {
        let _ = writeln!(out, "    /// A document in the `{table}` table.");
        let _ = writeln!(out, "    #[derive(Debug)]\n    pub enum {} {{}}", pascal(table));
    }
    let _ = writeln!(out, "}}\n");
    let _ = writeln!(out, "/// The deployment's public functions, by module.");
    let _ = writeln!(
        out,
        "#[allow(dead_code, non_upper_case_globals, non_snake_case, clippy::all)]\npub mod api {{"
    );
    out.push_str(&indent(&api, 1));
    let _ = writeln!(out, "}}");
    out
}

fn indent(text: &str, levels: usize) -> String {
    let pad = "    ".repeat(levels);
    text.lines()
        .map(|l| if l.is_empty() { "\n".to_string() } else { format!("{pad}{l}\n") })
        .collect()
}

fn emit_module(module: &Module<'_>, depth: usize, out: &mut String, tables: &mut BTreeSet<String>) {
    let mut items = Items {
        taken: BTreeSet::new(),
        code: String::new(),
        root: "super::".repeat(depth),
        tables: BTreeSet::new(),
        shapes: BTreeMap::new(),
    };
    let mut consts = BTreeSet::new();
    let mut modules = BTreeSet::new();
    for f in &module.functions {
        let const_name = unique(&mut consts, snake(&f.name));
        let base = pascal(&f.name);
        let args = match &f.args {
            Some(v @ Validator::Object(_)) => items.rust_type(v, &format!("{base}Args")),
            Some(Validator::Any) | None => "::yew_convex::value::Value".to_string(),
            // Arguments are always an object; anything else is kept as given.
            Some(v) => items.rust_type(v, &format!("{base}Args")),
        };
        let returns = match &f.returns {
            Some(v) => items.rust_type(v, &format!("{base}Return")),
            None => "::yew_convex::value::Value".to_string(),
        };
        let kind = match f.kind {
            crate::spec::FunctionType::Query => "query",
            crate::spec::FunctionType::Mutation => "mutation",
            crate::spec::FunctionType::Action => "action",
        };
        let _ = writeln!(out, "/// `{}` ({kind}).", f.path);
        let _ = writeln!(
            out,
            "pub const {const_name}: ::yew_convex::function::{}<{args}, {returns}> =\n    ::yew_convex::function::FunctionRef::new({:?});",
            f.kind.ref_alias(),
            f.path
        );
    }
    out.push_str(&items.code);
    tables.append(&mut items.tables);
    for (name, child) in &module.children {
        let rust = unique(&mut modules, snake(name));
        let _ = writeln!(out, "\n/// The `{name}` module.\npub mod {rust} {{");
        let mut inner = String::new();
        emit_module(child, depth + 1, &mut inner, tables);
        out.push_str(&indent(&inner, 1));
        let _ = writeln!(out, "}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(snake("listPaginated"), "list_paginated");
        assert_eq!(snake("_creationTime"), "creation_time");
        assert_eq!(snake("HTTPServer_v2"), "http_server_v2");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(snake("2fa"), "_2fa");
        assert_eq!(snake("with-dash"), "with_dash");
        assert_eq!(pascal("in_progress"), "InProgress");
        assert_eq!(pascal("done!"), "Done");
        assert_eq!(pascal("Self"), "Self_");
        assert_eq!(pascal(""), "Empty");
        assert_eq!(snake("__"), "empty");
        let mut taken = BTreeSet::new();
        assert_eq!(unique(&mut taken, "a".into()), "a");
        assert_eq!(unique(&mut taken, "a".into()), "a2");
    }
}
