//! The session's timers: refresh, idle expiry and hibernation re-armed together under a
//! generation (a use is a refresh, so each success pushes them back and makes older ticks
//! stale), and
//! all of them stopped at once when the session fails or stops. The expiry check lives
//! here too: it is nothing but the expiry timer deciding whether it is due.

use super::{Session, SessionMsg};
use crate::actors::manager::ManagerMsg;
use ractor::ActorRef;
use std::time::Duration;

impl Session {
    /// (Re)arm the refresh, expiry and hibernation timers under a new generation, and start
    /// the liveness check once.
    pub(super) fn arm_timers(&mut self, myself: &ActorRef<SessionMsg>) {
        self.generation += 1;
        let generation = self.generation;
        let settings = &self.args.settings;
        if let Some(t) = self.refresh_timer.take() {
            t.abort();
        }
        self.refresh_timer = Some(myself.send_interval(settings.refresh_interval(), move || {
            SessionMsg::RefreshTick(generation)
        }));
        if let Some(t) = self.expiry_timer.take() {
            t.abort();
        }
        if !self.args.shared.keep_alive() {
            self.expiry_timer = Some(myself.send_after(settings.session_timeout(), move || {
                SessionMsg::ExpiryTick(generation)
            }));
        }
        if self.liveness_timer.is_none() {
            self.arm_liveness(myself);
        }
        let idle = Duration::from_secs(self.args.settings.sessions.hibernate_after);
        self.arm_hibernation(myself, idle);
    }

    pub(super) fn stop_timers(&mut self) {
        if let Some(watch) = self.exit_watch.take() {
            watch.abort();
        }
        if let Some(timer) = self.refresh_timer.take() {
            timer.abort();
        }
        for timer in [
            self.expiry_timer.take(),
            self.liveness_timer.take(),
            self.hibernate_timer.take(),
        ]
        .into_iter()
        .flatten()
        {
            timer.abort();
        }
    }

    pub(super) fn check_expiry(&mut self, myself: &ActorRef<SessionMsg>, generation: u64) {
        let shared = &self.args.shared;
        if self.failed || generation != self.generation || shared.keep_alive() {
            return;
        }
        let timeout = self.args.settings.session_timeout();
        let idle = (chrono::Utc::now() - shared.last_used())
            .to_std()
            .unwrap_or_default();
        if idle >= timeout && !shared.busy() {
            let _ = self.args.manager.send_message(ManagerMsg::Expired {
                id: self.id().to_string(),
                incarnation: self.args.incarnation,
            });
        } else {
            // Used since the timer was armed: wait for the rest of the idle time.
            let wait = timeout.saturating_sub(idle).max(Duration::from_millis(100));
            self.expiry_timer =
                Some(myself.send_after(wait, move || SessionMsg::ExpiryTick(generation)));
        }
    }
}
