//! `GET /sessions/{id}`: what a session is doing now (operation, step with its counts,
//! elapsed), its queue, last error, restart history, memory and captcha spend; `GET /sessions/{id}/screenshot`: a PNG of its page,
//! bounded behind a running request (409 rather than a long wait).

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::start;

async fn detail(t: &support::TestApp, id: &str) -> (u16, Value) {
    t.get(&format!("/sessions/{id}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn detail_shows_the_operation_in_progress_and_the_history() {
    // Slow pages of 10 rows, so the grid read is long enough to be seen scrolling; a
    // captcha solved at once, at a price of 3.50 USD per 1,000.
    let mut t = start(&[
        ("sandbox.render_delay_ms", "400"),
        ("sandbox.page_size", "10"),
        ("sandbox.captcha_solve_delay_ms", "0"),
        ("captcha.price_per_1000", "3.5"),
    ])
    .await;
    let id = t.demo_session().await;
    let (status, body) = detail(&t, &id).await;
    assert_eq!(status, 200, "{body}");
    let s = &body["session"];
    assert_eq!(s["session_id"], id.as_str());
    assert_eq!(s["state"], "ready");
    assert_eq!(s["queue_length"], 0);
    assert!(s["operation"].is_null(), "{s}");
    assert!(s["memory_bytes"].as_u64().unwrap() > 10_000_000, "{s}");

    // One login, one captcha task: in the listing and the detail alike.
    let (_, list) = t.get("/sessions").await;
    let row = &list["sessions"][0];
    assert_eq!(row["captcha_tasks"], 1, "{list}");
    assert_eq!(row["captcha_spend_usd"], 0.0035, "{list}");
    assert_eq!(s["captcha_tasks"], 1, "{s}");

    let api = t.api.clone();
    let id2 = id.clone();
    let read = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{api}/get_containers"))
            .json(&json!({"session_id": id2, "format": "json", "target_count": 100}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    let seen = support::eventually(
        "the grid scroll's count in progress",
        Duration::from_secs(30),
        || async {
            let (_, body) = detail(&t, &id).await;
            let done = &body["session"]["operation"]["progress"]["done"];
            done.as_u64()
                .is_some_and(|d| d > 0)
                .then_some(body["session"].clone())
        },
    )
    .await;
    let op = &seen["operation"];
    assert_eq!(op["name"], "get containers", "{seen}");
    let done = op["progress"]["done"].as_u64().unwrap();
    assert!(done <= 100, "{seen}");
    assert_eq!(op["progress"]["total"], 100, "the requested count: {seen}");
    assert_eq!(op["progress"]["unit"], "rows", "{seen}");
    assert_eq!(op["step"], format!("scrolled {done} of 100 rows"), "{seen}");
    assert!(op["elapsed_ms"].is_u64());
    assert_eq!(seen["queue_length"], 1);
    assert_eq!(seen["busy"], true, "{seen}");

    // A screenshot behind a long request waits at most its bound, then says busy.
    let began = Instant::now();
    let r = t
        .http
        .get(format!("{}/sessions/{id}/screenshot", t.api))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert!(
        began.elapsed() < Duration::from_secs(8),
        "{:?}",
        began.elapsed()
    );
    assert!(status == 200 || status == 409, "{status}");
    assert_eq!(read.await.unwrap(), 200);

    // Idle: a PNG at once.
    let r = t
        .http
        .get(format!("{}/sessions/{id}/screenshot", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    let png = r.bytes().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    // A killed Chrome leaves a restart in the history, with its reason.
    let pids = t.chrome_pids();
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    t.restarted_once(&id).await;
    let (_, body) = detail(&t, &id).await;
    let history = body["session"]["restart_history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{body}");
    assert!(
        history[0]["message"].as_str().unwrap().contains("browser"),
        "{body}"
    );
    assert!(!body["session"]["last_error"].is_null());

    // Unknown ids: 404, for the detail and the screenshot alike.
    assert_eq!(
        detail(&t, "session_00000000000000000000000000000000")
            .await
            .0,
        404
    );
    let r = t
        .http
        .get(format!("{}/sessions/session_0/screenshot", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    t.shutdown_clean().await;
}
