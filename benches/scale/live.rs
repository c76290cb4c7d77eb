//! Phase 1: N live sessions (each its own Chrome) logged in a few at a time, held for M
//! minutes with a refresh every 60 s while a light request load runs on a random 10% of
//! them; what that costs (memory, CPU) and whether the refreshes and the requests keep up.

use crate::load::{container_of, login, sample, show_states, states, timeline};
use crate::processes::Api;
use crate::procfs::{cpu_seconds, find, mem_available_settled, our_tree, pss_sum, rss, ticks_of};
use crate::refreshes::{count, judge};
use crate::report::{Goal, Samples, Table, dur, mb, pct, ratio};
use crate::{Args, REFRESH_INTERVAL, client, note};
use anyhow::{Context, Result};
use chrono::Utc;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Sessions the comparison pass holds: the "10-session value" of the warm timeline.
const BASELINE_SESSIONS: usize = 10;
/// Warm timelines in that pass.
const BASELINE_SAMPLES: usize = 30;
/// Between one request of the light load and the next (sequential).
const LOAD_PAUSE: Duration = Duration::from_secs(2);
/// The quiet window at the end of the hold in which idle CPU is measured.
const QUIET: Duration = Duration::from_secs(30);
/// README row 6 (20 live sessions, 2026-11-30): the figure compared with when there is no
/// 10-session pass (fewer than 11 sessions asked for).
const README_TIMELINE_P99: f64 = 0.2689;

const PHASE: &str = "1 live";

pub async fn run(root: &Path, portal: &str, args: &Args, table: &mut Table) -> Result<()> {
    let n = args.sessions;
    let http = client();
    let max = format!("max_sessions = {}", n + 10);
    let refresh = format!("session_refresh_interval = {REFRESH_INTERVAL}");
    let extra = [
        ("sessions", max.as_str()),
        ("sessions", refresh.as_str()),
        ("sessions", "hibernate_after = 0"),
    ];
    let mut api = Api::start(root, "live", portal, 1, &extra)?;
    api.healthy().await?;
    api.spares_ready().await?;
    let config = root.join("live.toml").display().to_string();
    let service = find(&[config.as_str(), " serve"]).context("the service's process")?;
    let mem_before = mem_available_settled().await;
    let rss_start = rss(service);

    // Logins, a wave at a time; the first ten, then the comparison pass, then the rest.
    let accounts: Vec<usize> = (1..=n).map(|i| args.first_account + i - 1).collect();
    let split = if n > BASELINE_SESSIONS {
        BASELINE_SESSIONS
    } else {
        n
    };
    let mut logins = Logins::default();
    let t_login = Instant::now();
    logins
        .waves(&http, &api.url, &accounts[..split], args.wave)
        .await;
    let baseline = if n > BASELINE_SESSIONS {
        note(format!(
            "{} sessions logged in; the {BASELINE_SESSIONS}-session timeline pass",
            logins.ids.len()
        ));
        let pass = warm_load(&http, &api.url, portal, &logins.ids, BASELINE_SAMPLES).await?;
        Some(pass)
    } else {
        None
    };
    logins
        .waves(&http, &api.url, &accounts[split..], args.wave)
        .await;
    let login_wall = t_login.elapsed().as_secs_f64();
    note(format!(
        "{} of {n} sessions logged in ({} failed) in {}",
        logins.ids.len(),
        logins.failed,
        dur(login_wall)
    ));

    // The hold: a light load on 10% of the sessions, then a quiet window.
    let loaded = sample(&logins.ids, (n as f64 * 0.1).round().max(1.0) as usize);
    let mut containers = HashMap::new();
    for (a, id) in &loaded {
        let c = container_of(&http, portal, *a).await?;
        // Each session's first timeline opens the container view: not a warm sample.
        let _ = timeline(&http, &api.url, id, &c).await;
        containers.insert(id.clone(), c);
    }
    let hold = Duration::from_secs_f64(args.minutes * 60.0).max(QUIET * 2);
    let hold_start = Utc::now();
    let t0 = Instant::now();
    note(format!(
        "holding {n} sessions for {}; load on {}",
        dur(hold.as_secs_f64()),
        loaded.len()
    ));
    let mut warm = Vec::new();
    let mut load_errors = 0usize;
    while t0.elapsed() + QUIET + LOAD_PAUSE < hold {
        let (_, id) = &loaded[crate::load::pick(loaded.len())];
        match timeline(&http, &api.url, id, &containers[id]).await {
            Ok(s) => warm.push(s),
            Err(e) => {
                load_errors += 1;
                note(format!("load: {e:#}"));
            }
        }
        tokio::time::sleep(LOAD_PAUSE).await;
    }
    let quiet_left = hold.saturating_sub(t0.elapsed());
    let service_before = ticks_of(&[service]);
    let chrome_before = ticks_of(&our_tree(&[], &api.data_dir));
    let quiet_t = Instant::now();
    tokio::time::sleep(quiet_left).await;
    let service_cpu = cpu_seconds(&service_before, &ticks_of(&[service]));
    let chrome_cpu = cpu_seconds(&chrome_before, &ticks_of(&our_tree(&[], &api.data_dir)));
    let cpu_window = quiet_t.elapsed().as_secs_f64();
    let hold_end = Utc::now();

    // What the hold cost and how the sessions fared.
    let mem_after = mem_available_settled().await;
    let chrome = our_tree(&[], &api.data_dir);
    let chrome_pss = pss_sum(&chrome);
    let browsers = crate::procfs::browsers(&chrome);
    let exe = crate::procfs::browser_exe(&chrome).unwrap_or_else(|| "?".into());
    let rss_end = rss(service);
    let by_state = states(&http, &api.url).await.unwrap_or_default();
    let lines = api.log_lines();
    let windows: HashMap<String, _> = logins
        .ids
        .iter()
        .map(|(_, id)| (id.clone(), hold_start))
        .collect();
    let refreshes = judge(&lines, &windows, hold_end, REFRESH_INTERVAL);
    let restarts = count(&lines, "session_restarting");
    let drops = count(&lines, "session_dropped");
    api.stop().await?;

    let per = |total: f64| total / n as f64;
    let logged = logins.ids.len();
    table.info(
        PHASE,
        &format!(
            "{n} logins, waves of {} (instant captcha, one account each)",
            args.wave
        ),
        format!(
            "{logged} logged in, {} failed, in {}; each {}",
            logins.failed,
            dur(login_wall),
            Samples::from(logins.secs.clone()).summary()
        ),
    );
    let drop_per = per(mem_before - mem_after);
    table.add(
        PHASE,
        &format!("memory per idle logged-in session: drop in MemAvailable over the hold / {n}"),
        format!(
            "{} ({} -> {} available; other work on the machine moves this)",
            mb(drop_per),
            mb(mem_before),
            mb(mem_after)
        ),
        "<= 80 MB (goal 60 MB)",
        drop_per / 1e6,
        Goal::AtMost {
            limit: 80.0,
            strict: false,
        },
        |v| format!("{v:.1} MB"),
    );
    table.add(
        PHASE,
        &format!("memory per session: summed PSS of every Chrome tree under the data dir / {n}"),
        format!(
            "{} ({} total, {} processes, {browsers} browsers incl. the spare; {exe})",
            mb(per(chrome_pss)),
            mb(chrome_pss),
            chrome.len()
        ),
        "<= 80 MB (goal 60 MB)",
        per(chrome_pss) / 1e6,
        Goal::AtMost {
            limit: 80.0,
            strict: false,
        },
        |v| format!("{v:.1} MB"),
    );
    table.add(
        PHASE,
        &format!(
            "refreshes on time over the hold ({REFRESH_INTERVAL} s interval; a served request re-arms the timer, so it counts as one)"
        ),
        refreshes.describe(REFRESH_INTERVAL),
        ">= 99%",
        refreshes.on_time_pct(),
        Goal::AtLeast(99.0),
        pct,
    );
    table.info(PHASE, "missed refreshes", refreshes.missed.to_string());
    table.info(
        PHASE,
        "restarts / drops (`session_restarting` / `session_dropped` events)",
        format!(
            "{restarts} / {drops}; at the end: {}",
            show_states(&by_state)
        ),
    );
    let warm = Samples::from(warm);
    table.info(
        PHASE,
        &format!(
            "warm `get_container_timeline` under the light load ({} of {n} sessions, one every {} s, sequential)",
            loaded.len(),
            LOAD_PAUSE.as_secs()
        ),
        format!(
            "{}{}",
            warm.summary(),
            if load_errors > 0 {
                format!("; {load_errors} failed")
            } else {
                String::new()
            }
        ),
    );
    let (reference, whence) = match &baseline {
        Some(b) => (
            b.p99(),
            format!(
                "this run's {BASELINE_SESSIONS}-session pass: {}",
                b.summary()
            ),
        ),
        None => (
            README_TIMELINE_P99,
            "README row 6 (20 sessions), p99 268.9 ms: no 10-session pass with this few sessions"
                .to_string(),
        ),
    };
    let r = warm.p99() / reference;
    table.add(
        PHASE,
        &format!("warm timeline p99 with {n} sessions / its 10-session value"),
        format!("{} ({} vs {whence})", ratio(r), dur(warm.p99())),
        "< 2x",
        r,
        Goal::AtMost {
            limit: 2.0,
            strict: true,
        },
        ratio,
    );
    table.info(
        PHASE,
        "service RSS",
        format!(
            "{} at the end ({} with 0 sessions)",
            mb(rss_end),
            mb(rss_start)
        ),
    );
    let core = |s: f64| 100.0 * s / cpu_window;
    table.info(
        PHASE,
        &format!(
            "idle CPU per session: service + Chrome trees over a quiet {:.0} s window / {n}",
            cpu_window
        ),
        format!(
            "{} of one core per session ({} total: service {}, Chromes {})",
            pct(core(service_cpu + chrome_cpu) / n as f64),
            pct(core(service_cpu + chrome_cpu)),
            pct(core(service_cpu)),
            pct(core(chrome_cpu))
        ),
    );
    Ok(())
}

/// The sessions logged in so far: (account, session id).
#[derive(Default)]
pub struct Logins {
    pub ids: Vec<(usize, String)>,
    pub secs: Vec<f64>,
    pub failed: usize,
}

impl Logins {
    /// Log `accounts` in, `wave` at a time, each wave finished before the next starts.
    pub async fn waves(
        &mut self,
        http: &reqwest::Client,
        api: &str,
        accounts: &[usize],
        wave: usize,
    ) {
        for chunk in accounts.chunks(wave.max(1)) {
            let results =
                futures::future::join_all(chunk.iter().map(|&a| login(http, api, a))).await;
            for (a, r) in chunk.iter().zip(results) {
                match r {
                    Ok((id, s)) => {
                        self.ids.push((*a, id));
                        self.secs.push(s);
                    }
                    Err(e) => {
                        self.failed += 1;
                        note(format!("login {a}: {e:#}"));
                    }
                }
            }
        }
    }
}

/// The comparison pass: `samples` warm timelines on random ones of `ids`, paced as the
/// hold's load is (after one unmeasured timeline each).
async fn warm_load(
    http: &reqwest::Client,
    api: &str,
    portal: &str,
    ids: &[(usize, String)],
    samples: usize,
) -> Result<Samples> {
    let mut containers = Vec::new();
    for (a, id) in ids {
        let c = container_of(http, portal, *a).await?;
        let _ = timeline(http, api, id, &c).await;
        containers.push(c);
    }
    let mut out = Vec::new();
    for _ in 0..samples {
        let i = crate::load::pick(ids.len());
        match timeline(http, api, &ids[i].1, &containers[i]).await {
            Ok(s) => out.push(s),
            Err(e) => note(format!("baseline: {e:#}")),
        }
        tokio::time::sleep(LOAD_PAUSE).await;
    }
    Ok(Samples::from(out))
}
