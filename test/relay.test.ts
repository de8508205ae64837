import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { UNROUTED_QUEUE } from '../shared/broker/broker-topology.js';
import type { Config } from '../shared/config/config.js';
import { withTransaction } from '../shared/db/pool.js';
import { insertOutboxEvent } from '../shared/db/queries/outbox.js';
import { createEvent } from '../shared/events/create-event.js';
import type { DomainEvent } from '../shared/events/event-schemas.js';
import type { Component } from '../shared/process/boot.js';
import { reactionJobId } from '../shared/queues/jobs.js';
import { closeQueues, createQueues, type Queues } from '../shared/queues/queues.js';
import { projectRoot } from '../shared/project-root.js';
import { startRelay } from '../workers/relay/start-relay.js';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { testApp } from './support/hooks.js';
import { randomEmail, registerUser, strongPassword } from './support/http.js';
import { bindConsumer, createVhost, type TestVhost } from './support/relay-harness.js';
import { freePort } from './support/service-process.js';
import { waitFor } from './support/wait-for.js';

const run = promisify(execFile);
const pool = () => testApp().services.pool;

interface OutboxState {
  event_id: string;
  published_at: Date | null;
  failed_at: Date | null;
  attempts: number;
  last_error: string | null;
}

async function outboxRow(eventId: string): Promise<OutboxState> {
  const { rows } = await pool().query<OutboxState>(
    'SELECT event_id, published_at, failed_at, attempts, last_error FROM outbox WHERE event_id = $1',
    [eventId],
  );
  return rows[0]!;
}

/**
 * Writes an event to the outbox, with another topic (exchange) when given, and as if
 * written `ageSeconds` ago: in one transaction, so the relay never sees the row before
 * its topic.
 */
async function insertEvent(event: DomainEvent, topic?: string, ageSeconds = 0): Promise<void> {
  await withTransaction(pool(), async (tx) => {
    await insertOutboxEvent(tx, event);
    await tx.query('UPDATE outbox SET topic = coalesce($2, topic), created_at = created_at - make_interval(secs => $3) WHERE event_id = $1', [
      event.event_id,
      topic ?? null,
      ageSeconds,
    ]);
  });
}

/** The `outbox:replay` command from source (`npx tsx bin/outbox-replay.ts <args>`) against the test database. */
async function replay(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, DATABASE_URL: testApp().services.config.database.url, LOG_LEVEL: 'silent' };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'bin/outbox-replay.ts', ...args], { cwd: projectRoot(), env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('outbox relay (in-process)', function () {
  this.timeout(60_000);
  let vhost: TestVhost;
  let relay: Component | undefined;
  const prefix = testPrefix('relay-test');

  async function startTestRelay(overrides: { redisUrl?: string; rabbitmqUrl?: string; relay?: Partial<Config['relay']> } = {}): Promise<void> {
    const services = testApp().services;
    const config: Config = {
      ...services.config,
      rabbitmqUrl: overrides.rabbitmqUrl ?? vhost.url,
      queuePrefix: prefix,
      redisUrl: overrides.redisUrl ?? services.config.redisUrl,
      relay: { ...services.config.relay, sweepIntervalMs: 200, standbyRetryMs: 300, reactionSweepIntervalMs: 200, ...overrides.relay },
    };
    relay = await startRelay({ config, log: services.log, pool: services.pool, metrics: services.metrics });
  }

  beforeEach(async () => {
    vhost = await createVhost();
  });

  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
    await vhost.remove();
  });

  after(async () => {
    await removeTestKeys(prefix);
  });

  it('delivers UserRegistered to a bound queue: message_id = event_id, persistent, JSON, no secrets', async () => {
    await startTestRelay();
    // The relay declares the exchange once connected; a consumer binds its own queue to it.
    const consumer = await waitFor('the user.events exchange', () => bindConsumer(vhost.url, { routingKey: 'UserRegistered' }).catch(() => undefined));
    try {
      const email = randomEmail();
      const password = strongPassword();
      const { userId } = await registerUser(email, password);
      const { rows } = await pool().query<{ event_id: string; payload: DomainEvent }>(
        `SELECT event_id, payload FROM outbox WHERE aggregate_id = $1 AND type = 'UserRegistered'`,
        [userId],
      );
      const eventId = rows[0]!.event_id;
      const message = await waitFor('the UserRegistered message', () => consumer.messages.find((m) => m.properties.messageId === eventId));

      expect(message.fields.exchange).to.equal('user.events');
      expect(message.fields.routingKey).to.equal('UserRegistered');
      expect(message.properties.deliveryMode).to.equal(2);
      expect(message.properties.contentType).to.equal('application/json');
      expect(message.properties.type).to.equal('UserRegistered');
      expect(message.properties.timestamp).to.be.a('number');
      const text = message.content.toString('utf8');
      const body = JSON.parse(text) as DomainEvent;
      expect(body).to.deep.equal(rows[0]!.payload);
      expect(body).to.include({ event_id: eventId, type: 'UserRegistered', user_id: userId });
      expect(Object.keys(body).sort()).to.deep.equal(['data', 'event_id', 'occurred_at', 'type', 'user_id']);
      const { rows: hashes } = await pool().query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId]);
      for (const secret of [password, email, email.split('@')[0]!, hashes[0]!.password_hash, '$argon2']) expect(text).not.to.include(secret);
      expect(text).not.to.match(/password|hash|token|secret|@/i);

      // Marked published only after the confirm; its reactions recorded: the mail's enqueued,
      // the audit row written by the mark itself, its reaction completed without a job.
      const state = await waitFor('published_at', async () => ((await outboxRow(eventId)).published_at ? outboxRow(eventId) : undefined));
      expect(state.attempts).to.equal(0);
      const reactions = await waitFor('the mail reaction enqueued', async () => {
        const { rows: found } = await pool().query<{ job_name: string; enqueued: boolean; completed: boolean }>(
          'SELECT job_name, enqueued_at IS NOT NULL AS enqueued, completed_at IS NOT NULL AS completed FROM reactions WHERE event_id = $1 ORDER BY job_name',
          [eventId],
        );
        return found[0]?.enqueued ? found : undefined;
      });
      expect(reactions).to.deep.equal([
        { job_name: 'send-verification-mail', enqueued: true, completed: false },
        { job_name: 'write-audit-log', enqueued: false, completed: true },
      ]);
      const { rows: audit } = await pool().query('SELECT action FROM audit_logs WHERE event_id = $1', [eventId]);
      expect(audit).to.deep.equal([{ action: 'user.register' }]);
      const redis = new Redis(testApp().services.config.redisUrl, { maxRetriesPerRequest: null });
      const queues: Queues = createQueues(redis, prefix);
      try {
        const job = await queues.email.getJob(reactionJobId(eventId, 'send-verification-mail'));
        expect(job?.data).to.deep.equal(body);
        expect(await queues.audit.getJob(reactionJobId(eventId, 'write-audit-log'))).to.equal(undefined);
      } finally {
        await closeQueues(queues);
        redis.disconnect();
      }
    } finally {
      await consumer.close();
    }
  });

  it('keeps an event no consumer is bound to in user.events.unrouted, and counts it as published', async () => {
    await startTestRelay();
    const event = createEvent('ProfileUpdated', crypto.randomUUID(), { fields: 'display_name' });
    await insertEvent(event);
    await waitFor('published_at', async () => (await outboxRow(event.event_id)).published_at ?? undefined);
    const connection = await amqp.connect(vhost.url);
    try {
      const channel = await connection.createChannel();
      const message = await waitFor('the unrouted message', async () => (await channel.get(UNROUTED_QUEUE, { noAck: true })) || undefined);
      expect(message.properties.messageId).to.equal(event.event_id);
      expect(message.fields.routingKey).to.equal('ProfileUpdated');
      expect(JSON.parse(message.content.toString())).to.deep.equal(event);
    } finally {
      await connection.close();
    }
  });

  it('publishes while Redis is unreachable, leaving the reactions recorded for the sweeper', async () => {
    await startTestRelay({ redisUrl: 'redis://127.0.0.1:1' });
    const consumer = await waitFor('the user.events exchange', () => bindConsumer(vhost.url).catch(() => undefined));
    try {
      const event = createEvent('PasswordChanged', crypto.randomUUID(), { reason: 'change', sessions_revoked: 0 });
      await insertEvent(event);
      await waitFor('the message', () => consumer.messages.find((m) => m.properties.messageId === event.event_id), 10_000);
      await waitFor('published_at', async () => (await outboxRow(event.event_id)).published_at ?? undefined);
      const { rows } = await pool().query<{ job_name: string; enqueued_at: Date | null; completed: boolean }>(
        'SELECT job_name, enqueued_at, completed_at IS NOT NULL AS completed FROM reactions WHERE event_id = $1 ORDER BY job_name',
        [event.event_id],
      );
      // The audit row needs no Redis: the mark wrote it.
      expect(rows).to.deep.equal([
        { job_name: 'send-password-changed-mail', enqueued_at: null, completed: false },
        { job_name: 'write-audit-log', enqueued_at: null, completed: true },
      ]);
    } finally {
      await consumer.close();
    }
  });

  it('records and enqueues the reactions of events not published within 10 s while RabbitMQ is unreachable', async () => {
    await startTestRelay({ rabbitmqUrl: `amqp://guest:guest@127.0.0.1:${await freePort()}/` });
    const redis = new Redis(testApp().services.config.redisUrl, { maxRetriesPerRequest: null });
    const queues = createQueues(redis, prefix);
    try {
      // Older than the sweeper leaves to the relay (10 s): its reactions are the sweeper's.
      const event = createEvent('PasswordChanged', crypto.randomUUID(), { reason: 'change', sessions_revoked: 0 });
      await insertEvent(event, undefined, 60);
      const job = await waitFor('the mail job', () => queues.email.getJob(reactionJobId(event.event_id, 'send-password-changed-mail')), 10_000);
      expect(job.data).to.deep.equal(event);
      expect(await queues.audit.getJob(reactionJobId(event.event_id, 'write-audit-log'))).to.not.equal(undefined);
      await waitFor('both reactions marked enqueued', async () => {
        const { rows } = await pool().query('SELECT 1 FROM reactions WHERE event_id = $1 AND enqueued_at IS NOT NULL', [event.event_id]);
        return rows.length === 2 ? true : undefined;
      });
      const row = await outboxRow(event.event_id);
      expect(row.published_at).to.equal(null);
      expect(row.attempts).to.equal(0);
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });

  it('re-enqueues a reaction not completed within REACTION_TIMEOUT_SECONDS', async () => {
    const event = createEvent('UserRegistered', crypto.randomUUID(), { locale: 'en' });
    await pool().query(
      `INSERT INTO reactions (event_id, job_name, payload, enqueued_at) VALUES ($1, 'send-verification-mail', $2, now() - interval '1 hour')`,
      [event.event_id, JSON.stringify(event)],
    );
    await startTestRelay({ relay: { reactionTimeoutSeconds: 1 } });
    const redis = new Redis(testApp().services.config.redisUrl, { maxRetriesPerRequest: null });
    const queues = createQueues(redis, prefix);
    try {
      const job = await waitFor('the re-enqueued job', () => queues.email.getJob(reactionJobId(event.event_id, 'send-verification-mail')), 15_000);
      expect(job.data).to.deep.equal(event);
      // And marked enqueued again, just after the add.
      await waitFor('enqueued_at renewed', async () => {
        const { rows } = await pool().query<{ recent: boolean }>(
          `SELECT enqueued_at > now() - interval '1 minute' AS recent FROM reactions WHERE event_id = $1`,
          [event.event_id],
        );
        return rows[0]!.recent ? true : undefined;
      });
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });

  it('sets aside a row that keeps failing without holding up the others; outbox:replay puts it back', async () => {
    await startTestRelay({ relay: { maxAttempts: 2 } });
    const consumer = await waitFor('the user.events exchange', () => bindConsumer(vhost.url).catch(() => undefined));
    const missingExchange = `missing.${crypto.randomBytes(4).toString('hex')}`;
    try {
      const bad = createEvent('ProfileUpdated', crypto.randomUUID(), { fields: 'display_name' });
      await insertEvent(bad, missingExchange, 60);
      const good = createEvent('ProfileUpdated', crypto.randomUUID(), { fields: 'display_name' });
      await insertEvent(good);
      await waitFor('the good event', () => consumer.messages.find((m) => m.properties.messageId === good.event_id), 10_000);

      const aside = await waitFor('the bad row set aside', async () => {
        const row = await outboxRow(bad.event_id);
        return row.failed_at ? row : undefined;
      });
      expect(aside.attempts).to.equal(2);
      expect(aside.published_at).to.equal(null);
      expect(aside.last_error).to.include(missingExchange);
      // Its reactions do not wait for the broker: the sweeper records them once the event is 10 s old (backdated here).
      const reactions = await waitFor('its reactions', async () => {
        const { rows } = await pool().query('SELECT job_name FROM reactions WHERE event_id = $1', [bad.event_id]);
        return rows.length > 0 ? rows : undefined;
      });
      expect(reactions).to.deep.equal([{ job_name: 'write-audit-log' }]);

      // Later events still flow: the failure did not wedge the relay.
      const later = createEvent('ProfileUpdated', crypto.randomUUID(), { fields: 'display_name' });
      await insertEvent(later);
      await waitFor('a later event', () => consumer.messages.find((m) => m.properties.messageId === later.event_id), 10_000);

      const listed = await replay('--list');
      expect(listed.code).to.equal(0);
      expect(listed.stdout).to.include(bad.event_id);

      // The operator fixes the cause (creates the exchange, binds a queue) and replays.
      const connection = await amqp.connect(vhost.url);
      const channel = await connection.createChannel();
      await channel.assertExchange(missingExchange, 'topic', { durable: false });
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, missingExchange, '#');
      const replayed = await replay(bad.event_id);
      expect(replayed.code).to.equal(0);
      expect(replayed.stdout).to.include('queued for publishing again');
      const message = await waitFor('the replayed event', async () => (await channel.get(queue, { noAck: true })) || undefined, 15_000);
      expect(message.properties.messageId).to.equal(bad.event_id);
      const after = await waitFor('published_at', async () => ((await outboxRow(bad.event_id)).published_at ? outboxRow(bad.event_id) : undefined));
      expect(after.failed_at).to.equal(null);
      await connection.close();
    } finally {
      await consumer.close();
    }
  });

  it('outbox:replay refuses an invalid id and names an unknown one', async () => {
    const invalid = await replay('not-a-uuid');
    expect(invalid.code).to.equal(2);
    expect(invalid.stderr).to.include('"not-a-uuid" is not an event_id');
    const unknown = crypto.randomUUID();
    const missing = await replay(unknown);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include(`no outbox event has event_id ${unknown}`);
    const usage = await replay();
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.include('usage: npm run outbox:replay -- <event_id>');
  });
});
