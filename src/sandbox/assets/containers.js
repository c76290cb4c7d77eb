/* Containers grid: infinite scroll over /api/containers, expandable rows with detail card and
 * timeline (/api/containers/detail). Rows never exist in the server HTML. */
(function () {
  'use strict';
  var el = Mat.el;
  var box = document.getElementById('searchres');
  var tbody = box.querySelector('tbody');
  var countEl = document.getElementById('container-count');
  var columns = window.SANDBOX.columns;
  var nextPage = 0, loaded = 0, total = null, loading = false, done = false;

  function showBar() {
    if (!box.querySelector(':scope > mat-progress-bar')) box.appendChild(Mat.progressBar());
  }
  function hideBar() {
    box.querySelectorAll(':scope > mat-progress-bar').forEach(function (b) { b.remove(); });
  }

  function load() {
    if (loading || done) return;
    loading = true;
    showBar(); /* synchronously, before the render delay, so drivers can wait on it */
    Mat.api('GET', '/api/containers?page=' + nextPage).then(function (j) {
      total = j.total;
      j.rows.forEach(addRow);
      loaded += j.rows.length;
      nextPage += 1;
      done = !j.has_more;
      loading = false;
      hideBar();
      countEl.textContent = loaded + ' of ' + total + ' containers';
      if (!loaded) tbody.appendChild(emptyRow());
      /* A box too tall to scroll could never ask for more. */
      if (!done && box.scrollHeight <= box.clientHeight + 2) load();
    }).catch(function (e) {
      loading = false;
      hideBar();
      countEl.textContent = 'Error loading containers: ' + e.message;
    });
  }

  function emptyRow() {
    var tr = el('tr', { class: 'empty-row' });
    tr.appendChild(el('td', { colspan: '20', class: 'empty-state', text: 'No containers found.' }));
    return tr;
  }

  function addRow(row) {
    var tr = el('tr', { role: 'row', class: 'mat-mdc-row mdc-data-table__row cdk-row', 'data-container': row.id });
    var sel = el('td', { class: 'mat-mdc-cell select-cell' });
    var cb = el('mat-checkbox', { class: 'mat-mdc-checkbox' });
    var input = el('input', { type: 'checkbox', class: 'mdc-checkbox__native-control', 'aria-label': 'Select ' + row.id });
    cb.appendChild(input);
    sel.appendChild(cb);
    sel.addEventListener('click', function (e) { e.stopPropagation(); });
    tr.appendChild(sel);
    row.cells.forEach(function (v, i) {
      var key = columns[i].replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '').toLowerCase();
      var td = el('td', { role: 'cell', class: 'mat-mdc-cell mdc-data-table__cell cdk-cell cdk-column-' + key, text: v });
      if (i === 3 && v === 'YES') td.classList.add('holds-YES');
      tr.appendChild(td);
    });
    var exp = el('td', { class: 'mat-mdc-cell expand-cell' });
    exp.appendChild(Mat.icon('keyboard_arrow_right'));
    tr.appendChild(exp);
    tr.addEventListener('click', function () { toggle(tr, row.id); });
    tbody.appendChild(tr);
  }

  function toggle(tr, id) {
    var icon = tr.querySelector('.expand-cell mat-icon');
    var next = tr.nextElementSibling;
    if (next && next.classList.contains('detail-row')) {
      next.remove();
      tr.classList.remove('expanded');
      Mat.setIcon(icon, 'keyboard_arrow_right');
      return;
    }
    tr.classList.add('expanded');
    Mat.setIcon(icon, 'keyboard_arrow_down');
    var d = el('tr', { class: 'detail-row', 'data-container': id });
    var td = el('td', { colspan: '20', class: 'detail-cell' });
    td.appendChild(el('div', { class: 'detail-loading loading-row', text: 'Loading details\u2026' }));
    d.appendChild(td);
    tr.parentNode.insertBefore(d, tr.nextSibling);
    Mat.api('GET', '/api/containers/detail?id=' + encodeURIComponent(id)).then(function (j) {
      if (!d.isConnected) return;
      td.innerHTML = '';
      var wrap = renderDetail(j);
      /* The table is wider than the box: keep the card in the visible part. */
      wrap.style.width = box.clientWidth + 'px';
      td.appendChild(wrap);
    }).catch(function (e) {
      td.innerHTML = '';
      td.appendChild(el('div', { class: 'loading-row', text: 'Error: ' + e.message }));
    });
  }

  function renderDetail(j) {
    var wrap = el('div', { class: 'detail-wrap' });
    var card = el('mat-card', { class: 'mat-mdc-card container-detail-card' });
    var grid = el('div', { class: 'detail-grid' });
    j.sections.forEach(function (s) {
      var sec = el('div', { class: 'detail-section' });
      sec.appendChild(el('h4', { class: 'section-title', text: s.title }));
      s.fields.forEach(function (f) {
        var row = el('div', { class: 'field-row' });
        row.appendChild(el('div', { class: 'field-label', text: f.label }));
        row.appendChild(el('div', { class: f.label === 'Booking #' ? 'field-data btn-link' : 'field-data', text: f.value }));
        sec.appendChild(row);
      });
      grid.appendChild(sec);
    });
    card.appendChild(grid);
    wrap.appendChild(card);

    var flow = el('app-containerflow');
    var tl = el('div', { class: 'containerflow-card' });
    tl.appendChild(el('h4', { text: 'Container Flow' }));
    j.timeline.forEach(function (m) {
      var r = el('div', { fxlayout: 'row', class: 'timeline-row', 'fxlayoutalign': 'start stretch' });
      r.appendChild(el('div', { class: 'timeline-divider ' + (m.status === 'completed' ? 'dividerflowcolor' : 'dividerflowcolor2') }));
      var t = el('div', { class: 'timeline-text' });
      t.appendChild(el('span', { class: 'location-details-label', text: m.milestone }));
      t.appendChild(el('span', { class: 'location-details-label', text: m.date }));
      r.appendChild(t);
      tl.appendChild(r);
    });
    flow.appendChild(tl);
    wrap.appendChild(flow);
    return wrap;
  }

  box.addEventListener('scroll', function () {
    if (done || loading) return;
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 40) load();
  });
  load();
})();
