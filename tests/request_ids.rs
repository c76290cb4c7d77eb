//! Every answer carries `X-Request-Id`: the client's (a proxy's) when it is a sane token, a
//! new one otherwise, so one request can be followed through the proxy's and our logs; the
//! events a request causes carry the id, and its time is split into stages.

mod support;

use prometheus_parse::{Scrape, Value as PValue};
use serde_json::json;
use std::time::Duration;
use support::{KEY, PASS, USER, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_kept_or_made() {
    let mut t = start(&[]).await;
    let get = |id: Option<&str>| {
        let mut req = t.http.get(format!("{}/sessions", t.api));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let r = get(Some("proxy-7f3a.91:b")).await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "proxy-7f3a.91:b");
    let made = get(None).await.unwrap().headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(made.len(), 16, "{made}");
    assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
    // Not a token (spaces, a newline-free but forged log field): replaced, never echoed.
    let r = get(Some("x\" status=200 evil")).await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!id.contains("evil") && id.len() == 16, "{id}");
    // Errors carry one too.
    let r = t
        .http
        .get(format!("{}/no-such-endpoint", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.headers().contains_key("x-request-id"));
    t.shutdown_clean().await;
}

type Seen = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// The `/events` feed, read in the background once its answer has begun (the subscription
/// exists by then): every `data:` line, parsed.
async fn follow_events(t: &support::TestApp) -> Seen {
    let seen: Seen = Default::default();
    let out = seen.clone();
    let mut response = t
        .http
        .get(format!("{}/events", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(std::str::from_utf8(&chunk).unwrap());
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                if let Some(data) = line.trim_end().strip_prefix("data:") {
                    let value = serde_json::from_str(data.trim()).unwrap();
                    out.lock().unwrap().push(value);
                }
            }
        }
    });
    seen
}

/// The events a request causes carry its id, also those emitted by the actors it reached
/// (the login runs in the new session's actor, not in the request's task).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_events_a_request_causes_carry_its_id() {
    // Pages of 10 rows, each 200 ms late: a full grid read reports its progress.
    let mut t = start(&[
        ("sandbox.page_size", "10"),
        ("sandbox.render_delay_ms", "200"),
    ])
    .await;
    let seen = follow_events(&t).await;
    let r = t
        .http
        .post(format!("{}/get_session", t.api))
        .header("x-request-id", "dispatch-login-1")
        .json(&json!({"username": USER, "password": PASS, "captcha_api_key": KEY}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let id = body["session_id"].as_str().unwrap().to_string();
    let of = |name: &str| {
        seen.lock()
            .unwrap()
            .iter()
            .find(|e| e["event"] == name && e["session_id"] == id.as_str())
            .cloned()
    };
    for name in ["session_started", "login_succeeded"] {
        let event = support::eventually(name, Duration::from_secs(10), || async { of(name) }).await;
        assert_eq!(event["request_id"], "dispatch-login-1", "{event}");
    }
    // An operation's progress, reported from the session's side, carries its request's id.
    let r = t
        .http
        .post(format!("{}/get_containers", t.api))
        .header("x-request-id", "dispatch-read-2")
        .json(&json!({"session_id": id, "format": "json"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let progress = support::eventually("operation_progress", Duration::from_secs(10), || async {
        of("operation_progress")
    })
    .await;
    assert_eq!(progress["request_id"], "dispatch-read-2", "{progress}");
    t.shutdown_clean().await;
}

/// A warm request's time, split: the stage histograms move by one request each, the driver
/// stage holds most of it, and the stages add up to the request's total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_requests_time_is_split_into_stages() {
    let mut t = start(&[]).await;
    let id = t.demo_session().await;
    let body = json!({"session_id": id, "format": "json", "target_count": 3});
    let (status, _) = t.post("/get_containers", body.clone()).await;
    assert_eq!(status, 200);
    let before = scrape(&t).await;
    let r = t
        .http
        .post(format!("{}/get_containers", t.api))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The same split in the answer's `Server-Timing`: `name;dur=<ms>`, stages then total.
    let timing: Vec<(String, f64)> = r.headers()["server-timing"]
        .to_str()
        .unwrap()
        .split(", ")
        .map(|part| {
            let (name, dur) = part.split_once(";dur=").unwrap();
            (name.to_string(), dur.parse().unwrap())
        })
        .collect();
    let names: Vec<&str> = timing.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "parse",
            "lookup",
            "mailbox",
            "browser_wait",
            "driver",
            "response",
            "other",
            "total"
        ]
    );
    let (stages, total) = timing.split_at(7);
    let sum: f64 = stages.iter().map(|(_, d)| d).sum();
    assert!((sum - total[0].1).abs() < 0.01, "{timing:?}");
    assert!(stages[4].1 > 0.0, "{timing:?}");
    let after = scrape(&t).await;
    let endpoint = "/get_containers";
    let stage = |s: &Scrape, stage: &str| {
        histogram(
            s,
            "emodal_http_request_stage_seconds",
            &[("endpoint", endpoint), ("stage", stage)],
        )
    };
    let mut stages_sum = 0.0;
    for name in [
        "parse",
        "lookup",
        "mailbox",
        "browser_wait",
        "driver",
        "response",
        "other",
    ] {
        let (c0, s0) = stage(&before, name);
        let (c1, s1) = stage(&after, name);
        assert_eq!(c1 - c0, 1.0, "{name}: one more request");
        assert!(s1 >= s0, "{name}");
        stages_sum += s1 - s0;
    }
    let (_, driver0) = stage(&before, "driver");
    let (_, driver1) = stage(&after, "driver");
    let driver = driver1 - driver0;
    let (_, total0) = histogram(
        &before,
        "emodal_http_request_seconds",
        &[("endpoint", endpoint)],
    );
    let (_, total1) = histogram(
        &after,
        "emodal_http_request_seconds",
        &[("endpoint", endpoint)],
    );
    let total = total1 - total0;
    assert!(
        driver > 0.0 && driver <= total,
        "driver {driver} s of {total} s"
    );
    assert!(
        (stages_sum - total).abs() < 1e-4,
        "stages {stages_sum} s, total {total} s"
    );
    t.shutdown_clean().await;
}

async fn scrape(t: &support::TestApp) -> Scrape {
    let text = t
        .http
        .get(format!("{}/metrics", t.api))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

/// (count, sum) of a histogram with these labels.
fn histogram(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> (f64, f64) {
    let pick = |metric: String| {
        s.samples
            .iter()
            .filter(|x| x.metric == metric)
            .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
            .map(|x| match &x.value {
                PValue::Counter(v) | PValue::Gauge(v) | PValue::Untyped(v) => *v,
                _ => 0.0,
            })
            .sum::<f64>()
    };
    (pick(format!("{name}_count")), pick(format!("{name}_sum")))
}
