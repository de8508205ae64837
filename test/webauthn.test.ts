import { Writable } from 'node:stream';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import type { Component } from '../shared/process/boot.js';
import { createQueueSet, type QueueSet } from '../shared/queues/queue-set.js';
import { startAuditWorker } from '../workers/audit/start-audit-worker.js';
import { expectFailure, expectInvalidField, sql } from './support/expectations.js';
import { testApp, testDatabase } from './support/hooks.js';
import { loginUser, randomEmail, registerUser, request, strongPassword } from './support/http.js';
import { outboxEventsOf, startMailHarness, type MailHarness } from './support/mail-harness.js';
import { SoftAuthenticator } from './support/soft-authenticator.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { startTestApp } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const amrOf = (token: string) => (jwt.decode(token) as { amr: string[] }).amr;

/** The shared test app's relying party: PUBLIC_URL http://localhost:8001. */
const RP_ID = 'localhost';
const ORIGIN = 'http://localhost:8001';

/** A signed-in user (a fresh sign-in) and a software authenticator for this site. */
async function signedInUser(options: { backupEligible?: boolean } = {}) {
  const user = await registerUser();
  const { token } = await loginUser(user.email, user.password);
  return { ...user, token, authenticator: new SoftAuthenticator(RP_ID, ORIGIN, options) };
}

async function registerCredential(token: string, authenticator: SoftAuthenticator, label?: string) {
  const started = await request('POST', '/mfa/webauthn/register/options', { headers: bearer(token) });
  expect(started.status, started.text).to.equal(200);
  const verified = await request('POST', '/mfa/webauthn/register/verify', {
    json: { response: authenticator.register(started.body.options), ...(label ? { label } : {}) },
    headers: bearer(token),
  });
  expect(verified.status, verified.text).to.equal(201);
  return verified.body;
}

/** A user with one registered credential. */
async function userWithKey(options: { backupEligible?: boolean } = {}) {
  const user = await signedInUser(options);
  const registered = await registerCredential(user.token, user.authenticator);
  return { ...user, registered };
}

async function passwordStep(email: string, password: string) {
  const response = await request('POST', '/login', { json: { email, password } });
  expect(response.status, response.text).to.equal(200);
  expect(response.body.mfa_required, response.text).to.equal(true);
  return response.body as { mfa_token: string; methods: string[] };
}

async function webauthnOptions(mfaToken: string) {
  const response = await request('POST', '/login/webauthn/options', { json: { mfa_token: mfaToken } });
  expect(response.status, response.text).to.equal(200);
  return response.body.options;
}

async function passkeyOptions() {
  const response = await request('POST', '/login/passkey/options');
  expect(response.status, response.text).to.equal(200);
  return response.body as { options: { challenge: string; allowCredentials?: Array<{ id: string }>; userVerification?: string }; passkey_token: string };
}

const lastAttempt = async (userId: string) => (await sql('SELECT success, reason FROM login_attempts WHERE user_id = $1 ORDER BY id DESC LIMIT 1', [userId]))[0];
const lastFailure = async (userId: string) =>
  (await sql("SELECT payload->'data'->>'reason' AS reason FROM outbox WHERE aggregate_id = $1 AND type = 'LoginFailed' ORDER BY id DESC LIMIT 1", [userId]))[0]?.reason;

describe('WebAuthn: security keys and passkeys', function () {
  this.timeout(60_000);

  describe('registration', () => {
    it('offers creation options for a resident key with user verification preferred, explicit algorithms, and the registered keys excluded', async () => {
      const user = await signedInUser();
      const first = await request('POST', '/mfa/webauthn/register/options', { headers: bearer(user.token) });
      expect(first.status, first.text).to.equal(200);
      expect(first.headers.get('cache-control')).to.equal('no-store');
      const { options } = first.body;
      expect(options.rp).to.deep.equal({ name: 'user-services', id: RP_ID });
      expect(options.user.name).to.equal(user.email);
      expect(Buffer.from(options.user.id, 'base64url').toString('hex')).to.equal(user.userId.replace(/-/g, ''));
      expect(options.pubKeyCredParams.map((param: { alg: number }) => param.alg)).to.deep.equal([-8, -7, -257]);
      expect(options.authenticatorSelection).to.include({ residentKey: 'preferred', userVerification: 'preferred' });
      expect(options.attestation).to.equal('none');
      expect(options.excludeCredentials).to.deep.equal([]);
      expect(options.challenge).to.match(/^[\w-]{43,}$/);

      await registerCredential(user.token, user.authenticator);
      const second = await request('POST', '/mfa/webauthn/register/options', { headers: bearer(user.token) });
      expect(second.body.options.excludeCredentials).to.deep.equal([{ id: user.authenticator.credentialId, type: 'public-key', transports: ['internal'] }]);
      expect(second.body.options.challenge).not.to.equal(options.challenge);
    });

    it('stores the credential as a webauthn row, lists it without its key, shows it on /me and issues the first recovery codes', async () => {
      const user = await signedInUser();
      const registered = await registerCredential(user.token, user.authenticator, 'Laptop');
      expect(registered.credential).to.include({ type: 'webauthn', label: 'Laptop', backup_eligible: false, backed_up: false, discoverable: true, last_used_at: null });
      expect(registered.credential.transports).to.deep.equal(['internal']);
      expect(registered.recovery_codes).to.have.length(10);

      const [row] = await sql("SELECT credential_id, webauthn_pub, sign_count::int AS sign_count, transports, user_handle, activated_at FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn'", [user.userId]);
      expect(row.credential_id).to.equal(user.authenticator.credentialId);
      expect(row.webauthn_pub).to.match(/^[\w-]+$/);
      expect(row.sign_count).to.equal(0);
      expect(row.user_handle).to.equal(user.authenticator.userHandle);
      expect(row.activated_at).to.be.an.instanceOf(Date);

      const listed = await request('GET', '/mfa/webauthn/credentials', { headers: bearer(user.token) });
      expect(listed.status).to.equal(200);
      expect(listed.body.credentials).to.have.length(1);
      expect(listed.body.credentials[0].id).to.equal(registered.credential.id);
      expect(listed.text).not.to.contain(row.webauthn_pub).and.not.to.contain(row.credential_id);

      const me = await request('GET', '/me', { headers: bearer(user.token) });
      expect(me.body.mfa.enabled).to.equal(true);
      expect(me.body.mfa.methods).to.have.length(1);
      expect(me.body.mfa.methods[0]).to.include({ id: registered.credential.id, type: 'webauthn', label: 'Laptop' });

      const events = (await outboxEventsOf(user.userId)).filter((event) => event.type === 'MfaEnabled');
      expect(events.map((event) => event.data)).to.deep.equal([{ method: 'webauthn', method_id: registered.credential.id }, { method: 'recovery_codes' }]);

      // A second key is one more credential; no new recovery codes.
      const second = await registerCredential(user.token, new SoftAuthenticator(RP_ID, ORIGIN));
      expect(second).not.to.have.property('recovery_codes');
      expect((await request('GET', '/mfa/webauthn/credentials', { headers: bearer(user.token) })).body.credentials).to.have.length(2);
    });

    it('refuses an answer from another origin, for another RP id, to a spent challenge, or a credential registered already', async () => {
      const user = await signedInUser();
      const options = async () => (await request('POST', '/mfa/webauthn/register/options', { headers: bearer(user.token) })).body.options;
      const verify = (response: unknown) => request('POST', '/mfa/webauthn/register/verify', { json: { response }, headers: bearer(user.token) });

      expectFailure(await verify(user.authenticator.register(await options(), { origin: 'http://evil.example' })), 400, 'invalid_request');
      expectFailure(await verify(user.authenticator.register(await options(), { rpId: 'example.com' })), 400, 'invalid_request');
      // The challenge of the options is spent by an attempt, right or wrong.
      const spent = await options();
      expectFailure(await verify(user.authenticator.register(spent, { origin: 'http://evil.example' })), 400, 'invalid_request');
      expectFailure(await verify(user.authenticator.register(spent)), 400, 'invalid_request');
      expect(await sql("SELECT 1 FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn'", [user.userId])).to.have.length(0);

      await registerCredential(user.token, user.authenticator);
      const other = await signedInUser();
      const stolen = user.authenticator.register((await request('POST', '/mfa/webauthn/register/options', { headers: bearer(other.token) })).body.options);
      expectFailure(await request('POST', '/mfa/webauthn/register/verify', { json: { response: stolen }, headers: bearer(other.token) }), 409, 'conflict');
    });

    it('needs a sign-in of the last 5 minutes or the password, and refuses malformed answers with 400', async () => {
      const user = await signedInUser();
      await sql("UPDATE sessions SET created_at = now() - interval '10 minutes' WHERE user_id = $1", [user.userId]);
      expectFailure(await request('POST', '/mfa/webauthn/register/options', { headers: bearer(user.token) }), 401, 'reauthentication_required');
      expectFailure(await request('POST', '/mfa/webauthn/register/options', { json: { password: strongPassword() }, headers: bearer(user.token) }), 401, 'invalid_credentials');
      const started = await request('POST', '/mfa/webauthn/register/options', { json: { password: user.password }, headers: bearer(user.token) });
      expect(started.status).to.equal(200);
      const response = user.authenticator.register(started.body.options);
      expectFailure(await request('POST', '/mfa/webauthn/register/verify', { json: { response }, headers: bearer(user.token) }), 401, 'reauthentication_required');
      expectInvalidField(await request('POST', '/mfa/webauthn/register/verify', { json: { response: { ...response, type: 'other' }, password: user.password }, headers: bearer(user.token) }), 'response.type');
      expectInvalidField(await request('POST', '/mfa/webauthn/register/verify', { json: { password: user.password }, headers: bearer(user.token) }), 'response');
      expectFailure(await request('POST', '/mfa/webauthn/register/options'), 401, 'unauthorized');
      expect((await request('POST', '/mfa/webauthn/register/verify', { json: { response, password: user.password }, headers: bearer(user.token) })).status).to.equal(201);
    });
  });

  describe('the second step of a password sign-in', () => {
    it('offers webauthn only to an account with a key, lists its keys, and signs in with amr pwd hwk mfa', async () => {
      const plain = await signedInUser();
      expect((await request('POST', '/login', { json: { email: plain.email, password: plain.password } })).body).to.have.property('token');

      const user = await userWithKey();
      const step = await passwordStep(user.email, user.password);
      expect(step.methods).to.deep.equal(['webauthn', 'recovery_code']);
      const options = await webauthnOptions(step.mfa_token);
      expect(options.rpId).to.equal(RP_ID);
      expect(options.allowCredentials).to.deep.equal([{ id: user.authenticator.credentialId, type: 'public-key', transports: ['internal'] }]);

      const signedIn = await request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response: user.authenticator.assert(options) } });
      expect(signedIn.status, signedIn.text).to.equal(200);
      expect(amrOf(signedIn.body.token)).to.deep.equal(['pwd', 'hwk', 'mfa']);
      expect((await request('GET', '/me', { headers: bearer(signedIn.body.token) })).status).to.equal(200);
      const [row] = await sql("SELECT sign_count::int AS sign_count, last_used_at FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn'", [user.userId]);
      expect(row.sign_count).to.equal(1);
      expect(row.last_used_at).to.be.an.instanceOf(Date);
      expect(await lastAttempt(user.userId)).to.deep.equal({ success: true, reason: null });

      // The mfa_token is spent by its first success.
      expectFailure(await request('POST', '/login/webauthn/options', { json: { mfa_token: step.mfa_token } }), 401, 'invalid_token');
      expectFailure(await request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response: user.authenticator.assert(options) } }), 401, 'invalid_token');
    });

    it('a TOTP user without a key gets 409 from the WebAuthn step; a dead mfa_token is 401', async () => {
      const user = await signedInUser();
      const { secret } = (await request('POST', '/mfa/totp/enroll', { headers: bearer(user.token) })).body;
      const { oathtoolCode } = await import('./support/oathtool.js');
      expect((await request('POST', '/mfa/totp/activate', { json: { code: await oathtoolCode(secret) }, headers: bearer(user.token) })).status).to.equal(200);
      const step = await passwordStep(user.email, user.password);
      expect(step.methods).to.deep.equal(['totp', 'recovery_code']);
      expectFailure(await request('POST', '/login/webauthn/options', { json: { mfa_token: step.mfa_token } }), 409, 'conflict');
      expectFailure(await request('POST', '/login/webauthn/options', { json: { mfa_token: 'not-a-token' } }), 401, 'invalid_token');
      expectInvalidField(await request('POST', '/login/webauthn/options', { json: {} }), 'mfa_token');
    });

    it('refuses a replayed assertion, another origin and another RP id as invalid_code, each a failed attempt', async () => {
      const user = await userWithKey();
      const first = await passwordStep(user.email, user.password);
      const firstOptions = await webauthnOptions(first.mfa_token);
      const used = user.authenticator.assert(firstOptions);
      expect((await request('POST', '/login/webauthn/verify', { json: { mfa_token: first.mfa_token, response: used } })).status).to.equal(200);

      const step = await passwordStep(user.email, user.password);
      const verify = (response: unknown) => request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response } });
      // The same assertion again, for a new challenge: its signature is over the old one.
      await webauthnOptions(step.mfa_token);
      expectFailure(await verify(used), 401, 'invalid_code');
      expect(await lastAttempt(user.userId)).to.deep.equal({ success: false, reason: 'invalid_code' });
      expect(await lastFailure(user.userId)).to.equal('invalid_code');

      expectFailure(await verify(user.authenticator.assert(await webauthnOptions(step.mfa_token), { origin: 'http://evil.example' })), 401, 'invalid_code');
      expectFailure(await verify(user.authenticator.assert(await webauthnOptions(step.mfa_token), { rpId: 'example.com' })), 401, 'invalid_code');
      // A challenge answers one assertion: after a wrong one, the right one for it finds none.
      const options = await webauthnOptions(step.mfa_token);
      expectFailure(await verify(user.authenticator.assert(options, { origin: 'http://evil.example' })), 401, 'invalid_code');
      expectFailure(await verify(user.authenticator.assert(options)), 401, 'invalid_code');
      // That was the fifth wrong answer: the mfa_token is dead.
      expectFailure(await request('POST', '/login/webauthn/options', { json: { mfa_token: step.mfa_token } }), 401, 'invalid_token');
      const failures = await sql("SELECT count(*)::int AS n FROM login_attempts WHERE user_id = $1 AND reason = 'invalid_code'", [user.userId]);
      expect(failures[0].n).to.equal(5);
    });

    it('accepts one of two requests sending the same assertion at once', async () => {
      const user = await userWithKey();
      const step = await passwordStep(user.email, user.password);
      const response = user.authenticator.assert(await webauthnOptions(step.mfa_token));
      const answers = await Promise.all([0, 1].map(() => request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response } })));
      expect(answers.map((answer) => answer.status).sort()).to.deep.equal([200, 401]);
    });

    it('refuses a signature counter that goes backwards, logs it and records LoginFailed webauthn_counter_regressed', async () => {
      const user = await userWithKey();
      const ahead = await passwordStep(user.email, user.password);
      expect((await request('POST', '/login/webauthn/verify', { json: { mfa_token: ahead.mfa_token, response: user.authenticator.assert(await webauthnOptions(ahead.mfa_token), { counter: 10 }) } })).status).to.equal(200);

      const step = await passwordStep(user.email, user.password);
      for (const counter of [7, 10]) {
        const stale = user.authenticator.assert(await webauthnOptions(step.mfa_token), { counter });
        expectFailure(await request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response: stale } }), 401, 'invalid_code');
        expect(await lastAttempt(user.userId)).to.deep.equal({ success: false, reason: 'webauthn_counter_regressed' });
        expect(await lastFailure(user.userId)).to.equal('webauthn_counter_regressed');
      }
      const [row] = await sql("SELECT sign_count::int AS sign_count FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn'", [user.userId]);
      expect(row.sign_count).to.equal(10);
      const forward = user.authenticator.assert(await webauthnOptions(step.mfa_token), { counter: 11 });
      expect((await request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response: forward } })).status).to.equal(200);
    });
  });

  describe('passkey sign-in', () => {
    it('signs in with a passkey alone: no allowCredentials, user verification required, amr hwk mfa, attempts row and LoginSucceeded', async () => {
      const user = await userWithKey();
      const { options, passkey_token } = await passkeyOptions();
      expect(options).not.to.have.property('allowCredentials');
      expect(options.userVerification).to.equal('required');
      const signedIn = await request('POST', '/login/passkey/verify', { json: { passkey_token, response: user.authenticator.assert(options) } });
      expect(signedIn.status, signedIn.text).to.equal(200);
      expect(amrOf(signedIn.body.token)).to.deep.equal(['hwk', 'mfa']);
      expect(jwt.decode(signedIn.body.token)).to.have.property('sub', user.userId);
      const me = await request('GET', '/me', { headers: bearer(signedIn.body.token) });
      expect(me.body.email).to.equal(user.email);
      const refreshed = await request('POST', '/token/refresh', { json: { refresh_token: signedIn.body.refresh_token } });
      expect(amrOf(refreshed.body.token)).to.deep.equal(['hwk', 'mfa']);

      const [attempt] = await sql('SELECT success, reason, email FROM login_attempts WHERE user_id = $1 ORDER BY id DESC LIMIT 1', [user.userId]);
      expect(attempt).to.deep.equal({ success: true, reason: null, email: user.email });
      const succeeded = (await outboxEventsOf(user.userId)).filter((event) => event.type === 'LoginSucceeded');
      expect(succeeded.at(-1)!.data).to.have.keys('session_id', 'attempt_id');

      // The passkey_token is good for one sign-in.
      expectFailure(await request('POST', '/login/passkey/verify', { json: { passkey_token, response: user.authenticator.assert(options) } }), 401, 'invalid_token');
    });

    it('a synced passkey (backup eligible) shows as swk', async () => {
      const user = await userWithKey({ backupEligible: true });
      expect(user.registered.credential).to.include({ backup_eligible: true, backed_up: true });
      const { options, passkey_token } = await passkeyOptions();
      const signedIn = await request('POST', '/login/passkey/verify', { json: { passkey_token, response: user.authenticator.assert(options) } });
      expect(amrOf(signedIn.body.token)).to.deep.equal(['swk', 'mfa']);
    });

    it('refuses an unknown passkey, a replay, an answer without user verification or user handle, another origin and another RP id', async () => {
      const user = await userWithKey();
      const stranger = new SoftAuthenticator(RP_ID, ORIGIN);
      stranger.userHandle = user.authenticator.userHandle;
      const verify = async (response: (options: { challenge: string }) => unknown) => {
        const { options, passkey_token } = await passkeyOptions();
        return request('POST', '/login/passkey/verify', { json: { passkey_token, response: response(options) } });
      };
      expectFailure(await verify((options) => stranger.assert(options)), 401, 'invalid_credentials');
      const [unknown] = await sql("SELECT user_id, email FROM login_attempts WHERE reason = 'unknown_passkey' ORDER BY id DESC LIMIT 1");
      expect(unknown).to.deep.equal({ user_id: null, email: null });

      const first = await passkeyOptions();
      const used = user.authenticator.assert(first.options);
      expect((await request('POST', '/login/passkey/verify', { json: { passkey_token: first.passkey_token, response: used } })).status).to.equal(200);
      expectFailure(await verify(() => used), 401, 'invalid_credentials');
      expect(await lastAttempt(user.userId)).to.deep.equal({ success: false, reason: 'invalid_passkey' });
      expect(await lastFailure(user.userId)).to.equal('invalid_passkey');

      expectFailure(await verify((options) => user.authenticator.assert(options, { userVerified: false })), 401, 'invalid_credentials');
      expectFailure(await verify((options) => user.authenticator.assert(options, { origin: 'http://evil.example' })), 401, 'invalid_credentials');
      expectFailure(await verify((options) => user.authenticator.assert(options, { rpId: 'example.com' })), 401, 'invalid_credentials');
      const handle = user.authenticator.userHandle;
      user.authenticator.userHandle = Buffer.alloc(16, 7).toString('base64url');
      expectFailure(await verify((options) => user.authenticator.assert(options)), 401, 'invalid_credentials');
      user.authenticator.userHandle = handle;
      expect((await verify((options) => user.authenticator.assert(options))).status).to.equal(200);
      expectFailure(await request('POST', '/login/passkey/verify', { json: { passkey_token: 'not-a-token', response: used } }), 401, 'invalid_token');
    });

    it('refuses a locked, disabled or deleted account, recording the attempt', async () => {
      const user = await userWithKey();
      const verify = async () => {
        const { options, passkey_token } = await passkeyOptions();
        return request('POST', '/login/passkey/verify', { json: { passkey_token, response: user.authenticator.assert(options) } });
      };
      await sql("UPDATE users SET status = 'locked' WHERE id = $1", [user.userId]);
      expectFailure(await verify(), 403, 'account_locked');
      expect(await lastAttempt(user.userId)).to.deep.equal({ success: false, reason: 'account_locked' });
      await sql("UPDATE users SET status = 'disabled' WHERE id = $1", [user.userId]);
      expectFailure(await verify(), 403, 'account_disabled');
      expect(await lastAttempt(user.userId)).to.deep.equal({ success: false, reason: 'account_disabled' });
      await sql("UPDATE users SET status = 'active' WHERE id = $1", [user.userId]);
      expect((await verify()).status).to.equal(200);

      expect((await request('POST', '/login', { json: { email: user.email, password: user.password } })).body.mfa_required).to.equal(true);
      const deleteToken = (await request('POST', '/login/passkey/options')).body;
      const signedIn = await request('POST', '/login/passkey/verify', { json: { passkey_token: deleteToken.passkey_token, response: user.authenticator.assert(deleteToken.options) } });
      const deleted = await request('DELETE', '/me', { json: { password: user.password }, headers: bearer(signedIn.body.token) });
      expect(deleted.status, deleted.text).to.be.oneOf([200, 202, 204]);
      expect(await sql('SELECT 1 FROM mfa_methods WHERE user_id = $1', [user.userId])).to.have.length(0);
      expectFailure(await verify(), 401, 'invalid_credentials');
    });
  });

  describe('passkey sign-in under the login limits', () => {
    let limited: Awaited<ReturnType<typeof startTestApp>>;
    const prefix = testPrefix('wa-rl');

    before(async () => {
      limited = await startTestApp(testDatabase(), {
        RATE_LIMIT_SCALE: '1',
        RATE_LIMIT_PREFIX: prefix,
        RATE_LIMIT_DELAY_BASE_MS: '0',
        RATE_LIMIT_LOGIN_IP: '1000/900',
        RATE_LIMIT_LOGIN_IP_ACCOUNT: '1000/900',
        RATE_LIMIT_PASSKEY_IP: '1000/900',
        RATE_LIMIT_LOGIN_SUCCESS_IP: '1000/900',
        RATE_LIMIT_LOGIN_SUCCESS_ACCOUNT: '3/900',
        // The client below comes from a network that never signed in to the account (a network
        // that did has an account budget of its own, as for password logins).
        TRUST_PROXY_HOPS: '1',
      });
    });

    after(async () => {
      await limited?.close();
      await removeTestKeys(prefix);
    });

    it('counts wrong passkey answers against the account, as wrong passwords are', async () => {
      const user = await userWithKey();
      const headers = { 'x-forwarded-for': '203.0.113.77' };
      const verify = async (overrides: { origin?: string } = {}) => {
        const started = await request('POST', '/login/passkey/options', { baseUrl: limited.url, headers });
        return request('POST', '/login/passkey/verify', { baseUrl: limited.url, headers, json: { passkey_token: started.body.passkey_token, response: user.authenticator.assert(started.body.options, overrides) } });
      };
      for (let i = 0; i < 4; i += 1) expectFailure(await verify({ origin: 'http://evil.example' }), 401, 'invalid_credentials');
      const refused = await verify();
      expectFailure(refused, 429, 'rate_limited');
      expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
      // One budget per account: the password is refused too.
      expectFailure(await request('POST', '/login', { baseUrl: limited.url, headers, json: { email: user.email, password: user.password } }), 429, 'rate_limited');
    });

    it('counts passkey sign-ins under the successful-login limit; a wrong answer spends none of it', async () => {
      const user = await userWithKey();
      const liveSessions = async () =>
        (await sql('SELECT count(*)::int AS sessions FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.userId]))[0].sessions as number;
      const before = await liveSessions();
      const headers = { 'x-forwarded-for': '203.0.113.78' };
      const verify = async (overrides: { origin?: string } = {}) => {
        const started = await request('POST', '/login/passkey/options', { baseUrl: limited.url, headers });
        return request('POST', '/login/passkey/verify', { baseUrl: limited.url, headers, json: { passkey_token: started.body.passkey_token, response: user.authenticator.assert(started.body.options, overrides) } });
      };
      expectFailure(await verify({ origin: 'http://evil.example' }), 401, 'invalid_credentials');
      for (let i = 0; i < 3; i += 1) {
        const signedIn = await verify();
        expect(signedIn.status, signedIn.text).to.equal(200);
      }
      const refused = await verify();
      expectFailure(refused, 429, 'rate_limited');
      expect(refused.headers.get('retry-after')).to.match(/^\d+$/);
      expect(await liveSessions()).to.equal(before + 3);
    });
  });

  describe('removal, export and notices', () => {
    it('removes a key with a fresh sign-in or the password; the last one takes the recovery codes; MfaDisabled', async () => {
      const user = await userWithKey();
      const id = user.registered.credential.id;
      expectFailure(await request('DELETE', `/mfa/webauthn/credentials/${crypto.randomUUID()}`, { headers: bearer(user.token) }), 404, 'not_found');
      const other = await userWithKey();
      expectFailure(await request('DELETE', `/mfa/webauthn/credentials/${id}`, { headers: bearer(other.token) }), 404, 'not_found');
      await sql("UPDATE sessions SET created_at = now() - interval '10 minutes' WHERE user_id = $1", [user.userId]);
      expectFailure(await request('DELETE', `/mfa/webauthn/credentials/${id}`, { headers: bearer(user.token) }), 401, 'reauthentication_required');
      expect((await request('DELETE', `/mfa/webauthn/credentials/${id}`, { json: { password: user.password }, headers: bearer(user.token) })).status).to.equal(204);
      expect(await sql('SELECT 1 FROM mfa_methods WHERE user_id = $1', [user.userId])).to.have.length(0);
      expect(await sql('SELECT 1 FROM recovery_codes WHERE user_id = $1', [user.userId])).to.have.length(0);
      const disabled = (await outboxEventsOf(user.userId)).filter((event) => event.type === 'MfaDisabled').map((event) => event.data);
      expect(disabled).to.deep.equal([{ method: 'webauthn', method_id: id }, { method: 'recovery_codes' }]);
      const login = await request('POST', '/login', { json: { email: user.email, password: user.password } });
      expect(amrOf(login.body.token)).to.deep.equal(['pwd']);
    });

    it('the export lists the keys without their public key or credential id', async () => {
      const user = await userWithKey();
      const exported = await request('GET', '/me/export', { headers: bearer(user.token) });
      expect(exported.status, exported.text).to.equal(200);
      const [row] = await sql("SELECT credential_id, webauthn_pub FROM mfa_methods WHERE user_id = $1 AND type = 'webauthn'", [user.userId]);
      expect(exported.text).to.contain(user.registered.credential.id).and.not.contain(row.webauthn_pub).and.not.contain(row.credential_id);
    });

    describe('with the mail and audit reactions running', () => {
      let mail: MailHarness;
      let auditQueues: QueueSet;
      let audit: Component;

      before(async () => {
        mail = await startMailHarness();
        auditQueues = createQueueSet(mail.config, testApp().services.log, 'consumer');
        audit = await startAuditWorker({ ...testApp().services, config: mail.config, queueSet: auditQueues });
      });

      after(async () => {
        await audit?.stop();
        await auditQueues?.close();
        await mail?.stop();
      });

      it('audits and mails the owner when a key is added and removed, and audits a counter that went backwards', async () => {
        const email = randomEmail();
        const password = strongPassword();
        const created = await request('POST', '/register', { json: { email, password, locale: 'de' } });
        const userId: string = created.body.user_id;
        const { token } = await loginUser(email, password);
        const authenticator = new SoftAuthenticator(RP_ID, ORIGIN);
        const registered = await registerCredential(token, authenticator);
        const step = await passwordStep(email, password);
        expect((await request('POST', '/login/webauthn/verify', { json: { mfa_token: step.mfa_token, response: authenticator.assert(await webauthnOptions(step.mfa_token), { counter: 5 }) } })).status).to.equal(200);
        const again = await passwordStep(email, password);
        const stale = authenticator.assert(await webauthnOptions(again.mfa_token), { counter: 2 });
        expectFailure(await request('POST', '/login/webauthn/verify', { json: { mfa_token: again.mfa_token, response: stale } }), 401, 'invalid_code');
        expect((await request('DELETE', `/mfa/webauthn/credentials/${registered.credential.id}`, { headers: bearer(token) })).status).to.equal(204);

        const notices = await waitFor('the four second-factor notices', () => {
          const found = mail.sink.mailsTo(email).map((received) => received.parsed).filter((parsed) => parsed.subject?.includes('zweiter Faktor'));
          return found.length >= 4 ? found : undefined;
        });
        expect(notices.map((notice) => notice.subject).sort()).to.deep.equal([
          'Ein zweiter Faktor wurde aus Ihrem Konto entfernt',
          'Ein zweiter Faktor wurde aus Ihrem Konto entfernt',
          'Ihrem Konto wurde ein zweiter Faktor hinzugefügt',
          'Ihrem Konto wurde ein zweiter Faktor hinzugefügt',
        ]);
        expect(notices.map((notice) => notice.text ?? '').join('\n')).to.contain('Sicherheitsschlüssel oder Passkey');

        const actions = await waitFor('the audit rows', async () => {
          const rows = await sql("SELECT action, metadata FROM audit_logs WHERE user_id = $1 AND action IN ('mfa.enable', 'mfa.disable', 'user.login_failed') ORDER BY created_at, id", [userId]);
          return rows.length >= 5 ? rows : undefined;
        });
        const summary = actions.map((row) => `${row.action}:${JSON.stringify(row.metadata)}`).join('\n');
        expect(summary).to.contain('mfa.enable').and.contain('mfa.disable').and.contain('webauthn_counter_regressed');
        expect(summary).not.to.contain(authenticator.credentialId);
      });
    });
  });

  describe('on an install whose PUBLIC_URL is an IP address', () => {
    it('logs a warning at start and answers 503 with Retry-After on every WebAuthn route, while /login works', async () => {
      const lines: string[] = [];
      const logTo = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const app = await startTestApp(testDatabase(), { PUBLIC_URL: 'http://127.0.0.1:8001', LOG_LEVEL: 'warn' }, logTo);
      try {
        expect(lines.join('')).to.contain('WebAuthn is off').and.contain('127.0.0.1');
        const user = await registerUser(randomEmail(), strongPassword());
        const login = await request('POST', '/login', { baseUrl: app.url, json: { email: user.email, password: user.password } });
        expect(login.status, login.text).to.equal(200);
        const headers = bearer(login.body.token);
        const assertion = new SoftAuthenticator('127.0.0.1', 'http://127.0.0.1:8001').assert({ challenge: 'x' });
        const answers = [
          await request('POST', '/mfa/webauthn/register/options', { baseUrl: app.url, headers }),
          await request('POST', '/mfa/webauthn/register/verify', { baseUrl: app.url, headers, json: { response: new SoftAuthenticator('127.0.0.1', 'http://127.0.0.1:8001').register({ challenge: 'x', rp: { name: 'x' }, user: { id: 'AA', name: 'x' }, pubKeyCredParams: [{ alg: -7 }] }) } }),
          await request('GET', '/mfa/webauthn/credentials', { baseUrl: app.url, headers }),
          await request('DELETE', `/mfa/webauthn/credentials/${crypto.randomUUID()}`, { baseUrl: app.url, headers }),
          await request('POST', '/login/webauthn/options', { baseUrl: app.url, json: { mfa_token: 'whatever' } }),
          await request('POST', '/login/webauthn/verify', { baseUrl: app.url, json: { mfa_token: 'whatever', response: assertion } }),
          await request('POST', '/login/passkey/options', { baseUrl: app.url }),
          await request('POST', '/login/passkey/verify', { baseUrl: app.url, json: { passkey_token: 'whatever', response: assertion } }),
        ];
        for (const answer of answers) {
          expectFailure(answer, 503, 'unavailable');
          expect(answer.headers.get('retry-after')).to.match(/^\d+$/);
        }
      } finally {
        await app.close();
      }
    });
  });
});
