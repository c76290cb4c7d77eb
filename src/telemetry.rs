//! Logging: readable text by default (coloured only on a terminal without `NO_COLOR`), one
//! JSON object per line with `log.format = "json"`.
//!
//! Supervision decisions are logged as events with an `event` field (`session_started`,
//! `session_restarting`, ...) so operators can filter on it in either format.

use crate::config::LogSettings;
use std::ffi::OsStr;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Install the global subscriber. `RUST_LOG`, when set, wins over `log.filter`.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()))
        // headless_chrome logs every DevTools message at debug level, and the login form's
        // messages carry the password: never let them through, whatever RUST_LOG says. Its
        // warnings fire on every normal Chrome close; only its errors mean something.
        .add_directive("headless_chrome=error".parse().expect("static directive"))
        .add_directive("tungstenite=warn".parse().expect("static directive"));
    // Logs go to stderr; stdout is for what a command prints on purpose (the sandbox banner).
    let colour = settings.format != "json"
        && colour_wanted(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    // A second init (tests start several servers in one process) is harmless: ignore it.
    let _ = if settings.format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Colour codes only for a person at a terminal: a file, a pipe or a log shipper gets plain
/// text, and a non-empty `NO_COLOR` (https://no-color.org) turns colour off everywhere.
pub fn colour_wanted(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::colour_wanted;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }
}
