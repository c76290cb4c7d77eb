//! Fencing (a session held here that another node claimed is released at once) and this
//! node's own records (adopted when handed over, put back when lost, aged out when a login
//! never came).

use super::view::Rec;
use super::{Takeover, note, to_bytes};
use crate::cluster::Link;
use crate::cluster::records::{OwnerRecord, SessionRecord};
use async_nats::jetstream::kv;
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Watch `sessions`: keep the loop's copy current, release at once a session this node
/// holds that another node claimed, and wake the loop when a record names this node.
/// Restarted after a loss (each restart asks the loop for a full check: the watch only
/// shows changes from its start).
pub(super) async fn watch(takeover: Weak<Takeover>, link: Link) {
    loop {
        let Some(t) = takeover.upgrade() else { return };
        let connected = t.cluster.connected();
        drop(t);
        if connected {
            match link.sessions.watch_all().await {
                Ok(mut changes) => {
                    if let Some(t) = takeover.upgrade() {
                        t.full_due.store(true, Ordering::SeqCst);
                        t.wake.notify_one();
                    }
                    while let Some(change) = changes.next().await {
                        let Some(t) = takeover.upgrade() else { return };
                        let Ok(entry) = change else { break };
                        t.changed(&entry);
                    }
                }
                Err(e) => tracing::debug!(event = "cluster_watch_failed", error = %e),
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl Takeover {
    fn changed(self: &Arc<Self>, entry: &kv::Entry) {
        let Some(rec) = Rec::of(entry) else {
            let mut records = self.lock_records();
            if records
                .get(&entry.key)
                .is_some_and(|r| r.revision < entry.revision)
            {
                records.remove(&entry.key);
            }
            return;
        };
        let node = rec.record.node.clone();
        note(&mut self.lock_records(), entry.key.clone(), rec);
        if node == self.me() {
            // Handed over to this node: adopt it now rather than at the next tick, so
            // requests routed here by the new record find it registered.
            let (me, id) = (self.clone(), entry.key.clone());
            tokio::spawn(async move { me.arrived(&id).await });
            self.wake.notify_one();
        } else {
            // Not held here: the manager answers false at once.
            let (me, id) = (self.clone(), entry.key.clone());
            tokio::spawn(async move { me.release(&id, &node).await });
        }
    }

    /// A record names this node now: adopt the session if it has a snapshot (a hand-over;
    /// a new session's claim has none, and one held here already is refused harmlessly).
    async fn arrived(&self, id: &str) {
        if self.draining() || self.forgetting(id) || !self.cluster.connected() {
            return;
        }
        let Some(link) = self.cluster.link() else {
            return;
        };
        let Ok(Some(snapshot)) = self.best_snapshot(&link, id).await else {
            return;
        };
        // A later change may have moved it on meanwhile.
        let still_mine = self
            .lock_records()
            .get(id)
            .is_some_and(|r| r.record.node == self.me());
        if still_mine && self.sessions.adopt(snapshot).await {
            tracing::info!(event = "session_arrived", session_id = %id, "a session whose record names this node: restoring it from its snapshot");
        }
    }

    async fn release(&self, id: &str, owner: &str) {
        if self.sessions.release(id).await {
            tracing::warn!(event = "session_fenced", session_id = %id, owner = %owner, "another node claimed this session; its Chrome here is closed");
        }
    }

    /// Release every session held here whose record names another node.
    pub(super) async fn fence(&self, records: &HashMap<String, Rec>, held: &HashSet<String>) {
        for id in held {
            if let Some(rec) = records.get(id)
                && rec.record.node != self.me()
            {
                self.release(id, &rec.record.node).await;
            }
        }
    }

    /// Records naming this node that it does not hold: adopt each from its snapshot (a
    /// hand-over, or this node's restart); with none, it is a login on its way here (the
    /// claim writes the record first), removed once it is older than any login could take.
    pub(super) async fn own_records(
        &self,
        link: &Link,
        records: &HashMap<String, Rec>,
        held: &HashSet<String>,
    ) {
        let settings = &self.sessions.settings().sessions;
        let login_window = (settings.login_timeout + 60) as i64;
        for (id, rec) in records {
            if rec.record.node != self.me() || held.contains(id) || self.forgetting(id) {
                continue;
            }
            // The copy may lag: act only on the record as it is now.
            let now = match link.sessions.entry(id).await {
                Ok(Some(entry)) => Rec::of(&entry),
                Ok(None) => None,
                Err(_) => continue,
            };
            let Some(now) = now.filter(|r| r.record.node == self.me()) else {
                continue;
            };
            match self.best_snapshot(link, id).await {
                Ok(Some(snapshot)) => {
                    // Ended here meanwhile (closed or expired, its records on their way out)?
                    if self.forgetting(id) {
                        continue;
                    }
                    if self.sessions.adopt(snapshot).await {
                        tracing::info!(event = "session_arrived", session_id = %id, "a session whose record names this node: restoring it from its snapshot");
                    }
                }
                Ok(None) => {
                    let age = chrono::Utc::now().timestamp() - now.written_at;
                    if age > login_window {
                        tracing::info!(event = "session_record_expired", session_id = %id, age_s = age, "a session record naming this node never got a session; removed");
                        let _ = crate::cluster::membership::forget(
                            link,
                            self.me(),
                            id,
                            &now.record.credential_key,
                        )
                        .await;
                    }
                }
                Err(e) => {
                    tracing::debug!(event = "snapshot_read_failed", session_id = %id, error = %format!("{e:#}"))
                }
            }
        }
    }

    /// Sessions held here without a record (NATS lost them, or a restart of NATS without its
    /// store): put back, each only if absent (a record that appeared meanwhile wins).
    pub(super) async fn missing_records(
        &self,
        link: &Link,
        records: &HashMap<String, Rec>,
        held: &HashSet<String>,
    ) {
        let held_back = self.lock_held_back().clone();
        for id in held
            .iter()
            .filter(|id| !records.contains_key(*id) && !held_back.contains(*id))
        {
            // No snapshot yet: still logging in, its record is the claim's business.
            let Some(snapshot) = self.sessions.snapshots().latest(id) else {
                continue;
            };
            let record = SessionRecord {
                node: self.me().to_string(),
                credential_key: snapshot.credential_key.clone(),
                scope: snapshot.scope.clone(),
            };
            if link.sessions.create(id, to_bytes(&record)).await.is_ok() {
                let owner = OwnerRecord {
                    session_id: id.clone(),
                };
                let _ = link
                    .owners
                    .create(&snapshot.credential_key, to_bytes(&owner))
                    .await;
                tracing::info!(event = "session_record_restored", session_id = %id, "this node's record of a session it holds was missing; put back");
            }
        }
    }

    /// Its end is being written to the cluster (closed, expired): not to be brought back.
    fn forgetting(&self, id: &str) -> bool {
        crate::cluster::membership::membership_of(&self.cluster).is_some_and(|m| m.has_ended(id))
    }

    /// From the moment shutdown starts (the node's draining flag, set before in-flight
    /// requests are waited for), not only once the hand-over runs: a draining node must not
    /// start Chromes for sessions it adopts or claims.
    pub(super) fn draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst) || self.cluster.is_draining()
    }
}
