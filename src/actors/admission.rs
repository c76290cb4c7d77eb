//! Who may start a login: login protection (credentials the portal rejected are refused for
//! `login.window`; at most `login.max_attempts` logins that really started per window) and
//! per-token session quotas (`server.token_quotas`). Owned by the SessionManager.

use super::SessionError;
use crate::config::Settings;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub struct Admission {
    window: Duration,
    max_attempts: usize,
    /// Recent logins that started, per credential key.
    logins: HashMap<String, VecDeque<Instant>>,
    /// When the portal last rejected each credential key's password.
    rejected: HashMap<String, Instant>,
    /// Most sessions per token scope; absent: no quota.
    quotas: HashMap<String, usize>,
}

impl Admission {
    pub fn new(settings: &Settings) -> Admission {
        Admission {
            window: Duration::from_secs(settings.login.window),
            max_attempts: settings.login.max_attempts,
            logins: HashMap::new(),
            rejected: HashMap::new(),
            quotas: quotas(settings),
        }
    }

    /// The quota of the token behind `scope`, if it has one.
    pub fn quota(&self, scope: &str) -> Option<usize> {
        self.quotas.get(scope).copied()
    }

    /// Refuse credentials the portal rejected within the window, and more than
    /// `max_attempts` logins per window. Records nothing: see [`Admission::record`].
    pub fn admit(&mut self, key: &str) -> Result<(), SessionError> {
        let window = self.window;
        let now = Instant::now();
        if self.logins.len() > 10_000 {
            self.logins
                .retain(|_, t| t.back().is_some_and(|t| now.duration_since(*t) < window));
            self.rejected.retain(|_, t| now.duration_since(*t) < window);
        }
        if let Some(at) = self.rejected.get(key) {
            let since = now.duration_since(*at);
            if since < window {
                return Err(SessionError::LoginRefused(
                    (window - since).as_secs().max(1),
                ));
            }
            self.rejected.remove(key);
        }
        let recent = self.logins.entry(key.to_string()).or_default();
        while recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            recent.pop_front();
        }
        if recent.len() >= self.max_attempts {
            let oldest = recent.front().copied().unwrap_or(now);
            let wait = window
                .saturating_sub(now.duration_since(oldest))
                .as_secs()
                .max(1);
            return Err(SessionError::TooManyLogins(wait));
        }
        Ok(())
    }

    /// A login for `key` really starts (admitted, and there was room for it).
    pub fn record(&mut self, key: &str) {
        self.logins
            .entry(key.to_string())
            .or_default()
            .push_back(Instant::now());
    }

    /// A first login that failed for a reason other than the portal's verdict on the
    /// password (the portal or the captcha service unreachable, a timeout, a dead browser)
    /// does not count towards the limit: the account was never at risk.
    pub fn forget(&mut self, key: &str) {
        if let Some(recent) = self.logins.get_mut(key) {
            recent.pop_back();
        }
    }

    /// The portal rejected `key`'s password: refuse it until the window has passed.
    pub fn rejected(&mut self, key: String) {
        self.rejected.insert(key, Instant::now());
    }
}

/// `server.token_quotas` by token scope.
fn quotas(settings: &Settings) -> HashMap<String, usize> {
    let server = &settings.server;
    server
        .api_tokens
        .iter()
        .enumerate()
        .filter_map(|(i, token)| {
            let quota = match server.token_quotas.as_slice() {
                [] => return None,
                [one] => *one,
                many => *many.get(i)?,
            };
            (quota > 0).then(|| (crate::credentials::token_scope(token.expose()), quota))
        })
        .collect()
}
