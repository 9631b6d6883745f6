//! The remote query set: the server's results as Transitions bring them, the version they
//! are at, the pieces of a chunked Transition, and for every result *whose* it is (convex-js:
//! `RemoteQuerySet`).
//!
//! Every result carries the socket it came from and the identity (a [`Principal`]) the server
//! computed it as. A Transition vouches for every result of its own socket at its end version,
//! so when a Transition moves the identity, all of that socket's results become the new
//! identity's (the server re-ran them; it re-sends only those that changed). Results from an
//! earlier socket keep their old identity until this socket re-sends them.

use std::collections::HashMap;

use super::{
    auth::Principal,
    error::ConvexError,
    idmap::IdSet,
    ids::QueryId,
    protocol::{ErrorPayload, MalformedMessage, StateModification, StateVersion},
};
use crate::value::RawValue;

/// A query's result: its value (JSON text, decoded when read, shared) or its error.
pub type QueryResult = Result<RawValue, ConvexError>;

/// One result and whose it is.
pub(crate) struct RemoteResult {
    pub(crate) result: QueryResult,
    /// The identity the server computed it as.
    pub(crate) principal: Principal,
    /// The socket generation it came from.
    pub(crate) generation: u64,
}

/// A Transition being reassembled from chunks.
struct Chunks {
    id: String,
    total: u32,
    parts: Vec<String>,
}

/// Server results by query.
#[derive(Default)]
pub(crate) struct RemoteQuerySet {
    version: StateVersion,
    results: HashMap<QueryId, RemoteResult>,
    chunks: Option<Chunks>,
    /// Bumped with every socket.
    generation: u64,
    max_observed_ts: Option<u64>,
}

/// Lines a query logged, to forward.
pub(crate) type QueryLogs = Vec<(QueryId, Vec<String>)>;

fn payload_error(e: ErrorPayload) -> ConvexError {
    ConvexError::Function { message: e.message, data: e.data }
}

fn same(a: &QueryResult, b: &QueryResult) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

impl RemoteQuerySet {
    /// The version of the last Transition on this socket.
    pub(crate) fn version(&self) -> StateVersion {
        self.version
    }

    /// The current socket's generation (bumped by [`RemoteQuerySet::restart`]).
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The newest timestamp seen on any socket.
    pub(crate) fn max_observed_ts(&self) -> Option<u64> {
        self.max_observed_ts
    }

    /// A new socket: the server starts from nothing.
    pub(crate) fn restart(&mut self) {
        self.version = StateVersion::default();
        self.chunks = None;
        self.generation += 1;
    }

    /// The socket went away: a half-received chunked Transition is dropped.
    pub(crate) fn socket_lost(&mut self) {
        self.chunks = None;
    }

    pub(crate) fn get(&self, query: QueryId) -> Option<&RemoteResult> {
        self.results.get(&query)
    }

    pub(crate) fn remove(&mut self, query: QueryId) {
        self.results.remove(&query);
    }

    /// Whether the result of `query` came from an earlier socket.
    pub(crate) fn is_stale(&self, query: QueryId) -> bool {
        self.results.get(&query).is_some_and(|r| r.generation != self.generation)
    }

    /// Whether any result came from an earlier socket.
    pub(crate) fn any_stale(&self) -> bool {
        self.results.values().any(|r| r.generation != self.generation)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&QueryId, &RemoteResult)> {
        self.results.iter()
    }

    /// Adds one piece of a chunked Transition; the whole text once the last piece is in.
    pub(crate) fn add_chunk(
        &mut self,
        chunk: String,
        part: u32,
        total: u32,
        id: String,
    ) -> Result<Option<String>, MalformedMessage> {
        let mut chunks =
            self.chunks.take().unwrap_or_else(|| Chunks { id: id.clone(), total, parts: vec![] });
        if chunks.id != id
            || chunks.total != total
            || chunks.parts.len() as u32 != part
            || total == 0
        {
            return Err(MalformedMessage(format!(
                "TransitionChunk {part}/{total} of {id:?} out of order (expected part {} of {:?})",
                chunks.parts.len(),
                chunks.id
            )));
        }
        chunks.parts.push(chunk);
        if part + 1 < total {
            self.chunks = Some(chunks);
            return Ok(None);
        }
        Ok(Some(chunks.parts.concat()))
    }

    /// Applies a Transition. `principal` is the identity of its end version on this socket,
    /// `live` says whether a query is still subscribed. Returns the queries whose result
    /// changed; the log lines of live queries go to `logs`.
    pub(crate) fn apply(
        &mut self,
        start: StateVersion,
        end: StateVersion,
        modifications: Vec<StateModification>,
        principal: Principal,
        live: impl Fn(QueryId) -> bool,
        logs: &mut QueryLogs,
    ) -> Result<IdSet<QueryId>, MalformedMessage> {
        if start != self.version {
            return Err(MalformedMessage(format!(
                "Transition from {start:?} does not start at the client's version {:?}",
                self.version
            )));
        }
        if end.identity < start.identity || end.query_set < start.query_set || end.ts < start.ts {
            return Err(MalformedMessage(format!(
                "Transition goes back from {start:?} to {end:?}"
            )));
        }
        let mut changed = IdSet::new();
        if end.identity != start.identity {
            // The server re-ran this socket's queries as the new identity and re-sends only the
            // results that changed: the others are now the new identity's too.
            for r in self.results.values_mut() {
                if r.generation == self.generation {
                    r.principal = principal;
                }
            }
        }
        for modification in modifications {
            let (query, result, lines) = match modification {
                StateModification::QueryUpdated { query_id, value, log_lines, .. } => {
                    (query_id, Ok(value), log_lines)
                }
                StateModification::QueryFailed { query_id, error, log_lines, .. } => {
                    (query_id, Err(payload_error(error)), log_lines)
                }
                StateModification::QueryRemoved { query_id } => {
                    if self.results.remove(&query_id).is_some() {
                        changed.insert(query_id);
                    }
                    continue;
                }
            };
            if !live(query) {
                continue;
            }
            if !lines.is_empty() {
                logs.push((query, lines));
            }
            let fresh = RemoteResult { result, principal, generation: self.generation };
            // The server sends a result only when it changed, except to a new socket, which
            // gets everything again: only a stale one is worth comparing with what is shown.
            let unchanged = self.results.get(&query).is_some_and(|old| {
                old.generation != self.generation
                    && old.principal == principal
                    && same(&old.result, &fresh.result)
            });
            self.results.insert(query, fresh);
            if !unchanged {
                changed.insert(query);
            }
        }
        self.version = end;
        self.max_observed_ts = Some(self.max_observed_ts.unwrap_or(0).max(end.ts));
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(query_set: u32, identity: u32, ts: u64) -> StateVersion {
        StateVersion { query_set, identity, ts }
    }

    fn updated(q: u32, n: i64) -> StateModification {
        StateModification::QueryUpdated {
            query_id: QueryId::new(q),
            value: RawValue::from_value(crate::value::Value::Int64(n)).unwrap(),
            log_lines: vec![],
            journal: None,
        }
    }

    #[test]
    fn an_identity_bump_moves_only_this_sockets_results_to_the_new_identity() {
        let (alice, bob) = (Principal::Source(1), Principal::Source(2));
        let mut set = RemoteQuerySet::default();
        let mut logs = vec![];
        set.restart();
        set.apply(
            v(0, 0, 0),
            v(1, 1, 1),
            vec![updated(0, 1), updated(1, 1)],
            alice,
            |_| true,
            &mut logs,
        )
        .unwrap();
        // A new socket: query 1 is re-sent, query 0 not yet.
        set.restart();
        set.apply(v(0, 0, 0), v(0, 1, 1), vec![], bob, |_| true, &mut logs).unwrap();
        set.apply(v(0, 1, 1), v(1, 1, 2), vec![updated(1, 2)], bob, |_| true, &mut logs).unwrap();
        assert!(
            set.get(QueryId::new(0)).is_some_and(|r| r.principal == alice),
            "stale stays alice's"
        );
        assert!(set.is_stale(QueryId::new(0)));
        set.apply(v(1, 1, 2), v(1, 2, 3), vec![], alice, |_| true, &mut logs).unwrap();
        assert!(set.get(QueryId::new(1)).is_some_and(|r| r.principal == alice));
    }

    #[test]
    fn transitions_must_start_at_the_version_and_never_go_back() {
        let mut set = RemoteQuerySet::default();
        let mut logs = vec![];
        let anon = Principal::Anonymous;
        assert!(set.apply(v(1, 0, 0), v(2, 0, 0), vec![], anon, |_| true, &mut logs).is_err());
        set.apply(v(0, 0, 0), v(1, 0, 5), vec![], anon, |_| true, &mut logs).unwrap();
        assert!(set.apply(v(1, 0, 5), v(1, 0, 4), vec![], anon, |_| true, &mut logs).is_err());
    }

    #[test]
    fn chunks_join_in_order_only() {
        let mut set = RemoteQuerySet::default();
        assert_eq!(set.add_chunk("ab".into(), 0, 2, "t".into()), Ok(None));
        assert_eq!(set.add_chunk("cd".into(), 1, 2, "t".into()), Ok(Some("abcd".into())));
        assert!(set.add_chunk("cd".into(), 1, 2, "t".into()).is_err());
    }
}
