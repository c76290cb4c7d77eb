//! What the manager, the session actor and the HTTP layer all read about one session.
//!
//! Status lives behind a small mutex rather than in the actor, so listings and capacity
//! decisions never wait for a session that is busy driving Chrome.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    Starting,
    Ready,
    Restarting,
    /// Logged in, but the portal is down: refreshes retry with backoff, requests get 503.
    Waiting,
    /// Coming back from its snapshot (after a Chrome crash or a service restart); requests
    /// wait for it as for a restart.
    Restoring,
    /// Unused for `sessions.hibernate_after`: no Chrome, its portal login kept alive over
    /// plain HTTP with its cookies; the next request wakes it (a Chrome gets the cookies).
    Hibernating,
    Closing,
}

impl SessionState {
    /// Logged in and between requests or serving them (not logging in or restoring): an
    /// actor in this state is stopped gracefully, never killed.
    pub fn settled(self) -> bool {
        matches!(self, SessionState::Ready | SessionState::Hibernating)
    }
}

pub struct SessionShared {
    pub id: String,
    pub username: String,
    pub created_at: DateTime<Utc>,
    keep_alive: AtomicBool,
    in_flight: AtomicUsize,
    /// The browser process of the current incarnation (0: none), for memory metrics.
    chrome_pid: AtomicU32,
    /// The current browser's step in progress.
    progress: Mutex<Option<crate::portal::Progress>>,
    /// The captcha tasks its logins sent, across its restarts (a restored session counts
    /// from 0: snapshots do not carry the count).
    pub captcha: crate::captcha::Tally,
    status: Mutex<Status>,
}

#[derive(Clone)]
struct Status {
    state: SessionState,
    last_used: DateTime<Utc>,
    last_refresh: Option<DateTime<Utc>>,
    restarts: u32,
    current_url: Option<String>,
    /// The operation running now: its name and since when.
    operation: Option<(&'static str, DateTime<Utc>)>,
    last_error: Option<(DateTime<Utc>, String)>,
    /// The latest restarts (time, reason), newest last.
    restart_history: std::collections::VecDeque<(DateTime<Utc>, String)>,
}

/// How many restarts `GET /sessions/{id}` remembers.
const RESTART_HISTORY: usize = 20;

/// `GET /sessions/{id}`: the listing's row and what is happening inside the session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionDetail {
    #[serde(flatten)]
    pub summary: SessionSummary,
    /// Requests queued or running.
    pub queue_length: usize,
    pub operation: Option<OperationNow>,
    pub last_error: Option<Stamped>,
    pub restart_history: Vec<Stamped>,
    /// Summed PSS of its Chrome's process tree, when it has one.
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationNow {
    pub name: &'static str,
    /// The driver's current step, counts included ("scrolled 75 of 120 rows",
    /// "wizard step 2 of 4: truck plate", "open containers page").
    pub step: String,
    /// How far the step's loop is, when it counts something.
    pub progress: Option<StepProgress>,
    #[serde(with = "crate::timefmt")]
    pub started_at: DateTime<Utc>,
    pub elapsed_ms: u64,
}

/// `operation.progress`: `done` of `total` (`None` when unknown) `unit`s.
#[derive(Debug, Clone, Serialize)]
pub struct StepProgress {
    pub done: u64,
    pub total: Option<u64>,
    pub unit: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stamped {
    #[serde(with = "crate::timefmt")]
    pub at: DateTime<Utc>,
    /// For an error: its message; for a restart: why.
    pub message: String,
}

/// One row of `GET /sessions`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub session_id: String,
    pub username: String,
    #[serde(with = "crate::timefmt")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timefmt")]
    pub last_used: DateTime<Utc>,
    pub keep_alive: bool,
    pub state: SessionState,
    #[serde(with = "crate::timefmt::option")]
    pub last_refresh: Option<DateTime<Utc>>,
    pub restarts: u32,
    pub current_url: Option<String>,
    pub busy: bool,
    #[serde(with = "crate::timefmt::option")]
    pub expires_at: Option<DateTime<Utc>>,
    /// 2captcha tasks its logins submitted (since this service started, for a restored
    /// session).
    pub captcha_tasks: u32,
    /// Their estimated cost: solved tasks x `captcha.price_per_1000` / 1000, 4 decimals.
    pub captcha_spend_usd: f64,
}

/// The answer to `get_session`.
#[derive(Debug, Clone, Serialize)]
pub struct SessionGrant {
    pub session_id: String,
    pub username: String,
    pub is_new: bool,
    pub keep_alive: bool,
    #[serde(with = "crate::timefmt")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timefmt::option")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl SessionShared {
    pub fn new(id: String, username: String, keep_alive: bool) -> SessionShared {
        let now = Utc::now();
        SessionShared {
            id,
            username,
            created_at: now,
            keep_alive: AtomicBool::new(keep_alive),
            in_flight: AtomicUsize::new(0),
            chrome_pid: AtomicU32::new(0),
            progress: Mutex::new(None),
            captcha: Default::default(),
            status: Mutex::new(Status {
                state: SessionState::Starting,
                last_used: now,
                last_refresh: None,
                restarts: 0,
                current_url: None,
                operation: None,
                last_error: None,
                restart_history: Default::default(),
            }),
        }
    }

    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        // A panic while holding this lock cannot leave the plain data inconsistent.
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A session brought back from its snapshot: same id, creation time, last use and
    /// restart count as before.
    pub fn restored(snapshot: &crate::snapshot::Snapshot) -> SessionShared {
        let shared = SessionShared::new(
            snapshot.session_id.clone(),
            snapshot.username.clone(),
            snapshot.keep_alive,
        );
        let shared = SessionShared {
            created_at: snapshot.created_at,
            ..shared
        };
        {
            let mut s = shared.status();
            s.state = SessionState::Restoring;
            s.last_used = snapshot.last_used;
            s.restarts = snapshot.restarts;
        }
        shared
    }

    pub fn restarts(&self) -> u32 {
        self.status().restarts
    }

    pub fn keep_alive(&self) -> bool {
        self.keep_alive.load(Ordering::SeqCst)
    }

    pub fn make_persistent(&self) {
        self.keep_alive.store(true, Ordering::SeqCst);
    }

    pub fn state(&self) -> SessionState {
        self.status().state
    }

    pub fn set_state(&self, state: SessionState) {
        self.status().state = state;
    }

    pub fn touch(&self) {
        self.status().last_used = Utc::now();
    }

    pub fn last_used(&self) -> DateTime<Utc> {
        self.status().last_used
    }

    pub fn refreshed(&self, url: String) {
        let mut s = self.status();
        s.last_refresh = Some(Utc::now());
        s.current_url = Some(url);
    }

    pub fn set_url(&self, url: String) {
        self.status().current_url = Some(url);
    }

    pub fn count_restart(&self) -> u32 {
        let mut s = self.status();
        s.restarts += 1;
        s.restarts
    }

    /// A request is queued or running on this session; false (and nothing counted) when
    /// `limit` requests already are.
    pub fn begin_request(&self, limit: usize) -> bool {
        let admitted = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok();
        if admitted {
            self.touch();
        }
        admitted
    }

    pub fn end_request(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.touch();
    }

    /// An operation starts on the browser.
    pub fn begin_operation(&self, name: &'static str) {
        self.status().operation = Some((name, Utc::now()));
    }

    /// It ended; with the error it ended with, if any.
    pub fn end_operation(&self, error: Option<String>) {
        let mut s = self.status();
        s.operation = None;
        if let Some(message) = error {
            s.last_error = Some((Utc::now(), message));
        }
    }

    pub fn record_error(&self, message: String) {
        self.status().last_error = Some((Utc::now(), message));
    }

    pub fn record_restart(&self, reason: String) {
        let mut s = self.status();
        if s.restart_history.len() == RESTART_HISTORY {
            s.restart_history.pop_front();
        }
        s.restart_history.push_back((Utc::now(), reason));
    }

    pub fn set_progress(&self, progress: crate::portal::Progress) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(progress);
    }

    /// Everything `GET /sessions/{id}` shows (memory is read from `/proc`: call it off the
    /// runtime's workers).
    pub fn detail(&self, timeout: chrono::Duration) -> SessionDetail {
        let summary = self.summary(timeout);
        let s = self.status().clone();
        let reading = self
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|p| p.now())
            .unwrap_or_default();
        let progress = match (reading.done, reading.unit) {
            (Some(done), Some(unit)) => Some(StepProgress {
                done,
                total: reading.total,
                unit,
            }),
            _ => None,
        };
        let step = reading.step;
        let now = Utc::now();
        let pid = self.chrome_pid();
        SessionDetail {
            summary,
            queue_length: self.in_flight(),
            operation: s.operation.map(|(name, started_at)| OperationNow {
                name,
                step,
                progress,
                started_at,
                elapsed_ms: (now - started_at).num_milliseconds().max(0) as u64,
            }),
            last_error: s.last_error.map(|(at, message)| Stamped { at, message }),
            restart_history: s
                .restart_history
                .into_iter()
                .map(|(at, message)| Stamped { at, message })
                .collect(),
            memory_bytes: (pid != 0 && crate::portal::process_alive(pid))
                .then(|| crate::metrics::tree_pss(pid)),
        }
    }

    /// Requests queued or running on this session.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    pub fn set_chrome_pid(&self, pid: u32) {
        self.chrome_pid.store(pid, Ordering::SeqCst);
    }

    pub fn chrome_pid(&self) -> u32 {
        self.chrome_pid.load(Ordering::SeqCst)
    }

    /// The state as metrics name it: a ready session with requests is `busy`.
    pub fn state_name(&self) -> &'static str {
        match self.state() {
            SessionState::Ready if self.busy() => "busy",
            SessionState::Ready => "ready",
            SessionState::Starting => "starting",
            SessionState::Restarting => "restarting",
            SessionState::Waiting => "waiting",
            SessionState::Restoring => "restoring",
            SessionState::Hibernating => "hibernating",
            SessionState::Closing => "closing",
        }
    }

    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }

    pub fn expires_at(&self, timeout: chrono::Duration) -> Option<DateTime<Utc>> {
        (!self.keep_alive()).then(|| self.last_used() + timeout)
    }

    pub fn summary(&self, timeout: chrono::Duration) -> SessionSummary {
        let s = self.status().clone();
        SessionSummary {
            session_id: self.id.clone(),
            username: self.username.clone(),
            created_at: self.created_at,
            last_used: s.last_used,
            keep_alive: self.keep_alive(),
            state: s.state,
            last_refresh: s.last_refresh,
            restarts: s.restarts,
            current_url: s.current_url,
            busy: self.busy(),
            expires_at: self.expires_at(timeout),
            captcha_tasks: self.captcha.tasks(),
            captcha_spend_usd: self.captcha.spend_usd(),
        }
    }

    pub fn grant(&self, is_new: bool, timeout: chrono::Duration) -> SessionGrant {
        SessionGrant {
            session_id: self.id.clone(),
            username: self.username.clone(),
            is_new,
            keep_alive: self.keep_alive(),
            created_at: self.created_at,
            expires_at: self.expires_at(timeout),
        }
    }
}
