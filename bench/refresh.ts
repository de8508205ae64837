/**
 * Refresh benchmark (`npx tsx bench/refresh.ts`, and a section of `npm run bench`):
 * POST /token/refresh throughput through the web role (api/main.js as its own process,
 * NODE_ENV=production, RATE_LIMIT_SCALE=1000) divided by the same work done raw in one
 * script against the same database (bench/baselines/refresh-transaction.ts: the very
 * statement the app rotates a usable token with, on a plain pg pool, the successor's HMAC
 * and the ES256 signature; no HTTP, and no rate-limit count in Redis, which the API does
 * per refresh): how much of that rate the API keeps. Target >= 0.7.
 *
 * A third side reads the figure against what any HTTP service could keep: the same raw
 * refresh served by node:http alone (bench/baselines/bare-http-refresh.ts: no Koa, no
 * middleware, no rate limit, no log), driven by the same HTTP client as the API. Its
 * ratio to raw is reported beside the figure, and so is the API's ratio to it.
 *
 * Every side runs CONNECTIONS chains at once, one session (and user) each, every
 * refresh presenting the token the previous one returned, so each is a real rotation
 * (never the grace path). The rounds run raw, bare HTTP and API in turn, seconds apart,
 * and each ratio is the median of the rounds' ratios (the machine is shared and drifts).
 * BENCH_REFRESH_ROUNDS and BENCH_REFRESH_SECONDS size the run; PG_POOL_MAX and
 * UV_THREADPOOL_SIZE, when set, reach both sides alike. Needs the build in
 * bench/results/build: standalone, this file compiles it first.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { queuePrefix } from '../shared/queues/queues.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';
import { formatCpuAccount, withCpuAccount, type CpuAccount } from './lib/cpu-account.js';
import { JsonConnection } from './lib/json-connection.js';
import { median, medianRound } from './lib/median.js';
import { build, freePort, runJson, startServer, withCpu, RESULTS } from './lib/processes.js';
import { SETTINGS } from './lib/settings.js';

const ROUNDS = Number(process.env.BENCH_REFRESH_ROUNDS ?? SETTINGS.rounds);
const SECONDS = Number(process.env.BENCH_REFRESH_SECONDS ?? 5);
const CONNECTIONS = SETTINGS.connections;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RABBITMQ_URL = process.env.BENCH_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/';
const SHARED_ENV = Object.fromEntries(
  Object.entries(process.env).filter((entry): entry is [string, string] => /^(UV_THREADPOOL_SIZE|PG_POOL_MAX)$/.test(entry[0])),
);

export interface RefreshRound {
  /** Raw refreshes per second (transaction + HMAC + signature, no HTTP). */
  raw_per_second: number;
  /** 200 answers per second from the bare node:http server's POST /token/refresh. */
  bare_per_second: number;
  /** 200 answers per second from POST /token/refresh. */
  api_per_second: number;
  /** CPU the API process used meanwhile, in cores. */
  api_cpu_cores: number;
  /** Milliseconds of the machine's CPU per raw refresh (the raw script and PostgreSQL, mostly). */
  raw_machine_ms: number;
  /** Where the machine's CPU went per bare HTTP refresh ("api" is the bare server). */
  bare_cpu: CpuAccount;
  /** Where the machine's CPU went per API refresh. */
  api_cpu: CpuAccount;
}

export interface RefreshBench {
  rounds: RefreshRound[];
  /** Median of the rounds' API ÷ raw ratios. */
  ratio: number;
  /** Median of the rounds' bare HTTP ÷ raw ratios: the most an HTTP service kept here. */
  bare_ratio: number;
  /** Median of the rounds' API ÷ bare HTTP ratios. */
  api_to_bare: number;
  target: string;
  pass: boolean;
}

/** `step`, run at most once however often it is called. */
function once(step: () => Promise<void>): () => Promise<void> {
  let run: Promise<void> | undefined;
  return () => (run ??= step());
}


async function postJson(url: string, body: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, timeout: 30_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

/** Registers `count` users and signs each in once: one session and refresh token per chain. */
async function signIn(url: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const user = { email: `refresh-${i}-${crypto.randomBytes(4).toString('hex')}@example.com`, password: `Bench-${crypto.randomBytes(12).toString('base64url')}` };
    const registered = await postJson(`${url}/register`, user);
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${registered.text}`);
    const login = await postJson(`${url}/login`, user);
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${login.text}`);
    tokens.push(JSON.parse(login.text).refresh_token as string);
  }
  return tokens;
}

/**
 * A closed loop per chain, each over a keep-alive connection of its own (JsonConnection,
 * a lean client, so the generator's CPU takes little from the server's): each sends its
 * next refresh with the token the last one returned, for `seconds`. Any answer but 200
 * breaks its chain and fails the run, since the comparison would no longer be like for like.
 */
async function refreshLoad(url: string, tokens: string[], seconds: number): Promise<{ ok_per_second: number }> {
  const connections = await Promise.all(tokens.map(() => JsonConnection.open(url)));
  const started = performance.now();
  const deadline = started + seconds * 1_000;
  let ok = 0;
  try {
    await Promise.all(
      connections.map(async (connection, i) => {
        while (performance.now() < deadline) {
          const answer = await connection.post('/token/refresh', JSON.stringify({ refresh_token: tokens[i] }));
          if (answer.status !== 200) throw new Error(`refresh answered ${answer.status} ${answer.text}`);
          tokens[i] = JSON.parse(answer.text).refresh_token as string;
          if (performance.now() <= deadline) ok++;
        }
      }),
    );
  } finally {
    for (const connection of connections) connection.close();
  }
  return { ok_per_second: ok / ((performance.now() - started) / 1_000) };
}

/** The figure and its references, a few lines for the report. */
export function formatRefresh(result: RefreshBench): string {
  const { rounds } = result;
  const list = (value: (r: RefreshRound) => number, digits = 0) => rounds.map((r) => value(r).toFixed(digits)).join(', ');
  const middle = medianRound(rounds, (r) => r.api_per_second / r.raw_per_second);
  const apiShare = middle.api_cpu.ms_per_operation as Record<'machine' | 'api', number>;
  const ceiling = middle.raw_machine_ms / (apiShare.machine - apiShare.api);
  return (
    `POST /token/refresh ÷ raw refresh statement + ES256 (web): ${result.ratio.toFixed(2)}, target ${result.target}: ${result.pass ? 'PASS' : 'MISS'}; ` +
    `rounds ${list((r) => r.api_per_second / r.raw_per_second, 2)}: ${list((r) => r.api_per_second)} ÷ ${list((r) => r.raw_per_second)} /s\n` +
    `  the same raw refresh served by bare node:http ÷ raw: ${result.bare_ratio.toFixed(2)} (rounds ${list((r) => r.bare_per_second / r.raw_per_second, 2)}: ${list((r) => r.bare_per_second)} /s); ` +
    `API ÷ bare node:http: ${result.api_to_bare.toFixed(2)} (rounds ${list((r) => r.api_per_second / r.bare_per_second, 2)})\n` +
    `  where the CPU went (median round): raw ${middle.raw_machine_ms.toFixed(3)} ms per refresh\n` +
    `    bare node:http ${formatCpuAccount(middle.bare_cpu, 'refresh')}\n` +
    `    API ${formatCpuAccount(middle.api_cpu, 'refresh')}\n` +
    `  the HTTP client, PostgreSQL, Redis and the kernel alone take ${(apiShare.machine - apiShare.api).toFixed(3)} ms per API refresh, so an API process that cost nothing would reach at most ${ceiling.toFixed(2)} of raw here`
  );
}

export interface RefreshBenchOptions {
  progress?: (line: string) => void;
  /** Registers an undo step to run also if the caller is interrupted (bench/run.ts's cleanups); each runs at most once. */
  defer?: (step: () => Promise<unknown>) => void;
}

/** Runs the refresh benchmark on a throwaway database and web process of its own, removed afterwards; returns the figure. */
export async function runRefreshBench({ progress = console.log, defer = () => undefined }: RefreshBenchOptions = {}): Promise<RefreshBench> {
  const database = await createMigratedDatabase();
  const dropOnce = once(() => dropDatabase(database));
  defer(dropOnce);
  const prefix = `bench-refresh-${crypto.randomBytes(4).toString('hex')}`;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-bench-refresh-'));
  const port = String(await freePort());
  const env: Record<string, string> = {
    ...SHARED_ENV,
    NODE_ENV: 'production',
    APP_SECRET: crypto.randomBytes(36).toString('base64url'),
    DATABASE_URL: databaseUrlFor(database),
    REDIS_URL,
    RABBITMQ_URL,
    QUEUE_PREFIX: prefix,
    PORT: port,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MAIL_DIR: path.join(workDir, 'mail-out'),
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    RATE_LIMIT_SCALE: '1000',
  };
  progress(`refresh: starting the web role on throwaway database ${database}, output to ${path.join(RESULTS, 'refresh-web.log')}`);
  const server = await startServer('refresh-web', 'api/main.js', env, workDir);
  defer(() => server.stop());
  const bare = await startServer('refresh-bare-http', 'bench/baselines/bare-http-refresh.js', { ...env, PORT: String(await freePort()) }, workDir);
  defer(() => bare.stop());
  try {
    progress(`refresh: signing in ${3 * CONNECTIONS} users (a chain each: raw, bare HTTP, API)`);
    let rawTokens = await signIn(server.url, CONNECTIONS);
    const bareTokens = await signIn(server.url, CONNECTIONS);
    const apiTokens = await signIn(server.url, CONNECTIONS);
    // Warm-up; the raw script warms up on its own.
    await refreshLoad(bare.url, bareTokens, 2);
    await refreshLoad(server.url, apiTokens, 2);

    const rounds: RefreshRound[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const raw = await runJson<{ per_second: number; machine_busy_cores: number; tokens: string[] }>('bench/baselines/refresh-transaction.js', [String(SECONDS), ...rawTokens], env);
      rawTokens = raw.tokens;
      const { result: bareLoad, cpu: bareCpu } = await withCpuAccount(
        { 'bare node:http': bare.pid },
        () => refreshLoad(bare.url, bareTokens, SECONDS),
        (result) => result.ok_per_second * SECONDS,
      );
      const { result: api, cpu } = await withCpuAccount(
        { api: server.pid },
        () => withCpu(server.pid, () => refreshLoad(server.url, apiTokens, SECONDS)),
        (result) => result.ok_per_second * SECONDS,
      );
      const rawMachineMs = (1000 * raw.machine_busy_cores) / raw.per_second;
      rounds.push({
        raw_per_second: raw.per_second,
        bare_per_second: bareLoad.ok_per_second,
        api_per_second: api.ok_per_second,
        api_cpu_cores: api.server_cpu_cores,
        raw_machine_ms: rawMachineMs,
        bare_cpu: bareCpu,
        api_cpu: cpu,
      });
      progress(
        `refresh round ${round}/${ROUNDS}, ${CONNECTIONS} chains, ${SECONDS} s each: raw ${raw.per_second.toFixed(0)}/s, bare node:http ${bareLoad.ok_per_second.toFixed(0)}/s, API ${api.ok_per_second.toFixed(0)}/s (API CPU ${api.server_cpu_cores.toFixed(2)} cores)`,
      );
      progress(`  raw: ${rawMachineMs.toFixed(3)} ms of CPU per refresh (${raw.machine_busy_cores.toFixed(2)} cores busy)`);
      progress(`  bare node:http: ${formatCpuAccount(bareCpu, 'refresh')}`);
      progress(`  API: ${formatCpuAccount(cpu, 'refresh')}`);
    }
    const ratio = median(rounds.map((r) => r.api_per_second / r.raw_per_second));
    const bare_ratio = median(rounds.map((r) => r.bare_per_second / r.raw_per_second));
    const api_to_bare = median(rounds.map((r) => r.api_per_second / r.bare_per_second));
    return { rounds, ratio, bare_ratio, api_to_bare, target: '>= 0.7', pass: ratio >= 0.7 };
  } finally {
    await bare.stop();
    await server.stop();
    await dropOnce().catch(() => undefined);
    fs.rmSync(workDir, { recursive: true, force: true });
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${queuePrefix(prefix)}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  fs.mkdirSync(RESULTS, { recursive: true });
  await build();
  console.log(`\n${formatRefresh(await runRefreshBench())}\n`);
}
