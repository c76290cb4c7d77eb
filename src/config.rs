//! Settings: `settings.toml` (or another file) overlaid by `EMODAL__SECTION__KEY` variables.
//!
//! Every section has defaults equal to the shipped `settings.toml`, so tests and the sandbox
//! can build a [`Settings`] from nothing but overrides.

use crate::secret::Secret;
use anyhow::Context;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub log: LogSettings,
    pub sessions: SessionSettings,
    pub login: LoginSettings,
    pub chrome: ChromeSettings,
    pub captcha: CaptchaSettings,
    pub portal: PortalProfile,
    pub files: FileSettings,
    pub sandbox: SandboxSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub api_tokens: Vec<Secret>,
    pub drain_timeout: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub filter: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub max_sessions: usize,
    pub session_timeout: u64,
    pub session_refresh_interval: u64,
    pub appointment_session_timeout: u64,
    pub max_restarts: u32,
    pub restart_window: u64,
    pub restart_backoff_initial_ms: u64,
    pub restart_backoff_max_ms: u64,
    pub login_timeout: u64,
    pub operation_timeout: u64,
    pub max_queue: usize,
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoginSettings {
    pub max_attempts: usize,
    pub window: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChromeSettings {
    pub path: PathBuf,
    pub data_dir: PathBuf,
    pub headless: bool,
    pub call_timeout: u64,
    pub idle_browser_timeout: u64,
    pub liveness_interval: u64,
    /// Scheduling niceness of every Chrome process (0 keeps the service's own).
    pub nice: i32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaptchaSettings {
    pub base_url: String,
    pub first_poll_delay_ms: u64,
    pub poll_interval_ms: u64,
    pub timeout: u64,
}

/// Where the portal lives and how its pages are recognised. The driver knows nothing else.
#[derive(Debug, Clone, Deserialize)]
pub struct PortalProfile {
    pub login_url: String,
    pub home_url: String,
    pub containers_url: String,
    pub keepalive_url: String,
    pub addvisit_url: String,
    pub myappointments_url: String,
    pub ignore_certificate_errors: bool,
    pub scroll_settle_ms: u64,
    pub scroll_settle_max_ms: u64,
    pub scroll_idle_rounds: u32,
    pub first_rows_wait_ms: u64,
    pub container_columns: Vec<String>,
    /// Each element the driver looks for: one CSS selector, or an ordered list of them
    /// (strategies: the first that matches anything wins).
    pub selectors: HashMap<String, Strategies>,
    pub texts: PortalTexts,
    /// Labels and texts of the appointment wizard and the appointments list.
    pub wizard: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PortalTexts {
    pub logged_out: Vec<String>,
    pub bad_credentials: Vec<String>,
    pub captcha_error: Vec<String>,
    pub forbidden: Vec<String>,
    pub no_open_transactions: String,
    pub booking_label: String,
    pub pregate_milestone: String,
    /// Icons that mark a collapsed grid row (its expand control).
    pub expand_words: Vec<String>,
    /// Icon ligatures (mat-icon text) that appear inside cells and labels and are not data.
    pub icon_words: Vec<String>,
    /// Buttons of interstitial prompts the driver may press to go on (identity hop, first run).
    pub prompt_buttons: Vec<String>,
    /// Buttons that close an informational popup in the wizard.
    pub close_buttons: Vec<String>,
    /// The single option a full terminal's time dropdown shows instead of times.
    pub no_appointments: Vec<String>,
    /// Words of a message that says a booking was made (snack-bar after Submit).
    pub booked_texts: Vec<String>,
    /// Words that turn such a message into a refusal ("could not be booked").
    pub refused_texts: Vec<String>,
    /// Words in the URL of a page that is still on its way (My Appointments' loading route).
    pub loading_url_marks: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FileSettings {
    pub retention: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SandboxSettings {
    pub host: String,
    pub port: u16,
    pub render_delay_ms: u64,
    pub captcha_solve_delay_ms: u64,
    pub portal_idle_timeout: u64,
    pub token_ttl: u64,
    pub site_key: String,
    pub seed: u64,
    pub containers_per_account: usize,
    pub page_size: usize,
    /// Which Angular Material markup the pages use: `legacy` (pre-MDC, what the original
    /// project recorded of the real portal) or `mdc` (today's Material).
    pub generation: String,
    /// `instant` (tests) or `realistic`: seeded, jittered delays of the real portal's order.
    pub pace: String,
    /// What the wizard shows after Submit: `confirmation` (a step 4 with a number),
    /// `snackbar` (a message only) or `my_appointments` (the browser is sent there).
    pub after_submit: String,
    /// Serve the portal's hosts (identity, ecp2, account, termops, truckerportal) as separate
    /// origins on consecutive loopback addresses from `host`; false = one host for all.
    pub separate_hosts: bool,
    pub accounts: Vec<SandboxAccount>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SandboxAccount {
    pub username: String,
    pub password: Secret,
}

/// The shipped defaults, compiled in so a missing file still yields a complete config.
const DEFAULTS: &str = include_str!("../settings.toml");

impl Settings {
    /// Defaults, then `path` if it exists, then `EMODAL__*` environment variables.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        let file = path.unwrap_or(Path::new("settings.toml"));
        builder = builder.add_source(config::File::from(file).required(path.is_some()));
        builder = builder.add_source(
            config::Environment::with_prefix("EMODAL")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("server.api_tokens")
                .try_parsing(true),
        );
        let settings: Settings = builder
            .build()?
            .try_deserialize()
            .context("reading settings")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Defaults overlaid by `overrides` (`"section.key" -> value`); no file, no environment.
    /// This is how tests configure a server without `set_var`.
    pub fn from_overrides(overrides: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
        for (key, value) in overrides {
            // Lists are written comma-separated, as in the environment.
            builder = if *key == "server.api_tokens" {
                let items: Vec<String> = value
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect();
                builder.set_override(*key, items)?
            } else {
                builder.set_override(*key, *value)?
            };
        }
        let settings: Settings = builder
            .build()?
            .try_deserialize()
            .context("reading settings")?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let refresh = self.sessions.session_refresh_interval;
        anyhow::ensure!(refresh > 0, "sessions.session_refresh_interval must be > 0");
        anyhow::ensure!(
            self.chrome.idle_browser_timeout > refresh + self.chrome.call_timeout,
            "chrome.idle_browser_timeout ({}) must exceed sessions.session_refresh_interval ({}) \
             plus chrome.call_timeout ({}), or quiet sessions lose their browser connection",
            self.chrome.idle_browser_timeout,
            refresh,
            self.chrome.call_timeout
        );
        anyhow::ensure!(
            self.sessions.max_sessions > 0,
            "sessions.max_sessions must be > 0"
        );
        anyhow::ensure!(
            (0..=19).contains(&self.chrome.nice),
            "chrome.nice must be between 0 and 19"
        );
        let sb = &self.sandbox;
        for (key, value, allowed) in [
            ("generation", &sb.generation, &["legacy", "mdc"][..]),
            ("pace", &sb.pace, &["instant", "realistic"][..]),
            (
                "after_submit",
                &sb.after_submit,
                &["confirmation", "snackbar", "my_appointments"][..],
            ),
        ] {
            anyhow::ensure!(
                allowed.contains(&value.as_str()),
                "sandbox.{key} must be one of {}, got '{value}'",
                allowed.join(", ")
            );
        }
        for name in ["login_url", "keepalive_url"] {
            let url = match name {
                "login_url" => &self.portal.login_url,
                _ => &self.portal.keepalive_url,
            };
            anyhow::ensure!(
                url.starts_with("http"),
                "portal.{name} must be an http(s) URL"
            );
        }
        Ok(())
    }

    /// Point the portal profile and the captcha client at a sandbox served at `base`
    /// (e.g. `http://127.0.0.1:5011`): every portal URL keeps its path and loses its host.
    /// Point the portal and the captcha service at a sandbox whose identity host is `base`.
    /// With `sandbox.separate_hosts`, each portal URL goes to its own host's origin (see
    /// [`sandbox_host_urls`]); otherwise every URL keeps only its path on `base`.
    pub fn wire_to_sandbox(&mut self, base: &str) {
        let base = base.trim_end_matches('/');
        let [identity, ecp2, _account, termops, truckerportal] =
            sandbox_host_urls(base, self.sandbox.separate_hosts);
        let p = &mut self.portal;
        for (url, host) in [
            (&mut p.login_url, &identity),
            (&mut p.home_url, &ecp2),
            (&mut p.containers_url, &ecp2),
            (&mut p.keepalive_url, &termops),
            (&mut p.addvisit_url, &termops),
            (&mut p.myappointments_url, &truckerportal),
        ] {
            *url = format!("{host}{}", url_path(url));
        }
        p.ignore_certificate_errors = false;
        self.captcha.base_url = base.to_string();
        // The stand-in solves in `captcha_solve_delay_ms`; polling like the real service
        // (15 s, then every 5 s) would only add waiting.
        self.captcha.first_poll_delay_ms = 0;
        self.captcha.poll_interval_ms = 100;
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.sessions.session_timeout)
    }

    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.sessions.session_refresh_interval)
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.chrome.data_dir.join("profiles")
    }
}

/// The base URLs of the sandbox's hosts, in the order identity, ecp2, account, termops,
/// truckerportal, given the identity host's `base` (`http://127.0.0.1:5011`). The sandbox
/// serves them on consecutive loopback addresses with one port (127.0.0.1, .2, .3, ...), so
/// that cookies and redirects cross origins as on the real portal. When `separate` is false,
/// or `base` is not such an address, every host is `base` itself (one origin).
pub fn sandbox_host_urls(base: &str, separate: bool) -> [String; 5] {
    let base = base.trim_end_matches('/');
    let one = || std::array::from_fn(|_| base.to_string());
    if !separate {
        return one();
    }
    let authority = base.strip_prefix("http://").unwrap_or("");
    let Ok(addr) = authority.parse::<std::net::SocketAddrV4>() else {
        return one();
    };
    let [a, b, c, d] = addr.ip().octets();
    if !addr.ip().is_loopback() || d > 250 {
        return one();
    }
    std::array::from_fn(|i| {
        let ip = std::net::Ipv4Addr::new(a, b, c, d + i as u8);
        format!("http://{ip}:{}", addr.port())
    })
}

/// The path (with query) of an absolute URL: `https://h.example/a/b?c` -> `/a/b?c`.
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// A profile selector: one CSS selector or an ordered list of them. A list lets one profile
/// describe both what was recorded of the real portal and what a redesign may bring
/// (legacy and MDC Angular Material), tried in order.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Strategies {
    One(String),
    Many(Vec<String>),
}

impl Strategies {
    pub fn list(&self) -> Vec<String> {
        match self {
            Strategies::One(s) => vec![s.clone()],
            Strategies::Many(v) => v.clone(),
        }
    }
}

impl PortalProfile {
    /// A selector from the profile as one CSS selector (a list becomes a selector group);
    /// a missing key is a configuration error named in full.
    pub fn selector(&self, key: &str) -> Result<String, String> {
        self.strategies(key).map(|l| l.join(", "))
    }

    /// A selector's strategies, in the order they are to be tried.
    pub fn strategies(&self, key: &str) -> Result<Vec<String>, String> {
        let list = self
            .selectors
            .get(key)
            .map(Strategies::list)
            .ok_or_else(|| format!("portal.selectors.{key} is not configured"))?;
        if list.iter().all(|s| s.trim().is_empty()) {
            return Err(format!("portal.selectors.{key} is empty"));
        }
        Ok(list)
    }

    /// A wizard label or text from the profile.
    pub fn wizard_text(&self, key: &str) -> Result<&str, String> {
        self.wizard
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("portal.wizard.{key} is not configured"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_point_at_the_real_portal() {
        let s = Settings::from_overrides(&[]).unwrap();
        assert_eq!(s.server.port, 5010);
        assert_eq!(s.portal.login_url, "https://ecp2.emodal.com/login");
        assert_eq!(s.sandbox.accounts.len(), 2);
    }

    #[test]
    fn overrides_win() {
        let s =
            Settings::from_overrides(&[("server.port", "6000"), ("sessions.max_sessions", "3")])
                .unwrap();
        assert_eq!(s.server.port, 6000);
        assert_eq!(s.sessions.max_sessions, 3);
    }

    #[test]
    fn sandbox_wiring_keeps_paths() {
        let mut s = Settings::from_overrides(&[("sandbox.separate_hosts", "false")]).unwrap();
        s.wire_to_sandbox("http://127.0.0.1:9/");
        assert_eq!(s.portal.keepalive_url, "http://127.0.0.1:9/trucker/web/");
        assert_eq!(s.portal.home_url, "http://127.0.0.1:9/");
        assert_eq!(
            s.portal.myappointments_url,
            "http://127.0.0.1:9/myappointments"
        );
        assert_eq!(s.captcha.base_url, "http://127.0.0.1:9");
    }

    #[test]
    fn sandbox_wiring_spreads_hosts() {
        let mut s = Settings::from_overrides(&[]).unwrap();
        s.wire_to_sandbox("http://127.0.0.1:9/");
        assert_eq!(s.portal.login_url, "http://127.0.0.1:9/login");
        assert_eq!(s.portal.home_url, "http://127.0.0.2:9/");
        assert_eq!(s.portal.containers_url, "http://127.0.0.2:9/containers");
        assert_eq!(s.portal.keepalive_url, "http://127.0.0.4:9/trucker/web/");
        assert_eq!(
            s.portal.addvisit_url,
            "http://127.0.0.4:9/trucker/web/addvisit"
        );
        assert_eq!(
            s.portal.myappointments_url,
            "http://127.0.0.5:9/myappointments"
        );
        assert_eq!(s.captcha.base_url, "http://127.0.0.1:9");
        // Not a loopback IPv4 address: one origin.
        assert_eq!(
            sandbox_host_urls("http://localhost:9", true)[3],
            "http://localhost:9"
        );
    }

    #[test]
    fn idle_timeout_below_refresh_is_refused() {
        let err = Settings::from_overrides(&[("chrome.nice", "-5")]).unwrap_err();
        assert!(err.to_string().contains("chrome.nice"), "{err}");
        let err = Settings::from_overrides(&[("chrome.idle_browser_timeout", "60")]).unwrap_err();
        assert!(err.to_string().contains("idle_browser_timeout"), "{err}");
    }
}
