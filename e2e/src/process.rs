//! Child processes that cannot outlive the tests: each runs in its own process group (so
//! `trunk`'s cargo and ChromeDriver's Chromium go with it), gets SIGTERM if the test process
//! dies (`PR_SET_PDEATHSIG`), and is killed, group and all, on drop, on a panic, and on
//! Ctrl-C / SIGTERM of the test process.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicI32, Ordering},
        Once,
    },
    thread,
    time::{Duration, Instant},
};

/// Process groups to kill if the test process is interrupted (0 = free slot).
static GROUPS: [AtomicI32; 16] = [const { AtomicI32::new(0) }; 16];
static HANDLERS: Once = Once::new();

extern "C" fn on_signal(signal: libc::c_int) {
    // Only async-signal-safe calls here: kill and _exit.
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if pgid > 0 {
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
    unsafe { libc::_exit(128 + signal) };
}

fn install_handlers() {
    HANDLERS.call_once(|| unsafe {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGHUP, handler);
    });
}

fn register(pgid: i32) {
    for slot in &GROUPS {
        if slot.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
            return;
        }
    }
}

fn unregister(pgid: i32) {
    for slot in &GROUPS {
        let _ = slot.compare_exchange(pgid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// A background process with its output in a log file.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `command` in its own process group, stdout and stderr to `log`.
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> std::io::Result<Process> {
        install_handlers();
        let out = File::create(log)?;
        command.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).process_group(0);
        unsafe {
            command.pre_exec(|| {
                // SIGTERM when the thread that spawned us (the runner's main thread) ends.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot start {name} ({command:?}): {e}"))
        })?;
        register(child.id() as i32);
        Ok(Process { name: name.to_string(), child, log: log.to_path_buf() })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The last `max` bytes of the log.
    pub fn log_tail(&self, max: u64) -> String {
        let Ok(mut f) = File::open(&self.log) else { return String::new() };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(max)));
        let mut bytes = vec![];
        let _ = f.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// `Err` (with the log's tail) if it has exited.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "{} exited ({status}); the end of its log ({}):\n{}",
                self.name,
                self.log.display(),
                self.log_tail(4000)
            )),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }

    /// Polls `f` on the log until it returns `Some`, failing if the process exits or `timeout`
    /// passes.
    pub fn wait_for_log<T>(
        &mut self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, String> {
        let start = Instant::now();
        loop {
            if let Some(v) = f(&self.log()) {
                return Ok(v);
            }
            self.check_alive()?;
            if start.elapsed() > timeout {
                return Err(format!(
                    "{} did not report {what} within {timeout:?}; its log ({}):\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail(4000)
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process group at once (SIGKILL: no chance to flush or close anything, as a
    /// crash or an OOM kill) and waits for the leader to exit.
    pub fn kill(&mut self) {
        self.stop(Duration::ZERO);
    }

    /// Stops the process group: SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        let pgid = self.child.id() as i32;
        if grace.is_zero() {
            // Straight to SIGKILL.
        } else if let Ok(None) = self.child.try_wait() {
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
            let start = Instant::now();
            while start.elapsed() < grace {
                if let Ok(Some(_)) = self.child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
            }
        }
        // Whatever is left of the group (the leader gone or not): grandchildren too.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        unregister(pgid);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(3));
    }
}

/// A free TCP port on 127.0.0.1 (the OS's pick, released for the caller to bind; a small race
/// with other programs picking ports at the same moment).
pub fn free_port() -> std::io::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}
