/* Containers grid helpers (after lib.js): rows, their cells and container numbers. */
/* A container number (ISO 6346) with the portal's optional badge letter (L/E) after it. */
const ID_RE = /^([A-Z]{4}\d{7})[A-Z]?$/;
const gridBox = () => pick(A.sel.containers_box)[0] || null;
const cellSel = (A.sel.container_cells || []).join(', ');
/* A row's own cells (not the cells of tables nested in an expanded card). */
const cellsOf = r => [...r.children].filter(c => { try { return c.matches(cellSel); } catch (e) { return false; } });
const idOf = text => { const m = ID_RE.exec((text || '').replace(/\s+/g, '')); return m ? m[1] : null; };
const rowId = r => { for (const c of cellsOf(r)) { const id = idOf(clean(c)); if (id) return id; } return null; };
/* Data rows: an expanded row's card is a row too, with one wide cell. */
const dataRows = () => pick(A.sel.container_rows).filter(r => cellsOf(r).length >= 10);
/* Text that looks like container numbers, wherever it is in the grid box. */
const idsInBox = () => { const b = gridBox(); return b ? (b.innerText.match(/\b[A-Z]{4}\d{7}[A-Z]?\b/g) || []).length : 0; };
const headerNames = () => pick(A.sel.container_headers).map(h => clean(h));
