/* Expand a container's row from its expand icon (the real grid opens a row from the arrow,
 * not from a click anywhere on it). The card is the row's next sibling. */
const row = dataRows().find(r => rowId(r) === A.id);
if (!row) return {state: 'missing'};
window.__emodalRow = row;
const next = row.nextElementSibling;
const isCard = n => !!n && cellsOf(n).length < 10 && (pick(A.sel.detail_label, n).length > 0 || pick(A.sel.timeline, n).length > 0);
if (isCard(next)) return {state: 'open'};
const words = (A.expand_words || []).map(w => w.toLowerCase());
const icon = pick(A.sel.row_expander, row).find(e => words.includes(low(e.textContent)));
if (icon) { press(icon.closest('button, [role=button]') || icon); return {state: 'clicked'}; }
/* No expand icon: the portal does not know this container. The original clicked the row. */
press(cellsOf(row)[Math.min(2, cellsOf(row).length - 1)] || row);
return {state: 'row_clicked'};
