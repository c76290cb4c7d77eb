//! Next (with popups and an ignored press) and step 2 "Add move details".

use super::{MAX_POPUPS, Outcome, Wizard};
use crate::portal::appointments::{Visit, norm};
use crate::portal::{DriverError, Page};
use serde_json::{Value, json};

impl Wizard {
    /// Press Next on step `from` and wait for the next step. Popups are closed and Next is
    /// pressed again; a Next the portal ignored (no step change, no message within
    /// `next_wait_ms`) gets the step filled again and one more press.
    pub(super) fn next(&self, page: &mut Page, from: u32, v: &Visit) -> Result<(), DriverError> {
        let mut presses = 0;
        loop {
            presses += 1;
            self.wait::<bool>(
                page,
                &format!("the {} button", self.next),
                "press",
                json!({"text": self.next}),
            )?;
            let got: Option<Outcome> = self.wait_within(
                page,
                self.next_wait,
                &format!("step {} or a message from the portal", from + 1),
                "after_press",
                json!({"from": from}),
            )?;
            let at = self.step_name(from);
            match got {
                Some(o) if o.state == "step" && o.step == from + 1 => return Ok(()),
                Some(o) if o.state == "step" => {
                    return Err(DriverError::unexpected(
                        page.step_name(),
                        format!("step {} after step {at}, got step {}", from + 1, o.step),
                    ));
                }
                Some(o) if o.state == "dialog" => {
                    if o.text.to_lowercase().contains(&self.no_open_transactions) {
                        return Err(DriverError::NotFound(o.text));
                    }
                    if presses > MAX_POPUPS as usize {
                        return Err(DriverError::Invalid(format!(
                            "the portal refused step {at}: {}",
                            o.text
                        )));
                    }
                    self.clear_popups(page, from)?;
                }
                Some(o) if o.state == "error" && o.item => {
                    return Err(DriverError::NotFound(format!(
                        "the portal refused step {at}: {}",
                        o.text
                    )));
                }
                Some(o) if o.state == "error" || o.state == "page_error" => {
                    return Err(DriverError::Invalid(format!(
                        "the portal refused step {at}: {}",
                        o.text
                    )));
                }
                Some(o) => {
                    return Err(page.marker_error(&o.state, &format!("the wizard after step {at}")));
                }
                None if presses < 2 => {
                    tracing::info!(
                        event = "wizard_next_ignored",
                        step = from,
                        "Next did not change the step; filling it again"
                    );
                    self.refill(page, from, v)?;
                }
                None => {
                    return Err(DriverError::Timeout {
                        step: format!(
                            "{} (Next did not leave step {at}, pressed twice)",
                            page.step_name()
                        ),
                    });
                }
            }
        }
    }

    /// Fill step `n` again before a second Next (what a person does when Next did nothing).
    fn refill(&self, page: &mut Page, n: u32, v: &Visit) -> Result<(), DriverError> {
        match n {
            1 => Ok(()),
            _ => self.fill_step2(page, v).map(|_| ()),
        }
    }

    /// Step 2: tick the moves, PIN, truck plate, own chassis, unit and seals, then Next.
    /// Returns the truck plate the wizard was given.
    pub fn step2(&self, page: &mut Page, v: &Visit) -> Result<String, DriverError> {
        page.step("wizard step 2: wait for the move details");
        self.wait::<bool>(page, "the move details step", "ready2", json!({}))?;
        let plate = self.fill_step2(page, v)?;
        page.step("wizard step 2: next");
        self.next(page, 2, v)?;
        Ok(plate)
    }

    pub(super) fn fill_step2(&self, page: &mut Page, v: &Visit) -> Result<String, DriverError> {
        page.step("wizard step 2: select the moves");
        self.run::<u32>(page, "tick_items", json!({}))?;
        self.wait::<u32>(page, "the moves to be ticked", "items_ticked", json!({}))?;

        if let Some(pin) = v.pin_code.as_deref().map(norm).filter(|p| !p.is_empty()) {
            page.step("wizard step 2: PIN");
            // The PIN input is absent where the terminal asks for none: then it is ignored.
            self.run::<Value>(
                page,
                "fill",
                json!({"input": "wizard_pin_input", "value": pin}),
            )?;
        }

        page.step("wizard step 2: truck plate");
        let plate = self.autocomplete(
            page,
            json!({"input": "wizard_plate_input"}),
            v.truck_plate.as_deref(),
            "truck plate",
        )?;

        if let Some(own) = v.own_chassis {
            page.step("wizard step 2: own chassis");
            self.own_chassis(page, own)?;
        }

        if let Some(unit) = v.unit_number.as_deref().map(norm).filter(|u| !u.is_empty()) {
            page.step("wizard step 2: unit number");
            self.run::<Value>(
                page,
                "fill",
                json!({"input": "wizard_unit_input", "value": unit}),
            )?;
        }
        for (n, seal) in v.seals.iter().enumerate() {
            let seal = norm(seal);
            if seal.is_empty() {
                continue;
            }
            page.step("wizard step 2: seals");
            let selector = page
                .selector("wizard_seal_input")?
                .replace("{n}", &(n + 1).to_string());
            let args = json!({"input": selector, "value": seal});
            if !self.found(page, "fill", args)? {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("the seal input {selector}"),
                ));
            }
        }
        Ok(plate)
    }

    /// Set Own chassis: press the YES/NO toggle, or the single pill until it shows the value.
    fn own_chassis(&self, page: &mut Page, own: bool) -> Result<(), DriverError> {
        let t = &page.profile.wizard;
        let a = json!({
            "label": self.own_chassis, "own": own,
            "yes": t.get("own_chassis_yes").cloned().unwrap_or_else(|| "YES".into()),
            "no": t.get("own_chassis_no").cloned().unwrap_or_else(|| "NO".into()),
        });
        let got: Outcome = self.run(page, "chassis", a.clone())?;
        match got.state.as_str() {
            "ok" => Ok(()),
            "pressed" => {
                let mut check = a;
                check["check"] = json!(true);
                self.wait::<Outcome>(
                    page,
                    "the Own chassis control to show the value",
                    "chassis",
                    check,
                )?;
                Ok(())
            }
            // No control at all: the terminal does not ask; its default stands.
            "none" => {
                tracing::info!(
                    event = "own_chassis_absent",
                    "no Own chassis control on step 2"
                );
                Ok(())
            }
            _ => Err(DriverError::unexpected(
                page.step_name(),
                format!("an '{}' control showing YES or NO", self.own_chassis),
            )),
        }
    }
}
