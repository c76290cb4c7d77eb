//! `cargo bench --bench cluster` (run by `scripts/bench-cluster.sh`): issue 15's benchmark
//! rows for cluster mode, against the sandbox portal with real Chromium and a real
//! `nats-server -js`. Not a test: nothing fails on a missed target.
//!
//! 1. Forwarding: one session, three nodes. The same warm requests sent to the node that
//!    owns the session and to one that forwards them over NATS, taking turns call by call
//!    so that load on the machine hits both alike: the session's detail (no browser work:
//!    the forwarding cost alone), a warm `get_container_timeline` (what a client does) and a
//!    warm `get_session` (the cheapest call a client makes).
//! 2. Node loss: [`LOSS_SESSIONS`] sessions logged in on one node while it is alone, then
//!    two more nodes; the first is SIGKILLed (its Chromes too, as when a machine dies) and
//!    every session is asked for a warm timeline through the survivors until each answers:
//!    the time from the kill to the last answer, and the captcha tasks it cost.
//!
//! Options (after `--`): `--calls N` (row 1's calls each way, default 200; timelines half
//! of it), `--sessions N` (row 2, default 10), `--node-timeout S` (default 5).

// The shared harness and what it needs from its parent (as in `benches/scale.rs`).
#[path = "scale/common.rs"]
mod common;
#[path = "scale/load.rs"]
#[allow(dead_code)]
mod load;
#[path = "service/persistence/processes.rs"]
#[allow(dead_code)]
mod processes;
#[path = "scale/procfs.rs"]
#[allow(dead_code)]
mod procfs;
#[path = "scale/report.rs"]
#[allow(dead_code)]
mod report;

#[path = "cluster/nodes.rs"]
mod nodes;

use anyhow::{Context, Result, bail};
use common::{client, free_port, note, password, user};
use nodes::{Nats, cluster_ready, detail, node, owner_of};
use processes::{Portal, delta, stats, wait_for};
use procfs::{cmdline, our_tree, processes, signal};
use report::{Goal, Samples, Table, dur};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const PATIENCE: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(25);
const CAPTCHA_KEY: &str = "cluster-bench-captcha-key";
/// Every node's `sessions.secret`: the nodes must share it.
const SECRET: &str = "cluster-bench-secret-0123456789abcdef0123456789abcdef";
const LOSS_SESSIONS: usize = 10;

struct Args {
    calls: usize,
    sessions: usize,
    node_timeout: u64,
}

impl Args {
    fn parse() -> Result<Args> {
        let mut a = Args {
            calls: 200,
            sessions: LOSS_SESSIONS,
            node_timeout: 5,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--bench" {
                continue;
            }
            let Some(value) = it.next() else {
                bail!("{flag} needs a value");
            };
            match flag.as_str() {
                "--calls" => a.calls = value.parse::<usize>()?.max(5),
                "--sessions" => a.sessions = value.parse::<usize>()?.max(1),
                "--node-timeout" => a.node_timeout = value.parse::<u64>()?.max(1),
                _ => {
                    bail!("unknown option {flag}; options: --calls N --sessions N --node-timeout S")
                }
            }
        }
        Ok(a)
    }
}

/// Row 1: the same warm requests local and forwarded, taking turns.
async fn forwarding(
    root: &Path,
    portal: &str,
    nats: &str,
    args: &Args,
    table: &mut Table,
) -> Result<()> {
    let http = client();
    let dir = root.join("forwarding");
    let names = ["fwd-a", "fwd-b", "fwd-c"];
    let mut apis = Vec::new();
    for name in names {
        apis.push(node(&dir, name, portal, nats, args.node_timeout)?);
    }
    for api in &mut apis {
        api.healthy().await?;
    }
    cluster_ready(&http, &apis.iter().collect::<Vec<_>>()).await?;
    // Account 1 is row 1's; the heartbeats of all three must have been seen for placement.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (id, _) = load::login(&http, &apis[0].url, 1).await?;
    let owner = owner_of(&http, &apis[0].url, &id).await?;
    let local = names
        .iter()
        .position(|n| *n == owner)
        .with_context(|| format!("the owner {owner:?} is none of the nodes"))?;
    let remote = (local + 1) % apis.len();
    let container = load::container_of(&http, portal, 1).await?;
    note(format!(
        "forwarding: session on {owner}; local {} vs forwarded via {}",
        names[local], names[remote]
    ));
    // Warm both paths (connections, the owner's view of the record) before counting.
    for _ in 0..5 {
        detail(&http, &apis[local].url, &id).await?;
        detail(&http, &apis[remote].url, &id).await?;
    }
    load::timeline(&http, &apis[local].url, &id, &container).await?;
    let (near_url, far_url) = (apis[local].url.as_str(), apis[remote].url.as_str());
    let (near, far) = pairs(args.calls, near_url, far_url, async |url: &str| {
        detail(&http, url, &id).await
    })
    .await?;
    let (tnear, tfar) = pairs(
        (args.calls / 2).max(5),
        near_url,
        far_url,
        async |url: &str| load::timeline(&http, url, &id, &container).await,
    )
    .await?;
    compare(
        table,
        "session detail (`GET /sessions/{id}`, no browser work): on the owner vs forwarded over NATS by another node",
        near,
        far,
    );
    compare(
        table,
        "warm `get_container_timeline`: on the owner vs forwarded",
        tnear,
        tfar,
    );
    let (gnear, gfar) = pairs(args.calls, near_url, far_url, async |url: &str| {
        Ok(load::login(&http, url, 1).await?.1)
    })
    .await?;
    compare(
        table,
        "warm `get_session` (same credentials): on the owner vs forwarded",
        gnear,
        gfar,
    );
    for api in &mut apis {
        let _ = api.stop().await;
    }
    Ok(())
}

/// `n` pairs of the same call, made on the owner (`near`) and through another node (`far`)
/// back to back, alternating which goes first so that neither always follows the other:
/// the seconds of each, in pair order.
async fn pairs(
    n: usize,
    near: &str,
    far: &str,
    mut call: impl AsyncFnMut(&str) -> Result<f64>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (mut a, mut b) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        if i % 2 == 0 {
            a.push(call(near).await?);
            b.push(call(far).await?);
        } else {
            b.push(call(far).await?);
            a.push(call(near).await?);
        }
    }
    Ok((a, b))
}

/// A forwarding row: `near[i]` and `far[i]` were one pair of calls made back to back, so
/// the verdict is on the median of the pairs' differences (load on the machine hits both
/// calls of a pair alike); the difference of the two medians is shown beside it.
fn compare(table: &mut Table, what: &str, near: Vec<f64>, far: Vec<f64>) {
    let paired = Samples::from(far.iter().zip(&near).map(|(f, n)| f - n).collect());
    let (near, far) = (Samples::from(near), Samples::from(far));
    let added = paired.median();
    table.add(
        "forwarding",
        what,
        format!(
            "owner {}; forwarded {}; added: median of pairs {} (difference of medians {})",
            near.summary(),
            far.summary(),
            signed(added),
            signed(far.median() - near.median())
        ),
        "<= 2 ms median added",
        added,
        Goal::AtMost {
            limit: 0.002,
            strict: false,
        },
        signed,
    );
}

/// A duration that may be negative (a forwarded call faster than its local pair).
fn signed(s: f64) -> String {
    if s < 0.0 {
        format!("-{}", dur(-s))
    } else {
        dur(s)
    }
}

/// Row 2: a node with N sessions SIGKILLed; how long until every session answers again.
async fn node_loss(
    root: &Path,
    portal: &str,
    nats: &str,
    args: &Args,
    table: &mut Table,
) -> Result<()> {
    let http = client();
    let dir = root.join("loss");
    let first_account = 2;
    let accounts: Vec<usize> = (first_account..first_account + args.sessions).collect();
    let mut doomed = node(&dir, "loss-a", portal, nats, args.node_timeout)?;
    doomed.healthy().await?;
    cluster_ready(&http, &[&doomed]).await?;
    note(format!(
        "node loss: {} sessions on loss-a (alone)",
        accounts.len()
    ));
    let mut sessions = Vec::new();
    for &n in &accounts {
        let (id, _) = load::login(&http, &doomed.url, n).await?;
        let container = load::container_of(&http, portal, n).await?;
        sessions.push((id, container));
    }
    // Each session answered once (and wrote a snapshot after it), so its cookies are copied.
    for (id, container) in &sessions {
        load::timeline(&http, &doomed.url, id, container).await?;
    }
    let mut survivors = vec![
        node(&dir, "loss-b", portal, nats, args.node_timeout)?,
        node(&dir, "loss-c", portal, nats, args.node_timeout)?,
    ];
    for api in &mut survivors {
        api.healthy().await?;
    }
    cluster_ready(&http, &survivors.iter().collect::<Vec<_>>()).await?;
    // The snapshot copies are put after a second of quiet (the debounce) and heartbeats seen.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = stats(&http, portal).await?;
    let pid = procfs::find(&["loss-a.toml"]).context("the loss-a process")?;
    note(format!(
        "node loss: SIGKILL loss-a (pid {pid}) and its Chromes"
    ));
    let killed = Instant::now();
    signal(pid, libc::SIGKILL);
    for chrome in our_tree(&[], &doomed.data_dir) {
        signal(chrome, libc::SIGKILL);
    }
    let mut back = Vec::new();
    let mut waiting: Vec<(usize, &(String, String))> = sessions.iter().enumerate().collect();
    let deadline = Instant::now() + PATIENCE * 2;
    while !waiting.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for (i, (id, container)) in waiting {
            let via = &survivors[i % survivors.len()].url;
            match load::timeline(&http, via, id, container).await {
                Ok(_) => back.push(killed.elapsed().as_secs_f64()),
                Err(_) => still.push((i, &sessions[i])),
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let after = stats(&http, portal).await?;
    let captcha = delta(&before, &after, "captcha_tasks");
    let last = back.iter().cloned().fold(f64::NAN, f64::max);
    let lost = sessions.len() - back.len();
    table.add(
        "node loss",
        &format!(
            "{} sessions on a SIGKILLed node answering a warm timeline through the survivors (`cluster.node_timeout` = {} s, heartbeat 1 s)",
            sessions.len(),
            args.node_timeout
        ),
        format!(
            "last back {} after the kill (first {}, median {}); {} not back; {} captcha tasks",
            dur(last),
            dur(back.iter().cloned().fold(f64::NAN, f64::min)),
            dur(Samples::from(back.clone()).median()),
            lost,
            captcha
        ),
        "<= 15 s for 10 sessions",
        if lost > 0 { f64::INFINITY } else { last },
        Goal::AtMost {
            limit: 15.0,
            strict: false,
        },
        dur,
    );
    for api in &mut survivors {
        let _ = api.stop().await;
    }
    drop(doomed);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse()?;
    let started = chrono::Utc::now();
    let tmp = tempfile::Builder::new()
        .prefix("emodal-cluster-")
        .tempdir()?;
    let root: PathBuf = tmp.path().to_path_buf();
    let mut table = Table::default();
    let mut failures = Vec::new();
    let nats = Nats::start(&root.join("nats"))?;
    let portal = Portal::start(&root, 1 + args.sessions)?;
    let http = client();
    wait_for("the sandbox portal", || async {
        let r = http
            .get(format!("{}/__sandbox/stats", portal.url))
            .send()
            .await;
        r.is_ok_and(|r| r.status().is_success()).then_some(())
    })
    .await?;
    if let Err(e) = forwarding(&root, &portal.url, &nats.url, &args, &mut table).await {
        note(format!("forwarding failed: {e:#}"));
        failures.push(format!("forwarding did not finish: {e:#}"));
    }
    if let Err(e) = node_loss(&root, &portal.url, &nats.url, &args, &mut table).await {
        note(format!("node loss failed: {e:#}"));
        failures.push(format!("node loss did not finish: {e:#}"));
    }
    drop(portal);
    drop(nats);
    for pid in our_tree(&[], &root) {
        signal(pid, libc::SIGKILL);
    }
    println!(
        "\n## Cluster bench, {}\n",
        started.format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "command: `cargo bench --bench cluster -- --calls {} --sessions {} --node-timeout {}` (via `scripts/bench-cluster.sh`); {} cores, release build, one nats-server, three nodes and the sandbox portal on 127.0.0.1\n",
        args.calls,
        args.sessions,
        args.node_timeout,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    print!("{}", table.markdown());
    for f in &failures {
        println!("\n{f}");
    }
    Ok(())
}
