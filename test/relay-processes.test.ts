import { expect } from 'chai';
import pg from 'pg';
import { removeTestKeys, testPrefix } from './support/redis-keys.js';
import { testEnv } from './support/test-app.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from './support/test-database.js';
import {
  bindConsumer,
  closeAllConnections,
  createVhost,
  spawnWorker,
  type TestConsumer,
  type TestVhost,
  type WorkerProcess,
} from './support/relay-harness.js';
import { waitFor } from './support/wait-for.js';

/**
 * The relay as real worker processes (`node --import tsx workers/main.ts`,
 * WORKER_QUEUES=relay), each test on a database and a RabbitMQ vhost of its own.
 */
/** Enough rows that the relay, at full speed, is still draining when rabbitmqctl gets through. */
const BROKER_BACKLOG = 30_000;

describe('outbox relay (real processes)', function () {
  this.timeout(120_000);
  let database: string;
  let vhost: TestVhost;
  let pool: pg.Pool;
  let consumer: TestConsumer | undefined;
  const workers: WorkerProcess[] = [];
  const prefix = testPrefix('relay-proc');

  function startRelay(overrides: NodeJS.ProcessEnv = {}): WorkerProcess {
    const worker = spawnWorker(
      testEnv(database, {
        WORKER_QUEUES: 'relay',
        RABBITMQ_URL: vhost.url,
        QUEUE_PREFIX: prefix,
        LOG_LEVEL: 'info',
        RELAY_STANDBY_RETRY_MS: '500',
        ...overrides,
      }),
    );
    workers.push(worker);
    return worker;
  }

  /** Inserts `count` events straight into the outbox, as producing transactions would; returns their ids. */
  async function insertBacklog(count: number): Promise<string[]> {
    const { rows } = await pool.query<{ event_id: string }>(
      `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload)
       SELECT e, u, 'user.events', 'ProfileUpdated',
              jsonb_build_object('event_id', e, 'type', 'ProfileUpdated', 'occurred_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                 'user_id', u, 'data', jsonb_build_object('fields', 'display_name'))
         FROM (SELECT gen_random_uuid() AS e, gen_random_uuid() AS u FROM generate_series(1, $1)) g
       RETURNING event_id`,
      [count],
    );
    return rows.map((row) => row.event_id);
  }

  async function publishedCount(): Promise<number> {
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NOT NULL');
    return rows[0]!.n;
  }

  /** Every message's message_id is its body's event_id, and every event arrived; returns the duplicates. */
  function expectEveryEventOnce(eventIds: string[]): number {
    const received = consumer!.messages;
    for (const message of received) {
      expect(JSON.parse(message.content.toString()).event_id).to.equal(message.properties.messageId);
    }
    const distinct = new Set(received.map((message) => message.properties.messageId as string));
    expect(distinct.size).to.equal(eventIds.length);
    for (const id of eventIds) expect(distinct.has(id), `event ${id} arrived`).to.equal(true);
    return received.length - distinct.size;
  }

  beforeEach(async () => {
    database = await createMigratedDatabase();
    pool = new pg.Pool({ connectionString: databaseUrlFor(database), max: 2 });
    vhost = await createVhost();
  });

  afterEach(async () => {
    for (const worker of workers.splice(0)) {
      worker.child.kill('SIGCONT');
      await worker.stop('SIGKILL');
    }
    await consumer?.close();
    consumer = undefined;
    await pool.end();
    await dropDatabase(database);
    await vhost.remove();
  });

  after(async () => {
    await removeTestKeys(prefix);
  });

  it('loses nothing when the relay is SIGKILLed mid-backlog: a restart delivers every event, duplicates keep their message_id', async () => {
    // Small batches, one at a time, so the kill lands in the middle of the backlog.
    const slow = { OUTBOX_BATCH_SIZE: '20', OUTBOX_INFLIGHT_BATCHES: '1' };
    const first = startRelay(slow);
    await first.waitForLog(/connected to RabbitMQ/);
    consumer = await bindConsumer(vhost.url);
    const eventIds = await insertBacklog(3000);
    await waitFor('the first messages', () => (consumer!.messages.length >= 300 ? true : undefined));
    await first.stop('SIGKILL');
    const atKill = await publishedCount();
    expect(atKill, 'killed mid-backlog').to.be.below(3000);

    const second = startRelay();
    await second.waitForLog(/acquired the leader lock/);
    await waitFor('every event', () => (new Set(consumer!.messages.map((m) => m.properties.messageId)).size >= 3000 ? true : undefined), 60_000);
    await waitFor('every row marked', async () => ((await publishedCount()) === 3000 ? true : undefined), 20_000);
    const duplicates = expectEveryEventOnce(eventIds);
    expect(duplicates).to.be.at.most(200);
  });

  it('lets a standby take over within seconds when the leader is stopped (SIGSTOP) or killed (SIGKILL)', async () => {
    const leaderTimeout = { RELAY_LEADER_TIMEOUT_MS: '2000' };
    const leader = startRelay(leaderTimeout);
    await leader.waitForLog(/acquired the leader lock/);
    await leader.waitForLog(/connected to RabbitMQ/);
    const standby = startRelay(leaderTimeout);
    await standby.waitForLog(/another relay holds the leader lock; standing by/);
    consumer = await bindConsumer(vhost.url);
    const before = await insertBacklog(10);
    await waitFor('events through the leader', () => (consumer!.messages.length >= 10 ? true : undefined));
    expect(standby.lines.some((line) => /acquired the leader lock/.test(line.msg))).to.equal(false);

    // A frozen leader keeps its socket open: its lock must lapse all the same.
    await leader.stop('SIGSTOP');
    const stoppedAt = Date.now();
    const during = await insertBacklog(10);
    await standby.waitForLog(/acquired the leader lock/, 20_000);
    await waitFor('events through the standby', () => (consumer!.messages.length >= 20 ? true : undefined), 20_000);
    expect(Date.now() - stoppedAt, 'takeover time').to.be.below(12_000);

    // And a killed leader's lock is freed at once.
    const third = startRelay(leaderTimeout);
    await third.waitForLog(/another relay holds the leader lock; standing by/);
    await standby.stop('SIGKILL');
    const killedAt = Date.now();
    const after = await insertBacklog(10);
    await third.waitForLog(/acquired the leader lock/, 20_000);
    await waitFor('events through the third relay', () => (consumer!.messages.length >= 30 ? true : undefined), 20_000);
    expect(Date.now() - killedAt, 'takeover time').to.be.below(8_000);
    expectEveryEventOnce([...before, ...during, ...after]);
  });

  it('stops gracefully on SIGTERM mid-backlog: exit 0, lock released at once, no event sent twice', async () => {
    const slow = { OUTBOX_BATCH_SIZE: '20', OUTBOX_INFLIGHT_BATCHES: '2' };
    const leader = startRelay(slow);
    await leader.waitForLog(/acquired the leader lock/);
    await leader.waitForLog(/connected to RabbitMQ/);
    const standby = startRelay();
    await standby.waitForLog(/another relay holds the leader lock; standing by/);
    consumer = await bindConsumer(vhost.url);
    const eventIds = await insertBacklog(3000);
    await waitFor('the first messages', () => (consumer!.messages.length >= 300 ? true : undefined));
    const stoppedAt = Date.now();
    expect(await leader.stop('SIGTERM')).to.equal(0);
    expect(leader.lines.some((line) => line.msg === 'relay stopped')).to.equal(true);
    await standby.waitForLog(/acquired the leader lock/, 10_000);
    expect(Date.now() - stoppedAt, 'takeover time').to.be.below(6_000);
    await waitFor('every event', () => (new Set(consumer!.messages.map((m) => m.properties.messageId)).size >= 3000 ? true : undefined), 60_000);
    expect(expectEveryEventOnce(eventIds), 'duplicates').to.equal(0);
  });

  it('recovers when the broker closes every connection mid-backlog, and loses nothing', async () => {
    // Default batching: hundreds of messages in flight when the connections drop.
    const relay = startRelay();
    await relay.waitForLog(/connected to RabbitMQ/);
    // The consumer's connection is closed too: messages wait in its durable queue, read afterwards.
    const bound = await bindConsumer(vhost.url);
    await bound.close();
    const eventIds = await insertBacklog(BROKER_BACKLOG);
    await waitFor('the backlog under way', async () => ((await publishedCount()) >= 1000 ? true : undefined), 20_000, 10);
    await closeAllConnections(vhost.name);
    expect(await publishedCount(), 'closed mid-backlog').to.be.below(BROKER_BACKLOG);
    await relay.waitForLog(/RabbitMQ connection lost/, 10_000);
    await relay.waitForLog(/RabbitMQ connection recovered/, 20_000);
    await waitFor('every row marked', async () => ((await publishedCount()) === BROKER_BACKLOG ? true : undefined), 60_000);

    consumer = await bindConsumer(vhost.url, { queue: bound.queue });
    await waitFor('every event', () => (new Set(consumer!.messages.map((m) => m.properties.messageId)).size >= BROKER_BACKLOG ? true : undefined), 30_000);
    expectEveryEventOnce(eventIds);
  });
});
