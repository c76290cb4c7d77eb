//! `GET /sessions` in cluster mode: every node's rows, each naming its node, as one listing.
//! Each node asked answers with its own rows only: a forwarded request is replayed straight
//! into that node's routes, never into its router.

use super::{Router, collect, into_warp};
use bytes::Bytes;
use serde_json::Value;
use std::time::Duration;
use warp::http::{self, StatusCode};

impl Router {
    /// `GET /sessions`: this node's rows and every other node's that serves a session (each
    /// asked for its own only), as one listing; a node that does not answer is left out.
    pub(super) async fn list(
        &self,
        request: http::Request<Bytes>,
        request_id: &str,
    ) -> warp::reply::Response {
        let asks = self
            .owners
            .nodes()
            .into_iter()
            .filter(|n| n != self.cluster.node_id())
            .map(|node| {
                let request = request.clone();
                async move {
                    let ask = self.forward(&node, request, Duration::from_secs(10), request_id);
                    let answer = Box::pin(ask).await;
                    (node, answer)
                }
            });
        let (mine, theirs) = futures_util::future::join(
            async { collect((self.direct)(request.clone()).await).await },
            futures_util::future::join_all(asks),
        )
        .await;
        if mine.status() != StatusCode::OK {
            return into_warp(mine);
        }
        let Ok(mut listing) = serde_json::from_slice::<Value>(mine.body()) else {
            return into_warp(mine);
        };
        let mut rows = listing["sessions"].as_array().cloned().unwrap_or_default();
        for (node, answer) in theirs {
            let theirs = (answer.status() == StatusCode::OK)
                .then(|| serde_json::from_slice::<Value>(answer.body()).ok())
                .flatten();
            match theirs.as_ref().and_then(|v| v["sessions"].as_array()) {
                Some(more) => rows.extend(more.iter().cloned()),
                None => {
                    tracing::warn!(event = "cluster_list_partial", node = %node, status = answer.status().as_u16(), request_id, "a node's sessions are missing from the listing")
                }
            }
        }
        listing["active_sessions"] = Value::from(rows.len());
        listing["sessions"] = Value::Array(rows);
        let (parts, _) = mine.into_parts();
        let mut answer = http::Response::from_parts(parts, Bytes::from(listing.to_string()));
        answer.headers_mut().remove(http::header::CONTENT_LENGTH);
        into_warp(answer)
    }
}
