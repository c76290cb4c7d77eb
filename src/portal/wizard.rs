//! The appointment wizard (`addvisit`), step by step.
//!
//! The real wizard has no Import/Export choice: the move type (and terminal) decide which
//! item fields step 1 shows (container numbers, a booking number, or Line and Equip Size for
//! some empty moves), so the driver fills what the page asks for. Popups are closed and Next
//! is pressed again (once, after filling the step again); the time dropdown is found without
//! a label; the outcome of Submit is decided by what the page shows, and when it shows
//! nothing certain, by My Appointments. The page work is in `js/wizard.js` and
//! `js/wizard_ops.js`; every selector and text comes from the portal profile.

use super::appointments::{Visit, alias_key, list_or_none, match_option, norm, wizard_ms};
use super::{DriverError, Page};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

const WIZARD: &str = include_str!("js/wizard.js");
const OPS: &str = include_str!("js/wizard_ops.js");

/// How long the item fields of step 1 may take to appear after the move type is chosen.
const ITEMS_WAIT: Duration = Duration::from_secs(30);
/// Popups closed in one step before the driver gives up.
const MAX_POPUPS: u32 = 3;

#[derive(Deserialize)]
pub(super) struct Outcome {
    pub state: String,
    #[serde(default)]
    pub step: u32,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub details: Vec<(String, String)>,
    #[serde(default)]
    pub url: String,
    /// A field error on the container or booking input.
    #[serde(default)]
    pub item: bool,
}

#[derive(Deserialize)]
struct Items {
    container: bool,
    booking: bool,
    quantity: bool,
}

#[derive(Deserialize)]
struct Listing {
    options: Vec<String>,
}

pub(super) struct Wizard {
    base: Value,
    script: String,
    pub trucking: String,
    pub terminal: String,
    pub move_label: String,
    quantity: String,
    line: String,
    equip: String,
    own_chassis: String,
    next: String,
    pub submit: String,
    step_labels: [String; 4],
    no_open_transactions: String,
    no_appointments: Vec<String>,
    empty_select_ms: u64,
    autocomplete_ms: u64,
    next_wait: Duration,
    pub submit_wait: Duration,
}

impl Wizard {
    pub fn new(page: &Page) -> Result<Wizard, DriverError> {
        let text = |k: &str| {
            page.profile
                .wizard_text(k)
                .map(str::to_string)
                .map_err(DriverError::Invalid)
        };
        let mut base = page.args(&[
            "username",
            "loading",
            "step_header",
            "wizard_step_panel",
            "form_field",
            "form_label",
            "select",
            "select_trigger",
            "option",
            "overlay",
            "listbox",
            "wizard_container_input",
            "wizard_booking_input",
            "wizard_chip",
            "wizard_item_checkbox",
            "wizard_pin_input",
            "wizard_plate_input",
            "wizard_unit_input",
            "wizard_slot_select",
            "wizard_toggle",
            "wizard_button",
            "wizard_error",
            "wizard_dialog",
            "wizard_dialog_content",
            "wizard_page_error",
            "wizard_detail_rows",
        ])?;
        let t = &page.profile.texts;
        let slot_labels: Vec<String> = text("appointment_labels")?
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        base["close_buttons"] = json!(t.close_buttons);
        base["booked_texts"] = json!(
            t.booked_texts
                .iter()
                .map(|s| s.to_lowercase())
                .collect::<Vec<_>>()
        );
        base["slot_labels"] = json!(slot_labels);
        base["line_label"] = json!(text("line_label")?);
        base["equip_label"] = json!(text("equip_size_label")?);
        base["quantity_label"] = json!(text("quantity_label")?);
        base["confirmation_label"] = json!(text("confirmation_label")?);
        base["wizard_url"] = json!(page.profile.addvisit_url);
        Ok(Wizard {
            base,
            script: format!("{WIZARD}\n{OPS}"),
            trucking: text("trucking_label")?,
            terminal: text("terminal_label")?,
            move_label: text("move_label")?,
            quantity: text("quantity_label")?,
            line: text("line_label")?,
            equip: text("equip_size_label")?,
            own_chassis: text("own_chassis_label")?,
            next: text("next_button")?,
            submit: text("submit_button")?,
            step_labels: [
                text("step1_label")?,
                text("step2_label")?,
                text("step3_label")?,
                text("step4_label")?,
            ],
            no_open_transactions: t.no_open_transactions.to_lowercase(),
            no_appointments: t.no_appointments.iter().map(|s| s.to_lowercase()).collect(),
            empty_select_ms: wizard_ms(page, "empty_select_wait_ms", 1500),
            autocomplete_ms: wizard_ms(page, "autocomplete_wait_ms", 3000),
            next_wait: Duration::from_millis(wizard_ms(page, "next_wait_ms", 30000)),
            submit_wait: Duration::from_millis(wizard_ms(page, "submit_wait_ms", 60000)),
        })
    }

    fn args(&self, op: &str, extra: Value) -> Value {
        let mut a = self.base.clone();
        a["op"] = json!(op);
        if let Value::Object(m) = extra {
            for (k, v) in m {
                a[k] = v;
            }
        }
        a
    }

    pub fn run<T: DeserializeOwned>(
        &self,
        page: &Page,
        op: &str,
        extra: Value,
    ) -> Result<T, DriverError> {
        page.run_js(&self.script, &self.args(op, extra))
    }

    pub fn wait<T: DeserializeOwned>(
        &self,
        page: &Page,
        expected: &str,
        op: &str,
        extra: Value,
    ) -> Result<T, DriverError> {
        page.wait_js(expected, &self.script, &self.args(op, extra))
    }

    pub fn wait_within<T: DeserializeOwned>(
        &self,
        page: &mut Page,
        within: Duration,
        expected: &str,
        op: &str,
        extra: Value,
    ) -> Result<Option<T>, DriverError> {
        let args = self.args(op, extra);
        page.wait_js_within(within, expected, &self.script, &args)
    }

    fn step_name(&self, n: u32) -> String {
        let label = self
            .step_labels
            .get((n as usize).wrapping_sub(1))
            .map_or("", String::as_str);
        format!("{n} '{label}'")
    }

    /// Open the wizard and wait for step 1 with its dropdowns.
    pub fn open(&self, page: &mut Page) -> Result<(), DriverError> {
        page.step("open appointment wizard");
        page.goto(&page.profile.addvisit_url.clone())?;
        let args = self.args("opened", json!({"label": self.trucking}));
        let got: Outcome =
            page.wait_new_page_js("the appointment wizard's first step", &self.script, &args)?;
        match got.state.as_str() {
            "ready" => Ok(()),
            "step" => Err(DriverError::unexpected(
                "open appointment wizard",
                format!("the wizard at step 1, got step {}", got.step),
            )),
            other => Err(page.marker_error(other, "the appointment wizard")),
        }
    }

    /// Wait until no loading layer covers the page and no dropdown is open.
    fn idle(&self, page: &Page) -> Result<(), DriverError> {
        self.wait::<bool>(page, "the page to finish loading", "idle", json!({}))
            .map(|_| ())
    }

    /// Open the dropdown (`target`: `{"label": ..}` or `{"slot": true}`) and read its options.
    fn open_select(
        &self,
        page: &mut Page,
        target: &Value,
        name: &str,
    ) -> Result<Vec<String>, DriverError> {
        self.wait::<bool>(
            page,
            &format!("the '{name}' dropdown"),
            "open",
            target.clone(),
        )?;
        let first: Listing = self.wait(
            page,
            &format!("the '{name}' options"),
            "options",
            target.clone(),
        )?;
        if !first.options.is_empty() {
            return Ok(first.options);
        }
        // An open but empty panel: options may still be arriving.
        let late: Option<Vec<String>> = self.wait_within(
            page,
            Duration::from_millis(self.empty_select_ms),
            &format!("the '{name}' options"),
            "offered",
            json!({}),
        )?;
        Ok(late.unwrap_or_default())
    }

    /// Click option `index` (expected to read `text`) and wait until the dropdown shows it.
    fn pick(
        &self,
        page: &mut Page,
        target: &Value,
        name: &str,
        index: usize,
        text: &str,
    ) -> Result<(), DriverError> {
        let mut a = target.clone();
        a["index"] = json!(index);
        a["text"] = json!(text);
        if !self.run::<bool>(page, "choose", a.clone())? {
            return Err(DriverError::unexpected(
                page.step_name(),
                format!("the option '{text}' still offered in the '{name}' dropdown"),
            ));
        }
        self.wait::<bool>(
            page,
            &format!("the '{name}' dropdown to show '{text}'"),
            "shows",
            a,
        )?;
        Ok(())
    }

    /// Choose `requested` in the dropdown labelled `label` (see [`match_option`]); nothing
    /// to do when the portal preselected it.
    fn choose(
        &self,
        page: &mut Page,
        label: &str,
        what: &str,
        requested: &str,
        alias_prefix: &str,
    ) -> Result<String, DriverError> {
        let target = json!({"label": label});
        let alias = page
            .profile
            .wizard
            .get(&alias_key(alias_prefix, requested))
            .cloned();
        #[derive(Deserialize)]
        struct Current {
            value: Option<String>,
        }
        let current: Current = self.run(page, "value", target.clone())?;
        if let Some(v) = current.value.filter(|v| !v.is_empty())
            && match_option(what, requested, std::slice::from_ref(&v), alias.as_deref()).is_ok()
        {
            return Ok(v);
        }
        let options = self.open_select(page, &target, label)?;
        let index = match match_option(what, requested, &options, alias.as_deref()) {
            Ok(i) => i,
            Err(e) => {
                self.run::<bool>(page, "escape", json!({}))?;
                return Err(e);
            }
        };
        let text = options[index].clone();
        self.pick(page, &target, label, index, &text)?;
        self.idle(page)?;
        Ok(text)
    }

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
            #[derive(Deserialize)]
            struct Filled {
                found: bool,
            }
            let f: Filled = self.run(
                page,
                "fill",
                json!({"label": self.quantity, "value": quantity}),
            )?;
            if !f.found {
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
    fn clear_popups(&self, page: &mut Page, step: u32) -> Result<(), DriverError> {
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
    fn autocomplete(
        &self,
        page: &mut Page,
        target: Value,
        wanted: Option<&str>,
        what: &str,
    ) -> Result<String, DriverError> {
        #[derive(Deserialize)]
        struct Found {
            found: bool,
        }
        let mut open = target.clone();
        open["typed"] = json!("");
        let f: Found = self.run(page, "autocomplete_open", open)?;
        if !f.found {
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

    /// Press Next on step `from` and wait for the next step. Popups are closed and Next is
    /// pressed again; a Next the portal ignored (no step change, no message within
    /// `next_wait_ms`) gets the step filled again and one more press.
    fn next(&self, page: &mut Page, from: u32, v: &Visit) -> Result<(), DriverError> {
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

    fn fill_step2(&self, page: &mut Page, v: &Visit) -> Result<String, DriverError> {
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
            #[derive(Deserialize)]
            struct Filled {
                found: bool,
            }
            let f: Filled = self.run(page, "fill", json!({"input": selector, "value": seal}))?;
            if !f.found {
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

    /// Step 3: the offered times. A full terminal's single "No Appointments Available"
    /// option is no time: the list is then empty and the option's text comes back.
    pub fn slots(&self, page: &mut Page) -> Result<(Vec<String>, Option<String>), DriverError> {
        page.step("wizard step 3: appointment times");
        let slot = json!({"slot": true});
        self.wait::<bool>(page, "the appointment time step", "ready3", slot.clone())?;
        let options = self.open_select(page, &slot, "appointment time")?;
        self.run::<bool>(page, "escape", json!({}))?;
        self.idle(page)?;
        let (none, times): (Vec<String>, Vec<String>) = options.into_iter().partition(|o| {
            self.no_appointments
                .iter()
                .any(|n| o.to_lowercase().contains(n))
        });
        Ok((times, none.into_iter().next()))
    }

    /// Make sure the time dropdown shows `slot`.
    pub fn select_slot(
        &self,
        page: &mut Page,
        slot: &str,
        offered: &[String],
    ) -> Result<(), DriverError> {
        let target = json!({"slot": true});
        #[derive(Deserialize)]
        struct Current {
            value: Option<String>,
        }
        let current: Current = self.run(page, "value", target.clone())?;
        if current
            .value
            .is_some_and(|v| norm(&v).eq_ignore_ascii_case(&norm(slot)))
        {
            return Ok(());
        }
        let options = self.open_select(page, &target, "appointment time")?;
        let Some(index) = options
            .iter()
            .position(|o| norm(o).eq_ignore_ascii_case(&norm(slot)))
        else {
            self.run::<bool>(page, "escape", json!({}))?;
            return Err(DriverError::Invalid(format!(
                "appointment time '{slot}' is not offered; options: {}",
                list_or_none(offered)
            )));
        };
        let text = options[index].clone();
        self.pick(page, &target, "appointment time", index, &text)
    }

    /// Press Submit once.
    pub fn press_submit(&self, page: &Page) -> Result<(), DriverError> {
        self.wait::<bool>(
            page,
            &format!("the {} button", self.submit),
            "press",
            json!({"text": self.submit}),
        )
        .map(|_| ())
    }
}
