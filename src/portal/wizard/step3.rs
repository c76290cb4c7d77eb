//! Step 3 "Choose appointment time": the offered times, the chosen one, Submit.

use super::Wizard;
use crate::portal::appointments::{list_or_none, norm};
use crate::portal::{DriverError, Page};
use serde_json::json;

impl Wizard {
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
        if self
            .current_value(page, &target)?
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
