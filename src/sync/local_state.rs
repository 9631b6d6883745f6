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
    /// The next query whose (path, args) hash is the same (see [`LocalQuerySet::by_hash`]).
    same_hash: Option<QueryId>,
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
pub(crate) struct LocalQuerySet {
    queries: IdMap<QueryId, LocalQuery>,
    /// Dedup index: the hash of (path, args JSON) to the newest query with that hash, which
    /// chains to the others through [`LocalQuery::same_hash`]. The texts live only in the
    /// queries (a map keyed by the two strings held a second copy of each: ~120 B per query).
    by_hash: HashMap<u64, QueryId>,
    /// Masks every hash (all ones; tests use zero, so that every query collides).
    hash_mask: u64,
    subscriptions: HashMap<SubscriptionId, QueryId>,
    next_query: u32,
    next_subscription: u64,
    pending: Vec<QuerySetModification>,
    /// The query-set version the server has after our last ModifyQuerySet on this socket.
    version: u32,
}

impl Default for LocalQuerySet {
    fn default() -> Self {
        Self {
            queries: IdMap::default(),
            by_hash: HashMap::new(),
            hash_mask: u64::MAX,
            subscriptions: HashMap::new(),
            next_query: 0,
            next_subscription: 0,
            pending: Vec::new(),
            version: 0,
        }
    }
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
        let hash = self.hash(&path, &args_json);
        let query = match self.find(hash, &path, &args_json) {
            Some(id) => id,
            None => {
                let id = QueryId::new(self.next_query);
                self.next_query += 1;
                self.pending.push(QuerySetModification::Add {
                    query_id: id,
                    udf_path: path.clone(),
                    args: args_json.clone(),
                    journal: None,
                });
                let same_hash = self.by_hash.insert(hash, id);
                self.queries.insert(
                    id,
                    LocalQuery {
                        path,
                        args_json,
                        args: OnceCell::new(),
                        subscribers: 0,
                        journal: None,
                        same_hash,
                    },
                );
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
            self.unlink(query, &local);
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
        let path = canonical_path(path);
        self.find(self.hash(&path, &args_json), &path, &args_json)
    }

    fn hash(&self, path: &str, args_json: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut h);
        args_json.hash(&mut h);
        h.finish() & self.hash_mask
    }

    /// The query with exactly this path and args, walking the chain of its hash.
    fn find(&self, hash: u64, path: &str, args_json: &str) -> Option<QueryId> {
        let mut next = self.by_hash.get(&hash).copied();
        while let Some(id) = next {
            let q = self.queries.get(&id)?;
            if q.path == path && q.args_json == args_json {
                return Some(id);
            }
            next = q.same_hash;
        }
        None
    }

    /// Takes the removed `query` (its entry `local`) out of its hash chain.
    fn unlink(&mut self, query: QueryId, local: &LocalQuery) {
        let hash = self.hash(&local.path, &local.args_json);
        let Some(&head) = self.by_hash.get(&hash) else { return };
        if head == query {
            match local.same_hash {
                Some(next) => self.by_hash.insert(hash, next),
                None => self.by_hash.remove(&hash),
            };
            return;
        }
        let mut at = head;
        while let Some(q) = self.queries.get_mut(&at) {
            match q.same_hash {
                Some(next) if next == query => {
                    q.same_hash = local.same_hash;
                    return;
                }
                Some(next) => at = next,
                None => return,
            }
        }
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

    /// Random subscribes and unsubscribes, with real hashes and with every hash colliding (one
    /// chain holds every query): the set always finds exactly the live queries, shares a query
    /// between equal (path, args) and drops it with its last subscriber.
    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::collections::HashMap;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            #[test]
            fn the_index_finds_exactly_the_live_queries(
                ops in proptest::collection::vec((any::<bool>(), 0..3usize, 0..4i64, any::<prop::sample::Index>()), 1..80),
                collide in any::<bool>(),
            ) {
                let mut set = LocalQuerySet { hash_mask: if collide { 0 } else { u64::MAX }, ..Default::default() };
                let paths = ["a:f", "a:g", "b:f"];
                // Model: live subscriptions and, per key, the query and its subscriber count.
                let mut subs: Vec<(SubscriptionId, (usize, i64))> = Vec::new();
                let mut live: HashMap<(usize, i64), (QueryId, usize)> = HashMap::new();
                for (add, p, n, pick) in ops {
                    if add || subs.is_empty() {
                        let (sub, q) = set.subscribe(paths[p], &args(n)).unwrap();
                        let entry = live.entry((p, n)).or_insert((q, 0));
                        prop_assert_eq!(entry.0, q, "equal path and args share a query");
                        entry.1 += 1;
                        subs.push((sub, (p, n)));
                    } else {
                        let (sub, key) = subs.swap_remove(pick.index(subs.len()));
                        let entry = live.get_mut(&key).unwrap();
                        entry.1 -= 1;
                        let last = entry.1 == 0;
                        let q = entry.0;
                        match set.unsubscribe(sub) {
                            Unsubscribed::Removed(id) => {
                                prop_assert!(last);
                                prop_assert_eq!(id, q);
                                live.remove(&key);
                            }
                            Unsubscribed::Kept => prop_assert!(!last),
                        }
                    }
                    for (p, path) in paths.iter().enumerate() {
                        for n in 0..4 {
                            let expected = live.get(&(p, n)).map(|(q, _)| *q);
                            prop_assert_eq!(set.lookup(path, &args(n)), expected);
                        }
                    }
                    prop_assert_eq!(set.ids().count(), live.len());
                }
            }
        }
    }
}
