//! One HTTP request's trace: its id, the session it used, and where its time went.
//!
//! The server loop creates a [`RequestTrace`] per request and runs the request's future with
//! it as a task-local ([`scope`]). Code on the request's own task finds it with [`current`];
//! the session handle hands it to the session actor with the operation (and its id to the
//! manager with a `get_session`), so the actor can add what happened on its side (mailbox
//! wait, browser-thread wait, driver time) and run the operation, or a new session's login,
//! inside a `request` span: the events it emits there carry the request id (the log prints
//! span fields; the `/events` feed copies a span's `request_id`). The request's own task has
//! no span: the few events it emits name the id themselves, and a span per request (its
//! fields formatted by the log layer whether or not anything is logged in it) cost more than
//! the request log line itself on a warm `get_session`.
//!
//! Stages are summed, not nested: a read retried on a restarted session counts both runs.
//! Whatever falls between the recorded stages (a reply crossing back from the actor, task
//! wake-ups) is reported as `other`, so the stages always add up to the total.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

tokio::task_local! {
    static CURRENT: Arc<RequestTrace>;
}

/// What a request's time is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the SessionManager (finding the session; a login when one was needed).
    Lookup,
    /// Waiting in the session actor's mailbox behind its earlier work.
    Mailbox,
    /// Waiting for the session's browser thread to take the job.
    BrowserWait,
    /// The driver's own work on the page.
    Driver,
}

const STAGES: usize = 4;

impl Stage {
    fn index(self) -> usize {
        self as usize
    }
}

/// One request, as the log line and the stage histograms report it.
#[derive(Debug)]
pub struct RequestTrace {
    pub id: String,
    started: Instant,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    session_id: Option<String>,
    /// When the handler first asked the session layer for something.
    first_call: Option<Instant>,
    /// When the last answer from the session layer came back.
    last_answer: Option<Instant>,
    stages: [Duration; STAGES],
    ran: bool,
}

/// A request's time, split. `parse + lookup + mailbox + browser_wait + driver + response +
/// other == total`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Breakdown {
    /// Until the handler first called the session layer: routing, auth, body, validation.
    pub parse: Duration,
    pub lookup: Duration,
    pub mailbox: Duration,
    pub browser_wait: Duration,
    pub driver: Duration,
    /// From the last answer of the session layer to the response: files, JSON, headers.
    pub response: Duration,
    /// Between the stages above: an answer travelling back from the actor, wake-ups.
    pub other: Duration,
    pub total: Duration,
    /// An operation reached a session actor: the stages beyond `lookup` mean something.
    pub ran: bool,
}

impl Breakdown {
    /// (name, duration) of each stage, in the order a request goes through them.
    pub fn stages(&self) -> [(&'static str, Duration); 7] {
        [
            ("parse", self.parse),
            ("lookup", self.lookup),
            ("mailbox", self.mailbox),
            ("browser_wait", self.browser_wait),
            ("driver", self.driver),
            ("response", self.response),
            ("other", self.other),
        ]
    }
}

impl RequestTrace {
    /// A trace starting now, under the client's `X-Request-Id` when it is a sane token (at
    /// most 128 of `[A-Za-z0-9._:-]`, so a reverse proxy's id follows the request through
    /// our log), else under a new id.
    pub fn new(sent_id: Option<&str>) -> Arc<RequestTrace> {
        let id = sent_id
            .filter(|id| valid_id(id))
            .map(str::to_string)
            .unwrap_or_else(|| format!("{:016x}", rand::random::<u64>()));
        Arc::new(RequestTrace {
            id,
            started: Instant::now(),
            inner: Mutex::default(),
        })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add `took` to `stage`.
    pub fn add(&self, stage: Stage, took: Duration) {
        let mut inner = self.inner();
        inner.stages[stage.index()] += took;
        inner.ran |= stage == Stage::Mailbox;
    }

    /// The session this request used (the last one named, for a request that fell back
    /// from an unknown id to its credentials' session).
    pub fn set_session(&self, id: &str) {
        self.inner().session_id = Some(id.to_string());
    }

    pub fn session_id(&self) -> Option<String> {
        self.inner().session_id.clone()
    }

    /// Mark a call into the session layer: returned guard marks its answer when dropped.
    pub fn call(self: &Arc<Self>) -> CallMark {
        let now = Instant::now();
        self.inner().first_call.get_or_insert(now);
        CallMark(self.clone())
    }

    /// The split of the time from the request's start to now.
    pub fn breakdown(&self) -> Breakdown {
        let now = Instant::now();
        let inner = self.inner();
        let total = now - self.started;
        let [lookup, mailbox, browser_wait, driver] = inner.stages;
        let (parse, response) = match (inner.first_call, inner.last_answer) {
            (Some(first), Some(last)) => {
                (first - self.started, now.saturating_duration_since(last))
            }
            (Some(first), None) => (first - self.started, Duration::ZERO),
            _ => (total, Duration::ZERO),
        };
        let counted = parse + lookup + mailbox + browser_wait + driver + response;
        Breakdown {
            parse,
            lookup,
            mailbox,
            browser_wait,
            driver,
            response,
            other: total.saturating_sub(counted),
            total,
            ran: inner.ran,
        }
    }
}

/// A call into the session layer in progress; its drop is the answer's arrival.
pub struct CallMark(Arc<RequestTrace>);

impl Drop for CallMark {
    fn drop(&mut self) {
        self.0.inner().last_answer = Some(Instant::now());
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
}

/// The trace of the request this task is serving, if any.
pub fn current() -> Option<Arc<RequestTrace>> {
    CURRENT.try_with(Arc::clone).ok()
}

/// Run `future` as the request `trace` describes.
pub async fn scope<F: Future>(trace: Arc<RequestTrace>, future: F) -> F::Output {
    CURRENT.scope(trace, future).await
}

/// `future` with this task's request trace and span, for a task of its own (a booking that
/// must finish even if its client hangs up still belongs to the request that started it).
pub fn carry<F: Future>(future: F) -> impl Future<Output = F::Output> {
    use tracing::Instrument;
    let trace = current();
    let span = tracing::Span::current();
    async move {
        match trace {
            Some(trace) => scope(trace, future).instrument(span).await,
            None => future.instrument(span).await,
        }
    }
}

/// The span a request's work runs in, on the request's task and on the actors'.
pub fn span(request_id: &str) -> tracing::Span {
    tracing::info_span!("request", request_id = %request_id)
}

/// `future` inside the span of request `request_id`, when there is one.
pub fn within<F: Future>(
    request_id: Option<&str>,
    future: F,
) -> tracing::instrument::Instrumented<F> {
    use tracing::Instrument;
    match request_id {
        Some(id) => future.instrument(span(id)),
        None => future.instrument(tracing::Span::none()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sane_client_id_is_kept_and_anything_else_replaced() {
        assert_eq!(RequestTrace::new(Some("abc-1.2:3_x")).id, "abc-1.2:3_x");
        for bad in ["", "a b", "x\ny", &"a".repeat(129), "é"] {
            let id = &RequestTrace::new(Some(bad)).id;
            assert_ne!(id, bad);
            assert_eq!(id.len(), 16, "{id}");
        }
        assert_ne!(RequestTrace::new(None).id, RequestTrace::new(None).id);
    }

    #[test]
    fn the_stages_add_up_to_the_total() {
        let trace = RequestTrace::new(None);
        std::thread::sleep(Duration::from_millis(3));
        {
            let _call = trace.call();
            trace.add(Stage::Lookup, Duration::from_millis(1));
            trace.add(Stage::Driver, Duration::from_millis(2));
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(2));
        let b = trace.breakdown();
        let sum: Duration = b.stages().iter().map(|(_, d)| *d).sum();
        assert_eq!(sum, b.total);
        assert!(b.parse >= Duration::from_millis(3), "{b:?}");
        assert!(b.response >= Duration::from_millis(2), "{b:?}");
        assert_eq!(b.driver, Duration::from_millis(2));
        // The 5 ms inside the call not covered by a stage.
        assert!(b.other >= Duration::from_millis(2), "{b:?}");
    }

    #[test]
    fn without_a_session_call_everything_is_parse() {
        let trace = RequestTrace::new(None);
        let b = trace.breakdown();
        assert_eq!(b.parse, b.total);
        assert_eq!(b.response, Duration::ZERO);
    }
}
