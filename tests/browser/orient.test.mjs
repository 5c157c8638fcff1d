// Map orientation in Debian's headless Chromium: labels drawn with glyphs from our server, the
// place search, Swedish date fields, the legend overlay and "Spara bild"; then a local MBTiles
// basemap made with GDAL in the test, whose tiles must be requested and drawn. Screenshots
// (desktop 1280×800 and phone 390×844) go to target/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.LAGESBILD_BIN || join(root, 'target', 'debug', 'lagesbild');
const shots = join(root, 'target', 'screenshots');
const servers = [];
let browser; let dir; let store;

// The MBTiles fixture: a uniform colour over 10 × 10 km of open water east of the county
// (19.55–19.64° E, 59.29–59.34° N), where none of our layers draw.
const FIXTURE_RGB = [30, 120, 200];
const FIXTURE_3857 = [2176000, 8250000, 2186000, 8260000];

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function run(args) {
  execFileSync(bin, ['--store', store, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function startServer(extra) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const p = spawn(bin, ['--store', store, 'serve', '--bind', `127.0.0.1:${port}`, '--uso', 'geodata/uso2025_sollentuna_jarva_subset.geojson', '--boundaries', 'geodata/kommun_stockholms_lan.geojson', ...extra], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  servers.push(p);
  for (let i = 0; i < 300; i++) {
    try { if ((await fetch(base + '/health')).ok) return base; } catch (e) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

before(async () => {
  assert.ok(existsSync(bin), `build the binary first: ${bin}`);
  assert.ok(existsSync('/usr/bin/chromium'), 'Debian chromium must be installed (apt-get install chromium)');
  mkdirSync(shots, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'lagesbild-orient-'));
  store = join(dir, 'demo.gpkg');
  run(['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  run(['classify', 'omradestyp', '--key', 'geodata/koppling-deso2018-regso2020.csv', '--types', 'geodata/regso_socioekonomisk_index_2023.csv']);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
});

after(async () => {
  if (browser) await browser.close();
  servers.forEach((s) => s.kill());
});

async function openMap(base, viewport) {
  const page = await browser.newPage({ viewport: viewport || { width: 1280, height: 800 }, acceptDownloads: true });
  // Other work may share the two cores: generous waits (no timing is asserted).
  page.setDefaultTimeout(120000);
  const external = []; const glyphs = []; const basemapTiles = [];
  page.on('request', (r) => { const u = r.url(); if (!u.startsWith(base) && !u.startsWith('blob:' + base) && !u.startsWith('data:')) external.push(u); });
  page.on('response', (r) => {
    const u = r.url();
    if (u.startsWith(base + '/fonts/')) glyphs.push([u, r.status()]);
    if (/\/basemap\/\d+\/\d+\/\d+$/.test(u)) basemapTiles.push([u, r.status()]);
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/map/');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
  return { page, external, errors, glyphs, basemapTiles };
}

const LABEL_LAYERS = ['labels-police', 'labels-regso', 'labels-kommun', 'labels-deso'];

test('without a basemap the map labels places from our data with glyphs from our server', async () => {
  const base = await startServer([]);
  const { page, external, errors, glyphs } = await openMap(base);
  assert.equal(await page.getAttribute('html', 'lang'), 'sv');
  // Tureberg is one of Polisen's areas in Sollentuna (geodata/uso2025_sollentuna_jarva_subset.geojson).
  await page.waitForFunction((layers) => window.lagesbildMap.queryRenderedFeatures({ layers }).some((f) => f.properties.name === 'Tureberg'), LABEL_LAYERS, { timeout: 60000 });
  const names = await page.evaluate((layers) => window.lagesbildMap.queryRenderedFeatures({ layers }).map((f) => f.properties.name), LABEL_LAYERS);
  assert.ok(names.some((n) => /[ÅÄÖåäö]/.test(n)), `a label with Å, Ä or Ö is drawn: ${names.join(', ')}`);
  assert.ok(glyphs.some(([u, s]) => s === 200 && /\/fonts\/DejaVu%20Sans%20(Book|Bold)\/0-255\.pbf$/.test(u)), `glyph requests: ${JSON.stringify(glyphs)}`);
  assert.ok(glyphs.every(([, s]) => s === 200), `every glyph request answered: ${JSON.stringify(glyphs)}`);
  // Labels have a halo; MapLibre's symbol collision is on (no allow-overlap).
  assert.ok(await page.evaluate(() => window.lagesbildMap.getPaintProperty('labels-regso', 'text-halo-width') > 0));
  assert.notEqual(await page.evaluate(() => window.lagesbildMap.getLayoutProperty('labels-regso', 'text-allow-overlap')), true);
  // A scale bar and a legend on the map itself.
  assert.match(await page.textContent('.maplibregl-ctrl-scale'), /\d+\s?(m|km)/);
  assert.ok(await page.isVisible('#legend-box'));
  assert.match(await page.textContent('#legend-box'), /Områdestyp/);
  assert.deepEqual(external, [], 'nothing loaded from outside our server');
  assert.deepEqual(errors, []);
  await page.screenshot({ path: join(shots, 'orient-labels.png') });
  await page.close();
});

test('the search box finds "sodra", flies to the RegSO and opens its profile', async () => {
  const base = await startServer([]);
  const { page, errors } = await openMap(base);
  await page.fill('#search', 'sodra');
  await page.waitForSelector('#search-results li[data-k]', { timeout: 30000 });
  assert.match(await page.textContent('#search-results'), /Falkberget-Södra Sjöberg/);
  await page.screenshot({ path: join(shots, 'orient-search.png') });
  await page.press('#search', 'Enter');
  await page.waitForSelector('#profile-code', { timeout: 30000 });
  const hit = await page.evaluate(() => window.lagesbildSearch.last);
  assert.equal(hit.name, 'Falkberget-Södra Sjöberg');
  assert.equal(await page.textContent('#profile-code'), hit.id);
  await page.waitForFunction(() => !window.lagesbildMap.isMoving(), null, { timeout: 30000 });
  const centre = await page.evaluate(() => window.lagesbildMap.getCenter().toArray());
  const [w, s, e, n] = hit.bbox;
  assert.ok(centre[0] >= w && centre[0] <= e && centre[1] >= s && centre[1] <= n, `map centre ${centre} in ${hit.bbox}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('date fields take ÅÅÅÅ-MM-DD and ISO weeks and refuse impossible dates', async () => {
  const base = await startServer([]);
  const { page } = await openMap(base);
  await page.fill('#from', 'v. 12 2025');
  // ISO week 12 of 2025 runs Monday 17 March to Sunday 23 March (1 January 2025 is a Wednesday).
  assert.match(await page.textContent('.hint[data-for="from"]'), /v\. 12 2025: 2025-03-17 – 2025-03-23/);
  assert.equal(await page.getAttribute('#from', 'aria-invalid'), 'false');
  await page.fill('#to', '2025-02-30');
  assert.equal(await page.getAttribute('#to', 'aria-invalid'), 'true');
  await page.fill('#to', '2025-06-30');
  // 30 June 2025 is a Monday in ISO week 27.
  assert.match(await page.textContent('.hint[data-for="to"]'), /2025-06-30 \(v\. 27 2025\)/);
  const q = await page.evaluate(() => analysisQuery());
  assert.equal(q, 'from=2025-W12&to=2025-06-30');
  assert.equal(await page.getAttribute('#walk-from', 'type'), null, 'no browser-locale date input');
  await page.close();
});

test('Spara bild saves the view as PNG with legend, period and attribution; desktop and phone screenshots', async () => {
  const base = await startServer([]);
  const { page, errors } = await openMap(base);
  await page.fill('#from', 'v. 1 2025');
  await page.fill('#to', 'v. 46 2026');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save-image')]);
  assert.match(download.suggestedFilename(), /^lagesbild-\d{4}-\d{2}-\d{2}\.png$/);
  const out = join(shots, 'spara-bild.png');
  await download.saveAs(out);
  assert.ok(statSync(out).size > 20000, 'a real picture, not an empty canvas');
  assert.deepEqual(errors, []);
  await page.close();

  const phone = await openMap(base, { width: 390, height: 844 });
  await phone.page.waitForFunction((layers) => window.lagesbildMap.queryRenderedFeatures({ layers }).length > 0, LABEL_LAYERS, { timeout: 60000 });
  assert.ok(await phone.page.isVisible('#legend-box'));
  assert.ok(await phone.page.isVisible('#search'));
  await phone.page.screenshot({ path: join(shots, 'orient-phone.png') });
  // On a phone the legend starts folded; a tap opens it.
  assert.equal(await phone.page.isVisible('#legend'), false);
  await phone.page.click('#legend-toggle');
  assert.ok(await phone.page.isVisible('#legend'));
  assert.match(await phone.page.textContent('#legend'), /Områdestyp/);
  await phone.page.screenshot({ path: join(shots, 'orient-phone-legend.png') });
  await phone.page.close();
});

test('a local MBTiles basemap made with GDAL is requested and drawn under our layers', async () => {
  const tif = join(dir, 'blue.tif'); const mbt = join(dir, 'blue.mbtiles');
  const [x0, y0, x1, y1] = FIXTURE_3857;
  execFileSync('gdal_create', ['-of', 'GTiff', '-outsize', '512', '512', '-bands', '3', ...FIXTURE_RGB.flatMap((v) => ['-burn', String(v)]), '-a_srs', 'EPSG:3857', '-a_ullr', String(x0), String(y1), String(x1), String(y0), tif]);
  execFileSync('gdal_translate', ['-q', '-of', 'MBTILES', tif, mbt]);
  const base = await startServer(['--basemap', mbt, '--basemap-attribution', '© Testkarta (GDAL)']);
  const { page, basemapTiles, external, errors } = await openMap(base);
  const tj = await (await fetch(base + '/basemap/tilejson.json')).json();
  // Centre of the fixture in degrees (inverse Web Mercator of its centre).
  const lon = ((x0 + x1) / 2) / 6378137 * 180 / Math.PI;
  const lat = (2 * Math.atan(Math.exp(((y0 + y1) / 2) / 6378137)) - Math.PI / 2) * 180 / Math.PI;
  await page.evaluate(([a, b, z]) => window.lagesbildMap.jumpTo({ center: [a, b], zoom: z }), [lon, lat, tj.maxzoom + 0.5]);
  await page.waitForFunction(() => window.lagesbildMap.loaded() && window.lagesbildMap.isSourceLoaded('basemap'), null, { timeout: 60000 });
  await page.evaluate(() => new Promise((r) => { window.lagesbildMap.once('idle', r); window.lagesbildMap.triggerRepaint(); }));
  assert.ok(basemapTiles.some(([, s]) => s === 200), `basemap tiles requested: ${JSON.stringify(basemapTiles)}`);
  // Read the drawn pixel at the map's centre: the fixture's colour, not the background.
  const px = await page.evaluate(() => {
    const c = window.lagesbildMap.getCanvas();
    const t = document.createElement('canvas'); t.width = c.width; t.height = c.height;
    const ctx = t.getContext('2d'); ctx.drawImage(c, 0, 0);
    return Array.from(ctx.getImageData(Math.floor(c.width / 2), Math.floor(c.height / 2), 1, 1).data);
  });
  FIXTURE_RGB.forEach((v, i) => assert.ok(Math.abs(px[i] - v) <= 6, `pixel ${px} is the fixture's ${FIXTURE_RGB}`));
  assert.match(await page.textContent('.maplibregl-ctrl-attrib'), /Testkarta \(GDAL\)/);
  assert.deepEqual(external, []);
  assert.deepEqual(errors, []);
  await page.screenshot({ path: join(shots, 'orient-basemap.png') });
  await page.close();
});
