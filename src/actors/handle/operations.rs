//! The business operations through the handle: one typed function per operation, all
//! going through `execute` (the lease from the manager, a place in the session's queue, the
//! `Run` message, one retry of a read on a restarted session). The screenshot takes the same
//! way in. Apart from `handle.rs` because these talk to a session's actor, not the registry.

use super::{Sessions, flatten, traced_call};
use crate::actors::SessionError;
use crate::actors::manager::{ManagerMsg, SessionLease};
use crate::actors::session::SessionMsg;
use crate::actors::shared::SessionShared;
use crate::model::{
    AppointmentList, AvailableTimes, Booked, ContainerDetail, Debug, Done, Grid, ListTarget,
    Operation, Outcome, Target, Visit,
};
use crate::telemetry::request::{self, Stage};
use ractor::rpc::CallResult;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a screenshot waits for its turn behind a running request.
const LOOK_WAIT: Duration = Duration::from_secs(5);

impl Sessions {
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
                    let request_id = request::current().map(|t| t.id.clone());
                    tracing::info!(event = "request_retried", session_id = %id, operation = op.name(), reason = %e, request_id);
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
