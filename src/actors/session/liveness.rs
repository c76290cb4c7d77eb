//! Noticing a dead Chrome within seconds instead of at the next refresh or request: a check
//! every `chrome.liveness_interval` (the process, then a probe of the page), and a watch that
//! runs the check the moment the process exits. Kept apart from the refresh because it asks
//! the browser, never the portal.

use super::{Session, SessionMsg};
use crate::portal::{self, DriverError};
use ractor::ActorRef;
use std::time::Duration;

impl Session {
    /// Between requests (the tick waits in the mailbox behind any running one): is Chrome's
    /// process alive, and does its page still answer? A crashed renderer or a closed tab
    /// leaves the browser process running, so only asking the page shows it.
    pub(super) async fn check_liveness(&mut self) {
        if self.failed {
            return;
        }
        let Some(browser) = &self.browser else { return };
        if !browser.is_alive() {
            let error = DriverError::Browser(format!("Chrome (pid {}) exited", browser.pid()));
            tracing::warn!(event = "chrome_exited", session_id = %self.id(), pid = browser.pid());
            self.report_failure(error.into(), true);
            return;
        }
        let probe_timeout = Duration::from_secs(self.args.settings.chrome.probe_timeout.max(1));
        match browser
            .run("liveness check", probe_timeout, |page| page.probe())
            .await
        {
            // A crashed renderer or closed tab, or a page that did not answer within
            // `chrome.probe_timeout` (a hung or stopped browser: left alone it would stay
            // "ready" and fail the next request minutes later).
            Err(error) if error.needs_restart() || matches!(error, DriverError::Timeout { .. }) => {
                tracing::warn!(event = "page_unresponsive", session_id = %self.id(), error = %error);
                self.report_failure(DriverError::Browser(error.to_string()).into(), true);
            }
            Err(error) => {
                tracing::debug!(session_id = %self.id(), error = %error, "liveness probe")
            }
            Ok(()) => {}
        }
    }

    /// One liveness check `chrome.liveness_interval` from now.
    pub(super) fn arm_liveness(&mut self, myself: &ActorRef<SessionMsg>) {
        // No Chrome to ask (hibernating): the wake arms it again.
        if self.failed || self.browser.is_none() {
            return;
        }
        let every = Duration::from_secs(self.args.settings.chrome.liveness_interval.max(1));
        let timer = myself.send_after(every, || SessionMsg::LivenessTick);
        if let Some(old) = self.liveness_timer.replace(timer) {
            old.abort();
        }
    }

    /// Check liveness as soon as Chrome's process exits (a SIGKILL, an OOM kill), not
    /// only every `chrome.liveness_interval`.
    pub(super) fn watch_exit(&mut self, myself: &ActorRef<SessionMsg>) {
        let Some(browser) = &self.browser else { return };
        let (pid, me) = (browser.pid(), myself.clone());
        let watch = tokio::spawn(async move {
            portal::wait_exit(pid).await;
            let _ = me.send_message(SessionMsg::LivenessTick);
        });
        if let Some(old) = self.exit_watch.replace(watch) {
            old.abort();
        }
    }
}
