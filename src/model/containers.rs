//! Container reads: what to load from the grid, and what a grid row or a container's detail
//! card says.

use serde::{Deserialize, Serialize};

/// How far to scroll the containers grid, in the reference's priority order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "until", content = "value")]
pub enum Target {
    /// Until this container's row is loaded.
    Container(String),
    /// Until at least this many rows are loaded.
    Count(usize),
    /// Until the grid loads nothing more.
    All,
    /// Only what the page shows before any scrolling.
    FirstPage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Each row's values in `portal.container_columns` order.
    pub rows: Vec<Vec<String>>,
    pub scroll_cycles: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Milestone {
    pub milestone: String,
    pub date: String,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerDetail {
    pub container_id: String,
    /// Newest first.
    pub timeline: Vec<Milestone>,
    pub passed_pregate: bool,
    pub booking_number: Option<String>,
    /// Every label/value pair of the detail card.
    pub fields: Vec<(String, String)>,
}

impl ContainerDetail {
    /// The pregate milestone as the timeline shows it, if it lists one (`pregate` is the
    /// profile's name for it).
    pub fn pregate(&self, pregate: &str) -> Option<&Milestone> {
        self.timeline
            .iter()
            .find(|m| m.milestone.eq_ignore_ascii_case(pregate))
    }
}
