//! The service and the sandbox portal as two real processes, as operators and issue 12's
//! tests run them: `emodal-api sandbox-portal` keeps the portal's session table while
//! `emodal-api serve --sandbox-url` is stopped, killed and started again on the same data
//! directory.
//!
//! A test file using this module declares `mod support;` too (the waits and the Chrome
//! process scan come from there).

#![allow(dead_code)]

// Loaded with #[path] from the test file, so nested modules name their files too.
#[path = "service/child.rs"]
mod child;
#[path = "service/sandbox.rs"]
mod sandbox;

pub use sandbox::{ACCOUNTS, Account, SandboxProcess};

use crate::support::{chrome_pids_under, eventually, settled_log};
// Public for the cluster harness (tests/support/cluster.rs), which starts nats-server.
pub use child::{free_port, signal, stop, wait_exit};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Distinctive values, so a grep of logs and files for them cannot match by accident.
pub const CAPTCHA_KEY: &str = "cap-key-pangolin-5527";
pub const TOKEN: &str = "tok-axolotl-6604-secret";

/// How long a login (captcha and page loads on the sandbox, ~1-2 s) or a restore may take on
/// a loaded 2-core machine running several tests.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Settings added to (or replacing keys of) the service's test configuration, as
/// `(section, "key = value")`, e.g. `("sessions", "persist_credentials = false")`.
pub type Extra<'a> = &'a [(&'a str, &'a str)];

/// `emodal-api --config <file> serve --sandbox-url <url>` on its own API port.
pub struct ServiceProcess {
    child: Child,
    api: String,
    data_dir: PathBuf,
    stderr_path: PathBuf,
    http: reqwest::Client,
    /// Chrome browsers a SIGKILL orphaned: killed on drop unless the next start did it.
    orphans: Vec<u32>,
}

impl ServiceProcess {
    /// Start a service on `data_dir` (which a previous, exited service may have used),
    /// driving the sandbox at `sandbox_url`; config and logs in `dir`. Returns once `/health`
    /// answers 200.
    pub async fn start(
        dir: &Path,
        data_dir: &Path,
        sandbox_url: &str,
        extra: Extra<'_>,
    ) -> ServiceProcess {
        std::fs::create_dir_all(dir).unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.join(format!("service-{port}.toml"));
            std::fs::write(&config, service_toml(port, data_dir, extra)).unwrap();
            let stderr_path = dir.join(format!("service-{port}.log"));
            let child = Command::new(env!("CARGO_BIN_EXE_emodal-api"))
                .arg("--config")
                .arg(&config)
                .arg("serve")
                .arg("--sandbox-url")
                .arg(sandbox_url)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&stderr_path).unwrap())
                .spawn()
                .unwrap();
            let mut service = ServiceProcess {
                child,
                api: format!("http://127.0.0.1:{port}"),
                data_dir: data_dir.to_path_buf(),
                stderr_path,
                http: http.clone(),
                orphans: Vec::new(),
            };
            if service.healthy().await {
                return service;
            }
            // Only a taken port is worth another try; anything else is the test's finding.
            let logs = service.logs();
            assert!(
                logs.contains("in use"),
                "the service exited at start:\n{logs}"
            );
        }
        panic!("the service did not start on any of 5 ports (logs in {dir:?})");
    }

    /// Wait until `/health` answers 200; false when the process exited first.
    async fn healthy(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            let answer = self.http.get(format!("{}/health", self.api)).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return true;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the service never answered /health:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn api(&self) -> &str {
        &self.api
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where session `id`'s snapshot lives.
    pub fn snapshot_path(&self, id: &str) -> PathBuf {
        snapshot_path(&self.data_dir, id)
    }

    /// A request with the bearer token; the status and the JSON body (Null when not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.api))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }

    /// `POST /get_session` for `account` with [`CAPTCHA_KEY`].
    pub async fn get_session(&self, account: &Account, keep_alive: bool) -> (u16, Value) {
        self.post(
            "/get_session",
            json!({
                "username": account.username,
                "password": account.password,
                "captcha_api_key": CAPTCHA_KEY,
                "keep_alive": keep_alive,
            }),
        )
        .await
    }

    /// [`Self::get_session`], asserting success; the session id.
    pub async fn session_id(&self, account: &Account, keep_alive: bool) -> String {
        let (status, body) = self.get_session(account, keep_alive).await;
        assert_eq!(status, 200, "get_session: {body}");
        body["session_id"].as_str().unwrap().to_string()
    }

    /// A business request: the first five containers as JSON.
    pub async fn containers(&self, session_id: &str) -> (u16, Value) {
        self.post(
            "/get_containers",
            json!({"session_id": session_id, "format": "json", "target_count": 5}),
        )
        .await
    }

    /// The `/sessions` listing's rows.
    pub async fn sessions(&self) -> Vec<Value> {
        let (status, body) = self.get("/sessions").await;
        assert_eq!(status, 200, "/sessions: {body}");
        body["sessions"].as_array().cloned().unwrap_or_default()
    }

    /// Wait until session `id` is listed as `ready`; its row.
    pub async fn ready(&self, id: &str) -> Value {
        eventually(&format!("session {id} ready"), PATIENCE, || async {
            self.sessions()
                .await
                .into_iter()
                .find(|s| s["session_id"] == id && s["state"] == "ready")
        })
        .await
    }

    /// SIGTERM, then wait for the drain to end; the exit code.
    pub async fn sigterm_and_wait(&mut self) -> Option<i32> {
        signal(&self.child, libc::SIGTERM);
        wait_exit(&mut self.child, PATIENCE).await
    }

    /// SIGKILL, and wait for the process to be gone (its Chrome stays, orphaned).
    pub async fn sigkill(&mut self) {
        self.orphans = chrome_pids_under(&self.data_dir.join("profiles"));
        signal(&self.child, libc::SIGKILL);
        wait_exit(&mut self.child, Duration::from_secs(10)).await;
    }

    /// SIGTERM without waiting, when it still runs (several nodes draining at once).
    pub fn begin_stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            signal(&self.child, libc::SIGTERM);
        }
    }

    /// Everything the service logged so far (JSON lines), once its log has settled.
    pub fn logs(&self) -> String {
        settled_log(&self.stderr_path)
    }

    /// The log lines whose `event` is `name`, parsed.
    pub fn log_events(&self, name: &str) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"] == name)
            .collect()
    }

    /// The raw log lines whose `event` is `name` (to check what they do not contain).
    pub fn log_lines(&self, name: &str) -> Vec<String> {
        self.logs()
            .lines()
            .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["event"] == name))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for ServiceProcess {
    /// Stop the service and any Chrome of its own it leaves. Only its own: a later service
    /// may be running on the same data directory, so no sweep of the whole profiles folder.
    fn drop(&mut self) {
        let profiles = self.data_dir.join("profiles");
        if self.child.try_wait().ok().flatten().is_none() {
            // The one live service on this data directory: every Chrome there is its own.
            self.orphans = chrome_pids_under(&profiles);
            stop(&mut self.child);
        }
        for pid in chrome_pids_under(&profiles) {
            if self.orphans.contains(&pid) {
                // SAFETY: kill(2) on a Chrome of this test's data directory (checked just now).
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
    }
}

pub fn snapshot_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("sessions").join(format!("{id}.snap"))
}

/// The test configuration: fast restarts, no spare Chrome, JSON logs, `extra` merged in.
fn service_toml(port: u16, data_dir: &Path, extra: Extra<'_>) -> String {
    let mut sections: Vec<(String, Vec<String>)> = vec![
        (
            "server".into(),
            vec![
                format!("port = {port}"),
                format!("api_tokens = [\"{TOKEN}\"]"),
            ],
        ),
        (
            "log".into(),
            vec!["format = \"json\"".into(), "filter = \"info\"".into()],
        ),
        (
            "chrome".into(),
            vec![
                format!("data_dir = \"{}\"", data_dir.display()),
                "liveness_interval = 1".into(),
                "spares = 0".into(),
            ],
        ),
        (
            "sessions".into(),
            vec![
                "restart_backoff_initial_ms = 100".into(),
                "restart_backoff_max_ms = 500".into(),
            ],
        ),
    ];
    let key = |line: &str| {
        line.split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    for (section, line) in extra {
        let lines = match sections.iter_mut().find(|(s, _)| s == section) {
            Some((_, lines)) => lines,
            None => {
                sections.push((section.to_string(), Vec::new()));
                &mut sections.last_mut().unwrap().1
            }
        };
        lines.retain(|l| key(l) != key(line));
        lines.push(line.to_string());
    }
    sections
        .iter()
        .map(|(s, lines)| format!("[{s}]\n{}\n", lines.join("\n")))
        .collect::<Vec<_>>()
        .join("\n")
}
