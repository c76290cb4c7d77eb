//! The browser thread's view of its tab: evaluate, navigate, and wait for page states.
//!
//! Waiting is always for a condition written in JavaScript and checked every 10 ms until the
//! job's deadline: never a fixed sleep, never "network idle". A check costs well under a
//! millisecond on the page's own DevTools connection (`cdp.rs`).

mod progress;

use super::DriverError;
use super::cdp::{Cdp, CdpError};
use super::shots::DebugShots;
pub use super::shots::Shot;
use crate::config::{ChromeSettings, PortalProfile};
use headless_chrome::Browser;
pub use progress::{Progress, ProgressNow};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(10);

/// The helpers every driver script starts with (`js/lib.js`).
const LIB: &str = include_str!("js/lib.js");
const PAGE: &str = include_str!("js/page.js");
const NEW_PAGE_GUARD: &str = include_str!("js/new_page_guard.js");

pub struct Page {
    // Field order matters: our connection closes before the browser that owns Chrome.
    cdp: RefCell<Cdp>,
    _browser: Browser,
    pub profile: Arc<PortalProfile>,
    /// A single DevTools call that takes longer than this means the browser is stuck.
    call_timeout: Duration,
    /// The last URL seen, for when the page cannot be asked.
    last_url: RefCell<String>,
    step: String,
    deadline: Instant,
    pub(super) debug: Option<DebugShots>,
    /// Profile selector keys the current job asked for: a failure bundle reports what each
    /// of their strategies finds on the page the job stopped at.
    used: RefCell<BTreeSet<String>>,
    /// The step in progress, readable from other threads (an operator's view of a long
    /// request).
    progress: Progress,
    /// The job's wizard steps are numbered out of this many in its progress.
    wizard_steps: Option<u32>,
}

impl Page {
    pub(super) fn new(
        browser: Browser,
        cdp: Cdp,
        profile: Arc<PortalProfile>,
        chrome: &ChromeSettings,
        progress: Progress,
    ) -> Page {
        Page {
            cdp: RefCell::new(cdp),
            _browser: browser,
            profile,
            call_timeout: Duration::from_secs(chrome.call_timeout.max(1)),
            last_url: RefCell::new(String::new()),
            step: String::new(),
            deadline: Instant::now(),
            debug: None,
            used: RefCell::new(BTreeSet::new()),
            progress,
            wizard_steps: None,
        }
    }

    /// Start a job: name its step (for errors) and set its deadline.
    pub(super) fn begin(&mut self, step: &str, deadline: Instant) {
        self.step = step.to_string();
        self.wizard_steps = None;
        self.show_progress();
        self.deadline = deadline;
        self.used.borrow_mut().clear();
    }

    /// The profile keys used since the job began.
    pub fn used_keys(&self) -> Vec<String> {
        self.used.borrow().iter().cloned().collect()
    }

    /// Give a job that is failing a little time of its own (to gather a failure bundle).
    pub(super) fn extend_deadline(&mut self, by: Duration) {
        self.deadline = Instant::now() + by;
    }

    /// Time left before the job's deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    pub fn step_name(&self) -> &str {
        &self.step
    }

    pub fn selector(&self, key: &str) -> Result<String, DriverError> {
        self.used.borrow_mut().insert(key.to_string());
        self.profile.selector(key).map_err(DriverError::Config)
    }

    /// A selector's ordered strategies.
    pub fn strategies(&self, key: &str) -> Result<Vec<String>, DriverError> {
        self.used.borrow_mut().insert(key.to_string());
        self.profile.strategies(key).map_err(DriverError::Config)
    }

    /// Arguments for a script from `js/`: `sel` maps each of `keys` to its strategies, plus
    /// the profile texts every script may use (icon words, logged-out and forbidden texts).
    pub fn args(&self, keys: &[&str]) -> Result<Value, DriverError> {
        let mut sel = serde_json::Map::new();
        // What every script's helpers (js/lib.js) look for.
        for k in ["icons", "clickable", "checkbox_host"].iter().chain(keys) {
            sel.insert((*k).to_string(), json!(self.strategies(k)?));
        }
        let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
        Ok(json!({
            "sel": sel,
            "icon_words": self.profile.texts.icon_words,
            "logged_out": lower(&self.profile.texts.logged_out),
            "forbidden": lower(&self.profile.texts.forbidden),
        }))
    }

    /// Run `body` (a script from `js/`, a function body that returns a value) with `args`
    /// bound to `A` and the helpers of `js/lib.js` in scope.
    pub fn run_js<T: DeserializeOwned>(&self, body: &str, args: &Value) -> Result<T, DriverError> {
        self.eval(&compose(body, args))
    }

    /// [`Page::run_js`] for a body that may `await`.
    pub fn run_js_async<T: DeserializeOwned>(
        &self,
        body: &str,
        args: &Value,
    ) -> Result<T, DriverError> {
        self.eval_async(&compose(body, args))
    }

    /// [`Page::wait_for`] on a script from `js/`.
    pub fn wait_js<T: DeserializeOwned>(
        &self,
        expected: &str,
        body: &str,
        args: &Value,
    ) -> Result<T, DriverError> {
        self.wait_for(expected, &compose(body, args))
    }

    /// [`Page::wait_for_new_page`] on a script from `js/`.
    pub fn wait_new_page_js<T: DeserializeOwned>(
        &self,
        expected: &str,
        body: &str,
        args: &Value,
    ) -> Result<T, DriverError> {
        self.wait_for_new_page(expected, &compose(body, args))
    }

    /// [`Page::wait_js`] for a body that may `await`.
    pub fn wait_js_async<T: DeserializeOwned>(
        &self,
        expected: &str,
        body: &str,
        args: &Value,
    ) -> Result<T, DriverError> {
        self.wait_for_async(expected, &compose(body, args))
    }

    /// [`Page::wait_js`] for at most `within`: `None` when that passes first (the job's own
    /// deadline still ends the wait with a timeout error).
    pub fn wait_js_within<T: DeserializeOwned>(
        &mut self,
        within: Duration,
        expected: &str,
        body: &str,
        args: &Value,
    ) -> Result<Option<T>, DriverError> {
        let job_deadline = self.deadline;
        let short = Instant::now() + within;
        if short >= job_deadline {
            return self.wait_js(expected, body, args).map(Some);
        }
        self.deadline = short;
        let got = self.wait_js(expected, body, args);
        self.deadline = job_deadline;
        match got {
            Ok(v) => Ok(Some(v)),
            Err(DriverError::Timeout { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The page's current URL.
    pub fn url(&self) -> String {
        if let Ok(url) = self.run_js::<String>(PAGE, &json!({"op": "url"})) {
            *self.last_url.borrow_mut() = url;
        }
        self.last_url.borrow().clone()
    }

    /// One DevTools call on the page. `awaits` marks a call that may legitimately run until
    /// the job's deadline (an awaited promise); any other call that outlasts
    /// `chrome.call_timeout` means the browser is stuck.
    pub(super) fn call(
        &self,
        method: &str,
        params: Value,
        awaits: bool,
    ) -> Result<Value, DriverError> {
        let now = Instant::now();
        let stuck_at = now + self.call_timeout;
        let until = if awaits {
            self.deadline.max(now + Duration::from_millis(1))
        } else {
            stuck_at.min(self.deadline.max(now + Duration::from_millis(1)))
        };
        match self.cdp.borrow_mut().call(method, params, until) {
            Ok(v) => Ok(v),
            Err(CdpError::Closed(why)) => {
                Err(DriverError::Browser(format!("{}: {why}", self.step)))
            }
            Err(CdpError::Timeout) if !awaits && until >= stuck_at => Err(DriverError::Browser(
                format!("{}: Chrome did not answer {method}", self.step),
            )),
            Err(CdpError::Timeout) => Err(DriverError::Timeout {
                step: self.step.clone(),
            }),
            Err(CdpError::Protocol(why)) => Err(DriverError::unexpected(
                &self.step,
                format!("a working page ({why})"),
            )),
        }
    }

    /// Evaluate an expression that produces a JSON string and decode it.
    fn evaluate<T: DeserializeOwned>(
        &self,
        expression: String,
        awaits: bool,
    ) -> Result<T, DriverError> {
        let reply = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": awaits}),
            awaits,
        )?;
        if let Some(details) = reply.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or_else(|| details["text"].as_str())
                .unwrap_or("exception");
            return Err(DriverError::unexpected(
                &self.step,
                format!("a working page (script error: {text})"),
            ));
        }
        match &reply["result"]["value"] {
            Value::String(s) => serde_json::from_str(s).map_err(|e| {
                DriverError::unexpected(
                    &self.step,
                    format!("page data of the expected shape ({e})"),
                )
            }),
            other => Err(DriverError::unexpected(
                &self.step,
                format!("a JSON value from the page, got {other:?}"),
            )),
        }
    }

    /// Does the page still answer? A closed socket or a crashed renderer is a `Browser` error.
    pub fn probe(&self) -> Result<(), DriverError> {
        self.run_js::<u8>(PAGE, &json!({"op": "probe"})).map(|_| ())
    }

    /// Evaluate `js`, which must produce a JSON-serialisable value, and decode it.
    pub fn eval<T: DeserializeOwned>(&self, js: &str) -> Result<T, DriverError> {
        self.evaluate(
            format!("JSON.stringify((() => {{ {js} }})() ?? null)"),
            false,
        )
    }

    /// Evaluate an async function body (it may `await`) and decode its result.
    pub fn eval_async<T: DeserializeOwned>(&self, js: &str) -> Result<T, DriverError> {
        self.evaluate(
            format!("(async () => {{ {js} }})().then(v => JSON.stringify(v ?? null))"),
            true,
        )
    }

    /// Poll `js` until it yields something other than `null`, or fail with `expected` at the
    /// job's deadline. Evaluation errors while a page is being replaced count as "not yet";
    /// a broken connection does not.
    pub fn wait_for<T: DeserializeOwned>(
        &self,
        expected: &str,
        js: &str,
    ) -> Result<T, DriverError> {
        self.poll(expected, || self.eval::<Option<T>>(js))
    }

    /// [`Page::wait_for`] for an async function body (it may `await`).
    pub fn wait_for_async<T: DeserializeOwned>(
        &self,
        expected: &str,
        js: &str,
    ) -> Result<T, DriverError> {
        self.poll(expected, || self.eval_async::<Option<T>>(js))
    }

    fn poll<T>(
        &self,
        expected: &str,
        check: impl Fn() -> Result<Option<T>, DriverError>,
    ) -> Result<T, DriverError> {
        loop {
            match check() {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => {}
                Err(e @ DriverError::Browser(_)) => return Err(e),
                Err(_) => {}
            }
            if Instant::now() + POLL > self.deadline {
                return Err(DriverError::Timeout {
                    step: format!("{} (waiting for {expected})", self.step),
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Navigate to `url`. The old document is marked first, so `wait_for_new_page` can tell
    /// the new page from the one being left.
    pub fn goto(&self, url: &str) -> Result<(), DriverError> {
        self.mark_document()?;
        let reply = self.call("Page.navigate", json!({"url": url}), false)?;
        match reply["errorText"].as_str() {
            // The network says the portal is not there (refused, reset, no route, no name).
            Some(error) if UNREACHABLE.iter().any(|e| error.contains(e)) => Err(
                DriverError::Unavailable(format!("{url} cannot be reached ({error})")),
            ),
            Some(error) if !error.is_empty() => Err(DriverError::unexpected(
                &self.step,
                format!("the page at {url} to load ({error})"),
            )),
            _ => Ok(()),
        }
    }

    /// Mark the current document as old (before a click that navigates).
    /// A document still being replaced cannot be marked yet: retry until it can.
    pub fn mark_document(&self) -> Result<(), DriverError> {
        self.wait_for::<bool>(
            "a page that can be marked",
            &compose(PAGE, &json!({"op": "mark"})),
        )
        .map(|_| ())
    }

    /// Wait until a new document has replaced the marked one and `js` yields a value.
    pub fn wait_for_new_page<T: DeserializeOwned>(
        &self,
        expected: &str,
        js: &str,
    ) -> Result<T, DriverError> {
        let guarded = format!("{NEW_PAGE_GUARD}\n{js}");
        self.wait_for(expected, &guarded)
    }

    /// The error a page marker (`marker()` of `js/lib.js`) stands for.
    pub fn marker_error(&self, marker: &str, expected: &str) -> DriverError {
        match marker {
            "logged_out" => DriverError::LoggedOut,
            "forbidden" => DriverError::unexpected(
                &self.step,
                format!("{expected}, got the portal's 403 Forbidden page (non-US address?)"),
            ),
            other => DriverError::Unavailable(format!(
                "{expected}, got HTTP {} at step '{}' (portal down or in maintenance)",
                other.trim_start_matches("http_"),
                self.step
            )),
        }
    }
}

fn compose(body: &str, args: &Value) -> String {
    format!("const A = {args};\n{LIB}\n{body}")
}

/// Navigation errors that mean the portal is not reachable, not that it answered wrongly.
const UNREACHABLE: &[&str] = &[
    "ERR_CONNECTION_REFUSED",
    "ERR_CONNECTION_RESET",
    "ERR_CONNECTION_CLOSED",
    "ERR_CONNECTION_TIMED_OUT",
    "ERR_TIMED_OUT",
    "ERR_ADDRESS_UNREACHABLE",
    "ERR_NAME_NOT_RESOLVED",
    "ERR_INTERNET_DISCONNECTED",
    "ERR_EMPTY_RESPONSE",
];
