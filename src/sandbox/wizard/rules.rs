//! What the wizard asks for, by terminal and move type (facts §8).
//!
//! The real portal decides the step-1 form from the move type and the terminal: containers for
//! full pick-ups and most empty drops, a booking for export moves, and at TraPac Los Angeles an
//! empty drop is described by line, size and quantity instead. Own chassis and PIN differ by
//! terminal too. What nothing records (PICK EMPTY, most defaults) is chosen to be plausible.

use serde::Serialize;

/// Which second card step 1 shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// Container number chips (imports: PICK FULL, DROP EMPTY at most terminals).
    Container,
    /// A booking number chip plus Quantity (DROP FULL, PICK EMPTY).
    Booking,
    /// Line, Equip Size and Quantity (DROP EMPTY at TraPac LLC - Los Angeles).
    Empty,
}

/// The terminal where an empty drop uses the alternative form (recorded 2025-10-11).
pub const ALT_FORM_TERMINAL: &str = "TraPac LLC - Los Angeles";

pub fn form_kind(terminal: &str, move_type: &str) -> FormKind {
    match move_type {
        "DROP FULL" | "PICK EMPTY" => FormKind::Booking,
        "DROP EMPTY" if terminal == ALT_FORM_TERMINAL => FormKind::Empty,
        _ => FormKind::Container,
    }
}

/// The pill's initial value: recorded NO at ITS Long Beach and YES at Total Terminals Intl LLC
/// (even when the request said otherwise); the rest are picked.
pub fn own_chassis_default(terminal: &str) -> bool {
    matches!(
        terminal,
        "Total Terminals Intl LLC" | "TraPac LLC - Los Angeles" | "SSA Terminal - PierA / LB"
    )
}

/// Terminals that ask for a PIN on a PICK FULL (the DROP EMPTY screenshot has none).
pub fn needs_pin(terminal: &str, move_type: &str) -> bool {
    move_type == "PICK FULL"
        && matches!(
            terminal,
            "ITS Long Beach"
                | "Everport Terminal Services - Los Angeles"
                | "Pacific Container Terminal"
        )
}

/// The single option a full terminal's slot list shows (the text differs by terminal).
pub fn no_slots_text(terminal: &str) -> &'static str {
    if terminal == "Total Terminals Intl LLC" {
        "No Appointments Available!"
    } else {
        "No Appointments Available"
    }
}

/// The options of the alternative form's autocompletes.
pub const LINES: [&str; 8] = [
    "CMDU", "EGLV", "GMSU", "HDMU", "MAEU", "MSCU", "ONEY", "YMLU",
];
pub const EQUIP_SIZES: [&str; 6] = ["20DV", "20GP", "40DH", "40GP", "40HC", "45HC"];

/// Some bookings' shipping line is unknown to the portal, which then shows the blocking
/// "Booking shippingline is required" popup: those at odd positions of the account's list.
/// Deterministic so tests can pick one; at realistic pace any booking now and then too.
pub fn lacks_shipping_line(bookings: &[String], booking: &str) -> bool {
    bookings
        .iter()
        .position(|b| b == booking)
        .is_some_and(|i| i % 2 == 1)
}

pub const SHIPPINGLINE_REQUIRED: &str = "Booking shippingline is required";

/// Everything the page needs once a terminal is chosen.
pub fn terminal_info(terminal: &str) -> serde_json::Value {
    let forms: serde_json::Map<String, serde_json::Value> = super::MOVE_TYPES_UI
        .iter()
        .map(|m| {
            (
                m.to_string(),
                serde_json::json!({
                    "form": form_kind(terminal, m),
                    "pin": needs_pin(terminal, m),
                }),
            )
        })
        .collect();
    serde_json::json!({
        "terminal": terminal,
        "forms": forms,
        "own_chassis": if own_chassis_default(terminal) { "YES" } else { "NO" },
        "no_slots_text": no_slots_text(terminal),
        "lines": LINES,
        "equip_sizes": EQUIP_SIZES,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_follow_move_and_terminal() {
        assert_eq!(
            form_kind("ITS Long Beach", "PICK FULL"),
            FormKind::Container
        );
        assert_eq!(
            form_kind("ITS Long Beach", "DROP EMPTY"),
            FormKind::Container
        );
        assert_eq!(form_kind(ALT_FORM_TERMINAL, "DROP EMPTY"), FormKind::Empty);
        assert_eq!(form_kind(ALT_FORM_TERMINAL, "DROP FULL"), FormKind::Booking);
        assert_eq!(form_kind("ITS Long Beach", "PICK EMPTY"), FormKind::Booking);
        assert!(!own_chassis_default("ITS Long Beach"));
        assert!(own_chassis_default("Total Terminals Intl LLC"));
        let b: Vec<String> = ["A", "B", "C"].iter().map(|s| s.to_string()).collect();
        assert!(!lacks_shipping_line(&b, "A"));
        assert!(lacks_shipping_line(&b, "B"));
        assert!(!lacks_shipping_line(&b, "Z"));
    }
}
