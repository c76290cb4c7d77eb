//! A PNG of what the session's page shows now, for an operator looking at a session. Its
//! own file because it is the one job a client sends that is not a business operation:
//! bounded like a liveness probe, never a reason to restart the session.

use super::Session;
use crate::actors::SessionError;
use std::time::Duration;

impl Session {
    pub(super) async fn screenshot(&self) -> Result<Vec<u8>, SessionError> {
        if self.hibernating() {
            return Err(SessionError::Occupied(
                "the session is hibernating (no browser); a business request wakes it".into(),
            ));
        }
        let Some(browser) = &self.browser else {
            return Err(SessionError::restarting(
                "the session has no browser right now",
            ));
        };
        let limit = Duration::from_secs(self.args.settings.chrome.probe_timeout.max(1));
        browser
            .run("screenshot", limit, |page| page.screenshot())
            .await
            .map_err(SessionError::from)
    }
}
