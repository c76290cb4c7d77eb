//! The sandbox: a local stand-in for the E-Modal portal and the 2captcha API.
//! (Being written; see issue 2.)

use crate::config::{SandboxSettings, Settings};
use std::net::SocketAddr;

/// A running sandbox server.
pub struct SandboxServer {
    addr: SocketAddr,
}

impl SandboxServer {
    /// Bind `settings.host:settings.port` (port 0 picks a free port) and serve in the background.
    pub async fn start(_settings: &SandboxSettings) -> anyhow::Result<SandboxServer> {
        anyhow::bail!("not yet")
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<ip>:<port>` without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(self) {}
}

/// `emodal-api sandbox-portal`: run the stand-in alone until Ctrl-C / SIGTERM.
pub async fn run_standalone(_settings: Settings, _port: Option<u16>) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
