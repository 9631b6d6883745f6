//! Instruments installed in the page with `execute_script`, to see what a screenshot cannot:
//!
//! - [`DomRecorder`]: a `MutationObserver` that records every change under an element (every
//!   node added, text changed, attribute set) and a snapshot of it after each batch, so a test
//!   can prove something *never* showed (a loading skeleton, an error flash), not only that it
//!   is gone when it looks.
//! - [`SendSpy`]: wraps `WebSocket.prototype.send` to record every frame the page sends (as
//!   `tests/cache.rs` does inside the page), so a test can count the Convex `ModifyQuerySet`
//!   subscriptions the app asked for.
//!
//! Both live in the page's `window` and end with it: install them again after a full load
//! (`goto`, `refresh`); in-app navigations keep them.

use serde_json::{json, Value};

use crate::webdriver::{Browser, WdResult, WebDriverError};

/// One batch of DOM changes, as the `MutationObserver` saw it.
#[derive(Debug, Clone)]
pub struct DomFrame {
    /// `performance.now()` when the batch was observed, ms.
    pub at_ms: f64,
    /// What was added or changed: the `outerHTML` of added elements, the text of added or
    /// changed text nodes, and the opening tag of elements whose attributes changed.
    pub added: Vec<String>,
    /// The watched element's `innerHTML` after the batch (empty while it does not exist).
    pub html: String,
    /// Its `innerText` after the batch.
    pub text: String,
    /// The watch selectors (see [`DomRecorder::install`]) that matched in this batch: an added
    /// node that is or contains a match, or a match under the watched element after it.
    pub hits: Vec<String>,
}

impl DomFrame {
    /// Whether `needle` shows anywhere in the batch: added content, the snapshot's HTML or text.
    pub fn contains(&self, needle: &str) -> bool {
        self.added.iter().any(|a| a.contains(needle))
            || self.html.contains(needle)
            || self.text.contains(needle)
    }
}

/// Records DOM changes under the first element matching a selector (see the module docs).
pub struct DomRecorder {
    browser: Browser,
}

const RECORDER: &str = r#"
const [selector, watch] = arguments;
if (window.__e2eDom) { window.__e2eDom.observer.disconnect(); }
const rec = { frames: [], observer: null };
const inside = (node) => {
  const el = node && (node.nodeType === 1 ? node : node.parentElement);
  return !!(el && el.closest(selector));
};
const describe = (node) => node.nodeType === 1 ? node.outerHTML
  : (node.nodeType === 3 ? node.textContent : '');
const openingTag = (el) => { const c = el.cloneNode(false); c.innerHTML = ''; return c.outerHTML; };
const matches = (node, sel) => node.nodeType === 1 && (node.matches(sel) || !!node.querySelector(sel));
rec.observer = new MutationObserver((records) => {
  const root = document.querySelector(selector);
  const added = [];
  const hits = new Set();
  for (const r of records) {
    if (r.type === 'childList') {
      for (const n of r.addedNodes) {
        // Nodes added under the watched element, or the watched element itself (or an
        // ancestor of it) added.
        if (!(inside(r.target) || matches(n, selector))) continue;
        added.push(describe(n));
        for (const w of watch) if (matches(n, w)) hits.add(w);
      }
    } else if (inside(r.target)) {
      if (r.type === 'characterData') added.push(r.target.textContent);
      else if (r.type === 'attributes') {
        added.push(openingTag(r.target));
        for (const w of watch) if (r.target.matches(w)) hits.add(w);
      }
    }
  }
  if (root) for (const w of watch) if (root.querySelector(w)) hits.add(w);
  if (added.length === 0 && hits.size === 0) return;
  rec.frames.push({ at: performance.now(), added, html: root ? root.innerHTML : '',
                    text: root ? root.innerText : '', hits: [...hits] });
});
// The whole body: the watched element may not exist yet, or be replaced.
rec.observer.observe(document.documentElement,
  { childList: true, subtree: true, characterData: true, attributes: true });
window.__e2eDom = rec;
return true;
"#;

impl DomRecorder {
    /// Starts recording changes under the first element matching `selector` (replacing a
    /// recorder installed before). `watch` are CSS selectors to look for in every batch (e.g. a
    /// skeleton's): [`DomFrame::hits`] names those that matched.
    pub fn install(browser: &Browser, selector: &str, watch: &[&str]) -> WdResult<DomRecorder> {
        browser.execute(RECORDER, vec![json!(selector), json!(watch)])?;
        Ok(DomRecorder { browser: browser.clone() })
    }

    /// Every batch recorded so far, oldest first.
    pub fn frames(&self) -> WdResult<Vec<DomFrame>> {
        let value = self
            .browser
            .execute("return window.__e2eDom ? window.__e2eDom.frames : null;", vec![])?;
        let Value::Array(frames) = value else {
            return Err(WebDriverError::Transport(
                "no DOM recorder in the page (a full page load removes it)".into(),
            ));
        };
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        };
        Ok(frames
            .iter()
            .map(|f| DomFrame {
                at_ms: f["at"].as_f64().unwrap_or(0.0),
                added: strings(&f["added"]),
                html: f["html"].as_str().unwrap_or_default().to_string(),
                text: f["text"].as_str().unwrap_or_default().to_string(),
                hits: strings(&f["hits"]),
            })
            .collect())
    }

    /// Forgets the batches recorded so far (keeps recording).
    pub fn clear(&self) -> WdResult<()> {
        self.browser.execute("if (window.__e2eDom) { window.__e2eDom.frames = []; }", vec![])?;
        Ok(())
    }

    /// Stops recording.
    pub fn stop(&self) -> WdResult<()> {
        self.browser
            .execute("if (window.__e2eDom) { window.__e2eDom.observer.disconnect(); }", vec![])?;
        Ok(())
    }
}

/// One frame a WebSocket of the page sent.
#[derive(Debug, Clone)]
pub struct SentFrame {
    /// Which socket (numbered in the order they first sent).
    pub socket: u32,
    /// `performance.now()` when sent, ms.
    pub at_ms: f64,
    /// The frame, parsed as JSON (`Value::Null` if it is not JSON).
    pub message: Value,
}

/// One `ModifyQuerySet` modification a page sent.
#[derive(Debug, Clone)]
pub struct QuerySetChange {
    pub socket: u32,
    pub at_ms: f64,
    /// `"Add"` or `"Remove"`.
    pub kind: String,
    pub query_id: u64,
    /// The function (Adds only).
    pub udf_path: Option<String>,
    /// The single argument object (Adds only).
    pub args: Option<Value>,
}

/// Records every frame the page's WebSockets send (see the module docs).
pub struct SendSpy {
    browser: Browser,
}

const SEND_SPY: &str = r#"
if (!window.__e2eSent) {
  window.__e2eSent = [];
  let n = 0;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (this.__e2eId === undefined) { this.__e2eId = n++; }
    window.__e2eSent.push([this.__e2eId, performance.now(), String(data)]);
    return send.call(this, data);
  };
}
return true;
"#;

impl SendSpy {
    /// Starts recording (once per page: a second install keeps the first spy).
    pub fn install(browser: &Browser) -> WdResult<SendSpy> {
        browser.execute(SEND_SPY, vec![])?;
        Ok(SendSpy { browser: browser.clone() })
    }

    /// Every frame sent since the spy was installed, oldest first.
    pub fn frames(&self) -> WdResult<Vec<SentFrame>> {
        let value =
            self.browser.execute("return window.__e2eSent ? window.__e2eSent : null;", vec![])?;
        let Value::Array(frames) = value else {
            return Err(WebDriverError::Transport(
                "no WebSocket spy in the page (a full page load removes it)".into(),
            ));
        };
        Ok(frames
            .iter()
            .map(|f| SentFrame {
                socket: f[0].as_u64().unwrap_or(0) as u32,
                at_ms: f[1].as_f64().unwrap_or(0.0),
                message: serde_json::from_str(f[2].as_str().unwrap_or_default())
                    .unwrap_or(Value::Null),
            })
            .collect())
    }

    /// The Convex session id of the page's client: from the last `Connect` frame sent since the
    /// spy was installed (none before a (re)connection).
    pub fn session_id(&self) -> WdResult<Option<String>> {
        Ok(self
            .frames()?
            .iter()
            .rev()
            .find(|f| f.message["type"] == "Connect")
            .and_then(|f| f.message["sessionId"].as_str().map(str::to_string)))
    }

    /// Every `ModifyQuerySet` modification sent, in order.
    pub fn query_set_changes(&self) -> WdResult<Vec<QuerySetChange>> {
        let mut changes = vec![];
        for frame in self.frames()? {
            if frame.message["type"] != "ModifyQuerySet" {
                continue;
            }
            for m in frame.message["modifications"].as_array().into_iter().flatten() {
                changes.push(QuerySetChange {
                    socket: frame.socket,
                    at_ms: frame.at_ms,
                    kind: m["type"].as_str().unwrap_or_default().to_string(),
                    query_id: m["queryId"].as_u64().unwrap_or(u64::MAX),
                    udf_path: m["udfPath"].as_str().map(str::to_string),
                    args: m["args"].get(0).cloned(),
                });
            }
        }
        Ok(changes)
    }

    /// The `Add`s sent for the query function `udf_path` whose args satisfy `args`.
    pub fn adds(
        &self,
        udf_path: &str,
        args: impl Fn(&Value) -> bool,
    ) -> WdResult<Vec<QuerySetChange>> {
        Ok(self
            .query_set_changes()?
            .into_iter()
            .filter(|c| {
                c.kind == "Add"
                    && c.udf_path.as_deref().is_some_and(|p| same_function(p, udf_path))
                    && c.args.as_ref().is_some_and(&args)
            })
            .collect())
    }
}

/// `posts:get` and `posts.js:get` name the same function.
fn same_function(a: &str, b: &str) -> bool {
    let canonical = |p: &str| {
        let (module, function) = p.split_once(':').unwrap_or((p, "default"));
        format!("{}:{function}", module.strip_suffix(".js").unwrap_or(module))
    };
    canonical(a) == canonical(b)
}
