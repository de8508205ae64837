import http from 'node:http';
import crypto from 'node:crypto';
import { expect } from 'chai';
import { insertLinkTokens } from '../shared/db/queries/link-tokens.js';
import { expectFailure, expectInvalidField, sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { loginUser, randomEmail, request, strongPassword } from './support/http.js';
import { linksIn, outboxEventsOf, settle, startMailHarness, tokenFromMail, type MailHarness } from './support/mail-harness.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function register(locale?: string) {
  const email = randomEmail();
  const password = strongPassword();
  const response = await request('POST', '/register', { json: { email, password, ...(locale ? { locale } : {}) } });
  expect(response.status, response.text).to.equal(201);
  return { email, password, userId: response.body.user_id as string };
}

/** POST /password/forgot over a raw socket, so Host and X-Forwarded-Host can be forged. */
function forgotWithHeaders(email: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const url = new URL(testApp().url);
  const body = JSON.stringify({ email });
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: '/password/forgot', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function resetRows(userId: string) {
  return sql<{ consumed_at: Date | null; expires_at: Date; created_at: Date }>(
    'SELECT consumed_at, expires_at, created_at FROM password_resets WHERE user_id = $1 ORDER BY created_at',
    [userId],
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('password reset', function () {
  this.timeout(90_000);
  let mail: MailHarness;
  const publicUrl = () => mail.config.publicUrl;

  before(async () => {
    mail = await startMailHarness();
  });

  after(async () => {
    await mail?.stop();
  });

  /** Registers, waits for the verification mail (so later mails are the reset ones), asks for a reset. */
  async function userWithResetMail(locale?: string) {
    const user = await register(locale);
    await mail.sink.waitForMails(user.email, 1);
    const forgot = await request('POST', '/password/forgot', { json: { email: user.email } });
    expect(forgot.status).to.equal(202);
    const mails = await mail.sink.waitForMails(user.email, 2);
    return { ...user, mail: mails[1]!, token: await tokenFromMail(mails[1]!, publicUrl(), '/password/reset') };
  }

  it('answers forgot-password the same for known and unknown emails, and mails only the known one', async () => {
    const user = await register();
    await mail.sink.waitForMails(user.email, 1);
    const unknown = randomEmail();
    const known = await request('POST', '/password/forgot', { json: { email: user.email } });
    const missing = await request('POST', '/password/forgot', { json: { email: unknown } });
    expect(known.status).to.equal(202);
    expect(missing.status).to.equal(202);
    expect(known.text).to.equal('{"message":"success"}');
    expect(missing.text).to.equal(known.text);
    expect(missing.headers.get('content-type')).to.equal(known.headers.get('content-type'));
    expect((await outboxEventsOf(user.userId)).map((event) => event.type)).to.deep.equal(['UserRegistered', 'PasswordResetRequested']);

    await mail.sink.waitForMails(user.email, 2);
    await settle();
    expect(mail.sink.mailsTo(unknown)).to.have.length(0);
    expect(mail.sink.mailsTo(user.email)).to.have.length(2);

    // About the same time: alternate many requests and compare medians (generous margin, shared machine).
    const times: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] };
    for (let i = 0; i < 30; i++) {
      for (const kind of ['known', 'unknown'] as const) {
        const started = performance.now();
        const response = await request('POST', '/password/forgot', { json: { email: kind === 'known' ? user.email : unknown } });
        times[kind].push(performance.now() - started);
        expect(response.text).to.equal(known.text);
      }
    }
    const difference = Math.abs(median(times.known) - median(times.unknown));
    expect(difference, `medians ${median(times.known).toFixed(2)} / ${median(times.unknown).toFixed(2)} ms`).to.be.below(
      Math.max(5, 0.5 * median(times.unknown)),
    );
    // The cooldown: those 30 repeats added no event and no mail.
    expect((await outboxEventsOf(user.userId)).filter((event) => event.type === 'PasswordResetRequested')).to.have.length(1);
  });

  it('builds the reset link from PUBLIC_URL whatever Host and X-Forwarded-Host say, and mails the stored address', async () => {
    const user = await register();
    await mail.sink.waitForMails(user.email, 1);
    // The same address in another case still mails the stored form.
    const response = await forgotWithHeaders(user.email.toUpperCase(), { host: 'evil.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' });
    expect(response.status).to.equal(202);
    const mails = await mail.sink.waitForMails(user.email, 2);
    const reset = mails[1]!;
    expect(reset.to).to.deep.equal([user.email.toLowerCase()]);
    expect(reset.parsed.subject).to.equal('Reset your password');
    const token = await tokenFromMail(reset, publicUrl(), '/password/reset');
    expect(reset.parsed.text).to.include(`${publicUrl()}/password/reset?token=${token}`);
    expect(`${reset.parsed.text}${reset.parsed.html}`).not.to.include('evil.example');
    const [row] = await resetRows(user.userId);
    expect(row!.expires_at.getTime() - row!.created_at.getTime()).to.equal(30 * 60_000);
    expect(await sql('SELECT 1 FROM password_resets WHERE token_hash = $1', [token])).to.have.length(0);
  });

  it('refuses an email that is not a string with 400, writing and mailing nothing', async () => {
    const user = await register();
    await mail.sink.waitForMails(user.email, 1);
    expectInvalidField(await request('POST', '/password/forgot', { json: { email: [user.email] } }), 'email');
    expectInvalidField(await request('POST', '/password/forgot', { json: { email: { $ne: '' } } }), 'email');
    expectInvalidField(await request('POST', '/password/forgot', { json: {} }), 'email');
    expectFailure(await request('POST', '/password/forgot', { raw: `email=${encodeURIComponent(user.email)}`, headers: FORM }), 415, 'unsupported_media_type');
    await settle();
    expect((await outboxEventsOf(user.userId)).map((event) => event.type)).to.deep.equal(['UserRegistered']);
    expect(mail.sink.mailsTo(user.email)).to.have.length(1);
  });

  it('keeps the token after a weak password; a reset revokes every session, swaps the passwords and mails a notice', async () => {
    const user = await userWithResetMail();
    const sessions = [await loginUser(user.email, user.password), await loginUser(user.email, user.password)];

    const page = await request('GET', `/password/reset?token=${user.token}`);
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.headers.get('content-security-policy')).to.include("form-action 'self'");
    expect(page.text).to.match(/<form method="post" action="reset">/);
    expect(page.text).to.include(`<input type="hidden" name="token" value="${user.token}">`);
    expect(page.text).to.match(/<input type="password"[^>]* name="password"/);
    expect(page.text).not.to.match(/<script/i);

    expectInvalidField(await request('POST', '/password/reset', { json: { token: user.token, password: 'password1234' } }), 'password');
    expectInvalidField(await request('POST', '/password/reset', { json: { token: user.token, password: user.email } }), 'password');
    expect((await resetRows(user.userId))[0]!.consumed_at).to.equal(null);
    for (const session of sessions) {
      expect((await request('GET', '/me', { headers: { authorization: `Bearer ${session.token}` } })).status).to.equal(200);
    }

    const newPassword = strongPassword();
    const done = await request('POST', '/password/reset', { json: { token: user.token, password: newPassword } });
    expect(done.status, done.text).to.equal(200);
    expect(done.body).to.deep.equal({ message: 'success' });

    for (const session of sessions) {
      expectFailure(await request('GET', '/me', { headers: { authorization: `Bearer ${session.token}` } }), 401, 'unauthorized');
    }
    expect(await sql('SELECT 1 FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [user.userId])).to.have.length(0);
    expect(
      await sql('SELECT 1 FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE s.user_id = $1 AND t.revoked_at IS NULL', [user.userId]),
    ).to.have.length(0);
    expectFailure(await request('POST', '/login', { json: { email: user.email, password: user.password } }), 401, 'invalid_credentials');
    await loginUser(user.email, newPassword);

    const changed = (await outboxEventsOf(user.userId)).filter((event) => event.type === 'PasswordChanged');
    expect(changed).to.have.length(1);
    expect(changed[0]!.data).to.deep.equal({ reason: 'reset', sessions_revoked: 2 });
    const revoked = (await outboxEventsOf(user.userId)).filter((event) => event.type === 'SessionRevoked');
    expect(revoked.map((event) => event.data.reason)).to.deep.equal(['password_reset', 'password_reset']);
    expectFailure(await request('POST', '/password/reset', { json: { token: user.token, password: strongPassword() } }), 400, 'invalid_token');

    const mails = await mail.sink.waitForMails(user.email, 3);
    const notice = mails[2]!;
    expect(notice.parsed.subject).to.equal('Your password was changed');
    expect(linksIn(notice.parsed.text ?? '')).to.have.length(0);
    await settle();
    expect(mail.sink.mailsTo(user.email)).to.have.length(3);
  });

  it('works from the page form, in German, and retires an older reset link when a newer one is mailed', async () => {
    const user = await userWithResetMail('de');
    expect(user.mail.parsed.subject).to.equal('Setzen Sie Ihr Passwort zurück');

    // A second request after the cooldown: a new link, the old one dead.
    await sql(`UPDATE outbox SET created_at = created_at - interval '61 seconds' WHERE aggregate_id = $1`, [user.userId]);
    expect((await request('POST', '/password/forgot', { json: { email: user.email } })).status).to.equal(202);
    const mails = await mail.sink.waitForMails(user.email, 3);
    const token = await tokenFromMail(mails[2]!, publicUrl(), '/password/reset');
    expectFailure(await request('POST', '/password/reset', { json: { token: user.token, password: strongPassword() } }), 400, 'invalid_token');

    const weak = await request('POST', '/password/reset', { raw: `token=${token}&password=password1234`, headers: FORM });
    expect(weak.status).to.equal(400);
    expect(weak.headers.get('content-type')).to.match(/^text\/html/);
    expect(weak.text).to.include('The password is not accepted');
    expect(weak.text).to.include(`value="${token}"`);

    const newPassword = `${strongPassword()} ü&<>`;
    const done = await request('POST', '/password/reset', {
      raw: new URLSearchParams({ token, password: newPassword }).toString(),
      headers: FORM,
    });
    expect(done.status).to.equal(200);
    expect(done.text).to.include('Password changed');
    await loginUser(user.email, newPassword);
    const again = await request('POST', '/password/reset', { raw: new URLSearchParams({ token, password: strongPassword() }).toString(), headers: FORM });
    expect(again.status).to.equal(400);
    expect(again.text).to.include('This link does not work');
    const notice = (await mail.sink.waitForMails(user.email, 4))[3]!;
    expect(notice.parsed.subject).to.equal('Ihr Passwort wurde geändert');
  });

  it('leaves one live link when two transactions issue a reset token to one user at once', async () => {
    const user = await register();
    const { pool } = testApp().services;
    const [first, second] = [await pool.connect(), await pool.connect()];
    try {
      await first.query('BEGIN');
      await second.query('BEGIN');
      await insertLinkTokens(first, 'password_resets', [{ userId: user.userId, tokenHash: 'first-'.padEnd(64, '0') }], 1_800);
      // The second issues while the first is still open; it must wait for it and then expire its token.
      const issuing = insertLinkTokens(second, 'password_resets', [{ userId: user.userId, tokenHash: 'second-'.padEnd(64, '0') }], 1_800);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await first.query('COMMIT');
      await issuing;
      await second.query('COMMIT');
    } finally {
      first.release();
      second.release();
    }
    const live = await sql<{ token_hash: string }>('SELECT token_hash FROM password_resets WHERE user_id = $1 AND consumed_at IS NULL AND expires_at > now()', [
      user.userId,
    ]);
    expect(live.map((row) => row.token_hash)).to.deep.equal(['second-'.padEnd(64, '0')]);
  });

  it('retires a mailed reset link when the password is changed before it is used', async () => {
    const user = await userWithResetMail();
    const { token } = await loginUser(user.email, user.password);
    const newPassword = strongPassword();
    const changed = await request('POST', '/password/change', {
      json: { current_password: user.password, new_password: newPassword },
      headers: { authorization: `Bearer ${token}` },
    });
    expect(changed.status, changed.text).to.equal(200);
    expectFailure(await request('POST', '/password/reset', { json: { token: user.token, password: strongPassword() } }), 400, 'invalid_token');
    expect((await request('POST', '/login', { json: { email: user.email, password: newPassword } })).status).to.equal(200);
  });

  it('answers a form post too large to read with a page, not the JSON error body', async () => {
    const tooLarge = await request('POST', '/password/reset', { raw: `token=${'a'.repeat(70 * 1024)}&password=x`, headers: FORM });
    expect(tooLarge.status).to.equal(413);
    expect(tooLarge.headers.get('content-type')).to.match(/^text\/html/);
    expect(tooLarge.text).to.include('This form could not be sent');
    expectFailure(await request('POST', '/password/reset', { raw: JSON.stringify({ token: 'a'.repeat(70 * 1024) }), headers: { 'content-type': 'application/json' } }), 413, 'payload_too_large');
  });

  it('mails nothing for a disabled account and refuses an expired link', async () => {
    const disabled = await register();
    await mail.sink.waitForMails(disabled.email, 1);
    await sql(`UPDATE users SET status = 'disabled' WHERE id = $1`, [disabled.userId]);
    const response = await request('POST', '/password/forgot', { json: { email: disabled.email } });
    expect(response.status).to.equal(202);
    expect(response.text).to.equal('{"message":"success"}');
    expect((await outboxEventsOf(disabled.userId)).map((event) => event.type)).to.deep.equal(['UserRegistered']);

    const user = await userWithResetMail();
    await sql(`UPDATE password_resets SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.userId]);
    expectFailure(await request('POST', '/password/reset', { json: { token: user.token, password: strongPassword() } }), 400, 'invalid_token');
    expectFailure(
      await request('POST', '/password/reset', { json: { token: crypto.randomBytes(32).toString('base64url'), password: strongPassword() } }),
      400,
      'invalid_token',
    );
    await loginUser(user.email, user.password);
    await settle();
    expect(mail.sink.mailsTo(disabled.email)).to.have.length(1);
  });
});
