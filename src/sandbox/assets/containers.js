/* Containers grid (facts §5-§7): infinite scroll over /api/containers, rows that expand from
 * their chevron only, a card and timeline from /api/containers/detail. Rows never exist in the
 * server HTML. window.SANDBOX.generation picks the Material classes: "legacy" (pre-MDC) or "mdc";
 * window.SANDBOX.spinner says what shows while a page loads ("spinner", "bar" or "none"). */
(function () {
  'use strict';
  var el = Mat.el;
  var cfg = window.SANDBOX;
  var legacy = cfg.generation !== 'mdc';
  var box = document.getElementById('searchres');
  var table = box.querySelector('table');
  var tbody = table.querySelector('tbody');
  var columns = cfg.columns;
  var actions = document.querySelector('.actions-button');
  var nextPage = 0, loaded = 0, loading = false, done = false;
  var checkboxIds = 0;

  /* material.js turns every mat-icon into a ligature icon on DOMContentLoaded; the toolbar's
   * SVG icons (Excel, PDF) must keep their SVG. */
  var svgIcons = Array.prototype.map.call(document.querySelectorAll('mat-icon[svgicon]'), function (i) {
    return [i, i.innerHTML, i.getAttribute('svgicon')];
  });
  document.addEventListener('DOMContentLoaded', function () {
    svgIcons.forEach(function (x) {
      x[0].innerHTML = x[1];
      x[0].removeAttribute('data-glyph');
      x[0].setAttribute('data-mat-icon-name', x[2]);
    });
  });

  var C = legacy ? {
    row: 'mat-row cdk-row ng-star-inserted', cell: 'mat-cell cdk-cell ng-star-inserted',
    detailRow: 'mat-row ng-star-inserted', detailCell: 'mat-cell'
  } : {
    row: 'mat-mdc-row mdc-data-table__row cdk-row', cell: 'mat-mdc-cell mdc-data-table__cell cdk-cell',
    detailRow: 'mat-mdc-row detail-row', detailCell: 'mat-mdc-cell mdc-data-table__cell detail-cell'
  };

  function key(name) {
    return name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase();
  }

  /* A checkbox as the generation renders it; onChange(checked) after every toggle. */
  function checkbox(label, onChange) {
    checkboxIds += 1;
    var input, cb;
    if (legacy) {
      var id = 'mat-checkbox-' + checkboxIds;
      cb = el('mat-checkbox', { class: 'mat-checkbox mat-accent ng-untouched ng-pristine ng-valid', id: id });
      var lab = el('label', { class: 'mat-checkbox-layout', for: id + '-input' });
      var inner = el('span', { class: 'mat-checkbox-inner-container mat-checkbox-inner-container-no-side-margin' });
      input = el('input', { type: 'checkbox', class: 'mat-checkbox-input cdk-visually-hidden', id: id + '-input',
        tabindex: '0', 'aria-checked': 'false', 'aria-label': label });
      inner.appendChild(input);
      inner.appendChild(el('span', { class: 'mat-checkbox-frame' }));
      inner.appendChild(el('span', { class: 'mat-checkbox-background' }));
      lab.appendChild(inner);
      lab.appendChild(el('span', { class: 'mat-checkbox-label' }));
      cb.appendChild(lab);
    } else {
      var mid = 'mat-mdc-checkbox-' + checkboxIds;
      cb = el('mat-checkbox', { class: 'mat-mdc-checkbox mat-accent', id: mid });
      var ff = el('div', { class: 'mdc-form-field' });
      var box2 = el('div', { class: 'mdc-checkbox' });
      input = el('input', { type: 'checkbox', class: 'mdc-checkbox__native-control', id: mid + '-input', 'aria-label': label });
      box2.appendChild(input);
      box2.appendChild(el('div', { class: 'mdc-checkbox__background' }));
      ff.appendChild(box2);
      cb.appendChild(ff);
    }
    input.addEventListener('change', function () { setChecked(input, input.checked); onChange(input.checked); });
    input.addEventListener('click', function (e) { e.stopPropagation(); });
    return { root: cb, input: input };
  }

  function setChecked(input, on) {
    input.checked = on;
    input.setAttribute('aria-checked', on ? 'true' : 'false');
    var cb = input.closest('mat-checkbox');
    cb.classList.toggle(legacy ? 'mat-checkbox-checked' : 'mat-mdc-checkbox-checked', on);
  }

  function rowInputs() {
    return Array.prototype.slice.call(tbody.querySelectorAll('tr.cdk-row > td.cdk-column-select input[type=checkbox]'));
  }

  /* Actions is greyed until a row is checked (split button, recorded disabled on a fresh load). */
  function syncActions() {
    var any = rowInputs().some(function (i) { return i.checked; });
    if (any) actions.removeAttribute('disabled'); else actions.setAttribute('disabled', 'true');
    actions.classList.toggle('mat-button-disabled', legacy && !any);
  }

  /* Header checkbox: selects or clears every loaded row. The th around it also toggles (a click
   * on the hidden input is intercepted by the th, as the original recorded). */
  var headTh = table.querySelector('thead th.cdk-column-select');
  var head = checkbox('Select all', function (on) {
    rowInputs().forEach(function (i) { setChecked(i, on); });
    syncActions();
  });
  headTh.appendChild(head.root);
  headTh.addEventListener('click', function (e) {
    if (e.target.closest('label, input')) return;
    head.input.click();
  });

  /* Loading indicator: a spinner below the rows (legacy), a progress bar (mdc), or nothing. */
  function showLoading() {
    if (cfg.spinner === 'bar') {
      if (!box.querySelector(':scope > mat-progress-bar')) box.appendChild(Mat.progressBar());
    } else if (cfg.spinner === 'spinner' && !box.querySelector(':scope > .loading-spinner')) {
      var w = el('div', { class: 'loading-spinner' });
      w.appendChild(el('mat-progress-spinner', { class: 'mat-progress-spinner mat-primary mat-progress-spinner-indeterminate-animation',
        mode: 'indeterminate', role: 'progressbar', tabindex: '-1', style: 'width: 40px; height: 40px;' }));
      box.appendChild(w);
    }
  }
  function hideLoading() {
    box.querySelectorAll(':scope > mat-progress-bar, :scope > .loading-spinner').forEach(function (b) { b.remove(); });
  }

  function load() {
    if (loading || done) return;
    loading = true;
    showLoading(); /* synchronously, before the page's wait */
    Mat.api('GET', '/api/containers?page=' + nextPage).then(function (j) {
      j.rows.forEach(addRow);
      loaded += j.rows.length;
      nextPage += 1;
      done = !j.has_more;
      loading = false;
      hideLoading();
      if (!loaded) tbody.appendChild(emptyRow());
      /* A box too tall to scroll could never ask for more. */
      if (!done && box.scrollHeight <= box.clientHeight + 2) load();
    }).catch(function () {
      loading = false;
      hideLoading();
    });
  }

  function emptyRow() {
    var tr = el('tr', { class: 'mat-row ng-star-inserted' });
    tr.appendChild(el('td', { colspan: String(columns.length + 3), class: C.cell, text: 'No records found' }));
    return tr;
  }

  function td(k) {
    return el('td', { role: 'cell', class: C.cell + ' cdk-column-' + k + ' mat-column-' + k });
  }

  /* One cell, decorated as recorded: badge after the number, info icon before YES/NO, the
   * ticket as a link with the grey number after it, status colours. */
  function fillCell(cell, i, v, row) {
    var name = columns[i];
    if (name === 'Container #') {
      cell.appendChild(el('span', { class: 'container-number', text: v }));
      if (row.badge) cell.appendChild(el('span', { class: 'container-badge badge-' + row.badge, text: row.badge }));
    } else if (name === 'Holds' && (v === 'YES' || v === 'NO')) {
      cell.classList.add(v === 'YES' ? 'holds-yes' : 'holds-no');
      cell.appendChild(Mat.icon('info'));
      cell.appendChild(document.createTextNode(' ' + v));
    } else if (name === 'Pregate Ticket#' && v !== 'N/A' && v.indexOf('*') < 0) {
      cell.appendChild(el('a', { class: 'ticket-link btn-link', text: v }));
      if (row.ticket_suffix) {
        cell.appendChild(document.createTextNode(' '));
        cell.appendChild(el('span', { class: 'ticket-sub', text: row.ticket_suffix }));
      }
    } else {
      cell.textContent = v;
      if (name === 'Status') cell.classList.add('status-' + key(v === 'N/A' ? 'na' : v));
    }
  }

  function addRow(row) {
    var tr = el('tr', { role: 'row', class: C.row });
    var sel = td('select');
    sel.appendChild(checkbox('Select ' + row.id, syncActions).root);
    tr.appendChild(sel);
    var exp = td('expand');
    if (row.expandable) {
      var chevron = Mat.icon('keyboard_arrow_right');
      chevron.classList.add('expand-icon');
      chevron.addEventListener('click', function (e) { e.stopPropagation(); toggle(tr, chevron, row.id); });
      exp.appendChild(chevron);
    }
    tr.appendChild(exp);
    row.cells.forEach(function (v, i) {
      var cell = td(key(columns[i]));
      fillCell(cell, i, v, row);
      tr.appendChild(cell);
    });
    var more = td('more');
    more.appendChild(Mat.icon('more_vert'));
    tr.appendChild(more);
    tbody.appendChild(tr);
  }

  function toggle(tr, chevron, id) {
    var next = tr.nextElementSibling;
    if (next && next._cardOf === tr) {
      next.remove();
      Mat.setIcon(chevron, 'keyboard_arrow_right');
      return;
    }
    Mat.setIcon(chevron, 'keyboard_arrow_down');
    var d = el('tr', { class: C.detailRow, role: 'row' });
    d._cardOf = tr;
    var cell = el('td', { colspan: String(columns.length + 3), class: C.detailCell });
    var wait = el('div', { class: 'loading-spinner' });
    wait.appendChild(el('mat-progress-spinner', { class: 'mat-progress-spinner mat-primary', mode: 'indeterminate', role: 'progressbar' }));
    cell.appendChild(wait);
    d.appendChild(cell);
    tr.parentNode.insertBefore(d, tr.nextSibling);
    Mat.api('GET', '/api/containers/detail?id=' + encodeURIComponent(id)).then(function (j) {
      if (!d.isConnected) return;
      cell.innerHTML = '';
      var wrap = renderCard(j);
      /* The table is wider than the box: keep the card in the visible part. */
      wrap.style.width = box.clientWidth + 'px';
      cell.appendChild(wrap);
    }).catch(function () { cell.innerHTML = ''; });
  }

  function renderCard(j) {
    var wrap = el('div', { class: 'card-wrap' });
    var route = el('div', { class: 'route-strip' });
    j.route.forEach(function (p) { route.appendChild(el('span', { class: 'route-point', text: p })); });
    wrap.appendChild(route);
    j.sections.forEach(function (s) {
      var sec = el('div', { class: 'info-card ng-star-inserted' });
      sec.appendChild(el('div', { class: 'card-title', text: s.title }));
      var fields = el('div', { class: 'fields' });
      s.fields.forEach(function (f) {
        var pair = el('div', { class: 'field-pair' });
        pair.appendChild(el('div', { class: 'field-label ng-star-inserted', text: f.label }));
        var data = el('div', { class: f.label === 'Booking #' ? 'field-data btn-link ng-star-inserted' : 'field-data ng-star-inserted', text: f.value });
        if (f.label === 'Booking #') data.setAttribute('style', 'cursor: pointer;');
        pair.appendChild(data);
        fields.appendChild(pair);
      });
      sec.appendChild(fields);
      wrap.appendChild(sec);
    });
    wrap.appendChild(renderFlow(j.timeline));
    return wrap;
  }

  /* app-containerflow: one div[fxlayout=row] per milestone, oldest first in the DOM (CSS shows
   * newest at the top), sides alternating; the spine's arrows sit in label spans of their own
   * rows (arrow_drop_down at the bottom, arrow_drop_up at the top). */
  function renderFlow(timeline) {
    var flow = el('app-containerflow', { class: 'ng-star-inserted' });
    flow.appendChild(arrowRow('arrow_drop_down'));
    timeline.forEach(function (m, i) {
      var reached = m.status === 'completed';
      var r = el('div', { fxlayout: 'row', class: 'curr-loc-div ng-star-inserted' + (reached ? ' reached' : ''),
        style: 'flex-direction: row; box-sizing: border-box; display: flex;' });
      var left = el('div', { fxflex: '50', class: 'flow-left' });
      var right = el('div', { fxflex: '50', class: 'flow-right' });
      var side = i % 2 === 0 ? right : left;
      side.appendChild(el('span', { class: 'location-details-label', text: m.milestone }));
      side.appendChild(el('span', { class: 'location-details-label p-top-5', text: m.date }));
      r.appendChild(left);
      r.appendChild(el('div', { class: 'timeline-divider ' + (reached ? 'dividerflowcolor' : 'horizontalconflow') }));
      r.appendChild(right);
      flow.appendChild(r);
    });
    flow.appendChild(arrowRow('arrow_drop_up'));
    return flow;
  }

  function arrowRow(name) {
    var r = el('div', { fxlayout: 'row', class: 'spine-arrow ng-star-inserted' });
    r.appendChild(el('div', { fxflex: '50', class: 'flow-left' }));
    var right = el('div', { fxflex: '50', class: 'flow-right' });
    var s = el('span', { class: 'location-details-label' });
    s.appendChild(Mat.icon(name));
    right.appendChild(s);
    r.appendChild(right);
    return r;
  }

  box.addEventListener('scroll', function () {
    if (done || loading) return;
    if (box.scrollTop + box.clientHeight >= box.scrollHeight - 40) load();
  });
  load();
})();
