//! Hibernation (`sessions.hibernate_after`): an unused session closes its Chrome, keeps its
//! portal login alive over plain HTTP with its cookies, and wakes on the next request
//! without a captcha; a portal that logged it out meanwhile costs one full login, or, with
//! no password kept, the session is dropped saying why.

mod support;

use emodal_api::app::Application;
use emodal_api::config::Settings;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{TestApp, eventually, start};

/// The sandbox forgets a portal session unused this long (seconds).
const PORTAL_IDLE: u64 = 4;

const HIBERNATING: [(&str, &str); 3] = [
    ("sessions.hibernate_after", "2"),
    ("sessions.session_refresh_interval", "1"),
    ("sandbox.portal_idle_timeout", "4"),
];

async fn containers(t: &TestApp, id: &str) -> (u16, Value) {
    t.post(
        "/get_containers",
        json!({"session_id": id, "format": "json", "target_count": 3}),
    )
    .await
}

/// (captcha tasks, portal logins) the sandbox has seen.
fn counts(stats: &Value) -> (u64, u64) {
    (
        stats["captcha_tasks"].as_u64().unwrap(),
        stats["logins_ok"].as_u64().unwrap(),
    )
}

fn stat(stats: &Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap()
}

async fn scrape(t: &TestApp) -> String {
    let r = t.http.get(format!("{}/metrics", t.api)).send().await;
    r.unwrap().text().await.unwrap()
}

/// Session `id`'s listing row once it hibernates.
async fn hibernated(t: &TestApp, id: &str) -> Value {
    eventually(
        "the session hibernating",
        Duration::from_secs(30),
        || async { t.session(id).await.filter(|r| r["state"] == "hibernating") },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hibernates_stays_logged_in_over_http_and_wakes_without_a_login() {
    let mut t = start(&HIBERNATING).await;
    let id = t.demo_session().await;
    let (status, body) = containers(&t, &id).await;
    assert_eq!(status, 200, "{body}");

    hibernated(&t, &id).await;
    let asleep = Instant::now();
    assert!(t.chrome_pids().is_empty(), "Chrome still runs");
    assert!(t.profile_dirs().is_empty(), "{:?}", t.profile_dirs());
    let (status, detail) = t.get(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["session"]["state"], "hibernating", "{detail}");
    assert!(detail["session"]["memory_bytes"].is_null(), "{detail}");
    let metrics = scrape(&t).await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "emodal_sessions{state=\"hibernating\"} 1"),
        "{metrics}"
    );

    // Past the portal's idle timeout, with no Chrome, the portal session is still there:
    // only the keep-alive's plain GETs (page loads) kept it.
    let start_stats = t.sandbox_stats().await;
    let kept = eventually(
        "keep-alives past the portal's idle timeout",
        Duration::from_secs(30),
        || async {
            let now = t.sandbox_stats().await;
            assert_eq!(
                stat(&now, "active_portal_sessions"),
                1,
                "the portal session lapsed while hibernating: {now}"
            );
            assert_eq!(
                stat(&now, "logged_out_pages"),
                stat(&start_stats, "logged_out_pages"),
                "{now}"
            );
            let loads = stat(&now, "page_loads") - stat(&start_stats, "page_loads");
            (asleep.elapsed() > Duration::from_secs(PORTAL_IDLE + 2) && loads >= 3).then_some(now)
        },
    )
    .await;
    assert!(t.chrome_pids().is_empty(), "a keep-alive started Chrome");
    let row = t.session(&id).await.unwrap();
    assert_eq!(row["state"], "hibernating", "{row}");
    assert!(!row["last_refresh"].is_null(), "{row}");

    // The next request wakes it: same id, no captcha, no login; one arriving during the
    // wake queues behind it as usual.
    let before = counts(&kept);
    let both = async { tokio::join!(containers(&t, &id), containers(&t, &id)) };
    let ((status, body), (second, other)) = tokio::time::timeout(Duration::from_secs(60), both)
        .await
        .expect("both requests answered: none stuck behind the wake");
    assert_eq!(status, 200, "{body}");
    assert_eq!(second, 200, "{other}");
    assert_eq!(body["session_id"], id);
    assert_eq!(other["session_id"], id);
    assert_eq!(
        counts(&t.sandbox_stats().await),
        before,
        "a wake costs no captcha task and no portal login"
    );
    let row = t.session(&id).await.unwrap();
    assert_ne!(row["state"], "hibernating", "{row}");
    assert_eq!(row["restarts"], 0, "{row}");
    // Then it hibernates again once unused.
    hibernated(&t, &id).await;
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_logged_out_while_hibernating_wakes_into_a_full_login() {
    let mut t = start(&HIBERNATING).await;
    let id = t.demo_session().await;
    hibernated(&t, &id).await;
    let stats = t.sandbox_stats().await;
    let before = counts(&stats);
    t.sandbox_post("/__sandbox/logout_all", json!({})).await;
    // The keep-alive is answered the logged-out page...
    eventually(
        "the keep-alive to see the logged-out page",
        Duration::from_secs(20),
        || async {
            let now = t.sandbox_stats().await;
            (stat(&now, "logged_out_pages") > stat(&stats, "logged_out_pages")).then_some(())
        },
    )
    .await;
    // ...and the session waits for its next request (no login behind the client's back).
    let row = t.session(&id).await.expect("still listed");
    assert_eq!(row["state"], "hibernating", "{row}");
    assert_eq!(counts(&t.sandbox_stats().await), before);

    let (status, body) = containers(&t, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], id);
    let after = counts(&t.sandbox_stats().await);
    assert_eq!(after.0, before.0 + 1, "one captcha task for the new login");
    assert_eq!(after.1, before.1 + 1, "one portal login");
    t.shutdown_clean().await;
}

/// The settings `support::start` uses, for a second service on the same data directory and
/// sandbox (a service restart in-process).
fn settings_like_start(t: &TestApp, extra: &[(&str, &str)]) -> Settings {
    let data = t.data_dir.display().to_string();
    let mut all: Vec<(&str, &str)> = vec![
        ("server.port", "0"),
        ("sandbox.port", "0"),
        ("sandbox.captcha_solve_delay_ms", "50"),
        ("chrome.data_dir", &data),
        ("chrome.liveness_interval", "1"),
        ("chrome.spares", "0"),
        ("sessions.restart_backoff_initial_ms", "100"),
        ("sessions.restart_backoff_max_ms", "500"),
        ("log.filter", "warn"),
    ];
    all.extend_from_slice(extra);
    let mut settings = Settings::from_overrides(&all).expect("settings");
    settings.wire_to_sandbox(&t.portal);
    settings
}

/// Restored after a service restart without a password (`persist_credentials = false`),
/// hibernating, and logged out by the portal: nothing can log it in again, so it is dropped
/// (`credentials_not_kept`) without a captcha task.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_kept_password_a_logged_out_hibernating_session_is_dropped() {
    let mut extra = HIBERNATING.to_vec();
    extra.push(("sessions.persist_credentials", "false"));
    let mut t = start(&extra).await;
    let id = t.demo_session().await;
    let snap = t.data_dir.join("sessions").join(format!("{id}.snap"));
    support::wait_until("a snapshot", Duration::from_secs(10), || snap.exists()).await;
    // The service restarts; the portal session lives on.
    if let Some(app) = t.app.take() {
        app.shutdown().await;
    }
    let app = Application::build(settings_like_start(&t, &extra))
        .await
        .expect("api starts again");
    t.api = app.base_url();
    t.app = Some(app);
    hibernated(&t, &id).await;
    let before = counts(&t.sandbox_stats().await);

    t.sandbox_post("/__sandbox/logout_all", json!({})).await;
    eventually("the session dropped", Duration::from_secs(20), || async {
        t.session(&id).await.is_none().then_some(())
    })
    .await;
    let text = scrape(&t).await;
    assert!(
        text.lines().any(|l| l
            .starts_with("emodal_session_drops_total{reason=\"credentials_not_kept\"}")
            && !l.ends_with(" 0")),
        "{text}"
    );
    assert_eq!(counts(&t.sandbox_stats().await), before, "no login tried");
    let (status, body) = containers(&t, &id).await;
    assert_eq!(body["success"], false, "{status} {body}");
    assert!(status == 400 || status == 404, "{status} {body}");
    t.shutdown_clean().await;
}
