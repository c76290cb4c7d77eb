// The API token and every call to the service.
//
// The token lives in sessionStorage (this tab only) and goes out as a bearer header;
// EventSource cannot send headers, so even the live feed is a fetch made here.

const TOKEN_KEY = 'emodal-api-token';

// Whether the page is showing data (started with an accepted token, or none needed).
export const status = { running: false };

let token = sessionStorage.getItem(TOKEN_KEY) || '';
let unauthorized = () => {};

export function hasToken() {
  return token !== '';
}

export function setToken(value) {
  token = value;
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

// What to do when a running page gets a 401 (app.js: stop and ask for a token again).
export function onUnauthorized(f) {
  unauthorized = f;
}

// Paths are relative ('sessions', not '/sessions'), so the page works behind a reverse
// proxy that serves the service under a prefix.
export async function api(path, init) {
  const headers = token ? { Authorization: 'Bearer ' + token } : {};
  const response = await fetch(path, Object.assign({ headers, cache: 'no-store' }, init));
  if (response.status === 401 && status.running) {
    // The token was removed from the service, or never right: ask again.
    unauthorized('That token is no longer accepted.');
  }
  return response;
}
