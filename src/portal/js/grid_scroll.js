/* Load rows until the target is met or the rows stopped growing (`loadMore` in lib.js). */
/* Called again with A.resume (what a paused round returned) until it says other than 'more'. */
const box = gridBox();
if (!box) return {state: 'no_box'};
const deadline = Date.now() + A.remaining_ms;
const count = () => dataRows().length;
const found = id => dataRows().some(r => rowId(r) === id);
const done = () => (A.want_id && found(A.want_id)) || (A.want_count > 0 && count() >= A.want_count);
const scrollDown = () => {
  box.scrollTop = box.scrollHeight;
  box.dispatchEvent(new Event('scroll'));
  box.dispatchEvent(new WheelEvent('wheel', {deltaY: 300, bubbles: true}));
  const rows = dataRows(); const last = rows[rows.length - 1];
  /* When the page, not the box, is what scrolls. */
  if (last && box.scrollHeight <= box.clientHeight + 2) last.scrollIntoView({block: 'end'});
};
const more = async from => {
  const loaded = await loadMore(count, scrollDown, done, deadline, from);
  if (loaded.timedOut) return {state: 'timeout', cycles: loaded.cycles, rows: count()};
  if (loaded.paused) return {state: 'more', cycles: loaded.cycles, idle: loaded.idle, slowest: loaded.slowest, rows: count()};
  return {state: 'ok', cycles: loaded.cycles, rows: count()};
};
if (A.resume) return await more(A.resume);
const firstEnd = Math.min(deadline, Date.now() + A.first_rows_ms);
while (count() === 0) {
  const m = marker(); if (m) return {state: m};
  /* Container numbers on screen but no row matched: the row selectors are wrong. */
  if (idsInBox() > 0 && !busy()) { await sleep(200); if (count() === 0 && idsInBox() > 0) return {state: 'rows_unmatched', ids: idsInBox()}; }
  if (Date.now() > firstEnd) return {state: 'no_rows', cycles: 0};
  await sleep(30);
}
while (busy() && Date.now() < deadline) await sleep(30);
if (!A.scroll) return {state: 'ok', cycles: 0, rows: count()};
return await more(null);
