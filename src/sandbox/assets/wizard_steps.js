/* Steps 2-4 of the Add Appointment wizard: move cards, the slot choice, Submit and what the
 * portal does after it (sandbox.after_submit). */
(function () {
  'use strict';
  var el = Mat.el;
  var F = window.WizFields;
  var W = (window.WizSteps = {});
  var x; /* the context wizard.js passes in: state, helpers */

  function C(a, b) { return Mat.C(a, b); }

  W.init = function (ctx) {
    x = ctx;
    var back2 = Mat.button('Back', 'stroked', 'step-back');
    var next2 = Mat.button('Next', 'stroked', 'step-next');
    back2.addEventListener('click', function () { x.go(1); });
    next2.addEventListener('click', next2Click);
    x.actions(2, [back2, next2]);
    var back3 = Mat.button('Back', 'stroked', 'step-back');
    var submit = Mat.button('Submit', 'flat', C('mat-warn', 'mat-warn') + ' step-submit');
    back3.addEventListener('click', function () { x.go(2); });
    submit.addEventListener('click', submitClick);
    x.actions(3, [back3, submit]);
    var slot = el('mat-select', { formcontrolname: 'slot' });
    /* The recorded (legacy) slot select has no visible label; MDC keeps "Appointment". */
    var f = Mat.formField(slot, { name: 'slot', label: Mat.legacy() ? null : 'Appointment', type: 'mat-select', cls: 'slot-field' });
    x.q('.slot-slot').appendChild(f);
    Mat.initSelect(slot, {
      options: function () { return x.st.slots.length ? x.st.slots.map(function (s) { return s.slot; }) : [x.st.noSlots]; },
      onChange: setSlot
    });
    var cal = el('button', { type: 'button', class: C('mat-focus-indicator mat-icon-button mat-button-base', 'mdc-icon-button mat-mdc-icon-button') + ' calendar-button', 'aria-label': 'Calendar' });
    cal.appendChild(Mat.icon('calendar_month'));
    x.q('.calendar-slot').appendChild(cal);
  };

  function summary(step) {
    var row = x.stepEl(step).querySelector('.summary-row');
    row.innerHTML = '';
    row.appendChild(F.summary('Trucking Company', x.st.trucking));
    row.appendChild(F.summary('Terminal', x.st.terminal));
  }

  function roField(name, label, value, disabled) {
    var i = Mat.input({ formcontrolname: name, readonly: '' });
    i.value = value || '';
    if (disabled) i.disabled = true;
    return Mat.formField(i, { name: name, label: label, cls: 'ro-field' });
  }

  /* One card per move; the checkbox starts unchecked and Next refuses until one is checked. */
  W.renderMoves = function () {
    var st = x.st;
    summary(2);
    var tb = x.q('.move-toolbar');
    tb.innerHTML = '';
    var discard = Mat.button('DISCARD', 'stroked', 'discard-button');
    discard.disabled = true;
    var add = Mat.button('ADD MOVE', 'stroked', 'add-move-button');
    add.querySelector('span').appendChild(Mat.icon('chevron_right'));
    add.addEventListener('click', function () { x.go(1); });
    discard.addEventListener('click', function () { checks().forEach(function (c) { Mat.setChecked(c, false); }); sync(); });
    tb.appendChild(discard);
    tb.appendChild(add);
    var box = x.q('.move-items');
    box.innerHTML = '';
    var booking = x.kind() === 'booking';
    st.moves.forEach(function (m) {
      var card = el('mat-card', { class: 'mat-card move-card', 'data-key': m.key });
      var head = el('div', { class: 'move-card-head' });
      var cb = Mat.checkbox({ value: m.key, aria: 'Select move' });
      cb.querySelector('input').addEventListener('change', sync);
      head.appendChild(cb);
      head.appendChild(Mat.svgIcon(st.move.toLowerCase().replace(' ', '-')));
      var done = Mat.icon('check_circle');
      done.classList.add('move-complete');
      head.appendChild(done);
      card.appendChild(head);
      var row = el('div', { class: 'field-row' });
      row.appendChild(roField('MoveType', 'Move Type', st.move));
      if (booking) {
        var unit = Mat.input({ formcontrolname: 'Unit', uppercase: '', maxlength: '11' });
        row.appendChild(Mat.formField(unit, { name: 'Unit', label: 'Unit Number', required: true }));
      } else {
        row.appendChild(roField('UnitNumber', 'Unit Number', m.unit));
      }
      row.appendChild(roField('Line', 'Line', m.line));
      row.appendChild(roField('EquipSize', 'Equip size', m.equip_size, true));
      var pill = el('div', { class: 'own-chassis' });
      pill.appendChild(el('span', { class: 'toggle-label', text: 'Own chassis' }));
      pill.appendChild(F.ownChassis(st.own, function (v) { st.own = v; }));
      row.appendChild(pill);
      card.appendChild(row);
      var row2 = el('div', { class: 'field-row' });
      row2.appendChild(F.autocomplete({ name: 'Plate', label: 'Truck Plate', required: true,
        options: function () { return x.opts().truck_plates; },
        onPick: function () { done.classList.add('complete'); } }));
      if (x.info().pin) row2.appendChild(Mat.formField(Mat.input({ formcontrolname: 'Pin', placeholder: 'PIN' }), { name: 'Pin', label: 'PIN' }));
      if (booking) {
        [1, 2, 3, 4].forEach(function (n) {
          row2.appendChild(Mat.formField(Mat.input({ formcontrolname: 'Seal' + n + '_Num' }), { name: 'Seal' + n + '_Num', label: 'Seal ' + n, cls: 'seal-field' }));
        });
      }
      card.appendChild(row2);
      box.appendChild(card);
    });
    function checks() { return Array.prototype.slice.call(box.querySelectorAll('mat-checkbox')); }
    function sync() {
      discard.disabled = !checks().some(function (c) { return c.querySelector('input').checked; });
      box.querySelectorAll(':scope > mat-error').forEach(function (e) { e.remove(); });
    }
  };

  /* The first checked card's values go into the booking. */
  function card() {
    var cards = Array.prototype.slice.call(x.q('.move-items').querySelectorAll('mat-card'));
    return cards.filter(function (c) { return c.querySelector('input[type=checkbox]').checked; })[0] || cards[0];
  }
  function cval(c, name) { var i = c && c.querySelector('input[formcontrolname="' + name + '"]'); return i ? i.value.trim() : ''; }

  function payload() {
    var p = window.WizPayload1();
    var c = card();
    p.selected = Array.prototype.slice.call(x.q('.move-items').querySelectorAll('input[type=checkbox]'))
      .filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
    p.pin = cval(c, 'Pin');
    p.plate = cval(c, 'Plate');
    p.own_chassis = x.st.own;
    p.unit = cval(c, 'Unit');
    p.seals = [1, 2, 3, 4].map(function (n) { return cval(c, 'Seal' + n + '_Num'); });
    p.slot = x.st.slot || '';
    return p;
  }

  function next2Click() {
    Mat.closeOverlays();
    x.qa('[data-step="2"] mat-form-field').forEach(Mat.clearError);
    var box = x.q('.move-items');
    box.querySelectorAll(':scope > mat-error').forEach(function (e) { e.remove(); });
    var p = payload(), errors = {};
    if (!p.selected.length) errors.selected = 'Select at least one move';
    var c = card();
    if (!p.plate) Mat.setError(c.querySelector('[data-field="Plate"]'), 'Truck plate is required');
    if (x.kind() === 'booking' && !p.unit) Mat.setError(c.querySelector('[data-field="Unit"]'), 'Unit Number is required');
    window.WizShowErrors(errors);
    if (!p.selected.length || !p.plate || (x.kind() === 'booking' && !p.unit)) return;
    x.busy(2, true);
    Mat.api('POST', '/api/wizard/slots', { terminal: x.st.terminal, move_type: x.st.move }).then(function (j) {
      x.busy(2, false);
      if (!j.advance) return;
      x.st.noSlots = j.no_slots_text;
      setSlots(j.slots);
      renderReadonly(p);
      x.go(3);
    }).catch(function (e) { x.busy(2, false); Mat.dialog('Error: ' + e.message); });
  }

  function renderReadonly(p) {
    summary(3);
    var box = x.q('.readonly-move');
    box.innerHTML = '';
    var m = x.st.moves.filter(function (v) { return v.key === p.selected[0]; })[0] || x.st.moves[0];
    [['Move Type', x.st.move], ['Unit Number', p.unit || m.unit], ['Line', m.line], ['Equip size', m.equip_size],
     ['Own chassis', x.st.own]].forEach(function (r) { box.appendChild(F.summary(r[0], r[1])); });
    var plate = F.summary('Truck Plate', p.plate);
    var ok = Mat.icon('check_circle');
    ok.classList.add('plate-ok');
    plate.querySelector('.summary-value').appendChild(ok);
    box.appendChild(plate);
  }

  /* Preselect the first slot; a full terminal lists one option saying so. */
  function setSlots(slots) {
    x.st.slots = slots;
    var sel = x.q('mat-select[formcontrolname="slot"]');
    Mat.clearError(x.field('slot'));
    if (slots.length) { Mat.setSelectValue(sel, slots[0].slot); setSlot(slots[0].slot); }
    else { Mat.setSelectValue(sel, x.st.noSlots); setSlot(x.st.noSlots); }
  }

  function setSlot(v) {
    var s = x.st.slots.filter(function (y) { return y.slot === v; })[0];
    x.st.slot = s ? v : null;
    x.q('.checkin-text').textContent = s ? 'Check-In for this visit should be completed by ' + s.check_in_by : '';
    x.q('.checkin-info').style.display = s ? '' : 'none';
  }

  function submitClick() {
    var f = x.field('slot');
    Mat.clearError(f);
    if (!x.st.slot) { Mat.setError(f, 'Please select an appointment time'); return; }
    x.busy(3, true);
    Mat.api('POST', '/api/wizard/book', payload()).then(function (j) {
      x.busy(3, false);
      if (j.ok) { after(j); return; }
      if (j.slot_taken) { setSlots(j.slots || []); Mat.setError(f, j.error); return; }
      Mat.snackBar(j.error || 'The appointment could not be booked.');
    }).catch(function (e) { x.busy(3, false); Mat.snackBar('Error: ' + e.message); });
  }

  /* What follows Submit is not recorded: the sandbox offers three behaviours. */
  function after(j) {
    if (j.after_submit === 'my_appointments') { location.assign((window.SANDBOX.links || {}).myappointments || '/myappointments'); return; }
    if (j.after_submit === 'snackbar') { x.reset(); Mat.snackBar('Appointment created successfully'); return; }
    confirm(j.appointment);
  }

  function confirm(a) {
    x.st.done = true;
    x.q('.confirmation-number').textContent = a.confirmation_number;
    var tb = x.q('.appointment-details tbody');
    tb.innerHTML = '';
    var unit = a.containers.length ? a.containers.join(', ') : (a.booking_number || ((a.line || '') + ' ' + (a.equip_size || '')).trim());
    [['Appointment Time', a.appointment_time], ['Check-In By', a.check_in_by], ['Terminal', a.terminal],
     ['Move Type', a.move_type], [a.booking_number ? 'Booking #' : 'Container #', unit],
     ['Trucking Company', a.trucking_company], ['Truck Plate', a.truck_plate],
     ['Own chassis', a.own_chassis ? 'YES' : 'NO'], ['Status', a.status]].forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('th', { text: r[0] }));
      tr.appendChild(el('td', { class: 'detail-' + r[0].toLowerCase().replace(/[^a-z]+/g, '-'), text: r[1] }));
      tb.appendChild(tr);
    });
    x.go(4);
  }
})();
