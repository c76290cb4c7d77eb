//! Cluster mode's routing (issue 15), in front of the warp routes: each request is served
//! here or forwarded whole to the node that serves its session (see `cluster::forward`).
//!
//! - `POST /get_session`: the cluster-wide claim (`cluster::owners`) picks the session id and
//!   its node; the request runs there with `x-emodal-session-id`, the id the new session
//!   must take. A node answering 429 "at capacity" hands the claim to another node with room.
//! - `/sessions/{id}[/...]`, and any POST whose JSON body names a `session_id`: the node in
//!   `sessions[id]`; unknown ids and this node's own run here (a 404/400 as ever).
//! - A POST with credentials and no `session_id`: its credentials' session is claimed as a
//!   `get_session` would, then the request goes to that session's node.
//! - `GET /sessions`: this node's rows and those of every node named in a session record,
//!   merged (`list.rs`).
//! - Everything else runs here: files (another node's come from the object store), health,
//!   metrics, the dashboard, and `/events` (a stream: each node's events are its own).
//!
//! Requests from outside never carry `x-emodal-*` headers (they are removed on arrival):
//! those are trusted only from this router and the responder. A request replayed by the
//! responder is never forwarded again.

mod claim;
mod list;

use claim::credentials_of;

use super::Ctx;
use crate::cluster::Cluster;
use crate::cluster::forward::{self as wire, ForwardError, Local};
use crate::cluster::owners::Owners;
use crate::credentials::Keyer;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use warp::http::{self, HeaderValue, Method, StatusCode};

/// How long a request for a session moving to this node waits for it to arrive.
const ARRIVAL_WAIT: Duration = Duration::from_secs(3);

/// The id a session being created must take (set by the router or the responder only).
pub const SESSION_ID: &str = "x-emodal-session-id";

/// This node's warp routes, taking a buffered request and answering as warp does.
pub type Direct =
    Arc<dyn Fn(http::Request<Bytes>) -> BoxFuture<'static, warp::reply::Response> + Send + Sync>;

/// Decides where each request of cluster mode runs.
#[derive(Clone)]
pub struct Router {
    ctx: Ctx,
    cluster: Cluster,
    owners: Owners,
    keyer: Keyer,
    direct: Direct,
}

impl Router {
    pub fn new(ctx: Ctx, cluster: Cluster, direct: Direct) -> Router {
        // Cluster mode requires `sessions.secret` (settings validation refuses to start
        // without it), so every node computes the same keys from it.
        let keyer = Keyer::new(ctx.sessions.settings().sessions.secret.expose().as_bytes());
        Router {
            owners: Owners::start(cluster.clone()),
            ctx,
            cluster,
            keyer,
            direct,
        }
    }

    /// This node's routes with their answer buffered, for the responder.
    pub fn local(&self) -> Local {
        let direct = self.direct.clone();
        Arc::new(move |request| {
            let direct = direct.clone();
            Box::pin(async move { collect(direct(request).await).await })
        })
    }

    /// Serve one request from outside.
    pub async fn handle(
        &self,
        request: http::Request<hyper::body::Incoming>,
    ) -> warp::reply::Response {
        let (mut parts, body) = request.into_parts();
        strip_internal(&mut parts.headers);
        let limit = super::body::MAX_BODY as usize + 1024;
        let body = match http_body_util::Limited::new(body, limit).collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body is too large",
                    None,
                );
            }
            Err(_) => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                    None,
                );
            }
        };
        // The same id on this node's line and on the owner's.
        let request_id = match crate::telemetry::request::current() {
            Some(trace) => trace.id.clone(),
            None => {
                let sent = parts
                    .headers
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok());
                crate::telemetry::request::RequestTrace::new(sent)
                    .id
                    .clone()
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            parts.headers.insert("x-request-id", v);
        }
        let request = http::Request::from_parts(parts, body);
        let path = request.uri().path().to_string();
        let method = request.method().clone();
        if method == Method::POST && path == "/get_session" {
            return Box::pin(self.get_session(request, &request_id)).await;
        }
        if method == Method::GET && path == "/sessions" {
            return Box::pin(self.list(request, &request_id)).await;
        }
        if let Some(id) = path
            .strip_prefix("/sessions/")
            .map(|rest| rest.split('/').next().unwrap_or(""))
        {
            let id = id.to_string();
            return Box::pin(self.to_owner(&id, request, &request_id)).await;
        }
        if method == Method::POST {
            let body: Option<Value> = serde_json::from_slice(request.body()).ok();
            let id = body
                .as_ref()
                .and_then(|b| b.get("session_id"))
                .and_then(Value::as_str);
            let creds = body.as_ref().and_then(credentials_of);
            if let Some(id) = id.filter(|id| !id.is_empty()) {
                let id = id.to_string();
                // An id the cluster does not know, with credentials: the handler would fall
                // back to the credentials' session, which must be the cluster's.
                if creds.is_none() || Box::pin(self.owners.owner_of(&id)).await.is_some() {
                    return Box::pin(self.to_owner(&id, request, &request_id)).await;
                }
            }
            if let Some(creds) = creds {
                return Box::pin(self.by_credentials(creds, request, &request_id)).await;
            }
        }
        (self.direct)(request).await
    }

    /// The node serving session `id`, or here. An answer that may mean "not here" (404, a
    /// 400 session_not_found, a 503) is checked against the bucket itself: when the record
    /// names another node than the copy did (the session moved while the watch lagged),
    /// the request goes there instead, once.
    async fn to_owner(
        &self,
        id: &str,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> warp::reply::Response {
        let me = self.cluster.node_id();
        let cached = Box::pin(self.owners.owner_of(id)).await.map(|r| r.node);
        let cached = cached.filter(|n| n != me);
        let answer = Box::pin(self.at(cached.as_deref(), request.clone(), request_id)).await;
        let (answer, not_here) = maybe_not_here(answer).await;
        if !not_here {
            return answer;
        }
        let Some(record) = Box::pin(self.owners.lookup(id)).await else {
            // The registry cannot say now (a NATS server lost under this node): the answer
            // stands; running the request here would turn "retry" into "no such session".
            return answer;
        };
        let record = record.map(|r| r.node);
        let fresh = record.clone().filter(|n| n != me);
        if fresh == cached {
            if cached.is_none()
                && record.as_deref() == Some(me)
                && answer.status() != StatusCode::SERVICE_UNAVAILABLE
            {
                return Box::pin(self.arriving(id, request, request_id)).await;
            }
            return answer;
        }
        tracing::info!(event = "session_route_refreshed", session_id = %id, was = ?cached, now = ?fresh, request_id);
        Box::pin(self.at(fresh.as_deref(), request, request_id)).await
    }

    /// The session's record names this node, but this node answered "no such session": the
    /// session is on its way here (a draining node handed it over, or a takeover claimed it)
    /// and its adoption follows within moments. Ask again for a short while rather than tell
    /// the client it is gone; then a 503 to retry.
    async fn arriving(
        &self,
        id: &str,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> warp::reply::Response {
        let deadline = Instant::now() + ARRIVAL_WAIT;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let (answer, not_here) = maybe_not_here((self.direct)(request.clone()).await).await;
            if !not_here || answer.status() == StatusCode::SERVICE_UNAVAILABLE {
                return answer;
            }
        }
        tracing::info!(event = "session_arriving", session_id = %id, request_id, "the record names this node but the session has not arrived yet");
        into_warp(wire::error_response_retry(
            StatusCode::SERVICE_UNAVAILABLE,
            "the session is moving to this node; retry shortly",
            1,
        ))
    }

    /// Run `request` on `node`, here when `None`.
    async fn at(
        &self,
        node: Option<&str>,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> warp::reply::Response {
        match node {
            Some(node) => {
                let timeout = self.operation_timeout();
                into_warp(Box::pin(self.forward(node, request, timeout, request_id)).await)
            }
            None => (self.direct)(request).await,
        }
    }

    async fn run_on(
        &self,
        node: &str,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> http::Response<Bytes> {
        if node == self.cluster.node_id() {
            collect((self.direct)(request).await).await
        } else {
            // A login waits for Chrome, the captcha service and the portal.
            let limit = self.ctx.sessions.settings().sessions.login_timeout + 60;
            Box::pin(self.forward(node, request, Duration::from_secs(limit), request_id)).await
        }
    }

    async fn forward(
        &self,
        node: &str,
        request: http::Request<Bytes>,
        timeout: Duration,
        request_id: &str,
    ) -> http::Response<Bytes> {
        let began = Instant::now();
        let (method, path) = (request.method().clone(), request.uri().path().to_string());
        let sent = Box::pin(wire::send(&self.cluster, node, request, timeout));
        let answer = match self.unless_dead(node, sent).await {
            Ok(answer) => answer,
            Err(ForwardError::Unreachable(message)) => {
                wire::error_response_retry(StatusCode::SERVICE_UNAVAILABLE, &message, 5)
            }
            Err(ForwardError::TooLarge(message)) => {
                wire::error_response(StatusCode::BAD_GATEWAY, &message)
            }
        };
        let path = if path.starts_with("/sessions/") {
            "/sessions/{id}"
        } else {
            path.as_str()
        };
        tracing::info!(
            target: "emodal_api::http",
            event = "forwarded",
            method = %method,
            path,
            node,
            status = answer.status().as_u16(),
            elapsed_ms = (began.elapsed().as_secs_f64() * 1e6).round() / 1e3,
            request_id,
            "request"
        );
        answer
    }

    /// `sent`, or an unreachable error as soon as `node` is gone: a node that died with the
    /// request does not keep its caller waiting for the whole timeout (minutes, for a
    /// login). Gone means its heartbeat is older than `cluster.node_timeout` *and* it does
    /// not answer a `GET /health` sent to it: heartbeats can stall while the node is fine
    /// (a NATS server lost under the `nodes` stream), and then the request keeps waiting.
    async fn unless_dead(
        &self,
        node: &str,
        sent: impl Future<Output = Result<http::Response<Bytes>, ForwardError>>,
    ) -> Result<http::Response<Bytes>, ForwardError> {
        let dead = async {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // Judged only while connected: without NATS every node looks dead here.
                // A node not seen at all yet is not judged (it may have just started).
                let stale =
                    self.cluster.connected() && self.cluster.dead_nodes().iter().any(|d| d == node);
                if stale && !Box::pin(self.answers(node)).await {
                    return;
                }
            }
        };
        tokio::select! {
            answer = sent => answer,
            () = dead => Err(ForwardError::Unreachable(format!(
                "node {node}, which serves this session, stopped answering (no heartbeat); retry shortly"
            ))),
        }
    }

    /// Whether `node` answers a health check over NATS within 2 s (a node whose process is
    /// gone has no subscriber: NATS says so at once).
    async fn answers(&self, node: &str) -> bool {
        let mut probe = http::Request::new(Bytes::new());
        *probe.uri_mut() = http::Uri::from_static("/health");
        let probe = wire::send(&self.cluster, node, probe, Duration::from_secs(2));
        probe.await.is_ok()
    }

    /// Business operations wait for their session's turn and the portal; a margin for the
    /// hop and the queue.
    fn operation_timeout(&self) -> Duration {
        Duration::from_secs(self.ctx.sessions.settings().sessions.operation_timeout + 30)
    }
}

/// The answer, and whether it may mean the session is not served where it was sent: a 404,
/// a 503 (unreachable, or "moved, retry"), or a 400 whose `error_code` is
/// `session_not_found` (only such a 400's small body is read).
async fn maybe_not_here(answer: warp::reply::Response) -> (warp::reply::Response, bool) {
    match answer.status() {
        StatusCode::NOT_FOUND | StatusCode::SERVICE_UNAVAILABLE => (answer, true),
        StatusCode::BAD_REQUEST => {
            let answer = collect(answer).await;
            let code = serde_json::from_slice::<Value>(answer.body())
                .ok()
                .and_then(|b| {
                    b.get("error_code")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
            let not_here = code.as_deref() == Some("session_not_found");
            (into_warp(answer), not_here)
        }
        _ => (answer, false),
    }
}

/// Remove the internal headers a client may have sent.
pub fn strip_internal(headers: &mut http::HeaderMap) {
    let internal: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with("x-emodal-"))
        .cloned()
        .collect();
    for name in internal {
        headers.remove(name);
    }
}

/// A warp answer with its body in memory (small JSON, or what NATS carries anyway).
pub async fn collect(response: warp::reply::Response) -> http::Response<Bytes> {
    let (parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return wire::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("the answer could not be read: {e}"),
            );
        }
    };
    http::Response::from_parts(parts, body)
}

pub fn into_warp(response: http::Response<Bytes>) -> warp::reply::Response {
    response.map(Into::into)
}

fn json_error(
    status: StatusCode,
    message: &str,
    retry_after: Option<u64>,
) -> warp::reply::Response {
    let answer = match retry_after {
        Some(s) => wire::error_response_retry(status, message, s),
        None => wire::error_response(status, message),
    };
    into_warp(answer)
}
