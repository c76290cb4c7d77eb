//! Dead nodes' sessions taken over, fencing, and the hand-over of a draining node (issue
//! 15, items 5 and 6).
//!
//! One loop per node, every `cluster.heartbeat_ms`, working from a copy of the `sessions`
//! bucket (a full scan at start, after each reconnect, after a long gap between ticks and
//! every [`FULL_EVERY`]; a KV watch in between):
//!
//! - **fencing** ([`fence`]): a session held here whose record names another node is
//!   released at once (its Chrome closed): the other node claimed it while this one was
//!   paused or cut off. The watch does this the moment the record changes; the loop again
//!   after a gap or a reconnect, when the watch may have missed it.
//! - **own records** ([`fence`]): a record naming this node that this node does not hold is
//!   adopted from its snapshot (a draining node handed it over, or this node restarted);
//!   without a snapshot it is a login on its way (left alone while younger than
//!   `sessions.login_timeout` + 60 s, then removed). After a reconnect, sessions held here
//!   whose records are missing are put back.
//! - **held at start** ([`held`]): cluster mode registers the sessions of this node's own
//!   snapshot files at start without restoring them (requests wait); each is restored
//!   once its record names this node, or released to the node it names.
//! - **takeover** ([`claim`]): a record naming a dead node is claimed with compare-and-set
//!   on its revision (one winner), first by the survivor [`view::first_taker`] picks, by any
//!   survivor one `node_timeout` later; the winner adopts it from `snapshots[id]`. Without
//!   a snapshot its records are removed (clients get 404 and log in again).
//! - **drain** ([`drain::hand_over`]): on SIGTERM each session's snapshot is copied, its
//!   record moved to a live node, and its Chrome closed here; that node's loop adopts it.

mod claim;
mod drain;
mod fence;
mod held;
mod view;

pub use drain::hand_over;

use super::{Cluster, Link};
use crate::actors::Sessions;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use view::Rec;

/// A full scan of the `sessions` bucket at least this often, whatever the watch says.
const FULL_EVERY: Duration = Duration::from_secs(10);

/// The loop's state, shared with the watch and the drain.
pub(super) struct Takeover {
    cluster: Cluster,
    sessions: Sessions,
    /// The `sessions` bucket as last seen (scans and the watch; revisions only go up).
    records: Mutex<HashMap<String, Rec>>,
    /// A record now names this node: look at once instead of at the next tick.
    wake: Notify,
    /// The next tick scans the whole bucket (the watch restarted, the link came back).
    full_due: AtomicBool,
    /// Draining: adopt and claim nothing more.
    draining: AtomicBool,
    /// When this node first saw each dead node dead (the grace before any survivor claims).
    dead_since: Mutex<HashMap<String, Instant>>,
    /// Sessions registered at start from this node's files and not restored yet ([`held`]).
    held_back: Mutex<HashSet<String>>,
}

/// The loop of each node id in this process, for the drain (which the shutdown path calls
/// with only the [`Cluster`] at hand).
static LOOPS: Mutex<Vec<(String, Weak<Takeover>)>> = Mutex::new(Vec::new());

fn loop_of(cluster: &Cluster) -> Option<Arc<Takeover>> {
    let loops = LOOPS.lock().unwrap_or_else(|p| p.into_inner());
    loops
        .iter()
        .find(|(node, _)| node == cluster.node_id())
        .and_then(|(_, t)| t.upgrade())
}

/// Start the loop (it waits for the link). Abort the handle to stop it.
pub fn spawn(cluster: Cluster, sessions: Sessions) -> tokio::task::JoinHandle<()> {
    let takeover = Arc::new(Takeover {
        cluster,
        held_back: Mutex::new(held_at_start(&sessions)),
        sessions,
        records: Mutex::new(HashMap::new()),
        wake: Notify::new(),
        full_due: AtomicBool::new(true),
        draining: AtomicBool::new(false),
        dead_since: Mutex::new(HashMap::new()),
    });
    {
        let mut loops = LOOPS.lock().unwrap_or_else(|p| p.into_inner());
        let node = takeover.cluster.node_id().to_string();
        loops.retain(|(n, t)| t.strong_count() > 0 && *n != node);
        loops.push((node, Arc::downgrade(&takeover)));
    }
    tokio::spawn(takeover.run())
}

impl Takeover {
    async fn run(self: Arc<Self>) {
        let link = self.cluster.linked().await;
        let watch = tokio::spawn(fence::watch(Arc::downgrade(&self), link.clone()));
        let _watch = AbortOnDrop(watch);
        let settings = &self.cluster.settings().cluster;
        let heartbeat = Duration::from_millis(settings.heartbeat_ms.max(50));
        // A tick this late means the process did not run (SIGSTOP, a frozen VM): another
        // node may have claimed what this one holds, and the watch may have missed it.
        let long_gap = (heartbeat * 3).max(Duration::from_millis(settings.node_timeout * 500));
        // Nobody is judged dead from a view that cannot be current yet. At the first link
        // and after a gap the other nodes kept beating: one node_timeout brings their fresh
        // heartbeats (one that sent none in that time is dead by definition). After a
        // reconnect NATS was away for them too, and each client reconnects on its own
        // backoff (up to 4 s apart in async-nats): 5 s more.
        let timeout = Duration::from_secs(settings.node_timeout);
        let mut judge_from = Instant::now() + timeout;
        let mut last = Instant::now();
        let mut last_full: Option<Instant> = None;
        let mut was_connected = true;
        // The first tick at once: the snapshots held back at start wait for it.
        let mut first = true;
        loop {
            if !std::mem::take(&mut first) {
                tokio::select! {
                    _ = tokio::time::sleep(heartbeat) => {}
                    _ = self.wake.notified() => {}
                }
            }
            // From the end of the last tick: a slow tick (a busy manager) is no pause.
            let gap = last.elapsed();
            if gap > long_gap {
                tracing::warn!(
                    event = "takeover_gap",
                    gap_ms = gap.as_millis() as u64,
                    "this node did not run for a while; checking what it holds against the cluster"
                );
                self.full_due.store(true, Ordering::SeqCst);
                // Every heartbeat this node saw is old now: none judged until fresh ones came.
                judge_from = Instant::now() + timeout;
            }
            last = Instant::now();
            if !self.cluster.connected() {
                was_connected = false;
                continue;
            }
            if !std::mem::replace(&mut was_connected, true) {
                self.full_due.store(true, Ordering::SeqCst);
                judge_from = Instant::now() + timeout + Duration::from_secs(5);
            }
            let full = self.full_due.swap(false, Ordering::SeqCst)
                || last_full.is_none_or(|t| t.elapsed() > FULL_EVERY);
            let judge = Instant::now() >= judge_from;
            match self.tick(&link, full, judge).await {
                Ok(()) if full => last_full = Some(Instant::now()),
                Ok(()) => {}
                Err(e) => {
                    tracing::debug!(event = "takeover_tick_failed", error = %format!("{e:#}"));
                    if full {
                        self.full_due.store(true, Ordering::SeqCst);
                    }
                }
            }
            last = Instant::now();
        }
    }

    /// `judge`: dead nodes may be judged (see the grace in [`Self::run`]).
    async fn tick(&self, link: &Link, full: bool, judge: bool) -> anyhow::Result<()> {
        if full {
            let all = view::scan(link).await?;
            let mut records = self.lock_records();
            records.retain(|id, _| all.contains_key(id));
            for (id, rec) in all {
                note(&mut records, id, rec);
            }
        }
        let nodes = view::NodeView::of(&self.cluster);
        let records = self.lock_records().clone();
        let held = self.held(&records).await;
        self.fence(&records, &held).await;
        if self.draining() {
            return Ok(());
        }
        self.held_back(link, &records, &held, full).await;
        self.own_records(link, &records, &held).await;
        if full {
            self.missing_records(link, &records, &held).await;
        }
        if judge {
            self.claim_dead(link, &nodes, &records).await;
        }
        Ok(())
    }

    fn lock_records(&self) -> std::sync::MutexGuard<'_, HashMap<String, Rec>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_held_back(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held_back.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn me(&self) -> &str {
        self.cluster.node_id()
    }

    /// The ids of the sessions this node holds, in any state: every scope a client can use
    /// (the configured tokens') and every scope the records name.
    async fn held(&self, records: &HashMap<String, Rec>) -> HashSet<String> {
        let mut scopes = configured_scopes(self.sessions.settings());
        scopes.extend(records.values().map(|r| r.record.scope.clone()));
        let mut held = HashSet::new();
        for scope in scopes {
            held.extend(
                self.sessions
                    .list(&scope)
                    .await
                    .into_iter()
                    .map(|s| s.session_id),
            );
        }
        held
    }
}

/// The sessions the manager registered at start without restoring them (cluster mode):
/// those of the snapshot files left on disk once the start-up read deleted the expired.
/// Read before the HTTP server runs, so no session of this run has a file yet.
fn held_at_start(sessions: &Sessions) -> HashSet<String> {
    let Ok(dir) = std::fs::read_dir(sessions.snapshots().dir()) else {
        return HashSet::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".snap").map(str::to_string)
        })
        .filter(|id| crate::snapshot::is_session_id(id))
        .collect()
}

/// Set a record unless a newer revision of it is known (a claim's own write and the
/// watch's copy of it arrive in either order).
fn note(records: &mut HashMap<String, Rec>, id: String, rec: Rec) {
    if records.get(&id).is_none_or(|r| r.revision <= rec.revision) {
        records.insert(id, rec);
    }
}

/// The scopes clients can reach: one per configured API token, or the open one.
fn configured_scopes(settings: &crate::config::Settings) -> HashSet<String> {
    let tokens = &settings.server.api_tokens;
    if tokens.is_empty() {
        return HashSet::from([String::new()]);
    }
    tokens
        .iter()
        .map(|t| crate::credentials::token_scope(t.expose()))
        .collect()
}

fn to_bytes<T: serde::Serialize>(value: &T) -> bytes::Bytes {
    serde_json::to_vec(value).expect("records serialize").into()
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::records::SessionRecord;

    fn rec(node: &str, revision: u64) -> Rec {
        Rec {
            record: SessionRecord {
                node: node.into(),
                credential_key: "k".into(),
                scope: String::new(),
            },
            revision,
            written_at: 0,
        }
    }

    #[test]
    fn the_copy_never_goes_back_a_revision() {
        let mut records = HashMap::new();
        note(&mut records, "s".into(), rec("b", 7));
        note(&mut records, "s".into(), rec("a", 6));
        assert_eq!(records["s"].record.node, "b");
        note(&mut records, "s".into(), rec("c", 8));
        assert_eq!(records["s"].record.node, "c");
    }
}
