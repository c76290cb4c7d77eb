// The live feed: /events (Server-Sent Events) read with fetch, because EventSource cannot
// send the token. Each event moves its session's row at once, and goes to the feed list,
// except operation progress, which only updates the row.

import { api, status } from './api.js';
import { feed, note } from './feed.js';
import { pollSessions, pollSessionsSoon, removeRow, removedAt, render, renderCount, renderTime, rows, upsert } from './table.js';
import { num, setLink } from './util.js';

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

let abort = null;
let connects = 0;

export async function connectFeed(attempt) {
  if (!status.running) return;
  const controller = new AbortController();
  abort = controller;
  let opened = false;
  try {
    const response = await api('events', { signal: controller.signal });
    if (!response.ok || !response.body) throw new Error('HTTP ' + response.status);
    opened = true;
    setLink('yes', 'live');
    note(attempt || connects ? 'reconnected to the live feed' : 'connected to the live feed');
    connects += 1;
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
  if (!status.running || abort !== controller) return;
  setLink('no', 'reconnecting');
  const next = opened ? 0 : attempt + 1;
  const wait = Math.min(30000, 500 * Math.pow(2, next)) * (0.75 + Math.random() / 2);
  setTimeout(() => connectFeed(next), wait);
}

export function disconnectFeed() {
  if (abort) abort.abort();
  abort = null;
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
  if (event.event === 'operation_progress') {
    applyProgress(event);
    return;
  }
  applyEvent(event);
  feed(event);
}

// A step of a running operation: the row's Operation cell, without asking the service.
function applyProgress(event) {
  const row = rows.get(event.session_id);
  if (!row) return;
  row.live = {
    operation: typeof event.operation === 'string' ? event.operation : null,
    step: typeof event.step === 'string' ? event.step : null,
    done: num(event.done),
    total: num(event.total),
    unit: typeof event.unit === 'string' ? event.unit : '',
    at: Date.now(),
  };
  if (!row.data.busy) {
    row.data.busy = true;
    render(row);
  } else {
    renderTime(row);
  }
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
    upsert({ session_id: id, username: event.username || '', state: state, restarts: 0 }).eventAt = Date.now();
    renderCount();
    pollSessionsSoon();
    return;
  }
  // A restart starts a new Chrome under the same id: the row stays `restarting` (as the
  // listing says) until the session is ready again.
  if (event.event !== 'session_started') row.data.state = state;
  if (event.event === 'session_restarting') row.data.restarts = (row.data.restarts || 0) + 1;
  if (state !== 'ready' || event.event === 'login_succeeded') {
    // Whatever was running ended with that Chrome (or before the login).
    row.data.busy = false;
    row.live = null;
  }
  row.eventAt = Date.now();
  render(row);
}
