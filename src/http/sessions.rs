//! Session endpoints: `POST /get_session`, `GET /sessions`, `GET /sessions/{id}` (the row
//! and what the session is doing now), `GET /sessions/{id}/screenshot`,
//! `DELETE /sessions/{id}`.

use super::operation::credentials;
use super::requests::{self, GetSessionRequest};
use super::{Body, Ctx, auth, body, json_reply, respond, with_ctx};
use crate::error::ApiError;
use serde_json::json;
use warp::http::StatusCode;
use warp::{Filter, Rejection};

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    let scope = auth::scope(ctx.tokens.clone());
    let get_session = warp::path!("get_session")
        .and(warp::post())
        .and(with_ctx(ctx.clone()))
        .and(scope.clone())
        .and(body::json())
        .and(warp::header::optional::<String>(super::forward::SESSION_ID))
        .then(get_session)
        .map(respond);
    let list = warp::path!("sessions")
        .and(warp::get())
        .and(with_ctx(ctx.clone()))
        .and(scope.clone())
        .then(list)
        .map(respond);
    let detail = warp::path!("sessions" / String)
        .and(warp::get())
        .and(with_ctx(ctx.clone()))
        .and(scope.clone())
        .then(detail)
        .map(respond);
    let screenshot = warp::path!("sessions" / String / "screenshot")
        .and(warp::get())
        .and(with_ctx(ctx.clone()))
        .and(scope.clone())
        .then(screenshot)
        .map(respond);
    let close = warp::path!("sessions" / String)
        .and(warp::delete())
        .and(with_ctx(ctx))
        .and(scope)
        .then(close)
        .map(respond);
    get_session
        .or(list)
        .unify()
        .or(detail)
        .unify()
        .or(screenshot)
        .unify()
        .or(close)
        .unify()
}

/// `assigned`: the id the cluster registered for these credentials (cluster mode; the
/// header is removed from every request from outside, so only the router sets it).
async fn get_session(
    ctx: Ctx,
    scope: String,
    body: Body,
    assigned: Option<String>,
) -> Result<warp::reply::Response, ApiError> {
    let req: GetSessionRequest = requests::parse(&body)?;
    let sent = requests::Credentials {
        username: req.username,
        password: req.password,
        captcha_api_key: req.captcha_api_key,
    };
    let Some(credentials) = credentials(&sent)? else {
        return Err(ApiError::missing(&[
            "username",
            "password",
            "captcha_api_key",
        ]));
    };
    let keep_alive = req.keep_alive.unwrap_or(true);
    let assigned = assigned.filter(|_| ctx.cluster.is_some());
    let grant = ctx
        .sessions
        .get_session_as(&scope, credentials, keep_alive, assigned)
        .await
        .map_err(|e| {
            let api = ApiError::from(e);
            // The original's 401 said what kind of failure it was in `details`.
            if api.status == StatusCode::UNAUTHORIZED {
                let kind = api.extra.get("error_code").cloned().unwrap_or_default();
                api.with("details", kind)
            } else {
                api
            }
        })?;
    let message = match (grant.is_new, grant.keep_alive) {
        (true, true) => "New persistent session created",
        (true, false) => "New session created",
        (false, true) => "Using existing persistent session",
        (false, false) => "Using existing session",
    };
    let mut value = serde_json::to_value(&grant)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    value["success"] = json!(true);
    value["message"] = json!(message);
    Ok(json_reply(StatusCode::OK, &value))
}

/// This node's sessions. Cluster mode: each row names its node, and the router merges every
/// node's rows into one listing.
async fn list(ctx: Ctx, scope: String) -> Result<warp::reply::Response, ApiError> {
    let rows = ctx.sessions.list(&scope).await;
    let mut sessions = serde_json::to_value(&rows)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if let Some(cluster) = &ctx.cluster
        && let Some(rows) = sessions.as_array_mut()
    {
        for row in rows {
            row["node"] = json!(cluster.node_id());
        }
    }
    Ok(json_reply(
        StatusCode::OK,
        &json!({ "success": true, "active_sessions": rows.len(), "sessions": sessions }),
    ))
}

async fn detail(id: String, ctx: Ctx, scope: String) -> Result<warp::reply::Response, ApiError> {
    match ctx.sessions.detail(&scope, &id).await {
        Ok(session) => {
            let mut session = serde_json::to_value(&session)
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
            if let Some(cluster) = &ctx.cluster {
                session["node"] = json!(cluster.node_id());
            }
            Ok(json_reply(
                StatusCode::OK,
                &json!({ "success": true, "session": session }),
            ))
        }
        Err(_) => Err(not_found(&id)),
    }
}

async fn screenshot(
    id: String,
    ctx: Ctx,
    scope: String,
) -> Result<warp::reply::Response, ApiError> {
    use warp::Reply;
    match ctx.sessions.screenshot(&scope, &id).await {
        Ok(png) => Ok(warp::reply::with_header(
            warp::reply::with_header(png, "content-type", "image/png"),
            "cache-control",
            "no-store",
        )
        .into_response()),
        Err(crate::actors::SessionError::NotFound) => Err(not_found(&id)),
        Err(e) => Err(e.into()),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("session not found: {id}"))
}

async fn close(id: String, ctx: Ctx, scope: String) -> Result<warp::reply::Response, ApiError> {
    if ctx.sessions.close(&scope, &id).await {
        if let Some(cluster) = &ctx.cluster {
            // The records go from a task; answered before they are gone, a get_session right
            // after this DELETE would follow them and make a new session under the old id.
            let limit = std::time::Duration::from_secs(5);
            Box::pin(crate::cluster::membership::ended_written(
                cluster, &id, limit,
            ))
            .await;
        }
        Ok(json_reply(
            StatusCode::OK,
            &json!({ "success": true, "message": "Session closed successfully" }),
        ))
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("session not found: {id}"),
        ))
    }
}
