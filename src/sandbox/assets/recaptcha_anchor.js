/* The reCAPTCHA anchor frame: a checkbox that only a solved token checks. Clicking it spins,
 * then says a service must solve it (the sandbox has no challenge to show). The parent page
 * posts {recaptchaSolved} when its textarea or callback got a token. */
(function () {
  'use strict';
  var box = document.getElementById('recaptcha-anchor');
  var msg = document.getElementById('rc-message');
  function set(on) {
    box.setAttribute('aria-checked', on ? 'true' : 'false');
    box.classList.toggle('recaptcha-checkbox-checked', on);
    box.classList.toggle('recaptcha-checkbox-unchecked', !on);
    box.classList.toggle('checked', on);
    if (on) { box.classList.remove('spinning'); msg.textContent = ''; }
  }
  window.addEventListener('message', function (e) {
    if (e.data && typeof e.data.recaptchaSolved === 'boolean') set(e.data.recaptchaSolved);
  });
  box.addEventListener('click', function () {
    if (box.getAttribute('aria-checked') === 'true') return;
    box.classList.add('spinning');
    setTimeout(function () {
      box.classList.remove('spinning');
      if (box.getAttribute('aria-checked') !== 'true') msg.textContent = 'Please use the captcha service to solve this challenge.';
    }, 900);
  });
})();
