//! The containers grid: scroll it until the target is loaded, read its rows, expand a row
//! to read its detail card and timeline.

use super::page::js_str;
use super::{DriverError, Page};
use serde::{Deserialize, Serialize};

/// How far to scroll, in the reference's priority order.
#[derive(Debug, Clone, PartialEq)]
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

#[derive(Debug, Clone, Serialize)]
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

#[derive(Debug, Clone, Serialize)]
pub struct ContainerDetail {
    pub container_id: String,
    /// Newest first.
    pub timeline: Vec<Milestone>,
    pub passed_pregate: bool,
    pub booking_number: Option<String>,
    /// Every label/value pair of the detail card.
    pub fields: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct ScrollOutcome {
    state: String,
    #[serde(default)]
    cycles: u32,
}

/// Open the grid and scroll it until `target` is satisfied or nothing more loads.
pub fn load_grid(page: &mut Page, target: &Target) -> Result<u32, DriverError> {
    page.step("open containers page");
    let boxed = js_str(&page.selector("containers_box")?);
    let rows = js_str(&page.selector("container_rows")?);
    let loading = js_str(&page.selector("loading")?);
    let markers = page.marker_js();
    page.goto(&page.profile.containers_url.clone())?;
    let state: String = page.wait_for_new_page(
        "the containers grid",
        &format!(
            "const m = {markers}; if (m) return m; \
             if (!document.querySelector({boxed})) return null; \
             if (document.querySelectorAll({rows}).length > 0) return 'ok'; \
             return document.readyState === 'complete' && !document.querySelector({loading}) ? 'ok' : null;"
        ),
    )?;
    match state.as_str() {
        "ok" => {}
        "logged_out" => return Err(DriverError::LoggedOut),
        _ => {
            return Err(DriverError::unexpected(
                "open containers page",
                "the containers grid, got 403 Forbidden",
            ));
        }
    }

    page.step("scroll containers grid");
    let id_index = column_index(page, "Container #")?;
    let (want_id, want_count, scroll) = match target {
        Target::Container(id) => (js_str(id), 0, true),
        Target::Count(n) => ("null".to_string(), *n, true),
        Target::All => ("null".to_string(), 0, true),
        Target::FirstPage => ("null".to_string(), 0, false),
    };
    let remaining_ms = page.remaining().as_millis() as u64;
    let settle = page.profile.scroll_settle_ms;
    // One evaluation runs the whole loop inside the page: each cycle scrolls the box to its
    // bottom, waits for the loader to come and go, and stops when the target is loaded or
    // no loader came within the settle time and no row was added.
    let outcome: ScrollOutcome = page.eval_async(&format!(
        "const box = document.querySelector({boxed}); const deadline = Date.now() + {remaining_ms}; \
         const count = () => document.querySelectorAll({rows}).length; \
         const loading = () => !!document.querySelector({loading}); \
         const tick = () => new Promise(r => setTimeout(r, 15)); \
         const found = (id) => [...document.querySelectorAll({rows})].some(tr => {{ \
             const td = tr.querySelectorAll('td')[{id_index}]; return td && td.textContent.trim() === id; }}); \
         const wantId = {want_id}; const wantCount = {want_count}; let cycles = 0; \
         while (true) {{ \
           while (loading()) {{ if (Date.now() > deadline) return {{state: 'timeout', cycles}}; await tick(); }} \
           if (!{scroll}) break; \
           if (wantId !== null && found(wantId)) break; \
           if (wantCount > 0 && count() >= wantCount) break; \
           const before = count(); \
           box.scrollTop = box.scrollHeight; box.dispatchEvent(new Event('scroll')); cycles++; \
           const settleUntil = Date.now() + {settle}; \
           while (!loading() && count() === before && Date.now() < settleUntil) await tick(); \
           while (loading()) {{ if (Date.now() > deadline) return {{state: 'timeout', cycles}}; await tick(); }} \
           if (count() === before) break; \
         }} \
         return {{state: 'ok', cycles}};"
    ))?;
    if outcome.state != "ok" {
        return Err(DriverError::Timeout {
            step: "scroll containers grid (waiting for rows to load)".into(),
        });
    }
    Ok(outcome.cycles)
}

/// The index of a column among the row's cells, found from the header's text.
fn column_index(page: &Page, name: &str) -> Result<usize, DriverError> {
    let headers = js_str(&page.selector("container_headers")?);
    let index: Option<usize> = page.eval(&format!(
        "const i = [...document.querySelectorAll({headers})].findIndex(th => th.textContent.trim() === {n}); \
         return i < 0 ? null : i;",
        n = js_str(name)
    ))?;
    index.ok_or_else(|| {
        DriverError::unexpected(
            page.step_name(),
            format!("a '{name}' column in the containers grid"),
        )
    })
}

/// Read every loaded row, columns in `portal.container_columns` order.
pub fn read_rows(page: &mut Page) -> Result<Vec<Vec<String>>, DriverError> {
    page.step("read containers grid");
    let headers = js_str(&page.selector("container_headers")?);
    let rows = js_str(&page.selector("container_rows")?);
    let columns =
        serde_json::to_string(&page.profile.container_columns).expect("strings serialise");
    let read: Result<Vec<Vec<String>>, String> = page
        .eval::<serde_json::Value>(&format!(
            "const names = [...document.querySelectorAll({headers})].map(th => th.textContent.trim()); \
             const wanted = {columns}; const idx = wanted.map(w => names.indexOf(w)); \
             const missing = wanted.filter((w, i) => idx[i] < 0); \
             if (missing.length) return {{missing}}; \
             return {{rows: [...document.querySelectorAll({rows})].map(tr => {{ \
               const tds = tr.querySelectorAll('td'); return idx.map(i => tds[i] ? tds[i].textContent.trim() : ''); }})}};"
        ))
        .map(|v| {
            if let Some(missing) = v.get("missing") {
                Err(missing.to_string())
            } else {
                serde_json::from_value(v["rows"].clone()).map_err(|e| e.to_string())
            }
        })?;
    read.map_err(|m| {
        DriverError::unexpected("read containers grid", format!("the grid columns {m}"))
    })
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
    let rows = js_str(&page.selector("container_rows")?);
    let detail_row = js_str(&page.selector("detail_row")?);
    let id_index = column_index(page, "Container #")?;
    let clicked: bool = page.eval(&format!(
        "const tr = [...document.querySelectorAll({rows})].find(tr => {{ \
           const td = tr.querySelectorAll('td')[{id_index}]; return td && td.textContent.trim() === {id}; }}); \
         if (!tr) return false; \
         const next = tr.nextElementSibling; \
         if (!(next && next.matches({detail_row}))) tr.click(); \
         window.__emodalRow = tr; return true;",
        id = js_str(&wanted)
    ))?;
    if !clicked {
        return Err(DriverError::NotFound(format!(
            "container {wanted} is not in this account's containers"
        )));
    }
    page.step("read container detail");
    let label = js_str(&page.selector("detail_label")?);
    let value = js_str(&page.selector("detail_value")?);
    let flow = js_str(&page.selector("timeline")?);
    let flow_row = js_str(&page.selector("timeline_row")?);
    let flow_label = js_str(&page.selector("timeline_label")?);
    let divider = js_str(&page.selector("timeline_divider")?);
    let done = js_str(&page.selector("timeline_done_class")?);
    let pending = js_str(&page.selector("timeline_pending_classes")?);
    let raw: RawDetail = page.wait_for(
        "the expanded row's detail card",
        &format!(
            "const d = window.__emodalRow && window.__emodalRow.nextElementSibling; \
             if (!d || !d.matches({detail_row})) return null; \
             const labels = [...d.querySelectorAll({label})]; \
             const f = d.querySelector({flow}); \
             if (!labels.length || !f) return null; \
             const fields = labels.map(l => {{ let v = l.nextElementSibling; \
               while (v && !v.matches({value})) v = v.nextElementSibling; \
               return [l.textContent.trim(), v ? v.textContent.trim() : '']; }}); \
             const pend = {pending}.split(' '); \
             const timeline = [...f.querySelectorAll({flow_row})].map(r => {{ \
               const s = r.querySelectorAll({flow_label}); const dv = r.querySelector({divider}); \
               const c = dv ? [...dv.classList] : []; \
               const status = c.includes({done}) && !pend.some(p => c.includes(p)) ? 'completed' : 'pending'; \
               return {{milestone: s[0] ? s[0].textContent.trim() : '', date: s[1] ? s[1].textContent.trim() : '', status}}; }}) \
               .filter(m => m.milestone); \
             return {{fields, timeline}};"
        ),
    )?;
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
