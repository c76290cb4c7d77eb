//! Shared state of one sandbox server: runtime knobs, counters, portal sessions, outage.
//!
//! Everything sits behind short `std::sync::Mutex` sections (never held across an `.await`):
//! the sandbox serves a handful of browsers, so simplicity beats lock-free cleverness.

use super::appointments::Bookings;
use super::captcha::CaptchaStore;
use super::data::{self, AccountData};
use super::hosts::{Hosts, Role};
use super::rng::SplitMix64;
use crate::config::SandboxSettings;
use chrono::NaiveDateTime;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// Name of the portal's session cookie (HttpOnly, so page scripts cannot read it). Every host
/// sets its own, host-only: on the identity host it names the portal session, on an app host
/// that host's own session (tied to the portal session it signed in with).
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
    /// One-time codes of the identity hop (`/signin-oidc?code=`) -> the portal session they
    /// were issued for, and when.
    oidc_codes: Mutex<HashMap<String, (String, Instant)>>,
    /// App hosts' own sessions (their cookie value) -> (host, portal session id).
    host_sessions: Mutex<HashMap<String, (Role, String)>>,
    /// The hosts' base URLs, set once the listeners are bound.
    hosts: OnceLock<Hosts>,
    pub captcha: CaptchaStore,
    pub bookings: Bookings,
    datasets: Mutex<HashMap<String, Arc<AccountData>>>,
    outage_until: Mutex<Option<Instant>>,
    /// What the wizard shows after Submit (`sandbox.after_submit`, changeable at runtime).
    after_submit: Mutex<String>,
    /// Extra milliseconds the booking request takes before it answers (the booking itself is
    /// recorded first), so a driver's "slow answer" path can be exercised.
    submit_delay_ms: AtomicU64,
    /// Terminals that offer no slot at all (the page then shows "No Appointments Available").
    full_terminals: Mutex<Vec<String>>,
    /// Whether the identity hop stops on a "Continue" page: `always`, `never` or `sometimes`
    /// (now and then at realistic pace, never at instant pace).
    identity_prompt: Mutex<String>,
    /// Whether the legacy grid shows its spinner while a page loads: `auto` (always at
    /// instant pace, now and then not at realistic pace) or `none` (never).
    grid_spinner: Mutex<String>,
    /// The jitter source of `pace = "realistic"`: seeded, so runs are reproducible.
    pace_rng: Mutex<SplitMix64>,
}

/// The kinds of wait the real portal makes a person sit through, for `pace = "realistic"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// A page of the containers grid (1-5 s on the real portal).
    GridPage,
    /// A wizard step change after Next (2-10 s).
    Next,
    /// Loading the wizard's option lists, a terminal's move types, the slot list (0.5-2 s).
    Lookup,
    /// The booking request behind Submit (1-4 s).
    Submit,
    /// A page's first render (0.3-1.5 s).
    Render,
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
            host_sessions: Mutex::new(HashMap::new()),
            hosts: OnceLock::new(),
            captcha: CaptchaStore::default(),
            bookings: Bookings::default(),
            datasets: Mutex::new(HashMap::new()),
            outage_until: Mutex::new(None),
            after_submit: Mutex::new(settings.after_submit.clone()),
            submit_delay_ms: AtomicU64::new(0),
            full_terminals: Mutex::new(Vec::new()),
            identity_prompt: Mutex::new("sometimes".into()),
            grid_spinner: Mutex::new("auto".into()),
            pace_rng: Mutex::new(SplitMix64::new(settings.seed ^ 0x7061_6365)),
        }
    }

    // ----- pace and wizard behaviour -----

    pub fn realistic(&self) -> bool {
        self.settings.pace == "realistic"
    }

    /// A seeded draw from `0..100`, for "now and then" behaviour at realistic pace;
    /// always 100 (never "now and then") at instant pace.
    pub fn pace_roll(&self) -> u64 {
        if self.realistic() {
            lock(&self.pace_rng).below(100)
        } else {
            100
        }
    }

    /// How long `kind` takes at the configured pace: zero at `instant`.
    pub fn pace_delay(&self, kind: Pace) -> Duration {
        if !self.realistic() {
            return Duration::ZERO;
        }
        let (lo, hi) = match kind {
            Pace::GridPage => (1000, 5000),
            Pace::Next => (2000, 10000),
            Pace::Lookup => (500, 2000),
            Pace::Submit => (1000, 4000),
            Pace::Render => (300, 1500),
        };
        Duration::from_millis(lock(&self.pace_rng).range(lo, hi) as u64)
    }

    /// Sleep [`State::pace_delay`] plus the render delay.
    pub async fn pace_pause(&self, kind: Pace) {
        let d = self.pace_delay(kind) + self.render_delay();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }

    /// Does this login's identity hop stop on the interstitial "Continue" page?
    pub fn identity_prompt_now(&self) -> bool {
        match lock(&self.identity_prompt).as_str() {
            "always" => true,
            "never" => false,
            _ => self.pace_roll() < 25,
        }
    }

    pub fn set_identity_prompt(&self, mode: String) {
        *lock(&self.identity_prompt) = mode;
    }

    /// Does this grid page show a spinner while its pages load?
    pub fn grid_spinner_now(&self) -> bool {
        *lock(&self.grid_spinner) != "none" && self.pace_roll() >= 30
    }

    pub fn set_grid_spinner(&self, mode: String) {
        *lock(&self.grid_spinner) = mode;
    }

    pub fn after_submit(&self) -> String {
        lock(&self.after_submit).clone()
    }

    pub fn submit_delay(&self) -> Duration {
        Duration::from_millis(self.submit_delay_ms.load(Ordering::Relaxed))
    }

    pub fn is_full(&self, terminal: &str) -> bool {
        lock(&self.full_terminals).iter().any(|t| t == terminal)
    }

    /// Runtime changes from `POST /__sandbox/config` that the wizard reads.
    pub fn set_wizard_config(
        &self,
        after_submit: Option<String>,
        submit_delay_ms: Option<u64>,
        full_terminals: Option<Vec<String>>,
    ) {
        if let Some(v) = after_submit {
            *lock(&self.after_submit) = v;
        }
        if let Some(v) = submit_delay_ms {
            self.submit_delay_ms.store(v, Ordering::Relaxed);
        }
        if let Some(v) = full_terminals {
            *lock(&self.full_terminals) = v;
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
            "generation": self.settings.generation,
            "pace": self.settings.pace,
            "after_submit": self.after_submit(),
            "submit_delay_ms": self.submit_delay_ms.load(Ordering::Relaxed),
            "full_terminals": *lock(&self.full_terminals),
            "identity_prompt": *lock(&self.identity_prompt),
            "grid_spinner": *lock(&self.grid_spinner),
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
        let code = self.issue_code(&id);
        (id, code)
    }

    /// A one-time code for `/signin-oidc` that signs a host in to portal session `portal`.
    pub fn issue_code(&self, portal: &str) -> String {
        let code = random_id();
        let mut codes = lock(&self.oidc_codes);
        codes.retain(|_, (_, t)| t.elapsed() < Duration::from_secs(300));
        codes.insert(code.clone(), (portal.to_string(), Instant::now()));
        code
    }

    /// Consume an identity code (valid once, for five minutes): the portal session it was
    /// issued for.
    pub fn take_oidc_code(&self, code: &str) -> Option<String> {
        lock(&self.oidc_codes)
            .remove(code)
            .filter(|(_, t)| t.elapsed() < Duration::from_secs(300))
            .map(|(portal, _)| portal)
    }

    /// Start `role`'s own session for portal session `portal`; returns its cookie value.
    pub fn create_host_session(&self, role: Role, portal: &str) -> String {
        let id = random_id();
        let mut g = lock(&self.host_sessions);
        // A host session outlives its portal session only as a stale cookie's record.
        if g.len() > 10_000 {
            let live = lock(&self.sessions);
            g.retain(|_, (_, p)| live.contains_key(p));
        }
        g.insert(id.clone(), (role, portal.to_string()));
        id
    }

    /// The username behind `role`'s own session cookie, refreshing the portal session's idle
    /// timer; `None` when the cookie is unknown, another host's, or its portal session ended.
    pub fn host_user(&self, role: Role, id: &str) -> Option<String> {
        let portal = match lock(&self.host_sessions).get(id) {
            Some((r, p)) if *r == role => p.clone(),
            _ => return None,
        };
        self.touch_session(&portal)
    }

    pub fn set_hosts(&self, hosts: Hosts) {
        let _ = self.hosts.set(hosts);
    }

    /// The hosts' base URLs (one relative host until the listeners are bound).
    pub fn hosts(&self) -> &Hosts {
        self.hosts.get_or_init(|| Hosts::single(String::new()))
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
