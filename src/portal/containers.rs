//! The containers grid: scroll it until the target is loaded, read its rows, expand a row
//! to read its detail card and timeline.

use super::{DriverError, Page};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

pub use crate::model::{ContainerDetail, Grid, Milestone, Target};

const GRID: &str = include_str!("js/grid.js");
const GRID_OPEN: &str = include_str!("js/grid_open.js");
const GRID_SCROLL: &str = include_str!("js/grid_scroll.js");
const GRID_READ: &str = include_str!("js/grid_read.js");
const ROW_EXPAND: &str = include_str!("js/row_expand.js");
const ROW_DETAIL: &str = include_str!("js/row_detail.js");

/// How long an expanded row may take to show its card.
const DETAIL_WAIT: Duration = Duration::from_secs(30);
/// How long a row without an expand icon gets to open when clicked.
const ROW_CLICK_WAIT: Duration = Duration::from_secs(5);

/// How long one call of the scroll script may run before it pauses, so the rows loaded so
/// far can be shown as progress. A call costs about a millisecond: at this length the pauses
/// cost well under 1% of a scroll.
const SCROLL_SLICE_MS: u64 = 250;

#[derive(Deserialize)]
struct State {
    state: String,
    #[serde(default)]
    cycles: u32,
    #[serde(default)]
    ids: u32,
    /// Rows loaded so far (scroll script).
    #[serde(default)]
    rows: u64,
    /// A paused scroll's round state, handed back to go on (`state == "more"`).
    #[serde(default)]
    idle: u32,
    #[serde(default)]
    slowest: f64,
}

/// The arguments every grid script gets.
/// The profile keys the grid scripts use.
pub const GRID_KEYS: &[&str] = &[
    "containers_box",
    "container_headers",
    "container_rows",
    "container_cells",
    "loading",
    "username",
    "cell_value",
];

/// The profile keys of an expanded row's card and timeline.
pub const DETAIL_KEYS: &[&str] = &[
    "row_expander",
    "detail_label",
    "detail_value",
    "timeline",
    "timeline_row",
    "timeline_label",
    "timeline_divider",
];

fn grid_args(page: &Page, extra: &[&str]) -> Result<Value, DriverError> {
    let mut keys = GRID_KEYS.to_vec();
    keys.extend_from_slice(extra);
    let mut args = page.args(&keys)?;
    args["columns"] = json!(page.profile.container_columns);
    args["id_column"] = json!(
        page.profile
            .container_columns
            .first()
            .cloned()
            .unwrap_or_default()
    );
    Ok(args)
}

/// Open the grid and scroll it until `target` is satisfied or nothing more loads.
pub fn load_grid(page: &mut Page, target: &Target) -> Result<u32, DriverError> {
    page.step("open containers page");
    let mut args = grid_args(page, &[])?;
    page.goto(&page.profile.containers_url.clone())?;
    let opened: State = page.wait_new_page_js(
        "the containers grid",
        &format!("{GRID}\n{GRID_OPEN}"),
        &args,
    )?;
    if opened.state != "ok" {
        return Err(page.marker_error(&opened.state, "the containers grid"));
    }

    page.step("scroll containers grid");
    let (want_id, want_count, scroll) = match target {
        Target::Container(id) => (json!(id), 0, true),
        Target::Count(n) => (Value::Null, *n, true),
        Target::All => (Value::Null, 0, true),
        Target::FirstPage => (Value::Null, 0, false),
    };
    let p = &page.profile;
    args["want_id"] = want_id;
    args["want_count"] = json!(want_count);
    args["scroll"] = json!(scroll);
    args["settle_ms"] = json!(p.scroll_settle_ms);
    args["settle_max_ms"] = json!(p.scroll_settle_max_ms.max(p.scroll_settle_ms));
    args["idle_rounds"] = json!(p.scroll_idle_rounds.max(1));
    args["first_rows_ms"] = json!(p.first_rows_wait_ms);
    args["slice_ms"] = json!(SCROLL_SLICE_MS);
    let total = match target {
        Target::Count(n) => Some(*n as u64),
        _ => None,
    };
    let script = format!("{GRID}\n{GRID_SCROLL}");
    let outcome = loop {
        args["remaining_ms"] = json!(page.remaining().as_millis() as u64);
        let got: State = page.run_js_async(&script, &args)?;
        if got.state == "ok" || got.state == "more" {
            show_rows(page, got.rows, total);
        }
        if got.state != "more" {
            break got;
        }
        args["resume"] = json!({"cycles": got.cycles, "idle": got.idle, "slowest": got.slowest});
    };
    match outcome.state.as_str() {
        "ok" | "no_rows" => Ok(outcome.cycles),
        "timeout" => Err(DriverError::Timeout {
            step: "scroll containers grid (waiting for rows to load)".into(),
        }),
        "rows_unmatched" => Err(DriverError::unexpected(
            "scroll containers grid",
            format!(
                "grid rows matching portal.selectors.container_rows (the grid shows {} container \
                 numbers, but no row strategy matched a row of ten or more cells)",
                outcome.ids
            ),
        )),
        "no_box" => Err(DriverError::unexpected(
            "scroll containers grid",
            "the grid box (portal.selectors.containers_box)",
        )),
        other => Err(page.marker_error(other, "the containers grid")),
    }
}

/// "scrolled 75 of 120 rows" when the target is a count, else "75 rows loaded".
fn show_rows(page: &Page, rows: u64, total: Option<u64>) {
    let text = match total {
        Some(total) => format!("scrolled {} of {total} rows", rows.min(total)),
        None => format!("{rows} rows loaded"),
    };
    page.count(text, total.map_or(rows, |t| rows.min(t)), total, "rows");
}

/// Read every loaded row, columns in `portal.container_columns` order.
pub fn read_rows(page: &mut Page) -> Result<Vec<Vec<String>>, DriverError> {
    page.step("read containers grid");
    let args = grid_args(page, &[])?;
    let read: Value = page.run_js(&format!("{GRID}\n{GRID_READ}"), &args)?;
    if let Some(missing) = read.get("missing") {
        return Err(DriverError::unexpected(
            "read containers grid",
            format!(
                "the grid columns {missing} (headers found: {})",
                read["headers"]
            ),
        ));
    }
    serde_json::from_value(read["rows"].clone())
        .map_err(|e| DriverError::unexpected("read containers grid", format!("rows of text ({e})")))
}

/// Load the grid and read it.
pub fn read_grid(page: &mut Page, target: &Target) -> Result<Grid, DriverError> {
    let scroll_cycles = load_grid(page, target)?;
    let mut rows = read_rows(page)?;
    if let Target::Count(n) = target {
        rows.truncate(*n);
    }
    Ok(Grid {
        rows,
        scroll_cycles,
    })
}

#[derive(Deserialize)]
struct RawDetail {
    fields: Vec<(String, String)>,
    timeline: Vec<Milestone>,
}

/// Find a container's row (scrolling as needed), expand it and read its card and timeline.
pub fn container_detail(
    page: &mut Page,
    container_id: &str,
) -> Result<ContainerDetail, DriverError> {
    let wanted = container_id.trim().to_uppercase();
    load_grid(page, &Target::Container(wanted.clone()))?;
    page.step("expand container row");
    let mut args = grid_args(page, DETAIL_KEYS)?;
    args["id"] = json!(wanted);
    args["expand_words"] = json!(page.profile.texts.expand_words);
    args["done_class"] = json!(page.selector("timeline_done_class")?);
    args["pending_classes"] = json!(
        page.selector("timeline_pending_classes")?
            .split([' ', ','])
            .filter(|c| !c.is_empty())
            .collect::<Vec<_>>()
    );
    let expanded: State = page.run_js(&format!("{GRID}\n{ROW_EXPAND}"), &args)?;
    let wait = match expanded.state.as_str() {
        "missing" => {
            return Err(DriverError::NotFound(format!(
                "container {wanted} is not in this account's containers"
            )));
        }
        "row_clicked" => ROW_CLICK_WAIT,
        _ => DETAIL_WAIT,
    };
    page.step("read container detail");
    let raw: Option<RawDetail> = page.wait_js_within(
        wait,
        "the expanded row's detail card",
        &format!("{GRID}\n{ROW_DETAIL}"),
        &args,
    )?;
    let Some(raw) = raw else {
        return Err(if expanded.state == "row_clicked" {
            DriverError::NotFound(format!(
                "container {wanted} has no details on the portal (its row has no expand control)"
            ))
        } else {
            DriverError::Timeout {
                step: "read container detail (waiting for the expanded row's card)".into(),
            }
        });
    };
    page.snap("container expanded");
    let mut timeline = raw.timeline;
    // The page lists the oldest milestone first; clients get the newest first.
    timeline.reverse();
    let pregate = page.profile.texts.pregate_milestone.to_lowercase();
    let passed_pregate = timeline
        .iter()
        .any(|m| m.milestone.to_lowercase() == pregate && m.status == "completed");
    let booking_label = page.profile.texts.booking_label.to_lowercase();
    let booking_number = raw
        .fields
        .iter()
        .find(|(l, _)| l.trim_end_matches(':').to_lowercase() == booking_label)
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty() && v != "N/A" && !v.chars().all(|c| c == '*'));
    Ok(ContainerDetail {
        container_id: wanted,
        timeline,
        passed_pregate,
        booking_number,
        fields: raw.fields,
    })
}
