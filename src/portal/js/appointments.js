/* My Appointments helpers and operations (after lib.js), chosen by A.op. The real list is
 * reached through a loading route and scrolls with the window. */
const heads = () => pick(A.sel.appointments_headers).filter(vis);
const cellsOfRow = r => pick(A.sel.appointments_cells, r);
const rowsNow = () => { const n = heads().length; return pick(A.sel.appointments_rows).filter(r => cellsOfRow(r).length === n && n > 0); };
const isTicked = c => !!c && (c.checked || c.getAttribute('aria-checked') === 'true');
const rowBox = r => pick(A.sel.appointments_row_checkbox, r)[0];
const tick = c => press(checkboxTarget(c));
switch (A.op) {
case 'opened': {
  if (document.readyState !== 'complete') return null;
  const m = marker(); if (m) return {state: m};
  if (pick(A.sel.username).length) return {state: 'logged_out'};
  if (A.loading_marks.some(w => location.href.toLowerCase().includes(w))) return null;
  if (!heads().length || busy(document)) return null;
  return {state: 'ok'};
}
case 'load_all': {
  const deadline = Date.now() + A.remaining_ms;
  const scrollDown = () => {
    const rows = rowsNow();
    window.scrollTo(0, document.body.scrollHeight);
    if (rows.length) rows[rows.length - 1].scrollIntoView({block: 'end'});
    window.dispatchEvent(new Event('scroll'));
  };
  /* A count or a row text to stop at (target_count, target_appointment_id). */
  const want = (A.want_text || '').toLowerCase();
  const done = () => (A.want_count && rowsNow().length >= A.want_count)
    || (want && rowsNow().some(r => (r.innerText || '').toLowerCase().includes(want)));
  const loaded = await loadMore(() => rowsNow().length, scrollDown, done, deadline, A.resume);
  /* Paused (A.slice_ms): called again with `resume` to go on. */
  if (loaded.paused) return {rows: rowsNow().length, resume: {cycles: loaded.cycles, idle: loaded.idle, slowest: loaded.slowest}};
  window.scrollTo(0, 0);
  return {rows: rowsNow().length, resume: null};
}
case 'select_all': {
  const c = pick(A.sel.appointments_master_checkbox)[0];
  if (!c) return false;
  const input = c.matches('input') ? c : c.querySelector('input');
  if (!isTicked(input || c)) tick(input || c);
  const end = Date.now() + A.wait_ms;
  while (rowsNow().some(r => !isTicked(rowBox(r))) && Date.now() < end) await sleep(50);
  /* Rows the master checkbox left out are ticked one by one. */
  for (const r of rowsNow()) { const b = rowBox(r); if (b && !isTicked(b)) { tick(b); await sleep(20); } }
  return true;
}
case 'read': {
  const hs = heads();
  const keep = hs.map((h, i) => i).filter(i => !hs[i].querySelector('input[type=checkbox]') && clean(hs[i]));
  const rs = rowsNow();
  return {columns: keep.map(i => clean(hs[i])),
    rows: rs.map(r => { const c = cellsOfRow(r); return keep.map(i => c[i] ? clean(c[i]) : ''); }),
    selected: rs.filter(r => isTicked(rowBox(r))).length};
}
default: throw new Error('unknown appointments operation ' + A.op);
}
