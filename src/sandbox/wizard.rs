//! `/trucker/web/addvisit`: the four-step appointment wizard and its JSON APIs.
//!
//! The page keeps the wizard's state in its script (as the Angular app does) and asks the
//! server to look up a terminal, check a booking, validate step 1, list the free slots, and
//! book. The server re-checks everything on booking, so a hand-made request cannot book what
//! the wizard would refuse. Which fields step 1 shows follows `rules` (facts §8): there is no
//! Import/Export choice; the move type and terminal decide.
//!
//! `POST /api/wizard/step1` serves three page actions, told apart by `action` (the routes are
//! fixed in `mod.rs`): `terminal` (the lookup behind the white overlay), `booking` (the check
//! made when a booking chip is entered) and none (step 1's Next).

mod form;
mod rules;

use super::appointments::{Appointment, free_slots};
use super::data::AccountData;
use super::html::{Nav, app_page};
use super::request::{Req, Resp, html, json};
use super::state::{Pace, State, Stats};
use form::{VisitForm, booking, check_step1, items, kind, moves};
use rules::FormKind;
use serde_json::{Value, json as j};
use warp::http::StatusCode;

/// Dialogs and spinner, field widgets, steps 2-4, then the flow that uses them.
const WIZARD_JS: &str = concat!(
    include_str!("assets/material_overlays.js"),
    include_str!("assets/wizard_fields.js"),
    include_str!("assets/wizard_steps.js"),
    include_str!("assets/wizard.js")
);
const WIZARD_HTML: &str = include_str!("assets/wizard.html");
const WIZARD_CSS: &str = include_str!("assets/wizard.css");

pub const NO_OPEN_TRANSACTIONS: &str = "No open transactions for this booking number.";
pub const SLOT_TAKEN: &str =
    "The selected appointment time is no longer available. Please choose another time.";
/// Move Type options in the order the real dropdown lists them.
pub const MOVE_TYPES_UI: [&str; 4] = ["PICK FULL", "DROP FULL", "PICK EMPTY", "DROP EMPTY"];
/// Share (percent) of Next clicks that do not advance at realistic pace.
const NEXT_STALL_PERCENT: u64 = 15;
/// Share of bookings that raise the shipping-line popup at realistic pace, whatever the booking.
const POPUP_PERCENT: u64 = 20;

/// `GET /trucker/web/addvisit`. The real page is blank white until the app renders, so the
/// shell holds only the root the script fills.
pub fn page(state: &State, username: &str) -> Resp {
    let content = format!(
        "<style>{WIZARD_CSS}</style>\
         <div id=\"wizard-root\"></div>\
         <template id=\"wizard-template\">{WIZARD_HTML}</template>"
    );
    html(
        StatusCode::OK,
        app_page(
            state.hosts(),
            "Add Appointment",
            username,
            Nav::AddVisit,
            &content,
            &j!({}),
            WIZARD_JS,
        ),
    )
}

/// `GET /api/wizard/options`: the dropdown contents, and the markup generation (the page
/// handler has no state to pass it in `window.SANDBOX`).
pub async fn api_options(state: &State, account: &AccountData) -> Resp {
    state.pace_pause(Pace::Render).await;
    json(
        StatusCode::OK,
        &j!({
            "generation": state.settings.generation,
            "trucking_companies": account.trucking_companies,
            "terminals": terminals_sorted(),
            "move_types": MOVE_TYPES_UI,
            "truck_plates": account.truck_plates,
        }),
    )
}

/// The real Terminal list is alphabetical.
fn terminals_sorted() -> Vec<&'static str> {
    let mut t = AccountData::terminals();
    t.sort_unstable();
    t
}

fn bad_request(error: String) -> Resp {
    json(StatusCode::BAD_REQUEST, &j!({ "error": error }))
}

/// `POST /api/wizard/step1`: the terminal lookup, the booking check, or step 1's Next.
pub async fn api_step1(state: &State, account: &AccountData, req: &Req) -> Resp {
    let f = match req.json::<VisitForm>() {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    match f.action.as_str() {
        "terminal" => {
            state.pace_pause(Pace::Lookup).await;
            if !form::known_terminal(&f.terminal) {
                return json(
                    StatusCode::OK,
                    &j!({"ok": false, "errors": {"terminal": "Terminal not found"}}),
                );
            }
            json(
                StatusCode::OK,
                &j!({"ok": true, "info": rules::terminal_info(&f.terminal)}),
            )
        }
        "booking" => {
            state.pace_pause(Pace::Lookup).await;
            let b = booking(&f);
            if !account.export_bookings.contains(&b) {
                return json(
                    StatusCode::OK,
                    &j!({"ok": false, "dialog": NO_OPEN_TRANSACTIONS}),
                );
            }
            let popup = rules::lacks_shipping_line(&account.export_bookings, &b)
                || state.pace_roll() < POPUP_PERCENT;
            json(
                StatusCode::OK,
                &j!({"ok": true, "popup": popup.then_some(rules::SHIPPINGLINE_REQUIRED)}),
            )
        }
        _ => {
            state.pace_pause(Pace::Next).await;
            let (errors, dialog) = check_step1(account, &f);
            if !errors.is_empty() || dialog.is_some() {
                return json(
                    StatusCode::OK,
                    &j!({"ok": false, "errors": errors, "dialog": dialog}),
                );
            }
            if state.pace_roll() < NEXT_STALL_PERCENT {
                return json(StatusCode::OK, &j!({"ok": true, "advance": false}));
            }
            let moves: Vec<Value> = moves(account, &f)
                .into_iter()
                .map(|(key, unit, line, size)| {
                    j!({"key": key, "unit": unit, "line": line, "equip_size": size})
                })
                .collect();
            json(
                StatusCode::OK,
                &j!({"ok": true, "advance": true, "items": items(account, &f), "moves": moves}),
            )
        }
    }
}

/// `POST /api/wizard/slots` `{terminal, move_type}`: step 2's Next.
pub async fn api_slots(state: &State, req: &Req) -> Resp {
    let f = match req.json::<VisitForm>() {
        Ok(f) => f,
        Err(e) => return bad_request(e),
    };
    state.pace_pause(Pace::Next).await;
    let advance = state.pace_roll() >= NEXT_STALL_PERCENT;
    json(
        StatusCode::OK,
        &j!({
            "advance": advance,
            "slots": free_slots(state, &f.terminal, &f.move_type),
            "no_slots_text": rules::no_slots_text(&f.terminal),
        }),
    )
}

/// `POST /api/wizard/book`: re-validate everything and book the slot. The booking is recorded
/// before the (configurable, paced) wait, so a driver that gives up on a slow answer and
/// retries finds the slot taken instead of booking twice.
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
    let kind = kind(&f);
    let all = items(account, &f);
    let selected: Vec<String> = f
        .selected
        .iter()
        .map(|s| s.trim().to_uppercase())
        .filter(|s| all.contains(s))
        .collect();
    if selected.is_empty() {
        errors.insert("selected".into(), j!("Select at least one move"));
    }
    if f.plate.trim().is_empty() {
        errors.insert("Plate".into(), j!("Truck plate is required"));
    }
    if kind == FormKind::Booking && f.unit.trim().is_empty() {
        errors.insert("Unit".into(), j!("Unit Number is required"));
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
    let export = kind == FormKind::Booking;
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let appt = Appointment {
        confirmation_number: String::new(),
        username: account.username.clone(),
        appointment_time: slot.slot,
        check_in_by: slot.check_in_by,
        terminal: f.terminal.clone(),
        move_type: f.move_type.clone(),
        container_type: if export { "EXPORT" } else { "IMPORT" }.into(),
        containers: if kind == FormKind::Container {
            selected
        } else {
            Vec::new()
        },
        booking_number: export.then(|| booking(&f)),
        quantity: if kind == FormKind::Container {
            None
        } else {
            f.quantity
        },
        line: (kind == FormKind::Empty).then(|| f.line.trim().to_string()),
        equip_size: (kind == FormKind::Empty).then(|| f.equip_size.trim().to_string()),
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
    let Some(a) = state.bookings.book(appt) else {
        return taken(state);
    };
    Stats::bump(&state.stats.appointments_booked);
    let delay = state.submit_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    state.pace_pause(Pace::Submit).await;
    json(
        StatusCode::OK,
        &j!({"ok": true, "appointment": a, "after_submit": state.after_submit()}),
    )
}
