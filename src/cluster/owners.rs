//! The owner records (issue 15): one session per credential set across the cluster
//! (create-if-absent on `owners`), session id -> owner node (`sessions`).
//!
//! Claiming a session for `get_session` writes `sessions[id]` (naming the target node)
//! *before* `owners[key]`: whoever finds an owner record can always follow it to a session
//! record, and an owner record whose session record is gone is a leftover that may be
//! removed (compare-and-set on its revision, so a newer record is never touched).
//!
//! [`Owners`] keeps a copy of both buckets, fed by KV watches, so routing a request costs no
//! NATS round trip; a miss falls back to one `entry` read (a record created a moment ago on
//! another node may not have reached the watch yet). The copy also routes requests for
//! sessions while NATS is away.

mod watch;

use super::Cluster;
use super::Link;
use super::records::{OwnerRecord, SessionRecord};
use async_nats::jetstream::kv;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use watch::{Bucket, watch};

/// A bound on each KV round trip made for a request: a NATS server that stopped answering
/// must turn into a 503, not a request that hangs.
const KV_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a `get_session` goes: the session id the cluster registered for the credentials
/// and the node that serves (or is to create) it.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub session_id: String,
    pub node: String,
    /// Revision of `sessions[session_id]` (compare-and-set to move it, [`Owners::move_to`]).
    pub revision: u64,
    /// This call created the records (a new session).
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// NATS is not connected (or did not answer): new sessions cannot be registered.
    #[error("the cluster registry (NATS) is unreachable: {0}")]
    Unavailable(String),
}

/// The cached view of `sessions` and `owners`, and the claim. Cheap to clone.
#[derive(Clone)]
pub struct Owners {
    cluster: Cluster,
    view: Arc<View>,
}

#[derive(Default)]
struct View {
    /// Value (`None`: deleted) and revision, so an older write never hides a newer one.
    sessions: RwLock<HashMap<String, (Option<SessionRecord>, u64)>>,
    owners: RwLock<HashMap<String, (Option<String>, u64)>>,
    watchers: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for View {
    fn drop(&mut self) {
        for task in self
            .watchers
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default()
        {
            task.abort();
        }
    }
}

impl Owners {
    /// Start watching both buckets (once NATS answers). The watches end with the last clone.
    pub fn start(cluster: Cluster) -> Owners {
        let view = Arc::new(View::default());
        let weak = Arc::downgrade(&view);
        let sessions = tokio::spawn(watch(cluster.clone(), weak.clone(), Bucket::Sessions));
        let owners = tokio::spawn(watch(cluster.clone(), weak, Bucket::Owners));
        if let Ok(mut w) = view.watchers.lock() {
            w.extend([sessions, owners]);
        }
        Owners { cluster, view }
    }

    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// The record of session `id` as last seen by the watch, without a round trip.
    pub fn cached(&self, id: &str) -> Option<SessionRecord> {
        let map = self.view.sessions.read().unwrap_or_else(|p| p.into_inner());
        map.get(id).and_then(|(r, _)| r.clone())
    }

    /// The nodes named by the session records seen: every node that serves a session.
    pub fn nodes(&self) -> Vec<String> {
        let map = self.view.sessions.read().unwrap_or_else(|p| p.into_inner());
        let mut nodes: Vec<String> = map
            .values()
            .filter_map(|(r, _)| r.as_ref().map(|r| r.node.clone()))
            .collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }

    /// Who serves session `id`: the cached record, else one read of `sessions[id]` (when
    /// connected). `None`: no such session in the cluster, or the registry cannot say.
    pub async fn owner_of(&self, id: &str) -> Option<SessionRecord> {
        if !valid_key(id) {
            return None;
        }
        if let Some(record) = self.cached(id) {
            return Some(record);
        }
        self.fresh(id).await
    }

    /// Who serves session `id` now, read from the bucket (the copy updated with it): for a
    /// cached answer that turned out wrong (the watch can stall while a NATS server is
    /// lost). `None` when there is no such session or the registry cannot say.
    pub async fn fresh(&self, id: &str) -> Option<SessionRecord> {
        self.lookup(id).await.flatten()
    }

    /// [`Owners::fresh`], telling "no such session" (`Some(None)`) from "the registry cannot
    /// say now" (`None`: NATS away or not answering), which must not be taken for the first.
    pub async fn lookup(&self, id: &str) -> Option<Option<SessionRecord>> {
        if !valid_key(id) {
            return Some(None);
        }
        if !self.cluster.connected() {
            return None;
        }
        let link = self.cluster.link()?;
        let entry = tokio::time::timeout(KV_TIMEOUT, link.sessions.entry(id))
            .await
            .ok()?
            .ok()?;
        let Some(entry) = entry else {
            return Some(None);
        };
        let record = live_value::<SessionRecord>(&entry);
        self.note_session(id, record.clone(), entry.revision);
        Some(record)
    }

    /// The session registered for credential key `key` and its node; a new one placed on
    /// `place()` when there is none. Concurrent claims anywhere in the cluster all get the
    /// same answer: the owner record is created only if absent, and a loser removes the
    /// session record it made and follows the winner's.
    ///
    /// What the cached view already knows is answered from it; while NATS is away that is
    /// all (a session this cluster holds keeps working), anything new is refused.
    pub async fn claim(
        &self,
        scope: &str,
        key: &str,
        place: impl Fn() -> String,
    ) -> Result<Claim, ClaimError> {
        // The watch keeps the copy within milliseconds of the buckets: a session already
        // registered (every warm get_session) costs no round trip.
        if let Ok(claim) = self.claim_from_cache(key) {
            return Ok(claim);
        }
        let link = match self.cluster.link() {
            Some(link) if self.cluster.connected() => link,
            _ => return self.claim_from_cache(key),
        };
        match tokio::time::timeout(KV_TIMEOUT * 2, self.claim_on(&link, scope, key, place)).await {
            Ok(Ok(claim)) => Ok(claim),
            Ok(Err(e)) => self.claim_from_cache(key).map_err(|_| e),
            Err(_) => self
                .claim_from_cache(key)
                .map_err(|_| ClaimError::Unavailable("no answer in time".into())),
        }
    }

    fn claim_from_cache(&self, key: &str) -> Result<Claim, ClaimError> {
        let owners = self.view.owners.read().unwrap_or_else(|p| p.into_inner());
        let sessions = self.view.sessions.read().unwrap_or_else(|p| p.into_inner());
        let id = owners.get(key).and_then(|(id, _)| id.as_ref());
        id.and_then(|id| match sessions.get(id) {
            Some((Some(record), revision)) => Some(Claim {
                session_id: id.clone(),
                node: record.node.clone(),
                revision: *revision,
                created: false,
            }),
            _ => None,
        })
        .ok_or_else(|| ClaimError::Unavailable("not connected".into()))
    }

    async fn claim_on(
        &self,
        link: &Link,
        scope: &str,
        key: &str,
        place: impl Fn() -> String,
    ) -> Result<Claim, ClaimError> {
        let unavailable = |e: &dyn std::fmt::Display| ClaimError::Unavailable(e.to_string());
        // A few rounds: each lost race or removed leftover makes progress, so more than
        // three means something else is wrong.
        for _ in 0..4 {
            let owner = link.owners.entry(key).await.map_err(|e| unavailable(&e))?;
            if let Some(owner) = owner.as_ref()
                && let Some(record) = live_value::<OwnerRecord>(owner)
            {
                let id = record.session_id;
                let session = link
                    .sessions
                    .entry(&id)
                    .await
                    .map_err(|e| unavailable(&e))?;
                if let Some(session) = session
                    && let Some(rec) = live_value::<SessionRecord>(&session)
                {
                    self.note_owner(key, Some(id.clone()), owner.revision);
                    self.note_session(&id, Some(rec.clone()), session.revision);
                    return Ok(Claim {
                        session_id: id,
                        node: rec.node,
                        revision: session.revision,
                        created: false,
                    });
                }
                // The session ended and its owner record stayed behind (its node died
                // before removing it): remove it unless someone changed it meanwhile.
                let _ = link
                    .owners
                    .delete_expect_revision(key, Some(owner.revision))
                    .await;
                continue;
            }
            let node = place();
            let id = crate::credentials::new_session_id();
            let record = SessionRecord {
                node: node.clone(),
                credential_key: key.to_string(),
                scope: scope.to_string(),
            };
            let revision = link
                .sessions
                .create(&id, to_bytes(&record))
                .await
                .map_err(|e| unavailable(&e))?;
            let owner = OwnerRecord {
                session_id: id.clone(),
            };
            match link.owners.create(key, to_bytes(&owner)).await {
                Ok(owner_revision) => {
                    self.note_session(&id, Some(record), revision);
                    self.note_owner(key, Some(id.clone()), owner_revision);
                    return Ok(Claim {
                        session_id: id,
                        node,
                        revision,
                        created: true,
                    });
                }
                Err(e) => {
                    // Lost the race (or the write failed): our session record names a
                    // session nobody will create.
                    let _ = link
                        .sessions
                        .delete_expect_revision(&id, Some(revision))
                        .await;
                    if e.kind() != kv::CreateErrorKind::AlreadyExists {
                        return Err(unavailable(&e));
                    }
                }
            }
        }
        Err(ClaimError::Unavailable(
            "the owner record kept changing".into(),
        ))
    }

    /// Move a claimed session that has not started yet to `node` (its first target was
    /// full): compare-and-set on the revision the claim saw, so a session that moved or
    /// ended meanwhile is left alone. The new revision, or `None` when it changed.
    pub async fn move_to(&self, claim: &Claim, node: &str) -> Option<u64> {
        let link = self.cluster.link()?;
        let entry = link.sessions.entry(&claim.session_id).await.ok()??;
        let mut record = live_value::<SessionRecord>(&entry)?;
        if entry.revision != claim.revision {
            return None;
        }
        record.node = node.to_string();
        let revision = tokio::time::timeout(
            KV_TIMEOUT,
            link.sessions
                .update(&claim.session_id, to_bytes(&record), claim.revision),
        )
        .await
        .ok()?
        .ok()?;
        self.note_session(&claim.session_id, Some(record), revision);
        Some(revision)
    }

    fn note_session(&self, id: &str, value: Option<SessionRecord>, revision: u64) {
        note(&self.view.sessions, id, value, revision);
    }

    fn note_owner(&self, key: &str, value: Option<String>, revision: u64) {
        note(&self.view.owners, key, value, revision);
    }
}

/// Set a cached record (`None`: deleted), never replacing a newer revision with an older
/// one: a claim's own write and the watch's copy of it arrive in either order. Deletions
/// stay as markers (a few bytes per ended session) for the same reason.
fn note<V>(
    map: &RwLock<HashMap<String, (Option<V>, u64)>>,
    key: &str,
    value: Option<V>,
    revision: u64,
) {
    let mut map = map.write().unwrap_or_else(|p| p.into_inner());
    if map.get(key).is_none_or(|(_, seen)| *seen <= revision) {
        map.insert(key.to_string(), (value, revision));
    }
}

/// Remove the records of a session that ended for good on `node` (the membership calls
/// this): the session record only if it still names `node`, the owner record only if it
/// still names `id`; each by compare-and-set on the revision read, so a record rewritten
/// meanwhile (the credentials claimed anew) stays. A session record naming another node
/// means the session lives there now (taken over): then nothing is touched.
pub async fn forget(link: &Link, node: &str, id: &str, key: &str) -> anyhow::Result<()> {
    if let Some(entry) = link.sessions.entry(id).await?
        && let Some(record) = live_value::<SessionRecord>(&entry)
    {
        if record.node != node {
            return Ok(());
        }
        link.sessions
            .delete_expect_revision(id, Some(entry.revision))
            .await?;
    }
    if let Some(entry) = link.owners.entry(key).await?
        && live_value::<OwnerRecord>(&entry).is_some_and(|r| r.session_id == id)
    {
        link.owners
            .delete_expect_revision(key, Some(entry.revision))
            .await?;
    }
    Ok(())
}

/// A KV key we may ask about: session ids and credential keys are `[A-Za-z0-9_-]`; anything
/// else a client sends is no session of the cluster (and NATS would refuse it as a key).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn live_value<T: serde::de::DeserializeOwned>(entry: &kv::Entry) -> Option<T> {
    match entry.operation {
        kv::Operation::Put => serde_json::from_slice(&entry.value).ok(),
        kv::Operation::Delete | kv::Operation::Purge => None,
    }
}

fn to_bytes<T: serde::Serialize>(value: &T) -> bytes::Bytes {
    serde_json::to_vec(value).expect("records serialize").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked_before_asking_nats() {
        assert!(valid_key("session_0123456789abcdef0123456789abcdef"));
        assert!(valid_key(&"a".repeat(64)));
        for bad in ["", "a.b", "a b", "a*", "a>", "../x", &"a".repeat(201)] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn the_cache_never_goes_back_a_revision() {
        let map: RwLock<HashMap<String, (Option<u32>, u64)>> = RwLock::default();
        note(&map, "k", Some(1), 5);
        note(&map, "k", Some(0), 4);
        assert_eq!(map.read().unwrap()["k"], (Some(1), 5));
        note(&map, "k", None, 7);
        note(&map, "k", Some(2), 6);
        assert_eq!(map.read().unwrap()["k"], (None, 7));
    }
}
