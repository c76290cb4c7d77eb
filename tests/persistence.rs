//! Sessions outlive the service process (issue 12): a SIGTERMed or SIGKILLed service started
//! again on the same data directory answers the old `session_id` from its encrypted snapshot,
//! without a captcha; snapshots it cannot trust are set aside; nothing secret is on disk in
//! plaintext. The sandbox portal runs as its own process, so its portal sessions (the cookies
//! a snapshot carries) live on while the service is down.

#[path = "support/service.rs"]
mod service;
mod support;

use serde_json::Value;
use service::{
    ACCOUNTS, CAPTCHA_KEY, PATIENCE, SandboxProcess, ServiceProcess, TOKEN, snapshot_path,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::{chrome_pids_under, eventually, wait_until};

/// A test's sandbox and data directory, in a temp dir removed at the end.
struct World {
    tmp: tempfile::TempDir,
    sandbox: SandboxProcess,
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let sandbox = SandboxProcess::start(&tmp.path().join("sandbox")).await;
        World { tmp, sandbox }
    }

    fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    async fn service(&self, extra: service::Extra<'_>) -> ServiceProcess {
        let dir = self.tmp.path();
        ServiceProcess::start(dir, &self.data_dir(), self.sandbox.url(), extra).await
    }

    /// Captcha tasks and successful portal logins so far.
    async fn logins(&self) -> (u64, u64) {
        let s = self.sandbox.stats().await;
        (
            s["captcha_tasks"].as_u64().unwrap(),
            s["logins_ok"].as_u64().unwrap(),
        )
    }
}

async fn containers_ok(service: &ServiceProcess, id: &str) {
    let (status, body) = service.containers(id).await;
    assert_eq!(status, 200, "get_containers for {id}: {body}");
    assert!(!body["containers"].as_array().unwrap().is_empty(), "{body}");
}

/// SIGTERM, a clean exit, and the session's snapshot on disk.
async fn stop_keeping(service: &mut ServiceProcess, id: &str) {
    assert_eq!(
        service.sigterm_and_wait().await,
        Some(0),
        "{}",
        service.logs()
    );
    let snap = service.snapshot_path(id);
    assert!(snap.is_file(), "no snapshot at {}", snap.display());
}

fn events_for(service: &ServiceProcess, event: &str, id: &str) -> Vec<Value> {
    service
        .log_events(event)
        .into_iter()
        .filter(|e| e["session_id"] == id)
        .collect()
}

fn assert_restored_from_snapshot(service: &ServiceProcess, id: &str) {
    let restored = events_for(service, "session_restored", id);
    assert!(
        restored.iter().any(|e| e["source"] == "snapshot"),
        "no session_restored from a snapshot for {id}: {restored:?}\n{}",
        service.logs()
    );
}

/// The session comes back under its id with no captcha and no login, and `get_session`
/// finds it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_restart_keeps_the_session() {
    let world = World::new().await;
    let mut first = world.service(&[]).await;
    let id = first.session_id(&ACCOUNTS[0], true).await;
    containers_ok(&first, &id).await;
    let before = world.logins().await;
    stop_keeping(&mut first, &id).await;

    let second = world.service(&[]).await;
    // No wait for the restore: a client's request right after the restart waits for it.
    containers_ok(&second, &id).await;
    assert_eq!(world.logins().await, before, "a captcha or login was spent");
    assert_restored_from_snapshot(&second, &id);
    let (status, body) = second.get_session(&ACCOUNTS[0], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], id.as_str());
    assert_eq!(body["is_new"], false);
    assert_eq!(world.logins().await, before);
}

/// A SIGKILLed service wrote nothing at exit: the snapshot written while it served is what
/// brings the session back; its orphaned Chrome is killed by the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_restart_keeps_the_session() {
    let world = World::new().await;
    let profiles = world.data_dir().join("profiles");
    let mut first = world.service(&[]).await;
    let id = first.session_id(&ACCOUNTS[0], true).await;
    containers_ok(&first, &id).await;
    let before = world.logins().await;
    let orphans = chrome_pids_under(&profiles);
    assert_eq!(orphans.len(), 1, "one Chrome for one session");
    first.sigkill().await;
    assert!(
        first.snapshot_path(&id).is_file(),
        "no snapshot after SIGKILL"
    );

    let second = world.service(&[]).await;
    second.ready(&id).await;
    containers_ok(&second, &id).await;
    assert_eq!(world.logins().await, before, "a captcha or login was spent");
    assert_restored_from_snapshot(&second, &id);
    let now = chrome_pids_under(&profiles);
    assert!(
        orphans.iter().all(|pid| !now.contains(pid)),
        "the first run's Chrome {orphans:?} is still running: {now:?}"
    );
    assert_eq!(now.len(), 1, "one Chrome for the restored session: {now:?}");
}

/// A regular session is only a client's for `session_timeout` after its last use; a restart
/// within it keeps the session.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regular_session_within_its_timeout_comes_back() {
    let world = World::new().await;
    let mut first = world.service(&[]).await;
    let id = first.session_id(&ACCOUNTS[0], false).await;
    containers_ok(&first, &id).await;
    let before = world.logins().await;
    stop_keeping(&mut first, &id).await;

    let second = world.service(&[]).await;
    let row = second.ready(&id).await;
    assert_eq!(row["keep_alive"], false, "{row}");
    containers_ok(&second, &id).await;
    assert_eq!(world.logins().await, before, "a captcha or login was spent");
    assert_restored_from_snapshot(&second, &id);
}

/// ...and once its timeout has passed while the service was down, it is not brought back and
/// its snapshot is removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_regular_session_is_not_restored() {
    const TIMEOUT: Duration = Duration::from_secs(10);
    let world = World::new().await;
    let extra = [("sessions", "session_timeout = 10")];
    let mut first = world.service(&extra).await;
    let id = first.session_id(&ACCOUNTS[0], false).await;
    containers_ok(&first, &id).await;
    let last_use = Instant::now();
    stop_keeping(&mut first, &id).await;
    // Expiry is a matter of time passing: wait until the timeout is over (with a margin).
    tokio::time::sleep_until((last_use + TIMEOUT + Duration::from_secs(1)).into()).await;

    let second = world.service(&extra).await;
    let snap = snapshot_path(&world.data_dir(), &id);
    wait_until("the expired snapshot removed", PATIENCE, || !snap.exists()).await;
    assert!(
        second
            .sessions()
            .await
            .iter()
            .all(|s| s["session_id"] != id.as_str()),
        "an expired session is listed"
    );
    let (status, body) = second.containers(&id).await;
    assert_eq!(body["success"], false, "{status} {body}");
    assert_eq!(body["error_code"], "session_not_found", "{status} {body}");
    assert!(events_for(&second, "session_restored", &id).is_empty());
}

/// Portal cookies that died while the service was down: the restore falls back to a full
/// login (one captcha) under the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn portal_logout_between_falls_back_to_a_full_login() {
    let world = World::new().await;
    let mut first = world.service(&[]).await;
    let id = first.session_id(&ACCOUNTS[0], true).await;
    containers_ok(&first, &id).await;
    stop_keeping(&mut first, &id).await;
    world.sandbox.logout_all().await;
    let (captchas, logins) = world.logins().await;

    let second = world.service(&[]).await;
    containers_ok(&second, &id).await;
    assert_eq!(
        world.logins().await,
        (captchas + 1, logins + 1),
        "one full login"
    );
    assert!(
        !events_for(&second, "login_succeeded", &id).is_empty(),
        "no login_succeeded for {id} in the second run:\n{}",
        second.logs()
    );
}

/// Flip one byte in the middle of a file.
fn tamper(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

/// Whether `<data_dir>/sessions/rejected/` holds a file named after session `id`.
fn set_aside(data_dir: &Path, id: &str) -> bool {
    std::fs::read_dir(data_dir.join("sessions").join("rejected"))
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(id))
        })
        .unwrap_or(false)
}

/// A tampered snapshot, a truncated one and one sealed with another service's secret: each
/// is moved aside and logged, the service starts anyway, and the credentials log in afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_snapshots_are_rejected_and_set_aside() {
    let world = World::new().await;
    let data = world.data_dir();
    // C's snapshot comes from another service, whose data dir has a secret.key of its own.
    let other_data = world.tmp.path().join("other-data");
    let other_dir = world.tmp.path().join("other");
    let (mut first, mut other) = tokio::join!(
        world.service(&[]),
        ServiceProcess::start(&other_dir, &other_data, world.sandbox.url(), &[]),
    );
    let (a, b, c) = tokio::join!(
        first.session_id(&ACCOUNTS[0], true),
        first.session_id(&ACCOUNTS[1], true),
        other.session_id(&ACCOUNTS[2], true),
    );
    stop_keeping(&mut first, &a).await;
    assert!(first.snapshot_path(&b).is_file());
    stop_keeping(&mut other, &c).await;
    drop((first, other));

    tamper(&snapshot_path(&data, &a));
    let truncated = std::fs::OpenOptions::new()
        .write(true)
        .open(snapshot_path(&data, &b))
        .unwrap();
    truncated.set_len(20).unwrap();
    std::fs::copy(snapshot_path(&other_data, &c), snapshot_path(&data, &c)).unwrap();
    let (captchas, _) = world.logins().await;

    let second = world.service(&[]).await;
    for id in [&a, &b, &c] {
        wait_until(&format!("{id} set aside"), PATIENCE, || {
            set_aside(&data, id) && !snapshot_path(&data, id).exists()
        })
        .await;
    }
    let rejected = second.log_lines("snapshot_rejected");
    assert_eq!(rejected.len(), 3, "{rejected:#?}");
    for id in [&a, &b, &c] {
        assert!(
            rejected.iter().any(|l| l.contains(id.as_str())),
            "{id}: {rejected:#?}"
        );
    }
    let logs = second.logs();
    for secret in ACCOUNTS
        .iter()
        .map(|a| a.password)
        .chain([CAPTCHA_KEY, TOKEN])
    {
        assert!(!logs.contains(secret), "{secret} in the logs");
    }
    let listed = second.sessions().await;
    for id in [&a, &b, &c] {
        assert!(
            listed.iter().all(|s| s["session_id"] != id.as_str()),
            "{id} listed"
        );
    }
    let (status, body) = second.get_session(&ACCOUNTS[0], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["is_new"], true, "{body}");
    assert_ne!(body["session_id"], a.as_str());
    assert_eq!(world.logins().await.0, captchas + 1, "a full login");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Snapshots are sealed: the data dir of a stopped service holds no password, captcha key,
/// token, username or portal cookie in the clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_in_plaintext_on_disk() {
    let world = World::new().await;
    let mut first = world.service(&[]).await;
    let (kept, regular) = tokio::join!(
        first.session_id(&ACCOUNTS[0], true),
        first.session_id(&ACCOUNTS[1], false),
    );
    containers_ok(&first, &kept).await;
    containers_ok(&first, &regular).await;
    stop_keeping(&mut first, &kept).await;
    assert!(first.snapshot_path(&regular).is_file());

    let files = walk(&world.data_dir());
    let snaps: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        .collect();
    assert_eq!(snaps.len(), 2, "{files:?}");
    let mut needles: Vec<&str> = vec![CAPTCHA_KEY, TOKEN, "ecp_session"];
    for a in &ACCOUNTS[..2] {
        needles.extend([a.username, a.password]);
    }
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for needle in &needles {
            assert!(!text.contains(needle), "{needle} in {}", file.display());
        }
        if snaps.contains(&file) {
            assert_ne!(bytes.first(), Some(&b'{'), "{} is JSON", file.display());
        }
    }
}

/// With `persist_credentials = false` the snapshot holds no password or captcha key, so a
/// session whose cookies died while the service was down cannot log in again: it is dropped,
/// saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn persist_credentials_false() {
    let world = World::new().await;
    let data = world.data_dir();
    let extra = [("sessions", "persist_credentials = false")];
    let mut first = world.service(&extra).await;
    let id = first.session_id(&ACCOUNTS[0], true).await;
    containers_ok(&first, &id).await;
    stop_keeping(&mut first, &id).await;

    let key = std::fs::read_to_string(data.join("secret.key")).unwrap();
    let secret = hex::decode(key.trim()).expect("secret.key is hex");
    let store = emodal_api::snapshot::SnapshotStore::open(&data.join("sessions"), &secret)
        .expect("the snapshot store opens");
    let (snapshots, rejected) = store.load_all().await;
    assert!(rejected.is_empty(), "{rejected:?}");
    let snapshot = snapshots
        .iter()
        .find(|s| s.session_id == id)
        .expect("the session's snapshot decrypts");
    assert!(snapshot.password.is_none(), "a password was kept");
    assert!(snapshot.captcha_key.is_none(), "a captcha key was kept");

    world.sandbox.logout_all().await;
    let second = world.service(&extra).await;
    let dropped = eventually("session_dropped", PATIENCE, || async {
        let events = events_for(&second, "session_dropped", &id);
        (!events.is_empty()).then_some(events)
    })
    .await;
    let said = Value::from(dropped).to_string().to_lowercase();
    assert!(said.contains("persist_credentials"), "{said}");
    let (status, body) = second.containers(&id).await;
    assert_eq!(body["success"], false, "{status} {body}");
    assert!(status == 400 || status == 404, "{status} {body}");
}

/// A deleted session leaves no snapshot behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_removes_the_snapshot() {
    let world = World::new().await;
    let service = world.service(&[]).await;
    let id = service.session_id(&ACCOUNTS[0], true).await;
    let snap = service.snapshot_path(&id);
    wait_until("the snapshot written", PATIENCE, || snap.is_file()).await;
    let (status, body) = service.delete(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200, "{body}");
    wait_until("the snapshot removed", Duration::from_secs(5), || {
        !snap.exists()
    })
    .await;
}

/// The harness itself, which holds without issue 12's restore: two processes, logins, the
/// service's clean exit on SIGTERM, and a SIGKILLed run's Chrome cleaned up by the next start
/// on the same data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn harness_restarts_and_kills_the_service() {
    let world = World::new().await;
    let profiles = world.data_dir().join("profiles");
    let mut first = world.service(&[]).await;
    let id = first.session_id(&ACCOUNTS[0], true).await;
    containers_ok(&first, &id).await;
    assert_eq!(world.logins().await, (1, 1));
    assert_eq!(first.sigterm_and_wait().await, Some(0));
    assert!(first.logs().contains("shutdown_complete"));
    assert!(chrome_pids_under(&profiles).is_empty());

    let mut second = world.service(&[]).await;
    second.session_id(&ACCOUNTS[1], true).await;
    let orphans = chrome_pids_under(&profiles);
    assert!(!orphans.is_empty());
    second.sigkill().await;
    assert_eq!(
        chrome_pids_under(&profiles),
        orphans,
        "Chrome outlives SIGKILL"
    );

    let third = world.service(&[]).await;
    assert_eq!(
        third.log_events("startup_cleanup").len(),
        1,
        "{}",
        third.logs()
    );
    let now = chrome_pids_under(&profiles);
    assert!(orphans.iter().all(|pid| !now.contains(pid)), "{now:?}");
}
