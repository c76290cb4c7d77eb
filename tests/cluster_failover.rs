//! Cluster mode's failover (issue 15, items 5 and 6): a dead node's sessions come back on a
//! survivor under the same id without a captcha; a draining node hands its sessions over;
//! a paused node that lost its sessions closes its Chromes (fencing); NATS lost and back.
//!
//! Real processes throughout: nats-server, three service nodes, the sandbox portal, real
//! Chromium. The tests read the cluster's `sessions` and `snapshots` buckets over NATS
//! themselves to know which node serves a session.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/failover.rs"]
mod failover;
#[path = "support/service.rs"]
mod service;
mod support;

use cluster::NODE_TIMEOUT;
use failover::{
    Buckets, Continue, captcha_tasks, chromes, sandbox_config, serves_again, three_nodes,
};
use serde_json::json;
use service::{ACCOUNTS, PATIENCE};
use std::time::{Duration, Instant};
use support::eventually;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_session_answers_on_a_survivor_without_a_captcha() {
    let mut world = three_nodes().await;
    let buckets = Buckets::open(&world).await;
    let id = world.node("node-a").session_id(&ACCOUNTS[0], false).await;
    let (status, body) = world.node("node-a").containers(&id).await;
    assert_eq!(status, 200, "{body}");
    let owner = buckets.owner(&id).await.expect("a sessions record");
    buckets.wait_snapshot(&id).await;
    let captchas = captcha_tasks(&world).await;

    let mut dead = world.take_node(&owner);
    dead.sigkill().await;
    let killed = Instant::now();
    let survivor = world.nodes.iter().find(|n| n.id != owner).unwrap();
    serves_again(survivor, &id).await;
    let took = killed.elapsed();
    eprintln!(
        "SIGKILL of {owner} -> {id} served via {} after {took:?}",
        survivor.id
    );

    let new_owner = buckets.owner(&id).await.expect("still recorded");
    assert_ne!(new_owner, owner, "a survivor claimed it");
    assert_eq!(
        captcha_tasks(&world).await,
        captchas,
        "restored from its snapshot, no login"
    );
    // Every survivor reaches it, under the same id.
    for node in &world.nodes {
        let (status, body) = node.containers(&id).await;
        assert_eq!(status, 200, "via {}: {body}", node.id);
    }
    let adopted = world.node(&new_owner).log_events("session_claimed");
    assert!(
        adopted.iter().any(|e| e["session_id"] == id.as_str()),
        "{adopted:?}"
    );
    // The node timeout, then a restore (a Chrome started with the cookies), on a 2-core
    // machine running other tests.
    assert!(
        took < Duration::from_secs(NODE_TIMEOUT + 30),
        "took {took:?}"
    );
    drop(dead);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_hands_its_sessions_over_and_finishes_what_it_serves() {
    let mut world = three_nodes().await;
    let buckets = Buckets::open(&world).await;
    // Three sessions, wherever placement puts them; the owner of the first drains.
    let mut ids = Vec::new();
    for account in &ACCOUNTS {
        ids.push(world.node("node-a").session_id(account, false).await);
    }
    for id in &ids {
        buckets.wait_snapshot(id).await;
    }
    let owner = buckets.owner(&ids[0]).await.unwrap();
    let mut moving = Vec::new();
    for id in &ids {
        if buckets.owner(id).await.as_deref() == Some(owner.as_str()) {
            moving.push(id.clone());
        }
    }
    let captchas = captcha_tasks(&world).await;

    // A slow request on the draining node's session, in flight when SIGTERM arrives.
    sandbox_config(&world, json!({"render_delay_ms": 1500})).await;
    let mut draining = world.take_node(&owner);
    // One sent to it directly, one through another node (forwarded to it over NATS).
    let via = world.nodes.iter().find(|n| n.id != owner).unwrap();
    let in_flight: Vec<_> = [draining.api().to_string(), via.api().to_string()]
        .into_iter()
        .map(|api| {
            let id = ids[0].clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{api}/get_containers"))
                    .bearer_auth(service::TOKEN)
                    .json(&json!({"session_id": id, "format": "json", "target_count": 5}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    // Clients keep asking about the moving sessions through another node all along: the
    // hand-over may make them wait or retry (503), never lose the session (404).
    let watching = tokio::sync::watch::channel(false);
    let watchers: Vec<_> = moving
        .iter()
        .map(|id| {
            let (api, id, mut done) = (via.api().to_string(), id.clone(), watching.1.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut seen = std::collections::BTreeMap::<u16, usize>::new();
                while !*done.borrow_and_update() {
                    let r = http
                        .get(format!("{api}/sessions/{id}"))
                        .bearer_auth(service::TOKEN)
                        .send()
                        .await
                        .unwrap();
                    *seen.entry(r.status().as_u16()).or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopped = Instant::now();
    let exit = draining.sigterm_and_wait().await;
    assert_eq!(exit, Some(0), "a clean exit");
    for request in in_flight {
        assert_eq!(
            request.await.unwrap().expect("an answer"),
            200,
            "a request in flight during the drain finished"
        );
    }
    sandbox_config(&world, json!({"render_delay_ms": 0})).await;
    let handed = draining.log_events("sessions_handed_over");
    assert_eq!(handed.len(), 1, "{}", draining.logs());
    assert_eq!(handed[0]["moved"], moving.len(), "{handed:?}");

    // Every session it held is served by another node at once: no node timeout to wait.
    for id in &moving {
        let to = buckets.owner(id).await.unwrap();
        assert_ne!(to, owner);
        serves_again(world.node(&to), id).await;
    }
    for id in &ids {
        for node in &world.nodes {
            let (status, body) = node.containers(id).await;
            assert_eq!(status, 200, "{id} via {}: {body}", node.id);
        }
    }
    watching.0.send_replace(true);
    for watcher in watchers {
        let seen = watcher.await.unwrap();
        eprintln!("GET /sessions/{{id}} through a survivor during the drain: {seen:?}");
        assert!(seen.keys().all(|s| matches!(s, 200 | 503)), "{seen:?}");
    }
    eprintln!(
        "drain of {owner}: {} session(s) moved, served again {:?} after SIGTERM",
        moving.len(),
        stopped.elapsed()
    );
    assert_eq!(
        captcha_tasks(&world).await,
        captchas,
        "handed over, no login"
    );
    assert_eq!(chromes(draining.data_dir()), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_owner_that_lost_its_session_closes_its_chrome() {
    let world = three_nodes().await;
    let buckets = Buckets::open(&world).await;
    let id = world.node("node-a").session_id(&ACCOUNTS[1], false).await;
    let owner = buckets.owner(&id).await.unwrap();
    buckets.wait_snapshot(&id).await;
    let paused_dir = world.node(&owner).data_dir().to_path_buf();
    assert_eq!(chromes(&paused_dir), 1);

    // SIGSTOP: its Chrome keeps running, the node beats no more.
    let pid = world.node(&owner).pid();
    // SAFETY: kill(2) on the test's own child process.
    unsafe { libc::kill(pid as i32, libc::SIGSTOP) };
    let resume = Continue(pid);
    let survivor = world.nodes.iter().find(|n| n.id != owner).unwrap();
    serves_again(survivor, &id).await;
    let new_owner = buckets.owner(&id).await.unwrap();
    assert_ne!(new_owner, owner);
    drop(resume);

    // Back: it finds the record changed and closes its Chrome; one Chrome serves the
    // session, on the new owner.
    let dirs: Vec<(String, std::path::PathBuf)> = world
        .nodes
        .iter()
        .map(|n| (n.id.clone(), n.data_dir().to_path_buf()))
        .collect();
    eventually("the paused node's Chrome closed", PATIENCE, || async {
        (chromes(&paused_dir) == 0).then_some(())
    })
    .await;
    world.node(&owner).wait_ready(PATIENCE).await;
    // Past any late reaction: still exactly one, and requests via every node are served.
    tokio::time::sleep(Duration::from_secs(NODE_TIMEOUT + 1)).await;
    for node in &world.nodes {
        let (status, body) = node.containers(&id).await;
        assert_eq!(status, 200, "via {}: {body}", node.id);
    }
    let per_node: Vec<(String, usize)> =
        dirs.iter().map(|(n, d)| (n.clone(), chromes(d))).collect();
    assert_eq!(
        per_node.iter().map(|(_, c)| c).sum::<usize>(),
        1,
        "{per_node:?}"
    );
    assert_eq!(
        chromes(world.node(&new_owner).data_dir()),
        1,
        "{per_node:?}"
    );
    assert_eq!(buckets.owner(&id).await.unwrap(), new_owner);
    let fenced = world.node(&owner).log_events("session_fenced");
    assert!(
        fenced.iter().any(|e| e["session_id"] == id.as_str()),
        "{}",
        world.node(&owner).logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nats_owned_sessions_keep_serving_and_new_ones_wait_for_it() {
    let mut world = three_nodes().await;
    let buckets = Buckets::open(&world).await;
    let id = world.node("node-a").session_id(&ACCOUNTS[2], false).await;
    let owner = buckets.owner(&id).await.unwrap();
    buckets.wait_snapshot(&id).await;
    drop(buckets);

    world.nats.kill();
    let lost = Instant::now();
    // Longer than node_timeout: nobody may take anything over meanwhile, or after.
    let node = world.node(&owner);
    while lost.elapsed() < Duration::from_secs(NODE_TIMEOUT * 2 + 1) {
        let (status, body) = node.containers(&id).await;
        assert_eq!(status, 200, "an owned session without NATS: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = node.get_session(&ACCOUNTS[0], false).await;
    assert_eq!(status, 503, "a new session without NATS: {body}");
    assert_eq!(body["success"], false, "{body}");

    world.nats.restart().await;
    let node = world.node(&owner);
    let new = eventually("a new session once NATS is back", PATIENCE, || async {
        let (status, body) = node.get_session(&ACCOUNTS[0], false).await;
        assert!(matches!(status, 200 | 503), "{status} {body}");
        (status == 200).then(|| body["session_id"].as_str().unwrap().to_string())
    })
    .await;
    assert_ne!(new, id);
    // Past the takeover grace: the old session stayed where it was, served from anywhere.
    tokio::time::sleep(Duration::from_secs(NODE_TIMEOUT + 6)).await;
    let buckets = Buckets::open(&world).await;
    assert_eq!(buckets.owner(&id).await.as_deref(), Some(owner.as_str()));
    for node in &world.nodes {
        let (status, body) = node.containers(&id).await;
        assert_eq!(status, 200, "via {}: {body}", node.id);
    }
    let dirs: usize = world.nodes.iter().map(|n| chromes(n.data_dir())).sum();
    assert_eq!(dirs, 2, "one Chrome per session, nothing taken over twice");
}
