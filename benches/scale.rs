//! `cargo bench --bench scale -- [--sessions N] [--minutes M] [--hibernate N2]` (run by
//! `scripts/scale.sh`): issue 14's scale run against the sandbox portal with real Chromium.
//! Not a test, and not part of `cargo bench --bench service`: at full size it takes 40+
//! minutes.
//!
//! Phase 1 (`scale/live.rs`): N live sessions (default 100), held M minutes (default 10)
//! with a refresh every 60 s and a light load on 10% of them. Phase 2
//! (`scale/hibernation.rs`): N2 sessions (default 1,000) that hibernate after 20 s unused.
//! Either phase is skipped with a count of 0. Prints a Markdown table with each target and
//! whether this run met it; nothing fails on a missed target.
//!
//! The sandbox portal and the API run as separate processes (the bench harness of
//! `benches/service/persistence/processes.rs`, shared with `cargo bench --bench service`),
//! so the service's RSS, its Chrome trees and its JSON log can be read from outside.
//!
//! Options (after `--`): `--sessions N`, `--minutes M` (fractions allowed), `--hibernate N2`,
//! `--wave W` (logins at once, default 2 like `sessions.restore_concurrency`), `--max-live L`
//! (phase 2: most sessions holding a Chrome at once, default 30), `--hibernate-hold S`
//! (phase 2: seconds held once all hibernate, default 130, two refreshes and then some).

// The shared harness; what it needs from its parent (`PATIENCE`, `POLL`, `client`,
// `free_port`, `user`, `password` and the `/proc` helpers) is defined or re-exported here.
#[path = "service/persistence/processes.rs"]
#[allow(dead_code)]
mod processes;

#[path = "scale/common.rs"]
mod common;
#[path = "scale/hibernation.rs"]
mod hibernation;
#[path = "scale/live.rs"]
mod live;
#[path = "scale/load.rs"]
mod load;
#[path = "scale/procfs.rs"]
mod procfs;
#[path = "scale/refreshes.rs"]
mod refreshes;
#[path = "scale/report.rs"]
mod report;

use anyhow::{Result, bail};
use common::{client, free_port, note, password, user};
use procfs::{cmdline, our_tree, processes, signal};
use std::time::Duration;

/// A login or a restore on a busy 2-core machine (the harness's bound on every wait).
const PATIENCE: Duration = Duration::from_secs(90);
/// Between polls of a condition.
const POLL: Duration = Duration::from_millis(25);
/// `sessions.session_refresh_interval` in both phases, seconds.
const REFRESH_INTERVAL: u64 = 60;
/// Any non-empty key solves in the sandbox.
const CAPTCHA_KEY: &str = "scale-captcha-key";

pub struct Args {
    sessions: usize,
    minutes: f64,
    hibernate: usize,
    wave: usize,
    max_live: usize,
    hibernate_hold: u64,
    /// Phase 1's first sandbox account.
    first_account: usize,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut a = Args {
            sessions: 100,
            minutes: 10.0,
            hibernate: 1000,
            wave: 2,
            max_live: 30,
            hibernate_hold: 130,
            first_account: 1,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            // cargo bench passes `--bench` to every bench binary.
            if flag == "--bench" {
                continue;
            }
            let Some(value) = it.next() else {
                bail!("{flag} needs a value");
            };
            match flag.as_str() {
                "--sessions" => a.sessions = value.parse()?,
                "--minutes" => a.minutes = value.parse()?,
                "--hibernate" => a.hibernate = value.parse()?,
                "--wave" => a.wave = value.parse::<usize>()?.max(1),
                "--max-live" => a.max_live = value.parse::<usize>()?.max(1),
                "--hibernate-hold" => a.hibernate_hold = value.parse()?,
                _ => bail!(
                    "unknown option {flag}; options: --sessions N --minutes M --hibernate N2 --wave W --max-live L --hibernate-hold S"
                ),
            }
        }
        Ok(a)
    }

    fn command(&self) -> String {
        format!(
            "cargo bench --bench scale -- --sessions {} --minutes {} --hibernate {} --wave {} --max-live {} --hibernate-hold {}",
            self.sessions,
            self.minutes,
            self.hibernate,
            self.wave,
            self.max_live,
            self.hibernate_hold
        )
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse()?;
    let started = chrono::Utc::now();
    let tmp = tempfile::Builder::new().prefix("emodal-scale-").tempdir()?;
    let root = tmp.path().to_path_buf();
    let mut table = report::Table::default();
    let mut failures = Vec::new();

    let portal = processes::Portal::start(&root, args.sessions + args.hibernate)?;
    let http = client();
    processes::wait_for("the sandbox portal", || async {
        let r = http
            .get(format!("{}/__sandbox/stats", portal.url))
            .send()
            .await;
        r.is_ok_and(|r| r.status().is_success()).then_some(())
    })
    .await?;

    if args.sessions > 0 {
        note(format!(
            "phase 1: {} live sessions for {} min",
            args.sessions, args.minutes
        ));
        if let Err(e) = live::run(&root, &portal.url, &args, &mut table).await {
            note(format!("phase 1 failed: {e:#}"));
            failures.push(format!("phase 1 did not finish: {e:#}"));
        }
    }
    if args.hibernate > 0 {
        note(format!("phase 2: {} hibernating sessions", args.hibernate));
        if let Err(e) = hibernation::run(&root, &portal.url, &args, &mut table).await {
            note(format!("phase 2 failed: {e:#}"));
            failures.push(format!("phase 2 did not finish: {e:#}"));
        }
    }
    drop(portal);
    // Whatever an early exit left: no Chrome of ours outlives the run.
    for pid in our_tree(&[], &root) {
        signal(pid, libc::SIGKILL);
    }

    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("?").to_string())
        })
        .unwrap_or_default();
    println!("\n## Scale run, {}\n", started.format("%Y-%m-%d %H:%M UTC"));
    println!("command: `{}` (via `scripts/scale.sh`)\n", args.command());
    println!(
        "machine: {} cores, {} kB memory; sandbox portal with instant captcha, release build\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem_total
    );
    print!("{}", table.markdown());
    for f in &failures {
        println!("\n{f}");
    }
    Ok(())
}
