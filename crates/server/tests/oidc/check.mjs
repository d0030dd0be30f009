// The test provider's self-test (scripts/oidc-provider.sh --self-test), with no Gatehouse: what a
// relying party does against it, by hand with plain fetch, so that a failure of the sign-on tests can
// be told apart from a failure of the harness. Reads the same environment as provider.mjs.
//
// Checks: discovery; the authorization code flow with PKCE (S256) through the development sign-in
// form (its form posts and cookies followed by hand, as the server's tests will do); the code
// exchanged with the client's secret and verifier, once only; the ID token verified against the
// JWKS (signature, iss, aud, exp, nonce) with the claims the login id gives; userinfo; a request
// without PKCE refused; every /test/token kind: `valid` verifies, each other one fails; and the same
// bad kinds through the code flow (logins `id-token-KIND-...`).
import { createHash, randomBytes } from 'node:crypto';
import { strict as assert } from 'node:assert';
import { pathToFileURL } from 'node:url';

const port = Number(process.env.OIDC_PROVIDER_PORT || 18900);
const issuer = `http://127.0.0.1:${port}`;
const clientId = 'gatehouse-test';
const clientSecret = process.env.OIDC_PROVIDER_CLIENT_SECRET || 'gatehouse-test-secret';
const redirectUri = process.env.OIDC_REDIRECT_URI || 'http://127.0.0.1:18123/v1/auth/oidc/callback';
const depsPath = process.env.OIDC_PROVIDER_DEPS
  ? pathToFileURL(process.env.OIDC_PROVIDER_DEPS)
  : new URL('../../../../.data/oidc-provider/deps.mjs', import.meta.url);
const { jose } = await import(depsPath);

const base64url = (bytes) => Buffer.from(bytes).toString('base64url');
let checks = 0;
function ok(what) {
  checks += 1;
  console.log(`ok ${checks} - ${what}`);
}

// A browser's part, by hand: cookies by name (this provider sets few, each for its own path, and
// ignores the ones it does not need), redirects followed one at a time.
class Browser {
  cookies = new Map();

  async request(url, init = {}) {
    const headers = { ...(init.headers || {}) };
    if (this.cookies.size) {
      headers.cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    }
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const expired = attributes.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a))
        || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  // Follows redirects from `url` until one leaves the provider (returned: the URL it points to)
  // or a page answers (returned: the response).
  async follow(url, init) {
    let response = await this.request(url, init);
    for (let hops = 0; hops < 10; hops += 1) {
      if (response.status < 300 || response.status >= 400) return { response };
      const next = new URL(response.headers.get('location'), url);
      if (next.origin !== issuer) return { redirect: next };
      url = next.href;
      response = await this.request(url);
    }
    throw new Error(`too many redirects from ${url}`);
  }
}

// The one form of a development sign-in page: its action and hidden fields.
function parseForm(html, pageUrl) {
  const form = html.match(/<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/i);
  assert.ok(form, `no sign-in form in ${pageUrl}: ${html.slice(0, 300)}`);
  const fields = {};
  for (const input of form[2].matchAll(/<input[^>]*type="hidden"[^>]*>/gi)) {
    const name = input[0].match(/name="([^"]+)"/);
    const value = input[0].match(/value="([^"]*)"/);
    if (name) fields[name[1]] = value ? value[1] : '';
  }
  return { action: new URL(form[1].replaceAll('&amp;', '&'), pageUrl).href, fields };
}

const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
assert.equal(discovery.issuer, issuer);
assert.ok(discovery.code_challenge_methods_supported.includes('S256'));
for (const scope of ['openid', 'email', 'profile']) assert.ok(discovery.scopes_supported.includes(scope));
ok(`discovery at ${issuer}/.well-known/openid-configuration`);
const jwks = jose.createRemoteJWKSet(new URL(discovery.jwks_uri));

function authorizationUrl({ state, nonce, challenge }) {
  const url = new URL(discovery.authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    state,
    nonce,
    ...(challenge ? { code_challenge: challenge, code_challenge_method: 'S256' } : {}),
  });
  return url.href;
}

const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
function exchange(code, verifier) {
  return fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier,
    }),
  });
}

async function expectedClaims(login) {
  return (await fetch(`${issuer}/test/account?login=${encodeURIComponent(login)}`)).json();
}

// The browser's part of the flow for one login, through the sign-in form: the code it brings back.
async function authorize(login) {
  const browser = new Browser();
  const verifier = base64url(randomBytes(32));
  const challenge = base64url(createHash('sha256').update(verifier).digest());
  const state = base64url(randomBytes(16));
  const nonce = base64url(randomBytes(16));

  const page = await browser.follow(authorizationUrl({ state, nonce, challenge }));
  assert.ok(page.response, `the authorization request did not lead to a sign-in page: ${page.redirect}`);
  assert.equal(page.response.status, 200);
  const pageUrl = page.response.url || discovery.authorization_endpoint;
  const { action, fields } = parseForm(await page.response.text(), pageUrl);
  assert.equal(fields.prompt, 'login');

  const back = await browser.follow(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...fields, login, password: 'any password' }),
  });
  assert.ok(back.redirect, `signing in did not redirect back: ${back.response?.status}`);
  assert.equal(`${back.redirect.origin}${back.redirect.pathname}`, redirectUri);
  const params = back.redirect.searchParams;
  assert.equal(params.get('error'), null, `error: ${params.get('error_description')}`);
  assert.equal(params.get('state'), state);
  assert.equal(params.get('iss'), issuer);
  const code = params.get('code');
  assert.ok(code);
  return { browser, code, state, nonce, verifier, challenge };
}

// The whole flow for one login; returns the claims the relying party ends with.
async function signIn(login) {
  const { browser, code, state, nonce, verifier, challenge } = await authorize(login);
  const wrongVerifier = await exchange(code, base64url(randomBytes(32)));
  assert.equal(wrongVerifier.status, 400, 'a code exchanged with the wrong verifier must fail');
  // A failed exchange spends the code (as the spec allows); sign in again for a fresh one.
  const again = await browser.follow(authorizationUrl({ state, nonce, challenge }));
  assert.ok(again.redirect, 'a second authorization request in the same session signs in at once');
  const freshCode = again.redirect.searchParams.get('code');
  assert.ok(freshCode);

  const tokens = await exchange(freshCode, verifier);
  assert.equal(tokens.status, 200, await tokens.clone().text());
  const { id_token: idToken, access_token: accessToken, token_type: tokenType } = await tokens.json();
  assert.equal(tokenType.toLowerCase(), 'bearer');

  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, {
    issuer, audience: clientId, algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.kid, 'gatehouse-test-key');
  assert.equal(payload.nonce, nonce);
  const expected = await expectedClaims(login);
  for (const claim of ['sub', 'email', 'email_verified', 'name']) assert.deepEqual(payload[claim], expected[claim], claim);
  assert.notEqual(payload.sub, login, '`sub` is opaque, not the login');

  const userinfo = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(userinfo.status, 200, `${await userinfo.clone().text()} ${userinfo.headers.get("www-authenticate")}`);
  assert.deepEqual(await userinfo.json(), expected);

  // Last: a replayed code also revokes the tokens it gave (RFC 6749 section 4.1.2).
  const replay = await exchange(freshCode, verifier);
  assert.equal(replay.status, 400, 'a code exchanged twice must fail');
  assert.equal((await replay.json()).error, 'invalid_grant');
  const revoked = await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  assert.equal(revoked.status, 401, 'a replayed code revokes its access token');
  return expected;
}

const ada = await signIn('ada@example.com');
assert.equal(ada.email_verified, true);
ok('code flow with PKCE for ada@example.com: one-time code, ID token verified, userinfo');
const bob = await signIn('unverified-bob@example.com');
assert.equal(bob.email_verified, false);
ok('code flow for unverified-bob@example.com: email_verified is false');

{
  const refused = await new Browser().follow(authorizationUrl({ state: 's', nonce: 'n' }));
  assert.ok(refused.redirect, 'an authorization request without PKCE is answered at the redirect URI');
  assert.equal(refused.redirect.searchParams.get('error'), 'invalid_request');
  assert.match(refused.redirect.searchParams.get('error_description'), /PKCE/);
  ok('an authorization request without PKCE is refused');
}

async function testToken(kind, extra = {}) {
  const query = new URLSearchParams({ kind, login: 'ada@example.com', ...extra });
  const answer = await fetch(`${issuer}/test/token?${query}`);
  assert.equal(answer.status, 200, await answer.clone().text());
  return (await answer.json()).id_token;
}
const verify = (token) => jose.jwtVerify(token, jwks, { issuer, audience: clientId, algorithms: ['RS256'] });

{
  const { payload } = await verify(await testToken('valid', { nonce: 'n-1' }));
  assert.equal(payload.sub, ada.sub);
  assert.equal(payload.email, ada.email);
  assert.equal(payload.nonce, 'n-1');
  ok('/test/token kind=valid verifies, with the nonce asked for');
  const then = Math.floor(Date.now() / 1000) - 86400;
  const { payload: dated } = await jose.jwtVerify(await testToken('valid', { now: String(then) }), jwks, {
    issuer, audience: clientId, currentDate: new Date(then * 1000),
  });
  assert.equal(dated.iat, then);
  ok('/test/token now= sets the time of issue');
}
const refusals = {
  'foreign-key': 'ERR_JWKS_NO_MATCHING_KEY',
  'foreign-key-same-kid': 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  expired: 'ERR_JWT_EXPIRED',
  'other-audience': 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'other-issuer': 'ERR_JWT_CLAIM_VALIDATION_FAILED',
  unsigned: 'ERR_JOSE_ALG_NOT_ALLOWED',
};
for (const [kind, error] of Object.entries(refusals)) {
  await assert.rejects(verify(await testToken(kind)), (e) => e.code === error, `kind=${kind} must fail with ${error}`);
  ok(`/test/token kind=${kind} is refused (${error})`);
}
{
  const answer = await fetch(`${issuer}/test/token?kind=nonsense&login=x`);
  assert.equal(answer.status, 400);
  ok('/test/token refuses an unknown kind');
}
for (const [kind, error] of Object.entries(refusals)) {
  const login = `id-token-${kind}-ada@example.com`;
  const { code, nonce, verifier } = await authorize(login);
  const tokens = await exchange(code, verifier);
  assert.equal(tokens.status, 200);
  const { id_token: idToken } = await tokens.json();
  assert.equal(jose.decodeJwt(idToken).nonce, nonce, 'the tampered token keeps the flow\'s nonce');
  assert.equal(jose.decodeJwt(idToken).email, login);
  await assert.rejects(verify(idToken), (e) => e.code === error, `code flow ${login} must fail with ${error}`);
  ok(`code flow for ${login}: its ID token is refused (${error})`);
}
console.log(`self-test passed: ${checks} checks against ${issuer}`);
