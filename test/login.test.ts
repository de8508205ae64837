import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { expectFailure, rowCounts, sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { loginUser, randomEmail, registerUser, request, strongPassword } from './support/http.js';

function login(email: string, password: string, headers: Record<string, string> = {}) {
  return request('POST', '/login', { json: { email, password }, headers });
}

function me(token: string) {
  return request('GET', '/me', { headers: { authorization: `Bearer ${token}` } });
}

function decodePart(part: string): any {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('POST /login', () => {
  it('answers 200 with a Bearer ES256 JWT whose kid is published and whose sid is the session', async () => {
    const { email, password, userId } = await registerUser();
    const response = await login(email, password);
    expect(response.status).to.equal(200);
    expect(Object.keys(response.body).sort()).to.deep.equal(['expires_in', 'refresh_token', 'token', 'token_type']);
    expect(response.headers.get('cache-control'), 'tokens are never cached').to.equal('no-store');
    const { token, token_type, expires_in, refresh_token } = response.body;
    expect(token_type).to.equal('Bearer');
    expect(expires_in).to.be.a('number').above(0);
    expect(refresh_token).to.be.a('string').with.length.of.at.least(22);

    const [header, payload] = token.split('.').slice(0, 2).map(decodePart);
    expect(header.alg).to.equal('ES256');
    const jwks = await request('GET', '/.well-known/jwks.json');
    expect(jwks.status).to.equal(200);
    const key = jwks.body.keys.find((candidate: { kid: string }) => candidate.kid === header.kid);
    expect(key, 'kid in the JWKS').to.include({ kty: 'EC', crv: 'P-256' });
    expect(key).not.to.have.property('d');

    const { tokens } = testApp().services.config;
    expect(payload).to.include({ iss: tokens.issuer, aud: tokens.audience, sub: userId });
    expect(payload.exp - payload.iat).to.equal(expires_in);
    const sessions = await sql('SELECT id FROM sessions WHERE user_id = $1', [userId]);
    expect(sessions.map((session) => session.id)).to.deep.equal([payload.sid]);

    // The published key verifies the token, with the algorithm pinned.
    const publicKey = (await import('node:crypto')).createPublicKey({ key, format: 'jwk' });
    expect(() => jwt.verify(token, publicKey, { algorithms: ['ES256'], audience: tokens.audience })).not.to.throw();
  });

  it('records the session with its user agent and IP, and the refresh token only as a hash', async () => {
    const { email, password, userId } = await registerUser();
    const { token, refresh_token } = (await login(email, password, { 'user-agent': 'login-test/1.0 (mocha)' })).body;
    const sid = decodePart(token.split('.')[1]).sid;
    const [session] = await sql('SELECT user_id, user_agent, host(ip_addr) AS ip, revoked_at, expires_at FROM sessions WHERE id = $1', [sid]);
    expect(session).to.include({ user_id: userId, user_agent: 'login-test/1.0 (mocha)', ip: '127.0.0.1', revoked_at: null });
    expect(session.expires_at.getTime()).to.be.above(Date.now());

    const refreshRows = await sql('SELECT * FROM refresh_tokens WHERE session_id = $1', [sid]);
    expect(refreshRows).to.have.length(1);
    expect(refreshRows[0].token_hash).to.be.a('string').and.not.equal(refresh_token);
    expect(JSON.stringify(refreshRows)).not.to.include(refresh_token);
    const [{ anywhere }] = await sql('SELECT count(*)::int AS anywhere FROM refresh_tokens r WHERE r::text LIKE $1', [
      `%${refresh_token}%`,
    ]);
    expect(anywhere).to.equal(0);
  });

  it('records every attempt in login_attempts and writes events only for an existing account', async () => {
    const { email, password, userId } = await registerUser();
    const unknown = randomEmail();

    expect((await login(email, password)).status).to.equal(200);
    expect((await login(email, `${password}x`)).status).to.equal(401);
    const before = await rowCounts();
    expect((await login(unknown, password)).status).to.equal(401);
    const after = await rowCounts();
    expect(after.outbox, 'no event for an unknown email').to.equal(before.outbox);
    expect(after.login_attempts).to.equal(before.login_attempts + 1);

    const attempts = await sql(
      'SELECT user_id, email::text AS email, success, host(ip_addr) AS ip FROM login_attempts WHERE email IN ($1, $2) ORDER BY id',
      [email, unknown],
    );
    expect(attempts).to.deep.equal([
      { user_id: userId, email, success: true, ip: '127.0.0.1' },
      { user_id: userId, email, success: false, ip: '127.0.0.1' },
      { user_id: null, email: unknown, success: false, ip: '127.0.0.1' },
    ]);

    const events = await sql('SELECT type, payload FROM outbox WHERE aggregate_id = $1 ORDER BY id', [userId]);
    expect(events.map((event) => event.type)).to.deep.equal(['UserRegistered', 'LoginSucceeded', 'LoginFailed']);
    for (const event of events) {
      const text = JSON.stringify(event.payload);
      for (const secret of [email, password, '$argon2']) expect(text).not.to.include(secret);
    }
    const [{ strays }] = await sql("SELECT count(*)::int AS strays FROM outbox WHERE payload::text ILIKE '%' || $1 || '%'", [unknown]);
    expect(strays).to.equal(0);
  });

  it('answers the same 401 body, byte for byte, for an unknown email and a wrong password', async () => {
    const { email, password } = await registerUser();
    const unknown = await login(randomEmail(), password);
    const wrong = await login(email, strongPassword());
    expectFailure(unknown, 401, 'invalid_credentials');
    expectFailure(wrong, 401, 'invalid_credentials');
    expect(unknown.text).to.equal(wrong.text);
    expect(unknown.headers.get('content-type')).to.equal(wrong.headers.get('content-type'));
  });

  it('takes about as long for an unknown email as for a wrong password (a dummy hash is verified)', async function () {
    this.timeout(30_000);
    const { email } = await registerUser();
    await login(randomEmail(), strongPassword()); // warm-up: builds the dummy hash once
    const unknownTimes: number[] = [];
    const wrongTimes: number[] = [];
    for (let i = 0; i < 8; i++) {
      for (const [target, times] of [[randomEmail(), unknownTimes], [email, wrongTimes]] as const) {
        const started = performance.now();
        const response = await login(target, strongPassword());
        times.push(performance.now() - started);
        expect(response.status).to.equal(401);
      }
    }
    const [unknownMedian, wrongMedian] = [median(unknownTimes), median(wrongTimes)];
    expect(unknownMedian, `unknown ${unknownMedian} ms vs wrong ${wrongMedian} ms`).to.be.at.least(wrongMedian / 2);
    expect(wrongMedian, `wrong ${wrongMedian} ms vs unknown ${unknownMedian} ms`).to.be.at.least(unknownMedian / 2);
  });

  for (const [status, code] of [
    ['locked', 'account_locked'],
    ['disabled', 'account_disabled'],
  ] as const) {
    it(`answers 403 ${code} to the right password only, and the usual 401 otherwise`, async () => {
      const { email, password, userId } = await registerUser();
      await sql('UPDATE users SET status = $2 WHERE id = $1', [userId, status]);
      const before = await rowCounts();
      const right = await login(email, password);
      expectFailure(right, 403, code);
      const wrong = await login(email, strongPassword());
      expectFailure(wrong, 401, 'invalid_credentials');
      expect(wrong.text).to.equal((await login(randomEmail(), password)).text);
      const after = await rowCounts();
      expect(after.sessions).to.equal(before.sessions);
      expect(after.refresh_tokens).to.equal(before.refresh_tokens);
    });
  }

  it('treats a deleted account like an unknown email', async () => {
    const { email, password, userId } = await registerUser();
    await sql("UPDATE users SET status = 'deleted' WHERE id = $1", [userId]);
    expectFailure(await login(email, password), 401, 'invalid_credentials');
  });

  it('matches the email case-insensitively and in its NFKC form', async () => {
    const { email, password } = await registerUser();
    expect((await login(email.toUpperCase(), password)).status).to.equal(200);
    expect((await login(`  ${email} `, password)).status).to.equal(200);
  });
});

describe('GET /me', () => {
  it('answers the account without its hash', async () => {
    const { email, password, userId } = await registerUser();
    const { token } = await loginUser(email, password);
    const response = await me(token);
    expect(response.status).to.equal(200);
    expect(response.body).to.include.all.keys('id', 'email', 'email_verified', 'status', 'roles', 'profile', 'mfa');
    expect(response.body).to.include({ id: userId, email, email_verified: false, status: 'active' });
    expect(response.body.roles).to.be.an('array');
    expect(response.body.profile).to.be.an('object');
    expect(response.body.mfa).to.be.an('object');
    expect(response.text).not.to.match(/password|argon2/i);
  });

  it('refuses a token once its session is revoked, or its account is no longer active', async () => {
    const { email, password, userId } = await registerUser();
    const first = await loginUser(email, password);
    const second = await loginUser(email, password);
    const sid = decodePart(first.token.split('.')[1]!).sid;
    await sql('UPDATE sessions SET revoked_at = now() WHERE id = $1', [sid]);
    expectFailure(await me(first.token), 401, 'unauthorized');
    expect((await me(second.token)).status, 'the other session lives on').to.equal(200);

    await sql("UPDATE users SET status = 'disabled' WHERE id = $1", [userId]);
    expectFailure(await me(second.token), 401, 'unauthorized');
  });

  describe('refuses bad tokens with 401 unauthorized', () => {
    let valid: string;
    let otherUserId: string;
    before(async () => {
      const user = await registerUser();
      valid = (await loginUser(user.email, user.password)).token;
      otherUserId = (await registerUser()).userId;
    });

    /** The valid token's claims with some replaced, properly signed with the service's key. */
    function signed(claims: object, options: jwt.SignOptions = {}): string {
      const { kid, privateKey } = testApp().services.keys.signingKey();
      const payload = { ...decodePart(valid.split('.')[1]!), exp: Math.floor(Date.now() / 1000) + 60, ...claims };
      return jwt.sign(payload, privateKey, { algorithm: 'ES256', keyid: kid, ...options });
    }

    const cases: Array<[string, () => Record<string, string>]> = [
      ['no Authorization header', () => ({})],
      ['an empty Bearer', () => ({ authorization: 'Bearer ' })],
      ['another scheme', () => ({ authorization: `Token ${valid}` })],
      ['garbage', () => ({ authorization: 'Bearer garbage' })],
      ['three garbage parts', () => ({ authorization: 'Bearer aaa.bbb.ccc' })],
      ['alg none', () => {
        const [header, payload] = valid.split('.');
        const none = encodePart({ ...decodePart(header!), alg: 'none' });
        return { authorization: `Bearer ${none}.${payload}.` };
      }],
      ['alg none with a signature', () => {
        const [header, payload, signature] = valid.split('.');
        return { authorization: `Bearer ${encodePart({ ...decodePart(header!), alg: 'none' })}.${payload}.${signature}` };
      }],
      ['a tampered payload (another sub)', () => {
        const [header, payload, signature] = valid.split('.');
        return { authorization: `Bearer ${header}.${encodePart({ ...decodePart(payload!), sub: otherUserId })}.${signature}` };
      }],
      ['a tampered payload (later exp)', () => {
        const [header, payload, signature] = valid.split('.');
        const claims = decodePart(payload!);
        return { authorization: `Bearer ${header}.${encodePart({ ...claims, exp: claims.exp + 3600 })}.${signature}` };
      }],
      ['HS256 keyed with the public JWK', () => {
        const header = decodePart(valid.split('.')[0]!);
        const jwk = testApp().services.keys.publicJwks().keys.find((key) => (key as { kid?: string }).kid === header.kid);
        const token = jwt.sign(decodePart(valid.split('.')[1]!), JSON.stringify(jwk), { algorithm: 'HS256', keyid: header.kid });
        return { authorization: `Bearer ${token}` };
      }],
      ['an unknown kid', () => ({ authorization: `Bearer ${signed({}, { keyid: 'no-such-key' })}` })],
      // Beyond the 30 s clock tolerance (JWT_CLOCK_TOLERANCE_SECONDS).
      ['an expired token', () => ({ authorization: `Bearer ${signed({ exp: Math.floor(Date.now() / 1000) - 60 })}` })],
      ['another audience', () => ({ authorization: `Bearer ${signed({ aud: 'someone-else' })}` })],
      ['another issuer', () => ({ authorization: `Bearer ${signed({ iss: 'https://evil.example' })}` })],
      ['a session id that does not exist', () => ({ authorization: `Bearer ${signed({ sid: '00000000-0000-4000-8000-000000000000' })}` })],
    ];
    for (const [name, headers] of cases) {
      it(name, async () => {
        const response = await request('GET', '/me', { headers: headers() });
        expectFailure(response, 401, 'unauthorized');
      });
    }

    it('while the untouched token still works, and all the refusals are byte-equal', async () => {
      expect((await me(valid)).status).to.equal(200);
      const bodies = new Set<string>();
      for (const [, headers] of cases) bodies.add((await request('GET', '/me', { headers: headers() })).text);
      expect(bodies.size).to.equal(1);
    });
  });
});
