/* Shared client helpers of the sandbox portal: a tiny stand-in for Angular Material's runtime.
 * Overlays (select panels, autocomplete, dialogs) live in div.cdk-overlay-container at the end of
 * <body>, as with the Angular CDK, so drivers find them in the same place. */
(function () {
  'use strict';
  var GLYPHS = {
    keyboard_arrow_right: '\u203A', keyboard_arrow_down: '\u2304', cancel: '\u2715',
    close: '\u2715', check: '\u2714', check_circle: '\u2714', event: '\u25F7', info: 'i',
    error: '!', refresh: '\u21BB', cloud_download: '\u2601', event_available: '\u2611',
    chevron_right: '\u203A', calendar_month: '\u25A6'
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

  /* Which Angular Material the page imitates: "legacy" (pre-MDC, as the real portal was
   * recorded) or "mdc". Pages whose handler has no state learn it from an API and set it. */
  Mat.gen = (window.SANDBOX && window.SANDBOX.generation) || 'legacy';
  Mat.legacy = function () { return Mat.gen !== 'mdc'; };
  /* The class for the current generation. */
  function C(legacy, mdc) { return Mat.legacy() ? legacy : mdc; }
  Mat.C = C;
  var uid = 0;

  Mat.overlay = function () {
    var c = document.querySelector('body > div.cdk-overlay-container');
    if (!c) c = el('div', { class: 'cdk-overlay-container' });
    if (c !== document.body.lastElementChild) document.body.appendChild(c);
    return c;
  };

  /* Close select/autocomplete panels; a modal dialog or snack-bar stays. */
  Mat.closeOverlays = function () {
    var c = document.querySelector('body > div.cdk-overlay-container');
    if (c) c.querySelectorAll(':scope > .panel-host').forEach(function (p) { p.remove(); });
    document.querySelectorAll('mat-select[aria-expanded="true"]').forEach(function (s) {
      s.setAttribute('aria-expanded', 'false');
    });
    document.querySelectorAll('mat-form-field.mat-focused').forEach(function (f) { f.classList.remove('mat-focused'); });
    Mat.openAnchor = null;
  };

  /* One mat-option. `opt` is a text or {text, svgicon}. Legacy: the text sits in a span whose
   * class attribute is exactly "mat-option-text" (drivers test it with @class=). */
  Mat.option = function (opt, selected) {
    var text = typeof opt === 'string' ? opt : opt.text;
    var o = el('mat-option', {
      class: C('mat-option mat-focus-indicator', 'mat-mdc-option mdc-list-item') +
        (selected ? C(' mat-selected mat-active', ' mdc-list-item--selected mat-mdc-option-active') : ''),
      role: 'option', 'aria-selected': selected ? 'true' : 'false', 'aria-disabled': 'false', tabindex: '0',
      id: 'mat-option-' + (uid++)
    });
    var span = el('span', { class: C('mat-option-text', 'mdc-list-item__primary-text') });
    if (opt.svgicon) span.appendChild(Mat.svgIcon(opt.svgicon));
    span.appendChild(document.createTextNode(text));
    o.appendChild(span);
    if (Mat.legacy()) o.appendChild(el('div', { class: 'mat-ripple mat-option-ripple', 'mat-ripple': '' }));
    return o;
  };

  /* An icon drawn by an inline SVG: no ligature text (mat-icon[svgicon]). */
  Mat.svgIcon = function (name) {
    var i = el('mat-icon', { class: 'mat-icon notranslate mat-icon-no-color svg-' + name + '-icon', role: 'img', svgicon: name, 'aria-hidden': 'true', 'data-mat-icon-type': 'svg', 'data-mat-icon-name': name });
    if (name === 'xls') {
      /* The Excel icon as the portal draws it (facts: g#excel_icon, path#Path_346 in #1a8e07). */
      i.innerHTML = '<svg viewBox="0 0 24 24" width="100%" height="100%" focusable="false"><g id="excel_icon">' +
        '<path id="Path_346" data-name="Path 346" fill="#1a8e07" d="M3 3h12l6 6v12H3z"/>' +
        '<path fill="#fff" d="M7 8h2.2l1.8 3 1.8-3H15l-2.9 4.5L15 17h-2.2L11 14l-1.8 3H7l2.9-4.5z"/></g></svg>';
      return i;
    }
    var up = /^pick/.test(name), full = /full$/.test(name);
    i.innerHTML = '<svg viewBox="0 0 24 24" width="100%" height="100%" focusable="false">' +
      '<rect x="3" y="8" width="14" height="10" rx="1" fill="' + (full ? '#c62828' : 'none') + '" stroke="#c62828" stroke-width="1.6"/>' +
      '<path d="' + (up ? 'M20 17V6m-3 3l3-3 3 3' : 'M20 6v11m-3-3l3 3 3-3') + '" fill="none" stroke="#c62828" stroke-width="1.6"/></svg>';
    return i;
  };

  /* Open a list of mat-option below (or above) `anchor`. */
  Mat.openPanel = function (anchor, opts) {
    Mat.closeOverlays();
    var c = Mat.overlay();
    var host = el('div', { class: 'panel-host' });
    if (opts.backdrop) {
      var b = el('div', { class: 'cdk-overlay-backdrop cdk-overlay-transparent-backdrop cdk-overlay-backdrop-showing' });
      b.addEventListener('click', Mat.closeOverlays);
      host.appendChild(b);
    }
    var pane = el('div', { class: 'cdk-overlay-pane' });
    var auto = /autocomplete/.test(opts.panelClass || '');
    var panel = el('div', {
      class: auto ? C('mat-autocomplete-panel mat-autocomplete-visible', 'mat-mdc-autocomplete-panel mdc-menu-surface mdc-menu-surface--open mat-mdc-autocomplete-visible')
        : C('mat-select-panel mat-primary', 'mat-mdc-select-panel mdc-menu-surface mdc-menu-surface--open'),
      role: 'listbox'
    });
    opts.options.forEach(function (opt) {
      var text = typeof opt === 'string' ? opt : opt.text;
      var o = Mat.option(opt, text === opts.selected);
      o.addEventListener('click', function (e) {
        e.stopPropagation();
        Mat.closeOverlays();
        opts.onPick(text);
      });
      panel.appendChild(o);
    });
    if (!opts.options.length) {
      panel.appendChild(el('div', { class: C('mat-option', 'mat-mdc-option') + ' no-options', text: opts.emptyText || 'No options' }));
    }
    if (Mat.legacy() && !auto) {
      var wrap = el('div', { class: 'mat-select-panel-wrap' });
      wrap.appendChild(panel);
      pane.appendChild(wrap);
    } else {
      pane.appendChild(panel);
    }
    host.appendChild(pane);
    c.appendChild(host);
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
    var sel = panel.querySelector('[aria-selected="true"]');
    if (sel) panel.scrollTop = sel.offsetTop - 8;
    Mat.openAnchor = anchor;
    return panel;
  };

  /* The element select panels and autocompletes hang below. */
  Mat.fieldAnchor = function (field) {
    return field.querySelector(C('.mat-form-field-flex', '.mat-mdc-text-field-wrapper')) || field;
  };

  /* A <mat-select>: click opens the option panel; picking an option sets the value. */
  Mat.initSelect = function (sel, cfg) {
    sel.classList.add(C('mat-select', 'mat-mdc-select'), C('mat-select-empty', 'mat-mdc-select-empty'));
    sel.setAttribute('role', 'combobox');
    sel.setAttribute('aria-expanded', 'false');
    sel.setAttribute('aria-haspopup', 'listbox');
    sel.setAttribute('tabindex', '0');
    sel.innerHTML = Mat.legacy()
      ? '<div class="mat-select-trigger" cdk-overlay-origin><div class="mat-select-value">' +
        '<span class="mat-select-placeholder mat-select-min-line"></span></div>' +
        '<div class="mat-select-arrow-wrapper"><div class="mat-select-arrow"></div></div></div>'
      : '<div class="mat-mdc-select-trigger"><div class="mat-mdc-select-value">' +
        '<span class="mat-mdc-select-placeholder"></span></div>' +
        '<div class="mat-mdc-select-arrow-wrapper"><div class="mat-mdc-select-arrow"></div></div></div>';
    sel._value = null;
    function open() {
      if (sel.getAttribute('aria-disabled') === 'true') return;
      if (sel.getAttribute('aria-expanded') === 'true') { Mat.closeOverlays(); return; }
      var field = sel.closest('mat-form-field');
      Mat.openPanel(field ? Mat.fieldAnchor(field) : sel, {
        options: cfg.options(), selected: sel._value, backdrop: true,
        panelClass: 'select', emptyText: cfg.emptyText,
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
    var v = sel.querySelector(C('.mat-select-value', '.mat-mdc-select-value'));
    v.innerHTML = '';
    var empty = C('mat-select-empty', 'mat-mdc-select-empty');
    if (text === null || text === undefined) {
      v.appendChild(el('span', { class: C('mat-select-placeholder mat-select-min-line', 'mat-mdc-select-placeholder') }));
      sel.classList.add(empty);
    } else {
      var s = el('span', { class: C('mat-select-value-text', 'mat-mdc-select-value-text') });
      s.appendChild(el('span', { class: C('mat-select-min-line', 'mat-mdc-select-min-line'), text: text }));
      v.appendChild(s);
      sel.classList.remove(empty);
    }
    var f = sel.closest('mat-form-field');
    if (f) {
      Mat.clearError(f);
      f.classList.toggle('mat-form-field-should-float', text !== null && text !== undefined);
    }
  };

  /* A form field around `control`. Legacy: mat-form-field > .mat-form-field-wrapper >
   * .mat-form-field-flex > .mat-form-field-infix (control + label wrapper), subscript below.
   * o: {name (data-field), label, required, hint, cls, type} */
  Mat.formField = function (control, o) {
    o = o || {};
    var f = el('mat-form-field', { class: C('mat-form-field mat-form-field-appearance-outline mat-form-field-can-float', 'mat-mdc-form-field mat-mdc-form-field-type-' + (o.type || 'mat-input')) + (o.cls ? ' ' + o.cls : '') });
    if (Mat.legacy()) f.classList.add('mat-form-field-type-' + (o.type || 'mat-input'));
    if (o.name) f.setAttribute('data-field', o.name);
    var sub = el('div', { class: C('mat-form-field-subscript-wrapper', 'mat-mdc-form-field-subscript-wrapper') });
    var label = null;
    if (o.label) {
      label = el('label', { class: C('mat-form-field-label', 'mdc-floating-label mat-mdc-floating-label') });
      label.appendChild(el('mat-label', { text: o.label }));
      if (o.required) label.appendChild(el('span', { class: C('mat-placeholder-required mat-form-field-required-marker', 'mat-mdc-form-field-required-marker mdc-floating-label--required'), 'aria-hidden': 'true', text: ' *' }));
    }
    if (Mat.legacy()) {
      var wrapper = el('div', { class: 'mat-form-field-wrapper' });
      var flex = el('div', { class: 'mat-form-field-flex' });
      var infix = el('div', { class: 'mat-form-field-infix' });
      infix.appendChild(control);
      if (label) {
        var lw = el('span', { class: 'mat-form-field-label-wrapper' });
        lw.appendChild(label);
        infix.appendChild(lw);
      }
      flex.appendChild(infix);
      wrapper.appendChild(flex);
      wrapper.appendChild(sub);
      f.appendChild(wrapper);
    } else {
      var tw = el('div', { class: 'mat-mdc-text-field-wrapper mdc-text-field mdc-text-field--outlined' });
      if (label) tw.appendChild(label);
      tw.appendChild(control);
      f.appendChild(tw);
      f.appendChild(sub);
    }
    if (o.hint !== undefined) Mat.setHint(f, o.hint);
    return f;
  };

  Mat.setHint = function (field, text) {
    var sub = field.querySelector(C('.mat-form-field-subscript-wrapper', '.mat-mdc-form-field-subscript-wrapper'));
    var h = sub.querySelector('mat-hint');
    if (!h) {
      var hw = el('div', { class: C('mat-form-field-hint-wrapper', 'mat-mdc-form-field-hint-wrapper') });
      h = el('mat-hint', { class: C('mat-hint', 'mat-mdc-form-field-hint') });
      hw.appendChild(h);
      sub.appendChild(hw);
    }
    h.textContent = text;
  };

  /* An input for a form field (matinput). */
  Mat.input = function (attrs) {
    var a = { matinput: '', class: C('mat-input-element mat-form-field-autofill-control', 'mat-mdc-input-element mdc-text-field__input'), autocomplete: 'off' };
    Object.keys(attrs || {}).forEach(function (k) { a[k] = k === 'class' ? a.class + ' ' + attrs[k] : attrs[k]; });
    return el('input', a);
  };

  /* A button: legacy text in span.mat-button-wrapper (exact class), MDC in span.mdc-button__label.
   * kind: 'stroked' | 'flat' | 'basic' | 'raised'. */
  Mat.button = function (text, kind, extra) {
    var legacyKind = { stroked: 'mat-stroked-button', flat: 'mat-flat-button', basic: 'mat-button', raised: 'mat-raised-button' }[kind || 'basic'];
    var mdcKind = { stroked: 'mat-mdc-outlined-button mdc-button--outlined', flat: 'mat-mdc-unelevated-button mdc-button--unelevated', basic: 'mat-mdc-button', raised: 'mat-mdc-raised-button mdc-button--raised' }[kind || 'basic'];
    var b = el('button', { type: 'button', class: C('mat-focus-indicator mat-button-base ' + legacyKind, 'mdc-button mat-mdc-button-base ' + mdcKind) + (extra ? ' ' + extra : '') });
    b.appendChild(el('span', { class: C('mat-button-wrapper', 'mdc-button__label'), text: text }));
    if (Mat.legacy()) {
      b.appendChild(el('span', { class: 'mat-ripple mat-button-ripple', 'mat-ripple': '' }));
      b.appendChild(el('span', { class: 'mat-button-focus-overlay' }));
    }
    return b;
  };

  /* A checkbox. Legacy: mat-checkbox > label.mat-checkbox-layout > span.mat-checkbox-inner-container >
   * input.mat-checkbox-input.cdk-visually-hidden (id mat-checkbox-N-input, aria-checked). */
  Mat.checkbox = function (o) {
    o = o || {};
    var n = ++uid;
    var host, input;
    if (Mat.legacy()) {
      host = el('mat-checkbox', { class: 'mat-checkbox mat-accent', id: 'mat-checkbox-' + n });
      var label = el('label', { class: 'mat-checkbox-layout', for: 'mat-checkbox-' + n + '-input' });
      var inner = el('span', { class: 'mat-checkbox-inner-container' + (o.label ? '' : ' mat-checkbox-inner-container-no-side-margin') });
      input = el('input', { type: 'checkbox', class: 'mat-checkbox-input cdk-visually-hidden', id: 'mat-checkbox-' + n + '-input', tabindex: '0', 'aria-checked': 'false' });
      inner.appendChild(input);
      inner.appendChild(el('span', { class: 'mat-checkbox-frame' }));
      inner.appendChild(el('span', { class: 'mat-checkbox-background' }));
      label.appendChild(inner);
      label.appendChild(el('span', { class: 'mat-checkbox-label', text: o.label || '' }));
      host.appendChild(label);
    } else {
      host = el('mat-checkbox', { class: 'mat-mdc-checkbox mat-accent', id: 'mat-mdc-checkbox-' + n });
      var ff = el('div', { class: 'mdc-form-field' });
      var box = el('div', { class: 'mdc-checkbox' });
      input = el('input', { type: 'checkbox', class: 'mdc-checkbox__native-control', id: 'mat-mdc-checkbox-' + n + '-input' });
      box.appendChild(input);
      box.appendChild(el('div', { class: 'mdc-checkbox__background' }));
      ff.appendChild(box);
      ff.appendChild(el('label', { for: input.id, text: o.label || '' }));
      host.appendChild(ff);
    }
    if (o.aria) input.setAttribute('aria-label', o.aria);
    if (o.value !== undefined) input.value = o.value;
    input.addEventListener('change', function () { Mat.setChecked(host, input.checked, true); });
    return host;
  };

  /* Set a checkbox (and its classes and aria-checked) as the component would. */
  Mat.setChecked = function (host, on, fromEvent) {
    var input = host.querySelector('input[type=checkbox]');
    if (!fromEvent) input.checked = on;
    input.indeterminate = false;
    host.classList.toggle(C('mat-checkbox-checked', 'mat-mdc-checkbox-checked'), on);
    host.classList.remove(C('mat-checkbox-indeterminate', 'mat-mdc-checkbox-indeterminate'));
    input.setAttribute('aria-checked', on ? 'true' : 'false');
  };
  Mat.setIndeterminate = function (host) {
    var input = host.querySelector('input[type=checkbox]');
    input.checked = false;
    input.indeterminate = true;
    host.classList.remove(C('mat-checkbox-checked', 'mat-mdc-checkbox-checked'));
    host.classList.add(C('mat-checkbox-indeterminate', 'mat-mdc-checkbox-indeterminate'));
    input.setAttribute('aria-checked', 'mixed');
  };

  Mat.setError = function (field, msg) {
    Mat.clearError(field);
    field.classList.add('mat-form-field-invalid');
    var e = el('mat-error', { class: C('mat-error', 'mat-mdc-form-field-error'), role: 'alert', text: msg });
    var sub = field.querySelector(C('.mat-form-field-subscript-wrapper', '.mat-mdc-form-field-subscript-wrapper'));
    (sub || field).appendChild(e);
  };
  Mat.clearError = function (field) {
    field.classList.remove('mat-form-field-invalid');
    field.querySelectorAll('mat-error').forEach(function (e) { e.remove(); });
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
