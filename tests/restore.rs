//! A session whose Chrome dies comes back from its snapshot: same id, no captcha, no login;
//! a portal that logged it out meanwhile costs a full login instead; a spare Chrome serves
//! the next cold login and is replaced. In-process (one API, one sandbox); the service
//! restarts are in `persistence.rs`.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{KEY, PASS, USER, start, wait_until};

async fn containers(t: &support::TestApp, id: &str) -> (u16, Value) {
    t.post(
        "/get_containers",
        json!({"session_id": id, "format": "json", "target_count": 3}),
    )
    .await
}

fn counts(stats: &Value) -> (u64, u64) {
    (
        stats["captcha_tasks"].as_u64().unwrap(),
        stats["logins_ok"].as_u64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_chrome_comes_back_without_a_login() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let (status, body) = containers(&t, &id).await;
    assert_eq!(status, 200, "{body}");
    let snap = t.data_dir.join("sessions").join(format!("{id}.snap"));
    wait_until("a snapshot", Duration::from_secs(10), || snap.exists()).await;
    let before = counts(&t.sandbox_stats().await);
    let pids = t.chrome_pids();
    assert_eq!(pids.len(), 1);
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    // The next business request is answered by the same session id, on a new Chrome.
    let (status, body) = containers(&t, &id).await;
    assert_eq!(status, 200, "{body}");
    let row = t.restarted_once(&id).await;
    assert_eq!(row["session_id"], id);
    assert_ne!(t.chrome_pids(), pids);
    assert_eq!(
        counts(&t.sandbox_stats().await),
        before,
        "no captcha task and no portal login for a restore"
    );
    t.shutdown_clean().await;
    assert!(
        snap.exists(),
        "a shutdown keeps the snapshot for the next start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_the_portal_refuses_falls_back_to_a_full_login() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let snap = t.data_dir.join("sessions").join(format!("{id}.snap"));
    wait_until("a snapshot", Duration::from_secs(10), || snap.exists()).await;
    let before = counts(&t.sandbox_stats().await);
    // The portal ends every session, then the Chrome dies before any refresh saw it.
    t.sandbox_post("/__sandbox/logout_all", json!({})).await;
    let pids = t.chrome_pids();
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    let (status, body) = containers(&t, &id).await;
    assert_eq!(status, 200, "{body}");
    let after = counts(&t.sandbox_stats().await);
    assert_eq!(after.0, before.0 + 1, "one captcha task for the new login");
    assert_eq!(after.1, before.1 + 1, "one portal login");
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_a_session_removes_its_snapshot() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let snap = t.data_dir.join("sessions").join(format!("{id}.snap"));
    wait_until("a snapshot", Duration::from_secs(10), || snap.exists()).await;
    let (status, body) = t.delete(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200, "{body}");
    wait_until("the snapshot removed", Duration::from_secs(10), || {
        !snap.exists()
    })
    .await;
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spare_chrome_serves_the_next_login_and_is_replaced() {
    let mut t = start(&[("chrome.spares", "1")]).await;
    let spare_dirs = |t: &support::TestApp| -> Vec<String> {
        t.profile_dirs()
            .iter()
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .filter(|n| n.starts_with("spare-"))
            .collect()
    };
    support::eventually("a spare Chrome", Duration::from_secs(30), || async {
        (spares(&t).await == Some(1)).then_some(())
    })
    .await;
    let waiting = spare_dirs(&t);
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let (status, body) = t.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 200, "{body}");
    let id = body["session_id"].as_str().unwrap().to_string();
    // The session runs in the spare's profile, not one launched for it.
    let dirs: Vec<String> = t
        .profile_dirs()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(dirs.contains(&waiting[0]), "{dirs:?}");
    assert!(!dirs.iter().any(|d| d.starts_with(&id)), "{dirs:?}");
    // And a new spare takes its place.
    support::eventually("a replacement spare", Duration::from_secs(30), || async {
        (spares(&t).await == Some(1) && spare_dirs(&t).len() == 2).then_some(())
    })
    .await;
    assert_eq!(
        t.chrome_pids().len(),
        2,
        "the session's Chrome and one spare"
    );
    t.shutdown_clean().await;
}

async fn spares(t: &support::TestApp) -> Option<u64> {
    t.get("/health").await.1["spare_browsers"].as_u64()
}

/// Shut the API down (as SIGTERM does) and start a new one on the same data directory and
/// sandbox, with `overrides`.
async fn restart_with(t: &mut support::TestApp, overrides: &[(&str, &str)]) {
    t.app.take().unwrap().shutdown().await;
    let data = t.data_dir.display().to_string();
    let mut all = vec![
        ("server.port", "0"),
        ("chrome.data_dir", data.as_str()),
        ("chrome.spares", "0"),
        ("chrome.liveness_interval", "1"),
        ("log.filter", "warn"),
    ];
    all.extend_from_slice(overrides);
    let mut settings = emodal_api::config::Settings::from_overrides(&all).unwrap();
    settings.wire_to_sandbox(&t.portal);
    let app = emodal_api::app::Application::build(settings).await.unwrap();
    t.api = app.base_url();
    t.app = Some(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_restores_what_its_tokens_can_reach_and_drops_the_rest() {
    let mut t = start(&[("server.api_tokens", "tok-kept-1,tok-removed-2")]).await;
    let body =
        json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": true});
    let mut ids = Vec::new();
    for token in ["tok-kept-1", "tok-removed-2"] {
        let (status, got) = t
            .call_as(
                Some(token),
                reqwest::Method::POST,
                "/get_session",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 200, "{got}");
        ids.push(got["session_id"].as_str().unwrap().to_string());
    }
    let dir = t.data_dir.join("sessions");
    let snap = |id: &str| dir.join(format!("{id}.snap"));
    assert!(snap(&ids[0]).exists() && snap(&ids[1]).exists());
    let before = counts(&t.sandbox_stats().await);

    restart_with(&mut t, &[("server.api_tokens", "tok-kept-1")]).await;
    // Registered under its old id before its Chrome is even launched.
    let (_, listed) = t
        .call_as(Some("tok-kept-1"), reqwest::Method::GET, "/sessions", None)
        .await;
    assert_eq!(
        listed["sessions"][0]["session_id"],
        ids[0].as_str(),
        "{listed}"
    );
    assert_eq!(listed["sessions"][0]["state"], "restoring", "{listed}");
    // The kept token's session answers under its old id, without a login.
    let (status, got) = t
        .call_as(
            Some("tok-kept-1"),
            reqwest::Method::POST,
            "/get_containers",
            Some(json!({"session_id": ids[0], "format": "json", "target_count": 3})),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    let (status, got) = t
        .call_as(
            Some("tok-kept-1"),
            reqwest::Method::POST,
            "/get_session",
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["session_id"], ids[0].as_str());
    assert_eq!(got["is_new"], false);
    assert_eq!(counts(&t.sandbox_stats().await), before);
    // The removed token's session is gone, snapshot and all.
    assert!(!snap(&ids[1]).exists());
    let (_, listed) = t
        .call_as(Some("tok-kept-1"), reqwest::Method::GET, "/sessions", None)
        .await;
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1, "{listed}");
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_during_a_portal_outage_restores_once_it_is_back() {
    let mut t = start(&[]).await;
    let body =
        json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": true});
    let (status, got) = t.post("/get_session", body).await;
    assert_eq!(status, 200, "{got}");
    let id = got["session_id"].as_str().unwrap().to_string();
    let before = counts(&t.sandbox_stats().await);
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 3}))
        .await;
    restart_with(&mut t, &[]).await;
    // Down at first: the session waits for the portal (503 at once, not a hang), keeping its
    // snapshot, and comes back from it when the portal does.
    let row = support::eventually("the session back", Duration::from_secs(60), || async {
        t.session(&id).await.filter(|r| r["state"] == "ready")
    })
    .await;
    assert_eq!(row["session_id"], id.as_str());
    let (status, got) = containers(&t, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(counts(&t.sandbox_stats().await), before, "no new login");
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restores_beyond_the_concurrency_limit_wait_their_turn_and_all_come_back() {
    let mut t = start(&[]).await;
    let mut ids = Vec::new();
    for user in [USER, "demo2"] {
        let pass = if user == USER { PASS } else { "demo2-password" };
        let body =
            json!({"username": user, "password": pass, "captcha_api_key": KEY, "keep_alive": true});
        let (status, got) = t.post("/get_session", body).await;
        assert_eq!(status, 200, "{got}");
        ids.push(got["session_id"].as_str().unwrap().to_string());
    }
    let before = counts(&t.sandbox_stats().await);
    // One slot: the second waits in `restoring` until the first is up, then comes back too.
    restart_with(&mut t, &[("sessions.restore_concurrency", "1")]).await;
    for id in &ids {
        let (status, got) = containers(&t, id).await;
        assert_eq!(status, 200, "{got}");
    }
    assert_eq!(counts(&t.sandbox_stats().await), before, "no new login");
    t.shutdown_clean().await;
}
