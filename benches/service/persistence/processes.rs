//! The processes rows 10-12 run: the sandbox portal and the API, each a child process
//! ended on drop so that no early exit leaves one (or its Chromes) behind.

use super::{PATIENCE, POLL};
use crate::{client, cmdline, free_port, our_tree, password, processes, signal, user};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::fmt::Write as _;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process ended on drop (SIGTERM, then SIGKILL), so no early exit leaves one.
pub struct Proc {
    child: Child,
    done: bool,
}

impl Proc {
    pub fn spawn(config: &Path, args: &[&str], log: &Path) -> Result<Proc> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let bin = env!("CARGO_BIN_EXE_emodal-api");
        let mut cmd = Command::new(bin);
        cmd.arg("--config").arg(config).args(args);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("EMODAL__") {
                cmd.env_remove(k);
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {bin}"))?;
        Ok(Proc { child, done: false })
    }

    /// SIGTERM and wait; how long the exit took.
    pub async fn stop(&mut self) -> Result<f64> {
        if self.done {
            return Ok(0.0);
        }
        self.done = true;
        let t = Instant::now();
        signal(self.child.id(), libc::SIGTERM);
        while t.elapsed() < Duration::from_secs(60) {
            if self.child.try_wait()?.is_some() {
                return Ok(t.elapsed().as_secs_f64());
            }
            tokio::time::sleep(POLL).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        bail!(
            "pid {} did not exit within 60 s of SIGTERM; killed",
            self.child.id()
        )
    }

    /// [`Proc::stop`] for `Drop`: SIGTERM, up to 30 s, then SIGKILL.
    fn stop_blocking(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        signal(self.child.id(), libc::SIGTERM);
        let t = Instant::now();
        while self.child.try_wait().ok().flatten().is_none()
            && t.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop_blocking();
    }
}

/// `emodal-api sandbox-portal --port P` with `bench01` .. `bench<accounts>`, instant captchas.
pub struct Portal {
    _proc: Proc,
    pub url: String,
}

impl Portal {
    pub fn start(root: &Path, accounts: usize) -> Result<Portal> {
        std::fs::create_dir_all(root)?;
        let mut toml = String::from("[sandbox]\nrender_delay_ms = 0\ncaptcha_solve_delay_ms = 0\n");
        for n in 1..=accounts {
            let _ = write!(
                toml,
                "\n[[sandbox.accounts]]\nusername = \"{}\"\npassword = \"{}\"\n",
                user(n),
                password(n)
            );
        }
        let config = root.join("sandbox.toml");
        std::fs::write(&config, toml)?;
        // The sandbox also listens on 127.0.0.2-5 (one address per portal host), same port.
        let port = loop {
            let port = free_port()?;
            if (2..=5).all(|i| std::net::TcpListener::bind((format!("127.0.0.{i}"), port)).is_ok())
            {
                break port;
            }
        };
        let port_arg = port.to_string();
        let proc = Proc::spawn(
            &config,
            &["sandbox-portal", "--port", &port_arg],
            &root.join("sandbox.log"),
        )?;
        Ok(Portal {
            _proc: proc,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

/// `emodal-api serve --sandbox-url` on its own data directory, JSON logs at info.
pub struct Api {
    proc: Proc,
    pub url: String,
    pub data_dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    portal: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn start(
        root: &Path,
        name: &str,
        portal: &str,
        spares: usize,
        extra: &[(&str, &str)],
    ) -> Result<Api> {
        let port = free_port()?;
        let data_dir = root.join(format!("{name}-data"));
        let (port_s, spares_s) = (port.to_string(), spares.to_string());
        let data_s = format!("\"{}\"", data_dir.display());
        let toml = settings_toml(
            &[
                ("server", "host", "\"127.0.0.1\""),
                ("server", "port", &port_s),
                ("server", "drain_timeout", "10"),
                ("log", "format", "\"json\""),
                (
                    "log",
                    "filter",
                    "\"info,headless_chrome=warn,html5ever=warn\"",
                ),
                ("sessions", "max_sessions", "16"),
                ("chrome", "data_dir", &data_s),
                ("chrome", "spares", &spares_s),
            ],
            extra,
        );
        let config = root.join(format!("{name}.toml"));
        std::fs::write(&config, toml)?;
        let log = root.join(format!("{name}.log"));
        let proc = Proc::spawn(&config, &["serve", "--sandbox-url", portal], &log)?;
        Ok(Api {
            proc,
            url: format!("http://127.0.0.1:{port}"),
            data_dir,
            config,
            log,
            portal: portal.to_string(),
            http: client(),
        })
    }

    /// A new process on the same configuration, port and data directory; the log starts over.
    pub fn again(&self) -> Result<Api> {
        std::fs::write(&self.log, "")?;
        let proc = Proc::spawn(
            &self.config,
            &["serve", "--sandbox-url", &self.portal],
            &self.log,
        )?;
        Ok(Api {
            proc,
            url: self.url.clone(),
            data_dir: self.data_dir.clone(),
            config: self.config.clone(),
            log: self.log.clone(),
            portal: self.portal.clone(),
            http: self.http.clone(),
        })
    }

    pub async fn healthy(&mut self) -> Result<()> {
        let url = format!("{}/health", self.url);
        let t = Instant::now();
        loop {
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if self.proc.child.try_wait()?.is_some() || t.elapsed() > PATIENCE {
                bail!("the API did not answer /health; see {}", self.log.display());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Wait until `/health` shows a spare Chrome ready.
    pub async fn spares_ready(&self) -> Result<()> {
        wait_for("a spare Chrome", || async {
            let r = self.http.get(format!("{}/health", self.url)).send().await;
            let v: Value = r.ok()?.json().await.ok()?;
            (v["spare_browsers"].as_u64() >= Some(1)).then_some(())
        })
        .await
    }

    /// Wait until `/sessions` lists session `id` as ready.
    pub async fn ready(&self, id: &str) -> Result<()> {
        wait_for("the session ready", || async {
            let r = self.http.get(format!("{}/sessions", self.url)).send().await;
            let v: Value = r.ok()?.json().await.ok()?;
            v["sessions"]
                .as_array()?
                .iter()
                .any(|s| s["session_id"] == id && s["state"] == "ready")
                .then_some(())
        })
        .await
    }

    /// The JSON log lines whose `event` is `name`.
    pub fn events(&self, name: &str) -> Vec<Value> {
        self.log_lines()
            .into_iter()
            .filter(|v| v["event"] == name)
            .collect()
    }

    /// Every JSON line of the log so far.
    pub fn log_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    }

    /// SIGTERM and wait (the API closes its Chromes); then end any Chrome still using a
    /// profile of this data directory. How long the exit took.
    pub async fn stop(&mut self) -> Result<f64> {
        let took = self.proc.stop().await;
        for pid in our_tree(&[], &self.data_dir) {
            signal(pid, libc::SIGKILL);
        }
        took
    }
}

impl Drop for Api {
    /// On an early exit (an error): stop the API and end its Chromes. One stopped already
    /// is left alone, as its data directory may belong to the next process by now.
    fn drop(&mut self) {
        if !self.proc.done {
            self.proc.stop_blocking();
            for pid in our_tree(&[], &self.data_dir) {
                signal(pid, libc::SIGKILL);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A settings file: `defaults` as (section, key, TOML value), with `extra` lines
/// (`("sessions", "max_sessions = 64")`) added to their section; an extra line whose key a
/// default has replaces that default (TOML refuses a key twice).
fn settings_toml(defaults: &[(&str, &str, &str)], extra: &[(&str, &str)]) -> String {
    let key = |line: &str| line.split('=').next().unwrap_or("").trim().to_string();
    let mut sections: Vec<&str> = Vec::new();
    for s in defaults
        .iter()
        .map(|d| d.0)
        .chain(extra.iter().map(|e| e.0))
    {
        if !sections.contains(&s) {
            sections.push(s);
        }
    }
    let mut out = String::new();
    for section in sections {
        let _ = writeln!(out, "[{section}]");
        let extra: Vec<&str> = extra
            .iter()
            .filter(|(s, _)| *s == section)
            .map(|(_, l)| *l)
            .collect();
        for (_, k, v) in defaults.iter().filter(|d| d.0 == section) {
            if !extra.iter().any(|l| key(l) == *k) {
                let _ = writeln!(out, "{k} = {v}");
            }
        }
        for line in extra {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    out
}

pub async fn stats(http: &reqwest::Client, portal: &str) -> Result<Value> {
    Ok(http
        .get(format!("{portal}/__sandbox/stats"))
        .send()
        .await?
        .json()
        .await?)
}

pub fn delta(before: &Value, after: &Value, key: &str) -> f64 {
    after[key].as_f64().unwrap_or(f64::NAN) - before[key].as_f64().unwrap_or(f64::NAN)
}

/// Poll `probe` until it answers `Some`, for at most [`PATIENCE`].
pub async fn wait_for<T, F, Fut>(what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let t = Instant::now();
    loop {
        if let Some(v) = probe().await {
            return Ok(v);
        }
        if t.elapsed() > PATIENCE {
            bail!("waited {PATIENCE:?} for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The browser process of the one session on `data_dir`: of the Chromes there, the one
/// whose DevTools lists a page on the portal (a spare waits on `about:blank`). A spare's
/// profile keeps its `spare-` name after a session takes it, so the name cannot tell.
pub async fn session_browser(http: &reqwest::Client, data_dir: &Path) -> Result<u32> {
    let needle = format!("--user-data-dir={}/", data_dir.join("profiles").display());
    let mut found = Vec::new();
    for p in processes() {
        let line = cmdline(p.pid);
        if !line.contains(&needle) || line.contains("--type=") {
            continue;
        }
        let Some(port) = line
            .split_whitespace()
            .find_map(|a| a.strip_prefix("--remote-debugging-port="))
        else {
            continue;
        };
        let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/json/list"))
            .send()
            .await
        else {
            continue;
        };
        let pages: Value = r.json().await.unwrap_or(Value::Null);
        let on_portal = pages.as_array().is_some_and(|all| {
            all.iter().any(|t| {
                t["type"] == "page" && t["url"].as_str().is_some_and(|u| u.starts_with("http"))
            })
        });
        if on_portal {
            found.push(p.pid);
        }
    }
    match found.as_slice() {
        [pid] => Ok(*pid),
        _ => bail!("expected one Chrome on a portal page, found {found:?}"),
    }
}
