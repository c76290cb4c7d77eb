// Small helpers shared by the dashboard's modules: element lookup and value formatting.
// Every value from the API reaches the page through textContent or an attribute, never
// as markup; these return strings for exactly that.

export const $ = (id) => document.getElementById(id);

// Create an element with a class and text in one call (the table and feed build many).
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

// The header's live indicator: 'yes' (green), 'no' (red).
export function setLink(live, text) {
  $('link').dataset.live = live;
  $('link').textContent = text;
}

export function shortId(id) {
  const s = String(id);
  const bare = s.startsWith('session_') ? s.slice(8) : s;
  return bare.length > 10 ? bare.slice(0, 8) + '…' : bare;
}

export function bytes(n) {
  if (n >= 1024 * 1024 * 1024) return (n / 1024 / 1024 / 1024).toFixed(2) + ' GB';
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(0) + ' MB';
  if (n >= 1024) return (n / 1024).toFixed(0) + ' KB';
  return n + ' B';
}

// Captcha spend: a task costs a fraction of a cent, so small sums keep three decimals.
export function usd(n) {
  return '$' + (n < 1 ? n.toFixed(3) : n.toFixed(2));
}

export function duration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

export function ago(iso) {
  const t = Date.parse(iso);
  if (isNaN(t)) return String(iso || '');
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 5) return 'just now';
  return duration(s * 1000) + ' ago';
}

export function clock(date) {
  return date.toLocaleTimeString([], { hour12: false });
}

// A number from the API, or null when the field is missing or not a number (an older
// service, or one whose new fields have not landed): callers show '–' then.
export function num(value) {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
