//! What the failover tests share (issue 15): the cluster's buckets read over NATS, Chromes
//! counted per node, the sandbox's captcha counter, waiting for a session to serve again.
//!
//! A test file using it declares, beside the harness's modules:
//!
//! ```ignore
//! #[path = "support/failover.rs"]
//! mod failover;
//! ```

#![allow(dead_code)]

use crate::cluster::{self, ClusterWorld};
use crate::service::PATIENCE;
use crate::support::{chrome_pids_under, eventually};
use async_nats::jetstream::{self, kv};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// The cluster's buckets as a test reads them.
pub struct Buckets {
    pub sessions: kv::Store,
    pub snapshots: kv::Store,
}

impl Buckets {
    pub async fn open(world: &ClusterWorld) -> Buckets {
        let client = async_nats::connect(world.nats.url()).await.unwrap();
        let js = jetstream::new(client);
        Buckets {
            sessions: js.get_key_value("emodal_sessions").await.unwrap(),
            snapshots: js.get_key_value("emodal_snapshots").await.unwrap(),
        }
    }

    /// The node `sessions[id]` names.
    pub async fn owner(&self, id: &str) -> Option<String> {
        let value = self.sessions.get(id).await.ok()??;
        let record: Value = serde_json::from_slice(&value).ok()?;
        record["node"].as_str().map(str::to_string)
    }

    /// Wait until the session's snapshot was copied to the cluster (a takeover restores
    /// from it; without one the session would be gone with its node).
    pub async fn wait_snapshot(&self, id: &str) {
        eventually(&format!("snapshots[{id}] in NATS"), PATIENCE, || async {
            self.snapshots.get(id).await.ok().flatten().map(|_| ())
        })
        .await;
    }
}

/// Live Chrome browsers under a node's data directory (one per live session: no spares).
pub fn chromes(data_dir: &Path) -> usize {
    chrome_pids_under(&data_dir.join("profiles")).len()
}

pub async fn captcha_tasks(world: &ClusterWorld) -> u64 {
    world.sandbox.stats().await["captcha_tasks"]
        .as_u64()
        .expect("captcha_tasks")
}

/// Repeat a business request on `node` until it answers 200; the time it took.
pub async fn serves_again(node: &cluster::Node, id: &str) -> Duration {
    let start = Instant::now();
    eventually(
        &format!("{id} answers via {}", node.id),
        PATIENCE,
        || async {
            let (status, body) = node.containers(id).await;
            assert!(
                matches!(status, 200 | 503),
                "{id} via {}: {status} {body}",
                node.id
            );
            (status == 200).then_some(())
        },
    )
    .await;
    start.elapsed()
}

pub async fn sandbox_config(world: &ClusterWorld, change: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/__sandbox/config", world.sandbox.url()))
        .json(&change)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "sandbox config: {}", r.status());
}

/// A three-node cluster, formed.
pub async fn three_nodes() -> ClusterWorld {
    let world = ClusterWorld::start(3, &[]).await;
    world.wait_formed().await;
    world
}

/// SIGCONT on drop: a failing test must not leave a stopped process (it would ignore the
/// harness's SIGTERM).
pub struct Continue(pub u32);

impl Drop for Continue {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the test's own child process.
        unsafe { libc::kill(self.0 as i32, libc::SIGCONT) };
    }
}
