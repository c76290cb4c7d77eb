//! Writing a session's snapshot after each success that may have changed its cookies: the
//! login or restore and a refresh at once, business operations once the session is quiet. Only what changed is written (a
//! capture costs two DevTools calls; a write is an fsync), plus the last use once a minute,
//! so a service restart knows which regular sessions have expired.

use super::{Session, SessionMsg};
use crate::model::BrowserState;
use crate::portal::{self, DriverError};
use crate::snapshot::Snapshot;
use chrono::{DateTime, Utc};
use ractor::ActorRef;
use std::time::Duration;

/// What the last write held, to tell whether the next one is needed.
pub(super) struct Saved {
    browser: BrowserState,
    last_used: DateTime<Utc>,
    keep_alive: bool,
}

impl Saved {
    /// A restored incarnation starts from its snapshot: web storage of origins it has not
    /// visited yet is carried on.
    pub(super) fn from_snapshot(s: &Snapshot) -> Saved {
        Saved {
            browser: s.browser.clone(),
            last_used: s.last_used,
            keep_alive: s.keep_alive,
        }
    }
}

/// The last use is written again after this long even when nothing else changed.
const LAST_USED_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// How long a session must go without an operation before the snapshot an operation left
/// due is captured. A capture takes the browser thread for 10-25 ms: taken right after each
/// answer, it delayed a client's next request by that much (the benchmark's warm timeline
/// over HTTP ran ~10 ms slower than the driver alone). Cookies an operation changes are
/// rare, and a login or restore still writes its snapshot at once.
const QUIET: Duration = Duration::from_secs(1);

impl Session {
    /// An operation succeeded: capture the state once the session has been quiet for
    /// [`QUIET`] (each operation pushes that moment back).
    pub(super) fn snapshot_soon(&mut self, myself: &ActorRef<SessionMsg>) {
        self.snapshot_generation += 1;
        self.snapshot_due = true;
        let generation = self.snapshot_generation;
        myself.send_after(QUIET, move || SessionMsg::SnapshotTick(generation));
    }

    /// Capture the browser's portal state and write a snapshot if anything changed.
    pub(super) async fn save_snapshot(&mut self) {
        let Some(browser) = &self.browser else { return };
        // Two small calls: bounded like a liveness probe, so a stuck browser is noticed now
        // rather than after a whole call timeout.
        let limit = Duration::from_secs(self.args.settings.chrome.probe_timeout.max(1));
        let began = std::time::Instant::now();
        let captured = match browser.run("snapshot", limit, portal::capture_state).await {
            Ok(state) => state,
            Err(error) if error.needs_restart() || matches!(error, DriverError::Timeout { .. }) => {
                tracing::warn!(event = "page_unresponsive", session_id = %self.id(), error = %error);
                self.report_failure(DriverError::Browser(error.to_string()).into(), true);
                return;
            }
            Err(error) => {
                // The page could not be asked this once (being replaced); the last snapshot
                // stands.
                tracing::debug!(session_id = %self.id(), error = %error, "snapshot capture failed");
                return;
            }
        };
        tracing::trace!(session_id = %self.id(), took_us = began.elapsed().as_micros() as u64, "snapshot captured");
        if captured.cookies.is_empty() {
            // Nothing that could log a browser in: never overwrite a good snapshot with it.
            return;
        }
        let browser = self.with_saved(captured);
        self.write_state(browser).await;
    }

    /// `captured` completed with the web storage of origins only earlier captures saw.
    pub(super) fn with_saved(&self, captured: BrowserState) -> BrowserState {
        match &self.saved {
            Some(saved) => saved.browser.clone().merged(captured),
            None => captured,
        }
    }

    /// Write `browser` (the session's whole portal state) as its snapshot, unless the last
    /// write held the same (and the last use has not moved by a minute).
    pub(super) async fn write_state(&mut self, browser: BrowserState) {
        let began = std::time::Instant::now();
        let shared = &self.args.shared;
        let (last_used, keep_alive) = (shared.last_used(), shared.keep_alive());
        if let Some(saved) = &self.saved
            && saved.browser == browser
            && saved.keep_alive == keep_alive
            && last_used - saved.last_used < LAST_USED_EVERY
        {
            return;
        }
        let a = &self.args;
        let keep_credentials = a.settings.sessions.persist_credentials;
        let credentials = a.credentials.as_ref().filter(|_| keep_credentials);
        let snapshot = Snapshot {
            session_id: shared.id.clone(),
            username: shared.username.clone(),
            scope: a.scope.clone(),
            credential_key: a.credential_key.clone(),
            keep_alive,
            created_at: shared.created_at,
            last_used,
            incarnation: a.incarnation,
            restarts: shared.restarts(),
            password: credentials.map(|c| c.password.clone()),
            captcha_key: credentials.map(|c| c.captcha_key.clone()),
            browser: browser.clone(),
        };
        match a.store.save(snapshot).await {
            Ok(()) => {
                tracing::debug!(session_id = %self.id(), cookies = browser.cookies.len(), took_ms = began.elapsed().as_millis() as u64, "snapshot written");
                self.saved = Some(Saved {
                    browser,
                    last_used,
                    keep_alive,
                });
            }
            Err(error) => {
                tracing::warn!(event = "snapshot_write_failed", session_id = %self.id(), error = %error);
            }
        }
    }
}
