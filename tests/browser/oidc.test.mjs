// Signing in to the web map through a real OpenID Connect provider (npm's oidc-provider, with its
// own login page) in Debian's headless Chromium: authorization code flow with PKCE as a public
// client, the analyst's raw incident points appear, name and role are shown, and "Logga ut"
// goes through the provider's end-session endpoint. Screenshots at desktop and phone size.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const bin = process.env.LAGESBILD_BIN || join(root, 'target', 'debug', 'lagesbild');
const shots = join(root, 'target', 'screenshots');
let server; let provider; let browser; let base; let issuer;

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
  const dir = mkdtempSync(join(tmpdir(), 'lagesbild-oidc-'));
  const store = join(dir, 'demo.gpkg');
  run(store, ['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(store, ['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = spawn('node', ['oidc-test-provider.mjs'], {
    cwd: here,
    env: { ...process.env, PORT: '0', AUDIENCE: 'api://lagesbild', CLIENT_ID: 'lagesbild-karta', REDIRECT_URIS: `${base}/map/` },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: provider.stdout }).once('line', resolve);
    provider.once('exit', (c) => reject(new Error(`the test provider exited (${c})`)));
  });
  issuer = JSON.parse(first).issuer;
  server = spawn(bin, [
    '--store', store, 'serve', '--bind', `127.0.0.1:${port}`,
    '--oidc-issuer', issuer, '--oidc-audience', 'api://lagesbild', '--oidc-client-id', 'lagesbild-karta',
    '--oidc-role-map', 'lagesbild-analytiker=analyst,lagesbild-redaktor=editor,lagesbild-admin=admin,lagesbild-partner=partner',
  ], { cwd: root, env: { ...process.env, LAGESBILD_TOKENS: 'analyst:oidc-static-analyst' }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(base + '/health')).ok) break; } catch (e) { /* not up yet */ }
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
  if (provider) provider.kill();
});

async function newPage(viewport) {
  const context = await browser.newContext({ viewport });
  // Only our two loopback servers: the provider's stock pages name a web font, never fetched here.
  const outside = [];
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => { outside.push(route.request().url()); route.abort(); });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors, outside };
}

async function mapReady(page) {
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
}

async function signIn(page, login) {
  await page.click('#oidc-login');
  // The provider's own login page.
  await page.waitForURL((u) => u.href.startsWith(issuer), { timeout: 30000 });
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'valfritt');
}

// Submits the login form, gives consent when the provider asks, and waits for the map again.
async function finishProvider(page) {
  await page.click('button[type="submit"]');
  const consent = await Promise.race([
    page.waitForSelector('input[name="prompt"][value="consent"]', { state: 'attached', timeout: 30000 }).then(() => true),
    page.waitForURL((u) => u.href.startsWith(base + '/map/'), { timeout: 30000 }).then(() => false),
  ]);
  if (consent) await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.href.startsWith(base + '/map/'), { timeout: 30000 });
  await mapReady(page);
}

test('an analyst signs in through the provider, sees raw incident points, and signs out', async () => {
  const { context, page, errors, outside } = await newPage({ width: 1280, height: 800 });
  await page.goto(base + '/map/');
  await mapReady(page);
  assert.equal(await page.textContent('#oidc-login'), 'Logga in');
  assert.match(await page.textContent('#role'), /Öppen vy/);
  assert.equal(await page.textContent('#login-btn'), 'Använd token', 'the static token field stays');

  await signIn(page, 'analytiker');
  await page.screenshot({ path: join(shots, 'oidc-provider-login.png') });
  await finishProvider(page);
  await page.waitForFunction(() => /Anna Analytiker/.test(document.getElementById('oidc-user').textContent), null, { timeout: 30000 });
  assert.match(await page.textContent('#oidc-user'), /roll: analyst/);
  assert.equal(page.url(), base + '/map/', 'the code is removed from the address');
  await page.waitForFunction(() => /Analytiker/.test(document.getElementById('role').textContent), null, { timeout: 30000 });

  // Tokens stay in memory: nothing in web storage holds one.
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
  assert.doesNotMatch(stored, /eyJ/, 'no JWT in sessionStorage or localStorage');

  // The raw-point layer appears for the analyst.
  await page.check('#lyr-incidents');
  await page.evaluate(() => window.lagesbildMap.jumpTo({ center: [17.955, 59.428], zoom: 15 }));
  await page.waitForFunction(() => window.lagesbildMap.queryRenderedFeatures({ layers: ['incidents-points'] }).length > 0, null, { timeout: 30000 });
  await page.screenshot({ path: join(shots, 'oidc-analyst-desktop.png') });

  // Logga ut: the provider's end-session page, then back to the public map.
  await page.click('#oidc-logout');
  await page.waitForURL((u) => u.href.startsWith(issuer), { timeout: 30000 });
  await page.click('button[name="logout"]');
  await page.waitForURL((u) => u.href.startsWith(base + '/map/'), { timeout: 30000 });
  await mapReady(page);
  assert.equal(await page.isVisible('#oidc-login'), true);
  assert.match(await page.textContent('#role'), /Öppen vy/);
  assert.equal(await page.textContent('#oidc-user'), '');
  assert.deepEqual(errors, []);
  assert.ok(outside.every((u) => u.startsWith('https://fonts.googleapis.com/')), `only the provider's font was refused: ${outside}`);
  await context.close();
});

test('on a phone a partner signs in and sees the role, without raw points', async () => {
  const { context, page, errors } = await newPage({ width: 390, height: 844 });
  await page.goto(base + '/map/');
  await mapReady(page);
  await signIn(page, 'partner');
  await finishProvider(page);
  await page.waitForFunction(() => /roll: partner/.test(document.getElementById('oidc-user').textContent), null, { timeout: 30000 });
  await page.waitForFunction(() => /Partner/.test(document.getElementById('role').textContent), null, { timeout: 30000 });
  await page.screenshot({ path: join(shots, 'oidc-partner-phone.png') });
  assert.deepEqual(errors, []);
  await context.close();
});
