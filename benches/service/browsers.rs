//! Issue 14's browser candidates: which Chromium, with which flags, carries a logged-in
//! session for the least memory while still driving the portal fast and without crashing.
//! `cargo bench --bench service browsers` (or `scripts/browser-candidates.sh`).
//!
//! Each candidate gets an API of its own (`serve --sandbox-url`, spares off) on one shared
//! sandbox portal, with `chrome.path` and `chrome.extra_args` set. Per candidate:
//! [`SESSIONS`] cold logins in turn (a fresh account each), a containers read on each (the
//! logged-in app page), [`SETTLE`] of quiet, then the summed PSS and count of the Chrome
//! processes under the API's data directory, per session; then warm timelines, and a long
//! run of operations (timelines and containers reads in turn over every session) for
//! [`STABILITY`] (`BROWSERS_SECONDS` overrides it), counting failures, Chrome exits,
//! unresponsive pages and restarts from the API's log.

use crate::persistence::processes::{Api, Portal, wait_for};
use crate::{
    Samples, client, cmdline, credentials, dur, fetch_dataset, our_tree, processes, pss, timed_ok,
    timeline_container,
};
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

const SESSIONS: usize = 6;
/// Quiet after the containers reads, before memory is read: what Chrome starts a little
/// after a page (its services, its caches) counts.
const SETTLE: Duration = Duration::from_secs(15);
const WARM_TIMELINES: usize = 30;
/// The long run's length per candidate when `BROWSERS_SECONDS` is not set.
const STABILITY: Duration = Duration::from_secs(150);

/// A Chromium and the flags added to the service's own.
struct Candidate {
    name: &'static str,
    path: &'static str,
    extra: &'static [&'static str],
}

const FULL: &str = "/usr/bin/chromium";
/// The binary itself: `/usr/bin/chromium-headless-shell` is a shell script that does not
/// `exec` it, so killing the launched process would leave the browser running.
const SHELL: &str = "/usr/lib/chromium/chromium-headless-shell";

/// Flags that trade nothing the portal uses for memory: a smaller V8 heap for the one page,
/// Chrome's low-end mode (smaller caches, fewer raster threads), no spare renderer, no
/// back/forward cache or prerendering, the network service in the browser process.
const LEAN: &[&str] = &[
    "--enable-low-end-device-mode",
    "--js-flags=--max-old-space-size=256",
    "--disable-features=SpareRendererForSitePerProcess,BackForwardCache,Prerender2,PaintHolding",
    "--enable-features=NetworkServiceInProcess2",
    "--in-process-gpu",
];

const CANDIDATES: &[Candidate] = &[
    Candidate {
        name: "chromium (today)",
        path: FULL,
        extra: &[],
    },
    Candidate {
        name: "chromium + lean flags",
        path: FULL,
        extra: LEAN,
    },
    Candidate {
        name: "headless shell",
        path: SHELL,
        extra: &[],
    },
    Candidate {
        name: "headless shell + lean flags",
        path: SHELL,
        extra: LEAN,
    },
    Candidate {
        name: "headless shell --single-process",
        path: SHELL,
        extra: &["--single-process"],
    },
];

#[derive(Default)]
struct Outcome {
    pss_per_session: f64,
    processes_per_session: f64,
    kinds: String,
    cold: Samples,
    warm: Samples,
    operations: usize,
    failed: usize,
    first_failure: Option<String>,
    chrome_exited: usize,
    unresponsive: usize,
    restarts: usize,
    seconds: f64,
}

/// Run every candidate and print the table.
pub async fn run(root: &Path) {
    let root = root.join("browsers");
    let stability = std::env::var("BROWSERS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(STABILITY, Duration::from_secs);
    let only: Vec<String> = std::env::var("BROWSERS_ONLY")
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let portal = match Portal::start(&root, SESSIONS * CANDIDATES.len()) {
        Ok(p) => p,
        Err(e) => {
            println!("the sandbox portal did not start: {e:#}");
            return;
        }
    };
    let http = client();
    let up = wait_for("the sandbox portal", || async {
        let r = http
            .get(format!("{}/__sandbox/stats", portal.url))
            .send()
            .await;
        r.is_ok_and(|r| r.status().is_success()).then_some(())
    })
    .await;
    if let Err(e) = up {
        println!("{e:#}");
        return;
    }
    let mut rows = Vec::new();
    for (i, c) in CANDIDATES.iter().enumerate() {
        // A whole name picks that candidate alone; a part of one picks every name with it.
        let picked = |o: &String| {
            c.name == o.as_str()
                || (!CANDIDATES.iter().any(|x| x.name == o.as_str()) && c.name.contains(o.as_str()))
        };
        if !only.is_empty() && !only.iter().any(picked) {
            continue;
        }
        crate::note(format!("browsers: {}", c.name));
        let accounts: Vec<usize> = (i * SESSIONS + 1..=(i + 1) * SESSIONS).collect();
        let outcome = candidate(&root, &portal.url, i, c, &accounts, stability).await;
        if let Err(e) = &outcome {
            crate::note(format!("browsers: {} failed: {e:#}", c.name));
        }
        rows.push((c, outcome));
    }
    print_table(&rows, stability);
}

async fn candidate(
    root: &Path,
    portal: &str,
    index: usize,
    c: &Candidate,
    accounts: &[usize],
    stability: Duration,
) -> Result<Outcome> {
    let extra_args = format!(
        "extra_args = [{}]",
        c.extra
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let path = format!("path = {:?}", c.path);
    let mut api = Api::start(
        root,
        &format!("candidate{index}"),
        portal,
        0,
        &[("chrome", &path), ("chrome", &extra_args)],
    )?;
    api.healthy().await?;
    let http = client();
    let url = |p: &str| format!("{}{p}", api.url);
    let mut out = Outcome::default();

    // Cold logins, one after the other, then a containers read on each.
    let mut ids = Vec::new();
    let mut cold = Vec::new();
    for &n in accounts {
        let (secs, v) = timed_ok(&http, url("/get_session"), &credentials(n))
            .await
            .with_context(|| format!("login {n}"))?;
        cold.push(secs);
        ids.push(v["session_id"].as_str().unwrap_or_default().to_string());
    }
    out.cold = Samples::from(cold);
    for id in &ids {
        let body = json!({"session_id": id, "format": "json", "target_count": 10});
        timed_ok(&http, url("/get_containers"), &body).await?;
    }
    tokio::time::sleep(SETTLE).await;
    // The browsers under this API's data directory and everything below them; a Chrome's
    // children do not name the directory (and a crashpad handler, re-parented to init,
    // shares only the browser's scratch TMPDIR, which `our_tree` also follows).
    let dir = api.data_dir.display().to_string();
    let browsers: Vec<u32> = processes()
        .iter()
        .map(|p| p.pid)
        .filter(|&pid| {
            let line = cmdline(pid);
            line.contains(&dir) && !line.contains("--type=")
        })
        .collect();
    let mut pids = our_tree(&browsers, &api.data_dir);
    pids.extend(
        browsers
            .iter()
            .filter(|b| !pids.contains(b))
            .collect::<Vec<_>>(),
    );
    out.pss_per_session = pids.iter().map(|&p| pss(p)).sum::<f64>() / ids.len() as f64;
    out.processes_per_session = pids.len() as f64 / ids.len() as f64;
    out.kinds = kinds(&pids);

    // Warm timelines on the first session.
    let mut containers = Vec::new();
    for &n in accounts {
        let data = fetch_dataset(&http, portal, n).await?;
        containers.push(timeline_container(&data).context("no timeline container")?);
    }
    let tl = |k: usize| json!({"session_id": ids[k], "container_id": containers[k]});
    let _ = timed_ok(&http, url("/get_container_timeline"), &tl(0)).await;
    let mut warm = Vec::new();
    for _ in 0..WARM_TIMELINES {
        warm.push(
            timed_ok(&http, url("/get_container_timeline"), &tl(0))
                .await?
                .0,
        );
    }
    out.warm = Samples::from(warm);

    // The long run: every session in turn, timelines and containers reads alternating.
    let started = Instant::now();
    let mut k = 0;
    while started.elapsed() < stability {
        let session = k % ids.len();
        let r = if (k / ids.len()) % 2 == 0 {
            timed_ok(&http, url("/get_container_timeline"), &tl(session)).await
        } else {
            let body = json!({"session_id": ids[session], "format": "json", "target_count": 10});
            timed_ok(&http, url("/get_containers"), &body).await
        };
        out.operations += 1;
        if let Err(e) = r {
            out.failed += 1;
            out.first_failure.get_or_insert_with(|| format!("{e:#}"));
        }
        k += 1;
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.chrome_exited = api.events("chrome_exited").len();
    out.unresponsive = api.events("page_unresponsive").len();
    out.restarts = api.events("session_restarting").len();
    api.stop().await?;
    if out.operations == 0 {
        bail!("no operation ran");
    }
    Ok(out)
}

/// `renderer 1, utility:network.mojom.NetworkService 1, ...` over the process tree.
fn kinds(pids: &[u32]) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for &pid in pids {
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        let arg = |name: &str| {
            line.split_whitespace()
                .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
        };
        let kind = match arg("type").as_deref() {
            None if line.contains("crashpad") => "crashpad".to_string(),
            None => "browser".to_string(),
            Some("utility") => arg("utility-sub-type")
                .unwrap_or_default()
                .split('.')
                .next_back()
                .unwrap_or_default()
                .to_string(),
            Some(t) => t.to_string(),
        };
        *counts.entry(kind).or_default() += 1;
    }
    counts
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_table(rows: &[(&Candidate, Result<Outcome>)], stability: Duration) {
    println!();
    println!(
        "Browser candidates: {SESSIONS} sessions each, a containers read on each, {} s quiet, then memory; {WARM_TIMELINES} warm timelines; operations for {} s",
        SETTLE.as_secs(),
        stability.as_secs()
    );
    println!();
    println!(
        "| candidate | PSS per session | processes per session | cold get_session median (p99) | warm timeline median (p99) | operations (failed) | Chrome exits / unresponsive / restarts | extra flags |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (c, r) in rows {
        let flags = if c.extra.is_empty() {
            "—".to_string()
        } else {
            format!("`{}`", c.extra.join(" "))
        };
        match r {
            Ok(o) => println!(
                "| {} (`{}`) | {:.1} MB | {:.1} ({}) | {} ({}) | {} ({}) | {} in {:.0} s ({}) | {} / {} / {} | {flags} |",
                c.name,
                c.path,
                o.pss_per_session / 1e6,
                o.processes_per_session,
                o.kinds,
                dur(o.cold.median()),
                dur(o.cold.p99()),
                dur(o.warm.median()),
                dur(o.warm.p99()),
                o.operations,
                o.seconds,
                o.failed,
                o.chrome_exited,
                o.unresponsive,
                o.restarts,
            ),
            Err(e) => println!(
                "| {} (`{}`) | failed: {} | | | | | | {flags} |",
                c.name,
                c.path,
                format!("{e:#}").replace('|', "/")
            ),
        }
    }
    for (c, r) in rows {
        if let Ok(o) = r
            && let Some(f) = &o.first_failure
        {
            println!("- {}: first failure: {f}", c.name);
        }
    }
}
