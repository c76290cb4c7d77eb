//! What a settings value must be, checked once at start so that a mistake is named there
//! (key and reason) instead of surfacing as a failed login or a 500 hours later.

use super::Settings;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A value that is refused: its dotted key and why.
#[derive(Debug, Clone)]
pub struct Problem {
    pub key: String,
    pub reason: String,
}

fn problem(key: impl Into<String>, reason: impl Into<String>) -> Problem {
    Problem {
        key: key.into(),
        reason: reason.into(),
    }
}

/// Selector keys every driver script gets besides its own list (`Page::args`, js/lib.js),
/// and the ones read one at a time (the seal input pattern, the timeline's classes).
const SHARED_SELECTORS: &[&str] = &[
    "icons",
    "clickable",
    "checkbox_host",
    "wizard_seal_input",
    "timeline_done_class",
    "timeline_pending_classes",
];

/// Every selector key the driver needs (the portal module's lists, plus the shared ones),
/// sorted, each once.
pub fn required_selectors() -> Vec<&'static str> {
    use crate::portal::{DETAIL_KEYS, GRID_KEYS, LIST_KEYS, LOGIN_KEYS, WIZARD_KEYS};
    let all: std::collections::BTreeSet<&'static str> = [
        LOGIN_KEYS,
        GRID_KEYS,
        DETAIL_KEYS,
        WIZARD_KEYS,
        LIST_KEYS,
        SHARED_SELECTORS,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect();
    all.into_iter().collect()
}

/// Normalise what has one right spelling (no trailing slash on a base URL).
pub fn normalise(s: &mut Settings) {
    let url = s.server.public_base_url.trim();
    s.server.public_base_url = url.trim_end_matches('/').to_string();
}

pub fn validate(s: &Settings) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut ensure = |ok: bool, key: &str, reason: String| {
        if !ok {
            out.push(problem(key, reason));
        }
    };
    let refresh = s.sessions.session_refresh_interval;
    ensure(
        refresh > 0,
        "sessions.session_refresh_interval",
        "must be > 0".into(),
    );
    ensure(
        s.chrome.idle_browser_timeout > refresh + s.chrome.call_timeout,
        "chrome.idle_browser_timeout",
        format!(
            "({}) must exceed sessions.session_refresh_interval ({refresh}) plus \
             chrome.call_timeout ({}), or quiet sessions lose their browser connection",
            s.chrome.idle_browser_timeout, s.chrome.call_timeout
        ),
    );
    ensure(
        s.sessions.max_sessions > 0,
        "sessions.max_sessions",
        "must be > 0".into(),
    );
    ensure(
        s.sessions.restore_concurrency > 0,
        "sessions.restore_concurrency",
        "must be > 0".into(),
    );
    ensure(
        s.chrome.spares <= 16,
        "chrome.spares",
        format!("must be between 0 and 16, got {}", s.chrome.spares),
    );
    ensure(
        (0..=19).contains(&s.chrome.nice),
        "chrome.nice",
        format!("must be between 0 and 19, got {}", s.chrome.nice),
    );
    let c = &s.cluster;
    if c.enabled {
        ensure(
            !s.sessions.secret.expose().is_empty(),
            "sessions.secret",
            "must be set (the same on every node) when cluster.enabled: snapshots and \
             credential keys must mean the same on every node"
                .into(),
        );
        ensure(
            !c.nats_urls.is_empty(),
            "cluster.nats_urls",
            "must name at least one NATS server".into(),
        );
        ensure(
            c.heartbeat_ms >= 50 && c.node_timeout * 1000 >= 3 * c.heartbeat_ms,
            "cluster.node_timeout",
            format!(
                "({} s) must be at least 3 heartbeats (cluster.heartbeat_ms = {}, at least 50)",
                c.node_timeout, c.heartbeat_ms
            ),
        );
        ensure(
            (1..=5).contains(&c.replicas),
            "cluster.replicas",
            format!("must be between 1 and 5, got {}", c.replicas),
        );
        ensure(
            !c.namespace.is_empty()
                && c.namespace
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'),
            "cluster.namespace",
            "must be letters, digits, '_' or '-'".into(),
        );
        ensure(
            c.node_id
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-'),
            "cluster.node_id",
            "must be letters, digits, '_' or '-' (it names a NATS subject)".into(),
        );
    }
    let sb = &s.sandbox;
    for (key, value, allowed) in [
        ("log.format", &s.log.format, &["text", "json"][..]),
        ("sandbox.generation", &sb.generation, &["legacy", "mdc"][..]),
        ("sandbox.pace", &sb.pace, &["instant", "realistic"][..]),
        (
            "sandbox.after_submit",
            &sb.after_submit,
            &["confirmation", "snackbar", "my_appointments"][..],
        ),
    ] {
        ensure(
            allowed.contains(&value.as_str()),
            key,
            format!("must be one of {}, got '{value}'", allowed.join(", ")),
        );
    }
    for (key, url) in [
        ("portal.login_url", &s.portal.login_url),
        ("portal.keepalive_url", &s.portal.keepalive_url),
    ] {
        ensure(
            url.starts_with("http"),
            key,
            format!("must be an http(s) URL, got '{url}'"),
        );
    }
    let base = &s.server.public_base_url;
    if !base.is_empty() {
        let host = base
            .strip_prefix("https://")
            .or_else(|| base.strip_prefix("http://"));
        ensure(
            host.is_some_and(|h| !h.is_empty() && !h.contains(char::is_whitespace)),
            "server.public_base_url",
            format!(
                "must be empty (derive from the request) or an http:// or https:// URL \
                 such as https://api.example.com, got '{base}'"
            ),
        );
    }
    for key in required_selectors() {
        let reason = match s.portal.selectors.get(key).map(|v| v.list()) {
            None => "missing",
            Some(list) if list.iter().all(|s| s.trim().is_empty()) => "empty",
            Some(_) => continue,
        };
        out.push(problem(
            format!("portal.selectors.{key}"),
            format!("{reason}, but the driver needs it"),
        ));
    }
    // The driver falls back to its default for a wait that is not a number: say so instead.
    let mut waits: Vec<_> = s
        .portal
        .wizard
        .iter()
        .filter(|(k, _)| k.ends_with("_ms"))
        .collect();
    waits.sort();
    for (key, value) in waits {
        if value.trim().parse::<u64>().is_err() {
            out.push(problem(
                format!("portal.wizard.{key}"),
                format!("must be a whole number of milliseconds, got '{value}'"),
            ));
        }
    }
    out
}

/// How long `chrome.path --version` may take: a real browser answers in well under a second.
const VERSION_TIMEOUT: Duration = Duration::from_secs(10);

/// Run `<path> --version`: the browser's version line, or why it is not a browser that starts.
pub fn chrome_version(path: &Path) -> Result<String, String> {
    if !path.exists() {
        return Err("does not exist".into());
    }
    if path.is_dir() {
        return Err("is a directory, not a browser executable".into());
    }
    let mut child = Command::new(path)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("does not start ({e})"))?;
    // Read on the side: the pipe never fills, and a child that leaves a descendant holding
    // its stdout cannot block the start.
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut printed = String::new();
            let _ = out.take(64 * 1024).read_to_string(&mut printed);
            let _ = tx.send(printed);
        });
    }
    let deadline = Instant::now() + VERSION_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            other => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(match other {
                    Err(e) => format!("could not be waited for ({e})"),
                    _ => format!(
                        "did not answer --version within {} s",
                        VERSION_TIMEOUT.as_secs()
                    ),
                });
            }
        }
    };
    let printed = rx
        .recv_timeout(Duration::from_secs(1))
        .unwrap_or_default()
        .trim()
        .to_string();
    if !status.success() {
        return Err(format!(
            "exited with {status} on --version; is it a Chrome or Chromium executable?"
        ));
    }
    if printed.is_empty() {
        return Err(
            "printed no version on --version; is it a Chrome or Chromium executable?".into(),
        );
    }
    Ok(printed)
}
