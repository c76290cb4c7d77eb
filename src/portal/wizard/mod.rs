//! The appointment wizard (`addvisit`), step by step.
//!
//! The real wizard has no Import/Export choice: the move type (and terminal) decide which
//! item fields step 1 shows (container numbers, a booking number, or Line and Equip Size for
//! some empty moves), so the driver fills what the page asks for. Popups are closed and Next
//! is pressed again (once, after filling the step again); the time dropdown is found without
//! a label; the outcome of Submit is decided by what the page shows, and when it shows
//! nothing certain, by My Appointments. The page work is in `js/wizard.js` and
//! `js/wizard_ops.js`; every selector and text comes from the portal profile.

mod step1;
mod step2;
mod step3;

use super::appointments::{alias_key, match_option, wizard_ms};
use super::{DriverError, Page};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

pub(super) const WIZARD: &str = include_str!("../js/wizard.js");
pub(super) const OPS: &str = include_str!("../js/wizard_ops.js");

/// How long the item fields of step 1 may take to appear after the move type is chosen.
/// The profile keys the wizard scripts use.
pub const WIZARD_KEYS: &[&str] = &[
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
    "select_value",
    "option_text",
    "dialog_root",
    "backdrop",
];

pub(super) const ITEMS_WAIT: Duration = Duration::from_secs(30);
/// Popups closed in one step before the driver gives up.
pub(super) const MAX_POPUPS: u32 = 3;

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
pub(super) struct Items {
    pub container: bool,
    pub booking: bool,
    pub quantity: bool,
}

#[derive(Deserialize)]
pub(super) struct Listing {
    options: Vec<String>,
}

pub(super) struct Wizard {
    pub(super) base: Value,
    pub(super) script: String,
    pub trucking: String,
    pub terminal: String,
    pub move_label: String,
    pub(super) quantity: String,
    pub(super) line: String,
    pub(super) equip: String,
    pub(super) own_chassis: String,
    pub(super) next: String,
    pub submit: String,
    pub(super) step_labels: [String; 4],
    pub(super) no_open_transactions: String,
    pub(super) no_appointments: Vec<String>,
    pub(super) empty_select_ms: u64,
    pub(super) autocomplete_ms: u64,
    pub(super) next_wait: Duration,
    pub submit_wait: Duration,
}

impl Wizard {
    pub fn new(page: &Page) -> Result<Wizard, DriverError> {
        let text = |k: &str| {
            page.profile
                .wizard_text(k)
                .map(str::to_string)
                .map_err(DriverError::Config)
        };
        let mut base = page.args(WIZARD_KEYS)?;
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
        base["refused_texts"] = json!(
            t.refused_texts
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
        base["active_button_class"] = json!(text("active_button_class")?);
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

    pub(super) fn args(&self, op: &str, extra: Value) -> Value {
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

    pub(super) fn step_name(&self, n: u32) -> String {
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

    /// What the dropdown (`target`: `{"label": ..}` or `{"slot": true}`) shows now, if it exists.
    pub(super) fn current_value(
        &self,
        page: &Page,
        target: &Value,
    ) -> Result<Option<String>, DriverError> {
        #[derive(Deserialize)]
        struct Current {
            value: Option<String>,
        }
        let current: Current = self.run(page, "value", target.clone())?;
        Ok(current.value)
    }

    /// Run an operation that reports whether it found its input (`fill`, `autocomplete_open`).
    pub(super) fn found(&self, page: &Page, op: &str, args: Value) -> Result<bool, DriverError> {
        #[derive(Deserialize)]
        struct Found {
            found: bool,
        }
        let f: Found = self.run(page, op, args)?;
        Ok(f.found)
    }

    /// Wait until no loading layer covers the page and no dropdown is open.
    pub(super) fn idle(&self, page: &Page) -> Result<(), DriverError> {
        self.wait::<bool>(page, "the page to finish loading", "idle", json!({}))
            .map(|_| ())
    }

    /// Open the dropdown (`target`: `{"label": ..}` or `{"slot": true}`) and read its options.
    pub(super) fn open_select(
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
    pub(super) fn pick(
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
    pub(super) fn choose(
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
        if let Some(v) = self.current_value(page, &target)?.filter(|v| !v.is_empty())
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
}
