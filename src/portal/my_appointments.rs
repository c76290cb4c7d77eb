//! My Appointments: reached through a loading route, a list that grows as the window
//! scrolls, a master checkbox, and the table read into columns and rows.

use super::appointments::AppointmentList;
use super::options::wizard_ms;
use super::{DriverError, Page};
use crate::model::ListTarget;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// The profile keys of My Appointments.
pub const LIST_KEYS: &[&str] = &[
    "username",
    "loading",
    "appointments_headers",
    "appointments_rows",
    "appointments_cells",
    "appointments_master_checkbox",
    "appointments_row_checkbox",
];

const APPOINTMENTS: &str = include_str!("js/appointments.js");

/// How long one call of the list's scroll may run before it pauses to report its rows.
const SCROLL_SLICE_MS: u64 = 250;

/// Open My Appointments (through its loading route), load rows as far as `target` asks (the
/// list grows as the window scrolls), select them all and read the table.
pub fn my_appointments(
    page: &mut Page,
    target: &ListTarget,
) -> Result<AppointmentList, DriverError> {
    page.step("open my appointments");
    let mut args = page.args(LIST_KEYS)?;
    args["loading_marks"] = json!(
        page.profile
            .texts
            .loading_url_marks
            .iter()
            .map(|s| s.to_lowercase())
            .collect::<Vec<_>>()
    );
    let p = &page.profile;
    args["settle_ms"] = json!(p.scroll_settle_ms);
    args["settle_max_ms"] = json!(p.scroll_settle_max_ms.max(p.scroll_settle_ms));
    args["idle_rounds"] = json!(p.scroll_idle_rounds.max(1));
    args["wait_ms"] = json!(wizard_ms(page, "select_all_wait_ms", 1000));
    let op = |args: &Value, op: &str| {
        let mut a = args.clone();
        a["op"] = json!(op);
        a
    };
    page.goto(&page.profile.myappointments_url.clone())?;
    #[derive(Deserialize)]
    struct Opened {
        state: String,
    }
    let opened: Opened = page.wait_js_async(
        "the My Appointments table",
        APPOINTMENTS,
        &op(&args, "opened"),
    )?;
    if opened.state != "ok" {
        return Err(page.marker_error(&opened.state, "the My Appointments table"));
    }
    if target.scroll {
        page.step("load my appointments");
        let mut load = op(&args, "load_all");
        load["remaining_ms"] = json!(
            page.remaining()
                .saturating_sub(Duration::from_secs(2))
                .as_millis() as u64
        );
        load["want_count"] = json!(target.count);
        load["want_text"] = json!(target.appointment_id);
        // The script pauses every slice so the rows loaded so far can be shown.
        load["slice_ms"] = json!(SCROLL_SLICE_MS);
        let total = target.count.map(|n| n as u64);
        loop {
            #[derive(Deserialize)]
            struct Loaded {
                rows: u64,
                resume: Value,
            }
            let got: Loaded = page.run_js_async(APPOINTMENTS, &load)?;
            let text = match total {
                Some(total) => format!("scrolled {} of {total} appointments", got.rows.min(total)),
                None => format!("{} appointments loaded", got.rows),
            };
            let done = total.map_or(got.rows, |t| got.rows.min(t));
            page.count(text, done, total, "rows");
            if got.resume.is_null() {
                break;
            }
            load["resume"] = got.resume;
            load["remaining_ms"] = json!(
                page.remaining()
                    .saturating_sub(Duration::from_secs(2))
                    .as_millis() as u64
            );
        }
    }

    page.step("select all appointments");
    if !page.run_js_async::<bool>(APPOINTMENTS, &op(&args, "select_all"))? {
        return Err(DriverError::unexpected(
            "select all appointments",
            "the master checkbox of the My Appointments table",
        ));
    }

    page.step("read my appointments");
    #[derive(Deserialize)]
    struct Table {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        selected: usize,
    }
    let mut table: Table = page.run_js_async(APPOINTMENTS, &op(&args, "read"))?;
    if let Some(n) = target.count {
        table.rows.truncate(n);
        table.selected = table.selected.min(n);
    }
    Ok(AppointmentList {
        columns: table.columns,
        rows: table.rows,
        selected_count: table.selected,
    })
}
