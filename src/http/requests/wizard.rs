//! The appointment wizard's fields: what `check_appointments` and `make_appointment` read
//! besides the session, and all that a draft keeps between them.

use super::{lenient, string_or_list};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The appointment wizard's fields. Drafts (`appointment_session_id`) keep exactly these,
/// so it never holds credentials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WizardFields {
    /// `import` (default) or `export`: which item the move is expected to ask for.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "import")]
    pub container_type: Option<String>,
    /// Trucking company, as the portal's option text.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "K & R TRANSPORTATION LLC")]
    pub trucking_company: Option<String>,
    /// Terminal, as the portal's option text or a part of it.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "TTI")]
    pub terminal: Option<String>,
    /// Move type, as the portal's option text.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "PICK FULL")]
    pub move_type: Option<String>,
    /// Container number(s) the move asks for: one string, a comma-separated string, or a
    /// list. Alias: `container`.
    #[serde(
        default,
        alias = "container",
        deserialize_with = "lenient::string_list",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = string_or_list)]
    pub container_id: Option<Vec<String>>,
    /// Booking number, for moves that ask for one (exports).
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "RICFEM857500")]
    pub booking_number: Option<String>,
    /// Shipping line, for empty moves that ask for Line and Equip Size.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub line: Option<String>,
    /// Equipment size, for empty moves that ask for Line and Equip Size.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub equip_size: Option<String>,
    /// How many units (booking and empty moves; default 1). A numeric string is accepted too.
    #[serde(
        default,
        deserialize_with = "lenient::whole",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 99)]
    pub quantity: Option<u64>,
    /// Truck plate; absent or `ABC123` picks the first plate the portal offers. Numbers are
    /// accepted as their text.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "9E43369")]
    pub truck_plate: Option<String>,
    /// Own chassis: true/false, "yes"/"no", or "ignore" (leave the terminal's default).
    /// Absent leaves the portal's default.
    #[serde(
        default,
        deserialize_with = "lenient::text_or_bool",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "no")]
    pub own_chassis: Option<String>,
    /// PIN code. Numbers are accepted as their text.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub pin_code: Option<String>,
    /// Unit (container) number, for export moves.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub unit_number: Option<String>,
    /// Seal number(s), for export moves: one string, a comma-separated string, or a list.
    #[serde(
        default,
        deserialize_with = "lenient::string_list",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = string_or_list)]
    pub seal_value: Option<Vec<String>>,
    /// E-mail for the visit's notifications, where the portal asks for one.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub vm_email: Option<String>,
    /// Container number typed on empty moves that ask for one besides Line and Equip Size.
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub container_number: Option<String>,
    /// The slot to book, as `/check_appointments` listed it (`make_appointment` only).
    #[serde(
        default,
        deserialize_with = "lenient::string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, example = "Saturday 10/11/2025 07:00 - 12:00")]
    pub appointment_time: Option<String>,
}

impl WizardFields {
    /// Lay `newer` over these fields: each field `newer` has wins.
    pub fn overlay(&mut self, newer: WizardFields) {
        macro_rules! take {
            ($($field:ident),* $(,)?) => {
                $(if newer.$field.is_some() { self.$field = newer.$field; })*
            };
        }
        // Destructured first so a field added to the struct cannot be forgotten here.
        let WizardFields {
            container_type: _,
            trucking_company: _,
            terminal: _,
            move_type: _,
            container_id: _,
            booking_number: _,
            line: _,
            equip_size: _,
            quantity: _,
            truck_plate: _,
            own_chassis: _,
            pin_code: _,
            unit_number: _,
            seal_value: _,
            vm_email: _,
            container_number: _,
            appointment_time: _,
        } = &newer;
        take!(
            container_type,
            trucking_company,
            terminal,
            move_type,
            container_id,
            booking_number,
            line,
            equip_size,
            quantity,
            truck_plate,
            own_chassis,
            pin_code,
            unit_number,
            seal_value,
            vm_email,
            container_number,
            appointment_time,
        );
    }
}
