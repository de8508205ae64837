import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { expectFailure, expectInvalidField, sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { loginUser, registerUser, request, strongPassword } from './support/http.js';
import { oathtoolCode } from './support/oathtool.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const amrOf = (token: string) => (jwt.decode(token) as { amr: string[] }).amr;

/** A signed-in user with TOTP on: its secret and recovery codes. */
async function userWithTotp() {
  const user = await registerUser();
  const tokens = await loginUser(user.email, user.password);
  const enrolled = await request('POST', '/mfa/totp/enroll', { headers: bearer(tokens.token) });
  expect(enrolled.status, enrolled.text).to.equal(200);
  const secret: string = enrolled.body.secret;
  const activated = await request('POST', '/mfa/totp/activate', { json: { code: await oathtoolCode(secret) }, headers: bearer(tokens.token) });
  expect(activated.status, activated.text).to.equal(200);
  return { ...user, token: tokens.token, secret, recoveryCodes: activated.body.recovery_codes as string[] };
}

/** login_attempts_total of the shared test app, by step and result. */
async function loginCounts(): Promise<Record<string, number>> {
  const { values } = await testApp().services.metrics.loginAttempts.get();
  return Object.fromEntries(values.map((value) => [`${value.labels.step}/${value.labels.result}`, value.value]));
}

async function passwordStep(email: string, password: string): Promise<string> {
  const response = await request('POST', '/login', { json: { email, password } });
  expect(response.status, response.text).to.equal(200);
  expect(response.body.mfa_required).to.equal(true);
  return response.body.mfa_token;
}

describe('TOTP second factor', function () {
  this.timeout(60_000);

  it('enrols with a secret and an otpauth URI, and counts for nothing until activated', async () => {
    const user = await registerUser();
    const { token } = await loginUser(user.email, user.password);
    const enrolled = await request('POST', '/mfa/totp/enroll', { headers: bearer(token) });
    expect(enrolled.body.secret).to.match(/^[A-Z2-7]{32}$/);
    const uri = new URL(enrolled.body.otpauth_uri);
    expect(uri.searchParams.get('secret')).to.equal(enrolled.body.secret);
    expect(decodeURIComponent(uri.pathname)).to.equal(`/user-services:${user.email}`);
    const [row] = await sql("SELECT secret, activated_at FROM mfa_methods WHERE user_id = $1 AND type = 'totp'", [user.userId]);
    expect(row.activated_at).to.equal(null);
    expect(row.secret).to.match(/^v1\./).and.not.contain(enrolled.body.secret);
    expect((await request('GET', '/me', { headers: bearer(token) })).body.mfa).to.deep.equal({ enabled: false, methods: [] });
    const login = await request('POST', '/login', { json: { email: user.email, password: user.password } });
    expect(login.body).to.have.property('token');
    expectFailure(await request('POST', '/mfa/totp/activate', { json: { code: '000000' }, headers: bearer(token) }), 401, 'invalid_code');
  });

  it('activates with an oathtool code, answers 10 recovery codes, and from then on a password alone opens no session', async () => {
    const user = await userWithTotp();
    expect(user.recoveryCodes).to.have.length(10);
    expect(new Set(user.recoveryCodes).size).to.equal(10);
    const stored = await sql('SELECT code_hash FROM recovery_codes WHERE user_id = $1', [user.userId]);
    expect(stored).to.have.length(10);
    expect(stored.map((row: { code_hash: string }) => row.code_hash)).not.to.include.members(user.recoveryCodes);
    const me = await request('GET', '/me', { headers: bearer(user.token) });
    expect(me.body.mfa.enabled).to.equal(true);
    expect(me.body.mfa.methods.map((method: { type: string }) => method.type)).to.deep.equal(['totp']);

    const sessionsBefore = await sql('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [user.userId]);
    const login = await request('POST', '/login', { json: { email: user.email, password: user.password } });
    expect(login.body).to.have.keys('mfa_required', 'mfa_token', 'methods');
    expect(login.body.methods).to.deep.equal(['totp', 'recovery_code']);
    const sessionsAfter = await sql('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [user.userId]);
    expect(sessionsAfter).to.deep.equal(sessionsBefore);
    expectFailure(await request('GET', '/me', { headers: bearer(login.body.mfa_token) }), 401, 'unauthorized');
  });

  it('signs in with a code one step ahead, carries amr, and refuses the same code again', async () => {
    const user = await userWithTotp();
    const countsBefore = await loginCounts();
    const ahead = await oathtoolCode(user.secret, { steps: 1 });
    const signedIn = await request('POST', '/login/mfa', { json: { mfa_token: await passwordStep(user.email, user.password), code: ahead } });
    expect(signedIn.status, signedIn.text).to.equal(200);
    expect(amrOf(signedIn.body.token)).to.deep.equal(['pwd', 'otp', 'mfa']);
    expect((await request('GET', '/me', { headers: bearer(signedIn.body.token) })).status).to.equal(200);
    const refreshed = await request('POST', '/token/refresh', { json: { refresh_token: signedIn.body.refresh_token } });
    expect(amrOf(refreshed.body.token)).to.deep.equal(['pwd', 'otp', 'mfa']);

    const again = await passwordStep(user.email, user.password);
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: again, code: ahead } }), 401, 'invalid_code');
    const now = await oathtoolCode(user.secret);
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: again, code: now } }), 401, 'invalid_code');
    const [attempt] = await sql("SELECT success, reason FROM login_attempts WHERE user_id = $1 ORDER BY id DESC LIMIT 1", [user.userId]);
    expect(attempt).to.deep.equal({ success: false, reason: 'invalid_code' });
    const [event] = await sql("SELECT payload->'data'->>'reason' AS reason FROM outbox WHERE aggregate_id = $1 AND type = 'LoginFailed' ORDER BY id DESC LIMIT 1", [user.userId]);
    expect(event.reason).to.equal('invalid_code');
    // Each step's result is counted in the metrics: two password steps, one right code, two wrong ones.
    const counts = await loginCounts();
    const moved = (key: string) => (counts[key] ?? 0) - (countsBefore[key] ?? 0);
    expect(moved('password/mfa_required')).to.equal(2);
    expect(moved('second_factor/success')).to.equal(1);
    expect(moved('second_factor/invalid_code')).to.equal(2);
  });

  it('spends the mfa_token on its first success and kills it after 5 wrong codes', async () => {
    const user = await userWithTotp();
    const token = await passwordStep(user.email, user.password);
    const first = await request('POST', '/login/mfa', { json: { mfa_token: token, recovery_code: user.recoveryCodes[0] } });
    expect(first.status).to.equal(200);
    expect(amrOf(first.body.token)).to.deep.equal(['pwd', 'otp', 'mfa']);
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: token, recovery_code: user.recoveryCodes[1] } }), 401, 'invalid_token');

    const doomed = await passwordStep(user.email, user.password);
    for (let i = 0; i < 5; i += 1) expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: doomed, code: '000000' } }), 401, 'invalid_code');
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: doomed, code: await oathtoolCode(user.secret) } }), 401, 'invalid_token');
  });

  it('accepts a recovery code once, even sent twice at once', async () => {
    const user = await userWithTotp();
    const [a, b] = [await passwordStep(user.email, user.password), await passwordStep(user.email, user.password)];
    const code = user.recoveryCodes[3]!.toUpperCase().replace(/-/g, ' ');
    const answers = await Promise.all([a, b].map((mfa_token) => request('POST', '/login/mfa', { json: { mfa_token, recovery_code: code } })));
    expect(answers.map((answer) => answer.status).sort()).to.deep.equal([200, 401]);
    expect(answers.find((answer) => answer.status === 401)!.body.error.code).to.equal('invalid_code');
  });

  it('refuses malformed second steps with 400 and an unknown mfa_token with 401', async () => {
    expectInvalidField(await request('POST', '/login/mfa', { json: { mfa_token: 'x' } }), 'code');
    expectInvalidField(await request('POST', '/login/mfa', { json: { mfa_token: 'x', code: '123456', recovery_code: 'abcd' } }), 'code');
    expectInvalidField(await request('POST', '/login/mfa', { json: { mfa_token: 'x', code: '12345' } }), 'code');
    expectInvalidField(await request('POST', '/login/mfa', { json: { code: '123456' } }), 'mfa_token');
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: 'not-a-token', code: '123456' } }), 401, 'invalid_token');
  });

  it('changing factors needs a sign-in of the last 5 minutes or the password', async () => {
    const user = await userWithTotp();
    await sql("UPDATE sessions SET created_at = now() - interval '10 minutes' WHERE user_id = $1", [user.userId]);
    expectFailure(await request('POST', '/mfa/recovery-codes', { json: { code: await oathtoolCode(user.secret, { steps: 1 }) }, headers: bearer(user.token) }), 401, 'reauthentication_required');
    expectFailure(await request('POST', '/mfa/recovery-codes', { json: { password: strongPassword() }, headers: bearer(user.token) }), 401, 'invalid_credentials');
    const renewed = await request('POST', '/mfa/recovery-codes', { json: { password: user.password }, headers: bearer(user.token) });
    expect(renewed.status).to.equal(200);
    const old = await passwordStep(user.email, user.password);
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: old, recovery_code: user.recoveryCodes[0] } }), 401, 'invalid_code');
    expect((await request('POST', '/login/mfa', { json: { mfa_token: old, recovery_code: renewed.body.recovery_codes[0] } })).status).to.equal(200);
    expectFailure(await request('POST', '/mfa/totp/enroll', { headers: bearer(user.token) }), 401, 'reauthentication_required');
  });

  it('turns off with a current code or the password, taking the recovery codes with it; a password alone signs in again', async () => {
    const user = await userWithTotp();
    expectInvalidField(await request('DELETE', '/mfa/totp', { json: {}, headers: bearer(user.token) }), 'code');
    expectFailure(await request('DELETE', '/mfa/totp', { json: { code: '000000' }, headers: bearer(user.token) }), 401, 'invalid_code');
    expect((await request('DELETE', '/mfa/totp', { json: { code: await oathtoolCode(user.secret, { steps: 1 }) }, headers: bearer(user.token) })).status).to.equal(204);
    expect(await sql('SELECT 1 FROM recovery_codes WHERE user_id = $1', [user.userId])).to.have.length(0);
    const login = await request('POST', '/login', { json: { email: user.email, password: user.password } });
    expect(amrOf(login.body.token)).to.deep.equal(['pwd']);
    expectFailure(await request('DELETE', '/mfa/totp', { json: { password: user.password }, headers: bearer(user.token) }), 404, 'not_found');
    const events = await sql("SELECT type, payload->'data'->>'method' AS method FROM outbox WHERE aggregate_id = $1 AND type LIKE 'Mfa%' ORDER BY id", [user.userId]);
    expect(events).to.deep.equal([
      { type: 'MfaEnabled', method: 'totp' },
      { type: 'MfaDisabled', method: 'totp' },
      { type: 'MfaDisabled', method: 'recovery_codes' },
    ]);
  });

  it('a password reset voids a pending second step', async () => {
    const user = await userWithTotp();
    const token = await passwordStep(user.email, user.password);
    await request('POST', '/password/change', { json: { current_password: user.password, new_password: strongPassword() }, headers: bearer(user.token) });
    expectFailure(await request('POST', '/login/mfa', { json: { mfa_token: token, code: await oathtoolCode(user.secret, { steps: 1 }) } }), 401, 'invalid_token');
  });
});
