//! `POST /get_session` in cluster mode: the claim, the run on the claimed node, and the
//! hand-over of a claim whose node is full (item 4).

use super::{Router, SESSION_ID, collect, into_warp};
use crate::cluster::forward as wire;
use crate::cluster::owners::Claim;
use crate::secret::Secret;
use bytes::Bytes;
use serde_json::Value;
use warp::http::{self, HeaderValue, Method, StatusCode};

impl Router {
    /// `POST /get_session`: claim, then run where the claim says.
    pub(super) async fn get_session(
        &self,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> warp::reply::Response {
        let Some(creds) = serde_json::from_slice::<Value>(request.body())
            .ok()
            .as_ref()
            .and_then(credentials_of)
        else {
            // Not a well-formed request: the handler says what is wrong with it.
            return (self.direct)(request).await;
        };
        let (answer, _) = Box::pin(self.claimed(creds, request, request_id)).await;
        into_warp(answer)
    }

    /// A business request with credentials and no session id: its credentials' session is
    /// made to exist where the cluster places it (a `get_session`), then the request runs
    /// there and finds it. (Its `is_new_session` then says false, as the session existed.)
    pub(super) async fn by_credentials(
        &self,
        creds: Creds,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> warp::reply::Response {
        let body = serde_json::json!({
            "username": creds.username,
            "password": creds.password,
            "captcha_api_key": creds.captcha_api_key,
            "keep_alive": true,
        });
        let mut login = http::Request::new(Bytes::from(body.to_string()));
        *login.method_mut() = Method::POST;
        *login.uri_mut() = http::Uri::from_static("/get_session");
        for name in ["authorization", "x-request-id", "host"] {
            if let Some(v) = request.headers().get(name) {
                login.headers_mut().insert(name, v.clone());
            }
        }
        login.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let (answer, node) = Box::pin(self.claimed(creds, login, request_id)).await;
        let Some(node) = node.filter(|_| answer.status() == StatusCode::OK) else {
            return into_warp(answer);
        };
        if node == self.cluster.node_id() {
            (self.direct)(request).await
        } else {
            let timeout = self.operation_timeout();
            into_warp(Box::pin(self.forward(&node, request, timeout, request_id)).await)
        }
    }

    /// Claim the credentials' session and run `request` (a `get_session`) on its node; the
    /// answer and the node that gave it.
    async fn claimed(
        &self,
        creds: Creds,
        mut request: http::Request<Bytes>,
        request_id: &str,
    ) -> (http::Response<Bytes>, Option<String>) {
        let scope = match super::super::auth::check(&self.ctx.tokens, auth_header(&request)) {
            Ok(scope) => scope,
            // The handler answers the 401.
            Err(_) => return (collect((self.direct)(request).await).await, None),
        };
        let key = self.keyer.key(
            &scope,
            &creds.username,
            &Secret::new(creds.password.clone()),
        );
        // A task of its own: a client hanging up between the two creates must not leave a
        // session record without its owner record behind.
        let router = self.clone();
        let claiming =
            tokio::spawn(async move { router.owners.claim(&scope, &key, || router.place()).await });
        let claimed = claiming.await.unwrap_or_else(|e| {
            Err(crate::cluster::owners::ClaimError::Unavailable(
                e.to_string(),
            ))
        });
        let claim = match claimed {
            Ok(claim) => claim,
            Err(e) => {
                tracing::warn!(event = "session_claim_refused", error = %e, request_id, "new session refused: the cluster registry is unreachable");
                let message = "new sessions cannot be registered while the cluster's NATS is unreachable; retry shortly";
                return (
                    wire::error_response_retry(StatusCode::SERVICE_UNAVAILABLE, message, 5),
                    None,
                );
            }
        };
        if let Ok(v) = HeaderValue::from_str(&claim.session_id) {
            request.headers_mut().insert(SESSION_ID, v);
        }
        let answer = Box::pin(self.run_on(&claim.node, request.clone(), request_id)).await;
        // Item 4: a full node does not refuse while another has room. The nodes' records
        // may be a heartbeat old: each node that says it is full is left out in turn.
        let (mut claim, mut answer, mut full) = (claim, answer, vec![]);
        while at_capacity(&answer) {
            full.push(claim.node.clone());
            let Some((node, moved)) = Box::pin(self.elsewhere(&claim, &full)).await else {
                break;
            };
            tracing::info!(event = "session_placed_elsewhere", from = %claim.node, to = %node, session_id = %claim.session_id, request_id, "target at capacity");
            claim = moved;
            answer = Box::pin(self.run_on(&node, request.clone(), request_id)).await;
        }
        (answer, Some(claim.node))
    }

    /// Another live node with room, not in `full`, for a session claimed on a full one, and
    /// the claim moved there; `None` when there is none (the 429 stands).
    async fn elsewhere(&self, claim: &Claim, full: &[String]) -> Option<(String, Claim)> {
        let node = self.place_excluding(full)?;
        let revision = self.owners.move_to(claim, &node).await?;
        let moved = Claim {
            node: node.clone(),
            revision,
            ..claim.clone()
        };
        Some((node, moved))
    }

    /// The node a new session goes to (live, not draining, most free capacity).
    pub(super) fn place(&self) -> String {
        self.cluster.pick_node()
    }

    /// A live node with room, other than those in `full` (which said they have none).
    fn place_excluding(&self, full: &[String]) -> Option<String> {
        let candidates: Vec<_> = self
            .cluster
            .live_nodes()
            .into_iter()
            .filter(|n| !full.contains(&n.node_id) && n.sessions < n.capacity)
            .collect();
        crate::cluster::nodes::rank(&candidates).map(|n| n.node_id.clone())
    }
}

/// The three credentials a body carries, when it carries all three as strings.
#[derive(Clone)]
pub(super) struct Creds {
    username: String,
    password: String,
    captcha_api_key: String,
}

pub(super) fn credentials_of(body: &Value) -> Option<Creds> {
    let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    Some(Creds {
        username: field("username")?,
        password: field("password")?,
        captcha_api_key: field("captcha_api_key")?,
    })
}

fn auth_header<B>(request: &http::Request<B>) -> Option<&str> {
    request
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// A 429 whose body says the node is full (not a token's quota or a busy session).
fn at_capacity(answer: &http::Response<Bytes>) -> bool {
    answer.status() == StatusCode::TOO_MANY_REQUESTS
        && serde_json::from_slice::<Value>(answer.body())
            .ok()
            .and_then(|b| {
                b.get("error_code")
                    .and_then(Value::as_str)
                    .map(|c| c == "at_capacity")
            })
            .unwrap_or(false)
}
