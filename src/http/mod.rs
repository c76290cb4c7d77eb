//! The warp layer: filters extract and validate, handlers call [`Sessions`] functions.
//! Every rejection becomes a JSON error in [`recover`].

mod appointment_state;
mod appointments;
mod auth;
mod body;
mod containers;
mod dashboard;
mod events;
mod files;
mod forward;
mod health;
mod metrics;
mod openapi;
mod operation;
mod requests;
mod server;
mod sessions;
mod wizard_input;

pub use body::Body;
pub use server::serve;

use crate::actors::Sessions;
use crate::error::ApiError;
use crate::files::FileStore;
use crate::secret::Secret;
pub use appointment_state::AppointmentState;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

/// What every handler may use.
#[derive(Clone)]
pub struct Ctx {
    pub sessions: Sessions,
    pub files: FileStore,
    pub appointments: Arc<AppointmentState>,
    pub tokens: Arc<Vec<Secret>>,
    /// `http://<bound address>`, for requests without a Host header.
    pub local_base: String,
    /// Set on SIGTERM: new work gets 503 while in-flight requests finish.
    pub draining: Arc<AtomicBool>,
    /// Requests being handled; shutdown waits for this to reach zero.
    pub in_flight: Arc<AtomicUsize>,
    /// Cluster mode: this node's view of the cluster (set by the wiring); `None` alone.
    pub cluster: Option<crate::cluster::Cluster>,
    /// Held by the handler's copy of the context: counts the request while it runs.
    _request: Option<Arc<RequestGuard>>,
}

/// Counts one request in `Ctx::in_flight` until dropped.
struct RequestGuard(Arc<AtomicUsize>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ctx {
    pub fn new(sessions: Sessions, files: FileStore, local_base: String) -> Ctx {
        let tokens = Arc::new(sessions.settings().server.api_tokens.clone());
        let timeout = std::time::Duration::from_secs(
            sessions.settings().sessions.appointment_session_timeout,
        );
        Ctx {
            sessions,
            files,
            appointments: Arc::new(AppointmentState::new(timeout)),
            tokens,
            local_base,
            draining: Arc::default(),
            in_flight: Arc::default(),
            cluster: None,
            _request: None,
        }
    }

    /// A copy of the context that counts as one request in flight while it lives.
    fn for_request(&self) -> Ctx {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Ctx {
            _request: Some(Arc::new(RequestGuard(self.in_flight.clone()))),
            ..self.clone()
        }
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

pub fn routes(ctx: Ctx) -> impl Filter<Extract = (impl Reply,), Error = Infallible> + Clone {
    // Each group boxed: one chain of every route's filter types made a future whose poll
    // took more stack than a runtime worker has in a debug build.
    let api = health::routes(ctx.clone())
        .boxed()
        .or(sessions::routes(ctx.clone()).boxed())
        .unify()
        .or(containers::routes(ctx.clone()).boxed())
        .unify()
        .or(appointments::routes(ctx.clone()).boxed())
        .unify()
        .or(files::routes(ctx.clone()).boxed())
        .unify()
        .or(metrics::routes(ctx.clone()).boxed())
        .unify()
        .or(events::routes(ctx.clone()).boxed())
        .unify()
        .or(dashboard::routes().boxed())
        .unify()
        .or(openapi::routes().boxed())
        .unify();
    let log_requests = ctx.sessions.settings().log.requests;
    warp::any()
        .map(std::time::Instant::now)
        .and(warp::method())
        .and(warp::path::full())
        .and(request_id())
        .and(api.recover(recover).unify())
        .map(move |start, method, path, request_id, response| {
            finish(log_requests, start, method, path, request_id, response)
        })
}

/// This request's id: its trace's (see `telemetry::request`), or, with `log.requests` off,
/// the client's `X-Request-Id` when sane, else a new one.
fn request_id() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    // The one header alone (a reference-counted copy), not the whole map: with a trace it
    // is not even read.
    warp::header::value("x-request-id")
        .map(Some)
        .or(warp::any().map(|| None))
        .unify()
        .map(
            |sent: Option<warp::http::HeaderValue>| match crate::telemetry::request::current() {
                Some(trace) => trace.id.clone(),
                None => {
                    let sent = sent.as_ref().and_then(|v| v.to_str().ok());
                    crate::telemetry::request::RequestTrace::new(sent)
                        .id
                        .clone()
                }
            },
        )
}

/// Every answer: the `Allow` of a 405, the request id, one log line and the metrics.
fn finish(
    log_requests: bool,
    start: std::time::Instant,
    method: warp::http::Method,
    path: warp::path::FullPath,
    request_id: String,
    response: warp::reply::Response,
) -> warp::reply::Response {
    let mut response = allow_header(&path, response);
    if let Ok(value) = warp::http::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    if !log_requests {
        return response;
    }
    let status = response.status().as_u16();
    // Served through the server loop, the request has a trace; otherwise only its total.
    let trace = crate::telemetry::request::current();
    let b = match &trace {
        Some(trace) => trace.breakdown(),
        None => crate::telemetry::request::Breakdown {
            total: start.elapsed(),
            ..Default::default()
        },
    };
    let session_id = trace.as_ref().and_then(|t| t.session_id());
    if trace.is_some()
        && let Ok(value) = warp::http::HeaderValue::from_str(&server_timing(&b))
    {
        response.headers_mut().insert("server-timing", value);
    }
    crate::metrics::request(method.as_str(), path.as_str(), status, b.total);
    // The split is worth its cost (nine histogram records, seven more log fields) where a
    // session actor ran an operation, a request of 100 ms or more; a warm `get_session`
    // answers in a fraction of a millisecond, and its lookup is its whole time.
    if b.ran {
        crate::metrics::request_stages(path.as_str(), &b);
    }
    // Paths only: bodies and headers may carry credentials or tokens. The health checks of
    // a load balancer would drown everything else: those at debug.
    let path = path.as_str();
    // A file's name is its only key (files are served without the token): never logged.
    let path = if path.starts_with("/files/") {
        "/files/{name}"
    } else {
        path
    };
    let session_id = session_id.as_deref().unwrap_or("-");
    let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    if matches!(path, "/health" | "/ready" | "/metrics") {
        tracing::debug!(target: "emodal_api::http", method = %method, path, status, elapsed_ms = ms(b.total), request_id = %request_id);
    } else if !b.ran {
        tracing::info!(target: "emodal_api::http", method = %method, path, status, elapsed_ms = ms(b.total), session_id, request_id = %request_id, "request");
    } else {
        tracing::info!(
            target: "emodal_api::http",
            method = %method,
            path,
            status,
            elapsed_ms = ms(b.total),
            session_id,
            request_id = %request_id,
            parse_ms = ms(b.parse),
            lookup_ms = ms(b.lookup),
            mailbox_ms = ms(b.mailbox),
            browser_wait_ms = ms(b.browser_wait),
            driver_ms = ms(b.driver),
            response_ms = ms(b.response),
            other_ms = ms(b.other),
            "request"
        );
    }
    response
}

/// The stages as a `Server-Timing` header (W3C Server Timing): a client, a browser's
/// developer tools or a benchmark sees where the service spent the request's time, and how
/// much of it was the portal's (`driver`).
fn server_timing(b: &crate::telemetry::request::Breakdown) -> String {
    let mut out = String::new();
    for (name, took) in b.stages() {
        out.push_str(&format!("{name};dur={:.3}, ", took.as_secs_f64() * 1e3));
    }
    out.push_str(&format!("total;dur={:.3}", b.total.as_secs_f64() * 1e3));
    out
}

/// A 405 says which methods the path takes (RFC 9110 requires `Allow`): the recovery above
/// only sees the rejection, not the path.
fn allow_header(
    path: &warp::path::FullPath,
    mut response: warp::reply::Response,
) -> warp::reply::Response {
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        let path = path.as_str();
        let allow = if path.starts_with("/sessions/") && path.ends_with("/screenshot") {
            "GET"
        } else if path.starts_with("/sessions/") {
            "GET, DELETE"
        } else if path == "/sessions"
            || path == "/events"
            || path == "/health"
            || path == "/ready"
            || path == "/metrics"
            || path == "/openapi.json"
            || path == "/dashboard"
            || path.starts_with("/dashboard/")
            || path.starts_with("/files/")
        {
            "GET"
        } else {
            "POST"
        };
        response
            .headers_mut()
            .insert(warp::http::header::ALLOW, allow.parse().expect("static"));
    }
    response
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
                Ok(ctx.for_request())
            }
        }
    })
}

/// The base of every URL the service hands out: `server.public_base_url` when set; else,
/// with `server.trust_forwarded_headers`, what a proxy says in `X-Forwarded-Proto` and
/// `X-Forwarded-Host`; else `http://<Host of the request>`, so URLs reach clients the way
/// they reached us.
fn base_url(ctx: &Ctx) -> impl Filter<Extract = (String,), Error = Rejection> + Clone + use<> {
    let fallback = ctx.local_base.clone();
    let server = &ctx.sessions.settings().server;
    let public = server.public_base_url.clone();
    let trust = server.trust_forwarded_headers;
    warp::header::optional::<String>("host")
        .and(warp::header::optional::<String>("x-forwarded-host"))
        .and(warp::header::optional::<String>("x-forwarded-proto"))
        .map(
            move |host: Option<String>, fwd_host: Option<String>, fwd_proto: Option<String>| {
                if !public.is_empty() {
                    return public.clone();
                }
                let valid = |h: &String| {
                    !h.is_empty()
                        && h.len() <= 255
                        && h.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
                };
                let (host, proto) = if trust {
                    // A proxy chain lists the client-facing value first.
                    let first = |v: Option<String>| {
                        v.and_then(|v| v.split(',').next().map(|s| s.trim().to_string()))
                    };
                    let proto = first(fwd_proto)
                        .filter(|p| p == "http" || p == "https")
                        .unwrap_or_else(|| "http".into());
                    (first(fwd_host).filter(valid).or(host), proto)
                } else {
                    (host, "http".to_string())
                };
                host.filter(valid)
                    .map(|h| format!("{proto}://{h}"))
                    .unwrap_or_else(|| fallback.clone())
            },
        )
}

/// The filters every business endpoint starts with: POST at `path`, context, caller's scope,
/// base URL and JSON body.
fn business(
    ctx: &Ctx,
    path: &'static str,
) -> impl Filter<Extract = (Ctx, String, String, Body), Error = Rejection> + Clone + use<> {
    warp::path(path)
        .and(warp::path::end())
        .and(warp::post())
        .and(with_ctx(ctx.clone()))
        .and(auth::scope(ctx.tokens.clone()))
        .and(base_url(ctx))
        .and(body::json())
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
