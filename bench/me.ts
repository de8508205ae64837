/**
 * Authenticated `GET /me` throughput ÷ a bare Koa hello (issue 4's benchmark addition).
 *
 * `GET /me` is the cheapest route that does everything an authenticated request does: the
 * Bearer token's ES256 signature verified, the session looked up in PostgreSQL (revocation
 * takes effect at once), then the account read (user, profile, roles, MFA: one statement).
 * The bare Koa app answers `{"status":"ok"}` with no middleware. Same closed-loop
 * load on both (autocannon, SETTINGS.connections, one token for all requests), alternating
 * bare and API in SETTINGS.rounds rounds; the figure is the median of the rounds' ratios.
 * Reported, no target.
 *
 * `npm run bench` measures it on the web role (bench/run.ts); `npx tsx bench/me.ts` runs
 * this section alone: it compiles the app, starts the web role on a throwaway database and
 * the bare Koa app, measures, and removes what it created.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';
import { startBareKoa } from './lib/baselines.js';
import type { BenchUser } from './lib/measure-api.js';
import { build, freePort, startServer, withCpu, RESULTS, type ServerProcess } from './lib/processes.js';
import { SETTINGS } from './lib/settings.js';

export interface MeMeasurement {
  rounds: Array<{ bare_per_second: number; me_per_second: number; me_p99_ms: number; me_cpu_cores: number; statuses: Record<string, number> }>;
  /** Median of the rounds' GET /me ÷ bare Koa ratios. */
  ratio: number;
}

async function load(url: string, path: string, headers: Record<string, string>, seconds: number) {
  const result = await autocannon({ url: `${url}${path}`, connections: SETTINGS.connections, duration: seconds, headers, timeout: 30 });
  const statuses: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statuses[code] = count;
  if (result.errors) statuses.errors = result.errors;
  return { ok_per_second: result['2xx'] / result.duration, p99_ms: result.latency.p99, statuses };
}

/** Signs `user` in on `server`, then measures GET /me against `bare` in alternating rounds. */
export async function measureMe(server: ServerProcess, bare: ServerProcess, user: BenchUser, progress: (line: string) => void): Promise<MeMeasurement> {
  const login = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
  if (login.status !== 200) throw new Error(`login for GET /me failed: ${login.status} ${await login.text()}`);
  const { token } = (await login.json()) as { token: string };
  const auth = { authorization: `Bearer ${token}` };
  const seconds = SETTINGS.healthRoundSeconds;

  progress(`${server.name}: GET /me warm-up, 3 s`);
  await load(server.url, '/me', auth, 3);
  const rounds: MeMeasurement['rounds'] = [];
  for (let round = 1; round <= SETTINGS.rounds; round++) {
    const bareResult = await load(bare.url, '/health', {}, seconds);
    const me = await withCpu(server.pid, () => load(server.url, '/me', auth, seconds));
    rounds.push({ bare_per_second: bareResult.ok_per_second, me_per_second: me.ok_per_second, me_p99_ms: me.p99_ms, me_cpu_cores: me.server_cpu_cores, statuses: me.statuses });
    progress(
      `${server.name}: GET /me round ${round}/${SETTINGS.rounds}, ${SETTINGS.connections} connections, ${seconds} s each: bare Koa ${bareResult.ok_per_second.toFixed(0)}/s, GET /me ${me.ok_per_second.toFixed(0)}/s (p99 ${me.p99_ms} ms, CPU ${me.server_cpu_cores.toFixed(2)}), statuses ${JSON.stringify(me.statuses)}`,
    );
  }
  const ratios = rounds.map((r) => r.me_per_second / r.bare_per_second).sort((a, b) => a - b);
  return { rounds, ratio: ratios[Math.floor(ratios.length / 2)]! };
}

export function formatMe(name: string, me: MeMeasurement): string {
  const list = (values: number[], digits: number) => values.map((v) => v.toFixed(digits)).join(' / ');
  return (
    `GET /me (authenticated) ÷ bare Koa hello, ${name}: ${me.ratio.toFixed(3)} (reported, no target); rounds ` +
    `${list(me.rounds.map((r) => r.me_per_second / r.bare_per_second), 3)}: ${list(me.rounds.map((r) => r.me_per_second), 0)} ÷ ${list(me.rounds.map((r) => r.bare_per_second), 0)} /s`
  );
}

/** This section alone, on the web role. */
async function main(): Promise<void> {
  const progress = (line: string) => console.log(line);
  fs.mkdirSync(RESULTS, { recursive: true });
  progress(`compiling; ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await build();
  const database = await createMigratedDatabase();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-bench-me-'));
  let bare: ServerProcess | undefined;
  let web: ServerProcess | undefined;
  try {
    bare = await startBareKoa();
    const port = String(await freePort());
    web = await startServer('web', 'api/main.js', {
      NODE_ENV: 'production',
      APP_SECRET: crypto.randomBytes(36).toString('base64url'),
      DATABASE_URL: databaseUrlFor(database),
      REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
      PORT: port,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      RATE_LIMIT_SCALE: '1000',
    }, workDir);
    const user = { email: `bench-me-${crypto.randomBytes(4).toString('hex')}@example.com`, password: `Bench-${crypto.randomBytes(12).toString('base64url')}` };
    const registered = await fetch(`${web.url}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) });
    if (registered.status !== 201) throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
    console.log(`\n${formatMe('web', await measureMe(web, bare, user, progress))}`);
  } finally {
    await web?.stop();
    await bare?.stop();
    await dropDatabase(database);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
