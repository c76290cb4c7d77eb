//! Logging: readable text by default (coloured only on a terminal without `NO_COLOR`), one
//! JSON object per line with `log.format = "json"`.
//!
//! Supervision decisions are logged as events with an `event` field (`session_started`,
//! `session_restarting`, ...) so operators can filter on it in either format; [`events`]
//! also publishes them live for `GET /events`. [`request`] follows one HTTP request across
//! the tasks it touches.

pub mod events;
pub mod request;
mod writer;

use crate::config::LogSettings;
use std::ffi::OsStr;
use std::io::IsTerminal;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the log writer's thread; dropping it writes out what is still queued. Hold it until
/// the process ends.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard(#[allow(dead_code)] Option<writer::Flusher>);

/// Install the global subscriber. `RUST_LOG`, when set, wins over `log.filter`.
///
/// Lines are written to stderr by a thread of their own, in batches (see [`writer`]): a
/// request formats its line but never waits for the write.
pub fn init(settings: &LogSettings) -> LogGuard {
    // A second init (tests start several servers in one process) changes nothing.
    static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return LogGuard(None);
    }
    let (writer, guard) = writer::batched(std::io::stderr());
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
    let log = tracing_subscriber::fmt::layer()
        .with_target(true)
        .with_ansi(colour)
        .with_writer(writer);
    // Each layer has its own filter: a quiet log (`log.filter = "warn"`) must not starve the
    // live event feed, and the feed's filter must not make the log louder.
    let registry = tracing_subscriber::registry().with(events::layer());
    // Another subscriber already installed (a library user's): keep it.
    let _ = if settings.format == "json" {
        registry
            .with(log.json().flatten_event(true).with_filter(filter))
            .try_init()
    } else {
        // Values come from clients and pages (usernames, URLs, dialog texts): a newline or an
        // escape sequence in one must not forge a log line or repaint the terminal.
        let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
            let raw = format!("{value:?}");
            let text = escape_controls(&raw);
            if field.name() == "message" {
                write!(w, "{text}")
            } else {
                write!(w, "{field}={text}")
            }
        })
        .delimited(" ");
        registry
            .with(log.fmt_fields(fields).with_filter(filter))
            .try_init()
    };
    LogGuard(Some(guard))
}

/// Control characters spelled out (`\n`, `\u{1b}`), everything else as it is.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
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
    fn control_characters_are_spelled_out() {
        assert_eq!(super::escape_controls("demo"), "demo");
        assert_eq!(
            super::escape_controls("x\n2026 INFO event=\"login_succeeded\"\u{1b}[2J"),
            "x\\n2026 INFO event=\"login_succeeded\"\\u{1b}[2J"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }
}
