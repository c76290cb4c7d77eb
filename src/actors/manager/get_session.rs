//! `GetSession`: the session already live for these credentials (joined, upgraded to
//! persistent, given back its password), or a new one once admission lets it in (login
//! protection, the token's quota, capacity, evicting an idle regular session of the same
//! token to make room). The largest decision the manager makes, so a file of its own.

use super::{Entry, GrantReply, ManagerMsg, Registry};
use crate::actors::SessionError;
use crate::actors::shared::{SessionShared, SessionState};
use crate::credentials::{Credentials, new_session_id};
use ractor::ActorRef;
use std::collections::VecDeque;
use std::sync::Arc;

/// What a `GetSession` asks for.
pub(in crate::actors) struct Ask {
    pub scope: String,
    pub credentials: Credentials,
    pub keep_alive: bool,
    /// The id a new session takes (cluster mode: registered for these credentials).
    pub new_id: Option<String>,
    pub request_id: Option<String>,
}

impl Registry {
    pub(super) async fn get_session(
        &mut self,
        myself: &ActorRef<ManagerMsg>,
        ask: Ask,
        reply: GrantReply,
    ) {
        let Ask {
            scope,
            credentials,
            keep_alive,
            new_id,
            request_id,
        } = ask;
        if self.shutting_down {
            let _ = reply.send(Err(SessionError::ShuttingDown));
            return;
        }
        let key = self
            .keyer
            .key(&scope, &credentials.username, &credentials.password);
        let timeout = self.timeout();
        if let Some(entry) = self.by_key.get(&key).and_then(|id| self.by_id.get_mut(id)) {
            let mut changed = false;
            if keep_alive && !entry.shared.keep_alive() {
                entry.shared.make_persistent();
                changed = true;
            }
            if entry.credentials.is_none() {
                // Restored without a password: the client just proved it has it, so a
                // later full login is possible again.
                entry.credentials = Some(credentials.clone());
                changed |= self.settings.sessions.persist_credentials;
            }
            if changed {
                let (store, id) = (self.store.clone(), entry.shared.id.clone());
                let persistent = entry.shared.keep_alive();
                let keep = self.settings.sessions.persist_credentials;
                tokio::spawn(async move {
                    let _ = store
                        .update(&id, move |s| {
                            s.keep_alive = persistent;
                            if keep {
                                s.password = Some(credentials.password);
                                s.captcha_key = Some(credentials.captcha_key);
                            }
                        })
                        .await;
                });
            }
            entry.shared.touch();
            // A hibernating session is live: its id is good, and its next request wakes it.
            if matches!(
                entry.shared.state(),
                SessionState::Ready | SessionState::Hibernating
            ) {
                let _ = reply.send(Ok(entry.shared.grant(false, timeout)));
            } else {
                entry.grant_waiters.push((reply, false));
            }
            return;
        }
        if let Err(e) = self.admission.admit(&key) {
            let _ = reply.send(Err(e));
            return;
        }
        if let Some(quota) = self.admission.quota(&scope) {
            let held = self.by_id.values().filter(|e| e.scope == scope).count();
            if held >= quota && !self.evict_one(&scope) {
                let _ = reply.send(Err(SessionError::OverQuota(quota)));
                return;
            }
        }
        if self.by_id.len() >= self.settings.sessions.max_sessions && !self.evict_one(&scope) {
            let _ = reply.send(Err(SessionError::AtCapacity(
                self.settings.sessions.max_sessions,
            )));
            return;
        }
        // Only a login that is really started counts towards the limit: one refused above
        // (rate or capacity) never reached the portal.
        self.admission.record(&key);
        // A given id already in use (another credential set's) would merge two sessions.
        let id = new_id
            .filter(|id| !self.by_id.contains_key(id))
            .unwrap_or_else(new_session_id);
        let shared = Arc::new(SessionShared::new(
            id.clone(),
            credentials.username.clone(),
            keep_alive,
        ));
        let entry = Entry {
            shared,
            scope,
            key: key.clone(),
            credentials: Some(credentials),
            actor: None,
            incarnation: 0,
            grant_waiters: vec![(reply, true)],
            lease_waiters: Vec::new(),
            restarts: VecDeque::new(),
            ever_ready: false,
            outage: None,
            restore_next: false,
            startup_restore: false,
            request_id,
        };
        self.by_key.insert(key, id.clone());
        crate::actors::directory::register(&id, &entry.scope);
        self.by_id.insert(id.clone(), entry);
        self.spawn_session(myself, &id).await;
    }

    /// Make room by closing the least recently used idle regular session of `scope` (never
    /// another token's: one token must not push out another's sessions).
    fn evict_one(&mut self, scope: &str) -> bool {
        let victim = self
            .by_id
            .values()
            .filter(|e| {
                e.scope == scope
                    && !e.shared.keep_alive()
                    && !e.shared.busy()
                    && matches!(
                        e.shared.state(),
                        SessionState::Ready | SessionState::Hibernating
                    )
            })
            .min_by_key(|e| e.shared.last_used())
            .map(|e| e.shared.id.clone());
        match victim {
            Some(id) => {
                tracing::info!(event = "session_closed", session_id = %id, reason = "evicted to make room");
                crate::metrics::evicted();
                self.remove(&id, None);
                true
            }
            None => false,
        }
    }
}
