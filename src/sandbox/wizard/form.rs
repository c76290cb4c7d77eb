//! The wizard's posted form and the checks on it, shared by step 1, the booking check and
//! the booking itself.

use super::NO_OPEN_TRANSACTIONS;
use super::rules::{self, FormKind};
use crate::sandbox::data::{AccountData, MOVE_TYPES, TERMINALS};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Grid column indexes (facts §5 order) the move cards show.
const COL_LINE: usize = 10;
const COL_SIZE: usize = 14;

/// The wizard's fields as the page posts them. Everything defaults, so a partial or odd body
/// yields field errors instead of a parse failure.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct VisitForm {
    /// `terminal`, `booking` or empty (step 1's Next); see the module doc.
    pub action: String,
    /// `IMPORT` / `EXPORT`: only a fallback when terminal or move type is unknown; the page
    /// derives it from the move type.
    pub container_type: String,
    pub trucking: String,
    pub terminal: String,
    pub move_type: String,
    pub containers: Vec<String>,
    pub booking_number: String,
    pub quantity: Option<u32>,
    /// The alternative (empty move) form.
    pub line: String,
    pub equip_size: String,
    /// The items checked in step 2 (containers, the booking, or `LINE/SIZE`).
    pub selected: Vec<String>,
    pub pin: String,
    pub plate: String,
    pub own_chassis: String,
    pub unit: String,
    pub seals: Vec<String>,
    pub slot: String,
}

pub fn known_terminal(t: &str) -> bool {
    TERMINALS.iter().any(|(name, _)| *name == t)
}

pub fn kind(f: &VisitForm) -> FormKind {
    if known_terminal(&f.terminal) && MOVE_TYPES.contains(&f.move_type.as_str()) {
        rules::form_kind(&f.terminal, &f.move_type)
    } else if f.container_type.eq_ignore_ascii_case("export") {
        FormKind::Booking
    } else {
        FormKind::Container
    }
}

pub fn booking(f: &VisitForm) -> String {
    f.booking_number.trim().to_uppercase()
}

/// Step 1 checks: field errors keyed by form control name, and the dialog text if any.
pub fn check_step1(
    account: &AccountData,
    f: &VisitForm,
) -> (Map<String, Value>, Option<&'static str>) {
    let mut errors = Map::new();
    let mut err = |k: &str, m: String| {
        errors.insert(k.to_string(), Value::String(m));
    };
    if f.trucking.is_empty() {
        err("trucking", "Trucking company is required".into());
    } else if !account.trucking_companies.contains(&f.trucking) {
        err("trucking", "Trucking company not found".into());
    }
    if f.terminal.is_empty() {
        err("terminal", "Terminal is required".into());
    } else if !known_terminal(&f.terminal) {
        err("terminal", "Terminal not found".into());
    }
    if f.move_type.is_empty() {
        err("moveType", "Move Type is required".into());
    } else if !MOVE_TYPES.contains(&f.move_type.as_str()) {
        err("moveType", "Move Type not found".into());
    }
    let mut dialog = None;
    let quantity_ok = f.quantity.unwrap_or(0) > 0;
    match kind(f) {
        FormKind::Booking => {
            if booking(f).is_empty() {
                err("bookingNumber", "Booking number is required".into());
            } else if !account.export_bookings.contains(&booking(f)) {
                dialog = Some(NO_OPEN_TRANSACTIONS);
            }
            if !quantity_ok {
                err("quantity", "Quantity is required".into());
            }
        }
        FormKind::Empty => {
            if !rules::LINES.contains(&f.line.trim()) {
                err("line", "Line is required".into());
            }
            if !rules::EQUIP_SIZES.contains(&f.equip_size.trim()) {
                err("equipSize", "Equip Size is required".into());
            }
            if !quantity_ok {
                err("quantity", "Quantity is required".into());
            }
        }
        FormKind::Container if f.containers.is_empty() => {
            err("containerNumber", "Container number is required".into());
        }
        FormKind::Container => {
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
    }
    (errors, dialog)
}

/// The moves step 2 lists: `(item key, unit number, line, equip size)`.
pub fn moves(account: &AccountData, f: &VisitForm) -> Vec<(String, String, String, String)> {
    let of_container = |id: &str| {
        account
            .container(id)
            .map(|c| (c.columns[COL_LINE].clone(), c.columns[COL_SIZE].clone()))
    };
    match kind(f) {
        FormKind::Container => f
            .containers
            .iter()
            .map(|c| {
                let id = c.trim().to_uppercase();
                let (line, size) = of_container(&id).unwrap_or_default();
                (id.clone(), id, line, size)
            })
            .collect(),
        FormKind::Booking => {
            let b = booking(f);
            let (line, size) = account
                .containers
                .iter()
                .find(|c| c.booking_number.as_deref() == Some(b.as_str()))
                .map(|c| (c.columns[COL_LINE].clone(), c.columns[COL_SIZE].clone()))
                .unwrap_or_else(|| ("N/A".into(), "N/A".into()));
            vec![(b, String::new(), line, size)]
        }
        FormKind::Empty => {
            let (line, size) = (f.line.trim().to_string(), f.equip_size.trim().to_string());
            vec![(format!("{line}/{size}"), String::new(), line, size)]
        }
    }
}

pub fn items(account: &AccountData, f: &VisitForm) -> Vec<String> {
    moves(account, f).into_iter().map(|m| m.0).collect()
}
