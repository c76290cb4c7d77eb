//! The appointment wizard's input: which fields each phase needs, the checked [`Visit`] built
//! from a request's fields, what the original answered as `phase_data`, and the fingerprint
//! that binds an idempotency key to one booking.

use super::appointment_state::Fingerprint;
use super::requests::{SessionRef, WizardFields};
use crate::error::ApiError;
use crate::model::{ContainerType, Visit};
use serde_json::{Value, json};

/// The phases of the portal's wizard, as clients see them.
pub(super) const PHASES: [&str; 3] = [
    "Add required data",
    "Add move details",
    "Choose appointment time",
];
/// Plates that mean "the first plate the portal offers" (the original's clients send ABC123).
const ANY_PLATE: [&str; 2] = ["", "ABC123"];

/// The first phase whose fields are missing, with their names.
pub(super) struct Missing {
    pub phase: usize,
    pub fields: Vec<&'static str>,
}

/// Check the values' shapes (400 naming the field, no draft).
fn container_type(w: &WizardFields) -> Result<ContainerType, ApiError> {
    match w
        .container_type
        .as_deref()
        .map(str::to_lowercase)
        .as_deref()
    {
        None | Some("import") => Ok(ContainerType::Import),
        Some("export") => Ok(ContainerType::Export),
        Some(_) => Err(
            ApiError::bad_request("container_type must be \"import\" or \"export\"")
                .with("invalid_fields", json!(["container_type"])),
        ),
    }
}

/// Build the wizard input, or say which phase lacks which fields.
pub(super) fn visit(w: &WizardFields, need_time: bool) -> Result<Result<Visit, Missing>, ApiError> {
    let container_type = container_type(w)?;
    let upper = |v: &Option<Vec<String>>| -> Vec<String> {
        v.iter()
            .flatten()
            .map(|s| s.trim().to_uppercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let mut container_ids = upper(&w.container_id);
    if container_ids.is_empty() {
        // The original's clients send the container under this name as well.
        container_ids = upper(&w.container_number.clone().map(|c| vec![c]));
    }
    if container_ids.len() > 20 {
        return Err(
            ApiError::bad_request("container_id takes at most 20 container numbers")
                .with("invalid_fields", json!(["container_id"])),
        );
    }
    let quantity = match w.quantity {
        None => 1,
        Some(q) if (1..=99).contains(&q) => q as u32,
        Some(_) => {
            return Err(
                ApiError::bad_request("quantity must be a number from 1 to 99")
                    .with("invalid_fields", json!(["quantity"])),
            );
        }
    };
    let own_chassis = match w.own_chassis.as_deref().map(str::to_lowercase).as_deref() {
        None | Some("ignore") => None,
        Some("true" | "yes") => Some(true),
        Some("false" | "no") => Some(false),
        Some(_) => {
            return Err(ApiError::bad_request(
                "own_chassis must be true, false, \"yes\", \"no\" or \"ignore\"",
            )
            .with("invalid_fields", json!(["own_chassis"])));
        }
    };
    let mut phase1 = Vec::new();
    if w.trucking_company.is_none() {
        phase1.push("trucking_company");
    }
    if w.terminal.is_none() {
        phase1.push("terminal");
    }
    if w.move_type.is_none() {
        phase1.push("move_type");
    }
    // Which item the portal asks for depends on the move and terminal (container numbers,
    // a booking number, or Line and Equip Size for some empty moves): any of them will do
    // here, and the wizard says which one it needed.
    let empty_move = w.line.is_some() && w.equip_size.is_some();
    if container_ids.is_empty() && w.booking_number.is_none() && !empty_move {
        phase1.push(match container_type {
            ContainerType::Import => "container_id",
            ContainerType::Export => "booking_number",
        });
    }
    // An export's unit number is its container when the client named one (the original's
    // clients never send unit_number).
    let unit_number = w
        .unit_number
        .clone()
        .or_else(|| container_ids.first().cloned());
    let mut phase2 = Vec::new();
    if container_type == ContainerType::Export && unit_number.is_none() {
        phase2.push("unit_number");
    }
    let mut phase3 = Vec::new();
    if need_time && w.appointment_time.is_none() {
        phase3.push("appointment_time");
    }
    for (phase, fields) in [(1, phase1), (2, phase2), (3, phase3)] {
        if !fields.is_empty() {
            return Ok(Err(Missing { phase, fields }));
        }
    }
    let plate = w
        .truck_plate
        .clone()
        .filter(|p| !ANY_PLATE.contains(&p.to_uppercase().as_str()));
    Ok(Ok(Visit {
        container_type,
        trucking_company: w.trucking_company.clone().unwrap_or_default(),
        terminal: w.terminal.clone().unwrap_or_default(),
        move_type: w.move_type.clone().unwrap_or_default(),
        container_ids,
        booking_number: w.booking_number.as_ref().map(|b| b.to_uppercase()),
        line: w.line.as_ref().map(|l| l.to_uppercase()),
        equip_size: w.equip_size.as_ref().map(|e| e.to_uppercase()),
        quantity,
        truck_plate: plate,
        own_chassis,
        pin_code: w.pin_code.clone(),
        unit_number,
        seals: upper(&w.seal_value),
    }))
}

/// The fields the wizard was given, as the original answered them.
pub(super) fn phase_data(v: &Visit) -> Value {
    let mut data = json!({
        "container_type": v.container_type,
        "trucking_company": v.trucking_company,
        "terminal": v.terminal,
        "move_type": v.move_type,
        "truck_plate": v.truck_plate.clone().unwrap_or_else(|| "ABC123".into()),
        "own_chassis": v.own_chassis,
    });
    if let Some(id) = v.container_ids.first() {
        data["container_id"] = json!(id);
    }
    if let Some(b) = &v.booking_number {
        data["booking_number"] = json!(b);
    }
    if let Some(p) = &v.pin_code {
        data["pin_code"] = json!(p);
    }
    if v.container_type == ContainerType::Export {
        data["unit_number"] = json!(v.unit_number);
        data["seal_value"] = json!(v.seals);
    }
    data
}

/// What identifies a booking request, so one idempotency key cannot book two things: the
/// visit, the time and the session or account it was sent for (the key is already bound to
/// the token). The summary tells a client that reuses the key what it was first used for.
pub(super) fn fingerprint(visit: &Visit, time: &str, session: &SessionRef) -> Fingerprint {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(visit)
        .unwrap_or_default()
        .hash(&mut h);
    time.hash(&mut h);
    session.session_id.hash(&mut h);
    session.credentials.username.hash(&mut h);
    let mut summary = json!({
        "terminal": visit.terminal,
        "move_type": visit.move_type,
        "trucking_company": visit.trucking_company,
        "appointment_time": time,
    });
    if let Some(id) = visit.container_ids.first() {
        summary["container_id"] = json!(id);
    }
    if let Some(b) = &visit.booking_number {
        summary["booking_number"] = json!(b);
    }
    Fingerprint {
        hash: h.finish(),
        summary,
    }
}
