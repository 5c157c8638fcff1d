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
let browser; let base; let issuer;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function run(store, args) {
  execFileSync(bin, ['--store', store, ...args], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
}

const stacks = [];
let store;

// A provider and a lagesbild server that trusts it, on free loopback ports.
async function startStack(providerEnv = {}) {
  const port = await freePort();
  const stack = { base: `http://127.0.0.1:${port}` };
  stack.provider = spawn('node', ['oidc-test-provider.mjs'], {
    cwd: here,
    env: { ...process.env, PORT: '0', AUDIENCE: 'api://lagesbild', CLIENT_ID: 'lagesbild-karta', REDIRECT_URIS: `${stack.base}/map/`, ...providerEnv },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  stacks.push(stack);
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: stack.provider.stdout }).once('line', resolve);
    stack.provider.once('exit', (c) => reject(new Error(`the test provider exited (${c})`)));
  });
  stack.issuer = JSON.parse(first).issuer;
  stack.server = spawn(bin, [
    '--store', store, 'serve', '--bind', `127.0.0.1:${port}`,
    '--oidc-issuer', stack.issuer, '--oidc-audience', 'api://lagesbild', '--oidc-client-id', 'lagesbild-karta',
    '--oidc-role-map', 'lagesbild-analytiker=analyst,lagesbild-redaktor=editor,lagesbild-admin=admin,lagesbild-partner=partner',
  ], { cwd: root, env: { ...process.env, LAGESBILD_TOKENS: 'analyst:oidc-static-analyst' }, stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(stack.base + '/health')).ok) break; } catch (e) { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return stack;
}

before(async () => {
  assert.ok(existsSync(bin), `build the binary first: ${bin}`);
  assert.ok(existsSync('/usr/bin/chromium'), 'Debian chromium must be installed (apt-get install chromium)');
  mkdirSync(shots, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'lagesbild-oidc-'));
  store = join(dir, 'demo.gpkg');
  run(store, ['import', 'areas', 'geodata/sollentuna_deso2025.geojson']);
  run(store, ['import', 'incidents', 'geodata/incidents_synthetic_sollentuna.csv', '--crs', 'EPSG:3006']);
  ({ base, issuer } = await startStack());
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
});

after(async () => {
  if (browser) await browser.close();
  for (const s of stacks) {
    if (s.server) s.server.kill();
    if (s.provider) s.provider.kill();
  }
});

async function newPage(viewport) {
  const context = await browser.newContext({ viewport });
  // Only our two loopback servers: the provider's stock pages name a web font, never fetched here.
  const outside = [];
  await context.route((url) => url.hostname !== '127.0.0.1', (route) => { outside.push(route.request().url()); route.abort(); });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The map must sign in under the server's Content-Security-Policy (the provider's own pages
  // are not ours and not checked).
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text()) && page.url().includes('/map/')) errors.push(`CSP: ${m.text()}`); });
  return { context, page, errors, outside };
}

async function mapReady(page) {
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 180000 });
}

async function signIn(page, login, b = base, iss = issuer) {
  await page.click('#oidc-login');
  // The provider's own login page.
  await page.waitForURL((u) => u.href.startsWith(iss), { timeout: 30000 });
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', 'valfritt');
}

// Submits the login form, gives consent when the provider asks, and waits for the map again.
async function finishProvider(page, b = base) {
  await page.click('button[type="submit"]');
  const consent = await Promise.race([
    page.waitForSelector('input[name="prompt"][value="consent"]', { state: 'attached', timeout: 30000 }).then(() => true),
    page.waitForURL((u) => u.href.startsWith(b + '/map/'), { timeout: 30000 }).then(() => false),
  ]);
  if (consent) await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.href.startsWith(b + '/map/'), { timeout: 30000 });
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

test('a short-lived token is renewed with the refresh token, or the map asks to sign in again', async () => {
  // Access tokens live 61 s: the map renews one minute before expiry, so at once.
  const stack = await startStack({ ACCESS_TTL: '61', REFRESH: '1' });
  const { context, page, errors } = await newPage({ width: 1280, height: 800 });
  await page.goto(stack.base + '/map/');
  await mapReady(page);
  await signIn(page, 'redaktor', stack.base, stack.issuer);
  await finishProvider(page, stack.base);
  await page.waitForFunction(() => /roll: editor/.test(document.getElementById('oidc-user').textContent), null, { timeout: 30000 });
  const [first, n] = await page.evaluate(() => [window.lagesbildAuth.bearer(), window.lagesbildAuth.renewals()]);
  await page.waitForFunction((k) => window.lagesbildAuth.renewals() > k, n, { timeout: 60000 });
  const renewed = await page.evaluate(() => window.lagesbildAuth.bearer());
  assert.notEqual(renewed, first, 'a new access token');
  assert.match(await page.textContent('#oidc-user'), /Rune Redaktör \(roll: editor\)/);
  // The renewed token is accepted by the API.
  const me = await page.evaluate(async () => (await fetch('/api/auth/me', { headers: { Authorization: 'Bearer ' + window.lagesbildAuth.bearer() } })).json());
  assert.equal(me.role, 'editor');
  await context.close();

  // This provider gives the partner no refresh token: the map says the sign-in is about to end,
  // and when the token has expired it is signed out and asks to sign in again.
  const second = await newPage({ width: 390, height: 844 });
  await second.page.goto(stack.base + '/map/');
  await mapReady(second.page);
  await signIn(second.page, 'partner', stack.base, stack.issuer);
  await finishProvider(second.page, stack.base);
  await second.page.waitForFunction(() => /går snart ut/.test(document.getElementById('oidc-message').textContent), null, { timeout: 30000 });
  await second.page.screenshot({ path: join(shots, 'oidc-expiring-phone.png') });
  await second.page.waitForFunction(() => /har gått ut/.test(document.getElementById('oidc-message').textContent), null, { timeout: 90000 });
  assert.equal(await second.page.isVisible('#oidc-login'), true);
  await second.page.waitForFunction(() => /Öppen vy/.test(document.getElementById('role').textContent), null, { timeout: 30000 });
  assert.deepEqual([...errors, ...second.errors], []);
  await second.context.close();
});
