/**
 * `npm run bench -- startup`: how long a process takes from spawn to its first
 * GET /health 200, for the web role (api/main.js) and the all-in-one process
 * (bin/start.js), beside a bare Koa process (bench/baselines/bare-koa.ts) started the
 * same way: the ratio is the cost of loading and wiring the service, which grows with
 * every dependency loaded at start. Rounds alternate the three, on an already migrated
 * database (the migrator finds nothing to do, as on every start but the first), and the
 * figure is the median of the rounds. Reported, no target: it must not grow beyond noise.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createVhost } from '../test/support/relay-harness.js';
import { createMigratedDatabase, databaseUrlFor, dropDatabase } from '../test/support/test-database.js';
import { median } from './lib/median.js';
import { BUILD, freePort, ROOT } from './lib/processes.js';

const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 7);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const SIDES = { 'bare Koa': 'bench/baselines/bare-koa.js', web: 'api/main.js', 'all-in-one': 'bin/start.js' } as const;
type Side = keyof typeof SIDES;

export type StartupBench = Record<Side, { median_ms: number; runs_ms: number[] }>;

/** Milliseconds from spawn to the first 200 of GET /health (polled every 5 ms); the process is stopped with SIGTERM after. */
async function timeStart(script: string, env: Record<string, string>): Promise<number> {
  const port = String(await freePort());
  const started = performance.now();
  const child = spawn(process.execPath, ['--require', path.join(ROOT, 'bin/size-threadpool.cjs'), path.join(BUILD, script)], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), ...env, PORT: port, PUBLIC_URL: `http://127.0.0.1:${port}` },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let code: number | null | undefined;
  void exited.then((c) => (code = c));
  try {
    for (;;) {
      if (code !== undefined) throw new Error(`${script} exited with ${code} before it answered GET /health`);
      if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) return performance.now() - started;
      if (performance.now() - started > 60_000) throw new Error(`${script} did not answer GET /health within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function runStartupBench({ progress = console.log, defer = () => undefined }: { progress?: (line: string) => void; defer?: (step: () => Promise<unknown>) => void } = {}): Promise<StartupBench> {
  const database = await createMigratedDatabase();
  defer(() => dropDatabase(database));
  const vhost = await createVhost('us_bench_startup');
  defer(() => vhost.remove());
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'us-bench-startup-'));
  defer(async () => fs.rmSync(workDir, { recursive: true, force: true }));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    APP_SECRET: crypto.randomBytes(36).toString('base64url'),
    DATABASE_URL: databaseUrlFor(database),
    REDIS_URL,
    RABBITMQ_URL: vhost.url,
    QUEUE_PREFIX: `bench-startup-${crypto.randomBytes(4).toString('hex')}`,
    MAIL_DIR: path.join(workDir, 'mail-out'),
    LOG_LEVEL: 'warn',
  };
  const runs: Record<Side, number[]> = { 'bare Koa': [], web: [], 'all-in-one': [] };
  // The first start signs and stores the keys; it is not one of the rounds.
  await timeStart(SIDES.web, env);
  for (let round = 1; round <= ROUNDS; round++) {
    const order = (Object.keys(SIDES) as Side[]).slice();
    if (round % 2 === 0) order.reverse();
    for (const side of order) runs[side].push(await timeStart(SIDES[side], env));
    progress(`startup: round ${round}/${ROUNDS}: ${order.map((side) => `${side} ${runs[side].at(-1)!.toFixed(0)} ms`).join(', ')}`);
  }
  return Object.fromEntries(Object.entries(runs).map(([side, ms]) => [side, { median_ms: median(ms), runs_ms: ms }])) as StartupBench;
}

export function formatStartup(result: StartupBench): string {
  const bare = result['bare Koa'].median_ms;
  const line = (side: Side) => `  ${side.padEnd(10)} ${result[side].median_ms.toFixed(0).padStart(5)} ms  (${(result[side].median_ms / bare).toFixed(2)} × bare Koa)`;
  return ['Startup, spawn to first GET /health 200 (median of the rounds; reported, no target):', line('bare Koa'), line('web'), line('all-in-one')].join('\n');
}
