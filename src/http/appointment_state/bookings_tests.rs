//! `book_once` with real tokio tasks: the booking futures wait on a gate the test opens, so
//! callers join, leave or retry while a booking is known to be running.

use super::super::AppointmentState;
use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::oneshot;

/// A booking that waits for `gate`, counts itself in `calls` and answers `outcome`.
fn booking(
    calls: &Arc<AtomicUsize>,
    gate: oneshot::Receiver<()>,
    outcome: Result<Value, ApiError>,
) -> impl Future<Output = Result<Value, ApiError>> + Send + 'static + use<> {
    let calls = calls.clone();
    async move {
        calls.fetch_add(1, Ordering::SeqCst);
        let _ = gate.await;
        outcome
    }
}

fn ready(
    calls: &Arc<AtomicUsize>,
    value: Value,
) -> impl Future<Output = Result<Value, ApiError>> + Send + 'static + use<> {
    let (open, gate) = oneshot::channel();
    let _ = open.send(());
    booking(calls, gate, Ok(value))
}

fn state() -> Arc<AppointmentState> {
    Arc::new(AppointmentState::new(Duration::from_secs(60)))
}

#[tokio::test]
async fn concurrent_callers_share_one_booking() {
    let state = state();
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = oneshot::channel();
    let first = state.book_once(
        "s",
        "k",
        Fingerprint::of(1),
        booking(&calls, gate, Ok(json!({"n": 1}))),
    );
    // `join!` polls in order: all three callers are in before the gate opens.
    let (a, b, c, ()) = tokio::join!(
        first,
        state.book_once("s", "k", Fingerprint::of(1), ready(&calls, json!({"n": 2}))),
        state.book_once("s", "k", Fingerprint::of(1), ready(&calls, json!({"n": 3}))),
        async {
            let _ = open.send(());
        }
    );
    let answers = [a.unwrap(), b.unwrap(), c.unwrap()];
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(answers.iter().all(|b| b.value == json!({"n": 1})));
    assert_eq!(answers.iter().filter(|b| !b.replay).count(), 1);
    // Later callers get the recorded success.
    let later = state
        .book_once("s", "k", Fingerprint::of(1), ready(&calls, json!({"n": 4})))
        .await
        .unwrap();
    assert_eq!((later.value, later.replay), (json!({"n": 1}), true));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Keys are per scope.
    let other = state
        .book_once("t", "k", Fingerprint::of(1), ready(&calls, json!({"n": 5})))
        .await
        .unwrap();
    assert_eq!((other.value, other.replay), (json!({"n": 5}), false));
}

#[tokio::test]
async fn a_caller_that_leaves_mid_booking_still_books_once() {
    let state = state();
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = oneshot::channel();
    // The client disconnects: its request future is dropped while the booking runs.
    let left = tokio::time::timeout(
        Duration::from_millis(20),
        state.book_once(
            "s",
            "k",
            Fingerprint::of(1),
            booking(&calls, gate, Ok(json!("booked"))),
        ),
    )
    .await;
    assert!(left.is_err(), "the booking was still running");
    // A second client aborts its request task while waiting for the same booking.
    let waiting = {
        let state = state.clone();
        let calls = calls.clone();
        tokio::spawn(async move {
            state
                .book_once("s", "k", Fingerprint::of(1), ready(&calls, json!("x")))
                .await
        })
    };
    waiting.abort();
    assert!(waiting.await.unwrap_err().is_cancelled());
    open.send(()).unwrap();
    let retry = state
        .book_once("s", "k", Fingerprint::of(1), ready(&calls, json!("second")))
        .await
        .unwrap();
    assert_eq!((retry.value, retry.replay), (json!("booked"), true));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failure_answers_the_waiters_only() {
    let state = state();
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = oneshot::channel();
    let refused = ApiError::new(StatusCode::BAD_GATEWAY, "the portal said no")
        .with("error_code", json!("portal"))
        .retry_after(7);
    let (a, b, ()) = tokio::join!(
        state.book_once(
            "s",
            "k",
            Fingerprint::of(1),
            booking(&calls, gate, Err(refused))
        ),
        state.book_once("s", "k", Fingerprint::of(1), ready(&calls, json!("never"))),
        async {
            let _ = open.send(());
        }
    );
    let (BookError::Failed(fa), BookError::Failed(fb)) = (a.unwrap_err(), b.unwrap_err()) else {
        panic!("both callers get the failure");
    };
    assert_eq!(fa, fb);
    let e = ApiError::from(fa);
    assert_eq!(
        (e.status, e.retry_after),
        (StatusCode::BAD_GATEWAY, Some(7))
    );
    assert_eq!(e.message, "the portal said no");
    assert_eq!(e.body()["error_code"], "portal");
    assert_eq!(state.stats().idempotency_records, 0);
    // Nothing was booked: a later retry books.
    let retry = state
        .book_once("s", "k", Fingerprint::of(1), ready(&calls, json!("booked")))
        .await
        .unwrap();
    assert_eq!((retry.value, retry.replay), (json!("booked"), false));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_same_key_for_other_fields_is_refused() {
    let state = state();
    let calls = Arc::new(AtomicUsize::new(0));
    let (open, gate) = oneshot::channel();
    let (first, reuse, ()) = tokio::join!(
        state.book_once(
            "s",
            "k",
            Fingerprint::of(1),
            booking(&calls, gate, Ok(json!("a")))
        ),
        state.book_once("s", "k", Fingerprint::of(2), ready(&calls, json!("b"))),
        async {
            let _ = open.send(());
        }
    );
    assert!(first.is_ok());
    assert!(matches!(reuse, Err(BookError::KeyReuse(_))));
    let after = state
        .book_once("s", "k", Fingerprint::of(2), ready(&calls, json!("c")))
        .await;
    assert!(matches!(after, Err(BookError::KeyReuse(_))));
    assert_eq!(
        ApiError::from(BookError::KeyReuse(Value::Null))
            .status
            .as_u16(),
        409
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_booking_that_panics_clears_its_record() {
    let state = state();
    let panics = async {
        if true {
            panic!("driver bug");
        }
        Ok::<Value, ApiError>(json!(null))
    };
    let BookError::Failed(f) = state
        .book_once("s", "k", Fingerprint::of(1), panics)
        .await
        .unwrap_err()
    else {
        panic!("a failure");
    };
    assert_eq!(f.body["error_code"], "booking_outcome_unknown");
    assert_eq!(state.stats().idempotency_records, 0);
}

#[tokio::test]
async fn records_are_capped_and_expire_but_running_ones_stay() {
    let limits = Limits {
        max_idempotency_per_scope: 3,
        max_idempotency_total: 5,
        idempotency_retention: Duration::from_secs(60),
        ..Limits::default()
    };
    let state = Arc::new(AppointmentState::with_limits(
        Duration::from_secs(60),
        limits,
    ));
    let calls = Arc::new(AtomicUsize::new(0));
    for i in 0..10 {
        let key = format!("k{i}");
        state
            .book_once("s", &key, Fingerprint::of(1), ready(&calls, json!(i)))
            .await
            .unwrap();
        assert!(state.stats().idempotency_records <= 3);
    }
    for scope in ["a", "b", "c"] {
        state
            .book_once(scope, "k", Fingerprint::of(1), ready(&calls, json!(0)))
            .await
            .unwrap();
    }
    assert_eq!(state.stats().idempotency_records, 5);
    // The newest key still answers from its record; the oldest was evicted and books again.
    let k9 = state
        .book_once("s", "k9", Fingerprint::of(1), ready(&calls, json!("x")))
        .await;
    assert!(k9.unwrap().replay);
    // A scope full of running bookings refuses more rather than forget one of them.
    let blocked = Arc::new(AppointmentState::with_limits(
        Duration::from_secs(60),
        Limits {
            max_idempotency_per_scope: 1,
            ..Limits::default()
        },
    ));
    let (open, gate) = oneshot::channel();
    let running = tokio::time::timeout(
        Duration::from_millis(10),
        blocked.book_once(
            "s",
            "a",
            Fingerprint::of(1),
            booking(&calls, gate, Ok(json!("a"))),
        ),
    )
    .await;
    assert!(running.is_err());
    let more = blocked
        .book_once("s", "b", Fingerprint::of(1), ready(&calls, json!("b")))
        .await;
    assert_eq!(more.unwrap_err(), BookError::Busy);
    open.send(()).unwrap();
    // Expired records are pruned by age.
    let now = Instant::now();
    let mut bookings = lock(&state.bookings);
    bookings.prune(now + Duration::from_secs(61), Duration::from_secs(60));
    assert_eq!(bookings.len(), 0);
    assert!(bookings.order.is_empty() && bookings.scopes.is_empty());
}
