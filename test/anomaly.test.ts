import { expect } from 'chai';
import { hasSignedInFromIpPrefix } from '../shared/db/queries/login-attempts.js';
import { insertReactions, markReactionsEnqueued } from '../shared/db/queries/reactions.js';
import { describeDevice } from '../shared/domain/anomaly/describe-device.js';
import { scoreLoginAttempt } from '../shared/domain/anomaly/score-login-attempt.js';
import { accountGuardedMail } from '../shared/mail/templates/account-guarded.js';
import { newSignInMail } from '../shared/mail/templates/new-sign-in.js';
import type { DomainEvent } from '../shared/events/event-schemas.js';
import type { EventType } from '../shared/events/event-types.js';
import type { Component } from '../shared/process/boot.js';
import { reactionsFor, type JobName, type JobPayloads } from '../shared/queues/jobs.js';
import { createQueueSet, type QueueSet } from '../shared/queues/queue-set.js';
import { enqueueReaction, type Queues } from '../shared/queues/queues.js';
import { scoreLoginProcessor, startAnomalyWorker } from '../workers/anomaly/start-anomaly-worker.js';
import { startEmailWorker } from '../workers/email/start-email-worker.js';
import { settleBatch } from '../workers/relay/settle-batch.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { expectFailure, sql } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { randomEmail, request, strongPassword, type JsonResponse } from './support/http.js';
import { claimedRowsOf, linksIn, outboxEventsOf, tokenFromMail } from './support/mail-harness.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';
import { startTestApp, type TestApp } from './support/test-app.js';

const OWNER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
// A user agent is chosen by whoever signs in: this one carries a link that must not reach the mail.
const NEW_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36 https://evil.example/login';
const ATTACKER_UA = 'python-requests/2.32';

/** The reactions this suite hands to the workers itself, as the relay would. */
const RELAYED: JobName[] = ['score-login', 'send-account-guarded-mail', 'send-password-reset-mail'];

describe('login anomaly scoring', function () {
  this.timeout(60_000);
  let app: TestApp;
  let sink: SmtpSink;
  let queues: Queues;
  let queueSet: QueueSet;
  let prefix: string;
  const workers: Component[] = [];

  before(async () => {
    sink = await startSmtpSink();
    prefix = testPrefix('anomaly-test');
    // X-Forwarded-For is trusted one hop deep, so each request can come from an address of its own.
    app = await startTestApp(testDatabase(), { TRUST_PROXY_HOPS: '1', RATE_LIMIT_SCALE: '1000', QUEUE_PREFIX: prefix, SMTP_URL: sink.url });
    queueSet = createQueueSet(app.services.config, app.services.log, 'consumer');
    ({ queues } = queueSet);
    const deps = { ...app.services, queueSet };
    workers.push(await startAnomalyWorker(deps), await startEmailWorker(deps));
  });

  after(async () => {
    for (const worker of workers.reverse()) await worker.stop();
    await queueSet?.close();
    await app?.close();
    await sink?.close();
    if (prefix) await removeTestKeys(prefix);
  });

  function call(method: string, path: string, options: { json?: unknown; ip?: string; ua?: string; bearer?: string; form?: Record<string, string> } = {}): Promise<JsonResponse> {
    const headers: Record<string, string> = {};
    if (options.ip) headers['x-forwarded-for'] = options.ip;
    if (options.ua) headers['user-agent'] = options.ua;
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    return request(method, path, { json: options.json, form: options.form, headers, baseUrl: app.url });
  }

  const login = (user: { email: string; password: string }, ip: string, ua: string) =>
    call('POST', '/login', { json: { email: user.email, password: user.password }, ip, ua });

  async function register() {
    const user = { email: randomEmail(), password: strongPassword() };
    const response = await call('POST', '/register', { json: user });
    expect(response.status, response.text).to.equal(201);
    return { ...user, userId: response.body.user_id as string };
  }

  /**
   * Relays the user's events by hand (reactions rows + BullMQ jobs, as the relay does)
   * until nothing new appears and every reaction of those events is completed.
   */
  async function pump(userId: string, timeoutMs = 20_000): Promise<void> {
    const pool = app.services.pool;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = await outboxEventsOf(userId);
      const owed = events.flatMap((event) =>
        reactionsFor(event.type)
          .filter((job) => RELAYED.includes(job))
          .map((job) => ({ event_id: event.event_id, job_name: job, payload: event })),
      );
      const fresh = await insertReactions(pool, owed);
      for (const reaction of fresh) await enqueueReaction(queues, reaction.job_name, { ...reaction.payload, event_id: reaction.event_id });
      await markReactionsEnqueued(pool, fresh);
      const [state] = await sql<{ pending: number }>(
        'SELECT count(*)::int AS pending FROM reactions WHERE event_id = ANY($1::uuid[]) AND completed_at IS NULL',
        [events.map((event) => event.event_id)],
      );
      const [now] = await sql<{ events: number }>('SELECT count(*)::int AS events FROM outbox WHERE aggregate_id = $1', [userId]);
      if (fresh.length === 0 && state!.pending === 0 && now!.events === events.length) return;
      if (Date.now() > deadline) throw new Error(`reactions of ${userId} not completed: ${state!.pending} pending`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const attemptsOf = (userId: string) =>
    sql<{ id: string; success: boolean; reason: string | null; risk_score: number | null; risk_reasons: Array<{ code: string; points: number }> | null; scored_at: Date | null }>(
      'SELECT id, success, reason, risk_score, risk_reasons, scored_at FROM login_attempts WHERE user_id = $1 ORDER BY id',
      [userId],
    );
  const eventsOfType = async <T extends EventType>(userId: string, type: T): Promise<Array<DomainEvent<T>>> =>
    (await outboxEventsOf(userId)).filter((event): event is DomainEvent<T> => event.type === type);

  describe('scoring and the "this wasn\'t me" link', () => {
    let owner: Awaited<ReturnType<typeof register>>;
    let ownerToken: string;
    let notMeToken: string;

    it('scores a first and a familiar sign-in low, a new network and device above the threshold, and mails a notice', async () => {
      owner = await register();
      const first = await login(owner, '10.20.30.5', OWNER_UA);
      expect(first.status, first.text).to.equal(200);
      ownerToken = first.body.token;
      expect((await login(owner, '10.20.30.77', OWNER_UA)).status).to.equal(200);
      expect((await login(owner, '203.0.113.9', NEW_UA)).status).to.equal(200);
      await pump(owner.userId);

      const attempts = await attemptsOf(owner.userId);
      expect(attempts.map((a) => a.risk_score)).to.deep.equal([0, 0, 60]);
      expect(attempts.every((a) => a.scored_at !== null)).to.equal(true);
      expect(attempts[2]!.risk_reasons!.map((r) => r.code)).to.have.members(['new_ip_prefix', 'new_user_agent']);
      expect(attempts[2]!.risk_score).to.be.above(app.services.config.anomaly.notifyThreshold);

      const notices = await sql<{ event_id: string; completed_at: Date | null }>(
        `SELECT r.event_id, r.completed_at FROM reactions r JOIN outbox o ON o.event_id = r.event_id
          WHERE o.aggregate_id = $1 AND r.job_name = 'send-new-sign-in-mail'`,
        [owner.userId],
      );
      const risky = (await eventsOfType(owner.userId, 'LoginSucceeded'))[2]!;
      expect(notices).to.have.length(1);
      expect(notices[0]!.event_id).to.equal(risky.event_id);
      expect(notices[0]!.completed_at).to.be.an.instanceOf(Date);

      const [mail] = await sink.waitForMails(owner.email, 1);
      expect(mail!.parsed.subject).to.equal('New sign-in to your account');
      const text = mail!.parsed.text ?? '';
      expect(text).to.include('203.0.113.9').and.include('Chrome on Windows');
      expect(text).not.to.include('evil.example');
      expect(linksIn(String(mail!.parsed.html))).to.have.length(2); // the button and the printed link, both the same
      notMeToken = await tokenFromMail(mail!, app.services.config.publicUrl, '/security/not-me');
    });

    it('scores a plain sign-in once however often its job runs, and one whose reaction row is missing (a replay) as well', async () => {
      const user = await register();
      expect((await login(user, '198.51.100.20', OWNER_UA)).status).to.equal(200);
      expect((await login(user, '198.51.100.20', OWNER_UA)).status).to.equal(200);
      const [first, second] = (await outboxEventsOf(user.userId)).filter((event) => event.type === 'LoginSucceeded') as Array<JobPayloads['score-login']>;
      const score = scoreLoginProcessor({ ...app.services, queueSet });
      await insertReactions(app.services.pool, [{ event_id: first!.event_id, job_name: 'score-login', payload: first! }]);
      const runs = await Promise.all([score(first!), score(first!)]);
      expect(runs.filter((run) => 'score' in run)).to.have.length(1);
      expect(runs.filter((run) => 'skipped' in run)).to.deep.equal([{ skipped: 'already-done' }]);
      expect(await score(first!)).to.deep.equal({ skipped: 'already-done' });
      // No reactions row for the second: the job came from a replay; it is recorded and scored.
      expect(await score(second!)).to.have.property('score').that.is.a('number');
      const rows = await sql<{ event_id: string; completed: boolean }>(
        'SELECT event_id, completed_at IS NOT NULL AS completed FROM reactions WHERE event_id = ANY($1::uuid[]) AND job_name = $2 ORDER BY created_at',
        [[first!.event_id, second!.event_id], 'score-login'],
      );
      expect(rows).to.deep.equal([
        { event_id: first!.event_id, completed: true },
        { event_id: second!.event_id, completed: true },
      ]);
      const scored = await sql<{ scored: boolean }>('SELECT scored_at IS NOT NULL AS scored FROM login_attempts WHERE id = ANY($1::bigint[])', [
        [first!.data.attempt_id, second!.data.attempt_id],
      ]);
      expect(scored).to.deep.equal([{ scored: true }, { scored: true }]);
    });

    it("the relay's mark stores a plain sign-in's score itself and leaves to the job only a sign-in owing a notice and a failure that guards", async () => {
      const user = await register();
      expect((await login(user, '10.60.70.8', OWNER_UA)).status).to.equal(200);
      expect((await login(user, '10.60.70.9', OWNER_UA)).status).to.equal(200);
      expect((await login(user, '203.0.113.60', NEW_UA)).status).to.equal(200);
      const wrong = { ...user, password: 'a wrong password, guessed' };
      for (let i = 0; i < app.services.config.anomaly.guardFailures; i += 1) expect((await login(wrong, '198.51.100.61', ATTACKER_UA)).status).to.equal(401);

      const settled = await settleBatch(app.services.pool, { confirmed: await claimedRowsOf(user.userId), failures: [] }, { maxAttempts: 5, anomaly: app.services.config.anomaly });
      const logins = [...(await eventsOfType(user.userId, 'LoginSucceeded')), ...(await eventsOfType(user.userId, 'LoginFailed'))];
      const risky = logins.filter((event) => event.data.attempt_id === logins[2]!.data.attempt_id || event === logins.at(-1));
      const jobs = settled.reactions.filter((reaction) => reaction.job_name === 'score-login');
      expect(jobs.map((reaction) => reaction.event_id)).to.have.members(risky.map((event) => event.event_id));
      const attempts = await attemptsOf(user.userId);
      const unscored = attempts.filter((attempt) => attempt.scored_at === null).map((attempt) => attempt.id);
      expect(unscored).to.have.members(risky.map((event) => event.data.attempt_id));
      expect(attempts.slice(0, 2).map((attempt) => attempt.risk_score)).to.deep.equal([0, 0]);

      // The jobs the mark left act as before: the notice, the guard and its mail (and the verification mail).
      for (const reaction of settled.reactions) await enqueueReaction(queues, reaction.job_name, reaction.payload as never);
      await markReactionsEnqueued(app.services.pool, settled.reactions);
      await pump(user.userId);
      expect((await attemptsOf(user.userId)).every((attempt) => attempt.scored_at !== null)).to.equal(true);
      expect(await eventsOfType(user.userId, 'UserLocked')).to.have.length(1);
      const subjects = (await sink.waitForMails(user.email, 3)).map((mail) => mail.parsed.subject);
      expect(subjects).to.include.members(['New sign-in to your account', 'Sign-ins to your account from new devices are paused']);
    });

    it('GET /security/not-me answers a confirming page and consumes nothing', async () => {
      const page = await call('GET', `/security/not-me?token=${encodeURIComponent(notMeToken)}`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      expect(page.text).to.match(/<form method="post" action="not-me">/);
      expect(page.text).to.include(`name="token" value="${notMeToken}"`);
      const [token] = await sql('SELECT consumed_at FROM security_tokens WHERE user_id = $1', [owner.userId]);
      expect(token!.consumed_at).to.equal(null);
      expect((await call('GET', '/me', { bearer: ownerToken })).status).to.equal(200);
      expect((await call('GET', '/security/not-me')).status).to.equal(400);
    });

    it('POST /security/not-me revokes every session, requires a reset and mails a reset link', async () => {
      const done = await call('POST', '/security/not-me', { json: { token: notMeToken } });
      expect(done.status, done.text).to.equal(200);
      expect(done.body).to.deep.equal({ message: 'success', sessions_revoked: 3 });
      expectFailure(await call('GET', '/me', { bearer: ownerToken }), 401, 'unauthorized');
      const [live] = await sql('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1 AND revoked_at IS NULL', [owner.userId]);
      expect(live!.n).to.equal(0);
      expect((await eventsOfType(owner.userId, 'SessionRevoked')).map((e) => e.data.reason)).to.deep.equal(['not_me', 'not_me', 'not_me']);

      // The right password from the owner's own device: told to reset; a wrong one: the usual 401.
      expectFailure(await login(owner, '10.20.30.5', OWNER_UA), 403, 'password_reset_required');
      expectFailure(await login({ ...owner, password: 'not-the-password-at-all' }, '10.20.30.5', OWNER_UA), 401, 'invalid_credentials');

      // Single use; unknown tokens are 400 invalid_token, and a form post gets a page.
      expectFailure(await call('POST', '/security/not-me', { json: { token: notMeToken } }), 400, 'invalid_token');
      expectFailure(await call('POST', '/security/not-me', { json: { token: 'x'.repeat(43) } }), 400, 'invalid_token');
      expectFailure(await call('POST', '/security/not-me', { json: { token: ['a'] } }), 400, 'invalid_request');
      const formFail = await call('POST', '/security/not-me', { form: { token: notMeToken } });
      expect(formFail.status).to.equal(400);
      expect(formFail.text).to.include('This link does not work');

      // A new password through the mailed reset link lifts the requirement.
      await pump(owner.userId);
      const mails = await sink.waitForMails(owner.email, 2);
      const resetToken = await tokenFromMail(mails[1]!, app.services.config.publicUrl, '/password/reset');
      const password = strongPassword();
      expect((await call('POST', '/password/reset', { json: { token: resetToken, password } })).status).to.equal(200);
      expect((await login({ ...owner, password }, '10.20.30.5', OWNER_UA)).status).to.equal(200);

      // The disowned sign-in's network and device are strangers again: a sign-in from there scores as new.
      const [disowned] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM login_attempts WHERE user_id = $1 AND disowned_at IS NOT NULL', [owner.userId]);
      expect(disowned!.n).to.equal(1);
      expect(await hasSignedInFromIpPrefix(app.services.pool, owner.userId, '203.0.113.77')).to.equal(false);
      expect((await login({ ...owner, password }, '203.0.113.77', NEW_UA)).status).to.equal(200);
      await pump(owner.userId);
      const last = (await attemptsOf(owner.userId)).at(-1)!;
      expect(last.risk_reasons!.map((r) => r.code)).to.include.members(['new_ip_prefix', 'new_user_agent']);
    });
  });

  describe('the guarded state after a burst of failures', () => {
    let owner: Awaited<ReturnType<typeof register>>;

    it('guards the account and emits UserLocked, yet the owner signs in from a known network', async () => {
      owner = await register();
      expect((await login(owner, '10.40.50.6', OWNER_UA)).status).to.equal(200);
      const wrong = { ...owner, password: 'a wrong password, guessed' };
      const failures = app.services.config.anomaly.guardFailures;
      let lastFailure: JsonResponse | undefined;
      for (let i = 0; i < failures; i += 1) lastFailure = await login(wrong, '198.51.100.7', ATTACKER_UA);
      expectFailure(lastFailure!, 401, 'invalid_credentials');
      await pump(owner.userId);

      const locked = await eventsOfType(owner.userId, 'UserLocked');
      expect(locked).to.have.length(1);
      expect(locked[0]!.data.reason).to.equal('failure_burst');
      const until = new Date(String(locked[0]!.data.until)).getTime();
      expect(until - Date.now()).to.be.within(3_000_000, 3_600_000);
      const [guard] = await sql('SELECT guarded_until FROM account_guards WHERE user_id = $1', [owner.userId]);
      expect(guard!.guarded_until.getTime()).to.equal(until);

      const [mail] = await sink.waitForMails(owner.email, 1);
      expect(mail!.parsed.subject).to.equal('Sign-ins to your account from new devices are paused');
      expect(linksIn(mail!.parsed.text ?? '')).to.have.length(0);

      expect((await login(owner, '10.40.50.6', OWNER_UA)).status, 'known network and device').to.equal(200);
      expect((await login(owner, '10.40.50.200', 'OwnerPhone/1.0')).status, 'known network, new device').to.equal(200);
      // A user agent is whatever the client says: a stuffer copying the owner's browser string gets nowhere.
      expectFailure(await login(owner, '192.0.2.44', OWNER_UA), 401, 'invalid_credentials');
    });

    it('refuses the right password from a network and device that never signed in, with the wrong-password answer', async () => {
      const refused = await login(owner, '198.51.100.7', ATTACKER_UA);
      const wrongPassword = await login({ ...owner, password: 'a wrong password, guessed' }, '10.40.50.6', OWNER_UA);
      expectFailure(refused, 401, 'invalid_credentials');
      expect(refused.text).to.equal(wrongPassword.text);
      const attempts = await attemptsOf(owner.userId);
      expect(attempts.at(-2)).to.include({ success: false, reason: 'account_guarded' });
      const [sessions] = await sql('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [owner.userId]);
      expect(sessions!.n).to.equal(3);
      // Scored while the guard runs, these failures extend it rather than start another.
      await pump(owner.userId);
      expect(await eventsOfType(owner.userId, 'UserLocked')).to.have.length(1);
    });

    it('lifts by itself at guarded_until and announces UserUnlocked', async () => {
      await sql(
        `UPDATE account_guards SET guarded_from = now() - interval '2 hours', guarded_until = now() - interval '1 second' WHERE user_id = $1`,
        [owner.userId],
      );
      expect((await login(owner, '198.51.100.7', ATTACKER_UA)).status).to.equal(200);
      await pump(owner.userId);
      const unlocked = await eventsOfType(owner.userId, 'UserUnlocked');
      expect(unlocked).to.have.length(1);
      expect(unlocked[0]!.data.reason).to.equal('guard_expired');
      expect(await eventsOfType(owner.userId, 'UserLocked')).to.have.length(1);
    });
  });

  describe('anomaly mail templates', () => {
    const facts = { link: 'http://localhost:8001/security/not-me?token=abc', signedInAt: new Date('2025-03-04T05:06:07Z'), ip: '203.0.113.9', hours: 72 };

    it('writes German for a German locale, English otherwise, with the one link in the text part', () => {
      const german = newSignInMail('de-AT', { ...facts, device: describeDevice(OWNER_UA) });
      expect(german.subject).to.equal('Neue Anmeldung bei Ihrem Konto');
      expect(german.text).to.include('2025-03-04 05:06 (UTC)').and.include('Firefox on Linux').and.include('72 Stunden');
      expect(linksIn(german.text)).to.deep.equal([facts.link]);
      expect(newSignInMail('fr', { ...facts, device: undefined }).text).to.include('Device: unknown');
      const guarded = accountGuardedMail('de', { until: new Date('2025-03-04T06:06:07Z') });
      expect(guarded.subject).to.equal('Anmeldungen von neuen Geräten sind vorübergehend gesperrt');
      expect(guarded.text).to.include('2025-03-04 06:06 (UTC)');
      expect(linksIn(guarded.text)).to.have.length(0);
    });

    it('escapes every value in the HTML part and never shows a raw user agent', () => {
      const html = newSignInMail('en', { ...facts, link: `${facts.link}&x="<y>`, device: '<b>x</b>' }).html;
      expect(html).to.include('&lt;b&gt;x&lt;/b&gt;').and.include('&amp;x=&quot;&lt;y&gt;').and.not.include('<b>');
      expect(describeDevice('Totally legit https://evil.example/')).to.equal(undefined);
      expect(describeDevice(NEW_UA)).to.equal('Chrome on Windows');
    });
  });

  describe('scoreLoginAttempt', () => {
    const quiet = { hasPriorSuccess: true, newIpPrefix: false, newUserAgent: false, accountFailures: 0, ipFailures: 0, secondsSinceLastSuccess: 60 };

    it('finds nothing new without a history, and caps the score at 100', () => {
      expect(scoreLoginAttempt({ ...quiet, hasPriorSuccess: false, newIpPrefix: true, newUserAgent: true, secondsSinceLastSuccess: null }, { dormantDays: 90 })).to.deep.equal({ score: 0, reasons: [] });
      const worst = scoreLoginAttempt({ ...quiet, newIpPrefix: true, newUserAgent: true, accountFailures: 50, ipFailures: 50, secondsSinceLastSuccess: 400 * 86_400 }, { dormantDays: 90 });
      expect(worst.score).to.equal(100);
      expect(worst.reasons.map((r) => r.code)).to.deep.equal(['new_ip_prefix', 'new_user_agent', 'account_failure_velocity', 'ip_failure_velocity', 'dormant_account']);
      expect(worst.reasons.find((r) => r.code === 'account_failure_velocity')).to.deep.equal({ code: 'account_failure_velocity', points: 30, value: 50 });
    });

    it('lets a new network alone stay under the default threshold until failures precede it', () => {
      expect(scoreLoginAttempt({ ...quiet, newIpPrefix: true }, { dormantDays: 90 }).score).to.equal(35);
      expect(scoreLoginAttempt({ ...quiet, newIpPrefix: true, accountFailures: 3 }, { dormantDays: 90 }).score).to.equal(50);
      expect(scoreLoginAttempt({ ...quiet, ipFailures: 2 }, { dormantDays: 90 }).score).to.equal(0);
    });
  });
});
