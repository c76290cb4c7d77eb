//! The refresh timer's work: re-open the keep-alive page so the portal login does not lapse,
//! and ride out a portal that is down. Separate from the actor because an outage is a small
//! state machine of its own (keep Chrome and cookies, look again with backoff, give up after
//! `sessions.outage_patience`) that the rest of the session only sees as `Waiting`.

use super::{Session, SessionMsg};
use crate::actors::SessionError;
use crate::actors::shared::SessionState;
use crate::portal::{self, DriverError};
use ractor::ActorRef;
use std::time::Duration;

impl Session {
    pub(super) async fn refresh(&mut self, myself: &ActorRef<SessionMsg>, generation: u64) {
        if self.failed || generation != self.generation {
            return;
        }
        if self.hibernating() {
            self.keep_alive_over_http(myself, generation).await;
            return;
        }
        let Some(browser) = &self.browser else { return };
        let call = Duration::from_secs(self.args.settings.chrome.call_timeout);
        match browser.run("refresh", call, portal::check_logged_in).await {
            Ok(url) => {
                if let Some((since, _)) = self.outage.take() {
                    tracing::info!(event = "portal_back", session_id = %self.id(), waited_s = since.elapsed().as_secs());
                    self.args.shared.set_state(SessionState::Ready);
                }
                tracing::info!(event = "refresh_succeeded", session_id = %self.id());
                crate::metrics::refresh("ok");
                self.args.shared.refreshed(url);
                self.save_snapshot().await;
            }
            Err(DriverError::Unavailable(why)) => {
                crate::metrics::refresh("unavailable");
                self.wait_for_portal(myself, generation, &why)
            }
            Err(error) => {
                tracing::warn!(event = "refresh_failed", session_id = %self.id(), error = %error);
                crate::metrics::refresh(if error == DriverError::LoggedOut {
                    "logged_out"
                } else {
                    "failed"
                });
                // Logged out: the cookies are dead, only a full login helps.
                let cookies_valid = error != DriverError::LoggedOut;
                self.report_failure(error.into(), cookies_valid);
            }
        }
    }

    /// The portal is down: the Chrome and its cookies are fine, so keep them and look again
    /// with backoff, up to `sessions.outage_patience`; only then give the session up.
    pub(super) fn wait_for_portal(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        generation: u64,
        why: &str,
    ) {
        let settings = &self.args.settings;
        let (since, attempts) = self.outage.get_or_insert((std::time::Instant::now(), 0));
        *attempts += 1;
        let waited = since.elapsed();
        if waited >= Duration::from_secs(settings.sessions.outage_patience) {
            tracing::warn!(event = "refresh_failed", session_id = %self.id(), error = %why, waited_s = waited.as_secs());
            self.report_failure(SessionError::PortalUnreachable(waited.as_secs()), true);
            return;
        }
        let wait = crate::actors::manager::backoff(settings, *attempts);
        tracing::warn!(event = "portal_unavailable", session_id = %self.id(), error = %why, waited_s = waited.as_secs(), retry_in_ms = wait.as_millis() as u64);
        // A hibernating session stays so: a request wakes it, and hears of the outage then.
        if !self.hibernating() {
            self.args.shared.set_state(SessionState::Waiting);
        }
        // Dropped if the refresh timer is re-armed (a request got through) meanwhile.
        myself.send_after(wait, move || SessionMsg::RefreshTick(generation));
    }
}
