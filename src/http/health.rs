//! `GET /health`: open to everyone (load balancers), answered from counters without
//! touching the session manager.

use super::{Ctx, json_reply};
use crate::timefmt;
use serde_json::json;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("health")
        .and(warp::get())
        .map(move || health(&ctx))
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
