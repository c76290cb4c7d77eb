//! What the manager does when a session fails: restart it (from its snapshot when its
//! cookies may still be good, else with a full login, after a backoff), wait for a portal
//! that is down, or drop it for good and tell everyone waiting why.

use super::{ManagerMsg, Registry, stop_and_wait};
use crate::actors::SessionError;
use crate::actors::shared::SessionState;
use crate::config::Settings;
use ractor::ActorRef;
use std::time::{Duration, Instant};

impl Registry {
    /// A session's login, refresh, Chrome or actor failed: restart it or drop it.
    pub(super) fn failed(
        &mut self,
        myself: &ActorRef<ManagerMsg>,
        id: &str,
        incarnation: u64,
        error: SessionError,
        cookies_valid: bool,
    ) {
        let settings = self.settings.clone();
        let Some(entry) = self
            .by_id
            .get_mut(id)
            .filter(|e| e.incarnation == incarnation)
        else {
            return;
        };
        entry.restore_next = cookies_valid && self.store.latest(id).is_some();
        entry.shared.record_error(error.to_string());
        if std::mem::take(&mut entry.startup_restore) {
            // It failed to come up; its restart (or drop) below no longer holds a slot.
            self.restore_slot_freed();
        }
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        if let SessionError::PortalUnreachable(_) = error {
            self.drop_session(id, "portal_unreachable", &error);
            return;
        }
        if error.is_permanent() {
            if error == SessionError::BadCredentials {
                let key = entry.key.clone();
                self.admission.rejected(key);
            }
            let reason = match error {
                SessionError::CredentialsNotKept => {
                    "portal cookies expired and no password kept (sessions.persist_credentials = false)"
                }
                _ => "login rejected",
            };
            self.drop_session(id, reason, &error);
            return;
        }
        if !entry.ever_ready {
            // Nobody has used this session yet and its caller is waiting: answer now
            // rather than retry behind their back.
            let key = entry.key.clone();
            self.admission.forget(&key);
            self.drop_session(id, "first login failed", &error);
            return;
        }
        if error.is_outage() {
            // A portal that is down is not a broken session: wait for it with backoff, not
            // counted against max_restarts, for at most outage_patience.
            let (since, attempts) = entry.outage.get_or_insert((Instant::now(), 0));
            *attempts += 1;
            let (waited, attempt) = (since.elapsed(), *attempts);
            if waited >= Duration::from_secs(settings.sessions.outage_patience) {
                let gone = SessionError::PortalUnreachable(waited.as_secs());
                self.drop_session(id, "portal_unreachable", &gone);
                return;
            }
            entry.shared.set_state(SessionState::Waiting);
            if let Some(actor) = entry.actor.take() {
                actor.stop(Some("portal unavailable".into()));
            }
            let backoff = backoff(&settings, attempt);
            crate::metrics::restart("outage");
            tracing::warn!(
                event = "session_waiting",
                session_id = %id,
                attempt,
                waited_s = waited.as_secs(),
                backoff_ms = backoff.as_millis() as u64,
                reason = %error,
            );
            let (id, incarnation) = (id.to_string(), entry.incarnation);
            myself.send_after(backoff, move || ManagerMsg::Restart { id, incarnation });
            return;
        }
        let window = Duration::from_secs(settings.sessions.restart_window);
        let now = Instant::now();
        while entry
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            entry.restarts.pop_front();
        }
        if entry.restarts.len() as u32 >= settings.sessions.max_restarts {
            let reason = format!(
                "more than {} restarts within {} s",
                settings.sessions.max_restarts, settings.sessions.restart_window
            );
            self.drop_session(id, &reason, &error);
            return;
        }
        entry.restarts.push_back(now);
        crate::metrics::restart(restart_reason(&error, cookies_valid));
        entry.shared.record_restart(error.to_string());
        let attempt = entry.restarts.len() as u32;
        entry.shared.count_restart();
        entry.shared.set_state(SessionState::Restarting);
        if let Some(actor) = entry.actor.take() {
            // Its Chrome is closed by its post_stop; the new one uses a new profile.
            actor.stop(Some("restarting".into()));
        }
        // A restore costs the portal one page load, not a login: the first one is not
        // delayed. Repeated failures still back off and count towards max_restarts.
        let backoff = if entry.restore_next && attempt == 1 {
            Duration::ZERO
        } else {
            backoff(&settings, attempt)
        };
        tracing::warn!(
            event = "session_restarting",
            session_id = %id,
            attempt,
            backoff_ms = backoff.as_millis() as u64,
            from_snapshot = entry.restore_next,
            reason = %error,
        );
        let (id, incarnation) = (id.to_string(), entry.incarnation);
        myself.send_after(backoff, move || ManagerMsg::Restart { id, incarnation });
    }

    pub(super) async fn restart(
        &mut self,
        myself: &ActorRef<ManagerMsg>,
        id: &str,
        incarnation: u64,
    ) {
        if self.shutting_down {
            return;
        }
        let Some(entry) = self
            .by_id
            .get_mut(id)
            .filter(|e| e.incarnation == incarnation)
        else {
            return;
        };
        entry.incarnation += 1;
        self.spawn_session(myself, id).await;
    }

    /// Remove a session for good and tell everyone waiting on it why.
    pub(super) fn drop_session(&mut self, id: &str, reason: &str, error: &SessionError) {
        tracing::warn!(event = "session_dropped", session_id = %id, reason, error = %error);
        crate::metrics::dropped(drop_reason(reason, error));
        if let Some(entry) = self.by_id.get_mut(id) {
            let waiters: Vec<_> = entry.grant_waiters.drain(..).map(|(r, _)| r).collect();
            let leases: Vec<_> = entry.lease_waiters.drain(..).collect();
            let actor = entry.actor.take();
            let key = entry.key.clone();
            self.unregister(id);
            if let Some(m) = &self.membership {
                m.session_gone(id, &key);
            }
            let error = error.clone();
            let (store, id) = (self.store.clone(), id.to_string());
            tokio::spawn(async move {
                // Answer only once Chrome is gone, so no failure leaves a browser behind.
                stop_and_wait(actor).await;
                // After the actor: its last snapshot write is done (or tombstoned).
                store.remove(&id).await;
                for reply in waiters {
                    let _ = reply.send(Err(error.clone()));
                }
                for reply in leases {
                    let _ = reply.send(Err(error.clone()));
                }
            });
        }
    }
}

/// The `reason` label of `emodal_session_restarts_total`.
fn restart_reason(error: &SessionError, cookies_valid: bool) -> &'static str {
    match error {
        SessionError::Internal(_) => "actor",
        _ if cookies_valid => "browser",
        e if e.is_restarting() => "logged_out",
        _ => "login_failed",
    }
}

/// The `reason` label of `emodal_session_drops_total`: a small fixed set.
fn drop_reason(reason: &str, error: &SessionError) -> &'static str {
    match error {
        SessionError::BadCredentials => "bad_credentials",
        SessionError::CaptchaAccount(_) => "captcha_account",
        SessionError::PortalUnreachable(_) => "portal_unreachable",
        SessionError::CredentialsNotKept => "credentials_not_kept",
        _ if reason.starts_with("first login") => "first_login_failed",
        _ if reason.starts_with("more than") => "too_many_restarts",
        _ if reason == "spawn_failed" => "spawn_failed",
        _ => "other",
    }
}

/// Exponential backoff with jitter: initial * 2^(attempt-1), capped, times 0.5..1.5.
pub(in crate::actors) fn backoff(settings: &Settings, attempt: u32) -> Duration {
    let s = &settings.sessions;
    let base = s
        .restart_backoff_initial_ms
        .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(20));
    let capped = base.min(s.restart_backoff_max_ms) as f64;
    let jitter: f64 = 0.5 + rand::random::<f64>();
    Duration::from_millis((capped * jitter) as u64)
}
