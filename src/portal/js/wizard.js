/* Appointment wizard helpers (after lib.js). Everything is looked up inside the current
 * step's panel, by the profile's strategies, so hidden steps' widgets are never used. */
const header = () => pick(A.sel.step_header).find(h => h.getAttribute('aria-selected') === 'true') || null;
const curStep = () => { const h = header(); return h ? (parseInt(h.getAttribute('aria-posinset'), 10) || 0) : 0; };
const panel = () => {
  const h = header(); const id = h && h.getAttribute('aria-controls');
  const byId = id && document.getElementById(id); if (byId && vis(byId)) return byId;
  const ps = pick(A.sel.wizard_step_panel); const shown = ps.filter(vis);
  if (shown.length === 1) return shown[0];
  const n = curStep(); if (n > 0 && ps.length >= n && vis(ps[n - 1])) return ps[n - 1];
  return shown[0] || document.body;
};
const inPanel = list => pickVis(list, panel());
/* Busy: a loading indicator or overlay anywhere on the page (the real portal covers the
 * whole page with a white layer and a spinner while it loads a terminal's data). */
const pageBusy = () => busy(document);
const labelOf = f => { const l = pick(A.sel.form_label, f)[0]; return l ? bare(clean(l)) : ''; };
/* A form field by its label: the same text first, then a label containing it (ignoring
 * case and the required marker). */
const fieldBy = label => {
  const want = bare(label); if (!want) return null;
  const fs = inPanel(A.sel.form_field);
  return fs.find(f => labelOf(f) === want) || fs.find(f => labelOf(f).includes(want)) || null;
};
const selectIn = f => f ? (pick(A.sel.select, f)[0] || null) : null;
/* The dropdown a step asks for: by label, or (the time slot, which the real portal shows
 * without a label) by the slot strategies, then the label alternatives, then the last one. */
const dropdown = () => {
  if (A.slot) {
    const direct = inPanel(A.sel.wizard_slot_select)[0]; if (direct) return direct;
    for (const l of A.slot_labels || []) { const s = selectIn(fieldBy(l)); if (s && vis(s)) return s; }
    const sels = inPanel(A.sel.select); return sels[sels.length - 1] || null;
  }
  const s = selectIn(fieldBy(A.label));
  return s && vis(s) ? s : null;
};
const selectValue = s => {
  const v = pick(A.sel.select_value, s)[0];
  return v ? clean(v) : '';
};
const overlayOptions = () => pick(A.sel.overlay).flatMap(o => pick(A.sel.option, o)).filter(vis);
const listboxOpen = () => pick(A.sel.overlay).flatMap(o => pick(A.sel.listbox, o)).some(vis);
const optText = o => clean(pick(A.sel.option_text, o)[0] || o);
const dialogRoot = d => { for (const s of A.sel.dialog_root || []) { const r = d.closest(s); if (r) return r; } return d; };
const dialogs = () => pick(A.sel.wizard_dialog).filter(vis);
const dialogText = d => {
  const root = dialogRoot(d);
  const c = pick(A.sel.wizard_dialog_content, root)[0];
  if (c) return clean(c);
  let t = clean(root);
  all('button', root).forEach(b => { const x = clean(b); if (x && t.endsWith(x)) t = norm(t.slice(0, -x.length)); });
  return t;
};
const closeDialog = d => {
  const root = dialogRoot(d); const words = (A.close_buttons || []).map(w => w.toLowerCase());
  const scope = root.closest((A.sel.overlay || []).join(', ') || 'body') || root;
  const b = pick(A.sel.wizard_button, root).concat(pick(A.sel.wizard_button, scope)).filter(vis)
    .find(x => words.includes(low(clean(x))));
  if (!b) return false; press(b); return true;
};
/* A field error on the container or booking input: the portal does not know the item. */
const isItemError = e => {
  const f = e.closest((A.sel.form_field || []).join(', '));
  return !!f && (pick(A.sel.wizard_container_input, f).length > 0 || pick(A.sel.wizard_booking_input, f).length > 0);
};
/* What the page says about the step: a popup, a field error, a page message. */
const problem = () => {
  const d = dialogs()[0]; if (d) return {state: 'dialog', text: dialogText(d)};
  const errs = inPanel(A.sel.wizard_error).filter(e => clean(e));
  if (errs.length) return {state: 'error', text: errs.map(clean).join('; '), item: errs.some(isItemError)};
  const pe = pickVis(A.sel.wizard_page_error).find(e => clean(e));
  if (pe) return {state: 'page_error', text: clean(pe)};
  return null;
};
/* A step's button by its text; of several, the one marked active (text-next), visible and enabled. */
const buttonBy = text => {
  const want = low(text);
  const bs = inPanel(A.sel.wizard_button).filter(b => low(clean(b)) === want);
  return bs.find(b => A.active_button_class && b.classList.contains(A.active_button_class)) || bs[0] || null;
};
const enabled = b => !!b && !b.disabled && b.getAttribute('aria-disabled') !== 'true' && !b.classList.contains('mat-button-disabled');
