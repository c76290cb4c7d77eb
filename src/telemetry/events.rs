//! The live event feed behind `GET /events`: every supervision event the log has (an event
//! with an `event` field, INFO or above, from this crate) and operation progress (DEBUG,
//! target [`PROGRESS_TARGET`], which the log leaves out), as one JSON object with the same
//! field names and values as the JSON log line, published on a process-wide broadcast
//! channel.
//!
//! The layer has its own filter, so `log.filter = "error"` does not starve the feed, and the
//! feed never widens what the log may carry: it forwards the event's own fields (and a
//! `request_id` of an enclosing span, which the log line shows too), nothing else.
//!
//! Each item carries the token scope of its session, looked up in
//! [`crate::actors::scope_of`] while the event is emitted, so the HTTP layer can show a
//! client only its own sessions. The scope travels beside the JSON, never in it.

use serde_json::{Map, Value};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::broadcast;
use tracing::field::{Field, Visit};
use tracing::span;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// How many items a subscriber may fall behind before it skips (and is told how many).
const CAPACITY: usize = 1024;

/// One published supervision event.
#[derive(Debug)]
pub struct Published {
    /// Process-wide, increasing: the SSE `id`.
    pub seq: u64,
    /// The `event` field: the SSE `event` name.
    pub name: String,
    /// The session it is about, if any.
    pub session_id: Option<String>,
    /// That session's token scope; `None` for a service-wide event (no `session_id`).
    pub scope: Option<String>,
    /// The fields as one line of JSON (serialised once, whatever the number of clients).
    pub data: String,
}

impl Published {
    /// Whether a client of `scope` (watching one session, or all) may see this item.
    pub fn visible_to(&self, scope: &str, session: Option<&str>) -> bool {
        match (session, &self.scope) {
            (Some(wanted), Some(owner)) => {
                owner == scope && self.session_id.as_deref() == Some(wanted)
            }
            (Some(_), None) => false,
            (None, Some(owner)) => owner == scope,
            (None, None) => true,
        }
    }
}

fn channel() -> &'static broadcast::Sender<std::sync::Arc<Published>> {
    static CHANNEL: OnceLock<broadcast::Sender<std::sync::Arc<Published>>> = OnceLock::new();
    CHANNEL.get_or_init(|| broadcast::channel(CAPACITY).0)
}

/// Receive every item published from now on.
pub fn subscribe() -> broadcast::Receiver<std::sync::Arc<Published>> {
    channel().subscribe()
}

/// Open subscriptions (each `GET /events` stream holds one until its client is gone).
pub fn subscribers() -> usize {
    channel().receiver_count()
}

/// The target of operation progress events: at DEBUG, so the log (whose filter is its own)
/// stays quiet, while the feed carries them.
pub const PROGRESS_TARGET: &str = "emodal_api::progress";

/// The layer `telemetry::init` adds, with its own filter: this crate's events at INFO and
/// above, and its progress events at DEBUG, whatever the log filter says.
pub fn layer<S>() -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let filter = Targets::new()
        .with_target("emodal_api", tracing::Level::INFO)
        .with_target(PROGRESS_TARGET, tracing::Level::DEBUG);
    Feed.with_filter(filter)
}

struct Feed;

/// A span's `request_id`, kept for the events inside it.
struct RequestId(String);

impl<S> Layer<S> for Feed
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        if attrs.metadata().fields().field("request_id").is_none() {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(Value::String(request_id)), Some(span)) =
            (fields.0.remove("request_id"), ctx.span(id))
        {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        // Only supervision events, and only while someone listens: the JSON is not free.
        if meta.fields().field("event").is_none() || channel().receiver_count() == 0 {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let Some(name) = fields
            .0
            .get("event")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return;
        };
        let session_id = fields
            .0
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let scope = match &session_id {
            // A session already forgotten has no owner left to show it to.
            Some(id) => match crate::actors::scope_of(id) {
                Some(scope) => Some(scope),
                None => return,
            },
            None => None,
        };
        if !fields.0.contains_key("request_id")
            && let Some(scope) = ctx.event_scope(event)
        {
            let found = scope
                .from_root()
                .filter_map(|span| span.extensions().get::<RequestId>().map(|r| r.0.clone()))
                .last();
            if let Some(request_id) = found {
                fields.0.insert("request_id".into(), request_id.into());
            }
        }
        let mut data = fields.0;
        data.insert("level".into(), meta.level().as_str().into());
        data.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        static SEQ: AtomicU64 = AtomicU64::new(1);
        let item = Published {
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            name,
            session_id,
            scope,
            data: Value::Object(data).to_string(),
        };
        // No receiver left since the check above: nothing to do.
        let _ = channel().send(std::sync::Arc::new(item));
    }
}

/// Field values as the JSON log writes them: numbers and booleans as themselves, strings
/// as strings, everything else (`%` and `?` values) as its formatted text.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        // What the JSON log skips or renames, the feed does too.
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.0.insert(name.to_string(), value);
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    fn item(session: Option<&str>, scope: Option<&str>) -> Published {
        Published {
            seq: 1,
            name: "x".into(),
            session_id: session.map(Into::into),
            scope: scope.map(Into::into),
            data: "{}".into(),
        }
    }

    #[test]
    fn clients_see_their_scope_and_service_wide_events() {
        let mine = item(Some("s1"), Some("a"));
        let theirs = item(Some("s2"), Some("b"));
        let global = item(None, None);
        assert!(mine.visible_to("a", None));
        assert!(!theirs.visible_to("a", None));
        assert!(global.visible_to("a", None));
        assert!(mine.visible_to("a", Some("s1")));
        assert!(!mine.visible_to("a", Some("s9")));
        assert!(
            !theirs.visible_to("a", Some("s2")),
            "another token's session"
        );
        assert!(!global.visible_to("a", Some("s1")), "one session only");
    }

    /// Everything runs in this test's own subscriber; the channel is process-wide, so
    /// other tests' items are skipped by their event name.
    #[test]
    fn fields_are_forwarded_as_the_json_log_writes_them() {
        let mut rx = subscribe();
        // As `telemetry::init` composes them: a log whose own filter lets only errors through
        // beside the feed.
        let log = tracing_subscriber::fmt::layer()
            .with_writer(std::io::sink)
            .with_filter(tracing_subscriber::EnvFilter::new("error"));
        let subscriber = tracing_subscriber::registry().with(log).with(layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::debug!(event = "unit_debug_only");
            tracing::debug!(target: "emodal_api::progress", event = "unit_progress", done = 3u64);
            tracing::info!(target: "other_crate", event = "unit_foreign");
            tracing::info!("unit: no event field");
            let span = tracing::info_span!("request", request_id = "r-1");
            let _entered = span.enter();
            tracing::warn!(
                event = "unit_feed_check",
                attempt = 2u32,
                took_ms = 15u64,
                from_snapshot = true,
                reason = %"Chrome (pid 7) exited",
                error = ?"quoted",
                "a message"
            );
        });
        let mut seen = Vec::new();
        while let Ok(item) = rx.try_recv() {
            if item.name.starts_with("unit_") {
                seen.push(item);
            }
        }
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].name, "unit_progress", "progress passes at DEBUG");
        let item = &seen[1];
        assert_eq!(item.name, "unit_feed_check");
        assert_eq!(item.scope, None, "service-wide");
        let data: Value = serde_json::from_str(&item.data).unwrap();
        assert_eq!(data["event"], "unit_feed_check");
        assert_eq!(data["attempt"], 2);
        assert_eq!(data["took_ms"], 15);
        assert_eq!(data["from_snapshot"], true);
        assert_eq!(data["reason"], "Chrome (pid 7) exited");
        assert_eq!(data["error"], "\"quoted\"");
        assert_eq!(data["message"], "a message");
        assert_eq!(data["request_id"], "r-1");
        assert_eq!(data["level"], "WARN");
        assert!(data["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn a_session_nobody_owns_any_more_is_not_published() {
        let mut rx = subscribe();
        let subscriber = tracing_subscriber::registry().with(layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(event = "unit_orphan", session_id = "never-registered");
        });
        while let Ok(item) = rx.try_recv() {
            assert_ne!(item.name, "unit_orphan");
        }
    }
}
