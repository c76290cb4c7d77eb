//! `GET /ready` (readiness) next to `GET /health` (liveness): a service that cannot launch
//! Chrome is alive but not ready, and says why; once a launch works again it is ready.

mod support;

use support::{KEY, PASS, USER, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ready_when_it_can_serve_and_says_why_not() {
    let mut t = start(&[]).await;
    let (status, body) = t.get("/ready").await;
    assert_eq!(
        (status, body["ready"].clone()),
        (200, true.into()),
        "{body}"
    );
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chrome_that_cannot_launch_makes_it_unready_but_alive() {
    // Chrome gone since the start check (the binary's, in main; a server built in-process
    // has none): the first login finds out.
    let mut t = start(&[("chrome.path", "/nonexistent/chromium")]).await;
    let (status, body) = t.get_session(USER, PASS, KEY).await;
    assert!(status >= 500, "{status} {body}");
    let (status, body) = t.get("/ready").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    let reasons = body["reasons"].to_string();
    assert!(reasons.contains("Chrome cannot be launched"), "{body}");
    // Liveness is another question: the process serves.
    assert_eq!(t.get("/health").await.0, 200);
    t.shutdown().await;
}
