//! The original API's real client, `EModalClient` (mohamed-ali0/main_bots_api @ ccbcb7836f50,
//! services/emodal_client.py), and the decisions its dispatch flow (services/query_service.py)
//! takes from our answers, written in Rust so a test can replay them against our server.
//!
//! What matters for compatibility is kept exactly: the bodies it sends (names, value types,
//! which optional fields go only when non-empty), no Authorization header, and that it never
//! reads the body of a non-2xx answer: the status alone decides (400 -> log in again).

#![allow(dead_code)]

use serde_json::{Value, json};
use std::time::Duration;

/// Terminal names the dispatch flow books with, by the code the container grid shows
/// (`QueryService.TERMINAL_MAPPING`, the entries the sandbox has).
pub const TERMINAL_MAPPING: [(&str, &str); 5] = [
    ("ETSLAX", "Everport Terminal Services - Los Angeles"),
    ("ITS", "ITS Long Beach"),
    ("PCT", "Pacific Container Terminal"),
    ("TTI", "Total Terminals Intl LLC"),
    ("TRP1", "TraPac LLC - Los Angeles"),
];

/// `QueryService.TRUCKING_COMPANIES[0]`: the dispatch flow always books with this one.
pub const TRUCKING_COMPANY: &str = "K & R TRANSPORTATION LLC";

pub struct Client {
    pub base: String,
    http: reqwest::Client,
}

/// A status and the JSON body (Null when the body is not JSON).
pub type Answer = (u16, Value);

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_string(),
            http: reqwest::Client::builder()
                // The client waits 2400 s; a test must not.
                .timeout(Duration::from_secs(300))
                .build()
                .unwrap(),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// `list_active_sessions`: any failure counts as "no sessions".
    pub async fn list_active_sessions(&self) -> Value {
        match self.send(reqwest::Method::GET, "/sessions", None).await {
            (200, body) if body.is_object() => body,
            _ => json!({"active_sessions": 0, "sessions": []}),
        }
    }

    /// `get_session`: reuse a listed session of this username (its state is not looked at),
    /// else POST /get_session.
    pub async fn get_session(&self, username: &str, password: &str, key: &str) -> Answer {
        let listed = self.list_active_sessions().await;
        let found = listed["sessions"].as_array().and_then(|rows| {
            rows.iter()
                .find(|s| s["username"] == username)
                .map(|s| s["session_id"].clone())
        });
        if let Some(id) = found {
            return (
                200,
                json!({"success": true, "session_id": id, "is_new": false, "username": username}),
            );
        }
        self.post(
            "/get_session",
            json!({"username": username, "password": password, "captcha_api_key": key}),
        )
        .await
    }

    pub async fn get_containers(&self, session_id: &str) -> Answer {
        self.post(
            "/get_containers",
            json!({"session_id": session_id, "infinite_scrolling": true, "debug": false,
                   "return_url": true}),
        )
        .await
    }

    pub async fn get_container_timeline(&self, session_id: &str, container_id: &str) -> Answer {
        self.post(
            "/get_container_timeline",
            json!({"session_id": session_id, "container_id": container_id, "debug": true}),
        )
        .await
    }

    pub async fn get_booking_number(&self, session_id: &str, container_id: &str) -> Answer {
        self.post(
            "/get_booking_number",
            json!({"session_id": session_id, "container_id": container_id, "debug": false}),
        )
        .await
    }

    pub async fn get_info_bulk(
        &self,
        session_id: &str,
        imports: &[&str],
        exports: &[&str],
    ) -> Answer {
        self.post(
            "/get_info_bulk",
            json!({"session_id": session_id, "import_containers": imports,
                   "export_containers": exports, "debug": false}),
        )
        .await
    }

    /// `check_appointments`: the fixed fields (with `truck_plate: "ABC123"` and `debug: true`)
    /// and each optional field only when it is a non-empty string, as the client does.
    /// `own_chassis` is one of its parameters but it never sends it.
    pub async fn check_appointments(&self, session_id: &str, check: &Check<'_>) -> Answer {
        let mut body = json!({
            "session_id": session_id,
            "container_type": check.container_type,
            "trucking_company": check.trucking_company,
            "terminal": check.terminal,
            "move_type": check.move_type,
            "truck_plate": "ABC123",
            "debug": true,
        });
        let map = body.as_object_mut().unwrap();
        for (key, value) in &check.optional {
            if !value.is_empty() {
                map.insert((*key).to_string(), json!(value));
            }
        }
        self.post("/check_appointments", body).await
    }

    pub async fn get_appointments(&self, session_id: &str) -> Answer {
        self.post(
            "/get_appointments",
            json!({"session_id": session_id, "infinite_scrolling": true, "debug": false,
                   "return_url": true}),
        )
        .await
    }

    /// `download_file`: a plain GET of a URL the service handed out; status and size.
    pub async fn download(&self, url: &str) -> (u16, usize) {
        let r = self.http.get(url).send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.bytes().await.map(|b| b.len()).unwrap_or(0))
    }
}

/// The arguments of one `check_appointments` call.
pub struct Check<'a> {
    pub container_type: &'a str,
    pub trucking_company: &'a str,
    pub terminal: &'a str,
    pub move_type: &'a str,
    /// `container_number`, `container_id`, `booking_number`, `line`, `equip_size`, dates...:
    /// sent only when non-empty.
    pub optional: Vec<(&'a str, String)>,
}

/// The dispatch flow's filter on the container sheet: column D (Holds) is "NO" and column E
/// (Pregate Ticket#) contains "N/A".
pub fn wanted(row: &Value) -> bool {
    let text = |c: &str| row[c].as_str().unwrap_or_default().trim().to_uppercase();
    text("Holds") == "NO" && text("Pregate Ticket#").contains("N/A")
}

/// `determine_move_type`: an import that passed pregate returns its empty, otherwise it is
/// picked up full; an export is dropped full.
pub fn move_type(trade_type: &str, pregate_status: &Value) -> &'static str {
    match (trade_type, pregate_status.as_bool().unwrap_or(false)) {
        ("IMPORT", true) => "DROP EMPTY",
        ("IMPORT", false) => "PICK FULL",
        _ => "DROP FULL",
    }
}

/// `determine_terminal`: PICK uses Destination, DROP uses Origin, either falling back to
/// Current Loc; None when the code is not one the client knows.
pub fn terminal(row: &Value, move_type: &str) -> Option<&'static str> {
    let text = |c: &str| row[c].as_str().unwrap_or_default().trim().to_string();
    let usable = |s: &str| !s.is_empty() && !s.eq_ignore_ascii_case("N/A") && s != "nan";
    let preferred = if move_type.contains("PICK") {
        text("Destination")
    } else {
        text("Origin")
    };
    let code = if usable(&preferred) {
        preferred
    } else {
        text("Current Loc")
    };
    TERMINAL_MAPPING
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// `extract_milestone_date`: the date part of a milestone, "" when absent or N/A (the flow
/// then leaves the field out of the request).
pub fn milestone_date(timeline: &Value, names: &[&str]) -> String {
    let Some(rows) = timeline.as_array() else {
        return String::new();
    };
    for m in rows {
        if names.iter().any(|n| m["milestone"] == *n) {
            let date = m["date"].as_str().unwrap_or_default();
            if date.is_empty() || date == "N/A" {
                return String::new();
            }
            return date.split(' ').next().unwrap_or_default().to_string();
        }
    }
    String::new()
}

/// The import-only part of a dispatch check: container, Line, Size Type and the timeline's
/// dates, as `_check_containers_with_bulk_info` sends them.
pub fn import_fields(row: &Value, timeline: &Value) -> Vec<(&'static str, String)> {
    let id = row["Container #"].as_str().unwrap().to_string();
    let text = |c: &str| row[c].as_str().unwrap_or_default().trim().to_string();
    vec![
        ("container_number", id.clone()),
        ("container_id", id),
        (
            "manifested_date",
            milestone_date(timeline, &["Manifested", "Container Manifested"]),
        ),
        (
            "departed_date",
            milestone_date(timeline, &["Departed Terminal"]),
        ),
        (
            "last_free_day_date",
            milestone_date(timeline, &["Last Free Day"]),
        ),
        ("line", text("Line")),
        ("equip_size", text("Size Type")),
    ]
}

/// A field the client reads with `response['key']`: present and a string.
pub fn required_str<'a>(body: &'a Value, key: &str) -> &'a str {
    body[key]
        .as_str()
        .unwrap_or_else(|| panic!("the client reads response['{key}']: {body}"))
}
