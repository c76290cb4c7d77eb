/* One wizard operation per call, chosen by A.op. Operations that wait for the page return
 * null until it is ready (the driver polls them). */
switch (A.op) {
case 'opened': {
  const m = marker(); if (m) return {state: m};
  if (pick(A.sel.username).length) return {state: 'logged_out'};
  const n = curStep(); if (n === 0 || pageBusy()) return null;
  if (n !== 1) return {state: 'step', step: n};
  if (!fieldBy(A.label)) return null;
  return {state: 'ready', text: clean(header())};
}
case 'idle': return !pageBusy() && !listboxOpen() ? true : null;
case 'step': return {step: curStep(), busy: pageBusy()};
case 'value': {
  const s = dropdown(); return s ? {value: selectValue(s)} : {value: null};
}
case 'open': {
  /* Click the dropdown once it can be used; the poll ends with the click. */
  if (pageBusy()) return null;
  const s = dropdown();
  if (!s || s.getAttribute('aria-disabled') === 'true') return null;
  if (listboxOpen()) return true;
  press(pick(A.sel.select_trigger, s)[0] || s);
  return true;
}
case 'options': {
  const o = overlayOptions(); if (o.length) return {options: o.map(optText)};
  return listboxOpen() ? {options: []} : null;
}
case 'choose': {
  const o = overlayOptions()[A.index];
  if (!o || optText(o) !== A.text) return false;
  press(o); return true;
}
case 'shows': {
  const s = dropdown(); if (!s || listboxOpen()) return null;
  const v = low(selectValue(s) || clean(s)); const t = low(A.text);
  return v === t || v.includes(t) ? true : null;
}
case 'escape': {
  const target = document.activeElement || document.body;
  key(target, 'Escape', 27);
  pick(A.sel.overlay).forEach(o => pick(A.sel.backdrop, o).forEach(b => b.click()));
  return true;
}
case 'items': {
  /* Which item fields this move shows (they depend on move type and terminal). */
  const has = list => inPanel(list).length > 0;
  return {
    container: has(A.sel.wizard_container_input), booking: has(A.sel.wizard_booking_input),
    line: !!fieldBy(A.line_label), equip: !!fieldBy(A.equip_label), quantity: !!fieldBy(A.quantity_label),
    busy: pageBusy()
  };
}
case 'chips': {
  const i = inPanel(A.sel[A.input])[0]; if (!i) return false;
  for (const v of A.values) { setValue(i, v); key(i, 'Enter', 13); }
  return true;
}
case 'chips_shown': {
  const i = inPanel(A.sel[A.input])[0]; if (!i) return null;
  const f = i.closest((A.sel.form_field || []).join(', ')) || i.parentElement;
  const chips = pick(A.sel.wizard_chip, f).map(c => low(clean(c)));
  return A.values.every(v => chips.some(c => c.includes(low(v)))) ? true : null;
}
case 'fill': {
  /* A text input by strategies key (A.input) or by field label (A.label). */
  let i = A.input ? inPanel(A.sel[A.input] || [A.input])[0] : null;
  if (!i && A.label) { const f = fieldBy(A.label); i = f && all('input, textarea', f).filter(vis)[0]; }
  if (!i) return {found: false};
  setValue(i, A.value); i.dispatchEvent(new Event('blur'));
  return {found: true, value: i.value};
}
case 'autocomplete_open': {
  let i = A.input ? inPanel(A.sel[A.input])[0] : null;
  if (!i && A.label) { const f = fieldBy(A.label); i = f && all('input', f).filter(vis)[0]; }
  if (!i) return {found: false};
  setValue(i, A.typed || ''); i.focus(); press(i);
  if (!A.typed) i.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowDown', keyCode: 40, bubbles: true}));
  return {found: true};
}
case 'offered': {
  const o = overlayOptions(); return o.length ? o.map(optText) : null;
}
case 'autocomplete_free': {
  let i = A.input ? inPanel(A.sel[A.input])[0] : null;
  if (!i && A.label) { const f = fieldBy(A.label); i = f && all('input', f).filter(vis)[0]; }
  if (!i) return false;
  setValue(i, A.text); key(i, 'Escape', 27); i.dispatchEvent(new Event('blur'));
  return true;
}
case 'input_shows': {
  let i = A.input ? inPanel(A.sel[A.input])[0] : null;
  if (!i && A.label) { const f = fieldBy(A.label); i = f && all('input', f).filter(vis)[0]; }
  if (!i) return null;
  return low(i.value) === low(A.text) && !overlayOptions().length ? i.value : null;
}
case 'tick_items': {
  /* Tick every move of the step that is not ticked yet (legacy Material hides the input and
   * listens on its label). */
  let n = 0;
  for (const c of pick(A.sel.wizard_item_checkbox, panel())) {
    const checked = c.checked || c.getAttribute('aria-checked') === 'true';
    if (checked) continue;
    press(checkboxTarget(c)); n++;
  }
  return n;
}
case 'items_ticked': {
  const cs = pick(A.sel.wizard_item_checkbox, panel());
  return cs.length === 0 || cs.every(c => c.checked || c.getAttribute('aria-checked') === 'true') ? cs.length : null;
}
case 'chassis': {
  /* Own chassis: two toggle buttons YES/NO, or one pill that shows its current value. */
  const yes = low(A.yes), no = low(A.no);
  const isValue = e => [yes, no].includes(low(clean(e)));
  /* The control's field: a form field with that label, else the nearest ancestor of a text
   * with that label which also holds a YES/NO control. */
  const f = fieldBy(A.label) || (() => {
    const want = bare(A.label);
    const l = all('*', panel()).filter(vis).find(e => e.children.length === 0 && bare(e.textContent).includes(want));
    for (let a = l && l.parentElement; a && a !== document.body; a = a.parentElement) {
      if (pick(A.sel.wizard_toggle, a).some(e => vis(e) && isValue(e))) return a;
    }
    return null;
  })();
  if (!f) return {state: 'none'};
  const cands = pick(A.sel.wizard_toggle, f).filter(vis).filter(isValue);
  /* The innermost candidates: a wrapper with the same text is not a control of its own. */
  const ctrls = cands.filter(e => !cands.some(o => o !== e && e.contains(o)));
  const want = A.own ? yes : no;
  /* Pressed: aria-pressed/aria-checked on the control or its button, or a "...-checked" class. */
  const isOn = e => {
    const b = e.querySelector('[aria-pressed], [aria-checked]') || e.closest('[aria-pressed], [aria-checked]') || e;
    return b.getAttribute('aria-pressed') === 'true' || b.getAttribute('aria-checked') === 'true'
      || [...e.classList, ...b.classList].some(c => c.endsWith('-checked'));
  };
  if (ctrls.length >= 2) {
    const t = ctrls.find(e => low(clean(e)) === want);
    if (!t) return {state: 'missing'};
    if (A.check) return isOn(t) ? {state: 'ok'} : null;
    if (!isOn(t)) press(clickable(t));
    return {state: 'pressed'};
  }
  if (ctrls.length === 1) {
    const p = ctrls[0]; const now = low(clean(p));
    if (A.check) return now === want ? {state: 'ok'} : null;
    if (now !== want) press(clickable(p));
    return {state: 'pressed', was: now};
  }
  return {state: 'none'};
}
case 'press': {
  if (pageBusy()) return null;
  const b = buttonBy(A.text);
  if (!b || !enabled(b)) return null;
  press(b); return true;
}
case 'after_press': {
  const m = marker(); if (m) return {state: m};
  const n = curStep(); if (n > 0 && n !== A.from) return {state: 'step', step: n};
  const d = dialogs()[0]; if (d) return {state: 'dialog', text: dialogText(d)};
  if (pageBusy()) return null;
  return problem();
}
case 'close_dialog': {
  const d = dialogs()[0]; if (!d) return {state: 'none'};
  const text = dialogText(d);
  return {state: closeDialog(d) ? 'closed' : 'stuck', text};
}
case 'dialog': {
  const d = dialogs()[0]; return d ? {text: dialogText(d)} : {text: null};
}
case 'ready2': return curStep() === 2 && !pageBusy() && inPanel(A.sel.wizard_plate_input).length > 0 ? true : null;
case 'ready3': {
  if (curStep() !== 3 || pageBusy()) return null;
  return dropdown() ? true : null;
}
case 'after_submit': {
  /* What the page shows after Submit: a Confirmation step (with a number when there is
   * one), a message, another page, or nothing yet. */
  const m = marker(); if (m) return {state: m};
  if (location.href !== A.wizard_url && !location.href.startsWith(A.wizard_url)) return {state: 'navigated', url: location.href};
  const n = curStep();
  if (n === 4 && !pageBusy()) {
    const p = panel(); const want = bare(A.confirmation_label);
    let number = '';
    for (const l of all('*', p)) {
      if (l.children.length || !vis(l) || bare(l.textContent) !== want) continue;
      let x = l.nextElementSibling; if (!x && l.parentElement) x = l.parentElement.nextElementSibling;
      if (x && clean(x)) { number = clean(x); break; }
    }
    const details = pick(A.sel.wizard_detail_rows, p).map(r => [...r.children]).filter(c => c.length >= 2)
      .map(c => [clean(c[0]), clean(c[1])]).filter(d => d[0]);
    if (!number) { const d = details.find(d => bare(d[0]) === want); if (d) number = d[1]; }
    return {state: 'confirmation', number, details, text: clean(p)};
  }
  const d = dialogs()[0]; if (d) return {state: 'dialog', text: dialogText(d)};
  const errs = inPanel(A.sel.wizard_error).filter(e => clean(e));
  if (errs.length) return {state: 'error', text: errs.map(clean).join('; ')};
  const msg = pickVis(A.sel.wizard_page_error).find(e => clean(e));
  if (msg) {
    const t = low(clean(msg));
    const ok = A.booked_texts.some(w => t.includes(w)) && !A.refused_texts.some(w => t.includes(w));
    return {state: ok ? 'message_ok' : 'message', text: clean(msg)};
  }
  if (n > 0 && n !== 3 && !pageBusy()) return {state: 'step', step: n};
  return null;
}
default: throw new Error('unknown wizard operation ' + A.op);
}
