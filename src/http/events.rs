//! `GET /events`: the supervision events of the caller's sessions, and the service-wide ones,
//! live as Server-Sent Events (`GET /events?session_id=<id>`: that session's only).
//!
//! Each stream holds one subscription to [`crate::telemetry::events`] and no task of its own:
//! when the client goes, hyper drops the body and the subscription with it.
//!
//! An open stream is not a request in flight: shutdown waits for in-flight requests (up to
//! `server.drain_timeout`), and an open dashboard would hold every SIGTERM for that long. The
//! handler takes its context from `with_ctx` like every endpoint (so it is refused while
//! draining) but lets go of it, and with it its place in `in_flight`, once the response head
//! is ready; the stream keeps only the draining flag, and ends itself once the service
//! drains.

use super::{Ctx, auth, with_ctx};
use crate::error::ApiError;
use crate::telemetry::events::{self as feed, Published};
use serde::Deserialize;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use warp::http::StatusCode;
use warp::sse::Event;
use warp::{Filter, Rejection, Reply};

/// A comment this often keeps proxies from closing an idle stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How soon a stream notices that the service drains.
const DRAIN_CHECK: Duration = Duration::from_millis(250);

#[derive(Deserialize)]
struct EventsQuery {
    session_id: Option<String>,
}

pub fn routes(
    ctx: Ctx,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Rejection> + Clone {
    warp::path!("events")
        .and(warp::get())
        .and(with_ctx(ctx.clone()))
        .and(auth::scope(ctx.tokens.clone()))
        .and(warp::query::<EventsQuery>())
        .map(events)
}

fn events(ctx: Ctx, scope: String, query: EventsQuery) -> warp::reply::Response {
    if let Some(id) = &query.session_id
        && crate::actors::scope_of(id).as_deref() != Some(scope.as_str())
    {
        // Another token's session answers as an unknown one does.
        return ApiError::new(StatusCode::NOT_FOUND, format!("session not found: {id}"))
            .into_response();
    }
    // Subscribed before the answer leaves: what happens after the client sees 200 is in it.
    let subscription = Subscription {
        rx: feed::subscribe(),
        scope,
        session: query.session_id,
        draining: ctx.draining.clone(),
    };
    drop(ctx);
    let stream = warp::sse::keep_alive()
        .interval(KEEP_ALIVE)
        .text(" keep-alive")
        .stream(Stream::new(subscription));
    warp::sse::reply(stream).into_response()
}

/// One client's view of the feed.
struct Subscription {
    rx: Receiver<Arc<Published>>,
    scope: String,
    session: Option<String>,
    draining: Arc<AtomicBool>,
}

impl Subscription {
    /// The next thing to send, or `None` when the stream should end.
    async fn next(mut self) -> Option<(Event, Subscription)> {
        loop {
            let received = if self.draining.load(Ordering::SeqCst) {
                // Send what was published before the drain began (`shutdown_started`
                // among it), then end.
                match self.rx.try_recv() {
                    Ok(item) => Ok(item),
                    Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                    Err(_) => return None,
                }
            } else {
                tokio::select! {
                    biased;
                    received = self.rx.recv() => received,
                    () = tokio::time::sleep(DRAIN_CHECK) => continue,
                }
            };
            match received {
                Ok(item) if item.visible_to(&self.scope, self.session.as_deref()) => {
                    let event = Event::default()
                        .id(item.seq.to_string())
                        .event(item.name.clone())
                        .data(item.data.clone());
                    return Some((event, self));
                }
                Ok(_) => {}
                // Fell more than the channel's capacity behind: say how much was skipped
                // and go on from the oldest item still there.
                Err(RecvError::Lagged(n)) => {
                    return Some((Event::default().comment(format!(" lagged {n}")), self));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

type Step = Pin<Box<dyn Future<Output = Option<(Event, Subscription)>> + Send>>;

/// [`Subscription::next`] over and over, as the stream warp's SSE reply takes. The pending
/// step sits in a mutex only because warp wants the stream `Sync`; it is never contended
/// (`get_mut`).
struct Stream {
    step: Mutex<Option<Step>>,
}

impl Stream {
    fn new(subscription: Subscription) -> Stream {
        Stream {
            step: Mutex::new(Some(Box::pin(subscription.next()))),
        }
    }
}

impl warp::Stream for Stream {
    type Item = Result<Event, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let slot = self
            .get_mut()
            .step
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(step) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        match step.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                *slot = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some((event, subscription))) => {
                *slot = Some(Box::pin(subscription.next()));
                Poll::Ready(Some(Ok(event)))
            }
        }
    }
}
