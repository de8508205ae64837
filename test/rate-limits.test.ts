import crypto from 'node:crypto';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../shared/config/config.js';
import { loginFailuresWithinGuardWindow } from '../shared/config/rate-limit-settings.js';
import { hashToken } from '../shared/crypto/random-token.js';
import { grantRole } from '../shared/domain/manage-roles.js';
import { describeWait } from '../shared/rate-limit/rate-limited-error.js';
import { expectFailure, sql } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { remainingTestKeys, removeTestKeys, testPrefix } from './support/redis-keys.js';
import { randomEmail, registerUser, request, strongPassword, type JsonResponse } from './support/http.js';
import { freePort } from './support/service-process.js';
import { startTestApp, testEnv, type TestApp } from './support/test-app.js';

/** Generous limits that stay out of the way, so each suite sets only the one it tests. */
const WIDE = {
  RATE_LIMIT_LOGIN_IP: '1000/900',
  RATE_LIMIT_LOGIN_ACCOUNT: '1000/900',
  RATE_LIMIT_LOGIN_IP_ACCOUNT: '1000/900',
  RATE_LIMIT_LOGIN_SUCCESS_IP: '1000/900',
  RATE_LIMIT_LOGIN_SUCCESS_ACCOUNT: '1000/900',
  RATE_LIMIT_DELAY_BASE_MS: '0',
};

/** An app on this run's database with its own limit counters and scale 1; `wide` moves the other login limits out of the way. */
function startLimitedApp(overrides: NodeJS.ProcessEnv, wide = true): Promise<TestApp> {
  return startTestApp(testDatabase(), {
    RATE_LIMIT_SCALE: '1',
    RATE_LIMIT_PREFIX: testPrefix('rl-test'),
    ...(wide ? WIDE : {}),
    ...overrides,
  });
}

function loginAt(app: TestApp, email: string, password: string, forwardedFor?: string): Promise<JsonResponse> {
  const headers: Record<string, string> = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
  return request('POST', '/login', { json: { email, password }, headers, baseUrl: app.url });
}

async function timedLoginAt(app: TestApp, email: string, password: string, forwardedFor: string): Promise<{ response: JsonResponse; ms: number }> {
  const started = performance.now();
  const response = await loginAt(app, email, password, forwardedFor);
  return { response, ms: performance.now() - started };
}

const UNIT_SECONDS = { second: 1, minute: 60, hour: 3_600 } as const;

/**
 * A 429 rate_limited with the contract's body, a Retry-After of 1 to `maxSeconds` seconds,
 * and a message that gives the same wait in words, rounded up to its unit:
 * "Too many attempts; try again in 15 minutes."
 */
function expectRateLimited(response: JsonResponse, maxSeconds: number, reason = 'Too many attempts'): void {
  expectFailure(response, 429, 'rate_limited');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter, `Retry-After ${response.headers.get('retry-after')}`).to.be.within(1, maxSeconds);
  const message: string = response.body.error.message;
  const words = /^(.+); try again in (\d+) (second|minute|hour)s?\.$/.exec(message);
  expect(words, message).to.not.equal(null);
  const [, said, amount, unit] = words!;
  expect(said).to.equal(reason);
  const unitSeconds = UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  expect(Number(amount) * unitSeconds, `"${message}" for Retry-After ${retryAfter}`).to.be.within(retryAfter, retryAfter + unitSeconds - 1);
}

async function attemptRows(email: string): Promise<number> {
  const [row] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM login_attempts WHERE lower(email) = lower($1)', [email]);
  return row!.n;
}

function randomIpv4(): string {
  return `198.51.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`;
}

describe('rate limits', function () {
  this.timeout(60_000);
  const apps: TestApp[] = [];
  const start = async (overrides: NodeJS.ProcessEnv) => {
    const app = await startLimitedApp(overrides);
    apps.push(app);
    return app;
  };
  after(async () => {
    for (const app of apps) await app.close();
    await removeTestKeys(...apps.map((app) => app.services.config.rateLimits.prefix));
  });

  describe('login per account (failed attempts, every IP)', () => {
    let app: TestApp;
    before(async () => {
      app = await start({ RATE_LIMIT_LOGIN_ACCOUNT: '3/900', TRUST_PROXY_HOPS: '1' });
    });

    it('answers 429 rate_limited with Retry-After after N failures, before any hashing, and then for the right password from any IP', async () => {
      const { email, password } = await registerUser();
      const ip = randomIpv4();
      for (let i = 0; i < 3; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', ip), 401, 'invalid_credentials');
      expect(await attemptRows(email)).to.equal(3);

      const limited = await loginAt(app, email, 'Wrong-password-123', ip);
      expectRateLimited(limited, 900);
      // The refused attempts never reached the login: no login_attempts row, which every verified attempt writes.
      expectRateLimited(await loginAt(app, email, password, ip), 900);
      expectRateLimited(await loginAt(app, email, password, randomIpv4()), 900);
      expect(await attemptRows(email)).to.equal(3);
      // Equal failures are byte-equal.
      expect((await loginAt(app, email, password, ip)).text).to.equal(limited.text);
    });

    it('counts an email in any case and compatibility form as one account', async () => {
      const { email } = await registerUser();
      const variants = [email, email.toUpperCase(), ` ${email.replace('@', '＠')} `];
      for (const variant of variants) expectFailure(await loginAt(app, variant, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 900);
    });

    it('counts the addresses the database takes for one account as one, "İ" and "Σ" included', async () => {
      // PostgreSQL lowers "İ" to "i" and every "Σ" to "σ"; String.toLowerCase() would give "i̇" and a final "ς".
      const { email } = await registerUser(`ilkin-σ-${crypto.randomBytes(4).toString('hex')}@example.com`);
      const variants = [email.replace('i', 'İ'), email.replace(/i/g, 'İ'), email.replace('σ', 'Σ'), email.toUpperCase()];
      const [row] = await sql<{ same: boolean }>('SELECT bool_and(email = v::citext) AS same FROM users, unnest($2::text[]) v WHERE email = $1', [email, variants]);
      expect(row?.same, 'the database takes every variant for the account').to.equal(true);
      for (const variant of variants.slice(0, 3)) expectFailure(await loginAt(app, variant, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, variants[3]!, 'Wrong-password-123', randomIpv4()), 900);
      expect(await attemptRows(email)).to.equal(3);
    });

    it('does not count a successful login, nor forgive the failures before it', async () => {
      const { email, password } = await registerUser();
      for (let i = 0; i < 2; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      for (let i = 0; i < 3; i++) expect((await loginAt(app, email, password, randomIpv4())).status).to.equal(200);
      expectFailure(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 900);
    });

    it('does not let guesses from elsewhere lock the owner out: a network that signed in before still gets in', async () => {
      const { email, password } = await registerUser();
      const home = '203.0.113.10';
      expect((await loginAt(app, email, password, home)).status).to.equal(200);
      // Someone who knows only the email spends the account limit from other networks.
      for (let i = 0; i < 3; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, email, password, randomIpv4()), 900);
      // The owner, from another address of the same /24, signs in: the known network has an account budget of its own.
      expect((await loginAt(app, email, password, '203.0.113.77')).status).to.equal(200);
      expectFailure(await loginAt(app, email, 'Wrong-password-123', home), 401, 'invalid_credentials');
      expect((await loginAt(app, email, password, home)).status).to.equal(200);
      // But the known network shares one account budget (the same 3 points), however many addresses it holds.
      for (let i = 0; i < 2; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', `203.0.113.${101 + i}`), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123', '203.0.113.103'), 900);
      expectRateLimited(await loginAt(app, email, password, '203.0.113.104'), 900);
    });

    it('lets a completed password reset lift the account limit for the owner, from the network that reset it, and keep it lifted', async () => {
      // A new account: its owner has signed in from nowhere yet.
      const { email, userId } = await registerUser();
      for (let i = 0; i < 3; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      const home = '192.0.2.10';
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123', home), 900);
      // The owner resets the password through the mailed link (the token is made here as the email worker would).
      const token = crypto.randomBytes(32).toString('base64url');
      await sql("INSERT INTO password_resets (user_id, token_hash, expires_at) VALUES ($1, $2, now() + interval '30 minutes')", [userId, hashToken(token)]);
      const password = strongPassword();
      const reset = await request('POST', '/password/reset', { json: { token, password }, headers: { 'x-forwarded-for': home }, baseUrl: app.url });
      expect(reset.status, reset.text).to.equal(200);
      // Guessers keep spending the account limit, and elsewhere it still holds...
      for (let i = 0; i < 4; i++) await loginAt(app, email, 'Wrong-password-123', randomIpv4());
      expectRateLimited(await loginAt(app, email, password, randomIpv4()), 900);
      // ...but the network that proved the owner has its own budget: the owner signs in, from another address of it too.
      expect((await loginAt(app, email, password, '192.0.2.77')).status).to.equal(200);
      expect((await loginAt(app, email, password, home)).status).to.equal(200);
    });

    it('holds under a concurrent burst: no more failures are recorded than the limit allows', async () => {
      const { email } = await registerUser();
      const responses = await Promise.all(Array.from({ length: 12 }, () => loginAt(app, email, 'Wrong-password-123', randomIpv4())));
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).to.deep.equal([...Array(3).fill(401), ...Array(9).fill(429)]);
      expect(await attemptRows(email)).to.equal(3);
    });
  });

  describe('successful logins', () => {
    let app: TestApp;
    before(async () => {
      app = await start({ TRUST_PROXY_HOPS: '1', RATE_LIMIT_LOGIN_SUCCESS_ACCOUNT: '2/900', RATE_LIMIT_LOGIN_SUCCESS_IP: '5/900' });
    });

    it('answers 429 past N successful logins of one account, from any IP, before any hashing; failures do not count', async () => {
      const { email, password } = await registerUser();
      for (let i = 0; i < 3; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      for (let i = 0; i < 2; i++) expect((await loginAt(app, email, password, randomIpv4())).status).to.equal(200);
      const rows = await attemptRows(email);
      expectRateLimited(await loginAt(app, email, password, randomIpv4()), 900);
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 900);
      expect(await attemptRows(email), 'a refused login writes no row').to.equal(rows);
    });

    it('answers 429 past N successful logins from one IP, and a request refused by the account limit costs that IP nothing', async () => {
      const ip = randomIpv4();
      const first = await registerUser();
      for (let i = 0; i < 2; i++) expect((await loginAt(app, first.email, first.password, ip)).status).to.equal(200);
      for (let i = 0; i < 3; i++) expectRateLimited(await loginAt(app, first.email, first.password, ip), 900);
      // 2 of the IP's 5 spent: three more accounts' logins fit, the next does not.
      for (let i = 0; i < 3; i++) {
        const other = await registerUser();
        expect((await loginAt(app, other.email, other.password, ip)).status, `login ${i + 3} from the IP`).to.equal(200);
      }
      const last = await registerUser();
      expectRateLimited(await loginAt(app, last.email, last.password, ip), 900);
      expect((await loginAt(app, last.email, last.password, randomIpv4())).status).to.equal(200);
    });
  });

  describe('login per IP and account', () => {
    it('limits one client on one account, and a success clears that counter', async () => {
      const app = await start({ RATE_LIMIT_LOGIN_IP_ACCOUNT: '2/300', TRUST_PROXY_HOPS: '1' });
      const { email, password } = await registerUser();
      const ip = randomIpv4();
      expectFailure(await loginAt(app, email, 'Wrong-password-123', ip), 401, 'invalid_credentials');
      expect((await loginAt(app, email, password, ip)).status).to.equal(200);
      for (let i = 0; i < 2; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', ip), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, email, password, ip), 300);
      // Another client is not limited by it.
      expect((await loginAt(app, email, password, randomIpv4())).status).to.equal(200);
    });
  });

  describe('login per IP', () => {
    it('answers 429 after N failures from one socket address, whatever X-Forwarded-For claims when no proxy is trusted', async () => {
      const app = await start({ RATE_LIMIT_LOGIN_IP: '3/900', TRUST_PROXY_HOPS: '0' });
      for (let i = 0; i < 3; i++) {
        expectFailure(await loginAt(app, randomEmail(), 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      }
      for (let i = 0; i < 3; i++) expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123', randomIpv4()), 900);
      // The rotating header neither reset the limit nor was blamed: the socket's address was counted.
      expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123'), 900);
    });

    it('with TRUST_PROXY_HOPS=1 counts the right-most X-Forwarded-For entry; a forged left part changes nothing and frames nobody', async () => {
      const app = await start({ RATE_LIMIT_LOGIN_IP: '3/900', TRUST_PROXY_HOPS: '1' });
      const client = randomIpv4();
      const bystander = randomIpv4();
      for (let i = 0; i < 3; i++) {
        const forged = `${randomIpv4()}, ${bystander}, ${client}`;
        expectFailure(await loginAt(app, randomEmail(), 'Wrong-password-123', forged), 401, 'invalid_credentials');
      }
      expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123', `${randomIpv4()}, ${client}`), 900);
      expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123', client), 900);
      expectFailure(await loginAt(app, randomEmail(), 'Wrong-password-123', bystander), 401, 'invalid_credentials');
    });

    it('counts IPv6 addresses of one /64 as one client, and an IPv4-mapped address as its IPv4', async () => {
      const app = await start({ RATE_LIMIT_LOGIN_IP: '3/900', TRUST_PROXY_HOPS: '1' });
      const group = crypto.randomInt(0xffff).toString(16);
      const prefix = `2001:db8:${group}:a`;
      for (const ip of [`${prefix}::1`, `${prefix}:ffff::abcd`, `${prefix.toUpperCase()}:1:2:3:4`]) {
        expectFailure(await loginAt(app, randomEmail(), 'Wrong-password-123', ip), 401, 'invalid_credentials');
      }
      expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123', `${prefix}::9`), 900);
      expectFailure(await loginAt(app, randomEmail(), 'Wrong-password-123', `2001:db8:${group}:b::1`), 401, 'invalid_credentials');

      const v4 = randomIpv4();
      for (const ip of [v4, `::ffff:${v4}`, `::FFFF:${v4}`]) {
        expectFailure(await loginAt(app, randomEmail(), 'Wrong-password-123', ip), 401, 'invalid_credentials');
      }
      expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123', v4), 900);
    });
  });

  describe('progressive delay', () => {
    it('past a quarter of an account limit, waits base, doubled per failure, up to the maximum, before the password is checked', async () => {
      const app = await start({ RATE_LIMIT_LOGIN_IP_ACCOUNT: '9/900', RATE_LIMIT_DELAY_BASE_MS: '300', RATE_LIMIT_DELAY_MAX_MS: '600', TRUST_PROXY_HOPS: '1' });
      const { email } = await registerUser();
      const ip = randomIpv4();
      const elapsed: number[] = [];
      for (let i = 0; i < 9; i++) {
        const { response, ms } = await timedLoginAt(app, email, 'Wrong-password-123', ip);
        expectFailure(response, 401, 'invalid_credentials');
        elapsed.push(ms);
      }
      // ⌊9/4⌋ = 2: failures 3, 4 and on come after 2, 3 and more counted ones: 300, 600, then 600 (capped) ms.
      expect(elapsed[2]).to.be.at.least(300);
      for (const ms of elapsed.slice(3)) expect(ms).to.be.at.least(600);
      expect(Math.max(elapsed[0]!, elapsed[1]!)).to.be.below(elapsed[3]!);
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123', ip), 900);
    });

    it('delays a shared address only past half of its IP limit', async () => {
      const app = await start({ RATE_LIMIT_LOGIN_IP: '6/900', RATE_LIMIT_DELAY_BASE_MS: '400', RATE_LIMIT_DELAY_MAX_MS: '800', TRUST_PROXY_HOPS: '1' });
      const ip = randomIpv4();
      const elapsed: number[] = [];
      for (let i = 0; i < 6; i++) {
        const { response, ms } = await timedLoginAt(app, randomEmail(), 'Wrong-password-123', ip);
        expectFailure(response, 401, 'invalid_credentials');
        elapsed.push(ms);
      }
      // Each email is new, so only the IP limit counts: failures 4, 5 and 6 come after 3, 4 and 5: 400, 800, 800 ms.
      expect(elapsed[3]).to.be.at.least(400);
      expect(elapsed[4]).to.be.at.least(800);
      expect(elapsed[5]).to.be.at.least(800);
      expect(Math.max(...elapsed.slice(0, 3))).to.be.below(elapsed[4]!);
      expectRateLimited(await loginAt(app, randomEmail(), 'Wrong-password-123', ip), 900);
    });
  });

  describe('the defaults: a person who mistypes gets in after seconds, a guesser meets a 429', () => {
    let app: TestApp;
    before(async () => {
      app = await startLimitedApp({ TRUST_PROXY_HOPS: '1' }, false);
      apps.push(app);
    });

    it('from a new network, the right password on the 4th try signs in after the progressive delay', async () => {
      const { email, password } = await registerUser();
      const ip = randomIpv4();
      const elapsed: number[] = [];
      for (let i = 0; i < 3; i++) {
        const { response, ms } = await timedLoginAt(app, email, 'Wrong-password-123', ip);
        expectFailure(response, 401, 'invalid_credentials');
        elapsed.push(ms);
      }
      expect(elapsed[1]).to.be.at.least(500);
      expect(elapsed[2]).to.be.at.least(1_000);
      const fourth = await timedLoginAt(app, email, password, ip);
      expect(fourth.response.status, fourth.response.text).to.equal(200);
      // Seconds, not minutes: 2 s of delay, then the login itself.
      expect(fourth.ms).to.be.within(2_000, 5_000);
    });

    it('from a network that signed in before, the right password on the 5th try signs in too, while new networks are refused', async () => {
      const { email, password } = await registerUser();
      const home = randomIpv4();
      expect((await loginAt(app, email, password, home)).status).to.equal(200);
      for (let i = 0; i < 4; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', home), 401, 'invalid_credentials');
      const fifth = await timedLoginAt(app, email, password, home);
      expect(fifth.response.status, fifth.response.text).to.equal(200);
      expect(fifth.ms).to.be.within(4_000, 8_000);
      // The account limit is spent for everyone else: the same right password from elsewhere waits out the window.
      expectRateLimited(await loginAt(app, email, password, randomIpv4()), 900);
    });

    it('a guesser spread over many addresses meets 429 at the 5th guess, well before the anomaly guard, with the wait in words', async () => {
      const { email, password } = await registerUser();
      for (let i = 0; i < 4; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123', randomIpv4()), 401, 'invalid_credentials');
      const limited = await loginAt(app, email, 'Wrong-password-123', randomIpv4());
      expectRateLimited(limited, 900);
      expect(limited.body.error.message).to.equal('Too many attempts; try again in 15 minutes.');
      // The right password is refused alike, with the byte-equal body of the same wait.
      const refused = await loginAt(app, email, password, randomIpv4());
      expect(refused.status).to.equal(429);
      expect(refused.text).to.equal(limited.text);
      expect(await attemptRows(email)).to.equal(4);
    });
  });

  describe('other routes', () => {
    let app: TestApp;
    before(async () => {
      app = await start({
        TRUST_PROXY_HOPS: '1',
        RATE_LIMIT_FORGOT_ACCOUNT: '2/3600',
        RATE_LIMIT_REGISTER_IP: '2/3600',
        RATE_LIMIT_VERIFY_IP: '2/900',
        RATE_LIMIT_RESET_IP: '2/900',
        RATE_LIMIT_REFRESH_IP: '2/900',
        RATE_LIMIT_REAUTH_ACCOUNT: '2/900',
        RATE_LIMIT_RESEND_ACCOUNT: '2/86400',
      });
    });
    const post = (path: string, json: unknown, ip: string) => request('POST', path, { json, headers: { 'x-forwarded-for': ip }, baseUrl: app.url });

    it('POST /password/forgot: 429 after N requests for one account, from any IP', async () => {
      const { email } = await registerUser();
      for (let i = 0; i < 2; i++) expect((await post('/password/forgot', { email }, randomIpv4())).status).to.equal(202);
      expectRateLimited(await post('/password/forgot', { email: email.toUpperCase() }, randomIpv4()), 3600);
      // Unknown addresses are limited alike: the answer tells nothing about the account.
      const unknown = randomEmail();
      for (let i = 0; i < 2; i++) expect((await post('/password/forgot', { email: unknown }, randomIpv4())).status).to.equal(202);
      expectRateLimited(await post('/password/forgot', { email: unknown }, randomIpv4()), 3600);
    });

    it('POST /password/forgot: counts an internationalised domain and its xn-- form as one account', async () => {
      const local = `u-${crypto.randomBytes(4).toString('hex')}`;
      expect((await post('/password/forgot', { email: `${local}@bücher.de` }, randomIpv4())).status).to.equal(202);
      expect((await post('/password/forgot', { email: `${local}@xn--bcher-kva.de` }, randomIpv4())).status).to.equal(202);
      expectRateLimited(await post('/password/forgot', { email: `${local}@BÜCHER.DE` }, randomIpv4()), 3600);
    });

    it('POST /register: 429 after N registrations from one IP, before the user is created', async () => {
      const ip = randomIpv4();
      for (let i = 0; i < 2; i++) expect((await post('/register', { email: randomEmail(), password: strongPassword() }, ip)).status).to.equal(201);
      const email = randomEmail();
      expectRateLimited(await post('/register', { email, password: strongPassword() }, ip), 3600);
      expect(await sql('SELECT 1 FROM users WHERE email = $1', [email])).to.have.length(0);
      expect((await post('/register', { email, password: strongPassword() }, randomIpv4())).status).to.equal(201);
    });

    it('POST /email/verify and POST /password/reset: 429 after N attempts from one IP', async () => {
      const ip = randomIpv4();
      for (let i = 0; i < 2; i++) expectFailure(await post('/email/verify', { token: `bogus-${i}` }, ip), 400, 'invalid_token');
      expectRateLimited(await post('/email/verify', { token: 'bogus' }, ip), 900);
      for (let i = 0; i < 2; i++) expectFailure(await post('/password/reset', { token: `bogus-${i}`, password: strongPassword() }, ip), 400, 'invalid_token');
      expectRateLimited(await post('/password/reset', { token: 'bogus', password: strongPassword() }, ip), 900);
    });

    it('answers a form post from an HTML page with a page once its limit is spent, and JSON clients still with JSON', async () => {
      const ip = randomIpv4();
      const formPost = (token: string) =>
        request('POST', '/password/reset', {
          raw: new URLSearchParams({ token, password: strongPassword() }).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
          baseUrl: app.url,
        });
      for (let i = 0; i < 2; i++) expect((await formPost(`bogus-${i}`)).text).to.include('This link does not work');
      const limited = await formPost('bogus');
      expect(limited.status).to.equal(429);
      expect(limited.headers.get('content-type')).to.match(/^text\/html/);
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 900);
      expect(limited.text).to.include('Too many attempts').and.match(/please wait \d+ (seconds?|minutes?) before you try again/);
      expectRateLimited(await post('/password/reset', { token: 'bogus', password: strongPassword() }, ip), 900);
    });

    it('POST /security/not-me: 429 after N attempts from one IP, as /email/verify', async () => {
      const ip = randomIpv4();
      for (let i = 0; i < 2; i++) expectFailure(await post('/security/not-me', { token: `bogus-${i}` }, ip), 400, 'invalid_token');
      expectRateLimited(await post('/security/not-me', { token: 'bogus' }, ip), 900);
    });

    it('POST /email/verify/resend: 429 for a day after N requests by one user, beyond the 60 s cooldown', async () => {
      const { email, password } = await registerUser();
      const { token } = (await request('POST', '/login', { json: { email, password }, baseUrl: app.url })).body;
      const resend = () => request('POST', '/email/verify/resend', { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': randomIpv4() }, baseUrl: app.url });
      // Just registered: the cooldown refuses these, with a Retry-After within the minute; they still count.
      for (let i = 0; i < 2; i++) expectRateLimited(await resend(), 60, 'A verification mail was sent recently');
      const limited = await resend();
      expectRateLimited(limited, 86_400);
      expect(Number(limited.headers.get('retry-after'))).to.be.above(60);
    });

    it('POST /token/refresh: 429 after N attempts from one IP', async () => {
      const ip = randomIpv4();
      for (let i = 0; i < 2; i++) expectFailure(await post('/token/refresh', { refresh_token: `bogus-${i}` }, ip), 401, 'invalid_token');
      expectRateLimited(await post('/token/refresh', { refresh_token: 'bogus' }, ip), 900);
      const { email, password } = await registerUser();
      const login = await request('POST', '/login', { json: { email, password }, baseUrl: app.url });
      expectRateLimited(await post('/token/refresh', { refresh_token: login.body.refresh_token }, ip), 900);
      expect((await post('/token/refresh', { refresh_token: login.body.refresh_token }, randomIpv4())).status).to.equal(200);
    });

    it('POST /password/change and DELETE /me: 429 after N password checks by one user, from any IP', async () => {
      const { email, password } = await registerUser();
      const login = await request('POST', '/login', { json: { email, password }, baseUrl: app.url });
      const headers = (ip: string) => ({ authorization: `Bearer ${login.body.token}`, 'x-forwarded-for': ip });
      const change = (ip: string) =>
        request('POST', '/password/change', { json: { current_password: 'Wrong-password-123', new_password: strongPassword() }, headers: headers(ip), baseUrl: app.url });
      for (let i = 0; i < 2; i++) expectFailure(await change(randomIpv4()), 401, 'invalid_credentials');
      expectRateLimited(await change(randomIpv4()), 900);
      // The right password is refused too while the limit lasts, and the account is untouched.
      expectRateLimited(await request('DELETE', '/me', { json: { password }, headers: headers(randomIpv4()), baseUrl: app.url }), 900);
      expect(await sql("SELECT 1 FROM users WHERE email = $1 AND status = 'active'", [email])).to.have.length(1);
    });
  });

  describe('per-user limits on authenticated writes and the export', () => {
    let app: TestApp;
    before(async () => {
      app = await start({
        RATE_LIMIT_PROFILE_ACCOUNT: '3/900',
        RATE_LIMIT_EXPORT_ACCOUNT: '1/3600',
        RATE_LIMIT_SESSIONS_ACCOUNT: '2/900',
        RATE_LIMIT_MFA_CHANGE_ACCOUNT: '2/900',
        RATE_LIMIT_ADMIN_ACCOUNT: '2/900',
      });
    });
    const signedIn = async () => {
      const user = await registerUser();
      const { token } = (await request('POST', '/login', { json: { email: user.email, password: user.password }, baseUrl: app.url })).body;
      return { ...user, auth: { authorization: `Bearer ${token}` } };
    };
    const call = (method: string, path: string, auth: Record<string, string>, json?: unknown) => request(method, path, { json, headers: auth, baseUrl: app.url });
    const outboxRows = async (userId: string) => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE aggregate_id = $1', [userId]))[0]!.n;

    it('PATCH /me/profile: 429 past N writes per user, writing no row; another user is not held back', async () => {
      const user = await signedIn();
      for (let i = 0; i < 3; i++) expect((await call('PATCH', '/me/profile', user.auth, { display_name: `Ada ${i}` })).status).to.equal(200);
      const rows = await outboxRows(user.userId);
      expectRateLimited(await call('PATCH', '/me/profile', user.auth, { display_name: 'Ada again' }), 900);
      expect(await outboxRows(user.userId)).to.equal(rows);
      const other = await signedIn();
      expect((await call('PATCH', '/me/profile', other.auth, { display_name: 'Bob' })).status).to.equal(200);
    });

    it('GET /me/export: 429 past N exports per user', async () => {
      const user = await signedIn();
      expect((await call('GET', '/me/export', user.auth)).status).to.equal(200);
      expectRateLimited(await call('GET', '/me/export', user.auth), 3600);
    });

    it('DELETE /me/sessions/:id and POST /logout/all: 429 past N per user', async () => {
      const user = await signedIn();
      for (let i = 0; i < 2; i++) expectFailure(await call('DELETE', `/me/sessions/${crypto.randomUUID()}`, user.auth), 404, 'not_found');
      expectRateLimited(await call('DELETE', `/me/sessions/${crypto.randomUUID()}`, user.auth), 900);
      expectRateLimited(await call('POST', '/logout/all', user.auth), 900);
    });

    it('second-factor changes: 429 past N per user', async () => {
      const user = await signedIn();
      const enroll = () => call('POST', '/mfa/totp/enroll', user.auth, { password: user.password });
      for (let i = 0; i < 2; i++) expect((await enroll()).status).to.not.equal(429);
      expectRateLimited(await enroll(), 900);
      expectRateLimited(await call('POST', '/mfa/recovery-codes', user.auth, { password: user.password }), 900);
    });

    it('administrators\' writes: 429 past N per administrator', async () => {
      const admin = await signedIn();
      await grantRole(app.services.pool, { userId: admin.userId, role: 'admin' });
      const target = await registerUser();
      for (let i = 0; i < 2; i++) expect((await call('POST', `/admin/users/${target.userId}/sessions/revoke`, admin.auth)).status).to.not.equal(429);
      expectRateLimited(await call('POST', `/admin/users/${target.userId}/sessions/revoke`, admin.auth), 900);
    });

    it('defaults: under 400 profile writes per user in 15 minutes, exports much fewer', () => {
      const { rules } = loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '1' })).rateLimits;
      const inFifteenMinutes = (rule: { points: number; seconds: number }) => rule.points * (Math.ceil(900 / rule.seconds) + 1);
      expect(inFifteenMinutes(rules.profile.account!)).to.be.below(400);
      expect(inFifteenMinutes(rules.export.account!)).to.be.below(20);
      for (const action of ['sessions', 'mfa_change', 'admin'] as const) expect(rules[action].account, action).to.not.equal(undefined);
    });
  });

  describe('bounded Redis memory per client', () => {
    let app: TestApp;
    before(async () => {
      app = await start({
        TRUST_PROXY_HOPS: '1',
        RATE_LIMIT_FORGOT_IP: '3/3600',
        RATE_LIMIT_REGISTER_IP: '3/3600',
        RATE_LIMIT_LOGIN_IP: '3/900',
      });
    });
    const keyCount = async () => (await remainingTestKeys([app.services.config.rateLimits.prefix])).get(app.services.config.rateLimits.prefix) ?? 0;

    it('leaves the key count flat through thousands of refused requests with unique addresses (no per-account keys for a 429)', async function () {
      this.timeout(120_000);
      const ip = randomIpv4();
      const post = (path: string, json: unknown) => request('POST', path, { json, headers: { 'x-forwarded-for': ip }, baseUrl: app.url });
      const bodies: Record<string, () => unknown> = {
        '/password/forgot': () => ({ email: randomEmail() }),
        '/register': () => ({ email: randomEmail(), password: 'short' }),
        '/login': () => ({ email: randomEmail(), password: 'Wrong-password-123' }),
      };
      // Spend each IP limit, so every request after is refused by it.
      for (const [path, body] of Object.entries(bodies)) {
        for (let i = 0; i < 3; i++) expect((await post(path, body())).status, path).to.not.equal(429);
        expectRateLimited(await post(path, body()), 3600);
      }
      const before = await keyCount();
      const refused = 3_000;
      const paths = Object.keys(bodies);
      let sent = 0;
      const statuses = new Map<number, number>();
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (sent < refused) {
            const path = paths[sent++ % paths.length]!;
            const { status } = await post(path, bodies[path]!());
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
          }
        }),
      );
      expect(Object.fromEntries(statuses)).to.deep.equal({ 429: refused });
      expect(await keyCount(), `keys under the prefix before ${before}`).to.equal(before);
    });
  });

  describe('shared by every API instance, with a per-process stand-in when Redis is down', () => {
    it('counts failures on one instance against the other (one Redis, one prefix)', async () => {
      const prefix = testPrefix('rl-test');
      const shared = { RATE_LIMIT_LOGIN_ACCOUNT: '2/900', RATE_LIMIT_PREFIX: prefix };
      const [first, second] = [await start(shared), await start(shared)];
      const { email } = await registerUser();
      expectFailure(await loginAt(first!, email, 'Wrong-password-123'), 401, 'invalid_credentials');
      expectFailure(await loginAt(second!, email, 'Wrong-password-123'), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(first!, email, 'Wrong-password-123'), 900);
      expectRateLimited(await loginAt(second!, email, 'Wrong-password-123'), 900);
      // The counters live under the install's prefix (a hash tag) and name no email address.
      const keys = await first!.services.redis.keys(`{${prefix}}:rl:*`);
      expect(keys.some((key) => key.startsWith(`{${prefix}}:rl:login:account:`))).to.equal(true);
      expect(keys.some((key) => key.toLowerCase().includes(email.toLowerCase()))).to.equal(false);
    });

    it('with Redis unreachable, logins still work and the limits still answer 429 per process', async () => {
      const deadRedis = `redis://127.0.0.1:${await freePort()}`;
      const app = await start({ REDIS_URL: deadRedis, RATE_LIMIT_LOGIN_ACCOUNT: '2/900', RATE_LIMIT_REGISTER_IP: '5/3600' });
      const other = await registerUser();
      expect((await loginAt(app, other.email, other.password)).status).to.equal(200);
      const { email, password } = await registerUser();
      for (let i = 0; i < 2; i++) expectFailure(await loginAt(app, email, 'Wrong-password-123'), 401, 'invalid_credentials');
      expectRateLimited(await loginAt(app, email, 'Wrong-password-123'), 900);
      expectRateLimited(await loginAt(app, email, password), 900);
      const registered = await request('POST', '/register', { json: { email: randomEmail(), password: strongPassword() }, baseUrl: app.url });
      expect(registered.status).to.equal(201);
    });
  });

  describe('configuration', () => {
    const load = (env: NodeJS.ProcessEnv) => () => loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '1', ...env }));

    it('reads RATE_LIMIT_<ACTION>_<KEY>=points/seconds and multiplies the points by RATE_LIMIT_SCALE', () => {
      const config = loadConfig(testEnv('db', { RATE_LIMIT_LOGIN_ACCOUNT: '10/600', RATE_LIMIT_SCALE: '2.5' }));
      expect(config.rateLimits.rules.login.account).to.deep.equal({ points: 25, seconds: 600 });
      expect(config.rateLimits.rules.login.ip).to.deep.equal({ points: 75, seconds: 900 });
    });

    it('names every bad value and unknown RATE_LIMIT_ variable in one error', () => {
      const bad = { RATE_LIMIT_LOGIN_IP: 'ten', RATE_LIMIT_LOGIN_ACCOUNT: '0/900', RATE_LIMIT_FORGOT_IP: '5/0', RATE_LIMIT_LOGN_IP: '5/60', RATE_LIMIT_VERIFY_ACCOUNT: '5/60' };
      expect(load(bad)).to.throw(ConfigError);
      try {
        load(bad)();
      } catch (error) {
        const problems = (error as ConfigError).problems;
        for (const name of Object.keys(bad)) expect(problems.some((problem) => problem.startsWith(`${name} `)), `${name} in ${problems.join('; ')}`).to.equal(true);
        expect(problems).to.have.length(Object.keys(bad).length);
      }
    });

    it('says the wait in words, rounded up to its unit', () => {
      const cases: Array<[number, string]> = [[1, '1 second'], [89, '89 seconds'], [90, '2 minutes'], [900, '15 minutes'], [5_399, '90 minutes'], [5_400, '2 hours'], [86_400, '24 hours']];
      for (const [seconds, words] of cases) expect(describeWait(seconds), `${seconds} s`).to.equal(words);
    });

    it('defaults limit successful logins: under 80 of one account in 15 minutes, the IP limit at least 4 times that, both scaled', () => {
      const { rules } = loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '1' })).rateLimits;
      const { account, ip } = rules.login_success;
      // A fixed window: two windows' worth can fall within 15 minutes when one ends inside them.
      const perFifteenMinutes = (rule: { points: number; seconds: number }) => rule.points * (Math.ceil(900 / rule.seconds) + (rule.seconds < 900 ? 1 : 0));
      expect(perFifteenMinutes(account!)).to.be.below(80);
      expect(ip!.points / ip!.seconds).to.be.at.least((4 * account!.points) / account!.seconds);
      const scaled = loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '10' })).rateLimits.rules.login_success;
      expect(scaled.account!.points).to.equal(10 * account!.points);
      expect(scaled.ip!.points).to.equal(10 * ip!.points);
    });

    it('defaults answer 429 before the anomaly guard can lock an account', () => {
      const config = loadConfig(testEnv('db', { RATE_LIMIT_SCALE: '1' }));
      expect(loginFailuresWithinGuardWindow(config.rateLimits, config.anomaly.guardWindowSeconds)).to.be.below(config.anomaly.guardFailures);
    });
  });
});
