//! Phase 2: N2 sessions with `sessions.hibernate_after` short, logged in a few at a time and
//! never more than a few dozen Chromes at once (each login's Chrome closes again once its
//! session hibernates); then what the service holds with most of them hibernating, whether
//! their refreshes over plain HTTP keep time, and how fast a woken one serves.

use crate::live::Logins;
use crate::load::{container_of, login, sample, sessions, show_states, spares, states, timeline};
use crate::processes::{Api, delta, stats};
use crate::procfs::{browsers, find, our_tree, rss};
use crate::refreshes::{count, judge};
use crate::report::{Goal, Samples, Table, dur, mb, pct};
use crate::{Args, PATIENCE, REFRESH_INTERVAL, client, note};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Seconds unused before a session hibernates.
const HIBERNATE_AFTER: u64 = 20;
/// Sessions woken, one at a time, each by a business request.
const WAKES: usize = 20;
/// Between looks at the sessions' states while logging in.
const LOOK: Duration = Duration::from_millis(500);

const PHASE: &str = "2 hibernation";

pub async fn run(root: &Path, portal: &str, args: &Args, table: &mut Table) -> Result<()> {
    let n = args.hibernate;
    let http = client();
    let max = format!("max_sessions = {}", n + 10);
    let refresh = format!("session_refresh_interval = {REFRESH_INTERVAL}");
    let hibernate = format!("hibernate_after = {HIBERNATE_AFTER}");
    let extra = [
        ("sessions", max.as_str()),
        ("sessions", refresh.as_str()),
        ("sessions", hibernate.as_str()),
    ];
    let mut api = Api::start(root, "hibernate", portal, 1, &extra)?;
    api.healthy().await?;
    api.spares_ready().await?;
    let config = root.join("hibernate.toml").display().to_string();
    let service = find(&[config.as_str(), " serve"]).context("the service's process")?;
    let rss_start = rss(service);

    // Logins: at most `wave` at once, and none started while `max_live` sessions still
    // hold a Chrome (logging in, or not yet hibernating).
    let first = args.first_account + args.sessions;
    let mut logins = Logins::default();
    let mut started: HashMap<String, DateTime<Utc>> = HashMap::new();
    let mut set = JoinSet::new();
    let (mut next, mut peak_browsers, mut peak_rss) = (0usize, 0usize, rss_start);
    let mut last_look = Instant::now() - LOOK;
    let t_login = Instant::now();
    let mut live = 0usize;
    loop {
        if last_look.elapsed() >= LOOK {
            last_look = Instant::now();
            if let Ok(s) = states(&http, &api.url).await {
                let total: f64 = s.values().sum();
                let asleep = s.get("hibernating").copied().unwrap_or(0.0);
                live = (total - asleep).max(0.0) as usize;
            }
            peak_browsers = peak_browsers.max(browsers(&our_tree(&[], &api.data_dir)));
            peak_rss = peak_rss.max(rss(service));
        }
        while set.len() < args.wave && next < n && live < args.max_live {
            let (http, url, account) = (http.clone(), api.url.clone(), first + next);
            set.spawn(async move { (account, login(&http, &url, account).await) });
            next += 1;
            live += 1;
        }
        if next == n && set.is_empty() {
            break;
        }
        tokio::select! {
            done = set.join_next(), if !set.is_empty() => {
                if let Some(Ok((account, result))) = done {
                    match result {
                        Ok((id, s)) => {
                            started.insert(id.clone(), Utc::now());
                            logins.ids.push((account, id));
                            logins.secs.push(s);
                        }
                        Err(e) => {
                            logins.failed += 1;
                            note(format!("login {account}: {e:#}"));
                        }
                    }
                    if logins.ids.len() % 50 == 0 {
                        note(format!("{} of {n} logged in", logins.ids.len()));
                    }
                }
            }
            _ = tokio::time::sleep(LOOK) => {}
        }
    }
    let login_wall = t_login.elapsed().as_secs_f64();
    note(format!(
        "{} of {n} logged in ({} failed) in {}; waiting for them to hibernate",
        logins.ids.len(),
        logins.failed,
        dur(login_wall)
    ));

    // Everyone asleep, then a hold long enough for two refreshes of the last ones.
    let asleep_by = Instant::now() + Duration::from_secs(HIBERNATE_AFTER) + PATIENCE;
    loop {
        let s = states(&http, &api.url).await.unwrap_or_default();
        let total: f64 = s.values().sum();
        if s.get("hibernating").copied().unwrap_or(0.0) >= total || Instant::now() > asleep_by {
            break;
        }
        peak_rss = peak_rss.max(rss(service));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    note(format!("holding for {} s", args.hibernate_hold));
    let hold_end_at = Instant::now() + Duration::from_secs(args.hibernate_hold);
    while Instant::now() < hold_end_at {
        peak_rss = peak_rss.max(rss(service));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let end = Utc::now();
    let rss_end = rss(service);
    let by_state = states(&http, &api.url).await.unwrap_or_default();
    let chromes_now = browsers(&our_tree(&[], &api.data_dir));
    let lines = api.log_lines();
    let refreshes = judge(&lines, &started, end, REFRESH_INTERVAL);
    let restarts = count(&lines, "session_restarting");
    let drops = count(&lines, "session_dropped");

    // Wakes: random hibernating sessions, one at a time, each with a spare waiting.
    let asleep: Vec<(String, String)> = sessions(&http, &api.url)
        .await?
        .into_iter()
        .filter(|(_, _, state)| state == "hibernating")
        .map(|(id, user, _)| (id, user))
        .collect();
    let chosen = sample(&asleep, WAKES);
    let before = stats(&http, portal).await?;
    let mut woken = Vec::new();
    let mut wake_errors = 0usize;
    for (id, user) in &chosen {
        let account: usize = user.trim_start_matches("bench").parse()?;
        let container = container_of(&http, portal, account).await?;
        let spare_by = Instant::now() + Duration::from_secs(30);
        while spares(&http, &api.url).await.unwrap_or(0) < 1 && Instant::now() < spare_by {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match timeline(&http, &api.url, id, &container).await {
            Ok(s) => woken.push(s),
            Err(e) => {
                wake_errors += 1;
                note(format!("wake: {e:#}"));
            }
        }
    }
    let after = stats(&http, portal).await?;
    let captcha = delta(&before, &after, "captcha_tasks");
    let wakes: Vec<Value> = api
        .log_lines()
        .into_iter()
        .filter(|l| l["event"] == "session_woken")
        .filter(|l| chosen.iter().any(|(id, _)| l["session_id"] == id.as_str()))
        .collect();
    let from_cookies = wakes.iter().filter(|l| l["source"] == "cookies").count();
    let on_spare = wakes.iter().filter(|l| l["spare"] == true).count();
    let took: Vec<f64> = wakes
        .iter()
        .filter_map(|l| l["took_ms"].as_f64())
        .map(|ms| ms / 1e3)
        .collect();
    api.stop().await?;

    table.info(
        PHASE,
        &format!(
            "{n} logins, at most {} at once and {} sessions holding a Chrome (`hibernate_after` = {HIBERNATE_AFTER} s, `chrome.spares` = 1)",
            args.wave, args.max_live
        ),
        format!(
            "{} logged in, {} failed, in {}; each {}; at most {peak_browsers} Chromes seen at once",
            logins.ids.len(),
            logins.failed,
            dur(login_wall),
            Samples::from(logins.secs.clone()).summary()
        ),
    );
    table.add(
        PHASE,
        &format!(
            "service RSS with {n} sessions, after a {} s hold",
            args.hibernate_hold
        ),
        format!(
            "{} (peak {}; {} with 0 sessions); sessions: {}; Chromes now {chromes_now} (the spare)",
            mb(rss_end),
            mb(peak_rss),
            mb(rss_start),
            show_states(&by_state)
        ),
        "< 200 MB",
        rss_end / 1e6,
        Goal::AtMost {
            limit: 200.0,
            strict: true,
        },
        |v| format!("{v:.1} MB"),
    );
    table.add(
        PHASE,
        &format!(
            "refreshes on time ({REFRESH_INTERVAL} s interval, from each login to the end of the hold)"
        ),
        refreshes.describe(REFRESH_INTERVAL),
        ">= 99%",
        refreshes.on_time_pct(),
        Goal::AtLeast(99.0),
        pct,
    );
    table.info(PHASE, "restarts / drops", format!("{restarts} / {drops}"));
    let woken = Samples::from(woken);
    table.add(
        PHASE,
        &format!(
            "woken session serving: a warm `get_container_timeline` on a hibernating session ({} random, one at a time, a spare waiting)",
            chosen.len()
        ),
        format!(
            "{}{}; {from_cookies} woken from cookies, {on_spare} on a spare; the wake itself {}",
            woken.summary(),
            if wake_errors > 0 {
                format!(", {wake_errors} failed")
            } else {
                String::new()
            },
            Samples::from(took).summary()
        ),
        "<= 1 s median",
        woken.median(),
        Goal::AtMost {
            limit: 1.0,
            strict: false,
        },
        dur,
    );
    table.add(
        PHASE,
        "captcha tasks during those wakes (sandbox counter)",
        format!("{captcha:.0}"),
        "0",
        captcha,
        Goal::AtMost {
            limit: 0.0,
            strict: false,
        },
        |v| format!("{v:.0}"),
    );
    Ok(())
}
