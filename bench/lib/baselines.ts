import { closedLoop, type ClosedLoopResult } from './load.js';
import { freePort, runJson, startServer, withCpu, ROOT, type ServerProcess } from './processes.js';

export interface Argon2Baseline {
  concurrency: number;
  /** Median time of one argon2.verify, alone. */
  single_ms: number;
  /** Verifications per second, `concurrency` at once. */
  per_second: number;
}

/**
 * Raw argon2 verification in a process of its own (bench/baselines/argon2-verify.ts):
 * same parameters and HASH_CONCURRENCY as the app reads from `env`, for `seconds`.
 */
export function rawArgon2(seconds: number, env: Record<string, string>): Promise<Argon2Baseline> {
  return runJson<Argon2Baseline>('bench/baselines/argon2-verify.js', [String(seconds)], env);
}

/**
 * A bare Koa app answering GET /health's JSON, in a process of its own, kept for the
 * whole run; with `headers: 'security'` it also sends the API's security headers and an
 * x-request-id (bench/baselines/bare-koa.ts).
 */
export async function startBareKoa(headers: 'none' | 'security' = 'none'): Promise<ServerProcess> {
  const name = headers === 'security' ? 'bare-koa-headers' : 'bare-koa';
  return startServer(name, 'bench/baselines/bare-koa.js', { PORT: String(await freePort()), BARE_KOA_HEADERS: headers }, ROOT);
}

/** Closed-loop GET /health against a server, with the server's CPU use meanwhile. */
export function healthLoad(server: ServerProcess, connections: number, seconds: number): Promise<ClosedLoopResult & { server_cpu_cores: number }> {
  return withCpu(server.pid, () => closedLoop(server.url, [{ method: 'GET', path: '/health' }], connections, seconds));
}
