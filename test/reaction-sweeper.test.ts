import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { Worker } from 'bullmq';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { findOverdueReactions } from '../shared/db/queries/reactions.js';
import type { DomainEvent } from '../shared/events/event-schemas.js';
import { projectRoot } from '../shared/project-root.js';
import { reactionJobId } from '../shared/queues/jobs.js';
import { closeQueues, createQueues, queuePrefix, type Queues } from '../shared/queues/queues.js';
import { sql } from './support/expectations.js';
import { testApp } from './support/hooks.js';
import { registerUser } from './support/http.js';
import { settle } from './support/mail-harness.js';
import { startOwnRedis, type OwnRedis } from './support/redis-server.js';
import { createVhost, type TestVhost } from './support/relay-harness.js';
import { waitFor } from './support/wait-for.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';
import { startWorkerRoles, type WorkerRoles } from './support/worker-roles.js';

const JOB = 'send-verification-mail';

/**
 * The relay's reaction sweeper runs a reaction again when PostgreSQL says it is not done,
 * whatever state its BullMQ job is in: a job kept as failed (or completed) under the
 * reaction's id would otherwise make every re-add a no-op.
 */
describe('reaction sweeper and finished jobs', function () {
  this.timeout(60_000);
  let redis: OwnRedis;
  let vhost: TestVhost;
  let sink: SmtpSink;
  let inspector: Redis;
  let queues: Queues;
  const roles: WorkerRoles[] = [];
  const prefix = `sweeper-test-${crypto.randomBytes(4).toString('hex')}`;

  async function startRoles(workerQueues: string): Promise<void> {
    roles.push(
      await startWorkerRoles({
        WORKER_QUEUES: workerQueues,
        REDIS_URL: redis.url,
        RABBITMQ_URL: vhost.url,
        SMTP_URL: sink.url,
        QUEUE_PREFIX: prefix,
        RELAY_STANDBY_RETRY_MS: '300',
        REACTION_TIMEOUT_SECONDS: '1',
        REACTION_SWEEP_MS: '200',
      }),
    );
  }

  /**
   * A registered user whose UserRegistered event the relay already published and whose
   * verification reaction it recorded and enqueued (as `jobOptions` say) a while ago.
   */
  async function publishedRegistration(jobOptions: { attempts?: number; delay?: number } = {}) {
    const user = await registerUser();
    const [row] = await sql<{ payload: DomainEvent }>(
      `UPDATE outbox SET published_at = now() WHERE aggregate_id = $1 AND type = 'UserRegistered' RETURNING payload`,
      [user.userId],
    );
    const event = row!.payload;
    await sql(`INSERT INTO reactions (event_id, job_name, payload, enqueued_at) VALUES ($1, $2, $3, now() - interval '1 minute')`, [
      event.event_id,
      JOB,
      JSON.stringify(event),
    ]);
    const jobId = reactionJobId(event.event_id, JOB);
    await queues.email.add(JOB, event, { jobId, ...jobOptions });
    return { ...user, event, jobId };
  }

  async function completedAt(eventId: string): Promise<Date | null> {
    const [row] = await sql<{ completed_at: Date | null }>('SELECT completed_at FROM reactions WHERE event_id = $1 AND job_name = $2', [eventId, JOB]);
    return row!.completed_at;
  }

  before(async () => {
    redis = await startOwnRedis();
    vhost = await createVhost('us_sweeper');
    sink = await startSmtpSink();
    inspector = new Redis(redis.url, { maxRetriesPerRequest: null });
    queues = createQueues(inspector, prefix);
  });

  afterEach(async () => {
    for (const started of roles.splice(0).reverse()) await started.stop();
  });

  after(async () => {
    await closeQueues(queues).catch(() => undefined);
    inspector?.disconnect();
    await sink?.close();
    await vhost?.remove();
    await redis?.stop();
  });

  it('takes a never-enqueued reaction only once it is no longer fresh, and an enqueued one once it is overdue', async () => {
    const ids: string[] = Array.from({ length: 4 }, () => crypto.randomUUID());
    await sql(
      `INSERT INTO reactions (event_id, job_name, payload, created_at, enqueued_at) VALUES
         ($1, 'write-audit-log', '{}', now() - interval '1 second', NULL),
         ($2, 'write-audit-log', '{}', now() - interval '1 minute', NULL),
         ($3, 'write-audit-log', '{}', now() - interval '1 minute', now() - interval '5 seconds'),
         ($4, 'write-audit-log', '{}', now() - interval '5 minutes', now() - interval '2 minutes')`,
      ids,
    );
    const overdue = await findOverdueReactions(testApp().services.pool, 60, 10, 10_000);
    expect(overdue.map((reaction) => reaction.event_id).filter((id) => ids.includes(id))).to.have.members([ids[1], ids[3]]);
  });

  it('runs again a reaction whose job failed after its last retry, and mails once', async () => {
    const user = await publishedRegistration({ attempts: 1 });
    // The SMTP server refuses the mail for now (4xx): the one attempt fails, and BullMQ keeps the job as failed.
    sink.refusals.set(user.email.toLowerCase(), 451);
    await startRoles('email');
    await waitFor('the failed job', async () => ((await queues.email.getJobState(user.jobId)) === 'failed' ? true : undefined));
    expect(await completedAt(user.event.event_id)).to.equal(null);
    expect(sink.mailsTo(user.email)).to.have.length(0);

    // The cause is gone; the leader's sweeper finds the reaction overdue and runs it again.
    sink.refusals.delete(user.email.toLowerCase());
    await startRoles('relay');
    await sink.waitForMails(user.email, 1, 20_000);
    await waitFor('the reaction completed', async () => (await completedAt(user.event.event_id)) ?? undefined);
    expect(await queues.email.getJobState(user.jobId)).to.equal('completed');
    await settle(2_500);
    expect(sink.mailsTo(user.email)).to.have.length(1);
  });

  it('runs again a reaction whose job completed in Redis but is not recorded in PostgreSQL', async () => {
    const user = await publishedRegistration();
    // A job that finished without the reaction being recorded (e.g. PostgreSQL restored from an earlier backup).
    const stray = new Worker('email', async () => 'not recorded', { connection: inspector, prefix: queuePrefix(prefix) });
    await waitFor('the completed job', async () => ((await queues.email.getJobState(user.jobId)) === 'completed' ? true : undefined));
    await stray.close();
    expect(await completedAt(user.event.event_id)).to.equal(null);

    await startRoles('relay,email');
    await sink.waitForMails(user.email, 1, 20_000);
    await waitFor('the reaction completed', async () => (await completedAt(user.event.event_id)) ?? undefined);
    await settle(2_500);
    expect(sink.mailsTo(user.email)).to.have.length(1);
  });

  it('leaves alone a job that is still waiting to be retried', async () => {
    const user = await publishedRegistration({ delay: 60_000 });
    const job = await queues.email.getJob(user.jobId);
    await startRoles('relay');
    // Several sweeps find the reaction overdue; its job keeps its place and its timestamp.
    await settle(1_500);
    expect(await queues.email.getJobState(user.jobId)).to.equal('delayed');
    expect((await queues.email.getJob(user.jobId))!.timestamp).to.equal(job!.timestamp);
    await queues.email.remove(user.jobId);
  });

  it('marks a reaction that can never succeed as given up, so the sweep does not run it again', async () => {
    const eventId = crypto.randomUUID();
    // An audit job whose payload is not a whole event: the audit worker fails it as unrecoverable.
    const broken = { event_id: eventId, type: 'NoSuchEvent' };
    await sql(`INSERT INTO reactions (event_id, job_name, payload, enqueued_at) VALUES ($1, 'write-audit-log', $2, now())`, [eventId, JSON.stringify(broken)]);
    const jobId = reactionJobId(eventId, 'write-audit-log');
    await queues.audit.add('write-audit-log', broken as unknown as DomainEvent, { jobId, attempts: 5 });
    await startRoles('audit,relay');
    await waitFor('the failed job', async () => ((await queues.audit.getJobState(jobId)) === 'failed' ? true : undefined));
    const [row] = await waitFor('the reaction given up', async () => {
      const rows = await sql<{ completed_at: Date | null; given_up_at: Date | null; last_error: string | null }>(
        `SELECT completed_at, given_up_at, last_error FROM reactions WHERE event_id = $1`,
        [eventId],
      );
      return rows[0]?.given_up_at ? rows : undefined;
    });
    expect(row!.completed_at).to.be.instanceOf(Date);
    expect(row!.last_error).to.match(/not an event/);
    // Sweeps keep running (REACTION_TIMEOUT_SECONDS=1): the job stays failed, tried once.
    await settle(2_500);
    const job = await queues.audit.getJob(jobId);
    expect(await job!.getState()).to.equal('failed');
    expect(job!.attemptsMade).to.equal(1);
    expect(job!.failedReason).to.match(/not an event/);

    // outbox:replay puts a given-up reaction of a published event back in line: it runs (and here fails) again.
    await sql(
      `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload, published_at) VALUES ($1, $2, 'user.events', 'UserRegistered', $3, now())`,
      [eventId, crypto.randomUUID(), JSON.stringify(broken)],
    );
    const env = { ...process.env, DATABASE_URL: testApp().services.config.database.url, LOG_LEVEL: 'silent' };
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'bin/outbox-replay.ts', eventId], { cwd: projectRoot(), env });
    expect(stdout).to.include('given-up reactions (write-audit-log) are queued to run again');
    await waitFor('the reaction given up once more', async () => {
      const rows = await sql<{ given_up_at: Date | null }>(`SELECT given_up_at FROM reactions WHERE event_id = $1`, [eventId]);
      return rows[0]?.given_up_at && rows[0].given_up_at > row!.given_up_at! ? true : undefined;
    });
  });
});
