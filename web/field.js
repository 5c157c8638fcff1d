// Trygghetsvandring in the field: a phone page that works without a connection. Every write
// goes through a queue in IndexedDB and is sent when the connection is there; a replayed
// observation carries its client_id so the server stores it once, and an update carries the
// ETag it was made on, so a change by another phone is never overwritten unseen (412 → read the
// current version, apply only this phone's own changes to it, send again).
'use strict';

const origin = location.origin;
const CATEGORIES = [
  ['belysning', 'Belysning'], ['skymd_sikt', 'Skymd sikt/gömställen'], ['vegetation', 'Vegetation/grönska'],
  ['overblick', 'Överblick och orienterbarhet'], ['klotter', 'Klotter'], ['nedskrapning', 'Nedskräpning'],
  ['skadegorelse', 'Skadegörelse'], ['underhall', 'Underhåll'], ['trafiksakerhet', 'Trafiksäkerhet'],
  ['tillganglighet', 'Tillgänglighet'], ['otrygg_plats', 'Otrygg plats'], ['ovrigt', 'Övrigt'],
];
const RATINGS = [
  ['lighting', 'Belysning'], ['openness', 'Öppenhet'], ['visibility', 'Synlighet'], ['people', 'Människor'],
  ['security', 'Bevakning'], ['walk_path', 'Gångväg'], ['public_transport', 'Kollektivtrafik'],
  ['gender_usage', 'Könsfördelning'], ['feeling', 'Känsla'],
];
const STATUS_SV = { ny: 'Ny', tilldelad: 'Tilldelad', planerad: 'Åtgärd planerad', atgardad: 'Åtgärdad', avslutad: 'Avslutad', ej_atgardas: 'Ej åtgärdas' };
// Farther than this from the route (metres), a finding is sent as off_route: the server's limit
// is 200 m, and a phone's position can be some tens of metres off.
const OFF_ROUTE_M = 150;

const field = { walks: [], walk: null, walkEtag: null, position: null, ratings: {}, photo: null, suggestion: null, conflicts: 0, flushing: null };
window.lagesbildField = field;

const $ = (id) => document.getElementById(id);
const token = () => sessionStorage.getItem('lagesbild-token') || '';
function headers(extra) {
  const t = token();
  return { ...(t ? { Authorization: 'Bearer ' + t } : {}), ...(extra || {}) };
}
function say(text) { $('message').textContent = text || ''; }

// ---- IndexedDB queue ------------------------------------------------------------------------
function db() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open('lagesbild-field', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('queue', { keyPath: 'seq', autoIncrement: true });
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}
async function tx(mode, fn) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const t = d.transaction('queue', mode);
    const out = fn(t.objectStore('queue'));
    t.oncomplete = () => resolve(out && 'result' in out ? out.result : undefined);
    t.onerror = () => reject(t.error);
  });
}
const queueAll = () => tx('readonly', (s) => s.getAll());
const queuePut = (item) => tx('readwrite', (s) => s.put(item));
const queueDelete = (seq) => tx('readwrite', (s) => s.delete(seq));

async function showQueue() {
  const items = await queueAll();
  const failed = items.filter((i) => i.error);
  $('queue').textContent = items.length === 0 ? 'Allt är sparat.'
    : `${items.length} ändring${items.length === 1 ? '' : 'ar'} väntar på uppkoppling` + (failed.length ? ` (${failed.length} kunde inte sparas: ${failed[0].error})` : '') + '.';
  $('queue').dataset.pending = String(items.length);
  // Findings not yet sent are drawn too (grey), so the walk can go on without a connection.
  const waiting = items.filter((i) => i.kind === 'create' && !i.id).map((i) => ({ type: 'Feature', geometry: i.body.point, properties: { category: i.body.category } }));
  if (map.getSource('pending')) map.getSource('pending').setData({ type: 'FeatureCollection', features: waiting });
}

// ---- network --------------------------------------------------------------------------------
class Offline extends Error {}
async function call(method, path, body, etag, type) {
  let r;
  try {
    r = await fetch(origin + path, { method, headers: headers({ ...(type ? { 'Content-Type': type } : {}), ...(etag ? { 'If-Match': etag } : {}) }), body, cache: 'no-store' });
  } catch (e) {
    throw new Offline(e.message);
  }
  let data = null;
  try { data = await r.clone().json(); } catch (e) { /* not JSON */ }
  return { status: r.status, ok: r.ok, data, etag: r.headers.get('ETag') };
}

// One entry at a time, oldest first; a lost connection stops the run and keeps the rest.
async function flush() {
  if (field.flushing) return field.flushing;
  field.flushing = (async () => {
    try {
      for (const item of await queueAll()) {
        if (item.error) continue;
        try {
          const done = item.kind === 'create' ? await sendCreate(item) : await sendUpdate(item);
          if (done) await queueDelete(item.seq);
        } catch (e) {
          if (e instanceof Offline) break;
          item.error = e.message;
          await queuePut(item);
        }
      }
    } finally {
      field.flushing = null;
      await showQueue();
      if (field.walk) loadObservations();
    }
  })();
  return field.flushing;
}

async function sendCreate(item) {
  let id = item.id;
  let etag = item.etag;
  if (!id) {
    const r = await call('POST', `/walks/${item.walk}/observations`, JSON.stringify(item.body), null, 'application/json');
    if (!r.ok) throw new Error((r.data && r.data.description) || r.status);
    id = r.data.id;
    etag = r.etag;
    // Remember the server's id before the photo: a lost connection now resends only the photo.
    Object.assign(item, { id, etag });
    await queuePut(item);
  }
  if (item.photo) {
    let r = await call('PUT', `/observations/${id}/photo`, item.photo, etag, item.photo.type || 'image/jpeg');
    if (r.status === 412) {
      const cur = await call('GET', `/observations/${id}`);
      r = await call('PUT', `/observations/${id}/photo`, item.photo, cur.etag, item.photo.type || 'image/jpeg');
    }
    if (!r.ok) throw new Error((r.data && r.data.description) || r.status);
  }
  return true;
}

async function sendUpdate(item) {
  const path = item.kind === 'walk' ? `/walks/${item.id}` : `/observations/${item.id}`;
  let r = await call('PUT', path, JSON.stringify(item.body), item.etag, 'application/json');
  if (r.status === 412) {
    // Another phone changed it since this one read it. Read the current version and send only
    // this phone's own changes on top of it: the other phone's changes stay, and the history
    // keeps both.
    const cur = await call('GET', path);
    if (!cur.ok) throw new Error((cur.data && cur.data.description) || cur.status);
    const body = item.kind === 'walk' ? { ...walkInput(cur.data), ...item.changed } : item.body;
    r = await call('PUT', path, JSON.stringify(body), cur.etag, 'application/json');
    if (r.ok) field.conflicts += 1;
  }
  if (!r.ok) throw new Error((r.data && r.data.description) || r.status);
  if (item.kind === 'walk' && field.walk && field.walk.id === item.id) { field.walk = r.data; field.walkEtag = r.etag; }
  return true;
}

async function enqueue(item) {
  await queuePut(item);
  await showQueue();
  if (navigator.onLine) await flush();
}

// ---- map ------------------------------------------------------------------------------------
const map = new maplibregl.Map({
  container: 'map',
  center: [17.93, 59.445],
  zoom: 12,
  style: origin + '/basemap/style.json',
  attributionControl: { compact: true },
  canvasContextAttributes: { preserveDrawingBuffer: true },
});
window.lagesbildFieldMap = map;
const empty = { type: 'FeatureCollection', features: [] };
map.on('load', () => {
  map.addSource('route', { type: 'geojson', data: empty });
  map.addSource('obs', { type: 'geojson', data: empty });
  map.addSource('me', { type: 'geojson', data: empty });
  map.addSource('stops', { type: 'geojson', data: empty });
  map.addSource('pending', { type: 'geojson', data: empty });
  map.addLayer({ id: 'route', type: 'line', source: 'route', paint: { 'line-color': '#1f5fa8', 'line-width': 5 } });
  map.addLayer({ id: 'stops', type: 'circle', source: 'stops', paint: { 'circle-radius': 8, 'circle-color': '#fff', 'circle-stroke-color': '#1f5fa8', 'circle-stroke-width': 3 } });
  map.addLayer({ id: 'obs', type: 'circle', source: 'obs', paint: { 'circle-radius': 8, 'circle-color': ['case', ['get', 'overdue'], '#cf222e', '#f1c40f'], 'circle-stroke-color': '#333', 'circle-stroke-width': 1 } });
  map.addLayer({ id: 'pending', type: 'circle', source: 'pending', paint: { 'circle-radius': 8, 'circle-color': '#999', 'circle-stroke-color': '#333', 'circle-stroke-width': 1 } });
  map.addLayer({ id: 'me', type: 'circle', source: 'me', paint: { 'circle-radius': 9, 'circle-color': '#0a84ff', 'circle-stroke-color': '#fff', 'circle-stroke-width': 3 } });
  document.body.dataset.ready = '1';
  if (field.walk) showWalk();
  showQueue();
});

// ---- position -------------------------------------------------------------------------------
function locate() {
  if (!navigator.geolocation) { say('Telefonen kan inte ange position.'); return; }
  navigator.geolocation.getCurrentPosition((p) => {
    field.position = [p.coords.longitude, p.coords.latitude];
    if (map.getSource('me')) map.getSource('me').setData({ type: 'Feature', geometry: { type: 'Point', coordinates: field.position }, properties: {} });
    map.easeTo({ center: field.position, zoom: Math.max(map.getZoom(), 16) });
    say('');
  }, (e) => say('Ingen position: ' + e.message), { enableHighAccuracy: true, timeout: 15000 });
}

// Metres from a point to the route, on a local flat approximation (enough for 150 m).
function distanceToRoute(p, line) {
  const k = Math.cos(p[1] * Math.PI / 180) * 111320;
  const xy = (c) => [(c[0] - p[0]) * k, (c[1] - p[1]) * 110540];
  let best = Infinity;
  for (let i = 1; i < line.length; i++) {
    const [a, b] = [xy(line[i - 1]), xy(line[i])];
    const d = [b[0] - a[0], b[1] - a[1]];
    const t = Math.max(0, Math.min(1, -(a[0] * d[0] + a[1] * d[1]) / ((d[0] * d[0] + d[1] * d[1]) || 1)));
    best = Math.min(best, Math.hypot(a[0] + t * d[0], a[1] + t * d[1]));
  }
  return best;
}

// ---- walks ----------------------------------------------------------------------------------
async function loadWalks() {
  const r = await call('GET', '/walks');
  if (!r.ok) return;
  field.walks = r.data.features;
  const sel = $('walk');
  const keep = sel.value || sessionStorage.getItem('lagesbild-field-walk') || '';
  sel.innerHTML = '<option value="">Välj vandring …</option>' + field.walks.map((w) => `<option value="${w.id}">${esc(w.properties.title)} ${w.properties.planned_at.slice(0, 10)}</option>`).join('');
  if (field.walks.some((w) => w.id === keep)) { sel.value = keep; await chooseWalk(keep); }
}

async function chooseWalk(id) {
  sessionStorage.setItem('lagesbild-field-walk', id);
  if (!id) { field.walk = null; $('add').disabled = true; return; }
  const r = await call('GET', `/walks/${id}`);
  if (!r.ok) return;
  field.walk = r.data;
  field.walkEtag = r.etag;
  $('add').disabled = false;
  showWalk();
  await loadObservations();
}

function showWalk() {
  const w = field.walk;
  if (!w || !map.getSource('route')) return;
  map.getSource('route').setData(w);
  const stops = (w.properties.stops || []).map((s, k) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties: { n: k + 1, look_at: s.look_at || '' } }));
  map.getSource('stops').setData({ type: 'FeatureCollection', features: stops });
  const c = w.geometry.coordinates;
  const b = c.reduce((acc, p) => [Math.min(acc[0], p[0]), Math.min(acc[1], p[1]), Math.max(acc[2], p[0]), Math.max(acc[3], p[1])], [180, 90, -180, -90]);
  map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, duration: 0 });
  $('proto-status').value = w.properties.status;
  $('proto-before').value = w.properties.notes_before || '';
  $('proto-after').value = w.properties.notes_after || '';
  $('proto-report').href = `${origin}/walks/${w.id}/report?format=html`;
  $('proto-invite').href = `${origin}/walks/${w.id}/report?format=invitation`;
  $('proto-gpx').href = `${origin}/walks/${w.id}/report?format=gpx`;
}

async function loadObservations() {
  if (!field.walk) return;
  const r = await call('GET', `/walks/${field.walk.id}/observations`).catch(() => null);
  if (r && r.ok && map.getSource('obs')) map.getSource('obs').setData(r.data);
}

// The body PUT /walks/{id} takes, from a walk as the API returns it.
function walkInput(f) {
  const p = f.properties;
  return {
    title: p.title, planned_at: p.planned_at, area: p.area || '', organiser: p.organiser || '', organisations: p.organisations || [],
    route: f.geometry, status: p.status, notes: p.notes || '', participants: p.participants || [], meeting_point: p.meeting_point || '',
    stops: p.stops || [], dark_hours: !!p.dark_hours, notes_before: p.notes_before || '', notes_after: p.notes_after || '',
  };
}

// ---- observation form -----------------------------------------------------------------------
function openForm() {
  const at = field.position || map.getCenter().toArray();
  field.formAt = at;
  field.ratings = {};
  field.photo = null;
  $('obs-where').textContent = field.position ? 'Där du står (Min position).' : 'Kartans mitt – tryck på Min position för att använda telefonens position.';
  $('obs-text').value = '';
  $('obs-photo').value = '';
  $('obs-photo-name').textContent = '';
  document.querySelectorAll('#ratings button').forEach((b) => b.setAttribute('aria-pressed', 'false'));
  $('obs').hidden = false;
}

function buildForm() {
  $('obs-category').innerHTML = CATEGORIES.map(([k, l]) => `<option value="${k}">${l}</option>`).join('');
  $('ratings').insertAdjacentHTML('beforeend', RATINGS.map(([k, l]) => `<div class="rating" data-param="${k}"><span>${l}</span>${[0, 1, 2, 3].map((v) => `<button type="button" data-v="${v}" aria-pressed="false" aria-label="${l} ${v}">${v}</button>`).join('')}</div>`).join(''));
  $('ratings').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    const row = b.closest('.rating');
    const v = Number(b.dataset.v);
    const same = field.ratings[row.dataset.param] === v;
    // A second tap on the same value removes the rating.
    if (same) delete field.ratings[row.dataset.param]; else field.ratings[row.dataset.param] = v;
    row.querySelectorAll('button').forEach((x) => x.setAttribute('aria-pressed', String(!same && x === b)));
  });
}

async function saveObservation(e) {
  e.preventDefault();
  const w = field.walk;
  const at = field.formAt;
  const body = {
    point: { type: 'Point', coordinates: at },
    category: $('obs-category').value,
    ratings: { ...field.ratings },
    description: $('obs-text').value.trim(),
    off_route: distanceToRoute(at, w.geometry.coordinates) > OFF_ROUTE_M,
    client_id: (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()),
  };
  $('obs').hidden = true;
  await enqueue({ kind: 'create', walk: w.id, body, photo: field.photo });
}

// ---- planning -------------------------------------------------------------------------------
function participants() {
  return $('plan-people').value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [org, ...name] = l.split(':');
    const n = name.join(':').trim();
    return n ? { organisation: org.trim(), name: n } : { organisation: org.trim() };
  });
}

async function suggest() {
  const area = $('plan-area').value.trim();
  if (!area) { say('Ange ett område först.'); return; }
  const q = new URLSearchParams({ area });
  if (field.position) q.set('start', field.position.join(','));
  const r = await call('GET', '/walks/suggest?' + q.toString()).catch(() => null);
  if (!r || !r.ok) { say('Inget förslag: ' + ((r && r.data && r.data.description) || 'ingen uppkoppling')); return; }
  field.suggestion = r.data;
  const stops = r.data.stops.features;
  $('plan-stops').innerHTML = stops.map((s) => `<li>${esc(s.properties.reason)}</li>`).join('') || '<li>Inga hotspots eller öppna fynd i området.</li>';
  $('plan-save').disabled = r.data.proposed_route.coordinates.length < 2;
  if (map.getSource('route')) {
    map.getSource('route').setData({ type: 'Feature', geometry: r.data.proposed_route, properties: {} });
    map.getSource('stops').setData(r.data.stops);
  }
}

async function savePlan() {
  const s = field.suggestion;
  const when = $('plan-when').value.trim().replace(' ', 'T');
  const people = participants();
  const body = {
    title: $('plan-title').value.trim() || 'Trygghetsvandring ' + $('plan-area').value.trim(),
    planned_at: when,
    area: $('plan-area').value.trim(),
    meeting_point: $('plan-meet').value.trim(),
    participants: people,
    organisations: [...new Set(people.map((p) => p.organisation))],
    dark_hours: $('plan-dark').checked,
    route: s.proposed_route,
    stops: s.stops.features.map((f) => ({ lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], look_at: f.properties.reason })),
  };
  const r = await call('POST', '/walks', JSON.stringify(body), null, 'application/json').catch(() => null);
  if (!r || !r.ok) { say('Vandringen kunde inte sparas: ' + ((r && r.data && r.data.description) || 'ingen uppkoppling')); return; }
  await loadWalks();
  $('walk').value = r.data.id;
  await chooseWalk(r.data.id);
  say('');
}

async function saveProtocol() {
  if (!field.walk) return;
  const changed = { status: $('proto-status').value, notes_before: $('proto-before').value, notes_after: $('proto-after').value };
  await enqueue({ kind: 'walk', id: field.walk.id, etag: field.walkEtag, body: { ...walkInput(field.walk), ...changed }, changed });
}

// ---- follow-up ------------------------------------------------------------------------------
async function loadFollowUp() {
  const r = await call('GET', '/observations?open=true').catch(() => null);
  if (!r || !r.ok) return;
  $('follow-list').innerHTML = r.data.features.map((f) => {
    const p = f.properties;
    return `<li class="${p.overdue ? 'overdue' : ''}" data-id="${f.id}">${p.overdue ? '<span class="badge">Försenad</span> ' : ''}<b>${esc(p.category_sv || p.category)}</b> · ${STATUS_SV[p.status] || p.status}${p.due ? ' · senast ' + p.due : ''}${p.responsible ? ' · ' + esc(p.responsible) : ''}<br><span class="muted">${esc(p.description || '')}</span></li>`;
  }).join('') || '<li class="muted">Inga öppna fynd.</li>';
}

// Tapping a finding opens it for follow-up; only the fields changed here are sent, with the
// ETag read now, so another phone's changes to other fields survive.
const EDIT_FIELDS = [['status', 'edit-status'], ['responsible', 'edit-responsible'], ['due', 'edit-due'], ['insats', 'edit-insats'], ['description', 'edit-text']];
async function openEdit(id) {
  const r = await call('GET', `/observations/${id}`).catch(() => null);
  if (!r || !r.ok) { say('Fyndet kunde inte läsas' + (r ? '' : ' utan uppkoppling') + '.'); return; }
  field.editing = { id, etag: r.etag, before: r.data.properties };
  $('edit-what').textContent = `${r.data.properties.category_sv} · version ${r.etag}`;
  for (const [k, el] of EDIT_FIELDS) $(el).value = r.data.properties[k] || '';
  $('edit').hidden = false;
}

async function saveEdit(e) {
  e.preventDefault();
  const ed = field.editing;
  const body = {};
  for (const [k, el] of EDIT_FIELDS) {
    const v = $(el).value.trim();
    if (v !== (ed.before[k] || '')) body[k] = v;
  }
  $('edit').hidden = true;
  if (Object.keys(body).length) await enqueue({ kind: 'obs', id: ed.id, etag: ed.etag, body });
  loadFollowUp();
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

// ---- connection -----------------------------------------------------------------------------
function showNet() {
  $('net').textContent = navigator.onLine ? 'Uppkopplad' : 'Ingen uppkoppling';
  $('net').classList.toggle('offline', !navigator.onLine);
}
window.addEventListener('online', () => { showNet(); flush(); });
window.addEventListener('offline', showNet);
// navigator.onLine can say "online" on a network that reaches nothing (and the online event may
// never come): while changes wait, try again every 10 s.
setInterval(async () => { if ((await queueAll()).some((i) => !i.error)) flush(); }, 10000);

// ---- wiring ---------------------------------------------------------------------------------
buildForm();
$('locate').addEventListener('click', locate);
$('add').addEventListener('click', openForm);
$('obs-cancel').addEventListener('click', () => { $('obs').hidden = true; });
$('obs').addEventListener('submit', saveObservation);
$('obs-photo').addEventListener('change', () => {
  field.photo = $('obs-photo').files[0] || null;
  $('obs-photo-name').textContent = field.photo ? `Foto: ${field.photo.name} (${Math.round(field.photo.size / 1024)} kB)` : '';
});
$('walk').addEventListener('change', () => chooseWalk($('walk').value));
$('token').value = token();
$('token-save').addEventListener('click', async () => {
  sessionStorage.setItem('lagesbild-token', $('token').value.trim());
  await whoAmI();
  await loadWalks();
  await flush();
});
$('plan-suggest').addEventListener('click', suggest);
$('plan-save').addEventListener('click', savePlan);
$('proto-save').addEventListener('click', saveProtocol);
// The report holds the protocol, names and photos, which need the token: fetched, then opened
// from memory (a plain link would be an anonymous request and get the public view).
$('proto-report').addEventListener('click', async (e) => {
  e.preventDefault();
  const win = window.open('', '_blank');
  const r = await fetch($('proto-report').href, { headers: headers() });
  win.location.href = URL.createObjectURL(await r.blob());
});
$('follow-list').addEventListener('click', (e) => { const li = e.target.closest('li[data-id]'); if (li) openEdit(li.dataset.id); });
$('edit').addEventListener('submit', saveEdit);
$('edit-cancel').addEventListener('click', () => { $('edit').hidden = true; });
$('more').addEventListener('toggle', () => { if ($('more').open) loadFollowUp(); });

async function whoAmI() {
  const r = await call('GET', '/api/auth/me').catch(() => null);
  if (r && r.ok) $('role').textContent = 'Roll: ' + (r.data.role || 'public');
}

if ('serviceWorker' in navigator) {
  // The page and the walk then open without a connection.
  navigator.serviceWorker.register('sw.js').catch((e) => say('Offlineläget kunde inte startas: ' + e.message));
}
showNet();
showQueue();
whoAmI();
loadWalks().then(flush).catch(() => showQueue());
