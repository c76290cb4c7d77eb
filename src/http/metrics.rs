//! `GET /metrics`: Prometheus text exposition (see `crate::metrics` for what is in it).
//! Behind the API token like every endpoint, unless `server.metrics_public` (a scraper on a
//! private network that cannot send a token).

use super::{Ctx, auth};
use crate::error::ApiError;
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let public = ctx.sessions.settings().server.metrics_public;
    let tokens = if public {
        std::sync::Arc::new(Vec::new())
    } else {
        ctx.tokens.clone()
    };
    warp::path!("metrics")
        .and(warp::get())
        .and(auth::scope(tokens))
        .and(warp::any().map(move || ctx.clone()))
        .then(|_scope: String, ctx: Ctx| async move { scrape(&ctx).await })
}

async fn scrape(ctx: &Ctx) -> warp::reply::Response {
    let census = ctx.sessions.census().await;
    let price = ctx.sessions.settings().captcha.price_per_1000;
    // Reading /proc for memory is blocking work: off the runtime's workers.
    let text = tokio::task::spawn_blocking(move || crate::metrics::render(&census, price)).await;
    match text {
        Ok(text) => warp::reply::with_header(
            text,
            "content-type",
            "text/plain; version=0.0.4; charset=utf-8",
        )
        .into_response(),
        Err(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable").into_response()
        }
    }
}
