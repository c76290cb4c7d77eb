//! A session being ready and the callers that wait for it: `Acquire` hands out a lease on
//! a ready session's actor (or queues the caller while it (re)starts), and `LoggedIn`
//! answers everyone queued. Kept together because both sides of that queue are here.

use super::{Registry, SessionLease};
use crate::actors::SessionError;
use crate::actors::shared::SessionState;
use ractor::RpcReplyPort;

impl Registry {
    pub(super) fn acquire(
        &mut self,
        scope: &str,
        id: &str,
        reply: RpcReplyPort<Result<SessionLease, SessionError>>,
    ) {
        let Some(entry) = self.by_id.get_mut(id).filter(|e| e.scope == scope) else {
            let _ = reply.send(Err(SessionError::NotFound));
            return;
        };
        match (&entry.actor, entry.shared.state()) {
            // A session waiting for the portal takes requests: they answer 503 at once
            // rather than queue for as long as the outage lasts. A hibernating one takes
            // them too: the first `Run` wakes it, the others queue behind it in its mailbox.
            (
                Some(actor),
                SessionState::Ready | SessionState::Waiting | SessionState::Hibernating,
            ) => {
                let lease = SessionLease {
                    actor: actor.clone(),
                    shared: entry.shared.clone(),
                };
                let _ = reply.send(Ok(lease));
            }
            // Between logins while the portal is down: say so now, not when it is back.
            (None, SessionState::Waiting) => {
                let _ = reply.send(Err(SessionError::Operation {
                    fault: crate::actors::Fault::Unavailable,
                    message:
                        "the portal is unavailable; the session is waiting for it to come back"
                            .into(),
                    bundle: None,
                }));
            }
            _ => entry.lease_waiters.push(reply),
        }
    }

    pub(super) fn logged_in(&mut self, id: &str, incarnation: u64) {
        let timeout = self.timeout();
        let Some(entry) = self
            .by_id
            .get_mut(id)
            .filter(|e| e.incarnation == incarnation)
        else {
            return;
        };
        entry.ever_ready = true;
        entry.outage = None;
        entry.shared.set_state(SessionState::Ready);
        let restored_at_start = std::mem::take(&mut entry.startup_restore);
        for (reply, is_new) in entry.grant_waiters.drain(..) {
            let _ = reply.send(Ok(entry.shared.grant(is_new, timeout)));
        }
        if let Some(actor) = &entry.actor {
            let lease = SessionLease {
                actor: actor.clone(),
                shared: entry.shared.clone(),
            };
            for reply in entry.lease_waiters.drain(..) {
                let _ = reply.send(Ok(lease.clone()));
            }
        }
        if restored_at_start {
            self.restore_slot_freed();
        }
    }
}
