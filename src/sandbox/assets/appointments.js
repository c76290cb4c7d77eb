/* My Appointments: the account's booked visits from /api/appointments. */
(function () {
  'use strict';
  var el = Mat.el;
  var tbody = document.querySelector('.appointments-table tbody');
  var bar = document.querySelector('.table-card > mat-progress-bar');
  var count = document.getElementById('appt-count');
  var master = document.querySelector('.appointments-table thead input[type=checkbox]');
  function rowBoxes() {
    return Array.prototype.slice.call(tbody.querySelectorAll('tr.mat-mdc-row input[type=checkbox]'));
  }
  // As Material's select-all: the header box ticks or clears every row; it shows checked when
  // all rows are, indeterminate when some are.
  function syncMaster() {
    var boxes = rowBoxes();
    var on = boxes.filter(function (b) { return b.checked; }).length;
    master.checked = boxes.length > 0 && on === boxes.length;
    master.indeterminate = on > 0 && on < boxes.length;
  }
  master.addEventListener('change', function () {
    rowBoxes().forEach(function (b) { b.checked = master.checked; });
    syncMaster();
  });
  tbody.addEventListener('change', syncMaster);
  Mat.api('GET', '/api/appointments').then(function (j) {
    if (bar) bar.remove();
    count.textContent = j.appointments.length + ' appointment(s)';
    if (!j.appointments.length) {
      var tr = el('tr', { class: 'empty-row' });
      tr.appendChild(el('td', { colspan: '9', class: 'empty-state', text: 'No appointments found.' }));
      tbody.appendChild(tr);
      return;
    }
    j.appointments.forEach(function (a) {
      var tr = el('tr', { role: 'row', class: 'mat-mdc-row cdk-row', 'data-confirmation': a.confirmation_number });
      var sel = el('td', { class: 'mat-mdc-cell select-cell' });
      var cb = el('mat-checkbox', { class: 'mat-mdc-checkbox' });
      cb.appendChild(el('input', { type: 'checkbox', class: 'mdc-checkbox__native-control' }));
      sel.appendChild(cb);
      tr.appendChild(sel);
      var units = a.containers.length ? a.containers.join(', ') : (a.booking_number || 'N/A');
      [a.confirmation_number, a.appointment_time, a.terminal, a.move_type, units,
       a.trucking_company, a.truck_plate, a.status].forEach(function (v) {
        tr.appendChild(el('td', { role: 'cell', class: 'mat-mdc-cell cdk-cell', text: v }));
      });
      tbody.appendChild(tr);
    });
  }).catch(function (e) {
    if (bar) bar.remove();
    count.textContent = 'Error: ' + e.message;
  });
})();
