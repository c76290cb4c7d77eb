//! Cluster mode's platform (issue 15): nodes started against one nats-server see each
//! other through their heartbeats (`/ready`'s `cluster.live_nodes`), a node killed drops
//! out of the others' view after `cluster.node_timeout`, a node started while NATS is down
//! serves and says `/ready` 503 naming NATS until it can reach it, and cluster mode is
//! refused without `sessions.secret`. Real processes throughout: nats-server, the service
//! binary, the sandbox portal. No session is opened here (no Chrome).

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/service.rs"]
mod service;
mod support;

use async_nats::jetstream;
use cluster::{ClusterWorld, HEARTBEAT_MS, NODE_TIMEOUT, NatsServer, SECRET};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the failover tests rely on: a SIGKILLed nats-server restarted by the harness
/// answers on the same URL with the buckets and values written before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_server_restarts_on_the_same_port_with_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut nats = NatsServer::start(dir.path()).await;
    let url = nats.url();
    let stream = async_nats::jetstream::stream::Config {
        name: "harness".into(),
        subjects: vec!["harness.>".into()],
        ..Default::default()
    };
    {
        let js = jetstream::new(async_nats::connect(&url).await.unwrap());
        js.create_stream(stream).await.unwrap();
        js.publish("harness.k", "v1".into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    nats.kill();
    assert!(!nats.is_running());
    assert!(std::net::TcpStream::connect(("127.0.0.1", nats.port())).is_err());
    nats.restart().await;
    assert_eq!(nats.url(), url);
    let js = jetstream::new(async_nats::connect(&url).await.unwrap());
    let stream = js.get_stream("harness").await.unwrap();
    let message = stream
        .get_last_raw_message_by_subject("harness.k")
        .await
        .expect("the message survives the restart");
    assert_eq!(&message.payload[..], b"v1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_see_each_other_and_a_killed_one_drops_out() {
    let mut world = ClusterWorld::start(3, &[]).await;
    world.wait_formed().await;
    for node in &world.nodes {
        let (status, body) = node.readiness().await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["cluster"]["node_id"], node.id.as_str(), "{body}");
        assert_eq!(body["cluster"]["connected"], true, "{body}");
    }

    // What a heartbeat carries, read from the bucket as another node reads it.
    let js = jetstream::new(async_nats::connect(world.nats.url()).await.unwrap());
    let nodes = js.get_key_value("emodal_nodes").await.unwrap();
    let entry = nodes
        .entry("node-b")
        .await
        .unwrap()
        .expect("node-b's heartbeat");
    let record: Value = serde_json::from_slice(&entry.value).unwrap();
    assert_eq!(record["node_id"], "node-b");
    assert_eq!(record["sessions"], 0);
    assert!(record["capacity"].as_u64().unwrap() > 0, "{record}");
    assert!(record["mem_available_kb"].as_u64().unwrap() > 0, "{record}");
    assert_eq!(record["draining"], false);
    // Beats keep coming: a later read shows a newer revision.
    tokio::time::sleep(Duration::from_millis(3 * HEARTBEAT_MS)).await;
    let later = nodes.entry("node-b").await.unwrap().unwrap();
    assert!(later.revision > entry.revision, "node-b stopped beating");

    world.node_mut("node-c").sigkill().await;
    let killed = Instant::now();
    for id in ["node-a", "node-b"] {
        world
            .node(id)
            .wait_live(&["node-a", "node-b"], Duration::from_secs(NODE_TIMEOUT + 5))
            .await;
    }
    let gone_after = killed.elapsed();
    // Not sooner than the timeout allows (less the beat that may have been due), not much
    // later either.
    assert!(
        gone_after >= Duration::from_millis(NODE_TIMEOUT * 1000 - 2 * HEARTBEAT_MS),
        "node-c dropped out after {gone_after:?}, before cluster.node_timeout"
    );
    // Survivors stay ready: a dead peer is not this node's problem.
    for id in ["node-a", "node-b"] {
        let (status, body) = world.node(id).readiness().await;
        assert_eq!(status, 200, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_while_nats_is_down_serves_and_is_ready_once_nats_is_up() {
    let mut world = ClusterWorld::without_nodes(false).await;
    // `start_node` returns once /health answers: the start does not wait for NATS.
    world.start_node("node-a", &[]).await;
    let node = world.node("node-a");
    let (status, body) = node.readiness().await;
    assert_eq!(status, 503, "{body}");
    let reasons = body["reasons"].to_string();
    assert!(reasons.contains("nats"), "{body}");
    assert_eq!(body["cluster"]["connected"], false, "{body}");
    // Still serving what needs no cluster.
    let (status, _) = node.get("/health").await;
    assert_eq!(status, 200);

    world.nats.restart().await;
    let up = Instant::now();
    world
        .node("node-a")
        .wait_ready(Duration::from_secs(15))
        .await;
    assert!(
        up.elapsed() < Duration::from_secs(10),
        "ready {:?} after NATS came up",
        up.elapsed()
    );
    let node = world.node("node-a");
    assert!(
        !node.log_events("nats_unreachable").is_empty()
            || !node.log_events("nats_connected").is_empty(),
        "the connection's progress is logged"
    );

    // A second node joins; then NATS is lost: 503 naming NATS while it is away, 200 once
    // it is back, and the views follow the bucket again (each heartbeat seen after the
    // reconnect, not only the records from before it, which age out in NODE_TIMEOUT).
    world.start_node("node-b", &[]).await;
    world.wait_formed().await;
    world.nats.kill();
    for node in &world.nodes {
        let body = eventually_status(node, 503, Duration::from_secs(10)).await;
        assert!(body["reasons"].to_string().contains("nats"), "{body}");
    }
    world.nats.restart().await;
    world.wait_formed().await;
    tokio::time::sleep(Duration::from_secs(NODE_TIMEOUT + 1)).await;
    for node in &world.nodes {
        assert_eq!(node.live_nodes().await, ["node-a", "node-b"], "{}", node.id);
    }
}

/// A NATS server that comes back empty (no buckets): the nodes make the buckets again after
/// reconnecting, their heartbeats land, and they see each other again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_recreate_the_buckets_when_nats_comes_back_empty() {
    let mut world = ClusterWorld::start(2, &[]).await;
    world.wait_formed().await;
    world.nats.kill();
    world.nats.wipe_store();
    world.nats.restart().await;
    world.wait_formed().await;
    tokio::time::sleep(Duration::from_secs(NODE_TIMEOUT + 1)).await;
    for node in &world.nodes {
        assert_eq!(node.live_nodes().await, ["node-a", "node-b"], "{}", node.id);
    }
    let js = jetstream::new(async_nats::connect(world.nats.url()).await.unwrap());
    let nodes = js.get_key_value("emodal_nodes").await.unwrap();
    assert!(nodes.entry("node-a").await.unwrap().is_some());
}

async fn eventually_status(node: &cluster::Node, want: u16, limit: Duration) -> Value {
    support::eventually(&format!("{} /ready {want}", node.id), limit, || async {
        let (status, body) = node.readiness().await;
        (status == want).then_some(body)
    })
    .await
}

#[tokio::test]
async fn cluster_mode_without_a_secret_is_refused_naming_sessions_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("settings.toml");
    let body = format!(
        "[server]\nport = 0\n[chrome]\ndata_dir = \"{}\"\n[cluster]\nenabled = true\nnats_urls = [\"nats://127.0.0.1:4222\"]\n",
        dir.path().join("data").display()
    );
    std::fs::write(&config, body).unwrap();
    let stderr_path = dir.path().join("stderr.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_emodal-api"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.to_uppercase().starts_with("EMODAL__") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cluster mode without sessions.secret was not refused");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(!status.success(), "exited 0; stderr:\n{stderr}");
    assert!(stderr.contains("sessions.secret"), "{stderr}");
    assert!(!stderr.contains(SECRET));
}
