// A real OpenID Connect provider (npm's certified `oidc-provider`) for the tests, on a free
// loopback port. It prints one JSON line `{"issuer": …, "port": …}` on stdout when it listens.
//
// Besides the provider's own endpoints (discovery, JWKS, authorization with its login page,
// token, end session) it answers `GET /test/mint?kind=KIND&roles=a,b&sub=S`, which signs a token
// with the provider's own keys (or deliberately wrong ones) so the Rust tests get one token per
// role and per bad case, and `GET /test/fetched`, how often discovery and keys were fetched.
// Only a test provider has these routes.
//
// Environment: PORT (0 = any free port), AUDIENCE (the API's audience), CLIENT_ID (the web
// map's public client), REDIRECT_URIS (comma-separated, the map's address), ACCESS_TTL (access
// token lifetime in seconds, default 300), REFRESH=1 (refresh tokens with every code, as Keycloak
// gives them, except for the user `partner`, who must sign in again), EXTRA_KEY=1 (also
// publish a second RSA key, `rsa-2`: a rotated key set), KEY_SEED_FILE (where the keys are kept,
// so a restarted provider publishes the same keys).
import http from 'node:http';
import fs from 'node:fs';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const PORT = Number(process.env.PORT ?? 0);
const AUDIENCE = process.env.AUDIENCE ?? 'api://lagesbild';
const CLIENT_ID = process.env.CLIENT_ID ?? 'lagesbild-karta';
const ACCESS_TTL = Number(process.env.ACCESS_TTL ?? 300);
const REFRESH = process.env.REFRESH === '1';
const REDIRECT_URIS = (process.env.REDIRECT_URIS ?? 'http://127.0.0.1:8080/map/').split(',').filter(Boolean);

// Test users: the login name is the account id; any password is accepted (the provider's
// development login page).
const USERS = {
  analytiker: { name: 'Anna Analytiker', roles: ['lagesbild-analytiker'] },
  redaktor: { name: 'Rune Redaktör', roles: ['lagesbild-redaktor'] },
  admin: { name: 'Ada Admin', roles: ['lagesbild-admin'] },
  partner: { name: 'Per Partner', roles: ['lagesbild-partner'] },
  medborgare: { name: 'Mia Medborgare', roles: [] },
};

async function newKey(alg, kid) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  return { ...(await jose.exportJWK(privateKey)), kid, alg, use: 'sig' };
}

async function loadKeys() {
  const file = process.env.KEY_SEED_FILE;
  if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const keys = {
    rsa: await newKey('RS256', 'rsa-1'),
    ec: await newKey('ES256', 'ec-1'),
    rsa2: await newKey('RS256', 'rsa-2'),
    // Same kid as the published RSA key, different key material: a forged signature.
    forger: await newKey('RS256', 'rsa-1'),
    stranger: await newKey('RS256', 'nobody-knows-me'),
  };
  if (file) fs.writeFileSync(file, JSON.stringify(keys));
  return keys;
}

const keys = await loadKeys();
const published = [keys.rsa, keys.ec, ...(process.env.EXTRA_KEY === '1' ? [keys.rsa2] : [])];

let issuer = '';
const server = http.createServer();
await new Promise((resolve) => server.listen(PORT, '127.0.0.1', resolve));
const port = server.address().port;
issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: REDIRECT_URIS,
      post_logout_redirect_uris: REDIRECT_URIS,
    },
  ],
  jwks: { keys: published },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], roles: ['roles'] },
  scopes: ['openid', 'profile', 'offline_access', 'roles'],
  async findAccount(_ctx, sub) {
    const user = USERS[sub] ?? { name: sub, roles: [] };
    return {
      accountId: sub,
      async claims() {
        return { sub, name: user.name, preferred_username: sub, roles: user.roles };
      },
    };
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The web map asks for no resource: its access token is for the lagesbild API.
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'openid profile roles offline_access',
        audience: AUDIENCE,
        accessTokenFormat: 'jwt',
        accessTokenTTL: ACCESS_TTL,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  // The API reads roles and names from the access token, as Entra ID and Keycloak put them there.
  async extraTokenClaims(_ctx, token) {
    if (!token.accountId) return undefined;
    const user = USERS[token.accountId] ?? { name: token.accountId, roles: [] };
    return { roles: user.roles, preferred_username: token.accountId, name: user.name };
  },
  pkce: { required: () => true },
  ...(REFRESH ? { issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.accountId !== 'partner' } : {}),
  ttl: { AccessToken: ACCESS_TTL, IdToken: 300, RefreshToken: 3600, Session: 3600, Grant: 3600, Interaction: 600 },
});
// Plain http on loopback is what the tests use; the provider would otherwise warn on each request.
provider.proxy = false;

const callback = provider.callback();

function b64(obj) {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

async function mint(params) {
  const kind = params.get('kind') ?? 'rs256';
  const now = Math.floor(Date.now() / 1000);
  const roles = (params.get('roles') ?? '').split(',').filter(Boolean);
  const sub = params.get('sub') ?? 'user-1';
  const claims = {
    iss: issuer,
    aud: AUDIENCE,
    sub,
    preferred_username: params.get('username') ?? sub,
    iat: now,
    nbf: now,
    exp: now + 300,
  };
  const claim = params.get('claim') ?? 'roles';
  if (params.get('single') === '1') claims[claim] = roles[0];
  else claims[claim] = roles;
  let key = keys.rsa;
  let alg = 'RS256';
  switch (kind) {
    case 'rs256': break;
    case 'es256': key = keys.ec; alg = 'ES256'; break;
    case 'rotated': key = keys.rsa2; break;
    // Far outside the 60 s leeway the API allows.
    case 'expired': claims.iat = now - 3600; claims.nbf = now - 3600; claims.exp = now - 600; break;
    case 'not-yet-valid': claims.nbf = now + 600; claims.exp = now + 900; break;
    // Clock skew within the 60 s leeway: expired 30 s ago, valid from 30 s on.
    case 'skewed': claims.nbf = now + 30; claims.exp = now - 30; break;
    case 'wrong-audience': claims.aud = 'api://someone-else'; break;
    case 'wrong-issuer': claims.iss = 'http://127.0.0.1:9/other'; break;
    case 'bad-signature': key = keys.forger; break;
    case 'unknown-kid': key = keys.stranger; break;
    case 'alg-none':
      return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    case 'hs256': {
      // HMAC with the RSA key's public modulus as the secret: the classic key-confusion attack.
      const secret = new TextEncoder().encode(keys.rsa.n);
      return new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1', typ: 'JWT' }).sign(secret);
    }
    default: throw new Error(`unknown kind ${kind}`);
  }
  const priv = await jose.importJWK(key, alg);
  return new jose.SignJWT(claims).setProtectedHeader({ alg, kid: key.kid, typ: 'JWT' }).sign(priv);
}

// How often the API fetched discovery and keys, so a test can see that refetching is bounded.
const fetched = { discovery: 0, jwks: 0 };

server.on('request', async (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname === '/.well-known/openid-configuration') fetched.discovery += 1;
  if (url.pathname === '/jwks') fetched.jwks += 1;
  if (url.pathname === '/test/fetched') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(fetched));
    return;
  }
  if (url.pathname === '/test/mint') {
    try {
      const token = await mint(url.searchParams);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(token);
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(String(e));
    }
    return;
  }
  callback(req, res);
});

process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
