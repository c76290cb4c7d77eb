//! The appointment wizard (`addvisit`) and My Appointments.
//!
//! The wizard is an Angular Material stepper: `mat-step-header`s with `aria-posinset` 1..4,
//! the current one `aria-selected="true"`. Dropdowns are found by their `mat-label`, opened
//! by clicking the `mat-select`, and answered by clicking a `mat-option` in the CDK overlay.
//! Every selector and text comes from the portal profile (`portal.selectors`, keys
//! `wizard_*` / `appointments_*` and the generic Material ones, and `portal.wizard`). Every
//! wait is for a page state, bounded by the job's deadline.

use super::page::js_str;
use super::{DriverError, Page};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ContainerType {
    #[default]
    Import,
    Export,
}

/// What the wizard is asked to book (steps 1 and 2).
#[derive(Debug, Clone, Default)]
pub struct Visit {
    pub container_type: ContainerType,
    pub trucking_company: String,
    pub terminal: String,
    pub move_type: String,
    /// Import: one or more container numbers (chip input `containerNumber`).
    pub container_ids: Vec<String>,
    /// Export: the booking number (chip input `bookingNumber`), with `quantity`.
    pub booking_number: Option<String>,
    /// Export; 0 means 1.
    pub quantity: u32,
    /// `None`: the first plate the portal's autocomplete offers.
    pub truck_plate: Option<String>,
    pub own_chassis: bool,
    /// Import; ignored when the page has no PIN input.
    pub pin_code: Option<String>,
    /// Export.
    pub unit_number: Option<String>,
    /// Export, at most four (`Seal1_Num`..`Seal4_Num`).
    pub seals: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AvailableTimes {
    /// The slot texts exactly as offered, e.g. `Friday 10/24/2025 18:30 - 19:30`.
    pub available_times: Vec<String>,
    /// The plate the wizard was given.
    pub truck_plate: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Booked {
    pub confirmation_number: String,
    pub appointment_time: String,
    /// The label/value rows of the Confirmation step.
    pub details: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppointmentList {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows whose checkbox is ticked after "select all".
    pub selected_count: usize,
}

/// Steps 1-3; never submits. Returns the slot texts exactly as offered.
pub fn check_appointments(page: &mut Page, visit: &Visit) -> Result<AvailableTimes, DriverError> {
    let w = Wizard::new(page)?;
    w.validate(visit)?;
    w.open(page)?;
    w.step1(page, visit)?;
    let truck_plate = w.step2(page, visit)?;
    let available_times = w.slots(page)?;
    Ok(AvailableTimes {
        available_times,
        truck_plate,
    })
}

/// Steps 1-3, pick `appointment_time` (the exact slot text), Submit, and read step 4.
pub fn make_appointment(
    page: &mut Page,
    visit: &Visit,
    appointment_time: &str,
) -> Result<Booked, DriverError> {
    let w = Wizard::new(page)?;
    w.validate(visit)?;
    if norm(appointment_time).is_empty() {
        return Err(DriverError::Invalid("appointment_time is required".into()));
    }
    w.open(page)?;
    w.step1(page, visit)?;
    w.step2(page, visit)?;
    let offered = w.slots(page)?;
    let wanted = norm(appointment_time).to_lowercase();
    let Some(index) = offered
        .iter()
        .position(|o| norm(o).to_lowercase() == wanted)
    else {
        return Err(DriverError::Invalid(format!(
            "appointment time '{appointment_time}' is not offered; options: {}",
            list_or_none(&offered)
        )));
    };
    let slot = offered[index].clone();
    w.pick(page, &w.appointment_label, index, &slot)?;
    page.step("wizard step 3: submit");
    w.press(page, 3, &w.submit_button)?;
    w.confirmation(page, &slot)
}

/// Open My Appointments, select every row with the master checkbox, and read the table.
pub fn my_appointments(page: &mut Page) -> Result<AppointmentList, DriverError> {
    page.step("open my appointments");
    let headers = js_str(&page.selector("appointments_headers")?);
    let rows = js_str(&page.selector("appointments_rows")?);
    let cells = js_str(&page.selector("appointments_cells")?);
    let master = js_str(&page.selector("appointments_master_checkbox")?);
    let row_checkbox = js_str(&page.selector("appointments_row_checkbox")?);
    let loading = js_str(&page.selector("loading")?);
    let user = js_str(&page.selector("username")?);
    let settle = wizard_ms(page, "select_all_wait_ms", 1000);
    let markers = page.marker_js();
    let common = sub(
        r#"const all = (sel, root) => [...(root || document).querySelectorAll(sel)];
           const norm = s => (s || '').replace(/\s+/g, ' ').trim();
           const vis = e => !!e && e.isConnected && [...e.getClientRects()].some(r => r.width > 0 && r.height > 0)
             && getComputedStyle(e).visibility !== 'hidden';
           const heads = () => all(@headers@);
           const dataRows = () => { const n = heads().length;
             return all(@rows@).filter(r => all(@cells@, r).length === n); };
           const ticked = r => { const c = r.querySelector(@rowcb@); return !!(c && c.checked); };"#,
        &[
            ("headers", &headers),
            ("rows", &rows),
            ("cells", &cells),
            ("rowcb", &row_checkbox),
        ],
    );
    page.goto(&page.profile.myappointments_url.clone())?;
    let state: String = page.wait_for_new_page(
        "the My Appointments table",
        &format!(
            "{common} const m = {markers}; if (m) return m; \
             if (document.querySelector({user})) return 'logged_out'; \
             if (document.readyState !== 'complete' || !heads().some(vis)) return null; \
             if (all({loading}).some(vis)) return null; return 'ok';"
        ),
    )?;
    if state != "ok" {
        return Err(page.marker_error(&state, "the My Appointments table"));
    }

    page.step("select all appointments");
    let found: bool = page.eval(&format!(
        "{common} const c = all({master}).find(vis) || all({master})[0]; if (!c) return false; \
         if (!c.checked) c.click(); return true;"
    ))?;
    if !found {
        return Err(DriverError::unexpected(
            "select all appointments",
            "the master checkbox of the My Appointments table",
        ));
    }
    // The master checkbox should tick every row at once; give it `select_all_wait_ms`, then
    // tick any row it left out, so the selection is complete either way.
    let wait_ms = settle.min(page.remaining().as_millis() as u64);
    page.eval_async::<bool>(&format!(
        "{common} const end = Date.now() + {wait_ms}; \
         while (dataRows().some(r => !ticked(r)) && Date.now() < end) await new Promise(r => setTimeout(r, 50)); \
         dataRows().filter(r => !ticked(r)).forEach(r => {{ const c = r.querySelector({row_checkbox}); if (c) c.click(); }}); \
         return true;"
    ))?;

    page.step("read my appointments");
    #[derive(Deserialize)]
    struct Table {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        selected: usize,
    }
    let table: Table = page.eval(&format!(
        "{common} const hs = heads(); \
         const keep = hs.map((h, i) => i).filter(i => !hs[i].querySelector('input[type=checkbox]') && norm(hs[i].textContent)); \
         const rs = dataRows(); \
         return {{columns: keep.map(i => norm(hs[i].textContent)), \
           rows: rs.map(r => {{ const c = all({cells}, r); return keep.map(i => c[i] ? norm(c[i].textContent) : ''); }}), \
           selected: rs.filter(ticked).length}};"
    ))?;
    Ok(AppointmentList {
        columns: table.columns,
        rows: table.rows,
        selected_count: table.selected,
    })
}

/// Everything the wizard steps need from the profile, resolved once per job.
struct Wizard {
    /// JavaScript helpers (selectors, visibility, current step and panel) that prefix every
    /// evaluation.
    pre: String,
    markers: String,
    login_form: String,
    trucking_label: String,
    terminal_label: String,
    move_label: String,
    appointment_label: String,
    quantity_label: String,
    import_label: String,
    export_label: String,
    next_button: String,
    submit_button: String,
    own_chassis_label: String,
    yes: String,
    no: String,
    step_labels: [String; 4],
    confirmation_label: String,
    appointment_time_label: String,
    no_open_transactions: String,
    container_input: String,
    booking_input: String,
    pin_input: String,
    plate_input: String,
    unit_input: String,
    seal_input: String,
    item_checkbox: String,
    chip: String,
    radio: String,
    toggle_group: String,
    toggle: String,
    detail_rows: String,
    empty_select_ms: u64,
    autocomplete_ms: u64,
}

#[derive(Deserialize)]
struct Outcome {
    state: String,
    #[serde(default)]
    step: u32,
    #[serde(default)]
    text: String,
    #[serde(default)]
    item: bool,
}

#[derive(Deserialize)]
struct Listing {
    options: Vec<String>,
}

impl Wizard {
    fn new(page: &Page) -> Result<Wizard, DriverError> {
        let sel = |k: &str| page.selector(k).map(|s| js_str(&s));
        let text = |k: &str| {
            page.profile
                .wizard_text(k)
                .map(str::to_string)
                .map_err(DriverError::Invalid)
        };
        let pre = sub(
            r#"const S = {header: @header@, panel: @panel@, field: @field@, label: @label@,
                 select: @select@, trigger: @trigger@, option: @option@, overlay: @overlay@,
                 listbox: @listbox@, loading: @loading@, button: @button@, error: @error@,
                 dialog: @dialog@, dialogContent: @dialogContent@, pageError: @pageError@,
                 items: @items@};
               const norm = s => (s || '').replace(/\s+/g, ' ').trim();
               const low = s => norm(s).toLowerCase();
               const bare = s => low(s).replace(/[\s:*]+$/, '');
               const vis = e => !!e && e.isConnected && [...e.getClientRects()].some(r => r.width > 0 && r.height > 0)
                 && getComputedStyle(e).visibility !== 'hidden';
               const all = (sel, root) => [...(root || document).querySelectorAll(sel)];
               const selHeader = () => all(S.header).find(h => h.getAttribute('aria-selected') === 'true') || null;
               const curStep = () => { const h = selHeader(); return h ? (parseInt(h.getAttribute('aria-posinset'), 10) || 0) : 0; };
               const panel = () => {
                 const h = selHeader(); const id = h && h.getAttribute('aria-controls');
                 const byId = id && document.getElementById(id); if (byId) return byId;
                 const ps = all(S.panel); const shown = ps.filter(vis);
                 if (shown.length === 1) return shown[0];
                 const n = curStep(); if (n > 0 && ps.length >= n) return ps[n - 1];
                 return shown[0] || document.body; };
               const inPanel = sel => all(sel, panel()).filter(vis);
               const fieldBy = label => inPanel(S.field).find(f => {
                 const l = f.querySelector(S.label); return !!l && bare(l.textContent) === bare(label); }) || null;
               const busy = () => inPanel(S.loading).length > 0;
               const buttonBy = text => inPanel(S.button).find(b => low(b.textContent) === low(text)) || null;
               const overlayOptions = () => all(S.overlay).flatMap(o => all(S.option, o)).filter(vis);
               const listboxOpen = () => all(S.overlay).flatMap(o => all(S.listbox, o)).some(vis);
               const setValue = (i, v) => { i.focus();
                 const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(i), 'value');
                 if (d && d.set) d.set.call(i, v); else i.value = v;
                 i.dispatchEvent(new Event('input', {bubbles: true}));
                 i.dispatchEvent(new Event('change', {bubbles: true})); };
               const key = (e, k, code) => e.dispatchEvent(new KeyboardEvent('keydown',
                 {key: k, code: k, keyCode: code, which: code, bubbles: true, cancelable: true}));
               const dialogText = d => { const c = d.querySelector(S.dialogContent); if (c) return norm(c.textContent);
                 let t = norm(d.textContent); all('button', d).forEach(b => { const x = norm(b.textContent); if (x && t.endsWith(x)) t = norm(t.slice(0, -x.length)); }); return t; };
               const problem = () => {
                 const d = all(S.dialog).find(vis); if (d) return {state: 'dialog', text: dialogText(d)};
                 const errs = inPanel(S.error).filter(e => norm(e.textContent));
                 if (errs.length) return {state: 'error', text: errs.map(e => norm(e.textContent)).join('; '),
                   item: errs.some(e => { const f = e.closest(S.field); return !!(f && f.querySelector(S.items)); })};
                 const pe = all(S.pageError).find(e => vis(e) && norm(e.textContent));
                 if (pe) return {state: 'page_error', text: norm(pe.textContent)};
                 return null; };"#,
            &[
                ("header", &sel("step_header")?),
                ("panel", &sel("wizard_step_panel")?),
                ("field", &sel("form_field")?),
                ("label", &sel("form_label")?),
                ("select", &sel("select")?),
                ("trigger", &sel("wizard_select_trigger")?),
                ("option", &sel("option")?),
                ("overlay", &sel("wizard_overlay")?),
                ("listbox", &sel("wizard_listbox")?),
                ("loading", &sel("loading")?),
                ("button", &sel("wizard_button")?),
                ("error", &sel("wizard_error")?),
                ("dialog", &sel("wizard_dialog")?),
                ("dialogContent", &sel("wizard_dialog_content")?),
                ("pageError", &sel("wizard_page_error")?),
                (
                    "items",
                    &js_str(&format!(
                        "{}, {}",
                        page.selector("wizard_container_input")?,
                        page.selector("wizard_booking_input")?
                    )),
                ),
            ],
        );
        Ok(Wizard {
            pre,
            markers: page.marker_js(),
            login_form: sel("username")?,
            trucking_label: text("trucking_label")?,
            terminal_label: text("terminal_label")?,
            move_label: text("move_label")?,
            appointment_label: text("appointment_label")?,
            quantity_label: text("quantity_label")?,
            import_label: text("import_label")?,
            export_label: text("export_label")?,
            next_button: text("next_button")?,
            submit_button: text("submit_button")?,
            own_chassis_label: text("own_chassis_label")?,
            yes: text("own_chassis_yes")?,
            no: text("own_chassis_no")?,
            step_labels: [
                text("step1_label")?,
                text("step2_label")?,
                text("step3_label")?,
                text("step4_label")?,
            ],
            confirmation_label: text("confirmation_label")?,
            appointment_time_label: text("appointment_time_label")?,
            no_open_transactions: page.profile.texts.no_open_transactions.clone(),
            container_input: sel("wizard_container_input")?,
            booking_input: sel("wizard_booking_input")?,
            pin_input: sel("wizard_pin_input")?,
            plate_input: sel("wizard_plate_input")?,
            unit_input: sel("wizard_unit_input")?,
            seal_input: page.selector("wizard_seal_input")?,
            item_checkbox: sel("wizard_item_checkbox")?,
            chip: sel("wizard_chip")?,
            radio: sel("wizard_container_type")?,
            toggle_group: sel("wizard_toggle_group")?,
            toggle: sel("wizard_toggle")?,
            detail_rows: sel("wizard_detail_rows")?,
            empty_select_ms: wizard_ms(page, "empty_select_wait_ms", 1500),
            autocomplete_ms: wizard_ms(page, "autocomplete_wait_ms", 3000),
        })
    }

    /// `body` with the helpers in scope.
    fn js(&self, body: &str) -> String {
        format!("{} {body}", self.pre)
    }

    fn step_name(&self, n: u32) -> String {
        let label = self
            .step_labels
            .get((n as usize).wrapping_sub(1))
            .map_or("", String::as_str);
        format!("{n} '{label}'")
    }

    /// Refuse a visit the wizard cannot be filled with, before touching the page.
    fn validate(&self, v: &Visit) -> Result<(), DriverError> {
        let missing = |name: &str| DriverError::Invalid(format!("{name} is required"));
        if norm(&v.trucking_company).is_empty() {
            return Err(missing("trucking_company"));
        }
        if norm(&v.terminal).is_empty() {
            return Err(missing("terminal"));
        }
        if norm(&v.move_type).is_empty() {
            return Err(missing("move_type"));
        }
        match v.container_type {
            ContainerType::Import => {
                if v.container_ids.iter().all(|c| norm(c).is_empty()) {
                    return Err(missing("container_id"));
                }
            }
            ContainerType::Export => {
                if v.booking_number
                    .as_deref()
                    .is_none_or(|b| norm(b).is_empty())
                {
                    return Err(missing("booking_number"));
                }
                if v.seals.len() > 4 {
                    return Err(DriverError::Invalid(format!(
                        "at most 4 seals fit the wizard, got {}",
                        v.seals.len()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Open the wizard and wait for step 1 with its dropdowns.
    fn open(&self, page: &mut Page) -> Result<(), DriverError> {
        page.step("open appointment wizard");
        page.goto(&page.profile.addvisit_url.clone())?;
        let got: Outcome = page.wait_for_new_page(
            "the appointment wizard's first step",
            &self.js(&format!(
                "const m = {markers}; if (m) return {{state: m}}; \
                 if (document.querySelector({login})) return {{state: 'logged_out'}}; \
                 const n = curStep(); if (n === 0 || busy()) return null; \
                 if (n !== 1) return {{state: 'step', step: n}}; \
                 if (!fieldBy({trucking})) return null; \
                 return {{state: 'ready', text: norm(selHeader().textContent)}};",
                markers = self.markers,
                login = self.login_form,
                trucking = js_str(&self.trucking_label),
            )),
        )?;
        match got.state.as_str() {
            "ready"
                if got
                    .text
                    .to_lowercase()
                    .contains(&self.step_labels[0].to_lowercase()) =>
            {
                Ok(())
            }
            "ready" => Err(DriverError::unexpected(
                "open appointment wizard",
                format!(
                    "step 1 labelled '{}', got '{}'",
                    self.step_labels[0], got.text
                ),
            )),
            "step" => Err(DriverError::unexpected(
                "open appointment wizard",
                format!("the wizard at step 1, got step {}", got.step),
            )),
            other => Err(page.marker_error(other, "the appointment wizard")),
        }
    }

    /// Step 1: container type, trucking company, terminal, move, containers or booking.
    fn step1(&self, page: &mut Page, v: &Visit) -> Result<(), DriverError> {
        page.step("wizard step 1: container type");
        let export = v.container_type == ContainerType::Export;
        let label = if export {
            &self.export_label
        } else {
            &self.import_label
        };
        let input = if export {
            &self.booking_input
        } else {
            &self.container_input
        };
        let radio: Outcome = page.eval(&self.js(&format!(
            "const rs = inPanel({radio}); if (!rs.length) return {{state: 'none'}}; \
             const r = rs.find(r => low(r.textContent) === low({label})); \
             if (!r) return {{state: 'missing', text: rs.map(r => norm(r.textContent)).join(', ')}}; \
             const i = r.querySelector('input[type=radio]') || r; if (!i.checked) i.click(); \
             return {{state: 'ok'}};",
            radio = self.radio,
            label = js_str(label),
        )))?;
        match radio.state.as_str() {
            "ok" => {}
            "none" if !export => {}
            "missing" => {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("a '{label}' container type, got {}", radio.text),
                ));
            }
            _ => {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    "a container type choice (Import/Export) on step 1",
                ));
            }
        }
        page.wait_for::<bool>(
            "the container or booking input for the container type",
            &self.js(&format!(
                "return inPanel({input}).length > 0 ? true : null;"
            )),
        )?;

        page.step("wizard step 1: trucking company");
        self.choose(
            page,
            &self.trucking_label,
            "trucking company",
            &v.trucking_company,
            "trucking",
        )?;
        page.step("wizard step 1: terminal");
        self.choose(
            page,
            &self.terminal_label,
            "terminal",
            &v.terminal,
            "terminal",
        )?;
        page.step("wizard step 1: move type");
        self.choose(page, &self.move_label, "move type", &v.move_type, "move")?;

        if export {
            page.step("wizard step 1: booking number");
            let booking = norm(v.booking_number.as_deref().unwrap_or_default());
            self.add_chips(page, input, &[booking])?;
            page.step("wizard step 1: quantity");
            let quantity = v.quantity.max(1).to_string();
            let ok: bool = page.eval(&self.js(&format!(
                "const f = fieldBy({label}); const i = f && f.querySelector('input'); \
                 if (!i || !vis(i)) return false; setValue(i, {q}); i.dispatchEvent(new Event('blur')); \
                 return i.value === {q};",
                label = js_str(&self.quantity_label),
                q = js_str(&quantity),
            )))?;
            if !ok {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("a '{}' input on step 1", self.quantity_label),
                ));
            }
        } else {
            page.step("wizard step 1: container numbers");
            let ids: Vec<String> = v
                .container_ids
                .iter()
                .map(|c| norm(c))
                .filter(|c| !c.is_empty())
                .collect();
            self.add_chips(page, input, &ids)?;
        }

        page.step("wizard step 1: next");
        self.press(page, 1, &self.next_button)
    }

    /// Step 2: the item checkboxes, PIN, truck plate, own chassis, unit and seals.
    /// Returns the truck plate the wizard was given.
    fn step2(&self, page: &mut Page, v: &Visit) -> Result<String, DriverError> {
        page.step("wizard step 2: wait for the move details");
        page.wait_for::<bool>(
            "the move details step",
            &self.js(&format!(
                "return curStep() === 2 && !busy() && inPanel({plate}).length > 0 ? true : null;",
                plate = self.plate_input
            )),
        )?;

        page.step("wizard step 2: select the items");
        page.eval::<u32>(&self.js(&format!(
            "const cs = all({cb}, panel()); cs.filter(c => !c.checked).forEach(c => c.click()); \
             return cs.length;",
            cb = self.item_checkbox
        )))?;

        if let Some(pin) = v.pin_code.as_deref().map(norm).filter(|p| !p.is_empty())
            && v.container_type == ContainerType::Import
        {
            page.step("wizard step 2: PIN");
            // The PIN input may be absent (the terminal asks for none): then it is ignored.
            self.fill(page, &self.pin_input, &pin, false)?;
        }

        page.step("wizard step 2: truck plate");
        let plate = self.choose_plate(page, v.truck_plate.as_deref())?;

        page.step("wizard step 2: own chassis");
        self.own_chassis(page, v.own_chassis)?;

        if v.container_type == ContainerType::Export {
            if let Some(unit) = v.unit_number.as_deref().map(norm).filter(|u| !u.is_empty()) {
                page.step("wizard step 2: unit number");
                self.fill(page, &self.unit_input, &unit, true)?;
            }
            for (n, seal) in v.seals.iter().enumerate() {
                let seal = norm(seal);
                if seal.is_empty() {
                    continue;
                }
                page.step("wizard step 2: seals");
                let selector = js_str(&self.seal_input.replace("{n}", &(n + 1).to_string()));
                self.fill(page, &selector, &seal, true)?;
            }
        }

        page.step("wizard step 2: next");
        self.press(page, 2, &self.next_button)?;
        Ok(plate)
    }

    /// Step 3: wait for it, open the Appointment dropdown and read the offered slots.
    fn slots(&self, page: &mut Page) -> Result<Vec<String>, DriverError> {
        page.step("wizard step 3: appointment times");
        page.wait_for::<bool>(
            "the appointment time step",
            &self.js(&format!(
                "return curStep() === 3 && !busy() && fieldBy({label}) ? true : null;",
                label = js_str(&self.appointment_label)
            )),
        )?;
        self.open_select(page, &self.appointment_label)
    }

    /// Open the dropdown labelled `label` and return its option texts.
    fn open_select(&self, page: &mut Page, label: &str) -> Result<Vec<String>, DriverError> {
        let l = js_str(label);
        // Click it as soon as it is ready; the poll ends with the click, so it clicks once.
        page.wait_for::<bool>(
            &format!("the '{label}' dropdown"),
            &self.js(&format!(
                "const f = fieldBy({l}); if (!f || busy()) return null; \
                 const s = f.querySelector(S.select); \
                 if (!s || !vis(s) || s.getAttribute('aria-disabled') === 'true') return null; \
                 if (s.getAttribute('aria-expanded') === 'true' && listboxOpen()) return true; \
                 (s.querySelector(S.trigger) || s).click(); return true;"
            )),
        )?;
        let first: Listing = page.wait_for(
            &format!("the '{label}' options"),
            &self.js(
                "const o = overlayOptions(); if (o.length) return {options: o.map(x => norm(x.textContent))}; \
                 return listboxOpen() ? {options: []} : null;",
            ),
        )?;
        if !first.options.is_empty() {
            return Ok(first.options);
        }
        // An open but empty panel: options may still be arriving; give them a moment.
        let ms = self
            .empty_select_ms
            .min(page.remaining().as_millis() as u64);
        let late: Vec<String> = page.eval_async(&self.js(&format!(
            "const end = Date.now() + {ms}; \
             while (Date.now() < end) {{ const o = overlayOptions(); \
               if (o.length) return o.map(x => norm(x.textContent)); \
               await new Promise(r => setTimeout(r, 50)); }} \
             return [];"
        )))?;
        Ok(late)
    }

    /// Choose `requested` in the dropdown labelled `label` (see [`match_option`]).
    fn choose(
        &self,
        page: &mut Page,
        label: &str,
        what: &str,
        requested: &str,
        alias_prefix: &str,
    ) -> Result<String, DriverError> {
        let options = self.open_select(page, label)?;
        let alias = page
            .profile
            .wizard
            .get(&alias_key(alias_prefix, requested))
            .cloned();
        let index = match_option(what, requested, &options, alias.as_deref())?;
        let text = options[index].clone();
        self.pick(page, label, index, &text)?;
        Ok(text)
    }

    /// Click option `index` (expected to read `text`) of the open dropdown labelled `label`
    /// and wait until the dropdown shows it.
    fn pick(
        &self,
        page: &mut Page,
        label: &str,
        index: usize,
        text: &str,
    ) -> Result<(), DriverError> {
        let t = js_str(text);
        let clicked: bool = page.eval(&self.js(&format!(
            "const o = overlayOptions()[{index}]; if (!o || norm(o.textContent) !== {t}) return false; \
             o.click(); return true;"
        )))?;
        if !clicked {
            return Err(DriverError::unexpected(
                page.step_name(),
                format!("the option '{text}' still offered in the '{label}' dropdown"),
            ));
        }
        page.wait_for::<bool>(
            &format!("the '{label}' dropdown to show '{text}'"),
            &self.js(&format!(
                "const f = fieldBy({l}); const s = f && f.querySelector(S.select); if (!s) return null; \
                 const v = low(s.textContent); return (v === low({t}) || v.includes(low({t}))) && !listboxOpen() ? true : null;",
                l = js_str(label)
            )),
        )?;
        Ok(())
    }

    /// Type each value into the chip input `input` and press Enter; wait for the chips.
    fn add_chips(
        &self,
        page: &mut Page,
        input: &str,
        values: &[String],
    ) -> Result<(), DriverError> {
        let values_js = serde_json::to_string(values).expect("strings serialise");
        let ok: bool = page.eval(&self.js(&format!(
            "const i = inPanel({input})[0]; if (!i) return false; \
             for (const v of {values_js}) {{ setValue(i, v); key(i, 'Enter', 13); }} return true;"
        )))?;
        if !ok {
            return Err(DriverError::unexpected(
                page.step_name(),
                format!("the chip input {input}"),
            ));
        }
        page.wait_for::<bool>(
            "the chips to show the values",
            &self.js(&format!(
                "const i = inPanel({input})[0]; if (!i) return null; \
                 const f = i.closest(S.field) || i.parentElement; \
                 const chips = all({chip}, f).map(c => low(c.textContent)); \
                 return {values_js}.every(v => chips.some(c => c.includes(low(v)))) ? true : null;",
                chip = self.chip
            )),
        )?;
        Ok(())
    }

    /// Fill the text input `selector` (a JS literal). A missing input is an error when
    /// `required`, otherwise ignored.
    fn fill(
        &self,
        page: &mut Page,
        selector: &str,
        value: &str,
        required: bool,
    ) -> Result<(), DriverError> {
        let done: Option<String> = page.eval(&self.js(&format!(
            "const i = inPanel({selector})[0]; if (!i) return null; setValue(i, {v}); \
             i.dispatchEvent(new Event('blur')); return i.value;",
            v = js_str(value)
        )))?;
        match done {
            Some(_) => Ok(()),
            None if required => Err(DriverError::unexpected(
                page.step_name(),
                format!("the input {selector} on step 2"),
            )),
            None => Ok(()),
        }
    }

    /// Open the truck plate autocomplete and take `wanted` (or the first plate offered).
    /// A plate the list does not offer is typed as free text; the portal judges it at Next.
    fn choose_plate(&self, page: &mut Page, wanted: Option<&str>) -> Result<String, DriverError> {
        let plate = &self.plate_input;
        let ms = self
            .autocomplete_ms
            .min(page.remaining().as_millis() as u64);
        let offered: Vec<String> = page
            .eval_async(&self.js(&format!(
                "const i = inPanel({plate})[0]; if (!i) return null; \
             setValue(i, ''); i.click(); \
             const end = Date.now() + {ms}; \
             while (Date.now() < end) {{ const o = overlayOptions(); \
               if (o.length) return o.map(x => norm(x.textContent)); \
               await new Promise(r => setTimeout(r, 50)); }} \
             return [];"
            )))
            .map(|o: Option<Vec<String>>| o.unwrap_or_default())?;
        let wanted = wanted.map(norm).filter(|w| !w.is_empty());
        let chosen = match &wanted {
            None => match offered.first() {
                Some(first) => first.clone(),
                None => {
                    return Err(DriverError::Invalid(
                        "no truck_plate given and the portal offers none".into(),
                    ));
                }
            },
            Some(w) => offered
                .iter()
                .find(|o| o.eq_ignore_ascii_case(w))
                .cloned()
                .unwrap_or_else(|| w.clone()),
        };
        let c = js_str(&chosen);
        if offered.contains(&chosen) {
            let index = offered.iter().position(|o| *o == chosen).unwrap_or(0);
            let clicked: bool = page.eval(&self.js(&format!(
                "const o = overlayOptions()[{index}]; if (!o || norm(o.textContent) !== {c}) return false; \
                 o.click(); return true;"
            )))?;
            if !clicked {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("the truck plate '{chosen}' still offered"),
                ));
            }
        } else {
            page.eval::<bool>(&self.js(&format!(
                "const i = inPanel({plate})[0]; setValue(i, {c}); key(i, 'Escape', 27); \
                 i.dispatchEvent(new Event('blur')); return true;"
            )))?;
        }
        page.wait_for::<String>(
            "the truck plate to be set",
            &self.js(&format!(
                "const i = inPanel({plate})[0]; if (!i) return null; \
                 return low(i.value) === low({c}) && !overlayOptions().length ? i.value : null;"
            )),
        )
    }

    /// Press YES or NO on the Own Chassis toggle.
    fn own_chassis(&self, page: &mut Page, own: bool) -> Result<(), DriverError> {
        let want = js_str(if own { &self.yes } else { &self.no });
        let find = format!(
            "const gs = inPanel({group}); \
             const g = gs.find(g => low(g.getAttribute('aria-label')) === low({label}) \
               || (g.parentElement && low(g.parentElement.textContent).includes(low({label})))) \
               || (gs.length === 1 ? gs[0] : null); \
             const ts = g ? all({toggle}, g) : inPanel({toggle}); \
             const t = ts.find(t => low(t.textContent) === low({want})); \
             const b = t && (t.querySelector('button') || t); \
             const on = () => !!b && b.getAttribute('aria-pressed') === 'true';",
            group = self.toggle_group,
            toggle = self.toggle,
            label = js_str(&self.own_chassis_label),
        );
        let state: String = page.eval(&self.js(&format!(
            "{find} if (!t) return ts.length ? 'missing' : 'none'; if (!on()) b.click(); return 'ok';"
        )))?;
        match state.as_str() {
            "ok" => {}
            // No toggle at all: the default (NO) is all the portal can mean.
            "none" if !own => return Ok(()),
            _ => {
                return Err(DriverError::unexpected(
                    page.step_name(),
                    format!("an '{}' toggle with {want}", self.own_chassis_label),
                ));
            }
        }
        page.wait_for::<bool>(
            "the Own Chassis toggle to switch",
            &self.js(&format!("{find} return on() ? true : null;")),
        )?;
        Ok(())
    }

    /// Press the step's `button` (Next, Submit) and wait for the next step, a validation
    /// message, a dialog, or the logged-out page.
    fn press(&self, page: &mut Page, from: u32, button: &str) -> Result<(), DriverError> {
        let b = js_str(button);
        page.wait_for::<bool>(
            &format!("the {button} button"),
            &self.js(&format!(
                "const b = buttonBy({b}); return b && !b.disabled && !busy() ? true : null;"
            )),
        )?;
        page.eval::<bool>(&self.js(&format!("buttonBy({b}).click(); return true;")))?;
        let got: Outcome = page.wait_for(
            &format!("step {} or a message from the portal", from + 1),
            &self.js(&format!(
                "const m = {markers}; if (m) return {{state: m}}; \
                 const n = curStep(); if (n > 0 && n !== {from}) return {{state: 'step', step: n}}; \
                 const d = all(S.dialog).find(vis); if (d) return {{state: 'dialog', text: dialogText(d)}}; \
                 if (busy()) return null; return problem();",
                markers = self.markers,
            )),
        )?;
        let at = self.step_name(from);
        match got.state.as_str() {
            "step" if got.step == from + 1 => Ok(()),
            "step" => Err(DriverError::unexpected(
                page.step_name(),
                format!("step {} after step {at}, got step {}", from + 1, got.step),
            )),
            "dialog" => {
                let text = got.text;
                if text
                    .to_lowercase()
                    .contains(&self.no_open_transactions.to_lowercase())
                {
                    Err(DriverError::NotFound(text))
                } else {
                    Err(DriverError::Invalid(format!(
                        "the portal refused step {at}: {text}"
                    )))
                }
            }
            "error" if got.item => Err(DriverError::NotFound(format!(
                "the portal refused step {at}: {}",
                got.text
            ))),
            "error" | "page_error" => Err(DriverError::Invalid(format!(
                "the portal refused step {at}: {}",
                got.text
            ))),
            other => Err(page.marker_error(other, &format!("the wizard after step {at}"))),
        }
    }

    /// Step 4: the confirmation number and the detail rows.
    fn confirmation(&self, page: &mut Page, slot: &str) -> Result<Booked, DriverError> {
        page.step("wizard step 4: confirmation");
        #[derive(Deserialize)]
        struct Confirmation {
            number: String,
            details: Vec<(String, String)>,
        }
        let got: Confirmation = page.wait_for(
            "the confirmation number",
            &self.js(&format!(
                "if (curStep() !== 4 || busy()) return null; const p = panel(); const want = bare({label}); \
                 let number = ''; \
                 for (const l of all('*', p)) {{ \
                   if (l.children.length || !vis(l) || bare(l.textContent) !== want) continue; \
                   let n = l.nextElementSibling; if (!n && l.parentElement) n = l.parentElement.nextElementSibling; \
                   if (n && norm(n.textContent)) {{ number = norm(n.textContent); break; }} }} \
                 const details = all({rows}, p).map(r => [...r.children]).filter(c => c.length >= 2) \
                   .map(c => [norm(c[0].textContent), norm(c[1].textContent)]).filter(d => d[0]); \
                 if (!number) {{ const d = details.find(d => bare(d[0]) === want); if (d) number = d[1]; }} \
                 return number ? {{number, details}} : null;",
                label = js_str(&self.confirmation_label),
                rows = self.detail_rows,
            )),
        )?;
        let time_label = self.appointment_time_label.to_lowercase();
        let appointment_time = got
            .details
            .iter()
            .find(|(l, _)| l.trim_end_matches([':', ' ']).to_lowercase() == time_label)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| slot.to_string());
        Ok(Booked {
            confirmation_number: got.number,
            appointment_time,
            details: got.details,
        })
    }
}

/// Pick the option for `requested`: the exact text (trimmed, case-insensitive); else the
/// `alias` from the profile (e.g. terminal code TTI -> "Total Terminals Intl LLC"); else the
/// only option containing `requested` as a whole word or phrase (so "ITS" finds
/// "ITS Long Beach" and "TTI" finds "Total Terminals Intl LLC (TTI)"); else `Invalid`.
pub(crate) fn match_option(
    what: &str,
    requested: &str,
    options: &[String],
    alias: Option<&str>,
) -> Result<usize, DriverError> {
    let want = norm(requested).to_lowercase();
    let exact = |w: &str| options.iter().position(|o| norm(o).to_lowercase() == w);
    if let Some(i) = exact(&want) {
        return Ok(i);
    }
    if let Some(i) = alias.and_then(|a| exact(&norm(a).to_lowercase())) {
        return Ok(i);
    }
    let hits: Vec<usize> = if want.is_empty() {
        Vec::new()
    } else {
        options
            .iter()
            .enumerate()
            .filter(|(_, o)| contains_word(&norm(o).to_lowercase(), &want))
            .map(|(i, _)| i)
            .collect()
    };
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(DriverError::Invalid(format!(
            "{what} '{requested}' is not offered; options: {}",
            list_or_none(options)
        ))),
        many => Err(DriverError::Invalid(format!(
            "{what} '{requested}' matches several options ({}); options: {}",
            many.iter()
                .map(|&i| options[i].as_str())
                .collect::<Vec<_>>()
                .join(", "),
            list_or_none(options)
        ))),
    }
}

/// Does `hay` contain `needle` with no letter or digit right before or after it?
fn contains_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, m)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// `portal.wizard` key of an alias: `terminal_alias_tti` for terminal "TTI".
fn alias_key(prefix: &str, requested: &str) -> String {
    let code: String = norm(requested)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    format!("{prefix}_alias_{code}")
}

/// A millisecond setting from `portal.wizard`, or `default` when absent or not a number.
fn wizard_ms(page: &Page, key: &str, default: u64) -> u64 {
    page.profile
        .wizard_text(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn list_or_none(options: &[String]) -> String {
    if options.is_empty() {
        "(none)".into()
    } else {
        options.join(", ")
    }
}

/// Replace each `@name@` in `template` with its value.
fn sub(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |t, (k, v)| {
        t.replace(&format!("@{k}@"), v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_then_alias_then_whole_word() {
        let terminals = opts(&[
            "ITS Long Beach",
            "TraPac LLC - Los Angeles",
            "Total Terminals Intl LLC",
            "Pacific Container Terminal",
            "SSA Terminal - PierA / LB",
        ]);
        assert_eq!(
            match_option("terminal", " its long beach ", &terminals, None),
            Ok(0)
        );
        assert_eq!(match_option("terminal", "ITS", &terminals, None), Ok(0));
        assert_eq!(
            match_option(
                "terminal",
                "TTI",
                &terminals,
                Some("Total Terminals Intl LLC")
            ),
            Ok(2)
        );
        assert_eq!(match_option("terminal", "lb", &terminals, None), Ok(4));
        let coded = opts(&[
            "Total Terminals Intl LLC (TTI)",
            "Pacific Container Terminal (PCT)",
        ]);
        assert_eq!(match_option("terminal", "tti", &coded, None), Ok(0));
        // "TraPac" is part of no whole word in another option, but "Terminal" is ambiguous.
        let err = match_option("terminal", "Terminal", &terminals, None).unwrap_err();
        assert!(
            matches!(&err, DriverError::Invalid(m) if m.contains("several")),
            "{err}"
        );
        // A word prefix is not a word.
        let err = match_option("terminal", "TTI", &terminals, None).unwrap_err();
        let DriverError::Invalid(m) = err else {
            panic!("{err:?}")
        };
        assert!(
            m.starts_with("terminal 'TTI' is not offered; options: ITS Long Beach, "),
            "{m}"
        );
        assert_eq!(
            match_option("move type", "PICK", &opts(&["PICK FULL"]), None),
            Ok(0)
        );
        assert!(
            match_option(
                "move type",
                "PICK",
                &opts(&["PICK FULL", "PICK EMPTY"]),
                None
            )
            .is_err()
        );
    }

    #[test]
    fn alias_keys_are_lowercase_codes() {
        assert_eq!(alias_key("terminal", " TTI "), "terminal_alias_tti");
        assert_eq!(alias_key("terminal", "TRP-1"), "terminal_alias_trp_1");
    }
}
