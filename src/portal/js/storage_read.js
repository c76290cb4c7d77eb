/* The web storage of the page's own origin (a page can read no other's). Opaque origins
 * (about:blank, data:) have none worth keeping. */
if (!/^https?:/.test(location.protocol)) return null;
const read = (store) => {
  const out = {};
  try {
    for (let i = 0; i < store.length; i++) {
      const k = store.key(i);
      out[k] = store.getItem(k);
    }
  } catch (e) { /* storage disabled for this origin */ }
  return out;
};
return { origin: location.origin, local: read(window.localStorage), session: read(window.sessionStorage) };
