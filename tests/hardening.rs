//! Hostile and careless clients: API tokens and their isolation, login protection, request
//! limits, the per-session queue bound, and draining on shutdown. Real Chromium, real HTTP.

mod support;

use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use support::*;

fn creds() -> serde_json::Value {
    json!({"username": USER, "password": PASS, "captcha_api_key": KEY})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_are_required_and_keep_sessions_apart() {
    let mut t = start(&[("server.api_tokens", "token-alpha,token-beta")]).await;
    // /health stays open; everything else needs a valid token.
    let (status, _) = t.get("/health").await;
    assert_eq!(status, 200);
    let (status, body) = t.get("/sessions").await;
    assert_eq!((status, body["success"].clone()), (401, json!(false)));
    let (status, _) = t
        .call_as(
            Some("token-gamma"),
            Method::POST,
            "/get_session",
            Some(creds()),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(t.sandbox_stats().await["captcha_tasks"], 0);

    let (status, a) = t
        .call_as(
            Some("token-alpha"),
            Method::POST,
            "/get_session",
            Some(creds()),
        )
        .await;
    assert_eq!(status, 200, "{a}");
    let id = a["session_id"].as_str().unwrap().to_string();
    // Beta cannot see, use or delete alpha's session; its own get_session is its own session.
    let (_, list) = t
        .call_as(Some("token-beta"), Method::GET, "/sessions", None)
        .await;
    assert_eq!(list["sessions"], json!([]));
    let (status, _) = t
        .call_as(
            Some("token-beta"),
            Method::POST,
            "/get_containers",
            Some(json!({"session_id": id, "format": "json"})),
        )
        .await;
    // Another token's session is no session of this token's.
    assert_eq!(status, 400);
    let (status, _) = t
        .call_as(
            Some("token-beta"),
            Method::DELETE,
            &format!("/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, b) = t
        .call_as(
            Some("token-beta"),
            Method::POST,
            "/get_session",
            Some(creds()),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(b["session_id"], a["session_id"]);
    assert_eq!(b["is_new"], true);
    let (_, list) = t
        .call_as(Some("token-alpha"), Method::GET, "/sessions", None)
        .await;
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(list["sessions"][0]["session_id"], id);
    let (status, _) = t
        .call_as(
            Some("token-alpha"),
            Method::DELETE,
            &format!("/sessions/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_password_is_not_retried_and_logins_are_rate_limited() {
    let mut t = start(&[("login.max_attempts", "2"), ("login.window", "60")]).await;
    let wrong = json!({"username": USER, "password": "wrong-one", "captcha_api_key": KEY});
    let (status, _) = t.post("/get_session", wrong.clone()).await;
    assert_eq!(status, 401);
    let tasks = t.sandbox_stats().await["captcha_tasks"].clone();
    let r = t
        .http
        .post(format!("{}/get_session", t.api))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("retry-after"));
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("refused"),
        "{body}"
    );
    let stats = t.sandbox_stats().await;
    assert_eq!(
        stats["captcha_tasks"], tasks,
        "no captcha money spent on a known-bad password"
    );
    assert_eq!(
        stats["logins_failed"], 1,
        "the portal saw one bad login, not two"
    );

    // Two logins per window for the right password: the third is refused with 429.
    for _ in 0..2 {
        let id = t.demo_session().await;
        let (status, _) = t.delete(&format!("/sessions/{id}")).await;
        assert_eq!(status, 200);
    }
    let r = t
        .http
        .post(format!("{}/get_session", t.api))
        .json(&creds())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(t.sandbox_stats().await["logins_ok"], 2);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn oversized_and_malformed_requests_are_refused() {
    let mut t = start(&[]).await;
    let big = json!({"username": USER, "password": PASS, "captcha_api_key": KEY, "pad": "x".repeat(300 * 1024)});
    let (status, body) = t.post("/get_session", big).await;
    assert_eq!((status, body["success"].clone()), (413, json!(false)));
    let deep = format!("{{\"username\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    // A fresh connection: the server closes the one whose oversized body it did not read.
    let r = reqwest::Client::new()
        .post(format!("{}/get_session", t.api))
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let (status, _) = t
        .post(
            "/get_session",
            json!({"username": "u".repeat(5000), "password": PASS, "captcha_api_key": KEY}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = t
        .post(
            "/get_containers",
            json!({"session_id": "x", "target_count": 10_000_000}),
        )
        .await;
    assert_eq!(status, 400);
    let ids: Vec<String> = (0..300).map(|i| format!("MSDU{i:07}")).collect();
    let (status, _) = t
        .post(
            "/get_info_bulk",
            json!({"session_id": "x", "import_containers": ids}),
        )
        .await;
    assert_eq!(status, 400);
    // A chunked body without Content-Length is refused, not read without limit.
    let answer = raw_http(
        &t.api,
        "POST /get_session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 411"), "{answer}");
    assert!(answer.contains("\"success\":false"), "{answer}");
    assert!(t.chrome_pids().is_empty());
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_queue_is_bounded() {
    let mut t = start(&[
        ("sessions.max_queue", "1"),
        ("sandbox.render_delay_ms", "600"),
    ])
    .await;
    let id = t.demo_session().await;
    let slow = json!({"session_id": id, "format": "json"});
    let (first, second) = tokio::join!(t.post("/get_containers", slow.clone()), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = t
            .http
            .post(format!("{}/get_containers", t.api))
            .json(&slow)
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        )
    });
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(second, (429, true));
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shutdown_drains_in_flight_requests() {
    let mut t = start(&[("sandbox.render_delay_ms", "700")]).await;
    let id = t.demo_session().await;
    let http = t.http.clone();
    let url = format!("{}/get_containers", t.api);
    let in_flight = tokio::spawn(async move {
        let r = http
            .post(url)
            .json(&json!({"session_id": id, "format": "json"}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        (status, body["total_containers"].as_u64().unwrap_or(0))
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let app = t.app.take().unwrap();
    let api = t.api.clone();
    let shutdown = tokio::spawn(app.shutdown());
    // While draining, new work is refused with a JSON 503.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let r = reqwest::Client::new()
        .post(format!("{api}/get_session"))
        .json(&creds())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["success"], false);
    let (status, rows) = in_flight.await.unwrap();
    assert_eq!(status, 200, "the request in flight finished");
    assert!(rows > 100);
    shutdown.await.unwrap();
    assert!(t.chrome_pids().is_empty());
    assert!(t.profile_dirs().is_empty());
    t.shutdown_clean().await;
}

/// Send `request` as raw bytes and read the whole answer.
async fn raw_http(base: &str, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A method a path does not take answers 405 with the methods it does take (RFC 9110).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_method_names_the_allowed_ones() {
    let mut t = support::start(&[]).await;
    for (method, path, allow) in [
        (Method::GET, "/check_appointments", "POST"),
        (Method::PUT, "/sessions", "GET"),
        (Method::POST, "/sessions/session_0123", "GET, DELETE"),
        (Method::DELETE, "/health", "GET"),
    ] {
        let r = t
            .http
            .request(method.clone(), format!("{}{path}", t.api))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow, "{method} {path}");
    }
    t.shutdown_clean().await;
}

/// Only logins that really start count towards `login.max_attempts`: ones refused for
/// capacity never reached the portal, and ones an outage failed never put the account at risk.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_and_outage_failed_logins_are_not_counted() {
    let mut t = start(&[
        ("login.max_attempts", "2"),
        ("login.window", "600"),
        ("sessions.max_sessions", "1"),
        ("sessions.login_timeout", "30"),
    ])
    .await;
    let other = json!({"username": "demo2", "password": "demo2-password", "captcha_api_key": KEY});
    let first = t.demo_session().await;
    for _ in 0..4 {
        let (status, body) = t.post("/get_session", other.clone()).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error_code"], "at_capacity", "{body}");
    }
    let (status, _) = t.delete(&format!("/sessions/{first}")).await;
    assert_eq!(status, 200);

    // The portal is down: these logins fail, and are not held against the credentials.
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 3600}))
        .await;
    for _ in 0..3 {
        let (status, body) = t.post("/get_session", other.clone()).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error_code"], "portal_unavailable", "{body}");
    }
    t.sandbox_post("/__sandbox/outage", json!({"seconds": 0}))
        .await;
    let (status, body) = t.post("/get_session", other.clone()).await;
    assert_eq!(status, 200, "{body}");
    t.shutdown_clean().await;
}

/// At capacity, eviction takes an idle regular session of the caller's own token only: one
/// token cannot push out another's sessions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eviction_never_takes_another_tokens_session() {
    let mut t = start(&[
        ("server.api_tokens", "token-alpha,token-beta"),
        ("sessions.max_sessions", "1"),
    ])
    .await;
    let regular = |user: &str, pass: &str| json!({"username": user, "password": pass, "captcha_api_key": KEY, "keep_alive": false});
    let (status, alpha) = t
        .call_as(
            Some("token-alpha"),
            Method::POST,
            "/get_session",
            Some(regular(USER, PASS)),
        )
        .await;
    assert_eq!(status, 200, "{alpha}");
    let (status, body) = t
        .call_as(
            Some("token-beta"),
            Method::POST,
            "/get_session",
            Some(regular("demo2", "demo2-password")),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error_code"], "at_capacity");
    let (status, listed) = t
        .call_as(Some("token-alpha"), Method::GET, "/sessions", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(listed["sessions"][0]["session_id"], alpha["session_id"]);
    // The same token may replace its own idle regular session.
    let (status, body) = t
        .call_as(
            Some("token-alpha"),
            Method::POST,
            "/get_session",
            Some(regular("demo2", "demo2-password")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.shutdown_clean().await;
}

/// `server.token_quotas`: a token at its quota gets 429 `over_quota` (or replaces its own idle
/// regular session), while another token still has room.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_token_at_its_quota_does_not_take_the_others_room() {
    let mut t = start(&[
        ("server.api_tokens", "token-alpha,token-beta"),
        ("server.token_quotas", "1"),
        ("sessions.max_sessions", "4"),
    ])
    .await;
    let session = |user: &str, pass: &str| json!({"username": user, "password": pass, "captcha_api_key": KEY});
    let (status, body) = t
        .call_as(
            Some("token-alpha"),
            Method::POST,
            "/get_session",
            Some(session(USER, PASS)),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t
        .call_as(
            Some("token-alpha"),
            Method::POST,
            "/get_session",
            Some(session("demo2", "demo2-password")),
        )
        .await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error_code"], "over_quota", "{body}");
    let (status, body) = t
        .call_as(
            Some("token-beta"),
            Method::POST,
            "/get_session",
            Some(session("demo2", "demo2-password")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    t.shutdown_clean().await;
}
