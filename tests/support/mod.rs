//! Shared test harness: a real sandbox portal and a real API server on 127.0.0.1:0, with
//! their own data directory, and checks on the Chrome processes and profile directories
//! that belong to this test only.

#![allow(dead_code)]

use emodal_api::app::Application;
use emodal_api::config::Settings;
use emodal_api::sandbox::SandboxServer;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub struct TestApp {
    pub app: Option<Application>,
    pub sandbox: Option<SandboxServer>,
    pub api: String,
    pub portal: String,
    pub data_dir: PathBuf,
    pub http: reqwest::Client,
    _tmp: tempfile::TempDir,
}

/// A test that fails before `shutdown_clean` ends its process at once: its browser threads
/// never get to close Chrome and remove the scratch directories in the system temp folder.
/// Do what the next start of a SIGKILLed service does.
impl Drop for TestApp {
    fn drop(&mut self) {
        emodal_api::cleanup::clean_leftovers(&self.data_dir.join("profiles"));
    }
}

pub const USER: &str = "demo";
pub const PASS: &str = "demo-password";
pub const KEY: &str = "test-captcha-key";

/// Start a sandbox and an API wired to it. `overrides` are `section.key` settings applied
/// on top of fast test defaults.
pub async fn start(overrides: &[(&str, &str)]) -> TestApp {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let data = data_dir.display().to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("server.port", "0"),
        ("sandbox.port", "0"),
        ("sandbox.captcha_solve_delay_ms", "50"),
        ("chrome.data_dir", &data),
        ("chrome.liveness_interval", "1"),
        // A spare Chrome per test server would only compete for the CPU; the tests of
        // spares turn them on.
        ("chrome.spares", "0"),
        ("sessions.restart_backoff_initial_ms", "100"),
        ("sessions.restart_backoff_max_ms", "500"),
        ("log.filter", "warn"),
    ];
    // CI runs the driver tests once per portal generation the sandbox can play.
    let generation = std::env::var("EMODAL_TEST_GENERATION").unwrap_or_default();
    if !generation.is_empty() {
        all.push(("sandbox.generation", &generation));
    }
    // CI runs the browser tests again on the other Chromium (`EMODAL__CHROME__PATH`).
    let chrome = chrome_path_override();
    if let Some(path) = &chrome {
        all.push(("chrome.path", path));
    }
    all.extend_from_slice(overrides);
    let mut settings = Settings::from_overrides(&all).expect("settings");
    // The log writer lives as long as the test process (a server per test, one writer).
    std::mem::forget(emodal_api::telemetry::init(&settings.log));
    let sandbox = SandboxServer::start(&settings.sandbox)
        .await
        .expect("sandbox starts");
    settings.wire_to_sandbox(&sandbox.base_url());
    let app = Application::build(settings).await.expect("api starts");
    TestApp {
        api: app.base_url(),
        portal: sandbox.base_url(),
        app: Some(app),
        sandbox: Some(sandbox),
        data_dir,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap(),
        _tmp: tmp,
    }
}

impl TestApp {
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call_as(None, reqwest::Method::POST, path, Some(body))
            .await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call_as(None, reqwest::Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call_as(None, reqwest::Method::DELETE, path, None)
            .await
    }

    pub async fn get_session(&self, user: &str, pass: &str, key: &str) -> (u16, Value) {
        self.post(
            "/get_session",
            json!({"username": user, "password": pass, "captcha_api_key": key}),
        )
        .await
    }

    /// A demo session id (asserting success).
    pub async fn demo_session(&self) -> String {
        let (status, body) = self.get_session(USER, PASS, KEY).await;
        assert_eq!(status, 200, "{body}");
        body["session_id"].as_str().unwrap().to_string()
    }

    pub async fn sandbox_stats(&self) -> Value {
        self.http
            .get(format!("{}/__sandbox/stats", self.portal))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The sandbox's free slot texts for the demo account (ground truth for the wizard).
    pub async fn free_slots(&self, terminal: &str, move_type: &str) -> Vec<Value> {
        let query = [
            ("username", USER),
            ("terminal", terminal),
            ("move_type", move_type),
        ];
        let url = format!("{}/__sandbox/slots", self.portal);
        let body: Value = self
            .http
            .get(url)
            .query(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["slots"].as_array().unwrap().clone()
    }

    pub async fn sandbox_post(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.portal))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    pub async fn sessions(&self) -> Vec<Value> {
        let (status, body) = self.get("/sessions").await;
        assert_eq!(status, 200);
        body["sessions"].as_array().cloned().unwrap_or_default()
    }

    pub async fn session(&self, id: &str) -> Option<Value> {
        self.sessions()
            .await
            .into_iter()
            .find(|s| s["session_id"] == id)
    }

    /// Wait (at most 30 s) until session `id` has been restarted once and is ready again;
    /// its listing row.
    pub async fn restarted_once(&self, id: &str) -> Value {
        eventually("a restarted session", Duration::from_secs(30), || async {
            self.session(id)
                .await
                .filter(|r| r["restarts"] == 1 && r["state"] == "ready")
        })
        .await
    }

    /// Chrome browser processes started with a profile under this test's data directory.
    pub fn chrome_pids(&self) -> Vec<u32> {
        chrome_pids_under(&self.data_dir)
    }

    pub fn profile_dirs(&self) -> Vec<PathBuf> {
        match std::fs::read_dir(self.data_dir.join("profiles")) {
            Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Shut the API and the sandbox down the way SIGTERM does.
    pub async fn shutdown(&mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.shutdown().await;
        }
    }

    /// Shut down, then assert that nothing of this test is left running or on disk.
    pub async fn shutdown_clean(&mut self) {
        self.shutdown().await;
        wait_until("no Chrome left", Duration::from_secs(10), || {
            self.chrome_pids().is_empty()
        })
        .await;
        assert!(
            self.profile_dirs().is_empty(),
            "profile dirs left: {:?}",
            self.profile_dirs()
        );
    }
}

/// Browser (not renderer) processes whose command line names a profile under `dir`.
/// A browser as a session would get it, with its profile under `data_dir`, outside any
/// session actor: for tests that drive the portal layer directly.
pub async fn launch_browser(
    settings: &Settings,
    data_dir: &Path,
) -> emodal_api::portal::BrowserHandle {
    let mut chrome = settings.chrome.clone();
    if let Some(path) = chrome_path_override() {
        chrome.path = path.into();
    }
    emodal_api::portal::BrowserHandle::launch(
        &chrome,
        std::sync::Arc::new(settings.portal.clone()),
        data_dir.join("profiles").join("t-0"),
    )
    .await
    .unwrap()
}

/// `EMODAL__CHROME__PATH`, which settings built from overrides do not read: the Chromium
/// the browser tests run on when it is not the default.
pub fn chrome_path_override() -> Option<String> {
    std::env::var("EMODAL__CHROME__PATH")
        .ok()
        .filter(|p| !p.is_empty())
}

pub fn chrome_pids_under(dir: &Path) -> Vec<u32> {
    chrome_processes_under(dir, |cmdline| !cmdline.contains("--type="))
}

/// The renderer processes of the Chromes whose profile is under `dir`.
/// Found below the browsers: the headless shell's renderers do not name the profile.
pub fn renderer_pids_under(dir: &Path) -> Vec<u32> {
    let browsers = chrome_pids_under(dir);
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut tree = browsers;
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    tree.into_iter()
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
                && emodal_api::portal::process_alive(*pid)
        })
        .collect()
}

fn chrome_processes_under(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<u32> {
    let needle = format!("--user-data-dir={}", dir.display());
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&needle) && keep(&cmdline) && emodal_api::portal::process_alive(pid) {
            pids.push(pid);
        }
    }
    pids
}

/// Poll `check` every 50 ms until it holds, or panic after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Async version of [`wait_until`] returning the first value `check` yields.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl TestApp {
    /// The sandbox's ground truth for an account.
    pub async fn dataset(&self, user: &str) -> Value {
        let url = format!("{}/__sandbox/dataset?username={user}", self.portal);
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl TestApp {
    /// A request with `Authorization: Bearer <token>` (no header when `token` is None).
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// The log file at `path` once it has stopped growing: the service writes lines in batches
/// up to 50 ms apart (`telemetry::writer`), so what happened just now may still be on its
/// way. Read until two reads 80 ms apart agree (at most 3 s).
pub fn settled_log(path: &std::path::Path) -> String {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut last = read();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(80));
        let now = read();
        if now.len() == last.len() || std::time::Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}
