//! SessionManager: the registry of sessions and the supervisor of their actors.
//!
//! Every handler here is quick: it updates maps, spawns or stops actors, and arms timers.
//! Anything slow (Chrome, the portal, waiting for an actor to stop) happens in the session
//! actors or in a spawned task, so `/health` and `/sessions` answer in milliseconds while
//! logins run.

mod startup;

use super::SessionError;
use super::admission::Admission;
use super::session::{SessionActor, SessionArgs, SessionMsg};
use super::shared::{SessionGrant, SessionShared, SessionState, SessionSummary};
use crate::captcha::CaptchaClient;
use crate::config::{PortalProfile, Settings};
use crate::credentials::{Credentials, Keyer, new_session_id};
use crate::portal::Spares;
use crate::snapshot::{Snapshot, SnapshotStore};
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct SessionManager;

type GrantReply = RpcReplyPort<Result<SessionGrant, SessionError>>;

pub enum ManagerMsg {
    /// The live session for these credentials, or a new one (answered once logged in).
    GetSession {
        scope: String,
        credentials: Credentials,
        keep_alive: bool,
        reply: GrantReply,
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
    /// Sessions restored at start that have not come up yet.
    restoring: usize,
    /// This manager, for messages to itself from plain methods.
    me: ActorRef<ManagerMsg>,
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
            restoring: 0,
            me: myself.clone(),
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
                reply,
            } => {
                reg.get_session(&myself, scope, credentials, keep_alive, reply)
                    .await
            }
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
        chrono::Duration::from_std(self.settings.session_timeout()).unwrap_or(chrono::Duration::MAX)
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

    async fn get_session(
        &mut self,
        myself: &ActorRef<ManagerMsg>,
        scope: String,
        credentials: Credentials,
        keep_alive: bool,
        reply: GrantReply,
    ) {
        if self.shutting_down {
            let _ = reply.send(Err(SessionError::ShuttingDown));
            return;
        }
        let key = self
            .keyer
            .key(&scope, &credentials.username, &credentials.password);
        let timeout = self.timeout();
        if let Some(entry) = self.by_key.get(&key).and_then(|id| self.by_id.get_mut(id)) {
            let mut changed = false;
            if keep_alive && !entry.shared.keep_alive() {
                entry.shared.make_persistent();
                changed = true;
            }
            if entry.credentials.is_none() {
                // Restored without a password: the client just proved it has it, so a
                // later full login is possible again.
                entry.credentials = Some(credentials.clone());
                changed |= self.settings.sessions.persist_credentials;
            }
            if changed {
                let (store, id) = (self.store.clone(), entry.shared.id.clone());
                let persistent = entry.shared.keep_alive();
                let keep = self.settings.sessions.persist_credentials;
                tokio::spawn(async move {
                    let _ = store
                        .update(&id, move |s| {
                            s.keep_alive = persistent;
                            if keep {
                                s.password = Some(credentials.password);
                                s.captcha_key = Some(credentials.captcha_key);
                            }
                        })
                        .await;
                });
            }
            entry.shared.touch();
            if entry.shared.state() == SessionState::Ready {
                let _ = reply.send(Ok(entry.shared.grant(false, timeout)));
            } else {
                entry.grant_waiters.push((reply, false));
            }
            return;
        }
        if let Err(e) = self.admission.admit(&key) {
            let _ = reply.send(Err(e));
            return;
        }
        if let Some(quota) = self.admission.quota(&scope) {
            let held = self.by_id.values().filter(|e| e.scope == scope).count();
            if held >= quota && !self.evict_one(&scope) {
                let _ = reply.send(Err(SessionError::OverQuota(quota)));
                return;
            }
        }
        if self.by_id.len() >= self.settings.sessions.max_sessions && !self.evict_one(&scope) {
            let _ = reply.send(Err(SessionError::AtCapacity(
                self.settings.sessions.max_sessions,
            )));
            return;
        }
        // Only a login that is really started counts towards the limit: one refused above
        // (rate or capacity) never reached the portal.
        self.admission.record(&key);
        let id = new_session_id();
        let shared = Arc::new(SessionShared::new(
            id.clone(),
            credentials.username.clone(),
            keep_alive,
        ));
        let entry = Entry {
            shared,
            scope,
            key: key.clone(),
            credentials: Some(credentials),
            actor: None,
            incarnation: 0,
            grant_waiters: vec![(reply, true)],
            lease_waiters: Vec::new(),
            restarts: VecDeque::new(),
            ever_ready: false,
            outage: None,
            restore_next: false,
            startup_restore: false,
        };
        self.by_key.insert(key, id.clone());
        super::directory::register(&id, &entry.scope);
        self.by_id.insert(id.clone(), entry);
        self.spawn_session(myself, &id).await;
    }

    /// Start the actor for `id`'s current incarnation.
    async fn spawn_session(&mut self, myself: &ActorRef<ManagerMsg>, id: &str) {
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        let restore = if entry.restore_next {
            self.store.latest(id)
        } else {
            None
        };
        let args = SessionArgs {
            shared: entry.shared.clone(),
            credentials: entry.credentials.clone(),
            scope: entry.scope.clone(),
            credential_key: entry.key.clone(),
            settings: self.settings.clone(),
            profile: self.profile.clone(),
            captcha: self.captcha.clone(),
            manager: myself.clone(),
            incarnation: entry.incarnation,
            spares: self.spares.clone(),
            store: self.store.clone(),
            restore,
        };
        // pre_start is trivial, so this returns at once; Chrome starts inside the actor.
        match Actor::spawn_linked(None, SessionActor, args, myself.get_cell()).await {
            Ok((actor, _)) => entry.actor = Some(actor),
            Err(e) => {
                let error = SessionError::Internal(format!("cannot start session actor: {e}"));
                self.drop_session(id, "spawn_failed", &error);
            }
        }
    }

    /// Make room by closing the least recently used regular session that is idle.
    /// Close the least recently used idle regular session of `scope` (never another token's:
    /// one token must not push out another's sessions).
    fn evict_one(&mut self, scope: &str) -> bool {
        let victim = self
            .by_id
            .values()
            .filter(|e| {
                e.scope == scope
                    && !e.shared.keep_alive()
                    && !e.shared.busy()
                    && e.shared.state() == SessionState::Ready
            })
            .min_by_key(|e| e.shared.last_used())
            .map(|e| e.shared.id.clone());
        match victim {
            Some(id) => {
                tracing::info!(event = "session_closed", session_id = %id, reason = "evicted to make room");
                crate::metrics::evicted();
                self.remove(&id, None);
                true
            }
            None => false,
        }
    }

    fn acquire(
        &mut self,
        scope: &str,
        id: &str,
        reply: RpcReplyPort<Result<SessionLease, SessionError>>,
    ) {
        let Some(entry) = self.by_id.get_mut(id).filter(|e| e.scope == scope) else {
            let _ = reply.send(Err(SessionError::NotFound));
            return;
        };
        match (&entry.actor, entry.shared.state()) {
            // A session waiting for the portal takes requests: they answer 503 at once
            // rather than queue for as long as the outage lasts.
            (Some(actor), SessionState::Ready | SessionState::Waiting) => {
                let lease = SessionLease {
                    actor: actor.clone(),
                    shared: entry.shared.clone(),
                };
                let _ = reply.send(Ok(lease));
            }
            // Between logins while the portal is down: say so now, not when it is back.
            (None, SessionState::Waiting) => {
                let _ = reply.send(Err(SessionError::Operation {
                    fault: super::Fault::Unavailable,
                    message:
                        "the portal is unavailable; the session is waiting for it to come back"
                            .into(),
                    bundle: None,
                }));
            }
            _ => entry.lease_waiters.push(reply),
        }
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

    fn close_by_client(&mut self, scope: &str, id: &str, reply: RpcReplyPort<bool>) {
        if self.by_id.get(id).is_none_or(|e| e.scope != scope) {
            let _ = reply.send(false);
            return;
        }
        tracing::info!(event = "session_closed", session_id = %id, reason = "closed by client");
        self.remove(id, Some(reply));
    }

    fn logged_in(&mut self, id: &str, incarnation: u64) {
        let timeout = self.timeout();
        let Some(entry) = self
            .by_id
            .get_mut(id)
            .filter(|e| e.incarnation == incarnation)
        else {
            return;
        };
        entry.ever_ready = true;
        entry.outage = None;
        entry.shared.set_state(SessionState::Ready);
        let restored_at_start = std::mem::take(&mut entry.startup_restore);
        for (reply, is_new) in entry.grant_waiters.drain(..) {
            let _ = reply.send(Ok(entry.shared.grant(is_new, timeout)));
        }
        if let Some(actor) = &entry.actor {
            let lease = SessionLease {
                actor: actor.clone(),
                shared: entry.shared.clone(),
            };
            for reply in entry.lease_waiters.drain(..) {
                let _ = reply.send(Ok(lease.clone()));
            }
        }
        if restored_at_start {
            self.restore_slot_freed();
        }
    }

    /// A session's login, refresh, Chrome or actor failed: restart it or drop it.
    fn failed(
        &mut self,
        myself: &ActorRef<ManagerMsg>,
        id: &str,
        incarnation: u64,
        error: SessionError,
        cookies_valid: bool,
    ) {
        let settings = self.settings.clone();
        let Some(entry) = self
            .by_id
            .get_mut(id)
            .filter(|e| e.incarnation == incarnation)
        else {
            return;
        };
        entry.restore_next = cookies_valid && self.store.latest(id).is_some();
        entry.shared.record_error(error.to_string());
        if std::mem::take(&mut entry.startup_restore) {
            // It failed to come up; its restart (or drop) below no longer holds a slot.
            self.restore_slot_freed();
        }
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        if let SessionError::PortalUnreachable(_) = error {
            self.drop_session(id, "portal_unreachable", &error);
            return;
        }
        if error.is_permanent() {
            if error == SessionError::BadCredentials {
                let key = entry.key.clone();
                self.admission.rejected(key);
            }
            let reason = match error {
                SessionError::CredentialsNotKept => {
                    "portal cookies expired and no password kept (sessions.persist_credentials = false)"
                }
                _ => "login rejected",
            };
            self.drop_session(id, reason, &error);
            return;
        }
        if !entry.ever_ready {
            // Nobody has used this session yet and its caller is waiting: answer now
            // rather than retry behind their back.
            let key = entry.key.clone();
            self.admission.forget(&key);
            self.drop_session(id, "first login failed", &error);
            return;
        }
        if error.is_outage() {
            // A portal that is down is not a broken session: wait for it with backoff, not
            // counted against max_restarts, for at most outage_patience.
            let (since, attempts) = entry.outage.get_or_insert((Instant::now(), 0));
            *attempts += 1;
            let (waited, attempt) = (since.elapsed(), *attempts);
            if waited >= Duration::from_secs(settings.sessions.outage_patience) {
                let gone = SessionError::PortalUnreachable(waited.as_secs());
                self.drop_session(id, "portal_unreachable", &gone);
                return;
            }
            entry.shared.set_state(SessionState::Waiting);
            if let Some(actor) = entry.actor.take() {
                actor.stop(Some("portal unavailable".into()));
            }
            let backoff = backoff(&settings, attempt);
            crate::metrics::restart("outage");
            tracing::warn!(
                event = "session_waiting",
                session_id = %id,
                attempt,
                waited_s = waited.as_secs(),
                backoff_ms = backoff.as_millis() as u64,
                reason = %error,
            );
            let (id, incarnation) = (id.to_string(), entry.incarnation);
            myself.send_after(backoff, move || ManagerMsg::Restart { id, incarnation });
            return;
        }
        let window = Duration::from_secs(settings.sessions.restart_window);
        let now = Instant::now();
        while entry
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            entry.restarts.pop_front();
        }
        if entry.restarts.len() as u32 >= settings.sessions.max_restarts {
            let reason = format!(
                "more than {} restarts within {} s",
                settings.sessions.max_restarts, settings.sessions.restart_window
            );
            self.drop_session(id, &reason, &error);
            return;
        }
        entry.restarts.push_back(now);
        crate::metrics::restart(restart_reason(&error, cookies_valid));
        entry.shared.record_restart(error.to_string());
        let attempt = entry.restarts.len() as u32;
        entry.shared.count_restart();
        entry.shared.set_state(SessionState::Restarting);
        if let Some(actor) = entry.actor.take() {
            // Its Chrome is closed by its post_stop; the new one uses a new profile.
            actor.stop(Some("restarting".into()));
        }
        // A restore costs the portal one page load, not a login: the first one is not
        // delayed. Repeated failures still back off and count towards max_restarts.
        let backoff = if entry.restore_next && attempt == 1 {
            Duration::ZERO
        } else {
            backoff(&settings, attempt)
        };
        tracing::warn!(
            event = "session_restarting",
            session_id = %id,
            attempt,
            backoff_ms = backoff.as_millis() as u64,
            from_snapshot = entry.restore_next,
            reason = %error,
        );
        let (id, incarnation) = (id.to_string(), entry.incarnation);
        myself.send_after(backoff, move || ManagerMsg::Restart { id, incarnation });
    }

    async fn restart(&mut self, myself: &ActorRef<ManagerMsg>, id: &str, incarnation: u64) {
        if self.shutting_down {
            return;
        }
        let Some(entry) = self
            .by_id
            .get_mut(id)
            .filter(|e| e.incarnation == incarnation)
        else {
            return;
        };
        entry.incarnation += 1;
        self.spawn_session(myself, id).await;
    }

    fn expired(&mut self, id: &str, incarnation: u64) {
        let Some(entry) = self.by_id.get(id).filter(|e| e.incarnation == incarnation) else {
            return;
        };
        if entry.shared.busy() || entry.shared.keep_alive() {
            return;
        }
        tracing::info!(event = "session_expired", session_id = %id, username = %entry.shared.username);
        crate::metrics::expired();
        self.remove(id, None);
    }

    /// Remove a session for good and tell everyone waiting on it why.
    fn drop_session(&mut self, id: &str, reason: &str, error: &SessionError) {
        tracing::warn!(event = "session_dropped", session_id = %id, reason, error = %error);
        crate::metrics::dropped(drop_reason(reason, error));
        if let Some(entry) = self.by_id.get_mut(id) {
            let waiters: Vec<_> = entry.grant_waiters.drain(..).map(|(r, _)| r).collect();
            let leases: Vec<_> = entry.lease_waiters.drain(..).collect();
            let actor = entry.actor.take();
            self.unregister(id);
            let error = error.clone();
            let (store, id) = (self.store.clone(), id.to_string());
            tokio::spawn(async move {
                // Answer only once Chrome is gone, so no failure leaves a browser behind.
                stop_and_wait(actor).await;
                // After the actor: its last snapshot write is done (or tombstoned).
                store.remove(&id).await;
                for reply in waiters {
                    let _ = reply.send(Err(error.clone()));
                }
                for reply in leases {
                    let _ = reply.send(Err(error.clone()));
                }
            });
        }
    }

    /// Remove a session on purpose (closed, expired, evicted); never restarted.
    fn remove(&mut self, id: &str, done: Option<RpcReplyPort<bool>>) {
        let Some(entry) = self.by_id.get_mut(id) else {
            return;
        };
        let logging_in = entry.shared.state() != SessionState::Ready;
        entry.shared.set_state(SessionState::Closing);
        let waiters: Vec<_> = entry.grant_waiters.drain(..).map(|(r, _)| r).collect();
        let leases: Vec<_> = entry.lease_waiters.drain(..).collect();
        let actor = entry.actor.take();
        self.unregister(id);
        let (store, id) = (self.store.clone(), id.to_string());
        tokio::spawn(async move {
            end_actor(actor, logging_in, None).await;
            store.remove(&id).await;
            let gone = SessionError::Upstream("the session was closed".into());
            for reply in waiters {
                let _ = reply.send(Err(gone.clone()));
            }
            for reply in leases {
                let _ = reply.send(Err(SessionError::NotFound));
            }
            if let Some(done) = done {
                let _ = done.send(true);
            }
        });
    }

    fn unregister(&mut self, id: &str) {
        if let Some(entry) = self.by_id.remove(id) {
            self.by_key.remove(&entry.key);
            super::directory::forget(id);
            if entry.startup_restore {
                self.restore_slot_freed();
            }
        }
    }

    /// Close every session but keep their snapshots: the next start brings them back.
    fn shutdown(&mut self, reply: RpcReplyPort<()>) {
        self.shutting_down = true;
        let spares = self.spares.clone();
        self.restore_queue.clear();
        let ids: Vec<String> = self.by_id.keys().cloned().collect();
        let mut actors = Vec::new();
        for id in ids {
            if let Some(entry) = self.by_id.get_mut(&id) {
                tracing::info!(event = "session_closed", session_id = %id, reason = "shutdown");
                let starting = entry.shared.state() != SessionState::Ready;
                for (r, _) in entry.grant_waiters.drain(..) {
                    let _ = r.send(Err(SessionError::ShuttingDown));
                }
                for r in entry.lease_waiters.drain(..) {
                    let _ = r.send(Err(SessionError::ShuttingDown));
                }
                actors.extend(entry.actor.take().map(|a| (a, starting)));
            }
            self.unregister(&id);
        }
        tokio::spawn(async move {
            let mut stops = tokio::task::JoinSet::new();
            for (actor, starting) in actors {
                stops.spawn(async move {
                    end_actor(Some(actor), starting, Some(Duration::from_secs(5))).await;
                });
            }
            stops.join_all().await;
            spares.close().await;
            wait_for_browsers(Duration::from_secs(5)).await;
            let _ = reply.send(());
        });
    }
}

/// The `reason` label of `emodal_session_restarts_total`.
fn restart_reason(error: &SessionError, cookies_valid: bool) -> &'static str {
    match error {
        SessionError::Internal(_) => "actor",
        _ if cookies_valid => "browser",
        e if e.is_restarting() => "logged_out",
        _ => "login_failed",
    }
}

/// The `reason` label of `emodal_session_drops_total`: a small fixed set.
fn drop_reason(reason: &str, error: &SessionError) -> &'static str {
    match error {
        SessionError::BadCredentials => "bad_credentials",
        SessionError::CaptchaAccount(_) => "captcha_account",
        SessionError::PortalUnreachable(_) => "portal_unreachable",
        SessionError::CredentialsNotKept => "credentials_not_kept",
        _ if reason.starts_with("first login") => "first_login_failed",
        _ if reason.starts_with("more than") => "too_many_restarts",
        _ if reason == "spawn_failed" => "spawn_failed",
        _ => "other",
    }
}

/// Exponential backoff with jitter: initial * 2^(attempt-1), capped, times 0.5..1.5.
pub(super) fn backoff(settings: &Settings, attempt: u32) -> Duration {
    let s = &settings.sessions;
    let base = s
        .restart_backoff_initial_ms
        .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(20));
    let capped = base.min(s.restart_backoff_max_ms) as f64;
    let jitter: f64 = 0.5 + rand::random::<f64>();
    Duration::from_millis((capped * jitter) as u64)
}

async fn stop_and_wait(actor: Option<ActorRef<SessionMsg>>) {
    end_actor(actor, false, None).await;
}

/// End a session actor. A ready one is stopped gracefully, which waits for the operation in
/// progress (never kill mid-request). One still logging in is killed: a graceful stop would
/// wait for the whole login, and killing drops its browser handle, which kills Chrome.
/// `limit` bounds the graceful wait (shutdown cannot wait forever; a DELETE can).
async fn end_actor(actor: Option<ActorRef<SessionMsg>>, logging_in: bool, limit: Option<Duration>) {
    let Some(actor) = actor else { return };
    if logging_in {
        let _ = actor.kill_and_wait(Some(Duration::from_secs(5))).await;
    } else if actor
        .stop_and_wait(Some("closed".into()), limit)
        .await
        .is_err()
    {
        // Still inside a long request: kill it. Its BrowserHandle's drop kills Chrome, which
        // ends the request, and the browser thread removes the profile.
        tracing::warn!(session = %actor.get_id(), "session did not stop in time; killing it");
        let _ = actor.kill_and_wait(Some(Duration::from_secs(5))).await;
    }
}

/// Wait until every browser thread has closed Chrome and removed its profile.
pub async fn wait_for_browsers(limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while crate::portal::live_browsers() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
