//! The local query set: what the application subscribes to, deduplicated by function and
//! args, and the `ModifyQuerySet` messages that tell the server (convex-js: `LocalSyncState`'s
//! query half).

use std::{cell::OnceCell, collections::HashMap};

use super::{
    canonical_path,
    error::ConvexError,
    idmap::IdMap,
    ids::{QueryId, SubscriptionId},
    protocol::{ClientMessage, QuerySetModification},
};
use crate::value::{encode_args, RawValue, Value};

/// One subscribed query (shared by every subscription with the same function and args).
pub(crate) struct LocalQuery {
    /// `module:function`, canonical.
    pub(crate) path: String,
    /// JSON text of `[args]` (what is sent, and the dedup key).
    pub(crate) args_json: String,
    /// The args as a value, decoded from `args_json` only if someone asks (optimistic
    /// updates, `query_info`): most queries never need it.
    args: OnceCell<Value>,
    subscribers: usize,
    /// A paginated query's journal, as the server last sent it: handed back when the query is
    /// re-added on a new socket, so the page keeps its bounds.
    journal: Option<String>,
}

impl LocalQuery {
    pub(crate) fn args(&self) -> &Value {
        self.args.get_or_init(|| {
            RawValue::from_json(&self.args_json)
                .and_then(|raw| raw.deserialize::<(Value,)>())
                .map(|(v,)| v)
                .unwrap_or_else(|_| Value::Object(Default::default()))
        })
    }
}

/// The subscribed queries and the changes the server has not been told yet.
#[derive(Default)]
pub(crate) struct LocalQuerySet {
    queries: IdMap<QueryId, LocalQuery>,
    by_key: HashMap<(String, String), QueryId>,
    subscriptions: HashMap<SubscriptionId, QueryId>,
    next_query: u32,
    next_subscription: u64,
    pending: Vec<QuerySetModification>,
    /// The query-set version the server has after our last ModifyQuerySet on this socket.
    version: u32,
}

/// What an unsubscription did.
pub(crate) enum Unsubscribed {
    /// The query still has other subscribers (or the subscription was unknown).
    Kept,
    /// The query's last subscriber left: it is gone.
    Removed(QueryId),
}

impl LocalQuerySet {
    /// Adds a subscription to the query `path` with `args`; the second value is the query.
    pub(crate) fn subscribe(
        &mut self,
        path: &str,
        args: &Value,
    ) -> Result<(SubscriptionId, QueryId), ConvexError> {
        let args_json = encode_args(args).map_err(ConvexError::InvalidArgs)?;
        let path = canonical_path(path);
        let key = (path, args_json);
        let query = match self.by_key.get(&key) {
            Some(id) => *id,
            None => {
                let id = QueryId::new(self.next_query);
                self.next_query += 1;
                let (path, args_json) = key.clone();
                self.pending.push(QuerySetModification::Add {
                    query_id: id,
                    udf_path: path.clone(),
                    args: args_json.clone(),
                    journal: None,
                });
                self.queries.insert(
                    id,
                    LocalQuery {
                        path,
                        args_json,
                        args: OnceCell::new(),
                        subscribers: 0,
                        journal: None,
                    },
                );
                self.by_key.insert(key, id);
                id
            }
        };
        if let Some(q) = self.queries.get_mut(&query) {
            q.subscribers += 1;
        }
        let sub = SubscriptionId::new(self.next_subscription);
        self.next_subscription += 1;
        self.subscriptions.insert(sub, query);
        Ok((sub, query))
    }

    /// Drops a subscription; the query goes with its last subscriber.
    pub(crate) fn unsubscribe(&mut self, sub: SubscriptionId) -> Unsubscribed {
        let Some(query) = self.subscriptions.remove(&sub) else { return Unsubscribed::Kept };
        let Some(local) = self.queries.get_mut(&query) else { return Unsubscribed::Kept };
        local.subscribers = local.subscribers.saturating_sub(1);
        if local.subscribers > 0 {
            return Unsubscribed::Kept;
        }
        if let Some(local) = self.queries.remove(&query) {
            self.by_key.remove(&(local.path, local.args_json));
        }
        // An Add not yet sent is simply withdrawn.
        let before = self.pending.len();
        self.pending.retain(
            |m| !matches!(m, QuerySetModification::Add { query_id, .. } if *query_id == query),
        );
        if self.pending.len() == before {
            self.pending.push(QuerySetModification::Remove { query_id: query });
        }
        Unsubscribed::Removed(query)
    }

    /// The query `path` with `args`, if subscribed.
    pub(crate) fn lookup(&self, path: &str, args: &Value) -> Option<QueryId> {
        let args_json = encode_args(args).ok()?;
        self.by_key.get(&(canonical_path(path), args_json)).copied()
    }

    pub(crate) fn get(&self, query: QueryId) -> Option<&LocalQuery> {
        self.queries.get(&query)
    }

    pub(crate) fn contains(&self, query: QueryId) -> bool {
        self.queries.contains_key(&query)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&QueryId, &LocalQuery)> {
        self.queries.iter()
    }

    pub(crate) fn ids(&self) -> impl Iterator<Item = QueryId> + '_ {
        self.queries.keys().copied()
    }

    /// Whether the server has not been told about `query` yet.
    pub(crate) fn is_unsent(&self, query: QueryId) -> bool {
        self.pending
            .iter()
            .any(|m| matches!(m, QuerySetModification::Add { query_id, .. } if *query_id == query))
    }

    /// A new socket: the server knows nothing, so the whole set is pending at version 0.
    pub(crate) fn restart(&mut self) {
        self.version = 0;
        self.pending = self
            .queries
            .iter()
            .map(|(id, q)| QuerySetModification::Add {
                query_id: *id,
                udf_path: q.path.clone(),
                args: q.args_json.clone(),
                journal: q.journal.clone(),
            })
            .collect();
    }

    /// Keeps the journal the server sent with `query`'s latest result.
    pub(crate) fn set_journal(&mut self, query: QueryId, journal: Option<&String>) {
        if let (Some(q), Some(journal)) = (self.queries.get_mut(&query), journal) {
            q.journal = Some(journal.clone());
        }
    }

    /// A ModifyQuerySet with only the pending removals, if any (sent before an identity
    /// change, so that queries nobody watches any more never re-run as the new identity).
    pub(crate) fn take_removals(&mut self) -> Option<ClientMessage> {
        let (removals, adds): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|m| matches!(m, QuerySetModification::Remove { .. }));
        self.pending = removals;
        let message = self.take_modification();
        self.pending = adds;
        message
    }

    /// The ModifyQuerySet for everything not yet sent, if anything.
    pub(crate) fn take_modification(&mut self) -> Option<ClientMessage> {
        if self.pending.is_empty() {
            return None;
        }
        let modifications = std::mem::take(&mut self.pending);
        let message = ClientMessage::ModifyQuerySet {
            base_version: self.version,
            new_version: self.version + 1,
            modifications,
        };
        self.version += 1;
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(n: i64) -> Value {
        Value::from_json(&serde_json::json!({ "n": n })).expect("test value")
    }

    fn modification(set: &mut LocalQuerySet) -> serde_json::Value {
        let text = set.take_modification().expect("a modification").to_text();
        serde_json::from_str(&text).expect("JSON")
    }

    #[test]
    fn same_function_and_args_share_a_query_until_the_last_subscriber_leaves() {
        let mut set = LocalQuerySet::default();
        let (a, q) = set.subscribe("posts:list", &args(1)).unwrap();
        let (b, q2) = set.subscribe("posts.js:list", &args(1)).unwrap();
        assert_eq!(q, q2, "canonical paths and equal args share one query");
        let m = modification(&mut set);
        assert_eq!(m["modifications"].as_array().map(Vec::len), Some(1));
        assert!(matches!(set.unsubscribe(a), Unsubscribed::Kept));
        assert!(matches!(set.unsubscribe(b), Unsubscribed::Removed(id) if id == q));
        let m = modification(&mut set);
        assert_eq!(m["baseVersion"], 1);
        assert_eq!(m["modifications"][0]["type"], "Remove");
        assert!(set.lookup("posts:list", &args(1)).is_none());
    }

    #[test]
    fn an_unsent_add_is_withdrawn_and_a_restart_resends_the_whole_set() {
        let mut set = LocalQuerySet::default();
        let (a, _) = set.subscribe("posts:list", &args(1)).unwrap();
        let (_, q2) = set.subscribe("posts:list", &args(2)).unwrap();
        set.unsubscribe(a);
        let m = modification(&mut set);
        assert_eq!(m["modifications"].as_array().map(Vec::len), Some(1), "{m}");
        assert!(set.take_modification().is_none());
        set.restart();
        assert!(set.is_unsent(q2));
        let m = modification(&mut set);
        assert_eq!((m["baseVersion"].as_u64(), m["newVersion"].as_u64()), (Some(0), Some(1)));
        assert!(!set.is_unsent(q2));
    }
}
