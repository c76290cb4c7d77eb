//! How a session incarnation gets logged in: from its snapshot when the manager says the
//! portal cookies may still be good (no captcha, about a second), else by a full login.

use super::Session;
use crate::actors::SessionError;
use crate::credentials::Credentials;
use crate::portal::{self, BrowserHandle, DriverError};
use std::time::{Duration, Instant};

/// How the incarnation came up.
pub(super) enum CameUp {
    /// From the snapshot: logged in without a login.
    Restored { url: String, took: Duration },
    /// A full login (captcha and form).
    LoggedIn { url: String },
}

impl Session {
    pub(super) async fn come_up(&mut self) -> Result<CameUp, SessionError> {
        if let Some(snapshot) = self.args.restore.take() {
            let began = Instant::now();
            self.args
                .shared
                .set_state(crate::actors::SessionState::Restoring);
            self.saved = Some(super::snapshots::Saved::from_snapshot(&snapshot));
            let call = Duration::from_secs(self.args.settings.chrome.call_timeout);
            let browser = self.take_browser().await?;
            let state = snapshot.browser.clone();
            let restored = browser
                .run("restore from snapshot", call, move |page| {
                    portal::restore_state(page, &state)
                })
                .await;
            match restored {
                Ok(url) => {
                    return Ok(CameUp::Restored {
                        url,
                        took: began.elapsed(),
                    });
                }
                // The portal is down: neither a restore nor a login can work now. The
                // manager waits for it and tries the snapshot again.
                Err(DriverError::Unavailable(why)) => {
                    return Err(DriverError::Unavailable(why).into());
                }
                Err(error) => {
                    let reason = match error {
                        DriverError::LoggedOut => {
                            "the portal no longer honours the snapshot's cookies".to_string()
                        }
                        other => other.to_string(),
                    };
                    tracing::info!(event = "restore_failed", session_id = %self.id(), reason = %reason, took_ms = began.elapsed().as_millis() as u64, next = "full login");
                    crate::metrics::restore("fell_back");
                    // A fresh browser for the login: the dead session's cookies and storage
                    // must not confuse the portal's login flow.
                    if let Some(browser) = self.browser.take() {
                        browser.close().await;
                    }
                    self.saved = None;
                    self.args
                        .shared
                        .set_state(crate::actors::SessionState::Restarting);
                }
            }
        }
        let Some(credentials) = self.args.credentials.clone() else {
            return Err(SessionError::CredentialsNotKept);
        };
        let url = self.login(credentials).await?;
        Ok(CameUp::LoggedIn { url })
    }

    /// A spare Chrome if one waits, else a new one; kept in the state first, so every exit
    /// path closes it.
    pub(super) async fn take_browser(&mut self) -> Result<&BrowserHandle, SessionError> {
        let spare = self.args.spares.take();
        self.browser_from_spare = spare.is_some();
        let browser = match spare {
            Some(spare) => spare,
            None => {
                let a = &self.args;
                let dir = a
                    .settings
                    .profiles_dir()
                    .join(format!("{}-{}", a.shared.id, a.incarnation));
                BrowserHandle::launch(&a.settings.chrome, a.profile.clone(), dir).await?
            }
        };
        self.args.shared.set_chrome_pid(browser.pid());
        self.args.shared.set_progress(browser.progress());
        Ok(self.browser.insert(browser))
    }

    /// The full login: login page, captcha, form, the app's ready element.
    pub(super) async fn login(&mut self, credentials: Credentials) -> Result<String, SessionError> {
        let call = Duration::from_secs(self.args.settings.chrome.call_timeout);
        let captcha = self.args.captcha.clone();
        let form = self
            .take_browser()
            .await?
            .run("open login page", call, portal::open_login)
            .await?;
        let token = captcha
            .solve_recaptcha_for(
                &credentials.captcha_key,
                &form.site_key,
                &form.page_url,
                &self.args.shared.captcha,
            )
            .await?;
        let Some(browser) = &self.browser else {
            return Err(DriverError::Browser("the browser is gone".into()).into());
        };
        let Credentials {
            username, password, ..
        } = credentials;
        let url = browser
            .run("submit login", call, move |page| {
                portal::submit_login(page, &username, &password, &token)
            })
            .await?;
        Ok(url)
    }
}
