/* Wait for the login form and read the reCAPTCHA site key: from a data-sitekey attribute,
 * or from the `k` parameter of Google's anchor iframe (the real widget renders only that). */
const m = marker(); if (m) return {state: m};
if (!pick(A.sel.username).length || !pick(A.sel.password).length) return null;
for (const w of pick(A.sel.recaptcha)) {
  const attr = w.getAttribute('data-sitekey');
  if (attr) return {state: 'form', site_key: attr, url: location.href};
  const src = w.getAttribute('src');
  if (src) {
    try { const k = new URL(src, location.href).searchParams.get('k'); if (k) return {state: 'form', site_key: k, url: location.href}; } catch (e) {}
  }
}
return null;
