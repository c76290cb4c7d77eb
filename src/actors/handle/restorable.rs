//! Which snapshots come back when the service starts. Read once, before the manager
//! exists, so its own module: the manager only ever sees the list this returns.

use crate::config::Settings;
use crate::snapshot::{Snapshot, SnapshotStore};

/// The snapshots worth bringing back: every persistent session, and regular sessions whose
/// `session_timeout` has not passed since their last use. The others are deleted. In
/// cluster mode the manager holds them until the cluster decides (see below).
pub(super) async fn restorable(settings: &Settings, store: &SnapshotStore) -> Vec<Snapshot> {
    let (snapshots, rejected) = store.load_all().await;
    let timeout = settings.session_timeout_span();
    let now = chrono::Utc::now();
    // The scopes clients can still reach: one per configured API token, or the open one.
    let tokens = &settings.server.api_tokens;
    let scopes: Vec<String> = if tokens.is_empty() {
        vec![String::new()]
    } else {
        tokens
            .iter()
            .map(|t| crate::credentials::token_scope(t.expose()))
            .collect()
    };
    let mut keep = Vec::new();
    for snapshot in snapshots {
        if !scopes.contains(&snapshot.scope) {
            // Its API token was removed (or tokens were turned on or off): no client could
            // ever use it again, and a persistent one would otherwise live for ever.
            tracing::info!(event = "session_closed", session_id = %snapshot.session_id, username = %snapshot.username, reason = "its API token is no longer configured");
            store.remove(&snapshot.session_id).await;
        } else if snapshot.keep_alive || snapshot.last_used + timeout > now {
            keep.push(snapshot);
        } else {
            tracing::info!(event = "session_expired", session_id = %snapshot.session_id, username = %snapshot.username, reason = "its session_timeout passed while the service was down");
            store.remove(&snapshot.session_id).await;
        }
    }
    if settings.cluster.enabled && !keep.is_empty() {
        // Another node may serve some of these now (it took them over while this one was
        // down): restoring one here would make two Chromes serve it. The manager registers
        // them without restoring (requests wait), and the takeover loop decides for each
        // once the cluster can be asked (src/cluster/takeover/held.rs): restored here, or
        // released to the node that serves it. NATS unreachable at start: they wait for it.
        tracing::info!(
            event = "snapshots_held",
            held = keep.len(),
            rejected = rejected.len(),
            "cluster mode: local snapshots wait for the cluster's records before any restore"
        );
        return keep;
    }
    if !keep.is_empty() || !rejected.is_empty() {
        tracing::info!(
            event = "snapshots_read",
            restoring = keep.len(),
            rejected = rejected.len()
        );
    }
    keep
}
