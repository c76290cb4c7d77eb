//! Running one business operation for a caller: the `Run` message from the front of the
//! mailbox to its answer. Separate from the actor because it is the one path that carries a
//! request's trace and progress and decides, from how the operation failed, whether the
//! session must restart or only the caller hears of it.

use super::{Session, SessionMsg, progress};
use crate::actors::SessionError;
use crate::actors::shared::SessionState;
use crate::model::{Debug, Done, Operation, Outcome};
use crate::portal::DriverError;
use crate::telemetry::request::{self, RequestTrace, Stage};
use ractor::{ActorRef, RpcReplyPort};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Session {
    /// The `Run` message: skipped if its caller has gone, else run under the request's id
    /// and answered; a success leaves a snapshot due once the session is quiet.
    pub(super) async fn serve(
        &mut self,
        myself: &ActorRef<SessionMsg>,
        op: Operation,
        debug: Option<Debug>,
        trace: Option<Arc<RequestTrace>>,
        sent: Instant,
        reply: RpcReplyPort<Result<Done<Outcome>, SessionError>>,
    ) {
        if let Some(trace) = &trace {
            trace.add(Stage::Mailbox, sent.elapsed());
        }
        if reply.is_closed() {
            tracing::debug!(session_id = %self.id(), operation = op.name(), "caller gone before its turn; skipped");
            return;
        }
        let request_id = trace.as_ref().map(|t| t.id.clone());
        if self.hibernating() {
            let woken = request::within(request_id.as_deref(), self.wake(myself)).await;
            if let Err(error) = woken {
                let _ = reply.send(Err(error));
                return;
            }
        }
        let run = self.run(myself, op, debug, trace.as_deref());
        let result = request::within(request_id.as_deref(), run).await;
        if result.is_ok() && !self.failed {
            self.snapshot_soon(myself);
        }
        let _ = reply.send(result);
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
                crate::actors::operations::perform(page, &op, label.as_deref())
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
}
