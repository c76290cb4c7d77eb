//! What the cluster's buckets hold, as JSON. Nothing secret: credential keys are HMACs,
//! snapshots are stored sealed.

use serde::{Deserialize, Serialize};

/// One node's heartbeat (`nodes` bucket, key = node id), put every `cluster.heartbeat_ms`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeRecord {
    pub node_id: String,
    pub advertise_url: String,
    /// Milliseconds since the Unix epoch, by the node's clock.
    pub heartbeat_at_ms: u64,
    pub started_at_ms: u64,
    /// Sessions this node owns (any state), and `sessions.max_sessions`.
    pub sessions: usize,
    pub capacity: usize,
    pub spares: usize,
    pub live_browsers: usize,
    /// MemAvailable of the machine, kB; 0 when unknown.
    pub mem_available_kb: u64,
    /// One-minute load average divided by the number of cores.
    pub cpu_load: f64,
    /// Shutting down: takes no new sessions, is handing its own over.
    pub draining: bool,
}

/// The session of one credential set (`owners` bucket, key = credential key). Created with
/// create-if-absent: the first `get_session` anywhere in the cluster wins.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OwnerRecord {
    pub session_id: String,
}

/// Who serves a session (`sessions` bucket, key = session id). Changed only by
/// compare-and-set on its revision: a node holding a session remembers the revision it
/// claimed, and one that finds another revision has lost the session (fencing).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRecord {
    pub node: String,
    pub credential_key: String,
    pub scope: String,
}
