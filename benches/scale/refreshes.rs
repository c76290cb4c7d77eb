//! Refreshes on time, read from the service's JSON log.
//!
//! A session's refresh timer is armed at its login and re-armed by every request that runs
//! on it (a use counts as a refresh), then ticks every `session_refresh_interval`. So for
//! each session the log gives a sequence of keep-alive points: its `login_succeeded`, every
//! `refresh_succeeded` and the request line of every request that ran on it. An interval
//! between consecutive points that ends inside the window is on time when it is at most the
//! interval + 10%; a window that ends more than that after the last point counts one more
//! late interval. A late interval of length g held floor(g / interval) refresh ticks, of
//! which only the one ending it (if it is a refresh) happened: the rest are missed.

use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;

/// Leeway on the interval: a refresh up to this fraction late is still on time.
const SLACK: f64 = 0.10;

#[derive(Default)]
pub struct Refreshes {
    pub sessions: usize,
    /// Intervals judged (ending in a window, plus overdue tails).
    pub intervals: usize,
    pub on_time: usize,
    /// The longest interval seen, seconds.
    pub longest: f64,
    /// Refreshes in the windows.
    pub happened: usize,
    pub missed: usize,
    /// Of `happened`: refreshes done over plain HTTP (hibernating sessions).
    pub over_http: usize,
}

impl Refreshes {
    pub fn on_time_pct(&self) -> f64 {
        if self.intervals == 0 {
            f64::NAN
        } else {
            100.0 * self.on_time as f64 / self.intervals as f64
        }
    }

    pub fn describe(&self, interval: u64) -> String {
        format!(
            "{} of {} intervals within {:.0} s ({} sessions; longest {:.1} s); {} refreshes{}, {} missed",
            self.on_time,
            self.intervals,
            interval as f64 * (1.0 + SLACK),
            self.sessions,
            self.longest,
            self.happened,
            if self.over_http > 0 {
                format!(" ({} over HTTP)", self.over_http)
            } else {
                String::new()
            },
            self.missed,
        )
    }
}

/// What a keep-alive point was.
#[derive(Clone, Copy, PartialEq)]
enum Point {
    Login,
    Refresh { http: bool },
    Request,
}

pub fn timestamp(line: &Value) -> Option<DateTime<Utc>> {
    let ts = line["timestamp"].as_str()?;
    DateTime::parse_from_rfc3339(ts)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Judge the sessions in `windows` (id -> start of its window) up to `end`.
pub fn judge(
    lines: &[Value],
    windows: &HashMap<String, DateTime<Utc>>,
    end: DateTime<Utc>,
    interval: u64,
) -> Refreshes {
    let mut points: HashMap<&str, Vec<(DateTime<Utc>, Point)>> = HashMap::new();
    for line in lines {
        let point = match line["event"].as_str() {
            Some("refresh_succeeded") => Point::Refresh {
                http: line["over"] == "http",
            },
            Some("login_succeeded") => Point::Login,
            // A request that ran on the session re-arms its timer, whatever the operation
            // answered; a 429 or 503 never reached it, and `get_session` answers from the
            // registry.
            _ if line["message"] == "request"
                && line["status"].as_u64().is_some_and(|s| s < 500 && s != 429)
                && line["path"] != "/get_session" =>
            {
                Point::Request
            }
            _ => continue,
        };
        let (Some(id), Some(at)) = (line["session_id"].as_str(), timestamp(line)) else {
            continue;
        };
        if windows.contains_key(id) {
            points.entry(id).or_default().push((at, point));
        }
    }
    let every = interval as f64;
    let limit = every * (1.0 + SLACK);
    let mut r = Refreshes {
        sessions: windows.len(),
        ..Refreshes::default()
    };
    let secs = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_milliseconds() as f64 / 1e3;
    for (id, start) in windows {
        let mut seen = points.remove(id.as_str()).unwrap_or_default();
        seen.retain(|p| p.0 <= end);
        seen.sort_by_key(|p| p.0);
        for pair in seen.windows(2) {
            let ((a, _), (b, kind)) = (pair[0], pair[1]);
            if b <= *start {
                continue;
            }
            let gap = secs(a, b);
            r.intervals += 1;
            r.longest = r.longest.max(gap);
            if let Point::Refresh { http } = kind {
                r.happened += 1;
                r.over_http += usize::from(http);
            }
            if gap <= limit {
                r.on_time += 1;
            } else {
                let ticks = (gap / every).floor() as usize;
                let ended_by_refresh = matches!(kind, Point::Refresh { .. });
                r.missed += ticks.saturating_sub(usize::from(ended_by_refresh));
            }
        }
        let tail = seen.last().map_or(secs(*start, end), |p| secs(p.0, end));
        if tail > limit {
            r.intervals += 1;
            r.longest = r.longest.max(tail);
            r.missed += (tail / every).floor() as usize;
        }
    }
    r
}

/// How many lines carry `event`.
pub fn count(lines: &[Value], event: &str) -> usize {
    lines.iter().filter(|l| l["event"] == event).count()
}
