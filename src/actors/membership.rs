//! What the SessionManager tells a cluster it belongs to (cluster mode only; see
//! `src/cluster/`). The actors know nothing of NATS: the cluster layer implements this.

use crate::snapshot::SnapshotMirror;

/// Told of what changes a session's place in the cluster. Every call returns at once (the
/// manager must never wait on the network): implementations hand the work to a task.
/// Written snapshots arrive through [`SnapshotMirror`], sealed.
pub trait Membership: SnapshotMirror {
    /// Session `id` (credential key `key`) ended for good: closed by a client, expired,
    /// evicted or dropped. Not called for a session released to another node or closed by
    /// a shutdown: those live on.
    fn session_gone(&self, id: &str, key: &str);
}
