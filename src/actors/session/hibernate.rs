//! Hibernation (`sessions.hibernate_after`, 0 = off): a session unused that long writes its
//! snapshot, closes its Chrome and keeps its portal login alive with plain HTTP requests
//! carrying its cookies; the next request wakes it into a Chrome that gets the cookies and
//! storage back (no captcha), or, when the portal logged it out meanwhile, a full login.
//!
//! Its own file because a hibernating session is the one state in which the actor has no
//! browser yet is not failing: the refresh, the liveness check and a `Run` all behave
//! differently, and each asks here first.

use super::{Session, SessionMsg};
use crate::actors::SessionError;
use crate::actors::shared::SessionState;
use crate::model::BrowserState;
use crate::portal::{self, DriverError};
use ractor::ActorRef;
use std::time::{Duration, Instant};

/// What a hibernating session keeps instead of its Chrome.
pub(super) struct Hibernation {
    /// Its cookies and web storage, kept up to date with what the keep-alive is sent.
    state: BrowserState,
    /// What its Chrome said it was, so the keep-alive looks like the same browser.
    user_agent: String,
    /// The keep-alive found the portal login gone: the wake logs in afresh.
    logged_out: bool,
    since: Instant,
}

/// How a hibernating session came back.
struct Woken {
    url: String,
    /// `cookies` (its state in a new Chrome) or `login` (the portal had logged it out).
    source: &'static str,
}

impl Session {
    pub(super) fn hibernating(&self) -> bool {
        self.hibernation.is_some()
    }

    /// (Re)arm the hibernation timer under the current generation (off when
    /// `hibernate_after` is 0).
    pub(super) fn arm_hibernation(&mut self, myself: &ActorRef<SessionMsg>, wait: Duration) {
        if let Some(t) = self.hibernate_timer.take() {
            t.abort();
        }
        if self.args.settings.sessions.hibernate_after == 0 || self.hibernating() {
            return;
        }
        let generation = self.generation;
        self.hibernate_timer =
            Some(myself.send_after(wait, move || SessionMsg::HibernateTick(generation)));
    }

    /// The hibernation timer: unused for `hibernate_after` with nothing queued and the
    /// portal up → hibernate; otherwise look again when the idle time could be reached.
    pub(super) async fn check_hibernation(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        generation: u64,
    ) {
        if self.failed || generation != self.generation || self.hibernating() {
            return;
        }
        if self.browser.is_none() {
            return;
        }
        let after = Duration::from_secs(self.args.settings.sessions.hibernate_after);
        let shared = &self.args.shared;
        let idle = (chrono::Utc::now() - shared.last_used())
            .to_std()
            .unwrap_or_default();
        // A portal that is down: the outage handling has the session; it hibernates once
        // the portal is back and it is still unused.
        if idle < after || shared.busy() || self.outage.is_some() {
            let wait = after.saturating_sub(idle).max(Duration::from_millis(100));
            self.arm_hibernation(myself, wait);
            return;
        }
        self.hibernate(myself, idle).await;
    }

    /// Capture the state and the user agent, write the snapshot, close Chrome.
    async fn hibernate(&mut self, myself: &ActorRef<SessionMsg>, idle: Duration) {
        let Some(browser) = &self.browser else { return };
        let limit = Duration::from_secs(self.args.settings.chrome.probe_timeout.max(1));
        let captured = browser
            .run("hibernate", limit, |page| {
                let state = portal::capture_state(page)?;
                let agent: String = page.eval("return navigator.userAgent")?;
                Ok((state, agent))
            })
            .await;
        let (captured, user_agent) = match captured {
            Ok(got) => got,
            Err(error) if error.needs_restart() || matches!(error, DriverError::Timeout { .. }) => {
                tracing::warn!(event = "page_unresponsive", session_id = %self.id(), error = %error);
                self.report_failure(DriverError::Browser(error.to_string()).into(), true);
                return;
            }
            Err(error) => {
                // The page could not be asked this once; try again after another idle spell.
                tracing::debug!(session_id = %self.id(), error = %error, "hibernation capture failed");
                let after = Duration::from_secs(self.args.settings.sessions.hibernate_after);
                self.arm_hibernation(myself, after);
                return;
            }
        };
        if captured.cookies.is_empty() {
            // Nothing to keep the login alive with: stay in Chrome.
            tracing::debug!(session_id = %self.id(), "no portal cookies; not hibernating");
            return;
        }
        let state = self.with_saved(captured);
        self.write_state(state.clone()).await;
        // The liveness check and the exit watch ask a Chrome that is about to go.
        for timer in [self.liveness_timer.take(), self.hibernate_timer.take()]
            .into_iter()
            .flatten()
        {
            timer.abort();
        }
        if let Some(watch) = self.exit_watch.take() {
            watch.abort();
        }
        self.snapshot_due = false;
        if let Some(browser) = self.browser.take() {
            browser.close().await;
        }
        self.args.shared.set_chrome_pid(0);
        tracing::info!(
            event = "session_hibernated",
            session_id = %self.id(),
            username = %self.args.shared.username,
            idle_s = idle.as_secs(),
            cookies = state.cookies.len(),
        );
        self.hibernation = Some(Hibernation {
            state,
            user_agent,
            logged_out: false,
            since: Instant::now(),
        });
        self.args.shared.set_state(SessionState::Hibernating);
    }

    /// The refresh of a hibernating session: the keep-alive page over HTTP with its
    /// cookies. The portal down → the usual outage handling; logged out → the wake will log
    /// in afresh (or, with no password held, the session is dropped now).
    pub(super) async fn keep_alive_over_http(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        generation: u64,
    ) {
        let Some(mut hibernation) = self.hibernation.take() else {
            return;
        };
        if hibernation.logged_out {
            self.hibernation = Some(hibernation);
            return;
        }
        let timeout = Duration::from_secs(self.args.settings.chrome.call_timeout);
        let before = hibernation.state.clone();
        let result = portal::keep_alive(
            &self.args.profile,
            &mut hibernation.state,
            &hibernation.user_agent,
            timeout,
        )
        .await;
        let changed = hibernation.state != before;
        let state = hibernation.state.clone();
        match result {
            Ok(url) => {
                if let Some((since, _)) = self.outage.take() {
                    tracing::info!(event = "portal_back", session_id = %self.id(), waited_s = since.elapsed().as_secs());
                }
                tracing::info!(event = "refresh_succeeded", session_id = %self.id(), over = "http");
                crate::metrics::refresh("ok");
                self.args.shared.refreshed(url);
                self.hibernation = Some(hibernation);
            }
            Err(DriverError::Unavailable(why)) => {
                crate::metrics::refresh("unavailable");
                self.hibernation = Some(hibernation);
                self.wait_for_portal(myself, generation, &why);
            }
            Err(DriverError::LoggedOut) => {
                crate::metrics::refresh("logged_out");
                if self.args.credentials.is_none() {
                    tracing::warn!(event = "refresh_failed", session_id = %self.id(), over = "http", error = "the portal logged the hibernating session out");
                    self.hibernation = Some(hibernation);
                    self.report_failure(SessionError::CredentialsNotKept, false);
                    return;
                }
                tracing::warn!(event = "refresh_failed", session_id = %self.id(), over = "http", error = "the portal logged the hibernating session out", next = "a full login when a request wakes it");
                hibernation.logged_out = true;
                self.hibernation = Some(hibernation);
                // Nothing is left to keep alive.
                if let Some(timer) = self.refresh_timer.take() {
                    timer.abort();
                }
            }
            Err(error) => {
                // Not a verdict on the login: the wake checks it in Chrome anyway.
                tracing::warn!(event = "refresh_failed", session_id = %self.id(), over = "http", error = %error);
                crate::metrics::refresh("failed");
                self.hibernation = Some(hibernation);
            }
        }
        if changed && !self.failed {
            self.write_state(state).await;
        }
    }

    /// A request reached a hibernating session: bring it back into a Chrome before it runs.
    /// The portal down → the caller hears so and the session stays hibernating; any other
    /// failure is reported like a failed restore (the manager restarts the session).
    pub(super) async fn wake(&mut self, myself: &ActorRef<SessionMsg>) -> Result<(), SessionError> {
        let Some(hibernation) = self.hibernation.take() else {
            return Ok(());
        };
        let began = Instant::now();
        // The state stays `hibernating` until it serves: the manager keeps handing out
        // leases, so requests arriving meanwhile queue in the mailbox behind this one
        // (`restoring` would park them in the manager, which only a `LoggedIn` releases).
        let limit = Duration::from_secs(self.args.settings.sessions.login_timeout);
        let result = match tokio::time::timeout(limit, self.come_back(&hibernation)).await {
            Ok(result) => result,
            Err(_) => Err((
                SessionError::LoginTimeout(limit.as_secs()),
                !hibernation.logged_out,
            )),
        };
        let woken = match result {
            Ok(woken) => woken,
            Err((error, cookies_valid)) => {
                if let Some(browser) = self.browser.take() {
                    browser.close().await;
                }
                self.args.shared.set_chrome_pid(0);
                if error.is_outage() {
                    tracing::warn!(event = "wake_failed", session_id = %self.id(), error = %error, next = "still hibernating");
                    self.hibernation = Some(hibernation);
                    return Err(error);
                }
                tracing::warn!(event = "wake_failed", session_id = %self.id(), error = %error);
                self.report_failure(error.clone(), cookies_valid);
                return Err(error);
            }
        };
        tracing::info!(
            event = "session_woken",
            session_id = %self.id(),
            username = %self.args.shared.username,
            source = woken.source,
            spare = self.browser_from_spare,
            hibernated_s = hibernation.since.elapsed().as_secs(),
            took_ms = began.elapsed().as_millis() as u64,
        );
        self.args.shared.refreshed(woken.url);
        if woken.source == "login" {
            // New cookies: on disk before anything else, as after any login.
            self.save_snapshot().await;
            if self.failed {
                return Err(SessionError::restarting(
                    "the session is being restarted, retry shortly",
                ));
            }
        }
        self.args.shared.set_state(SessionState::Ready);
        self.arm_timers(myself);
        self.watch_exit(myself);
        Ok(())
    }

    /// Into a Chrome from the kept state, or by a full login. A failure says whether the
    /// cookies may still be good (the browser failed, not the login).
    async fn come_back(
        &mut self,
        hibernation: &Hibernation,
    ) -> Result<Woken, (SessionError, bool)> {
        if !hibernation.logged_out {
            let call = Duration::from_secs(self.args.settings.chrome.call_timeout);
            let state = hibernation.state.clone();
            let browser = self.take_browser().await.map_err(|e| (e, true))?;
            let restored = browser
                .run("restore from hibernation", call, move |page| {
                    portal::restore_state(page, &state)
                })
                .await;
            match restored {
                Ok(url) => {
                    return Ok(Woken {
                        url,
                        source: "cookies",
                    });
                }
                Err(DriverError::LoggedOut) => {
                    tracing::info!(event = "restore_failed", session_id = %self.id(), reason = "the portal no longer honours the hibernated session's cookies", next = "full login");
                    // A fresh browser for the login, as after a failed restore.
                    if let Some(browser) = self.browser.take() {
                        browser.close().await;
                    }
                }
                Err(error) => return Err((error.into(), true)),
            }
        }
        let Some(credentials) = self.args.credentials.clone() else {
            return Err((SessionError::CredentialsNotKept, false));
        };
        match self.login(credentials).await {
            Ok(url) => {
                crate::metrics::login("ok");
                tracing::info!(event = "login_succeeded", session_id = %self.id(), username = %self.args.shared.username);
                Ok(Woken {
                    url,
                    source: "login",
                })
            }
            Err(error) => {
                crate::metrics::login(super::login_result(&error));
                tracing::warn!(event = "login_failed", session_id = %self.id(), username = %self.args.shared.username, error = %error);
                Err((error, false))
            }
        }
    }
}
