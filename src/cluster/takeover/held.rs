//! Sessions held back at start (cluster mode): registered from this node's own snapshot
//! files, so requests for them wait, but not restored until the cluster's records say
//! whose they are (another node may have taken them over while this one was down).

use super::view::Rec;
use super::{Takeover, to_bytes};
use crate::cluster::Link;
use crate::cluster::records::{OwnerRecord, SessionRecord};
use async_nats::jetstream::kv;
use std::collections::{HashMap, HashSet};

impl Takeover {
    /// For each session still held back: a record naming this node → adopted (restored from
    /// the newer of its file and the cluster's copy); naming another node → the fence
    /// releases it (its waiters retry and find that node; its file goes; a dead node's is
    /// then claimed from the cluster's copy like any other); no record (on full checks
    /// only, when the copy is complete) → registered here again, unless its credentials
    /// have another session now.
    pub(super) async fn held_back(
        &self,
        link: &Link,
        records: &HashMap<String, Rec>,
        held: &HashSet<String>,
        full: bool,
    ) {
        let ids: Vec<String> = self.lock_held_back().iter().cloned().collect();
        for id in ids {
            let done = if !held.contains(&id) {
                true // released, closed by a client, or adopted and up
            } else {
                match records.get(&id) {
                    Some(rec) if rec.record.node == self.me() => {
                        match self.best_snapshot(link, &id).await {
                            Ok(Some(snapshot)) => {
                                self.sessions.adopt(snapshot).await;
                                true
                            }
                            _ => false,
                        }
                    }
                    Some(_) => false,
                    None if full => self.unrecorded(link, &id).await,
                    None => false,
                }
            };
            if done {
                self.lock_held_back().remove(&id);
            }
        }
    }

    /// A held session the cluster has no record of: registered and adopted here, unless
    /// its credentials belong to another session now (then released). True once decided.
    async fn unrecorded(&self, link: &Link, id: &str) -> bool {
        let Some(snapshot) = self.sessions.snapshots().latest(id) else {
            return false;
        };
        let key = snapshot.credential_key.clone();
        let owner = match link.owners.entry(&key).await {
            Ok(entry) => entry
                .filter(|e| e.operation == kv::Operation::Put)
                .and_then(|e| serde_json::from_slice::<OwnerRecord>(&e.value).ok()),
            Err(_) => return false,
        };
        if owner.as_ref().is_some_and(|o| o.session_id != id) {
            tracing::info!(event = "snapshot_dropped", session_id = %id, "its credentials belong to another session now; its old snapshot here is deleted");
            self.sessions.release(id).await;
            return true;
        }
        let record = SessionRecord {
            node: self.me().to_string(),
            credential_key: key.clone(),
            scope: snapshot.scope.clone(),
        };
        if link.sessions.create(id, to_bytes(&record)).await.is_err() {
            return false; // a record appeared meanwhile: the next tick follows it
        }
        if owner.is_none() {
            let owner = OwnerRecord {
                session_id: id.to_string(),
            };
            let _ = link.owners.create(&key, to_bytes(&owner)).await;
        }
        tracing::info!(event = "session_record_restored", session_id = %id, "the cluster had no record of a session held here; registered and restored");
        self.sessions.adopt(snapshot.as_ref().clone()).await;
        true
    }
}
