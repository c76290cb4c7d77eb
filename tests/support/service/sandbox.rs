//! `emodal-api sandbox-portal` as a process of its own, so the portal's sessions outlive
//! the service's restarts.

use super::PATIENCE;
use super::child::{free_port, stop};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A sandbox portal account.
pub struct Account {
    pub username: &'static str,
    pub password: &'static str,
}

/// The accounts every [`SandboxProcess`] knows (the file's list replaces the defaults).
pub const ACCOUNTS: [Account; 3] = [
    Account {
        username: "dispatch7",
        password: "Pa55-wombat-heron-4412",
    },
    Account {
        username: "dispatch8",
        password: "Pa55-tapir-egret-8830",
    },
    Account {
        username: "dispatch9",
        password: "Pa55-lemur-ibis-2269",
    },
];

/// A port free on 127.0.0.1 and on the sandbox's other four host addresses.
fn free_port_on_all_hosts() -> u16 {
    loop {
        let port = free_port();
        let free =
            (2..=5).all(|i| std::net::TcpListener::bind((format!("127.0.0.{i}"), port)).is_ok());
        if free {
            return port;
        }
    }
}

/// `emodal-api sandbox-portal --port P`, on its own.
pub struct SandboxProcess {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl SandboxProcess {
    /// Start a sandbox portal with fast captchas and [`ACCOUNTS`]; config and logs in `dir`.
    pub async fn start(dir: &Path) -> SandboxProcess {
        std::fs::create_dir_all(dir).unwrap();
        let config = dir.join("sandbox.toml");
        let mut text = String::from("[sandbox]\ncaptcha_solve_delay_ms = 50\n");
        for a in &ACCOUNTS {
            text.push_str(&format!(
                "\n[[sandbox.accounts]]\nusername = \"{}\"\npassword = \"{}\"\n",
                a.username, a.password
            ));
        }
        std::fs::write(&config, text).unwrap();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        // Another test may take the port between the check and the bind: then the child
        // exits at once, and another port is tried.
        for _ in 0..5 {
            let port = free_port_on_all_hosts();
            let child = Command::new(env!("CARGO_BIN_EXE_emodal-api"))
                .arg("--config")
                .arg(&config)
                .arg("sandbox-portal")
                .arg("--port")
                .arg(port.to_string())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join(format!("sandbox-{port}.log"))).unwrap())
                .spawn()
                .unwrap();
            let mut sandbox = SandboxProcess {
                child,
                url: format!("http://127.0.0.1:{port}"),
                http: http.clone(),
            };
            if sandbox.answers().await {
                return sandbox;
            }
        }
        panic!("the sandbox portal did not start on any of 5 ports (logs in {dir:?})");
    }

    /// Wait until the sandbox answers its stats; false when it exited first.
    async fn answers(&mut self) -> bool {
        let start = Instant::now();
        loop {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            let url = format!("{}/__sandbox/stats", self.url);
            let answer = self.http.get(url).send().await;
            if answer.is_ok_and(|r| r.status() == 200) {
                return true;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "the sandbox portal never answered"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `http://127.0.0.1:P`, the identity host (controls and the 2captcha stand-in live there).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its counters: `captcha_tasks`, `logins_ok`, `logins_failed`, `active_portal_sessions`...
    pub async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/__sandbox/stats", self.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// End every portal session, as the portal does when it expires them.
    pub async fn logout_all(&self) {
        let r = self
            .http
            .post(format!("{}/__sandbox/logout_all", self.url))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "logout_all: {}", r.status());
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
