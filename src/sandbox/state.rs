//! Shared state of one sandbox server: runtime knobs, counters, portal sessions, outage.
//!
//! Everything sits behind short `std::sync::Mutex` sections (never held across an `.await`):
//! the sandbox serves a handful of browsers, so simplicity beats lock-free cleverness.

use super::appointments::Bookings;
use super::captcha::CaptchaStore;
use super::data::{self, AccountData};
use crate::config::SandboxSettings;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Name of the portal's session cookie (HttpOnly, so page scripts cannot read it).
pub const SESSION_COOKIE: &str = "ecp_session";

/// Counters shown by `/__sandbox/stats`.
#[derive(Default)]
pub struct Stats {
    pub captcha_tasks: AtomicU64,
    pub captcha_solved: AtomicU64,
    pub captcha_errors: AtomicU64,
    pub logins_ok: AtomicU64,
    pub logins_failed: AtomicU64,
    pub appointments_booked: AtomicU64,
    pub page_loads: AtomicU64,
    pub api_calls: AtomicU64,
    pub logged_out_pages: AtomicU64,
}

impl Stats {
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

struct PortalSession {
    username: String,
    last_seen: Instant,
}

pub struct State {
    pub settings: SandboxSettings,
    /// "Now" for the dataset's relative dates, fixed at start so the data is stable while the
    /// server runs.
    pub anchor: NaiveDateTime,
    render_delay_ms: AtomicU64,
    captcha_solve_delay_ms: AtomicU64,
    portal_idle_timeout: AtomicU64,
    pub stats: Stats,
    sessions: Mutex<HashMap<String, PortalSession>>,
    /// One-time codes of the identity hop (`/signin-oidc?code=`).
    oidc_codes: Mutex<HashMap<String, Instant>>,
    pub captcha: CaptchaStore,
    pub bookings: Bookings,
    datasets: Mutex<HashMap<String, Arc<AccountData>>>,
    outage_until: Mutex<Option<Instant>>,
}

/// Lock, ignoring poisoning: a panicking handler must not take the whole sandbox down.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A random 128-bit identifier in hex (session ids, one-time codes).
pub fn random_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl State {
    pub fn new(settings: &SandboxSettings) -> State {
        State {
            settings: settings.clone(),
            anchor: chrono::Local::now().naive_local(),
            render_delay_ms: AtomicU64::new(settings.render_delay_ms),
            captcha_solve_delay_ms: AtomicU64::new(settings.captcha_solve_delay_ms),
            portal_idle_timeout: AtomicU64::new(settings.portal_idle_timeout),
            stats: Stats::default(),
            sessions: Mutex::new(HashMap::new()),
            oidc_codes: Mutex::new(HashMap::new()),
            captcha: CaptchaStore::default(),
            bookings: Bookings::default(),
            datasets: Mutex::new(HashMap::new()),
            outage_until: Mutex::new(None),
        }
    }

    // ----- runtime knobs -----

    pub fn render_delay(&self) -> Duration {
        Duration::from_millis(self.render_delay_ms.load(Ordering::Relaxed))
    }

    /// Wait the configured render delay: applied to every client-side data fetch, so a driver
    /// that sleeps instead of waiting for elements fails against the sandbox too.
    pub async fn render_pause(&self) {
        let d = self.render_delay();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    pub fn captcha_solve_delay(&self) -> Duration {
        Duration::from_millis(self.captcha_solve_delay_ms.load(Ordering::Relaxed))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.portal_idle_timeout.load(Ordering::Relaxed))
    }

    pub fn config_json(&self) -> Value {
        json!({
            "render_delay_ms": self.render_delay_ms.load(Ordering::Relaxed),
            "captcha_solve_delay_ms": self.captcha_solve_delay_ms.load(Ordering::Relaxed),
            "portal_idle_timeout": self.portal_idle_timeout.load(Ordering::Relaxed),
        })
    }

    pub fn set_config(&self, render: Option<u64>, solve: Option<u64>, idle: Option<u64>) {
        if let Some(v) = render {
            self.render_delay_ms.store(v, Ordering::Relaxed);
        }
        if let Some(v) = solve {
            self.captcha_solve_delay_ms.store(v, Ordering::Relaxed);
        }
        if let Some(v) = idle {
            self.portal_idle_timeout.store(v, Ordering::Relaxed);
        }
    }

    // ----- outage -----

    pub fn set_outage(&self, seconds: u64) {
        *lock(&self.outage_until) =
            (seconds > 0).then(|| Instant::now() + Duration::from_secs(seconds));
    }

    /// Seconds of maintenance left (0 = the portal is up).
    pub fn outage_remaining(&self) -> u64 {
        let mut g = lock(&self.outage_until);
        match *g {
            Some(until) if until > Instant::now() => {
                (until - Instant::now()).as_secs_f64().ceil() as u64
            }
            _ => {
                *g = None;
                0
            }
        }
    }

    // ----- accounts and data -----

    /// The configured account's password check. Constant-time comparison is pointless here.
    pub fn credentials_ok(&self, username: &str, password: &str) -> bool {
        self.settings
            .accounts
            .iter()
            .any(|a| a.username == username && a.password.expose() == password)
    }

    /// The dataset of a configured account (generated once, then cached).
    pub fn account(&self, username: &str) -> Option<Arc<AccountData>> {
        if !self
            .settings
            .accounts
            .iter()
            .any(|a| a.username == username)
        {
            return None;
        }
        let mut g = lock(&self.datasets);
        let data = g.entry(username.to_string()).or_insert_with(|| {
            Arc::new(data::generate(
                self.settings.seed,
                username,
                self.settings.containers_per_account,
                self.anchor,
            ))
        });
        Some(data.clone())
    }

    // ----- portal sessions -----

    /// Start a portal session; returns the cookie value and a one-time identity code.
    pub fn create_session(&self, username: &str) -> (String, String) {
        let id = random_id();
        lock(&self.sessions).insert(
            id.clone(),
            PortalSession {
                username: username.to_string(),
                last_seen: Instant::now(),
            },
        );
        let code = random_id();
        let mut codes = lock(&self.oidc_codes);
        codes.retain(|_, t| t.elapsed() < Duration::from_secs(300));
        codes.insert(code.clone(), Instant::now());
        (id, code)
    }

    /// Consume an identity code (valid once, for five minutes).
    pub fn take_oidc_code(&self, code: &str) -> bool {
        lock(&self.oidc_codes)
            .remove(code)
            .is_some_and(|t| t.elapsed() < Duration::from_secs(300))
    }

    /// The username behind a session cookie; refreshes its idle timer. Expired sessions are
    /// removed on the spot.
    pub fn touch_session(&self, id: &str) -> Option<String> {
        let idle = self.idle_timeout();
        let mut g = lock(&self.sessions);
        let s = g.get_mut(id)?;
        if s.last_seen.elapsed() > idle {
            g.remove(id);
            return None;
        }
        s.last_seen = Instant::now();
        Some(s.username.clone())
    }

    pub fn end_session(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    pub fn logout_all(&self) -> usize {
        let mut g = lock(&self.sessions);
        let n = g.len();
        g.clear();
        n
    }

    pub fn active_sessions(&self) -> usize {
        let idle = self.idle_timeout();
        let mut g = lock(&self.sessions);
        g.retain(|_, s| s.last_seen.elapsed() <= idle);
        g.len()
    }

    pub fn stats_json(&self) -> Value {
        let s = &self.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        json!({
            "captcha_tasks": get(&s.captcha_tasks),
            "captcha_solved": get(&s.captcha_solved),
            "captcha_errors": get(&s.captcha_errors),
            "logins_ok": get(&s.logins_ok),
            "logins_failed": get(&s.logins_failed),
            "active_portal_sessions": self.active_sessions(),
            "appointments_booked": get(&s.appointments_booked),
            "page_loads": get(&s.page_loads),
            "api_calls": get(&s.api_calls),
            "logged_out_pages": get(&s.logged_out_pages),
            "outage_seconds_remaining": self.outage_remaining(),
        })
    }
}
