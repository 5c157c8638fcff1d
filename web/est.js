// The EST theme "Läget vecka N": DeSO coloured green/yellow/red for a chosen ISO week, with the
// rule shown, a week slider, and the EST group's bedömning beside the computed status (editors
// set it here). Reads /api/est; app.js asks this file for the paint and the legend.
'use strict';

(function () {
  const COLOURS = { green: '#2e9e4f', yellow: '#f2c500', red: '#d7261e' };
  const LABELS = { green: 'grön', yellow: 'gul', red: 'röd' };
  const est = { data: null, weeks: [], week: null, role: 'public', selected: null };
  const $ = (id) => document.getElementById(id);
  const map = window.lagesbildMap;
  const esc = (v) => String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

  function headers(extra) {
    const token = (window.lagesbildAuth && window.lagesbildAuth.bearer()) || window.lagesbild.token;
    return Object.assign(token ? { Authorization: 'Bearer ' + token } : {}, extra || {});
  }

  // "2026-W12" → "vecka 12 2026".
  function weekSv(w) {
    const m = /^(\d{4})-W(\d{2})$/.exec(w || '');
    return m ? `vecka ${Number(m[2])} ${m[1]}` : (w || '');
  }

  function paint() {
    if (!est.data || !est.data.areas.length) return '#cccccc';
    const expr = ['match', ['get', 'deso']];
    est.data.areas.forEach((a) => { expr.push(a.area, COLOURS[a.shown]); });
    expr.push('#cccccc');
    return expr;
  }

  function assessedCodes() {
    return est.data ? est.data.areas.filter((a) => a.assessment).map((a) => a.area) : [];
  }

  function legend() {
    let h = `<div class="legend-title">Läget ${esc(weekSv(est.week))} (EST)</div>`;
    ['green', 'yellow', 'red'].forEach((k) => {
      h += `<div class="legend-item"><span class="swatch" style="background:${COLOURS[k]}"></span><span>${LABELS[k]}</span></div>`;
    });
    h += '<div class="legend-item"><span class="swatch" style="border:3px solid #000;background:none"></span><span>Bedömning av EST-gruppen</span></div>';
    return h;
  }

  function areaInfo(a) {
    if (!a) return '<p class="muted small">Klicka på ett område för dess status.</p>';
    const c = a.computed;
    const comp = `Beräknad: <b>${LABELS[c.status]}</b>` + (c.score != null ? ` (poäng ${String(c.score).replace('.', ',')}, ${c.incidents} händelser)` : ' (få händelser: antal döljs)');
    const judged = a.assessment
      ? `Bedömning: <b>${LABELS[a.assessment.status]}</b>${a.assessment.comment ? ' – ' + esc(a.assessment.comment) : ''} <span class="muted small">(${esc(a.assessment.at)}${a.assessment.by ? ', ' + esc(a.assessment.by) : ''})</span>`
      : 'Ingen bedömning satt.';
    return `<p><b>${esc(a.name)}</b></p><p id="est-computed">${comp}</p><p id="est-judged">${judged}</p>`;
  }

  function render() {
    $('est-week').max = String(Math.max(0, est.weeks.length - 1));
    $('est-week').value = String(Math.max(0, est.weeks.indexOf(est.week)));
    $('est-week-label').textContent = 'Läget ' + weekSv(est.week);
    $('est-rule').textContent = est.data.rule;
    const n = { green: 0, yellow: 0, red: 0 };
    est.data.areas.forEach((a) => { n[a.shown] += 1; });
    $('est-summary').textContent = `${n.red} röda, ${n.yellow} gula, ${n.green} gröna områden; ${assessedCodes().length} med bedömning.`;
    $('est-area-info').innerHTML = areaInfo(est.data.areas.find((a) => a.area === est.selected));
    $('est-assess').hidden = !(est.role === 'editor' || est.role === 'admin');
    if (window.lagesbild.theme === 'est') {
      map.setPaintProperty('deso-fill', 'fill-color', paint());
      if (map.getLayer('est-assessed')) map.setFilter('est-assessed', ['in', ['get', 'deso'], ['literal', assessedCodes()]]);
      if (window.lagesbildRenderLegend) window.lagesbildRenderLegend();
    }
    document.body.dataset.estWeek = est.week || '';
  }

  async function load(week) {
    const q = week ? '?week=' + encodeURIComponent(week) : '';
    const r = await fetch('/api/est' + q, { headers: headers() });
    if (!r.ok) throw new Error((await r.json().catch(() => ({}))).description || String(r.status));
    est.data = await r.json();
    est.weeks = est.data.weeks;
    est.week = est.data.week;
    render();
  }

  async function refreshRole() {
    try {
      const r = await fetch('/api/auth/me', { headers: headers() });
      est.role = r.ok ? (await r.json()).role : 'public';
    } catch (e) { est.role = 'public'; }
  }

  async function themeChanged(theme) {
    const on = theme === 'est';
    $('est-panel').hidden = !on;
    if (map.getLayer('est-assessed')) map.setLayoutProperty('est-assessed', 'visibility', on ? 'visible' : 'none');
    if (!on) return;
    await refreshRole();
    try { await load(est.week); } catch (e) { $('est-summary').textContent = 'EST-läget kunde inte hämtas: ' + e.message; }
  }

  async function saveAssessment() {
    const msg = $('est-assess-msg');
    const area = est.selected;
    if (!area) { msg.textContent = 'Välj ett område på kartan först.'; return; }
    const body = JSON.stringify({ status: $('est-status').value, comment: $('est-comment').value });
    const r = await fetch(`/api/est/${encodeURIComponent(area)}/${encodeURIComponent(est.week)}`, { method: 'PUT', headers: headers({ 'Content-Type': 'application/json' }), body });
    if (!r.ok) { msg.textContent = 'Kunde inte spara: ' + ((await r.json().catch(() => ({}))).description || r.status); return; }
    msg.textContent = 'Bedömningen är sparad.';
    await load(est.week);
  }

  map.on('load', () => {
    map.addLayer({ id: 'est-assessed', type: 'line', source: 'deso', 'source-layer': 'deso', layout: { visibility: 'none' }, filter: ['in', ['get', 'deso'], ['literal', []]], paint: { 'line-color': '#000', 'line-width': 3.5 } });
  });
  map.on('click', 'deso-fill', (e) => {
    if (window.lagesbild.theme !== 'est' || !est.data) return;
    const f = e.features && e.features[0];
    est.selected = f ? f.properties.deso : null;
    render();
  });
  $('est-week').addEventListener('input', (e) => {
    const w = est.weeks[Number(e.target.value)];
    $('est-week-label').textContent = 'Läget ' + weekSv(w);
  });
  $('est-week').addEventListener('change', (e) => {
    const w = est.weeks[Number(e.target.value)];
    if (w && w !== est.week) load(w).catch((err) => { $('est-summary').textContent = err.message; });
  });
  $('est-save').addEventListener('click', () => { saveAssessment().catch((e) => { $('est-assess-msg').textContent = e.message; }); });

  window.lagesbildEst = { paint, legend, themeChanged, load, state: est, select: (code) => { est.selected = code; render(); } };
})();
