//! Cluster mode, sessions across nodes (issue 15 items 2-4): one session per credential set
//! in the whole cluster, any node serving any session (forwarded over NATS to its owner),
//! the cluster-wide listing, DELETE from anywhere, files from any node. Real processes: a
//! `nats-server -js`, three service nodes, one `sandbox-portal`, real Chromium.

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/service.rs"]
mod service;
mod support;

use cluster::{ClusterWorld, NatsServer, SECRET};
use emodal_api::cluster::owners::{self, Owners};
use emodal_api::cluster::{Cluster, Link};
use serde_json::{Value, json};
use service::{ACCOUNTS, PATIENCE, TOKEN};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::eventually;

/// A bare `Cluster` handle (no service) on `nats`, as node `id`.
async fn handle(nats: &NatsServer, id: &str, dir: &std::path::Path) -> Cluster {
    let config = dir.join(format!("{id}.toml"));
    let text = format!(
        "[cluster]\nenabled = true\nnats_urls = [\"{}\"]\nnode_id = \"{id}\"\n\n\
         [sessions]\nsecret = \"{SECRET}\"\n\n[chrome]\ndata_dir = \"{}\"\n",
        nats.url(),
        dir.join(id).display()
    );
    std::fs::write(&config, text).unwrap();
    let settings = emodal_api::config::Settings::load(Some(&config)).unwrap();
    let cluster = Cluster::start(Arc::new(settings), "http://127.0.0.1:9").unwrap();
    tokio::time::timeout(PATIENCE, cluster.linked())
        .await
        .expect("linked to NATS");
    cluster
}

/// Whether session `id`'s record and credential key `key`'s owner record exist.
async fn records(link: &Link, id: &str, key: &str) -> (bool, bool) {
    (
        link.sessions.get(id).await.unwrap().is_some(),
        link.owners.get(key).await.unwrap().is_some(),
    )
}

/// The claim on its own, against a real nats-server: 16 concurrent claims for one
/// credential key from three nodes agree on one session id and one node, exactly one
/// creates it; `forget` by another node leaves both records alone; after a proper
/// `forget` the next claim makes a new session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_agree_on_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let nats = NatsServer::start(&dir.path().join("nats")).await;
    let mut all = Vec::new();
    for id in ["node-a", "node-b", "node-c"] {
        all.push(Owners::start(handle(&nats, id, dir.path()).await));
    }
    let key = "0f".repeat(32);
    let claims = futures::future::join_all((0..16).map(|i| {
        let owners = all[i % 3].clone();
        let key = key.clone();
        async move {
            let me = owners.cluster().node_id().to_string();
            owners.claim("scope", &key, || me.clone()).await.unwrap()
        }
    }))
    .await;
    let first = &claims[0];
    assert!(
        claims
            .iter()
            .all(|c| c.session_id == first.session_id && c.node == first.node),
        "{claims:?}"
    );
    assert_eq!(claims.iter().filter(|c| c.created).count(), 1, "{claims:?}");
    // Every node's view finds it (the watch, or the fallback read).
    for owners in &all {
        let record = owners.owner_of(&first.session_id).await.expect("known");
        assert_eq!(record.node, first.node);
        assert_eq!(record.credential_key, key);
    }
    let link = all[0].cluster().link().unwrap();
    let other = if first.node == "node-a" {
        "node-b"
    } else {
        "node-a"
    };
    owners::forget(&link, other, &first.session_id, &key)
        .await
        .unwrap();
    assert_eq!(
        records(&link, &first.session_id, &key).await,
        (true, true),
        "not the owner: nothing removed"
    );
    owners::forget(&link, &first.node, &first.session_id, &key)
        .await
        .unwrap();
    assert_eq!(
        records(&link, &first.session_id, &key).await,
        (false, false),
        "the owner: both records removed"
    );
    let again = all[1]
        .claim("scope", &key, || "node-b".into())
        .await
        .unwrap();
    assert!(
        again.created && again.session_id != first.session_id,
        "{again:?}"
    );
    eventually("the watch sees the deletion", PATIENCE, || async {
        all[2].cached(&first.session_id).is_none().then_some(())
    })
    .await;
}

/// A request with the bearer token and headers of our own; status, headers and JSON body.
async fn raw(
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let mut req = http.request(method, url).bearer_auth(TOKEN);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The forwarding cost, measured from the client (printed: a benchmark figure, not a test).
fn report(what: &str, local: Vec<Duration>, forwarded: Vec<Duration>) {
    let n = local.len();
    let (l, f) = (median(local), median(forwarded));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    eprintln!(
        "{what} x{n} each: local median {:.3} ms, forwarded median {:.3} ms, added {:.3} ms",
        ms(l),
        ms(f),
        ms(f) - ms(l)
    );
}

/// Items 2-4 end to end over three nodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_session_serves_from_every_node() {
    let world = ClusterWorld::start(3, &[("sessions", "session_refresh_interval = 1")]).await;
    world.wait_formed().await;
    let nodes: Vec<&cluster::Node> = world.ids().iter().map(|id| world.node(id)).collect();
    let account = &ACCOUNTS[0];
    let before = world.sandbox.stats().await;

    // 16 concurrent get_session calls for the same credentials, spread over the nodes.
    let answers =
        futures::future::join_all((0..16).map(|i| nodes[i % 3].get_session(account, true))).await;
    let id = answers[0].1["session_id"].as_str().unwrap().to_string();
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["session_id"], id, "{body}");
    }
    let after = world.sandbox.stats().await;
    let delta = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    assert_eq!(delta("logins_ok"), 1, "exactly one portal login: {after}");
    assert_eq!(
        delta("captcha_tasks"),
        1,
        "exactly one captcha task: {after}"
    );

    // The listing on every node shows it once, with the node that serves it.
    let mut owner = None;
    for node in &nodes {
        let rows = node.sessions().await;
        let mine: Vec<_> = rows.iter().filter(|r| r["session_id"] == id).collect();
        assert_eq!(mine.len(), 1, "{}: {rows:?}", node.id);
        let on = mine[0]["node"].as_str().expect("node named").to_string();
        assert_eq!(*owner.get_or_insert(on.clone()), on);
    }
    let owner = owner.unwrap();
    let owner_node = world.node(&owner);
    let others: Vec<&&cluster::Node> = nodes.iter().filter(|n| n.id != owner).collect();
    owner_node.ready(&id).await;

    // The same business answer from every node; the request id travels to the owner.
    let (status, direct) = owner_node.containers(&id).await;
    assert_eq!(status, 200, "{direct}");
    for node in &others {
        let (status, body) = node.containers(&id).await;
        assert_eq!(status, 200, "{}: {body}", node.id);
        assert_eq!(body["containers"], direct["containers"], "{}", node.id);
        assert_eq!(body["session_id"], id);
    }
    let sent_id = "cluster-trace-ocelot-5150";
    let (status, headers, body) = raw(
        reqwest::Method::POST,
        format!("{}/get_containers", others[0].api()),
        Some(json!({"session_id": id, "format": "json", "target_count": 5})),
        &[("x-request-id", sent_id), ("x-emodal-forwarded", "forged")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["x-request-id"], sent_id);
    assert!(
        headers.contains_key("server-timing"),
        "the owner's stages come back"
    );
    eventually(
        "the owner logs the caller's request id",
        PATIENCE,
        || async { owner_node.logs().contains(sent_id).then_some(()) },
    )
    .await;

    // A business call with credentials and no session id, via a node that does not serve
    // the session: the credentials' session is found where it lives, no new login.
    let logins = world.sandbox.stats().await["logins_ok"].clone();
    let (status, body) = others[0]
        .post(
            "/get_containers",
            json!({"username": account.username, "password": account.password,
                   "captcha_api_key": "key", "format": "json", "target_count": 5}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], id, "{body}");
    assert_eq!(body["containers"], direct["containers"]);
    assert_eq!(world.sandbox.stats().await["logins_ok"], logins);

    // A file written on the owner downloads from another node.
    let (status, body) = others[1]
        .post(
            "/get_containers",
            json!({"session_id": id, "format": "xlsx", "return_url": true, "target_count": 5}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let url = body["file_url"].as_str().unwrap();
    let name = url.rsplit('/').next().unwrap();
    assert!(!others[0].data_dir().join("files").join(name).exists());
    let file = reqwest::get(format!("{}/files/{name}", others[0].api()))
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    let bytes = file.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx (zip) file");
    let again = std::fs::read(owner_node.data_dir().join("files").join(name)).unwrap();
    assert_eq!(&bytes[..], &again[..]);

    // Forwarded vs local, warm: the session's detail (no browser work), taking turns.
    let (mut local, mut forwarded) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        for (node, out) in [(owner_node, &mut local), (*others[0], &mut forwarded)] {
            let began = Instant::now();
            let (status, _) = node.get(&format!("/sessions/{id}")).await;
            out.push(began.elapsed());
            assert_eq!(status, 200);
        }
    }
    report("GET /sessions/{id}", local, forwarded);
    let (mut local, mut forwarded) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        for (node, out) in [(owner_node, &mut local), (*others[0], &mut forwarded)] {
            let began = Instant::now();
            let (status, _) = node.get_session(account, true).await;
            out.push(began.elapsed());
            assert_eq!(status, 200);
        }
    }
    report("warm POST /get_session", local, forwarded);

    // The owner's 503 + Retry-After comes back unchanged through another node.
    reqwest::Client::new()
        .post(format!("{}/__sandbox/outage", world.sandbox.url()))
        .json(&json!({"seconds": 8}))
        .send()
        .await
        .unwrap();
    eventually("the session waiting for the portal", PATIENCE, || async {
        others[0]
            .sessions()
            .await
            .into_iter()
            .find(|r| r["session_id"] == id && r["state"] == "waiting")
    })
    .await;
    let (status, headers, body) = raw(
        reqwest::Method::POST,
        format!("{}/get_containers", others[1].api()),
        Some(json!({"session_id": id, "format": "json", "target_count": 5})),
        &[],
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error_code"], "portal_unavailable", "{body}");
    assert_eq!(headers["retry-after"], "30");
    owner_node.ready(&id).await;

    // DELETE through a node that does not serve it ends it everywhere.
    let (status, body) = others[1].delete(&format!("/sessions/{id}")).await;
    assert_eq!(status, 200, "{body}");
    for node in &nodes {
        assert!(
            node.sessions().await.iter().all(|r| r["session_id"] != id),
            "{} still lists it",
            node.id
        );
        let (status, _) = node.get(&format!("/sessions/{id}")).await;
        assert_eq!(status, 404, "{}", node.id);
    }
    // A new get_session for the same credentials logs in again (the records went with it).
    let (status, body) = nodes[2].get_session(account, true).await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(body["session_id"], id);
}

/// Item 6, the routing side: with NATS gone a node still finds the session it serves for
/// the same credentials (the watched copy), while a node that would have to forward, or a
/// new session that cannot be registered, answers 503 with `Retry-After`; once NATS is back
/// new sessions are made again. An `x-emodal-session-id` sent from outside is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nats_known_sessions_route_and_new_ones_wait() {
    let mut world = ClusterWorld::start(2, &[]).await;
    world.wait_formed().await;
    let id = world.nodes[0].session_id(&ACCOUNTS[1], true).await;
    let rows = world.nodes[1].sessions().await;
    let owner = rows
        .iter()
        .find(|r| r["session_id"] == id)
        .and_then(|r| r["node"].as_str())
        .expect("listed with its node")
        .to_string();
    let other = world.other_than(&owner);

    world.nats.kill();
    let refused = |status: u16, headers: &reqwest::header::HeaderMap, body: &Value| {
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["success"], false, "{body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        assert!(headers.contains_key("retry-after"), "{headers:?}");
    };
    let login = |account: &service::Account| {
        json!({"username": account.username, "password": account.password,
               "captcha_api_key": "key", "keep_alive": true})
    };
    // The watch may take a moment to see the connection gone; the owner answers throughout.
    let (status, body) = world.node(&owner).get_session(&ACCOUNTS[1], true).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["session_id"], id);
    let (status, headers, body) = eventually("the other node refusing", PATIENCE, || async {
        let url = format!("{}/get_session", world.node(&other).api());
        let answer = raw(reqwest::Method::POST, url, Some(login(&ACCOUNTS[1])), &[]).await;
        (answer.0 != 200).then_some(answer)
    })
    .await;
    refused(status, &headers, &body);
    let url = format!("{}/get_session", world.node(&owner).api());
    let (status, headers, body) =
        raw(reqwest::Method::POST, url, Some(login(&ACCOUNTS[2])), &[]).await;
    refused(status, &headers, &body);

    world.nats.restart().await;
    let forged = "session_0000000000000000000000000000beef";
    let body = eventually("a new session once NATS is back", PATIENCE, || async {
        let url = format!("{}/get_session", world.node(&other).api());
        let headers = [("x-emodal-session-id", forged)];
        let (status, _, body) = raw(
            reqwest::Method::POST,
            url,
            Some(login(&ACCOUNTS[2])),
            &headers,
        )
        .await;
        assert!(matches!(status, 200 | 503), "{status} {body}");
        (status == 200).then_some(body)
    })
    .await;
    assert_ne!(body["session_id"], forged);
    assert_ne!(body["session_id"], id);
}

/// Item 4: nodes with room for one session each; three sessions asked of one node while
/// the heartbeats still say every node is empty (one every 10 s): when placement chooses a
/// node already full, it answers 429 at capacity and the claim goes to a node with room
/// instead. All three succeed, one per node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_node_places_new_sessions_elsewhere() {
    let extra = [
        ("sessions", "max_sessions = 1"),
        ("cluster", "heartbeat_ms = 10000"),
        ("cluster", "node_timeout = 60"),
    ];
    let world = ClusterWorld::start(3, &extra).await;
    world.wait_formed().await;
    let entry = &world.nodes[0];
    let mut ids = Vec::new();
    for account in &ACCOUNTS {
        let (status, body) = entry.get_session(account, true).await;
        assert_eq!(status, 200, "{body}");
        ids.push(body["session_id"].as_str().unwrap().to_string());
    }
    let rows = entry.sessions().await;
    let mut nodes: Vec<&str> = ids
        .iter()
        .map(|id| {
            let row = rows.iter().find(|r| r["session_id"] == *id);
            row.and_then(|r| r["node"].as_str()).expect("listed")
        })
        .collect();
    nodes.sort();
    assert_eq!(nodes, ["node-a", "node-b", "node-c"], "{rows:?}");
    // Whether a stale view sent a claim to a full node (and the 429 fallback moved it)
    // depends on which node the ties picked first: the entry node knows its own count at
    // once, the others' only at their next heartbeat. When it happened, the claim moved
    // and still succeeded (all three 200 above, one per node); say which way this run went.
    let moved: usize = world
        .nodes
        .iter()
        .map(|n| n.logs().matches("session_placed_elsewhere").count())
        .sum();
    eprintln!("claims moved by the 429 fallback in this run: {moved}");
}
