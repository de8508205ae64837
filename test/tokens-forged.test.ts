import crypto from 'node:crypto';
import { expect } from 'chai';
import { thumbprint } from '../shared/crypto/signing-key-material.js';
import { expectFailure, sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { loginUser, registerUser, request } from './support/http.js';

type Claims = Record<string, unknown>;

function decodePart(part: string): Claims {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Claims;
}

function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function me(token: string) {
  return request('GET', '/me', { headers: { authorization: `Bearer ${token}` } });
}

const now = () => Math.floor(Date.now() / 1000);

/** A token assembled by hand: any header, any claims, a signature made by `sign` over both. */
function assemble(header: Claims, claims: Claims, sign: (input: string) => string): string {
  const input = `${encodePart(header)}.${encodePart(claims)}`;
  return `${input}.${sign(input)}`;
}

/** An ES256 (IEEE P1363) signature by the given private key, as JWS wants it. */
function es256(privateKey: crypto.KeyObject) {
  return (input: string) => crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
}

describe('forged and invalid access tokens on GET /me', () => {
  let token: string;
  let header: Claims;
  let claims: Claims;
  let otherUserId: string;
  const { publicKey: foreignPublic, privateKey: foreignPrivate } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const foreignJwk = foreignPublic.export({ format: 'jwk' });

  before(async () => {
    const user = await registerUser();
    token = (await loginUser(user.email, user.password)).token;
    [header, claims] = token.split('.').slice(0, 2).map(decodePart) as [Claims, Claims];
    otherUserId = (await registerUser()).userId;
  });

  /** The real token's claims with some replaced, signed by the service's own current key. */
  function signedByService(changes: Claims, headerChanges: Claims = {}): string {
    const { kid, privateKey } = testApp().services.keys.signingKey();
    return assemble({ alg: 'ES256', typ: 'JWT', kid, ...headerChanges }, { ...claims, iat: now(), exp: now() + 300, ...changes }, es256(privateKey));
  }

  it('accepts the untouched token, and one whose exp or nbf is off by less than the clock tolerance', async () => {
    const { clockToleranceSeconds } = testApp().services.config.tokens;
    expect(clockToleranceSeconds).to.equal(30);
    expect((await me(token)).status).to.equal(200);
    expect((await me(signedByService({ exp: now() - 10 }))).status, 'expired 10 s ago').to.equal(200);
    expect((await me(signedByService({ nbf: now() + 10 }))).status, 'valid from 10 s on').to.equal(200);
  });

  const cases: Array<[string, () => string]> = [
    ['alg none without a signature', () => `${encodePart({ ...header, alg: 'none' })}.${encodePart(claims)}.`],
    ['alg none keeping the real signature', () => `${encodePart({ ...header, alg: 'none' })}.${encodePart(claims)}.${token.split('.')[2]}`],
    ['HS256 keyed with the public key PEM', () => {
      const kid = header.kid as string;
      const jwk = testApp().services.keys.publicJwks().keys.find((key) => key.kid === kid)!;
      const pem = crypto.createPublicKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'spki' }).toString();
      return assemble({ alg: 'HS256', typ: 'JWT', kid }, claims, (input) => crypto.createHmac('sha256', pem).update(input).digest('base64url'));
    }],
    ['a foreign key carried in a jwk header, under its own kid', () =>
      assemble({ alg: 'ES256', typ: 'JWT', kid: thumbprint(foreignJwk), jwk: foreignJwk }, claims, es256(foreignPrivate))],
    ['a foreign key carried in a jwk header, under the real kid', () =>
      assemble({ alg: 'ES256', typ: 'JWT', kid: header.kid, jwk: foreignJwk }, claims, es256(foreignPrivate))],
    ['a foreign key named by jku and x5u, under the real kid', () =>
      assemble({ alg: 'ES256', typ: 'JWT', kid: header.kid, jku: 'https://evil.example/jwks.json', x5u: 'https://evil.example/cert.pem' }, claims, es256(foreignPrivate))],
    ['an unknown kid (signed by the real key)', () => signedByService({}, { kid: 'no-such-key' })],
    ['no kid at all', () => {
      const { privateKey } = testApp().services.keys.signingKey();
      return assemble({ alg: 'ES256', typ: 'JWT' }, claims, es256(privateKey));
    }],
    ['expired beyond the clock tolerance', () => signedByService({ iat: now() - 400, exp: now() - 60 })],
    ['nbf in the future beyond the clock tolerance', () => signedByService({ nbf: now() + 120 })],
    ['iat in the future beyond the clock tolerance', () => signedByService({ iat: now() + 120 })],
    ['no exp', () => signedByService({ exp: undefined })],
    ['older than the token lifetime (iat)', () => signedByService({ iat: now() - 3_600 })],
    ['another audience', () => signedByService({ aud: 'someone-else' })],
    ['another issuer', () => signedByService({ iss: 'https://evil.example' })],
    ['a tampered payload (another sub, signature kept)', () => {
      const [head, , signature] = token.split('.');
      return `${head}.${encodePart({ ...claims, sub: otherUserId })}.${signature}`;
    }],
    ['a tampered payload (later exp, signature kept)', () => {
      const [head, , signature] = token.split('.');
      return `${head}.${encodePart({ ...claims, exp: (claims.exp as number) + 3_600 })}.${signature}`;
    }],
    // typ JWT makes the decoder parse the payload as JSON: garbage there must be a 401, not a 500.
    ['a payload that is not JSON', () => `${encodePart({ ...header, typ: 'JWT' })}.${Buffer.from('notjson').toString('base64url')}.${token.split('.')[2]}`],
    // Correctly signed, but the session or user id is no UUID: the session lookup must not reach the database with it.
    ['a signed token whose sid is not a UUID', () => signedByService({ sid: 'not-a-uuid' })],
    ['a signed token whose sub is not a UUID', () => signedByService({ sub: "1' OR '1'='1" })],
    ['a signed token whose sid is a number', () => signedByService({ sid: 12 })],
    ['a payload of invalid UTF-8', () => `${encodePart({ ...header, typ: 'JWT' })}.${Buffer.from([0xc3, 0x28, 0xff]).toString('base64url')}.${token.split('.')[2]}`],
  ];
  for (const [name, forge] of cases) {
    it(`refuses ${name} with 401 unauthorized`, async () => {
      expectFailure(await me(forge()), 401, 'unauthorized');
    });
  }

  it('refuses every forgery with the same bytes, while the real token still works', async () => {
    const bodies = new Set<string>();
    for (const [, forge] of cases) bodies.add((await me(forge())).text);
    expect(bodies.size).to.equal(1);
    expect((await me(token)).status).to.equal(200);
  });

  it('refuses the token of a revoked session on the very next request (a lookup per request, no cache)', async () => {
    const user = await registerUser();
    const own = (await loginUser(user.email, user.password)).token;
    const { sid } = decodePart(own.split('.')[1]!);
    expect((await me(own)).status).to.equal(200);
    await sql('UPDATE sessions SET revoked_at = now() WHERE id = $1', [sid]);
    expectFailure(await me(own), 401, 'unauthorized');
    // Restored, it is accepted again at once: nothing remembered the refusal either.
    await sql('UPDATE sessions SET revoked_at = NULL WHERE id = $1', [sid]);
    expect((await me(own)).status).to.equal(200);
  });
});
