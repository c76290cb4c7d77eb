//! Which token scope each live session belongs to, readable from anywhere without asking the
//! manager: the live event stream (`GET /events`) shows a client only its own sessions'
//! events, and it learns an event's scope here while the event is being emitted.
//!
//! The manager registers a session when it creates or restores it and forgets it when it
//! unregisters it, after the session's last supervision event (`session_closed`,
//! `session_dropped`, `session_expired`) has been logged. Global because the tracing layer
//! that feeds the stream is global; ids are unique across every manager in the process.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

fn map() -> &'static Mutex<HashMap<String, String>> {
    static MAP: OnceLock<Mutex<HashMap<String, String>>> = OnceLock::new();
    MAP.get_or_init(Default::default)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, String>> {
    map().lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn register(session_id: &str, scope: &str) {
    lock().insert(session_id.to_string(), scope.to_string());
}

pub(super) fn forget(session_id: &str) {
    lock().remove(session_id);
}

/// The token scope of a live session (`""` when the service has no API tokens).
pub fn scope_of(session_id: &str) -> Option<String> {
    lock().get(session_id).cloned()
}
