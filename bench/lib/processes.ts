import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/project-root.js';

export const ROOT = projectRoot();
/** Preloaded by every process the bench starts, as the start scripts do: it sizes libuv's thread pool. */
const THREADPOOL_PRELOAD = ['--require', path.join(ROOT, 'bin/size-threadpool.cjs')];
export const RESULTS = path.join(ROOT, 'bench/results');
/** Where bench/tsconfig.json compiles the app and the baselines. */
export const BUILD = path.join(RESULTS, 'build');

/** Compiles the app and the baselines into bench/results/build (about a second). */
export async function build(): Promise<void> {
  fs.rmSync(BUILD, { recursive: true, force: true });
  await promisify(execFile)(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'bench/tsconfig.json'], { cwd: ROOT });
}

// The tests' own: a free TCP port on 127.0.0.1.
export { freePort } from '../../test/support/service-process.js';

export interface Memory {
  rssKiB: number;
  hwmKiB: number;
}

/** VmRSS and VmHWM (peak RSS over the process's life) from /proc/<pid>/status. */
export function readMemory(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssKiB: field('VmRSS'), hwmKiB: field('VmHWM') };
}

/** CPU seconds (user + system, all threads) the process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Runs `work` and returns its result with the process's CPU use meanwhile, in cores. */
export async function withCpu<T>(pid: number, work: () => Promise<T>): Promise<T & { server_cpu_cores: number }> {
  const cpu = cpuSeconds(pid);
  const started = performance.now();
  const result = await work();
  return { ...result, server_cpu_cores: (cpuSeconds(pid) - cpu) / ((performance.now() - started) / 1000) };
}

/** Polls VmRSS every `everyMs` until stop(); returns the highest value seen, in KiB. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number } {
  let max = 0;
  const timer = setInterval(() => {
    max = Math.max(max, readMemory(pid).rssKiB);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(max, readMemory(pid).rssKiB);
    },
  };
}

export interface ServerProcess {
  name: string;
  pid: number;
  url: string;
  logFile: string;
  /** SIGTERM, wait for the exit (SIGKILL after 15 s). Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` (a path under the build folder) with exactly `env` plus PATH and
 * HOME, in `cwd`, stdout and stderr to bench/results/<name>.log, and waits until GET
 * `readyPath` answers 200 on `readyPort` (GET /health on env.PORT; a worker process has
 * only its METRICS_PORT).
 */
export async function startServer(
  name: string,
  script: string,
  env: Record<string, string>,
  cwd: string,
  { readyPort = env.PORT, readyPath = '/health' }: { readyPort?: string; readyPath?: string } = {},
): Promise<ServerProcess> {
  const logFile = path.join(RESULTS, `${name}.log`);
  const out = fs.openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [...THREADPOOL_PRELOAD, path.join(BUILD, script)], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${readyPort}`;
  const server: ServerProcess = {
    name,
    pid: child.pid!,
    url,
    logFile,
    async stop() {
      if (gone) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (gone) throw new Error(`${name} exited before it answered; last lines of ${logFile}:\n${tail(logFile)}`);
    const ok = await fetch(`${url}${readyPath}`).then((r) => r.ok, () => false);
    if (ok) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${name} did not answer GET ${readyPath} within 60 s; last lines of ${logFile}:\n${tail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs `node <script> ...args` to completion and parses the JSON line it prints. */
export async function runJson<T>(script: string, args: string[], env: Record<string, string>): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [...THREADPOOL_PRELOAD, path.join(BUILD, script), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? ROOT, ...env },
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}
