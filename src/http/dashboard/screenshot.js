// The screenshot panel: a PNG of what a session's Chrome shows now, fetched with the token
// (an <img src> cannot send one) and shown through a blob: URL, which the policy allows.

import { api } from './api.js';
import { $, shortId } from './util.js';

let shotUrl = null;
let shotFor = null;

export async function screenshot(id) {
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

export function closeScreenshot() {
  $('shot').hidden = true;
  shotFor = null;
  $('shot-img').removeAttribute('src');
  if (shotUrl) URL.revokeObjectURL(shotUrl);
  shotUrl = null;
}
