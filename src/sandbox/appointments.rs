//! Appointment slots, the booking store, and `/myappointments`.
//!
//! Free slots are a deterministic function of (seed, terminal, move type, date): the next three
//! days, hourly between 06:00 and 20:00, some already full. A booked slot is removed for every
//! later visitor of that terminal and move type, whichever account asks.

use super::html::{Nav, app_page};
use super::request::{Resp, html, json};
use super::rng::{SplitMix64, fnv1a};
use super::state::{Pace, State, lock};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::json as j;
use std::collections::HashSet;
use std::sync::Mutex;
use warp::http::StatusCode;

/// The page-level overlays (spinner), then the page.
const APPOINTMENTS_JS: &str = concat!(
    include_str!("assets/material_overlays.js"),
    include_str!("assets/appointments.js")
);
/// The legacy Material classes the shared stylesheet lacks (shared with the wizard).
const APPOINTMENTS_CSS: &str = include_str!("assets/wizard.css");

/// Days ahead that offer slots (tomorrow is the first).
const DAYS_AHEAD: i64 = 3;
const FIRST_HOUR: u32 = 6;
const LAST_HOUR: u32 = 19;
/// Share of candidate slots that are free, in percent.
const FREE_PERCENT: u64 = 60;

/// One free slot as the wizard offers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slot {
    /// `Friday 10/24/2025 18:30 - 19:30`
    pub slot: String,
    /// `10/24/2025 17:30` (one hour before the start)
    pub check_in_by: String,
}

/// Every slot the terminal offers for this move type, before bookings are subtracted.
pub fn candidate_slots(seed: u64, terminal: &str, move_type: &str, today: NaiveDate) -> Vec<Slot> {
    let minute = if fnv1a(terminal).is_multiple_of(2) {
        0
    } else {
        30
    };
    let mut out = Vec::new();
    for day in 1..=DAYS_AHEAD {
        let date = today + Duration::days(day);
        for hour in FIRST_HOUR..=LAST_HOUR {
            let mut r = SplitMix64::new(
                seed ^ fnv1a(terminal)
                    ^ fnv1a(move_type).rotate_left(7)
                    ^ fnv1a(&date.to_string()).rotate_left(23)
                    ^ u64::from(hour).wrapping_mul(0x9E37_79B9),
            );
            if !r.chance(FREE_PERCENT) {
                continue;
            }
            let start: NaiveDateTime = date.and_hms_opt(hour, minute, 0).expect("valid time");
            let end = start + Duration::hours(1);
            out.push(Slot {
                slot: format!(
                    "{} - {}",
                    start.format("%A %m/%d/%Y %H:%M"),
                    end.format("%H:%M")
                ),
                check_in_by: (start - Duration::hours(1))
                    .format("%m/%d/%Y %H:%M")
                    .to_string(),
            });
        }
    }
    out
}

/// A booked visit.
#[derive(Debug, Clone, Serialize)]
pub struct Appointment {
    pub confirmation_number: String,
    #[serde(skip)]
    pub username: String,
    pub appointment_time: String,
    pub check_in_by: String,
    pub terminal: String,
    pub move_type: String,
    /// `IMPORT` or `EXPORT`.
    pub container_type: String,
    pub containers: Vec<String>,
    pub booking_number: Option<String>,
    pub quantity: Option<u32>,
    /// Line and size of an empty move booked through the alternative form.
    pub line: Option<String>,
    pub equip_size: Option<String>,
    pub trucking_company: String,
    pub truck_plate: String,
    pub own_chassis: bool,
    pub pin: Option<String>,
    pub unit_number: Option<String>,
    pub seals: Vec<String>,
    pub status: String,
    pub created_at: String,
}

#[derive(Default)]
struct Inner {
    appointments: Vec<Appointment>,
    /// (terminal, move type, slot text)
    taken: HashSet<(String, String, String)>,
}

#[derive(Default)]
pub struct Bookings {
    inner: Mutex<Inner>,
}

impl Bookings {
    pub fn for_user(&self, username: &str) -> Vec<Appointment> {
        lock(&self.inner)
            .appointments
            .iter()
            .filter(|a| a.username == username)
            .cloned()
            .collect()
    }

    fn is_taken(&self, terminal: &str, move_type: &str, slot: &str) -> bool {
        lock(&self.inner)
            .taken
            .contains(&(terminal.into(), move_type.into(), slot.into()))
    }

    /// Book atomically: `None` if the slot was taken in the meantime.
    pub fn book(&self, mut appt: Appointment) -> Option<Appointment> {
        let mut g = lock(&self.inner);
        let key = (
            appt.terminal.clone(),
            appt.move_type.clone(),
            appt.appointment_time.clone(),
        );
        if !g.taken.insert(key) {
            return None;
        }
        loop {
            let n = format!("APT{:08}", rand::random_range(0..100_000_000u32));
            if !g.appointments.iter().any(|a| a.confirmation_number == n) {
                appt.confirmation_number = n;
                break;
            }
        }
        g.appointments.push(appt.clone());
        Some(appt)
    }
}

/// The slots the wizard offers right now.
pub fn free_slots(state: &State, terminal: &str, move_type: &str) -> Vec<Slot> {
    if !super::data::TERMINALS.iter().any(|(t, _)| *t == terminal)
        || !super::data::MOVE_TYPES.contains(&move_type)
        || state.is_full(terminal)
    {
        return Vec::new();
    }
    let today = chrono::Local::now().date_naive();
    candidate_slots(state.settings.seed, terminal, move_type, today)
        .into_iter()
        .filter(|s| !state.bookings.is_taken(terminal, move_type, &s.slot))
        .collect()
}

/// `GET /myappointments`. The page script shows the loading route
/// (`/myappointments?loading=true`) while the list loads, then the window-scrolled table.
pub fn page(state: &State, username: &str) -> Resp {
    let content = format!("<style>{APPOINTMENTS_CSS}</style><div id=\"appointments-root\"></div>");
    html(
        StatusCode::OK,
        app_page(
            state.hosts(),
            "eModal - My Appointments",
            username,
            Nav::MyAppointments,
            &content,
            &j!({}),
            APPOINTMENTS_JS,
        ),
    )
}

/// `GET /api/appointments`: the account's bookings, and the markup generation (the page
/// handler has no state to put it in `window.SANDBOX`). Takes a step's time at realistic pace:
/// the original waited tens of seconds for this page.
pub async fn api_list(state: &State, username: &str) -> Resp {
    state.pace_pause(Pace::Next).await;
    json(
        StatusCode::OK,
        &j!({
            "generation": state.settings.generation,
            "appointments": state.bookings.for_user(username),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_deterministic_and_formatted() {
        let today = NaiveDate::from_ymd_opt(2025, 10, 23).unwrap();
        let a = candidate_slots(1, "ITS Long Beach", "PICK FULL", today);
        let b = candidate_slots(1, "ITS Long Beach", "PICK FULL", today);
        assert_eq!(a, b);
        assert!(a.len() > 10, "{}", a.len());
        let c = candidate_slots(1, "ITS Long Beach", "DROP EMPTY", today);
        assert_ne!(a, c);
        for s in &a {
            // e.g. "Friday 10/24/2025 18:30 - 19:30"
            let (day, rest) = s.slot.split_once(' ').unwrap();
            assert!(
                ["Friday", "Saturday", "Sunday"].contains(&day),
                "{}",
                s.slot
            );
            assert_eq!(rest.len(), "10/24/2025 18:30 - 19:30".len(), "{}", s.slot);
            assert_eq!(s.check_in_by.len(), "10/24/2025 17:30".len());
        }
        let first = &a[0];
        let start = &first.slot[first.slot.find(' ').unwrap() + 1..][..16];
        let start = NaiveDateTime::parse_from_str(start, "%m/%d/%Y %H:%M").unwrap();
        let check = NaiveDateTime::parse_from_str(&first.check_in_by, "%m/%d/%Y %H:%M").unwrap();
        assert_eq!(start - check, Duration::hours(1));
    }
}
