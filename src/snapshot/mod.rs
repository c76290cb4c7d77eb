//! Encrypted session snapshots: what brings a session back without a login.
//!
//! A snapshot holds a session's portal cookies and web storage ([`BrowserState`]), what the
//! manager needs to re-register it under the same id, and (unless
//! `sessions.persist_credentials = false`) the password and captcha key for a later full
//! login. Whoever holds the cookies is logged in, so a snapshot is never on disk in
//! plaintext: [`crypto`] seals it with a key derived from the service secret, and
//! [`SnapshotStore`] writes it atomically to `<data_dir>/sessions/<session_id>.snap`.

mod crypto;
mod store;
#[cfg(test)]
mod tests;

pub use store::{Rejected, SnapshotMirror, SnapshotStore};

use crate::model::BrowserState;
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Everything a new incarnation (or a new service process) needs to carry a session on.
///
/// `Debug` shows no secret: [`Secret`] and [`BrowserState`] redact themselves.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub session_id: String,
    pub username: String,
    /// token scope (`crate::credentials::token_scope` of the caller's API token, "" without tokens)
    pub scope: String,
    /// HMAC credential key (hex) the manager de-duplicates by
    pub credential_key: String,
    pub keep_alive: bool,
    pub created_at: DateTime<Utc>,
    pub last_used: DateTime<Utc>,
    /// how many Chrome incarnations the session has had
    pub incarnation: u64,
    pub restarts: u32,
    /// None when sessions.persist_credentials = false
    #[serde(serialize_with = "expose_secret")]
    pub password: Option<Secret>,
    #[serde(serialize_with = "expose_secret")]
    pub captcha_key: Option<Secret>,
    pub browser: BrowserState,
}

/// `Secret` has no `Serialize` so that nothing writes one by accident; the snapshot payload
/// is the one place that must, and it is only ever serialized to be encrypted.
fn expose_secret<S: serde::Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_some(secret.expose()),
        None => s.serialize_none(),
    }
}

/// Whether `id` is what [`crate::credentials::new_session_id`] makes: `session_` + 32 lowercase
/// hex digits. Only such ids name files, so no id can reach outside the snapshot directory.
pub(crate) fn is_session_id(id: &str) -> bool {
    id.strip_prefix("session_").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}
