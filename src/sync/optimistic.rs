//! Optimistic updates: a local view of query results that a mutation edits before the server
//! answers. Updates are replayed, in order, over every new set of server results, and each is
//! dropped in the same step that makes its mutation's effect visible (so nothing flickers), or
//! at once when its mutation fails (a rollback).

use std::collections::{HashMap, HashSet};

use serde::{de::DeserializeOwned, Serialize};

use super::ids::QueryId;
use crate::{
    function::{kind, Function},
    value::{to_value, RawValue, Value, ValueError},
};

/// An optimistic update: edits the local store as the mutation is expected to edit the
/// server's results. It may run several times (once per replay), so it must only depend on
/// what it reads from the store.
pub type OptimisticUpdate = Box<dyn Fn(&mut LocalStore<'_>)>;

/// What an optimistic update sees of one query.
pub(crate) struct QueryView<'a> {
    pub path: &'a str,
    pub args: &'a Value,
    /// The key args are matched by (their wire JSON).
    pub args_key: &'a str,
    /// The current value (None while loading or failed).
    pub value: Option<RawValue>,
}

/// The query results an optimistic update reads and edits.
pub struct LocalStore<'a> {
    pub(crate) queries: Vec<(QueryId, QueryView<'a>)>,
    pub(crate) overlay: &'a mut HashMap<QueryId, Option<RawValue>>,
    pub(crate) touched: &'a mut HashSet<QueryId>,
}

fn args_key(args: &Value) -> Option<String> {
    crate::value::encode_args(args).ok()
}

impl LocalStore<'_> {
    fn find(&self, path: &str, args: &Value) -> Option<QueryId> {
        let key = args_key(args)?;
        let path = super::canonical_path(path);
        self.queries.iter().find(|(_, q)| q.path == path && q.args_key == key).map(|(id, _)| *id)
    }

    fn current(&self, id: QueryId) -> Option<RawValue> {
        match self.overlay.get(&id) {
            Some(v) => v.clone(),
            None => self.queries.iter().find(|(q, _)| *q == id).and_then(|(_, q)| q.value.clone()),
        }
    }

    /// The current result of the query `path` with `args`, if it is subscribed and has a value.
    pub fn get_query(&self, path: &str, args: &Value) -> Option<RawValue> {
        self.find(path, args).and_then(|id| self.current(id))
    }

    /// Every subscribed query of function `path`: its args and current value.
    pub fn get_all_queries(&self, path: &str) -> Vec<(Value, Option<RawValue>)> {
        let path = super::canonical_path(path);
        self.queries
            .iter()
            .filter(|(_, q)| q.path == path)
            .map(|(id, q)| (q.args.clone(), self.current(*id)))
            .collect()
    }

    /// Sets the result of the query `path` with `args` (None: show it as loading). Queries
    /// nobody subscribes to are ignored, as in Convex.
    pub fn set_query(&mut self, path: &str, args: &Value, value: Option<Value>) {
        // A value that cannot be encoded (a `$`-prefixed field name) leaves the query as it is.
        let Ok(value) = value.map(RawValue::from_value).transpose() else { return };
        if let Some(id) = self.find(path, args) {
            self.overlay.insert(id, value);
            self.touched.insert(id);
        }
    }

    /// The current result of `query` with `args`, decoded: what convex/react's
    /// `localStore.getQuery(api.posts.list, args)` returns. `None` when the query is not
    /// subscribed or has no value; `Some(Err(..))` when the value does not decode into `T`
    /// (or `args` do not encode).
    ///
    /// ```
    /// use yew_convex::{function::QueryRef, sync::LocalStore};
    /// const LIST: QueryRef<serde_json::Value, Vec<String>> = QueryRef::new("posts:list");
    /// fn add_title(store: &mut LocalStore<'_>, title: &str) {
    ///     let args = serde_json::json!({});
    ///     if let Some(Ok(mut titles)) = store.get(LIST, &args) {
    ///         titles.push(title.to_string());
    ///         let _ = store.set(LIST, &args, Some(&titles));
    ///     }
    /// }
    /// ```
    pub fn get<A: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        query: impl Function<kind::Query, A, T>,
        args: &A,
    ) -> Option<Result<T, ValueError>> {
        let args = match to_value(args) {
            Ok(args) => args,
            Err(e) => return Some(Err(e)),
        };
        let id = self.find(query.path(), &args)?;
        self.current(id).map(|raw| raw.deserialize::<T>())
    }

    /// Sets the result of `query` with `args` (`None`: show it as loading), encoded from `T`:
    /// convex/react's `localStore.setQuery(api.posts.list, args, value)`. Queries nobody
    /// subscribes to are ignored.
    pub fn set<A: Serialize + ?Sized, T: Serialize>(
        &mut self,
        query: impl Function<kind::Query, A, T>,
        args: &A,
        value: Option<&T>,
    ) -> Result<(), ValueError> {
        let args = to_value(args)?;
        let value = value.map(to_value).transpose()?;
        self.set_query(query.path(), &args, value);
        Ok(())
    }
}
