//! What the store promises the manager: snapshots come back after a restart, nothing
//! readable is on disk, bad files are moved aside, a removed session stays removed.

use super::crypto::Sealer;
use super::*;
use crate::model::{Cookie, OriginStorage};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SECRET: &[u8] = b"the service secret, 32 bytes long";
const ID: &str = "session_0123456789abcdef0123456789abcdef";
const OTHER_ID: &str = "session_fedcba9876543210fedcba9876543210";
// Distinctive, so finding one in a file cannot be a coincidence.
const PASSWORD: &str = "pw-Zq8vKx2mLr";
const CAPTCHA_KEY: &str = "ck-Hn4wPt7yBe";
const COOKIE_VALUE: &str = "cv-Jd3sUa9fWo";
const STORAGE_VALUE: &str = "sv-Rg6cNe1qTi";
const USERNAME: &str = "user-Mb5xVy0kLh";

fn snapshot(id: &str) -> Snapshot {
    let now = chrono::Utc::now();
    let mut browser = BrowserState {
        cookies: vec![Cookie {
            name: "ecp_session".into(),
            value: COOKIE_VALUE.into(),
            domain: "127.0.0.2".into(),
            path: "/".into(),
            expires: None,
            http_only: true,
            secure: false,
            same_site: Some("Lax".into()),
            source_scheme: Some("NonSecure".into()),
            source_port: Some(5011),
        }],
        storage: BTreeMap::new(),
    };
    browser.storage.insert(
        "http://127.0.0.2:5011".into(),
        OriginStorage {
            local: BTreeMap::from([("oidc.user".into(), STORAGE_VALUE.into())]),
            session: BTreeMap::new(),
        },
    );
    Snapshot {
        session_id: id.into(),
        username: USERNAME.into(),
        scope: String::new(),
        credential_key: "ab".repeat(32),
        keep_alive: false,
        created_at: now - chrono::Duration::minutes(5),
        last_used: now,
        incarnation: 2,
        restarts: 1,
        password: Some(Secret::new(PASSWORD)),
        captcha_key: Some(Secret::new(CAPTCHA_KEY)),
        browser,
    }
}

fn open(dir: &Path) -> SnapshotStore {
    SnapshotStore::open(&dir.join("sessions"), SECRET).unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Saves a good snapshot under `ID`, lets `spoil` damage the directory, and loads it all
/// again with a new store; the damaged file must be rejected and moved aside.
async fn rejected_after(spoil: impl FnOnce(&SnapshotStore)) -> Rejected {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.save(snapshot(ID)).await.unwrap();
    spoil(&store);
    let bad: Vec<String> = names(store.dir())
        .into_iter()
        .filter(|n| n.ends_with(".snap"))
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");

    let (good, mut rejected) = open(tmp.path()).load_all().await;
    assert!(good.is_empty(), "{good:?}");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let rejected = rejected.remove(0);
    assert_eq!(rejected.file, bad[0]);
    assert!(!store.dir().join(&bad[0]).exists(), "still in place");
    let aside = names(&store.dir().join("rejected"));
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(aside[0].starts_with(&format!("{}.", bad[0])), "{aside:?}");
    for secret in [PASSWORD, CAPTCHA_KEY, COOKIE_VALUE, STORAGE_VALUE, USERNAME] {
        assert!(!rejected.reason.contains(secret), "{}", rejected.reason);
    }
    rejected
}

#[tokio::test]
async fn a_new_store_on_the_same_dir_loads_what_was_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let (first, second) = (snapshot(ID), snapshot(OTHER_ID));
    store.save(first.clone()).await.unwrap();
    store.save(second.clone()).await.unwrap();
    assert_eq!(store.latest(ID).as_deref(), Some(&first));

    let reopened = open(tmp.path());
    let (mut good, rejected) = reopened.load_all().await;
    assert!(rejected.is_empty(), "{rejected:?}");
    good.sort_by(|a, b| a.session_id.cmp(&b.session_id));
    assert_eq!(good, vec![first.clone(), second]);
    assert_eq!(reopened.latest(ID).as_deref(), Some(&first));
}

#[tokio::test]
async fn files_are_private_and_hold_nothing_readable() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.save(snapshot(ID)).await.unwrap();
    assert_eq!(mode(store.dir()), 0o700);
    assert_eq!(mode(&store.path(ID)), 0o600);
    assert_eq!(names(store.dir()), vec![format!("{ID}.snap")]);

    let bytes = std::fs::read(store.path(ID)).unwrap();
    for secret in [PASSWORD, CAPTCHA_KEY, COOKIE_VALUE, STORAGE_VALUE, USERNAME] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the file"
        );
    }
}

#[test]
fn debug_shows_no_secret() {
    let shown = format!("{:?}", snapshot(ID));
    for secret in [PASSWORD, CAPTCHA_KEY, COOKIE_VALUE, STORAGE_VALUE] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn an_altered_file_is_rejected() {
    let rejected = rejected_after(|store| {
        let path = store.path(ID);
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        std::fs::write(&path, bytes).unwrap();
    })
    .await;
    assert!(
        rejected.reason.contains("cannot be decrypted"),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn a_file_written_with_another_secret_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sessions");
    let other = SnapshotStore::open(&dir, b"another secret").unwrap();
    other.save(snapshot(ID)).await.unwrap();

    let (good, rejected) = open(tmp.path()).load_all().await;
    assert!(good.is_empty());
    assert_eq!(rejected.len(), 1);
    assert!(
        rejected[0].reason.contains("another secret"),
        "{rejected:?}"
    );
    assert!(!dir.join(format!("{ID}.snap")).exists());
    assert_eq!(names(&dir.join("rejected")).len(), 1);
}

#[tokio::test]
async fn a_truncated_file_is_rejected() {
    let rejected = rejected_after(|store| {
        let bytes = std::fs::read(store.path(ID)).unwrap();
        std::fs::write(store.path(ID), &bytes[..20]).unwrap();
    })
    .await;
    assert_eq!(rejected.reason, "truncated");
}

#[tokio::test]
async fn a_file_renamed_to_another_session_is_rejected() {
    let rejected = rejected_after(|store| {
        std::fs::rename(store.path(ID), store.path(OTHER_ID)).unwrap();
    })
    .await;
    assert_eq!(rejected.file, format!("{OTHER_ID}.snap"));
    assert!(
        rejected.reason.contains("cannot be decrypted"),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn a_file_not_named_after_a_session_is_rejected() {
    let rejected = rejected_after(|store| {
        std::fs::rename(store.path(ID), store.dir().join("backup.snap")).unwrap();
    })
    .await;
    assert!(rejected.reason.contains("file name"), "{rejected:?}");
}

#[tokio::test]
async fn a_payload_that_does_not_parse_is_rejected_without_its_content() {
    let rejected = rejected_after(|store| {
        let payload = format!(r#"{{"session_id": "{ID}", "username": 7, "x": "{PASSWORD}"}}"#);
        let sealed = Sealer::new(SECRET).seal(ID, payload.as_bytes());
        std::fs::write(store.path(ID), sealed).unwrap();
    })
    .await;
    assert!(
        rejected.reason.starts_with("decrypted but not understood"),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn a_payload_for_another_session_is_rejected() {
    let rejected = rejected_after(|store| {
        let payload = serde_json::to_vec(&snapshot(OTHER_ID)).unwrap();
        let sealed = Sealer::new(SECRET).seal(ID, &payload);
        std::fs::write(store.path(ID), sealed).unwrap();
    })
    .await;
    assert!(
        rejected.reason.contains("another session id"),
        "{rejected:?}"
    );
}

#[tokio::test]
async fn other_files_are_left_alone_and_good_ones_still_load() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let saved = snapshot(ID);
    store.save(saved.clone()).await.unwrap();
    std::fs::write(store.dir().join("notes.txt"), "hello").unwrap();
    std::fs::write(store.path(OTHER_ID), "garbage").unwrap();

    let (good, rejected) = open(tmp.path()).load_all().await;
    assert_eq!(good, vec![saved]);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].reason, "not a snapshot file");
    assert_eq!(
        std::fs::read_to_string(store.dir().join("notes.txt")).unwrap(),
        "hello"
    );
}

#[tokio::test]
async fn a_removed_session_is_never_written_again() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.save(snapshot(ID)).await.unwrap();
    assert!(store.path(ID).exists());

    store.remove(ID).await;
    assert!(!store.path(ID).exists());
    assert!(store.latest(ID).is_none());
    store.remove(ID).await; // idempotent

    store.save(snapshot(ID)).await.unwrap();
    store.update(ID, |s| s.keep_alive = true).await.unwrap();
    assert!(!store.path(ID).exists(), "a late save resurrected it");
    assert!(store.latest(ID).is_none());
    assert_eq!(open(tmp.path()).load_all().await.0, vec![]);
}

#[tokio::test]
async fn an_interrupted_write_leaves_nothing_after_open() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.save(snapshot(ID)).await.unwrap();
    // What a write killed before its rename leaves: a temp file next to the good one.
    let temp = store.dir().join(format!(".tmp-{ID}-00000000deadbeef"));
    std::fs::write(&temp, b"half a snapshot").unwrap();

    let reopened = open(tmp.path());
    assert!(!temp.exists());
    assert_eq!(names(reopened.dir()), vec![format!("{ID}.snap")]);
    assert_eq!(reopened.load_all().await.0.len(), 1);
}

#[tokio::test]
async fn update_rewrites_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    store.update(ID, |s| s.keep_alive = true).await.unwrap();
    assert!(
        !store.path(ID).exists(),
        "nothing cached, nothing to update"
    );

    store.save(snapshot(ID)).await.unwrap();
    store.update(ID, |s| s.keep_alive = true).await.unwrap();
    assert!(store.latest(ID).unwrap().keep_alive);

    let (good, _) = open(tmp.path()).load_all().await;
    assert_eq!(good.len(), 1);
    assert!(good[0].keep_alive);
    assert_eq!(good[0].browser, snapshot(ID).browser);
}

#[tokio::test]
async fn save_refuses_an_id_that_is_not_a_session_id() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let err = store.save(snapshot("../escape")).await.unwrap_err();
    assert!(err.to_string().contains("not a session id"), "{err}");
    assert!(names(store.dir()).is_empty());
}

#[test]
fn a_rejection_is_logged_with_its_reason_and_no_content() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let payload = format!(r#"{{"session_id": "{ID}", "username": 7, "x": "{PASSWORD}"}}"#);
    std::fs::write(
        store.path(ID),
        Sealer::new(SECRET).seal(ID, payload.as_bytes()),
    )
    .unwrap();

    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let (_, rejected) = tracing::subscriber::with_default(subscriber, || store.read_all());
    let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains(r#""event":"snapshot_rejected""#),
        "{logged}"
    );
    assert!(logged.contains(&format!("{ID}.snap")), "{logged}");
    assert!(
        logged.contains(&rejected[0].reason),
        "{logged} {rejected:?}"
    );
    assert!(!logged.contains(PASSWORD), "{logged}");
}
