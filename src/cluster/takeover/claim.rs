//! Taking over a dead node's sessions: compare-and-set on each record (one winner), then
//! the session restored from its snapshot under the same id.

use super::view::{NodeView, Rec, first_taker};
use super::{Takeover, note, to_bytes};
use crate::cluster::Link;
use crate::snapshot::Snapshot;
use std::collections::HashMap;
use std::time::{Duration, Instant};

impl Takeover {
    /// Claim the records of dead nodes this node should take: those it goes first for
    /// ([`first_taker`] among the takers), and any once the grace (one more
    /// `node_timeout`) has passed since this node saw their node dead.
    pub(super) async fn claim_dead(
        &self,
        link: &Link,
        nodes: &NodeView,
        records: &HashMap<String, Rec>,
    ) {
        let takers = nodes.takers();
        // This node's own heartbeat looks stale (it was paused, its heartbeat not yet
        // written again): it is no survivor until it is live again.
        let Some(_) = takers.iter().position(|n| *n == self.me()) else {
            return;
        };
        let grace = Duration::from_secs(self.cluster.settings().cluster.node_timeout);
        let dead_since = self.note_dead(nodes, records);
        for (id, rec) in records {
            let owner = rec.record.node.as_str();
            if owner == self.me() || nodes.is_live(owner) {
                continue;
            }
            let mine_first = takers[first_taker(id, takers.len())] == self.me();
            let waited = dead_since.get(owner).is_some_and(|t| t.elapsed() >= grace);
            if mine_first || waited {
                self.claim(link, id, rec).await;
            }
        }
    }

    /// When this node first saw each dead node (of a heartbeat record or named by a record)
    /// dead, logging each newly dead one; nodes live again are forgotten.
    fn note_dead(
        &self,
        nodes: &NodeView,
        records: &HashMap<String, Rec>,
    ) -> HashMap<String, Instant> {
        let mut dead_since = self.dead_since.lock().unwrap_or_else(|p| p.into_inner());
        dead_since.retain(|node, _| !nodes.is_live(node));
        let named = records.values().map(|r| r.record.node.as_str());
        for node in nodes.dead.iter().map(String::as_str).chain(named) {
            if node == self.me() || nodes.is_live(node) || dead_since.contains_key(node) {
                continue;
            }
            let sessions = records.values().filter(|r| r.record.node == node).count();
            tracing::warn!(event = "node_dead", node = %node, sessions, "no heartbeat for cluster.node_timeout; its sessions are taken over");
            dead_since.insert(node.to_string(), Instant::now());
        }
        dead_since.clone()
    }

    /// Compare-and-set `sessions[id]` from the dead node to this one; the winner adopts.
    /// The snapshot is read first, so the adoption follows the claim at once: a request
    /// routed here by the new record finds the session registered (restoring), not absent.
    async fn claim(&self, link: &Link, id: &str, rec: &Rec) {
        let snapshot = match self.best_snapshot(link, id).await {
            Ok(snapshot) => snapshot,
            Err(e) => {
                // Never read as "no snapshot" (that would end the session): next tick.
                tracing::debug!(event = "snapshot_read_failed", session_id = %id, error = %format!("{e:#}"));
                return;
            }
        };
        let mut record = rec.record.clone();
        let from = std::mem::replace(&mut record.node, self.me().to_string());
        let revision = match link
            .sessions
            .update(id, to_bytes(&record), rec.revision)
            .await
        {
            Ok(revision) => revision,
            Err(e) => {
                // Another survivor won (the watch brings its record), or NATS hiccuped.
                tracing::debug!(event = "session_claim_lost", session_id = %id, error = %e);
                return;
            }
        };
        note(
            &mut self.lock_records(),
            id.to_string(),
            Rec {
                record: record.clone(),
                revision,
                written_at: chrono::Utc::now().timestamp(),
            },
        );
        tracing::info!(event = "session_claimed", session_id = %id, from = %from, "took over a session of a dead node");
        match snapshot {
            Some(snapshot) => {
                if !self.sessions.adopt(snapshot).await && !self.draining() {
                    // Its credentials are live here under another id already (or the
                    // service is stopping): that session serves them; this id ends.
                    tracing::warn!(event = "session_lost", session_id = %id, from = %from, reason = "its credentials have another session here");
                    self.drop_records(link, id, &record.credential_key).await;
                }
            }
            None => {
                // Its node died before the session's first snapshot reached the cluster (a
                // login in progress): nothing to restore it from.
                tracing::warn!(event = "session_lost", session_id = %id, from = %from, reason = "no snapshot in the cluster; clients get 404 and log in again");
                self.drop_records(link, id, &record.credential_key).await;
            }
        }
    }

    async fn drop_records(&self, link: &Link, id: &str, key: &str) {
        if let Err(e) = crate::cluster::membership::forget(link, self.me(), id, key).await {
            tracing::warn!(event = "session_records_remove_failed", session_id = %id, error = %format!("{e:#}"));
        }
    }

    /// The newest snapshot of `id` this node can read: the cluster's copy or this node's own
    /// file (held back at start), by incarnation then last use; a tie goes to the local one
    /// (this node wrote it, the copy lags). Err when the cluster could not be asked: never
    /// taken for "no snapshot", which would end the session.
    pub(super) async fn best_snapshot(
        &self,
        link: &Link,
        id: &str,
    ) -> anyhow::Result<Option<Snapshot>> {
        let store = self.sessions.snapshots();
        let remote = match link.snapshots.get(id).await? {
            Some(sealed) => match store.open_sealed(id, &sealed) {
                Ok(snapshot) => Some(snapshot),
                Err(reason) => {
                    tracing::warn!(event = "snapshot_rejected", session_id = %id, reason = %reason, "the cluster's copy of a snapshot does not open (another sessions.secret?)");
                    None
                }
            },
            None => None,
        };
        let local = store.latest(id).map(|s| s.as_ref().clone());
        Ok(newest(remote, local))
    }
}

fn newest(remote: Option<Snapshot>, local: Option<Snapshot>) -> Option<Snapshot> {
    match (remote, local) {
        (Some(r), Some(l)) => {
            if (l.incarnation, l.last_used) >= (r.incarnation, r.last_used) {
                Some(l)
            } else {
                Some(r)
            }
        }
        (r, l) => r.or(l),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(incarnation: u64, used_s: i64, user: &str) -> Snapshot {
        let at = chrono::DateTime::from_timestamp(used_s, 0).unwrap();
        Snapshot {
            session_id: "session_0123456789abcdef0123456789abcdef".into(),
            username: user.into(),
            scope: String::new(),
            credential_key: "k".into(),
            keep_alive: false,
            created_at: at,
            last_used: at,
            incarnation,
            restarts: 0,
            password: None,
            captcha_key: None,
            browser: Default::default(),
        }
    }

    #[test]
    fn the_newest_snapshot_is_restored() {
        let pick = |r, l| newest(r, l).map(|s| s.username);
        assert_eq!(pick(None, None), None);
        assert_eq!(pick(Some(snapshot(1, 5, "r")), None).unwrap(), "r");
        assert_eq!(pick(None, Some(snapshot(1, 5, "l"))).unwrap(), "l");
        // Another node's incarnation beats an older local file however recent its use.
        assert_eq!(
            pick(Some(snapshot(3, 5, "r")), Some(snapshot(2, 9, "l"))).unwrap(),
            "r"
        );
        assert_eq!(
            pick(Some(snapshot(2, 5, "r")), Some(snapshot(2, 9, "l"))).unwrap(),
            "l"
        );
        // A tie: the local file, which the cluster's copy can only trail.
        assert_eq!(
            pick(Some(snapshot(2, 5, "r")), Some(snapshot(2, 5, "l"))).unwrap(),
            "l"
        );
    }
}
