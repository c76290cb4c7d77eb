//! Settings: `settings.toml` (or another file) overlaid by `EMODAL__SECTION__KEY` variables.
//!
//! Every section has defaults equal to the shipped `settings.toml`, so tests and the sandbox
//! can build a [`Settings`] from nothing but overrides. What is wrong is refused at start,
//! all at once, one line per mistake naming the source, the key and the reason:
//! unknown keys (`sources.rs`), values out of range and selectors the driver needs
//! (`checks.rs`), and, for commands that drive Chrome, a `chrome.path` that does not start
//! ([`Settings::check_chrome`]).

mod checks;
mod profile;
mod sandbox;
mod sources;

pub use checks::required_selectors;
pub use profile::{PortalProfile, PortalTexts, Strategies};
pub use sandbox::{SandboxAccount, SandboxSettings, sandbox_host_urls};

use crate::secret::Secret;
use anyhow::Context;
use config::Source;
use serde::Deserialize;
use sources::{Schema, Sources, Unknown};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    pub cluster: ClusterSettings,
    /// Which file, variable or override set each key, to name it in messages.
    #[serde(skip)]
    sources: Sources,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub api_tokens: Vec<Secret>,
    /// Most sessions each token may hold, in `api_tokens` order; one value applies to every
    /// token; empty (or 0) means no quota.
    pub token_quotas: Vec<usize>,
    pub drain_timeout: u64,
    /// The scheme, host and path prefix of every URL the service hands out, without a
    /// trailing slash; empty: derived from each request's Host.
    pub public_base_url: String,
    /// Believe `X-Forwarded-Proto` / `X-Forwarded-Host` (behind a reverse proxy only).
    pub trust_forwarded_headers: bool,
    /// Seconds a connection may take to send a request head (and may sit idle between
    /// keep-alive requests).
    pub header_read_timeout: u64,
    /// Open connections at most, and from one client address at most.
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Serve `/metrics` without the API token (a scraper on a private network).
    pub metrics_public: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: String,
    pub filter: String,
    /// One line per request, request metrics and per-stage timings. Off only to measure
    /// what they cost (the benchmark does).
    pub requests: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Seconds a session waits for a portal that is down before it is dropped.
    pub outage_patience: u64,
    /// Keep the password and captcha key in snapshots (so a later full login is possible
    /// after a service restart).
    pub persist_credentials: bool,
    /// Sessions restored from snapshots at start, at most this many at a time.
    pub restore_concurrency: usize,
    /// Seconds unused after which a session closes its Chrome and keeps its portal login
    /// alive over plain HTTP until the next request wakes it; 0 = never.
    pub hibernate_after: u64,
    pub secret: Secret,
}

/// Cluster mode (issue 15): nodes that share sessions through NATS JetStream.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    pub enabled: bool,
    pub nats_urls: Vec<String>,
    /// Empty: generated once and kept in `<chrome.data_dir>/node_id`.
    pub node_id: String,
    /// This node's HTTP base for logs, listings and the dashboard; empty: the public base
    /// URL, else `http://<bound address>`.
    pub advertise_url: String,
    pub heartbeat_ms: u64,
    /// Seconds without a heartbeat after which a node counts as dead.
    pub node_timeout: u64,
    /// JetStream replicas of the buckets (3 on a three-server NATS cluster).
    pub replicas: usize,
    /// Prefix of the buckets, the object store and the subjects: clusters sharing one NATS
    /// stay apart by it.
    pub namespace: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginSettings {
    pub max_attempts: usize,
    pub window: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChromeSettings {
    pub path: PathBuf,
    pub data_dir: PathBuf,
    pub headless: bool,
    pub call_timeout: u64,
    pub idle_browser_timeout: u64,
    pub liveness_interval: u64,
    /// Seconds a liveness probe may take; a page that does not answer is stuck.
    pub probe_timeout: u64,
    /// Scheduling niceness of every Chrome process (0 keeps the service's own).
    pub nice: i32,
    /// Chromes kept launched and waiting for the next session or restart (0: none).
    pub spares: usize,
    /// Command-line flags added to the built-in ones (a `--disable-features=` or
    /// `--enable-features=` list is merged with the built-in list, not put in its place).
    /// A list in the file; in `EMODAL__CHROME__EXTRA_ARGS` or an override, flags separated
    /// by spaces, because a feature list's own commas must survive.
    #[serde(deserialize_with = "flag_list")]
    pub extra_args: Vec<String>,
}

/// `extra_args` as a TOML list, or as one string of space-separated flags.
fn flag_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flags {
        List(Vec<String>),
        Line(String),
    }
    Ok(match Flags::deserialize(d)? {
        Flags::List(list) => list,
        Flags::Line(line) => line.split_whitespace().map(str::to_string).collect(),
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptchaSettings {
    pub base_url: String,
    pub first_poll_delay_ms: u64,
    pub poll_interval_ms: u64,
    pub timeout: u64,
    /// What the captcha service charges per 1,000 solved tasks, for the spend estimate.
    pub price_per_1000: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub retention: u64,
}

/// The shipped defaults, compiled in so a missing file still yields a complete config.
const DEFAULTS: &str = include_str!("../../settings.toml");

fn defaults() -> config::File<config::FileSourceString, config::FileFormat> {
    config::File::from_str(DEFAULTS, config::FileFormat::Toml)
}

/// Every refusal at once, one line each: `<source>: <key>: <reason>`.
fn refuse(lines: Vec<String>) -> anyhow::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    anyhow::bail!("settings refused:\n  {}", lines.join("\n  "))
}

fn unknown_line(origin: &str, u: &Unknown, env: bool) -> String {
    let hint = match (&u.suggestion, env) {
        (Some(s), false) => format!("; did you mean {s}?"),
        (Some(s), true) => format!("; did you mean {s} ({})?", sources::env_name(s)),
        (None, _) => String::new(),
    };
    format!("{origin}: {}: unknown key{hint}", u.key)
}

impl Settings {
    /// Defaults, then `path` if it exists, then `EMODAL__*` environment variables.
    /// Unknown keys, values out of range and selectors the driver needs but the profile
    /// lacks are refused, each named with the file or variable that set it.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let schema = Schema::new(defaults().collect()?);
        let mut sources = Sources::default();
        let mut unknown = Vec::new();
        let file = path.unwrap_or(Path::new("settings.toml"));
        let file_source = || config::File::from(file).required(path.is_some());
        let table = file_source()
            .collect()
            .with_context(|| format!("reading {}", file.display()))?;
        for u in schema.check_tree(&table) {
            unknown.push(unknown_line(&file.display().to_string(), &u, false));
        }
        sources.add_file(file, &table);
        let mut vars: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter_map(|var| sources::env_key(&var).map(|key| (var, key)))
            .collect();
        vars.sort();
        for (var, key) in &vars {
            if let Some(u) = schema.check_key(key) {
                unknown.push(unknown_line(
                    &format!("environment variable {var}"),
                    &u,
                    true,
                ));
            }
            sources.add_env(var, key);
        }
        refuse(unknown)?;
        let builder = config::Config::builder()
            .add_source(defaults())
            .add_source(file_source())
            .add_source(
                config::Environment::with_prefix("EMODAL")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("server.api_tokens")
                    .with_list_parse_key("server.token_quotas")
                    .try_parsing(true),
            );
        Settings::finish(builder, sources)
    }

    /// Defaults overlaid by `overrides` (`"section.key" -> value`); no file, no environment.
    /// This is how tests configure a server without `set_var`.
    pub fn from_overrides(overrides: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let schema = Schema::new(defaults().collect()?);
        let mut sources = Sources::default();
        let unknown = overrides
            .iter()
            .filter_map(|(key, _)| schema.check_key(key))
            .map(|u| unknown_line("override", &u, false))
            .collect();
        refuse(unknown)?;
        let mut builder = config::Config::builder().add_source(defaults());
        for (key, value) in overrides {
            sources.add_override(key);
            // Lists are written comma-separated, as in the environment.
            builder = if *key == "server.api_tokens" || *key == "server.token_quotas" {
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
        Settings::finish(builder, sources)
    }

    fn finish(
        builder: config::ConfigBuilder<config::builder::DefaultState>,
        sources: Sources,
    ) -> anyhow::Result<Settings> {
        let mut settings: Settings = builder
            .build()?
            .try_deserialize()
            .context("settings refused")?;
        settings.sources = sources;
        checks::normalise(&mut settings);
        let problems = checks::validate(&settings)
            .into_iter()
            .map(|p| format!("{}: {}: {}", settings.origin(&p.key), p.key, p.reason))
            .collect();
        refuse(problems)?;
        Ok(settings)
    }

    /// Which file, environment variable or override set `key` (a dotted path) last.
    pub fn origin(&self, key: &str) -> String {
        self.sources.origin(key)
    }

    /// Run `chrome.path --version` (one short spawn): its version line, or an error naming
    /// the key, the path, where it was set and why it cannot be the browser.
    pub fn check_chrome(&self) -> anyhow::Result<String> {
        let path = &self.chrome.path;
        checks::chrome_version(path).map_err(|reason| {
            anyhow::anyhow!(
                "settings refused:\n  {}: chrome.path: {} {reason}",
                self.origin("chrome.path"),
                path.display()
            )
        })
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_secs(self.sessions.session_timeout)
    }

    /// [`Settings::session_timeout`] for date arithmetic (expiry times, idle checks).
    pub fn session_timeout_span(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.session_timeout()).unwrap_or(chrono::Duration::MAX)
    }

    pub fn refresh_interval(&self) -> Duration {
        Duration::from_secs(self.sessions.session_refresh_interval)
    }

    pub fn profiles_dir(&self) -> PathBuf {
        self.chrome.data_dir.join("profiles")
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
    fn idle_timeout_below_refresh_is_refused() {
        let err = Settings::from_overrides(&[("chrome.nice", "-5")]).unwrap_err();
        assert!(err.to_string().contains("chrome.nice"), "{err}");
        let err = Settings::from_overrides(&[("chrome.idle_browser_timeout", "60")]).unwrap_err();
        assert!(err.to_string().contains("idle_browser_timeout"), "{err}");
    }
}
