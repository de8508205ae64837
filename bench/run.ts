/**
 * `npm run bench`: the API's performance against its own limits, measured side by side in
 * one run on this machine (2 shared cores, so only ratios taken minutes apart mean much).
 *
 * It compiles the app and two baselines (bench/tsconfig.json -> bench/results/build), creates
 * a RabbitMQ vhost and a Redis prefix for the workers and, for each API process, a fresh
 * throwaway database with a few registered users (so the all-in-one process does not start
 * on the web role's backlog of unpublished events); then it measures each side as its own
 * plain `node` process: the web role (api/main.js) alone, the full deployment (the web role
 * and one worker process running every role, workers/main.js with WORKER_QUEUES naming
 * them all: the Procfile's roles on one machine), then the all-in-one process
 * (bin/start.js). Where workers run, figure 1's CPU account runs on past each load until
 * they have caught up (no outbox row unpublished, no reaction incomplete), so their work
 * for the load's logins is counted per login; the summary's "asynchronous half per login"
 * is the full deployment's CPU per login minus the web role's, per process. The throughput ratios alternate baseline and API in 3 short rounds,
 * seconds apart, and take the median of the rounds' ratios, because the machine's speed
 * drifts by 10-20 % within a minute. Everything the run created is removed at the end,
 * also on failure or Ctrl-C. About 4 minutes (figures 1-5).
 *
 * The API runs with NODE_ENV=production, a 48-character APP_SECRET, RATE_LIMIT_SCALE=1000,
 * SESSION_MAX_PER_USER=0 (no cap on the thousands of sessions the login figures open), LOG_LEVEL=info (BENCH_LOG_LEVEL to change) with its output in bench/results/<process>.log,
 * HASH_CONCURRENCY and the argon2 parameters at their defaults (argon2id m=19456 t=2 p=1,
 * one hash per core) unless set in the environment, which every side then reads alike.
 * autocannon (closed loop) and the open-loop fixed-rate generator run in this process,
 * except figure 4's probe generator, which runs in a node process of its own
 * (bench/lib/fixed-rate-process.ts): sharing an event loop with the autocannon that
 * saturates the API, it sent its probes up to 5 ms late, and that lateness was counted as
 * the API's latency. The server side and the load are unchanged.
 *
 * The figures:
 * 1. Logins/s (right password, 16 connections, 6 s a round) ÷ verifications/s of raw
 *    argon2.verify with the same parameters and HASH_CONCURRENCY loops at once, in a process
 *    of its own run just before: how much of the hashing limit the API keeps. Target >= 0.93.
 * 2. GET /health responses/s ÷ those of a bare Koa app (its own process) answering the same
 *    JSON, same generator and 16 connections, 4 s each a round: the cost of the middleware
 *    stack on the cheapest route. Target >= 0.9. Its detail also divides by a bare Koa app
 *    that sends the API's security headers and an x-request-id: how much of the gap is
 *    those headers (Node validates and serialises each one) rather than the stack.
 * 3. Login p99 latency at a fixed rate of 80 % of the process's own peak from figure 1
 *    (evenly spaced requests, latency counted from each one's due time) ÷ the median time
 *    of one argon2.verify alone (measured by the raw argon2 runs). Target <= 2.
 * 4. GET /health p99 latency at 100 requests/s (fixed rate) while 16 connections of logins
 *    saturate the CPU: liveness probes stay fast under hashing load. Target <= 10 ms.
 * 5. Peak RSS (VmHWM) of the API process under a 200-connection login flood for 10 s, with
 *    how many requests were refused with 503 (bounded hashing queue). Reported, no target.
 * 6. POST /token/refresh throughput (a web process and database of its own) ÷ the same refresh
 *    transaction plus ES256 signing done raw in one script (bench/refresh.ts). Target >= 0.7.
 * 7. Relay throughput while it drains a 20 000-row outbox backlog ÷ raw amqplib publishing
 *    of the same messages with 500 in flight (target >= 0.7), and commit-to-broker p50/p99
 *    at a steady 200 events/s (target p99 <= 20 ms): bench/relay.ts, the relay as a worker
 *    process of its own.
 * 8. Mails per second through the email worker ÷ raw nodemailer sending the same messages
 *    to the same local SMTP sink (target >= 0.8): bench/mail.ts.
 * 9. Startup: spawn to the first GET /health 200 of the web role and of the all-in-one
 *    process ÷ that of a bare Koa process (reported): bench/startup.ts.
 *
 * `npm run bench -- relay mail` (or BENCH_ONLY=relay,mail) measures only the named parts:
 * `api` (figures 1-5 and GET /me), `refresh` (6), `relay` (7), `mail` (8), `startup` (9); every part
 * when none is named. The closing summary prints every figure measured; they are written
 * as JSON to bench/results/latest.json (a subset to latest-<parts>.json).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { queuePrefix } from '../shared/queues/queues.js';
import { createVhost } from '../test/support/relay-harness.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';
import { startBareKoa } from './lib/baselines.js';
import { measureApi, type ApiMeasurements, type BenchUser } from './lib/measure-api.js';
import { formatMe, measureMe, type MeMeasurement } from './me.js';
import { build, freePort, startServer, RESULTS } from './lib/processes.js';
import { figures, formatAsyncHalf, formatCpuNotes, formatTable } from './lib/report.js';
import { watchBacklog } from './lib/backlog.js';
import { WORKER_ROLES } from '../shared/config/config.js';
import { formatRefresh, runRefreshBench } from './refresh.js';
import { BENCH_PARTS, DEFAULT_BENCH_PARTS, selectBenchParts, type BenchPart } from './lib/bench-parts.js';
import { formatMail, runMailBench } from './mail.js';
import { formatRelay, runRelayBench } from './relay.js';
import { formatScale, runScaleBench } from './scale.js';
import { formatStartup, runStartupBench } from './startup.js';
import { SETTINGS } from './lib/settings.js';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
/** Settings every side reads alike, when set for the run. */
const SHARED_ENV = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => /^(HASH_|ARGON2_|UV_THREADPOOL_SIZE$|PG_POOL_MAX$)/.test(entry[0])),
);

const startedAt = Date.now();
function progress(line: string): void {
  console.log(`[${String(Math.round((Date.now() - startedAt) / 1000)).padStart(4)} s] ${line}`);
}

/** Undone in reverse order at the end, on failure, and on SIGINT/SIGTERM. */
const cleanups: Array<() => Promise<unknown>> = [];
async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step().catch((error: Error) => console.error(`cleanup: ${error.message}`));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function register(url: string, count: number): Promise<BenchUser[]> {
  const users = Array.from({ length: count }, (_, i) => ({
    email: `bench-${i}-${crypto.randomBytes(4).toString('hex')}@example.com`,
    password: `Bench-${crypto.randomBytes(12).toString('base64url')}`,
  }));
  for (const user of users) {
    const response = await fetch(`${url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
    if (response.status !== 201) throw new Error(`register failed: ${response.status} ${await response.text()}`);
  }
  return users;
}

/** Where each part leaves its figures: the JSON report and the closing summary. */
interface Report {
  json: Record<string, unknown>;
  summaries: string[];
}

/**
 * Figures 1-5 and GET /me: the web role alone, the full deployment (the web role and one
 * worker process running every role), then the all-in-one process, each on a fresh database.
 */
async function measureApiPart(report: Report): Promise<void> {
  const vhost = await createVhost('us_bench');
  cleanups.push(() => vhost.remove());
  const prefix = `bench-${crypto.randomBytes(4).toString('hex')}`;
  cleanups.push(async () => {
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${queuePrefix(prefix)}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-bench-'));
  cleanups.push(async () => fs.rmSync(workDir, { recursive: true, force: true }));
  progress(`RabbitMQ vhost ${vhost.name}, queue prefix ${prefix}; API LOG_LEVEL=${LOG_LEVEL}, output to bench/results/<process>.log`);
  const bare = await startBareKoa();
  cleanups.push(() => bare.stop());
  const bareWithHeaders = await startBareKoa('security');
  cleanups.push(() => bareWithHeaders.stop());

  // One secret for the run: the signing keys the first process stores are encrypted under it.
  const appSecret = crypto.randomBytes(36).toString('base64url');
  const apiEnv = async (database: string): Promise<Record<string, string>> => {
    const port = String(await freePort());
    return {
      ...SHARED_ENV,
      NODE_ENV: 'production',
      APP_SECRET: appSecret,
      DATABASE_URL: databaseUrlFor(database),
      REDIS_URL,
      RABBITMQ_URL: vhost.url,
      QUEUE_PREFIX: prefix,
      PORT: port,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      MAIL_DIR: path.join(workDir, 'mail-out'),
      LOG_LEVEL,
      // The limits (successful logins per account and IP included) out of the way of 8 users'
      // thousands of logins, and no session cap: each login does the work it did before the cap.
      RATE_LIMIT_SCALE: '1000',
      SESSION_MAX_PER_USER: '0',
    };
  };
  let me: MeMeasurement | undefined;
  /**
   * Measures one deployment (against the bare Koa baseline) on a fresh database with
   * registered users: the HTTP process `script` and, when given, a worker process
   * running every role (WORKER_QUEUES=all roles, as the Procfile's roles on one machine);
   * stops them and drops the database, also on failure.
   */
  async function measureDeployment(name: string, script: string, worker?: { name: string; script: string }): Promise<ApiMeasurements> {
    const database = await createMigratedDatabase();
    cleanups.push(() => dropDatabase(database));
    const env = await apiEnv(database);
    const httpName = worker ? 'web' : name;
    progress(`${name}: starting node ${script}${worker ? ` and node ${worker.script}` : ''} on throwaway database ${database}`);
    const slug = name.replace(/\s+/g, '-');
    const server = await startServer(worker ? `${slug}-web` : slug, script, env, workDir);
    cleanups.push(() => server.stop());
    const metricsPort = String(await freePort());
    const workerProcess = worker
      ? await startServer(`${slug}-${worker.name}`, worker.script, { ...env, PORT: String(await freePort()), METRICS_PORT: metricsPort, WORKER_QUEUES: WORKER_ROLES.join(',') }, workDir, {
          readyPort: metricsPort,
          readyPath: '/metrics',
        })
      : undefined;
    if (workerProcess) cleanups.push(() => workerProcess.stop());
    // Processes that run the workers (a worker process, the all-in-one) are measured until they caught up.
    const backlog = script === 'bin/start.js' || workerProcess ? await watchBacklog(databaseUrlFor(database)) : undefined;
    try {
      progress(`${name}: registering ${SETTINGS.users} users`);
      const users = await register(server.url, SETTINGS.users);
      const processes: Record<string, number> = { [httpName]: server.pid };
      if (workerProcess && worker) processes[worker.name] = workerProcess.pid;
      const measured = await measureApi({ ...server, name }, bare, bareWithHeaders, users, SHARED_ENV, progress, { processes, settle: backlog?.drained, database });
      // Authenticated GET /me ÷ bare Koa (bench/me.ts): on the web role only.
      if (name === 'web') me = await measureMe(server, bare, users[0]!, progress);
      return measured;
    } finally {
      await backlog?.close();
      await workerProcess?.stop();
      await server.stop();
      await dropDatabase(database);
    }
  }

  const web = await measureDeployment('web', 'api/main.js');
  const full = await measureDeployment('full deployment', 'api/main.js', { name: 'worker', script: 'workers/main.js' });
  const allInOne = await measureDeployment('all-in-one', 'bin/start.js');
  await Promise.all([bare.stop(), bareWithHeaders.stop()]);

  const shapes = [
    { name: 'web', api: web },
    { name: 'full deployment', api: full },
    { name: 'all-in-one', api: allInOne },
  ];
  const table = figures(shapes);
  report.json.figures = table;
  report.json.measurements = { web, 'full deployment': full, 'all-in-one': allInOne, me_web: me };
  report.summaries.push(formatTable(table, shapes.map((shape) => shape.name)));
  report.summaries.push(formatCpuNotes(shapes));
  report.summaries.push(formatAsyncHalf(shapes, 'web', 'full deployment'));
  if (me) report.summaries.push(formatMe('web', me));
}

async function main(parts: Set<BenchPart>): Promise<void> {
  const measured = BENCH_PARTS.filter((part) => parts.has(part));
  fs.mkdirSync(RESULTS, { recursive: true });
  progress(`${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  progress(`measuring: ${measured.join(', ')}`);
  if (parts.has('api') || parts.has('refresh') || parts.has('startup') || parts.has('scale')) {
    progress('compiling the app and the baselines into bench/results/build');
    await build();
  }
  const report: Report = { json: {}, summaries: [] };

  if (parts.has('api')) await measureApiPart(report);
  if (parts.has('refresh')) {
    // POST /token/refresh ÷ the raw refresh transaction (bench/refresh.ts): a web process and database of its own.
    const refresh = await runRefreshBench({ progress, defer: (step) => cleanups.push(step) });
    report.json.refresh = refresh;
    report.summaries.push(formatRefresh(refresh));
  }
  if (parts.has('relay')) {
    progress('relay: draining outbox backlogs against raw amqplib publishing, then commit-to-broker latency (bench/relay.ts)');
    const relay = await runRelayBench({ defer: (step) => cleanups.push(step) });
    report.json.relay = relay;
    report.summaries.push(formatRelay(relay));
  }
  if (parts.has('mail')) {
    progress('mail: the email worker against raw nodemailer into a local SMTP sink (bench/mail.ts)');
    const mail = await runMailBench({ defer: (step) => cleanups.push(step) });
    report.json.mail = mail;
    report.summaries.push(formatMail(mail));
  }
  if (parts.has('startup')) {
    progress('startup: spawn to the first GET /health 200, the web role and the all-in-one process beside bare Koa (bench/startup.ts)');
    const startup = await runStartupBench({ progress, defer: (step) => cleanups.push(step) });
    report.json.startup = startup;
    report.summaries.push(formatStartup(startup));
  }
  if (parts.has('scale')) {
    progress('scale: a full database beside a nearly empty one, each with a web process (bench/scale.ts)');
    const scale = await runScaleBench({ progress, defer: (step) => cleanups.push(step) });
    report.json.scale = scale;
    report.summaries.push(formatScale(scale));
  }

  const file = measured.length === DEFAULT_BENCH_PARTS.length && !parts.has('scale') ? 'latest.json' : `latest-${measured.join('-')}.json`;
  const json = {
    finished_at: new Date().toISOString(),
    machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version },
    settings: { ...SETTINGS, log_level: LOG_LEVEL, shared_env: SHARED_ENV, parts: measured },
    ...report.json,
  };
  fs.writeFileSync(path.join(RESULTS, file), `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\n${report.summaries.join('\n\n')}\n`);
  progress(`written to bench/results/${file}`);
}

let parts: Set<BenchPart>;
try {
  parts = selectBenchParts(process.argv.slice(2), process.env.BENCH_ONLY);
} catch (error) {
  console.error((error as Error).message);
  process.exit(2);
}
try {
  await main(parts);
} finally {
  await cleanUp();
}
