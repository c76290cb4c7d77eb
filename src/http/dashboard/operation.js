// The table's Operation cell: what a busy session is doing, how far it got, for how long.
//
// Two sources: the detail (/sessions/{id}, polled every 2 s for busy rows) has the name,
// the step, the elapsed time and the progress; an operation_progress event (row.live)
// has the step and progress as they change. The newer of the two is shown.

import { ago, duration, el, num } from './util.js';

// The operation to show for a row, or null when the row is idle.
export function currentOperation(row) {
  const d = row.data;
  const detail = row.detail || {};
  const op = d.busy && detail.operation && typeof detail.operation === 'object' ? detail.operation : null;
  const live = row.live;
  if (!op && !live) return null;
  const shown = { name: op ? op.name : null, step: op ? op.step : null, progress: null, elapsed: null };
  if (op) {
    shown.progress = progressOf(op.progress);
    if (num(op.elapsed_ms) != null) shown.elapsed = op.elapsed_ms + (Date.now() - row.detailAt);
  }
  if (live && (!op || live.at >= row.detailAt)) {
    shown.name = live.operation || shown.name;
    shown.step = live.step || shown.step;
    shown.progress = progressOf(live) || shown.progress;
  }
  return shown;
}

// {done, total, unit} from the API, with total null when not known; null if no count.
function progressOf(p) {
  if (!p || typeof p !== 'object' || num(p.done) == null) return null;
  const total = num(p.total);
  return { done: p.done, total: total != null && total > 0 ? total : null, unit: typeof p.unit === 'string' ? p.unit : '' };
}

export function renderOperation(row) {
  const cell = row.cells.op;
  // One box for the lines, so the phone layout (cells as label + value) keeps them stacked.
  const box = el('div');
  cell.replaceChildren(box);
  const detail = row.detail || {};
  const op = currentOperation(row);
  if (op) {
    box.appendChild(el('div', 'name', op.name || 'working'));
    const step = [op.step, op.elapsed == null ? '' : duration(op.elapsed)].filter(Boolean).join(' · ');
    if (step) box.appendChild(el('div', 'step', step));
    if (op.progress) box.appendChild(progressLine(op.progress, op.step || ''));
  } else {
    box.appendChild(el('div', null, row.data.busy ? 'working' : '–'));
  }
  cell.dataset.progress = op && op.progress ? op.progress.done + '/' + (op.progress.total ?? '') : '';
  // The queue counts the running request too: say how many wait behind it.
  const waiting = (num(detail.queue_length) || 0) - (row.data.busy ? 1 : 0);
  if (waiting > 0) box.appendChild(el('div', 'step', waiting + ' waiting'));
  if (detail.last_error && detail.last_error.message) {
    const e = el('div', 'err', 'last error ' + ago(detail.last_error.at) + ': ' + detail.last_error.message);
    e.title = detail.last_error.message;
    box.appendChild(e);
  }
}

// A bar when the total is known, the count alone otherwise. The driver's step often says
// the counts already ("scrolled 75 of 120 rows"): then the bar's label is the percentage.
function progressLine(p, step) {
  const line = el('div', 'progress');
  const unit = p.unit ? ' ' + p.unit : '';
  const says = (n) => new RegExp('\\b' + n + '\\b').test(step);
  if (p.total != null) {
    const bar = el('progress');
    bar.max = p.total;
    bar.value = Math.min(p.done, p.total);
    const percent = Math.round((100 * bar.value) / p.total) + '%';
    bar.textContent = percent;
    const label = says(p.done) && says(p.total) ? percent : p.done + ' / ' + p.total + unit;
    line.append(bar, el('span', 'count', label));
  } else if (!says(p.done)) {
    line.append(el('span', 'count', p.done + unit));
  }
  return line;
}
