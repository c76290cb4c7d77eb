//! The cluster's side of [`crate::actors::Membership`] (issue 15): every snapshot written
//! is copied, sealed, to `snapshots[id]` so another node can bring the session back; a
//! session that ends for good takes its records with it.
//!
//! The manager calls in and must never wait on the network, so each call only leaves work
//! in a per-session slot and a task does it. One task per session at a time, always taking
//! the newest work left in the slot: an older put can never land after a newer one (newest
//! wins), and writes that pile up while one is on its way collapse into the last.
//!
//! Before the link to NATS exists (or while it is down) the work waits in its slot, the
//! newest per session: nothing is dropped, nothing grows beyond one snapshot per session.

use super::Cluster;
use super::records::SessionRecord;
use crate::actors::Membership;
use crate::snapshot::SnapshotMirror;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long an ended session is remembered (its records and files are long gone by then).
const ENDED_MEMORY: Duration = Duration::from_secs(600);
use tokio::sync::Notify;

/// Copies snapshots to the cluster and removes the records of ended sessions.
pub struct ClusterMembership {
    /// Itself, for the tasks it spawns (the manager's calls come through a plain `&self`).
    me: Weak<ClusterMembership>,
    cluster: Cluster,
    runtime: tokio::runtime::Handle,
    slots: Mutex<HashMap<String, Slot>>,
    /// Sessions that ended here lately, and when: the takeover must not bring one back from
    /// a record or snapshot file that is still on its way out.
    ended: Mutex<HashMap<String, Instant>>,
    /// Told each time a session's task ends (its slot empty): [`Self::flush`] waits on it.
    idle: Notify,
}

#[derive(Default)]
struct Slot {
    next: Option<Work>,
    /// A task is working on this session (it takes `next` when it is done).
    running: bool,
}

enum Work {
    /// Sealed snapshot bytes, as on disk.
    Put(Vec<u8>),
    /// The session ended; its credential key.
    Gone(String),
}

/// The membership of each node id in this process, for [`membership_of`] (the drain must
/// flush the copies, and the shutdown path only has the [`Cluster`] at hand).
static REGISTERED: Mutex<Vec<(String, Weak<ClusterMembership>)>> = Mutex::new(Vec::new());

/// The membership made for `cluster`'s node, if it still lives.
pub(super) fn membership_of(cluster: &Cluster) -> Option<Arc<ClusterMembership>> {
    let registered = REGISTERED.lock().unwrap_or_else(|p| p.into_inner());
    registered
        .iter()
        .find(|(node, _)| node == cluster.node_id())
        .and_then(|(_, m)| m.upgrade())
}

/// Wait (at most `limit`) until this node has written the end of session `id` to the
/// cluster: a DELETE answers only then, so a `get_session` right after it cannot find the
/// ended session's records and be given its id again. True when done (or nothing pending).
pub async fn ended_written(cluster: &Cluster, id: &str, limit: Duration) -> bool {
    match membership_of(cluster) {
        Some(m) => m.flush(&[id.to_string()], limit).await,
        None => true,
    }
}

impl ClusterMembership {
    /// Call from within the Tokio runtime (it keeps a handle to spawn its tasks on).
    pub fn new(cluster: Cluster) -> Arc<Self> {
        let membership = Arc::new_cyclic(|me| ClusterMembership {
            me: me.clone(),
            cluster,
            runtime: tokio::runtime::Handle::current(),
            slots: Mutex::new(HashMap::new()),
            ended: Mutex::new(HashMap::new()),
            idle: Notify::new(),
        });
        let mut registered = REGISTERED.lock().unwrap_or_else(|p| p.into_inner());
        registered.retain(|(node, m)| m.strong_count() > 0 && node != membership.cluster.node_id());
        registered.push((
            membership.cluster.node_id().to_string(),
            Arc::downgrade(&membership),
        ));
        membership
    }

    /// Wait (at most `limit`) until no copy or removal is pending for any of `ids`; true
    /// when none is.
    pub async fn flush(&self, ids: &[String], limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            // Registered before the check, so an end in between is not missed.
            notified.as_mut().enable();
            if ids.iter().all(|id| !self.lock().contains_key(id)) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Session `id` ended here lately (its end may still be on its way to the cluster, its
    /// snapshot file on its way out): it must not be brought back.
    pub fn has_ended(&self, id: &str) -> bool {
        let mut ended = self.ended.lock().unwrap_or_else(|p| p.into_inner());
        ended.retain(|_, at| at.elapsed() < ENDED_MEMORY);
        ended.contains_key(id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        // Nothing is left half-changed under this lock: a poisoned one is still good.
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leave `work` for session `id` and start its task if none runs.
    fn leave(&self, id: &str, work: Work) {
        let start = {
            let mut slots = self.lock();
            if matches!(work, Work::Put(_)) && self.has_ended(id) {
                // A write that finished after the session ended: it must not bring it back.
                return;
            }
            let slot = slots.entry(id.to_string()).or_default();
            slot.next = Some(work);
            !std::mem::replace(&mut slot.running, true)
        };
        if start && let Some(me) = self.me.upgrade() {
            let id = id.to_string();
            self.runtime.spawn(async move { me.work_on(id).await });
        }
    }

    /// Do the work left for `id` until none is left.
    async fn work_on(self: Arc<Self>, id: String) {
        loop {
            let work = {
                let mut slots = self.lock();
                let slot = slots.get_mut(&id).and_then(|s| s.next.take());
                if slot.is_none() {
                    slots.remove(&id);
                }
                slot
            };
            let Some(work) = work else {
                self.idle.notify_waiters();
                return;
            };
            match work {
                Work::Put(sealed) => self.put(&id, sealed).await,
                Work::Gone(key) => self.gone(&id, &key).await,
            }
        }
    }

    /// True when newer work for `id` is waiting (then the current one is not worth retrying).
    fn superseded(&self, id: &str) -> bool {
        self.lock().get(id).is_some_and(|s| s.next.is_some())
    }

    async fn put(&self, id: &str, sealed: Vec<u8>) {
        let mut delay = Duration::from_millis(250);
        loop {
            let link = self.cluster.linked().await;
            match put_snapshot(&link, self.cluster.node_id(), id, &sealed).await {
                Ok(true) => return,
                Ok(false) => {
                    tracing::info!(event = "snapshot_not_copied", session_id = %id, "another node holds this session now; its snapshot is not overwritten");
                    return;
                }
                Err(e) => {
                    tracing::warn!(event = "snapshot_copy_failed", session_id = %id, error = %format!("{e:#}"), retry_in_ms = delay.as_millis() as u64);
                }
            }
            tokio::time::sleep(delay).await;
            if self.superseded(id) {
                return;
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    async fn gone(&self, id: &str, key: &str) {
        let mut delay = Duration::from_millis(250);
        loop {
            let link = self.cluster.linked().await;
            match forget(&link, self.cluster.node_id(), id, key).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(event = "session_records_remove_failed", session_id = %id, error = %format!("{e:#}"), retry_in_ms = delay.as_millis() as u64);
                }
            }
            tokio::time::sleep(delay).await;
            if self.superseded(id) {
                return;
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

/// Put `sealed` as `snapshots[id]` unless `sessions[id]` names another node: a node that
/// lost the session (paused, then fenced) must not overwrite the new owner's copy. Ok(false)
/// when it did not put for that reason.
async fn put_snapshot(
    link: &super::Link,
    node: &str,
    id: &str,
    sealed: &[u8],
) -> anyhow::Result<bool> {
    if let Some(entry) = link.sessions.entry(id).await?
        && entry.operation == async_nats::jetstream::kv::Operation::Put
        && let Ok(record) = serde_json::from_slice::<SessionRecord>(&entry.value)
        && record.node != node
    {
        return Ok(false);
    }
    link.snapshots
        .put(id, bytes::Bytes::copy_from_slice(sealed))
        .await?;
    Ok(true)
}

/// Session `id` (credential key `key`) ended here for good: its records go (helper B's
/// [`super::owners::forget`]) and `snapshots[id]` is purged, but only while `sessions[id]`
/// names this node (or is gone). One naming another node means this node lost the session
/// (it was paused, then fenced) and everything there is the new owner's, `owners[key]`
/// included, which `forget` alone would remove.
pub(super) async fn forget(
    link: &super::Link,
    node: &str,
    id: &str,
    key: &str,
) -> anyhow::Result<()> {
    if let Some(entry) = link.sessions.entry(id).await?
        && entry.operation == async_nats::jetstream::kv::Operation::Put
        && serde_json::from_slice::<SessionRecord>(&entry.value).is_ok_and(|r| r.node != node)
    {
        return Ok(());
    }
    super::owners::forget(link, node, id, key).await?;
    link.snapshots.purge(id).await?;
    tracing::debug!(event = "session_records_removed", session_id = %id);
    Ok(())
}

impl SnapshotMirror for ClusterMembership {
    fn written(&self, session_id: &str, sealed: Vec<u8>) {
        self.leave(session_id, Work::Put(sealed));
    }
}

impl Membership for ClusterMembership {
    fn session_gone(&self, id: &str, key: &str) {
        self.ended
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), Instant::now());
        self.leave(id, Work::Gone(key.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::records::OwnerRecord;
    use std::process::{Child, Command, Stdio};

    const ID: &str = "session_0123456789abcdef0123456789abcdef";
    const ID2: &str = "session_fedcba9876543210fedcba9876543210";

    /// Debian's nats-server (scripts/install-nats.sh) on a free port, killed on drop.
    struct Nats(Child);

    impl Drop for Nats {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn nats(store: &std::path::Path) -> (Nats, u16) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("/usr/sbin/nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (scripts/install-nats.sh installs it)");
        (Nats(child), port)
    }

    fn record(node: &str, key: &str) -> bytes::Bytes {
        let r = SessionRecord {
            node: node.into(),
            credential_key: key.into(),
            scope: String::new(),
        };
        serde_json::to_vec(&r).unwrap().into()
    }

    async fn value(store: &async_nats::jetstream::kv::Store, key: &str) -> Option<Vec<u8>> {
        store.get(key).await.unwrap().map(|b| b.to_vec())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn copies_keep_the_newest_and_an_end_takes_the_records_along() {
        let dir = tempfile::tempdir().unwrap();
        let (_nats, port) = nats(&dir.path().join("nats"));
        let mut settings =
            crate::config::Settings::from_overrides(&[("sessions.secret", "s3cret-quokka-1")])
                .unwrap();
        settings.cluster.nats_urls = vec![format!("nats://127.0.0.1:{port}")];
        settings.cluster.node_id = "n1".into();
        settings.chrome.data_dir = dir.path().join("data");
        let cluster = Cluster::start(Arc::new(settings), "http://127.0.0.1:9").unwrap();
        let membership = ClusterMembership::new(cluster.clone());
        let all = [ID.to_string(), ID2.to_string()];

        // Before the link: the writes wait, and only the newest goes out.
        for i in 0..20u8 {
            membership.written(ID, vec![i]);
        }
        let link = tokio::time::timeout(Duration::from_secs(30), cluster.linked())
            .await
            .expect("linked to nats-server");
        assert!(membership.flush(&all, Duration::from_secs(30)).await);
        assert_eq!(value(&link.snapshots, ID).await, Some(vec![19]));

        // Another node claimed it: its copy is not overwritten, its records stay.
        link.sessions.put(ID, record("n2", "k1")).await.unwrap();
        let owner = OwnerRecord {
            session_id: ID.into(),
        };
        let owner = bytes::Bytes::from(serde_json::to_vec(&owner).unwrap());
        link.owners.put("k1", owner).await.unwrap();
        membership.written(ID, vec![99]);
        membership.session_gone(ID, "k1");
        assert!(membership.flush(&all, Duration::from_secs(30)).await);
        assert_eq!(value(&link.snapshots, ID).await, Some(vec![19]));
        assert!(value(&link.owners, "k1").await.is_some());
        assert!(value(&link.sessions, ID).await.is_some());

        // Held here: an end removes its record, its owner record and its copy; a write that
        // finishes after the end does not bring the copy back.
        link.sessions.put(ID2, record("n1", "k2")).await.unwrap();
        let owner = OwnerRecord {
            session_id: ID2.into(),
        };
        let owner = bytes::Bytes::from(serde_json::to_vec(&owner).unwrap());
        link.owners.put("k2", owner).await.unwrap();
        membership.written(ID2, vec![1]);
        assert!(membership.flush(&all, Duration::from_secs(30)).await);
        assert_eq!(value(&link.snapshots, ID2).await, Some(vec![1]));
        membership.session_gone(ID2, "k2");
        membership.written(ID2, vec![2]);
        assert!(membership.flush(&all, Duration::from_secs(30)).await);
        assert_eq!(value(&link.sessions, ID2).await, None);
        assert_eq!(value(&link.owners, "k2").await, None);
        assert_eq!(value(&link.snapshots, ID2).await, None);
        assert!(membership.has_ended(ID2));
    }
}
