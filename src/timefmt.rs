//! Timestamps as clients see them: RFC 3339, whole seconds, UTC (`2025-10-05T18:30:00Z`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

pub fn iso(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&iso(t))
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&iso(t)),
            None => s.serialize_none(),
        }
    }
}
