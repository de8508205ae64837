import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { UnrecoverableError } from 'bullmq';
import { expect } from 'chai';
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { createMailer } from '../shared/mail/mailer.js';
import { verificationMail } from '../shared/mail/templates/verification.js';
import { createEvent } from '../shared/events/create-event.js';
import { parseJobPayload } from '../workers/create-worker.js';
import { expectFailure, sql } from './support/expectations.js';
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

async function tokenRow(userId: string) {
  return sql<{ consumed_at: Date | null; expires_at: Date; created_at: Date }>(
    'SELECT consumed_at, expires_at, created_at FROM email_verification_tokens WHERE user_id = $1 ORDER BY created_at',
    [userId],
  );
}

async function isVerified(userId: string): Promise<boolean> {
  const [row] = await sql<{ email_verified: boolean }>('SELECT email_verified FROM users WHERE id = $1', [userId]);
  return row!.email_verified;
}

/** Moves the user's cooldown sources (events and tokens) `seconds` into the past. */
async function ageRequests(userId: string, seconds: number): Promise<void> {
  await sql('UPDATE outbox SET created_at = created_at - make_interval(secs => $2) WHERE aggregate_id = $1', [userId, seconds]);
  await sql('UPDATE email_verification_tokens SET created_at = created_at - make_interval(secs => $2) WHERE user_id = $1', [userId, seconds]);
}

describe('email verification', function () {
  this.timeout(60_000);
  let mail: MailHarness;
  const publicUrl = () => mail.config.publicUrl;

  before(async () => {
    mail = await startMailHarness();
  });

  after(async () => {
    await mail?.stop();
  });

  it('mails a link on registration; the GET page consumes nothing; POST verifies once and emits EmailVerified', async () => {
    const user = await register();
    const [received] = await mail.sink.waitForMails(user.email);
    const { parsed } = received!;
    expect(parsed.subject).to.equal('Confirm your email address');
    expect(parsed.from?.value[0]?.address).to.equal('no-reply@localhost');
    expect(received!.to).to.deep.equal([user.email.toLowerCase()]);
    const token = await tokenFromMail(received!, publicUrl(), '/email/verify');
    expect(parsed.text).to.include(`${publicUrl()}/email/verify?token=${token}`);
    expect(parsed.html).to.be.a('string').and.include(`href="${publicUrl()}/email/verify?token=${token}"`);
    // Only the hash is stored.
    expect(await sql('SELECT 1 FROM email_verification_tokens WHERE token_hash = $1', [token])).to.have.length(0);
    const [stored] = await tokenRow(user.userId);
    expect(stored!.expires_at.getTime() - stored!.created_at.getTime()).to.equal(24 * 3_600_000);

    // A mail scanner fetching the link (even twice) changes nothing.
    for (let i = 0; i < 2; i++) {
      const page = await request('GET', `/email/verify?token=${token}`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(page.headers.get('cache-control')).to.equal('no-store');
      expect(page.headers.get('content-security-policy')).to.include("form-action 'self'").and.include("script-src 'self'");
      expect(page.text).to.match(/<form method="post" action="verify">/);
      expect(page.text).to.include(`<input type="hidden" name="token" value="${token}">`);
      expect(page.text).not.to.match(/<script/i);
    }
    expect((await tokenRow(user.userId))[0]!.consumed_at).to.equal(null);
    expect(await isVerified(user.userId)).to.equal(false);

    const verified = await request('POST', '/email/verify', { json: { token } });
    expect(verified.status, verified.text).to.equal(200);
    expect(verified.body).to.deep.equal({ message: 'success' });
    expect(await isVerified(user.userId)).to.equal(true);
    const events = await outboxEventsOf(user.userId);
    expect(events.map((event) => event.type)).to.deep.equal(['UserRegistered', 'EmailVerified']);
    expect(JSON.stringify(events[1])).not.to.include(token);
    const session = await loginUser(user.email, user.password);
    const me = await request('GET', '/me', { headers: { authorization: `Bearer ${session.token}` } });
    expect(me.body.email_verified).to.equal(true);

    expectFailure(await request('POST', '/email/verify', { json: { token } }), 400, 'invalid_token');
    expect((await outboxEventsOf(user.userId)).filter((event) => event.type === 'EmailVerified')).to.have.length(1);
  });

  it('answers the page form with pages, and refuses unknown, expired and malformed tokens', async () => {
    const user = await register();
    const token = await tokenFromMail((await mail.sink.waitForMails(user.email))[0]!, publicUrl(), '/email/verify');

    const done = await request('POST', '/email/verify', { raw: `token=${encodeURIComponent(token)}`, headers: FORM });
    expect(done.status).to.equal(200);
    expect(done.headers.get('content-type')).to.match(/^text\/html/);
    expect(done.text).to.include('Email address confirmed');
    expect(await isVerified(user.userId)).to.equal(true);
    const again = await request('POST', '/email/verify', { raw: `token=${encodeURIComponent(token)}`, headers: FORM });
    expect(again.status).to.equal(400);
    expect(again.text).to.include('This link does not work');

    const unknown = crypto.randomBytes(32).toString('base64url');
    expectFailure(await request('POST', '/email/verify', { json: { token: unknown } }), 400, 'invalid_token');
    const twice = await request('POST', '/email/verify', { raw: `token=${unknown}&token=${unknown}`, headers: FORM });
    expect(twice.status).to.equal(400);
    expect(twice.headers.get('content-type')).to.match(/^text\/html/);
    expectFailure(await request('POST', '/email/verify', { json: { token: [token] } }), 400, 'invalid_request');
    expectFailure(await request('POST', '/email/verify', { json: {} }), 400, 'invalid_request');
    // Only the page routes take form bodies.
    expectFailure(await request('POST', '/register', { raw: 'email=a%40example.com&password=x', headers: FORM }), 415, 'unsupported_media_type');
    expect((await request('GET', '/email/verify')).status).to.equal(400);
    const hostile = await request('GET', `/email/verify?token=${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(hostile.text).not.to.include('<script>alert');
    expect(hostile.text).to.include('&quot;&gt;&lt;script&gt;');

    const late = await register();
    const lateToken = await tokenFromMail((await mail.sink.waitForMails(late.email))[0]!, publicUrl(), '/email/verify');
    await sql(`UPDATE email_verification_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [late.userId]);
    expectFailure(await request('POST', '/email/verify', { json: { token: lateToken } }), 400, 'invalid_token');
    expect(await isVerified(late.userId)).to.equal(false);
  });

  it('writes the mail in the profile language: German for de-AT, English for an unknown one', async () => {
    const german = await register('de-AT');
    const french = await register('fr');
    const [de] = await mail.sink.waitForMails(german.email);
    expect(de!.parsed.subject).to.equal('Bestätigen Sie Ihre E-Mail-Adresse');
    expect(de!.parsed.text).to.include('Der Link funktioniert einmal');
    expect(de!.parsed.html).to.include('<html lang="de">');
    await tokenFromMail(de!, publicUrl(), '/email/verify');
    const [fr] = await mail.sink.waitForMails(french.email);
    expect(fr!.parsed.subject).to.equal('Confirm your email address');
    expect(fr!.parsed.html).to.include('<html lang="en">');
  });

  it('resends with a 60 s cooldown (429 + Retry-After); a new token retires the old one', async () => {
    const user = await register();
    const first = await tokenFromMail((await mail.sink.waitForMails(user.email))[0]!, publicUrl(), '/email/verify');
    const session = await loginUser(user.email, user.password);
    const auth = { authorization: `Bearer ${session.token}` };

    expectFailure(await request('POST', '/email/verify/resend'), 401, 'unauthorized');
    // Registration mailed seconds ago: still cooling down.
    const early = await request('POST', '/email/verify/resend', { headers: auth });
    expectFailure(early, 429, 'rate_limited');
    expect(Number(early.headers.get('retry-after'))).to.be.within(1, 60);
    // The wait in words, as Retry-After gives it in seconds.
    const wait = early.headers.get('retry-after');
    expect(early.body.error.message).to.equal(`A verification mail was sent recently; try again in ${wait} second${wait === '1' ? '' : 's'}.`);

    await ageRequests(user.userId, 61);
    const resent = await request('POST', '/email/verify/resend', { headers: auth });
    expect(resent.status, resent.text).to.equal(202);
    expect(resent.body).to.deep.equal({ message: 'success' });
    const repeated = await request('POST', '/email/verify/resend', { headers: auth });
    expectFailure(repeated, 429, 'rate_limited');
    expect(Number(repeated.headers.get('retry-after'))).to.be.within(55, 60);
    expect((await outboxEventsOf(user.userId)).filter((event) => event.type === 'EmailVerificationRequested')).to.have.length(1);

    const mails = await mail.sink.waitForMails(user.email, 2);
    const second = await tokenFromMail(mails[1]!, publicUrl(), '/email/verify');
    expect(second).not.to.equal(first);
    expectFailure(await request('POST', '/email/verify', { json: { token: first } }), 400, 'invalid_token');
    expect((await request('POST', '/email/verify', { json: { token: second } })).status).to.equal(200);

    const verified = await request('POST', '/email/verify/resend', { headers: auth });
    expect(verified.status).to.equal(200);
    expect(verified.body).to.deep.equal({ message: 'success', email_verified: true });
    await settle(500);
    expect(mail.sink.mailsTo(user.email)).to.have.length(2);
  });

  it('sends one mail when the same reaction runs twice, and fails a job whose user is gone at once', async () => {
    const user = await register();
    await mail.sink.waitForMails(user.email);
    const built = mail.processors();
    try {
      const process = built.processors['send-verification-mail']!;
      const event = createEvent('EmailVerificationRequested', user.userId);
      const outcomes = await Promise.all([process(event), process(event)]);
      expect(outcomes.sort()).to.deep.equal(['already-done', 'sent']);
      expect(await process(event)).to.equal('already-done');
      await settle(500);
      expect(mail.sink.mailsTo(user.email)).to.have.length(2);
      expect(await sql('SELECT 1 FROM reactions WHERE event_id = $1 AND completed_at IS NOT NULL', [event.event_id])).to.have.length(1);

      const orphan = createEvent('EmailVerificationRequested', crypto.randomUUID());
      let failure: unknown;
      await process(orphan).catch((error: unknown) => (failure = error));
      expect(failure).to.be.instanceOf(UnrecoverableError);
      // Recorded as done, so the sweep does not retry it forever.
      expect(await sql('SELECT 1 FROM reactions WHERE event_id = $1 AND completed_at IS NOT NULL', [orphan.event_id])).to.have.length(1);
      // A payload that is not an event never reaches the processor: the worker's factory fails its job at once.
      expect(() => parseJobPayload('send-verification-mail', { type: 'UserRegistered' })).to.throw(UnrecoverableError, /event_id: Invalid input/);
    } finally {
      built.close();
    }
  });

  it('retries a mail the SMTP server refused for now (4xx) and gives up at once on a permanent refusal (5xx)', async () => {
    const users = await sql<{ id: string; email: string }>(
      `WITH u AS (INSERT INTO users (email, password_hash) SELECT 'refused-' || g || '-' || $1 || '@example.com', 'x' FROM generate_series(1, 2) g RETURNING id, email)
       SELECT id, email FROM u ORDER BY email`,
      [crypto.randomBytes(4).toString('hex')],
    );
    const [busy, gone] = users as [{ id: string; email: string }, { id: string; email: string }];
    mail.sink.refusals.set(busy.email, 451);
    mail.sink.refusals.set(gone.email, 550);
    const built = mail.processors();
    try {
      const process = built.processors['send-verification-mail']!;
      const completed = async (event: { event_id: string }) =>
        (await sql('SELECT 1 FROM reactions WHERE event_id = $1 AND completed_at IS NOT NULL', [event.event_id])).length === 1;

      const transient = createEvent('EmailVerificationRequested', busy.id);
      const failure = await process(transient).then(() => undefined, (error: unknown) => error);
      expect(failure).to.be.instanceOf(Error).and.not.instanceOf(UnrecoverableError);
      expect(await completed(transient)).to.equal(false);
      mail.sink.refusals.delete(busy.email);
      expect(await process(transient)).to.equal('sent');
      expect(await completed(transient)).to.equal(true);
      const [received] = await mail.sink.waitForMails(busy.email);
      const token = await tokenFromMail(received!, publicUrl(), '/email/verify');
      // The retry's token is the one that works; the failed attempt's was superseded.
      expect((await request('POST', '/email/verify', { json: { token } })).status).to.equal(200);

      const permanent = createEvent('EmailVerificationRequested', gone.id);
      const refused = await process(permanent).then(() => undefined, (error: unknown) => error);
      expect(refused).to.be.instanceOf(UnrecoverableError);
      expect(await completed(permanent)).to.equal(true);
      expect(mail.sink.mailsTo(gone.email)).to.have.length(0);
    } finally {
      mail.sink.refusals.clear();
      built.close();
    }
  });

  it('mails each of many reactions arriving together once, in batches, with one live token per user', async () => {
    const tag = crypto.randomBytes(4).toString('hex');
    const users = await sql<{ id: string; email: string }>(
      `WITH u AS (INSERT INTO users (email, password_hash)
                  SELECT 'batch-' || g || '-' || $1 || '@example.com', 'x' FROM generate_series(1, 30) g RETURNING id, email),
            p AS (INSERT INTO user_profiles (user_id, locale) SELECT id, 'de' FROM u)
       SELECT id, email FROM u`,
      [tag],
    );
    const built = mail.processors();
    try {
      const process = built.processors['send-verification-mail']!;
      const events = users.map((user) => createEvent('EmailVerificationRequested', user.id));
      // Every job twice, all at once: the batcher sees duplicates within and across batches.
      const outcomes = await Promise.all([...events, ...events].map((event) => process(event)));
      expect(outcomes.filter((outcome) => outcome === 'sent')).to.have.length(30);
      expect(outcomes.filter((outcome) => outcome === 'already-done')).to.have.length(30);
      for (const user of users) {
        const [received] = await mail.sink.waitForMails(user.email);
        expect(received!.parsed.subject).to.equal('Bestätigen Sie Ihre E-Mail-Adresse');
      }
      await settle(500);
      expect(users.every((user) => mail.sink.mailsTo(user.email).length === 1)).to.equal(true);
      const live = await sql<{ user_id: string }>(
        'SELECT user_id FROM email_verification_tokens WHERE user_id = ANY($1::uuid[]) AND consumed_at IS NULL AND expires_at > now()',
        [users.map((user) => user.id)],
      );
      expect(live).to.have.length(30);
      expect(new Set(live.map((row) => row.user_id)).size).to.equal(30);
    } finally {
      built.close();
    }
  });

  it('keeps one link in the text part and no user-chosen text in the mail', async () => {
    const email = randomEmail();
    const response = await request('POST', '/register', {
      json: { email, password: strongPassword(), display_name: 'http://evil.example/<b>x</b>' },
    });
    expect(response.status).to.equal(201);
    const [received] = await mail.sink.waitForMails(email);
    expect(linksIn(received!.parsed.text ?? '')).to.have.length(1);
    expect(received!.parsed.html).not.to.include('evil.example');
    expect(testApp().services.config.publicUrl).to.equal(publicUrl());
  });
});

describe('mail in development', () => {
  it('writes each mail as an .eml file to MAIL_DIR without SMTP_URL, and logs the folder', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'us-mail-'));
    try {
      const lines: Array<{ msg: string; folder?: string }> = [];
      const log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
      const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'dev <dev@localhost>', mailDir: folder, smtpMaxConnections: 1 }, log);
      expect(lines.some((line) => line.folder === folder && line.msg.includes(folder))).to.equal(true);
      const content = verificationMail('de', { link: 'http://localhost:8001/email/verify?token=abc', hours: 24 });
      await mailer.send({ to: 'someone@example.com', ...content });
      mailer.close();
      const files = fs.readdirSync(folder).filter((file) => file.endsWith('.eml'));
      expect(files).to.have.length(1);
      const parsed = await simpleParser(fs.readFileSync(path.join(folder, files[0]!)));
      expect(parsed.subject).to.equal(content.subject);
      expect(parsed.text).to.include('http://localhost:8001/email/verify?token=abc');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});
