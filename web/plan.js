// "Rita planområde": draw a plan area (or upload one) and show its social picture from the
// DeSO it touches. Uses app.js's map, origin, authHeaders, fmt and walkState; while drawing,
// walkState.mode is 'plan' so that clicks on the map neither open an area's profile nor add
// route points.
'use strict';

const planState = { ring: [], last: null };
window.lagesbildPlan = planState;

// Labels from the indicator catalogue (/api/indicators), so that every indicator in the store
// has its Swedish label and unit in the panels.
const catalogue = {};
async function loadCatalogue() {
  try {
    const c = await api('/api/indicators');
    c.indicators.forEach((i) => { catalogue[i.name] = i; });
  } catch (e) { /* the panels fall back to the server's own labels */ }
}
window.lagesbildCatalogue = catalogue;
function indicatorLabel(name, fallback) {
  return (catalogue[name] && catalogue[name].label_with_unit) || fallback || name;
}

function planDraft() {
  const ring = planState.ring;
  const features = ring.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }));
  if (ring.length >= 3) features.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...ring, ring[0]]] }, properties: {} });
  else if (ring.length === 2) features.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: ring }, properties: {} });
  return { type: 'FeatureCollection', features };
}

function showDraft() {
  const src = map.getSource('plan-draft');
  if (src) src.setData(planDraft());
  document.getElementById('plan-done').disabled = planState.ring.length < 3;
}

function startPlan() {
  walkState.mode = 'plan';
  planState.ring = [];
  document.getElementById('plan-controls').hidden = false;
  document.getElementById('plan-status').textContent = 'Klicka i kartan för planområdets hörn (minst tre).';
  map.getCanvas().style.cursor = 'crosshair';
  showDraft();
}

function stopPlan() {
  if (walkState.mode === 'plan') walkState.mode = null;
  document.getElementById('plan-controls').hidden = true;
  map.getCanvas().style.cursor = '';
}

function planRows(p) {
  const deso = p.desos.map((d) => `<tr><td>${d.deso}</td><td>${d.regso_name}</td><td class="n">${d.share < 0.005 ? '< 1' : fmt(100 * d.share)} %${d.sliver ? ' <span class="warn">(liten del)</span>' : ''}</td></tr>`).join('');
  const ind = p.indicators.map((l) => `<tr><td>${indicatorLabel(l.indicator, l.label_sv)}${l.warning ? `<br><span class="warn small">${l.warning}</span>` : ''}</td><td class="n">${fmt(l.value)}</td><td class="n">${fmt(l.municipality)}</td></tr>`).join('');
  return { deso, ind };
}

function renderPlan(p) {
  const panel = document.getElementById('profile');
  const body = document.getElementById('profile-body');
  panel.hidden = false;
  const { deso, ind } = planRows(p);
  const types = p.omradestyp.map((t) => `${t.omradestyp} – ${t.label_sv}: ${fmt(t.residents_in_plan)} inv.`).join('<br>');
  const cats = p.incidents_by_category.map((c) => `${c.label_sv}: ${c.count === null ? '–' : c.count}`).join(' · ');
  body.innerHTML = `
    <h2 id="plan-title">${p.name}</h2>
    <p class="muted">${fmt(p.area_km2)} km² · kommun ${p.kommun} · DeSO ${p.deso_version}</p>
    ${p.warnings.map((w) => `<p class="warn">${w}</p>`).join('')}
    <p>Befolkning (uppskattad): <b id="plan-population">${fmt(p.population)}</b></p>
    <h2>Berörda DeSO</h2><table class="ind" id="plan-desos"><tr><th>DeSO</th><th>RegSO</th><th>Andel inom planområdet</th></tr>${deso}</table>
    <h2>Områdestyp</h2><p>${types || 'uppgift saknas'}</p>
    <h2>Indikatorer</h2><table class="ind" id="plan-indicators"><tr><th>Indikator</th><th>Planområdet</th><th>Kommunen</th></tr>${ind}</table>
    <h2>Händelser inom planområdet</h2><p>${p.incidents_total === null ? '–' : p.incidents_total}${cats ? ' (' + cats + ')' : ''}</p>
    ${p.police_areas.map((o) => `<p>Överlappar polisens ${o.class} område ${o.name} (${fmt(o.share_pct)} %).</p>`).join('')}
    ${p.notes.map((n) => `<p class="muted small">${n}</p>`).join('')}
    <p><button type="button" id="plan-html">Utskrift och konsekvensanalys</button> <button type="button" id="plan-csv">CSV</button></p>`;
  document.getElementById('plan-html').addEventListener('click', () => planDocument('html'));
  document.getElementById('plan-csv').addEventListener('click', () => planDocument('csv'));
}

// The body and content type of the last plan area, so the printable page and CSV are asked
// for the same area.
async function postPlan(body, contentType, format) {
  const name = document.getElementById('plan-name').value.trim();
  const url = `${origin}/api/profile?format=${format}${name ? '&name=' + encodeURIComponent(name) : ''}`;
  const r = await fetch(url, { method: 'POST', headers: { ...authHeaders(url), 'Content-Type': contentType }, body });
  if (!r.ok) {
    let msg = r.status + '';
    try { msg = (await r.json()).description || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}

async function planDocument(format) {
  if (!planState.last) return;
  const r = await postPlan(planState.last.body, planState.last.type, format);
  const blob = await r.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  if (format === 'csv') a.download = 'planomrade.csv'; else a.target = '_blank';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

async function submitPlan(body, contentType) {
  const status = document.getElementById('plan-status');
  status.textContent = 'Beräknar planområdets sociala lägesbild …';
  try {
    const p = await (await postPlan(body, contentType, 'json')).json();
    planState.last = { body, type: contentType };
    status.textContent = `${p.desos.length} DeSO berörs.`;
    renderPlan(p);
  } catch (e) {
    status.textContent = 'Planområdet kunde inte användas: ' + e.message;
  }
}

function finishPlan() {
  if (planState.ring.length < 3) return;
  const ring = [...planState.ring, planState.ring[0]];
  stopPlan();
  submitPlan(JSON.stringify({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [ring] } }), 'application/geo+json');
}

// GeoPackage and zipped Shapefile are sent as they are; the server reads them with GDAL.
function uploadType(file) {
  const n = file.name.toLowerCase();
  if (n.endsWith('.gpkg')) return 'application/geopackage+sqlite3';
  if (n.endsWith('.zip')) return 'application/zip';
  return 'application/geo+json';
}

async function uploadPlan(file) {
  const type = uploadType(file);
  const body = type === 'application/geo+json' ? await file.text() : await file.arrayBuffer();
  if (type === 'application/geo+json') {
    try { map.getSource('plan-draft').setData(JSON.parse(body)); } catch (e) { /* the server says what is wrong */ }
  }
  await submitPlan(body, type);
}

map.on('load', () => {
  map.addSource('plan-draft', { type: 'geojson', data: planDraft() });
  map.addLayer({ id: 'plan-fill', type: 'fill', source: 'plan-draft', filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#7b3294', 'fill-opacity': 0.25 } });
  map.addLayer({ id: 'plan-line', type: 'line', source: 'plan-draft', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#7b3294', 'line-width': 3 } });
  map.addLayer({ id: 'plan-points', type: 'circle', source: 'plan-draft', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 5, 'circle-color': '#7b3294' } });
  loadCatalogue();
});

map.on('click', (e) => {
  if (walkState.mode !== 'plan') return;
  planState.ring.push([e.lngLat.lng, e.lngLat.lat]);
  showDraft();
});

document.getElementById('plan-draw').addEventListener('click', startPlan);
document.getElementById('plan-undo').addEventListener('click', () => { planState.ring.pop(); showDraft(); });
document.getElementById('plan-cancel').addEventListener('click', () => { planState.ring = []; showDraft(); stopPlan(); document.getElementById('plan-status').textContent = ''; });
document.getElementById('plan-done').addEventListener('click', finishPlan);
document.getElementById('plan-file').addEventListener('change', (e) => { if (e.target.files[0]) uploadPlan(e.target.files[0]); });
