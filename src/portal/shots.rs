//! Debug screenshots: a `debug: true` request gets a labelled PNG at each step that calls
//! [`Page::snap`], and failure bundles take one of the page as it is.

use super::{DriverError, Page};
use serde_json::json;

const LABEL: &str = include_str!("js/label.js");

/// A labelled screenshot taken for a `debug: true` request.
pub use crate::model::Screenshot as Shot;

pub(super) struct DebugShots {
    pub label: String,
    pub container: Option<String>,
    pub shots: Vec<Shot>,
}

impl Page {
    /// Take labelled screenshots at each [`Page::snap`] until [`Page::take_shots`].
    pub fn start_debug(&mut self, label: &str, container: Option<&str>) {
        self.debug = Some(DebugShots {
            label: label.to_string(),
            container: container.map(str::to_string),
            shots: Vec::new(),
        });
    }

    /// The screenshots taken since `start_debug`; stops taking more.
    pub fn take_shots(&mut self) -> Vec<Shot> {
        self.debug.take().map(|d| d.shots).unwrap_or_default()
    }

    /// In debug mode, a screenshot labelled
    /// `<label> | YYYY-MM-DD HH:MM:SS | Container: <id> | <current URL>`; otherwise nothing.
    /// A failed screenshot is logged, never fails the operation.
    pub fn snap(&mut self, step: &str) {
        let Some(debug) = &self.debug else { return };
        let label = format!(
            "{} | {} | Container: {} | {}",
            debug.label,
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S"),
            debug.container.as_deref().unwrap_or("N/A"),
            self.url()
        );
        // The label is drawn by the page itself, on top of everything, then removed.
        let taken = self
            .run_js::<bool>(LABEL, &json!({ "label": label }))
            .and_then(|_| self.screenshot());
        let _ = self.run_js::<bool>(LABEL, &json!({"remove": true}));
        match taken {
            Ok(png) => {
                if let Some(debug) = &mut self.debug {
                    debug.shots.push(Shot {
                        step: step.to_string(),
                        png,
                    });
                }
            }
            Err(e) => tracing::warn!(step, error = %e, "debug screenshot failed"),
        }
    }

    /// PNG screenshot of the viewport.
    pub fn screenshot(&self) -> Result<Vec<u8>, DriverError> {
        use base64::Engine;
        let reply = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "fromSurface": true}),
            false,
        )?;
        let data = reply["data"].as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| {
                DriverError::unexpected(self.step_name(), format!("a PNG screenshot ({e})"))
            })
    }
}
