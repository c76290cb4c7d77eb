//! `GET /events` against the real API and sandbox: the supervision events a client's
//! sessions cause arrive live, a Chrome kill shows as `session_restarting` within the
//! liveness check's period, one token never sees another token's sessions, a quiet log does
//! not quiet the stream, and open streams neither outlive the drain nor hold it.

mod support;

use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{KEY, PASS, USER};

/// One SSE frame as a client parses it.
#[derive(Debug)]
struct Frame {
    id: Option<u64>,
    event: Option<String>,
    data: Option<Value>,
    comment: Option<String>,
}

/// A client of `/events`, reading the body as it comes.
struct Feed {
    response: reqwest::Response,
    buffer: String,
    /// Every byte received, to check what never appears in it.
    raw: String,
}

impl Feed {
    async fn open(t: &support::TestApp, token: Option<&str>, query: &str) -> Feed {
        let mut request = t.http.get(format!("{}/events{query}", t.api));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_string();
        assert_eq!(header("content-type"), "text/event-stream");
        assert_eq!(header("cache-control"), "no-cache");
        Feed {
            response,
            buffer: String::new(),
            raw: String::new(),
        }
    }

    /// The next frame, or `None` when the stream ended; panics after `limit`.
    async fn next(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let text: String = self.buffer.drain(..end + 2).collect();
                return Some(parse(&text));
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("an event in time")
                .unwrap()?;
            let text = std::str::from_utf8(&chunk).unwrap();
            self.buffer.push_str(text);
            self.raw.push_str(text);
        }
    }

    /// Skip frames until one is event `name` (about `session`, when given).
    async fn until(&mut self, name: &str, session: Option<&str>, limit: Duration) -> Frame {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("stream ended before {name}"));
            let about = frame.data.as_ref().map(|d| d["session_id"].clone());
            if frame.event.as_deref() == Some(name)
                && session.is_none_or(|s| about == Some(json!(s)))
            {
                return frame;
            }
        }
    }

    /// Every frame until the stream ends.
    async fn rest(&mut self, limit: Duration) -> Vec<Frame> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next(limit).await {
            frames.push(frame);
        }
        frames
    }
}

fn parse(text: &str) -> Frame {
    let mut frame = Frame {
        id: None,
        event: None,
        data: None,
        comment: None,
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        // The spec allows one space after the colon.
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "" => frame.comment = Some(value.to_string()),
            "id" => frame.id = Some(value.parse().unwrap()),
            "event" => frame.event = Some(value.to_string()),
            "data" => frame.data = Some(serde_json::from_str(value).unwrap()),
            other => panic!("unexpected SSE field {other:?} in {text:?}"),
        }
    }
    frame
}

const STEP: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn a_login_and_a_chrome_kill_stream_live_and_the_drain_ends_the_stream() {
    let mut t = support::start(&[("server.drain_timeout", "20")]).await;
    let before = emodal_api::telemetry::events::subscribers();
    let mut feed = Feed::open(&t, None, "").await;
    let id = t.demo_session().await;

    let started = feed.until("session_started", Some(&id), STEP).await;
    let data = started.data.unwrap();
    assert_eq!(data["username"], USER);
    assert_eq!(data["level"], "INFO");
    assert!(data["timestamp"].as_str().unwrap().ends_with('Z'), "{data}");
    let logged_in = feed.until("login_succeeded", Some(&id), STEP).await;
    assert!(logged_in.id > started.id, "ids increase");

    // One session's own stream, opened now, sees it too.
    let mut one = Feed::open(&t, None, &format!("?session_id={id}")).await;
    let (status, body) = t.get("/events?session_id=no-such-session").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["success"], false);

    let pids = t.chrome_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    let killed = Instant::now();
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    let restarting = feed
        .until("session_restarting", Some(&id), Duration::from_secs(5))
        .await;
    let took = killed.elapsed();
    println!("Chrome killed -> session_restarting on /events: {took:?}");
    // The session watches its Chrome's process (a pidfd): the kill is seen at once, not at
    // the next liveness check.
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert!(restarting.data.unwrap()["reason"].is_string());
    let mine = one
        .until("session_restarting", Some(&id), Duration::from_secs(5))
        .await;
    assert_eq!(mine.id, restarting.id, "the same item, the same id");
    t.restarted_once(&id).await;

    // A client that goes leaves nothing behind.
    let during = emodal_api::telemetry::events::subscribers();
    assert_eq!(during, before + 2);
    drop(one);
    support::wait_until("the gone client's subscription dropped", STEP, || {
        emodal_api::telemetry::events::subscribers() == before + 1
    })
    .await;

    // Shutdown neither waits for the open stream (drain_timeout is 20 s) nor leaves it
    // open: the stream says the service is going, then ends.
    let stopping = Instant::now();
    let shutdown = async {
        t.shutdown().await;
        stopping.elapsed()
    };
    let (took, rest) = tokio::join!(shutdown, feed.rest(STEP));
    println!("shutdown with an open /events stream: {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(
        rest.iter()
            .any(|f| f.event.as_deref() == Some("shutdown_started")),
        "{rest:?}"
    );
    for secret in [PASS, KEY] {
        assert!(!feed.raw.contains(secret), "a secret on the stream");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_sees_its_own_sessions_and_the_service_wide_events() {
    let mut t = support::start(&[("server.api_tokens", "tok-a,tok-b")]).await;
    let (status, _) = t.call_as(None, reqwest::Method::GET, "/events", None).await;
    assert_eq!(status, 401);
    let mut a = Feed::open(&t, Some("tok-a"), "").await;
    let mut b = Feed::open(&t, Some("tok-b"), "").await;
    let (status, body) = t
        .call_as(
            Some("tok-a"),
            reqwest::Method::POST,
            "/get_session",
            Some(json!({"username": USER, "password": PASS, "captcha_api_key": KEY})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["session_id"].as_str().unwrap().to_string();
    a.until("login_succeeded", Some(&id), STEP).await;
    let (status, _) = t
        .call_as(
            Some("tok-b"),
            reqwest::Method::GET,
            &format!("/events?session_id={id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "another token's session is not found");

    t.shutdown().await;
    let seen_by_b = b.rest(STEP).await;
    assert!(
        seen_by_b
            .iter()
            .any(|f| f.event.as_deref() == Some("shutdown_started")),
        "service-wide events reach every token: {seen_by_b:?}"
    );
    assert!(
        !b.raw.contains(&id),
        "tok-b saw tok-a's session: {seen_by_b:?}"
    );
    let seen_by_a = a.rest(STEP).await;
    assert!(
        seen_by_a
            .iter()
            .any(|f| f.event.as_deref() == Some("shutdown_started")),
        "{seen_by_a:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_log_filter_of_error_still_streams_every_event() {
    let mut t = support::start(&[("log.filter", "error")]).await;
    let mut feed = Feed::open(&t, None, "").await;
    let id = t.demo_session().await;
    feed.until("session_started", Some(&id), STEP).await;
    feed.until("login_succeeded", Some(&id), STEP).await;
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_long_grid_read_streams_its_progress() {
    // 120 rows, 10 a page, each page 400 ms late: seconds of scrolling to watch.
    let mut t = support::start(&[
        ("sandbox.page_size", "10"),
        ("sandbox.render_delay_ms", "400"),
    ])
    .await;
    let mut feed = Feed::open(&t, None, "").await;
    let id = t.demo_session().await;
    let api = t.api.clone();
    let session = id.clone();
    let read = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{api}/get_containers"))
            .json(&json!({"session_id": session, "format": "json"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    let deadline = Instant::now() + STEP;
    let (first, counted) = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = feed.until("operation_progress", Some(&id), left).await;
        let data = frame.data.unwrap();
        if data["done"].as_u64().is_some_and(|d| d > 0) {
            break (frame.id, data);
        }
    };
    assert_eq!(counted["operation"], "get containers", "{counted}");
    assert_eq!(counted["unit"], "rows", "{counted}");
    assert_eq!(counted["level"], "DEBUG", "{counted}");
    let done = counted["done"].as_u64().unwrap();
    assert_eq!(
        counted["step"],
        format!("{done} rows loaded"),
        "no total: the whole grid was asked for"
    );
    assert!(counted["total"].is_null(), "{counted}");
    // The rows keep coming: a later event counts more of them.
    let more = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = feed.until("operation_progress", Some(&id), left).await;
        assert!(frame.id > first);
        let data = frame.data.unwrap();
        if data["done"].as_u64().is_some_and(|d| d > done) {
            break data;
        }
    };
    assert!(more["done"].as_u64().unwrap() <= 120, "{more}");
    assert_eq!(read.await.unwrap(), 200);
    t.shutdown_clean().await;
}
