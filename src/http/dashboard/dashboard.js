// emodal-api dashboard. Plain DOM, no framework, no build step.
//
// Data flow: /sessions is the truth, polled every 5 s; /events (Server-Sent Events, read
// with fetch because EventSource cannot send the token) moves a row's state as soon as
// the service says so; /sessions/{id} fills in the operation of busy sessions every 2 s.
// Every value from the API reaches the page through textContent or an attribute, never
// as markup.
'use strict';

const TOKEN_KEY = 'emodal-api-token';
const SESSIONS_EVERY = 5000;
const TOP_EVERY = 5000;
const BUSY_DETAIL_EVERY = 2000;
const IDLE_DETAIL_EVERY = 30000;
const FEED_MAX = 200;

// What an event says about its session's state; null removes the row.
const EVENT_STATE = {
  session_started: 'starting',
  login_succeeded: 'ready',
  session_restored: 'ready',
  session_restoring: 'restoring',
  session_restarting: 'restarting',
  session_waiting: 'waiting',
  session_closed: null,
  session_dropped: null,
  session_expired: null,
};

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(TOKEN_KEY) || '';
let running = false;
const rows = new Map(); // session id -> {data, detail, detailAt, detailTried, eventAt, tr, cells}
const removedAt = new Map(); // session id -> when an event removed it

// ---- HTTP ----------------------------------------------------------------------------

function headers() {
  return token ? { Authorization: 'Bearer ' + token } : {};
}

async function api(path, init) {
  const response = await fetch(path, Object.assign({ headers: headers(), cache: 'no-store' }, init));
  if (response.status === 401 && running) {
    // The token was removed from the service, or never right: ask again.
    stop('That token is no longer accepted.');
  }
  return response;
}

// ---- token form ------------------------------------------------------------------------

function showLogin(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('forget').hidden = true;
  $('token-error').textContent = message || '';
  setLink('no', 'token needed');
  $('token').focus();
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  $('token').value = '';
  sessionStorage.setItem(TOKEN_KEY, token);
  start();
});

$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  token = '';
  stop('');
});

// ---- start and stop --------------------------------------------------------------------

let timers = [];
let feedAbort = null;

async function start() {
  let response;
  try {
    response = await fetch('sessions', { headers: headers(), cache: 'no-store' });
  } catch (err) {
    setLink('no', 'service unreachable, retrying');
    setTimeout(start, 2000);
    return;
  }
  if (response.status === 401) {
    if (token) sessionStorage.removeItem(TOKEN_KEY);
    showLogin(token ? 'That token was not accepted.' : '');
    token = '';
    return;
  }
  $('login').hidden = true;
  $('main').hidden = false;
  $('forget').hidden = !token;
  running = true;
  if (response.ok) applySessions((await response.json()).sessions || [], 0);
  timers = [
    setInterval(pollSessions, SESSIONS_EVERY),
    setInterval(pollTop, TOP_EVERY),
    setInterval(pollDetails, BUSY_DETAIL_EVERY),
    setInterval(renderTimes, 1000),
  ];
  pollTop();
  pollDetails();
  connectFeed(0);
}

function stop(message) {
  running = false;
  timers.forEach(clearInterval);
  timers = [];
  if (feedAbort) feedAbort.abort();
  feedAbort = null;
  for (const id of [...rows.keys()]) removeRow(id);
  showLogin(message);
}

// ---- sessions table --------------------------------------------------------------------

async function pollSessions() {
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
function pollSessionsSoon() {
  if (soon) return;
  soon = setTimeout(() => { soon = null; pollSessions(); }, 250);
}

// A listing asked for at `asked` (ms) must not undo what a later event said.
function applySessions(list, asked) {
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
    upsert(s);
  }
  for (const [id, row] of rows) {
    if (!seen.has(id) && row.eventAt <= asked) removeRow(id);
  }
  renderCount();
  const table = $('sessions');
  table.dataset.listings = String(Number(table.dataset.listings || 0) + 1);
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString([], { hour12: false });
}

const COLUMNS = ['session', 'user', 'state', 'op', 'restarts', 'refresh', 'memory', 'keep', 'actions'];
const LABELS = ['Session', 'User', 'State', 'Operation', 'Restarts', 'Last refresh', 'Memory', 'Keep-alive', ''];

function upsert(data) {
  let row = rows.get(data.session_id);
  if (!row) {
    row = { data: {}, detail: null, detailAt: 0, detailTried: 0, eventAt: 0, cells: {} };
    const tr = document.createElement('tr');
    tr.dataset.sessionId = data.session_id;
    COLUMNS.forEach((name, i) => {
      const td = document.createElement('td');
      td.className = name;
      td.dataset.label = LABELS[i];
      tr.appendChild(td);
      row.cells[name] = td;
    });
    row.cells.restarts.classList.add('num');
    row.cells.memory.classList.add('num');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'screenshot';
    button.textContent = 'Screenshot';
    button.addEventListener('click', () => screenshot(data.session_id));
    row.cells.actions.appendChild(button);
    row.tr = tr;
    rows.set(data.session_id, row);
    $('sessions').tBodies[0].appendChild(tr);
  }
  row.data = Object.assign(row.data, data);
  render(row);
}

function removeRow(id) {
  const row = rows.get(id);
  if (!row) return;
  row.tr.remove();
  rows.delete(id);
  renderCount();
}

function renderCount() {
  $('count').textContent = rows.size ? '(' + rows.size + ')' : '';
  $('empty').hidden = rows.size > 0;
}

function render(row) {
  const d = row.data;
  const c = row.cells;
  c.session.textContent = '';
  const id = document.createElement('span');
  id.className = 'mono';
  id.textContent = shortId(d.session_id);
  id.title = d.session_id;
  c.session.appendChild(id);
  c.user.textContent = d.username || '';
  c.state.textContent = '';
  const badge = document.createElement('span');
  badge.className = 'badge state';
  badge.dataset.state = d.state || 'unknown';
  badge.textContent = d.state || 'unknown';
  c.state.appendChild(badge);
  row.tr.dataset.state = badge.dataset.state;
  if (d.busy) {
    const busy = document.createElement('span');
    busy.className = 'badge busy';
    busy.textContent = 'busy';
    c.state.appendChild(busy);
  }
  if (d.current_url) c.state.title = d.current_url;
  c.restarts.textContent = String(d.restarts == null ? '' : d.restarts);
  const history = row.detail && Array.isArray(row.detail.restart_history) ? row.detail.restart_history : [];
  c.restarts.title = history.map((h) => h.at + '  ' + h.reason).join('\n');
  c.keep.textContent = d.keep_alive ? 'yes' : 'no';
  c.keep.title = d.expires_at ? 'expires ' + d.expires_at : '';
  const memory = row.detail ? row.detail.memory_bytes : null;
  c.memory.textContent = memory == null ? '–' : bytes(memory);
  renderTime(row);
}

// The cells that change with the clock: last refresh and the operation's elapsed time.
function renderTime(row) {
  const d = row.data;
  const c = row.cells;
  c.refresh.textContent = d.last_refresh ? ago(d.last_refresh) : 'never';
  c.refresh.title = d.last_refresh || '';
  c.op.textContent = '';
  // One box for the lines, so the phone layout (cells as label + value) keeps them stacked.
  const box = document.createElement('div');
  c.op.appendChild(box);
  const detail = row.detail || {};
  const op = d.busy ? detail.operation : null;
  const line = document.createElement('div');
  if (op && op.name) {
    line.textContent = op.name;
    box.appendChild(line);
    const step = document.createElement('div');
    step.className = 'step';
    const elapsed = (op.elapsed_ms || 0) + (Date.now() - row.detailAt);
    step.textContent = [op.step, duration(elapsed)].filter(Boolean).join(' · ');
    box.appendChild(step);
  } else {
    line.textContent = d.busy ? 'working' : '–';
    box.appendChild(line);
  }
  if (detail.queue_length > 0) {
    const q = document.createElement('div');
    q.className = 'step';
    q.textContent = detail.queue_length + ' in flight';
    box.appendChild(q);
  }
  if (detail.last_error && detail.last_error.message) {
    const e = document.createElement('div');
    e.className = 'err';
    e.textContent = 'last error ' + ago(detail.last_error.at) + ': ' + detail.last_error.message;
    e.title = detail.last_error.message;
    box.appendChild(e);
  }
}

function renderTimes() {
  for (const row of rows.values()) renderTime(row);
}

// ---- per-session detail ----------------------------------------------------------------

let detailsRunning = false;

async function pollDetails() {
  if (detailsRunning) return;
  detailsRunning = true;
  try {
    const now = Date.now();
    const due = [...rows.values()].filter((row) => {
      const every = row.data.busy ? BUSY_DETAIL_EVERY : IDLE_DETAIL_EVERY;
      return now - row.detailTried >= every - 100;
    });
    await Promise.all(due.map(fetchDetail));
  } finally {
    detailsRunning = false;
  }
}

async function fetchDetail(row) {
  const id = row.data.session_id;
  row.detailTried = Date.now();
  try {
    const response = await api('sessions/' + encodeURIComponent(id));
    // 404: gone, or a service without the detail endpoint; the listing decides which.
    if (!response.ok) return;
    const body = await response.json();
    const current = rows.get(id);
    if (!current || !body.session) return;
    current.detail = body.session;
    current.detailAt = Date.now();
    render(current);
  } catch (err) {
    // The next round tries again.
  }
}

// ---- screenshot ------------------------------------------------------------------------

let shotUrl = null;
let shotFor = null;

async function screenshot(id) {
  shotFor = id;
  $('shot').hidden = false;
  $('shot-title').textContent = shortId(id);
  $('shot-status').textContent = 'Taking a screenshot…';
  const img = $('shot-img');
  try {
    const response = await api('sessions/' + encodeURIComponent(id) + '/screenshot');
    if (shotFor !== id) return;
    if (!response.ok || !(response.headers.get('content-type') || '').startsWith('image/')) {
      let message = 'HTTP ' + response.status;
      try { message = (await response.json()).error || message; } catch (err) { /* not JSON */ }
      $('shot-status').textContent = 'No screenshot: ' + message;
      img.removeAttribute('src');
      return;
    }
    const blob = await response.blob();
    if (shotUrl) URL.revokeObjectURL(shotUrl);
    shotUrl = URL.createObjectURL(blob);
    img.src = shotUrl;
    $('shot-status').textContent = 'Taken ' + new Date().toLocaleTimeString();
    $('shot').scrollIntoView({ block: 'nearest' });
  } catch (err) {
    $('shot-status').textContent = 'No screenshot: ' + err.message;
  }
}

$('shot-close').addEventListener('click', () => {
  $('shot').hidden = true;
  shotFor = null;
  $('shot-img').removeAttribute('src');
  if (shotUrl) URL.revokeObjectURL(shotUrl);
  shotUrl = null;
});

// ---- capacity, pressure, spend, memory -----------------------------------------------

async function pollTop() {
  try {
    const [health, metrics] = await Promise.all([
      api('health').then((r) => (r.ok ? r.json() : null)),
      api('metrics').then((r) => (r.ok ? r.text() : null)),
    ]);
    const m = metrics ? parseMetrics(metrics) : {};
    if (health) {
      const active = health.active_sessions || 0;
      const max = health.max_sessions || 0;
      $('t-capacity').textContent = active + ' / ' + max;
      $('t-capacity-sub').textContent = (health.persistent_sessions || 0) + ' persistent · ' +
        (health.spare_browsers == null ? '–' : health.spare_browsers) + ' spare browsers';
      const share = max ? active / max : 0;
      $('t-pressure').textContent = Math.round(share * 100) + '%';
      const bar = $('t-pressure-bar');
      bar.style.width = Math.min(100, share * 100) + '%';
      bar.className = share >= 0.9 ? 'bad' : share >= 0.7 ? 'warn' : '';
    }
    const queue = m.emodal_session_queue_depth_total;
    $('t-pressure-sub').textContent = 'queue ' + (queue == null ? '–' : queue) +
      (m.emodal_session_queue_depth_max ? ' (max ' + m.emodal_session_queue_depth_max + ' on one)' : '');
    const spend = m.emodal_captcha_spend_usd;
    $('t-spend').textContent = spend == null ? '–' : '$' + spend.toFixed(2);
    const solved = m.emodal_captcha_tasks_solved_total;
    $('t-spend-sub').textContent = solved == null ? 'since start' : solved + ' captchas solved since start';
    const memory = m.emodal_chrome_memory_bytes;
    $('t-memory').textContent = memory == null ? '–' : bytes(memory);
    const own = m.emodal_process_resident_bytes;
    $('t-memory-sub').textContent = (m.emodal_chrome_memory_max_session_bytes != null
      ? 'largest session ' + bytes(m.emodal_chrome_memory_max_session_bytes) : '') +
      (own != null ? ' · service ' + bytes(own) : '');
  } catch (err) {
    // The feed's indicator says when the service is away.
  }
}

// Prometheus text: one sample per line, `name{labels} value`; summed over labels.
function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line[0] === '#') continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    out[match[1]] = (out[match[1]] || 0) + value;
  }
  return out;
}

// ---- live events ---------------------------------------------------------------------

let feedConnects = 0;

async function connectFeed(attempt) {
  if (!running) return;
  const controller = new AbortController();
  feedAbort = controller;
  let opened = false;
  try {
    const response = await api('events', { signal: controller.signal });
    if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
    opened = true;
    setLink('yes', 'live');
    note(attempt || feedConnects ? 'reconnected to the live feed' : 'connected to the live feed');
    feedConnects += 1;
    // Whatever happened while we were away is in the listing.
    pollSessions();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        onFrame(frame);
      }
    }
  } catch (err) {
    if (controller.signal.aborted) return;
  }
  if (!running || feedAbort !== controller) return;
  setLink('no', 'reconnecting');
  const next = opened ? 0 : attempt + 1;
  const wait = Math.min(30000, 500 * Math.pow(2, next)) * (0.75 + Math.random() / 2);
  setTimeout(() => connectFeed(next), wait);
}

function onFrame(frame) {
  let name = 'message';
  const data = [];
  for (const line of frame.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value[0] === ' ') value = value.slice(1);
    if (field === '') {
      // A comment: keep-alive, or `lagged n` (events were skipped: the listing has them).
      if (value.trim().startsWith('lagged')) {
        note('missed ' + value.trim().slice(6).trim() + ' events; reloaded the sessions');
        pollSessions();
      }
    } else if (field === 'event') {
      name = value;
    } else if (field === 'data') {
      data.push(value);
    }
  }
  if (!data.length) return;
  let event;
  try {
    event = JSON.parse(data.join('\n'));
  } catch (err) {
    return;
  }
  if (!event || typeof event !== 'object') return;
  event.event = event.event || name;
  applyEvent(event);
  feed(event);
}

function applyEvent(event) {
  const id = event.session_id;
  if (typeof id !== 'string' || !(event.event in EVENT_STATE)) {
    if (event.event === 'refresh_succeeded' && rows.has(id)) {
      const row = rows.get(id);
      row.data.last_refresh = event.timestamp || new Date().toISOString();
      render(row);
    }
    return;
  }
  const state = EVENT_STATE[event.event];
  if (state === null) {
    removedAt.set(id, Date.now());
    removeRow(id);
    return;
  }
  const row = rows.get(id);
  if (!row) {
    // A session we have not listed yet: show what the event knows, the listing fills in.
    upsert({ session_id: id, username: event.username || '', state: state, restarts: 0 });
    rows.get(id).eventAt = Date.now();
    renderCount();
    pollSessionsSoon();
    return;
  }
  // A restart starts a new Chrome under the same id: the row stays `restarting` (as the
  // listing says) until the session is ready again.
  if (event.event !== 'session_started') row.data.state = state;
  if (event.event === 'session_restarting') row.data.restarts = (row.data.restarts || 0) + 1;
  if (state !== 'ready' || event.event === 'login_succeeded') row.data.busy = false;
  row.eventAt = Date.now();
  render(row);
}

const FEED_DETAIL = ['reason', 'error', 'step', 'operation', 'url', 'attempt', 'delay_ms', 'elapsed_ms'];

function feed(event) {
  const li = document.createElement('li');
  const time = document.createElement('span');
  time.className = 't';
  const at = event.timestamp ? new Date(event.timestamp) : new Date();
  time.textContent = isNaN(at) ? '' : at.toLocaleTimeString([], { hour12: false });
  time.title = event.timestamp || '';
  const level = document.createElement('span');
  level.className = 'lv';
  level.dataset.level = event.level || '';
  level.textContent = event.level || '';
  const name = document.createElement('span');
  name.className = 'ev';
  name.textContent = event.event;
  const detail = document.createElement('span');
  detail.className = 'd';
  const parts = [];
  if (event.session_id) parts.push(shortId(event.session_id));
  if (event.username) parts.push(event.username);
  for (const key of FEED_DETAIL) {
    if (event[key] != null && event[key] !== '') parts.push(key + ': ' + String(event[key]));
  }
  detail.textContent = parts.join(' · ');
  detail.title = JSON.stringify(event);
  li.append(time, level, name, detail);
  addLine(li);
}

function note(text) {
  const li = document.createElement('li');
  li.className = 'note';
  const time = document.createElement('span');
  time.className = 't';
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  const level = document.createElement('span');
  level.className = 'lv';
  const name = document.createElement('span');
  name.className = 'ev';
  name.textContent = text;
  li.append(time, level, name);
  addLine(li);
}

function addLine(li) {
  const list = $('feed');
  list.insertBefore(li, list.firstChild);
  while (list.children.length > FEED_MAX) list.lastChild.remove();
  $('feed-count').textContent = '(' + list.children.length + ')';
}

// ---- formatting ------------------------------------------------------------------------

function setLink(live, text) {
  $('link').dataset.live = live;
  $('link').textContent = text;
}

function shortId(id) {
  const s = String(id);
  const bare = s.startsWith('session_') ? s.slice(8) : s;
  return bare.length > 10 ? bare.slice(0, 8) + '…' : bare;
}

function bytes(n) {
  if (n >= 1024 * 1024 * 1024) return (n / 1024 / 1024 / 1024).toFixed(2) + ' GB';
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(0) + ' MB';
  if (n >= 1024) return (n / 1024).toFixed(0) + ' KB';
  return n + ' B';
}

function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

function ago(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return String(iso || '');
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  return duration(s * 1000) + ' ago';
}

start();
