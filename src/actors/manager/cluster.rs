//! Cluster mode: sessions moving between nodes. `Adopt` brings one in from the snapshot
//! another node left (a dead or draining node's), `Release` lets one go to another node
//! (it claimed the session: this node's Chrome must stop serving it at once).

use super::Registry;
use super::closing::end_actor;
use crate::actors::shared::SessionState;
use crate::actors::{Fault, SessionError};
use crate::snapshot::Snapshot;
use ractor::RpcReplyPort;

impl Registry {
    /// Register `snapshot`'s session as restored and start bringing it up; false when its
    /// id or credentials are here already (nothing changes then). A session held at start
    /// (cluster mode, see `register_restored`) is brought up from `snapshot`, which may be
    /// newer than the file it was registered from.
    pub(super) fn adopt(&mut self, snapshot: Snapshot) -> bool {
        if self.shutting_down {
            return false;
        }
        let id = snapshot.session_id.clone();
        if self.by_id.contains_key(&id) {
            let same = self
                .by_id
                .get(&id)
                .is_some_and(|e| e.key == snapshot.credential_key);
            if !same || !self.is_held(&id) {
                return false;
            }
            self.store.adopt(snapshot);
            tracing::info!(event = "session_adopted", session_id = %id, "a session held at start is this node's: restoring it");
            self.queue_restore(id);
            return true;
        }
        if self.by_key.contains_key(&snapshot.credential_key) {
            return false;
        }
        // A session this node released earlier in this run was tombstoned in the store.
        self.store.adopt(snapshot.clone());
        self.register_restored(vec![snapshot]);
        let adopted = self.by_id.contains_key(&id);
        if adopted {
            tracing::info!(event = "session_adopted", session_id = %id, "taking over a session from its snapshot");
            // Registered without a restore (cluster mode holds them): start it.
            if self.is_held(&id) {
                self.queue_restore(id);
            }
        }
        adopted
    }

    /// Stop serving `id` here without ending it: its Chrome is closed, its local snapshot
    /// file removed (this node must not bring it back at its next start), and nothing the
    /// cluster holds of it is touched. Waiting callers get "restarting" and try again,
    /// which finds the new owner.
    pub(super) fn release(&mut self, id: &str, reply: RpcReplyPort<bool>) {
        let Some(entry) = self.by_id.get_mut(id) else {
            let _ = reply.send(false);
            return;
        };
        tracing::warn!(event = "session_released", session_id = %id, "another node serves this session now; closing its Chrome here");
        let logging_in = !entry.shared.state().settled();
        entry.shared.set_state(SessionState::Closing);
        let waiters: Vec<_> = entry.grant_waiters.drain(..).map(|(r, _)| r).collect();
        let leases: Vec<_> = entry.lease_waiters.drain(..).collect();
        let actor = entry.actor.take();
        self.unregister(id);
        let (store, id) = (self.store.clone(), id.to_string());
        tokio::spawn(async move {
            end_actor(actor, logging_in, None).await;
            store.remove(&id).await;
            let moved = SessionError::Operation {
                fault: Fault::Restarting,
                message: "the session moved to another node; retry".into(),
                bundle: None,
            };
            for r in waiters {
                let _ = r.send(Err(moved.clone()));
            }
            for r in leases {
                let _ = r.send(Err(moved.clone()));
            }
            let _ = reply.send(true);
        });
    }
}
