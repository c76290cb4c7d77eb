//! A draining node hands its sessions over (SIGTERM, a rolling deploy): no captcha, no
//! lost id.

use super::view::NodeView;
use super::{loop_of, to_bytes};
use crate::actors::Sessions;
use crate::cluster::records::{NodeRecord, SessionRecord};
use crate::cluster::{Cluster, Link};
use async_nats::jetstream::kv;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long the drain waits for the last snapshot copies to reach NATS.
const FLUSH_LIMIT: Duration = Duration::from_secs(10);

/// Hand every session this node holds to live nodes, then return (the local close
/// follows). Call after in-flight requests finished and before the sessions close.
///
/// For each session with a snapshot: its snapshot is written once more (so the cluster's
/// copy holds its latest cookies) and the copy awaited, its record moved by
/// compare-and-set to a live node that is not draining (round robin, the most free
/// capacity first), and its Chrome here closed. The target's takeover loop sees a record
/// naming it that it does not hold and adopts the session from the copy.
///
/// Without NATS, or with no other live node, nothing moves: the sessions close here, their
/// snapshots stay (on disk and in the cluster), and this node's restart, or the survivors
/// once this node's heartbeat is stale, bring them back.
pub async fn hand_over(cluster: &Cluster, sessions: &Sessions) {
    let began = Instant::now();
    if let Some(takeover) = loop_of(cluster) {
        takeover.draining.store(true, Ordering::SeqCst);
    }
    let link = match cluster.link() {
        Some(link) if cluster.connected() => link,
        _ => {
            tracing::warn!(
                event = "hand_over_skipped",
                reason = "NATS not connected",
                "sessions close here; their snapshots stay for a restart or the survivors"
            );
            return;
        }
    };
    // The heartbeats say so from the next beat (app.rs set it already; idempotent), but a
    // node with nothing to hand over exits before that beat: said at once, so no other
    // node draining meanwhile picks this one as its target.
    cluster.set_draining();
    mark_draining(cluster, &link).await;
    let mut ids = Vec::new();
    for scope in super::configured_scopes(sessions.settings()) {
        ids.extend(
            sessions
                .list(&scope)
                .await
                .into_iter()
                .map(|s| s.session_id),
        );
    }
    // Still logging in (no snapshot yet): nothing to hand over; it closes here.
    ids.retain(|id| sessions.snapshots().latest(id).is_some());
    for id in &ids {
        // Rewritten as it is: the mirror copies the sealed bytes to `snapshots[id]`.
        let _ = sessions.snapshots().update(id, |_| {}).await;
    }
    if let Some(membership) = crate::cluster::membership::membership_of(cluster)
        && !membership.flush(&ids, FLUSH_LIMIT).await
    {
        tracing::warn!(
            event = "hand_over_copies_late",
            "some snapshot copies did not reach NATS in time; those sessions restore from an older copy"
        );
    }
    let targets = NodeView::of(cluster).targets(cluster.node_id());
    if targets.is_empty() {
        if !ids.is_empty() {
            tracing::warn!(
                event = "hand_over_skipped",
                reason = "no other live node",
                sessions = ids.len(),
                "sessions close here; their snapshots stay for a restart"
            );
        }
        return;
    }
    let mut releases = tokio::task::JoinSet::new();
    let mut moved = 0;
    for (i, id) in ids.iter().enumerate() {
        let target = &targets[i % targets.len()];
        if move_record(&link, cluster.node_id(), id, target).await {
            moved += 1;
            tracing::info!(event = "session_handed_over", session_id = %id, to = %target);
            let (sessions, id) = (sessions.clone(), id.clone());
            releases.spawn(async move { sessions.release(&id).await });
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), releases.join_all()).await;
    tracing::info!(
        event = "sessions_handed_over",
        moved,
        held = ids.len(),
        to = ?targets,
        took_ms = began.elapsed().as_millis() as u64
    );
}

/// `sessions[id]` from `me` to `target`, compare-and-set; false when it names another node
/// already (claimed meanwhile) or the write failed.
async fn move_record(link: &Link, me: &str, id: &str, target: &str) -> bool {
    let Ok(Some(entry)) = link.sessions.entry(id).await else {
        return false;
    };
    if entry.operation != kv::Operation::Put {
        return false;
    }
    let Ok(mut record) = serde_json::from_slice::<SessionRecord>(&entry.value) else {
        return false;
    };
    if record.node != me {
        return false;
    }
    record.node = target.to_string();
    match link
        .sessions
        .update(id, to_bytes(&record), entry.revision)
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(event = "hand_over_failed", session_id = %id, error = %e);
            false
        }
    }
}

/// Put this node's heartbeat record with `draining` now, rather than at the next beat.
async fn mark_draining(cluster: &Cluster, link: &Link) {
    let Ok(Some(entry)) = link.nodes.entry(cluster.node_id()).await else {
        return;
    };
    if entry.operation == kv::Operation::Put
        && let Ok(mut record) = serde_json::from_slice::<NodeRecord>(&entry.value)
        && !record.draining
    {
        record.draining = true;
        let _ = link.nodes.put(cluster.node_id(), to_bytes(&record)).await;
    }
}
