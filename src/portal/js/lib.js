/* Helpers every driver script starts with. `A` holds the script's arguments (profile
 * selectors as ordered strategy lists, texts, values); nothing here knows a selector.
 * Scripts are function bodies: they `return` a JSON-serialisable value. */
if (!A.sel) A.sel = {};
const norm = s => (s || '').replace(/\s+/g, ' ').trim();
const low = s => norm(s).toLowerCase();
/* A label without its required marker or colon: "Trucking company *" -> "trucking company". */
const bare = s => low(s).replace(/[\s:*]+$/, '');
const vis = e => !!e && e.isConnected && [...e.getClientRects()].some(r => r.width > 0 && r.height > 0)
  && getComputedStyle(e).visibility !== 'hidden';
const all = (sel, root) => { try { return [...(root || document).querySelectorAll(sel)]; } catch (e) { return []; } };
/* The elements of the first strategy (CSS selector) that matches anything. */
const pick = (strategies, root) => {
  for (const s of strategies || []) { const found = all(s, root); if (found.length) return found; }
  return [];
};
const pickVis = (strategies, root) => {
  for (const s of strategies || []) { const found = all(s, root).filter(vis); if (found.length) return found; }
  return [];
};
/* Icon ligatures (mat-icon text such as keyboard_arrow_right, info, more_vert) are not data. */
const ICONS = new Set((A.icon_words || []).map(w => w.toLowerCase()));
const ICON_SEL = (A.sel.icons || []).join(', ');
const clean = el => {
  if (!el) return '';
  const c = el.cloneNode(true);
  if (ICON_SEL) c.querySelectorAll(ICON_SEL).forEach(i => i.remove());
  let words = norm(c.textContent).split(' ');
  while (words.length && ICONS.has(words[0].toLowerCase())) words.shift();
  while (words.length && ICONS.has(words[words.length - 1].toLowerCase())) words.pop();
  return words.join(' ');
};
const isIconWord = s => ICONS.has(low(s));
const busy = root => pickVis(A.sel && A.sel.loading, root).length > 0;
const setValue = (i, v) => {
  i.focus();
  const d = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(i), 'value');
  if (d && d.set) d.set.call(i, v); else i.value = v;
  i.dispatchEvent(new Event('input', {bubbles: true}));
  i.dispatchEvent(new Event('change', {bubbles: true}));
};
const key = (e, k, code) => e.dispatchEvent(new KeyboardEvent('keydown',
  {key: k, code: k, keyCode: code, which: code, bubbles: true, cancelable: true}));
/* A click as a person makes it: pointer and mouse events at the element's centre. */
const press = e => {
  e.scrollIntoView({block: 'center', inline: 'center'});
  const r = e.getBoundingClientRect();
  const o = {bubbles: true, cancelable: true, view: window, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2};
  e.dispatchEvent(new PointerEvent('pointerdown', o)); e.dispatchEvent(new MouseEvent('mousedown', o));
  e.dispatchEvent(new PointerEvent('pointerup', o)); e.dispatchEvent(new MouseEvent('mouseup', o));
  e.click();
};
/* A control's clickable part: the element matching the profile's `clickable` strategies
 * inside it, else around it, else itself. */
const clickSel = () => (A.sel.clickable || []).join(', ');
const clickable = e => (clickSel() && (e.querySelector(clickSel()) || e.closest(clickSel()))) || e;
/* A checkbox input's host (legacy Material hides the input and listens on its label). */
const checkboxTarget = c => {
  const host = (A.sel.checkbox_host || []).length ? c.closest(A.sel.checkbox_host.join(', ')) : null;
  const t = (host && (host.querySelector('label') || host)) || c;
  return vis(t) ? t : c;
};
const sleep = ms => new Promise(r => setTimeout(r, ms));
/* Scroll for more rows until `done()` or the rows stopped growing for A.idle_rounds rounds.
 * The real lists have no end-of-data marker and take 1-5 s a page, sometimes with no loading
 * indicator: a round only counts as idle when nothing is loading and no row came within a
 * window of three times the slowest page load seen (A.settle_ms..A.settle_max_ms). The first
 * estimate is a third of what the page took to show its first rows (performance.now() counts
 * from navigation), so the first window lasts about that long.
 * With A.slice_ms it pauses between rounds once that long has passed ({paused: true}), so the
 * driver can report how many rows are in; it goes on when called again with `from`, the
 * returned {cycles, idle, slowest}. */
const loadMore = async (count, scrollDown, done, deadline, from) => {
  let {cycles, idle, slowest} = from || {cycles: 0, idle: 0, slowest: Math.min(performance.now(), A.settle_max_ms) / 3};
  const pauseAt = A.slice_ms ? Date.now() + A.slice_ms : Infinity;
  while (!done()) {
    if (Date.now() > deadline) return {cycles, timedOut: true};
    if (Date.now() >= pauseAt) return {cycles, idle, slowest, paused: true};
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
  return {cycles, timedOut: false};
};
/* The page's state as the profile's texts describe it, or null. */
const marker = () => {
  const t = ((document.body && document.body.innerText) || '').toLowerCase() + ' ' + document.title.toLowerCase();
  if ((A.logged_out || []).some(x => t.includes(x))) return 'logged_out';
  if ((A.forbidden || []).some(x => t.includes(x))) return 'forbidden';
  const nav = performance.getEntriesByType('navigation')[0];
  const status = nav && nav.responseStatus;
  if (status >= 500) return 'http_' + status;
  return null;
};
