//! Drafts ("appointment sessions"): the wizard fields a client has sent so far, kept so a
//! later request can send only what was missing.
//!
//! A draft is made from a request body, so it would keep whatever the client sent: only the
//! wizard's own fields are kept (never credentials), and count and bytes are capped per scope
//! and overall, because every request that lacks a field makes one.

use super::Limits;
use crate::error::ApiError;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use warp::http::StatusCode;

/// The request fields a draft keeps; every other key is dropped before storing.
pub const WIZARD_FIELDS: &[&str] = &[
    "container_type",
    "trucking_company",
    "terminal",
    "move_type",
    "container_id",
    "booking_number",
    "line",
    "equip_size",
    "quantity",
    "truck_plate",
    "own_chassis",
    "pin_code",
    "unit_number",
    "seal_value",
    "vm_email",
    "container_number",
    "appointment_time",
    "session_id",
];

/// A draft that is not kept, with a message the client can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRefused {
    pub message: String,
}

impl std::fmt::Display for DraftRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DraftRefused {}

impl From<DraftRefused> for ApiError {
    fn from(e: DraftRefused) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, e.message)
            .with("error_code", json!("appointment_session_too_large"))
    }
}

struct Draft {
    scope: String,
    fields: Map<String, Value>,
    bytes: usize,
    seq: u64,
    expires: Instant,
}

/// One scope's drafts in save order, and their bytes.
#[derive(Default)]
struct ScopeDrafts {
    order: BTreeMap<u64, String>,
    bytes: usize,
}

/// Every draft, indexed so that pruning and eviction never scan: `order` is save order over
/// all scopes, which is also expiry order because every draft lives the same `ttl`.
pub(super) struct Drafts {
    ttl: Duration,
    by_id: HashMap<String, Draft>,
    order: BTreeMap<u64, String>,
    scopes: HashMap<String, ScopeDrafts>,
    bytes: usize,
    next_seq: u64,
}

impl Drafts {
    pub(super) fn new(ttl: Duration) -> Drafts {
        Drafts {
            ttl,
            by_id: HashMap::new(),
            order: BTreeMap::new(),
            scopes: HashMap::new(),
            bytes: 0,
            next_seq: 0,
        }
    }

    pub(super) fn get(
        &mut self,
        scope: &str,
        id: &str,
        now: Instant,
    ) -> Option<Map<String, Value>> {
        self.prune(now);
        self.by_id
            .get(id)
            .filter(|d| d.scope == scope)
            .map(|d| d.fields.clone())
    }

    pub(super) fn save(
        &mut self,
        scope: &str,
        id: Option<String>,
        fields: Map<String, Value>,
        limits: &Limits,
        now: Instant,
    ) -> Result<String, DraftRefused> {
        self.prune(now);
        let fields: Map<String, Value> = fields
            .into_iter()
            .filter(|(k, _)| WIZARD_FIELDS.contains(&k.as_str()))
            .collect();
        let bytes = json_len(&fields);
        let limit = limits.max_draft_bytes.min(limits.max_bytes_per_scope);
        if bytes > limit {
            return Err(DraftRefused {
                message: format!(
                    "the appointment fields take {bytes} bytes, more than the {limit} an \
                     appointment session keeps; send shorter values"
                ),
            });
        }
        // A client names the draft it resumes: only an id that is its own and still alive is
        // reused, so no request can write into another scope's draft or pick an id's length.
        let id = match id {
            Some(id) if self.by_id.get(&id).is_some_and(|d| d.scope == scope) => {
                self.remove(&id);
                id
            }
            _ => format!("appt_{:032x}", rand::random::<u128>()),
        };
        // Evicting the scope's least recently saved drafts keeps a busy client working while
        // bounding it; refusing would strand it until its drafts expire.
        while let Some(s) = self.scopes.get(scope)
            && (s.order.len() >= limits.max_drafts_per_scope
                || s.bytes + bytes > limits.max_bytes_per_scope)
        {
            let Some(oldest) = s.order.values().next().cloned() else {
                break;
            };
            self.remove(&oldest);
        }
        // The overall cap then takes the least recently saved draft of any scope: each scope is
        // already bounded, so filling it takes many tokens, and the service keeps answering.
        while self.by_id.len() >= limits.max_drafts_total {
            let Some(oldest) = self.order.values().next().cloned() else {
                break;
            };
            self.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert(seq, id.clone());
        let s = self.scopes.entry(scope.to_string()).or_default();
        s.order.insert(seq, id.clone());
        s.bytes += bytes;
        self.bytes += bytes;
        self.by_id.insert(
            id.clone(),
            Draft {
                scope: scope.to_string(),
                fields,
                bytes,
                seq,
                expires: now + self.ttl,
            },
        );
        Ok(id)
    }

    pub(super) fn remove(&mut self, id: &str) {
        let Some(d) = self.by_id.remove(id) else {
            return;
        };
        self.order.remove(&d.seq);
        self.bytes -= d.bytes;
        if let Some(s) = self.scopes.get_mut(&d.scope) {
            s.order.remove(&d.seq);
            s.bytes -= d.bytes;
            if s.order.is_empty() {
                self.scopes.remove(&d.scope);
            }
        }
    }

    /// Drop expired drafts: the oldest first, stopping at the first live one.
    pub(super) fn prune(&mut self, now: Instant) {
        while let Some((&seq, id)) = self.order.first_key_value() {
            match self.by_id.get(id) {
                Some(d) if d.expires > now => break,
                Some(_) => {
                    let id = id.clone();
                    self.remove(&id);
                }
                None => {
                    self.order.remove(&seq);
                }
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The length of `fields` as JSON, counted without building the text. Through `Display`,
/// which serde_json compiles itself: a writer generic instantiated here would run at this
/// crate's opt-level (0 in tests: 0.7 ms for 8 KiB).
fn json_len(fields: &Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(2 + fields.len().saturating_sub(1));
    for (k, v) in fields {
        // `"key":` plus the value; a key is one of ours, so it needs no escapes.
        count.0 += k.len() + 3;
        // Writing to a counter cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut count, format_args!("{v}"));
    }
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TTL: Duration = Duration::from_secs(60);

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn only_wizard_fields_are_kept() {
        let mut drafts = Drafts::new(TTL);
        let now = Instant::now();
        let body = fields(json!({
            "username": "demo", "password": "demo-password", "captcha_api_key": "key",
            "debug": true, "idempotency_key": "k", "terminal": "TTI", "session_id": "s1",
        }));
        let id = drafts
            .save("a", None, body, &Limits::default(), now)
            .unwrap();
        let kept = drafts.get("a", &id, now).unwrap();
        assert_eq!(kept, fields(json!({"terminal": "TTI", "session_id": "s1"})));
        assert_eq!(drafts.bytes(), json_len(&kept));
        assert_eq!(json_len(&kept), serde_json::to_vec(&kept).unwrap().len());
        assert_eq!(json_len(&Map::new()), 2);
    }

    #[test]
    fn drafts_are_scoped_and_expire() {
        let mut drafts = Drafts::new(TTL);
        let now = Instant::now();
        let limits = Limits::default();
        let id = drafts
            .save("a", None, fields(json!({"terminal": "TTI"})), &limits, now)
            .unwrap();
        assert!(id.starts_with("appt_"));
        assert_eq!(drafts.get("a", &id, now).unwrap()["terminal"], "TTI");
        assert!(drafts.get("b", &id, now).is_none());
        // Another scope cannot write into it by naming it.
        let other = drafts
            .save(
                "b",
                Some(id.clone()),
                fields(json!({"terminal": "X"})),
                &limits,
                now,
            )
            .unwrap();
        assert_ne!(other, id);
        assert_eq!(drafts.get("a", &id, now).unwrap()["terminal"], "TTI");
        // Saving again under its own id keeps the id and restarts its life.
        let later = now + TTL / 2;
        let again = drafts
            .save(
                "a",
                Some(id.clone()),
                fields(json!({"terminal": "Y"})),
                &limits,
                later,
            )
            .unwrap();
        assert_eq!(again, id);
        assert!(drafts.get("a", &id, now + TTL).is_some());
        assert!(drafts.get("b", &other, now + TTL).is_none());
        assert_eq!(drafts.len(), 1);
        drafts.prune(later + TTL);
        assert_eq!((drafts.len(), drafts.bytes()), (0, 0));
        assert!(drafts.scopes.is_empty() && drafts.order.is_empty());
    }

    #[test]
    fn a_draft_larger_than_the_cap_is_refused() {
        let mut drafts = Drafts::new(TTL);
        let limits = Limits::default();
        let big = fields(json!({"terminal": "x".repeat(limits.max_draft_bytes)}));
        let refused = drafts
            .save("a", None, big, &limits, Instant::now())
            .unwrap_err();
        assert!(refused.message.contains("send shorter values"), "{refused}");
        assert_eq!(drafts.len(), 0);
        // Dropped fields do not count: a huge password is not a reason to refuse.
        let body = fields(json!({"password": "x".repeat(1 << 20), "terminal": "TTI"}));
        assert!(
            drafts
                .save("a", None, body, &limits, Instant::now())
                .is_ok()
        );
    }

    /// 10,000 drafts of 8 KiB: count and bytes stay under the caps, the oldest go first.
    #[test]
    fn ten_thousand_drafts_stay_under_the_caps() {
        let limits = Limits::default();
        for scopes in [1usize, 50] {
            let mut drafts = Drafts::new(TTL);
            let body = fields(json!({"terminal": "x".repeat(8 * 1024 - 20)}));
            let now = Instant::now();
            let started = Instant::now();
            let ids: Vec<String> = (0..10_000)
                .map(|i| {
                    let scope = format!("scope{}", i % scopes);
                    drafts
                        .save(&scope, None, body.clone(), &limits, now)
                        .unwrap()
                })
                .collect();
            println!(
                "10,000 saves of 8 KiB into {scopes} scope(s): {:?}",
                started.elapsed()
            );
            assert!(drafts.len() <= limits.max_drafts_total);
            assert!(drafts.bytes() <= limits.max_bytes_per_scope * scopes);
            for (scope, s) in &drafts.scopes {
                assert!(s.order.len() <= limits.max_drafts_per_scope, "{scope}");
                assert!(s.bytes <= limits.max_bytes_per_scope, "{scope}");
            }
            let last = ids.len() - 1;
            let last_scope = format!("scope{}", last % scopes);
            assert!(drafts.get(&last_scope, &ids[last], now).is_some());
            assert!(drafts.get("scope0", &ids[0], now).is_none());
            // The indexes agree with the map.
            assert_eq!(drafts.order.len(), drafts.len());
            let bytes: usize = drafts.scopes.values().map(|s| s.bytes).sum();
            assert_eq!(bytes, drafts.bytes());
        }
    }

    #[test]
    fn the_total_cap_takes_the_oldest_of_any_scope() {
        let limits = Limits {
            max_drafts_total: 3,
            ..Limits::default()
        };
        let mut drafts = Drafts::new(TTL);
        let now = Instant::now();
        let ids: Vec<String> = ["a", "b", "c", "d"]
            .iter()
            .map(|s| drafts.save(s, None, Map::new(), &limits, now).unwrap())
            .collect();
        assert_eq!(drafts.len(), 3);
        assert!(drafts.get("a", &ids[0], now).is_none());
        assert!(drafts.get("d", &ids[3], now).is_some());
    }
}
