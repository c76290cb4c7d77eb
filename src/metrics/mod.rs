//! Prometheus metrics: what operators graph and alert on.
//!
//! The code records through the `metrics` facade (counters and histograms at the point where
//! something happens); `metrics-exporter-prometheus` renders them for `GET /metrics`. Gauges
//! that describe the present (sessions by state, queue depth) are computed when scraped,
//! from the manager's census, so they are never stale; Chrome memory is the sum, over the
//! census's browsers, of numbers a sampler thread keeps (see `memory`), as reading it is dear.
//!
//! Cardinality is bounded on purpose: labels are endpoint templates, statuses, reasons and
//! results from small fixed sets; never a session id, username or container id.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `emodal_sessions` | gauge | `state` (starting, ready, busy, restoring, restarting, waiting, hibernating, closing) |
//! | `emodal_spare_browsers` | gauge | |
//! | `emodal_logins_total` | counter | `result` (ok, bad_credentials, captcha_error, upstream, timeout) |
//! | `emodal_restores_total` | counter | `result` (ok, fell_back, failed) |
//! | `emodal_captcha_tasks_submitted_total`, `..._solved_total` | counter | |
//! | `emodal_captcha_tasks_failed_total` | counter | `kind` (account, unsolvable, service, timeout) |
//! | `emodal_captcha_solve_seconds` | histogram | |
//! | `emodal_captcha_spend_usd` | gauge | solved tasks x `captcha.price_per_1000` / 1000 |
//! | `emodal_session_restarts_total` | counter | `reason` (browser, logged_out, login_failed, outage, actor) |
//! | `emodal_session_drops_total` | counter | `reason` |
//! | `emodal_session_expiries_total`, `emodal_session_evictions_total` | counter | |
//! | `emodal_refreshes_total` | counter | `result` (ok, logged_out, unavailable, failed) |
//! | `emodal_http_requests_total` | counter | `endpoint`, `method`, `status` |
//! | `emodal_http_request_seconds` | histogram | `endpoint` |
//! | `emodal_http_request_stage_seconds` | histogram | `endpoint`, `stage` (parse, lookup, mailbox, browser_wait, driver, response, other), requests that ran an operation on a session |
//! | `emodal_http_rejected_total` | counter | `cause` (the 429's `error_code`) |
//! | `emodal_session_queue_depth_max`, `emodal_session_queue_depth_total` | gauge | |
//! | `emodal_chrome_memory_bytes`, `emodal_chrome_memory_max_session_bytes` | gauge | summed PSS of the sessions' Chrome process trees (sampled at most every 30 s) |
//! | `emodal_process_resident_bytes` | gauge | the service's own RSS |

mod memory;

pub use memory::{process_trees, tree_pss};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// The process's recorder (the `metrics` facade is global; tests start several servers in
/// one process, which then share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("emodal_http_request_seconds".into()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0, 300.0,
                ],
            )
            .and_then(|b| {
                // Stages go down to tens of microseconds (a mailbox with nothing ahead).
                b.set_buckets_for_metric(
                    Matcher::Full("emodal_http_request_stage_seconds".into()),
                    &[
                        0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 300.0,
                    ],
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("emodal_captcha_solve_seconds".into()),
                    &[
                        1.0, 2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0,
                    ],
                )
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Histograms keep every recorded value until upkeep (or a render) folds them into
        // buckets: without it, a service nobody scrapes grows by every request's samples.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the metrics upkeep thread");
        }
        // Another recorder already installed (a library user's): ours still renders what
        // this crate records through its own handle only if it is the global one, so say so.
        if ::metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only ours");
        }
        describe();
        handle
    })
}

fn describe() {
    use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_gauge!("emodal_sessions", "Sessions by state");
    describe_gauge!(
        "emodal_spare_browsers",
        "Chromes launched ahead of need, waiting"
    );
    describe_counter!(
        "emodal_logins_total",
        "Full portal logins (captcha + form) by result"
    );
    describe_counter!(
        "emodal_restores_total",
        "Sessions brought back from their snapshot, by result"
    );
    describe_counter!(
        "emodal_captcha_tasks_submitted_total",
        "Captcha tasks sent to the solving service"
    );
    describe_counter!("emodal_captcha_tasks_solved_total", "Captcha tasks solved");
    describe_counter!(
        "emodal_captcha_tasks_failed_total",
        "Captcha tasks that failed, by kind"
    );
    describe_histogram!(
        "emodal_captcha_solve_seconds",
        Unit::Seconds,
        "Time from task submission to solution"
    );
    describe_gauge!(
        "emodal_captcha_spend_usd",
        "Estimated captcha spend since start: solved tasks x captcha.price_per_1000 / 1000"
    );
    describe_counter!(
        "emodal_session_restarts_total",
        "Session restarts by reason"
    );
    describe_counter!("emodal_session_drops_total", "Sessions dropped, by reason");
    describe_counter!(
        "emodal_session_expiries_total",
        "Regular sessions expired unused"
    );
    describe_counter!(
        "emodal_session_evictions_total",
        "Idle regular sessions closed to make room"
    );
    describe_counter!("emodal_refreshes_total", "Keep-alive refreshes by result");
    describe_counter!(
        "emodal_http_requests_total",
        "HTTP requests by endpoint, method and status"
    );
    describe_histogram!(
        "emodal_http_request_seconds",
        Unit::Seconds,
        "HTTP request duration by endpoint"
    );
    describe_histogram!(
        "emodal_http_request_stage_seconds",
        Unit::Seconds,
        "Where the time of requests that ran an operation on a session went, by endpoint and stage"
    );
    describe_counter!(
        "emodal_http_rejected_total",
        "429 answers by cause (error_code)"
    );
    describe_gauge!(
        "emodal_session_queue_depth_max",
        "Requests queued or running on the busiest session"
    );
    describe_gauge!(
        "emodal_session_queue_depth_total",
        "Requests queued or running on all sessions"
    );
    describe_gauge!(
        "emodal_chrome_memory_bytes",
        Unit::Bytes,
        "Summed PSS of every session's Chrome process tree"
    );
    describe_gauge!(
        "emodal_chrome_memory_max_session_bytes",
        Unit::Bytes,
        "Summed PSS of the largest session's Chrome process tree"
    );
    describe_gauge!(
        "emodal_process_resident_bytes",
        Unit::Bytes,
        "Resident memory of the service process"
    );
}

/// One full login's result.
pub fn login(result: &'static str) {
    ::metrics::counter!("emodal_logins_total", "result" => result).increment(1);
}

/// One restore from a snapshot: `ok`, `fell_back` (full login after), `failed`.
pub fn restore(result: &'static str) {
    ::metrics::counter!("emodal_restores_total", "result" => result).increment(1);
}

pub fn captcha_submitted() {
    ::metrics::counter!("emodal_captcha_tasks_submitted_total").increment(1);
}

pub fn captcha_solved(took: Duration) {
    ::metrics::counter!("emodal_captcha_tasks_solved_total").increment(1);
    ::metrics::histogram!("emodal_captcha_solve_seconds").record(took.as_secs_f64());
    SOLVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

/// Tasks solved since start (what the spend estimate is computed from).
static SOLVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn captcha_failed(kind: &'static str) {
    ::metrics::counter!("emodal_captcha_tasks_failed_total", "kind" => kind).increment(1);
}

pub fn restart(reason: &'static str) {
    ::metrics::counter!("emodal_session_restarts_total", "reason" => reason).increment(1);
}

pub fn dropped(reason: &'static str) {
    ::metrics::counter!("emodal_session_drops_total", "reason" => reason).increment(1);
}

pub fn expired() {
    ::metrics::counter!("emodal_session_expiries_total").increment(1);
}

pub fn evicted() {
    ::metrics::counter!("emodal_session_evictions_total").increment(1);
}

pub fn refresh(result: &'static str) {
    ::metrics::counter!("emodal_refreshes_total", "result" => result).increment(1);
}

/// One answered HTTP request. `path` is mapped to its endpoint's template.
pub fn request(method: &str, path: &str, status: u16, took: Duration) {
    let endpoint = endpoint(path);
    ::metrics::counter!(
        "emodal_http_requests_total",
        "endpoint" => endpoint,
        "method" => method_label(method),
        "status" => status.to_string(),
    )
    .increment(1);
    ::metrics::histogram!("emodal_http_request_seconds", "endpoint" => endpoint)
        .record(took.as_secs_f64());
}

/// Where a request that used a session spent its time, per stage (see
/// `telemetry::request`): one histogram per endpoint and stage.
pub fn request_stages(path: &str, breakdown: &crate::telemetry::request::Breakdown) {
    let endpoint = endpoint(path);
    for (stage, took) in breakdown.stages() {
        ::metrics::histogram!("emodal_http_request_stage_seconds", "endpoint" => endpoint, "stage" => stage)
            .record(took.as_secs_f64());
    }
}

/// One 429, by the `error_code` the client got.
pub fn rejected(cause: &str) {
    let cause = match cause {
        "session_busy" | "at_capacity" | "over_quota" | "too_many_logins" | "login_refused" => {
            cause.to_string()
        }
        _ => "other".to_string(),
    };
    ::metrics::counter!("emodal_http_rejected_total", "cause" => cause).increment(1);
}

/// What the present looks like, set just before rendering.
pub struct Census {
    /// Sessions by state name (busy counted apart from ready).
    pub states: Vec<(&'static str, usize)>,
    pub spares: usize,
    pub queue_max: usize,
    pub queue_total: usize,
    /// Browser process ids of the live sessions.
    pub chrome_pids: Vec<u32>,
}

/// Every state a session can be in, so a state with no session shows 0 rather than vanish.
pub const STATES: [&str; 8] = [
    "starting",
    "ready",
    "busy",
    "restoring",
    "restarting",
    "waiting",
    "hibernating",
    "closing",
];

/// The text exposition, with the gauges of `census` and the process's own numbers.
pub fn render(census: &Census, price_per_1000: f64) -> String {
    for state in STATES {
        let n = census
            .states
            .iter()
            .filter(|(s, _)| *s == state)
            .map(|(_, n)| n)
            .sum::<usize>();
        ::metrics::gauge!("emodal_sessions", "state" => state).set(n as f64);
    }
    ::metrics::gauge!("emodal_spare_browsers").set(census.spares as f64);
    ::metrics::gauge!("emodal_session_queue_depth_max").set(census.queue_max as f64);
    ::metrics::gauge!("emodal_session_queue_depth_total").set(census.queue_total as f64);
    let solved = SOLVED.load(std::sync::atomic::Ordering::Relaxed) as f64;
    ::metrics::gauge!("emodal_captcha_spend_usd").set(solved * price_per_1000 / 1000.0);
    let (total, max) = memory::sessions_pss(&census.chrome_pids);
    ::metrics::gauge!("emodal_chrome_memory_bytes").set(total as f64);
    ::metrics::gauge!("emodal_chrome_memory_max_session_bytes").set(max as f64);
    if let Some(rss) = memory::own_rss() {
        ::metrics::gauge!("emodal_process_resident_bytes").set(rss as f64);
    }
    handle().render()
}

/// The route template of a request path: a bounded label whatever clients send.
fn endpoint(path: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "/get_session",
        "/sessions",
        "/health",
        "/ready",
        "/metrics",
        "/events",
        "/dashboard",
        "/openapi.json",
        "/get_containers",
        "/get_container_timeline",
        "/get_booking_number",
        "/get_appointments",
        "/check_appointments",
        "/make_appointment",
        "/get_info_bulk",
    ];
    if let Some(known) = KNOWN.iter().find(|k| **k == path) {
        return known;
    }
    if path.starts_with("/sessions/") {
        return if path.ends_with("/screenshot") {
            "/sessions/{id}/screenshot"
        } else {
            "/sessions/{id}"
        };
    }
    if path.starts_with("/files/") {
        return "/files/{name}";
    }
    "other"
}

fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        "PUT" => "PUT",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_templates() {
        assert_eq!(endpoint("/sessions/session_0123"), "/sessions/{id}");
        assert_eq!(
            endpoint("/sessions/session_0123/screenshot"),
            "/sessions/{id}/screenshot"
        );
        assert_eq!(endpoint("/files/abc.xlsx"), "/files/{name}");
        assert_eq!(endpoint("/get_containers"), "/get_containers");
        assert_eq!(endpoint("/../../etc/passwd"), "other");
        assert_eq!(method_label("BREW"), "other");
    }
}
