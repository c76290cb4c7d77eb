// emodal-api dashboard. Plain DOM, no framework, no build step: ES modules, one concern
// each, served by the binary (src/http/dashboard.rs).
//
//   api.js        the token and every call to the service
//   table.js      the sessions table (listing every 5 s), captcha spend per session
//   operation.js  the Operation cell: step, progress bar, elapsed
//   details.js    /sessions/{id} for busy rows every 2 s, idle ones every 30 s
//   events.js     the live feed (/events): rows move at once, progress updates in place
//   feed.js       the event list
//   screenshot.js the screenshot panel
//   capacity.js   the tiles at the top (/health, /metrics)
//
// This file starts and stops the polling, and owns the token form.

import { api, hasToken, onUnauthorized, setToken, status } from './api.js';
import { pollTop } from './capacity.js';
import { BUSY_DETAIL_EVERY, pollDetails } from './details.js';
import { connectFeed, disconnectFeed } from './events.js';
import { closeScreenshot } from './screenshot.js';
import { applySessions, pollSessions, removeRow, renderTimes, rows } from './table.js';
import { $, setLink } from './util.js';

const SESSIONS_EVERY = 5000;
const TOP_EVERY = 5000;

let timers = [];

async function start() {
  let response;
  try {
    response = await api('sessions');
  } catch (err) {
    setLink('no', 'service unreachable, retrying');
    setTimeout(start, 2000);
    return;
  }
  if (response.status === 401) {
    const had = hasToken();
    setToken('');
    showLogin(had ? 'That token was not accepted.' : '');
    return;
  }
  $('login').hidden = true;
  $('main').hidden = false;
  $('forget').hidden = !hasToken();
  status.running = true;
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
  status.running = false;
  timers.forEach(clearInterval);
  timers = [];
  disconnectFeed();
  for (const id of [...rows.keys()]) removeRow(id);
  showLogin(message);
}

function showLogin(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('forget').hidden = true;
  $('token-error').textContent = message || '';
  setLink('no', 'token needed');
  $('token').focus();
}

onUnauthorized(stop);

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setToken($('token').value.trim());
  $('token').value = '';
  start();
});

$('forget').addEventListener('click', () => {
  setToken('');
  stop('');
});

$('shot-close').addEventListener('click', closeScreenshot);

start();
