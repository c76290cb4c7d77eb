//! SessionActor: one portal login, one headless Chrome, its own timers.
//!
//! The actor logs in when it starts, re-opens the keep-alive page on its refresh timer,
//! checks every few seconds that its Chrome process still runs, expires itself when it is a
//! regular session left unused, and runs business operations one at a time (its mailbox is
//! the queue). It never decides its own fate: every failure is reported to the
//! SessionManager, which restarts or drops it.

// Each holds `impl Session` methods for one concern; this file keeps the actor itself.
mod bring_up;
mod hibernate;
mod liveness;
mod progress;
mod refresh;
mod run;
mod screenshot;
mod snapshots;
mod timers;

use super::SessionError;
use super::manager::ManagerMsg;
use super::shared::{SessionShared, SessionState};
use crate::captcha::CaptchaClient;
use crate::config::{PortalProfile, Settings};
use crate::credentials::Credentials;
use crate::model::{Debug, Done, Operation, Outcome};
use crate::portal::{BrowserHandle, Spares};
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::telemetry::request::{self, RequestTrace};
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
    /// Hibernation timer (`sessions.hibernate_after`); stale generations are ignored.
    HibernateTick(u64),
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
    hibernate_timer: Option<JoinHandle<Result<(), ractor::MessagingErr<SessionMsg>>>>,
    /// Hibernating: no Chrome, what keeps its login instead.
    hibernation: Option<hibernate::Hibernation>,
    /// The current Chrome was a spare (for the wake's log line).
    browser_from_spare: bool,
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
            hibernate_timer: None,
            hibernation: None,
            browser_from_spare: false,
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
            SessionMsg::HibernateTick(generation) => {
                state.check_hibernation(&myself, generation).await
            }
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
            } => state.serve(&myself, *op, debug, trace, sent, reply).await,
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
