//! The HTTP server loop: warp's filters as a service, behind the limits a public service
//! needs against slow or greedy clients. warp's own `serve` has none: a client that opened
//! connections and never finished a request head held a file descriptor each, for ever.
//!
//! - a connection must deliver each request head within `server.header_read_timeout`, also
//!   between keep-alive requests, so an idle or trickling connection is closed;
//! - at most `server.max_connections` open connections, and `server.max_connections_per_ip`
//!   from one address; over a cap a connection is closed at once, before any byte is read.

use super::Ctx;
use crate::config::ServerSettings;
use crate::telemetry::request::{self, RequestTrace};
use hyper::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Serve the API on `listener` until `shutdown` resolves; then stop accepting and wait for
/// the open connections to finish the requests they are in.
pub async fn serve(
    listener: TcpListener,
    ctx: Ctx,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()>,
) {
    let log_requests = ctx.sessions.settings().log.requests;
    let cluster = ctx.cluster.clone();
    let service = warp::service(super::routes(ctx.clone()));
    // Cluster mode: every request passes the router, and this node answers forwarded ones.
    let (router, responder) = match cluster {
        Some(cluster) => {
            let direct_service = hyper_util::service::TowerToHyperService::new(service.clone());
            let direct: super::forward::Direct = Arc::new(move |request: Request<bytes::Bytes>| {
                // Bodies are buffered here, and warp wants their length (hop-by-hop
                // framing is not forwarded; the body may have been made by the router).
                let mut request = request;
                let length = hyper::header::HeaderValue::from(request.body().len());
                request
                    .headers_mut()
                    .insert(hyper::header::CONTENT_LENGTH, length);
                let full = request.map(http_body_util::Full::new);
                // Boxed at once, as above: the async block then holds only the pointer
                // (moving warp's future into it by value overflowed a debug build's stack).
                let answer = Box::pin(hyper::service::Service::call(&direct_service, full));
                Box::pin(async move {
                    match answer.await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                })
            });
            let (router, responder) = cluster_routing(ctx, cluster, direct, log_requests);
            (Some(router), Some(responder))
        }
        None => (None, None),
    };
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let per_ip: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    let header_timeout = Duration::from_secs(settings.header_read_timeout.max(1));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut refused = Refusals::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors, most likely: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            refused.note("max_connections", settings.max_connections);
            continue;
        };
        let Some(peer_slot) = PeerSlot::take(&per_ip, peer.ip(), settings.max_connections_per_ip)
        else {
            refused.note("max_connections_per_ip", settings.max_connections_per_ip);
            continue;
        };
        // Answers are written whole; Nagle's algorithm would only hold a small one back
        // until the client acknowledges the previous segment.
        let _ = stream.set_nodelay(true);
        let inner = hyper_util::service::TowerToHyperService::new(service.clone());
        let router = router.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let sent_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            // Boxed: warp's filter chain makes a large future, and wrapping it by value in
            // the trace's futures would move it across the stack several times.
            let answer: Answer = match router.clone() {
                None => Box::pin(hyper::service::Service::call(&inner, request)),
                Some(router) => Box::pin(async move { Ok(router.handle(request).await) }),
            };
            traced(log_requests, sent_id, answer)
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // A client that hangs up or times out is routine, not an error.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop((permit, peer_slot));
        });
    }
    drop(listener);
    graceful.shutdown().await;
    if let Some(responder) = responder {
        responder.abort();
    }
}

type Answer = std::pin::Pin<
    Box<dyn Future<Output = Result<warp::reply::Response, std::convert::Infallible>> + Send>,
>;

/// Cluster mode: the router in front of `service`, and the responder replaying forwarded
/// requests into it (each under its own trace, with the caller's request id).
fn cluster_routing(
    ctx: Ctx,
    cluster: crate::cluster::Cluster,
    direct: super::forward::Direct,
    log_requests: bool,
) -> (super::forward::Router, tokio::task::JoinHandle<()>) {
    ctx.files.mirror_to(cluster.clone());
    let router = super::forward::Router::new(ctx, cluster.clone(), direct);
    let local = router.local();
    let traced_local: crate::cluster::forward::Local = Arc::new(move |request| {
        let sent_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Box::pin(traced(log_requests, sent_id, local(request)))
    });
    let responder = crate::cluster::forward::spawn_responder(cluster, traced_local);
    (router, responder)
}

/// Run one request's future with its trace (see `telemetry::request`), unless
/// `log.requests` is off.
async fn traced<F: Future>(on: bool, sent_id: Option<String>, answer: F) -> F::Output {
    if !on {
        return answer.await;
    }
    let trace = RequestTrace::new(sent_id.as_deref());
    request::scope(trace, answer).await
}

/// One connection counted against its address, given back on drop.
struct PeerSlot {
    ip: IpAddr,
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PeerSlot {
    fn take(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        ip: IpAddr,
        limit: usize,
    ) -> Option<PeerSlot> {
        let mut map = counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_default();
        if *n >= limit.max(1) {
            return None;
        }
        *n += 1;
        Some(PeerSlot {
            ip,
            counts: counts.clone(),
        })
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// Refused connections, logged at most once a minute (an attack must not flood the log).
#[derive(Default)]
struct Refusals {
    since_log: u64,
    last_log: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, cap: &'static str, limit: usize) {
        self.since_log += 1;
        if self
            .last_log
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
        {
            tracing::warn!(
                event = "connections_refused",
                cap,
                limit,
                refused = self.since_log,
                "connection closed at once: over a connection cap"
            );
            self.since_log = 0;
            self.last_log = Some(Instant::now());
        }
    }
}
