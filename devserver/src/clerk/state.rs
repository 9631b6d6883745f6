//! The stand-in's state in SQLite (`clerk.sqlite3` in the data dir, WAL, `synchronous=FULL`):
//! users (seeded on every start), clients (one per browser, found by the hash of its cookie),
//! sign-ins and sessions. Everything survives a restart.

use std::path::Path;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64URL, Engine as _};
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};

/// A seeded user: (id, username, email, first name, last name, password).
pub const SEED_USERS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("user_alice", "alice", "alice@example.com", "Alice", "Liddell", "alice-password"),
    ("user_bob", "bob", "bob@example.com", "Bob", "Builder", "bob-password"),
];

/// Sessions last a week, as Clerk's default; a client's cookie a year.
pub const SESSION_LIFETIME_MS: u64 = 7 * 24 * 3600 * 1000;
pub const SESSION_ABANDON_MS: u64 = 30 * 24 * 3600 * 1000;
pub const SIGN_IN_LIFETIME_MS: u64 = 24 * 3600 * 1000;
pub const CLIENT_COOKIE_MAX_AGE_SECS: u64 = 365 * 24 * 3600;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_id: String,
    pub first_name: String,
    pub last_name: String,
    password_salt: String,
    password_hash: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub last_sign_in_at: Option<u64>,
}

impl User {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name).trim().to_string()
    }

    pub fn password_matches(&self, password: &str) -> bool {
        // Not constant-time: this is a local development stand-in with published passwords.
        hash_password(&self.password_salt, password) == self.password_hash
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    pub id: String,
    pub sign_in_id: Option<String>,
    pub last_active_session_id: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    pub id: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub identifier: Option<String>,
    /// `needs_identifier`, `needs_first_factor` or `complete`.
    pub status: String,
    pub created_session_id: Option<String>,
    pub verified: bool,
    pub attempts: u32,
    pub created_at: u64,
    pub updated_at: u64,
    pub abandon_at: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    /// As stored: `active`, `ended`, `removed` or `revoked`; see [`Session::status_at`].
    pub status: String,
    pub created_at: u64,
    pub updated_at: u64,
    pub last_active_at: u64,
    pub expire_at: u64,
    pub abandon_at: u64,
    /// The newest session token and its `exp` (seconds).
    pub token: Option<String>,
    pub token_exp: u64,
    pub user_agent: String,
    pub ip: String,
}

impl Session {
    /// The status at `now_ms`: an active session past its expiry is `expired`.
    pub fn status_at(&self, now_ms: u64) -> &str {
        if self.status == "active" && self.expire_at <= now_ms {
            "expired"
        } else {
            &self.status
        }
    }

    pub fn is_active(&self, now_ms: u64) -> bool {
        self.status_at(now_ms) == "active"
    }
}

/// A random id with Clerk's shape: `prefix_` + 27 alphanumerics.
pub fn random_id(prefix: &str) -> String {
    use rand::{distributions::Alphanumeric, Rng};
    let tail: String =
        rand::thread_rng().sample_iter(&Alphanumeric).take(27).map(char::from).collect();
    format!("{prefix}_{tail}")
}

/// A fresh client cookie value (32 random bytes).
pub fn new_cookie_secret() -> String {
    B64URL.encode(rand::random::<[u8; 32]>())
}

/// What the database keeps of a cookie value.
pub fn cookie_hash(secret: &str) -> String {
    hex(&Sha256::digest(format!("clerk-standin-client|{secret}").as_bytes()))
}

fn hash_password(salt: &str, password: &str) -> String {
    hex(&Sha256::digest(format!("{salt}|{password}").as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens (or creates) the database and upserts the seeded users.
pub fn open(path: &Path, now_ms: u64) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS clerk_users (
             id TEXT PRIMARY KEY,
             username TEXT NOT NULL UNIQUE,
             email TEXT NOT NULL UNIQUE,
             email_id TEXT NOT NULL,
             first_name TEXT NOT NULL,
             last_name TEXT NOT NULL,
             password_salt TEXT NOT NULL,
             password_hash TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL,
             last_sign_in_at INTEGER);
         CREATE TABLE IF NOT EXISTS clerk_clients (
             id TEXT PRIMARY KEY,
             cookie_hash TEXT NOT NULL UNIQUE,
             sign_in_id TEXT,
             last_active_session_id TEXT,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS clerk_sign_ins (
             id TEXT PRIMARY KEY,
             client_id TEXT NOT NULL,
             user_id TEXT,
             identifier TEXT,
             status TEXT NOT NULL,
             created_session_id TEXT,
             verified INTEGER NOT NULL DEFAULT 0,
             attempts INTEGER NOT NULL DEFAULT 0,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL,
             abandon_at INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS clerk_sessions (
             id TEXT PRIMARY KEY,
             client_id TEXT NOT NULL,
             user_id TEXT NOT NULL,
             status TEXT NOT NULL,
             created_at INTEGER NOT NULL,
             updated_at INTEGER NOT NULL,
             last_active_at INTEGER NOT NULL,
             expire_at INTEGER NOT NULL,
             abandon_at INTEGER NOT NULL,
             token TEXT,
             token_exp INTEGER NOT NULL DEFAULT 0,
             user_agent TEXT NOT NULL DEFAULT '',
             ip TEXT NOT NULL DEFAULT '');
         CREATE INDEX IF NOT EXISTS clerk_sessions_by_client ON clerk_sessions(client_id, created_at);
         CREATE INDEX IF NOT EXISTS clerk_sessions_by_user ON clerk_sessions(user_id, created_at);
         CREATE INDEX IF NOT EXISTS clerk_sign_ins_by_client ON clerk_sign_ins(client_id);",
    )?;
    for (id, username, email, first, last, password) in SEED_USERS {
        let salt = hex(&rand::random::<[u8; 16]>());
        conn.execute(
            "INSERT INTO clerk_users (id, username, email, email_id, first_name, last_name,
                 password_salt, password_hash, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT(id) DO UPDATE SET username = excluded.username, email = excluded.email,
                 email_id = excluded.email_id, first_name = excluded.first_name,
                 last_name = excluded.last_name, password_salt = excluded.password_salt,
                 password_hash = excluded.password_hash",
            params![
                id,
                username,
                email,
                format!("idn_{}", id.trim_start_matches("user_")),
                first,
                last,
                salt,
                hash_password(&salt, password),
                now_ms as i64
            ],
        )?;
    }
    // Forget sign-ins nobody finished and sessions long gone.
    conn.execute("DELETE FROM clerk_sign_ins WHERE abandon_at < ?1", params![now_ms as i64])?;
    conn.execute("DELETE FROM clerk_sessions WHERE abandon_at < ?1", params![now_ms as i64])?;
    Ok(conn)
}

fn ms(row: &Row<'_>, idx: &str) -> rusqlite::Result<u64> {
    Ok(row.get::<_, i64>(idx)?.max(0) as u64)
}

fn user_from(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get("id")?,
        username: row.get("username")?,
        email: row.get("email")?,
        email_id: row.get("email_id")?,
        first_name: row.get("first_name")?,
        last_name: row.get("last_name")?,
        password_salt: row.get("password_salt")?,
        password_hash: row.get("password_hash")?,
        created_at: ms(row, "created_at")?,
        updated_at: ms(row, "updated_at")?,
        last_sign_in_at: row.get::<_, Option<i64>>("last_sign_in_at")?.map(|v| v.max(0) as u64),
    })
}

fn client_from(row: &Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        id: row.get("id")?,
        sign_in_id: row.get("sign_in_id")?,
        last_active_session_id: row.get("last_active_session_id")?,
        created_at: ms(row, "created_at")?,
        updated_at: ms(row, "updated_at")?,
    })
}

fn sign_in_from(row: &Row<'_>) -> rusqlite::Result<SignIn> {
    Ok(SignIn {
        id: row.get("id")?,
        client_id: row.get("client_id")?,
        user_id: row.get("user_id")?,
        identifier: row.get("identifier")?,
        status: row.get("status")?,
        created_session_id: row.get("created_session_id")?,
        verified: row.get::<_, i64>("verified")? != 0,
        attempts: row.get::<_, i64>("attempts")?.clamp(0, u32::MAX as i64) as u32,
        created_at: ms(row, "created_at")?,
        updated_at: ms(row, "updated_at")?,
        abandon_at: ms(row, "abandon_at")?,
    })
}

fn session_from(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get("id")?,
        client_id: row.get("client_id")?,
        user_id: row.get("user_id")?,
        status: row.get("status")?,
        created_at: ms(row, "created_at")?,
        updated_at: ms(row, "updated_at")?,
        last_active_at: ms(row, "last_active_at")?,
        expire_at: ms(row, "expire_at")?,
        abandon_at: ms(row, "abandon_at")?,
        token: row.get("token")?,
        token_exp: ms(row, "token_exp")?,
        user_agent: row.get("user_agent")?,
        ip: row.get("ip")?,
    })
}

// ---- users ----

pub fn user(conn: &Connection, id: &str) -> rusqlite::Result<Option<User>> {
    conn.query_row("SELECT * FROM clerk_users WHERE id = ?1", params![id], user_from).optional()
}

/// The user whose username or email address is `identifier` (case-insensitive).
pub fn user_by_identifier(conn: &Connection, identifier: &str) -> rusqlite::Result<Option<User>> {
    let identifier = identifier.trim();
    conn.query_row(
        "SELECT * FROM clerk_users WHERE lower(username) = lower(?1) OR lower(email) = lower(?1)
         ORDER BY id LIMIT 1",
        params![identifier],
        user_from,
    )
    .optional()
}

pub fn set_last_sign_in(conn: &Connection, user_id: &str, now_ms: u64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE clerk_users SET last_sign_in_at = ?2 WHERE id = ?1",
        params![user_id, now_ms as i64],
    )?;
    Ok(())
}

// ---- clients ----

pub fn client_by_cookie(conn: &Connection, secret: &str) -> rusqlite::Result<Option<Client>> {
    conn.query_row(
        "SELECT * FROM clerk_clients WHERE cookie_hash = ?1",
        params![cookie_hash(secret)],
        client_from,
    )
    .optional()
}

pub fn insert_client(conn: &Connection, secret: &str, now_ms: u64) -> rusqlite::Result<Client> {
    let client = Client {
        id: random_id("client"),
        sign_in_id: None,
        last_active_session_id: None,
        created_at: now_ms,
        updated_at: now_ms,
    };
    conn.execute(
        "INSERT INTO clerk_clients (id, cookie_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![client.id, cookie_hash(secret), now_ms as i64],
    )?;
    Ok(client)
}

pub fn update_client(conn: &Connection, client: &Client) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE clerk_clients SET sign_in_id = ?2, last_active_session_id = ?3, updated_at = ?4
         WHERE id = ?1",
        params![
            client.id,
            client.sign_in_id,
            client.last_active_session_id,
            client.updated_at as i64
        ],
    )?;
    Ok(())
}

pub fn delete_client(conn: &Connection, client_id: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM clerk_sign_ins WHERE client_id = ?1", params![client_id])?;
    conn.execute("DELETE FROM clerk_clients WHERE id = ?1", params![client_id])?;
    Ok(())
}

// ---- sign-ins ----

pub fn sign_in(conn: &Connection, id: &str) -> rusqlite::Result<Option<SignIn>> {
    conn.query_row("SELECT * FROM clerk_sign_ins WHERE id = ?1", params![id], sign_in_from)
        .optional()
}

pub fn save_sign_in(conn: &Connection, s: &SignIn) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO clerk_sign_ins (id, client_id, user_id, identifier, status,
             created_session_id, verified, attempts, created_at, updated_at, abandon_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id,
             identifier = excluded.identifier, status = excluded.status,
             created_session_id = excluded.created_session_id, verified = excluded.verified,
             attempts = excluded.attempts, updated_at = excluded.updated_at",
        params![
            s.id,
            s.client_id,
            s.user_id,
            s.identifier,
            s.status,
            s.created_session_id,
            s.verified as i64,
            s.attempts as i64,
            s.created_at as i64,
            s.updated_at as i64,
            s.abandon_at as i64
        ],
    )?;
    Ok(())
}

// ---- sessions ----

pub fn session(conn: &Connection, id: &str) -> rusqlite::Result<Option<Session>> {
    conn.query_row("SELECT * FROM clerk_sessions WHERE id = ?1", params![id], session_from)
        .optional()
}

fn sessions_where(
    conn: &Connection,
    condition: &str,
    key: &str,
    now_ms: u64,
) -> rusqlite::Result<Vec<Session>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT * FROM clerk_sessions WHERE {condition} = ?1 AND status = 'active'
             AND expire_at > ?2 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map(params![key, now_ms as i64], session_from)?;
    rows.collect()
}

/// The client's active sessions, oldest first.
pub fn client_sessions(
    conn: &Connection,
    client_id: &str,
    now_ms: u64,
) -> rusqlite::Result<Vec<Session>> {
    sessions_where(conn, "client_id", client_id, now_ms)
}

/// The user's active sessions on every client, oldest first.
pub fn user_sessions(
    conn: &Connection,
    user_id: &str,
    now_ms: u64,
) -> rusqlite::Result<Vec<Session>> {
    sessions_where(conn, "user_id", user_id, now_ms)
}

pub fn insert_session(conn: &Connection, s: &Session) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO clerk_sessions (id, client_id, user_id, status, created_at, updated_at,
             last_active_at, expire_at, abandon_at, token, token_exp, user_agent, ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            s.id,
            s.client_id,
            s.user_id,
            s.status,
            s.created_at as i64,
            s.updated_at as i64,
            s.last_active_at as i64,
            s.expire_at as i64,
            s.abandon_at as i64,
            s.token,
            s.token_exp as i64,
            s.user_agent,
            s.ip
        ],
    )?;
    Ok(())
}

/// Ends a session (`ended`, `removed` or `revoked`) and forgets its token.
pub fn set_session_status(
    conn: &Connection,
    id: &str,
    status: &str,
    now_ms: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE clerk_sessions SET status = ?2, updated_at = ?3, token = NULL, token_exp = 0
         WHERE id = ?1",
        params![id, status, now_ms as i64],
    )?;
    Ok(())
}

pub fn touch_session(conn: &Connection, id: &str, now_ms: u64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE clerk_sessions SET last_active_at = ?2, updated_at = ?2 WHERE id = ?1",
        params![id, now_ms as i64],
    )?;
    Ok(())
}

pub fn set_session_token(
    conn: &Connection,
    id: &str,
    token: &str,
    exp_secs: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE clerk_sessions SET token = ?2, token_exp = ?3 WHERE id = ?1",
        params![id, token, exp_secs as i64],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_users_and_finds_them_by_username_or_email() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clerk.sqlite3");
        let conn = open(&path, 1_000).unwrap();
        let alice = user_by_identifier(&conn, " Alice@Example.com ").unwrap().unwrap();
        assert_eq!(alice.id, "user_alice");
        assert!(alice.password_matches("alice-password"));
        assert!(!alice.password_matches("bob-password"));
        assert_eq!(user_by_identifier(&conn, "bob").unwrap().unwrap().full_name(), "Bob Builder");
        assert!(user_by_identifier(&conn, "carol").unwrap().is_none());
        set_last_sign_in(&conn, "user_alice", 5_000).unwrap();
        drop(conn);
        // Reopening keeps what happened and re-seeds the passwords.
        let conn = open(&path, 2_000).unwrap();
        let alice = user(&conn, "user_alice").unwrap().unwrap();
        assert_eq!((alice.created_at, alice.last_sign_in_at), (1_000, Some(5_000)));
        assert!(alice.password_matches("alice-password"));
    }

    #[test]
    fn clients_and_sessions_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("c.sqlite3"), 0).unwrap();
        let secret = new_cookie_secret();
        let mut client = insert_client(&conn, &secret, 10).unwrap();
        assert_eq!(client_by_cookie(&conn, &secret).unwrap(), Some(client.clone()));
        assert_eq!(client_by_cookie(&conn, "other").unwrap(), None);
        let session = Session {
            id: random_id("sess"),
            client_id: client.id.clone(),
            user_id: "user_bob".into(),
            status: "active".into(),
            created_at: 10,
            updated_at: 10,
            last_active_at: 10,
            expire_at: 100,
            abandon_at: 200,
            token: None,
            token_exp: 0,
            user_agent: "ua".into(),
            ip: "127.0.0.1".into(),
        };
        insert_session(&conn, &session).unwrap();
        assert_eq!(client_sessions(&conn, &client.id, 50).unwrap(), vec![session.clone()]);
        assert!(client_sessions(&conn, &client.id, 100).unwrap().is_empty(), "expired");
        assert_eq!(session.status_at(100), "expired");
        set_session_token(&conn, &session.id, "jwt", 77).unwrap();
        assert_eq!(user_sessions(&conn, "user_bob", 50).unwrap()[0].token.as_deref(), Some("jwt"));
        client.last_active_session_id = Some(session.id.clone());
        update_client(&conn, &client).unwrap();
        set_session_status(&conn, &session.id, "ended", 60).unwrap();
        assert!(client_sessions(&conn, &client.id, 60).unwrap().is_empty());
        assert_eq!(self::session(&conn, &session.id).unwrap().unwrap().status, "ended");
        delete_client(&conn, &client.id).unwrap();
        assert_eq!(client_by_cookie(&conn, &secret).unwrap(), None);
        assert!(random_id("sess").starts_with("sess_") && random_id("x").len() == 29);
    }
}
