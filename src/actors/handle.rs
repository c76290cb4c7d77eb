//! `Sessions`: the named async functions the HTTP layer calls. Message types, reply ports
//! and timeouts stay in here.

use super::SessionError;
use super::manager::{Counters, ManagerArgs, ManagerMsg, SessionLease, SessionManager};
use super::session::SessionMsg;
use super::shared::{SessionGrant, SessionSummary};
use crate::captcha::CaptchaClient;
use crate::config::Settings;
use crate::credentials::{Credentials, Keyer};
use crate::portal::{DriverError, Page, Shot};
use ractor::{Actor, ActorRef, rpc::CallResult};
use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Screenshots for a `debug: true` request.
#[derive(Debug, Clone, Default)]
pub struct DebugSpec {
    /// Defaults to the session's username.
    pub label: Option<String>,
    pub container: Option<String>,
}

/// Quick registry questions never wait longer than this.
const QUICK: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Sessions {
    manager: ActorRef<ManagerMsg>,
    counters: Arc<Counters>,
    settings: Arc<Settings>,
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
        let counters = Arc::new(Counters::default());
        let args = ManagerArgs {
            settings: settings.clone(),
            keyer,
            captcha: CaptchaClient::new(&settings.captcha),
            counters: counters.clone(),
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
        let answer = self
            .manager
            .call(
                |reply| ManagerMsg::GetSession {
                    scope,
                    credentials,
                    keep_alive,
                    reply,
                },
                Some(limit),
            )
            .await;
        flatten(answer)
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

    /// Close a session; true once its Chrome has exited, false if there was no such session.
    pub async fn close(&self, scope: &str, id: &str) -> bool {
        let (scope, id) = (scope.to_string(), id.to_string());
        // Closing waits for the operation in progress, which may be a long one.
        let limit = Duration::from_secs(self.settings.sessions.operation_timeout + 30);
        let answer = self
            .manager
            .call(|reply| ManagerMsg::Close { scope, id, reply }, Some(limit))
            .await;
        matches!(answer, Ok(CallResult::Success(true)))
    }

    /// (all sessions, persistent sessions), without a round trip to the manager.
    pub fn counts(&self) -> (usize, usize) {
        (
            self.counters.active.load(Ordering::SeqCst),
            self.counters.persistent.load(Ordering::SeqCst),
        )
    }

    /// Run `job` on session `id`'s browser, queued behind the session's other requests.
    /// With `debug`, the job's steps are screenshotted and the shots returned with the result.
    pub async fn run<R, F>(
        &self,
        scope: &str,
        id: &str,
        step: &str,
        debug: Option<DebugSpec>,
        job: F,
    ) -> Result<(R, Vec<Shot>), SessionError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Page) -> Result<R, DriverError> + Send + 'static,
    {
        let lease = self.acquire(scope, id).await?;
        let limit = self.settings.sessions.max_queue.max(1);
        if !lease.shared.begin_request(limit) {
            return Err(SessionError::Busy(limit));
        }
        let username = lease.shared.username.clone();
        let boxed: super::session::Job = Box::new(move |page: &mut Page| {
            if let Some(debug) = &debug {
                page.start_debug(
                    debug.label.as_deref().unwrap_or(&username),
                    debug.container.as_deref(),
                );
            }
            let result = job(page);
            page.snap("result");
            let shots = page.take_shots();
            result.map(|r| Box::new((r, shots)) as Box<dyn Any + Send>)
        });
        let step = step.to_string();
        // The actor bounds the operation itself; this limit only covers a lost actor.
        let limit = Duration::from_secs(self.settings.sessions.operation_timeout + 30);
        let answer = lease
            .actor
            .call(
                |reply| SessionMsg::Run {
                    step,
                    job: boxed,
                    reply,
                },
                Some(limit),
            )
            .await;
        lease.shared.end_request();
        let result = match answer {
            Ok(CallResult::Success(result)) => result.map_err(SessionError::from),
            Ok(CallResult::Timeout) => {
                Err(SessionError::Internal("the session did not answer".into()))
            }
            Ok(CallResult::SenderError) | Err(_) => Err(SessionError::Driver(
                DriverError::Browser("the session restarted during the request".into()),
            )),
        }?;
        result
            .downcast::<(R, Vec<Shot>)>()
            .map(|b| *b)
            .map_err(|_| SessionError::Internal("operation returned an unexpected type".into()))
    }

    async fn acquire(&self, scope: &str, id: &str) -> Result<SessionLease, SessionError> {
        let (scope, id) = (scope.to_string(), id.to_string());
        let limit = Duration::from_secs(self.settings.sessions.login_timeout + 60);
        flatten(
            self.manager
                .call(
                    |reply| ManagerMsg::Acquire { scope, id, reply },
                    Some(limit),
                )
                .await,
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

fn flatten<T>(
    answer: Result<CallResult<Result<T, SessionError>>, ractor::MessagingErr<ManagerMsg>>,
) -> Result<T, SessionError> {
    match answer {
        Ok(CallResult::Success(result)) => result,
        Ok(CallResult::Timeout) => Err(SessionError::Upstream(
            "timed out waiting for the session".into(),
        )),
        Ok(CallResult::SenderError) => Err(SessionError::Internal(
            "the session manager dropped the request".into(),
        )),
        Err(_) => Err(SessionError::ShuttingDown),
    }
}
