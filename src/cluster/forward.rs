//! HTTP requests forwarded to the node that serves a session, over NATS request-reply
//! (issue 15): the request goes whole (method, path and query, headers, body) to
//! `<namespace>.node.<node>.http`; that node's responder replays it into its own warp
//! routes and the answer comes back whole (status, headers, body), so a client cannot tell
//! which node served it.
//!
//! On the wire the body is the message payload and everything else is NATS headers: the
//! HTTP headers under their own (lower-case) names, and `Emodal-Fwd-*` for the method, path,
//! status and sending node. NATS refuses a message over the server's `max_payload` (1 MB by
//! default): a request body never comes near it (bodies are capped at 256 KiB), and an
//! answer over it comes back as a 502 JSON error saying so, never as a hang or a cut body.
//! (The files clients download do not travel this way: they are in the object store.)

use super::Cluster;
use async_nats::{HeaderMap as NatsHeaders, RequestErrorKind};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;
use warp::http::{self, HeaderName, HeaderValue, StatusCode};

/// Set on a request replayed by the responder: the node it came from. A request carrying
/// it is served where it lands, never forwarded again.
pub const FORWARDED: &str = "x-emodal-forwarded";

const METHOD: &str = "Emodal-Fwd-Method";
const PATH: &str = "Emodal-Fwd-Path";
const STATUS: &str = "Emodal-Fwd-Status";
const FROM: &str = "Emodal-Fwd-From";

/// This node's HTTP routes, taking a buffered request.
pub type Local =
    Arc<dyn Fn(http::Request<Bytes>) -> BoxFuture<'static, http::Response<Bytes>> + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// Nobody listens on the node's subject (it is gone, or NATS is away), or it did not
    /// answer in time: the client should retry (503).
    #[error("{0}")]
    Unreachable(String),
    /// The answer (or request) is larger than NATS carries (502).
    #[error("{0}")]
    TooLarge(String),
}

/// Send `request` to `node` and wait at most `timeout` for its answer. Dropping the future
/// drops the reply subscription; the owner's answer then goes nowhere.
pub async fn send(
    cluster: &Cluster,
    node: &str,
    request: http::Request<Bytes>,
    timeout: Duration,
) -> Result<http::Response<Bytes>, ForwardError> {
    let link = match cluster.link() {
        Some(link) if cluster.connected() => link,
        _ => {
            return Err(ForwardError::Unreachable(format!(
                "node {node} serves this session and the cluster's NATS is unreachable"
            )));
        }
    };
    let (parts, body) = request.into_parts();
    let mut headers = http_to_nats(&parts.headers);
    headers.insert(METHOD, parts.method.as_str());
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    headers.insert(PATH, path);
    headers.insert(FROM, cluster.node_id());
    let message = async_nats::Request::new()
        .headers(headers)
        .payload(body)
        .timeout(Some(timeout));
    let reply = link
        .client
        .send_request(cluster.http_subject(node), message)
        .await
        .map_err(|e| match e.kind() {
            RequestErrorKind::NoResponders => ForwardError::Unreachable(format!(
                "node {node}, which serves this session, does not answer"
            )),
            RequestErrorKind::TimedOut => ForwardError::Unreachable(format!(
                "node {node}, which serves this session, did not answer within {} s",
                timeout.as_secs()
            )),
            RequestErrorKind::MaxPayloadExceeded => {
                ForwardError::TooLarge(format!("the request is too large to forward: {e}"))
            }
            _ => ForwardError::Unreachable(format!("forwarding to node {node} failed: {e}")),
        })?;
    let headers = reply.headers.unwrap_or_default();
    let status = headers
        .get(STATUS)
        .and_then(|v| v.as_str().parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| {
            ForwardError::Unreachable(format!("node {node} sent an answer without a status"))
        })?;
    let mut response = http::Response::new(reply.payload);
    *response.status_mut() = status;
    *response.headers_mut() = nats_to_http(&headers);
    Ok(response)
}

/// Answer requests forwarded to this node (its `http_subject`) with `local`, until the
/// task is aborted. Waits for NATS; the client re-subscribes by itself after a reconnect.
pub fn spawn_responder(cluster: Cluster, local: Local) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let link = cluster.linked().await;
        let subject = cluster.http_subject(cluster.node_id());
        let mut requests = loop {
            match link.client.subscribe(subject.clone()).await {
                Ok(sub) => break sub,
                Err(e) => {
                    tracing::warn!(event = "cluster_responder_failed", error = %e, "retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        tracing::info!(event = "cluster_responder", subject = %subject, "taking forwarded requests");
        while let Some(message) = requests.next().await {
            let (client, local) = (link.client.clone(), local.clone());
            tokio::spawn(async move {
                let Some(reply) = message.reply.clone() else {
                    return;
                };
                let response = match nats_to_request(&message) {
                    Some(request) => local(request).await,
                    None => error_response(StatusCode::BAD_REQUEST, "malformed forwarded request"),
                };
                let (parts, body) = response.into_parts();
                let mut headers = http_to_nats(&parts.headers);
                headers.insert(STATUS, parts.status.as_str());
                let sent = client
                    .publish_with_headers(reply.clone(), headers, body)
                    .await;
                if let Err(e) = sent {
                    let too_large =
                        e.kind() == async_nats::client::PublishErrorKind::MaxPayloadExceeded;
                    tracing::warn!(event = "forward_reply_failed", error = %e);
                    if too_large {
                        let response = error_response(
                            StatusCode::BAD_GATEWAY,
                            &format!(
                                "the answer is larger than NATS carries between nodes ({e}); ask the node that serves the session directly"
                            ),
                        );
                        let (parts, body) = response.into_parts();
                        let mut headers = http_to_nats(&parts.headers);
                        headers.insert(STATUS, parts.status.as_str());
                        let _ = client.publish_with_headers(reply, headers, body).await;
                    }
                }
            });
        }
    })
}

/// The request a forwarded message carries, marked as forwarded.
fn nats_to_request(message: &async_nats::Message) -> Option<http::Request<Bytes>> {
    let headers = message.headers.as_ref()?;
    let method = http::Method::from_bytes(headers.get(METHOD)?.as_str().as_bytes()).ok()?;
    let path = headers.get(PATH)?.as_str();
    if !path.starts_with('/') {
        return None;
    }
    let from = headers.get(FROM).map(|v| v.as_str()).unwrap_or("unknown");
    let mut request = http::Request::new(message.payload.clone());
    *request.method_mut() = method;
    *request.uri_mut() = path.parse().ok()?;
    *request.headers_mut() = nats_to_http(headers);
    request
        .headers_mut()
        .insert(FORWARDED, HeaderValue::from_str(from).ok()?);
    Some(request)
}

/// A JSON error like every other the API answers.
pub fn error_response(status: StatusCode, message: &str) -> http::Response<Bytes> {
    let body = serde_json::json!({ "success": false, "error": message });
    let mut response = http::Response::new(Bytes::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// [`error_response`] with a `Retry-After` of `seconds`.
pub fn error_response_retry(
    status: StatusCode,
    message: &str,
    seconds: u64,
) -> http::Response<Bytes> {
    let mut response = error_response(status, message);
    response
        .headers_mut()
        .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// Headers that belong to one connection (RFC 9110 7.6.1), not to the message: the hop to
/// the owner is NATS, and hyper writes its own framing on the way out.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
    )
}

fn http_to_nats(headers: &http::HeaderMap) -> NatsHeaders {
    let mut out = NatsHeaders::new();
    for (name, value) in headers {
        let name_str = name.as_str();
        // Ours and NATS's own names are kept out of the HTTP headers' way.
        if hop_by_hop(name) || name_str.starts_with("emodal-fwd-") || name_str.starts_with("nats-")
        {
            continue;
        }
        // NATS header values are text on one line; an opaque (non-UTF-8) value is dropped.
        if let Ok(text) = value.to_str()
            && !text.contains(['\r', '\n'])
        {
            out.append(name_str, text);
        }
    }
    out
}

fn nats_to_http(headers: &NatsHeaders) -> http::HeaderMap {
    let mut out = http::HeaderMap::new();
    for (name, values) in headers.iter() {
        let name: &str = name.as_ref();
        if name.starts_with("Emodal-Fwd-") {
            continue;
        }
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        if hop_by_hop(&name) {
            continue;
        }
        for value in values {
            if let Ok(value) = HeaderValue::from_str(value.as_str()) {
                out.append(name.clone(), value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_cross_unchanged_but_for_the_connection_ones() {
        let mut h = http::HeaderMap::new();
        h.insert("authorization", "Bearer t".parse().unwrap());
        h.insert("x-request-id", "abc".parse().unwrap());
        h.append("set-cookie", "a=1".parse().unwrap());
        h.append("set-cookie", "b=2".parse().unwrap());
        h.insert("retry-after", "5".parse().unwrap());
        h.insert("connection", "keep-alive".parse().unwrap());
        h.insert("content-length", "12".parse().unwrap());
        h.insert("emodal-fwd-status", "200".parse().unwrap());
        let back = nats_to_http(&http_to_nats(&h));
        assert_eq!(back["authorization"], "Bearer t");
        assert_eq!(back["x-request-id"], "abc");
        assert_eq!(back["retry-after"], "5");
        let cookies: Vec<_> = back.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(back.get("connection").is_none());
        assert!(back.get("content-length").is_none());
        assert!(back.get("emodal-fwd-status").is_none());
    }

    #[test]
    fn a_forwarded_message_becomes_a_marked_request() {
        let mut headers = http_to_nats(&http::HeaderMap::new());
        headers.insert(METHOD, "POST");
        headers.insert(PATH, "/get_containers?x=1");
        headers.insert(FROM, "node-a");
        headers.insert("x-request-id", "r1");
        let message = async_nats::Message {
            subject: "emodal.node.b.http".into(),
            reply: Some("_INBOX.1".into()),
            payload: Bytes::from_static(b"{}"),
            headers: Some(headers),
            status: None,
            description: None,
            length: 0,
        };
        let request = nats_to_request(&message).unwrap();
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri(), "/get_containers?x=1");
        assert_eq!(request.headers()[FORWARDED], "node-a");
        assert_eq!(request.headers()["x-request-id"], "r1");
        assert_eq!(request.body(), &Bytes::from_static(b"{}"));
    }
}
