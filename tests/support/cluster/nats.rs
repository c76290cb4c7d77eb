//! `nats-server -js` as a child process of the test: one on its own ([`NatsServer`]), or
//! three routed into one JetStream cluster ([`NatsCluster`]).

use crate::service::free_port;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `nats-server -js -a 127.0.0.1 -p <port> -sd <store>`; the port and the store stay the
/// same across [`NatsServer::kill`] and [`NatsServer::restart`], so JetStream's buckets
/// survive a restart as they would in production.
pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
    dir: PathBuf,
    /// A cluster member runs from a config file (`-c`) naming its routes.
    config: Option<PathBuf>,
    /// Its monitoring port (`/routez`, `/connz`), cluster members only.
    http_port: Option<u16>,
}

fn nats_binary() -> &'static str {
    // Debian installs it in /usr/sbin, which a non-root PATH often lacks.
    if Path::new("/usr/sbin/nats-server").exists() {
        "/usr/sbin/nats-server"
    } else {
        "nats-server"
    }
}

impl NatsServer {
    /// Start one on a free port, its store and log under `dir`; returns once the port accepts.
    pub async fn start(dir: &Path) -> NatsServer {
        std::fs::create_dir_all(dir).unwrap();
        // Another test may take the port between the check and the bind: then the child
        // exits at once, and another port is tried.
        for _ in 0..5 {
            let mut nats = NatsServer::not_started(dir);
            if nats.spawn_and_wait().await {
                return nats;
            }
        }
        panic!("nats-server did not start on any of 5 ports (logs in {dir:?})");
    }

    /// Not started: a URL for nodes that must come up while NATS is down; [`Self::restart`]
    /// starts it later on that port.
    pub fn not_started(dir: &Path) -> NatsServer {
        std::fs::create_dir_all(dir).unwrap();
        let port = free_port();
        NatsServer {
            child: None,
            port,
            store: dir.join(format!("nats-store-{port}")),
            dir: dir.to_path_buf(),
            config: None,
            http_port: None,
        }
    }

    async fn spawn_and_wait(&mut self) -> bool {
        self.spawn();
        self.wait_up(Duration::from_secs(20)).await
    }

    fn spawn(&mut self) {
        let log = self.dir.join(format!("nats-{}.log", self.port));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let mut command = Command::new(nats_binary());
        match &self.config {
            Some(config) => command.arg("-c").arg(config),
            None => command
                .args([
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-sd",
                ])
                .arg(&self.store),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server runs (scripts/install-nats.sh installs it)");
        self.child = Some(child);
    }

    /// Wait until JetStream answers on its port; false when the child exited first (its
    /// port was taken).
    async fn wait_up(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if !self.is_running() {
                self.child = None;
                return false;
            }
            // The port accepts a moment before JetStream answers (a stream created then
            // fails with an unparsable reply): ready once the account info comes back. A
            // cluster member answers it only once the cluster elected its meta leader.
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
                && self.jetstream_answers().await
            {
                return true;
            }
            assert!(
                start.elapsed() < limit,
                "nats-server never answered JetStream on port {}: {}",
                self.port,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// JetStream's account info comes back (asked raw: async-nats 0.51 cannot parse 2.9's).
    async fn jetstream_answers(&self) -> bool {
        let Ok(client) = async_nats::connect(self.url()).await else {
            return false;
        };
        let ask = client.request("$JS.API.INFO", "".into());
        match tokio::time::timeout(Duration::from_secs(2), ask).await {
            Ok(Ok(reply)) => {
                let info: Value = serde_json::from_slice(&reply.payload).unwrap_or_default();
                info["type"] == "io.nats.jetstream.api.v1.account_info_response"
                    && info["error"].is_null()
            }
            _ => false,
        }
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// SIGKILL, reaped: connections drop without goodbye, as when a NATS host dies.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Remove its store (only while killed): the next start comes up empty, as a NATS
    /// server replaced without its disk would.
    pub fn wipe_store(&mut self) {
        assert!(!self.is_running(), "wipe_store on a running nats-server");
        let _ = std::fs::remove_dir_all(&self.store);
    }

    /// (Re)start on the same port and store; returns once the port accepts.
    pub async fn restart(&mut self) {
        self.kill();
        assert!(
            self.spawn_and_wait().await,
            "nats-server did not restart on port {}: {}",
            self.port,
            self.logs()
        );
    }

    /// Everything it logged (all runs on this port).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.join(format!("nats-{}.log", self.port)))
            .unwrap_or_default()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

impl NatsServer {
    /// GET `path` of its monitoring port (`/routez`, `/connz`, ...), cluster members only.
    pub async fn monitor(&self, path: &str) -> Value {
        let port = self
            .http_port
            .expect("a cluster member has a monitoring port");
        let answer = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}{path}"))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match answer {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        }
    }
}

/// Three (or `n`) `nats-server`s on 127.0.0.1 routed into one cluster, JetStream on every
/// one (so streams can have 3 replicas and keep their quorum when one server dies). Each
/// runs from a generated config file; their stores and logs live under `dir`. Killed on
/// drop.
pub struct NatsCluster {
    pub servers: Vec<NatsServer>,
    /// `server_name` of each server, as stream infos name their leaders and replicas.
    pub names: Vec<String>,
}

impl NatsCluster {
    /// Start `n` servers and wait until the routes form a full mesh and every server's
    /// JetStream answers (which needs an elected meta leader).
    pub async fn start(dir: &Path, n: usize) -> NatsCluster {
        std::fs::create_dir_all(dir).unwrap();
        // A port taken between the check and the bind makes a child exit: then all the
        // servers start again on new ports (the routes name every port).
        for _ in 0..3 {
            let mut ports = std::collections::BTreeSet::new();
            while ports.len() < 3 * n {
                ports.insert(free_port());
            }
            let ports: Vec<u16> = ports.into_iter().collect();
            let (client, rest) = ports.split_at(n);
            let (route, http) = rest.split_at(n);
            let names: Vec<String> = (0..n).map(|i| format!("nats-{i}")).collect();
            let mut servers = Vec::new();
            for i in 0..n {
                let store = dir.join(format!("nats-store-{}", client[i]));
                let routes: Vec<String> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| format!("\"nats-route://127.0.0.1:{}\"", route[j]))
                    .collect();
                let config = dir.join(format!("nats-{}.conf", client[i]));
                let text = format!(
                    "server_name: \"{name}\"\n\
                     listen: \"127.0.0.1:{port}\"\n\
                     http: \"127.0.0.1:{http}\"\n\
                     jetstream {{\n  store_dir: \"{store}\"\n}}\n\
                     cluster {{\n  name: \"emodal-test\"\n  listen: \"127.0.0.1:{route}\"\n  \
                     routes: [{routes}]\n}}\n",
                    name = names[i],
                    port = client[i],
                    http = http[i],
                    store = store.display(),
                    route = route[i],
                    routes = routes.join(", "),
                );
                std::fs::write(&config, text).unwrap();
                servers.push(NatsServer {
                    child: None,
                    port: client[i],
                    store,
                    dir: dir.to_path_buf(),
                    config: Some(config),
                    http_port: Some(http[i]),
                });
            }
            // All at once: none can elect a meta leader alone.
            for server in &mut servers {
                server.spawn();
            }
            let mut up = true;
            for server in &mut servers {
                up &= server.wait_up(Duration::from_secs(30)).await;
            }
            if !up {
                continue; // dropping `servers` kills the ones that started
            }
            let cluster = NatsCluster { servers, names };
            cluster.wait_meshed(Duration::from_secs(20)).await;
            return cluster;
        }
        panic!("the NATS cluster did not start in 3 tries (logs in {dir:?})");
    }

    /// Wait until every running server has a route to every other running one.
    pub async fn wait_meshed(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            let running: Vec<&NatsServer> =
                self.servers.iter().filter(|s| s.child.is_some()).collect();
            let mut meshed = true;
            for server in &running {
                let routes = server.monitor("/routez").await["num_routes"]
                    .as_u64()
                    .unwrap_or(0);
                meshed &= routes as usize >= running.len() - 1;
            }
            if meshed {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "the NATS servers did not route to each other: {}",
                self.servers[0].logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every server's URL (killed ones included), as `cluster.nats_urls` lists them.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(NatsServer::url).collect()
    }

    /// The `cluster.nats_urls = [...]` settings line naming every server.
    pub fn nats_urls_setting(&self) -> String {
        let quoted: Vec<String> = self.urls().iter().map(|u| format!("\"{u}\"")).collect();
        format!("nats_urls = [{}]", quoted.join(", "))
    }

    /// The index of the server named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// `$JS.API.STREAM.INFO.<stream>` asked raw through a running server (async-nats 0.51
    /// parses 2.9's stream infos, but the raw JSON shows `cluster.leader` and `replicas`
    /// as the server says them).
    pub async fn stream_info(&mut self, stream: &str) -> Value {
        let url = self
            .servers
            .iter_mut()
            .find_map(|s| s.is_running().then(|| s.url()))
            .expect("a running NATS server");
        let client = async_nats::connect(url).await.unwrap();
        let ask = client.request(format!("$JS.API.STREAM.INFO.{stream}"), "".into());
        match tokio::time::timeout(Duration::from_secs(5), ask).await {
            Ok(Ok(reply)) => serde_json::from_slice(&reply.payload).unwrap_or_default(),
            _ => Value::Null,
        }
    }

    /// How many client connections whose name starts with `prefix` server `i` holds.
    pub async fn connections(&self, i: usize, prefix: &str) -> usize {
        let connz = self.servers[i].monitor("/connz?limit=1024").await;
        connz["connections"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|c| c["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
                    .count()
            })
            .unwrap_or(0)
    }
}
