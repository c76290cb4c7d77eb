//! Snapshot files on disk: atomic writes, tombstones, the start-up load.
//!
//! Writes go to a temp file in the same directory (already encrypted: no plaintext ever
//! touches the disk), are fsynced, then renamed over `<session_id>.snap` and the directory
//! fsynced, so a crash leaves either the old snapshot or the new one, never half of one.
//!
//! Saves come from a session's actor while removes come from the manager, so a save can
//! still be on its way when the session is deleted. A removed id is tombstoned for the life
//! of the process, and the rename of a save and the remove take the same lock: a late save
//! never brings a deleted session back at the next start.

use super::crypto::{OpenError, Sealer};
use super::{Snapshot, is_session_id};
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

const SUFFIX: &str = ".snap";
/// Temp files start with this, so `open` can tell an interrupted write from anything else.
const TEMP_PREFIX: &str = ".tmp-";
const REJECTED_DIR: &str = "rejected";

/// The snapshots of one data directory. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct SnapshotStore {
    inner: Arc<Inner>,
}

/// A snapshot file that did not load and was moved to `rejected/`.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The file name it had in the snapshot directory.
    pub file: String,
    /// Why, without any of its content.
    pub reason: String,
}

struct Inner {
    dir: PathBuf,
    sealer: Sealer,
    state: Mutex<State>,
    /// Told of every snapshot written, with its sealed bytes (cluster mode copies them to
    /// JetStream, so another node can bring the session back).
    mirror: std::sync::OnceLock<Arc<dyn SnapshotMirror>>,
}

/// Where written snapshots are copied, sealed (never plaintext).
pub trait SnapshotMirror: Send + Sync + 'static {
    /// Called after `session_id`'s snapshot file was renamed into place, on a blocking
    /// thread: must not block for long (hand the bytes to a task).
    fn written(&self, session_id: &str, sealed: Vec<u8>);
}

#[derive(Default)]
struct State {
    tombstones: HashSet<String>,
    latest: HashMap<String, Arc<Snapshot>>,
    /// Order of saves: a save staged earlier but renamed later must not replace a newer
    /// file (an `update` from the manager racing a save from the session).
    next_generation: u64,
    on_disk: HashMap<String, u64>,
}

impl SnapshotStore {
    /// `dir` = <data_dir>/sessions (created, mode 0700); leftover temp files of an interrupted write removed.
    pub fn open(dir: &Path, service_secret: &[u8]) -> anyhow::Result<SnapshotStore> {
        create_private_dir(dir)?;
        for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let entry = entry?;
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                fs::remove_file(entry.path())
                    .with_context(|| format!("removing {}", entry.path().display()))?;
            }
        }
        Ok(SnapshotStore {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                sealer: Sealer::new(service_secret),
                state: Mutex::default(),
                mirror: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// `<dir>/<session_id>.snap`
    pub fn path(&self, session_id: &str) -> PathBuf {
        self.inner.dir.join(format!("{session_id}{SUFFIX}"))
    }

    /// Encrypt and write atomically; also the cached latest. Does nothing for a removed id.
    pub async fn save(&self, snapshot: Snapshot) -> anyhow::Result<()> {
        anyhow::ensure!(
            is_session_id(&snapshot.session_id),
            "not a session id: {:?}",
            snapshot.session_id
        );
        let id = snapshot.session_id.clone();
        self.stage_and_write(&id, |_| Some(snapshot)).await
    }

    /// The last snapshot saved or loaded for this id (in memory).
    pub fn latest(&self, session_id: &str) -> Option<Arc<Snapshot>> {
        self.inner.lock().latest.get(session_id).cloned()
    }

    /// Change the cached snapshot's metadata and write it again; no-op if none cached.
    pub async fn update(
        &self,
        session_id: &str,
        change: impl FnOnce(&mut Snapshot) + Send + 'static,
    ) -> anyhow::Result<()> {
        self.stage_and_write(session_id, |cached| {
            let mut snapshot = Snapshot::clone(cached?);
            change(&mut snapshot);
            Some(snapshot)
        })
        .await
    }

    /// Copy every snapshot written from now on to `mirror` (set once).
    pub fn set_mirror(&self, mirror: Arc<dyn SnapshotMirror>) {
        let _ = self.inner.mirror.set(mirror);
    }

    /// A snapshot sealed by this store (or another with the same service secret), e.g. one
    /// another node copied to the cluster: decrypted and parsed, with a reason that quotes
    /// none of its content when it is not one.
    pub fn open_sealed(&self, session_id: &str, sealed: &[u8]) -> Result<Snapshot, String> {
        if !is_session_id(session_id) {
            return Err("not a session id".into());
        }
        let plaintext = self
            .inner
            .sealer
            .open(session_id, sealed)
            .map_err(|e: OpenError| e.to_string())?;
        parse(session_id, &plaintext)
    }

    /// Take a session (back) into this store: forget a removal of it in this process
    /// (another node had it, now this one does) and cache `snapshot` as its latest.
    pub fn adopt(&self, snapshot: Snapshot) {
        let mut state = self.inner.lock();
        state.tombstones.remove(&snapshot.session_id);
        state
            .latest
            .insert(snapshot.session_id.clone(), Arc::new(snapshot));
    }

    /// Tombstone the id, delete its file and cached copy. Idempotent.
    pub async fn remove(&self, session_id: &str) {
        let inner = self.inner.clone();
        let id = session_id.to_string();
        let path = self.path(session_id);
        let removed = tokio::task::spawn_blocking(move || {
            let mut state = inner.lock();
            state.tombstones.insert(id.clone());
            state.latest.remove(&id);
            state.on_disk.remove(&id);
            // Under the lock: a save's rename cannot slip in between.
            match fs::remove_file(&path) {
                Ok(()) => {
                    drop(state);
                    sync_dir(&inner.dir)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(std::io::Error::other)
        .and_then(|removed| removed);
        if let Err(e) = removed {
            tracing::warn!(event = "snapshot_remove_failed", session_id = %session_id, error = %e);
        }
    }

    /// At start: every snapshot that decrypts and parses (also cached), oldest use first,
    /// and every file that did not, moved to `rejected/`.
    pub async fn load_all(&self) -> (Vec<Snapshot>, Vec<Rejected>) {
        let store = self.clone();
        let (mut good, rejected) = match tokio::task::spawn_blocking(move || store.read_all()).await
        {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::error!(event = "snapshot_load_failed", error = %e);
                (Vec::new(), Vec::new())
            }
        };
        good.sort_by_key(|s| s.last_used);
        let mut state = self.inner.lock();
        for snapshot in &good {
            let generation = state.next_generation();
            let id = snapshot.session_id.clone();
            state.latest.insert(id.clone(), Arc::new(snapshot.clone()));
            state.on_disk.insert(id, generation);
        }
        (good, rejected)
    }

    /// Pick the snapshot to write under the lock (from the cached one, if any), then seal
    /// and write it outside it. `pick` runs under the lock so an `update` always starts
    /// from the newest save.
    async fn stage_and_write(
        &self,
        session_id: &str,
        pick: impl FnOnce(Option<&Arc<Snapshot>>) -> Option<Snapshot>,
    ) -> anyhow::Result<()> {
        let (snapshot, generation) = {
            let mut state = self.inner.lock();
            if state.tombstones.contains(session_id) {
                return Ok(());
            }
            let Some(snapshot) = pick(state.latest.get(session_id)) else {
                return Ok(());
            };
            let snapshot = Arc::new(snapshot);
            let generation = state.next_generation();
            state
                .latest
                .insert(session_id.to_string(), snapshot.clone());
            (snapshot, generation)
        };
        let inner = self.inner.clone();
        let path = self.path(session_id);
        tokio::task::spawn_blocking(move || inner.write(&snapshot, &path, generation))
            .await
            .context("snapshot writer task")?
    }

    pub(super) fn read_all(&self) -> (Vec<Snapshot>, Vec<Rejected>) {
        let dir = self.dir();
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::error!(event = "snapshot_load_failed", dir = %dir.display(), error = %e);
                return (Vec::new(), Vec::new());
            }
        };
        let (mut good, mut rejected) = (Vec::new(), Vec::new());
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            let Some(id) = name.strip_suffix(SUFFIX).filter(|_| is_file) else {
                continue; // not ours to judge: temp files, rejected/, anything else
            };
            match self.read_one(id, &entry.path()) {
                Ok(snapshot) => good.push(snapshot),
                Err(reason) => {
                    tracing::warn!(event = "snapshot_rejected", file = %name, reason = %reason);
                    self.move_aside(&name);
                    rejected.push(Rejected { file: name, reason });
                }
            }
        }
        (good, rejected)
    }

    fn read_one(&self, id: &str, path: &Path) -> Result<Snapshot, String> {
        if !is_session_id(id) {
            return Err("file name is not session_<32 hex digits>.snap".into());
        }
        let bytes = fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
        let plaintext = self
            .inner
            .sealer
            .open(id, &bytes)
            .map_err(|e: OpenError| e.to_string())?;
        parse(id, &plaintext)
    }

    fn move_aside(&self, name: &str) {
        let rejected = self.dir().join(REJECTED_DIR);
        let stamp = chrono::Utc::now().timestamp();
        let moved = create_private_dir(&rejected).and_then(|()| {
            fs::rename(
                self.dir().join(name),
                rejected.join(format!("{name}.{stamp}")),
            )
            .context("moving it aside")
        });
        if let Err(e) = moved {
            tracing::error!(event = "snapshot_reject_failed", file = %name, error = %format!("{e:#}"));
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic in an `update` closure (nothing is
        // half-changed when it runs), so a poisoned lock is still good to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self, snapshot: &Snapshot, path: &Path, generation: u64) -> anyhow::Result<()> {
        let plaintext = serde_json::to_vec(snapshot).context("serializing a snapshot")?;
        let sealed = self.sealer.seal(&snapshot.session_id, &plaintext);
        drop(plaintext);
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{:016x}",
            snapshot.session_id,
            rand::random::<u64>()
        ));
        let written = (|| {
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(&sealed)?;
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&temp);
            return Err(e).with_context(|| format!("writing {}", temp.display()));
        }
        let renamed = {
            let mut state = self.lock();
            let id = &snapshot.session_id;
            let superseded = state.on_disk.get(id).is_some_and(|&g| g > generation);
            if state.tombstones.contains(id) || superseded {
                drop(state);
                let _ = fs::remove_file(&temp);
                return Ok(());
            }
            let renamed = fs::rename(&temp, path);
            if renamed.is_ok() {
                state.on_disk.insert(id.clone(), generation);
            }
            renamed
        };
        if let Err(e) = renamed {
            let _ = fs::remove_file(&temp);
            return Err(e).with_context(|| format!("renaming to {}", path.display()));
        }
        sync_dir(&self.dir).with_context(|| format!("syncing {}", self.dir.display()))?;
        if let Some(mirror) = self.mirror.get() {
            mirror.written(&snapshot.session_id, sealed);
        }
        Ok(())
    }
}

/// Parse a decrypted snapshot of `id`.
fn parse(id: &str, plaintext: &[u8]) -> Result<Snapshot, String> {
    let mut json = serde_json::Deserializer::from_slice(plaintext);
    let snapshot: Snapshot = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        // Not serde_json's message: "invalid type: string \"...\"" quotes what it read,
        // which may be a password. The kind of error and the field path are enough.
        let kind = match e.inner().classify() {
            serde_json::error::Category::Data => "unexpected content",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Eof => "JSON cut short",
            serde_json::error::Category::Io => "read error",
        };
        format!("decrypted but not understood: {kind} at `{}`", e.path())
    })?;
    json.end()
        .map_err(|_| "decrypted but not understood: trailing data".to_string())?;
    if snapshot.session_id != id {
        return Err("holds another session id than its file name".into());
    }
    Ok(snapshot)
}

impl State {
    fn next_generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    // An existing directory keeps its mode through create: tighten it.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("setting the mode of {}", dir.display()))
}

/// Makes a rename or unlink in `dir` durable.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}
