/* Add Appointment wizard. State lives here, as in the Angular app; the server validates step 1
 * (/api/wizard/step1), lists free slots (/api/wizard/slots) and books (/api/wizard/book). */
(function () {
  'use strict';
  var el = Mat.el;
  var root = document.getElementById('wizard-root');
  var st = {
    type: 'IMPORT', trucking: null, terminal: null, move: null,
    containers: [], bookings: [], items: [], slots: [], slot: null, current: 1, done: false
  };
  var opts = null;

  Mat.api('GET', '/api/wizard/options').then(function (o) {
    opts = o;
    root.innerHTML = '';
    root.appendChild(document.getElementById('wizard-template').content.cloneNode(true));
    init();
  }).catch(function (e) {
    root.textContent = 'Error loading the wizard: ' + e.message;
  });

  function q(sel) { return root.querySelector(sel); }
  function qa(sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }
  function field(name) { return q('[data-field="' + name + '"]'); }
  function stepEl(n) { return q('.mat-horizontal-stepper-content[data-step="' + n + '"]'); }

  function go(n) {
    Mat.closeOverlays();
    st.current = n;
    qa('mat-step-header').forEach(function (h) {
      var k = +h.getAttribute('data-step');
      h.setAttribute('aria-selected', k === n ? 'true' : 'false');
      h.setAttribute('tabindex', k === n ? '0' : '-1');
      h.querySelector('.mat-step-icon').classList.toggle('mat-step-icon-state-done', k < n);
      h.querySelector('.mat-step-icon').classList.toggle('mat-step-icon-selected', k === n);
    });
    qa('.mat-horizontal-stepper-content').forEach(function (c) {
      c.style.display = +c.getAttribute('data-step') === n ? '' : 'none';
    });
    window.scrollTo(0, 0);
  }

  /* While a request runs: the step's buttons are disabled and a progress bar shows. */
  function busy(step, on) {
    var s = stepEl(step);
    s.querySelectorAll('.step-actions button').forEach(function (b) { b.disabled = on; });
    var bar = s.querySelector(':scope > mat-progress-bar');
    if (on && !bar) s.insertBefore(Mat.progressBar(), s.firstChild);
    if (!on && bar) bar.remove();
  }

  function setType(type) {
    st.type = type;
    qa('mat-radio-button').forEach(function (r) {
      var on = r.getAttribute('value') === type;
      r.classList.toggle('mat-mdc-radio-checked', on);
      r.querySelector('input').checked = on;
    });
    qa('.import-only').forEach(function (e) { e.style.display = type === 'IMPORT' ? '' : 'none'; });
    qa('.export-only').forEach(function (e) { e.style.display = type === 'EXPORT' ? '' : 'none'; });
  }

  function chipInput(name, list, single) {
    var f = field(name);
    var input = f.querySelector('input');
    var grid = f.querySelector('mat-chip-grid');
    function render() {
      grid.querySelectorAll('mat-chip-row').forEach(function (c) { c.remove(); });
      list.forEach(function (v) {
        var chip = el('mat-chip-row', { class: 'mat-mdc-chip-row mat-mdc-chip mdc-evolution-chip mat-mdc-standard-chip', role: 'row', 'data-value': v });
        chip.appendChild(el('span', { class: 'mdc-evolution-chip__text-label mat-mdc-chip-action-label', text: v }));
        var rm = el('button', { type: 'button', class: 'mat-mdc-chip-remove mat-mdc-chip-trailing-icon', matchipremove: '', 'aria-label': 'remove ' + v });
        rm.appendChild(Mat.icon('cancel'));
        rm.addEventListener('click', function (e) {
          e.preventDefault();
          e.stopPropagation();
          var i = list.indexOf(v);
          if (i >= 0) list.splice(i, 1);
          render();
        });
        chip.appendChild(rm);
        grid.insertBefore(chip, input);
      });
    }
    function add() {
      var parts = input.value.toUpperCase().split(/[\s,;]+/).filter(Boolean);
      input.value = '';
      if (!parts.length) return;
      parts.forEach(function (v) {
        if (single) list.length = 0;
        if (list.indexOf(v) < 0) list.push(v);
      });
      Mat.clearError(f);
      render();
    }
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ',') { e.preventDefault(); add(); }
      else if (e.key === 'Backspace' && !input.value && list.length) { list.pop(); render(); }
    });
    input.addEventListener('blur', add);
    input.addEventListener('focus', function () { f.classList.add('mat-focused'); });
    input.addEventListener('blur', function () { f.classList.remove('mat-focused'); });
    return add;
  }

  function textValue(name) {
    var i = q('input[formcontrolname="' + name + '"]');
    return i ? i.value.trim() : '';
  }

  function payload() {
    var seals = [1, 2, 3, 4].map(function (n) { return textValue('Seal' + n + '_Num'); });
    var checked = qa('.move-items input[type=checkbox]').filter(function (c) { return c.checked; })
      .map(function (c) { return c.value; });
    var own = q('mat-button-toggle.mat-button-toggle-checked');
    return {
      container_type: st.type, trucking: st.trucking || '', terminal: st.terminal || '',
      move_type: st.move || '', containers: st.containers.slice(), booking_number: st.bookings[0] || '',
      quantity: parseInt(textValue('quantity'), 10) || null, selected: checked, pin: textValue('Pin'),
      plate: textValue('Plate'), own_chassis: own ? own.getAttribute('value') : 'NO',
      unit: textValue('Unit'), seals: seals, slot: st.slot || ''
    };
  }

  function showErrors(errors) {
    Object.keys(errors || {}).forEach(function (k) {
      var f = field(k);
      if (f && f.tagName === 'MAT-FORM-FIELD') Mat.setError(f, errors[k]);
      else if (f) { clearListError(f); f.appendChild(el('mat-error', { class: 'mat-mdc-form-field-error', role: 'alert', text: errors[k] })); }
    });
  }
  function clearListError(f) { f.querySelectorAll('mat-error').forEach(function (e) { e.remove(); }); }

  /* ----- step 1 ----- */
  function next1(addContainer, addBooking) {
    addContainer();
    addBooking();
    qa('[data-step="1"] mat-form-field').forEach(Mat.clearError);
    var errors = {};
    if (!st.trucking) errors.trucking = 'Trucking is required';
    if (!st.terminal) errors.terminal = 'Terminal is required';
    if (!st.move) errors.move_type = 'Move is required';
    if (st.type === 'IMPORT' && !st.containers.length) errors.containerNumber = 'Container number is required';
    if (st.type === 'EXPORT') {
      if (!st.bookings.length) errors.bookingNumber = 'Booking number is required';
      if (!(parseInt(textValue('quantity'), 10) > 0)) errors.quantity = 'Quantity is required';
    }
    if (Object.keys(errors).length) { showErrors(errors); return; }
    busy(1, true);
    Mat.api('POST', '/api/wizard/step1', payload()).then(function (j) {
      busy(1, false);
      if (!j.ok) {
        showErrors(j.errors);
        if (j.dialog) Mat.dialog(j.dialog);
        return;
      }
      st.items = j.items;
      renderItems();
      go(2);
    }).catch(function (e) { busy(1, false); Mat.dialog('Error: ' + e.message); });
  }

  function renderItems() {
    var box = q('.move-items');
    box.innerHTML = '';
    q('.items-title').textContent = st.type === 'IMPORT' ? 'Containers' : 'Booking';
    st.items.forEach(function (v) {
      var row = el('div', { class: 'move-item' });
      var cb = el('mat-checkbox', { class: 'mat-mdc-checkbox mat-mdc-checkbox-checked' });
      var label = el('label');
      var input = el('input', { type: 'checkbox', class: 'mdc-checkbox__native-control', value: v });
      input.checked = true;
      input.addEventListener('change', function () {
        cb.classList.toggle('mat-mdc-checkbox-checked', input.checked);
        clearListError(box);
      });
      label.appendChild(input);
      label.appendChild(document.createTextNode(' ' + v));
      cb.appendChild(label);
      row.appendChild(cb);
      if (st.type === 'EXPORT') {
        row.appendChild(el('span', { class: 'item-note', style: 'color:rgba(0,0,0,.6)', text: 'Quantity: ' + (textValue('quantity') || '1') }));
      }
      box.appendChild(row);
    });
  }

  /* ----- step 2 ----- */
  function initPlate() {
    var f = field('Plate');
    var input = f.querySelector('input');
    function open() {
      var qv = input.value.trim().toUpperCase();
      var list = opts.truck_plates.filter(function (p) { return p.indexOf(qv) >= 0; });
      if (!list.length) { Mat.closeOverlays(); input.setAttribute('aria-expanded', 'false'); return; }
      Mat.openPanel(f.querySelector('.mat-mdc-text-field-wrapper'), {
        options: list, backdrop: false, panelClass: 'mat-mdc-autocomplete-panel',
        onPick: function (t) {
          input.value = t;
          input.setAttribute('aria-expanded', 'false');
          Mat.clearError(f);
          input.dispatchEvent(new Event('change', { bubbles: true }));
        }
      });
      f.classList.add('mat-focused');
      input.setAttribute('aria-expanded', 'true');
    }
    input.addEventListener('focus', open);
    input.addEventListener('click', open);
    input.addEventListener('input', function () { Mat.clearError(f); open(); });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' || e.key === 'Tab') { Mat.closeOverlays(); input.setAttribute('aria-expanded', 'false'); }
    });
    document.addEventListener('mousedown', function (e) {
      if (Mat.openAnchor && Mat.openAnchor === f.querySelector('.mat-mdc-text-field-wrapper') &&
          !e.target.closest('.cdk-overlay-container') && e.target !== input) {
        Mat.closeOverlays();
        input.setAttribute('aria-expanded', 'false');
      }
    });
  }

  function next2() {
    Mat.closeOverlays();
    qa('[data-step="2"] mat-form-field').forEach(Mat.clearError);
    clearListError(q('.move-items'));
    var p = payload();
    var errors = {};
    if (!p.selected.length) errors.selected = st.type === 'IMPORT' ? 'Select at least one container' : 'Select the booking';
    if (!p.plate) errors.Plate = 'Truck plate is required';
    if (st.type === 'EXPORT' && !p.unit) errors.Unit = 'Unit # is required';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    busy(2, true);
    loadSlots().then(function () { busy(2, false); go(3); })
      .catch(function (e) { busy(2, false); Mat.dialog('Error: ' + e.message); });
  }

  function loadSlots() {
    return Mat.api('POST', '/api/wizard/slots', { terminal: st.terminal, move_type: st.move }).then(function (j) {
      setSlots(j.slots);
    });
  }

  function setSlots(slots) {
    st.slots = slots;
    st.slot = null;
    Mat.setSelectValue(q('mat-select[formcontrolname="slot"]'), null);
    q('.checkin-info').style.display = 'none';
  }

  /* ----- step 3 ----- */
  function submit() {
    var f = field('slot');
    var err = q('.page-error');
    err.style.display = 'none';
    Mat.clearError(f);
    if (!st.slot) { Mat.setError(f, 'Appointment is required'); return; }
    busy(3, true);
    Mat.api('POST', '/api/wizard/book', payload()).then(function (j) {
      busy(3, false);
      if (j.ok) { confirm(j.appointment); return; }
      if (j.slot_taken) {
        setSlots(j.slots || []);
        Mat.setError(f, j.error);
        return;
      }
      showPageError(j.error || 'The appointment could not be booked.');
    }).catch(function (e) { busy(3, false); showPageError('Error: ' + e.message); });
  }

  /* Errors not tied to a field: a Material snack-bar, as the portal shows them. */
  function showPageError(message) {
    var c = Mat.overlay();
    c.querySelectorAll('mat-snack-bar-container').forEach(function (b) { b.remove(); });
    var bar = el('mat-snack-bar-container', { class: 'mat-mdc-snack-bar-container mdc-snackbar--open', role: 'alert' });
    bar.appendChild(el('simple-snack-bar', { class: 'mat-mdc-simple-snack-bar', text: message }));
    bar.style.cssText = 'position:fixed;left:50%;bottom:24px;transform:translateX(-50%);background:#323232;color:#fff;padding:14px 16px;border-radius:4px;z-index:1000';
    c.appendChild(bar);
  }

  function confirm(a) {
    st.done = true;
    q('.confirmation-number').textContent = a.confirmation_number;
    var tb = q('.appointment-details tbody');
    tb.innerHTML = '';
    var rows = [
      ['Appointment Time', a.appointment_time],
      ['Check-In By', a.check_in_by],
      ['Terminal', a.terminal],
      ['Move Type', a.move_type],
      [a.container_type === 'IMPORT' ? 'Container #' : 'Booking #', a.container_type === 'IMPORT' ? a.containers.join(', ') : a.booking_number],
      ['Trucking', a.trucking_company],
      ['Truck Plate', a.truck_plate],
      ['Own Chassis', a.own_chassis ? 'YES' : 'NO'],
      ['Status', a.status]
    ];
    rows.forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('th', { text: r[0] }));
      tr.appendChild(el('td', { class: 'detail-' + r[0].toLowerCase().replace(/[^a-z]+/g, '-'), text: r[1] }));
      tb.appendChild(tr);
    });
    go(4);
  }

  function init() {
    Mat.initIcons(root);
    qa('mat-radio-button input').forEach(function (i) {
      i.addEventListener('change', function () { if (i.checked) setType(i.value); });
    });
    var selects = [
      ['trucking', 'trucking_companies', 'trucking'],
      ['terminal', 'terminals', 'terminal'],
      ['moveType', 'move_types', 'move']
    ];
    selects.forEach(function (s) {
      Mat.initSelect(q('mat-select[formcontrolname="' + s[0] + '"]'), {
        options: function () { return opts[s[1]]; },
        onChange: function (v) { st[s[2]] = v; }
      });
    });
    Mat.initSelect(q('mat-select[formcontrolname="slot"]'), {
      options: function () { return st.slots.map(function (s) { return s.slot; }); },
      emptyText: 'No appointment times available',
      onChange: function (v) {
        st.slot = v;
        var s = st.slots.filter(function (x) { return x.slot === v; })[0];
        var info = q('.checkin-info');
        q('.checkin-text').textContent = 'Check-In for this visit should be completed by ' + (s ? s.check_in_by : '');
        info.style.display = '';
      }
    });
    var addContainer = chipInput('containerNumber', st.containers, false);
    var addBooking = chipInput('bookingNumber', st.bookings, true);
    initPlate();
    qa('mat-button-toggle').forEach(function (t) {
      t.addEventListener('click', function () {
        qa('mat-button-toggle').forEach(function (o) {
          var on = o === t;
          o.classList.toggle('mat-button-toggle-checked', on);
          o.querySelector('button').setAttribute('aria-pressed', on ? 'true' : 'false');
        });
      });
    });
    stepEl(1).querySelector('.step-next').addEventListener('click', function () { next1(addContainer, addBooking); });
    stepEl(2).querySelector('.step-next').addEventListener('click', next2);
    stepEl(2).querySelector('.step-back').addEventListener('click', function () { go(1); });
    stepEl(3).querySelector('.step-back').addEventListener('click', function () { go(2); });
    stepEl(3).querySelector('.step-submit').addEventListener('click', submit);
    qa('mat-step-header').forEach(function (h) {
      h.addEventListener('click', function () {
        var k = +h.getAttribute('data-step');
        if (!st.done && k < st.current) go(k);
      });
    });
    setType('IMPORT');
    go(1);
  }
})();
