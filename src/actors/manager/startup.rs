//! Bringing sessions back at start: every snapshot that was read is registered under its
//! old id at once (so clients holding the id wait instead of getting "not found", and
//! `get_session` with the same credentials finds it), then restored at most
//! `sessions.restore_concurrency` at a time, oldest use first.

use super::{Entry, ManagerMsg, Registry};
use crate::actors::shared::SessionShared;
use crate::credentials::Credentials;
use crate::snapshot::Snapshot;
use ractor::ActorRef;
use std::collections::VecDeque;
use std::sync::Arc;

impl Registry {
    /// Register restored sessions (state `restoring`) and queue them.
    ///
    /// Cluster mode registers them without queueing: another node may serve some of them
    /// now (it took them over while this one was down), and only the cluster's records can
    /// say. Registered, requests for them wait instead of finding nothing; the takeover
    /// loop then adopts each (`Adopt` queues it) or releases it (`Release`: waiters are told
    /// to retry, which finds the node that serves it).
    pub(super) fn register_restored(&mut self, mut snapshots: Vec<Snapshot>) {
        let hold = self.settings.cluster.enabled;
        snapshots.sort_by_key(|s| s.last_used);
        for snapshot in snapshots {
            let id = snapshot.session_id.clone();
            if self.by_id.contains_key(&id) || self.by_key.contains_key(&snapshot.credential_key) {
                continue;
            }
            let credentials = match (&snapshot.password, &snapshot.captcha_key) {
                (Some(password), Some(captcha_key)) => Some(Credentials {
                    username: snapshot.username.clone(),
                    password: password.clone(),
                    captcha_key: captcha_key.clone(),
                }),
                _ => None,
            };
            let entry = Entry {
                shared: Arc::new(SessionShared::restored(&snapshot)),
                scope: snapshot.scope.clone(),
                key: snapshot.credential_key.clone(),
                credentials,
                actor: None,
                // Carry on counting: profile directories and logs tell the incarnations apart.
                incarnation: snapshot.incarnation + 1,
                grant_waiters: Vec::new(),
                lease_waiters: Vec::new(),
                restarts: VecDeque::new(),
                // It was serving before: a failure now is a restart, not a failed first login.
                ever_ready: true,
                outage: None,
                restore_next: true,
                // Set when its restore starts and holds a slot.
                startup_restore: false,
                request_id: None,
            };
            crate::actors::directory::register(&id, &snapshot.scope);
            if hold {
                tracing::info!(event = "session_held", session_id = %id, username = %snapshot.username, "cluster mode: restored once the cluster's records say it is this node's");
            } else {
                tracing::info!(event = "session_restoring", session_id = %id, username = %snapshot.username, keep_alive = snapshot.keep_alive);
            }
            self.by_key
                .insert(snapshot.credential_key.clone(), id.clone());
            self.by_id.insert(id.clone(), entry);
            if !hold {
                self.restore_queue.push_back(id);
            }
        }
    }

    /// Cluster mode: queue the restore of a registered session (adopted, or held at start).
    pub(super) fn queue_restore(&mut self, id: String) {
        if let Some(entry) = self.by_id.get(&id) {
            tracing::info!(event = "session_restoring", session_id = %id, username = %entry.shared.username);
            self.restore_queue.push_back(id);
            self.restore_slot_freed();
        }
    }

    /// Registered at start in cluster mode and waiting for the cluster's word (see
    /// [`Self::register_restored`]): no actor, not queued, no restore under way.
    pub(super) fn is_held(&self, id: &str) -> bool {
        self.by_id.get(id).is_some_and(|e| {
            e.actor.is_none()
                && !e.startup_restore
                && e.shared.state() == crate::actors::shared::SessionState::Restoring
                && !self.restore_queue.iter().any(|q| q == id)
        })
    }

    /// Start queued restores while slots are free.
    pub(super) async fn restore_next(&mut self, myself: &ActorRef<ManagerMsg>) {
        let limit = self.settings.sessions.restore_concurrency.max(1);
        // The slots in use: restores under way, counted from the entries themselves.
        let mut restoring = self.by_id.values().filter(|e| e.startup_restore).count();
        while !self.shutting_down && restoring < limit {
            let Some(id) = self.restore_queue.pop_front() else {
                return;
            };
            // Closed (DELETE) while it waited its turn.
            let Some(entry) = self.by_id.get_mut(&id) else {
                continue;
            };
            entry.startup_restore = true;
            restoring += 1;
            self.spawn_session(myself, &id).await;
        }
    }

    /// A session restored at start came up, failed, or was removed (its `startup_restore`
    /// already cleared, or the entry gone): start the next one.
    pub(super) fn restore_slot_freed(&mut self) {
        if !self.restore_queue.is_empty() {
            let _ = self.me.send_message(ManagerMsg::RestoreNext);
        }
    }
}
