/* Shared client helpers of the sandbox portal: a tiny stand-in for Angular Material's runtime.
 * Overlays (select panels, autocomplete, dialogs) live in div.cdk-overlay-container at the end of
 * <body>, as with the Angular CDK, so drivers find them in the same place. */
(function () {
  'use strict';
  var GLYPHS = {
    keyboard_arrow_right: '\u203A', keyboard_arrow_down: '\u2304', cancel: '\u2715',
    close: '\u2715', check: '\u2714', check_circle: '\u2714', event: '\u25F7', info: 'i',
    error: '!', refresh: '\u21BB'
  };
  var Mat = (window.Mat = {});

  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'class') e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    return e;
  }
  Mat.el = el;

  /* <mat-icon> keeps its ligature name as text (drivers read it); CSS draws data-glyph. */
  Mat.setIcon = function (icon, name) {
    icon.textContent = name;
    icon.setAttribute('data-glyph', GLYPHS[name] || '\u2022');
    icon.setAttribute('data-mat-icon-name', name);
  };
  Mat.icon = function (name) {
    var i = el('mat-icon', { class: 'mat-icon notranslate material-icons mat-icon-no-color', role: 'img', 'aria-hidden': 'true' });
    Mat.setIcon(i, name);
    return i;
  };
  Mat.initIcons = function (root) {
    (root || document).querySelectorAll('mat-icon').forEach(function (i) { Mat.setIcon(i, i.textContent.trim()); });
  };

  /* JSON fetch. 401 (session gone) and 503 (maintenance) reload the page, which then shows the
   * portal's own logged-out or maintenance page. */
  Mat.api = function (method, url, body) {
    var init = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(url, init).then(function (r) {
      if (r.status === 401 || r.status === 503) {
        location.reload();
        return new Promise(function () {});
      }
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error || ('HTTP ' + r.status));
        return j;
      });
    });
  };

  Mat.overlay = function () {
    var c = document.querySelector('body > div.cdk-overlay-container');
    if (!c) c = el('div', { class: 'cdk-overlay-container' });
    if (c !== document.body.lastElementChild) document.body.appendChild(c);
    return c;
  };

  Mat.closeOverlays = function () {
    var c = document.querySelector('body > div.cdk-overlay-container');
    if (c) c.innerHTML = '';
    document.querySelectorAll('mat-select[aria-expanded="true"]').forEach(function (s) {
      s.setAttribute('aria-expanded', 'false');
    });
    document.querySelectorAll('mat-form-field.mat-focused').forEach(function (f) { f.classList.remove('mat-focused'); });
    Mat.openAnchor = null;
  };

  /* Open a list of mat-option below (or above) `anchor`. */
  Mat.openPanel = function (anchor, opts) {
    Mat.closeOverlays();
    var c = Mat.overlay();
    if (opts.backdrop) {
      var b = el('div', { class: 'cdk-overlay-backdrop cdk-overlay-transparent-backdrop cdk-overlay-backdrop-showing' });
      b.addEventListener('click', Mat.closeOverlays);
      c.appendChild(b);
    }
    var pane = el('div', { class: 'cdk-overlay-pane' });
    var panel = el('div', { class: opts.panelClass + ' mdc-menu-surface mdc-menu-surface--open', role: 'listbox' });
    opts.options.forEach(function (text) {
      var selected = text === opts.selected;
      var o = el('mat-option', {
        class: 'mat-mdc-option mdc-list-item' + (selected ? ' mdc-list-item--selected mat-mdc-option-active' : ''),
        role: 'option', 'aria-selected': selected ? 'true' : 'false', tabindex: '0'
      });
      o.appendChild(el('span', { class: 'mdc-list-item__primary-text', text: text }));
      o.addEventListener('click', function (e) {
        e.stopPropagation();
        Mat.closeOverlays();
        opts.onPick(text);
      });
      panel.appendChild(o);
    });
    if (!opts.options.length) {
      panel.appendChild(el('div', { class: 'mat-mdc-option no-options', text: opts.emptyText || 'No options' }));
    }
    pane.appendChild(panel);
    c.appendChild(pane);
    var r = anchor.getBoundingClientRect();
    pane.style.left = Math.max(4, r.left) + 'px';
    pane.style.minWidth = r.width + 'px';
    var below = window.innerHeight - r.bottom - 8;
    var above = r.top - 8;
    var want = Math.min(256, panel.scrollHeight);
    if (below >= want || below >= above) {
      pane.style.top = r.bottom + 'px';
      panel.style.maxHeight = Math.max(60, Math.min(256, below)) + 'px';
    } else {
      pane.style.bottom = (window.innerHeight - r.top) + 'px';
      panel.style.maxHeight = Math.min(256, above) + 'px';
    }
    var sel = panel.querySelector('.mdc-list-item--selected');
    if (sel) panel.scrollTop = sel.offsetTop - 8;
    Mat.openAnchor = anchor;
    return panel;
  };

  /* A <mat-select>: click opens the option panel; picking an option sets the value. */
  Mat.initSelect = function (sel, cfg) {
    sel.classList.add('mat-mdc-select', 'mat-mdc-select-empty');
    sel.setAttribute('role', 'combobox');
    sel.setAttribute('aria-expanded', 'false');
    sel.setAttribute('aria-haspopup', 'listbox');
    sel.setAttribute('tabindex', '0');
    sel.innerHTML = '<div class="mat-mdc-select-trigger"><div class="mat-mdc-select-value">' +
      '<span class="mat-mdc-select-placeholder"></span></div>' +
      '<div class="mat-mdc-select-arrow-wrapper"><div class="mat-mdc-select-arrow"></div></div></div>';
    sel._value = null;
    function open() {
      if (sel.getAttribute('aria-disabled') === 'true') return;
      if (sel.getAttribute('aria-expanded') === 'true') { Mat.closeOverlays(); return; }
      var field = sel.closest('mat-form-field');
      var anchor = (field && field.querySelector('.mat-mdc-text-field-wrapper')) || sel;
      Mat.openPanel(anchor, {
        options: cfg.options(), selected: sel._value, backdrop: true,
        panelClass: 'mat-mdc-select-panel', emptyText: cfg.emptyText,
        onPick: function (t) {
          Mat.setSelectValue(sel, t);
          if (cfg.onChange) cfg.onChange(t);
        }
      });
      sel.setAttribute('aria-expanded', 'true');
      if (field) field.classList.add('mat-focused');
    }
    sel.addEventListener('click', function (e) { e.stopPropagation(); open(); });
    sel.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ' || e.key === 'ArrowDown') { e.preventDefault(); open(); }
      if (e.key === 'Escape') Mat.closeOverlays();
    });
  };

  Mat.setSelectValue = function (sel, text) {
    sel._value = text;
    var v = sel.querySelector('.mat-mdc-select-value');
    v.innerHTML = '';
    if (text === null || text === undefined) {
      v.appendChild(el('span', { class: 'mat-mdc-select-placeholder' }));
      sel.classList.add('mat-mdc-select-empty');
    } else {
      var s = el('span', { class: 'mat-mdc-select-value-text' });
      s.appendChild(el('span', { class: 'mat-mdc-select-min-line', text: text }));
      v.appendChild(s);
      sel.classList.remove('mat-mdc-select-empty');
    }
    var f = sel.closest('mat-form-field');
    if (f) Mat.clearError(f);
  };

  Mat.setError = function (field, msg) {
    Mat.clearError(field);
    field.classList.add('mat-form-field-invalid');
    field.appendChild(el('mat-error', { class: 'mat-mdc-form-field-error', role: 'alert', text: msg }));
  };
  Mat.clearError = function (field) {
    field.classList.remove('mat-form-field-invalid');
    field.querySelectorAll('mat-error').forEach(function (e) { e.remove(); });
  };

  /* A modal dialog with one OK button (MatDialog look-alike). */
  Mat.dialog = function (message, onClose) {
    Mat.closeOverlays();
    var c = Mat.overlay();
    var close = function () { Mat.closeOverlays(); if (onClose) onClose(); };
    var b = el('div', { class: 'cdk-overlay-backdrop cdk-overlay-dark-backdrop cdk-overlay-backdrop-showing' });
    b.addEventListener('click', close);
    var wrap = el('div', { class: 'cdk-global-overlay-wrapper', dir: 'ltr' });
    var pane = el('div', { class: 'cdk-overlay-pane mat-mdc-dialog-panel' });
    pane.style.position = 'static';
    var dc = el('mat-dialog-container', { class: 'mat-mdc-dialog-container mdc-dialog cdk-dialog-container mdc-dialog--open', role: 'dialog', 'aria-modal': 'true', tabindex: '-1' });
    var content = el('div', { class: 'mat-mdc-dialog-content mdc-dialog__content', 'mat-dialog-content': '', text: message });
    var actions = el('div', { class: 'mat-mdc-dialog-actions mdc-dialog__actions', 'mat-dialog-actions': '' });
    var ok = el('button', { type: 'button', class: 'mat-mdc-raised-button mdc-button--raised', 'mat-dialog-close': '', text: 'OK' });
    ok.addEventListener('click', close);
    actions.appendChild(ok);
    dc.appendChild(content);
    dc.appendChild(actions);
    pane.appendChild(dc);
    wrap.appendChild(pane);
    c.appendChild(b);
    c.appendChild(wrap);
    ok.focus();
  };

  Mat.progressBar = function () {
    return el('mat-progress-bar', { class: 'mat-mdc-progress-bar mdc-linear-progress', mode: 'indeterminate', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' });
  };

  document.addEventListener('DOMContentLoaded', function () {
    Mat.initIcons();
    var ub = document.querySelector('.user-button');
    var menu = document.querySelector('.user-menu');
    if (ub && menu) {
      ub.addEventListener('click', function (e) { e.stopPropagation(); menu.classList.toggle('open'); });
      document.addEventListener('click', function () { menu.classList.remove('open'); });
    }
  });
})();
