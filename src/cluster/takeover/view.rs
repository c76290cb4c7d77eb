//! What the takeover loop reads of the cluster: which nodes live (from their heartbeats),
//! a full copy of the `sessions` bucket, and which survivor goes first for a session.

use crate::cluster::records::{NodeRecord, SessionRecord};
use crate::cluster::{Cluster, Link};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use std::collections::HashMap;

/// One `sessions[id]` as last seen.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rec {
    pub record: SessionRecord,
    /// Its KV revision: claims compare-and-set on it.
    pub revision: u64,
    /// When it was written (NATS server time, Unix seconds).
    pub written_at: i64,
}

impl Rec {
    /// `None` for a delete or purge marker, or a value that is not a record.
    pub fn of(entry: &kv::Entry) -> Option<Rec> {
        if entry.operation != kv::Operation::Put {
            return None;
        }
        Some(Rec {
            record: serde_json::from_slice(&entry.value).ok()?,
            revision: entry.revision,
            written_at: entry.created.unix_timestamp(),
        })
    }
}

/// The nodes as their heartbeats show them now.
#[derive(Debug, Default)]
pub(super) struct NodeView {
    /// Live nodes (a heartbeat stored less than `cluster.node_timeout` ago), by id.
    pub live: HashMap<String, NodeRecord>,
    /// Nodes with a heartbeat record that is too old.
    pub dead: Vec<String>,
}

impl NodeView {
    /// Helper A's live view (`nodes.rs`: heartbeats aged by the NATS server's clock; this
    /// node always live).
    pub fn of(cluster: &Cluster) -> NodeView {
        NodeView {
            live: cluster
                .live_nodes()
                .into_iter()
                .map(|n| (n.node_id.clone(), n))
                .collect(),
            dead: cluster.dead_nodes(),
        }
    }

    /// Live. A node without any heartbeat record counts as dead: placement only ever names
    /// live nodes, so a record naming one that has none outlived its node.
    pub fn is_live(&self, node: &str) -> bool {
        self.live.contains_key(node)
    }

    /// Live nodes that take sessions (not draining), sorted by id: every node computes the
    /// same list, so the same survivor goes first for each session.
    pub fn takers(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .live
            .values()
            .filter(|n| !n.draining)
            .map(|n| n.node_id.as_str())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Takers other than `me`, the most free capacity first (ties by load, then id).
    pub fn targets(&self, me: &str) -> Vec<String> {
        let mut nodes: Vec<&NodeRecord> = self
            .live
            .values()
            .filter(|n| !n.draining && n.node_id != me)
            .collect();
        let free = |n: &NodeRecord| n.capacity as i64 - n.sessions as i64;
        nodes.sort_by(|a, b| {
            free(b)
                .cmp(&free(a))
                .then(a.cpu_load.total_cmp(&b.cpu_load))
                .then(a.node_id.cmp(&b.node_id))
        });
        nodes.into_iter().map(|n| n.node_id.clone()).collect()
    }
}

/// Every record of the `sessions` bucket now, with its revision.
pub(super) async fn scan(link: &Link) -> anyhow::Result<HashMap<String, Rec>> {
    let mut keys = link.sessions.keys().await?;
    let mut all = HashMap::new();
    while let Some(key) = keys.next().await {
        let key = key?;
        if let Some(entry) = link.sessions.entry(&key).await?
            && let Some(rec) = Rec::of(&entry)
        {
            all.insert(key, rec);
        }
    }
    Ok(all)
}

/// Which of `n` takers goes first for session `id`: FNV-1a of the id, so every node (and
/// every build: std's hasher is not promised stable) agrees, and a dead node's sessions
/// spread over the survivors.
pub(super) fn first_taker(id: &str, n: usize) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % n.max(1) as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, heartbeat_at_ms: u64, sessions: usize, draining: bool) -> NodeRecord {
        NodeRecord {
            node_id: id.into(),
            advertise_url: String::new(),
            heartbeat_at_ms,
            started_at_ms: 0,
            sessions,
            capacity: 10,
            spares: 0,
            live_browsers: 0,
            mem_available_kb: 0,
            cpu_load: 0.0,
            draining,
        }
    }

    fn view(live: Vec<NodeRecord>, dead: &[&str]) -> NodeView {
        NodeView {
            live: live.into_iter().map(|n| (n.node_id.clone(), n)).collect(),
            dead: dead.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn draining_nodes_live_but_take_nothing() {
        let view = view(vec![node("c", 0, 0, true), node("a", 0, 0, false)], &["b"]);
        assert!(view.is_live("a") && view.is_live("c"));
        assert!(!view.is_live("b") && !view.is_live("never-seen"));
        // A draining node lives (its sessions are not taken over) but takes nothing.
        assert_eq!(view.takers(), vec!["a"]);
    }

    #[test]
    fn hand_over_targets_the_most_free_capacity_first() {
        let view = view(
            vec![
                node("me", 10, 0, true),
                node("busy", 10, 8, false),
                node("idle", 10, 1, false),
                node("also-idle", 10, 1, false),
            ],
            &[],
        );
        assert_eq!(view.targets("me"), vec!["also-idle", "idle", "busy"]);
    }

    #[test]
    fn first_takers_agree_and_spread() {
        assert_eq!(first_taker("session_x", 3), first_taker("session_x", 3));
        let mut counts = [0usize; 3];
        for i in 0..300 {
            counts[first_taker(&format!("session_{i:032x}"), 3)] += 1;
        }
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
        assert_eq!(first_taker("anything", 0), 0);
    }
}
