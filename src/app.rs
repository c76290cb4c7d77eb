//! Wiring: settings -> session manager -> HTTP server, and the orderly way down.

use crate::actors::Sessions;
use crate::cluster::Cluster;
use crate::config::Settings;
use crate::files::FileStore;
use crate::http::{self, Ctx};
use crate::sandbox::SandboxServer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running API server.
pub struct Application {
    addr: SocketAddr,
    sessions: Sessions,
    draining: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    stop_accepting: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    manager: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    drain_timeout: Duration,
    /// `<data_dir>/profiles`, for the last-resort clean-up at shutdown.
    profiles: std::path::PathBuf,
    /// Cluster mode: this node's view of the cluster, and its tasks that need the session
    /// manager (heartbeat, takeover), stopped after the hand-over at shutdown.
    cluster: Option<Cluster>,
    cluster_tasks: Vec<JoinHandle<()>>,
}

impl Application {
    /// Bind `server.host:server.port` (port 0 picks a free one) and start serving.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let settings = Arc::new(settings);
        // Before anything records a metric: until a recorder is installed they go nowhere.
        crate::metrics::handle();
        let listener =
            tokio::net::TcpListener::bind((settings.server.host.as_str(), settings.server.port))
                .await?;
        let addr = listener.local_addr()?;
        let local_base = format!("http://{addr}");
        // Before the session manager: it reports to the cluster from its first session on.
        // Never fails on NATS (the connection comes up in the background).
        let cluster = if settings.cluster.enabled {
            Some(Cluster::start(settings.clone(), &local_base)?)
        } else {
            None
        };
        // Told of snapshots written and sessions ended, it mirrors them into the cluster.
        let membership = cluster.as_ref().map(|c| {
            crate::cluster::membership::ClusterMembership::new(c.clone())
                as Arc<dyn crate::actors::Membership>
        });
        let (sessions, manager) = Sessions::start(settings.clone(), membership).await?;
        let cluster_tasks = cluster
            .as_ref()
            .map(|c| c.attach(sessions.clone()))
            .unwrap_or_default();
        let files = FileStore::new(
            settings.chrome.data_dir.join("files"),
            Duration::from_secs(settings.files.retention),
        )?;
        let sweeper = files.spawn_sweeper();
        let mut ctx = Ctx::new(sessions.clone(), files, local_base);
        ctx.cluster = cluster.clone();
        let draining = ctx.draining.clone();
        let in_flight = ctx.in_flight.clone();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(http::serve(listener, ctx, settings.server.clone(), async {
            let _ = stop_rx.await;
        }));
        tracing::info!(%addr, "API listening");
        Ok(Application {
            addr,
            sessions,
            draining,
            in_flight,
            stop_accepting: Some(stop_tx),
            server,
            manager,
            sweeper,
            drain_timeout: Duration::from_secs(settings.server.drain_timeout),
            profiles: settings.profiles_dir(),
            cluster,
            cluster_tasks,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Cluster mode: this node's view of the cluster; `None` alone.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.cluster.as_ref()
    }

    /// Drain: answer new work with 503 while in-flight requests finish (at most
    /// `server.drain_timeout`), stop listening, then close every session and wait for every
    /// Chrome to exit and every profile to be removed.
    pub async fn shutdown(mut self) {
        tracing::info!(
            event = "shutdown_started",
            in_flight = self.in_flight.load(Ordering::SeqCst)
        );
        self.draining.store(true, Ordering::SeqCst);
        if let Some(cluster) = &self.cluster {
            // The next heartbeats say so: no node places new sessions here any more.
            cluster.set_draining();
        }
        let deadline = tokio::time::Instant::now() + self.drain_timeout;
        while self.in_flight.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let left = self.in_flight.load(Ordering::SeqCst);
        if left > 0 {
            tracing::warn!(
                left,
                "in-flight requests outlived server.drain_timeout; closing sessions under them"
            );
        }
        if let Some(stop) = self.stop_accepting.take() {
            let _ = stop.send(());
        }
        if let Some(cluster) = &self.cluster {
            // Sessions move to the other nodes (their snapshots pushed, their records
            // moved) before they close here; without NATS they close and wait for this
            // node's restart or the survivors' takeover.
            crate::cluster::takeover::hand_over(cluster, &self.sessions).await;
        }
        self.sessions.shutdown().await;
        for task in self.cluster_tasks.drain(..) {
            task.abort();
        }
        if tokio::time::timeout(Duration::from_secs(2), &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
        }
        self.sweeper.abort();
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.manager).await;
        if crate::portal::live_browsers() > 0 {
            // A browser that would not close in its grace period: kill what still runs under
            // our data directory and remove its profile and scratch directories, as the next
            // start would, so nothing outlives this exit.
            let profiles = self.profiles.clone();
            let cleaned =
                tokio::task::spawn_blocking(move || crate::cleanup::clean_leftovers(&profiles))
                    .await
                    .unwrap_or_default();
            tracing::warn!(
                event = "shutdown_cleanup",
                processes_killed = cleaned.processes_killed,
                directories_removed = cleaned.directories_removed,
                "browsers that did not close in time were killed"
            );
        }
        tracing::info!(
            event = "shutdown_complete",
            browsers_left = crate::portal::live_browsers()
        );
    }
}

/// `emodal-api serve`.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let signal = ShutdownSignal::install()?;
    if settings.server.api_tokens.is_empty() {
        tracing::warn!(
            "NO API TOKENS CONFIGURED: anyone who can reach {}:{} can use every session. \
             Set server.api_tokens (EMODAL__SERVER__API_TOKENS) before exposing this service.",
            settings.server.host,
            settings.server.port
        );
    }
    let app = Application::build(settings).await?;
    signal.recv().await;
    app.shutdown().await;
    Ok(())
}

/// `emodal-api sandbox`: the sandbox portal and the API in one process, wired together.
pub async fn serve_with_sandbox(mut settings: Settings) -> anyhow::Result<()> {
    let signal = ShutdownSignal::install()?;
    let sandbox = SandboxServer::start(&settings.sandbox).await?;
    settings.wire_to_sandbox(&sandbox.base_url());
    let accounts = settings.sandbox.accounts.clone();
    let app = Application::build(settings).await?;
    println!("emodal-api sandbox");
    println!("  API:            {}", app.base_url());
    println!("  sandbox portal: {}/login", sandbox.base_url());
    for account in &accounts {
        println!(
            "  account:        {} / {}",
            account.username,
            account.password.expose()
        );
    }
    println!(
        "  captcha keys:   any non-empty key solves; sandbox-wrong-key, sandbox-zero-balance, sandbox-unsolvable fail"
    );
    println!("  try:");
    if let Some(a) = accounts.first() {
        println!(
            "    curl -s -X POST {}/get_session -H 'Content-Type: application/json' \\\n      -d '{{\"username\":\"{}\",\"password\":\"{}\",\"captcha_api_key\":\"sandbox-key\"}}'",
            app.base_url(),
            a.username,
            a.password.expose()
        );
    }
    signal.recv().await;
    app.shutdown().await;
    sandbox.shutdown().await;
    Ok(())
}

/// Ctrl-C, SIGTERM or SIGQUIT start a graceful shutdown; SIGHUP is logged and ignored (there
/// is nothing to reload, and its default action would kill the process at once, leaving every
/// Chrome behind). Installed before anything starts serving: a signal that arrives between
/// "the port answers" and "the handler exists" would otherwise take its default action.
pub struct ShutdownSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    pub fn install() -> std::io::Result<ShutdownSignal> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignal {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            quit: signal(SignalKind::quit())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Wait for a signal that means "shut down".
    pub async fn recv(mut self) {
        loop {
            let name = tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
                _ = self.quit.recv() => "SIGQUIT",
                _ = self.hangup.recv() => {
                    tracing::info!(event = "signal_ignored", signal = "SIGHUP", "SIGHUP ignored: settings are read only at start; send SIGTERM to stop");
                    continue;
                }
            };
            tracing::info!(event = "shutdown_signal", signal = name);
            return;
        }
    }
}
