//! SQLite storage: documents, the commit timestamp, and the mutation dedup log.
//!
//! Every mutation runs in one SQLite transaction (WAL, `synchronous=FULL`), so it is atomic and
//! durable before it is acknowledged. A successful WebSocket mutation is recorded under
//! (sessionId, requestId) in that same transaction; a re-send returns the recorded result.

use std::{
    collections::HashSet,
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value as Json};

use crate::ids::DocumentId;

/// User tables and their numbers (user tables are numbered from 10001, as in Convex).
pub const TABLES: &[(&str, u32)] = &[("posts", 10001), ("ledger", 10002)];

/// How long a mutation's dedup record is kept (Convex keeps them 14 days).
const DEDUP_RETENTION_NS: u64 = 14 * 24 * 3600 * 1_000_000_000;

pub fn table_number(name: &str) -> Option<u32> {
    TABLES.iter().find(|(n, _)| *n == name).map(|(_, num)| *num)
}

pub fn table_name(number: u32) -> Option<&'static str> {
    TABLES.iter().find(|(_, n)| *n == number).map(|(name, _)| *name)
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// What a query read: whole tables (scans) and single documents (by id, present or not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSet {
    pub tables: HashSet<String>,
    pub docs: HashSet<String>,
}

/// What a mutation wrote: (table, id) pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteSet {
    pub docs: Vec<(String, String)>,
}

impl ReadSet {
    /// Whether a commit that wrote `writes` can change a result that read `self`.
    pub fn intersects(&self, writes: &WriteSet) -> bool {
        writes.docs.iter().any(|(table, id)| self.tables.contains(table) || self.docs.contains(id))
    }
}

/// A recorded successful mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub result: Json,
    pub log_lines: Vec<String>,
    pub ts: u64,
}

/// `PRAGMA synchronous` value for FULL: every commit is fsynced before it returns.
pub const SYNCHRONOUS_FULL: i64 = 2;

/// The connection's `journal_mode` and `synchronous` (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA).
pub fn durability_pragmas(conn: &Connection) -> rusqlite::Result<(String, i64)> {
    let journal_mode = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    let synchronous = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
    Ok((journal_mode, synchronous))
}

/// The database.
pub struct Store {
    conn: Connection,
    ts: u64,
    last_creation_ms: f64,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with_vfs(path, None)
    }

    /// [`Store::open`] on a registered SQLite VFS (tests: a file layer that loses unsynced
    /// writes).
    pub fn open_with_vfs(path: &Path, vfs: Option<&str>) -> anyhow::Result<Self> {
        let conn = match vfs {
            Some(vfs) => {
                Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), vfs)?
            }
            None => Connection::open(path)?,
        };
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // SQLite keeps its old journal mode when WAL is unavailable (some network or virtual
        // file systems); acknowledged mutations would then not be durable as documented.
        let (journal_mode, synchronous) = durability_pragmas(&conn)?;
        if !journal_mode.eq_ignore_ascii_case("wal") || synchronous != SYNCHRONOUS_FULL {
            anyhow::bail!(
                "{}: the database runs with journal_mode={journal_mode}, synchronous={synchronous}; \
                 the devserver needs journal_mode=wal and synchronous=2 (FULL)",
                path.display()
            );
        }
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS documents (
                 id TEXT PRIMARY KEY,
                 table_name TEXT NOT NULL,
                 creation_time REAL NOT NULL,
                 value TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS documents_by_table ON documents(table_name, creation_time);
             CREATE TABLE IF NOT EXISTS mutation_log (
                 session_id TEXT NOT NULL,
                 request_id INTEGER NOT NULL,
                 result TEXT NOT NULL,
                 log_lines TEXT NOT NULL,
                 ts INTEGER NOT NULL,
                 PRIMARY KEY (session_id, request_id));",
        )?;
        let stored_ts: Option<i64> = conn
            .query_row("SELECT value FROM meta WHERE key = 'ts'", [], |r| r.get(0))
            .optional()?;
        let last_creation_ms: f64 =
            conn.query_row("SELECT COALESCE(MAX(creation_time), 0) FROM documents", [], |r| {
                r.get(0)
            })?;
        // The clock may have gone backwards across a restart; timestamps never do.
        let ts = now_ns().max(stored_ts.unwrap_or(0) as u64);
        conn.execute(
            "DELETE FROM mutation_log WHERE ts < ?1",
            params![ts.saturating_sub(DEDUP_RETENTION_NS) as i64],
        )?;
        Ok(Self { conn, ts, last_creation_ms })
    }

    /// The timestamp of the latest committed state.
    pub fn ts(&self) -> u64 {
        self.ts
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A mutation already committed under (session, request), if any.
    pub fn recorded(&self, session: &str, request: u32) -> rusqlite::Result<Option<Recorded>> {
        self.conn
            .query_row(
                "SELECT result, log_lines, ts FROM mutation_log WHERE session_id = ?1 AND request_id = ?2",
                params![session, request],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)),
            )
            .optional()
            .map(|row| {
                row.and_then(|(result, logs, ts)| {
                    Some(Recorded {
                        result: serde_json::from_str(&result).ok()?,
                        log_lines: serde_json::from_str(&logs).ok()?,
                        ts: ts as u64,
                    })
                })
            })
    }

    /// Runs `f` in one transaction at a new commit timestamp. When `f` succeeds, its writes, the
    /// dedup record (when `dedup` is given) and the timestamp commit together; when it fails,
    /// nothing does. `f` returns its result and its log lines.
    pub fn mutate<E>(
        &mut self,
        dedup: Option<(&str, u32)>,
        f: impl FnOnce(&Connection, &mut Writes) -> (Result<Json, E>, Vec<String>),
    ) -> rusqlite::Result<Mutated<E>> {
        let ts = now_ns().max(self.ts + 1);
        let tx = self.conn.transaction()?;
        let mut writes = Writes {
            set: WriteSet::default(),
            creation_ms: self.last_creation_ms.max(ts as f64 / 1e6),
            inserted: false,
        };
        let (result, log_lines) = f(&tx, &mut writes);
        let value = match result {
            Ok(value) => value,
            Err(e) => {
                return Ok(Mutated {
                    result: Err(e),
                    log_lines,
                    ts: None,
                    writes: WriteSet::default(),
                })
            }
        };
        if let Some((session, request)) = dedup {
            tx.execute(
                "INSERT INTO mutation_log (session_id, request_id, result, log_lines, ts) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session, request, value.to_string(), Json::from(log_lines.clone()).to_string(), ts as i64],
            )?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('ts', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            params![ts as i64],
        )?;
        tx.commit()?;
        self.ts = ts;
        self.last_creation_ms = writes.creation_ms;
        Ok(Mutated { result: Ok(value), log_lines, ts: Some(ts), writes: writes.set })
    }
}

/// The outcome of [`Store::mutate`].
pub struct Mutated<E> {
    pub result: Result<Json, E>,
    pub log_lines: Vec<String>,
    /// The commit timestamp (None when the mutation failed and nothing was written).
    pub ts: Option<u64>,
    pub writes: WriteSet,
}

fn row_to_doc(id: String, creation: f64, value: &str) -> rusqlite::Result<Json> {
    let mut map: Map<String, Json> = serde_json::from_str(value).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    map.insert("_id".into(), Json::String(id));
    map.insert("_creationTime".into(), serde_json::json!(creation));
    Ok(Json::Object(map))
}

/// Reads documents (queries and mutations).
pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Json>> {
    conn.query_row(
        "SELECT id, creation_time, value FROM documents WHERE id = ?1",
        params![id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, String>(2)?)),
    )
    .optional()?
    .map(|(id, c, v)| row_to_doc(id, c, &v))
    .transpose()
}

/// All documents of `table`, newest first.
pub fn scan_desc(conn: &Connection, table: &str) -> rusqlite::Result<Vec<Json>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, creation_time, value FROM documents WHERE table_name = ?1 ORDER BY creation_time DESC",
    )?;
    let rows = stmt.query_map(params![table], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?, r.get::<_, String>(2)?))
    })?;
    rows.map(|row| row.and_then(|(id, c, v)| row_to_doc(id, c, &v))).collect()
}

/// The writes of one mutation's transaction.
pub struct Writes {
    set: WriteSet,
    creation_ms: f64,
    inserted: bool,
}

impl Writes {
    /// Inserts a document (system fields are added) and returns its id.
    pub fn insert(
        &mut self,
        conn: &Connection,
        table: &str,
        value: Map<String, Json>,
    ) -> rusqlite::Result<String> {
        let number = table_number(table).ok_or_else(|| {
            rusqlite::Error::InvalidParameterName(format!("unknown table {table}"))
        })?;
        // `_creationTime` is strictly increasing, also within one transaction.
        if self.inserted {
            self.creation_ms += 0.001;
        }
        self.inserted = true;
        let id = DocumentId::random(number).encode();
        conn.execute(
            "INSERT INTO documents (id, table_name, creation_time, value) VALUES (?1, ?2, ?3, ?4)",
            params![id, table, self.creation_ms, Json::Object(value).to_string()],
        )?;
        self.set.docs.push((table.to_string(), id.clone()));
        Ok(id)
    }

    /// Deletes a document; returns whether it existed.
    pub fn delete(&mut self, conn: &Connection, id: &str) -> rusqlite::Result<bool> {
        let table: Option<String> = conn
            .query_row("SELECT table_name FROM documents WHERE id = ?1", params![id], |r| r.get(0))
            .optional()?;
        let Some(table) = table else { return Ok(false) };
        conn.execute("DELETE FROM documents WHERE id = ?1", params![id])?;
        self.set.docs.push((table, id.to_string()));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SIGKILL test (tests/durability.rs) cannot tell a lost fsync from a kept one: a killed
    /// process's writes stay in the page cache. What makes a commit survive a power loss is the
    /// connection running WAL with synchronous=FULL, so that is asserted here, on the
    /// connection the store commits with, on a fresh and on a reopened database.
    #[test]
    fn commits_are_fsynced_wal_with_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        for _ in 0..2 {
            let mut store = Store::open(&path).unwrap();
            let (journal_mode, synchronous) = durability_pragmas(store.connection()).unwrap();
            assert_eq!(journal_mode, "wal");
            assert_eq!(synchronous, SYNCHRONOUS_FULL);
            let mutated = store
                .mutate::<()>(None, |conn, writes| {
                    let id = writes.insert(conn, "posts", Map::new()).unwrap();
                    (Ok(Json::String(id)), vec![])
                })
                .unwrap();
            assert!(mutated.ts.is_some());
            // Still so inside and after a transaction.
            assert_eq!(durability_pragmas(store.connection()).unwrap().1, SYNCHRONOUS_FULL);
        }
    }

    #[test]
    fn the_pragma_check_would_see_a_weaker_setting() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite")).unwrap();
        store.connection().pragma_update(None, "synchronous", "OFF").unwrap();
        assert_eq!(durability_pragmas(store.connection()).unwrap().1, 0);
    }
}
