// The sessions table: one row per session, built once and updated in place.
//
// /sessions is the truth, polled every 5 s; events (events.js) move a row sooner, and a
// listing asked for before an event arrived must not undo what the event said.

import { api } from './api.js';
import { $, ago, bytes, el, num, setLink, shortId, usd } from './util.js';
import { renderOperation } from './operation.js';
import { screenshot } from './screenshot.js';

// session id -> {data, detail, detailAt, detailTried, eventAt, live, tr, cells}
// `live` is the latest operation_progress event for the row (see events.js).
export const rows = new Map();
// session id -> when an event removed it
export const removedAt = new Map();

const COLUMNS = ['session', 'user', 'state', 'op', 'restarts', 'refresh', 'memory', 'captcha', 'keep', 'actions'];
const LABELS = ['Session', 'User', 'State', 'Operation', 'Restarts', 'Last refresh', 'Memory', 'Captcha', 'Keep-alive', ''];
const NUMERIC = ['restarts', 'memory', 'captcha'];

export async function pollSessions() {
  const asked = Date.now();
  try {
    const response = await api('sessions');
    if (!response.ok) return;
    applySessions((await response.json()).sessions || [], asked);
  } catch (err) {
    setLink('no', 'service unreachable');
  }
}

let soon = null;
// Several events about unknown sessions in a burst ask for one listing.
export function pollSessionsSoon() {
  if (soon) return;
  soon = setTimeout(() => { soon = null; pollSessions(); }, 250);
}

// A listing asked for at `asked` (ms) must not undo what a later event said.
export function applySessions(list, asked) {
  const seen = new Set();
  for (const s of list) {
    if (!s || typeof s.session_id !== 'string') continue;
    if ((removedAt.get(s.session_id) || 0) > asked) continue;
    seen.add(s.session_id);
    const row = rows.get(s.session_id);
    if (row && row.eventAt > asked) {
      // Keep the state the event set; take the rest.
      s.state = row.data.state;
    }
    if (row && row.live && row.live.at > asked) {
      // A progress event newer than this listing says the operation still runs.
      s.busy = true;
    } else if (row && !s.busy) {
      row.live = null;
    }
    upsert(s);
  }
  for (const [id, row] of rows) {
    if (!seen.has(id) && row.eventAt <= asked) removeRow(id);
  }
  renderCount();
  renderSpendNow();
  const table = $('sessions');
  table.dataset.listings = String(Number(table.dataset.listings || 0) + 1);
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString([], { hour12: false });
}

export function upsert(data) {
  let row = rows.get(data.session_id);
  if (!row) {
    row = { data: {}, detail: null, detailAt: 0, detailTried: 0, eventAt: 0, live: null, cells: {} };
    const tr = document.createElement('tr');
    tr.dataset.sessionId = data.session_id;
    COLUMNS.forEach((name, i) => {
      const td = el('td', name);
      td.dataset.label = LABELS[i];
      if (NUMERIC.includes(name)) td.classList.add('num');
      tr.appendChild(td);
      row.cells[name] = td;
    });
    const button = el('button', 'screenshot', 'Screenshot');
    button.type = 'button';
    button.addEventListener('click', () => screenshot(data.session_id));
    row.cells.actions.appendChild(button);
    row.tr = tr;
    rows.set(data.session_id, row);
    $('sessions').tBodies[0].appendChild(tr);
  }
  row.data = Object.assign(row.data, data);
  render(row);
  return row;
}

export function removeRow(id) {
  const row = rows.get(id);
  if (!row) return;
  row.tr.remove();
  rows.delete(id);
  renderCount();
  renderSpendNow();
}

export function renderCount() {
  $('count').textContent = rows.size ? '(' + rows.size + ')' : '';
  $('empty').hidden = rows.size > 0;
}

export function render(row) {
  const d = row.data;
  const c = row.cells;
  const id = el('span', 'mono', shortId(d.session_id));
  id.title = d.session_id;
  c.session.replaceChildren(id);
  c.user.textContent = d.username || '';
  const badge = el('span', 'badge state', d.state || 'unknown');
  badge.dataset.state = d.state || 'unknown';
  c.state.replaceChildren(badge);
  row.tr.dataset.state = badge.dataset.state;
  if (d.busy) c.state.appendChild(el('span', 'badge busy', 'busy'));
  if (d.current_url) c.state.title = d.current_url;
  c.restarts.textContent = String(d.restarts == null ? '' : d.restarts);
  const history = row.detail && Array.isArray(row.detail.restart_history) ? row.detail.restart_history : [];
  c.restarts.title = history.map((h) => h.at + '  ' + (h.message || h.reason || '')).join('\n');
  c.keep.textContent = d.keep_alive ? 'yes' : 'no';
  c.keep.title = d.expires_at ? 'expires ' + d.expires_at : '';
  const memory = row.detail ? num(row.detail.memory_bytes) : null;
  c.memory.textContent = memory == null ? '–' : bytes(memory);
  renderCaptcha(row);
  renderTime(row);
}

// Spend and tasks come with the listing's row (and the detail's, which may be newer).
function spendOf(row) {
  // Both only grow, so the larger of the two is the newer.
  const from = (key) => {
    const listed = num(row.data[key]);
    const detailed = row.detail ? num(row.detail[key]) : null;
    if (listed == null || detailed == null) return listed == null ? detailed : listed;
    return Math.max(listed, detailed);
  };
  return { spend: from('captcha_spend_usd'), tasks: from('captcha_tasks') };
}

function renderCaptcha(row) {
  const { spend, tasks } = spendOf(row);
  const cell = row.cells.captcha;
  if (spend == null && tasks == null) {
    cell.textContent = '–';
    cell.title = '';
    return;
  }
  cell.textContent = spend == null ? String(tasks) : usd(spend);
  cell.title = tasks == null ? '' : tasks + (tasks === 1 ? ' captcha task' : ' captcha tasks');
}

// What the sessions listed now have spent on captchas, for the capacity tiles.
export function spendNow() {
  let spend = 0;
  let tasks = 0;
  let known = false;
  for (const row of rows.values()) {
    const s = spendOf(row);
    if (s.spend != null) { spend += s.spend; known = true; }
    if (s.tasks != null) tasks += s.tasks;
  }
  return known ? { spend, tasks } : null;
}

function renderSpendNow() {
  const now = spendNow();
  $('t-spend-now').textContent = now
    ? usd(now.spend) + ' on the ' + rows.size + ' listed (' + now.tasks + ' tasks)'
    : '';
}

// The cells that change with the clock: last refresh and the operation's elapsed time.
export function renderTime(row) {
  const d = row.data;
  const c = row.cells;
  c.refresh.textContent = d.last_refresh ? ago(d.last_refresh) : 'never';
  c.refresh.title = d.last_refresh || '';
  renderOperation(row);
}

export function renderTimes() {
  for (const row of rows.values()) renderTime(row);
}
