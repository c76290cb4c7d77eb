//! Issue 13's rows: what watching the service costs.
//!
//! - 13: `GET /metrics` with 50 live sessions: the first scrape after the 50th login, 200
//!   sequential scrapes after it, and one scrape after the memory sample's 30 s have passed
//!   (what a Prometheus scraping every 15-60 s meets half of the time or more).
//! - 14: warm `POST /get_session` on an API with the request log and request metrics on
//!   (`log.requests = true`, the default) and on one with them off, taking turns.
//!
//! Like rows 10-12, these run the sandbox portal and the API as processes of their own
//! (`sandbox-portal`, `serve --sandbox-url`), with JSON logs at info into a file per API:
//! a request's log line is really formatted and written, as in production.

use crate::persistence::processes::{Api, Portal, wait_for};
use crate::{Goal, Samples, Table, credentials, dur, errs, keep, med_p99, note, timed_ok};
use anyhow::{Result, anyhow, bail};
use futures::StreamExt;
use prometheus_parse::{Scrape, Value as Prom};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Live sessions for row 13, one account each (`bench01` .. `bench50`).
const SESSIONS: usize = 50;
/// Logins in flight at once while filling the service: a few, as on a 2-core machine each
/// is a Chrome launch.
const LOGINS_AT_ONCE: usize = 3;
const SCRAPES: usize = 200;
/// How long the service keeps a Chrome memory sample (src/metrics/memory.rs).
const MEMORY_SAMPLE_AGE: Duration = Duration::from_secs(30);
/// Row 14: warm-up calls on each API, then `ROUNDS * PER_ROUND` calls each, taking turns.
const WARM_UP: usize = 100;
const ROUNDS: usize = 30;
const PER_ROUND: usize = 100;

pub async fn rows(root: &Path, table: &mut Table, notes: &mut Vec<String>) {
    let root = root.join("observability");
    let portal = match Portal::start(&root, SESSIONS) {
        Ok(p) => p,
        Err(e) => {
            notes.push(format!(
                "Rows 13-14: the sandbox portal did not start: {e:#}"
            ));
            return;
        }
    };
    let url = portal.url.clone();
    let http = crate::client();
    if let Err(e) = wait_for("the sandbox portal", || async {
        let r = http.get(format!("{url}/__sandbox/stats")).send().await;
        r.is_ok_and(|r| r.status().is_success()).then_some(())
    })
    .await
    {
        notes.push(format!("Rows 13-14: {e:#}"));
        return;
    }

    // `EMODAL_BENCH_ROW14_ONLY=1`: only row 14 (a quick check of the request log's cost).
    let scrapes = if std::env::var_os("EMODAL_BENCH_ROW14_ONLY").is_some() {
        Err(anyhow!("skipped (EMODAL_BENCH_ROW14_ONLY)"))
    } else {
        scrape_with_sessions(&root, &url).await
    };
    let logging = request_log_cost(&root, &url).await;
    drop(portal);

    match &scrapes {
        Ok(s) => {
            table.add(
                "13",
                &format!("`GET /metrics` with {SESSIONS} live sessions, sequential scrapes"),
                format!(
                    "{}{}; {} sessions and {} of Chrome PSS shown",
                    med_p99(&s.warm),
                    errs(s.failed),
                    s.sessions_shown,
                    crate::mb(s.memory_shown)
                ),
                "< 5 ms median",
                s.warm.median(),
                Goal::AtMost {
                    limit: 0.005,
                    strict: true,
                },
                dur,
            );
            table.add(
                "13",
                "`GET /metrics` p99 of those scrapes",
                dur(s.warm.p99()),
                "< 5 ms",
                s.warm.p99(),
                Goal::AtMost {
                    limit: 0.005,
                    strict: true,
                },
                dur,
            );
            table.add(
                "13",
                "`GET /metrics`: one scrape 32 s after the first (every browser's sample due again)",
                dur(s.after_sample_age),
                "< 5 ms",
                s.after_sample_age,
                Goal::AtMost {
                    limit: 0.005,
                    strict: true,
                },
                dur,
            );
            table.add(
                "13",
                "`GET /metrics`: the first scrape after the 50th login (the service's first: it waits for the first memory pass)",
                dur(s.first),
                "—",
                f64::NAN,
                Goal::None,
                dur,
            );
        }
        Err(e) => {
            notes.push(format!("Row 13 not measured: {e:#}"));
            table.add(
                "13",
                &format!("`GET /metrics` with {SESSIONS} live sessions"),
                "not measured (see the notes)".into(),
                "< 5 ms median",
                f64::NAN,
                Goal::AtMost {
                    limit: 0.005,
                    strict: true,
                },
                dur,
            );
        }
    }
    match &logging {
        Ok(l) => {
            let ratio = l.on.median() / l.off.median();
            table.add(
                "14",
                "warm `get_session`: request log + request metrics on / off (median ratio)",
                format!(
                    "on: {}; off: {}{}; ratio {ratio:.3} (request lines in the logs: {} on, {} off)",
                    med_p99(&l.on),
                    med_p99(&l.off),
                    errs(l.failed),
                    l.lines[0],
                    l.lines[1]
                ),
                "<= 1.05",
                ratio,
                Goal::AtMost {
                    limit: 1.05,
                    strict: false,
                },
                |v| format!("{v:.3}"),
            );
            table.add(
                "14",
                "warm `get_session`: `log.requests` on with the line filtered out (trace, Server-Timing, metrics) / off",
                format!(
                    "{}; ratio {:.3}; recording one request's metrics in this process (a counter, a histogram, 7 stage histograms): {} per request",
                    med_p99(&l.metrics_only),
                    l.metrics_only.median() / l.off.median(),
                    dur(metrics_recording_cost())
                ),
                "—",
                f64::NAN,
                Goal::None,
                dur,
            );
        }
        Err(e) => {
            notes.push(format!("Row 14 not measured: {e:#}"));
            table.add(
                "14",
                "warm `get_session`: request log + request metrics on / off",
                "not measured (see the notes)".into(),
                "<= 1.05",
                f64::NAN,
                Goal::AtMost {
                    limit: 1.05,
                    strict: false,
                },
                |v| format!("{v:.3}"),
            );
        }
    }
    notes.push(format!(
        "Rows 13-14: sandbox portal as its own process (captcha and render delay 0 ms), the API \
         as `serve --sandbox-url` with JSON logs at info appended to a file. Row 13 logs in \
         {SESSIONS} sessions ({LOGINS_AT_ONCE} at a time, `sessions.max_sessions` = 64, one \
         spare), waits until `/sessions` lists all of them ready (no scrape before), then times one scrape, \
         {SCRAPES} sequential ones and, {} s after the first returned, one more (reading the whole body, \
         one keep-alive connection). Row 14 runs three APIs side by side, `log.requests` true, \
         false, and true with `emodal_api::http=warn` in the filter (the metrics without the \
         line), one session each; {WARM_UP} warm-up calls each, then {} calls each, the three \
         taking turns call by call, so that all see the same machine.",
        MEMORY_SAMPLE_AGE.as_secs() + 2,
        ROUNDS * PER_ROUND
    ));
}

// ---------------------------------------------------------------------------------------
// Row 13: /metrics with 50 sessions
// ---------------------------------------------------------------------------------------

struct Scrapes {
    first: f64,
    warm: Samples,
    after_sample_age: f64,
    failed: usize,
    sessions_shown: f64,
    memory_shown: f64,
}

async fn scrape_with_sessions(root: &Path, portal: &str) -> Result<Scrapes> {
    note(format!("13. /metrics: logging in {SESSIONS} sessions"));
    let mut api = Api::start(
        root,
        "scrape",
        portal,
        1,
        &[("sessions", "max_sessions = 64")],
    )?;
    api.healthy().await?;
    let logins = futures::stream::iter(1..=SESSIONS)
        .map(|n| {
            let (http, url) = (api.http.clone(), api.url.clone());
            async move { timed_ok(&http, format!("{url}/get_session"), &credentials(n)).await }
        })
        .buffer_unordered(LOGINS_AT_ONCE)
        .collect::<Vec<_>>()
        .await;
    if let Some(Err(e)) = logins.iter().find(|r| r.is_err()) {
        bail!("a login failed: {e:#}");
    }
    // Every session ready (none still starting) before the clock starts, seen in
    // `/sessions` so that no scrape has taken a memory sample yet: the first is cold.
    wait_for("every session ready", || async {
        let r = api.http.get(format!("{}/sessions", api.url)).send().await;
        let v: Value = r.ok()?.json().await.ok()?;
        let ready = v["sessions"]
            .as_array()?
            .iter()
            .filter(|s| s["state"] == "ready")
            .count();
        (ready >= SESSIONS).then_some(())
    })
    .await?;

    note(format!("13. /metrics: {SCRAPES} sequential scrapes"));
    let (first, _) = scrape(&api).await?;
    // The memory sample's age counts from the end of the pass the first scrape waited for.
    let first_done = Instant::now();
    let (mut warm, mut failed) = (Vec::new(), 0);
    let mut last = None;
    for _ in 0..SCRAPES {
        let r = scrape(&api).await.map(|(t, s)| {
            last = Some(s);
            t
        });
        keep(&mut warm, &mut failed, "/metrics", r);
    }
    let last = last.ok_or_else(|| anyhow!("no scrape succeeded"))?;
    let sessions_shown = value(&last, "emodal_sessions", &[]);
    let memory_shown = value(&last, "emodal_chrome_memory_bytes", &[]);
    note("13. /metrics: one more after the memory sample's age");
    tokio::time::sleep(
        (MEMORY_SAMPLE_AGE + Duration::from_secs(2)).saturating_sub(first_done.elapsed()),
    )
    .await;
    let (after_sample_age, _) = scrape(&api).await?;
    api.stop().await?;
    Ok(Scrapes {
        first,
        warm: Samples::from(warm),
        after_sample_age,
        failed,
        sessions_shown,
        memory_shown,
    })
}

/// One timed scrape (the whole body read), parsed after the clock stopped.
async fn scrape(api: &Api) -> Result<(f64, Scrape)> {
    let t = Instant::now();
    let r = api.http.get(format!("{}/metrics", api.url)).send().await?;
    let status = r.status();
    let text = r.text().await?;
    let took = t.elapsed().as_secs_f64();
    if !status.is_success() {
        bail!("/metrics: {status}");
    }
    let parsed = Scrape::parse(text.lines().map(|l| Ok(l.to_string())))?;
    Ok((took, parsed))
}

/// The sum of `name`'s samples that have every label in `labels`.
fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            Prom::Counter(v) | Prom::Gauge(v) | Prom::Untyped(v) => *v,
            _ => 0.0,
        })
        .sum()
}

// ---------------------------------------------------------------------------------------
// Row 14: the request log's cost
// ---------------------------------------------------------------------------------------

struct Logging {
    on: Samples,
    off: Samples,
    /// `log.requests` on with the request line filtered out: the metrics' share.
    metrics_only: Samples,
    failed: usize,
    /// Request log lines naming `/get_session` written by each API (on, off).
    lines: [usize; 2],
}

async fn request_log_cost(root: &Path, portal: &str) -> Result<Logging> {
    note("14. warm get_session, log.requests on and off, taking turns");
    let on = Api::start(
        root,
        "requests-on",
        portal,
        0,
        &[("log", "requests = true")],
    )?;
    let off = Api::start(
        root,
        "requests-off",
        portal,
        0,
        &[("log", "requests = false")],
    )?;
    // The metrics without the line: the request log's target filtered out.
    let quiet = "filter = \"info,emodal_api::http=warn,headless_chrome=warn,html5ever=warn\"";
    let metrics_only = Api::start(
        root,
        "requests-metrics-only",
        portal,
        0,
        &[("log", "requests = true"), ("log", quiet)],
    )?;
    let mut apis = [on, off, metrics_only];
    for api in &mut apis {
        api.healthy().await?;
    }
    // One account each, so the sessions are not the same portal login.
    let bodies = [credentials(1), credentials(2), credentials(3)];
    for (api, body) in apis.iter().zip(&bodies) {
        for _ in 0..=WARM_UP {
            timed_ok(&api.http, format!("{}/get_session", api.url), body).await?;
        }
    }
    let mut out: [Vec<f64>; 3] = Default::default();
    let mut failed = 0;
    // Call by call, rotating which goes first: the three see the same machine within
    // a millisecond (rounds of a hundred calls each saw different loads from other work).
    for n in 0..ROUNDS * PER_ROUND {
        for k in 0..apis.len() {
            let i = (n + k) % apis.len();
            let (api, body) = (&apis[i], &bodies[i]);
            let r = timed_ok(&api.http, format!("{}/get_session", api.url), body).await;
            keep(
                &mut out[i],
                &mut failed,
                "warm get_session",
                r.map(|(s, _)| s),
            );
        }
    }
    let lines = [request_lines(&apis[0]), request_lines(&apis[1])];
    for api in &mut apis {
        api.stop().await?;
    }
    let [on_s, off_s, metrics_s] = out;
    Ok(Logging {
        on: Samples::from(on_s),
        off: Samples::from(off_s),
        metrics_only: Samples::from(metrics_s),
        failed,
        lines,
    })
}

/// Mean time to record one warm `get_session`'s request metrics through the crate's own
/// functions and recorder, in this process.
fn metrics_recording_cost() -> f64 {
    use emodal_api::telemetry::request::Breakdown;
    const N: u32 = 20_000;
    emodal_api::metrics::handle();
    let b = Breakdown {
        total: Duration::from_micros(300),
        ..Default::default()
    };
    let t = Instant::now();
    for _ in 0..N {
        emodal_api::metrics::request("POST", "/get_session", 200, b.total);
        emodal_api::metrics::request_stages("/get_session", &b);
    }
    t.elapsed().as_secs_f64() / f64::from(N)
}

/// Request log lines in an API's log file (JSON lines naming `/get_session`).
fn request_lines(api: &Api) -> usize {
    api.log_lines()
        .iter()
        .filter(|v: &&Value| v.to_string().contains("\"/get_session\""))
        .count()
}
