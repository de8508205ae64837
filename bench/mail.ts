/**
 * Mail benchmark (`npx tsx bench/mail.ts`), on this machine's PostgreSQL and Redis: mails
 * per second through the email worker (BullMQ job -> performReaction: lock the reaction
 * row, read the user, create a token, render, send over SMTP, mark done) divided by raw
 * nodemailer sending the same number of pre-rendered messages to the same SMTP sink with
 * the same pooling (SMTP_MAX_CONNECTIONS). Target >= 0.8.
 *
 * The sink is a real smtp-server in a child process (this file with --sink) that accepts
 * and discards every message and reports the count. BENCH_MAIL_COUNT (default 2000) and
 * BENCH_MAIL_ROUNDS (default 5) size the run; EMAIL_CONCURRENCY and SMTP_MAX_CONNECTIONS
 * are read as the app reads them. `npm run bench -- mail` runs it through bench/run.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../shared/config/config.js';
import { randomToken } from '../shared/crypto/random-token.js';
import { insertReactions } from '../shared/db/queries/reactions.js';
import { createEvent } from '../shared/events/create-event.js';
import type { DomainEvent } from '../shared/events/event-schemas.js';
import { createLogger } from '../shared/logger.js';
import { mailLink } from '../shared/mail/mail-link.js';
import { verificationMail } from '../shared/mail/templates/verification.js';
import { reactionJobId } from '../shared/queues/jobs.js';
import { createQueueSet } from '../shared/queues/queue-set.js';
import { queuePrefix } from '../shared/queues/queues.js';
import { createServices } from '../shared/services.js';
import { startEmailWorker } from '../workers/email/start-email-worker.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';

const COUNT = Number(process.env.BENCH_MAIL_COUNT ?? 2_000);
const ROUNDS = Number(process.env.BENCH_MAIL_ROUNDS ?? 5);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The child: an SMTP server that reads and discards every message, counting them to the parent. */
async function runSink(): Promise<void> {
  let received = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('end', () => {
        received += 1;
        callback();
      });
      stream.resume();
    },
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.server.address() as { port: number }).port }));
  process.on('message', (message: { reset?: boolean; count?: boolean }) => {
    if (message.reset) received = 0;
    process.send!({ received });
  });
}

/** The parent's view of the sink: its URL and a wait for a number of accepted messages. */
interface Sink {
  url: string;
  reset(): Promise<void>;
  waitFor(count: number): Promise<void>;
  stop(): void;
}

async function startSink(): Promise<Sink> {
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--sink'], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
  const port = await new Promise<number>((resolve) => child.once('message', (message: { port: number }) => resolve(message.port)));
  const ask = (message: object) =>
    new Promise<number>((resolve) => {
      child.once('message', (reply: { received: number }) => resolve(reply.received));
      child.send(message);
    });
  return {
    url: `smtp://127.0.0.1:${port}`,
    async reset() {
      await ask({ reset: true });
    },
    async waitFor(count) {
      while ((await ask({ count: true })) < count) await new Promise((resolve) => setTimeout(resolve, 5));
    },
    stop: () => child.kill(),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface MailBenchResult {
  messages: number;
  rounds: Array<{ round: number; raw_per_second: number; worker_per_second: number }>;
  raw_per_second: number;
  worker_per_second: number;
  /** worker ÷ raw, the ratio of the medians; target >= 0.8. */
  ratio: number;
  pass: boolean;
}

/** The figure as one line for bench/run.ts's closing summary. */
export function formatMail(result: MailBenchResult): string {
  const ratios = result.rounds.map((r) => (r.worker_per_second / r.raw_per_second).toFixed(2)).join(', ');
  return (
    `mails/s through the email worker ÷ raw nodemailer: ${result.ratio.toFixed(2)}, target >= 0.8: ${result.pass ? 'PASS' : 'MISS'}; ` +
    `${result.worker_per_second.toFixed(0)} ÷ ${result.raw_per_second.toFixed(0)} mails/s (medians of ${result.rounds.length} rounds of ${result.messages}; round ratios ${ratios})`
  );
}

export interface MailBenchOptions {
  /** Registers an undo step to run also if the caller is interrupted (bench/run.ts's cleanups). */
  defer?: (step: () => Promise<unknown>) => void;
}

/** Runs the mail benchmark, prints its table and returns the figures (for bench/run.ts). */
export async function runMailBench({ defer = () => undefined }: MailBenchOptions = {}): Promise<MailBenchResult> {
  const sink = await startSink();
  defer(async () => sink.stop());
  const database = await createMigratedDatabase();
  defer(() => dropDatabase(database));
  const prefix = `bench-mail-${crypto.randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrlFor(database),
    REDIS_URL,
    SMTP_URL: sink.url,
    QUEUE_PREFIX: prefix,
    PUBLIC_URL: 'http://localhost:8001',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    APP_SECRET: 'bench-secret-that-is-long-enough-for-anything',
  });
  const services = createServices(config, createLogger(config.logLevel));
  const queueSet = createQueueSet(config, services.log, 'consumer');
  const { connection: redis, queues } = queueSet;
  const results: Array<{ round: number; raw: number; worker: number }> = [];

  try {
    const { rows: users } = await services.pool.query<{ id: string; email: string }>(
      `WITH u AS (
         INSERT INTO users (email, password_hash)
         SELECT 'bench-' || g || '-' || $2 || '@example.com', 'not-a-hash' FROM generate_series(1, $1) g RETURNING id, email)
       , p AS (INSERT INTO user_profiles (user_id, locale) SELECT id, 'en' FROM u)
       SELECT id, email FROM u`,
      [COUNT, prefix],
    );
    const messages = users.map((user) => ({
      from: config.mailFrom,
      to: user.email,
      ...verificationMail('en', { link: mailLink(config.publicUrl, '/email/verify', randomToken()), hours: 24 }),
    }));

    /** Raw nodemailer: the same pooled transport options the mailer uses. */
    async function measureRaw(): Promise<number> {
      await sink.reset();
      const transport = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: config.smtpMaxConnections });
      const started = performance.now();
      await Promise.all(messages.map((message) => transport.sendMail(message)));
      await sink.waitFor(COUNT);
      const rate = COUNT / ((performance.now() - started) / 1_000);
      transport.close();
      return rate;
    }

    /** The worker: events with their reaction rows and jobs, as the relay leaves them; timed from the worker's start. */
    async function measureWorker(): Promise<number> {
      await sink.reset();
      const events: DomainEvent[] = users.map((user) => createEvent('EmailVerificationRequested', user.id));
      await insertReactions(services.pool, events.map((event) => ({ event_id: event.event_id, job_name: 'send-verification-mail' as const, payload: event })));
      await queues.email.addBulk(
        events.map((event) => ({ name: 'send-verification-mail', data: event, opts: { jobId: reactionJobId(event.event_id, 'send-verification-mail') } })),
      );
      const started = performance.now();
      const worker = await startEmailWorker({ ...services, queueSet });
      await sink.waitFor(COUNT);
      const rate = COUNT / ((performance.now() - started) / 1_000);
      await worker.stop();
      return rate;
    }

    // Warm up (JIT, the sink's connections) before anything is timed.
    const warmup = nodemailer.createTransport({ url: sink.url, pool: true, maxConnections: config.smtpMaxConnections });
    await Promise.all(messages.slice(0, 200).map((message) => warmup.sendMail(message)));
    warmup.close();

    // Alternate which side goes first, so a drift in the machine's load hits both alike.
    for (let round = 1; round <= ROUNDS; round++) {
      if (round % 2 === 1) {
        const raw = await measureRaw();
        results.push({ round, raw, worker: await measureWorker() });
      } else {
        const worker = await measureWorker();
        results.push({ round, raw: await measureRaw(), worker });
      }
    }
  } finally {
    const keys = await redis.keys(`${queuePrefix(prefix)}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await queueSet.close();
    await services.close();
    await dropDatabase(database);
    sink.stop();
  }

  const raw = median(results.map((r) => r.raw));
  const worker = median(results.map((r) => r.worker));
  console.log(`mail: ${COUNT} messages per side, ${ROUNDS} rounds, EMAIL_CONCURRENCY=${config.emailConcurrency}, SMTP_MAX_CONNECTIONS=${config.smtpMaxConnections}`);
  console.table([
    ...results.map((r) => ({ round: r.round, 'raw nodemailer (mails/s)': Math.round(r.raw), 'email worker (mails/s)': Math.round(r.worker), ratio: +(r.worker / r.raw).toFixed(2) })),
    { round: 'median', 'raw nodemailer (mails/s)': Math.round(raw), 'email worker (mails/s)': Math.round(worker), ratio: +(worker / raw).toFixed(2) },
  ]);
  const perRound = median(results.map((r) => r.worker / r.raw));
  console.log(`worker / raw = ${(worker / raw).toFixed(2)} (ratio of the medians; median of the rounds' ratios ${perRound.toFixed(2)}), target >= 0.8: ${worker / raw >= 0.8 ? 'met' : 'NOT met'}`);
  return {
    messages: COUNT,
    rounds: results.map((r) => ({ round: r.round, raw_per_second: r.raw, worker_per_second: r.worker })),
    raw_per_second: raw,
    worker_per_second: worker,
    ratio: worker / raw,
    pass: worker / raw >= 0.8,
  };
}

if (process.argv.includes('--sink')) await runSink();
else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runMailBench();
