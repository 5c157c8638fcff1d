// The web map in a real headless Chromium (Debian's package), driven by playwright-core.
// Starts the real server on a fresh demo store, opens the map, checks that layers render and
// the legend shows, clicks an area and reads its DeSO code in the profile, switches the theme,
// signs in and saves screenshots. A missing browser fails the suite: it does not skip.
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

before(async () => {
  assert.ok(existsSync(bin), `build the binary first: ${bin}`);
  assert.ok(existsSync('/usr/bin/chromium'), 'Debian chromium must be installed (apt-get install chromium)');
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'lagesbild-web-'));
  const store = join(dir, 'demo.gpkg');
  run(store, ['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(store, ['import', 'indicators', 'geodata/sollentuna_deso2025_indicators.csv', '--year', '2024', '--column-year', 'pop=2025,young=2025,foreign=2025,higher_ed=2025', '--source', 'SCB']);
  run(store, ['import', 'indicators', 'geodata/sollentuna_crowding_ILLUSTRATIVE.csv', '--source', 'ILLUSTRATIV, ej SCB-data']);
  run(store, ['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  run(store, ['classify', 'omradestyp', '--key', 'geodata/koppling-deso2018-regso2020.csv', '--types', 'geodata/regso_socioekonomisk_index_2023.csv']);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['--store', store, 'serve', '--bind', `127.0.0.1:${port}`, '--uso', 'geodata/uso2025_sollentuna_jarva_subset.geojson', '--boundaries', 'geodata/kommun_stockholms_lan.geojson'], { cwd: root, env: { ...process.env, LAGESBILD_TOKENS: 'analyst:webtest-analyst,editor:webtest-editor' }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    // The port opens before the data is loaded; "ok" means the data is in service.
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

// Every Content-Security-Policy violation of every page the tests open: the map must work under
// the policy the server sends, so any violation fails the suite (see the last test).
const cspViolations = [];

async function watchCsp(page) {
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${page.url()}: ${m.text()}`); });
  page.on('popup', (p) => { watchCsp(p).catch(() => {}); });
  // Reported by the page itself as well, in case the console wording changes.
  await page.exposeFunction('__lagesbildCsp', (v) => cspViolations.push(`${page.url()}: ${v}`));
  await page.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) => window.__lagesbildCsp(`${e.violatedDirective} ${e.blockedURI}`)));
}

async function openMap() {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await watchCsp(page);
  const external = [];
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(base) && !u.startsWith('blob:' + base) && !u.startsWith('data:')) external.push(u); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const resp = await page.goto(base + '/map/');
  const csp = resp.headers()['content-security-policy'] || '';
  assert.match(csp, /default-src 'self'/, 'the map is served with a Content-Security-Policy');
  assert.doesNotMatch(csp.match(/script-src[^;]*/)[0], /unsafe-inline/, 'no inline scripts allowed');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
  return { page, external, errors };
}

test('the map renders DeSO areas and hotspots from our own server with a Swedish legend', async () => {
  const { page, external, errors } = await openMap();
  const n = await page.evaluate(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['deso-fill'] }).length);
  assert.ok(n >= 20, `DeSO features rendered: ${n}`);
  const hot = await page.evaluate(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['hotspots-fill'] }).length);
  assert.ok(hot > 0, 'hotspot cells rendered');
  const legend = await page.textContent('#legend');
  assert.match(legend, /Områdestyp/);
  assert.match(legend, /Het punkt, 99 %/);
  assert.deepEqual(external, [], 'nothing loaded from outside our server');
  assert.deepEqual(errors, []);
  await page.screenshot({ path: join(shots, 'map-start.png') });
  await page.close();
});

test('clicking an area opens its profile with the DeSO code', async () => {
  const { page } = await openMap();
  // Click the centre of Sollentuna centrum's DeSO (0163C1150) as the map draws it.
  const pt = await page.evaluate(() => {
    const m = window.lagesbildMap;
    const f = m.queryRenderedFeatures({ layers: ['deso-fill'] }).find((x) => x.properties.deso === '0163C1150');
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    // A vertex-average point can fall outside a concave polygon; probe candidates until one hits.
    const cands = [];
    const cx = ring.reduce((s, c) => s + c[0], 0) / ring.length; const cy = ring.reduce((s, c) => s + c[1], 0) / ring.length;
    cands.push([cx, cy]);
    for (let i = 0; i < ring.length - 2; i++) cands.push([(ring[i][0] + ring[i + 1][0] + cx) / 3, (ring[i][1] + ring[i + 1][1] + cy) / 3]);
    for (const c of cands) {
      const p = m.project(c);
      const hit = m.queryRenderedFeatures([p.x, p.y], { layers: ['deso-fill'] })[0];
      if (hit && hit.properties.deso === '0163C1150') return { x: p.x, y: p.y };
    }
    return null;
  });
  assert.ok(pt, 'found a point inside 0163C1150');
  const box = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(box.x + pt.x, box.y + pt.y);
  await page.waitForSelector('#profile-code', { timeout: 30000 });
  assert.equal(await page.textContent('#profile-code'), '0163C1150');
  const body = await page.textContent('#profile-body');
  assert.match(body, /Områdestyp/);
  assert.match(body, /EST-veckor/);
  await page.screenshot({ path: join(shots, 'map-profile.png') });
  await page.close();
});

test('switching the theme recolours the areas and updates the legend', async () => {
  const { page } = await openMap();
  await page.selectOption('#theme', 'share_hyresratt');
  const legend = await page.textContent('#legend');
  assert.match(legend, /Andel hyresrätt/);
  const paint = await page.evaluate(() => JSON.stringify(window.lagesbildMap.getPaintProperty('deso-fill', 'fill-color')));
  assert.match(paint, /share_hyresratt/);
  await page.check('#lyr-density');
  await page.waitForFunction(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['density-fill'] }).length > 0, null, { timeout: 30000 });
  await page.screenshot({ path: join(shots, 'map-theme.png') });
  await page.close();
});

test('signing in as analyst shows raw incidents; the public view does not', async () => {
  const { page } = await openMap();
  assert.match(await page.textContent('#role'), /Öppen vy/);
  await page.fill('#token', 'webtest-analyst');
  await page.click('#login-btn');
  await page.waitForFunction(() => /Analytiker/.test(document.getElementById('role').textContent), null, { timeout: 30000 });
  await page.check('#lyr-incidents');
  await page.evaluate(() => window.lagesbildMap.jumpTo({ center: [17.955, 59.428], zoom: 15 }));
  await page.waitForFunction(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['incidents-points'] }).length > 0, null, { timeout: 30000 });
  await page.screenshot({ path: join(shots, 'map-analyst.png') });
  await page.close();
});

test('a safety walk: draw a route with clicks, save, reload, add an observation, open the report', async () => {
  const { page, errors } = await openMap();
  await page.fill('#token', 'webtest-editor');
  await page.click('#login-btn');
  await page.waitForFunction(() => /Analytiker/.test(document.getElementById('role').textContent), null, { timeout: 30000 });
  await page.evaluate(() => window.lagesbildMap.jumpTo({ center: [17.953, 59.4295], zoom: 15 }));
  await page.waitForFunction(() => window.lagesbildMap.loaded(), null, { timeout: 30000 });
  await page.click('#walk-draw');
  const box = await page.locator('#map canvas').boundingBox();
  const px = async (lon, lat) => page.evaluate(([a, b]) => { const p = window.lagesbildMap.project([a, b]); return [p.x, p.y]; }, [lon, lat]);
  for (const [lon, lat] of [[17.950, 59.428], [17.956, 59.428], [17.956, 59.431]]) {
    const [x, y] = await px(lon, lat);
    await page.mouse.click(box.x + x, box.y + y);
  }
  assert.equal(await page.evaluate(() => window.lagesbildWalks.draft.length), 3);
  // Drag the middle vertex a little north: the route is edited, no vertex is added.
  await page.waitForFunction(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['walk-draft-points'] }).length === 3, null, { timeout: 30000 });
  const [mx, my] = await px(17.956, 59.428);
  await page.mouse.move(box.x + mx, box.y + my);
  await page.mouse.down();
  await page.mouse.move(box.x + mx, box.y + my - 20, { steps: 5 });
  await page.mouse.up();
  const moved = await page.evaluate(() => window.lagesbildWalks.draft);
  assert.equal(moved.length, 3);
  assert.ok(moved[1][1] > 59.428 + 1e-5, `vertex moved north: ${moved[1]}`);
  await page.fill('#walk-title', 'Testvandring Tureberg');
  await page.fill('#walk-orgs', 'kommunen, polisen');
  await page.click('#walk-save');
  await page.waitForFunction(() => /Testvandring Tureberg/.test(document.getElementById('walk-list').textContent), null, { timeout: 30000 });

  await page.reload();
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60000 });
  await page.waitForFunction(() => /Testvandring Tureberg/.test(document.getElementById('walk-list').textContent), null, { timeout: 30000 });
  await page.evaluate(() => window.lagesbildMap.jumpTo({ center: [17.953, 59.4295], zoom: 15 }));
  await page.waitForFunction(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['walks-line'] }).length > 0, null, { timeout: 30000 });

  await page.click('#walk-list li[data-id]');
  await page.click('#obs-add');
  const box2 = await page.locator('#map canvas').boundingBox();
  const [ox, oy] = await px(17.953, 59.4281);
  await page.mouse.click(box2.x + ox, box2.y + oy);
  await page.selectOption('#obs-category', 'belysning');
  await page.fill('#obs-description', 'Trasig belysning vid gångvägen');
  await page.fill('#obs-responsible', 'Gatukontoret');
  await page.click('#obs-save');
  await page.waitForFunction(() => /Trasig belysning/.test(document.getElementById('obs-list').textContent), null, { timeout: 30000 });
  await page.screenshot({ path: join(shots, 'map-walk.png') });

  const [report] = await Promise.all([page.waitForEvent('popup'), page.click('#walk-report')]);
  await report.waitForLoadState();
  assert.match(await report.textContent('h1'), /Trygghetsvandring: Testvandring Tureberg/);
  assert.match(await report.textContent('body'), /Trasig belysning vid gångvägen/);
  await report.screenshot({ path: join(shots, 'walk-report.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('an editor imports a file through the Importera panel, fixes the mapping, sees it on the map and undoes it', async () => {
  const { page, errors } = await openMap();
  await page.fill('#token', 'webtest-editor');
  await page.click('#login-btn');
  await page.waitForSelector('#import-section:not([hidden]) #import-form:not([hidden])', { timeout: 30000 });
  const total = () => page.evaluate(async () => {
    const r = await fetch('/collections/incident_counts/items?limit=10000', { headers: { Authorization: 'Bearer webtest-editor' } });
    return (await r.json()).features.reduce((s, f) => s + (f.properties.incidents || 0), 0);
  });
  const before = await total();
  // Column names the import does not know by itself: Händelse and När must be mapped by hand.
  const csv = 'Nr;Händelse;När;Östlig;Nordlig\n'
    + [0, 1, 2, 3, 4].map((k) => `WEB-${k};Klotter;2025-10-0${k + 1};${667600 + k * 20};6591700`).join('\n') + '\n';
  await page.setInputFiles('#imp-file', { name: 'webbimport.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.fill('#imp-crs', 'EPSG:3006');
  await page.click('#imp-preview');
  await page.waitForSelector('#imp-review:not([hidden])', { timeout: 30000 });
  assert.match(await page.textContent('#imp-rows'), /Händelse/);
  assert.match(await page.textContent('#imp-rows'), /WEB-0/);
  assert.ok(await page.isDisabled('#imp-confirm'), 'nothing to confirm before the mapping is fixed');
  await page.selectOption('#imp-map-category', 'Händelse');
  await page.waitForFunction(() => document.querySelector('#imp-map-category').value === 'Händelse' && document.getElementById('imp-status').textContent !== 'Kontrollerar filen …', null, { timeout: 30000 });
  await page.selectOption('#imp-map-date', 'När');
  await page.waitForFunction(() => /5 rader kan importeras/.test(document.getElementById('imp-status').textContent), null, { timeout: 30000 });
  assert.match(await page.textContent('#imp-problems'), /Inga problem/);
  await page.evaluate(() => document.getElementById('import-section').scrollIntoView());
  await page.screenshot({ path: join(shots, 'import-preview.png') });
  await page.click('#imp-confirm');
  await page.waitForFunction(() => /Importerade 5 händelser/.test(document.getElementById('imp-status').textContent), null, { timeout: 30000 });
  await page.waitForFunction(() => /webbimport\.csv/.test(document.getElementById('imp-history').textContent), null, { timeout: 30000 });
  for (let i = 0; i < 600 && (await total()) !== before + 5; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await total(), before + 5, 'the map data shows the import without a restart');
  await page.screenshot({ path: join(shots, 'import-done.png') });

  // A file with a bad row: every problem is listed with its line and nothing is imported.
  const bad = 'id;kategori;datum;e;n\nWEB-B1;Klotter;2025-10-01;667600;6591700\nWEB-B2;Klotter;inget datum;667600;6591700\n';
  await page.setInputFiles('#imp-file', { name: 'fel.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
  await page.click('#imp-preview');
  await page.waitForFunction(() => /rad 3/.test(document.getElementById('imp-problems').textContent), null, { timeout: 30000 });
  assert.ok(await page.isDisabled('#imp-confirm'));

  await page.click('#imp-history button.undo >> nth=0');
  await page.waitForFunction(() => /Ångrade webbimport\.csv: 5 rader/.test(document.getElementById('imp-status').textContent), null, { timeout: 30000 });
  await page.waitForFunction(() => !/webbimport\.csv/.test(document.getElementById('imp-history').textContent), null, { timeout: 30000 });
  for (let i = 0; i < 600 && (await total()) !== before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await total(), before, 'the undo shows without a restart');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => document.getElementById('import-section').scrollIntoView());
  await page.screenshot({ path: join(shots, 'import-phone.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the download list offers exactly the server\'s collections, the restricted one marked', async () => {
  const { page } = await openMap();
  const listed = (await (await fetch(base + '/collections')).json()).collections;
  await page.waitForFunction((n) => document.querySelectorAll('#dl-layer option').length === n, listed.length, { timeout: 30000 });
  const options = await page.$$eval('#dl-layer option', (os) => os.map((o) => [o.value, o.textContent]));
  assert.deepEqual(options.map((o) => o[0]), listed.map((c) => c.id));
  assert.ok(listed.length >= 10, `the demo server lists its collections: ${listed.map((c) => c.id)}`);
  const incidents = options.find((o) => o[0] === 'incidents');
  assert.match(incidents[1], /kräver behörighet/, 'the public view marks the incident points as restricted');
  assert.equal(options.find((o) => o[0] === 'deso')[1], 'DeSO-områden');
  await page.close();
});

test('no page of the map broke the Content-Security-Policy', () => {
  assert.deepEqual(cspViolations, []);
});
