// Lägesbild web map. Everything is loaded from this server; no internet is needed.
'use strict';

const origin = window.location.origin;
const state = { token: sessionStorage.getItem('lagesbild-token') || '', access: 'denied', theme: 'omradestyp', selected: null };

const CATEGORIES = [
  ['skjutning', 'Skjutning'], ['sprangning', 'Sprängning'], ['upplopp', 'Upplopp'], ['inbrott', 'Inbrott'],
  ['anlagd_brand', 'Anlagd brand'], ['klotter', 'Klotter'], ['skadegorelse', 'Skadegörelse'], ['nedskrapning', 'Nedskräpning'],
  ['oppen_drogscen', 'Öppen drogscen'], ['narkotika', 'Narkotika'], ['otrygghetsskapande_samling', 'Otrygghetsskapande samling'],
  ['stok_i_lokaler', 'Stök i lokaler'], ['storningsarende', 'Störningsärende'], ['kriminell_paverkan', 'Kriminell påverkan'],
  ['vald', 'Våld'], ['ran', 'Rån'], ['stold', 'Stöld'],
];

// Esri's Gi_Bin colours (cold spot 99 % … hot spot 99 %).
const GI_COLOURS = { '-3': '#4575b5', '-2': '#849eba', '-1': '#c0ccbe', '0': '#ffffbf', '1': '#fab984', '2': '#ed7551', '3': '#d62f27' };
const GI_LABELS = { '-3': 'Kall punkt, 99 %', '-2': 'Kall punkt, 95 %', '-1': 'Kall punkt, 90 %', '0': 'Inte signifikant', '1': 'Het punkt, 90 %', '2': 'Het punkt, 95 %', '3': 'Het punkt, 99 %' };
const TYPE_COLOURS = ['#b2182b', '#ef8a62', '#fddbc7', '#92c5de', '#2166ac'];
const TYPE_LABELS = ['1 Stora socioekonomiska utmaningar', '2 Socioekonomiska utmaningar', '3 Socioekonomiskt blandade', '4 Goda förutsättningar', '5 Mycket goda förutsättningar'];
const EMERGING = {
  new_hot: ['#ffdcd2', 'Ny het punkt'], consecutive_hot: ['#ffb4a0', 'Sammanhängande het punkt'], intensifying_hot: ['#e6321e', 'Intensifierande het punkt'],
  persistent_hot: ['#c8281e', 'Ihållande het punkt'], diminishing_hot: ['#ff8c78', 'Avtagande het punkt'], sporadic_hot: ['#fac8b4', 'Sporadisk het punkt'],
  oscillating_hot: ['#d7a096', 'Oscillerande het punkt'], historical_hot: ['#a0645a', 'Historisk het punkt'],
  new_cold: ['#d2e6ff', 'Ny kall punkt'], persistent_cold: ['#1e50c8', 'Ihållande kall punkt'], sporadic_cold: ['#b4c8fa', 'Sporadisk kall punkt'],
};
const SEQ = ['#fff5eb', '#fdd0a2', '#fd8d3c', '#d94801', '#7f2704'];
const THEMES = {
  share_hyresratt: { label: 'Andel hyresrätt (%)', stops: [10, 25, 40, 55, 70] },
  crowding_pct: { label: 'Trångbodda hushåll (%) – illustrativt', stops: [4, 8, 12, 16, 20] },
  incidents_per_1000: { label: 'Händelser per 1 000 invånare', stops: [5, 15, 30, 50, 80] },
  incidents_eb_per_1000: { label: 'Händelser per 1 000, utjämnat (EB)', stops: [5, 15, 30, 50, 80] },
  index_score: { label: 'Levnadsvillkorsindex (högre = bättre)', stops: [-8, -3, 0, 3, 6], colours: ['#b2182b', '#ef8a62', '#f7f7f7', '#67a9cf', '#2166ac'] },
};

function authHeaders(url) {
  // A signed-in person (auth.js) comes before a pasted static token.
  const token = (window.lagesbildAuth && window.lagesbildAuth.bearer()) || state.token;
  return token && url.startsWith(origin) ? { Authorization: 'Bearer ' + token } : {};
}

async function api(path) {
  const url = origin + path;
  const r = await fetch(url, { headers: authHeaders(url) });
  if (!r.ok) {
    let msg = r.status + '';
    try { msg = (await r.json()).description || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.json();
}

const map = new maplibregl.Map({
  container: 'map',
  center: [17.93, 59.445],
  zoom: 11.3,
  attributionControl: { compact: true, customAttribution: 'Källa: SCB, Polisen' },
  transformRequest: (url) => ({ url, headers: authHeaders(url) }),
  // The server's style: the chosen basemap (none by default), our glyphs and attribution.
  style: origin + '/basemap/style.json',
  // "Spara bild" reads the drawn view back from the canvas.
  canvasContextAttributes: { preserveDrawingBuffer: true },
});
map.addControl(new maplibregl.NavigationControl(), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
window.lagesbildMap = map;
window.lagesbild = state;

function empty() { return { type: 'FeatureCollection', features: [] }; }

function themePaint() {
  const t = state.theme;
  if (t === 'est') return window.lagesbildEst ? window.lagesbildEst.paint() : '#cccccc';
  if (t === 'omradestyp') {
    return ['match', ['to-number', ['get', 'omradestyp'], 0], 1, TYPE_COLOURS[0], 2, TYPE_COLOURS[1], 3, TYPE_COLOURS[2], 4, TYPE_COLOURS[3], 5, TYPE_COLOURS[4], '#cccccc'];
  }
  if (t === 'gi_bin') {
    return ['match', ['to-string', ['get', 'gi_bin']], ...Object.entries(GI_COLOURS).flat(), '#cccccc'];
  }
  const th = THEMES[t];
  const colours = th.colours || SEQ;
  const expr = ['step', ['to-number', ['get', t], -9999], '#cccccc', -9998, colours[0]];
  th.stops.slice(1).forEach((s, i) => expr.push(s, colours[i + 1]));
  return ['case', ['has', t], expr, '#cccccc'];
}

function swatch(colour, label) {
  return `<div class="legend-item"><span class="swatch" style="background:${colour}"></span><span>${label}</span></div>`;
}

function renderLegend() {
  let h = '';
  if (document.getElementById('lyr-deso').checked) {
    const t = state.theme;
    h += `<div class="legend-title">DeSO: ${document.querySelector('#theme option:checked').textContent}</div>`;
    if (t === 'est') h += window.lagesbildEst ? window.lagesbildEst.legend() : '';
    else if (t === 'omradestyp') TYPE_LABELS.forEach((l, i) => { h += swatch(TYPE_COLOURS[i], l); });
    else if (t === 'gi_bin') Object.keys(GI_COLOURS).sort((a, b) => b - a).forEach((k) => { h += swatch(GI_COLOURS[k], GI_LABELS[k]); });
    else {
      const th = THEMES[t];
      const colours = th.colours || SEQ;
      th.stops.forEach((s, i) => { h += swatch(colours[i], (i === 0 ? 'under ' + th.stops[1] : s + (i < th.stops.length - 1 ? '–' + th.stops[i + 1] : ' och mer'))); });
    }
    h += swatch('#cccccc', 'Uppgift saknas');
  }
  if (document.getElementById('lyr-hotspots').checked) {
    h += '<div class="legend-title">Hotspots (Gi*, FDR)</div>';
    Object.keys(GI_COLOURS).filter((k) => k !== '0').sort((a, b) => b - a).forEach((k) => { h += swatch(GI_COLOURS[k], GI_LABELS[k]); });
  }
  if (document.getElementById('lyr-density').checked) {
    h += '<div class="legend-title">Händelsetäthet (kvintiler)</div>';
    SEQ.forEach((c, i) => { h += swatch(c, 'Klass ' + (i + 1) + (i === 4 ? ' (högst)' : '')); });
  }
  if (document.getElementById('lyr-emerging').checked) {
    h += '<div class="legend-title">Framväxande hotspots</div>';
    Object.values(EMERGING).forEach(([c, l]) => { h += swatch(c, l); });
  }
  if (document.getElementById('lyr-incidents').checked) {
    h += '<div class="legend-title">Händelser</div>' + swatch('#6a51a3', 'Antal per ruta (små tal döljs i öppen vy)');
    if (state.access !== 'denied') h += swatch('#111111', state.access === 'raw' ? 'Händelse (exakt läge)' : 'Händelse (flyttad till 250 m-ruta)');
  }
  if (document.getElementById('lyr-police').checked) h += '<div class="legend-title">Polisen</div>' + swatch('rgba(0,0,0,0)', '<span style="border-bottom:2px dashed #000">Utsatt område</span>');
  document.getElementById('legend').innerHTML = h;
}

function setVisible(ids, on) {
  ids.forEach((id) => { if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none'); });
}

function applyVisibility() {
  setVisible(['deso-fill', 'deso-line'], document.getElementById('lyr-deso').checked);
  setVisible(['hotspots-fill'], document.getElementById('lyr-hotspots').checked);
  setVisible(['density-fill'], document.getElementById('lyr-density').checked);
  setVisible(['emerging-fill'], document.getElementById('lyr-emerging').checked);
  setVisible(['incidents-cells', 'incidents-points'], document.getElementById('lyr-incidents').checked);
  setVisible(['police-line'], document.getElementById('lyr-police').checked);
  renderLegend();
}

// Swedish date/week fields (dates.js) give the API's form; unparsable input is sent as typed so
// that the server's message explains it.
function svValue(id) {
  const el = document.getElementById(id);
  const v = window.lagesbildDates ? window.lagesbildDates.apiValue(el) : null;
  return v === null ? el.value.trim() : v;
}

function analysisQuery() {
  const q = new URLSearchParams();
  const from = svValue('from');
  const to = svValue('to');
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const cats = [...document.querySelectorAll('#categories input:checked')].map((c) => c.value);
  if (cats.length && cats.length < CATEGORIES.length) q.set('categories', cats.join(','));
  return q.toString();
}

async function refreshAnalysis() {
  const q = analysisQuery();
  const info = document.getElementById('analysis-info');
  info.textContent = 'Beräknar …';
  try {
    const [hot, dens] = await Promise.all([api('/analysis/hotspots?' + q), api('/analysis/density?' + q)]);
    map.getSource('hotspots').setData(hot);
    map.getSource('density').setData(dens);
    const ch = hot.parameters.choices || {};
    info.textContent = `Hotspots: ${ch.incidents ?? '?'} händelser, cell ${ch.cell_size_m ?? '?'} m, avståndsband ${Math.round(ch.distance_band_m ?? 0)} m. Täthet: radie ${Math.round(dens.parameters.radius_m || 0)} m.`;
  } catch (e) {
    info.textContent = 'Analysen kunde inte göras: ' + e.message;
  }
}

// The layers offered for download are the server's collections, as the caller's role sees them.
function fillDownloadList(collections) {
  const sel = document.getElementById('dl-layer');
  const chosen = sel.value;
  sel.replaceChildren(...collections.map((c) => {
    const o = document.createElement('option');
    o.value = c.id;
    o.textContent = c.access === 'denied' ? `${c.title} (kräver behörighet)` : c.title;
    return o;
  }));
  if (collections.some((c) => c.id === chosen)) sel.value = chosen;
}

async function refreshRole() {
  const cols = await api('/collections');
  const inc = cols.collections.find((c) => c.id === 'incidents');
  state.access = inc ? inc.access : 'denied';
  fillDownloadList(cols.collections);
  const text = { denied: 'Öppen vy: endast aggregerade uppgifter.', snapped_250m: 'Partner: händelser visas i 250 m-rutor.', raw: 'Analytiker: exakta händelser (åtkomst loggas).' };
  document.getElementById('role').textContent = text[state.access] || state.access;
  renderLegend();
}

function barChart(items, colour) {
  const max = Math.max(1, ...items.map((i) => i[1]));
  const w = 320; const h = 90; const bw = Math.max(2, Math.floor(w / Math.max(1, items.length)) - 2);
  let s = `<svg width="${w}" height="${h + 16}" role="img">`;
  items.forEach(([label, v], k) => {
    const bh = Math.round(h * v / max);
    s += `<rect x="${k * (bw + 2)}" y="${h - bh}" width="${bw}" height="${bh}" fill="${colour}"><title>${label}: ${v}</title></rect>`;
  });
  if (items.length) s += `<text x="0" y="${h + 12}" font-size="10">${items[0][0]}</text><text x="${w}" y="${h + 12}" font-size="10" text-anchor="end">${items[items.length - 1][0]}</text>`;
  return s + '</svg>';
}

function fmt(v) {
  if (v === null || v === undefined) return '–';
  const r = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  return String(r).replace('.', ',');
}

async function openProfile(code) {
  const panel = document.getElementById('profile');
  const body = document.getElementById('profile-body');
  panel.hidden = false;
  body.innerHTML = '<p>Hämtar profil …</p>';
  try {
    const p = await api('/api/profile/' + encodeURIComponent(code) + '?format=json');
    // Every indicator in the store, labelled from the catalogue (plan.js loads /api/indicators).
    const label = (l) => (window.lagesbildCatalogue && window.lagesbildCatalogue[l.indicator] && window.lagesbildCatalogue[l.indicator].label_with_unit) || l.label_sv;
    const rows = p.indicators.map((l) => `<tr data-indicator="${l.indicator}"><td>${label(l)}</td><td class="n">${fmt(l.value)}</td><td class="n">${fmt(l.municipality)}</td></tr>`).join('');
    const est = p.est_periods.map((e) => `<tr><td>${e.period}</td><td class="n status-green">${e.green}</td><td class="n status-yellow">${e.yellow}</td><td class="n status-red">${e.red}</td></tr>`).join('');
    const last = p.est_last_week ? `<p>Senaste vecka ${p.est_last_week.iso_week}: <b class="status-${p.est_last_week.status}">${{ green: 'grön', yellow: 'gul', red: 'röd' }[p.est_last_week.status]}</b></p>` : '';
    const verdict = (g) => (g.on_track === true ? 'på väg' : g.on_track === false ? 'inte på väg' : 'kan inte bedömas');
    const goals = (p.goals || []).map((g) => `<tr><td>${esc(g.goal.name)}<br><span class="muted small">${esc(g.note)}</span></td><td class="n">${g.goal.baseline_year}: ${fmt(g.baseline_value)}</td><td class="n">${g.latest_year ?? '–'}: ${fmt(g.latest_value)}</td><td>${g.goal.wanted === 'decrease' ? '↓' : '↑'}</td><td class="goal-verdict">${verdict(g)}</td></tr>`).join('');
    const hs = p.hotspots.map((h) => `${h.deso}: ${GI_LABELS[String(h.gi_bin)] || h.gi_bin}`).join('<br>');
    body.innerHTML = `
      <h2 id="profile-title">${p.area.name}</h2>
      <p class="muted">${{ deso: 'DeSO', regso: 'RegSO', place: 'Eget område' }[p.area.level] || p.area.level} <span id="profile-code">${p.area.code}</span> · kommun ${p.area.kommun}</p>
      <p>Områdestyp: <b>${p.omradestyp ? p.omradestyp + ' – ' + p.omradestyp_label : 'uppgift saknas'}</b></p>
      <table class="ind"><tr><th>Indikator</th><th>Området</th><th>Kommunen</th></tr>${rows}</table>
      <h2>Händelser per kvartal</h2>${barChart(p.incidents_by_quarter, '#4a6fa5')}
      <h2>EST-veckor</h2><table class="ind"><tr><th>Period</th><th>Gröna</th><th>Gula</th><th>Röda</th></tr>${est}</table>${last}
      <h2>Hotspotstatus</h2><p>${hs || '–'}</p>
      ${goals ? `<h2>Mål</h2><table class="ind" id="profile-goals"><tr><th>Mål</th><th>Basår</th><th>Senast</th><th>Riktning</th><th>Läge</th></tr>${goals}</table>` : ''}
      ${p.police_areas.map((o) => `<p>Överlappar polisens ${o.class} område ${o.name} (${fmt(o.share_pct)} %, sedan ${o.since}).</p>`).join('')}
      ${p.notes.map((n) => `<p class="muted small">${n}</p>`).join('')}
      <p><a href="${origin}/api/profile/${encodeURIComponent(code)}?format=html" target="_blank">Utskriftsvänlig profil</a> ·
         <a href="${origin}/api/profile/${encodeURIComponent(code)}?format=csv">CSV</a></p>`;
  } catch (e) {
    body.innerHTML = '<p>Profilen kunde inte hämtas: ' + e.message + '</p>';
  }
}

async function download(format) {
  const id = document.getElementById('dl-layer').value;
  const status = document.getElementById('dl-status');
  status.textContent = 'Hämtar …';
  const url = `${origin}/collections/${id}/download?format=${format}`;
  const r = await fetch(url, { headers: authHeaders(url) });
  if (!r.ok) {
    let msg = r.status;
    try { msg = (await r.json()).description; } catch (e) { /* not JSON */ }
    status.textContent = 'Nedladdningen misslyckades: ' + msg;
    return;
  }
  const blob = await r.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `lagesbild-${id}.${format}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  status.textContent = `Hämtade ${id}.${format} (${Math.round(blob.size / 1024)} kB).`;
}

map.on('load', async () => {
  state.loaded = true; // from here on a sign-in (auth.js) reloads what depends on the role
  map.addSource('municipalities', { type: 'geojson', data: empty() });
  map.addSource('deso', { type: 'vector', tiles: [origin + '/tiles/deso/{z}/{x}/{y}.mvt'], minzoom: 0, maxzoom: 16, promoteId: 'deso' });
  map.addSource('hotspots', { type: 'geojson', data: empty() });
  map.addSource('density', { type: 'geojson', data: empty() });
  map.addSource('emerging', { type: 'geojson', data: empty() });
  map.addSource('police', { type: 'geojson', data: empty() });
  map.addSource('incidents', { type: 'vector', tiles: [origin + '/tiles/incidents/{z}/{x}/{y}.mvt'], minzoom: 0, maxzoom: 16 });
  map.addLayer({ id: 'municipalities-fill', type: 'fill', source: 'municipalities', paint: { 'fill-color': '#f7f7f2' } });
  map.addLayer({ id: 'deso-fill', type: 'fill', source: 'deso', 'source-layer': 'deso', paint: { 'fill-color': themePaint(), 'fill-opacity': 0.75 } });
  map.addLayer({ id: 'deso-line', type: 'line', source: 'deso', 'source-layer': 'deso', paint: { 'line-color': '#555', 'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3, 0.6] } });
  map.addLayer({ id: 'density-fill', type: 'fill', source: 'density', layout: { visibility: 'none' }, paint: { 'fill-color': ['match', ['get', 'class'], 1, SEQ[0], 2, SEQ[1], 3, SEQ[2], 4, SEQ[3], 5, SEQ[4], '#fff'], 'fill-opacity': 0.7 } });
  map.addLayer({ id: 'hotspots-fill', type: 'fill', source: 'hotspots', filter: ['!=', ['get', 'gi_bin'], 0], paint: { 'fill-color': ['match', ['to-string', ['get', 'gi_bin']], ...Object.entries(GI_COLOURS).flat(), '#fff'], 'fill-opacity': 0.8 } });
  map.addLayer({ id: 'emerging-fill', type: 'fill', source: 'emerging', layout: { visibility: 'none' }, filter: ['!=', ['get', 'pattern'], 'no_pattern'], paint: { 'fill-color': ['match', ['get', 'pattern'], ...Object.entries(EMERGING).flatMap(([k, v]) => [k, v[0]]), '#ccc'], 'fill-opacity': 0.85 } });
  map.addLayer({ id: 'incidents-cells', type: 'fill', source: 'incidents', 'source-layer': 'incidents', layout: { visibility: 'none' }, filter: ['has', 'count'], paint: { 'fill-color': '#6a51a3', 'fill-opacity': ['interpolate', ['linear'], ['get', 'count'], 5, 0.2, 50, 0.8] } });
  map.addLayer({ id: 'incidents-points', type: 'circle', source: 'incidents', 'source-layer': 'incidents', layout: { visibility: 'none' }, filter: ['!', ['has', 'count']], paint: { 'circle-radius': 3, 'circle-color': '#111', 'circle-stroke-color': '#fff', 'circle-stroke-width': 1 } });
  map.addLayer({ id: 'municipalities-line', type: 'line', source: 'municipalities', paint: { 'line-color': '#333', 'line-width': 1.2 } });
  map.addLayer({ id: 'police-line', type: 'line', source: 'police', paint: { 'line-color': '#000', 'line-width': 2, 'line-dasharray': [2, 2] } });

  map.on('click', 'deso-fill', (e) => {
    if (walkState.mode) return; // drawing a route or plan area, or placing an observation
    const f = e.features[0];
    if (!f) return;
    if (state.selected) map.setFeatureState({ source: 'deso', sourceLayer: 'deso', id: state.selected }, { selected: false });
    state.selected = f.properties.deso;
    map.setFeatureState({ source: 'deso', sourceLayer: 'deso', id: state.selected }, { selected: true });
    openProfile(f.properties.deso);
  });
  map.on('mouseenter', 'deso-fill', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'deso-fill', () => { map.getCanvas().style.cursor = ''; });

  const [mun, pol, emerg] = await Promise.all([
    api('/collections/municipalities/items?limit=1000').catch(() => empty()),
    api('/collections/police_areas/items?limit=1000').catch(() => empty()),
    api('/collections/emerging/items?limit=10000').catch(() => empty()),
  ]);
  map.getSource('municipalities').setData(mun);
  map.getSource('police').setData(pol);
  map.getSource('emerging').setData(emerg);
  await refreshRole().catch(() => {});
  await refreshAnalysis();
  applyVisibility();
  map.once('idle', () => { document.body.dataset.ready = '1'; });
});

document.getElementById('categories').innerHTML = CATEGORIES.map(([v, l]) => `<label><input type="checkbox" value="${v}" checked> ${l}</label>`).join('');
document.getElementById('token').value = state.token;
document.getElementById('theme').addEventListener('change', (e) => {
  state.theme = e.target.value;
  map.setPaintProperty('deso-fill', 'fill-color', themePaint());
  renderLegend();
  if (window.lagesbildEst) window.lagesbildEst.themeChanged(state.theme);
});
window.lagesbildRenderLegend = renderLegend;
['lyr-deso', 'lyr-hotspots', 'lyr-density', 'lyr-emerging', 'lyr-incidents', 'lyr-police'].forEach((id) => document.getElementById(id).addEventListener('change', applyVisibility));
document.getElementById('apply').addEventListener('click', refreshAnalysis);
document.getElementById('profile-close').addEventListener('click', () => { document.getElementById('profile').hidden = true; });
document.querySelectorAll('button.dl').forEach((b) => b.addEventListener('click', () => download(b.dataset.format)));
document.getElementById('login-btn').addEventListener('click', async () => {
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('lagesbild-token', state.token);
  try {
    await refreshRole();
  } catch (e) {
    document.getElementById('role').textContent = 'Inloggningen misslyckades: ' + e.message;
    state.token = '';
    sessionStorage.removeItem('lagesbild-token');
    return;
  }
  await roleChanged();
});

// Called by auth.js after signing in or out.
async function roleChanged() {
  if (!state.loaded) return; // the first load reads the role itself
  await refreshRole().catch(() => {});
  // Tiles depend on the role: reload them.
  ['deso', 'incidents'].forEach((id) => { const s = map.getSource(id); if (s && s.setTiles) s.setTiles(s.tiles); });
  refreshAnalysis();
  loadImports();
}
window.lagesbildRoleChanged = roleChanged;

// ---- Importera (editors) -----------------------------------------------------------------

const IMPORT_FIELDS = {
  incidents: [['id', 'Id'], ['category', 'Kategori'], ['date', 'Datum'], ['x', 'X / östlig'], ['y', 'Y / nordlig'], ['lon', 'Longitud'], ['lat', 'Latitud'], ['reported_by', 'Rapportör'], ['precision', 'Noggrannhet'], ['description', 'Beskrivning']],
  indicators: [['deso', 'DeSO-kod'], ['year', 'År']],
  areas: [['deso', 'DeSO-kod'], ['regso', 'RegSO-kod'], ['regso_name', 'RegSO-namn'], ['version', 'DeSO-version'], ['population', 'Befolkning']],
};
const KIND_SV = { incidents: 'händelser', indicators: 'indikatorvärden', areas: 'områden', classification: 'klassning' };
const importState = { preview: null, canWrite: false };
window.lagesbildImport = importState;

function esc(v) { return String(v ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c])); }

// The form's choices as the upload's text parts; `columns` only for mappings the editor changed.
function importForm() {
  const fd = new FormData();
  const file = document.getElementById('imp-file').files[0];
  if (!file) throw new Error('Välj en fil först.');
  for (const [id, part] of [['imp-crs', 'crs'], ['imp-year', 'year'], ['imp-deso', 'deso_version'], ['imp-source', 'source']]) {
    const v = document.getElementById(id).value.trim();
    if (v) fd.append(part, v);
  }
  const cols = [...document.querySelectorAll('#imp-mapping select')].filter((s) => s.value && s.dataset.changed === '1').map((s) => `${s.dataset.field}=${s.value}`);
  if (cols.length) fd.append('columns', cols.join(','));
  fd.append('file', file, file.name);
  return fd;
}

async function postForm(path) {
  const url = origin + path;
  const r = await fetch(url, { method: 'POST', headers: authHeaders(url), body: importForm() });
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  return { status: r.status, data };
}

function where(p) { return p.line != null ? `rad ${p.line}` : p.feature != null ? `objekt ${p.feature}` : (p.location || '–'); }

function renderProblems(problems, total) {
  document.getElementById('imp-problems-title').textContent = total ? `Problem (${total})` : 'Problem';
  document.getElementById('imp-problems').innerHTML = total
    ? '<tr><th>Var</th><th>Problem</th></tr>' + problems.map((p) => `<tr><td>${esc(where(p))}</td><td>${esc(p.reason)}</td></tr>`).join('')
    : '<tr><td class="ok">Inga problem hittades.</td></tr>';
}

function renderPreview(pv) {
  const kind = document.getElementById('imp-kind').value;
  const head = '<tr>' + pv.columns.map((c) => `<th>${esc(c)}</th>`).join('') + '</tr>';
  document.getElementById('imp-rows').innerHTML = head + pv.rows.map((r) => '<tr>' + r.map((v) => `<td>${esc(v)}</td>`).join('') + '</tr>').join('');
  const prev = Object.fromEntries([...document.querySelectorAll('#imp-mapping select')].filter((s) => s.dataset.changed === '1').map((s) => [s.dataset.field, s.value]));
  document.getElementById('imp-mapping').innerHTML = IMPORT_FIELDS[kind].map(([f, label]) => {
    const chosen = prev[f] ?? (pv.mapping || {})[f] ?? '';
    const opts = ['<option value="">(ingen)</option>'].concat(pv.columns.map((c) => `<option${c === chosen ? ' selected' : ''}>${esc(c)}</option>`));
    return `<div class="row"><label for="imp-map-${f}">${label}</label><select id="imp-map-${f}" data-field="${f}"${f in prev ? ' data-changed="1"' : ''}>${opts.join('')}</select></div>`;
  }).join('');
  document.querySelectorAll('#imp-mapping select').forEach((s) => s.addEventListener('change', () => { s.dataset.changed = '1'; previewImport(); }));
  renderProblems(pv.problems, pv.total);
  const ok = pv.would_import;
  document.getElementById('imp-confirm').disabled = !ok;
  document.getElementById('imp-status').innerHTML = ok
    ? `<span class="ok">${pv.accepted} rader kan importeras (${pv.total_rows} i filen).</span>`
    : '<span class="bad">Filen kan inte importeras som den är: rätta problemen eller mappningen.</span>';
  document.getElementById('imp-review').hidden = false;
}

async function previewImport() {
  const status = document.getElementById('imp-status');
  status.textContent = 'Kontrollerar filen …';
  try {
    const kind = document.getElementById('imp-kind').value;
    const { status: code, data } = await postForm(`/api/imports/${kind}/preview`);
    if (code !== 200) throw new Error((data && (data.problems && data.problems[0] ? data.problems[0].reason : data.description)) || code);
    importState.preview = data;
    renderPreview(data);
  } catch (e) {
    status.innerHTML = `<span class="bad">${esc(e.message)}</span>`;
  }
}

async function confirmImport() {
  const status = document.getElementById('imp-status');
  status.textContent = 'Importerar …';
  try {
    const kind = document.getElementById('imp-kind').value;
    const { status: code, data } = await postForm(`/api/imports/${kind}`);
    if (code === 422) {
      renderProblems(data.problems, data.total);
      status.innerHTML = '<span class="bad">Ingenting importerades.</span>';
      return;
    }
    if (code !== 201) throw new Error((data && data.description) || code);
    status.innerHTML = `<span class="ok">Importerade ${data.accepted} ${KIND_SV[data.kind] || data.kind} från ${esc(data.file)}. Kartan uppdateras inom några sekunder.</span>`;
    document.getElementById('imp-review').hidden = true;
    await loadImports();
    setTimeout(refreshData, 1500);
  } catch (e) {
    status.innerHTML = `<span class="bad">Importen misslyckades: ${esc(e.message)}</span>`;
  }
}

async function undoImport(id) {
  const status = document.getElementById('imp-status');
  try {
    const { data } = await send('DELETE', `/api/imports/${encodeURIComponent(id)}`);
    // The history first, so it never lists an import the message says is undone.
    await loadImports();
    status.innerHTML = `<span class="ok">Ångrade ${esc(data.file)}: ${data.removed} rader borttagna.</span>`;
    setTimeout(refreshData, 1500);
  } catch (e) {
    status.innerHTML = `<span class="bad">Kunde inte ångra: ${esc(e.message)}</span>`;
  }
}

// After an import or undo the server swaps in the new data; reload what the map shows.
function refreshData() {
  ['deso', 'incidents'].forEach((id) => { const s = map.getSource(id); if (s && s.setTiles) s.setTiles(s.tiles); });
  refreshAnalysis();
}

async function loadImports() {
  const section = document.getElementById('import-section');
  if (!state.token) { section.hidden = true; return; }
  let data;
  try { data = await api('/api/imports'); } catch (e) { section.hidden = true; return; }
  importState.canWrite = !!data.can_write;
  section.hidden = false;
  document.getElementById('import-form').hidden = !importState.canWrite;
  document.getElementById('imp-history').innerHTML = data.imports.map((i) => `<li data-id="${esc(i.id)}"><span title="${esc(i.id)}">${esc(i.file)} · ${i.accepted} ${KIND_SV[i.kind] || esc(i.kind)} · ${esc((i.at || '').slice(0, 16).replace('T', ' '))}</span>${importState.canWrite ? `<button type="button" class="undo" data-id="${esc(i.id)}">Ångra</button>` : ''}</li>`).join('') || '<li class="muted">Inga importer ännu.</li>';
  document.querySelectorAll('#imp-history button.undo').forEach((b) => b.addEventListener('click', () => undoImport(b.dataset.id)));
}

document.getElementById('imp-preview').addEventListener('click', previewImport);
document.getElementById('imp-confirm').addEventListener('click', confirmImport);
document.getElementById('imp-cancel').addEventListener('click', () => { document.getElementById('imp-review').hidden = true; document.getElementById('imp-status').textContent = ''; });
document.getElementById('imp-kind').addEventListener('change', () => { document.getElementById('imp-review').hidden = true; });
document.getElementById('imp-file').addEventListener('change', () => { document.getElementById('imp-review').hidden = true; document.getElementById('imp-mapping').innerHTML = ''; });
loadImports();

// ---- Trygghetsvandringar -------------------------------------------------------------------

const OBS_CATEGORIES = [['belysning', 'Belysning'], ['skymd_sikt', 'Skymd sikt/gömställen'], ['vegetation', 'Vegetation/grönska'], ['overblick', 'Överblick och orienterbarhet'], ['klotter', 'Klotter'], ['nedskrapning', 'Nedskräpning'], ['skadegorelse', 'Skadegörelse'], ['underhall', 'Underhåll'], ['trafiksakerhet', 'Trafiksäkerhet'], ['tillganglighet', 'Tillgänglighet'], ['otrygg_plats', 'Otrygg plats'], ['ovrigt', 'Övrigt']];
const OBS_STATUS = [['ny', 'Ny'], ['tilldelad', 'Tilldelad'], ['atgardad', 'Åtgärdad'], ['avslutad', 'Avslutad'], ['ej_atgardas', 'Ej åtgärdas']];
const walkState = { mode: null, draft: [], editing: null, selected: null, walks: [], pendingPoint: null };
window.lagesbildWalks = walkState;

async function send(method, path, body, etag, contentType) {
  const url = origin + path;
  const headers = { ...authHeaders(url), 'Content-Type': contentType || 'application/json' };
  if (etag) headers['If-Match'] = etag;
  const r = await fetch(url, { method, headers, body });
  let data = null;
  try { data = await r.clone().json(); } catch (e) { /* no JSON */ }
  if (!r.ok) throw new Error((data && data.description) || r.status);
  return { data, etag: r.headers.get('ETag') };
}

function drawDraft() {
  const src = map.getSource('walk-draft');
  if (!src) return;
  const pts = walkState.draft.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c }, properties: {} }));
  const line = walkState.draft.length > 1 ? [{ type: 'Feature', geometry: { type: 'LineString', coordinates: walkState.draft }, properties: {} }] : [];
  src.setData({ type: 'FeatureCollection', features: [...line, ...pts] });
}

async function loadWalks() {
  const q = new URLSearchParams();
  const st = document.getElementById('walk-status-filter').value;
  const area = document.getElementById('walk-area-filter').value.trim();
  if (st) q.set('status', st);
  if (area) q.set('area', area);
  const from = svValue('walk-from');
  const to = svValue('walk-to');
  if (from) q.set('from', from);
  if (to) q.set('to', to);
  const fc = await api('/walks?' + q.toString());
  walkState.walks = fc.features;
  if (map.getSource('walks')) map.getSource('walks').setData(fc);
  const list = document.getElementById('walk-list');
  list.innerHTML = fc.features.map((f) => `<li data-id="${f.id}" class="${walkState.selected === f.id ? 'selected' : ''}">${f.properties.title} <span class="muted small">${f.properties.planned_at.slice(0, 16).replace('T', ' ')} · ${f.properties.status}</span></li>`).join('') || '<li class="muted">Inga vandringar</li>';
  list.querySelectorAll('li[data-id]').forEach((li) => li.addEventListener('click', () => selectWalk(li.dataset.id)));
}

async function selectWalk(id) {
  walkState.selected = id;
  const w = walkState.walks.find((f) => f.id === id);
  document.getElementById('walk-detail').hidden = false;
  document.getElementById('walk-detail-title').textContent = w.properties.title;
  document.getElementById('walk-detail-meta').textContent = `${w.properties.planned_at.slice(0, 16).replace('T', ' ')} · ${w.properties.area || ''} · ${(w.properties.organisations || []).join(', ')}`;
  document.getElementById('walk-report').href = `${origin}/walks/${id}/report?format=html`;
  document.getElementById('walk-gpx').href = `${origin}/walks/${id}/report?format=gpx`;
  document.getElementById('walk-invite').href = `${origin}/walks/${id}/report?format=invitation`;
  if (map.getLayer('walks-selected')) map.setFilter('walks-selected', ['==', ['get', 'id'], id]);
  await loadObservations();
  document.querySelectorAll('#walk-list li').forEach((li) => li.classList.toggle('selected', li.dataset.id === id));
}

async function loadObservations() {
  if (!walkState.selected) return;
  const fc = await api(`/walks/${walkState.selected}/observations`);
  if (map.getSource('observations')) map.getSource('observations').setData(fc);
  const list = document.getElementById('obs-list');
  list.innerHTML = fc.features.map((f, k) => `<li data-id="${f.id}">${k + 1}. ${f.properties.category_sv}: ${f.properties.description || ''}
     <select data-id="${f.id}" data-version="${f.properties.version}" aria-label="Status">${OBS_STATUS.map(([v, l]) => `<option value="${v}" ${v === f.properties.status ? 'selected' : ''}>${l}</option>`).join('')}</select></li>`).join('') || '<li class="muted">Inga observationer</li>';
  list.querySelectorAll('select[data-id]').forEach((sel) => sel.addEventListener('change', async () => {
    try {
      await send('PUT', `/observations/${sel.dataset.id}`, JSON.stringify({ status: sel.value }), `"v${sel.dataset.version}"`);
      await loadObservations();
      loadOpen();
    } catch (e) { document.getElementById('walk-status').textContent = 'Statusen kunde inte sparas: ' + e.message; }
  }));
}

// The report shows the protocol, names and photos only to partner and up, so it is fetched with
// the token and opened from memory: a plain link would be an anonymous request.
async function openWithToken(e) {
  e.preventDefault();
  const url = e.currentTarget.href;
  const win = window.open('', '_blank');
  const r = await fetch(url, { headers: authHeaders(url) });
  const blob = await r.blob();
  win.location.href = URL.createObjectURL(blob);
}
document.getElementById('walk-report').addEventListener('click', openWithToken);
document.getElementById('walk-gpx').addEventListener('click', async (e) => {
  e.preventDefault();
  const url = e.currentTarget.href;
  const r = await fetch(url, { headers: authHeaders(url) });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(await r.blob());
  a.download = 'trygghetsvandring.gpx';
  a.click();
});

async function loadOpen() {
  const status = document.getElementById('open-status').value;
  const q = new URLSearchParams(status ? { status } : { open: 'true' });
  const r = document.getElementById('open-responsible').value.trim();
  if (r) q.set('responsible', r);
  const fc = await api('/observations?' + q.toString());
  document.getElementById('open-list').innerHTML = fc.features.map((f) => `<li class="${f.properties.overdue ? 'overdue' : ''}">${f.properties.overdue ? '<b class="status-red">Försenad</b> ' : ''}${f.properties.category_sv}: ${f.properties.description || ''} <span class="muted small">${f.properties.responsible || 'ingen ansvarig'} · ${f.properties.status}${f.properties.due ? ' · senast ' + f.properties.due : ''}</span></li>`).join('') || '<li class="muted">Inga öppna observationer</li>';
}

function startDraw(existing) {
  walkState.mode = 'draw';
  walkState.draft = existing ? existing.slice() : [];
  walkState.editing = existing ? walkState.selected : null;
  document.getElementById('walk-form').hidden = false;
  if (existing) {
    const w = walkState.walks.find((f) => f.id === walkState.selected);
    document.getElementById('walk-title').value = w.properties.title;
    document.getElementById('walk-area').value = w.properties.area || '';
    document.getElementById('walk-organiser').value = w.properties.organiser || '';
    document.getElementById('walk-orgs').value = (w.properties.organisations || []).join(', ');
    document.getElementById('walk-when').value = w.properties.planned_at.slice(0, 16).replace('T', ' ');
  }
  map.getCanvas().style.cursor = 'crosshair';
  drawDraft();
}

function stopDraw() {
  walkState.mode = null;
  walkState.draft = [];
  walkState.editing = null;
  document.getElementById('walk-form').hidden = true;
  map.getCanvas().style.cursor = '';
  drawDraft();
}

async function saveWalk() {
  const status = document.getElementById('walk-status');
  const body = {
    title: document.getElementById('walk-title').value.trim(),
    planned_at: svValue('walk-when'),
    area: document.getElementById('walk-area').value.trim(),
    organiser: document.getElementById('walk-organiser').value.trim(),
    organisations: document.getElementById('walk-orgs').value.split(',').map((x) => x.trim()).filter(Boolean),
    route: { type: 'LineString', coordinates: walkState.draft },
  };
  try {
    let res;
    if (walkState.editing) {
      const cur = await fetch(`${origin}/walks/${walkState.editing}`, { headers: authHeaders(origin) });
      res = await send('PUT', `/walks/${walkState.editing}`, JSON.stringify(body), cur.headers.get('ETag'));
    } else {
      res = await send('POST', '/walks', JSON.stringify(body));
    }
    status.textContent = `Sparad: ${res.data.properties.title}`;
    const id = res.data.id;
    stopDraw();
    await loadWalks();
    await selectWalk(id);
  } catch (e) {
    status.textContent = 'Vandringen kunde inte sparas: ' + e.message;
  }
}

async function saveObservation() {
  const status = document.getElementById('walk-status');
  if (!walkState.pendingPoint) { status.textContent = 'Klicka i kartan för att placera observationen.'; return; }
  const ratings = {};
  ['lighting', 'openness', 'visibility', 'people', 'security', 'walk_path', 'public_transport', 'gender_usage', 'feeling'].forEach((k) => { const v = document.getElementById('obs-' + k).value; if (v !== '') ratings[k] = Number(v); });
  const body = {
    point: { type: 'Point', coordinates: walkState.pendingPoint },
    category: document.getElementById('obs-category').value,
    description: document.getElementById('obs-description').value.trim(),
    responsible: document.getElementById('obs-responsible').value.trim(),
    ratings,
    off_route: document.getElementById('obs-offroute').checked,
    due: document.getElementById('obs-due').value.trim(),
  };
  try {
    const res = await send('POST', `/walks/${walkState.selected}/observations`, JSON.stringify(body));
    const file = document.getElementById('obs-photo').files[0];
    if (file) await send('PUT', `/observations/${res.data.id}/photo`, file, res.etag, file.type || 'application/octet-stream');
    status.textContent = 'Observationen sparades.';
    walkState.mode = null;
    walkState.pendingPoint = null;
    document.getElementById('obs-form').hidden = true;
    map.getCanvas().style.cursor = '';
    drawDraft();
    await loadObservations();
    loadOpen();
  } catch (e) {
    status.textContent = 'Observationen kunde inte sparas: ' + e.message;
  }
}

map.on('load', () => {
  map.addSource('walks', { type: 'geojson', data: empty() });
  map.addSource('observations', { type: 'geojson', data: empty() });
  map.addSource('walk-draft', { type: 'geojson', data: empty() });
  map.addLayer({ id: 'walks-line', type: 'line', source: 'walks', paint: { 'line-color': '#1f5fa8', 'line-width': 3, 'line-opacity': 0.8 } });
  map.addLayer({ id: 'walks-selected', type: 'line', source: 'walks', filter: ['==', ['get', 'id'], ''], paint: { 'line-color': '#0b3d91', 'line-width': 6 } });
  map.addLayer({ id: 'observations-circle', type: 'circle', source: 'observations', paint: { 'circle-radius': 7, 'circle-color': ['match', ['get', 'status'], 'ny', '#f1c40f', 'tilldelad', '#e67e22', '#27ae60'], 'circle-stroke-color': '#333', 'circle-stroke-width': 1 } });
  map.addLayer({ id: 'walk-draft-line', type: 'line', source: 'walk-draft', filter: ['==', ['geometry-type'], 'LineString'], paint: { 'line-color': '#e74c3c', 'line-width': 3, 'line-dasharray': [2, 1] } });
  map.addLayer({ id: 'walk-draft-points', type: 'circle', source: 'walk-draft', filter: ['==', ['geometry-type'], 'Point'], paint: { 'circle-radius': 5, 'circle-color': '#e74c3c' } });
  loadWalks().catch(() => {});
  loadOpen().catch(() => {});
});

map.on('click', (e) => {
  if (walkState.justDragged) { walkState.justDragged = false; return; } // the end of a drag is not a new vertex
  if (walkState.mode === 'draw') {
    walkState.draft.push([e.lngLat.lng, e.lngLat.lat]);
    drawDraft();
    e.preventDefault();
  } else if (walkState.mode === 'observation') {
    walkState.pendingPoint = [e.lngLat.lng, e.lngLat.lat];
    walkState.draft = [];
    map.getSource('walk-draft').setData({ type: 'FeatureCollection', features: [{ type: 'Feature', geometry: { type: 'Point', coordinates: walkState.pendingPoint }, properties: {} }] });
  }
});

document.getElementById('obs-category').innerHTML = OBS_CATEGORIES.map(([v, l]) => `<option value="${v}">${l}</option>`).join('');
document.getElementById('walk-draw').addEventListener('click', () => startDraw(null));
document.getElementById('walk-undo').addEventListener('click', () => { walkState.draft.pop(); drawDraft(); });
document.getElementById('walk-cancel').addEventListener('click', stopDraw);
document.getElementById('walk-save').addEventListener('click', saveWalk);
document.getElementById('walk-refresh').addEventListener('click', loadWalks);
document.getElementById('open-refresh').addEventListener('click', loadOpen);
document.getElementById('walk-edit').addEventListener('click', () => {
  const w = walkState.walks.find((f) => f.id === walkState.selected);
  if (w) startDraw(w.geometry.coordinates);
});
document.getElementById('obs-add').addEventListener('click', () => {
  walkState.mode = 'observation';
  walkState.pendingPoint = null;
  document.getElementById('obs-form').hidden = false;
  map.getCanvas().style.cursor = 'crosshair';
});
document.getElementById('obs-save').addEventListener('click', saveObservation);

// Editing a drawn route: drag a vertex to move it; a click adds a vertex at the end.
(() => {
  let dragging = null;
  map.on('mousedown', 'walk-draft-points', (e) => {
    if (walkState.mode !== 'draw') return;
    // Rendered coordinates are quantised to the tile grid: take the nearest vertex on screen.
    let at = -1;
    let best = 12;
    walkState.draft.forEach((c, k) => {
      const p = map.project(c);
      const d = Math.hypot(p.x - e.point.x, p.y - e.point.y);
      if (d < best) { best = d; at = k; }
    });
    if (at < 0) return;
    e.preventDefault();
    dragging = at;
    map.dragPan.disable();
    map.getCanvas().style.cursor = 'grabbing';
  });
  // DOM events on the canvas: they keep coming while the button is held down.
  const canvas = map.getCanvasContainer();
  canvas.addEventListener('mousemove', (ev) => {
    if (dragging === null) return;
    const r = canvas.getBoundingClientRect();
    const ll = map.unproject([ev.clientX - r.left, ev.clientY - r.top]);
    walkState.draft[dragging] = [ll.lng, ll.lat];
    drawDraft();
  });
  window.addEventListener('mouseup', () => {
    if (dragging === null) return;
    dragging = null;
    walkState.justDragged = true;
    map.dragPan.enable();
    map.getCanvas().style.cursor = 'crosshair';
  });
})();
