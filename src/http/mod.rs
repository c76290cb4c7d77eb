//! The warp layer: filters extract and validate, handlers call [`Sessions`] functions.
//! Every rejection becomes a JSON error in [`recover`].

mod auth;
mod body;
mod health;
mod sessions;

pub use body::Body;

use crate::actors::Sessions;
use crate::error::ApiError;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

/// What every handler may use.
#[derive(Clone)]
pub struct Ctx {
    pub sessions: Sessions,
    /// Set on SIGTERM: new work gets 503 while in-flight requests finish.
    pub draining: Arc<AtomicBool>,
}

impl Ctx {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

pub fn routes(ctx: Ctx) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    let api = health::routes(ctx.clone())
        .or(sessions::routes(ctx.clone()))
        .unify();
    api.recover(recover)
        .unify()
        .with(warp::log::custom(log_request))
}

/// Turn a handler's result into a response.
pub fn respond(result: Result<warp::reply::Response, ApiError>) -> warp::reply::Response {
    result.unwrap_or_else(ApiError::into_response)
}

/// Pass the context to handlers; refuse new work while draining.
fn with_ctx(ctx: Ctx) -> impl Filter<Extract = (Ctx,), Error = Rejection> + Clone {
    warp::any().and_then(move || {
        let ctx = ctx.clone();
        async move {
            if ctx.is_draining() {
                Err(warp::reject::custom(
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the service is shutting down",
                    )
                    .retry_after(5),
                ))
            } else {
                Ok(ctx)
            }
        }
    })
}

fn log_request(info: warp::log::Info<'_>) {
    // Paths only: bodies and headers may carry credentials or tokens.
    tracing::debug!(
        target: "emodal_api::http",
        method = %info.method(),
        path = info.path(),
        status = info.status().as_u16(),
        elapsed_ms = info.elapsed().as_millis() as u64,
    );
}

async fn recover(rejection: Rejection) -> Result<warp::reply::Response, Infallible> {
    let error = if let Some(e) = rejection.find::<ApiError>() {
        ApiError {
            status: e.status,
            message: e.message.clone(),
            extra: e.extra.clone(),
            retry_after: e.retry_after,
        }
    } else if rejection.is_not_found() {
        ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
    } else if rejection.find::<warp::reject::MethodNotAllowed>().is_some() {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed for this endpoint",
        )
    } else if rejection.find::<warp::reject::PayloadTooLarge>().is_some() {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
    } else if rejection.find::<warp::reject::LengthRequired>().is_some() {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "a Content-Length header is required",
        )
    } else if rejection
        .find::<warp::reject::UnsupportedMediaType>()
        .is_some()
    {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as application/json",
        )
    } else if rejection.find::<warp::reject::MissingHeader>().is_some() {
        ApiError::new(StatusCode::BAD_REQUEST, "a required header is missing")
    } else if rejection.find::<warp::reject::InvalidQuery>().is_some() {
        ApiError::bad_request("invalid query string")
    } else {
        tracing::error!(?rejection, "unhandled rejection");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    };
    Ok(error.into_response())
}

/// `warp::reply::json` with a status, as a plain response.
pub fn json_reply(status: StatusCode, value: &serde_json::Value) -> warp::reply::Response {
    warp::reply::with_status(warp::reply::json(value), status).into_response()
}
