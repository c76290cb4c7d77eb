/* Page-level overlays of the wizard and My Appointments (loaded after material.js): the
 * app's dialogs, the snack-bar, and the full-page loading layer. */
(function () {
  'use strict';
  var el = Mat.el;
  var C = Mat.C;

  /* A modal dialog (MatDialog with the app's own content): div.dialog-content > span text and
   * one CLOSE button. The backdrop does not close it: the page is blocked until CLOSE. */
  Mat.dialog = function (message, onClose, buttonText) {
    Mat.closeOverlays();
    var c = Mat.overlay();
    var host = el('div', { class: 'dialog-host' });
    var close = function () { host.remove(); if (onClose) onClose(); };
    host.appendChild(el('div', { class: 'cdk-overlay-backdrop cdk-overlay-dark-backdrop cdk-overlay-backdrop-showing' }));
    var wrap = el('div', { class: 'cdk-global-overlay-wrapper', dir: 'ltr' });
    var pane = el('div', { class: 'cdk-overlay-pane ' + C('mat-dialog-panel', 'mat-mdc-dialog-panel') });
    pane.style.position = 'static';
    var dc = el('mat-dialog-container', { class: C('mat-dialog-container', 'mat-mdc-dialog-container mdc-dialog cdk-dialog-container mdc-dialog--open'), role: 'dialog', 'aria-modal': 'true', tabindex: '-1' });
    var content = el('div', { class: 'dialog-content ' + C('mat-dialog-content', 'mat-mdc-dialog-content mdc-dialog__content'), 'mat-dialog-content': '' });
    content.appendChild(el('span', { class: 'dialog-message', text: message }));
    var actions = el('div', { class: C('mat-dialog-actions', 'mat-mdc-dialog-actions mdc-dialog__actions'), 'mat-dialog-actions': '' });
    var ok = Mat.button(buttonText || 'CLOSE', 'basic', 'dialog-close');
    ok.setAttribute('mat-dialog-close', '');
    ok.addEventListener('click', close);
    actions.appendChild(ok);
    dc.appendChild(content);
    dc.appendChild(actions);
    pane.appendChild(dc);
    wrap.appendChild(pane);
    host.appendChild(wrap);
    c.appendChild(host);
    ok.focus();
  };

  /* A snack-bar message at the bottom; it goes away by itself. */
  Mat.snackBar = function (message, ms) {
    var c = Mat.overlay();
    c.querySelectorAll('.snack-host').forEach(function (b) { b.remove(); });
    var host = el('div', { class: 'snack-host cdk-global-overlay-wrapper' });
    var pane = el('div', { class: 'cdk-overlay-pane' });
    var bar = el(C('snack-bar-container', 'mat-snack-bar-container'), { class: C('mat-snack-bar-container', 'mat-mdc-snack-bar-container mdc-snackbar--open'), role: 'alert' });
    var simple = el('simple-snack-bar', { class: C('mat-simple-snackbar', 'mat-mdc-simple-snack-bar') });
    simple.appendChild(el(C('span', 'div'), { class: C('snack-text', 'mat-mdc-snack-bar-label mdc-snackbar__label'), text: message }));
    bar.appendChild(simple);
    pane.appendChild(bar);
    host.appendChild(pane);
    c.appendChild(host);
    setTimeout(function () { host.remove(); }, ms || 6000);
  };

  /* The app's full-page loading layer: translucent white with a small red spinner. Returns a
   * function that removes it. */
  Mat.pageSpinner = function () {
    var s = el('ngx-spinner', { class: 'page-spinner' });
    var o = el('div', { class: 'ngx-spinner-overlay' });
    var b = el('div', { class: 'la-ball-clip-rotate la-sm', style: 'color:#d32f2f' });
    b.appendChild(el('div'));
    o.appendChild(b);
    s.appendChild(o);
    document.body.appendChild(s);
    return function () { s.remove(); };
  };
})();
