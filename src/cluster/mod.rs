//! Cluster mode (issue 15): several nodes share their sessions through NATS JetStream.
//!
//! A Chrome cannot move between machines, but a session's cookies can. Nodes do not talk
//! to each other directly and run no consensus of their own: every decision that must have
//! one winner is a create-if-absent or compare-and-set on a JetStream key-value bucket.
//!
//! | bucket (`<namespace>_…`) | key | value |
//! |---|---|---|
//! | `nodes` | node id | [`records::NodeRecord`]: heartbeat and load |
//! | `owners` | credential key (HMAC) | [`records::OwnerRecord`]: the session of those credentials |
//! | `sessions` | session id | [`records::SessionRecord`]: owner node; its revision fences |
//! | `snapshots` | session id | the sealed snapshot, the same bytes as on disk |
//! | `files` (object store) | file name | files handed out by `file_url` |
//!
//! Subjects: `<namespace>.node.<node id>.http` carries forwarded HTTP requests to a node.
//!
//! Single-node mode (the default) never builds a [`Cluster`] and needs no NATS.
//!
//! # Layout
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`Cluster`]: the node's identity and the connect loop; [`Link`]: client + buckets |
//! | `records.rs` | what the buckets hold |
//! | `nodes.rs` | heartbeats, the live-node view, placement |
//! | `owners.rs` | owner records: one session per credential set, session -> node |
//! | `forward.rs` | HTTP requests forwarded to the owner over NATS request-reply |
//! | `membership.rs` | snapshots copied to JetStream; records removed when a session ends |
//! | `takeover.rs` | dead nodes' sessions taken over; fencing; a draining node's hand-over |

pub mod forward;
pub mod membership;
pub mod nodes;
pub mod owners;
pub mod records;
pub mod takeover;

use crate::actors::Sessions;
use crate::config::Settings;
use anyhow::Context;
use async_nats::jetstream::{self, kv, object_store};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// This node's view of the cluster. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Arc<Settings>,
    node_id: String,
    advertise_url: String,
    /// `None` until NATS answered once and every bucket is open.
    link: watch::Sender<Option<Link>>,
    /// Heartbeats seen and this node's own (see `nodes.rs`).
    nodes: nodes::Nodes,
    /// How many times the client connected (the first time included): a change means a
    /// reconnect, however short the loss was.
    connections: watch::Sender<u64>,
}

/// An open connection and the cluster's buckets. The client reconnects by itself after a
/// loss; [`Cluster::connected`] says whether it is connected now.
#[derive(Clone)]
pub struct Link {
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    pub nodes: kv::Store,
    pub owners: kv::Store,
    pub sessions: kv::Store,
    pub snapshots: kv::Store,
    pub files: object_store::ObjectStore,
}

impl Cluster {
    /// The node's identity now; the connection in the background (NATS unreachable at start
    /// is not an error: the node serves what it owns and says so in `/ready`).
    /// `local_base` is `http://<bound address>`, the advertised URL when none is set.
    pub fn start(settings: Arc<Settings>, local_base: &str) -> anyhow::Result<Cluster> {
        let node_id = node_id(&settings)?;
        let advertise_url = [
            settings.cluster.advertise_url.as_str(),
            settings.server.public_base_url.as_str(),
            local_base,
        ]
        .into_iter()
        .find(|u| !u.is_empty())
        .unwrap_or(local_base)
        .trim_end_matches('/')
        .to_string();
        let (link, _) = watch::channel(None);
        let (connections, _) = watch::channel(0);
        let nodes = nodes::Nodes::new(&node_id, &advertise_url, settings.sessions.max_sessions);
        let cluster = Cluster {
            inner: Arc::new(Inner {
                settings,
                node_id,
                advertise_url,
                link,
                nodes,
                connections,
            }),
        };
        tracing::info!(
            event = "cluster_node",
            node = %cluster.node_id(),
            advertise_url = %cluster.advertise_url(),
            "cluster mode: connecting to NATS"
        );
        tokio::spawn(connect_loop(cluster.clone()));
        // The view of the other nodes needs no session manager: `/ready` lists them from
        // the start.
        cluster.spawn_node_watch();
        Ok(cluster)
    }

    /// Start this node's part in the cluster once its session manager runs: the heartbeat
    /// and the takeover loop (dead nodes' sessions, fencing). The tasks end when the
    /// handles are aborted (the application does at shutdown, after the hand-over).
    /// Forwarded requests are answered by the HTTP server's responder (`http::server`).
    pub fn attach(&self, sessions: Sessions) -> Vec<tokio::task::JoinHandle<()>> {
        vec![
            self.spawn_heartbeat(sessions.clone()),
            takeover::spawn(self.clone(), sessions),
        ]
    }

    pub fn node_id(&self) -> &str {
        &self.inner.node_id
    }

    pub fn advertise_url(&self) -> &str {
        &self.inner.advertise_url
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn namespace(&self) -> &str {
        &self.inner.settings.cluster.namespace
    }

    /// The link, once NATS answered and the buckets are open (it may be disconnected now).
    pub fn link(&self) -> Option<Link> {
        self.inner.link.borrow().clone()
    }

    /// Wait until the link exists.
    pub async fn linked(&self) -> Link {
        let mut rx = self.inner.link.subscribe();
        loop {
            if let Some(link) = rx.borrow_and_update().clone() {
                return link;
            }
            if rx.changed().await.is_err() {
                // The sender lives in `inner`, which `self` holds: never reached.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Connected to NATS right now, with the buckets open.
    pub fn connected(&self) -> bool {
        self.link().is_some_and(|l| {
            l.client.connection_state() == async_nats::connection::State::Connected
        })
    }

    /// Changes each time the client (re)connects to NATS. A loss can be shorter than any
    /// polling of [`Cluster::connected`] would notice (a NATS restart: ~20 ms), and what a
    /// watch or a subscription missed meanwhile is only found by looking again.
    pub fn connections(&self) -> watch::Receiver<u64> {
        self.inner.connections.subscribe()
    }

    /// The subject on which node `node` takes forwarded HTTP requests.
    pub fn http_subject(&self, node: &str) -> String {
        format!("{}.node.{node}.http", self.namespace())
    }
}

/// The configured node id, or the one kept in `<data_dir>/node_id` (made on first start).
fn node_id(settings: &Settings) -> anyhow::Result<String> {
    if !settings.cluster.node_id.is_empty() {
        return Ok(settings.cluster.node_id.clone());
    }
    let path = settings.chrome.data_dir.join("node_id");
    read_or_make_node_id(&path)
}

fn read_or_make_node_id(path: &Path) -> anyhow::Result<String> {
    if let Ok(text) = std::fs::read_to_string(path) {
        let id = text.trim().to_string();
        anyhow::ensure!(
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{} does not hold a node id",
            path.display()
        );
        return Ok(id);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let id = format!("node-{:08x}", rand::random::<u32>());
    std::fs::write(path, &id).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// Connect (retrying for ever, the client reconnecting by itself afterwards), then open or
/// create every bucket, then publish the link.
async fn connect_loop(cluster: Cluster) {
    let settings = cluster.inner.settings.clone();
    // Each URL on its own: async-nats parses a `&str` as one URL (a comma-joined list
    // was refused as "invalid port number", so a list of servers never connected).
    let urls = settings.cluster.nats_urls.clone();
    let node = cluster.node_id().to_string();
    // Weak: the client (held by the cluster) holds this callback.
    let inner = Arc::downgrade(&cluster.inner);
    let options = async_nats::ConnectOptions::new()
        .name(format!("emodal-api {node}"))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .event_callback(move |event| {
            let node = node.clone();
            let inner = inner.clone();
            async move {
                match event {
                    async_nats::Event::Connected => {
                        if let Some(inner) = inner.upgrade() {
                            inner.connections.send_modify(|n| *n += 1);
                        }
                        tracing::info!(event = "nats_connected", node = %node)
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!(event = "nats_disconnected", node = %node, "NATS connection lost; serving owned sessions, refusing new ones")
                    }
                    other => tracing::debug!(event = "nats_event", node = %node, what = %other),
                }
            }
        });
    let client = match options.connect(urls.as_slice()).await {
        Ok(client) => client,
        Err(e) => {
            // Only a malformed URL gets here (retry_on_initial_connect retries the rest).
            tracing::error!(event = "nats_unusable", error = %e, "cluster.nats_urls unusable");
            return;
        }
    };
    let js = jetstream::new(client.clone());
    let mut delay = Duration::from_millis(200);
    loop {
        match open_buckets(&settings, &client, &js).await {
            Ok(link) => {
                tracing::info!(event = "cluster_linked", node = %cluster.node_id(), "NATS JetStream buckets open");
                cluster.inner.link.send_replace(Some(link));
                break;
            }
            Err(e) => {
                tracing::warn!(event = "nats_unreachable", error = %format!("{e:#}"), retry_in_ms = delay.as_millis() as u64, "NATS not ready; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    // A NATS server that comes back without its store (a new machine, a wiped disk) has
    // no buckets: every put would fail until they exist again. After each reconnect, make
    // any that are missing (the open handles address them by name, so they work again).
    let mut connections = cluster.connections();
    connections.borrow_and_update();
    while connections.changed().await.is_ok() {
        if let Err(e) = open_buckets(&settings, &client, &js).await {
            tracing::warn!(event = "cluster_buckets_unavailable", error = %format!("{e:#}"), "buckets could not be checked after a reconnect");
        }
    }
}

async fn open_buckets(
    settings: &Settings,
    client: &async_nats::Client,
    js: &jetstream::Context,
) -> anyhow::Result<Link> {
    let ns = &settings.cluster.namespace;
    let replicas = settings.cluster.replicas;
    // `create_key_value` first asks for the account info, which async-nats 0.51 cannot
    // parse from nats-server 2.9 (it requires `reserved_memory`, added in 2.10): every
    // create failed. So a missing bucket's stream is created here as async-nats would make
    // it (`kv_to_stream_config`), then opened as a bucket. An existing one is opened as it
    // is (its replicas may differ from this node's settings: creating over it would fail).
    // Two nodes creating the same stream with the same config both succeed.
    let open = |name: &'static str| async move {
        let bucket = format!("{ns}_{name}");
        if let Ok(store) = js.get_key_value(&bucket).await {
            return Ok(store);
        }
        js.create_stream(jetstream::stream::Config {
            name: format!("KV_{bucket}"),
            subjects: vec![format!("$KV.{bucket}.>")],
            // History 1: each key keeps its last value only.
            max_messages_per_subject: 1,
            allow_rollup: true,
            deny_delete: true,
            allow_direct: true,
            discard: jetstream::stream::DiscardPolicy::New,
            num_replicas: replicas,
            ..Default::default()
        })
        .await
        .with_context(|| format!("creating bucket {bucket}"))?;
        js.get_key_value(&bucket)
            .await
            .with_context(|| format!("opening bucket {bucket}"))
    };
    let nodes = open("nodes").await?;
    let owners = open("owners").await?;
    let sessions = open("sessions").await?;
    let snapshots = open("snapshots").await?;
    let files_name = format!("{ns}_files");
    let files = match js.get_object_store(&files_name).await {
        Ok(store) => store,
        Err(_) => js
            .create_object_store(object_store::Config {
                bucket: files_name.clone(),
                num_replicas: replicas,
                max_age: Duration::from_secs(settings.files.retention.max(60)),
                ..Default::default()
            })
            .await
            .with_context(|| format!("creating object store {files_name}"))?,
    };
    Ok(Link {
        client: client.clone(),
        js: js.clone(),
        nodes,
        owners,
        sessions,
        snapshots,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_node_id_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node_id");
        let first = read_or_make_node_id(&path).unwrap();
        assert!(first.starts_with("node-"));
        assert_eq!(read_or_make_node_id(&path).unwrap(), first);
        std::fs::write(&path, "bad id!").unwrap();
        assert!(read_or_make_node_id(&path).is_err());
    }
}
