//! The cluster bench's processes and questions: a `nats-server`, the nodes (the shared
//! harness's API process with cluster settings), and what a node says about a session.

use crate::processes::{Api, wait_for};
use crate::{SECRET, free_port};
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// `nats-server -js` on a free port with its store in `dir`; killed on drop.
pub struct Nats {
    child: Child,
    pub url: String,
}

impl Nats {
    pub fn start(dir: &Path) -> Result<Nats> {
        std::fs::create_dir_all(dir)?;
        let port = free_port()?;
        let child = Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("nats.log"))?)
            .spawn()
            .context("starting nats-server (scripts/install-nats.sh installs it)")?;
        Ok(Nats {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cluster node: the harness's API process with cluster settings.
pub fn node(root: &Path, name: &str, portal: &str, nats: &str, node_timeout: u64) -> Result<Api> {
    std::fs::create_dir_all(root)?;
    let urls = format!("nats_urls = [\"{nats}\"]");
    let id = format!("node_id = \"{name}\"");
    let secret = format!("secret = \"{SECRET}\"");
    let timeout = format!("node_timeout = {node_timeout}");
    Api::start(
        root,
        name,
        portal,
        0,
        &[
            ("cluster", "enabled = true"),
            ("cluster", &urls),
            ("cluster", &id),
            ("cluster", "heartbeat_ms = 1000"),
            ("cluster", &timeout),
            ("sessions", &secret),
            ("sessions", "max_sessions = 32"),
        ],
    )
}

/// Wait until every node's `/ready` answers 200 (NATS linked).
pub async fn cluster_ready(http: &reqwest::Client, apis: &[&Api]) -> Result<()> {
    for api in apis {
        wait_for("the node ready in the cluster", || async {
            let r = http.get(format!("{}/ready", api.url)).send().await.ok()?;
            (r.status() == 200).then_some(())
        })
        .await?;
    }
    Ok(())
}

/// The node serving session `id`, as `/sessions` on `api` lists it (its `node` field).
pub async fn owner_of(http: &reqwest::Client, api: &str, id: &str) -> Result<String> {
    crate::load::session_rows(http, api)
        .await?
        .iter()
        .find(|s| s["session_id"] == id)
        .and_then(|s| s["node"].as_str())
        .map(str::to_string)
        .with_context(|| format!("no `node` for {id} in {api}/sessions"))
}

/// `GET /sessions/{id}`; seconds to a 200.
pub async fn detail(http: &reqwest::Client, api: &str, id: &str) -> Result<f64> {
    let t = Instant::now();
    let r = http.get(format!("{api}/sessions/{id}")).send().await?;
    let status = r.status().as_u16();
    let _ = r.bytes().await?;
    let secs = t.elapsed().as_secs_f64();
    if status != 200 {
        bail!("GET /sessions/{id} on {api}: {status}");
    }
    Ok(secs)
}
