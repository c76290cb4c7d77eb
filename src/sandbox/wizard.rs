//! `/trucker/web/addvisit`: the four-step appointment wizard and its JSON APIs.
//!
//! The page keeps the wizard's state in its script (as the Angular app does) and asks the
//! server to validate step 1, list the free slots, and book. The server re-checks everything
//! on booking, so a hand-made request cannot book what the wizard would refuse.

use super::appointments::{Appointment, free_slots};
use super::data::{AccountData, MOVE_TYPES, TERMINALS};
use super::html::{Nav, app_page};
use super::request::{Req, Resp, html, json};
use super::state::{State, Stats};
use serde::Deserialize;
use serde_json::{Map, Value, json as j};
use warp::http::StatusCode;

const WIZARD_JS: &str = include_str!("assets/wizard.js");
const WIZARD_HTML: &str = include_str!("assets/wizard.html");

pub const NO_OPEN_TRANSACTIONS: &str = "No open transactions for this booking number.";
pub const SLOT_TAKEN: &str =
    "The selected appointment time is no longer available. Please choose another time.";

/// `GET /trucker/web/addvisit`.
pub fn page(username: &str) -> Resp {
    let content = format!(
        "<div class=\"breadcrumb\">Trucker Portal / Appointments</div>\
         <h1 class=\"page-title\">Add Appointment</h1>\
         <p class=\"page-subtitle\">Book a terminal visit in four steps.</p>\
         <div id=\"wizard-root\"><mat-card class=\"mat-mdc-card wizard-loading\">\
           <mat-progress-bar class=\"mat-mdc-progress-bar\" mode=\"indeterminate\"></mat-progress-bar>\
         </mat-card></div>\
         <template id=\"wizard-template\">{WIZARD_HTML}</template>"
    );
    html(
        StatusCode::OK,
        app_page(
            "Add Appointment",
            username,
            Nav::AddVisit,
            &content,
            &j!({}),
            WIZARD_JS,
        ),
    )
}

/// `GET /api/wizard/options`: the dropdown contents.
pub async fn api_options(state: &State, account: &AccountData) -> Resp {
    state.render_pause().await;
    json(
        StatusCode::OK,
        &j!({
            "trucking_companies": account.trucking_companies,
            "terminals": AccountData::terminals(),
            "move_types": MOVE_TYPES,
            "truck_plates": account.truck_plates,
        }),
    )
}

/// The wizard's fields as the page posts them. Everything defaults, so a partial or odd body
/// yields field errors instead of a parse failure.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VisitForm {
    pub container_type: String,
    pub trucking: String,
    pub terminal: String,
    pub move_type: String,
    pub containers: Vec<String>,
    pub booking_number: String,
    pub quantity: Option<u32>,
    /// The items checked in step 2 (containers, or the booking).
    pub selected: Vec<String>,
    pub pin: String,
    pub plate: String,
    pub own_chassis: String,
    pub unit: String,
    pub seals: Vec<String>,
    pub slot: String,
}

fn is_export(f: &VisitForm) -> bool {
    f.container_type.eq_ignore_ascii_case("export")
}

/// Step 1 checks: field errors keyed by form control name, and the dialog text if any.
fn check_step1(account: &AccountData, f: &VisitForm) -> (Map<String, Value>, Option<&'static str>) {
    let mut errors = Map::new();
    let mut err = |k: &str, m: String| {
        errors.insert(k.to_string(), Value::String(m));
    };
    if f.trucking.is_empty() {
        err("trucking", "Trucking is required".into());
    } else if !account.trucking_companies.contains(&f.trucking) {
        err("trucking", "Trucking company not found".into());
    }
    if f.terminal.is_empty() {
        err("terminal", "Terminal is required".into());
    } else if !TERMINALS.iter().any(|(t, _)| *t == f.terminal) {
        err("terminal", "Terminal not found".into());
    }
    if f.move_type.is_empty() {
        err("move_type", "Move is required".into());
    } else if !MOVE_TYPES.contains(&f.move_type.as_str()) {
        err("move_type", "Move not found".into());
    }
    let mut dialog = None;
    if is_export(f) {
        if f.booking_number.trim().is_empty() {
            err("bookingNumber", "Booking number is required".into());
        } else if !account
            .export_bookings
            .contains(&f.booking_number.trim().to_uppercase())
        {
            dialog = Some(NO_OPEN_TRANSACTIONS);
        }
        if f.quantity.unwrap_or(0) == 0 {
            err("quantity", "Quantity is required".into());
        }
    } else if f.containers.is_empty() {
        err("containerNumber", "Container number is required".into());
    } else {
        let unknown: Vec<&str> = f
            .containers
            .iter()
            .map(|c| c.trim())
            .filter(|c| account.container(&c.to_uppercase()).is_none())
            .collect();
        if !unknown.is_empty() {
            err(
                "containerNumber",
                format!("Container not found: {}", unknown.join(", ")),
            );
        }
    }
    (errors, dialog)
}

fn bad_request(error: String) -> Resp {
    json(StatusCode::BAD_REQUEST, &j!({ "error": error }))
}

/// The items step 2 lists: the containers, or the booking.
fn items(f: &VisitForm) -> Vec<String> {
    if is_export(f) {
        vec![f.booking_number.trim().to_uppercase()]
    } else {
        f.containers
            .iter()
            .map(|c| c.trim().to_uppercase())
            .collect()
    }
}

/// `POST /api/wizard/step1`.
pub async fn api_step1(state: &State, account: &AccountData, req: &Req) -> Resp {
    state.render_pause().await;
    let f = match req.json::<VisitForm>() {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    let (errors, dialog) = check_step1(account, &f);
    if !errors.is_empty() || dialog.is_some() {
        return json(
            StatusCode::OK,
            &j!({"ok": false, "errors": errors, "dialog": dialog}),
        );
    }
    json(StatusCode::OK, &j!({"ok": true, "items": items(&f)}))
}

/// `POST /api/wizard/slots` `{terminal, move_type}`.
pub async fn api_slots(state: &State, req: &Req) -> Resp {
    state.render_pause().await;
    let f = match req.json::<VisitForm>() {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    json(
        StatusCode::OK,
        &j!({"slots": free_slots(state, &f.terminal, &f.move_type)}),
    )
}

/// `POST /api/wizard/book`: re-validate everything and book the slot.
pub async fn api_book(state: &State, account: &AccountData, req: &Req) -> Resp {
    state.render_pause().await;
    let f = match req.json::<VisitForm>() {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    let (mut errors, dialog) = check_step1(account, &f);
    if let Some(d) = dialog {
        return json(
            StatusCode::OK,
            &j!({"ok": false, "errors": errors, "error": d}),
        );
    }
    let all = items(&f);
    let selected: Vec<String> = f
        .selected
        .iter()
        .map(|s| s.trim().to_uppercase())
        .filter(|s| all.contains(s))
        .collect();
    if selected.is_empty() {
        errors.insert("selected".into(), j!("Select at least one container"));
    }
    if f.plate.trim().is_empty() {
        errors.insert("Plate".into(), j!("Truck plate is required"));
    }
    if is_export(&f) && f.unit.trim().is_empty() {
        errors.insert("Unit".into(), j!("Unit # is required"));
    }
    if f.slot.is_empty() {
        errors.insert("slot".into(), j!("Appointment is required"));
    }
    if !errors.is_empty() {
        return json(
            StatusCode::OK,
            &j!({"ok": false, "errors": errors, "error": "Please correct the highlighted fields."}),
        );
    }
    let taken = |state: &State| {
        json(
            StatusCode::OK,
            &j!({
                "ok": false,
                "slot_taken": true,
                "errors": {"slot": SLOT_TAKEN},
                "error": SLOT_TAKEN,
                "slots": free_slots(state, &f.terminal, &f.move_type),
            }),
        )
    };
    let Some(slot) = free_slots(state, &f.terminal, &f.move_type)
        .into_iter()
        .find(|s| s.slot == f.slot)
    else {
        return taken(state);
    };
    let export = is_export(&f);
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let appt = Appointment {
        confirmation_number: String::new(),
        username: account.username.clone(),
        appointment_time: slot.slot,
        check_in_by: slot.check_in_by,
        terminal: f.terminal.clone(),
        move_type: f.move_type.clone(),
        container_type: if export { "EXPORT" } else { "IMPORT" }.into(),
        containers: if export { Vec::new() } else { selected },
        booking_number: export.then(|| f.booking_number.trim().to_uppercase()),
        quantity: if export { f.quantity } else { None },
        trucking_company: f.trucking.clone(),
        truck_plate: f.plate.trim().to_uppercase(),
        own_chassis: f.own_chassis.eq_ignore_ascii_case("yes"),
        pin: if export { None } else { opt(&f.pin) },
        unit_number: if export { opt(&f.unit) } else { None },
        seals: if export {
            f.seals.iter().filter_map(|s| opt(s)).collect()
        } else {
            Vec::new()
        },
        status: "SCHEDULED".into(),
        created_at: chrono::Local::now().format("%m/%d/%Y %H:%M").to_string(),
    };
    match state.bookings.book(appt) {
        Some(a) => {
            Stats::bump(&state.stats.appointments_booked);
            json(StatusCode::OK, &j!({"ok": true, "appointment": a}))
        }
        None => taken(state),
    }
}
