// The tiles at the top: capacity, pressure, captcha spend and memory, from /health and
// /metrics (Prometheus text, parsed here: a few sums need no client library).

import { api } from './api.js';
import { spendNow } from './table.js';
import { $, bytes, usd } from './util.js';

export async function pollTop() {
  try {
    const [health, metrics] = await Promise.all([
      api('health').then((r) => (r.ok ? r.json() : null)),
      api('metrics').then((r) => (r.ok ? r.text() : null)),
    ]);
    const m = metrics ? parseMetrics(metrics) : {};
    if (health) renderCapacity(health);
    const queue = m.emodal_session_queue_depth_total;
    $('t-pressure-sub').textContent = 'queue ' + (queue == null ? '–' : queue) +
      (m.emodal_session_queue_depth_max ? ' (max ' + m.emodal_session_queue_depth_max + ' on one)' : '');
    renderSpend(m);
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

function renderCapacity(health) {
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

// Since the service started (metrics, closed sessions included); without metrics, what
// the sessions listed now have spent. The tile's last line (table.js) has the latter.
function renderSpend(m) {
  const since = m.emodal_captcha_spend_usd;
  const solved = m.emodal_captcha_tasks_solved_total;
  if (since != null) {
    $('t-spend').textContent = usd(since);
    $('t-spend-sub').textContent = 'since start' + (solved == null ? '' : ' · ' + solved + ' solved');
    return;
  }
  const now = spendNow();
  $('t-spend').textContent = now ? usd(now.spend) : '–';
  $('t-spend-sub').textContent = now ? 'listed sessions' : '';
}

// Prometheus text: one sample per line, `name{labels} value`; summed over labels.
export function parseMetrics(text) {
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
