/* Wait for the containers page: its grid box, or a page the profile recognises. */
const m = marker(); if (m) return {state: m};
if (pick(A.sel.username).length) return {state: 'logged_out'};
return gridBox() ? {state: 'ok'} : null;
