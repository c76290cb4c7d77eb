/* Prefix of a wait for a new page: the marked (old) document or one still loading is "not yet". */
if (window.__emodalOld || document.readyState === 'loading' || !document.body) return null;
