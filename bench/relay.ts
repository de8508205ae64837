/**
 * Relay benchmarks (`npx tsx bench/relay.ts`), on this machine's PostgreSQL, Redis and
 * RabbitMQ, with the relay as a real worker process (WORKER_QUEUES=relay):
 *
 * - throughput: rows published and marked per second while the relay drains a 20 000-row
 *   backlog, divided by raw amqplib publishing the same messages to the same broker with
 *   asynchronous confirms and 500 in flight (target >= 0.7). The machine is shared, so
 *   this runs in rounds (raw, then relay) and compares the medians; the reactions the
 *   events owe (about 1.4 jobs each) are enqueued after the backlog, timed apart;
 * - latency: commit-to-broker p50/p99 at a steady 200 events/s (a producing transaction
 *   per event; a consumer notes arrival - commit), target p99 <= 20 ms; measured just after
 *   the bare loop the issue names as its reference (INSERT + NOTIFY, a listener, a
 *   confirmed publish: startBareRelay), so a slow machine shows in both.
 *
 * Messages go to an exchange of the benchmark's own on the default vhost (each row's topic
 * names it), with one durable queue bound, so both sides persist every message.
 * OUTBOX_*, RELAY_* and REACTION_* variables are passed to the relay (to try other
 * batch sizes); BENCH_RELAY_ROUNDS, BENCH_RELAY_BACKLOG, BENCH_RELAY_LATENCY_SECONDS size
 * the run; BENCH_RELAY_NODE_ARGS (e.g. "--cpu-prof") go to the relay's node.
 * `npm run bench -- relay` runs it through bench/run.ts.
 */
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';
import { EVENT_TYPES, type EventType } from '../shared/events/event-types.js';
import { reactionsFor } from '../shared/queues/jobs.js';
import { closeQueues, createQueues } from '../shared/queues/queues.js';
import { spawnWorker } from '../test/support/relay-harness.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';

const BACKLOG = Number(process.env.BENCH_RELAY_BACKLOG ?? 20_000);
const RATE = 200;
const LATENCY_SECONDS = Number(process.env.BENCH_RELAY_LATENCY_SECONDS ?? 15);
const RAW_IN_FLIGHT = 500;
const ROUNDS = Number(process.env.BENCH_RELAY_ROUNDS ?? 3);
const BROKER_URL = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const tag = crypto.randomBytes(4).toString('hex');
const EXCHANGE = `bench.relay.${tag}`;
const QUEUE = `bench.relay.${tag}`;
const PREFIX = `bench-relay-${tag}`;

interface Row {
  event_id: string;
  type: string;
  body: string;
}

/** Event-shaped rows: the types in turn (most ask for one or two reactions), a realistic body. */
function makeRow(index: number): Row {
  const type = EVENT_TYPES[index % EVENT_TYPES.length]!;
  const event = {
    event_id: crypto.randomUUID(),
    type,
    occurred_at: new Date().toISOString(),
    user_id: crypto.randomUUID(),
    data: { session_id: crypto.randomUUID(), ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (bench)' },
  };
  return { event_id: event.event_id, type, body: JSON.stringify(event) };
}

async function insertRows(db: pg.ClientBase | pg.Pool, rows: Row[]): Promise<void> {
  await db.query(
    `INSERT INTO outbox (event_id, aggregate_id, topic, type, payload)
     SELECT e, gen_random_uuid(), $4, t, p::jsonb FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(e, t, p)`,
    [rows.map((r) => r.event_id), rows.map((r) => r.type), rows.map((r) => r.body), EXCHANGE],
  );
}

async function rawPublish(channel: ConfirmChannel, rows: Row[]): Promise<number> {
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let done = 0;
    const pump = () => {
      while (inFlight < RAW_IN_FLIGHT && next < rows.length) {
        const row = rows[next++]!;
        inFlight++;
        const options = { persistent: true, messageId: row.event_id, type: row.type, contentType: 'application/json', timestamp: Math.floor(Date.now() / 1000) };
        channel.publish(EXCHANGE, row.type, Buffer.from(row.body), options, (error: Error | null) => {
          if (error) return reject(error);
          inFlight--;
          if (++done === rows.length) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  return rows.length / ((performance.now() - started) / 1000);
}

/**
 * Polls until `sql` (a cheap existence check, answered from a partial index so the polling
 * takes little from the relay) returns no row.
 */
async function waitUntilNone(pool: pg.Pool, sql: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rowCount } = await pool.query(sql);
    if (rowCount === 0) return;
    if (Date.now() > deadline) throw new Error(`still rows after ${timeoutMs} ms: ${sql}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Removes every job of the relay's queues (under this run's prefix). */
async function obliterateQueues(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queues = createQueues(redis, PREFIX);
  await Promise.all(Object.values(queues).map((queue) => queue.obliterate({ force: true }).catch(() => undefined)));
  await closeQueues(queues);
  redis.disconnect();
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** What a producing transaction writes: the outbox row (the relay's side) or the bare loop's row and NOTIFY. */
type Produce = (tx: pg.PoolClient, row: Row) => Promise<unknown>;

const intoOutbox: Produce = (tx, row) => insertRows(tx, [row]);

/**
 * The latency baseline the issue names, as bare as it gets: the producing transaction
 * inserts into a table of its own and NOTIFYs the row's id; a listener (in this process,
 * on its own connection) reads the row by id and publishes it on a confirm channel
 * (persistent, confirms awaited asynchronously): no leader lock, lease, batch or mark.
 * Measured like the relay, just before it, so the two p99s share the machine's mood.
 */
async function startBareRelay(connectionString: string, connection: ChannelModel): Promise<{ produce: Produce; stop(): Promise<void> }> {
  const listener = new pg.Client({ connectionString });
  await listener.connect();
  await listener.query('CREATE TABLE bench_bare_outbox (id bigserial PRIMARY KEY, event_id uuid NOT NULL, type text NOT NULL, payload jsonb NOT NULL)');
  const channel = await connection.createConfirmChannel();
  const reader = new pg.Client({ connectionString });
  await reader.connect();
  listener.on('notification', (notice) => {
    void reader.query<{ event_id: string; type: string; body: string }>('SELECT event_id, type, payload::text AS body FROM bench_bare_outbox WHERE id = $1', [notice.payload]).then(({ rows: [row] }) => {
      if (row) channel.publish(EXCHANGE, row.type, Buffer.from(row.body), { persistent: true, messageId: row.event_id, type: row.type, contentType: 'application/json' }, () => undefined);
    });
  });
  await listener.query('LISTEN bench_bare');
  return {
    produce: (tx, row) =>
      tx.query(
        `WITH r AS (INSERT INTO bench_bare_outbox (event_id, type, payload) VALUES ($1, $2, $3::jsonb) RETURNING id)
         SELECT pg_notify('bench_bare', id::text) FROM r`,
        [row.event_id, row.type, row.body],
      ),
    async stop() {
      await channel.close().catch(() => undefined);
      await Promise.all([listener.end(), reader.end()]);
    },
  };
}

/**
 * One producing transaction per event at RATE/s for LATENCY_SECONDS; a consumer notes each
 * arrival. Latency = arrival - the moment COMMIT returned (0 when the message beat the
 * COMMIT reply to this process). The first second is warm-up.
 */
async function measureLatency(pool: pg.Pool, connection: ChannelModel, produce: Produce): Promise<number[]> {
  const commits = new Map<string, number>();
  const arrivals = new Map<string, number>();
  const consumer = await connection.createChannel();
  await consumer.consume(QUEUE, (message) => {
    if (message) arrivals.set(message.properties.messageId as string, performance.now());
  }, { noAck: true });
  const total = RATE * LATENCY_SECONDS;
  const started = performance.now();
  const producing: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const row = makeRow(i);
    producing.push(
      (async () => {
        const tx = await pool.connect();
        try {
          await tx.query('BEGIN');
          await produce(tx, row);
          await tx.query('COMMIT');
          if (i >= RATE) commits.set(row.event_id, performance.now());
        } finally {
          tx.release();
        }
      })(),
    );
  }
  await Promise.all(producing);
  const deadline = Date.now() + 10_000;
  while ([...commits.keys()].some((id) => !arrivals.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await consumer.close();
  return [...commits].map(([id, at]) => Math.max(0, (arrivals.get(id) ?? Infinity) - at)).sort((x, y) => x - y);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface RelayBenchRow {
  metric: string;
  value: string;
  rounds: string;
  target: string;
  result: string;
}

/** The rows as plain lines for bench/run.ts's closing summary. */
export function formatRelay(rows: RelayBenchRow[]): string {
  return rows
    .map((row) => `${row.metric}: ${row.value}${row.target ? `, target ${row.target}: ${row.result === 'pass' ? 'PASS' : 'MISS'}` : ''}${row.rounds ? ` (${row.rounds})` : ''}`)
    .join('\n');
}

export interface RelayBenchOptions {
  /** Registers an undo step to run also if the caller is interrupted (bench/run.ts's cleanups). */
  defer?: (step: () => Promise<unknown>) => void;
}

/** Runs both relay benchmarks, prints their table and returns its rows (for bench/run.ts). */
export async function runRelayBench({ defer = () => undefined }: RelayBenchOptions = {}): Promise<RelayBenchRow[]> {
  const database = await createMigratedDatabase();
  defer(() => dropDatabase(database));
  const pool = new pg.Pool({ connectionString: databaseUrlFor(database), max: 4 });
  const connection = await amqp.connect(BROKER_URL);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange(EXCHANGE, 'topic', { durable: true });
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, EXCHANGE, '#');
  const passThrough = Object.fromEntries(Object.entries(process.env).filter(([key]) => /^(OUTBOX_|RELAY_|REACTION_)/.test(key)));
  const relay = spawnWorker({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrlFor(database),
    REDIS_URL,
    RABBITMQ_URL: BROKER_URL,
    APP_SECRET: 'bench-secret-that-is-long-enough-for-production-use',
    WORKER_QUEUES: 'relay',
    QUEUE_PREFIX: PREFIX,
    LOG_LEVEL: 'info',
    ...passThrough,
  }, process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean));
  defer(() => relay.stop('SIGKILL'));
  try {
    await relay.waitForLog(/acquired the leader lock/, 30_000);
    await relay.waitForLog(/connected to RabbitMQ/, 30_000);

    // Throughput, in rounds (the machine is shared): raw amqplib publishing, then the relay
    // draining the same messages as a backlog; the medians are compared.
    const rounds: Array<{ raw: number; relay: number; reactions: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      await pool.query('TRUNCATE outbox, reactions');
      const rows = Array.from({ length: BACKLOG }, (_, i) => makeRow(i));
      const raw = await rawPublish(channel, rows);
      await channel.purgeQueue(QUEUE);
      const client = await pool.connect();
      await client.query('BEGIN');
      await insertRows(client, rows);
      await client.query('COMMIT');
      const committed = performance.now();
      client.release();
      await waitUntilNone(pool, 'SELECT 1 FROM outbox WHERE published_at IS NULL AND failed_at IS NULL LIMIT 1', 120_000);
      const relayRate = BACKLOG / ((performance.now() - committed) / 1000);
      // The reactions those events owe (recorded as each row was marked) are enqueued once
      // the backlog is out: publishing goes first.
      const owed = rows.reduce((sum, row) => sum + reactionsFor(row.type as EventType).length, 0);
      await waitUntilNone(pool, 'SELECT 1 FROM reactions WHERE enqueued_at IS NULL AND completed_at IS NULL LIMIT 1', 180_000);
      const { rows: recorded } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM reactions');
      if (recorded[0]!.n !== owed) throw new Error(`expected ${owed} reactions, found ${recorded[0]!.n}`);
      rounds.push({ raw, relay: relayRate, reactions: owed / ((performance.now() - committed) / 1000) });
      await channel.purgeQueue(QUEUE);
    }
    const raw = median(rounds.map((r) => r.raw));
    const relayRate = median(rounds.map((r) => r.relay));
    const reactionRate = median(rounds.map((r) => r.reactions));
    // The rounds left ~1.4 reactions per row that no worker here completes: within a minute
    // the relay's sweeper would enqueue them all again, in the middle of the latency run.
    await pool.query('TRUNCATE outbox, reactions');
    await obliterateQueues();
    const bareRelay = await startBareRelay(databaseUrlFor(database), connection);
    const bareLatencies = await measureLatency(pool, connection, bareRelay.produce);
    await bareRelay.stop();
    const latencies = await measureLatency(pool, connection, intoOutbox);

    const ratio = relayRate / raw;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const bare = { p50: percentile(bareLatencies, 50), p99: percentile(bareLatencies, 99) };
    const perRound = (pick: (r: (typeof rounds)[number]) => number) => rounds.map((r) => pick(r).toFixed(0)).join(' / ');
    const table: RelayBenchRow[] = [
      { metric: 'raw amqplib publish, 500 in flight (msg/s)', value: raw.toFixed(0), rounds: perRound((r) => r.raw), target: '', result: '' },
      { metric: `relay draining ${BACKLOG} rows (rows/s)`, value: relayRate.toFixed(0), rounds: perRound((r) => r.relay), target: '', result: '' },
      { metric: '  and their reactions enqueued (reactions/s)', value: reactionRate.toFixed(0), rounds: perRound((r) => r.reactions), target: '', result: '' },
      { metric: 'relay / raw throughput', value: ratio.toFixed(2), rounds: '', target: '>= 0.7', result: ratio >= 0.7 ? 'pass' : 'FAIL' },
      { metric: `bare INSERT+NOTIFY -> listener -> publish p50 / p99 @ ${RATE}/s (ms)`, value: `${bare.p50.toFixed(1)} / ${bare.p99.toFixed(1)}`, rounds: `${bareLatencies.length} samples`, target: '', result: '' },
      { metric: `commit-to-broker p50 @ ${RATE}/s (ms)`, value: p50.toFixed(1), rounds: '', target: '', result: '' },
      { metric: `commit-to-broker p99 @ ${RATE}/s (ms)`, value: p99.toFixed(1), rounds: `${latencies.length} samples`, target: '<= 20', result: p99 <= 20 ? 'pass' : 'FAIL' },
    ];
    console.table(table);
    return table;
  } finally {
    await relay.stop();
    await channel.deleteQueue(QUEUE).catch(() => undefined);
    await channel.deleteExchange(EXCHANGE).catch(() => undefined);
    await connection.close().catch(() => undefined);
    await pool.end();
    await dropDatabase(database).catch(() => undefined);
    await obliterateQueues();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runRelayBench();
