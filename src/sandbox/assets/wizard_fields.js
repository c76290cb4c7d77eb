/* Wizard field widgets for both markup generations: chip inputs, autocompletes and the own
 * chassis pill. Used by wizard.js through window.WizFields. */
(function () {
  'use strict';
  var el = Mat.el;
  var C = function (a, b) { return Mat.C(a, b); };
  var F = (window.WizFields = {});

  /* A chip input: Enter (or comma, or leaving the field) turns the text into chips. Legacy:
   * mat-chip-list > .mat-chip-list-wrapper > mat-chip (span text + mat-icon[matchipremove]
   * "cancel") + input.mat-chip-input. o: {name, placeholder, max, single, hint(n), onAdd(v)} */
  F.chips = function (list, o) {
    var input = Mat.input({ formcontrolname: o.name, class: C('mat-chip-input', 'mat-mdc-chip-input'), placeholder: o.placeholder });
    var holder = Mat.legacy()
      ? el('mat-chip-list', { class: 'mat-chip-list', role: 'listbox', 'aria-orientation': 'horizontal' })
      : el('mat-chip-grid', { class: 'mat-mdc-chip-grid', role: 'grid' });
    var wrap = Mat.legacy() ? el('div', { class: 'mat-chip-list-wrapper' }) : holder;
    if (Mat.legacy()) holder.appendChild(wrap);
    wrap.appendChild(input);
    var field = Mat.formField(holder, { name: o.name, cls: 'chip-field', type: 'mat-chip-list', hint: o.hint ? o.hint(0) : undefined });
    function render() {
      wrap.querySelectorAll('mat-chip, mat-chip-row').forEach(function (c) { c.remove(); });
      list.forEach(function (v) {
        var chip = Mat.legacy()
          ? el('mat-chip', { class: 'mat-chip mat-focus-indicator mat-primary mat-standard-chip mat-chip-with-trailing-icon', role: 'option', 'data-value': v })
          : el('mat-chip-row', { class: 'mat-mdc-chip-row mat-mdc-chip mdc-evolution-chip mat-mdc-standard-chip', role: 'row', 'data-value': v });
        chip.appendChild(el('span', { class: C('mat-chip-text', 'mdc-evolution-chip__text-label mat-mdc-chip-action-label'), text: v }));
        var rm;
        if (Mat.legacy()) {
          rm = Mat.icon('cancel');
          rm.classList.add('mat-chip-remove', 'mat-chip-trailing-icon');
          rm.setAttribute('matchipremove', '');
        } else {
          rm = el('button', { type: 'button', class: 'mat-mdc-chip-remove mat-mdc-chip-trailing-icon', matchipremove: '', 'aria-label': 'remove ' + v });
          rm.appendChild(Mat.icon('cancel'));
        }
        rm.addEventListener('click', function (e) {
          e.preventDefault();
          e.stopPropagation();
          var i = list.indexOf(v);
          if (i >= 0) list.splice(i, 1);
          render();
        });
        chip.appendChild(rm);
        wrap.insertBefore(chip, input);
      });
      if (o.hint) Mat.setHint(field, o.hint(list.length));
    }
    function add() {
      var parts = input.value.toUpperCase().split(/[\s,;]+/).filter(Boolean);
      input.value = '';
      if (!parts.length) return;
      var added = [];
      parts.forEach(function (v) {
        if (o.single) list.length = 0;
        if (list.indexOf(v) < 0 && (!o.max || list.length < o.max)) { list.push(v); added.push(v); }
      });
      Mat.clearError(field);
      render();
      if (o.onAdd) added.forEach(o.onAdd);
    }
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ',') { e.preventDefault(); add(); }
      else if (e.key === 'Backspace' && !input.value && list.length) { list.pop(); render(); }
    });
    input.addEventListener('blur', add);
    input.addEventListener('focus', function () { field.classList.add('mat-focused'); });
    input.addEventListener('blur', function () { field.classList.remove('mat-focused'); });
    field._add = add;
    return field;
  };

  /* An autocomplete input: typing filters, clicking an option fills it.
   * o: {name, label, required, options(), onPick(v)} */
  F.autocomplete = function (o) {
    var input = Mat.input({ formcontrolname: o.name, class: C('mat-autocomplete-trigger', 'mat-mdc-autocomplete-trigger'), role: 'combobox', 'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-haspopup': 'listbox' });
    var f = Mat.formField(input, { name: o.name, label: o.label, required: o.required });
    function close() { Mat.closeOverlays(); input.setAttribute('aria-expanded', 'false'); }
    function open() {
      var qv = input.value.trim().toUpperCase();
      var all = o.options();
      var list = all.filter(function (p) { return p.toUpperCase().indexOf(qv) >= 0; });
      if (!list.length) list = qv ? [] : all;
      if (!list.length) { close(); return; }
      Mat.openPanel(Mat.fieldAnchor(f), {
        options: list, backdrop: false, panelClass: 'autocomplete',
        onPick: function (t) {
          input.value = t;
          input.setAttribute('aria-expanded', 'false');
          Mat.clearError(f);
          input.dispatchEvent(new Event('change', { bubbles: true }));
          if (o.onPick) o.onPick(t);
        }
      });
      f.classList.add('mat-focused');
      input.setAttribute('aria-expanded', 'true');
    }
    input.addEventListener('focus', open);
    input.addEventListener('click', open);
    input.addEventListener('input', function () { Mat.clearError(f); open(); });
    input.addEventListener('keydown', function (e) { if (e.key === 'Escape' || e.key === 'Tab') close(); });
    document.addEventListener('mousedown', function (e) {
      if (Mat.openAnchor === Mat.fieldAnchor(f) && !e.target.closest('.cdk-overlay-container') && e.target !== input) close();
    });
    return f;
  };

  /* Own chassis: ONE pill showing its current value (YES/NO); a click toggles it. */
  F.ownChassis = function (initial, onChange) {
    var t = el('mat-button-toggle', { class: 'mat-button-toggle own-chassis-pill mat-button-toggle-standalone', formcontrolname: 'OwnChassis' });
    var b = el('button', { type: 'button', class: 'mat-button-toggle-button mat-focus-indicator' });
    var content = el('span', { class: 'mat-button-toggle-label-content' });
    var knob = el('span', { class: 'pill-knob', 'aria-hidden': 'true' });
    var text = el('span', { class: 'pill-text' });
    content.appendChild(knob);
    content.appendChild(text);
    b.appendChild(content);
    t.appendChild(b);
    function set(v) {
      t.setAttribute('value', v);
      text.textContent = v;
      t.classList.toggle('mat-button-toggle-checked', v === 'YES');
      b.setAttribute('aria-pressed', v === 'YES' ? 'true' : 'false');
      if (onChange) onChange(v);
    }
    b.addEventListener('click', function () { set(t.getAttribute('value') === 'YES' ? 'NO' : 'YES'); });
    set(initial);
    return t;
  };

  /* A read-only label/value pair of the summary rows. */
  F.summary = function (label, value) {
    var d = el('div', { class: 'summary-item' });
    d.appendChild(el('div', { class: 'summary-label', text: label }));
    d.appendChild(el('div', { class: 'summary-value', text: value }));
    return d;
  };
})();
