/* My Appointments: the account's booked visits from /api/appointments. Reached through a
 * loading route (the URL reads /myappointments?loading=true until the list is in), then a
 * window-scrolled table (no inner scroll box) that shows 10 more rows each time the window is
 * scrolled to the bottom; checkbox rows, a master checkbox, an Excel (xls) export icon. */
(function () {
  'use strict';
  var el = Mat.el;
  var PAGE = 10;
  var root = document.getElementById('appointments-root');
  var all = [], shown = 0, loadingMore = false, master, tbody;

  document.body.classList.add('window-scroll');
  history.replaceState(null, '', '/myappointments?loading=true');
  var unspin = Mat.pageSpinner();
  root.appendChild(el('div', { class: 'appointments-loading', text: 'Loading...' }));

  Mat.api('GET', '/api/appointments').then(function (j) {
    if (!(window.SANDBOX && window.SANDBOX.generation)) Mat.gen = j.generation || 'legacy';
    document.body.classList.add('gen-' + Mat.gen);
    all = j.appointments;
    unspin();
    history.replaceState(null, '', '/myappointments');
    render();
  }).catch(function (e) {
    unspin();
    root.textContent = 'Error: ' + e.message;
  });

  function C(a, b) { return Mat.C(a, b); }

  function render() {
    root.innerHTML = '';
    var tb = el('div', { class: 'appointments-toolbar' });
    tb.appendChild(el('h1', { class: 'page-title', text: 'My Appointments' }));
    tb.appendChild(el('span', { class: 'count', id: 'appt-count', text: all.length + ' appointment(s)' }));
    tb.appendChild(el('span', { class: 'spacer' }));
    var xls = el('button', { type: 'button', class: 'xls-button', mattooltip: 'Excel', 'aria-label': 'Excel' });
    xls.appendChild(Mat.svgIcon('xls'));
    xls.addEventListener('click', exportXls);
    tb.appendChild(xls);
    root.appendChild(tb);
    var table = el('table', { 'mat-table': '', role: 'table', class: C('mat-table cdk-table', 'mat-mdc-table mdc-data-table__table cdk-table') + ' appointments-table' });
    var thead = el('thead', { role: 'rowgroup' });
    var hr = el('tr', { role: 'row', class: C('mat-header-row cdk-header-row', 'mat-mdc-header-row mdc-data-table__header-row cdk-header-row') });
    var th = el('th', { role: 'columnheader', class: C('mat-header-cell cdk-header-cell', 'mat-mdc-header-cell mdc-data-table__header-cell cdk-header-cell') + ' select-cell' });
    master = Mat.checkbox({ aria: 'Select all' });
    master.querySelector('input').addEventListener('change', function () {
      var on = master.querySelector('input').checked;
      boxes().forEach(function (b) { Mat.setChecked(b, on); });
      sync();
    });
    th.appendChild(master);
    hr.appendChild(th);
    COLUMNS.forEach(function (c) {
      hr.appendChild(el('th', { role: 'columnheader', class: C('mat-header-cell cdk-header-cell', 'mat-mdc-header-cell mdc-data-table__header-cell cdk-header-cell'), text: c }));
    });
    thead.appendChild(hr);
    table.appendChild(thead);
    tbody = el('tbody', { role: 'rowgroup' });
    table.appendChild(tbody);
    root.appendChild(table);
    if (!all.length) {
      var tr = el('tr', { class: 'empty-row' });
      tr.appendChild(el('td', { colspan: String(COLUMNS.length + 1), class: 'empty-state', text: 'No appointments found.' }));
      tbody.appendChild(tr);
      return;
    }
    more();
    window.addEventListener('scroll', onScroll);
  }

  var COLUMNS = ['Confirmation #', 'Appointment Time', 'Terminal', 'Move Type', 'Container/Booking #',
    'Trucking', 'Truck Plate', 'Status'];
  function cells(a) {
    var units = a.containers.length ? a.containers.join(', ')
      : (a.booking_number || ((a.line || '') + ' ' + (a.equip_size || '')).trim() || 'N/A');
    return [a.confirmation_number, a.appointment_time, a.terminal, a.move_type, units,
      a.trucking_company, a.truck_plate, a.status];
  }

  function more() {
    all.slice(shown, shown + PAGE).forEach(function (a) {
      var tr = el('tr', { role: 'row', class: C('mat-row cdk-row', 'mat-mdc-row mdc-data-table__row cdk-row'), 'data-confirmation': a.confirmation_number });
      var sel = el('td', { role: 'cell', class: C('mat-cell cdk-cell', 'mat-mdc-cell mdc-data-table__cell cdk-cell') + ' select-cell' });
      var cb = Mat.checkbox({ aria: 'Select ' + a.confirmation_number });
      cb.querySelector('input').addEventListener('change', sync);
      sel.appendChild(cb);
      tr.appendChild(sel);
      cells(a).forEach(function (v) {
        tr.appendChild(el('td', { role: 'cell', class: C('mat-cell cdk-cell', 'mat-mdc-cell mdc-data-table__cell cdk-cell'), text: v }));
      });
      tbody.appendChild(tr);
    });
    shown = Math.min(all.length, shown + PAGE);
    sync();
    /* Like ngx-infinite-scroll's immediate check: a page that does not fill the window loads
     * the next one without waiting for a scroll that cannot happen. */
    if (shown < all.length && document.documentElement.scrollHeight <= window.innerHeight) loadMore();
  }

  /* The next page loads (after a short spinner) when the window reaches the bottom. */
  function onScroll() {
    if (window.innerHeight + window.scrollY < document.documentElement.scrollHeight - 4) return;
    loadMore();
  }

  function loadMore() {
    if (loadingMore || shown >= all.length) return;
    loadingMore = true;
    var unspinMore = Mat.pageSpinner();
    setTimeout(function () { unspinMore(); more(); loadingMore = false; }, 200);
  }

  function boxes() { return Array.prototype.slice.call(tbody.querySelectorAll('mat-checkbox')); }

  /* As Material's select-all: the header box ticks or clears every loaded row; it shows
   * checked when all are, indeterminate when some are. */
  function sync() {
    var b = boxes();
    var on = b.filter(function (x) { return x.querySelector('input').checked; }).length;
    if (on > 0 && on < b.length) Mat.setIndeterminate(master);
    else Mat.setChecked(master, b.length > 0 && on === b.length);
  }

  /* The export: the checked rows (or all loaded rows) as an HTML-table .xls, as many web apps do. */
  function exportXls() {
    var rows = Array.prototype.slice.call(tbody.querySelectorAll('tr[data-confirmation]'));
    var picked = rows.filter(function (r) { return r.querySelector('input[type=checkbox]').checked; });
    if (picked.length) rows = picked;
    var esc = function (s) { return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;'); };
    var html = '<html><head><meta charset="utf-8"></head><body><table><tr>' +
      COLUMNS.map(function (c) { return '<th>' + esc(c) + '</th>'; }).join('') + '</tr>' +
      rows.map(function (r) {
        return '<tr>' + Array.prototype.slice.call(r.children, 1).map(function (td) { return '<td>' + esc(td.textContent) + '</td>'; }).join('') + '</tr>';
      }).join('') + '</table></body></html>';
    var a = el('a', { href: URL.createObjectURL(new Blob([html], { type: 'application/vnd.ms-excel' })), download: 'MyAppointments.xls' });
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
})();
