//! State the appointment endpoints keep between requests: drafts ("appointment sessions")
//! that collect a wizard's fields over several calls, and idempotency records so a retried
//! `make_appointment` never books twice.
//!
//! Both live only in memory and only here: they never touch a browser, so their expiry can
//! never close a browser session. Both are made by client requests, so both are capped per
//! scope (token) and overall, and pruned as they expire.

mod bookings;
mod drafts;

pub use bookings::{BookError, Booking, Failure, Fingerprint};
pub use drafts::DraftRefused;

use bookings::Bookings;
use drafts::Drafts;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Caps on what clients can make the service keep. Counts below 1 are taken as 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_drafts_per_scope: usize,
    pub max_drafts_total: usize,
    /// The JSON size of one draft's kept fields.
    pub max_draft_bytes: usize,
    /// The JSON size of all of one scope's drafts.
    pub max_bytes_per_scope: usize,
    pub max_idempotency_per_scope: usize,
    pub max_idempotency_total: usize,
    /// How long a `make_appointment` result answers repeats of its idempotency key.
    pub idempotency_retention: Duration,
}

impl Default for Limits {
    /// Far above what a dispatch system keeps open (a draft lives minutes; its fields are a
    /// few hundred bytes), and at most about 80 MB of drafts however many tokens send.
    fn default() -> Limits {
        Limits {
            max_drafts_per_scope: 500,
            max_drafts_total: 5_000,
            max_draft_bytes: 16 * 1024,
            max_bytes_per_scope: 2 * 1024 * 1024,
            max_idempotency_per_scope: 10_000,
            max_idempotency_total: 50_000,
            idempotency_retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// What is held now (after pruning what expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub drafts: usize,
    pub draft_bytes: usize,
    pub idempotency_records: usize,
}

pub struct AppointmentState {
    drafts: Mutex<Drafts>,
    bookings: Arc<Mutex<Bookings>>,
    limits: Limits,
}

impl AppointmentState {
    pub fn new(draft_ttl: Duration) -> AppointmentState {
        AppointmentState::with_limits(draft_ttl, Limits::default())
    }

    pub fn with_limits(draft_ttl: Duration, limits: Limits) -> AppointmentState {
        let limits = Limits {
            max_drafts_per_scope: limits.max_drafts_per_scope.max(1),
            max_drafts_total: limits.max_drafts_total.max(1),
            max_idempotency_per_scope: limits.max_idempotency_per_scope.max(1),
            max_idempotency_total: limits.max_idempotency_total.max(1),
            ..limits
        };
        AppointmentState {
            drafts: Mutex::new(Drafts::new(draft_ttl)),
            bookings: Arc::default(),
            limits,
        }
    }

    /// The fields collected so far under `id`, if it exists for this scope and has not expired.
    pub fn draft(&self, scope: &str, id: &str) -> Option<Map<String, Value>> {
        lock(&self.drafts).get(scope, id, Instant::now())
    }

    /// Keep the wizard fields of `fields` (see [`drafts::WIZARD_FIELDS`]; everything else, credentials
    /// included, is dropped) for another `draft_ttl`, under `id` when that is a live draft of
    /// this scope, else under a new id. Returns the id to hand the client. At the scope's caps
    /// its least recently saved drafts are dropped; a draft larger than `max_draft_bytes` is
    /// refused.
    pub fn save_draft(
        &self,
        scope: &str,
        id: Option<String>,
        fields: Map<String, Value>,
    ) -> Result<String, DraftRefused> {
        lock(&self.drafts).save(scope, id, fields, &self.limits, Instant::now())
    }

    pub fn remove_draft(&self, id: &str) {
        lock(&self.drafts).remove(id);
    }

    /// Run `book` once per (`scope`, `key`), in a task of its own that finishes even if every
    /// caller goes away, and answer with its outcome:
    /// - the first caller gets it with `replay: false`;
    /// - callers with the same key while it runs wait and get the same outcome (`replay: true`);
    /// - later callers get a recorded success (`replay: true`) for `idempotency_retention`;
    ///   a failure is not kept, so a later call books again;
    /// - the same key with another `fingerprint` (of the booking fields) is
    ///   [`BookError::KeyReuse`].
    ///
    /// `BookError` converts into `ApiError` (`?` works in a handler).
    pub async fn book_once<F, E>(
        &self,
        scope: &str,
        key: &str,
        fingerprint: Fingerprint,
        book: F,
    ) -> Result<Booking, BookError>
    where
        F: Future<Output = Result<Value, E>> + Send + 'static,
        E: Into<Failure> + 'static,
    {
        bookings::book_once(&self.bookings, &self.limits, scope, key, fingerprint, book).await
    }

    pub fn stats(&self) -> Stats {
        let now = Instant::now();
        let (drafts, draft_bytes) = {
            let mut d = lock(&self.drafts);
            d.prune(now);
            (d.len(), d.bytes())
        };
        let idempotency_records = {
            let mut b = lock(&self.bookings);
            b.prune(now, self.limits.idempotency_retention);
            b.len()
        };
        Stats {
            drafts,
            draft_bytes,
            idempotency_records,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
