//! Idempotent bookings: a `make_appointment` with an idempotency key books at most once,
//! whatever happens to the request that asked.
//!
//! The booking runs in a task of its own, so a client that disconnects mid-booking does not
//! stop it (the browser would go on and book anyway) and its outcome is still recorded: a retry
//! with the same key waits for that outcome, or gets the recorded success. A failure answers
//! only the callers already waiting; the record is then cleared, because the portal booked
//! nothing and a retry may try again.

use super::{Limits, lock};
use crate::error::ApiError;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use warp::http::StatusCode;

/// A booking's answer; `replay` when this caller did not start it.
#[derive(Debug, Clone, PartialEq)]
pub struct Booking {
    pub value: Value,
    pub replay: bool,
}

/// A failed booking as its callers are answered: what an [`ApiError`] carries, but cloneable,
/// so every waiting caller gets the same answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub status: u16,
    /// The JSON error body (`{"success": false, "error": ..., ...}`).
    pub body: Value,
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BookError {
    /// The key was first used with other booking fields.
    /// (What the key was first used for, as the client can read it.)
    KeyReuse(Value),
    /// The caps are full of bookings still running; nothing can be evicted safely.
    Busy,
    /// The booking ran and failed; this caller was waiting for it.
    Failed(Failure),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Failure {
        Failure {
            status: e.status.as_u16(),
            body: e.body(),
            retry_after: e.retry_after,
        }
    }
}

impl From<Failure> for ApiError {
    fn from(f: Failure) -> ApiError {
        let status = StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut extra = match f.body {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let message = match extra.remove("error") {
            Some(Value::String(s)) => s,
            _ => "the booking failed".to_string(),
        };
        extra.remove("success");
        let mut e = ApiError::new(status, message);
        e.extra = extra;
        e.retry_after = f.retry_after;
        e
    }
}

impl From<BookError> for ApiError {
    fn from(e: BookError) -> ApiError {
        match e {
            // A conflict with the booking the key already stands for.
            BookError::KeyReuse(first) => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key was already used for a booking with other fields; use a new \
                 key for a new booking",
            )
            .with("error_code", json!("idempotency_key_reused"))
            .with("first_request", first),
            BookError::Busy => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many bookings in progress for this token; retry when some have finished",
            )
            .with("error_code", json!("too_many_bookings"))
            .retry_after(30),
            BookError::Failed(f) => f.into(),
        }
    }
}

type Key = (String, String);
type Outcome = Result<Value, Failure>;

/// What identifies a booking request: a hash of everything that makes it this booking (the
/// caller compares by it), and a summary a client can read (no secrets).
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub hash: u64,
    pub summary: Value,
}

impl Fingerprint {
    /// A fingerprint without a summary (tests).
    pub fn of(hash: u64) -> Fingerprint {
        Fingerprint {
            hash,
            summary: Value::Null,
        }
    }
}

enum State {
    Running(watch::Receiver<Option<Outcome>>),
    Done(Value),
}

struct Record {
    fingerprint: Fingerprint,
    seq: u64,
    created: Instant,
    state: State,
}

/// Every record, indexed by creation order (also expiry order: one retention for all), over
/// all scopes and per scope, so pruning and eviction never scan the map.
#[derive(Default)]
pub(super) struct Bookings {
    records: HashMap<Key, Record>,
    order: BTreeMap<u64, Key>,
    scopes: HashMap<String, BTreeMap<u64, String>>,
    next_seq: u64,
}

impl Bookings {
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    pub(super) fn prune(&mut self, now: Instant, retention: Duration) {
        while let Some((&seq, key)) = self.order.first_key_value() {
            match self.records.get(key) {
                Some(r) if now.duration_since(r.created) < retention => break,
                Some(_) => {
                    let key = key.clone();
                    self.remove(&key, None);
                }
                None => {
                    self.order.remove(&seq);
                }
            }
        }
    }

    /// Remove `key`'s record (only the one made at `seq`, when given).
    fn remove(&mut self, key: &Key, seq: Option<u64>) {
        if seq.is_some_and(|seq| self.records.get(key).is_none_or(|r| r.seq != seq)) {
            return;
        }
        let Some(r) = self.records.remove(key) else {
            return;
        };
        self.order.remove(&r.seq);
        if let Some(keys) = self.scopes.get_mut(&key.0) {
            keys.remove(&r.seq);
            if keys.is_empty() {
                self.scopes.remove(&key.0);
            }
        }
    }

    /// Room for one more record in `scope`: the oldest finished records go first. A running
    /// one is never evicted, since a retry of it would then book a second time.
    fn make_room(&mut self, scope: &str, limits: &Limits) -> Result<(), BookError> {
        let done = |records: &HashMap<Key, Record>, key: &Key| {
            records
                .get(key)
                .is_some_and(|r| matches!(r.state, State::Done(_)))
        };
        while let Some(keys) = self.scopes.get(scope)
            && keys.len() >= limits.max_idempotency_per_scope
        {
            let victim = keys
                .values()
                .map(|k| (scope.to_string(), k.clone()))
                .find(|k| done(&self.records, k))
                .ok_or(BookError::Busy)?;
            self.remove(&victim, None);
        }
        while self.records.len() >= limits.max_idempotency_total {
            let victim = self
                .order
                .values()
                .find(|k| done(&self.records, k))
                .cloned()
                .ok_or(BookError::Busy)?;
            self.remove(&victim, None);
        }
        Ok(())
    }

    fn insert(&mut self, key: Key, fingerprint: Fingerprint, state: State, now: Instant) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, key.clone());
        self.scopes
            .entry(key.0.clone())
            .or_default()
            .insert(seq, key.1.clone());
        let record = Record {
            fingerprint,
            seq,
            created: now,
            state,
        };
        self.records.insert(key, record);
        seq
    }
}

/// Records the booking task's outcome; dropped without one (the task panicked or the runtime
/// stopped) it clears the record and its waiters learn that the outcome is unknown.
struct Finish {
    bookings: Arc<Mutex<Bookings>>,
    key: Key,
    seq: u64,
    tx: Option<watch::Sender<Option<Outcome>>>,
}

impl Finish {
    fn record(mut self, outcome: Outcome) {
        {
            let mut bookings = lock(&self.bookings);
            match &outcome {
                Ok(value) => {
                    if let Some(r) = bookings.records.get_mut(&self.key)
                        && r.seq == self.seq
                    {
                        r.state = State::Done(value.clone());
                    }
                }
                Err(_) => bookings.remove(&self.key, Some(self.seq)),
            }
        }
        // After the record: a caller arriving now finds the success or no record at all.
        if let Some(tx) = self.tx.take() {
            tx.send_replace(Some(outcome));
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        if self.tx.is_some() {
            lock(&self.bookings).remove(&self.key, Some(self.seq));
        }
    }
}

/// The answer for callers whose booking task ended without an outcome.
fn lost() -> Failure {
    Failure::from(
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the booking stopped before it answered; look in get_appointments before booking \
             again",
        )
        .with("error_code", json!("booking_outcome_unknown")),
    )
}

pub(super) async fn book_once<F, E>(
    bookings: &Arc<Mutex<Bookings>>,
    limits: &Limits,
    scope: &str,
    key: &str,
    fingerprint: Fingerprint,
    book: F,
) -> Result<Booking, BookError>
where
    F: Future<Output = Result<Value, E>> + Send + 'static,
    E: Into<Failure> + 'static,
{
    let k: Key = (scope.to_string(), key.to_string());
    let (mut rx, started) = {
        let mut b = lock(bookings);
        let now = Instant::now();
        b.prune(now, limits.idempotency_retention);
        match b.records.get(&k) {
            Some(r) if r.fingerprint.hash != fingerprint.hash => {
                return Err(BookError::KeyReuse(r.fingerprint.summary.clone()));
            }
            Some(Record {
                state: State::Done(value),
                ..
            }) => {
                return Ok(Booking {
                    value: value.clone(),
                    replay: true,
                });
            }
            Some(Record {
                state: State::Running(rx),
                ..
            }) => (rx.clone(), None),
            None => {
                b.make_room(scope, limits)?;
                let (tx, rx) = watch::channel(None);
                let seq = b.insert(k.clone(), fingerprint, State::Running(rx.clone()), now);
                (rx, Some((tx, seq)))
            }
        }
    };
    let replay = started.is_none();
    // Spawned outside the lock: a task dropped at once would take it in `Finish::drop`.
    if let Some((tx, seq)) = started {
        let finish = Finish {
            bookings: bookings.clone(),
            key: k,
            seq,
            tx: Some(tx),
        };
        tokio::spawn(async move {
            let outcome = book.await.map_err(Into::into);
            finish.record(outcome);
        });
    }
    let outcome = match rx.wait_for(Option::is_some).await {
        Ok(outcome) => outcome.clone().unwrap_or_else(|| Err(lost())),
        Err(_) => Err(lost()),
    };
    match outcome {
        Ok(value) => Ok(Booking { value, replay }),
        Err(f) => Err(BookError::Failed(f)),
    }
}

#[cfg(test)]
#[path = "bookings_tests.rs"]
mod tests;
