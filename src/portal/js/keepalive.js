/* The keep-alive page: logged in when the app's ready element shows. */
const m = marker(); if (m) return m;
if (pick(A.sel.username).length) return 'logged_out';
if (pick(A.sel.keepalive_ready).length) return 'ok';
return null;
