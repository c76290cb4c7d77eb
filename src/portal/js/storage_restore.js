/* Installed with Page.addScriptToEvaluateOnNewDocument before a restored session's first
 * navigation: runs in every new document before the page's own scripts, and puts back the
 * web storage its origin had in the snapshot. Only keys the page does not have yet, so what
 * the app writes after it started is never overwritten by the older copy. */
(() => {
  const saved = A.storage[location.origin];
  if (!saved) return;
  const fill = (store, items) => {
    try {
      for (const [k, v] of Object.entries(items || {})) {
        if (store.getItem(k) === null) store.setItem(k, v);
      }
    } catch (e) { /* storage disabled for this origin: nothing to restore into */ }
  };
  fill(window.localStorage, saved.local);
  fill(window.sessionStorage, saved.session);
})();
