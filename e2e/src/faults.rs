//! Fault injection between clients and the devserver: a TCP proxy that understands just
//! enough of WebSocket framing to cut a connection at a frame boundary, and a control API
//! (plain HTTP, CORS-open, so a test page can drive it) that drops, stalls, delays and
//! black-holes connections and SIGKILLs and restarts the devserver on the same port and data.
//!
//! Run by `faults` (`e2e/src/bin/faults.rs`); `scripts/test` starts it for the browser
//! reliability tests (`tests/faults.rs`). The control API, all `GET`:
//!
//! | path | effect | reply |
//! | --- | --- | --- |
//! | `/status` | nothing | `{connections, drops, restarts, stalls, blackholes}` |
//! | `/drop?mode=close\|abort&count=n&minAge=ms` | `n` (default 1) random WebSockets, open for at least `minAge` ms (default 0), end: `close` sends the client a close frame (1001) at a frame boundary, then FIN; `abort` ends both TCP streams with no close frame (the client sees 1006) | `{dropped}` |
//! | `/stall?ms=n` | every connection, both directions, forwards nothing for `n` ms (then everything, in order) | `{stalled}` |
//! | `/delay?ms=n&for=f` | for `f` ms, each frame to a client waits a random 0..`n` ms | `{delaying}` |
//! | `/blackhole?minAge=ms` | one random WebSocket silently swallows everything from then on, both ways, and stays open (a dead socket only a timeout finds) | `{blackholed}` |
//! | `/restart` | SIGKILL the devserver, start it again on the same port and data dir, wait until it listens | `{restarts, downMs}` |

use std::{
    collections::HashMap,
    io::{self, BufRead, BufReader, Read, Write},
    net::{Shutdown, TcpListener, TcpStream},
    path::PathBuf,
    process::Command,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    thread,
    time::{Duration, Instant},
};

use crate::process::Process;

/// The largest WebSocket frame the proxy forwards (the devserver's messages are far smaller).
const MAX_FRAME: u64 = 64 * 1024 * 1024;

/// One proxied connection.
struct Conn {
    client: TcpStream,
    upstream: TcpStream,
    /// Writes to the client go through this lock, whole frames at a time, so a close frame
    /// can be put between two frames.
    client_writer: Mutex<TcpStream>,
    websocket: AtomicBool,
    /// When the WebSocket upgrade went through.
    opened: Mutex<Option<Instant>>,
    blackholed: AtomicBool,
    ended: AtomicBool,
}

impl Conn {
    fn end(&self) {
        self.ended.store(true, Ordering::SeqCst);
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.upstream.shutdown(Shutdown::Both);
    }
}

#[derive(Default)]
struct Counters {
    drops: AtomicU64,
    restarts: AtomicU64,
    stalls: AtomicU64,
    blackholes: AtomicU64,
}

/// The proxy's shared state.
pub struct Proxy {
    upstream_port: u16,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    stall_until: Mutex<Option<Instant>>,
    delay: Mutex<Option<(Instant, u64)>>,
    rng: Mutex<u64>,
    counters: Counters,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Proxy {
    fn new(upstream_port: u16, seed: u64) -> Arc<Proxy> {
        Arc::new(Proxy {
            upstream_port,
            conns: Mutex::default(),
            next_id: AtomicU64::new(1),
            stall_until: Mutex::new(None),
            delay: Mutex::new(None),
            rng: Mutex::new(seed | 1),
            counters: Counters::default(),
        })
    }

    /// xorshift64*: good enough to pick victims and delays.
    fn random(&self, below: u64) -> u64 {
        let mut s = lock(&self.rng);
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d) % below.max(1)
    }

    /// Waits out a stall (both directions), then a delay (to-client frames only).
    fn hold(&self, to_client: bool) {
        loop {
            let until = *lock(&self.stall_until);
            match until {
                Some(t) if Instant::now() < t => thread::sleep(Duration::from_millis(5)),
                _ => break,
            }
        }
        if to_client {
            let delay = *lock(&self.delay);
            if let Some((until, max_ms)) = delay {
                if Instant::now() < until {
                    thread::sleep(Duration::from_millis(self.random(max_ms + 1)));
                }
            }
        }
    }

    fn serve(self: &Arc<Self>, listener: TcpListener) {
        for client in listener.incoming() {
            let Ok(client) = client else { continue };
            let proxy = self.clone();
            thread::spawn(move || proxy.handle(client));
        }
    }

    fn handle(self: Arc<Self>, client: TcpStream) {
        let _ = client.set_nodelay(true);
        let upstream = match TcpStream::connect(("127.0.0.1", self.upstream_port)) {
            Ok(s) => s,
            // The devserver is down (restarting): the client sees its connection fail.
            Err(_) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
        };
        let _ = upstream.set_nodelay(true);
        let (Ok(c2), Ok(c3), Ok(u2)) =
            (client.try_clone(), client.try_clone(), upstream.try_clone())
        else {
            return;
        };
        let conn = Arc::new(Conn {
            client,
            upstream,
            client_writer: Mutex::new(c2),
            websocket: AtomicBool::new(false),
            opened: Mutex::new(None),
            blackholed: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        });
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        lock(&self.conns).insert(id, conn.clone());

        // Client → devserver: bytes as they come.
        let up = {
            let proxy = self.clone();
            let conn = conn.clone();
            let (mut from, mut to) = (c3, u2);
            thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    proxy.hold(false);
                    if conn.blackholed.load(Ordering::SeqCst) {
                        continue;
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                conn.end();
            })
        };
        // Devserver → client: the HTTP response head, then whole WebSocket frames.
        let _ = self.downstream(&conn);
        conn.end();
        let _ = up.join();
        lock(&self.conns).remove(&id);
    }

    fn downstream(&self, conn: &Conn) -> io::Result<()> {
        let mut from = BufReader::new(conn.upstream.try_clone()?);
        let mut head = Vec::new();
        loop {
            let before = head.len();
            from.read_until(b'\n', &mut head)?;
            if head.len() == before {
                return Ok(());
            }
            if head.ends_with(b"\r\n\r\n") {
                break;
            }
        }
        let upgraded = head.starts_with(b"HTTP/1.1 101");
        lock(&conn.client_writer).write_all(&head)?;
        if !upgraded {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = from.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                self.hold(true);
                lock(&conn.client_writer).write_all(&buf[..n])?;
            }
        }
        *lock(&conn.opened) = Some(Instant::now());
        conn.websocket.store(true, Ordering::SeqCst);
        loop {
            let mut frame = vec![0u8; 2];
            from.read_exact(&mut frame)?;
            let masked = frame[1] & 0x80 != 0;
            let len = match frame[1] & 0x7f {
                126 => {
                    let mut ext = [0u8; 2];
                    from.read_exact(&mut ext)?;
                    frame.extend_from_slice(&ext);
                    u16::from_be_bytes(ext) as u64
                }
                127 => {
                    let mut ext = [0u8; 8];
                    from.read_exact(&mut ext)?;
                    frame.extend_from_slice(&ext);
                    u64::from_be_bytes(ext)
                }
                n => n as u64,
            };
            // The devserver's own frames are far smaller; a length this large is a broken
            // stream, not something to allocate for.
            if len > MAX_FRAME {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a {len}-byte WebSocket frame (limit {MAX_FRAME})"),
                ));
            }
            let rest = len + if masked { 4 } else { 0 };
            let start = frame.len();
            frame.resize(start + rest as usize, 0);
            from.read_exact(&mut frame[start..])?;
            self.hold(true);
            if conn.blackholed.load(Ordering::SeqCst) {
                continue;
            }
            let mut w = lock(&conn.client_writer);
            if conn.ended.load(Ordering::SeqCst) {
                return Ok(());
            }
            w.write_all(&frame)?;
        }
    }

    /// The open WebSockets, upgraded at least `min_age` ago.
    fn websockets(&self, min_age: Duration) -> Vec<Arc<Conn>> {
        lock(&self.conns)
            .values()
            .filter(|c| {
                c.websocket.load(Ordering::SeqCst)
                    && !c.ended.load(Ordering::SeqCst)
                    && !c.blackholed.load(Ordering::SeqCst)
                    && lock(&c.opened).is_some_and(|t| t.elapsed() >= min_age)
            })
            .cloned()
            .collect()
    }

    fn pick(&self, count: usize, min_age: Duration) -> Vec<Arc<Conn>> {
        let mut live = self.websockets(min_age);
        let mut picked = Vec::new();
        while picked.len() < count && !live.is_empty() {
            let i = self.random(live.len() as u64) as usize;
            picked.push(live.swap_remove(i));
        }
        picked
    }

    /// Ends `count` random WebSockets, with a close frame (`close`) or without (`abort`).
    fn drop_sockets(&self, with_close_frame: bool, count: usize, min_age: Duration) -> usize {
        let victims = self.pick(count, min_age);
        for conn in &victims {
            if with_close_frame {
                let mut w = lock(&conn.client_writer);
                conn.ended.store(true, Ordering::SeqCst);
                // Close, code 1001 (going away), unmasked as a server's frames are.
                let _ = w.write_all(&[0x88, 0x02, 0x03, 0xe9]);
                let _ = w.flush();
                drop(w);
            }
            conn.end();
        }
        self.counters.drops.fetch_add(victims.len() as u64, Ordering::SeqCst);
        victims.len()
    }
}

/// The devserver under the proxy, restartable on its port and data dir.
struct Backend {
    binary: PathBuf,
    data: PathBuf,
    logs: PathBuf,
    extra: Vec<String>,
    port: u16,
    process: Option<Process>,
    incarnation: u32,
}

impl Backend {
    fn start(&mut self) -> Result<(), String> {
        let mut command = Command::new(&self.binary);
        command.arg("--port").arg(self.port.to_string()).arg("--data").arg(&self.data);
        command.args(&self.extra);
        let log = self.logs.join(format!("devserver-{}.log", self.incarnation));
        self.incarnation += 1;
        let mut process = Process::spawn("devserver", command, &log).map_err(|e| e.to_string())?;
        let port = process.wait_for_log("its address", Duration::from_secs(60), |log| {
            log.lines()
                .find_map(|l| l.strip_prefix("devserver listening on http://127.0.0.1:"))
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|p| p.parse::<u16>().ok())
        })?;
        self.port = port;
        self.process = Some(process);
        Ok(())
    }

    fn restart(&mut self) -> Result<Duration, String> {
        let start = Instant::now();
        if let Some(mut p) = self.process.take() {
            p.kill();
        }
        // The same port: a restarted deployment keeps its URL.
        let mut last = String::new();
        for _ in 0..50 {
            match self.start() {
                Ok(()) => return Ok(start.elapsed()),
                Err(e) => last = e,
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(last)
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn reply(stream: &mut TcpStream, status: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Headers: *\r\n\
         Access-Control-Allow-Methods: GET, POST, OPTIONS\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Runs the fault proxy and its control API until the process is killed. `args`:
/// `--work DIR` (the devserver's data in `DIR/data`, its logs in `DIR/devserver-N.log`),
/// `--devserver PATH`, `--seed N`, and after `--` extra devserver arguments. Prints
/// `faults control <url> proxy <url> devserver <url>` once everything listens.
pub fn main(args: Vec<String>) -> Result<(), String> {
    let mut work = None;
    let mut binary = crate::stack::target_dir().join("debug/devserver");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut extra = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--work" => work = it.next().map(PathBuf::from),
            "--devserver" => binary = it.next().map(PathBuf::from).ok_or("--devserver PATH")?,
            "--seed" => seed = it.next().and_then(|s| s.parse().ok()).ok_or("--seed N")?,
            "--" => extra.extend(it.by_ref()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let work = work.ok_or("--work DIR is required")?;
    std::fs::create_dir_all(work.join("data")).map_err(|e| e.to_string())?;
    let mut backend = Backend {
        binary,
        data: work.join("data"),
        logs: work.clone(),
        extra,
        port: 0,
        process: None,
        incarnation: 0,
    };
    backend.start()?;

    let proxy = Proxy::new(backend.port, seed);
    let proxy_listener = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let control = TcpListener::bind(("127.0.0.1", 0)).map_err(|e| e.to_string())?;
    let proxy_port = proxy_listener.local_addr().map_err(|e| e.to_string())?.port();
    let control_port = control.local_addr().map_err(|e| e.to_string())?.port();
    {
        let proxy = proxy.clone();
        thread::spawn(move || proxy.serve(proxy_listener));
    }
    println!(
        "faults control http://127.0.0.1:{control_port} proxy http://127.0.0.1:{proxy_port} devserver http://127.0.0.1:{} seed {seed}",
        backend.port
    );
    let _ = io::stdout().flush();

    // The control API runs on this thread: the devserver's restarts must come from the thread
    // that started it (its parent-death signal is tied to that thread).
    for stream in control.incoming() {
        let Ok(mut stream) = stream else { continue };
        let Ok(read_half) = stream.try_clone() else { continue };
        let mut reader = BufReader::new(read_half);
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            continue;
        }
        // Headers are read and ignored (requests carry no body).
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line == "\r\n" || line == "\n" => break,
                Ok(_) => {}
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default();
        let target = parts.next().unwrap_or_default();
        if method == "OPTIONS" {
            reply(&mut stream, "204 No Content", "");
            continue;
        }
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let number = |name: &str, default: u64| {
            query_param(query, name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(default)
        };
        let c = &proxy.counters;
        let (status, body) = match path {
            "/status" => (
                "200 OK",
                format!(
                    r#"{{"connections":{},"drops":{},"restarts":{},"stalls":{},"blackholes":{}}}"#,
                    proxy.websockets(Duration::ZERO).len(),
                    c.drops.load(Ordering::SeqCst),
                    c.restarts.load(Ordering::SeqCst),
                    c.stalls.load(Ordering::SeqCst),
                    c.blackholes.load(Ordering::SeqCst),
                ),
            ),
            "/drop" => {
                let with_close = match query_param(query, "mode").unwrap_or("abort") {
                    "close" => Some(true),
                    "abort" => Some(false),
                    _ => None,
                };
                match with_close {
                    Some(with_close) => {
                        let n = proxy.drop_sockets(
                            with_close,
                            number("count", 1) as usize,
                            Duration::from_millis(number("minAge", 0)),
                        );
                        ("200 OK", format!(r#"{{"dropped":{n}}}"#))
                    }
                    None => ("400 Bad Request", r#"{"error":"mode is close or abort"}"#.into()),
                }
            }
            "/stall" => {
                let ms = number("ms", 1000);
                *lock(&proxy.stall_until) = Some(Instant::now() + Duration::from_millis(ms));
                c.stalls.fetch_add(1, Ordering::SeqCst);
                ("200 OK", format!(r#"{{"stalled":{ms}}}"#))
            }
            "/delay" => {
                let (ms, for_ms) = (number("ms", 50), number("for", 1000));
                *lock(&proxy.delay) = Some((Instant::now() + Duration::from_millis(for_ms), ms));
                ("200 OK", format!(r#"{{"delaying":{for_ms}}}"#))
            }
            "/blackhole" => {
                let victims = proxy.pick(1, Duration::from_millis(number("minAge", 0)));
                for conn in &victims {
                    conn.blackholed.store(true, Ordering::SeqCst);
                }
                c.blackholes.fetch_add(victims.len() as u64, Ordering::SeqCst);
                ("200 OK", format!(r#"{{"blackholed":{}}}"#, victims.len()))
            }
            "/restart" => match backend.restart() {
                Ok(down) => {
                    let n = c.restarts.fetch_add(1, Ordering::SeqCst) + 1;
                    ("200 OK", format!(r#"{{"restarts":{n},"downMs":{}}}"#, down.as_millis()))
                }
                Err(e) => {
                    ("500 Internal Server Error", serde_json::json!({ "error": e }).to_string())
                }
            },
            _ => ("404 Not Found", r#"{"error":"unknown path"}"#.into()),
        };
        reply(&mut stream, status, &body);
    }
    Ok(())
}
