import crypto from 'node:crypto';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { reactionJobId } from '../shared/queues/jobs.js';
import { closeQueues, createQueues, type Queues } from '../shared/queues/queues.js';
import { sql } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { randomEmail, request, strongPassword } from './support/http.js';
import { settle, tokenFromMail } from './support/mail-harness.js';
import { startOwnRedis, type OwnRedis } from './support/redis-server.js';
import { createVhost, type TestVhost } from './support/relay-harness.js';
import { waitFor } from './support/wait-for.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';
import { startTestApp, type TestApp } from './support/test-app.js';
import { startWorkerRoles, type WorkerRoles } from './support/worker-roles.js';

/** Short enough that the sweeper steps in within the test; the sweep itself runs every 200 ms. */
const REACTION_TIMEOUT_SECONDS = 2;

interface ReactionState {
  enqueued_at: Date | null;
  completed_at: Date | null;
}

async function verificationReaction(userId: string): Promise<(ReactionState & { event_id: string }) | undefined> {
  const [row] = await sql<ReactionState & { event_id: string }>(
    `SELECT r.event_id, r.enqueued_at, r.completed_at
       FROM reactions r JOIN outbox o ON o.event_id = r.event_id
      WHERE o.aggregate_id = $1 AND o.type = 'UserRegistered' AND r.job_name = 'send-verification-mail'`,
    [userId],
  );
  return row;
}

/**
 * DESIGN.md, "The spine": PostgreSQL is the only source of truth, so losing Redis, even
 * its whole data set, loses no mail and sends none twice. The API, the relay and the
 * email worker run against a redis-server of this suite's own, which it stops, starts
 * again and flushes; the shared Redis is never touched.
 */
describe('Redis outages (relay + email worker on a Redis of their own)', function () {
  this.timeout(90_000);
  let redis: OwnRedis;
  let vhost: TestVhost;
  let sink: SmtpSink;
  let api: TestApp;
  let inspector: Redis;
  let queues: Queues;
  const roles: WorkerRoles[] = [];
  const prefix = `redis-outage-${crypto.randomBytes(4).toString('hex')}`;

  /** Worker roles as a worker process with WORKER_QUEUES=`queues` runs them, on this suite's Redis, vhost and SMTP sink. */
  async function startRoles(workerQueues: string): Promise<WorkerRoles> {
    const started = await startWorkerRoles({
      WORKER_QUEUES: workerQueues,
      REDIS_URL: redis.url,
      RABBITMQ_URL: vhost.url,
      SMTP_URL: sink.url,
      QUEUE_PREFIX: prefix,
      OUTBOX_SWEEP_MS: '200',
      RELAY_STANDBY_RETRY_MS: '300',
      REACTION_TIMEOUT_SECONDS: String(REACTION_TIMEOUT_SECONDS),
      REACTION_SWEEP_MS: '200',
    });
    roles.push(started);
    return started;
  }

  async function register(): Promise<{ email: string; userId: string }> {
    const email = randomEmail();
    const response = await request('POST', '/register', { baseUrl: api.url, json: { email, password: strongPassword() } });
    expect(response.status, response.text).to.equal(201);
    return { email, userId: response.body.user_id as string };
  }

  before(async () => {
    redis = await startOwnRedis();
    vhost = await createVhost('us_redis_outage');
    sink = await startSmtpSink();
    api = await startTestApp(testDatabase(), { REDIS_URL: redis.url, QUEUE_PREFIX: prefix });
    inspector = new Redis(redis.url, { maxRetriesPerRequest: null });
    inspector.on('error', () => undefined);
    queues = createQueues(inspector, prefix);
    for (const queue of Object.values(queues)) queue.on('error', () => undefined);
  });

  afterEach(async () => {
    for (const started of roles.splice(0).reverse()) await started.stop();
    await redis.start();
  });

  after(async () => {
    await closeQueues(queues).catch(() => undefined);
    inspector?.disconnect();
    await api?.close();
    await sink?.close();
    await vhost?.remove();
    await redis?.stop();
  });

  it('registers while Redis is unreachable and sends the mail, once, when Redis is back', async () => {
    await startRoles('relay,email');
    // The pipeline works before the outage (worker and relay connected to this Redis).
    const before = await register();
    await sink.waitForMails(before.email);

    await redis.stop();
    const user = await register();
    // The relay publishes the event and records its reaction; nothing reaches Redis, nothing is mailed.
    await waitFor('the recorded reaction', () => verificationReaction(user.userId), 10_000);
    await settle(1_500);
    expect(sink.mailsTo(user.email)).to.have.length(0);
    const [published] = await sql<{ published_at: Date | null }>(
      `SELECT published_at FROM outbox WHERE aggregate_id = $1 AND type = 'UserRegistered'`,
      [user.userId],
    );
    expect(published!.published_at).to.be.an.instanceOf(Date);
    const waiting = (await verificationReaction(user.userId))!;
    expect(waiting.completed_at).to.equal(null);
    expect(waiting.enqueued_at).to.equal(null);

    await redis.start();
    const [mail] = await sink.waitForMails(user.email, 1, 30_000);
    expect(await tokenFromMail(mail!, api.services.config.publicUrl, '/email/verify')).to.be.a('string');
    // Longer than the reaction timeout and a few sweeps: no second mail follows.
    await settle((REACTION_TIMEOUT_SECONDS + 2) * 1_000);
    expect(sink.mailsTo(user.email)).to.have.length(1);
    expect(sink.mailsTo(before.email)).to.have.length(1);
    expect((await verificationReaction(user.userId))!.completed_at).to.be.an.instanceOf(Date);
  });

  it('sends the mail, once, when Redis is flushed between the registration and its mail', async () => {
    await startRoles('relay');
    const user = await register();
    // The relay enqueued the job; no email worker runs yet.
    const enqueued = await waitFor('the enqueued reaction', async () => {
      const reaction = await verificationReaction(user.userId);
      return reaction?.enqueued_at ? reaction : undefined;
    });
    const jobId = reactionJobId(enqueued.event_id, 'send-verification-mail');
    expect(await queues.email.getJobState(jobId)).to.equal('waiting');

    await redis.flushAll();
    expect(await queues.email.getJobState(jobId)).to.equal('unknown');
    await startRoles('email');
    const [mail] = await sink.waitForMails(user.email, 1, 30_000);
    expect(await tokenFromMail(mail!, api.services.config.publicUrl, '/email/verify')).to.be.a('string');
    await settle((REACTION_TIMEOUT_SECONDS + 2) * 1_000);
    expect(sink.mailsTo(user.email)).to.have.length(1);
    expect((await verificationReaction(user.userId))!.completed_at).to.be.an.instanceOf(Date);
    // One verification token was issued: the mail was composed once.
    const [tokens] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM email_verification_tokens WHERE user_id = $1', [user.userId]);
    expect(tokens!.n).to.equal(1);
  });
});
