//! The system under test: the devserver on a fresh data dir, the demo served by `trunk serve`
//! (as `scripts/run` does, with `/__clerk` proxied to the devserver) and ChromeDriver, each on a
//! free port, each waited for by polling, all torn down on drop.

use std::{
    env,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use serde_json::{json, Value};

use crate::{
    devserver::DevServer,
    process::{free_port, Process},
    webdriver::{self, Browser},
    Error,
};

/// The address `Trunk.toml`'s proxies (and the demo's defaults) use for the devserver; the
/// harness rewrites it to the devserver it starts.
const DEFAULT_DEVSERVER: &str = "http://127.0.0.1:3210";

fn log(message: impl AsRef<str>) {
    eprintln!("\x1b[1m[e2e]\x1b[0m {}", message.as_ref());
}

/// Where the workspace is: read at run time (cargo sets `CARGO_MANIFEST_DIR` for the tests it
/// runs), not baked in at compile time. A test binary reused from a shared target directory may
/// have been compiled in another checkout with the same sources; it must still drive *this*
/// checkout's demo.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().map(Path::to_path_buf).unwrap_or(manifest_dir)
}

/// Cargo's target directory (`CARGO_TARGET_DIR`, else `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if Path::new(&dir).is_absolute() => PathBuf::from(dir),
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    }
}

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

fn run(what: &str, command: &mut Command) -> Result<(), Error> {
    let status = command.status().map_err(|e| format!("cannot run {what} ({command:?}): {e}"))?;
    if !status.success() {
        return Err(format!("{what} failed ({status})").into());
    }
    Ok(())
}

/// The running devserver, demo and ChromeDriver.
pub struct Stack {
    /// The workspace.
    pub root: PathBuf,
    /// This run's folder: the devserver's data, the demo's dist, the logs.
    pub run_dir: PathBuf,
    /// Where each test's screenshots go (`<target>/e2e-screenshots/<test>/`).
    pub screenshots_dir: PathBuf,
    /// The devserver (Convex URL the demo was built with).
    pub devserver_url: String,
    /// The demo, as `trunk serve` serves it: `http://127.0.0.1:<port>`.
    pub app_url: String,
    /// ChromeDriver.
    pub webdriver_url: String,
    /// The `alwaysMatch` capabilities of every session.
    pub capabilities: Value,
    /// How long waits in the page wait (`E2E_TIMEOUT`, seconds; default 20).
    pub timeout: Duration,
    /// Keep `run_dir` at teardown (set when a test failed).
    pub keep_run_dir: bool,
    trunk_config: Option<PathBuf>,
    // Stopped in reverse order of start.
    processes: Vec<Process>,
}

impl Stack {
    /// Builds the devserver and the demo, starts everything and waits until each is ready.
    ///
    /// Knobs: `E2E_TIMEOUT` (page waits, s), `E2E_START_TIMEOUT` (each server's readiness, s,
    /// default 900: `trunk serve` builds the demo before it serves, minutes on a cold target
    /// dir), `CHROMEDRIVER` (default `chromedriver`), `CHROME_BIN` (default: ChromeDriver's
    /// choice), `E2E_HEADFUL=1` (a visible window, for a desktop session), `TRUNK` (default
    /// `trunk`).
    pub fn start() -> Result<Stack, Error> {
        let root = workspace_root();
        let target = target_dir();
        let runs = target.join("e2e");
        remove_finished_runs(&runs);
        let run_dir = runs.join(format!("run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&run_dir);
        std::fs::create_dir_all(&run_dir)?;
        let start_timeout = env_secs("E2E_START_TIMEOUT", 900);
        let mut stack = Stack {
            root: root.clone(),
            run_dir: run_dir.clone(),
            screenshots_dir: target.join("e2e-screenshots"),
            devserver_url: String::new(),
            app_url: String::new(),
            webdriver_url: String::new(),
            capabilities: Value::Null,
            timeout: env_secs("E2E_TIMEOUT", 20),
            keep_run_dir: false,
            trunk_config: None,
            processes: vec![],
        };
        log(format!("run folder (logs, data, dist): {}", run_dir.display()));
        match stack.launch(start_timeout) {
            Ok(()) => Ok(stack),
            Err(e) => {
                stack.keep_run_dir = true;
                Err(e)
            }
        }
    }

    fn launch(&mut self, start_timeout: Duration) -> Result<(), Error> {
        let (root, run_dir, stack) = (self.root.clone(), self.run_dir.clone(), self);
        let target = target_dir();

        // 1. The devserver: built here (a no-op when cached), on a free port, fresh data.
        let t = Instant::now();
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(
            "cargo build -p devserver",
            Command::new(&cargo).current_dir(&root).args(["build", "-p", "devserver"]),
        )?;
        let assets = root.join("static/vendor/npm");
        if !assets.is_dir() {
            return Err(format!("{} is missing: run ./scripts/setup", assets.display()).into());
        }
        let mut devserver = Command::new(target.join("debug/devserver"));
        devserver.current_dir(&root).arg("--port").arg("0").arg("--data").arg(run_dir.join("data"));
        devserver.arg("--clerk-assets").arg(&assets);
        let mut devserver = Process::spawn("devserver", devserver, &run_dir.join("devserver.log"))?;
        let url = devserver.wait_for_log("its address", start_timeout, |log| {
            log.lines().find_map(|l| l.strip_prefix("devserver listening on ")).map(|rest| {
                rest.split_whitespace().next().unwrap_or_default().trim_end_matches('/').to_string()
            })
        })?;
        stack.processes.push(devserver);
        stack.devserver_url = url.clone();
        log(format!("devserver at {url} ({:.1}s)", t.elapsed().as_secs_f64()));

        // 2. The demo: `trunk serve` as scripts/run runs it, but built against this devserver
        //    (CONVEX_URL) and with Trunk.toml's proxies pointed at it, on a free port, no
        //    autoreload, and watching nothing (edits to the sources during a run change nothing).
        let t = Instant::now();
        let trunk = env::var("TRUNK").unwrap_or_else(|_| "trunk".into());
        if Command::new(&trunk)
            .arg("--version")
            .output()
            .map(|o| !o.status.success())
            .unwrap_or(true)
        {
            return Err(format!("`{trunk}` not found: run ./scripts/setup demo").into());
        }
        let trunk_toml = std::fs::read_to_string(root.join("Trunk.toml"))?;
        if !trunk_toml.contains(DEFAULT_DEVSERVER) {
            log(format!(
                "warning: Trunk.toml names no {DEFAULT_DEVSERVER}: /__clerk may not reach the \
                 test devserver"
            ));
        }
        // Next to Trunk.toml, so its relative paths mean the same; removed once trunk has read it.
        let config = root.join(format!(".e2e-trunk-{}.toml", std::process::id()));
        std::fs::write(&config, trunk_toml.replace(DEFAULT_DEVSERVER, &url))?;
        stack.trunk_config = Some(config.clone());
        let dist = run_dir.join("dist");
        let quiet = run_dir.join("nothing-to-watch");
        std::fs::create_dir_all(&quiet)?;
        let port = free_port()?;
        let mut serve = Command::new(&trunk);
        // Only this devserver and its Clerk stand-in, whatever the caller's environment says.
        serve.current_dir(&root).env("CONVEX_URL", &url);
        serve.env_remove("CLERK_PUBLISHABLE_KEY").env_remove("CLERK_PROXY_URL");
        serve.arg("serve").arg("--config").arg(&config);
        serve.arg("--dist").arg(&dist).args([
            "--address",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]);
        serve.arg("--no-autoreload").arg("--watch").arg(&quiet).arg("--ignore").arg(&quiet);
        let app_url = format!("http://127.0.0.1:{port}");
        log(format!(
            "building and serving the demo with trunk at {app_url} (log: {})",
            run_dir.join("trunk.log").display()
        ));
        let mut serve = Process::spawn("trunk serve", serve, &run_dir.join("trunk.log"))?;
        let ready = wait_for_app(&mut serve, &app_url, start_timeout);
        stack.processes.push(serve);
        ready?;
        let _ = std::fs::remove_file(&config);
        stack.trunk_config = None;
        stack.app_url = app_url.clone();
        log(format!("demo at {app_url} ({:.1}s)", t.elapsed().as_secs_f64()));

        // 3. ChromeDriver.
        let t = Instant::now();
        let chromedriver = env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port()?;
        let mut command = Command::new(&chromedriver);
        command.arg(format!("--port={port}"));
        let mut driver =
            Process::spawn("chromedriver", command, &run_dir.join("chromedriver.log"))?;
        let webdriver_url = format!("http://127.0.0.1:{port}");
        let ready =
            webdriver::wait_until_ready(&webdriver_url, start_timeout, || driver.check_alive());
        stack.processes.push(driver);
        ready?;
        stack.webdriver_url = webdriver_url;
        stack.capabilities = capabilities(&root)?;
        log(format!("chromedriver at {} ({:.1}s)", stack.webdriver_url, t.elapsed().as_secs_f64()));
        Ok(())
    }

    /// A new browser session (its own profile: no cookies, no storage), window 1280×900.
    pub fn browser(&self) -> Result<Browser, Error> {
        let browser = Browser::start(&self.webdriver_url, self.capabilities.clone(), self.timeout)?;
        browser.set_window_size(1280, 900)?;
        Ok(browser)
    }

    /// The devserver's HTTP API.
    pub fn devserver(&self) -> DevServer {
        DevServer::new(&self.devserver_url)
    }

    /// The ends of every server's log, for a failure report.
    pub fn log_tails(&self, max: u64) -> String {
        let mut out = String::new();
        for p in &self.processes {
            out.push_str(&format!(
                "--- {} ({})\n{}\n",
                p.name(),
                p.log_path().display(),
                p.log_tail(max)
            ));
        }
        out
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        while let Some(mut p) = self.processes.pop() {
            p.stop(Duration::from_secs(3));
        }
        if let Some(config) = self.trunk_config.take() {
            let _ = std::fs::remove_file(config);
        }
        if self.keep_run_dir {
            log(format!("kept the run folder (logs, data): {}", self.run_dir.display()));
        } else {
            let _ = std::fs::remove_dir_all(&self.run_dir);
        }
    }
}

/// Removes the folders of earlier runs (kept after a failure) whose process has ended.
fn remove_finished_runs(runs: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) =
            name.to_str().and_then(|n| n.strip_prefix("run-")).and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        let alive = pid > 0 && unsafe { libc::kill(pid, 0) } == 0;
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Polls the demo until its page (with the built app) and the `/__clerk` proxy answer.
fn wait_for_app(trunk: &mut Process, app_url: &str, timeout: Duration) -> Result<(), Error> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .proxy(None)
        .build()
        .into();
    let get = |path: &str| -> Option<(u16, String)> {
        let response = agent.get(format!("{app_url}{path}")).call().ok()?;
        let status = response.status().as_u16();
        Some((status, response.into_body().read_to_string().unwrap_or_default()))
    };
    let start = Instant::now();
    let mut last = String::from("no answer");
    loop {
        trunk.check_alive()?;
        match get("/") {
            Some((200, body)) if body.contains(".wasm") => match get("/__clerk/v1/environment") {
                Some((200, _)) => return Ok(()),
                Some((status, body)) => {
                    last = format!("/__clerk/v1/environment answered {status}: {body:.200}")
                }
                None => last = "/__clerk/v1/environment did not answer".into(),
            },
            Some((status, body)) => last = format!("/ answered {status}: {body:.200}"),
            None => {}
        }
        // A failed build leaves trunk serving nothing; it logs `ERROR ❌ error` and the cause.
        let log = trunk.log();
        if let Some(line) =
            log.lines().find(|l| l.contains("ERROR") && l.trim_end().ends_with("error"))
        {
            return Err(format!(
                "trunk failed to build the demo ({line}); the end of its log ({}):\n{}",
                trunk.log_path().display(),
                trunk.log_tail(6000)
            )
            .into());
        }
        if start.elapsed() > timeout {
            return Err(format!(
                "the demo was not served within {timeout:?} (last: {last}); the end of \
                 trunk's log ({}):\n{}",
                trunk.log_path().display(),
                trunk.log_tail(4000)
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Headless Chromium with the flags of `webdriver.json` (the browser tests' configuration) plus
/// what a headless run in a container needs.
fn capabilities(root: &Path) -> Result<Value, Error> {
    let mut args: Vec<String> = vec![];
    if let Ok(text) = std::fs::read_to_string(root.join("webdriver.json")) {
        let config: Value =
            serde_json::from_str(&text).map_err(|e| format!("webdriver.json: {e}"))?;
        if let Some(list) = config.pointer("/goog:chromeOptions/args").and_then(Value::as_array) {
            args.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
        }
    }
    let headful = env::var("E2E_HEADFUL").is_ok_and(|v| v == "1");
    for flag in [
        if headful { "" } else { "--headless" },
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "--hide-scrollbars",
        "--window-size=1280,900",
        "--lang=en-US",
    ] {
        if !flag.is_empty() && !args.iter().any(|a| a == flag) {
            args.push(flag.to_string());
        }
    }
    let mut options = json!({ "args": args });
    if let Ok(bin) = env::var("CHROME_BIN") {
        options["binary"] = json!(bin);
    }
    Ok(json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "goog:chromeOptions": options,
        "goog:loggingPrefs": { "browser": "ALL" },
    }))
}
