//! `GET /dashboard` in real Chromium against the real API and sandbox: it lists the
//! sessions, follows a Chrome kill and a close within 2 s without a reload (the live feed,
//! not the 5 s poll), shows a session's screenshot, and with tokens set asks for one first.
//! Changes are timed inside the page (a MutationObserver stamps each row change), so the
//! measurement does not include the DevTools round trips of the polling.

mod support;

#[path = "common/sandbox_driver.rs"]
mod driver;

use driver::Driver;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{KEY, PASS, USER};

const USER2: &str = "demo2";
const PASS2: &str = "demo2-password";
/// Within how long the page must show a change in a session.
const LIVE: Duration = Duration::from_secs(2);

/// The driver is synchronous (it polls with short sleeps): keep it off the async workers'
/// backs.
fn sync<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn row(id: &str) -> String {
    format!("document.querySelector('#sessions tbody tr[data-session-id=\"{id}\"]')")
}

/// Record every state change and removal of a row, with the page's clock.
/// Record every state change and removal of a row, with the page's clock. A batch of
/// records is read after the fact: each attribute record's new value is the next record's
/// old value for the same row, or the row's value now.
const OBSERVE: &str = r#"(() => {
  window.__seen = [];
  const stamp = (id, state) => window.__seen.push({ id, state, at: Date.now() });
  new MutationObserver((records) => {
    records.forEach((m, i) => {
      if (m.type === 'attributes' && m.target.dataset.sessionId) {
        const next = records.slice(i + 1).find((r) => r.type === 'attributes' && r.target === m.target);
        stamp(m.target.dataset.sessionId, next ? next.oldValue : m.target.dataset.state);
      }
      for (const n of m.removedNodes) {
        if (n.dataset && n.dataset.sessionId) stamp(n.dataset.sessionId, 'removed');
      }
    });
  }).observe(document.querySelector('#sessions tbody'), {
    subtree: true, childList: true, attributes: true, attributeOldValue: true,
    attributeFilter: ['data-state'],
  });
  return true;
})()"#;

/// When (page clock, ms) the row of `id` first reached `state` (or `removed`).
fn first_seen(d: &Driver, id: &str, state: &str) -> anyhow::Result<i64> {
    let expr = format!(
        "(window.__seen.find(s => s.id === {id} && s.state === {state}) || {{}}).at || null",
        id = json!(id),
        state = json!(state)
    );
    d.wait_for(&format!("{id} {state} on the page"), 15, || {
        Ok(d.eval(&expr)?.as_i64())
    })
    .map_err(|e| {
        // What the page did see, for the failure message.
        let seen = d.eval("window.__seen").unwrap_or_default();
        let feed = d
            .eval("document.getElementById('feed').innerText")
            .unwrap_or_default();
        e.context(format!("rows seen: {seen}\nfeed: {feed}"))
    })
}

async fn second_session(t: &support::TestApp) -> String {
    let (status, body) = t.get_session(USER2, PASS2, KEY).await;
    assert_eq!(status, 200, "{body}");
    body["session_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_lists_sessions_and_follows_a_kill_and_a_close_live() {
    let mut t = support::start(&[]).await;

    // Static, strict, and loadable without a token.
    let page = t
        .http
        .get(format!("{}/dashboard", t.api))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
    let policy = header(&page, "content-security-policy");
    assert!(policy.contains("default-src 'self'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let html = page.text().await.unwrap();
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=").count(),
        "no inline script"
    );
    for (path, kind) in [
        ("/dashboard/dashboard.js", "text/javascript; charset=utf-8"),
        ("/dashboard/dashboard.css", "text/css; charset=utf-8"),
    ] {
        let r = t.http.get(format!("{}{path}", t.api)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(header(&r, "content-type"), kind, "{path}");
        let text = r.text().await.unwrap();
        assert!(!text.contains("innerHTML"), "{path}: values go in as text");
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path}: no CDN"
        );
    }

    let demo = t.demo_session().await;
    let demo2 = second_session(&t).await;

    let d = sync(Driver::launch).unwrap();
    let url = format!("{}/dashboard", t.api);
    sync(|| -> anyhow::Result<()> {
        d.goto(&url)?;
        d.wait_js(
            "both sessions listed",
            &format!("{} && {}", row(&demo), row(&demo2)),
        )?;
        // Open API: no token form.
        anyhow::ensure!(d.eval("document.getElementById('login').hidden")? == json!(true));
        d.wait_js(
            "the live feed connected",
            "document.getElementById('link').dataset.live === 'yes'",
        )?;
        d.wait_js(
            "the capacity tile filled",
            "document.getElementById('t-capacity').textContent === '2 / 10'",
        )?;
        d.eval(OBSERVE)?;
        Ok(())
    })
    .unwrap();
    let text = |selector: &str| {
        let expr = format!("{}.textContent", selector);
        sync(|| d.eval(&expr)).unwrap()
    };
    assert_eq!(
        text(&format!("{}.querySelector('td.user')", row(&demo))),
        json!(USER)
    );
    assert_eq!(
        text(&format!("{}.querySelector('.badge.state')", row(&demo))),
        json!("ready")
    );

    // Chrome killed: the row says restarting within 2 s, and comes back ready with one
    // restart counted.
    let dir = t.data_dir.join("profiles").join(format!("{demo}-"));
    let pids = support::chrome_pids_under(&dir);
    assert_eq!(pids.len(), 1, "{pids:?}");
    let killed = now_ms();
    unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) };
    let shown = sync(|| first_seen(&d, &demo, "restarting")).unwrap();
    let took = Duration::from_millis((shown - killed).max(0) as u64);
    println!("Chrome killed -> 'restarting' on the dashboard: {took:?}");
    assert!(took < LIVE, "{took:?}");
    t.restarted_once(&demo).await;
    sync(|| {
        d.wait_js(
            "the row ready again with one restart",
            &format!(
                "{r}.dataset.state === 'ready' && {r}.querySelector('td.restarts').textContent === '1'",
                r = row(&demo)
            ),
        )
    })
    .unwrap();
    assert!(
        text("document.getElementById('feed')")
            .as_str()
            .unwrap()
            .contains("session_restarting"),
        "the feed shows the restart"
    );

    // Closed through the API: the row goes within 2 s.
    let asked = now_ms();
    let (status, body) = t.delete(&format!("/sessions/{demo2}")).await;
    assert_eq!(status, 200, "{body}");
    let gone = sync(|| first_seen(&d, &demo2, "removed")).unwrap();
    let took = Duration::from_millis((gone - asked).max(0) as u64);
    println!("DELETE /sessions/{{id}} -> row removed on the dashboard: {took:?}");
    assert!(took < LIVE, "{took:?}");
    assert_eq!(
        sync(|| d.eval(&format!("!!{}", row(&demo)))).unwrap(),
        json!(true)
    );

    // The screenshot button shows what the session's Chrome shows.
    let shot = t
        .http
        .get(format!("{}/sessions/{demo}/screenshot", t.api))
        .send()
        .await
        .unwrap()
        .status();
    sync(|| -> anyhow::Result<()> {
        d.click(&format!("tr[data-session-id=\"{demo}\"] button.screenshot"))?;
        if shot == 200 {
            d.wait_js(
                "the screenshot shown",
                "document.getElementById('shot-img').naturalWidth > 0",
            )
        } else {
            // The endpoint is not there yet: the panel says why instead of hanging.
            println!("GET /sessions/{{id}}/screenshot answers {shot}: image not checked");
            d.wait_js(
                "the screenshot panel's answer",
                "document.getElementById('shot-status').textContent.startsWith('No screenshot')",
            )
        }
    })
    .unwrap();

    drop(d);
    t.shutdown_clean().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tokens_the_page_asks_for_one_and_then_lists_its_sessions() {
    let mut t = support::start(&[("server.api_tokens", "tok-a,tok-b")]).await;
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
    let (status, _) = t
        .call_as(None, reqwest::Method::GET, "/sessions", None)
        .await;
    assert_eq!(status, 401, "the API itself still wants the token");

    let d = sync(Driver::launch).unwrap();
    let url = format!("{}/dashboard", t.api);
    sync(|| -> anyhow::Result<()> {
        d.goto(&url)?;
        d.wait_js(
            "the token form",
            "getComputedStyle(document.getElementById('login')).display !== 'none' \
             && document.getElementById('main').hidden",
        )?;
        // A wrong token is refused and the form stays.
        d.eval("(document.getElementById('token').value = 'not-a-token', true)")?;
        d.click("#token-form button[type=submit]")?;
        d.wait_js(
            "the refusal",
            "document.getElementById('token-error').textContent.includes('not accepted')",
        )?;
        anyhow::ensure!(d.eval("sessionStorage.length")? == json!(0));
        d.eval("(document.getElementById('token').value = 'tok-a', true)")?;
        d.click("#token-form button[type=submit]")?;
        d.wait_js("the token's session listed", &row(&id))?;
        d.wait_js(
            "the live feed connected with the token",
            "document.getElementById('link').dataset.live === 'yes'",
        )?;
        anyhow::ensure!(
            d.eval("getComputedStyle(document.getElementById('login')).display")? == json!("none")
        );
        // Kept for this tab: a reload goes straight to the sessions.
        d.goto(&url)?;
        d.wait_js("the session listed after a reload", &row(&id))?;
        Ok(())
    })
    .unwrap();
    let stored: Value = sync(|| d.eval("sessionStorage.getItem('emodal-api-token')")).unwrap();
    assert_eq!(stored, json!("tok-a"));

    // Another token's sessions stay out of this page.
    let (status, body) = t
        .call_as(
            Some("tok-b"),
            reqwest::Method::POST,
            "/get_session",
            Some(json!({"username": USER2, "password": PASS2, "captcha_api_key": KEY})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let other = body["session_id"].as_str().unwrap().to_string();
    sync(|| -> anyhow::Result<()> {
        // Two listings later, the second asked for after the first was shown (5 s apart),
        // the page has seen what /sessions answers for tok-a since that login.
        let listings = "Number(document.getElementById('sessions').dataset.listings || 0)";
        let now = d.eval(listings)?.as_i64().unwrap_or(0);
        d.wait_js("two more listings", &format!("{listings} >= {}", now + 2))?;
        Ok(())
    })
    .unwrap();
    assert_eq!(
        sync(|| d.eval(&format!("!!{}", row(&other)))).unwrap(),
        json!(false)
    );

    drop(d);
    t.shutdown_clean().await;
}
