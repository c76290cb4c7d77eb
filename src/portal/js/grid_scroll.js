/* Load rows until the target is met or the rows stopped growing. The real grid has no
 * end-of-data marker and takes 1-5 s a page, sometimes with a progress bar, sometimes with
 * another spinner or none: a round only counts as idle when no loading indicator shows and
 * no row came within a window sized by the slowest page load seen so far. */
const box = gridBox();
if (!box) return {state: 'no_box'};
const deadline = Date.now() + A.remaining_ms;
const count = () => dataRows().length;
const found = id => dataRows().some(r => rowId(r) === id);
const done = () => (A.want_id && found(A.want_id)) || (A.want_count > 0 && count() >= A.want_count);
const firstEnd = Math.min(deadline, Date.now() + A.first_rows_ms);
while (count() === 0) {
  const m = marker(); if (m) return {state: m};
  /* Container numbers on screen but no row matched: the row selectors are wrong. */
  if (idsInBox() > 0 && !busy()) { await sleep(200); if (count() === 0 && idsInBox() > 0) return {state: 'rows_unmatched', ids: idsInBox()}; }
  if (Date.now() > firstEnd) return {state: 'no_rows', cycles: 0};
  await sleep(30);
}
while (busy() && Date.now() < deadline) await sleep(30);
/* The first rows took the page's whole load (performance.now() counts from navigation): a
 * third of that is the first estimate of one page's load, so the first idle window waits about
 * as long as the first rows took, before any scroll-triggered load has been timed. */
const firstRowsMs = Math.min(performance.now(), A.settle_max_ms);
const scrollDown = () => {
  box.scrollTop = box.scrollHeight;
  box.dispatchEvent(new Event('scroll'));
  box.dispatchEvent(new WheelEvent('wheel', {deltaY: 300, bubbles: true}));
  const rows = dataRows(); const last = rows[rows.length - 1];
  /* When the page, not the box, is what scrolls. */
  if (last && box.scrollHeight <= box.clientHeight + 2) last.scrollIntoView({block: 'end'});
};
let cycles = 0, idle = 0, slowest = firstRowsMs / 3;
while (A.scroll && !done()) {
  if (Date.now() > deadline) return {state: 'timeout', cycles};
  const before = count(); const t0 = Date.now();
  scrollDown(); cycles++;
  const windowMs = Math.min(A.settle_max_ms, Math.max(A.settle_ms, 3 * slowest));
  let grew = false;
  while (Date.now() < deadline) {
    if (count() > before) { grew = true; break; }
    if (!busy() && Date.now() - t0 >= windowMs) break;
    await sleep(30);
  }
  if (grew) {
    slowest = Math.max(slowest, Date.now() - t0); idle = 0;
    while (busy() && Date.now() < deadline) await sleep(30);
  } else if (++idle >= A.idle_rounds) break;
}
return {state: 'ok', cycles};
