// "Rita planområde" in a real headless Chromium: draw a plan area with clicks and read its social
// picture; upload a plan area as a GeoPackage; an indicator imported from a file (with its label
// from an indicator catalogue given to `serve --indicators`) appears in an area's panel.
// Screenshots (desktop and phone) go to target/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.LAGESBILD_BIN || join(root, 'target', 'debug', 'lagesbild');
const shots = join(root, 'target', 'screenshots');
let server; let browser; let base; let dir;

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
  dir = mkdtempSync(join(tmpdir(), 'lagesbild-plan-'));
  const store = join(dir, 'demo.gpkg');
  run(store, ['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(store, ['import', 'indicators', 'geodata/sollentuna_deso2025_indicators.csv', '--year', '2024', '--column-year', 'pop=2025,young=2025,foreign=2025,higher_ed=2025', '--source', 'SCB']);
  run(store, ['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  run(store, ['classify', 'omradestyp', '--key', 'geodata/koppling-deso2018-regso2020.csv', '--types', 'geodata/regso_socioekonomisk_index_2023.csv']);
  // An indicator the code has never heard of, with its label in a catalogue file.
  writeFileSync(join(dir, 'trygghet.csv'), 'deso;trygg_kvall\n0163C1150;61\n0163C1140;72\n');
  run(store, ['import', 'indicators', join(dir, 'trygghet.csv'), '--year', '2025', '--source', 'Trygghetsmätning (test)']);
  writeFileSync(join(dir, 'catalogue.toml'), '[[indicator]]\nname = "trygg_kvall"\nlabel = "Trygga ute sent på kvällen"\nunit = "%"\naggregate = "population_mean"\ndirection = "higher_is_better"\nsource = "Trygghetsmätning"\n');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['--store', store, 'serve', '--bind', `127.0.0.1:${port}`, '--indicators', join(dir, 'catalogue.toml'), '--uso', 'geodata/uso2025_sollentuna_jarva_subset.geojson'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 600; i++) {
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
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function openMap(viewport) {
  const page = await browser.newPage({ viewport: viewport || { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/map/');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
  await page.waitForFunction(() => Object.keys(window.lagesbildCatalogue).length > 0, null, { timeout: 30000 });
  return { page, errors };
}

// A point inside a DeSO as the map draws it, in canvas pixels.
async function pointIn(page, deso) {
  return page.evaluate((code) => {
    const m = window.lagesbildMap;
    const f = m.queryRenderedFeatures({ layers: ['deso-fill'] }).find((x) => x.properties.deso === code);
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const cx = ring.reduce((s, c) => s + c[0], 0) / ring.length; const cy = ring.reduce((s, c) => s + c[1], 0) / ring.length;
    const cands = [[cx, cy]];
    for (let i = 0; i < ring.length - 2; i++) cands.push([(ring[i][0] + ring[i + 1][0] + cx) / 3, (ring[i][1] + ring[i + 1][1] + cy) / 3]);
    for (const c of cands) {
      const p = m.project(c);
      const hit = m.queryRenderedFeatures([p.x, p.y], { layers: ['deso-fill'] })[0];
      if (hit && hit.properties.deso === code) return { x: p.x, y: p.y };
    }
    return null;
  }, deso);
}

async function drawPlan(page, name) {
  const pt = await pointIn(page, '0163C1150');
  assert.ok(pt, 'found a point inside 0163C1150');
  const box = await page.locator('#map canvas').boundingBox();
  await page.fill('#plan-name', name);
  await page.click('#plan-draw');
  for (const [dx, dy] of [[-30, -30], [30, -30], [30, 30], [-30, 30]]) {
    await page.mouse.click(box.x + pt.x + dx, box.y + pt.y + dy);
  }
  await page.click('#plan-done');
  await page.waitForSelector('#plan-title', { timeout: 60000 });
}

test('drawing a plan area shows its DeSO with shares, estimated residents and every indicator', async () => {
  const { page, errors } = await openMap();
  await drawPlan(page, 'Detaljplan Centrum');
  assert.equal(await page.textContent('#plan-title'), 'Detaljplan Centrum');
  const desos = await page.textContent('#plan-desos');
  assert.match(desos, /0163C1150/);
  assert.match(desos, /\d %/);
  const pop = await page.textContent('#plan-population');
  assert.notEqual(pop, '–');
  const ind = await page.textContent('#plan-indicators');
  assert.match(ind, /Låg ekonomisk standard \(%\)/);
  assert.match(ind, /Trygga ute sent på kvällen \(%\)/);
  // The drawn area stays on the map beneath the panel.
  await page.waitForFunction(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['plan-fill'] }).length > 0, null, { timeout: 30000 });
  assert.deepEqual(errors, []);
  await page.screenshot({ path: join(shots, 'plan-desktop.png') });
  await page.close();
});

test('on a phone the plan area profile opens below the map', async () => {
  const { page } = await openMap({ width: 390, height: 844 });
  await page.evaluate(() => window.lagesbildMap.resize());
  await drawPlan(page, 'Detaljplan mobil');
  assert.match(await page.textContent('#plan-indicators'), /Låg ekonomisk standard/);
  await page.screenshot({ path: join(shots, 'plan-phone.png') });
  await page.close();
});

test('a plan area uploaded as a GeoPackage gets its social picture', async () => {
  const gj = join(dir, 'plan.geojson');
  writeFileSync(gj, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[17.945, 59.425], [17.955, 59.425], [17.955, 59.43], [17.945, 59.43], [17.945, 59.425]]] } }] }));
  const gpkg = join(dir, 'plan.gpkg');
  execFileSync('ogr2ogr', ['-f', 'GPKG', gpkg, gj]);
  const { page } = await openMap();
  await page.setInputFiles('#plan-file', gpkg);
  await page.waitForSelector('#plan-title', { timeout: 60000 });
  assert.match(await page.textContent('#plan-status'), /\d+ DeSO berörs/);
  assert.match(await page.textContent('#plan-desos'), /0163C/);
  await page.close();
});

test('an imported indicator appears in an area panel with its catalogue label', async () => {
  const { page } = await openMap();
  const pt = await pointIn(page, '0163C1150');
  const box = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(box.x + pt.x, box.y + pt.y);
  await page.waitForSelector('#profile-code', { timeout: 30000 });
  const row = await page.textContent('tr[data-indicator="trygg_kvall"]');
  assert.match(row, /Trygga ute sent på kvällen \(%\)/);
  assert.match(row, /61/);
  await page.close();
});
