//! A small W3C WebDriver client over blocking HTTP + JSON: sessions, navigation, elements by CSS
//! selector, text and attributes, clicks, typing, hover (the Actions API), scripts, history,
//! window size, screenshots and the browser's console log, plus polling waits.
//!
//! Spec: <https://www.w3.org/TR/webdriver2/>. Only what the end-to-end tests use; ChromeDriver is
//! the server it is written against.

use std::{
    fmt,
    path::Path,
    sync::Arc,
    thread,
    time::{Duration, Instant},
};

use base64::Engine as _;
use serde_json::{json, Value};

/// The key of an element reference in WebDriver's JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// What went wrong talking to the WebDriver server.
#[derive(Debug, Clone)]
pub enum WebDriverError {
    /// The request did not get an answer (connection refused, timeout, unreadable body).
    Transport(String),
    /// The server answered with a WebDriver error (`no such element`, `stale element
    /// reference`, `javascript error`, …).
    Protocol { status: u16, error: String, message: String },
    /// A wait's condition did not hold in time.
    Timeout { what: String, waited: Duration, last: Option<String> },
}

impl WebDriverError {
    /// The WebDriver error code (`"no such element"`, …), if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Protocol { error, .. } => Some(error),
            _ => None,
        }
    }

    fn is(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// Errors a wait retries instead of failing: the page changed under the query.
    fn is_transient(&self) -> bool {
        self.is("stale element reference") || self.is("no such element")
    }
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(e) => write!(f, "WebDriver request failed: {e}"),
            Self::Protocol { status, error, message } => {
                // ChromeDriver's messages carry a long native stack after the first lines.
                let message: String = message.lines().take(3).collect::<Vec<_>>().join(" | ");
                write!(f, "WebDriver error {status} `{error}`: {message}")
            }
            Self::Timeout { what, waited, last } => {
                write!(f, "timed out after {:.1}s waiting for {what}", waited.as_secs_f64())?;
                if let Some(last) = last {
                    write!(f, " (last: {last})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for WebDriverError {}

pub type WdResult<T> = Result<T, WebDriverError>;

/// A mouse button for [`Browser::click_at`] and friends.
#[derive(Debug, Clone, Copy)]
pub enum Button {
    Left = 0,
    Middle = 1,
    Right = 2,
}

struct Inner {
    agent: ureq::Agent,
    /// `http://127.0.0.1:<port>/session/<id>`
    session_url: String,
    id: String,
    /// How long waits poll before failing.
    timeout: Duration,
    poll: Duration,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Ends the session (closes Chromium); an error here has nowhere useful to go.
        let _ = self.agent.delete(&self.session_url).call();
    }
}

/// One WebDriver session (one browser). Cheap to clone; the session ends when the last clone
/// (and every [`Element`] of it) is dropped.
#[derive(Clone)]
pub struct Browser {
    inner: Arc<Inner>,
}

/// An element of the page, as WebDriver refers to it. It goes stale when the page re-renders it
/// away; re-find it then (the `wait_*` helpers do).
#[derive(Clone)]
pub struct Element {
    browser: Browser,
    id: String,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({})", self.id)
    }
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .proxy(None)
        .build()
        .into()
}

/// Sends one WebDriver command and unwraps its `value`.
fn command(agent: &ureq::Agent, method: &str, url: &str, body: Option<&Value>) -> WdResult<Value> {
    let transport = |e: ureq::Error| WebDriverError::Transport(format!("{method} {url}: {e}"));
    let response = match (method, body) {
        ("GET", _) => agent.get(url).call(),
        ("DELETE", _) => agent.delete(url).call(),
        (_, body) => agent
            .post(url)
            .header("Content-Type", "application/json; charset=utf-8")
            .send(body.unwrap_or(&json!({})).to_string()),
    }
    .map_err(transport)?;
    let status = response.status().as_u16();
    let text = response
        .into_body()
        .with_config()
        .limit(256 * 1024 * 1024)
        .read_to_string()
        .map_err(transport)?;
    let parsed: Value = serde_json::from_str(&text).map_err(|e| {
        WebDriverError::Transport(format!("{method} {url}: answer is not JSON ({e}): {text:.200}"))
    })?;
    let value = parsed.get("value").cloned().unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let field = |name: &str| value.get(name).and_then(Value::as_str).unwrap_or("").to_string();
    Err(WebDriverError::Protocol { status, error: field("error"), message: field("message") })
}

/// Polls `f` every `poll` until it returns `Some`, for at most `timeout`. Transient WebDriver
/// errors (a stale or vanished element) count as "not yet".
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    poll: Duration,
    mut f: impl FnMut() -> WdResult<Option<T>>,
) -> WdResult<T> {
    let start = Instant::now();
    let mut last = None;
    loop {
        match f() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) if e.is_transient() => last = Some(e.to_string()),
            Err(e) => return Err(e),
        }
        if start.elapsed() >= timeout {
            return Err(WebDriverError::Timeout {
                what: what.to_string(),
                waited: start.elapsed(),
                last,
            });
        }
        thread::sleep(poll);
    }
}

impl Browser {
    /// Starts a session on the WebDriver server at `webdriver_url` with these capabilities
    /// (the `alwaysMatch` object, e.g. `{"browserName": "chrome", "goog:chromeOptions": …}`).
    pub fn start(webdriver_url: &str, capabilities: Value, timeout: Duration) -> WdResult<Browser> {
        // Starting Chromium can take a while on a busy machine.
        let agent = agent(Duration::from_secs(120));
        let base = webdriver_url.trim_end_matches('/');
        let value = command(
            &agent,
            "POST",
            &format!("{base}/session"),
            Some(&json!({ "capabilities": { "alwaysMatch": capabilities } })),
        )?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| WebDriverError::Transport(format!("no sessionId in {value}")))?
            .to_string();
        Ok(Browser {
            inner: Arc::new(Inner {
                agent,
                session_url: format!("{base}/session/{id}"),
                id,
                timeout,
                poll: Duration::from_millis(50),
            }),
        })
    }

    /// The session's id.
    pub fn session_id(&self) -> &str {
        &self.inner.id
    }

    /// How long the `wait_*` helpers wait.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> WdResult<Value> {
        let url = format!("{}{}", self.inner.session_url, path);
        command(&self.inner.agent, method, &url, body.as_ref())
    }

    fn element(&self, value: &Value) -> WdResult<Element> {
        let id = value.get(ELEMENT_KEY).and_then(Value::as_str).ok_or_else(|| {
            WebDriverError::Transport(format!("not an element reference: {value}"))
        })?;
        Ok(Element { browser: self.clone(), id: id.to_string() })
    }

    // --- navigation -------------------------------------------------------------------------

    /// Loads `url` and waits for the document to load (not for the app to render: wait for
    /// an element for that).
    pub fn goto(&self, url: &str) -> WdResult<()> {
        self.cmd("POST", "/url", Some(json!({ "url": url }))).map(drop)
    }

    /// The address of the page now.
    pub fn current_url(&self) -> WdResult<String> {
        Ok(self.cmd("GET", "/url", None)?.as_str().unwrap_or_default().to_string())
    }

    /// The path (and query) of the page now: `/posts`, `/posts?x=1`.
    pub fn current_path(&self) -> WdResult<String> {
        let url = self.current_url()?;
        let after_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let path = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
        Ok(path.split('#').next().unwrap_or("/").to_string())
    }

    /// `document.title`.
    pub fn title(&self) -> WdResult<String> {
        Ok(self.cmd("GET", "/title", None)?.as_str().unwrap_or_default().to_string())
    }

    /// The history's back button.
    pub fn back(&self) -> WdResult<()> {
        self.cmd("POST", "/back", Some(json!({}))).map(drop)
    }

    /// The history's forward button.
    pub fn forward(&self) -> WdResult<()> {
        self.cmd("POST", "/forward", Some(json!({}))).map(drop)
    }

    /// Reloads the page.
    pub fn refresh(&self) -> WdResult<()> {
        self.cmd("POST", "/refresh", Some(json!({}))).map(drop)
    }

    /// The page's HTML now.
    pub fn page_source(&self) -> WdResult<String> {
        Ok(self.cmd("GET", "/source", None)?.as_str().unwrap_or_default().to_string())
    }

    // --- window -----------------------------------------------------------------------------

    /// Resizes the window (outer size, CSS pixels).
    pub fn set_window_size(&self, width: u32, height: u32) -> WdResult<()> {
        self.cmd("POST", "/window/rect", Some(json!({ "width": width, "height": height })))
            .map(drop)
    }

    /// The window's outer size.
    pub fn window_size(&self) -> WdResult<(u32, u32)> {
        let rect = self.cmd("GET", "/window/rect", None)?;
        let get = |k: &str| rect.get(k).and_then(Value::as_u64).unwrap_or(0) as u32;
        Ok((get("width"), get("height")))
    }

    /// A PNG of the viewport.
    pub fn screenshot_png(&self) -> WdResult<Vec<u8>> {
        let data = self.cmd("GET", "/screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .map_err(|e| WebDriverError::Transport(format!("screenshot is not base64: {e}")))
    }

    /// Writes a PNG of the viewport to `path` (creating its folder).
    pub fn save_screenshot(
        &self,
        path: &Path,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let png = self.screenshot_png()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    // --- scripts ----------------------------------------------------------------------------

    /// Runs `script` as a function body in the page (`arguments[i]` are `args`; elements may be
    /// passed with [`Element::to_json`]); returns what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> WdResult<Value> {
        self.cmd("POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Runs `script` as an async function body: it finishes by calling its last argument,
    /// `arguments[arguments.length - 1](result)`.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> WdResult<Value> {
        self.cmd("POST", "/execute/async", Some(json!({ "script": script, "args": args })))
    }

    /// The text the page shows (`document.body.innerText`).
    pub fn body_text(&self) -> WdResult<String> {
        let v = self.execute("return document.body ? document.body.innerText : '';", vec![])?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// The browser's console messages since the last call (ChromeDriver's log endpoint; needs
    /// `goog:loggingPrefs` in the capabilities). Best effort: empty if unsupported.
    pub fn console_log(&self) -> Vec<String> {
        match self.cmd("POST", "/se/log", Some(json!({ "type": "browser" }))) {
            Ok(Value::Array(entries)) => entries
                .iter()
                .map(|e| {
                    format!(
                        "[{}] {}",
                        e.get("level").and_then(Value::as_str).unwrap_or("?"),
                        e.get("message").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect(),
            _ => vec![],
        }
    }

    // --- elements ---------------------------------------------------------------------------

    /// The first element matching the CSS `selector`; an error if there is none now.
    pub fn find(&self, selector: &str) -> WdResult<Element> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": selector })),
        )?;
        self.element(&v)
    }

    /// The first element matching `selector`, or `None` if there is none now.
    pub fn try_find(&self, selector: &str) -> WdResult<Option<Element>> {
        match self.find(selector) {
            Ok(e) => Ok(Some(e)),
            Err(e) if e.is("no such element") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every element matching `selector` now (maybe none).
    pub fn find_all(&self, selector: &str) -> WdResult<Vec<Element>> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": selector })),
        )?;
        v.as_array().into_iter().flatten().map(|e| self.element(e)).collect()
    }

    /// The texts of every element matching `selector` now.
    pub fn texts(&self, selector: &str) -> WdResult<Vec<String>> {
        self.find_all(selector)?.iter().map(Element::text).collect()
    }

    /// The element that has the focus.
    pub fn active_element(&self) -> WdResult<Element> {
        let v = self.cmd("GET", "/element/active", None)?;
        self.element(&v)
    }

    /// Moves the mouse over the centre of `element` (hover: `mouseover`, `mouseenter`,
    /// `pointermove`), through the Actions API.
    pub fn hover(&self, element: &Element) -> WdResult<()> {
        self.pointer_actions(vec![json!({
            "type": "pointerMove",
            "duration": 0,
            "origin": { ELEMENT_KEY: element.id },
            "x": 0,
            "y": 0,
        })])
    }

    /// Moves the mouse to `(x, y)` of the viewport (e.g. away from everything).
    pub fn move_mouse_to(&self, x: i64, y: i64) -> WdResult<()> {
        self.pointer_actions(vec![json!({
            "type": "pointerMove", "duration": 0, "origin": "viewport", "x": x, "y": y,
        })])
    }

    /// Presses and releases `button` where the mouse is (after [`Browser::hover`]).
    pub fn click_here(&self, button: Button) -> WdResult<()> {
        let b = button as u8;
        self.pointer_actions(vec![
            json!({ "type": "pointerDown", "button": b }),
            json!({ "type": "pointerUp", "button": b }),
        ])
    }

    /// Runs a sequence of mouse actions (W3C Actions API), then releases the inputs' state.
    pub fn pointer_actions(&self, actions: Vec<Value>) -> WdResult<()> {
        let body = json!({ "actions": [{
            "type": "pointer",
            "id": "mouse",
            "parameters": { "pointerType": "mouse" },
            "actions": actions,
        }]});
        self.cmd("POST", "/actions", Some(body))?;
        Ok(())
    }

    /// Key presses through the Actions API, to whatever has the focus (`"\u{E007}"` is Enter;
    /// see the spec's key table).
    pub fn press_keys(&self, keys: &str) -> WdResult<()> {
        let mut actions = vec![];
        for c in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": c.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": c.to_string() }));
        }
        let body = json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] });
        self.cmd("POST", "/actions", Some(body))?;
        Ok(())
    }

    // --- waits ------------------------------------------------------------------------------

    /// Polls `f` until it returns `Some` (stale or vanished elements count as "not yet"), for
    /// at most [`Browser::timeout`]; the error names `what`.
    pub fn wait_for<T>(&self, what: &str, f: impl FnMut() -> WdResult<Option<T>>) -> WdResult<T> {
        poll_until(what, self.inner.timeout, self.inner.poll, f)
    }

    /// Waits for an element matching `selector`.
    pub fn wait_for_element(&self, selector: &str) -> WdResult<Element> {
        self.wait_for(&format!("an element `{selector}`"), || self.try_find(selector))
    }

    /// Waits until no element matches `selector`.
    pub fn wait_for_no_element(&self, selector: &str) -> WdResult<()> {
        self.wait_for(&format!("no element `{selector}`"), || {
            Ok(self.find_all(selector)?.is_empty().then_some(()))
        })
    }

    /// Waits for an element matching `selector` whose text contains `text`.
    pub fn wait_for_text(&self, selector: &str, text: &str) -> WdResult<Element> {
        self.wait_for(&format!("`{selector}` with text {text:?}"), || {
            for e in self.find_all(selector)? {
                if e.text()?.contains(text) {
                    return Ok(Some(e));
                }
            }
            Ok(None)
        })
    }

    /// Waits until the page shows `text` somewhere.
    pub fn wait_for_page_text(&self, text: &str) -> WdResult<()> {
        self.wait_for(&format!("the page to show {text:?}"), || {
            Ok(self.body_text()?.contains(text).then_some(()))
        })
    }

    /// Waits for the first of several selectors to match; returns its index and element (e.g.
    /// "a list item, or the empty-list message").
    pub fn wait_for_any(&self, selectors: &[&str]) -> WdResult<(usize, Element)> {
        self.wait_for(&format!("one of {selectors:?}"), || {
            for (i, s) in selectors.iter().enumerate() {
                if let Some(e) = self.try_find(s)? {
                    return Ok(Some((i, e)));
                }
            }
            Ok(None)
        })
    }

    /// Waits until the page's path (see [`Browser::current_path`]) is `path`.
    pub fn wait_for_path(&self, path: &str) -> WdResult<()> {
        let mut last = String::new();
        self.wait_for(&format!("the path to be {path:?}"), || {
            last = self.current_path()?;
            Ok((last == path).then_some(()))
        })
        .map_err(|e| match e {
            WebDriverError::Timeout { what, waited, .. } => {
                WebDriverError::Timeout { what, waited, last: Some(format!("path {last:?}")) }
            }
            e => e,
        })
    }

    /// Waits until `document.title` satisfies `f`; returns it.
    pub fn wait_for_title(&self, what: &str, f: impl Fn(&str) -> bool) -> WdResult<String> {
        self.wait_for(&format!("the title to be {what}"), || {
            let title = self.title()?;
            Ok(f(&title).then_some(title))
        })
    }
}

impl Element {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> WdResult<Value> {
        self.browser.cmd(method, &format!("/element/{}{}", self.id, path), body)
    }

    /// The element as a script argument for [`Browser::execute`].
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    /// Its rendered text (like `innerText`).
    pub fn text(&self) -> WdResult<String> {
        Ok(self.cmd("GET", "/text", None)?.as_str().unwrap_or_default().to_string())
    }

    /// An attribute (`href` as written, `class`, `aria-*`), `None` if absent.
    pub fn attribute(&self, name: &str) -> WdResult<Option<String>> {
        Ok(self.cmd("GET", &format!("/attribute/{name}"), None)?.as_str().map(str::to_string))
    }

    /// A DOM property (`value`, `checked`, `href` resolved).
    pub fn property(&self, name: &str) -> WdResult<Value> {
        self.cmd("GET", &format!("/property/{name}"), None)
    }

    /// Its tag name, lower case.
    pub fn tag_name(&self) -> WdResult<String> {
        Ok(self.cmd("GET", "/name", None)?.as_str().unwrap_or_default().to_lowercase())
    }

    /// Whether it is displayed.
    pub fn is_displayed(&self) -> WdResult<bool> {
        Ok(self.cmd("GET", "/displayed", None)?.as_bool().unwrap_or(false))
    }

    /// Whether it is enabled (form controls).
    pub fn is_enabled(&self) -> WdResult<bool> {
        Ok(self.cmd("GET", "/enabled", None)?.as_bool().unwrap_or(false))
    }

    /// Scrolls it into view and clicks its centre.
    pub fn click(&self) -> WdResult<()> {
        self.cmd("POST", "/click", Some(json!({}))).map(drop)
    }

    /// Empties an input or textarea.
    pub fn clear(&self) -> WdResult<()> {
        self.cmd("POST", "/clear", Some(json!({}))).map(drop)
    }

    /// Focuses it and types `text` (key events, so `input` events fire as for a user).
    pub fn send_keys(&self, text: &str) -> WdResult<()> {
        self.cmd("POST", "/value", Some(json!({ "text": text }))).map(drop)
    }

    /// Moves the mouse over it.
    pub fn hover(&self) -> WdResult<()> {
        self.browser.hover(self)
    }

    /// The first descendant matching `selector`.
    pub fn find(&self, selector: &str) -> WdResult<Element> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": selector })),
        )?;
        self.browser.element(&v)
    }

    /// Every descendant matching `selector`.
    pub fn find_all(&self, selector: &str) -> WdResult<Vec<Element>> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": selector })),
        )?;
        v.as_array().into_iter().flatten().map(|e| self.browser.element(e)).collect()
    }

    /// A PNG of just this element.
    pub fn screenshot_png(&self) -> WdResult<Vec<u8>> {
        let data = self.cmd("GET", "/screenshot", None)?;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .map_err(|e| WebDriverError::Transport(format!("screenshot is not base64: {e}")))
    }
}

/// Waits until the WebDriver server at `url` says it is ready (`GET /status`).
pub fn wait_until_ready(
    url: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let agent = agent(Duration::from_secs(2));
    let status_url = format!("{}/status", url.trim_end_matches('/'));
    let start = Instant::now();
    loop {
        alive()?;
        if let Ok(v) = command(&agent, "GET", &status_url, None) {
            if v.get("ready").and_then(Value::as_bool) == Some(true) {
                return Ok(());
            }
        }
        if start.elapsed() > timeout {
            return Err(format!("ChromeDriver at {url} was not ready within {timeout:?}"));
        }
        thread::sleep(Duration::from_millis(50));
    }
}
