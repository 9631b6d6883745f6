//! Acknowledged mutations survive a power loss, simulated: every write SQLite did not fsync is
//! lost.
//!
//! A child process runs the store on a SQLite VFS shim (`lossy`) over the default one. Writes go
//! through to the file as usual; each successful `xSync` of the database or its WAL copies the
//! file, as it then is, to `<file>.synced`. The child commits mutations, prints each acknowledged
//! id, and exits without closing the database. The parent then replaces each file with its last
//! synced copy (a file never synced is gone), drops the shared-memory index, reopens the store
//! normally and checks every acknowledged document is there. A store that skips fsyncs
//! (`synchronous=OFF`, or `NORMAL`, which syncs the WAL only at checkpoints) loses commits here;
//! a SIGKILL test cannot see that, because the page cache outlives a killed process.

use std::{
    collections::HashMap,
    ffi::{c_char, c_int, CStr},
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, OnceLock},
};

use devserver::store::{self, Store};
use rusqlite::ffi;
use serde_json::{Map, Value as Json};

const CHILD_ENV: &str = "DEVSERVER_POWER_LOSS_CHILD";
const MUTATIONS: usize = 40;

/// Per-file data kept after the default VFS's own file structure.
#[repr(C)]
struct Extra {
    original: *const ffi::sqlite3_io_methods,
    path: *mut PathBuf,
}

struct Shim {
    default: *mut ffi::sqlite3_vfs,
    inner_size: usize,
}

unsafe impl Send for Shim {}
unsafe impl Sync for Shim {}

static SHIM: OnceLock<Shim> = OnceLock::new();
/// Shim method tables, one per original table (leaked: they live as long as the process).
static TABLES: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

fn extra_offset(inner_size: usize) -> usize {
    inner_size.div_ceil(8) * 8
}

unsafe fn extra(file: *mut ffi::sqlite3_file) -> *mut Extra {
    let shim = SHIM.get().expect("shim registered");
    (file as *mut u8).add(extra_offset(shim.inner_size)) as *mut Extra
}

unsafe extern "C" fn shim_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    let extra = extra(file);
    let sync = (*(*extra).original).xSync.expect("xSync");
    let rc = sync(file, flags);
    if rc == ffi::SQLITE_OK && !(*extra).path.is_null() {
        let path = &*(*extra).path;
        if std::fs::copy(path, synced(path)).is_err() {
            return ffi::SQLITE_IOERR_FSYNC;
        }
    }
    rc
}

unsafe extern "C" fn shim_close(file: *mut ffi::sqlite3_file) -> c_int {
    let extra = extra(file);
    let close = (*(*extra).original).xClose.expect("xClose");
    let rc = close(file);
    if !(*extra).path.is_null() {
        drop(Box::from_raw((*extra).path));
        (*extra).path = std::ptr::null_mut();
    }
    rc
}

fn shim_table(original: *const ffi::sqlite3_io_methods) -> *const ffi::sqlite3_io_methods {
    let mut tables = TABLES.lock().unwrap();
    if let Some((_, table)) = tables.iter().find(|(o, _)| *o == original as usize) {
        return *table as *const ffi::sqlite3_io_methods;
    }
    let mut table = unsafe { std::ptr::read(original) };
    table.xSync = Some(shim_sync);
    table.xClose = Some(shim_close);
    // No memory-mapped reads (version 3's xFetch): every page goes through the methods.
    table.iVersion = table.iVersion.min(2);
    let leaked = Box::into_raw(Box::new(table)) as usize;
    tables.push((original as usize, leaked));
    leaked as *const ffi::sqlite3_io_methods
}

unsafe extern "C" fn shim_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let shim = SHIM.get().expect("shim registered");
    let open = (*shim.default).xOpen.expect("xOpen");
    let rc = open(shim.default, name, file, flags, out_flags);
    let extra = extra(file);
    (*extra).original = std::ptr::null();
    (*extra).path = std::ptr::null_mut();
    if rc != ffi::SQLITE_OK || (*file).pMethods.is_null() {
        return rc;
    }
    let tracked = flags & (ffi::SQLITE_OPEN_MAIN_DB | ffi::SQLITE_OPEN_WAL) != 0;
    (*extra).original = (*file).pMethods;
    if tracked && !name.is_null() {
        let path = PathBuf::from(CStr::from_ptr(name).to_string_lossy().into_owned());
        (*extra).path = Box::into_raw(Box::new(path));
    }
    (*file).pMethods = shim_table((*file).pMethods);
    rc
}

/// Registers the `lossy` VFS (once per process).
fn register_lossy_vfs() {
    SHIM.get_or_init(|| unsafe {
        let default = ffi::sqlite3_vfs_find(std::ptr::null());
        assert!(!default.is_null(), "a default VFS");
        let inner_size = (*default).szOsFile as usize;
        let mut vfs: ffi::sqlite3_vfs = std::ptr::read(default);
        vfs.szOsFile = (extra_offset(inner_size) + std::mem::size_of::<Extra>()) as c_int;
        vfs.zName = c"lossy".as_ptr();
        vfs.pNext = std::ptr::null_mut();
        vfs.xOpen = Some(shim_open);
        let vfs = Box::into_raw(Box::new(vfs));
        assert_eq!(ffi::sqlite3_vfs_register(vfs, 0), ffi::SQLITE_OK);
        Shim { default, inner_size }
    });
}

fn synced(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".synced");
    PathBuf::from(name)
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The child: commits mutations on the lossy VFS, prints each acknowledged id, and exits without
/// closing the database.
#[test]
fn child_commits_then_loses_power() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    register_lossy_vfs();
    let mut store = Store::open_with_vfs(Path::new(&path), Some("lossy")).expect("open");
    for i in 0..MUTATIONS {
        let mutated = store
            .mutate::<()>(None, |conn, writes| {
                let mut doc = Map::new();
                doc.insert("title".into(), Json::String(format!("post {i}")));
                let id = writes.insert(conn, "posts", doc).expect("insert");
                (Ok(Json::String(id)), vec![])
            })
            .expect("commit");
        println!("ACK {}", mutated.result.expect("mutation").as_str().unwrap());
    }
    // Power loss: no close, no checkpoint, no destructor.
    std::process::exit(0);
}

#[test]
fn acknowledged_mutations_survive_losing_unsynced_writes() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("devserver.sqlite3");
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_commits_then_loses_power", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &db)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let acknowledged: Vec<&str> =
        stdout.lines().filter_map(|l| l.split("ACK ").nth(1)).map(str::trim).collect();
    assert_eq!(acknowledged.len(), MUTATIONS, "{stdout}");

    // The power comes back: each file is what was last synced of it.
    let mut restored = HashMap::new();
    for file in [db.clone(), with_suffix(&db, "-wal")] {
        let copy = synced(&file);
        if copy.exists() {
            std::fs::copy(&copy, &file).unwrap();
            restored.insert(file.display().to_string(), std::fs::metadata(&file).unwrap().len());
        } else {
            let _ = std::fs::remove_file(&file);
            restored.insert(file.display().to_string(), 0);
        }
    }
    let _ = std::fs::remove_file(with_suffix(&db, "-shm"));

    let store = Store::open(&db).expect("reopen");
    let listed: Vec<String> = store::scan_desc(store.connection(), "posts")
        .unwrap()
        .iter()
        .map(|d| d["_id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<&&str> =
        acknowledged.iter().filter(|id| !listed.iter().any(|l| l == **id)).collect();
    eprintln!(
        "power loss: {}/{} acknowledged mutations kept (files after restore: {restored:?})",
        acknowledged.len() - lost.len(),
        acknowledged.len()
    );
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged mutations lost",
        lost.len(),
        acknowledged.len()
    );
}
