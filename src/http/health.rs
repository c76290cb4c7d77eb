//! `GET /health` (liveness: the process serves) and `GET /ready` (readiness: it can take
//! work): open to everyone (load balancers), answered without touching the session manager.

use super::{Ctx, json_reply};
use crate::timefmt;
use serde_json::json;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let ready_ctx = ctx.clone();
    let health = warp::path!("health")
        .and(warp::get())
        .map(move || health(&ctx));
    let ready = warp::path!("ready").and(warp::get()).then(move || {
        let ctx = ready_ctx.clone();
        async move { ready(&ctx).await }
    });
    health.or(ready).unify()
}

/// 200 when a login could be served now: not draining, the last Chrome launch (if any
/// failed since the start check) worked, the data directory takes writes and, in cluster
/// mode, NATS is connected (without it no new session can be registered). Otherwise 503
/// with every reason.
///
/// In cluster mode the body also carries `cluster`: this node's id, whether NATS is
/// connected, and `live_nodes`, the node ids this node sees alive (itself included), so
/// operators and tests can check that the nodes see each other.
async fn ready(ctx: &Ctx) -> warp::reply::Response {
    let mut reasons = Vec::new();
    if ctx.is_draining() {
        reasons.push("draining: the service is shutting down".to_string());
    }
    if let Some(why) = crate::portal::launch_failure() {
        reasons.push(format!("Chrome cannot be launched: {why}"));
    }
    let dir = ctx.sessions.settings().chrome.data_dir.clone();
    let writable = tokio::task::spawn_blocking(move || probe_write(&dir))
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
    if let Err(why) = writable {
        reasons.push(format!("the data directory is not writable: {why}"));
    }
    let cluster = ctx.cluster.as_ref().map(|c| {
        let connected = c.connected();
        if !connected {
            // The URLs stay out: one may carry a NATS user and password.
            reasons.push("nats: not connected to any of cluster.nats_urls".to_string());
        }
        let live: Vec<String> = c.live_nodes().into_iter().map(|n| n.node_id).collect();
        json!({"node_id": c.node_id(), "connected": connected, "live_nodes": live})
    });
    let (status, mut body) = if reasons.is_empty() {
        (StatusCode::OK, json!({"ready": true}))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false, "reasons": reasons}),
        )
    };
    if let Some(cluster) = cluster {
        body["cluster"] = cluster;
    }
    json_reply(status, &body)
}

/// Create, write, sync and remove a file in `dir` (a full disk or a read-only mount fails).
fn probe_write(dir: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    let path = dir.join(format!(".ready-{}", std::process::id()));
    let result = std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(b"ok").and_then(|_| f.sync_all()))
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&path);
    result
}

fn health(ctx: &Ctx) -> warp::reply::Response {
    let (active, persistent) = ctx.sessions.counts();
    let draining = ctx.is_draining();
    let max = ctx.sessions.settings().sessions.max_sessions;
    let body = json!({
        "status": if draining { "draining" } else { "healthy" },
        "service": "E-Modal Business Operations API",
        "version": env!("CARGO_PKG_VERSION"),
        "active_sessions": active,
        "persistent_sessions": persistent,
        "max_sessions": max,
        // Chromes launched ahead of need (`chrome.spares`); they use memory too.
        "spare_browsers": ctx.sessions.spare_browsers(),
        // The original's spelling, which its operators' dashboards read.
        "session_capacity": format!("{active}/{max}"),
        "timestamp": timefmt::iso(&chrono::Utc::now()),
    });
    let status = if draining {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    json_reply(status, &body)
}
