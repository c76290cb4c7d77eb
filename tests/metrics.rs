//! `GET /metrics`: Prometheus text that a Prometheus parser reads, whose counters move as
//! things happen (a login, a captcha task, a warm request, a killed Chrome), with bounded
//! labels and the API token rules.

mod support;

use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use support::start;

async fn scrape(t: &support::TestApp, token: Option<&str>) -> (u16, Option<Scrape>) {
    let mut req = t.http.get(format!("{}/metrics", t.api));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    if status != 200 {
        return (status, None);
    }
    let lines = text.lines().map(|l| Ok(l.to_string()));
    (status, Some(Scrape::parse(lines).expect("Prometheus text")))
}

/// The value of `name` with every label in `labels` (counters, gauges; a histogram's count).
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x: &&Sample| x.metric == name)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map(|b| b.count).unwrap_or(0.0),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn counters_move_as_things_happen() {
    let mut t = start(&[]).await;
    let (status, before) = scrape(&t, None).await;
    assert_eq!(status, 200);
    let before = before.unwrap();
    let logins = value(&before, "emodal_logins_total", &[("result", "ok")]);
    let tasks = value(&before, "emodal_captcha_tasks_submitted_total", &[]);

    let id = t.demo_session().await;
    let after_login = scrape(&t, None).await.1.unwrap();
    assert_eq!(
        value(&after_login, "emodal_logins_total", &[("result", "ok")]),
        logins + 1.0
    );
    assert_eq!(
        value(&after_login, "emodal_captcha_tasks_submitted_total", &[]),
        tasks + 1.0
    );
    assert_eq!(
        value(&after_login, "emodal_sessions", &[("state", "ready")]),
        1.0
    );
    assert!(value(&after_login, "emodal_process_resident_bytes", &[]) > 1e6);
    chrome_memory_shows_within(&t, std::time::Duration::from_secs(5)).await;
    assert!(value(&after_login, "emodal_captcha_spend_usd", &[]) > 0.0);

    // A warm request: one more in its endpoint's latency histogram.
    let endpoint = [("endpoint", "/get_containers")];
    let requests = value(&after_login, "emodal_http_request_seconds_count", &endpoint);
    let (status, body) = t
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "json", "target_count": 3}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let after_request = scrape(&t, None).await.1.unwrap();
    assert_eq!(
        value(
            &after_request,
            "emodal_http_request_seconds_count",
            &endpoint
        ),
        requests + 1.0
    );
    assert_eq!(
        value(
            &after_request,
            "emodal_http_requests_total",
            &[("endpoint", "/get_containers"), ("status", "200")]
        ),
        1.0
    );

    // A killed Chrome: one restart, for a browser reason, and it came back from its snapshot.
    let pids = t.chrome_pids();
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    t.restarted_once(&id).await;
    let after_kill = scrape(&t, None).await.1.unwrap();
    assert_eq!(
        value(
            &after_kill,
            "emodal_session_restarts_total",
            &[("reason", "browser")]
        ),
        1.0
    );
    assert_eq!(
        value(&after_kill, "emodal_restores_total", &[("result", "ok")]),
        1.0
    );

    // No session id, username or container id ever becomes a label.
    let text = t
        .http
        .get(format!("{}/metrics", t.api))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !text.contains(&id) && !text.contains("=\"session_"),
        "{text}"
    );
    assert!(!text.contains(support::USER));
    t.shutdown_clean().await;
}

/// Chrome memory is sampled off the scrape (a thread keeps a number per browser, and finds a
/// new browser within a second): the session's Chrome shows in both memory gauges within
/// `limit`, tens of MB, the largest session no more than the total.
async fn chrome_memory_shows_within(t: &support::TestApp, limit: std::time::Duration) {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let s = scrape(t, None).await.1.unwrap();
        let total = value(&s, "emodal_chrome_memory_bytes", &[]);
        let max = value(&s, "emodal_chrome_memory_max_session_bytes", &[]);
        if total > 10e6 {
            assert!(max > 10e6 && max <= total, "total {total}, max {max}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Chrome memory still {total} after {limit:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_follow_the_token_rules() {
    let mut t = start(&[("server.api_tokens", "tok-metrics-1")]).await;
    assert_eq!(scrape(&t, None).await.0, 401);
    assert_eq!(scrape(&t, Some("wrong")).await.0, 401);
    assert_eq!(scrape(&t, Some("tok-metrics-1")).await.0, 200);
    t.shutdown_clean().await;

    let mut t = start(&[
        ("server.api_tokens", "tok-metrics-1"),
        ("server.metrics_public", "true"),
    ])
    .await;
    assert_eq!(scrape(&t, None).await.0, 200);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_request_is_counted_by_its_cause() {
    let mut t = start(&[("sessions.max_sessions", "1")]).await;
    let body = json!({"username": support::USER, "password": support::PASS, "captcha_api_key": support::KEY, "keep_alive": true});
    let (status, _) = t.post("/get_session", body).await;
    assert_eq!(status, 200);
    let (status, got) = t
        .post(
            "/get_session",
            json!({"username": "other-user", "password": "x", "captcha_api_key": "k"}),
        )
        .await;
    assert_eq!(status, 429, "{got}");
    let s = scrape(&t, None).await.1.unwrap();
    assert_eq!(
        value(
            &s,
            "emodal_http_rejected_total",
            &[("cause", "at_capacity")]
        ),
        1.0
    );
    t.shutdown_clean().await;
}
