//! Auth state as plain Rust, derived from what clerk-js reports: a pure function, so every
//! rule is tested natively.

/// A Clerk user, as the app sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// `user_…`.
    pub id: String,
    /// Username, if the instance uses them.
    pub username: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The primary email address.
    pub primary_email_address: Option<String>,
    /// Avatar URL.
    pub image_url: Option<String>,
}

impl User {
    /// "First Last", else the username, else the email, else the id.
    pub fn display_name(&self) -> String {
        let full: Vec<&str> =
            [&self.first_name, &self.last_name].iter().filter_map(|n| n.as_deref()).collect();
        if !full.is_empty() {
            return full.join(" ");
        }
        self.username
            .clone()
            .or_else(|| self.primary_email_address.clone())
            .unwrap_or_else(|| self.id.clone())
    }
}

/// A Clerk session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// `sess_…`.
    pub id: String,
    /// `active`, `pending`, `ended`, …
    pub status: String,
}

/// What clerk-js reports at one moment (from its listener).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClerkSnapshot {
    /// `Clerk.load()` finished.
    pub loaded: bool,
    /// `Clerk.user`.
    pub user: Option<User>,
    /// `Clerk.session`.
    pub session: Option<Session>,
    /// The active organization's id.
    pub org_id: Option<String>,
    /// The user's role in it.
    pub org_role: Option<String>,
}

/// Authentication as `useAuth` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthState {
    /// clerk-js has loaded.
    pub is_loaded: bool,
    /// `None` while loading; `Some(true)` with an active session.
    pub is_signed_in: Option<bool>,
    /// The signed-in user's id.
    pub user_id: Option<String>,
    /// The active session's id.
    pub session_id: Option<String>,
    /// The active organization.
    pub org_id: Option<String>,
    /// The user's role in it.
    pub org_role: Option<String>,
}

impl AuthState {
    /// Derives the auth state. Only an `active` session with a user counts as signed in
    /// (clerk-js v6 treats `pending` sessions as signed out).
    pub fn from_snapshot(s: &ClerkSnapshot) -> Self {
        if !s.loaded {
            return AuthState::default();
        }
        let session = s.session.as_ref().filter(|x| x.status == "active");
        match (session, &s.user) {
            (Some(session), Some(user)) => AuthState {
                is_loaded: true,
                is_signed_in: Some(true),
                user_id: Some(user.id.clone()),
                session_id: Some(session.id.clone()),
                org_id: s.org_id.clone(),
                org_role: s.org_role.clone(),
            },
            _ => AuthState { is_loaded: true, is_signed_in: Some(false), ..Default::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> User {
        User { id: "user_alice".into(), first_name: Some("Alice".into()), ..Default::default() }
    }

    fn session(status: &str) -> Session {
        Session { id: "sess_1".into(), status: status.into() }
    }

    #[test]
    fn loading_until_clerk_has_loaded() {
        let state = AuthState::from_snapshot(&ClerkSnapshot {
            loaded: false,
            user: Some(alice()),
            session: Some(session("active")),
            ..Default::default()
        });
        assert_eq!(state, AuthState::default());
        assert_eq!(state.is_signed_in, None);
    }

    #[test]
    fn an_active_session_with_a_user_is_signed_in() {
        let state = AuthState::from_snapshot(&ClerkSnapshot {
            loaded: true,
            user: Some(alice()),
            session: Some(session("active")),
            org_id: Some("org_1".into()),
            org_role: Some("admin".into()),
        });
        assert_eq!(state.is_signed_in, Some(true));
        assert_eq!(state.user_id.as_deref(), Some("user_alice"));
        assert_eq!(state.session_id.as_deref(), Some("sess_1"));
        assert_eq!(state.org_role.as_deref(), Some("admin"));
    }

    #[test]
    fn pending_or_missing_sessions_are_signed_out() {
        for snapshot in [
            ClerkSnapshot { loaded: true, ..Default::default() },
            ClerkSnapshot {
                loaded: true,
                user: Some(alice()),
                session: Some(session("pending")),
                ..Default::default()
            },
            ClerkSnapshot {
                loaded: true,
                user: None,
                session: Some(session("active")),
                ..Default::default()
            },
        ] {
            let state = AuthState::from_snapshot(&snapshot);
            assert_eq!(state.is_signed_in, Some(false), "{snapshot:?}");
            assert_eq!(state.user_id, None);
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(alice().display_name(), "Alice");
        let u = User { id: "u".into(), username: Some("bob".into()), ..Default::default() };
        assert_eq!(u.display_name(), "bob");
        assert_eq!(User { id: "u".into(), ..Default::default() }.display_name(), "u");
    }
}
