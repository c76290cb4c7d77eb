//! The portal profile: where the portal lives and how its pages are recognised.

use serde::Deserialize;
use std::collections::HashMap;

/// Where the portal lives and how its pages are recognised. The driver knows nothing else.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalProfile {
    pub login_url: String,
    pub home_url: String,
    pub containers_url: String,
    pub keepalive_url: String,
    pub addvisit_url: String,
    pub myappointments_url: String,
    pub ignore_certificate_errors: bool,
    pub scroll_settle_ms: u64,
    pub scroll_settle_max_ms: u64,
    pub scroll_idle_rounds: u32,
    pub first_rows_wait_ms: u64,
    pub container_columns: Vec<String>,
    /// Each element the driver looks for: one CSS selector, or an ordered list of them
    /// (strategies: the first that matches anything wins).
    pub selectors: HashMap<String, Strategies>,
    pub texts: PortalTexts,
    /// Labels and texts of the appointment wizard and the appointments list.
    pub wizard: HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortalTexts {
    pub logged_out: Vec<String>,
    pub bad_credentials: Vec<String>,
    pub captcha_error: Vec<String>,
    pub forbidden: Vec<String>,
    pub no_open_transactions: String,
    pub booking_label: String,
    pub pregate_milestone: String,
    /// Icons that mark a collapsed grid row (its expand control).
    pub expand_words: Vec<String>,
    /// Icon ligatures (mat-icon text) that appear inside cells and labels and are not data.
    pub icon_words: Vec<String>,
    /// Buttons of interstitial prompts the driver may press to go on (identity hop, first run).
    pub prompt_buttons: Vec<String>,
    /// Buttons that close an informational popup in the wizard.
    pub close_buttons: Vec<String>,
    /// The single option a full terminal's time dropdown shows instead of times.
    pub no_appointments: Vec<String>,
    /// Words of a message that says a booking was made (snack-bar after Submit).
    pub booked_texts: Vec<String>,
    /// Words that turn such a message into a refusal ("could not be booked").
    pub refused_texts: Vec<String>,
    /// Words in the URL of a page that is still on its way (My Appointments' loading route).
    pub loading_url_marks: Vec<String>,
}

/// A profile selector: one CSS selector or an ordered list of them. A list lets one profile
/// describe both what was recorded of the real portal and what a redesign may bring
/// (legacy and MDC Angular Material), tried in order.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Strategies {
    One(String),
    Many(Vec<String>),
}

impl Strategies {
    pub fn list(&self) -> Vec<String> {
        match self {
            Strategies::One(s) => vec![s.clone()],
            Strategies::Many(v) => v.clone(),
        }
    }
}

impl PortalProfile {
    /// A selector from the profile as one CSS selector (a list becomes a selector group);
    /// a missing key is a configuration error named in full.
    pub fn selector(&self, key: &str) -> Result<String, String> {
        self.strategies(key).map(|l| l.join(", "))
    }

    /// A selector's strategies, in the order they are to be tried.
    pub fn strategies(&self, key: &str) -> Result<Vec<String>, String> {
        let list = self
            .selectors
            .get(key)
            .map(Strategies::list)
            .ok_or_else(|| format!("portal.selectors.{key} is not configured"))?;
        if list.iter().all(|s| s.trim().is_empty()) {
            return Err(format!("portal.selectors.{key} is empty"));
        }
        Ok(list)
    }

    /// A wizard label or text from the profile.
    pub fn wizard_text(&self, key: &str) -> Result<&str, String> {
        self.wizard
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("portal.wizard.{key} is not configured"))
    }
}
