//! Fault drills against the sandbox with real Chromium: Chrome killed mid-request, the
//! portal logging everyone out or going down for a while, the captcha service slow or
//! gone, and 200 concurrent requests over 10 sessions.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::*;

/// A portal that is down is not a broken session: the session waits (state `waiting`,
/// requests answered 503 at once), keeps its Chrome and cookies, and serves again once the
/// portal is back, with no new login.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_portal_outage_is_waited_out_without_a_new_login() {
    let mut t = start(&[
        ("sessions.session_refresh_interval", "1"),
        ("sessions.max_restarts", "1"),
        ("sessions.restart_backoff_initial_ms", "200"),
        ("sessions.restart_backoff_max_ms", "1000"),
    ])
    .await;
    let id = t.demo_session().await;
    let logins = t.sandbox_stats().await["logins_ok"].clone();
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 8}))
        .await;
    eventually("the session waiting", Duration::from_secs(20), || async {
        t.session(&id).await.filter(|r| r["state"] == "waiting")
    })
    .await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "portal_unavailable", "{body}");
    let row = eventually(
        "the session ready again",
        Duration::from_secs(30),
        || async { t.session(&id).await.filter(|r| r["state"] == "ready") },
    )
    .await;
    assert_eq!(row["restarts"], 0, "{row}");
    assert_eq!(t.sandbox_stats().await["logins_ok"], logins, "no new login");
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.shutdown_clean().await;
}

/// An outage longer than `sessions.outage_patience` drops the session (portal_unreachable)
/// and leaves no Chrome behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_beyond_patience_drops_the_session() {
    let mut t = start(&[
        ("sessions.session_refresh_interval", "1"),
        ("sessions.outage_patience", "3"),
        ("sessions.restart_backoff_initial_ms", "200"),
        ("sessions.restart_backoff_max_ms", "1000"),
    ])
    .await;
    let id = t.demo_session().await;
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 3600}))
        .await;
    eventually("the session dropped", Duration::from_secs(30), || async {
        t.session(&id).await.is_none().then_some(())
    })
    .await;
    wait_until("no Chrome left", Duration::from_secs(10), || {
        t.chrome_pids().is_empty()
    })
    .await;
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 0}))
        .await;
    t.shutdown_clean().await;
}

/// A Chrome that hangs while idle (here: stopped) is noticed by the liveness probe within
/// `chrome.probe_timeout` and the session restarted; it does not stay "ready" until a request
/// fails minutes later.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_chrome_is_noticed_and_the_session_restarted() {
    let mut t = start(&[
        ("chrome.probe_timeout", "2"),
        ("chrome.liveness_interval", "1"),
    ])
    .await;
    let id = t.demo_session().await;
    let victim = t.chrome_pids()[0];
    unsafe { libc::kill(victim as i32, libc::SIGSTOP) };
    let row = t.restarted_once(&id).await;
    assert_eq!(row["session_id"], id);
    wait_until("the stopped Chrome gone", Duration::from_secs(30), || {
        !t.chrome_pids().contains(&victim)
    })
    .await;
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chrome_killed_mid_read_is_retried_or_clearly_retryable() {
    let mut t = start(&[("sandbox.render_delay_ms", "800")]).await;
    let id = t.demo_session().await;
    let victim = t.chrome_pids()[0];
    let killer = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    };
    let (answer, ()) = tokio::join!(
        t.post(
            "/get_containers",
            json!({"session_id": id, "format": "json"})
        ),
        killer
    );
    let (status, body) = answer;
    match status {
        200 => assert!(body["total_containers"].as_u64().unwrap() > 100, "{body}"),
        503 => assert_eq!(body["retryable"], true, "{body}"),
        other => panic!("neither success nor a retryable error: {other} {body}"),
    }
    // The next request succeeds on the same session id.
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 5}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], id);
    assert!(!t.chrome_pids().contains(&victim));
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_come_back_after_a_portal_outage() {
    let mut t = start(&[
        ("sessions.session_refresh_interval", "1"),
        ("sessions.max_restarts", "10"),
        ("chrome.call_timeout", "3"),
    ])
    .await;
    let id = t.demo_session().await;
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 4}))
        .await;
    t.sandbox_post("/__sandbox/logout_all", json!({})).await;
    let row = eventually(
        "the session back after the outage",
        Duration::from_secs(60),
        || async {
            t.session(&id)
                .await
                .filter(|r| r["state"] == "ready" && r["restarts"].as_u64().unwrap_or(0) >= 1)
        },
    )
    .await;
    assert_eq!(row["session_id"], id);
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(t.chrome_pids().len(), 1);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_captcha_service_fails_clearly() {
    let mut t = start(&[
        ("sandbox.captcha_solve_delay_ms", "10000"),
        ("captcha.timeout", "2"),
    ])
    .await;
    let (status, body) = t.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no solution within 2 s"),
        "{body}"
    );
    assert!(t.chrome_pids().is_empty());
    assert!(t.profile_dirs().is_empty());
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_captcha_service_fails_clearly() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut t = start(&[]).await;
    // The captcha base URL is wired to the sandbox by `start`; point a second API elsewhere.
    let mut settings = emodal_api::config::Settings::from_overrides(&[
        ("server.port", "0"),
        (
            "chrome.data_dir",
            t.data_dir.join("second").to_str().unwrap(),
        ),
    ])
    .unwrap();
    settings.wire_to_sandbox(&t.portal);
    settings.captcha.base_url = format!("http://127.0.0.1:{port}");
    let app = emodal_api::app::Application::build(settings).await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/get_session", app.base_url()))
        .json(&json!({"username": USER, "password": PASS, "captcha_api_key": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{body}"
    );
    assert!(
        !body["error"].as_str().unwrap().contains(KEY),
        "the key stays out of errors: {body}"
    );
    app.shutdown().await;
    assert!(chrome_pids_under(&t.data_dir).is_empty());
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_requests_over_ten_sessions_stay_apart() {
    let tokens: Vec<String> = (0..10).map(|i| format!("tenant-{i}")).collect();
    let joined = tokens.join(",");
    let mut t = start(&[("server.api_tokens", &joined), ("sessions.max_queue", "64")]).await;
    // One session per token (same portal account, ten separate sessions).
    let mut ids = Vec::new();
    for token in &tokens {
        let (status, body) = t
            .call_as(
                Some(token),
                reqwest::Method::POST,
                "/get_session",
                Some(json!({"username": USER, "password": PASS, "captcha_api_key": KEY})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["session_id"].as_str().unwrap().to_string());
    }
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        10
    );
    let data = t.dataset(USER).await;
    let containers = data["containers"].as_array().unwrap();
    // Each request asks for a different number of rows, so a mixed-up answer shows.
    let calls = (0..200).map(|i| {
        let token = &tokens[i % 10];
        let id = &ids[i % 10];
        let t = &t;
        async move {
            let (status, body) = t
                .call_as(
                    Some(token),
                    reqwest::Method::POST,
                    "/get_containers",
                    Some(json!({"session_id": id, "format": "json", "target_count": 1 + i % 20})),
                )
                .await;
            (i, status, body)
        }
    });
    let answers = futures::future::join_all(calls).await;
    assert_eq!(answers.len(), 200);
    for (i, status, body) in answers {
        assert_eq!(status, 200, "request {i}: {body}");
        assert_eq!(
            body["session_id"],
            ids[i % 10],
            "request {i} answered by another session"
        );
        let rows = body["containers"].as_array().unwrap();
        assert_eq!(rows.len(), 1 + i % 20, "request {i}");
        for (row, truth) in rows.iter().zip(containers) {
            assert_eq!(row["Container #"], truth["Container #"], "request {i}");
        }
    }
    t.shutdown_clean().await;
}
