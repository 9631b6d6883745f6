//! The request manager: mutations and actions from the moment they are made until they
//! complete, and read-your-writes (convex-js: `RequestManager`).
//!
//! Rules:
//! - A mutation completes once a Transition reaches its commit timestamp (its effect is then in
//!   every query), or at once when it fails.
//! - A mutation unanswered when its socket drops is re-sent on the next one: the server
//!   deduplicates it by (session id, request id), so it runs at most once. One that committed
//!   but whose effect was not yet seen is re-sent too: the server answers the duplicate with
//!   its recorded timestamp and moves the new socket to it, so it completes.
//! - An action in flight when its socket drops fails with [`ConvexError::ConnectionLost`]: it
//!   is never re-sent (actions need not be idempotent).
//! - Every request runs as the identity that was current when it was made. One that has not
//!   reached the server (or whose socket dropped before the answer) when the identity changes
//!   fails with [`ConvexError::IdentityChanged`] instead of running as somebody else. One
//!   already sent on the open socket runs as its identity: the server handles messages in
//!   order, so it runs before the new `Authenticate`.

use std::time::Duration;

use super::{
    auth::Principal, engine::FunctionKind, error::ConvexError, idmap::IdMap, ids::RequestId,
    optimistic::OptimisticUpdate, protocol::ClientMessage,
};
use crate::value::RawValue;

/// Where a request stands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RequestStatus {
    /// Not on the wire (made while no socket could take it, or its socket dropped).
    NotSent,
    /// Sent on the socket of this generation; no answer yet.
    Requested { generation: u64 },
    /// A mutation that succeeded at `ts`; it completes once a Transition reaches `ts`.
    Committed { ts: u64, value: RawValue },
}

pub(crate) struct Request {
    pub(crate) kind: FunctionKind,
    pub(crate) path: String,
    args_json: String,
    pub(crate) status: RequestStatus,
    pub(crate) made_at: Duration,
    pub(crate) optimistic: Option<OptimisticUpdate>,
    /// The identity it runs as.
    pub(crate) principal: Principal,
}

/// A request that finished, to report.
pub(crate) struct Completion {
    pub(crate) request: RequestId,
    pub(crate) kind: FunctionKind,
    pub(crate) result: Result<RawValue, ConvexError>,
    /// It had an optimistic update (the visible results must be recomputed).
    pub(crate) had_update: bool,
}

/// Incomplete requests.
#[derive(Default)]
pub(crate) struct RequestManager {
    requests: IdMap<RequestId, Request>,
    next: u32,
}

impl RequestManager {
    pub(crate) fn add(
        &mut self,
        kind: FunctionKind,
        path: String,
        args_json: String,
        principal: Principal,
        now: Duration,
    ) -> RequestId {
        let id = RequestId::new(self.next);
        self.next += 1;
        self.requests.insert(
            id,
            Request {
                kind,
                path,
                args_json,
                status: RequestStatus::NotSent,
                made_at: now,
                optimistic: None,
                principal,
            },
        );
        id
    }

    pub(crate) fn get(&self, id: RequestId) -> Option<&Request> {
        self.requests.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: RequestId) -> Option<&mut Request> {
        self.requests.get_mut(&id)
    }

    pub(crate) fn contains(&self, id: RequestId) -> bool {
        self.requests.contains_key(&id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }

    pub(crate) fn ids(&self) -> Vec<RequestId> {
        self.requests.keys().copied().collect()
    }

    /// Requests with an optimistic update, in the order they were made.
    pub(crate) fn with_updates(&self) -> Vec<RequestId> {
        self.requests.iter().filter(|(_, r)| r.optimistic.is_some()).map(|(id, _)| *id).collect()
    }

    /// Sends every request that is not on the wire, on the socket of `generation` whose
    /// identity is `principal`. Requests made as another identity fail instead.
    pub(crate) fn send_waiting(
        &mut self,
        generation: u64,
        principal: Principal,
        out: &mut Vec<ClientMessage>,
    ) -> Vec<Completion> {
        let mut failed = Vec::new();
        let waiting: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.status == RequestStatus::NotSent)
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            let Some(r) = self.requests.get_mut(&id) else { continue };
            if r.principal != principal {
                failed.extend(self.fail(id, ConvexError::IdentityChanged));
                continue;
            }
            r.status = RequestStatus::Requested { generation };
            let (udf_path, args) = (r.path.clone(), r.args_json.clone());
            out.push(match r.kind {
                FunctionKind::Action => ClientMessage::Action { request_id: id, udf_path, args },
                _ => ClientMessage::Mutation { request_id: id, udf_path, args },
            });
        }
        failed
    }

    /// Re-sends the mutations that committed but whose effect was not seen yet (a new socket
    /// must reach their timestamp).
    pub(crate) fn resend_committed(&self, principal: Principal, out: &mut Vec<ClientMessage>) {
        for (id, r) in self.requests.iter() {
            if matches!(r.status, RequestStatus::Committed { .. }) && r.principal == principal {
                out.push(ClientMessage::Mutation {
                    request_id: *id,
                    udf_path: r.path.clone(),
                    args: r.args_json.clone(),
                });
            }
        }
    }

    /// The identity changes to `principal` while the socket of `generation` is open (or none
    /// is): requests of another identity that are not on that socket fail; mutations of
    /// another identity that already committed complete (their effect belongs to an identity
    /// whose results are no longer shown).
    pub(crate) fn identity_changed(
        &mut self,
        principal: Principal,
        open: Option<u64>,
    ) -> Vec<Completion> {
        let doomed: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.principal != principal)
            .filter(|(_, r)| match r.status {
                RequestStatus::NotSent => true,
                RequestStatus::Requested { generation } => Some(generation) != open,
                RequestStatus::Committed { .. } => true,
            })
            .map(|(id, _)| *id)
            .collect();
        let mut completions = Vec::new();
        for id in doomed {
            let Some(r) = self.requests.get(&id) else { continue };
            if let RequestStatus::Committed { value, .. } = &r.status {
                let value = value.clone();
                if let Some(r) = self.requests.remove(&id) {
                    completions.push(Completion {
                        request: id,
                        kind: r.kind,
                        result: Ok(value),
                        had_update: r.optimistic.is_some(),
                    });
                }
            } else {
                completions.extend(self.fail(id, ConvexError::IdentityChanged));
            }
        }
        completions
    }

    /// The socket dropped: actions in flight fail, unanswered mutations wait to be re-sent.
    pub(crate) fn socket_lost(&mut self) -> Vec<Completion> {
        let lost: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| {
                r.kind == FunctionKind::Action
                    && matches!(r.status, RequestStatus::Requested { .. })
            })
            .map(|(id, _)| *id)
            .collect();
        let completions =
            lost.into_iter().filter_map(|id| self.fail(id, ConvexError::ConnectionLost)).collect();
        for r in self.requests.values_mut() {
            if matches!(r.status, RequestStatus::Requested { .. }) {
                r.status = RequestStatus::NotSent;
            }
        }
        completions
    }

    /// Fails every request (the client stopped).
    pub(crate) fn fail_all(&mut self, error: ConvexError) -> Vec<Completion> {
        self.ids().into_iter().filter_map(|id| self.fail(id, error.clone())).collect()
    }

    fn fail(&mut self, request: RequestId, error: ConvexError) -> Option<Completion> {
        let r = self.requests.remove(&request)?;
        Some(Completion {
            request,
            kind: r.kind,
            result: Err(error),
            had_update: r.optimistic.is_some(),
        })
    }

    /// A mutation's answer. `visible_ts` is the timestamp every shown result has reached
    /// (`None` while some still come from an earlier socket).
    pub(crate) fn mutation_response(
        &mut self,
        request: RequestId,
        result: Result<RawValue, ConvexError>,
        ts: Option<u64>,
        visible_ts: Option<u64>,
    ) -> Option<Completion> {
        let r = self.requests.get_mut(&request)?;
        if r.kind != FunctionKind::Mutation {
            return None;
        }
        match result {
            Ok(value) => {
                let ts = ts.or(visible_ts).unwrap_or(0);
                if visible_ts.is_some_and(|v| ts <= v) {
                    let r = self.requests.remove(&request)?;
                    Some(Completion {
                        request,
                        kind: r.kind,
                        result: Ok(value),
                        had_update: r.optimistic.is_some(),
                    })
                } else {
                    r.status = RequestStatus::Committed { ts, value };
                    None
                }
            }
            Err(e) => {
                let had_update = r.optimistic.is_some();
                self.requests.remove(&request);
                Some(Completion {
                    request,
                    kind: FunctionKind::Mutation,
                    result: Err(e),
                    had_update,
                })
            }
        }
    }

    /// An action's answer.
    pub(crate) fn action_response(
        &mut self,
        request: RequestId,
        result: Result<RawValue, ConvexError>,
    ) -> Option<(Completion, String)> {
        if self.requests.get(&request)?.kind != FunctionKind::Action {
            return None;
        }
        let r = self.requests.remove(&request)?;
        Some((Completion { request, kind: r.kind, result, had_update: false }, r.path))
    }

    /// Mutations whose commit every shown result has now reached.
    pub(crate) fn completed_at(&mut self, visible_ts: u64) -> Vec<Completion> {
        let done: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| matches!(r.status, RequestStatus::Committed { ts, .. } if ts <= visible_ts))
            .map(|(id, _)| *id)
            .collect();
        let mut completions = Vec::new();
        for request in done {
            if let Some(r) = self.requests.remove(&request) {
                if let RequestStatus::Committed { value, .. } = r.status {
                    completions.push(Completion {
                        request,
                        kind: r.kind,
                        result: Ok(value),
                        had_update: r.optimistic.is_some(),
                    });
                }
            }
        }
        completions
    }

    pub(crate) fn count(&self, kind: FunctionKind) -> usize {
        self.requests.values().filter(|r| r.kind == kind).count()
    }

    pub(crate) fn oldest(&self) -> Option<Duration> {
        self.requests.values().map(|r| r.made_at).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager_with(kind: FunctionKind, principal: Principal) -> (RequestManager, RequestId) {
        let mut m = RequestManager::default();
        let id = m.add(kind, "posts:create".into(), "[{}]".into(), principal, Duration::ZERO);
        (m, id)
    }

    #[test]
    fn a_request_never_runs_as_another_identity() {
        let (alice, bob) = (Principal::Source(1), Principal::Source(2));
        let (mut m, id) = manager_with(FunctionKind::Mutation, alice);
        let mut out = vec![];
        let failed = m.send_waiting(1, bob, &mut out);
        assert!(out.is_empty());
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].request, id);
        assert_eq!(failed[0].result, Err(ConvexError::IdentityChanged));
    }

    #[test]
    fn a_request_on_the_open_socket_survives_an_identity_change_but_not_a_drop_after_it() {
        let (alice, bob) = (Principal::Source(1), Principal::Source(2));
        let (mut m, id) = manager_with(FunctionKind::Mutation, alice);
        let mut out = vec![];
        assert!(m.send_waiting(7, alice, &mut out).is_empty());
        assert!(m.identity_changed(bob, Some(7)).is_empty(), "already on the wire as alice");
        assert!(m.socket_lost().is_empty(), "mutations wait for the next socket");
        let failed = m.identity_changed(bob, None);
        assert_eq!(failed.iter().map(|c| c.request).collect::<Vec<_>>(), vec![id]);
    }

    #[test]
    fn actions_in_flight_fail_on_a_drop_and_mutations_complete_at_their_ts() {
        let p = Principal::Anonymous;
        let (mut m, action) = manager_with(FunctionKind::Action, p);
        let mutation =
            m.add(FunctionKind::Mutation, "a:b".into(), "[{}]".into(), p, Duration::ZERO);
        let mut out = vec![];
        m.send_waiting(1, p, &mut out);
        assert_eq!(out.len(), 2);
        let lost = m.socket_lost();
        assert_eq!(lost.len(), 1);
        assert_eq!((lost[0].request, &lost[0].result), (action, &Err(ConvexError::ConnectionLost)));
        assert!(m
            .mutation_response(
                mutation,
                Ok(RawValue::from_value(crate::value::Value::Null).unwrap()),
                Some(10),
                Some(9)
            )
            .is_none());
        assert!(m.completed_at(9).is_empty());
        assert_eq!(m.completed_at(10).len(), 1);
    }
}
