/* Read the expanded card under window.__emodalRow: label/value fields and the timeline. */
const row = window.__emodalRow;
const d = row && row.isConnected && row.nextElementSibling;
if (!d || cellsOf(d).length >= 10) return null;
const labels = pick(A.sel.detail_label, d);
const flow = pick(A.sel.timeline, d)[0];
if (!labels.length || !flow || busy(d)) return null;
const valueSel = (A.sel.detail_value || []).join(', ');
const fields = labels.map(l => {
  let v = l.nextElementSibling;
  while (v && !v.matches(valueSel)) v = v.nextElementSibling;
  return [clean(l), v ? clean(v) : ''];
});
const pend = A.pending_classes;
const rows = pick(A.sel.timeline_row, flow);
/* Only the innermost rows: a row that holds other rows is layout. */
const leaves = rows.filter(r => !rows.some(o => o !== r && r.contains(o)));
const timeline = [];
for (const r of leaves) {
  const spans = pick(A.sel.timeline_label, r);
  const texts = spans.map(s => clean(s)).filter(t => t && !isIconWord(t));
  if (!texts.length) continue;
  const dv = pick(A.sel.timeline_divider, r)[0];
  const c = dv ? [...dv.classList] : [];
  const status = c.includes(A.done_class) && !pend.some(p => c.includes(p)) ? 'completed' : 'pending';
  timeline.push({milestone: texts[0], date: texts[1] || '', status});
}
if (!timeline.length) return null;
return {fields, timeline};
