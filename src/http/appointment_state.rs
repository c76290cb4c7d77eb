//! State the appointment endpoints keep between requests: drafts ("appointment sessions")
//! that collect a wizard's fields over several calls, and idempotency records so a retried
//! `make_appointment` never books twice.
//!
//! Both live only in memory and only here: they never touch a browser, so their expiry can
//! never close a browser session.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long a `make_appointment` result answers repeats of its idempotency key.
const IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(24 * 3600);

/// `make_appointment` results by (scope, idempotency key), with when they were first asked.
type Results = HashMap<(String, String), (Instant, Arc<OnceCell<Value>>)>;

pub struct AppointmentState {
    drafts: Mutex<HashMap<String, Draft>>,
    draft_ttl: Duration,
    done: Mutex<Results>,
}

#[derive(Clone)]
struct Draft {
    scope: String,
    fields: Map<String, Value>,
    expires: Instant,
}

impl AppointmentState {
    pub fn new(draft_ttl: Duration) -> AppointmentState {
        AppointmentState {
            drafts: Mutex::default(),
            draft_ttl,
            done: Mutex::default(),
        }
    }

    /// The fields collected so far under `id`, if it exists for this scope and has not expired.
    pub fn draft(&self, scope: &str, id: &str) -> Option<Map<String, Value>> {
        let mut drafts = lock(&self.drafts);
        let now = Instant::now();
        drafts.retain(|_, d| d.expires > now);
        drafts
            .get(id)
            .filter(|d| d.scope == scope)
            .map(|d| d.fields.clone())
    }

    /// Store `fields` under `id` (a new id when None) for another `draft_ttl`.
    pub fn save_draft(
        &self,
        scope: &str,
        id: Option<String>,
        fields: Map<String, Value>,
    ) -> String {
        let id = id.unwrap_or_else(|| format!("appt_{:032x}", rand::random::<u128>()));
        let draft = Draft {
            scope: scope.to_string(),
            fields,
            expires: Instant::now() + self.draft_ttl,
        };
        lock(&self.drafts).insert(id.clone(), draft);
        id
    }

    pub fn remove_draft(&self, id: &str) {
        lock(&self.drafts).remove(id);
    }

    /// The once-cell holding the result for `key` within `scope`. The first caller fills it;
    /// concurrent and later callers with the same key get the same result.
    pub fn idempotency_cell(&self, scope: &str, key: &str) -> Arc<OnceCell<Value>> {
        let mut done = lock(&self.done);
        let now = Instant::now();
        done.retain(|_, (at, _)| now.duration_since(*at) < IDEMPOTENCY_RETENTION);
        done.entry((scope.to_string(), key.to_string()))
            .or_insert_with(|| (now, Arc::new(OnceCell::new())))
            .1
            .clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_scoped_and_expire() {
        let state = AppointmentState::new(Duration::from_millis(30));
        let mut fields = Map::new();
        fields.insert("terminal".into(), Value::String("TTI".into()));
        let id = state.save_draft("a", None, fields);
        assert!(id.starts_with("appt_"));
        assert_eq!(state.draft("a", &id).unwrap()["terminal"], "TTI");
        assert!(state.draft("b", &id).is_none());
        std::thread::sleep(Duration::from_millis(40));
        assert!(state.draft("a", &id).is_none());
    }

    #[test]
    fn idempotency_cells_are_shared_per_key() {
        let state = AppointmentState::new(Duration::from_secs(1));
        let a = state.idempotency_cell("s", "k");
        assert!(Arc::ptr_eq(&a, &state.idempotency_cell("s", "k")));
        assert!(!Arc::ptr_eq(&a, &state.idempotency_cell("s", "other")));
        assert!(!Arc::ptr_eq(&a, &state.idempotency_cell("t", "k")));
    }
}
