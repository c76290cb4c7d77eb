//! The real binary as operators run it: SIGTERM drains and leaves nothing behind, a
//! SIGKILLed run's Chrome is cleaned up by the next start, and secrets never reach the logs,
//! responses, listings or files.

mod support;

use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{chrome_pids_under, eventually, settled_log, wait_until};

const PASSWORD: &str = "Pa55-zebra-quokka-7731";
const CAPTCHA_KEY: &str = "cap-key-narwhal-0042";
const TOKEN: &str = "tok-ocelot-9913-secret";

struct Service {
    child: Child,
    api: String,
    portal: String,
    data_dir: PathBuf,
    stderr_path: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `emodal-api --config <file> sandbox` with its own ports and data directory.
fn spawn(dir: &Path, extra: &str) -> Service {
    spawn_logging(dir, extra, "json")
}

/// [`spawn`] with `log.format` = `format`.
fn spawn_logging(dir: &Path, extra: &str, format: &str) -> Service {
    spawn_with(dir, "", extra, format)
}

/// [`spawn`] with more `[server]` settings and `log.format` = `format`.
fn spawn_with(dir: &Path, server: &str, extra: &str, format: &str) -> Service {
    let (api_port, portal_port) = (free_port(), free_port());
    let data_dir = dir.join("data");
    let config = dir.join("settings.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nport = {api_port}\napi_tokens = [\"{TOKEN}\"]\n{server}\n\
             [log]\nformat = \"{format}\"\nfilter = \"debug,headless_chrome=debug,hyper=info,reqwest=info,warp=info,ractor=info,html5ever=info\"\n\
             [chrome]\ndata_dir = \"{}\"\nliveness_interval = 1\n\
             [sandbox]\nport = {portal_port}\ncaptcha_solve_delay_ms = 50\n{extra}\n\
             [[sandbox.accounts]]\nusername = \"dispatch7\"\npassword = \"{PASSWORD}\"\n",
            data_dir.display()
        ),
    )
    .unwrap();
    let stderr_path = dir.join(format!("stderr-{api_port}.log"));
    let child = Command::new(env!("CARGO_BIN_EXE_emodal-api"))
        .arg("--config")
        .arg(&config)
        .arg("sandbox")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    Service {
        child,
        api: format!("http://127.0.0.1:{api_port}"),
        portal: format!("http://127.0.0.1:{portal_port}"),
        data_dir,
        stderr_path,
    }
}

impl Service {
    async fn ready(&self) {
        let http = reqwest::Client::new();
        let api = self.api.clone();
        eventually(
            "the service to answer /health",
            Duration::from_secs(30),
            || {
                let http = http.clone();
                let api = api.clone();
                async move {
                    http.get(format!("{api}/health"))
                        .send()
                        .await
                        .ok()
                        .filter(|r| r.status() == 200)
                }
            },
        )
        .await;
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}{path}", self.api))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn session(&self) -> String {
        let (status, body) = self
            .post("/get_session", json!({"username": "dispatch7", "password": PASSWORD, "captcha_api_key": CAPTCHA_KEY}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["session_id"].as_str().unwrap().to_string()
    }

    async fn get_sessions(&self) -> (u16, Value) {
        let r = reqwest::Client::new()
            .get(format!("{}/sessions", self.api))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    fn signal(&self, signal: i32) {
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Wait for the process to exit; its exit code.
    fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < limit,
                "the service did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logs(&self) -> String {
        settled_log(&self.stderr_path)
    }

    fn profiles(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.data_dir.join("profiles"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Service {
    /// A failing test must not leave the service (and its Chrome) running.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal(libc::SIGTERM);
            let start = Instant::now();
            while self.child.try_wait().ok().flatten().is_none()
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn scratch_dirs(session_id: &str) -> Vec<PathBuf> {
    let prefix: String = session_id
        .trim_start_matches("session_")
        .chars()
        .take(20)
        .collect();
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("emodal-chrome-{prefix}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = spawn(dir.path(), "render_delay_ms = 800");
    svc.ready().await;
    let id = svc.session().await;
    // The session's Chrome, and the spare (`chrome.spares`, default 1) once it is up.
    assert!(!chrome_pids_under(&svc.data_dir).is_empty());
    let slow = {
        let api = svc.api.clone();
        let id = id.clone();
        tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(format!("{api}/get_containers"))
                .bearer_auth(TOKEN)
                .json(&json!({"session_id": id, "format": "json"}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        })
    };
    tokio::time::sleep(Duration::from_millis(400)).await;
    svc.signal(libc::SIGTERM);
    assert_eq!(
        slow.await.unwrap(),
        200,
        "the request in flight finished during the drain"
    );
    let code = tokio::task::block_in_place(|| svc.wait_exit(Duration::from_secs(15)));
    assert_eq!(code, Some(0));
    assert!(chrome_pids_under(&svc.data_dir).is_empty());
    assert!(svc.profiles().is_empty(), "{:?}", svc.profiles());
    assert!(scratch_dirs(&id).is_empty(), "{:?}", scratch_dirs(&id));
    let logs = svc.logs();
    assert!(logs.contains("shutdown_complete"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn next_start_cleans_up_after_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn(dir.path(), "");
    first.ready().await;
    let id = first.session().await;
    first.signal(libc::SIGKILL);
    tokio::task::block_in_place(|| first.wait_exit(Duration::from_secs(5)));
    // Chrome outlives a SIGKILLed service: the session's, and the spare's if one had started.
    let orphans = chrome_pids_under(&first.data_dir);
    assert!(!orphans.is_empty(), "Chrome should have been orphaned");
    let old_profiles = first.profiles();
    assert!(!old_profiles.is_empty());

    let mut second = spawn(dir.path(), "");
    second.ready().await;
    let logs = second.logs();
    assert!(logs.contains("startup_cleanup"), "{logs}");
    // Every Chrome and profile of the killed run is gone (the second run's own spare and
    // the restored session have new ones).
    let now = chrome_pids_under(&second.data_dir);
    assert!(
        orphans.iter().all(|p| !now.contains(p)),
        "{orphans:?} {now:?}"
    );
    let profiles = second.profiles();
    assert!(
        old_profiles.iter().all(|p| !profiles.contains(p)),
        "{old_profiles:?} {profiles:?}"
    );
    let old_scratch: Vec<_> = old_profiles
        .iter()
        .map(|p| emodal_api::portal::scratch_dir(p))
        .collect();
    assert!(old_scratch.iter().all(|d| !d.exists()), "{old_scratch:?}");
    // The session itself survived the kill: its snapshot brings it back under its id.
    let row = eventually("the session restored", Duration::from_secs(60), || async {
        let (_, body) = second.get_sessions().await;
        body["sessions"]
            .as_array()
            .and_then(|rows| {
                rows.iter()
                    .find(|r| r["session_id"] == id.as_str())
                    .cloned()
            })
            .filter(|r| r["state"] == "ready")
    })
    .await;
    // (Here the sandbox portal died with the service, and its sessions with it: the
    // snapshot's cookies are refused and the session logs in again under the same id.
    // `persistence.rs` runs the portal as its own process and sees no new login.)
    assert_eq!(row["session_id"], id.as_str());
    assert!(second.logs().contains("restore_failed"));
    second.signal(libc::SIGTERM);
    assert_eq!(
        tokio::task::block_in_place(|| second.wait_exit(Duration::from_secs(15))),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_never_leave_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = spawn(dir.path(), "");
    svc.ready().await;
    let mut seen = String::new();
    // A full scenario: wrong password, session, listing, containers with debug screenshots,
    // timeline, a captcha error, delete.
    let (status, body) = svc
        .post("/get_session", json!({"username": "dispatch7", "password": "wrong-Pa55", "captcha_api_key": CAPTCHA_KEY}))
        .await;
    assert_eq!(status, 401);
    seen.push_str(&body.to_string());
    let id = svc.session().await;
    let (_, body) = svc
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3, "debug": true}),
        )
        .await;
    seen.push_str(&body.to_string());
    let shots: Vec<String> = body["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    assert!(!shots.is_empty());
    let cid = body["containers"][0]["Container #"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = svc
        .post(
            "/get_container_timeline",
            json!({"session_id": id, "container_id": cid}),
        )
        .await;
    seen.push_str(&body.to_string());
    let (_, body) = svc
        .post("/get_session", json!({"username": "dispatch7", "password": PASSWORD, "captcha_api_key": "sandbox-wrong-key", "keep_alive": true}))
        .await;
    seen.push_str(&body.to_string());
    let list = reqwest::Client::new()
        .get(format!("{}/sessions", svc.api))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    seen.push_str(&list.text().await.unwrap());
    let health = reqwest::get(format!("{}/health", svc.api)).await.unwrap();
    seen.push_str(&health.text().await.unwrap());
    let r = reqwest::Client::new()
        .delete(format!("{}/sessions/{id}", svc.api))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    svc.signal(libc::SIGTERM);
    assert_eq!(
        tokio::task::block_in_place(|| svc.wait_exit(Duration::from_secs(15))),
        Some(0)
    );

    let logs = svc.logs();
    assert!(
        logs.contains("login_succeeded"),
        "the logs are there to be checked: {logs}"
    );
    for secret in [PASSWORD, CAPTCHA_KEY, TOKEN, "wrong-Pa55"] {
        assert!(!logs.contains(secret), "{secret} in the logs");
        assert!(!seen.contains(secret), "{secret} in a response");
        for file in walk(&svc.data_dir) {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(secret),
                "{secret} in {}",
                file.display()
            );
        }
    }
    // The screenshot files carry no secret in their names either.
    for url in shots {
        assert!(
            ![PASSWORD, CAPTCHA_KEY, TOKEN]
                .iter()
                .any(|s| url.contains(s))
        );
    }
    let _ = svc.portal;
    wait_until("no Chrome left", Duration::from_secs(5), || {
        chrome_pids_under(&svc.data_dir).is_empty()
    })
    .await;
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p))
            } else {
                out.push(p)
            }
        }
    }
    out
}

/// SIGHUP's default action would kill the service on the spot and orphan every Chrome: it is
/// logged and ignored. SIGQUIT shuts down like SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sighup_is_ignored_and_sigquit_drains() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = spawn(dir.path(), "");
    svc.ready().await;
    let id = svc.session().await;
    svc.signal(libc::SIGHUP);
    wait_until("the SIGHUP to be logged", Duration::from_secs(10), || {
        svc.logs().contains("signal_ignored")
    })
    .await;
    let (status, body) = svc
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 2}),
        )
        .await;
    assert_eq!(status, 200, "still serving after SIGHUP: {body}");
    assert!(!chrome_pids_under(&svc.data_dir).is_empty());
    svc.signal(libc::SIGQUIT);
    let code = tokio::task::block_in_place(|| svc.wait_exit(Duration::from_secs(15)));
    assert_eq!(code, Some(0));
    assert!(chrome_pids_under(&svc.data_dir).is_empty());
    assert!(svc.profiles().is_empty(), "{:?}", svc.profiles());
    assert!(svc.logs().contains("shutdown_complete"));
}

/// A username is the client's text: a newline and escape sequences in it must not forge a log
/// line or repaint an operator's terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_log_line_in_a_username_stays_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = spawn_logging(dir.path(), "", "text");
    svc.ready().await;
    let forged = "mallory\n2026-01-01T00:00:00Z  INFO emodal_api: event=\"login_succeeded\" username=admin\u{1b}[2J";
    let (status, body) = svc
        .post(
            "/get_session",
            json!({"username": forged, "password": "nope", "captcha_api_key": CAPTCHA_KEY}),
        )
        .await;
    assert_eq!(status, 401, "{body}");
    svc.signal(libc::SIGTERM);
    tokio::task::block_in_place(|| svc.wait_exit(Duration::from_secs(15)));
    let logs = svc.logs();
    assert!(
        logs.contains("mallory\\n2026"),
        "the username is logged, escaped: {logs}"
    );
    assert!(!logs.contains('\u{1b}'), "no escape byte reaches the log");
    assert!(
        !logs.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "no forged line: {logs}"
    );
}

/// A request that outlasts `server.drain_timeout` is not waited for: its session is killed,
/// and its Chrome, profile and scratch directory are still gone when the process exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_longer_than_the_drain_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut svc = spawn_with(
        dir.path(),
        "drain_timeout = 1",
        "render_delay_ms = 3000",
        "json",
    );
    svc.ready().await;
    let id = svc.session().await;
    let slow = {
        let api = svc.api.clone();
        let id = id.clone();
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{api}/get_containers"))
                .bearer_auth(TOKEN)
                .json(&json!({"session_id": id, "format": "json"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    svc.signal(libc::SIGTERM);
    let code = tokio::task::block_in_place(|| svc.wait_exit(Duration::from_secs(30)));
    assert_eq!(code, Some(0));
    let _ = slow.await;
    assert!(chrome_pids_under(&svc.data_dir).is_empty());
    assert!(svc.profiles().is_empty(), "{:?}", svc.profiles());
    assert!(scratch_dirs(&id).is_empty(), "{:?}", scratch_dirs(&id));
}
