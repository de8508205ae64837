import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerTestPrefix, testPrefix } from './redis-keys.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START_SCRIPT = path.join(ROOT, 'bin/start.ts');
const THREADPOOL_PRELOAD = path.join(ROOT, 'bin/size-threadpool.cjs');
/** tsx as an absolute URL, so the child can load it from any working directory. */
const TSX = import.meta.resolve('tsx');

export interface ServiceProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process ended. */
  exited: Promise<number | string>;
  /** Waits until `text` (or a match of the pattern) appears in the output. */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Sends SIGKILL if it is still running (cleanup only). */
  kill(): void;
}

/** A free TCP port on 127.0.0.1 (free when asked; good enough for a test). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `node --require bin/size-threadpool.cjs --import tsx bin/start.ts` (every role) in an empty temporary working
 * directory, so no .env applies, with exactly the given environment plus PATH and HOME.
 */
export function startServiceProcess(env: Record<string, string>): ServiceProcess {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'us-start-'));
  const child = spawn(process.execPath, ['--require', THREADPOOL_PRELOAD, '--import', TSX, START_SCRIPT], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => {
      fs.rmSync(cwd, { recursive: true, force: true });
      resolve(code ?? signal ?? 'unknown');
    });
  });

  return {
    child,
    output: () => output,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      const seen = () => (typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output));
      return new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve();
        };
        const check = () => {
          if (seen()) done();
        };
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${pattern}; output:\n${output}`)), timeoutMs);
        listeners.add(check);
        void exited.then((code) => {
          if (!seen()) done(new Error(`process exited (${code}) before ${pattern}; output:\n${output}`));
        });
        check();
      });
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * The environment of a healthy start on this machine's services, on its own queue prefix
 * (also its rate limits' prefix), recorded as this run's: the suite removes its keys
 * (removeTestKeys) once the process has ended.
 */
export function serviceEnv(databaseUrl: string, port: number, overrides: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    RABBITMQ_URL: process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
    APP_SECRET: 'test-secret-that-is-long-enough-for-production-use',
    PORT: String(port),
    LOG_LEVEL: 'info',
    QUEUE_PREFIX: testPrefix('test-proc'),
    HASH_CONCURRENCY: '1',
    RATE_LIMIT_SCALE: '10000',
    ...overrides,
  };
  for (const prefix of [env.QUEUE_PREFIX, env.RATE_LIMIT_PREFIX]) if (prefix) registerTestPrefix(prefix);
  return env;
}

/** True when the output holds a stack frame, printed plainly or inside a JSON log line. */
export function hasStackTrace(output: string): boolean {
  return /^\s+at .+\(?.+:\d+:\d+\)?$/m.test(output) || /\\n\s+at /.test(output);
}
