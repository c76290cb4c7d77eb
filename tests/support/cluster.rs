//! Cluster mode's test world (issue 15): a real `nats-server -js` child, one
//! `sandbox-portal` process, and service nodes as child processes with cluster settings
//! (one shared `sessions.secret`, fast heartbeats), each on its own data directory.
//!
//! A test file using it declares the three modules under these names:
//!
//! ```ignore
//! #[path = "support/service.rs"]
//! mod service;
//! mod support;
//! #[path = "support/cluster.rs"]
//! mod cluster;
//! ```
//!
//! Everything is stopped on drop: the nodes first (SIGTERM to all at once, so their drains
//! overlap, while NATS still runs for their hand-over), then nats-server, then the sandbox,
//! then the temp directory goes.

#![allow(dead_code)]

// Loaded with #[path] from the test file, so nested modules name their files too.
#[path = "cluster/nats.rs"]
mod nats;

// NatsCluster: only tests/cluster_nats_ha.rs uses it.
#[allow(unused_imports)]
pub use nats::{NatsCluster, NatsServer};

use crate::service::{ACCOUNTS, Account, Extra, PATIENCE, SandboxProcess, ServiceProcess};
use crate::support::eventually;
use serde_json::Value;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `sessions.secret` every node shares (distinctive, so a grep for it cannot match by
/// accident).
pub const SECRET: &str = "cluster-secret-quokka-7731-narwhal";
/// `cluster.heartbeat_ms` and `cluster.node_timeout` (s): a dead node is noticed in ~2 s.
pub const HEARTBEAT_MS: u64 = 200;
pub const NODE_TIMEOUT: u64 = 2;

/// One service node and its `cluster.node_id`; derefs to its [`ServiceProcess`].
pub struct Node {
    pub id: String,
    pub service: ServiceProcess,
}

impl Deref for Node {
    type Target = ServiceProcess;
    fn deref(&self) -> &ServiceProcess {
        &self.service
    }
}

impl DerefMut for Node {
    fn deref_mut(&mut self) -> &mut ServiceProcess {
        &mut self.service
    }
}

impl Node {
    /// `GET /ready`: its status and JSON.
    pub async fn readiness(&self) -> (u16, Value) {
        self.get("/ready").await
    }

    /// The node ids this node sees alive, from `/ready`'s `cluster.live_nodes`, sorted.
    pub async fn live_nodes(&self) -> Vec<String> {
        let (_, body) = self.readiness().await;
        let mut ids: Vec<String> = body["cluster"]["live_nodes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// Wait until `/ready` answers 200.
    pub async fn wait_ready(&self, limit: Duration) -> Value {
        eventually(&format!("{} ready", self.id), limit, || async {
            let (status, body) = self.readiness().await;
            (status == 200).then_some(body)
        })
        .await
    }

    /// Wait until this node sees exactly `ids` alive.
    pub async fn wait_live(&self, ids: &[&str], limit: Duration) {
        let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        want.sort();
        let what = format!("{} sees live nodes {want:?}", self.id);
        eventually(&what, limit, || async {
            (self.live_nodes().await == want).then_some(())
        })
        .await
    }
}

/// The settings that make a service a cluster node: `extra` is merged after them (and
/// replaces any of them by key).
pub fn node_settings(id: &str, nats_url: &str, extra: Extra<'_>) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        ("cluster", "enabled = true".to_string()),
        ("cluster", format!("nats_urls = [\"{nats_url}\"]")),
        ("cluster", format!("node_id = \"{id}\"")),
        ("cluster", format!("heartbeat_ms = {HEARTBEAT_MS}")),
        ("cluster", format!("node_timeout = {NODE_TIMEOUT}")),
        ("sessions", format!("secret = \"{SECRET}\"")),
    ]
    .into_iter()
    .map(|(s, l)| (s.to_string(), l))
    .collect();
    all.extend(extra.iter().map(|(s, l)| (s.to_string(), l.to_string())));
    all
}

/// A sandbox portal, a nats-server and the nodes started so far, in one temp directory.
/// Field order is drop order: nodes, then NATS, then the sandbox, then the directory.
pub struct ClusterWorld {
    pub nodes: Vec<Node>,
    pub nats: NatsServer,
    pub sandbox: SandboxProcess,
    dir: tempfile::TempDir,
}

/// The sandbox's `i`-th account (0..3).
pub fn account(i: usize) -> &'static Account {
    &ACCOUNTS[i]
}

/// `node-a`, `node-b`, ... for the `i`-th node (0-based).
pub fn node_name(i: usize) -> String {
    format!("node-{}", (b'a' + i as u8) as char)
}

impl ClusterWorld {
    /// A sandbox, a running nats-server and `n` nodes (`node-a`...), each with `extra`.
    pub async fn start(n: usize, extra: Extra<'_>) -> ClusterWorld {
        let mut world = ClusterWorld::without_nodes(true).await;
        for i in 0..n {
            world.start_node(&node_name(i), extra).await;
        }
        world
    }

    /// A sandbox and a nats-server (started or only given a port), no node yet.
    pub async fn without_nodes(nats_running: bool) -> ClusterWorld {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = SandboxProcess::start(&dir.path().join("sandbox")).await;
        let nats_dir = dir.path().join("nats");
        let nats = if nats_running {
            NatsServer::start(&nats_dir).await
        } else {
            NatsServer::not_started(&nats_dir)
        };
        ClusterWorld {
            nodes: Vec::new(),
            nats,
            sandbox,
            dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Node `id`'s data directory (the same across its restarts).
    pub fn data_dir(&self, id: &str) -> PathBuf {
        self.dir.path().join(id).join("data")
    }

    /// Start node `id` (on its data directory, which an earlier run of it may have used)
    /// and add it to [`Self::nodes`], replacing (and so stopping) an entry of the same id.
    /// Returns once its `/health` answers.
    pub async fn start_node(&mut self, id: &str, extra: Extra<'_>) -> &mut Node {
        self.nodes.retain(|n| n.id != id);
        let node = self.spawn_node(id, extra).await;
        self.nodes.push(node);
        self.nodes.last_mut().unwrap()
    }

    /// Start node `id` without adding it to [`Self::nodes`] (the caller owns it).
    pub async fn spawn_node(&self, id: &str, extra: Extra<'_>) -> Node {
        let settings = node_settings(id, &self.nats.url(), extra);
        let settings: Vec<(&str, &str)> = settings
            .iter()
            .map(|(s, l)| (s.as_str(), l.as_str()))
            .collect();
        let service = ServiceProcess::start(
            &self.dir.path().join(id),
            &self.data_dir(id),
            self.sandbox.url(),
            &settings,
        )
        .await;
        Node {
            id: id.to_string(),
            service,
        }
    }

    /// The node of id `id`.
    pub fn node(&self, id: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    pub fn node_mut(&mut self, id: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"))
    }

    /// Remove node `id` from the world (to stop it, or drop it, on the caller's terms).
    pub fn take_node(&mut self, id: &str) -> Node {
        let i = self
            .nodes
            .iter()
            .position(|n| n.id == id)
            .unwrap_or_else(|| panic!("no node {id}"));
        self.nodes.remove(i)
    }

    pub fn ids(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.id.as_str()).collect()
    }

    /// The first node (in start order) that is not `node`.
    pub fn other_than(&self, node: &str) -> String {
        self.ids()
            .into_iter()
            .find(|n| *n != node)
            .unwrap_or_else(|| panic!("no node besides {node}"))
            .to_string()
    }

    /// Wait until every node answers `/ready` 200 and sees every node of [`Self::nodes`].
    pub async fn wait_formed(&self) {
        let ids = self.ids();
        for node in &self.nodes {
            node.wait_ready(PATIENCE).await;
            node.wait_live(&ids, PATIENCE).await;
        }
    }
}

impl Drop for ClusterWorld {
    fn drop(&mut self) {
        // All drains at once; each node's own drop then waits for its exit (and kills what
        // it leaves).
        for node in &mut self.nodes {
            node.begin_stop();
        }
        self.nodes.clear();
        self.nats.kill();
    }
}
