// Per-session detail (/sessions/{id}): the operation, queue, last error, restart history,
// memory and captcha spend that the listing does not carry. Busy rows are asked every
// 2 s, idle ones every 30 s, so a page with fifty idle sessions stays quiet.

import { api } from './api.js';
import { render, rows } from './table.js';

export const BUSY_DETAIL_EVERY = 2000;
const IDLE_DETAIL_EVERY = 30000;

let running = false;

export async function pollDetails() {
  if (running) return;
  running = true;
  try {
    const now = Date.now();
    const due = [...rows.values()].filter((row) => {
      const every = row.data.busy ? BUSY_DETAIL_EVERY : IDLE_DETAIL_EVERY;
      return now - row.detailTried >= every - 100;
    });
    await Promise.all(due.map(fetchDetail));
  } finally {
    running = false;
  }
}

async function fetchDetail(row) {
  const id = row.data.session_id;
  const asked = Date.now();
  row.detailTried = asked;
  try {
    const response = await api('sessions/' + encodeURIComponent(id));
    // 404: gone, or a service without the detail endpoint; the listing decides which.
    if (!response.ok) return;
    const body = await response.json();
    const current = rows.get(id);
    if (!current || !body.session) return;
    current.detail = body.session;
    current.detailAt = Date.now();
    // No operation now, asked after the last progress event: that operation is over.
    if (!body.session.operation && current.live && current.live.at < asked) current.live = null;
    if (typeof body.session.busy === 'boolean' && !(current.live && current.live.at >= asked)) {
      current.data.busy = body.session.busy;
    }
    render(current);
  } catch (err) {
    // The next round tries again.
  }
}
