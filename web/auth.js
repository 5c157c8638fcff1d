// Sign-in with the municipality's identity provider (OpenID Connect): authorization code flow
// with PKCE as a public client. Tokens live in this closure only (never in storage); only the
// PKCE verifier, state and nonce survive the round trip to the provider, in sessionStorage, and
// are removed as soon as the provider returns. The static token field stays for scripts/QGIS.
'use strict';

(function () {
  const PENDING = 'lagesbild-oidc-pending';
  // Renew this long before the access token expires.
  const RENEW_BEFORE_S = 60;
  const session = { tokens: null, claims: null, timer: null, renewals: 0 };
  let config = null;

  const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
  // The payload of a JWT the provider just gave us over TLS, read for display and `exp` only:
  // the API verifies every token it receives.
  function payload(jwt) {
    try {
      const p = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(p), (c) => c.charCodeAt(0))));
    } catch (e) {
      return null;
    }
  }
  const isJwt = (t) => typeof t === 'string' && t.split('.').length === 3;
  const mapUrl = () => window.location.origin + window.location.pathname;

  // The bearer for the API: the access token when it is a JWT for the API, else the ID token.
  function bearer() {
    if (!session.tokens) return '';
    return isJwt(session.tokens.access_token) ? session.tokens.access_token : session.tokens.id_token || '';
  }

  function el(id) { return document.getElementById(id); }

  function render(message) {
    const box = el('oidc');
    if (!box) return;
    const signedIn = !!session.tokens;
    el('oidc-login').hidden = signedIn;
    el('oidc-logout').hidden = !signedIn;
    const who = el('oidc-user');
    if (signedIn) {
      const c = session.claims || {};
      who.textContent = `Inloggad: ${c.name || c.preferred_username || c.sub || 'okänd'}` + (session.role ? ` (roll: ${session.role})` : '');
    } else {
      who.textContent = '';
    }
    el('oidc-message').textContent = message || '';
  }

  async function changed(message) {
    const before = session.role;
    session.role = null;
    if (session.tokens) {
      try {
        const r = await fetch('/api/auth/me', { headers: { Authorization: 'Bearer ' + bearer() } });
        const me = await r.json();
        if (!r.ok) throw new Error(me.description || r.status);
        session.role = me.role;
        session.claims = { ...(session.claims || {}), ...me };
      } catch (e) {
        session.tokens = null;
        message = 'Inloggningen godtogs inte: ' + e.message;
      }
    }
    render(message);
    // A renewed token with the same role changes nothing on the map.
    if (session.role !== before && window.lagesbildRoleChanged) await window.lagesbildRoleChanged();
  }

  function schedule() {
    clearTimeout(session.timer);
    const exp = (payload(bearer()) || {}).exp;
    if (!exp) return;
    const inMs = Math.max(0, (exp - RENEW_BEFORE_S) * 1000 - Date.now());
    session.timer = setTimeout(renew, inMs);
  }

  async function tokenRequest(params) {
    const r = await fetch(config.token_endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: config.client_id, ...params }),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error_description || data.error || r.status);
    return data;
  }

  async function renew() {
    const refresh = session.tokens && session.tokens.refresh_token;
    if (refresh) {
      try {
        const t = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refresh });
        session.tokens = { ...session.tokens, ...t };
        session.renewals += 1;
        await changed();
        schedule();
        return;
      } catch (e) { /* fall through: ask to sign in again */ }
    }
    // No way to renew silently: keep the session until it expires, then ask to sign in again.
    const exp = (payload(bearer()) || {}).exp || 0;
    render('Inloggningen går snart ut. Logga in igen för att fortsätta.');
    el('oidc-login').hidden = false;
    session.timer = setTimeout(async () => {
      session.tokens = null;
      await changed('Inloggningen har gått ut. Logga in igen.');
    }, Math.max(0, exp * 1000 - Date.now()));
  }

  async function login() {
    const verifier = random(32);
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    const pending = { verifier, state: random(16), nonce: random(16) };
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: config.client_id,
      redirect_uri: mapUrl(),
      scope: config.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    window.location.assign(`${config.authorization_endpoint}?${q}`);
  }

  function logout() {
    const idToken = session.tokens && session.tokens.id_token;
    session.tokens = null;
    session.claims = null;
    clearTimeout(session.timer);
    if (config.end_session_endpoint) {
      const q = new URLSearchParams({ client_id: config.client_id, post_logout_redirect_uri: mapUrl() });
      if (idToken) q.set('id_token_hint', idToken);
      window.location.assign(`${config.end_session_endpoint}?${q}`);
    } else {
      changed('Utloggad.');
    }
  }

  // Back from the provider with ?code=…&state=…: exchange the code, then drop it from the address.
  async function finishLogin() {
    const params = new URLSearchParams(window.location.search);
    const code = params.get('code');
    const error = params.get('error');
    if (!code && !error) return;
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
    sessionStorage.removeItem(PENDING);
    window.history.replaceState(null, '', mapUrl());
    if (error) return changed('Inloggningen avbröts: ' + (params.get('error_description') || error));
    if (!pending || params.get('state') !== pending.state) return changed('Inloggningen kunde inte slutföras (fel state). Försök igen.');
    try {
      const t = await tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: mapUrl(), code_verifier: pending.verifier });
      const claims = payload(t.id_token);
      if (!claims || claims.nonce !== pending.nonce) throw new Error('fel nonce i ID-token');
      session.tokens = t;
      session.claims = claims;
      await changed();
      // After the first render, so that a "going to expire" notice is not overwritten by it.
      schedule();
    } catch (e) {
      await changed('Inloggningen misslyckades: ' + e.message);
    }
  }

  window.lagesbildAuth = { bearer, signedIn: () => !!session.tokens, renewals: () => session.renewals };

  async function start() {
    try {
      config = await (await fetch('/api/auth/config')).json();
    } catch (e) {
      return;
    }
    // Without a client id for the map, OIDC is for API clients (QGIS, scripts) only.
    if (!config.oidc || !config.client_id) return;
    const section = el('login');
    const box = document.createElement('div');
    box.id = 'oidc';
    box.innerHTML = `
      <label for="oidc-login">Inloggning med kommunens konto</label>
      <div class="row"><button id="oidc-login" type="button">Logga in</button>
      <button id="oidc-logout" type="button" hidden>Logga ut</button></div>
      <p id="oidc-user"></p>
      <p id="oidc-message" class="muted small" role="status"></p>`;
    section.insertBefore(box, section.querySelector('label[for="token"]'));
    // The static token field stays for scripts and QGIS's basic setup, under its own name.
    const tokenLabel = section.querySelector('label[for="token"]');
    if (tokenLabel) tokenLabel.textContent = 'Eller token (skript, QGIS)';
    const tokenButton = el('login-btn');
    if (tokenButton) tokenButton.textContent = 'Använd token';
    el('oidc-login').addEventListener('click', login);
    el('oidc-logout').addEventListener('click', logout);
    if (!config.login) {
      el('oidc-login').disabled = true;
      render('Inloggning via kommunens konto går inte just nu (identitetstjänsten svarar inte).');
      return;
    }
    render();
    await finishLogin();
  }

  start();
})();
