/* Where did LOGIN lead? The app, a login error, the login form again, an interstitial
 * prompt (pressed here), or some other page (an identity or Welcome page). */
if (document.readyState === 'loading' || !document.body) return null;
if (window.__emodalOld) return null;
/* Just pressed a prompt: give it time to navigate or close. */
if (window.__emodalPrompted && Date.now() - window.__emodalPrompted < 2000) return null;
const t = document.body.innerText.toLowerCase();
if (A.bad_credentials.some(x => t.includes(x))) return {state: 'bad_credentials'};
const m = marker(); if (m) return {state: m};
if (pick(A.sel.username).length && pick(A.sel.password).length) {
  return {state: A.captcha_error.some(x => t.includes(x)) ? 'captcha' : 'login_form'};
}
const words = A.prompt_buttons.map(w => w.toLowerCase());
const prompt = pick(A.sel.prompt_controls).filter(vis)
  .find(b => words.includes(low(b.textContent || b.value)));
if (prompt) { window.__emodalPrompted = Date.now(); prompt.click(); return {state: 'prompt', text: norm(prompt.textContent || prompt.value)}; }
if (pick(A.sel.keepalive_ready).length) return {state: 'app', url: location.href};
return {state: 'other', url: location.href};
