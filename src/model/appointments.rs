//! Appointment operations: what the wizard is asked for, and what the portal answered.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ContainerType {
    #[default]
    Import,
    Export,
}

/// What the wizard is asked to book (steps 1 and 2). The portal decides from the move type
/// and terminal which items step 1 asks for; the visit carries whatever the client sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// What the client said; the wizard itself has no such choice.
    pub container_type: ContainerType,
    pub trucking_company: String,
    pub terminal: String,
    pub move_type: String,
    /// Container numbers (chip input `containerNumber`).
    pub container_ids: Vec<String>,
    /// A booking number (chip input `bookingNumber`), for exports and empty pick-ups.
    pub booking_number: Option<String>,
    /// Empty moves at some terminals: Line and Equip Size instead of a container number.
    pub line: Option<String>,
    pub equip_size: Option<String>,
    /// 0 means 1.
    pub quantity: u32,
    /// `None`: the first plate the portal's autocomplete offers.
    pub truck_plate: Option<String>,
    /// `None`: leave the terminal's default.
    pub own_chassis: Option<bool>,
    /// Ignored when the page has no PIN input.
    pub pin_code: Option<String>,
    pub unit_number: Option<String>,
    /// At most four (`Seal1_Num`..`Seal4_Num`).
    pub seals: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AvailableTimes {
    /// The slot texts exactly as offered, e.g. `Friday 10/24/2025 18:30 - 19:30`.
    pub available_times: Vec<String>,
    /// The plate the wizard was given.
    pub truck_plate: String,
    /// What the portal said instead of times (a full terminal), if anything.
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Booked {
    /// The portal's confirmation number, when the page showed one.
    pub confirmation_number: Option<String>,
    pub appointment_time: String,
    /// How the booking was confirmed: `confirmation` (a Confirmation step), `snackbar` (a
    /// success message) or `my_appointments` (found in the list after Submit).
    pub verified_by: String,
    /// Label/value pairs the portal showed about the booking.
    pub details: Vec<(String, String)>,
}

/// How much of My Appointments to load.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListTarget {
    /// Stop once this many rows are loaded.
    pub count: Option<usize>,
    /// Stop once a row containing this text (an appointment or container number) is loaded.
    pub appointment_id: Option<String>,
    /// `false`: only what the page shows before any scrolling.
    pub scroll: bool,
}

impl ListTarget {
    /// Everything the list can load.
    pub fn all() -> ListTarget {
        ListTarget {
            count: None,
            appointment_id: None,
            scroll: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentList {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows whose checkbox is ticked after "select all".
    pub selected_count: usize,
}
