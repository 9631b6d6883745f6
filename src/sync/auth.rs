//! The authentication state machine: the auth source's tokens from the first fetch through the
//! server's confirmation, refreshes and refusals (convex-js: `AuthenticationManager`).
//!
//! Two notions are kept apart:
//! - the **principal**: *who* results and requests belong to. Every `set_auth` starts a new
//!   auth source, which is a new principal; a sign-out makes the client [`Principal::Anonymous`].
//!   Token rotations never change it;
//! - the **token**: which JWT proves it. Every token gets a sequence number, and only the
//!   server's confirmation of *that* token's `Authenticate` confirms it (a late confirmation
//!   of an older token is not taken for the newer one).
//!
//! Refresh rules (convex-js's, with its known faults fixed): a token confirmed from the
//! source's cache is replaced by a fresh one at once; a fresh one is refreshed at
//! `lifetime − leeway` after it was fetched; a refresh that returns the same token is not an
//! error (convex-js #184), and is tried once more as that token's expiry nears, never polled.

use std::time::Duration;

use super::{ids::TokenRequestId, token};

/// Whose results and requests these are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Principal {
    /// Signed out.
    Anonymous,
    /// The user of the n-th auth source given to `set_auth`.
    Source(u32),
}

/// Where authentication stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStatus {
    /// No token in use.
    Unauthenticated,
    /// A token is being fetched or awaits the server's confirmation.
    Loading,
    /// The server accepted the token.
    Authenticated,
}

/// A token and its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) text: String,
    pub(crate) seq: u64,
    fetched_at: Duration,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// No auth source, or it has no token: anonymous.
    SignedOut,
    /// `expect_auth`: the application will give a source (or sign out) before anything goes
    /// out; queries and requests made meanwhile wait, and belong to that coming source.
    Expected,
    /// The source's first token is on its way; session traffic waits for it.
    AwaitingToken,
    /// The token to use; the server has not confirmed it yet.
    Confirming { token: Token, from_cache: bool, attempts: u32 },
    /// The server confirmed the token.
    Confirmed { token: Token },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// The first token of a source.
    Initial,
    /// A scheduled refresh (or a fresh token after a cached one was confirmed).
    Refresh,
    /// The server refused the token: one forced fetch to recover.
    Recovery,
}

#[derive(Debug, Clone, Copy)]
struct Fetch {
    id: TokenRequestId,
    force: bool,
    purpose: Purpose,
}

/// What the state machine asks for: a token fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FetchRequest {
    pub(crate) id: TokenRequestId,
    pub(crate) force: bool,
}

/// What to do about a refused token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A forced fetch is under way; reconnect with its token.
    Recovering,
    /// Nothing more to try: the client is signed out.
    SignedOut,
}

/// The authentication state.
#[derive(Debug)]
pub(crate) struct Authentication {
    leeway: Duration,
    /// The current source's number (0: none yet).
    source: u32,
    phase: Phase,
    fetch: Option<Fetch>,
    next_fetch: u64,
    next_seq: u64,
    refresh_at: Option<Duration>,
    /// The current source has had a token confirmed: later tokens are refreshes.
    source_confirmed: bool,
    /// The token the server refused last.
    rejected: Option<String>,
    /// A refresh returned the current token: the one retry at its expiry is used up.
    same_token_retried: bool,
    requests: Vec<FetchRequest>,
}

impl Authentication {
    #[cfg(test)]
    pub(crate) fn new(leeway: Duration) -> Self {
        Self::with_expectation(leeway, false)
    }

    /// With `expect_auth`, nothing goes out until [`Authentication::set_source`] or
    /// [`Authentication::clear`].
    pub(crate) fn with_expectation(leeway: Duration, expect_auth: bool) -> Self {
        Self {
            leeway,
            source: 0,
            phase: if expect_auth { Phase::Expected } else { Phase::SignedOut },
            fetch: None,
            next_fetch: 0,
            next_seq: 0,
            refresh_at: None,
            source_confirmed: false,
            rejected: None,
            same_token_retried: false,
            requests: Vec::new(),
        }
    }

    // ----- what it says -----

    /// The principal requests and results belong to now.
    pub(crate) fn principal(&self) -> Principal {
        match self.phase {
            Phase::SignedOut => Principal::Anonymous,
            // The source to come: what is made meanwhile runs as it.
            Phase::Expected => Principal::Source(self.source + 1),
            _ => Principal::Source(self.source),
        }
    }

    /// The token the server should have, if any.
    pub(crate) fn token(&self) -> Option<&Token> {
        match &self.phase {
            Phase::Confirming { token, .. } | Phase::Confirmed { token } => Some(token),
            Phase::SignedOut | Phase::Expected | Phase::AwaitingToken => None,
        }
    }

    /// Session traffic must wait: the token that decides the identity is on its way (a new
    /// source's first one, or a recovery after a refusal).
    pub(crate) fn blocking(&self) -> bool {
        matches!(self.phase, Phase::AwaitingToken | Phase::Expected)
            || self.fetch.is_some_and(|f| f.purpose == Purpose::Recovery)
    }

    /// The source's first token has not arrived yet.
    pub(crate) fn awaiting_first_token(&self) -> bool {
        self.phase == Phase::AwaitingToken
    }

    /// Nothing is pending: no fetch, no unconfirmed token.
    pub(crate) fn settled(&self) -> bool {
        self.fetch.is_none() && matches!(self.phase, Phase::SignedOut | Phase::Confirmed { .. })
    }

    pub(crate) fn status(&self) -> AuthStatus {
        match self.phase {
            Phase::SignedOut => AuthStatus::Unauthenticated,
            Phase::Confirmed { .. } => AuthStatus::Authenticated,
            // A refresh keeps the client authenticated while the new token is confirmed.
            _ if self.source_confirmed => AuthStatus::Authenticated,
            _ => AuthStatus::Loading,
        }
    }

    /// A refresh (or a recovery) of a confirmed source is under way.
    pub(crate) fn is_refreshing(&self) -> bool {
        self.source_confirmed
            && (self.fetch.is_some() || matches!(self.phase, Phase::Confirming { .. }))
    }

    /// The refresh deadline.
    pub(crate) fn next_deadline(&self) -> Option<Duration> {
        self.refresh_at
    }

    /// The next token fetch to start.
    pub(crate) fn poll_fetch(&mut self) -> Option<FetchRequest> {
        (!self.requests.is_empty()).then(|| self.requests.remove(0))
    }

    // ----- what it is told -----

    /// A new auth source: a new principal, whose first token is fetched now.
    pub(crate) fn set_source(&mut self) {
        self.source += 1;
        self.phase = Phase::AwaitingToken;
        self.source_confirmed = false;
        self.rejected = None;
        self.refresh_at = None;
        self.same_token_retried = false;
        self.start_fetch(false, Purpose::Initial);
    }

    /// The application signs out.
    pub(crate) fn clear(&mut self) {
        self.fetch = None;
        self.requests.clear();
        self.sign_out();
    }

    fn sign_out(&mut self) {
        self.phase = Phase::SignedOut;
        self.source_confirmed = false;
        self.refresh_at = None;
    }

    fn start_fetch(&mut self, force: bool, purpose: Purpose) {
        let id = TokenRequestId::new(self.next_fetch);
        self.next_fetch += 1;
        self.fetch = Some(Fetch { id, force, purpose });
        // A fetch not yet started is superseded.
        self.requests.clear();
        self.requests.push(FetchRequest { id, force });
    }

    fn adopt(&mut self, text: String, from_cache: bool, attempts: u32, now: Duration) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.same_token_retried = false;
        self.phase =
            Phase::Confirming { token: Token { text, seq, fetched_at: now }, from_cache, attempts };
    }

    /// The answer to fetch `id` (`None`: the source has no token). Answers to superseded
    /// fetches are ignored.
    pub(crate) fn token_fetched(
        &mut self,
        id: TokenRequestId,
        token: Option<String>,
        now: Duration,
    ) {
        let Some(fetch) = self.fetch.filter(|f| f.id == id) else { return };
        self.fetch = None;
        let token = token.filter(|t| !t.is_empty());
        match fetch.purpose {
            Purpose::Initial => match token {
                Some(token) => self.adopt(token, !fetch.force, 0, now),
                // A cache may have nothing: ask once more, bypassing it.
                None if !fetch.force => self.start_fetch(true, Purpose::Initial),
                None => self.sign_out(),
            },
            Purpose::Refresh => match token {
                Some(token) if Some(token.as_str()) == self.token().map(|t| t.text.as_str()) => {
                    // The same, still valid token (convex-js #184): not an error. Ask once
                    // more as expiry nears (halfway through the leeway, so the next token still
                    // reaches the server in time); never poll.
                    if !self.same_token_retried {
                        self.same_token_retried = true;
                        let leeway = self.leeway / 2;
                        self.refresh_at = self
                            .expiry()
                            .map(|exp| exp.saturating_sub(leeway))
                            .filter(|at| *at > now);
                    }
                }
                Some(token) => self.adopt(token, false, 0, now),
                None => self.sign_out(),
            },
            Purpose::Recovery => {
                let attempts = match &self.phase {
                    Phase::Confirming { attempts, .. } => attempts + 1,
                    _ => 1,
                };
                match token {
                    Some(token) if Some(&token) != self.rejected.as_ref() => {
                        self.adopt(token, false, attempts, now)
                    }
                    _ => self.sign_out(),
                }
            }
        }
    }

    /// When the current token expires, in engine time.
    fn expiry(&self) -> Option<Duration> {
        let token = self.token()?;
        let (iat, exp) = token::issued_and_expiry(&token.text)?;
        Some(token.fetched_at + Duration::from_secs(exp.checked_sub(iat)?))
    }

    /// The server confirmed the token with sequence number `seq` (its Authenticate moved the
    /// identity version). Confirmations of any other token are ignored.
    pub(crate) fn confirmed(&mut self, seq: u64) {
        let Phase::Confirming { token, from_cache, .. } = &self.phase else { return };
        if token.seq != seq {
            return;
        }
        let (token, from_cache) = (token.clone(), *from_cache);
        self.source_confirmed = true;
        self.rejected = None;
        if from_cache {
            // A cached token may be close to expiry: get a fresh one now.
            self.refresh_at = None;
            self.start_fetch(true, Purpose::Refresh);
        } else {
            self.refresh_at = token::refresh_delay(&token.text, self.leeway)
                .map(|delay| token.fetched_at + delay);
        }
        self.phase = Phase::Confirmed { token };
    }

    /// The server refused the current token.
    pub(crate) fn refused(&mut self) -> Refusal {
        let attempts = match &self.phase {
            Phase::Confirming { attempts, .. } => *attempts,
            _ => 0,
        };
        self.rejected = self.token().map(|t| t.text.clone());
        self.refresh_at = None;
        if self.rejected.is_none() || attempts >= 2 {
            self.fetch = None;
            self.requests.clear();
            self.sign_out();
            Refusal::SignedOut
        } else {
            self.start_fetch(true, Purpose::Recovery);
            Refusal::Recovering
        }
    }

    /// Whether an unconfirmed token awaits the server.
    pub(crate) fn confirming(&self) -> bool {
        matches!(self.phase, Phase::Confirming { .. })
    }

    /// The refresh deadline passed.
    pub(crate) fn handle_timeout(&mut self, now: Duration) {
        if self.refresh_at.is_some_and(|at| at <= now) {
            self.refresh_at = None;
            if self.token().is_some() && self.fetch.is_none() {
                self.start_fetch(true, Purpose::Refresh);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::token::fake_jwt;

    fn signed_in(auth: &mut Authentication, token: &str) -> u64 {
        auth.set_source();
        let fetch = auth.poll_fetch().expect("a fetch");
        auth.token_fetched(fetch.id, Some(token.into()), Duration::ZERO);
        let seq = auth.token().expect("a token").seq;
        auth.confirmed(seq);
        seq
    }

    #[test]
    fn only_the_confirmation_of_the_current_token_counts() {
        let mut auth = Authentication::new(Duration::from_secs(10));
        auth.set_source();
        let f = auth.poll_fetch().unwrap();
        auth.token_fetched(f.id, Some(fake_jwt(0, 60, "alice")), Duration::ZERO);
        let alice_seq = auth.token().unwrap().seq;
        auth.set_source();
        let f = auth.poll_fetch().unwrap();
        auth.token_fetched(f.id, Some(fake_jwt(0, 60, "bob")), Duration::ZERO);
        auth.confirmed(alice_seq);
        assert_eq!(auth.status(), AuthStatus::Loading, "alice's confirmation is not bob's");
        assert_eq!(auth.poll_fetch(), None, "no refresh started from alice's token");
        auth.confirmed(auth.token().unwrap().seq);
        assert_eq!(auth.status(), AuthStatus::Authenticated);
        let refresh = auth.poll_fetch().expect("bob's cached token is replaced by a fresh one");
        assert!(refresh.force);
        auth.token_fetched(refresh.id, Some(fake_jwt(0, 60, "bob-2")), Duration::ZERO);
        auth.confirmed(auth.token().unwrap().seq);
        assert_eq!(auth.next_deadline(), Some(Duration::from_secs(50)));
    }

    #[test]
    fn the_same_token_from_a_refresh_is_retried_once_at_expiry_and_never_polled() {
        let mut auth = Authentication::new(Duration::from_secs(10));
        let token = fake_jwt(0, 60, "alice");
        // A forced first fetch (no cache): refresh at 50 s.
        auth.set_source();
        let f = auth.poll_fetch().unwrap();
        auth.token_fetched(f.id, None, Duration::ZERO);
        let f = auth.poll_fetch().unwrap();
        assert!(f.force);
        auth.token_fetched(f.id, Some(token.clone()), Duration::ZERO);
        auth.confirmed(auth.token().unwrap().seq);
        let mut fetches = 0;
        let mut now = Duration::ZERO;
        while now < Duration::from_secs(600) {
            now += Duration::from_secs(1);
            auth.handle_timeout(now);
            while let Some(f) = auth.poll_fetch() {
                fetches += 1;
                auth.token_fetched(f.id, Some(token.clone()), now);
            }
        }
        assert_eq!(fetches, 2, "one at lifetime − leeway, one as expiry nears, then none");
        assert_eq!(auth.status(), AuthStatus::Authenticated);
    }

    #[test]
    fn refusals_recover_once_with_a_new_token_then_sign_out() {
        let mut auth = Authentication::new(Duration::from_secs(10));
        signed_in(&mut auth, &fake_jwt(0, 60, "alice"));
        assert_eq!(auth.refused(), Refusal::Recovering);
        assert!(auth.blocking());
        let f = auth.poll_fetch().unwrap();
        auth.token_fetched(f.id, Some(fake_jwt(0, 60, "alice")), Duration::ZERO);
        assert_eq!(auth.principal(), Principal::Anonymous, "the refused token again: sign out");
        assert_eq!(auth.status(), AuthStatus::Unauthenticated);
    }

    #[test]
    fn a_sign_out_is_anonymous_and_a_new_source_a_new_principal() {
        let mut auth = Authentication::new(Duration::from_secs(10));
        signed_in(&mut auth, &fake_jwt(0, 60, "alice"));
        let alice = auth.principal();
        auth.clear();
        assert_eq!(auth.principal(), Principal::Anonymous);
        signed_in(&mut auth, &fake_jwt(0, 60, "alice"));
        assert_ne!(auth.principal(), alice);
    }
}
