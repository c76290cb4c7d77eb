//! `Sessions`: the named async functions the HTTP layer calls. Message types, reply ports
//! and timeouts stay in here. Business operations go in as [`Operation`]s and come back as
//! typed results; nothing of the driver crosses this boundary.

use super::SessionError;
use super::manager::{Counters, ManagerArgs, ManagerMsg, SessionLease, SessionManager};
use super::session::SessionMsg;
use super::shared::{SessionDetail, SessionGrant, SessionShared, SessionSummary};
use crate::captcha::CaptchaClient;
use crate::config::Settings;
use crate::credentials::{Credentials, Keyer};
use crate::model::{
    AppointmentList, AvailableTimes, Booked, ContainerDetail, Debug, Done, Grid, ListTarget,
    Operation, Outcome, Target, Visit,
};
use crate::portal::Spares;
use crate::snapshot::{Snapshot, SnapshotStore};
use crate::telemetry::request::{self, Stage};
use ractor::{Actor, ActorRef, rpc::CallResult};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Quick registry questions never wait longer than this.
const QUICK: Duration = Duration::from_secs(10);

/// How long a screenshot waits for its turn behind a running request.
const LOOK_WAIT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Sessions {
    manager: ActorRef<ManagerMsg>,
    counters: Arc<Counters>,
    settings: Arc<Settings>,
    spares: Spares,
}

impl Sessions {
    /// Start the SessionManager. The returned join handle ends when it stops.
    pub async fn start(
        settings: Arc<Settings>,
    ) -> anyhow::Result<(Sessions, tokio::task::JoinHandle<()>)> {
        let lock = crate::cleanup::lock_data_dir(&settings.chrome.data_dir)?;
        let keyer = Keyer::from_settings(&settings)?;
        std::fs::create_dir_all(settings.profiles_dir())?;
        let profiles = settings.profiles_dir();
        let cleaned =
            tokio::task::spawn_blocking(move || crate::cleanup::clean_leftovers(&profiles)).await?;
        if cleaned != crate::cleanup::Cleaned::default() {
            tracing::warn!(
                event = "startup_cleanup",
                processes_killed = cleaned.processes_killed,
                directories_removed = cleaned.directories_removed,
                "removed what a previous run (killed without shutdown) left behind"
            );
        }
        let store = SnapshotStore::open(
            &settings.chrome.data_dir.join("sessions"),
            keyer.service_secret(),
        )?;
        let restore = restorable(&settings, &store).await;
        let spares = Spares::start(
            &settings.chrome,
            Arc::new(settings.portal.clone()),
            settings.profiles_dir(),
        );
        let counters = Arc::new(Counters::default());
        let args = ManagerArgs {
            settings: settings.clone(),
            keyer,
            captcha: CaptchaClient::new(&settings.captcha),
            counters: counters.clone(),
            spares: spares.clone(),
            store,
            restore,
        };
        let (manager, join) = Actor::spawn(None, SessionManager, args).await?;
        // The lock lives as long as the manager: released once the service has shut down.
        let join = tokio::spawn(async move {
            let _ = join.await;
            drop(lock);
        });
        Ok((
            Sessions {
                manager,
                counters,
                settings,
                spares,
            },
            join,
        ))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The live session for these credentials within `scope`, or a new one after login.
    pub async fn get_session(
        &self,
        scope: &str,
        credentials: Credentials,
        keep_alive: bool,
    ) -> Result<SessionGrant, SessionError> {
        // A login waits for Chrome, the captcha service and the portal; restarts add backoff.
        let limit = Duration::from_secs(self.settings.sessions.login_timeout + 60);
        let scope = scope.to_string();
        let trace = request::current();
        let _call = trace.as_ref().map(|t| t.call());
        let began = Instant::now();
        let answer = self
            .manager
            .call(
                |reply| ManagerMsg::GetSession {
                    scope,
                    credentials,
                    keep_alive,
                    request_id: trace.as_ref().map(|t| t.id.clone()),
                    reply,
                },
                Some(limit),
            )
            .await;
        let grant = flatten(answer);
        if let Some(trace) = &trace {
            trace.add(Stage::Lookup, began.elapsed());
            if let Ok(grant) = &grant {
                trace.set_session(&grant.session_id);
            }
        }
        grant
    }

    pub async fn list(&self, scope: &str) -> Vec<SessionSummary> {
        let scope = scope.to_string();
        let answer = self
            .manager
            .call(|reply| ManagerMsg::List { scope, reply }, Some(QUICK))
            .await;
        match answer {
            Ok(CallResult::Success(rows)) => rows,
            _ => Vec::new(),
        }
    }

    /// Everything about one session of `scope`, including what it is doing now.
    pub async fn detail(&self, scope: &str, id: &str) -> Result<SessionDetail, SessionError> {
        let _call = traced_call(id);
        let (scope, id) = (scope.to_string(), id.to_string());
        let answer = self
            .manager
            .call(|reply| ManagerMsg::Shared { scope, id, reply }, Some(QUICK))
            .await;
        let Ok(CallResult::Success(Some(shared))) = answer else {
            return Err(SessionError::NotFound);
        };
        let timeout = self.settings.session_timeout_span();
        // Its memory is read from /proc.
        tokio::task::spawn_blocking(move || shared.detail(timeout))
            .await
            .map_err(|e| SessionError::Internal(e.to_string()))
    }

    /// A PNG of what the session's Chrome shows now. It takes its turn between requests, so
    /// it waits at most [`LOOK_WAIT`] for one that is running: `Occupied` after that.
    pub async fn screenshot(&self, scope: &str, id: &str) -> Result<Vec<u8>, SessionError> {
        let busy = || {
            SessionError::Occupied(format!(
                "the session is busy with a request (or restarting) for more than {} s; try again when it is done",
                LOOK_WAIT.as_secs()
            ))
        };
        let _call = traced_call(id);
        let lease = tokio::time::timeout(LOOK_WAIT, self.acquire(scope, id))
            .await
            .map_err(|_| busy())??;
        let answer = lease
            .actor
            .call(|reply| SessionMsg::Screenshot { reply }, Some(LOOK_WAIT))
            .await;
        match answer {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => Err(busy()),
            Ok(CallResult::SenderError) | Err(_) => Err(SessionError::restarting(
                "the session restarted; retry shortly",
            )),
        }
    }

    /// What the metrics show of the present: sessions by state, queues, browsers.
    pub async fn census(&self) -> crate::metrics::Census {
        let answer = self
            .manager
            .call(|reply| ManagerMsg::Census { reply }, Some(QUICK))
            .await;
        let rows = match answer {
            Ok(CallResult::Success(rows)) => rows,
            _ => Vec::new(),
        };
        let mut states: Vec<(&'static str, usize)> = Vec::new();
        for row in &rows {
            match states.iter_mut().find(|(s, _)| *s == row.state) {
                Some((_, n)) => *n += 1,
                None => states.push((row.state, 1)),
            }
        }
        crate::metrics::Census {
            states,
            spares: self.spares.available(),
            queue_max: rows.iter().map(|r| r.in_flight).max().unwrap_or(0),
            queue_total: rows.iter().map(|r| r.in_flight).sum(),
            chrome_pids: rows
                .iter()
                .map(|r| r.chrome_pid)
                .filter(|p| *p != 0)
                .collect(),
        }
    }

    /// Is there a session `id` in `scope` (in any state but closing)?
    pub async fn exists(&self, scope: &str, id: &str) -> bool {
        self.list(scope).await.iter().any(|s| s.session_id == id)
    }

    /// Close a session; true once its Chrome has exited, false if there was no such session.
    pub async fn close(&self, scope: &str, id: &str) -> bool {
        let _call = traced_call(id);
        let (scope, id) = (scope.to_string(), id.to_string());
        // Closing waits for the operation in progress, which may be a long one.
        let limit = Duration::from_secs(self.settings.sessions.operation_timeout + 30);
        let answer = self
            .manager
            .call(|reply| ManagerMsg::Close { scope, id, reply }, Some(limit))
            .await;
        matches!(answer, Ok(CallResult::Success(true)))
    }

    /// Spare Chromes waiting for the next session or restart.
    pub fn spare_browsers(&self) -> usize {
        self.spares.available()
    }

    /// (all sessions, persistent sessions), without a round trip to the manager.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.counters.active.load(Ordering::SeqCst),
            self.counters.persistent.load(Ordering::SeqCst),
        )
    }

    /// Load the containers grid as far as `target` and read it.
    pub async fn get_containers(
        &self,
        scope: &str,
        id: &str,
        target: Target,
        debug: Option<Debug>,
    ) -> Result<Done<Grid>, SessionError> {
        let op = Operation::GetContainers { target };
        typed(self.execute(scope, id, op, debug).await, |o| match o {
            Outcome::Containers(v) => Some(v),
            _ => None,
        })
    }

    /// One container's detail card and timeline.
    pub async fn container_detail(
        &self,
        scope: &str,
        id: &str,
        container_id: &str,
        debug: Option<Debug>,
    ) -> Result<Done<ContainerDetail>, SessionError> {
        let op = Operation::ContainerDetail {
            container_id: container_id.to_string(),
        };
        typed(self.execute(scope, id, op, debug).await, |o| match o {
            Outcome::Detail(v) => Some(v),
            _ => None,
        })
    }

    /// The times the wizard offers for `visit` (never submits).
    pub async fn check_appointments(
        &self,
        scope: &str,
        id: &str,
        visit: Visit,
        debug: Option<Debug>,
    ) -> Result<Done<AvailableTimes>, SessionError> {
        let op = Operation::CheckAppointments { visit };
        typed(self.execute(scope, id, op, debug).await, |o| match o {
            Outcome::Times(v) => Some(v),
            _ => None,
        })
    }

    /// Book `visit` at `time`. Never retried on a restarted session: a caller that must not
    /// lose the outcome runs this in a task of its own.
    pub async fn make_appointment(
        &self,
        scope: &str,
        id: &str,
        visit: Visit,
        time: String,
        debug: Option<Debug>,
    ) -> Result<Done<Booked>, SessionError> {
        let op = Operation::MakeAppointment { visit, time };
        typed(self.execute(scope, id, op, debug).await, |o| match o {
            Outcome::Booked(v) => Some(v),
            _ => None,
        })
    }

    /// My Appointments, as far as `target`.
    pub async fn get_appointments(
        &self,
        scope: &str,
        id: &str,
        target: ListTarget,
        debug: Option<Debug>,
    ) -> Result<Done<AppointmentList>, SessionError> {
        let op = Operation::GetAppointments { target };
        typed(self.execute(scope, id, op, debug).await, |o| match o {
            Outcome::Appointments(v) => Some(v),
            _ => None,
        })
    }

    /// Run `op` on session `id`, queued behind the session's other requests. A read whose
    /// session was lost mid-way (Chrome died, the portal logged out) is run once more on the
    /// restarted session; a write never is.
    pub async fn execute(
        &self,
        scope: &str,
        id: &str,
        op: Operation,
        debug: Option<Debug>,
    ) -> Result<Done<Outcome>, SessionError> {
        let _call = traced_call(id);
        let mut retried = false;
        loop {
            match self
                .execute_once(scope, id, op.clone(), debug.clone())
                .await
            {
                Err(e) if e.is_restarting() && op.is_read() && !retried => {
                    tracing::info!(event = "request_retried", session_id = %id, operation = op.name(), reason = %e);
                    retried = true;
                }
                other => return other,
            }
        }
    }

    async fn execute_once(
        &self,
        scope: &str,
        id: &str,
        op: Operation,
        debug: Option<Debug>,
    ) -> Result<Done<Outcome>, SessionError> {
        let lease = self.acquire(scope, id).await?;
        let limit = self.settings.sessions.max_queue.max(1);
        // Given back when this future ends, however it ends (a client that hangs up drops it
        // at whatever await it was in).
        let _slot = QueueSlot::take(lease.shared.clone(), limit)?;
        // The actor bounds the operation itself; this limit only covers a lost actor.
        let limit = Duration::from_secs(self.settings.sessions.operation_timeout + 30);
        let answer = lease
            .actor
            .call(
                |reply| SessionMsg::Run {
                    op: Box::new(op),
                    debug,
                    trace: request::current(),
                    sent: Instant::now(),
                    reply,
                },
                Some(limit),
            )
            .await;
        match answer {
            Ok(CallResult::Success(result)) => result,
            Ok(CallResult::Timeout) => {
                Err(SessionError::Internal("the session did not answer".into()))
            }
            Ok(CallResult::SenderError) | Err(_) => Err(SessionError::restarting(
                "the session restarted during the request; retry shortly",
            )),
        }
    }

    async fn acquire(&self, scope: &str, id: &str) -> Result<SessionLease, SessionError> {
        let (scope, id) = (scope.to_string(), id.to_string());
        let limit = Duration::from_secs(self.settings.sessions.login_timeout + 60);
        let began = Instant::now();
        let lease = flatten(
            self.manager
                .call(
                    |reply| ManagerMsg::Acquire { scope, id, reply },
                    Some(limit),
                )
                .await,
        );
        if let Some(trace) = request::current() {
            trace.add(Stage::Lookup, began.elapsed());
        }
        lease
    }

    /// Close every session and wait until every Chrome has exited, then stop the manager.
    pub async fn shutdown(&self) {
        let _ = self
            .manager
            .call(
                |reply| ManagerMsg::Shutdown { reply },
                Some(Duration::from_secs(20)),
            )
            .await;
        let _ = self
            .manager
            .stop_and_wait(Some("shutdown".into()), Some(QUICK))
            .await;
    }
}

/// A call on session `id` for the request this task serves, if any: the request's log line
/// names the session, and the call's end marks where the response stage begins.
fn traced_call(id: &str) -> Option<request::CallMark> {
    let trace = request::current()?;
    trace.set_session(id);
    Some(trace.call())
}

fn flatten<T>(
    answer: Result<CallResult<Result<T, SessionError>>, ractor::MessagingErr<ManagerMsg>>,
) -> Result<T, SessionError> {
    match answer {
        Ok(CallResult::Success(result)) => result,
        Ok(CallResult::Timeout) => Err(SessionError::Operation {
            fault: super::Fault::Timeout,
            message: "timed out waiting for the session".into(),
            bundle: None,
        }),
        Ok(CallResult::SenderError) => Err(SessionError::Internal(
            "the session manager dropped the request".into(),
        )),
        Err(_) => Err(SessionError::ShuttingDown),
    }
}

/// The typed value of an operation's outcome.
fn typed<T>(
    done: Result<Done<Outcome>, SessionError>,
    pick: impl FnOnce(Outcome) -> Option<T>,
) -> Result<Done<T>, SessionError> {
    let done = done?;
    match pick(done.value) {
        Some(value) => Ok(Done {
            value,
            screenshots: done.screenshots,
        }),
        None => Err(SessionError::Internal(
            "the session answered another operation's result".into(),
        )),
    }
}

/// One place in a session's queue (`sessions.max_queue`), held while a request waits or
/// runs and given back on drop.
struct QueueSlot(Arc<SessionShared>);

impl QueueSlot {
    fn take(shared: Arc<SessionShared>, limit: usize) -> Result<QueueSlot, SessionError> {
        if shared.begin_request(limit) {
            Ok(QueueSlot(shared))
        } else {
            Err(SessionError::Busy(limit))
        }
    }
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        self.0.end_request();
    }
}

/// The snapshots worth bringing back: every persistent session, and regular sessions whose
/// `session_timeout` has not passed since their last use. The others are deleted.
async fn restorable(settings: &Settings, store: &SnapshotStore) -> Vec<Snapshot> {
    let (snapshots, rejected) = store.load_all().await;
    let timeout = settings.session_timeout_span();
    let now = chrono::Utc::now();
    // The scopes clients can still reach: one per configured API token, or the open one.
    let tokens = &settings.server.api_tokens;
    let scopes: Vec<String> = if tokens.is_empty() {
        vec![String::new()]
    } else {
        tokens
            .iter()
            .map(|t| crate::credentials::token_scope(t.expose()))
            .collect()
    };
    let mut keep = Vec::new();
    for snapshot in snapshots {
        if !scopes.contains(&snapshot.scope) {
            // Its API token was removed (or tokens were turned on or off): no client could
            // ever use it again, and a persistent one would otherwise live for ever.
            tracing::info!(event = "session_closed", session_id = %snapshot.session_id, username = %snapshot.username, reason = "its API token is no longer configured");
            store.remove(&snapshot.session_id).await;
        } else if snapshot.keep_alive || snapshot.last_used + timeout > now {
            keep.push(snapshot);
        } else {
            tracing::info!(event = "session_expired", session_id = %snapshot.session_id, username = %snapshot.username, reason = "its session_timeout passed while the service was down");
            store.remove(&snapshot.session_id).await;
        }
    }
    if !keep.is_empty() || !rejected.is_empty() {
        tracing::info!(
            event = "snapshots_read",
            restoring = keep.len(),
            rejected = rejected.len()
        );
    }
    keep
}
