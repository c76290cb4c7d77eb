//! SessionActor: one portal login, one headless Chrome, its own timers.
//!
//! The actor logs in when it starts, re-opens the keep-alive page on its refresh timer,
//! checks every few seconds that its Chrome process still runs, expires itself when it is a
//! regular session left unused, and runs business operations one at a time (its mailbox is
//! the queue). It never decides its own fate: every failure is reported to the
//! SessionManager, which restarts or drops it.

mod bring_up;
mod progress;
mod snapshots;

use super::SessionError;
use super::manager::ManagerMsg;
use super::shared::{SessionShared, SessionState};
use crate::captcha::CaptchaClient;
use crate::config::{PortalProfile, Settings};
use crate::credentials::Credentials;
use crate::model::{Debug, Done, Operation, Outcome};
use crate::portal::{self, BrowserHandle, DriverError, Spares};
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::telemetry::request::{self, RequestTrace, Stage};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

pub struct SessionActor;

pub enum SessionMsg {
    /// Sent to itself once running: launch Chrome and log in.
    Start,
    /// Refresh timer; stale generations (the timer was reset) are ignored.
    RefreshTick(u64),
    /// Is Chrome still running? Armed again only once this check has run, so ticks never
    /// pile up in the mailbox behind a long request.
    LivenessTick,
    /// Idle-expiry timer of a regular session; stale generations are ignored.
    ExpiryTick(u64),
    /// A PNG of what the page shows now. Skipped if the caller gave up waiting.
    Screenshot {
        reply: RpcReplyPort<Result<Vec<u8>, SessionError>>,
    },
    /// A business operation, answered when done. Skipped if the caller has gone before it
    /// reached the front of the queue.
    Run {
        op: Box<Operation>,
        debug: Option<Debug>,
        /// The HTTP request it serves: told where the time went, and its id on the events.
        trace: Option<Arc<RequestTrace>>,
        /// When it was sent, for the time it waited in the mailbox.
        sent: Instant,
        reply: RpcReplyPort<Result<Done<Outcome>, SessionError>>,
    },
    /// Write the snapshot a success left due, unless the session has been used since
    /// (stale generation): the next quiet moment will.
    SnapshotTick(u64),
}

pub struct SessionArgs {
    pub shared: Arc<SessionShared>,
    /// `None` for a session restored at start whose snapshot holds no password
    /// (`sessions.persist_credentials = false`): it can come back only from its cookies.
    pub credentials: Option<Credentials>,
    /// The token scope and credential key, written into snapshots.
    pub scope: String,
    pub credential_key: String,
    pub settings: Arc<Settings>,
    pub profile: Arc<PortalProfile>,
    pub captcha: CaptchaClient,
    pub manager: ActorRef<ManagerMsg>,
    /// How many actors this session has had before this one (0 on first start).
    pub incarnation: u64,
    pub spares: Spares,
    pub store: SnapshotStore,
    /// Come up from this snapshot (its cookies may still be good) before trying a login.
    pub restore: Option<Arc<Snapshot>>,
    /// The request whose `get_session` created the session (first incarnation only): its
    /// id goes on the login's events.
    pub request_id: Option<String>,
}

pub struct Session {
    args: SessionArgs,
    browser: Option<BrowserHandle>,
    /// Bumped whenever the refresh or expiry timer is re-armed.
    generation: u64,
    refresh_timer: Option<JoinHandle<()>>,
    expiry_timer: Option<JoinHandle<Result<(), ractor::MessagingErr<SessionMsg>>>>,
    liveness_timer: Option<JoinHandle<Result<(), ractor::MessagingErr<SessionMsg>>>>,
    /// Wakes the liveness check the moment Chrome's process exits.
    exit_watch: Option<JoinHandle<()>>,
    /// A failure was reported; the manager will stop this actor. Ignore further ticks.
    failed: bool,
    /// Since when refreshes have found the portal down, and how many in a row.
    outage: Option<(std::time::Instant, u32)>,
    /// What the last snapshot written held.
    saved: Option<snapshots::Saved>,
    /// Bumped by every operation; a snapshot tick of an older one is stale.
    snapshot_generation: u64,
    /// An operation succeeded since the last snapshot capture.
    snapshot_due: bool,
}

impl Actor for SessionActor {
    type Msg = SessionMsg;
    type State = Session;
    type Arguments = SessionArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<SessionMsg>,
        args: SessionArgs,
    ) -> Result<Session, ActorProcessingErr> {
        // Nothing heavy here: `spawn_linked` waits for pre_start, and the manager must not.
        Ok(Session {
            args,
            browser: None,
            generation: 0,
            refresh_timer: None,
            expiry_timer: None,
            liveness_timer: None,
            exit_watch: None,
            failed: false,
            outage: None,
            saved: None,
            snapshot_generation: 0,
            snapshot_due: false,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<SessionMsg>,
        _state: &mut Session,
    ) -> Result<(), ActorProcessingErr> {
        myself.send_message(SessionMsg::Start)?;
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<SessionMsg>,
        message: SessionMsg,
        state: &mut Session,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SessionMsg::Start => {
                let request_id = state.args.request_id.take();
                request::within(request_id.as_deref(), state.start(&myself)).await
            }
            SessionMsg::RefreshTick(generation) => state.refresh(&myself, generation).await,
            SessionMsg::LivenessTick => {
                state.check_liveness().await;
                state.arm_liveness(&myself);
            }
            SessionMsg::ExpiryTick(generation) => state.check_expiry(&myself, generation),
            SessionMsg::Screenshot { reply } => {
                if !reply.is_closed() {
                    let _ = reply.send(state.screenshot().await);
                }
            }
            SessionMsg::Run {
                op,
                debug,
                trace,
                sent,
                reply,
            } => {
                if let Some(trace) = &trace {
                    trace.add(Stage::Mailbox, sent.elapsed());
                }
                if reply.is_closed() {
                    tracing::debug!(session_id = %state.id(), operation = op.name(), "caller gone before its turn; skipped");
                    return Ok(());
                }
                let request_id = trace.as_ref().map(|t| t.id.clone());
                let run = state.run(&myself, *op, debug, trace.as_deref());
                let result = request::within(request_id.as_deref(), run).await;
                if result.is_ok() && !state.failed {
                    state.snapshot_soon(&myself);
                }
                let _ = reply.send(result);
            }
            SessionMsg::SnapshotTick(generation) => {
                if generation == state.snapshot_generation && state.snapshot_due && !state.failed {
                    state.snapshot_due = false;
                    state.save_snapshot().await;
                }
            }
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<SessionMsg>,
        state: &mut Session,
    ) -> Result<(), ActorProcessingErr> {
        state.stop_timers();
        // A service shutting down keeps its snapshots: the last operations' changes too.
        // (A session being removed has a tombstone by now, which refuses this write.)
        if state.snapshot_due && !state.failed && state.browser.is_some() {
            state.save_snapshot().await;
        }
        if let Some(browser) = state.browser.take() {
            browser.close().await;
        }
        Ok(())
    }
}

impl Session {
    fn id(&self) -> &str {
        &self.args.shared.id
    }

    async fn start(&mut self, myself: &ActorRef<SessionMsg>) {
        let a = &self.args;
        tracing::info!(
            event = "session_started",
            session_id = %a.shared.id,
            username = %a.shared.username,
            keep_alive = a.shared.keep_alive(),
            attempt = a.incarnation + 1,
            from_snapshot = a.restore.is_some(),
        );
        let login_timeout = Duration::from_secs(a.settings.sessions.login_timeout);
        let result = match tokio::time::timeout(login_timeout, self.come_up()).await {
            Ok(result) => result,
            Err(_) => Err(SessionError::LoginTimeout(login_timeout.as_secs())),
        };
        let url = match result {
            Ok(bring_up::CameUp::Restored { url, took }) => {
                crate::metrics::restore("ok");
                tracing::info!(event = "session_restored", session_id = %self.id(), username = %self.args.shared.username, source = "snapshot", took_ms = took.as_millis() as u64);
                url
            }
            Ok(bring_up::CameUp::LoggedIn { url }) => {
                crate::metrics::login("ok");
                tracing::info!(event = "login_succeeded", session_id = %self.id(), username = %self.args.shared.username);
                url
            }
            Err(error) => {
                // Still `restoring`: the restore itself failed (the portal down), no login
                // was tried.
                let event = if self.args.shared.state() == SessionState::Restoring {
                    crate::metrics::restore("failed");
                    "restore_failed"
                } else {
                    crate::metrics::login(login_result(&error));
                    "login_failed"
                };
                tracing::warn!(event, session_id = %self.id(), username = %self.args.shared.username, error = %error);
                // Close Chrome now: the client's error answer must not leave a browser behind.
                if let Some(browser) = self.browser.take() {
                    browser.close().await;
                }
                // A snapshot that was tried and failed, or a login that failed: the cookies
                // are not known to be good, unless the portal was simply down.
                let cookies_valid = error.is_outage();
                self.report_failure(error, cookies_valid);
                return;
            }
        };
        self.args.shared.refreshed(url);
        // Before anyone is told the session is ready: a service killed right after its
        // client got the id must still find the session's snapshot at the next start.
        self.save_snapshot().await;
        if self.failed {
            return;
        }
        self.arm_timers(myself);
        self.watch_exit(myself);
        let _ = self.args.manager.send_message(ManagerMsg::LoggedIn {
            id: self.id().to_string(),
            incarnation: self.args.incarnation,
        });
    }

    async fn refresh(&mut self, myself: &ActorRef<SessionMsg>, generation: u64) {
        if self.failed || generation != self.generation {
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
    fn wait_for_portal(&mut self, myself: &ActorRef<SessionMsg>, generation: u64, why: &str) {
        let settings = &self.args.settings;
        let (since, attempts) = self.outage.get_or_insert((std::time::Instant::now(), 0));
        *attempts += 1;
        let waited = since.elapsed();
        if waited >= Duration::from_secs(settings.sessions.outage_patience) {
            tracing::warn!(event = "refresh_failed", session_id = %self.id(), error = %why, waited_s = waited.as_secs());
            self.report_failure(SessionError::PortalUnreachable(waited.as_secs()), true);
            return;
        }
        let wait = super::manager::backoff(settings, *attempts);
        tracing::warn!(event = "portal_unavailable", session_id = %self.id(), error = %why, waited_s = waited.as_secs(), retry_in_ms = wait.as_millis() as u64);
        self.args.shared.set_state(SessionState::Waiting);
        // Dropped if the refresh timer is re-armed (a request got through) meanwhile.
        myself.send_after(wait, move || SessionMsg::RefreshTick(generation));
    }

    /// Between requests (the tick waits in the mailbox behind any running one): is Chrome's
    /// process alive, and does its page still answer? A crashed renderer or a closed tab
    /// leaves the browser process running, so only asking the page shows it.
    async fn check_liveness(&mut self) {
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

    async fn screenshot(&self) -> Result<Vec<u8>, SessionError> {
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

    fn check_expiry(&mut self, myself: &ActorRef<SessionMsg>, generation: u64) {
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

    async fn run(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        op: Operation,
        debug: Option<Debug>,
        trace: Option<&RequestTrace>,
    ) -> Result<Done<Outcome>, SessionError> {
        let Some(browser) = &self.browser else {
            return Err(SessionError::restarting(
                "the session has no browser; it is being restarted, retry shortly",
            ));
        };
        if self.failed {
            return Err(SessionError::restarting(
                "the session is being restarted, retry shortly",
            ));
        }
        let timeout = Duration::from_secs(self.args.settings.sessions.operation_timeout);
        let name = op.name();
        let label = debug.map(|d| {
            let label = d.label.unwrap_or_else(|| self.args.shared.username.clone());
            match d.note {
                Some(note) => format!("{label} | {note}"),
                None => label,
            }
        });
        self.args.shared.begin_operation(name);
        let _watch = progress::watch(self.id().to_string(), name, browser.progress());
        let (result, times) = browser
            .run_timed(name, timeout, move |page| {
                super::operations::perform(page, &op, label.as_deref())
            })
            .await;
        if let Some(trace) = trace {
            trace.add(Stage::BrowserWait, times.waited);
            trace.add(Stage::Driver, times.ran);
        }
        let failure = match &result {
            Ok(Ok(_)) => None,
            Ok(Err((error, _))) => Some(error.to_string()),
            Err(error) => Some(error.to_string()),
        };
        self.args.shared.end_operation(failure);
        match result {
            Ok(Ok(done)) => {
                // Every page the operation loaded kept the portal session alive.
                if self.outage.take().is_some() {
                    self.args.shared.set_state(SessionState::Ready);
                }
                self.arm_timers(myself);
                Ok(done)
            }
            Ok(Err((error, bundle))) => {
                // Like any failure that needs no restart (below): the timers stay armed.
                self.arm_timers(myself);
                Err(SessionError::from(error).with_bundle(bundle))
            }
            Err(error) => {
                if error.needs_restart() {
                    tracing::warn!(event = "operation_failed", session_id = %self.id(), operation = name, error = %error);
                    let cookies_valid = error != DriverError::LoggedOut;
                    self.report_failure(error.clone().into(), cookies_valid);
                } else {
                    // The regular timers may have fired while this ran; make sure an
                    // unused session still expires.
                    self.arm_timers(myself);
                }
                Err(error.into())
            }
        }
    }

    /// (Re)arm the refresh and expiry timers under a new generation, and start the
    /// liveness check once.
    fn arm_timers(&mut self, myself: &ActorRef<SessionMsg>) {
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
    }

    /// One liveness check `chrome.liveness_interval` from now.
    fn arm_liveness(&mut self, myself: &ActorRef<SessionMsg>) {
        if self.failed {
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
    fn watch_exit(&mut self, myself: &ActorRef<SessionMsg>) {
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

    fn stop_timers(&mut self) {
        if let Some(watch) = self.exit_watch.take() {
            watch.abort();
        }
        if let Some(timer) = self.refresh_timer.take() {
            timer.abort();
        }
        for timer in [self.expiry_timer.take(), self.liveness_timer.take()]
            .into_iter()
            .flatten()
        {
            timer.abort();
        }
    }

    /// Tell the manager. `cookies_valid`: the portal login itself may still be good (the
    /// browser died, not the login), so the next incarnation may come up from the snapshot.
    fn report_failure(&mut self, error: SessionError, cookies_valid: bool) {
        self.failed = true;
        self.stop_timers();
        self.args.shared.set_state(SessionState::Restarting);
        let _ = self.args.manager.send_message(ManagerMsg::Failed {
            id: self.id().to_string(),
            incarnation: self.args.incarnation,
            error,
            cookies_valid,
        });
    }
}

/// A failed login as the `emodal_logins_total` metric names it.
fn login_result(error: &SessionError) -> &'static str {
    use super::Fault;
    match error {
        SessionError::BadCredentials => "bad_credentials",
        SessionError::CaptchaAccount(_) | SessionError::CaptchaUnavailable(_) => "captcha_error",
        SessionError::Operation {
            fault: Fault::Portal,
            message,
            ..
        } if message.contains("captcha") => "captcha_error",
        SessionError::LoginTimeout(_)
        | SessionError::Operation {
            fault: Fault::Timeout,
            ..
        } => "timeout",
        _ => "upstream",
    }
}
