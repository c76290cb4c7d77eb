//! Heartbeats and the live-node view: each node puts its
//! [`NodeRecord`] every `cluster.heartbeat_ms`; a node whose heartbeat is older than
//! `cluster.node_timeout` is dead. Placement picks the live node with the most free
//! capacity.
//!
//! # Which clock says "older"
//!
//! A heartbeat's age is measured from the KV entry's `created` time, which the NATS server
//! stamps when it stores the put, not from the record's `heartbeat_at_ms` (the sender's
//! clock). Every node's heartbeat is then dated by one clock: a node whose clock runs
//! ahead cannot look alive long after it died, nor one whose clock lags look dead while
//! it beats. What remains is the offset between this node's clock and the server's,
//! the same for every node judged here, and small next to `node_timeout` under NTP.
//!
//! Older than the newest heartbeat seen, not than this node's clock, and never right after
//! a silence: a NATS server lost must not make healthy nodes look dead (`nodes/liveness.rs`).

use super::Cluster;
use super::records::NodeRecord;
use crate::actors::Sessions;
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

mod liveness;
use liveness::{Arrivals, Seen, fresh, newest_ms};

/// What this node knows of every node, itself included.
pub(super) struct Nodes {
    /// Every node record the watch delivered, by node id.
    seen: RwLock<HashMap<String, Seen>>,
    /// This node's latest record, built by the heartbeat: the view shows this node with
    /// its current numbers even while NATS is away.
    own: RwLock<NodeRecord>,
    draining: AtomicBool,
    /// When heartbeats arrive (a silence starts a grace: see `liveness`).
    arrivals: Mutex<Arrivals>,
}

impl Nodes {
    pub(super) fn new(node_id: &str, advertise_url: &str, capacity: usize) -> Nodes {
        let now = now_ms();
        Nodes {
            seen: RwLock::default(),
            own: RwLock::new(NodeRecord {
                node_id: node_id.to_string(),
                advertise_url: advertise_url.to_string(),
                heartbeat_at_ms: now,
                started_at_ms: now,
                sessions: 0,
                capacity,
                spares: 0,
                live_browsers: 0,
                mem_available_kb: 0,
                cpu_load: 0.0,
                draining: false,
            }),
            draining: AtomicBool::new(false),
            arrivals: Mutex::default(),
        }
    }

    /// Whether heartbeats came again after a silence less than `timeout` ago.
    fn resumed_within(&self, timeout: Duration) -> bool {
        let arrivals = self.arrivals.lock().unwrap_or_else(|p| p.into_inner());
        arrivals.resumed_within(Instant::now(), timeout)
    }

    fn own(&self) -> NodeRecord {
        self.own.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Take a heartbeat record from the watch; `silence`: a longer wait since the previous
    /// one starts the grace of the module's doc.
    fn note(&self, entry: &kv::Entry, silence: Duration) {
        (self.arrivals.lock().unwrap_or_else(|p| p.into_inner())).arrived(Instant::now(), silence);
        let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
        if entry.operation != kv::Operation::Put {
            seen.remove(&entry.key);
            return;
        }
        // A value that is not a record (another version's, a hand edit) names no node.
        let Ok(record) = serde_json::from_slice::<NodeRecord>(&entry.value) else {
            seen.remove(&entry.key);
            return;
        };
        let written_at_ms = (entry.created.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
        seen.insert(
            entry.key.clone(),
            Seen {
                record,
                written_at_ms,
            },
        );
    }
}

impl Cluster {
    /// Mark this node as shutting down: its heartbeats say so from the next beat on, and
    /// [`Cluster::pick_node`] stops placing new sessions here.
    pub fn set_draining(&self) {
        self.inner.nodes.draining.store(true, Ordering::SeqCst);
        self.inner
            .nodes
            .own
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .draining = true;
    }

    pub fn is_draining(&self) -> bool {
        self.inner.nodes.draining.load(Ordering::SeqCst)
    }

    fn timeout_ms(&self) -> u64 {
        self.settings().cluster.node_timeout * 1000
    }

    /// Whether `seen` counts as alive, `newest` being the newest heartbeat's time.
    fn alive(&self, seen: &Seen, newest: u64) -> bool {
        fresh(seen, newest, self.timeout_ms())
            || self
                .inner
                .nodes
                .resumed_within(Duration::from_millis(self.timeout_ms()))
    }

    /// `f` over the heartbeats seen and the newest one's time (what ages are measured
    /// against), under one read of the view.
    fn read_seen<R>(&self, f: impl FnOnce(&HashMap<String, Seen>, u64) -> R) -> R {
        let seen = self
            .inner
            .nodes
            .seen
            .read()
            .unwrap_or_else(|p| p.into_inner());
        f(&seen, newest_ms(&seen))
    }

    /// The live nodes, sorted by id: this node always (with its latest numbers), and every
    /// other whose last heartbeat was stored less than `cluster.node_timeout` before the
    /// newest one seen (see the module's doc).
    pub fn live_nodes(&self) -> Vec<NodeRecord> {
        let me = self.node_id();
        let mut live: Vec<NodeRecord> = self.read_seen(|seen, now| {
            seen.values()
                .filter(|s| s.record.node_id != me && self.alive(s, now))
                .map(|s| s.record.clone())
                .collect()
        });
        live.push(self.inner.nodes.own());
        live.sort_by(|a, b| a.node_id.cmp(&b.node_id));
        live
    }

    /// Whether `node` is live (this node always is).
    pub fn is_live(&self, node: &str) -> bool {
        if node == self.node_id() {
            return true;
        }
        self.read_seen(|seen, now| seen.get(node).is_some_and(|s| self.alive(s, now)))
    }

    /// Nodes whose heartbeat record is older than `cluster.node_timeout` next to the newest
    /// one seen, sorted (never this one). While no heartbeat reaches this node (NATS away,
    /// the watch being re-created) the view stands still and nobody turns dead; callers
    /// acting on this still check [`Cluster::connected`] and allow a grace after
    /// reconnecting.
    pub fn dead_nodes(&self) -> Vec<String> {
        let mut dead: Vec<String> = self.read_seen(|seen, now| {
            seen.iter()
                .filter(|(id, s)| *id != self.node_id() && !self.alive(s, now))
                .map(|(id, _)| id.clone())
                .collect()
        });
        dead.sort();
        dead
    }

    /// Where a new session goes: the live node, not draining, with the most free capacity
    /// (`capacity - sessions`), ties broken by the lower `cpu_load`, then the lower id. This
    /// node when no other qualifies.
    pub fn pick_node(&self) -> String {
        rank(&self.live_nodes())
            .map(|r| r.node_id.clone())
            .unwrap_or_else(|| self.node_id().to_string())
    }

    /// Start the heartbeat: every `cluster.heartbeat_ms`, this node's record is rebuilt and,
    /// when connected, put to the `nodes` bucket. Abort the handle to stop it.
    pub(super) fn spawn_heartbeat(&self, sessions: Sessions) -> tokio::task::JoinHandle<()> {
        tokio::spawn(heartbeat(self.clone(), sessions))
    }

    /// Start the watch keeping the view of the `nodes` bucket.
    pub(super) fn spawn_node_watch(&self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(watch(self.clone()))
    }
}

/// The best node for a new session among `nodes` (see [`Cluster::pick_node`]); `None` when
/// every one is draining.
pub fn rank(nodes: &[NodeRecord]) -> Option<&NodeRecord> {
    nodes.iter().filter(|n| !n.draining).min_by(|a, b| {
        let free = |n: &NodeRecord| n.capacity.saturating_sub(n.sessions);
        free(b)
            .cmp(&free(a))
            .then(a.cpu_load.total_cmp(&b.cpu_load))
            .then(a.node_id.cmp(&b.node_id))
    })
}

async fn heartbeat(cluster: Cluster, sessions: Sessions) {
    let every = Duration::from_millis(cluster.settings().cluster.heartbeat_ms.max(50));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Logged on change only: a beat every 200 ms must not flood the log while NATS is away.
    let mut failing = false;
    loop {
        tick.tick().await;
        let record = measure(&cluster, &sessions);
        *cluster
            .inner
            .nodes
            .own
            .write()
            .unwrap_or_else(|p| p.into_inner()) = record.clone();
        if !cluster.connected() {
            continue;
        }
        let Some(link) = cluster.link() else {
            continue;
        };
        let Ok(value) = serde_json::to_vec(&record) else {
            continue;
        };
        // A put stuck on a half-dead connection must not delay the next beat for long.
        let put = link.nodes.put(cluster.node_id(), value.into());
        let result = match tokio::time::timeout(every.max(Duration::from_secs(1)), put).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_string()),
        };
        match result {
            Ok(()) if failing => {
                failing = false;
                tracing::info!(event = "heartbeat_resumed", node = %cluster.node_id());
            }
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(event = "heartbeat_failed", node = %cluster.node_id(), %error, "heartbeat not stored; other nodes will count this one dead after cluster.node_timeout");
            }
            _ => {}
        }
    }
}

/// This node's record now.
fn measure(cluster: &Cluster, sessions: &Sessions) -> NodeRecord {
    let mut record = cluster.inner.nodes.own();
    record.heartbeat_at_ms = now_ms();
    record.sessions = sessions.counts().0;
    record.capacity = sessions.settings().sessions.max_sessions;
    record.spares = sessions.spare_browsers();
    record.live_browsers = crate::portal::live_browsers();
    record.mem_available_kb = mem_available_kb().unwrap_or(0);
    record.cpu_load = cpu_load().unwrap_or(0.0);
    record.draining = cluster.is_draining();
    record
}

/// MemAvailable from /proc/meminfo, kB.
fn mem_available_kb() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&text)
}

fn parse_mem_available(meminfo: &str) -> Option<u64> {
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One-minute load average per core.
fn cpu_load() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let load: f64 = text.split_whitespace().next()?.parse().ok()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Some(load / cores as f64)
}

/// Keep [`Nodes::seen`] in step with the `nodes` bucket. A watch delivers the last record
/// of every node first, then each change. After a reconnect the watch is opened again, so
/// the view is rebuilt from what the bucket holds now, whatever the old one missed.
async fn watch(cluster: Cluster) {
    let beat = cluster.settings().cluster.heartbeat_ms;
    let silence = Duration::from_millis(2 * beat + 500);
    let mut connections = cluster.connections();
    loop {
        let link = cluster.linked().await;
        connections.borrow_and_update();
        match link.nodes.watch_all().await {
            Ok(mut changes) => loop {
                tokio::select! {
                    change = changes.next() => match change {
                        Some(Ok(entry)) => cluster.inner.nodes.note(&entry, silence),
                        Some(Err(e)) => {
                            tracing::debug!(event = "nodes_watch_error", error = %e);
                            break;
                        }
                        None => break,
                    },
                    // Reconnected: the watch's consumer may be gone with the server's
                    // state (a NATS restart without its store); open a new one.
                    _ = connections.changed() => break,
                }
            },
            Err(e) => tracing::debug!(event = "nodes_watch_error", error = %e),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, sessions: usize, capacity: usize, cpu_load: f64) -> NodeRecord {
        NodeRecord {
            node_id: id.into(),
            advertise_url: String::new(),
            heartbeat_at_ms: 0,
            started_at_ms: 0,
            sessions,
            capacity,
            spares: 0,
            live_browsers: 0,
            mem_available_kb: 0,
            cpu_load,
            draining: false,
        }
    }

    fn best(nodes: &[NodeRecord]) -> Option<&str> {
        rank(nodes).map(|n| n.node_id.as_str())
    }

    #[test]
    fn the_most_free_capacity_wins_not_the_fewest_sessions() {
        // b has more sessions but a larger capacity: 40 free against a's 8.
        let nodes = [node("a", 2, 10, 0.1), node("b", 10, 50, 0.9)];
        assert_eq!(best(&nodes), Some("b"));
    }

    #[test]
    fn ties_go_to_the_lower_load_then_the_lower_id() {
        let nodes = [
            node("c", 1, 10, 0.5),
            node("a", 1, 10, 0.5),
            node("b", 1, 10, 0.2),
        ];
        assert_eq!(best(&nodes), Some("b"));
        let nodes = [node("c", 1, 10, 0.5), node("a", 1, 10, 0.5)];
        assert_eq!(best(&nodes), Some("a"));
    }

    #[test]
    fn draining_nodes_and_full_nodes_rank_last_or_not_at_all() {
        let mut a = node("a", 0, 10, 0.0);
        a.draining = true;
        let full = node("b", 12, 10, 0.0);
        assert_eq!(best(&[a.clone(), full.clone()]), Some("b"));
        assert_eq!(best(&[a]), None);
    }

    #[test]
    fn mem_available_is_read_from_meminfo() {
        let text = "MemTotal:       24000000 kB\nMemFree:  1 kB\nMemAvailable:   22000123 kB\n";
        assert_eq!(parse_mem_available(text), Some(22_000_123));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
    }
}
