//! How sessions end: expired, closed by a client, evicted, or all of them at shutdown; and
//! waiting for their actors and browsers to be gone.

use super::Registry;
use crate::actors::SessionError;
use crate::actors::session::SessionMsg;
use crate::actors::shared::SessionState;
use ractor::{ActorRef, RpcReplyPort};
use std::time::Duration;

impl Registry {
    pub(super) fn close_by_client(&mut self, scope: &str, id: &str, reply: RpcReplyPort<bool>) {
        if self.by_id.get(id).is_none_or(|e| e.scope != scope) {
            let _ = reply.send(false);
            return;
        }
        tracing::info!(event = "session_closed", session_id = %id, reason = "closed by client");
        self.remove(id, Some(reply));
    }

    pub(super) fn expired(&mut self, id: &str, incarnation: u64) {
        let Some(entry) = self.by_id.get(id).filter(|e| e.incarnation == incarnation) else {
            return;
        };
        if entry.shared.busy() || entry.shared.keep_alive() {
            return;
        }
        tracing::info!(event = "session_expired", session_id = %id, username = %entry.shared.username);
        crate::metrics::expired();
        self.remove(id, None);
    }

    /// Remove a session on purpose (closed, expired, evicted); never restarted.
    pub(super) fn remove(&mut self, id: &str, done: Option<RpcReplyPort<bool>>) {
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        let logging_in = !entry.shared.state().settled();
        entry.shared.set_state(SessionState::Closing);
        let waiters: Vec<_> = entry.grant_waiters.drain(..).map(|(r, _)| r).collect();
        let leases: Vec<_> = entry.lease_waiters.drain(..).collect();
        let actor = entry.actor.take();
        let key = entry.key.clone();
        self.unregister(id);
        if let Some(m) = &self.membership {
            m.session_gone(id, &key);
        }
        let (store, id) = (self.store.clone(), id.to_string());
        tokio::spawn(async move {
            end_actor(actor, logging_in, None).await;
            store.remove(&id).await;
            let gone = SessionError::Upstream("the session was closed".into());
            for reply in waiters {
                let _ = reply.send(Err(gone.clone()));
            }
            for reply in leases {
                let _ = reply.send(Err(SessionError::NotFound));
            }
            if let Some(done) = done {
                let _ = done.send(true);
            }
        });
    }

    pub(super) fn unregister(&mut self, id: &str) {
        if let Some(entry) = self.by_id.remove(id) {
            self.by_key.remove(&entry.key);
            crate::actors::directory::forget(id);
            if entry.startup_restore {
                self.restore_slot_freed();
            }
        }
    }

    /// Close every session but keep their snapshots: the next start brings them back.
    pub(super) fn shutdown(&mut self, reply: RpcReplyPort<()>) {
        self.shutting_down = true;
        let spares = self.spares.clone();
        self.restore_queue.clear();
        let ids: Vec<String> = self.by_id.keys().cloned().collect();
        let mut actors = Vec::new();
        for id in ids {
            if let Some(entry) = self.by_id.get_mut(&id) {
                tracing::info!(event = "session_closed", session_id = %id, reason = "shutdown");
                let starting = !entry.shared.state().settled();
                for (r, _) in entry.grant_waiters.drain(..) {
                    let _ = r.send(Err(SessionError::ShuttingDown));
                }
                for r in entry.lease_waiters.drain(..) {
                    let _ = r.send(Err(SessionError::ShuttingDown));
                }
                actors.extend(entry.actor.take().map(|a| (a, starting)));
            }
            self.unregister(&id);
        }
        tokio::spawn(async move {
            let mut stops = tokio::task::JoinSet::new();
            for (actor, starting) in actors {
                stops.spawn(async move {
                    end_actor(Some(actor), starting, Some(Duration::from_secs(5))).await;
                });
            }
            stops.join_all().await;
            spares.close().await;
            wait_for_browsers(Duration::from_secs(5)).await;
            let _ = reply.send(());
        });
    }
}

pub(super) async fn stop_and_wait(actor: Option<ActorRef<SessionMsg>>) {
    end_actor(actor, false, None).await;
}

/// End a session actor. A ready one is stopped gracefully, which waits for the operation in
/// progress (never kill mid-request). One still logging in is killed: a graceful stop would
/// wait for the whole login, and killing drops its browser handle, which kills Chrome.
/// `limit` bounds the graceful wait (shutdown cannot wait forever; a DELETE can).
pub(super) async fn end_actor(
    actor: Option<ActorRef<SessionMsg>>,
    logging_in: bool,
    limit: Option<Duration>,
) {
    let Some(actor) = actor else { return };
    if logging_in {
        let _ = actor.kill_and_wait(Some(Duration::from_secs(5))).await;
    } else if actor
        .stop_and_wait(Some("closed".into()), limit)
        .await
        .is_err()
    {
        // Still inside a long request: kill it. Its BrowserHandle's drop kills Chrome, which
        // ends the request, and the browser thread removes the profile.
        tracing::warn!(session = %actor.get_id(), "session did not stop in time; killing it");
        let _ = actor.kill_and_wait(Some(Duration::from_secs(5))).await;
    }
}

/// Wait until every browser thread has closed Chrome and removed its profile.
pub async fn wait_for_browsers(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while crate::portal::live_browsers() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
