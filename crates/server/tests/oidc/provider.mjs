// A real OpenID provider on loopback, for Gatehouse's sign-on tests only (never part of the product).
// Started and stopped by scripts/oidc-provider.sh; its settings come from the environment:
//
//   OIDC_PROVIDER_PORT           port on 127.0.0.1 (default 18900); the issuer is http://127.0.0.1:<port>
//   OIDC_PROVIDER_CLIENT_SECRET  secret of the one client, `gatehouse-test` (default gatehouse-test-secret)
//   OIDC_REDIRECT_URI            its redirect URI (default http://127.0.0.1:18123/v1/auth/oidc/callback); the
//                                client is `native`, so the same URI on any other loopback port is allowed
//                                too (RFC 8252): each test server listens on a port of its own
//   OIDC_PROVIDER_DEPS           path of the installed deps.mjs (default .data/oidc-provider/deps.mjs)
//
// It is the npm package `oidc-provider` (pinned in package.json) with its development sign-in form:
// any login id and any password sign in; the account's claims derive from the login id (see
// `accountClaims`). The client is confidential (client_secret_basic), must use PKCE with S256, and
// may ask for the scopes openid, email and profile; consent is taken as given (a first-party client),
// so the flow is: authorization request, sign-in form, redirect back with the code.
//
// Beside the standard endpoints, routes under /test/ serve what a real provider never gives, for
// the tests that must see Gatehouse refuse it (signed with jose, which oidc-provider itself uses):
//
//   GET /test/account?login=ada@example.com
//       the claims that sign-in gives for that login: {"sub", "email", "email_verified", "name"}
//   GET /test/token?kind=KIND&login=ada@example.com[&nonce=N][&now=UNIX_SECONDS]
//       {"id_token": "..."} for that account, with aud = the client and iss = the issuer unless KIND says:
//         valid                 signed with the provider's published key (as its own ID tokens are)
//         foreign-key           signed with another key, under a key id the JWKS does not list
//         foreign-key-same-kid  signed with another key, under the published key's id
//         expired               valid but for `exp`, an hour ago (`iat` two hours ago)
//         other-audience        valid but for `aud`, another client's id
//         other-issuer          valid but for `iss`, another issuer
//         unsigned              `alg: none`
//         rotated               signed with the key of the last /test/rotate, under its key id
//       `now` sets the time the token is issued at (default: the real time), for a server under a test clock.
//   GET /test/rotate
//       a new signing key, published in the JWKS from now on beside the others: {"kid"}. Tokens of
//       kind `rotated` are signed with it, so a relying party that cached the JWKS must fetch it again.
//
// In the code flow, a login `id-token-KIND-...` (KIND one of those above but `valid`, e.g.
// `id-token-expired-ada@example.com`) makes the token endpoint answer an ID token of that kind, with
// the flow's own claims and nonce. A wrong nonce needs no help from here: the test edits the `nonce`
// of the authorization URL that Gatehouse redirects to before following it.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const port = Number(process.env.OIDC_PROVIDER_PORT || 18900);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  throw new Error(`OIDC_PROVIDER_PORT is not a port: ${process.env.OIDC_PROVIDER_PORT}`);
}
const issuer = `http://127.0.0.1:${port}`;
const clientId = 'gatehouse-test';
const clientSecret = process.env.OIDC_PROVIDER_CLIENT_SECRET || 'gatehouse-test-secret';
const redirectUri = process.env.OIDC_REDIRECT_URI || 'http://127.0.0.1:18123/v1/auth/oidc/callback';
const otherAudience = 'another-client';
const otherIssuer = 'http://127.0.0.1:1/another-issuer';
const depsPath = process.env.OIDC_PROVIDER_DEPS
  ? pathToFileURL(process.env.OIDC_PROVIDER_DEPS)
  : new URL('../../../../.data/oidc-provider/deps.mjs', import.meta.url);
const { Provider, interactionPolicy, jose } = await import(depsPath);

// The default interactions, but for the consent forced on every native client: this one is
// first-party, and `native` only to allow any loopback port.
const policy = interactionPolicy.base();
policy.get('consent').checks.remove('native_client_prompt');

// The login id names the account: `sub` is an opaque, stable digest of it (never the email, so
// that a server that confuses the two is caught), `email` is the login itself, verified unless the
// login starts with `unverified-`, and `name` is the part before the `@`.
function accountClaims(login) {
  return {
    sub: createHash('sha256').update(login).digest('hex').slice(0, 32),
    email: login,
    email_verified: !login.startsWith('unverified-'),
    name: login.split('@')[0],
  };
}

// Keys: the provider's one signing key (published in its JWKS), and a foreign one (never published).
const alg = 'RS256';
async function signingKey(kid) {
  const { privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  return { privateKey, jwk: { ...jwk, kid, alg, use: 'sig' } };
}
const published = await signingKey('gatehouse-test-key');
const foreign = await signingKey('foreign-key');
// Keys added by /test/rotate, newest last; the JWKS served lists them after `published`.
const rotated = [];
const publicPart = ({ kty, n, e, kid, alg: keyAlg, use }) => ({ kty, n, e, kid, alg: keyAlg, use });

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    application_type: 'native',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: alg,
    subject_type: 'pairwise',
  }],
  jwks: { keys: [published.jwk] },
  cookies: { keys: ['gatehouse-test-cookie-key-not-a-secret'] },
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The ID token carries email and name too (as ProConnect's and Google's do), not only userinfo:
  // POST /v1/auth/sso/login has nothing else to read them from.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  interactions: { policy },
  ttl: {
    AuthorizationCode: 60, AccessToken: 600, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600,
  },
  async findAccount(_ctx, accountId) {
    const { sub: _sub, ...claims } = accountClaims(accountId);
    return { accountId, claims: async () => ({ sub: accountId, ...claims }) };
  },
  // `sub` is the accountId (the login) inside oidc-provider; the client sees the opaque digest,
  // through the pairwise hook, for the ID token and userinfo alike.
  subjectTypes: ['public', 'pairwise'],
  pairwiseIdentifier: async (_ctx, accountId) => accountClaims(accountId).sub,
  // A first-party client: consent is granted at once, for what it asks, so the flow has one form.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) {
      const grant = await ctx.oidc.provider.Grant.find(grantId);
      if (grant) return grant;
    }
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
});
// The kinds of ID token a real provider never gives, each refused by a correct relying party.
const kinds = ['foreign-key', 'foreign-key-same-kid', 'expired', 'other-audience', 'other-issuer', 'unsigned'];

// An ID token of `kind` ('valid' or one of `kinds`) with `claims` (iss, aud, iat and exp are set
// here), issued at `now` (seconds).
async function signAs(kind, claims, now) {
  const iat = kind === 'expired' ? now - 7200 : now;
  const body = {
    ...claims,
    iss: kind === 'other-issuer' ? otherIssuer : issuer,
    aud: kind === 'other-audience' ? otherAudience : clientId,
    iat,
    exp: iat + 3600,
  };
  switch (kind) {
    case 'valid':
    case 'expired':
    case 'other-audience':
    case 'other-issuer':
      return new jose.SignJWT(body).setProtectedHeader({ alg, kid: published.jwk.kid }).sign(published.privateKey);
    case 'rotated':
      if (rotated.length === 0) return undefined;
      return new jose.SignJWT(body).setProtectedHeader({ alg, kid: rotated.at(-1).jwk.kid })
        .sign(rotated.at(-1).privateKey);
    case 'foreign-key':
      return new jose.SignJWT(body).setProtectedHeader({ alg, kid: foreign.jwk.kid }).sign(foreign.privateKey);
    case 'foreign-key-same-kid':
      return new jose.SignJWT(body).setProtectedHeader({ alg, kid: published.jwk.kid }).sign(foreign.privateKey);
    case 'unsigned':
      return new jose.UnsecuredJWT(body).encode();
    default:
      return undefined;
  }
}

async function testToken(params) {
  const login = params.get('login');
  if (!login) return [400, { error: 'login is required' }];
  const kind = params.get('kind') || 'valid';
  const now = params.has('now') ? Number(params.get('now')) : Math.floor(Date.now() / 1000);
  if (!Number.isInteger(now)) return [400, { error: 'now is not a number of seconds' }];
  const claims = accountClaims(login);
  if (params.has('nonce')) claims.nonce = params.get('nonce');
  const token = await signAs(kind, claims, now);
  return token ? [200, { id_token: token }] : [400, { error: `unknown kind: ${kind}` }];
}

// The code flow's bad tokens: for a login `id-token-KIND-...`, the token endpoint answers an ID token
// of that kind in place of the real one, with the same claims (nonce included), so that the
// callback's refusals are tested through the whole flow, not only through POST /v1/auth/sso/login.
provider.use(async (ctx, next) => {
  await next();
  const idToken = ctx.path === '/token' && ctx.status === 200 ? ctx.body?.id_token : undefined;
  if (!idToken) return;
  const claims = jose.decodeJwt(idToken);
  // The longest kind that prefixes the login: `foreign-key-same-kid` before `foreign-key`.
  const kind = kinds.filter((k) => String(claims.email).startsWith(`id-token-${k}-`))
    .sort((a, b) => b.length - a.length)[0];
  if (kind) ctx.body = { ...ctx.body, id_token: await signAs(kind, claims, claims.iat) };
});

async function testRoute(req, res) {
  const url = new URL(req.url, issuer);
  let answer;
  if (req.method !== 'GET') {
    answer = [405, { error: 'GET only' }];
  } else if (url.pathname === '/test/account') {
    const login = url.searchParams.get('login');
    answer = login ? [200, accountClaims(login)] : [400, { error: 'login is required' }];
  } else if (url.pathname === '/test/token') {
    answer = await testToken(url.searchParams);
  } else if (url.pathname === '/test/rotate') {
    const key = await signingKey(`rotated-${rotated.length + 1}`);
    rotated.push(key);
    answer = [200, { kid: key.jwk.kid }];
  } else {
    answer = [404, { error: 'not found' }];
  }
  res.writeHead(answer[0], { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(answer[1]));
}

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url === '/jwks' && req.method === 'GET') {
    // The provider's own JWKS, plus the rotated keys (oidc-provider's key set is fixed at start).
    const keys = [published, ...rotated].map((key) => publicPart(key.jwk));
    res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ keys }));
  } else if (req.url.startsWith('/test/')) {
    testRoute(req, res).catch((error) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(error) }));
    });
  } else {
    callback(req, res);
  }
});
server.listen(port, '127.0.0.1', () => {
  // scripts/oidc-provider.sh waits for this line.
  console.log(`oidc-provider listening: ${issuer} (client ${clientId}, redirect ${redirectUri})`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
