//! The appointment endpoints' browser work: check (steps 1-3), book (Submit, then decide
//! the outcome from what the page shows), and My Appointments. The wizard's steps are in
//! `wizard.rs`; this module holds what callers see.

pub use super::my_appointments::my_appointments;
pub(super) use super::options::{alias_key, list_or_none, match_option, norm, wizard_ms};
use super::wizard::{Outcome, Wizard};
use super::{DriverError, Page};
use serde_json::json;

pub use crate::model::{AppointmentList, AvailableTimes, Booked, ContainerType, Visit};

/// Open the wizard at step 1 and fill nothing (for `check-profile`).
pub fn open_wizard(page: &mut Page) -> Result<(), DriverError> {
    Wizard::new(page)?.open(page)
}

/// Steps 1-3; never submits. Returns the slot texts exactly as offered.
pub fn check_appointments(page: &mut Page, visit: &Visit) -> Result<AvailableTimes, DriverError> {
    validate(visit)?;
    // Operators see "wizard step 2 of 3: ..." while it runs.
    page.number_wizard_steps(3);
    let w = Wizard::new(page)?;
    w.open(page)?;
    w.step1(page, visit)?;
    let truck_plate = w.step2(page, visit)?;
    let (available_times, message) = w.slots(page)?;
    Ok(AvailableTimes {
        available_times,
        truck_plate,
        message,
    })
}

/// Steps 1-3, pick `appointment_time` (the exact slot text), Submit once, and decide the
/// outcome from what the page shows: a confirmation number, else a success message, else
/// the appointment in My Appointments. Submit is never pressed twice: an outcome that stays
/// unknown is an error that says to check My Appointments before booking again.
pub fn make_appointment(
    page: &mut Page,
    visit: &Visit,
    appointment_time: &str,
) -> Result<Booked, DriverError> {
    validate(visit)?;
    if norm(appointment_time).is_empty() {
        return Err(DriverError::Invalid("appointment_time is required".into()));
    }
    // Step 4 is the portal's own: the confirmation after Submit.
    page.number_wizard_steps(4);
    let w = Wizard::new(page)?;
    w.open(page)?;
    w.step1(page, visit)?;
    w.step2(page, visit)?;
    let (offered, message) = w.slots(page)?;
    if offered.is_empty() {
        return Err(DriverError::Invalid(format!(
            "no appointment times are offered{}",
            message
                .map(|m| format!(" (the portal says: {m})"))
                .unwrap_or_default()
        )));
    }
    let wanted = norm(appointment_time).to_lowercase();
    let Some(slot) = offered
        .iter()
        .find(|o| norm(o).to_lowercase() == wanted)
        .cloned()
    else {
        return Err(DriverError::Invalid(format!(
            "appointment time '{appointment_time}' is not offered; options: {}",
            list_or_none(&offered)
        )));
    };
    page.step("wizard step 3: choose the time");
    w.select_slot(page, &slot, &offered)?;
    page.step("wizard step 3: submit");
    w.press_submit(page)?;
    tracing::info!(event = "appointment_submitted", slot = %slot);
    page.step("wizard step 4: outcome of submit");
    let got: Option<Outcome> = w.wait_within(
        page,
        w.submit_wait,
        "what the page shows after Submit",
        "after_submit",
        json!({}),
    )?;
    let (number, details) = match got {
        Some(o) if o.state == "confirmation" && !o.number.is_empty() => {
            page.snap("appointment confirmed");
            return Ok(Booked {
                confirmation_number: Some(o.number),
                appointment_time: detail(&o.details, &page.profile, "appointment_time_label")
                    .unwrap_or_else(|| slot.clone()),
                verified_by: "confirmation".into(),
                details: o.details,
            });
        }
        Some(o) if o.state == "message_ok" => {
            page.snap("appointment confirmed");
            return Ok(Booked {
                confirmation_number: None,
                appointment_time: slot,
                verified_by: "snackbar".into(),
                details: vec![("Message".into(), o.text)],
            });
        }
        Some(o) if matches!(o.state.as_str(), "message" | "error" | "dialog") => {
            return Err(DriverError::Invalid(format!(
                "the portal refused the booking: {}",
                o.text
            )));
        }
        Some(o) if o.state == "confirmation" => (None, o.details),
        Some(o)
            if o.state.starts_with("http_")
                || o.state == "logged_out"
                || o.state == "forbidden" =>
        {
            // The page after Submit is an error or the login: the booking may or may not
            // have been made, so it is looked up below before anything else.
            tracing::warn!(event = "appointment_outcome_unclear", state = %o.state);
            (None, Vec::new())
        }
        Some(o) => {
            tracing::info!(event = "appointment_outcome_unclear", state = %o.state, url = %o.url);
            (None, Vec::new())
        }
        None => {
            tracing::warn!(
                event = "appointment_outcome_unclear",
                state = "no answer",
                "Submit showed nothing; looking in My Appointments"
            );
            (None, Vec::new())
        }
    };
    verify_in_list(page, visit, &slot, number, details)
}

/// Look for the appointment just submitted in My Appointments.
fn verify_in_list(
    page: &mut Page,
    visit: &Visit,
    slot: &str,
    number: Option<String>,
    mut details: Vec<(String, String)>,
) -> Result<Booked, DriverError> {
    let list = my_appointments(page, &crate::model::ListTarget::all())?;
    let item = visit
        .container_ids
        .first()
        .cloned()
        .or_else(|| visit.booking_number.clone())
        .unwrap_or_default()
        .to_lowercase();
    let (date, start) = slot_date_start(slot);
    let found = list.rows.iter().find(|row| {
        let text = row.join(" ").to_lowercase();
        (item.is_empty() || text.contains(&item))
            && date.as_deref().is_none_or(|d| text.contains(d))
            && start.as_deref().is_none_or(|s| text.contains(s))
    });
    let Some(row) = found else {
        return Err(DriverError::unexpected(
            "wizard: outcome of submit",
            format!(
                "a confirmation, a success message or the appointment ({slot}) in My Appointments;                  none was seen, so whether it was booked is unknown: look in My Appointments before                  booking again"
            ),
        ));
    };
    let label = page
        .profile
        .wizard_text("confirmation_label")
        .unwrap_or("Confirmation #")
        .to_lowercase();
    let mut confirmation = number;
    for (c, v) in list.columns.iter().zip(row) {
        if confirmation.is_none()
            && c.to_lowercase().trim_end_matches(':') == label
            && !v.is_empty()
        {
            confirmation = Some(v.clone());
        }
        details.push((c.clone(), v.clone()));
    }
    Ok(Booked {
        confirmation_number: confirmation,
        appointment_time: slot.to_string(),
        verified_by: "my_appointments".into(),
        details,
    })
}

/// `MM/DD/YYYY` and the start `HH:MM` of a slot text such as `Friday 10/24/2025 18:30 - 19:30`.
fn slot_date_start(slot: &str) -> (Option<String>, Option<String>) {
    let words: Vec<&str> = slot.split_whitespace().collect();
    let date = words
        .iter()
        .find(|w| w.len() == 10 && w.matches('/').count() == 2)
        .map(|d| d.to_string());
    let start = words
        .iter()
        .find(|w| w.len() == 5 && w.as_bytes()[2] == b':')
        .map(|t| t.to_string());
    (date, start)
}

fn detail(
    details: &[(String, String)],
    profile: &crate::config::PortalProfile,
    key: &str,
) -> Option<String> {
    let label = profile.wizard_text(key).ok()?.to_lowercase();
    details
        .iter()
        .find(|(l, _)| l.trim_end_matches([':', ' ']).to_lowercase() == label)
        .map(|(_, v)| v.clone())
}

/// Refuse a visit the wizard cannot be filled with, before touching the page.
fn validate(v: &Visit) -> Result<(), DriverError> {
    let missing = |name: &str| DriverError::Invalid(format!("{name} is required"));
    if norm(&v.trucking_company).is_empty() {
        return Err(missing("trucking_company"));
    }
    if norm(&v.terminal).is_empty() {
        return Err(missing("terminal"));
    }
    if norm(&v.move_type).is_empty() {
        return Err(missing("move_type"));
    }
    let has = |o: &Option<String>| o.as_deref().is_some_and(|s| !norm(s).is_empty());
    if v.container_ids.iter().all(|c| norm(c).is_empty())
        && !has(&v.booking_number)
        && !(has(&v.line) && has(&v.equip_size))
    {
        return Err(DriverError::Invalid(
            "send container_id, booking_number, or line and equip_size (whichever the move asks for)".into(),
        ));
    }
    if v.seals.len() > 4 {
        return Err(DriverError::Invalid(format!(
            "at most 4 seals fit the wizard, got {}",
            v.seals.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_date_and_start_time() {
        assert_eq!(
            slot_date_start("Friday 10/24/2025 18:30 - 19:30"),
            (Some("10/24/2025".into()), Some("18:30".into()))
        );
        // Slots can cross midnight; the start is what identifies them.
        assert_eq!(
            slot_date_start("Monday 10/06/2025 23:00 - 02:00"),
            (Some("10/06/2025".into()), Some("23:00".into()))
        );
        assert_eq!(slot_date_start("No Appointments Available"), (None, None));
    }

    #[test]
    fn a_visit_needs_some_item() {
        let v = Visit {
            trucking_company: "K & R TRANSPORTATION LLC".into(),
            terminal: "TRP1".into(),
            move_type: "DROP EMPTY".into(),
            ..Visit::default()
        };
        assert!(matches!(validate(&v), Err(DriverError::Invalid(_))));
        let empty_move = Visit {
            line: Some("GMSU".into()),
            equip_size: Some("40DH".into()),
            ..v.clone()
        };
        assert_eq!(validate(&empty_move), Ok(()));
        let half = Visit {
            line: Some("GMSU".into()),
            ..v
        };
        assert!(validate(&half).is_err());
    }
}
