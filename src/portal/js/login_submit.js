/* Press LOGIN once it is enabled (the page enables it when it has seen the token). */
const b = pickVis(A.sel.submit)[0] || pick(A.sel.submit)[0];
if (!b || b.disabled || b.getAttribute('aria-disabled') === 'true') return null;
b.click();
return true;
