//! `Sessions`: the named async functions the HTTP layer calls. Message types, reply ports
//! and timeouts stay in here. Business operations go in as
//! [`Operation`](crate::model::Operation)s and come back as typed results; nothing of the
//! driver crosses this boundary.
//!
//! This file builds the handle (`start`) and asks the registry; `operations` runs work on a
//! session's actor, `restorable` picks the snapshots worth bringing back at start.

mod operations;
mod restorable;

use super::manager::{Counters, ManagerArgs, ManagerMsg, SessionManager};
use super::shared::{SessionDetail, SessionGrant, SessionSummary};
use super::{Membership, SessionError};
use crate::captcha::CaptchaClient;
use crate::config::Settings;
use crate::credentials::{Credentials, Keyer};
use crate::portal::Spares;
use crate::snapshot::SnapshotStore;
use crate::telemetry::request::{self, Stage};
use ractor::{Actor, ActorRef, rpc::CallResult};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Quick registry questions never wait longer than this.
const QUICK: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Sessions {
    manager: ActorRef<ManagerMsg>,
    counters: Arc<Counters>,
    settings: Arc<Settings>,
    spares: Spares,
    store: SnapshotStore,
}

impl Sessions {
    /// Start the SessionManager. The returned join handle ends when it stops.
    /// `membership`: the cluster this node belongs to (cluster mode), told of sessions that
    /// end and of every snapshot written.
    pub async fn start(
        settings: Arc<Settings>,
        membership: Option<Arc<dyn Membership>>,
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
        if let Some(m) = &membership {
            store.set_mirror(m.clone());
        }
        let restore = restorable::restorable(&settings, &store).await;
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
            store: store.clone(),
            restore,
            membership,
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
                store,
            },
            join,
        ))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The snapshot store (cluster mode opens snapshots other nodes copied to the cluster).
    pub fn snapshots(&self) -> &SnapshotStore {
        &self.store
    }

    /// Cluster mode: bring a session another node served back here from its snapshot, under
    /// the same id (answered once registered; it comes up in the background). False when
    /// the id or its credentials are already here, or the service is stopping.
    pub async fn adopt(&self, snapshot: crate::snapshot::Snapshot) -> bool {
        let snapshot = Box::new(snapshot);
        let answer = self
            .manager
            .call(|reply| ManagerMsg::Adopt { snapshot, reply }, Some(QUICK))
            .await;
        matches!(answer, Ok(CallResult::Success(true)))
    }

    /// Cluster mode: another node serves `id` now; close its Chrome here at once, touching
    /// nothing the cluster holds. Answered once the Chrome has exited.
    pub async fn release(&self, id: &str) -> bool {
        let id = id.to_string();
        // Waits for the operation in progress, bounded like one.
        let limit = Duration::from_secs(self.settings.sessions.operation_timeout + 30);
        let answer = self
            .manager
            .call(|reply| ManagerMsg::Release { id, reply }, Some(limit))
            .await;
        matches!(answer, Ok(CallResult::Success(true)))
    }

    /// The live session for these credentials within `scope`, or a new one after login.
    pub async fn get_session(
        &self,
        scope: &str,
        credentials: Credentials,
        keep_alive: bool,
    ) -> Result<SessionGrant, SessionError> {
        self.get_session_as(scope, credentials, keep_alive, None)
            .await
    }

    /// [`Sessions::get_session`], a new session taking the id `new_id` when given (cluster
    /// mode: the id the cluster registered for these credentials). A session already live
    /// for them keeps its own id.
    pub async fn get_session_as(
        &self,
        scope: &str,
        credentials: Credentials,
        keep_alive: bool,
        new_id: Option<String>,
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
                    new_id,
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
