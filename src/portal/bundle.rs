//! Failure bundles: what the page looked like when a driver step failed.
//!
//! When the real portal surprises the driver (a changed class, a new popup), the operator
//! needs to see the page the step stopped at and what each of the profile's strategies found
//! there, to fix the profile without a debugger. The bundle is one JSON file: step, error,
//! URL, the strategies with their match counts, the page's HTML (scripts emptied, password
//! inputs and textareas cleared) and a PNG screenshot in base64.

use super::{DriverError, Page};
use serde_json::{Value, json};
use std::time::Duration;

const BUNDLE: &str = include_str!("js/bundle.js");

/// Time a failed job gets to gather its bundle (within the browser job's grace period).
const CAPTURE_TIME: Duration = Duration::from_secs(4);

impl DriverError {
    /// Errors where the page did something the driver did not expect: worth a bundle.
    pub fn wants_bundle(&self) -> bool {
        matches!(
            self,
            DriverError::Unexpected { .. } | DriverError::Timeout { .. }
        )
    }
}

/// Gather the bundle of `error` from the page. Never fails: what cannot be read is left out.
pub fn capture(page: &mut Page, error: &DriverError) -> Vec<u8> {
    page.extend_deadline(CAPTURE_TIME);
    let keys = page.used_keys();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let page_state: Value = page
        .args(&refs)
        .and_then(|args| page.run_js::<Value>(BUNDLE, &args))
        .unwrap_or_else(|e| json!({"unreadable": e.to_string()}));
    let screenshot = page.screenshot().ok().map(|png| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(png)
    });
    let bundle = json!({
        "step": page.step_name(),
        "error": error.to_string(),
        "captured_at": crate::timefmt::iso(&chrono::Utc::now()),
        "page": page_state,
        "screenshot_png_base64": screenshot,
        "how_to_use": "README.md, section 'When the real portal changes'",
    });
    serde_json::to_vec_pretty(&bundle).unwrap_or_default()
}

/// What each strategy of `keys` matches on the page now (for `check-profile`).
pub fn probe_strategies(page: &mut Page, keys: &[&str]) -> Value {
    page.args(keys)
        .and_then(|args| page.run_js::<Value>(BUNDLE, &args))
        .map(|v| v["strategies"].clone())
        .unwrap_or_else(|e| json!({"unreadable": e.to_string()}))
}
