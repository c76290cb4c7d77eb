//! SessionManager: the registry of sessions and the supervisor of their actors.
//!
//! Every handler here is quick: it updates maps, spawns or stops actors, and arms timers.
//! Anything slow (Chrome, the portal, waiting for an actor to stop) happens in the session
//! actors or in a spawned task, so `/health` and `/sessions` answer in milliseconds while
//! logins run.

// Each holds `impl Registry` handlers for one concern; this file keeps the actor, its
// messages and the registry's state.
mod closing;
mod cluster;
mod failures;
mod get_session;
mod ready;
mod spawn;
mod startup;

use closing::stop_and_wait;
pub use closing::wait_for_browsers;
pub(super) use failures::backoff;

use super::admission::Admission;
use super::session::SessionMsg;
use super::shared::{SessionGrant, SessionShared, SessionSummary};
use super::{Membership, SessionError};
use crate::captcha::CaptchaClient;
use crate::config::{PortalProfile, Settings};
use crate::credentials::{Credentials, Keyer};
use crate::portal::Spares;
use crate::snapshot::{Snapshot, SnapshotStore};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub struct SessionManager;

type GrantReply = RpcReplyPort<Result<SessionGrant, SessionError>>;

pub enum ManagerMsg {
    /// The live session for these credentials, or a new one (answered once logged in).
    GetSession {
        scope: String,
        credentials: Credentials,
        keep_alive: bool,
        /// The id a new session takes (cluster mode); `None`: a fresh one.
        new_id: Option<String>,
        /// The HTTP request asking, whose id the events of a new session's login carry.
        request_id: Option<String>,
        reply: GrantReply,
    },
    /// Cluster mode: bring a session another node served back here from its snapshot,
    /// under the same id. False when the id or its credentials are already here.
    Adopt {
        snapshot: Box<Snapshot>,
        reply: RpcReplyPort<bool>,
    },
    /// Cluster mode: another node serves this session now; close its Chrome at once but keep
    /// everything the cluster holds of it (records, the snapshot copy). Answered once the
    /// Chrome has exited; false when it was not here.
    Release {
        id: String,
        reply: RpcReplyPort<bool>,
    },
    /// The actor of a ready session, waiting while it (re)starts.
    Acquire {
        scope: String,
        id: String,
        reply: RpcReplyPort<Result<SessionLease, SessionError>>,
    },
    List {
        scope: String,
        reply: RpcReplyPort<Vec<SessionSummary>>,
    },
    /// Close a session; answered once its Chrome has exited.
    Close {
        scope: String,
        id: String,
        reply: RpcReplyPort<bool>,
    },
    /// Close everything; answered once every Chrome has exited.
    Shutdown {
        reply: RpcReplyPort<()>,
    },
    // From session actors:
    LoggedIn {
        id: String,
        incarnation: u64,
    },
    Failed {
        id: String,
        incarnation: u64,
        error: SessionError,
        /// The portal login may still be good (the browser died, not the login).
        cookies_valid: bool,
    },
    Expired {
        id: String,
        incarnation: u64,
    },
    // From its own restart timer:
    Restart {
        id: String,
        incarnation: u64,
    },
    /// Start restoring queued sessions while restore slots are free.
    RestoreNext,
    /// The shared status of one session (for its detail view).
    Shared {
        scope: String,
        id: String,
        reply: RpcReplyPort<Option<Arc<SessionShared>>>,
    },
    /// Every session's state, queue and browser, for the metrics.
    Census {
        reply: RpcReplyPort<Vec<SessionCount>>,
    },
}

/// One session as the metrics see it (no id: nothing here may become a label).
pub struct SessionCount {
    pub state: &'static str,
    pub in_flight: usize,
    pub chrome_pid: u32,
}

/// A ready session's actor, for running one operation on it.
#[derive(Clone)]
pub struct SessionLease {
    pub actor: ActorRef<SessionMsg>,
    pub shared: Arc<SessionShared>,
}

/// Counts the HTTP layer reads without asking the manager.
#[derive(Default)]
pub struct Counters {
    pub active: AtomicUsize,
    pub persistent: AtomicUsize,
}

pub struct ManagerArgs {
    pub settings: Arc<Settings>,
    pub keyer: Keyer,
    pub captcha: CaptchaClient,
    pub counters: Arc<Counters>,
    pub spares: Spares,
    pub store: SnapshotStore,
    /// Sessions to bring back from their snapshots, oldest use first.
    pub restore: Vec<Snapshot>,
    pub membership: Option<Arc<dyn Membership>>,
}

pub struct Registry {
    settings: Arc<Settings>,
    profile: Arc<PortalProfile>,
    keyer: Keyer,
    captcha: CaptchaClient,
    counters: Arc<Counters>,
    by_id: HashMap<String, Entry>,
    by_key: HashMap<String, String>,
    /// Login protection and per-token quotas.
    admission: Admission,
    spares: Spares,
    store: SnapshotStore,
    /// Sessions restored at start waiting for a slot (`sessions.restore_concurrency`).
    restore_queue: VecDeque<String>,
    /// This manager, for messages to itself from plain methods.
    me: ActorRef<ManagerMsg>,
    /// The cluster (cluster mode), told of sessions that end for good.
    membership: Option<Arc<dyn Membership>>,
    shutting_down: bool,
}

struct Entry {
    shared: Arc<SessionShared>,
    scope: String,
    key: String,
    /// `None`: restored at start from a snapshot without a password, and no client has sent
    /// it since.
    credentials: Option<Credentials>,
    actor: Option<ActorRef<SessionMsg>>,
    incarnation: u64,
    /// get_session callers waiting for the login (with their `is_new`).
    grant_waiters: Vec<(GrantReply, bool)>,
    /// Operations waiting for the session to become ready.
    lease_waiters: Vec<RpcReplyPort<Result<SessionLease, SessionError>>>,
    /// When recent restarts happened, for `max_restarts` within `restart_window`.
    restarts: VecDeque<Instant>,
    ever_ready: bool,
    /// Since when (re)logins have found the portal down, and how many in a row.
    outage: Option<(Instant, u32)>,
    /// The next incarnation comes up from the snapshot (the last failure left the portal
    /// cookies good: a crashed Chrome, not a logout).
    restore_next: bool,
    /// Restored at start and not up yet: holds one of the `restore_concurrency` slots.
    startup_restore: bool,
    /// The request that created the session, until its first actor has been given it.
    request_id: Option<String>,
}

impl Actor for SessionManager {
    type Msg = ManagerMsg;
    type State = Registry;
    type Arguments = ManagerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<ManagerMsg>,
        args: ManagerArgs,
    ) -> Result<Registry, ActorProcessingErr> {
        let mut reg = Registry {
            admission: Admission::new(&args.settings),
            profile: Arc::new(args.settings.portal.clone()),
            settings: args.settings,
            keyer: args.keyer,
            captcha: args.captcha,
            counters: args.counters,
            by_id: HashMap::new(),
            by_key: HashMap::new(),
            spares: args.spares,
            store: args.store,
            restore_queue: VecDeque::new(),
            me: myself.clone(),
            membership: args.membership,
            shutting_down: false,
        };
        // Registered before the first request can arrive, so a client holding an id waits
        // for it instead of getting "not found".
        reg.register_restored(args.restore);
        reg.update_counters();
        let _ = myself.send_message(ManagerMsg::RestoreNext);
        Ok(reg)
    }

    async fn handle(
        &self,
        myself: ActorRef<ManagerMsg>,
        message: ManagerMsg,
        reg: &mut Registry,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            ManagerMsg::GetSession {
                scope,
                credentials,
                keep_alive,
                new_id,
                request_id,
                reply,
            } => {
                let ask = get_session::Ask {
                    scope,
                    credentials,
                    keep_alive,
                    new_id,
                    request_id,
                };
                reg.get_session(&myself, ask, reply).await
            }
            ManagerMsg::Adopt { snapshot, reply } => {
                let _ = reply.send(reg.adopt(*snapshot));
            }
            ManagerMsg::Release { id, reply } => reg.release(&id, reply),
            ManagerMsg::Acquire { scope, id, reply } => reg.acquire(&scope, &id, reply),
            ManagerMsg::List { scope, reply } => {
                let _ = reply.send(reg.list(&scope));
            }
            ManagerMsg::Close { scope, id, reply } => reg.close_by_client(&scope, &id, reply),
            ManagerMsg::Shutdown { reply } => reg.shutdown(reply),
            ManagerMsg::LoggedIn { id, incarnation } => reg.logged_in(&id, incarnation),
            ManagerMsg::Failed {
                id,
                incarnation,
                error,
                cookies_valid,
            } => reg.failed(&myself, &id, incarnation, error, cookies_valid),
            ManagerMsg::Expired { id, incarnation } => reg.expired(&id, incarnation),
            ManagerMsg::Restart { id, incarnation } => reg.restart(&myself, &id, incarnation).await,
            ManagerMsg::RestoreNext => reg.restore_next(&myself).await,
            ManagerMsg::Shared { scope, id, reply } => {
                let shared = reg
                    .by_id
                    .get(&id)
                    .filter(|e| e.scope == scope)
                    .map(|e| e.shared.clone());
                let _ = reply.send(shared);
            }
            ManagerMsg::Census { reply } => {
                let rows = reg
                    .by_id
                    .values()
                    .map(|e| SessionCount {
                        state: e.shared.state_name(),
                        in_flight: e.shared.in_flight(),
                        chrome_pid: e.shared.chrome_pid(),
                    })
                    .collect();
                let _ = reply.send(rows);
            }
        }
        reg.update_counters();
        Ok(())
    }

    /// Replaces ractor's default, which would stop the manager when any session stops.
    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<ManagerMsg>,
        event: SupervisionEvent,
        reg: &mut Registry,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                if let Some((id, incarnation)) = reg.find_actor(&cell) {
                    let error = SessionError::Internal(format!("session actor failed: {err}"));
                    reg.failed(&myself, &id, incarnation, error, true);
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                // Sessions stop only when the manager stops them, after removing or
                // detaching them; one still registered ended unexpectedly.
                if let Some((id, incarnation)) = reg.find_actor(&cell) {
                    let why = reason.unwrap_or_else(|| "no reason given".into());
                    let error = SessionError::Internal(format!("session actor stopped: {why}"));
                    reg.failed(&myself, &id, incarnation, error, true);
                }
            }
            _ => {}
        }
        reg.update_counters();
        Ok(())
    }
}

impl Registry {
    fn timeout(&self) -> chrono::Duration {
        self.settings.session_timeout_span()
    }

    fn update_counters(&self) {
        self.counters
            .active
            .store(self.by_id.len(), Ordering::SeqCst);
        let persistent = self
            .by_id
            .values()
            .filter(|e| e.shared.keep_alive())
            .count();
        self.counters.persistent.store(persistent, Ordering::SeqCst);
    }

    fn find_actor(&self, cell: &ActorCell) -> Option<(String, u64)> {
        self.by_id.iter().find_map(|(id, e)| {
            let same = e
                .actor
                .as_ref()
                .is_some_and(|a| a.get_id() == cell.get_id());
            same.then(|| (id.clone(), e.incarnation))
        })
    }

    fn list(&self, scope: &str) -> Vec<SessionSummary> {
        let mut rows: Vec<SessionSummary> = self
            .by_id
            .values()
            .filter(|e| e.scope == scope)
            .map(|e| e.shared.summary(self.timeout()))
            .collect();
        rows.sort_by_key(|r| r.created_at);
        rows
    }
}
