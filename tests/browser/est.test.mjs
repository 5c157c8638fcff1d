// The EST theme "Läget vecka N" in a real headless Chromium (Debian's package): the DeSO take
// the colours /api/est gives for the week, the week slider changes week and colours, the rule
// is shown, and an editor's bedömning is saved and shown beside the computed status.
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
const COLOURS = { green: '#2e9e4f', yellow: '#f2c500', red: '#d7261e' };
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
  const dir = mkdtempSync(join(tmpdir(), 'lagesbild-est-'));
  const store = join(dir, 'demo.gpkg');
  run(store, ['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(store, ['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn(bin, ['--store', store, 'serve', '--bind', `127.0.0.1:${port}`], { cwd: root, env: { ...process.env, LAGESBILD_TOKENS: 'editor:esttest-editor' }, stdio: ['ignore', 'ignore', 'inherit'] });
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
});

// The colour the map's paint expression gives each DeSO code.
function coloursOf(expr) {
  const out = {};
  for (let i = 2; i + 1 < expr.length; i += 2) out[expr[i]] = expr[i + 1];
  return out;
}

async function estFor(week) {
  const r = await fetch(`${base}/api/est?week=${week}`);
  assert.equal(r.status, 200);
  return r.json();
}

test('the EST theme colours each DeSO as the API says for the week and the slider changes week', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base + '/map/');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
  await page.selectOption('#theme', 'est');
  await page.waitForFunction(() => (document.body.dataset.estWeek || '') !== '', null, { timeout: 60000 });
  const last = await page.evaluate(() => document.body.dataset.estWeek);
  const api = await estFor(last);
  assert.equal(api.week, last, 'the theme opens on the last week with data');
  const m = /^(\d{4})-W(\d{2})$/.exec(last);
  assert.equal(await page.textContent('#est-week-label'), `Läget vecka ${Number(m[2])} ${m[1]}`);
  assert.match(await page.textContent('#est-rule'), /Grön: under 3/);
  assert.match(await page.textContent('#legend'), /Läget vecka/);
  let paint = coloursOf(await page.evaluate(() => window.lagesbildMap.getPaintProperty('deso-fill', 'fill-color')));
  for (const a of api.areas) assert.equal(paint[a.area], COLOURS[a.shown], `${a.area} in ${last}`);
  const rendered = await page.evaluate(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['deso-fill'] }).length);
  assert.ok(rendered >= 20, `DeSO drawn: ${rendered}`);

  // Slide back to the week with the most red areas, so the colours visibly change.
  const weeks = api.weeks;
  let target = null; let most = -1;
  for (const w of weeks.slice(-20, -1)) {
    const d = await estFor(w);
    const red = d.areas.filter((a) => a.shown === 'red').length;
    if (red > most) { most = red; target = d; }
  }
  assert.ok(most > 0, 'some week of the demo has a red area');
  const idx = weeks.indexOf(target.week);
  await page.evaluate((i) => { const s = document.getElementById('est-week'); s.value = String(i); s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }, idx);
  await page.waitForFunction((w) => document.body.dataset.estWeek === w, target.week, { timeout: 60000 });
  const wm = /^(\d{4})-W(\d{2})$/.exec(target.week);
  assert.equal(await page.textContent('#est-week-label'), `Läget vecka ${Number(wm[2])} ${wm[1]}`);
  paint = coloursOf(await page.evaluate(() => window.lagesbildMap.getPaintProperty('deso-fill', 'fill-color')));
  for (const a of target.areas) assert.equal(paint[a.area], COLOURS[a.shown], `${a.area} in ${target.week}`);
  assert.match(await page.textContent('#est-summary'), new RegExp(`^${most} röda`));
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, 'est-theme.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('an editor sets a bedomning on the map and it shows beside the computed status', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(base + '/map/');
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
  await page.fill('#token', 'esttest-editor');
  await page.click('#login-btn');
  await page.selectOption('#theme', 'est');
  await page.waitForFunction(() => (document.body.dataset.estWeek || '') !== '', null, { timeout: 60000 });
  await page.waitForSelector('#est-assess:not([hidden])');
  const week = await page.evaluate(() => document.body.dataset.estWeek);
  const before = (await estFor(week)).areas.find((a) => a.computed.status === 'green');
  assert.ok(before, 'a green area to judge');
  // Click the area on the map: a point inside it, found from its rendered feature.
  const pt = await page.evaluate((code) => {
    const map = window.lagesbildMap;
    const f = map.queryRenderedFeatures({ layers: ['deso-fill'] }).find((x) => x.properties.deso === code);
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    // The canvas pixel of the ring's vertex average, nudged until it hits the area itself.
    const c = ring.reduce((s, p) => [s[0] + p[0] / ring.length, s[1] + p[1] / ring.length], [0, 0]);
    const p = map.project(c);
    const hit = map.queryRenderedFeatures([p.x, p.y], { layers: ['deso-fill'] }).some((x) => x.properties.deso === code);
    const r = map.getCanvas().getBoundingClientRect();
    return hit ? { x: r.left + p.x, y: r.top + p.y } : null;
  }, before.area);
  if (pt) await page.mouse.click(pt.x, pt.y);
  else await page.evaluate((code) => window.lagesbildEst.select(code), before.area);
  await page.waitForFunction((code) => document.getElementById('est-area-info').textContent.includes('Beräknad'), before.area);
  await page.selectOption('#est-status', 'red');
  await page.fill('#est-comment', 'Oro efter helgens händelser');
  await page.click('#est-save');
  await page.waitForFunction(() => document.getElementById('est-judged').textContent.includes('Bedömning: röd'), null, { timeout: 30000 });
  assert.match(await page.textContent('#est-computed'), /Beräknad: grön/);
  assert.match(await page.textContent('#est-judged'), /Oro efter helgens händelser/);
  const after = (await estFor(week)).areas.find((a) => a.area === before.area);
  assert.equal(after.computed.status, 'green');
  assert.equal(after.assessment.status, 'red');
  const paint = coloursOf(await page.evaluate(() => window.lagesbildMap.getPaintProperty('deso-fill', 'fill-color')));
  assert.equal(paint[before.area], COLOURS.red, 'the map shows the bedömning');
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(shots, 'est-bedomning.png') });
  await page.close();
});
