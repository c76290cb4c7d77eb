// The live event list: newest first, at most FEED_MAX lines. Progress events do not come
// here (events.js puts them in their session's row): a long grid read sends one per page
// and would push everything else out.

import { $, clock, el, shortId } from './util.js';

const FEED_MAX = 200;
const DETAIL = ['reason', 'error', 'step', 'operation', 'url', 'attempt', 'delay_ms', 'elapsed_ms'];

export function feed(event) {
  const at = event.timestamp ? new Date(event.timestamp) : new Date();
  const time = el('span', 't', isNaN(at) ? '' : clock(at));
  time.title = event.timestamp || '';
  const level = el('span', 'lv', event.level || '');
  level.dataset.level = event.level || '';
  const parts = [];
  if (event.session_id) parts.push(shortId(event.session_id));
  if (event.username) parts.push(event.username);
  for (const key of DETAIL) {
    if (event[key] != null && event[key] !== '') parts.push(key + ': ' + String(event[key]));
  }
  const detail = el('span', 'd', parts.join(' · '));
  detail.title = JSON.stringify(event);
  const li = el('li');
  li.append(time, level, el('span', 'ev', event.event), detail);
  addLine(li);
}

// A line from the page itself (connected, reconnected, missed events).
export function note(text) {
  const li = el('li', 'note');
  li.append(el('span', 't', clock(new Date())), el('span', 'lv'), el('span', 'ev', text));
  addLine(li);
}

function addLine(li) {
  const list = $('feed');
  list.insertBefore(li, list.firstChild);
  while (list.children.length > FEED_MAX) list.lastChild.remove();
  $('feed-count').textContent = '(' + list.children.length + ')';
}
