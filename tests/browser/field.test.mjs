// The field page of a trygghetsvandring on phones: Debian's headless Chromium with a phone
// viewport (390×844, touch), emulated geolocation and emulated loss of connection. Starts the
// real server on a fresh demo store. Plans a walk from /walks/suggest, walks it offline adding
// three observations with photos, comes back online and finds them stored once; two phones
// change one observation and the ETag rule keeps both changes; overdue findings stand out.
// Screenshots of the phone and desk layouts go to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.LAGESBILD_BIN || join(root, 'target', 'debug', 'lagesbild');
const shots = join(root, 'target', 'screenshots');
const EDITOR = 'fieldtest-editor';
const PARTNER = 'fieldtest-partner';
// Under load (two cores shared by many builds) a first map load can take minutes.
const SLOW = { timeout: 240000 };
let server; let browser; let base;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function run(store, args) {
  execFileSync(bin, ['--store', store, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function api(method, path, { token = EDITOR, body, etag } = {}) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (etag) headers['If-Match'] = etag;
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = null;
  try { data = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, etag: r.headers.get('etag'), data, text };
}

before(async () => {
  assert.ok(existsSync(bin), `build the binary first: ${bin}`);
  assert.ok(existsSync('/usr/bin/chromium'), 'Debian chromium must be installed (apt-get install chromium)');
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'lagesbild-field-'));
  const store = join(dir, 'demo.gpkg');
  run(store, ['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(store, ['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['--store', store, 'serve', '--bind', `127.0.0.1:${port}`], { cwd: root, env: { ...process.env, LAGESBILD_TOKENS: `editor:${EDITOR},partner:${PARTNER}` }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 1200; i++) {
    try { const h = await fetch(base + '/health'); if (h.ok && (await h.json()).status === 'ok') break; } catch (e) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server) server.kill();
});

/// A phone: 390×844 CSS pixels, touch, geolocation allowed.
async function phone(at) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, geolocation: { longitude: at[0], latitude: at[1] }, permissions: ['geolocation'] });
  await context.addInitScript(([t]) => sessionStorage.setItem('lagesbild-token', t), [EDITOR]);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}

async function openField(page) {
  const resp = await page.goto(base + '/map/field.html');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, SLOW);
  return resp;
}

async function chooseWalk(page, id) {
  await page.waitForFunction((w) => [...document.querySelectorAll('#walk option')].some((o) => o.value === w), id, SLOW);
  await page.selectOption('#walk', id);
  await page.waitForFunction(() => window.lagesbildField.walk && !document.getElementById('add').disabled, null, SLOW);
}

/// A JPEG whose EXIF holds a GPS position, as a phone camera writes it (little-endian TIFF).
function jpegWithGps(lon, lat) {
  const t = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0];
  const u16 = (v) => [v & 255, (v >> 8) & 255];
  const u32 = (v) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
  const entry = (tag, type, count, value) => t.push(...u16(tag), ...u16(type), ...u32(count), ...value);
  t.push(...u16(1)); entry(0x8825, 4, 1, u32(26)); t.push(...u32(0));
  t.push(...u16(4));
  entry(1, 2, 2, [78, 0, 0, 0]); entry(2, 5, 3, u32(80)); entry(3, 2, 2, [69, 0, 0, 0]); entry(4, 5, 3, u32(104));
  t.push(...u32(0));
  for (const v of [lat, lon]) {
    const d = Math.trunc(v); const m = Math.trunc((v - d) * 60);
    const s = Math.round((v - d - m / 60) * 3600 * 1e6);
    t.push(...u32(d), ...u32(1), ...u32(m), ...u32(1), ...u32(s), ...u32(1e6));
  }
  const seg = [...Buffer.from('Exif\0\0', 'binary'), ...t];
  return Buffer.from([0xff, 0xd8, 0xff, 0xe1, (seg.length + 2) >> 8, (seg.length + 2) & 255, ...seg, 0xff, 0xda, 0, 4, 1, 2, 0x11, 0x22, 0xff, 0xd9]);
}

/// Polls `check` until it is true, at most 120 s; returns whether it became true.
async function until(check) {
  for (let i = 0; i < 600; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function planWalk() {
  // An area of the demo with at least two proposed stops (hotspot cells).
  let area = null;
  for (const name of ['Bagarby', 'Sollentuna centrum', 'Rotebro centrum', 'Tegelhagen-Silverdal', 'Edsberg', 'Rotsunda', 'Töjnan']) {
    const r = await api('GET', '/walks/suggest?area=' + encodeURIComponent(name));
    if (r.status === 200 && r.data.stops.features.length >= 2) { area = name; break; }
  }
  assert.ok(area, 'some demo area has at least two suggested stops');
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript(([t]) => sessionStorage.setItem('lagesbild-token', t), [EDITOR]);
  const page = await context.newPage();
  await openField(page);
  await page.click('#more summary');
  await page.fill('#plan-title', 'Kvällsvandring ' + area);
  await page.fill('#plan-when', '2026-11-20 18:00');
  await page.fill('#plan-area', area);
  await page.fill('#plan-meet', 'Vid pendeltågsstationen');
  await page.fill('#plan-people', 'Polisen: Anna Berg\nBostadsbolaget\nKommunen: Omar Said');
  await page.click('#plan-suggest');
  await page.waitForFunction(() => !document.getElementById('plan-save').disabled, null, SLOW);
  assert.ok(await page.locator('#plan-stops li').count() >= 2, 'the suggested stops are listed');
  await page.click('#plan-save');
  await page.waitForFunction(() => window.lagesbildField.walk, null, SLOW);
  const id = await page.evaluate(() => window.lagesbildField.walk.id);
  await page.screenshot({ path: join(shots, 'field-desk.png') });
  await context.close();
  const w = await api('GET', '/walks/' + id);
  assert.equal(w.data.properties.participants.length, 3);
  assert.deepEqual(w.data.properties.participants[0], { organisation: 'Polisen', name: 'Anna Berg' });
  assert.equal(w.data.properties.meeting_point, 'Vid pendeltågsstationen');
  assert.equal(w.data.properties.dark_hours, true);
  assert.ok(w.data.properties.stops.length >= 2, 'the stops of the suggestion are kept');
  return w.data;
}

test('a walk planned from suggested stops is walked offline on a phone and its three observations with photos are stored once', SLOW, async () => {
  const walk = await planWalk();
  const route = walk.geometry.coordinates;
  const { context, page, errors } = await phone(route[0]);
  await openField(page);
  // The service worker takes control; the next load goes through it and keeps what it reads.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, SLOW);
  await openField(page);
  await chooseWalk(page, walk.id);
  await page.waitForTimeout(500); // let the service worker store the walk's answers

  await context.setOffline(true);
  const resp = await page.reload();
  assert.ok(resp.fromServiceWorker(), 'without a connection the page comes from the service worker');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, SLOW);
  await page.waitForFunction((w) => window.lagesbildField.walk && window.lagesbildField.walk.id === w, walk.id, SLOW);
  assert.equal(await page.textContent('#net'), 'Ingen uppkoppling');

  // Touch targets of at least 44×44 px for one hand.
  for (const sel of ['#locate', '#add', '#walk']) {
    const b = await page.locator(sel).boundingBox();
    assert.ok(b.width >= 44 && b.height >= 44, `${sel} is ${b.width}×${b.height}`);
  }
  const mapBox = await page.locator('#map').boundingBox();
  assert.ok(mapBox.height >= 0.5 * 844, `the map fills most of the first screen (${mapBox.height} px)`);

  const mid = [(route[0][0] + route[1][0]) / 2, (route[0][1] + route[1][1]) / 2];
  const categories = ['belysning', 'skymd_sikt', 'klotter'];
  for (const [k, category] of categories.entries()) {
    await context.setGeolocation({ longitude: route[0][0], latitude: route[0][1] });
    await page.click('#locate');
    await page.waitForFunction(() => window.lagesbildField.position !== null, null, SLOW);
    await page.click('#add');
    await page.selectOption('#obs-category', category);
    const ratingRows = page.locator('#ratings .rating');
    assert.equal(await ratingRows.count(), 9, 'all nine ratings');
    for (let r = 0; r < 9; r++) await ratingRows.nth(r).locator(`button[data-v="${(r + k) % 4}"]`).tap();
    await page.fill('#obs-text', `Fynd ${k + 1} längs vägen`);
    // The first photo was taken at the middle of the first leg: its EXIF position wins.
    const gps = k === 0 ? mid : route[0];
    await page.setInputFiles('#obs-photo', { name: `foto${k + 1}.jpg`, mimeType: 'image/jpeg', buffer: jpegWithGps(gps[0], gps[1]) });
    await page.tap('#obs-save');
    await page.waitForFunction((n) => document.getElementById('queue').dataset.pending === String(n), k + 1, SLOW);
  }
  assert.match(await page.textContent('#queue'), /3 ändringar väntar på uppkoppling/);
  await page.waitForFunction(() => window.lagesbildFieldMap.queryRenderedFeatures({ layers: ['pending'] }).length > 0, null, SLOW);
  let stored = await api('GET', `/walks/${walk.id}/observations`);
  assert.equal(stored.data.features.length, 0, 'nothing reached the server while offline');
  await page.screenshot({ path: join(shots, 'field-phone.png') });

  await context.setOffline(false);
  await page.waitForFunction(() => document.getElementById('queue').dataset.pending === '0', null, SLOW);
  // A second run of the queue (as after a reload) sends nothing again.
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForTimeout(1000);
  stored = await api('GET', `/walks/${walk.id}/observations`);
  const feats = stored.data.features;
  assert.equal(feats.length, 3, 'each observation stored once');
  assert.deepEqual(feats.map((f) => f.properties.category).sort(), [...categories].sort());
  for (const f of feats) {
    assert.equal(f.properties.has_photo, true);
    assert.equal(Object.keys(f.properties.ratings).length, 9);
  }
  const first = feats.find((f) => f.properties.category === 'belysning');
  const [lon, lat] = first.geometry.coordinates;
  assert.ok(Math.abs(lon - mid[0]) < 1e-5 && Math.abs(lat - mid[1]) < 1e-5, `the photo's position is the observation's point: ${lon},${lat} vs ${mid}`);
  const photo = await fetch(`${base}/observations/${first.id}/photo`, { headers: { Authorization: 'Bearer ' + PARTNER } });
  assert.ok(!Buffer.from(await photo.arrayBuffer()).includes(Buffer.from('Exif')), 'the stored photo has no EXIF');

  // The protocol of the meetings, written on the phone, is in the printed report with the
  // participants, the nine ratings and the photos.
  await page.click('#more summary');
  await page.selectOption('#proto-status', 'genomford');
  await page.fill('#proto-before', 'Genomgång av förra årets fynd vid biblioteket.');
  await page.fill('#proto-after', 'Tre fynd till Gatukontoret; uppföljning i mars.');
  await page.click('#proto-save');
  assert.ok(await until(async () => (await api('GET', `/walks/${walk.id}`)).data.properties.status === 'genomford'), 'the protocol reached the server');
  const [report] = await Promise.all([page.waitForEvent('popup'), page.click('#proto-report')]);
  await report.waitForFunction(() => /Avslutande möte/.test(document.body.textContent), null, SLOW);
  const text = await report.textContent('body');
  for (const needle of ['Genomgång av förra årets fynd', 'Tre fynd till Gatukontoret', 'Anna Berg', 'Vid pendeltågsstationen', 'Belysning 0', 'Känsla']) assert.ok(text.includes(needle), `the report shows '${needle}'`);
  assert.equal(await report.locator('img[src^="data:image/jpeg"]').count(), 3, 'the three photos are in the report');
  await report.screenshot({ path: join(shots, 'field-report.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('two phones changing one observation both keep their change by the ETag rule', SLOW, async () => {
  const walk = (await api('GET', '/walks')).data.features[0];
  const at = walk.geometry.coordinates[0];
  const created = await api('POST', `/walks/${walk.id}/observations`, { body: { point: { type: 'Point', coordinates: at }, category: 'vegetation', description: 'Buskarna skymmer' } });
  assert.equal(created.status, 201, created.text);
  const oid = created.data.id;
  const a = await phone(at);
  const b = await phone(at);
  for (const p of [a, b]) {
    await openField(p.page);
    await p.page.click('#more summary');
    await p.page.waitForSelector(`#follow-list li[data-id="${oid}"]`, SLOW);
    await p.page.click(`#follow-list li[data-id="${oid}"]`);
    await p.page.waitForFunction(() => !document.getElementById('edit').hidden, null, SLOW);
  }
  // Phone B loses the connection; phone A saves first.
  await b.context.setOffline(true);
  await b.page.fill('#edit-text', 'Buskarna skymmer gångvägen helt efter klockan 18');
  await b.page.click('#edit-save');
  await b.page.waitForFunction(() => document.getElementById('queue').dataset.pending === '1', null, SLOW);
  await a.page.selectOption('#edit-status', 'tilldelad');
  await a.page.fill('#edit-responsible', 'Parkförvaltningen');
  await a.page.click('#edit-save');
  // Phone A is online: its change is sent at once (the queue may empty before it is seen).
  assert.equal(await until(async () => (await api('GET', `/observations/${oid}`)).etag === '"v2"'), true, "phone A's change reached the server");

  await b.context.setOffline(false);
  await b.page.waitForFunction(() => document.getElementById('queue').dataset.pending === '0', null, SLOW);
  assert.equal(await b.page.evaluate(() => window.lagesbildField.conflicts), 1, 'phone B met a 412 and sent again on the current version');
  const now = await api('GET', `/observations/${oid}`);
  assert.equal(now.etag, '"v3"');
  assert.equal(now.data.properties.status, 'tilldelad', "phone A's status stays");
  assert.equal(now.data.properties.responsible, 'Parkförvaltningen');
  assert.equal(now.data.properties.description, 'Buskarna skymmer gångvägen helt efter klockan 18', "phone B's text is there");
  const hist = await api('GET', `/observations/${oid}/history`, { token: PARTNER });
  assert.equal(hist.data.history.length, 3, 'created, phone A, phone B');
  assert.ok(hist.data.history[1].changes.status && hist.data.history[2].changes.description);
  await a.context.close();
  await b.context.close();
});

test('an overdue finding stands out in the follow-up list', SLOW, async () => {
  const walk = (await api('GET', '/walks')).data.features[0];
  const at = walk.geometry.coordinates[0];
  const yesterday = new Date(Date.now() - 86400000).toISOString().slice(0, 10);
  const nextMonth = new Date(Date.now() + 30 * 86400000).toISOString().slice(0, 10);
  const late = await api('POST', `/walks/${walk.id}/observations`, { body: { point: { type: 'Point', coordinates: at }, category: 'belysning', description: 'Lampan är trasig', responsible: 'Gatukontoret', status: 'planerad', due: yesterday } });
  const fine = await api('POST', `/walks/${walk.id}/observations`, { body: { point: { type: 'Point', coordinates: at }, category: 'klotter', description: 'Klotter på tunneln', due: nextMonth } });
  assert.equal(late.status, 201, late.text);
  assert.equal(fine.status, 201, fine.text);
  const { context, page } = await phone(at);
  await openField(page);
  await page.click('#more summary');
  await page.waitForSelector(`#follow-list li[data-id="${late.data.id}"]`, SLOW);
  const lateLi = page.locator(`#follow-list li[data-id="${late.data.id}"]`);
  assert.equal(await lateLi.getAttribute('class'), 'overdue');
  assert.match(await lateLi.textContent(), /Försenad/);
  assert.match(await lateLi.textContent(), /Åtgärd planerad/);
  assert.equal(await page.locator(`#follow-list li[data-id="${fine.data.id}"]`).getAttribute('class'), '');
  const firstId = await page.locator('#follow-list li').first().getAttribute('data-id');
  assert.equal(firstId, late.data.id, 'overdue findings come first');
  const bg = await lateLi.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(bg, 'rgb(253, 226, 225)', 'a red background');
  await lateLi.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, 'field-followup-phone.png') });
  await context.close();
});
