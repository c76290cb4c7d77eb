/* Login page: the reCAPTCHA v2 look-alike. LOGIN stays disabled until the hidden
 * textarea#g-recaptcha-response holds a token, set either directly (then the 100 ms poll notices)
 * or through the data-callback function, as solver scripts do with the real widget. */
(function () {
  'use strict';
  var ta = document.getElementById('g-recaptcha-response');
  var btn = document.getElementById('login-submit');
  var box = document.getElementById('recaptcha-anchor');
  var msg = document.getElementById('rc-message');
  var sitekey = document.querySelector('.g-recaptcha').getAttribute('data-sitekey');

  function sync() {
    var has = ta.value.trim().length > 0;
    if (btn.disabled === has) btn.disabled = !has;
    box.classList.toggle('checked', has);
    box.setAttribute('aria-checked', has ? 'true' : 'false');
    if (has) { box.classList.remove('spinning'); msg.textContent = ''; }
  }
  setInterval(sync, 100);
  ta.addEventListener('input', sync);
  ta.addEventListener('change', sync);

  window.onRecaptchaSuccess = function (token) {
    if (typeof token === 'string' && token) ta.value = token;
    sync();
  };
  window.onRecaptchaExpired = function () { ta.value = ''; sync(); };
  window.grecaptcha = {
    getResponse: function () { return ta.value; },
    reset: function () { ta.value = ''; sync(); },
    render: function () { return 0; },
    execute: function () {},
    ready: function (cb) { cb(); }
  };
  window.___grecaptcha_cfg = { count: 1, clients: { 0: { sitekey: sitekey, callback: 'onRecaptchaSuccess' } } };

  /* A person cannot solve this look-alike: say so instead of pretending. */
  box.addEventListener('click', function () {
    if (ta.value.trim()) return;
    box.classList.add('spinning');
    setTimeout(function () {
      box.classList.remove('spinning');
      if (!ta.value.trim()) msg.textContent = 'Please use the captcha service to solve this challenge.';
    }, 900);
  });
  document.getElementById('loginForm').addEventListener('submit', function (e) {
    if (!ta.value.trim()) { e.preventDefault(); msg.textContent = 'Please complete the captcha.'; }
  });
  sync();
})();
