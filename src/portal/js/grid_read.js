/* Read every loaded row, columns in the profile's order. Icon words are dropped and the
 * container number loses its badge letter; a cell whose value is a link (Pregate Ticket#)
 * is read from the link, without the small number the portal prints after it. */
const names = headerNames();
const missing = A.columns.filter(w => !names.includes(w));
if (missing.length) return {missing, headers: names};
const idCol = names.indexOf(A.id_column);
const out = [];
for (const r of dataRows()) {
  const cells = cellsOf(r);
  const at = cells.findIndex(c => idOf(clean(c)));
  const off = at >= 0 && idCol >= 0 ? at - idCol : cells.length - names.length;
  out.push(A.columns.map(w => {
    const c = cells[names.indexOf(w) + off];
    if (!c) return '';
    if (w === A.id_column) { const id = idOf(clean(c)); return id || clean(c); }
    const link = pick(A.sel.cell_value, c)[0];
    const t = link && clean(link);
    return t || clean(c);
  }));
}
return {rows: out};
