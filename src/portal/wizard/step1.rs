//! Step 1 "Add required data": the dropdowns, then the item fields the move asks for.

use super::{ITEMS_WAIT, OPS, WIZARD};
use super::{Items, MAX_POPUPS, Outcome, Wizard};
use crate::portal::appointments::{Visit, norm};
use crate::portal::{DriverError, Page};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

impl Wizard {
    /// Step 1: trucking company, terminal, move type, then the item fields the move shows.
    pub fn step1(&self, page: &mut Page, v: &Visit) -> Result<(), DriverError> {
        page.step("wizard step 1: trucking company");
        self.choose(
            page,
            &self.trucking,
            "trucking company",
            &v.trucking_company,
            "trucking",
        )?;
        page.step("wizard step 1: terminal");
        self.choose(page, &self.terminal, "terminal", &v.terminal, "terminal")?;
        page.step("wizard step 1: move type");
        self.choose(page, &self.move_label, "move type", &v.move_type, "move")?;
        self.fill_items(page, v)?;
        page.step("wizard step 1: next");
        self.next(page, 1, v)
    }

    /// The item fields of step 1, as the page shows them for this move.
    fn fill_items(&self, page: &mut Page, v: &Visit) -> Result<(), DriverError> {
        page.step("wizard step 1: item fields");
        let labels = json!({"line_label": self.line, "equip_label": self.equip, "quantity_label": self.quantity});
        // The fields come once the move's data has loaded: poll the "items" operation until
        // the page is idle and shows one of the known item fields.
        let args = self.args("items", labels);
        let items: Option<Items> = page.wait_js_within(
            ITEMS_WAIT,
            "the move's item fields",
            &format!(
                "{WIZARD}\nconst __r = (() => {{ {OPS} }})(); \
                 return __r && !__r.busy && (__r.container || __r.booking || (__r.line && __r.equip)) ? __r : null;"
            ),
            &args,
        )?;
        let Some(items) = items else {
            return Err(DriverError::unexpected(
                "wizard step 1: item fields",
                "the move's item fields (container numbers, a booking number, or Line and Equip Size)",
            ));
        };
        let quantity = v.quantity.max(1).to_string();
        if items.container {
            let ids: Vec<String> = v
                .container_ids
                .iter()
                .map(|c| norm(c))
                .filter(|c| !c.is_empty())
                .collect();
            if ids.is_empty() {
                return Err(DriverError::Invalid(format!(
                    "this move ({}) at {} asks for container numbers: send container_id",
                    v.move_type, v.terminal
                )));
            }
            page.step("wizard step 1: container numbers");
            self.add_chips(page, "wizard_container_input", &ids)?;
        } else if items.booking {
            let Some(booking) = v
                .booking_number
                .as_deref()
                .map(norm)
                .filter(|b| !b.is_empty())
            else {
                return Err(DriverError::Invalid(format!(
                    "this move ({}) at {} asks for a booking number: send booking_number",
                    v.move_type, v.terminal
                )));
            };
            page.step("wizard step 1: booking number");
            self.add_chips(page, "wizard_booking_input", &[booking])?;
            self.clear_popups(page, 1)?;
        } else {
            let (Some(line), Some(equip)) = (
                v.line.as_deref().map(norm).filter(|s| !s.is_empty()),
                v.equip_size.as_deref().map(norm).filter(|s| !s.is_empty()),
            ) else {
                return Err(DriverError::Invalid(format!(
                    "this move ({}) at {} asks for Line and Equip Size: send line and equip_size (and quantity)",
                    v.move_type, v.terminal
                )));
            };
            page.step("wizard step 1: line");
            self.autocomplete(page, json!({"label": self.line}), Some(&line), "line")?;
            page.step("wizard step 1: equip size");
            self.autocomplete(
                page,
                json!({"label": self.equip}),
                Some(&equip),
                "equip size",
            )?;
        }
        if items.quantity {
            page.step("wizard step 1: quantity");
            let args = json!({"label": self.quantity, "value": quantity});
            if !self.found(page, "fill", args)? {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("a '{}' input", self.quantity),
                ));
            }
        }
        Ok(())
    }

    /// Close informational popups (e.g. "Booking shippingline is required"); a popup that
    /// says the booking has no open transactions means the booking is unknown.
    pub(super) fn clear_popups(&self, page: &mut Page, step: u32) -> Result<(), DriverError> {
        for _ in 0..MAX_POPUPS {
            #[derive(Deserialize)]
            struct Dialog {
                text: Option<String>,
            }
            let d: Dialog = self.run(page, "dialog", json!({}))?;
            let Some(text) = d.text else { return Ok(()) };
            if text.to_lowercase().contains(&self.no_open_transactions) {
                return Err(DriverError::NotFound(text));
            }
            let closed: Outcome = self.run(page, "close_dialog", json!({}))?;
            tracing::info!(event = "wizard_popup_closed", step, text = %closed.text);
            if closed.state == "stuck" {
                return Err(DriverError::Invalid(format!(
                    "the portal showed a popup at step {} that could not be closed: {text}",
                    self.step_name(step)
                )));
            }
            self.wait::<bool>(page, "the popup to close", "idle", json!({}))?;
        }
        Ok(())
    }

    /// Type each value into the chip input and press Enter; wait for the chips.
    fn add_chips(
        &self,
        page: &mut Page,
        input: &str,
        values: &[String],
    ) -> Result<(), DriverError> {
        let a = json!({"input": input, "values": values});
        if !self.run::<bool>(page, "chips", a.clone())? {
            return Err(DriverError::unexpected(
                page.step_name(),
                format!("the chip input ({input})"),
            ));
        }
        self.wait::<bool>(page, "the chips to show the values", "chips_shown", a)?;
        Ok(())
    }

    /// Open an autocomplete (`target`: `{"input": key}` or `{"label": ..}`) and take `wanted`,
    /// or the first option when `wanted` is `None`. A value the list does not offer is typed
    /// as free text; the portal judges it at Next.
    pub(super) fn autocomplete(
        &self,
        page: &mut Page,
        target: Value,
        wanted: Option<&str>,
        what: &str,
    ) -> Result<String, DriverError> {
        let mut open = target.clone();
        open["typed"] = json!("");
        if !self.found(page, "autocomplete_open", open)? {
            return Err(DriverError::unexpected(
                page.step_name(),
                format!("the {what} input"),
            ));
        }
        let offered: Vec<String> = self
            .wait_within(
                page,
                Duration::from_millis(self.autocomplete_ms),
                &format!("the {what} options"),
                "offered",
                json!({}),
            )?
            .unwrap_or_default();
        let chosen = match wanted {
            None => match offered.first() {
                Some(first) => first.clone(),
                None => {
                    return Err(DriverError::Invalid(format!(
                        "no {what} given and the portal offers none"
                    )));
                }
            },
            Some(w) => offered
                .iter()
                .find(|o| o.eq_ignore_ascii_case(w))
                .or_else(|| {
                    let hits: Vec<&String> = offered
                        .iter()
                        .filter(|o| o.to_lowercase().contains(&w.to_lowercase()))
                        .collect();
                    (hits.len() == 1).then(|| hits[0])
                })
                .cloned()
                .unwrap_or_else(|| w.to_string()),
        };
        let mut shown = target.clone();
        shown["text"] = json!(chosen);
        if let Some(index) = offered.iter().position(|o| *o == chosen) {
            let mut a = target.clone();
            a["index"] = json!(index);
            a["text"] = json!(chosen);
            if !self.run::<bool>(page, "choose", a)? {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("the {what} '{chosen}' still offered"),
                ));
            }
        } else {
            self.run::<bool>(page, "autocomplete_free", shown.clone())?;
        }
        self.wait::<String>(page, &format!("the {what} to be set"), "input_shows", shown)
    }
}
