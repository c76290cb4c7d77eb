//! What a portal login consists of inside the browser: the portal's cookies and the web
//! storage of its origins. The driver reads it from a logged-in Chrome and installs it in a
//! new one; snapshots carry it (encrypted) across Chrome crashes and service restarts.
//!
//! Cookie values and storage items are credentials in all but name (whoever holds them is
//! logged in), so `Debug` shows names and counts, never values.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a new Chrome needs to be logged in to the portal without a login.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrowserState {
    pub cookies: Vec<Cookie>,
    /// Web storage by origin (`https://host[:port]`), as last seen on a page of that origin.
    pub storage: BTreeMap<String, OriginStorage>,
}

/// One cookie as Chrome's DevTools reports it (`Network.Cookie`), minus what Chrome
/// computes itself (size, priority).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    /// `host` for a host-only cookie, `.host` for a domain cookie.
    pub domain: String,
    pub path: String,
    /// Seconds since the epoch; `None` for a session cookie (gone when the browser closes,
    /// which is exactly what we must not lose).
    pub expires: Option<f64>,
    pub http_only: bool,
    pub secure: bool,
    /// `Strict`, `Lax` or `None`, when the cookie said.
    pub same_site: Option<String>,
    /// `Secure`, `NonSecure` or `Unset`: the scheme that set it.
    pub source_scheme: Option<String>,
    /// The port that set it (-1 unknown).
    pub source_port: Option<i64>,
}

/// `localStorage` and `sessionStorage` of one origin.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OriginStorage {
    pub local: BTreeMap<String, String>,
    pub session: BTreeMap<String, String>,
}

impl BrowserState {
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty() && self.storage.is_empty()
    }

    /// Keep what `newer` saw and, for origins it did not visit, what this one had: each
    /// capture only sees the web storage of the page the session is on.
    pub fn merged(mut self, newer: BrowserState) -> BrowserState {
        self.cookies = newer.cookies;
        self.storage.extend(newer.storage);
        self
    }
}

impl std::fmt::Debug for BrowserState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserState")
            .field("cookies", &self.cookies)
            .field("storage_origins", &self.storage.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{}{} [value redacted]",
            self.name, self.domain, self.path
        )
    }
}

impl std::fmt::Debug for OriginStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginStorage")
            .field("local_items", &self.local.len())
            .field("session_items", &self.session.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookie(name: &str, value: &str) -> Cookie {
        Cookie {
            name: name.into(),
            value: value.into(),
            domain: "ecp2.example".into(),
            path: "/".into(),
            expires: None,
            http_only: true,
            secure: true,
            same_site: Some("Lax".into()),
            source_scheme: Some("Secure".into()),
            source_port: Some(443),
        }
    }

    #[test]
    fn debug_never_shows_values() {
        let mut state = BrowserState {
            cookies: vec![cookie("ecp_session", "s3cr3t-cookie")],
            ..BrowserState::default()
        };
        state.storage.insert(
            "https://ecp2.example".into(),
            OriginStorage {
                local: BTreeMap::from([("token".into(), "s3cr3t-item".into())]),
                session: BTreeMap::new(),
            },
        );
        let shown = format!("{state:?}");
        assert!(shown.contains("ecp_session"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn a_newer_capture_keeps_origins_it_did_not_see() {
        let mut old = BrowserState {
            cookies: vec![cookie("a", "1")],
            ..BrowserState::default()
        };
        old.storage
            .insert("https://one".into(), OriginStorage::default());
        let mut new = BrowserState {
            cookies: vec![cookie("a", "2")],
            ..BrowserState::default()
        };
        new.storage
            .insert("https://two".into(), OriginStorage::default());
        let merged = old.merged(new);
        assert_eq!(merged.cookies[0].value, "2");
        assert_eq!(merged.storage.len(), 2);
    }
}
