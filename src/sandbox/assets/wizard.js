/* Add Appointment wizard. State lives here, as in the Angular app. The server looks up a
 * terminal and checks bookings (/api/wizard/step1 with an action), validates step 1, lists free
 * slots (/api/wizard/slots) and books (/api/wizard/book). Step 1 has no Import/Export choice:
 * the move type and terminal decide which fields the second card shows. */
(function () {
  'use strict';
  var el = Mat.el;
  var F = window.WizFields;
  var root = document.getElementById('wizard-root');
  var st, opts = null;
  var MIN_OVERLAY_MS = 150;

  Mat.api('GET', '/api/wizard/options').then(function (o) {
    opts = o;
    if (!(window.SANDBOX && window.SANDBOX.generation)) Mat.gen = o.generation || 'legacy';
    document.body.classList.add('gen-' + Mat.gen);
    build();
  }).catch(function (e) { root.textContent = 'Error loading the wizard: ' + e.message; });

  function C(a, b) { return Mat.C(a, b); }
  function q(sel) { return root.querySelector(sel); }
  function qa(sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }
  function stepEl(n) { return q('.mat-horizontal-stepper-content[data-step="' + n + '"]'); }
  function field(name) { return q('[data-field="' + name + '"]'); }
  function val(name) { var i = q('input[formcontrolname="' + name + '"]'); return i ? i.value.trim() : ''; }
  function info() { return st.info ? st.info.forms[st.move] : null; }
  function kind() { return info() ? info().form : null; }

  /* Every step keeps its buttons in the DOM; only the current step's Next has `text-next`. */
  function go(n) {
    Mat.closeOverlays();
    st.current = n;
    qa('mat-step-header').forEach(function (h) {
      var k = +h.getAttribute('data-step');
      h.setAttribute('aria-selected', k === n ? 'true' : 'false');
      h.setAttribute('tabindex', k === n ? '0' : '-1');
      var icon = h.querySelector('.mat-step-icon');
      icon.classList.toggle('mat-step-icon-state-done', k < n);
      icon.classList.toggle('mat-step-icon-selected', k === n);
    });
    qa('.mat-horizontal-stepper-content').forEach(function (c) {
      var on = +c.getAttribute('data-step') === n;
      c.style.display = on ? '' : 'none';
      c.setAttribute('aria-expanded', on ? 'true' : 'false');
      c.classList.toggle('mat-horizontal-stepper-content-inactive', !on);
    });
    qa('button.step-next').forEach(function (b) {
      b.classList.toggle('text-next', +b.closest('[data-step]').getAttribute('data-step') === n);
    });
    window.scrollTo(0, 0);
  }

  /* A server wait: the step's buttons are disabled and the page spinner shows. */
  function busy(step, on) {
    stepEl(step).querySelectorAll('.step-actions button').forEach(function (b) { b.disabled = on; });
    if (on) st.unspin = Mat.pageSpinner();
    else if (st.unspin) { st.unspin(); st.unspin = null; }
  }

  function select(name, label, options, onChange) {
    var s = el('mat-select', { formcontrolname: name, 'aria-required': 'true' });
    var f = Mat.formField(s, { name: name, label: label, required: true, type: 'mat-select' });
    Mat.initSelect(s, { options: options, onChange: onChange });
    return f;
  }

  function actions(step, list) {
    var box = stepEl(step).querySelector('.step-actions');
    list.forEach(function (b) { box.appendChild(b); });
  }

  function build() {
    st = { trucking: null, terminal: null, move: null, info: null, containers: [], bookings: [],
      moves: [], slots: [], slot: null, current: 1, done: false, own: 'NO' };
    Mat.closeOverlays();
    root.innerHTML = '';
    root.appendChild(document.getElementById('wizard-template').content.cloneNode(true));
    Mat.initIcons(root);
    buildStep1();
    window.WizSteps.init({ st: st, opts: function () { return opts; }, q: q, qa: qa, go: go, busy: busy,
      stepEl: stepEl, field: field, val: val, kind: kind, info: info, reset: build, actions: actions });
    qa('mat-step-header').forEach(function (h) {
      h.addEventListener('click', function () {
        var k = +h.getAttribute('data-step');
        if (!st.done && k < st.current) go(k);
      });
    });
    go(1);
  }

  /* ----- step 1 ----- */
  function buildStep1() {
    var row = q('.required-fields');
    var trucking = select('trucking', 'Trucking company', function () { return opts.trucking_companies; },
      function (v) { st.trucking = v; });
    row.appendChild(trucking);
    row.appendChild(select('terminal', 'Terminal', function () { return opts.terminals; }, chooseTerminal));
    var moveField = select('moveType', 'Move Type', function () {
      return st.info ? opts.move_types.map(function (m) { return { text: m, svgicon: m.toLowerCase().replace(' ', '-') }; }) : [];
    }, function (v) { st.move = v; renderMoveForm(); });
    row.appendChild(moveField);
    var cal = el('button', { type: 'button', class: C('mat-focus-indicator mat-icon-button mat-button-base', 'mdc-icon-button mat-mdc-icon-button') + ' calendar-check', 'aria-label': 'Appointments calendar' });
    cal.appendChild(Mat.icon('event_available'));
    row.appendChild(cal);
    st.trucking = opts.trucking_companies[0];
    Mat.setSelectValue(q('mat-select[formcontrolname=trucking]'), st.trucking);
    q('.xls-slot').appendChild(Mat.svgIcon('xls'));
    q('.file-slot').appendChild(Mat.formField(Mat.input({ placeholder: 'Select File', readonly: '', class: 'file-name' }), { name: 'file' }));
    q('.browse-slot').appendChild(Mat.button('Browse', 'stroked', 'browse-button'));
    q('.upload-slot').appendChild(Mat.button('UPLOAD', 'flat', 'upload-button'));
    var next = Mat.button('Next', 'stroked', 'step-next');
    next.addEventListener('click', next1);
    actions(1, [next]);
  }

  /* The terminal's data loads behind a translucent white layer with a small red spinner. */
  function chooseTerminal(v) {
    st.terminal = v;
    var unspin = Mat.pageSpinner();
    var started = Date.now();
    Mat.api('POST', '/api/wizard/step1', { action: 'terminal', terminal: v }).then(function (j) {
      setTimeout(function () {
        unspin();
        if (!j.ok) return;
        st.info = j.info;
        st.own = j.info.own_chassis;
        if (!st.move) st.move = 'PICK FULL';
        Mat.setSelectValue(q('mat-select[formcontrolname=moveType]'), st.move);
        q('.move-data-card').style.display = '';
        renderMoveForm();
      }, Math.max(0, MIN_OVERLAY_MS - (Date.now() - started)));
    }).catch(function (e) { unspin(); Mat.dialog('Error: ' + e.message); });
  }

  function quantity() {
    return Mat.formField(Mat.input({ type: 'number', min: '1', formcontrolname: 'quantity' }), { name: 'quantity', label: 'Quantity', required: true });
  }

  /* The second card's form: container chips, booking chip + Quantity, or Line/Equip Size/Quantity. */
  function renderMoveForm() {
    var box = q('.move-form');
    box.innerHTML = '';
    st.containers.length = 0;
    st.bookings.length = 0;
    var k = kind();
    if (!k) return;
    box.setAttribute('data-form', k);
    if (k === 'container') {
      box.appendChild(F.chips(st.containers, { name: 'containerNumber', placeholder: 'Container number(s)', max: 10,
        hint: function (n) { return n + ' / Maximum Allowed(10)'; } }));
    } else if (k === 'booking') {
      box.appendChild(F.chips(st.bookings, { name: 'bookingNumber', placeholder: 'Booking number', single: true, onAdd: checkBooking }));
      box.appendChild(quantity());
    } else {
      box.appendChild(F.autocomplete({ name: 'line', label: 'Line', required: true, options: function () { return st.info.lines; } }));
      box.appendChild(F.autocomplete({ name: 'equipSize', label: 'Equip Size', required: true, options: function () { return st.info.equip_sizes; } }));
      box.appendChild(quantity());
    }
  }

  /* A booking is checked as soon as it is entered: no open transactions -> dialog; a shipping
   * line the portal lacks -> a popup that blocks the page until CLOSE. */
  function checkBooking(b) {
    var unspin = Mat.pageSpinner();
    Mat.api('POST', '/api/wizard/step1', { action: 'booking', terminal: st.terminal, move_type: st.move, booking_number: b })
      .then(function (j) {
        unspin();
        if (j.dialog) Mat.dialog(j.dialog);
        else if (j.popup) Mat.dialog(j.popup);
      }).catch(function (e) { unspin(); Mat.dialog('Error: ' + e.message); });
  }

  function showErrors(errors) {
    Object.keys(errors || {}).forEach(function (k) {
      var f = field(k);
      if (f && f.tagName === 'MAT-FORM-FIELD') Mat.setError(f, errors[k]);
      else if (f) f.appendChild(el('mat-error', { class: C('mat-error', 'mat-mdc-form-field-error'), role: 'alert', text: errors[k] }));
    });
  }
  window.WizShowErrors = showErrors;

  function payload1() {
    var k = kind();
    return {
      container_type: k === 'booking' ? 'EXPORT' : 'IMPORT', trucking: st.trucking || '', terminal: st.terminal || '',
      move_type: st.move || '', containers: st.containers.slice(), booking_number: st.bookings[0] || '',
      quantity: parseInt(val('quantity'), 10) || null, line: val('line'), equip_size: val('equipSize')
    };
  }
  window.WizPayload1 = payload1;

  function next1() {
    var chip = q('.move-form .chip-field');
    if (chip) chip._add();
    qa('[data-step="1"] mat-form-field').forEach(Mat.clearError);
    var p = payload1(), k = kind(), errors = {};
    if (!st.trucking) errors.trucking = 'Trucking company is required';
    if (!st.terminal) errors.terminal = 'Terminal is required';
    if (!st.move) errors.moveType = 'Move Type is required';
    if (k === 'container' && !p.containers.length) errors.containerNumber = 'Container number is required';
    if (k === 'booking' && !p.booking_number) errors.bookingNumber = 'Booking number is required';
    if (k === 'empty' && !p.line) errors.line = 'Line is required';
    if (k === 'empty' && !p.equip_size) errors.equipSize = 'Equip Size is required';
    if ((k === 'booking' || k === 'empty') && !(p.quantity > 0)) errors.quantity = 'Quantity is required';
    if (Object.keys(errors).length) { showErrors(errors); return; }
    busy(1, true);
    Mat.api('POST', '/api/wizard/step1', p).then(function (j) {
      busy(1, false);
      if (!j.ok) {
        showErrors(j.errors);
        if (j.dialog) Mat.dialog(j.dialog);
        return;
      }
      if (!j.advance) return; /* the real Next sometimes just does not move on */
      st.moves = j.moves;
      window.WizSteps.renderMoves();
      go(2);
    }).catch(function (e) { busy(1, false); Mat.dialog('Error: ' + e.message); });
  }
})();
