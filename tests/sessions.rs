//! The session supervisor against the sandbox portal, with real Chromium: de-duplication,
//! refresh, restart under the same id, drop, expiry, delete and shutdown. Every test checks
//! processes and directories, not only JSON.

mod support;

use serde_json::json;
use std::time::Duration;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_credentials_share_one_session() {
    let mut t = start(&[]).await;
    let (status, first) = t.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["success"], true);
    assert_eq!(first["is_new"], true);
    assert_eq!(first["username"], USER);
    assert_eq!(first["expires_at"], serde_json::Value::Null);
    assert_eq!(first["message"], "New persistent session created");
    let id = first["session_id"].as_str().unwrap();
    assert!(id.starts_with("session_") && id.len() >= 8 + 32, "{id}");

    let (status, second) = t.get_session(USER, PASS, "another-key").await;
    assert_eq!(status, 200);
    assert_eq!(second["session_id"], id);
    assert_eq!(second["is_new"], false);
    assert_eq!(second["message"], "Using existing persistent session");

    // Another account is another session, with its own Chrome.
    let (status, other) = t.get_session("demo2", "demo2-password", KEY).await;
    assert_eq!(status, 200, "{other}");
    assert_ne!(other["session_id"], id);
    assert_eq!(t.chrome_pids().len(), 2);
    assert_eq!(t.sandbox_stats().await["logins_ok"], 2);

    let listed = t.sessions().await;
    assert_eq!(listed.len(), 2);
    let mine = t.session(id).await.unwrap();
    assert_eq!(mine["state"], "ready");
    assert_eq!(mine["keep_alive"], true);
    // On one of the sandbox portal's hosts (separate origins: not only the identity host).
    let url = mine["current_url"].as_str().unwrap();
    let hosts = t.sandbox.as_ref().unwrap().host_urls();
    assert!(
        hosts.iter().any(|(_, h)| url.starts_with(h.as_str())),
        "{url}"
    );
    let text = serde_json::to_string(&listed).unwrap();
    assert!(
        !text.contains(PASS) && !text.contains(KEY),
        "secrets in listing: {text}"
    );

    let (status, health) = t.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["active_sessions"], 2);
    assert_eq!(health["persistent_sessions"], 2);
    assert_eq!(health["max_sessions"], 10);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_make_one_login() {
    let mut t = start(&[("sandbox.captcha_solve_delay_ms", "500")]).await;
    let calls = (0..20).map(|_| t.get_session(USER, PASS, KEY));
    let answers = futures::future::join_all(calls).await;
    let ids: std::collections::HashSet<String> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["session_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(
        answers.iter().filter(|(_, b)| b["is_new"] == true).count(),
        1
    );
    let stats = t.sandbox_stats().await;
    assert_eq!(stats["captcha_tasks"], 1, "{stats}");
    assert_eq!(stats["logins_ok"], 1, "{stats}");
    assert_eq!(t.chrome_pids().len(), 1);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn manager_answers_while_logins_run() {
    let mut t = start(&[("sandbox.captcha_solve_delay_ms", "3000")]).await;
    let api = t.api.clone();
    let login = tokio::spawn(async move {
        let body = json!({"username": USER, "password": PASS, "captcha_api_key": KEY});
        reqwest::Client::new()
            .post(format!("{api}/get_session"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
    });
    // While the captcha is still being solved, the registry shows the session as starting.
    let row = eventually("a starting session", Duration::from_secs(10), || async {
        t.sessions().await.into_iter().next()
    })
    .await;
    assert_eq!(row["state"], "starting");
    let (status, health) = t.get("/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["active_sessions"], 1);
    assert_eq!(
        t.sandbox_stats().await["logins_ok"],
        0,
        "the health check waited for the login"
    );
    assert_eq!(login.await.unwrap(), 200);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_outlives_the_portal_idle_timeout() {
    let mut t = start(&[
        ("sandbox.portal_idle_timeout", "3"),
        ("sessions.session_refresh_interval", "1"),
    ])
    .await;
    let id = t.demo_session().await;
    let first_refresh = t.session(&id).await.unwrap()["last_refresh"].clone();
    // Three portal idle timeouts later, the portal session must still be the first one.
    tokio::time::sleep(Duration::from_secs(9)).await;
    let row = t.session(&id).await.unwrap();
    assert_eq!(row["state"], "ready");
    assert_eq!(row["restarts"], 0, "{row}");
    assert_ne!(row["last_refresh"], first_refresh);
    let stats = t.sandbox_stats().await;
    assert_eq!(stats["logins_ok"], 1, "{stats}");
    assert_eq!(stats["active_portal_sessions"], 1, "{stats}");
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logged_out_session_is_restarted_under_the_same_id() {
    let mut t = start(&[("sessions.session_refresh_interval", "1")]).await;
    let id = t.demo_session().await;
    let old_chrome = t.chrome_pids();
    t.sandbox_post("/__sandbox/logout_all", json!({})).await;
    let row = t.restarted_once(&id).await;
    assert_eq!(row["session_id"], id);
    assert_eq!(t.sandbox_stats().await["logins_ok"], 2);
    let (status, again) = t.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 200);
    assert_eq!(again["session_id"], id);
    let new_chrome = t.chrome_pids();
    assert_eq!(new_chrome.len(), 1);
    assert_ne!(new_chrome, old_chrome);
    assert_eq!(t.profile_dirs().len(), 1, "the old profile was removed");
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_chrome_is_noticed_and_restarted() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let pids = t.chrome_pids();
    assert_eq!(pids.len(), 1);
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    // The refresh interval is 300 s: only the liveness check can notice this quickly.
    let row = t.restarted_once(&id).await;
    assert_eq!(row["session_id"], id);
    let new = t.chrome_pids();
    assert_eq!(new.len(), 1);
    assert_ne!(new, pids);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crashed_renderer_is_noticed_and_restarted() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let browser = t.chrome_pids();
    let renderers = renderer_pids_under(&t.data_dir);
    assert!(!renderers.is_empty());
    // The browser process lives on; only its page is gone.
    for pid in &renderers {
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    let row = t.restarted_once(&id).await;
    assert_eq!(row["session_id"], id);
    let new = t.chrome_pids();
    assert_eq!(new.len(), 1);
    assert_ne!(new, browser, "a new Chrome serves the session");
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
async fn session_that_keeps_failing_is_dropped() {
    let mut t = start(&[
        ("sessions.session_refresh_interval", "1"),
        ("sessions.max_restarts", "2"),
        ("sessions.outage_patience", "5"),
        ("chrome.call_timeout", "3"),
    ])
    .await;
    let id = t.demo_session().await;
    // The portal goes down and logs everyone out: every restart's login fails. An outage does
    // not use up max_restarts; the session is dropped once it outlasts outage_patience.
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 120}))
        .await;
    t.sandbox_post("/__sandbox/logout_all", json!({})).await;
    eventually(
        "the session to be dropped",
        Duration::from_secs(60),
        || async { t.session(&id).await.is_none().then_some(()) },
    )
    .await;
    wait_until(
        "no Chrome and no profile left",
        Duration::from_secs(10),
        || t.chrome_pids().is_empty() && t.profile_dirs().is_empty(),
    )
    .await;
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 0}))
        .await;
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_password_is_401_and_leaves_nothing() {
    let mut t = start(&[]).await;
    let (status, body) = t.get_session(USER, "not-the-password", KEY).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("username or password"),
        "{body}"
    );
    assert!(!body.to_string().contains("not-the-password"));
    assert!(t.chrome_pids().is_empty());
    assert!(t.profile_dirs().is_empty());
    assert!(t.sessions().await.is_empty());
    let stats = t.sandbox_stats().await;
    assert_eq!(
        stats["logins_failed"], 1,
        "no retry after a rejected password: {stats}"
    );
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn captcha_errors_map_to_clear_statuses() {
    let mut t = start(&[]).await;
    for (key, status, code) in [
        ("sandbox-wrong-key", 402, "ERROR_WRONG_USER_KEY"),
        ("sandbox-zero-balance", 402, "ERROR_ZERO_BALANCE"),
        ("sandbox-unsolvable", 502, "ERROR_CAPTCHA_UNSOLVABLE"),
    ] {
        let (got, body) = t.get_session(USER, PASS, key).await;
        assert_eq!(got, status, "{key}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(code),
            "{key}: {body}"
        );
        assert!(t.chrome_pids().is_empty(), "{key} left a Chrome");
        assert!(t.profile_dirs().is_empty(), "{key} left a profile");
    }
    assert!(t.sessions().await.is_empty());
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn regular_session_expires_when_unused() {
    let mut t = start(&[("sessions.session_timeout", "2")]).await;
    let body =
        json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": false});
    let (status, grant) = t.post("/get_session", body).await;
    assert_eq!(status, 200, "{grant}");
    assert_eq!(grant["message"], "New session created");
    assert!(grant["expires_at"].is_string());
    let (_, health) = t.get("/health").await;
    assert_eq!(health["persistent_sessions"], 0);
    let id = grant["session_id"].as_str().unwrap().to_string();
    eventually("the session to expire", Duration::from_secs(20), || async {
        t.session(&id).await.is_none().then_some(())
    })
    .await;
    wait_until("no Chrome left", Duration::from_secs(10), || {
        t.chrome_pids().is_empty()
    })
    .await;
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_closes_chrome_and_removes_the_profile() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    assert_eq!(t.chrome_pids().len(), 1);
    assert_eq!(t.profile_dirs().len(), 1);
    // Chrome and everything it forked run at `chrome.nice` (10), below the API.
    let renderers = renderer_pids_under(&t.data_dir);
    assert!(!renderers.is_empty());
    for pid in t.chrome_pids().into_iter().chain(renderers) {
        assert_eq!(nice_of(pid), 10, "niceness of Chrome process {pid}");
    }
    let (status, body) = t.delete(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"success": true, "message": "Session closed successfully"})
    );
    assert!(t.chrome_pids().is_empty());
    assert!(t.profile_dirs().is_empty());
    let (status, body) = t.delete(&format!("/sessions/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(body["success"], false);
    // A new get_session logs in again under a new id.
    let (status, again) = t.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 200);
    assert_ne!(again["session_id"], id);
    assert_eq!(again["is_new"], true);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_evicts_only_idle_regular_sessions() {
    let mut t = start(&[("sessions.max_sessions", "1")]).await;
    let body =
        json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": false});
    let (status, regular) = t.post("/get_session", body).await;
    assert_eq!(status, 200);
    // The idle regular session makes room for the next one.
    let (status, persistent) = t.get_session("demo2", "demo2-password", KEY).await;
    assert_eq!(status, 200, "{persistent}");
    assert!(
        t.session(regular["session_id"].as_str().unwrap())
            .await
            .is_none()
    );
    // A persistent session is never evicted.
    let (status, body) = t.get_session(USER, PASS, KEY).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["success"], false);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_get_json_errors() {
    let mut t = start(&[]).await;
    let (status, body) = t.post("/get_session", json!({"username": USER})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["missing_fields"],
        json!(["password", "captcha_api_key"])
    );
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("password, captcha_api_key")
    );
    let r = t
        .http
        .post(format!("{}/get_session", t.api))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["success"], false);
    let (status, body) = t.post("/get_session", json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "keep_alive": "maybe"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = t.get("/nope").await;
    assert_eq!((status, body["success"].clone()), (404, json!(false)));
    let (status, body) = t
        .delete("/sessions/session_00000000000000000000000000000000")
        .await;
    assert_eq!((status, body["success"].clone()), (404, json!(false)));
    let r = t
        .http
        .put(format!("{}/get_session", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(t.chrome_pids().is_empty());
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_closes_every_session() {
    let mut t = start(&[]).await;
    t.demo_session().await;
    let (status, _) = t.get_session("demo2", "demo2-password", KEY).await;
    assert_eq!(status, 200);
    assert_eq!(t.chrome_pids().len(), 2);
    t.shutdown().await;
    // Shutdown returns only after every Chrome has exited and every profile is gone.
    assert!(t.chrome_pids().is_empty(), "{:?}", t.chrome_pids());
    assert!(t.profile_dirs().is_empty(), "{:?}", t.profile_dirs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_during_login_does_not_wait_for_the_login() {
    let mut t = start(&[("sandbox.captcha_solve_delay_ms", "8000")]).await;
    let api = t.api.clone();
    let login = tokio::spawn(async move {
        let body = json!({"username": USER, "password": PASS, "captcha_api_key": KEY});
        let r = reqwest::Client::new()
            .post(format!("{api}/get_session"))
            .json(&body)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    });
    let row = eventually(
        "a starting session with its Chrome",
        Duration::from_secs(15),
        || async {
            let row = t.sessions().await.into_iter().next()?;
            (!t.chrome_pids().is_empty()).then_some(row)
        },
    )
    .await;
    let (status, _) = t
        .delete(&format!(
            "/sessions/{}",
            row["session_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        t.sandbox_stats().await["captcha_solved"],
        0,
        "DELETE did not wait for the login"
    );
    assert_eq!(
        login.await.unwrap(),
        502,
        "the waiting caller learns the session was closed"
    );
    wait_until("no Chrome left", Duration::from_secs(10), || {
        t.chrome_pids().is_empty()
    })
    .await;
    wait_until("no profile left", Duration::from_secs(10), || {
        t.profile_dirs().is_empty()
    })
    .await;
    assert!(t.sessions().await.is_empty());
    t.shutdown_clean().await;
}

/// A process's niceness (field 19 of /proc/<pid>/stat, after the parenthesised name).
fn nice_of(pid: u32) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = stat.rsplit_once(')').unwrap().1;
    rest.split_whitespace().nth(16).unwrap().parse().unwrap()
}
