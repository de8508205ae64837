import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './service-process.js';

/**
 * A redis-server of the test's own on a free port (no persistence, noeviction), which the
 * test may stop, start again on the same port, or flush, without touching the shared
 * Redis on 6379. Stopped, it is unreachable (connection refused) as a crashed Redis is;
 * started again, it is empty, as a Redis that lost its data set.
 */
export interface OwnRedis {
  url: string;
  running: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  flushAll(): Promise<void>;
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      client.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${url} not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const own: OwnRedis = {
    url,
    get running() {
      return child !== undefined;
    },
    async start() {
      if (child) return;
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
      child = spawn('redis-server', [...args, '--maxmemory-policy', 'noeviction', '--dir', os.tmpdir()], { stdio: 'ignore' });
      await waitUntilReady(url, child);
    },
    async stop() {
      const stopping = child;
      if (!stopping) return;
      child = undefined;
      if (stopping.exitCode !== null || stopping.signalCode !== null) return;
      const exited = new Promise((resolve) => stopping.once('exit', resolve));
      stopping.kill('SIGKILL');
      await exited;
    },
    async flushAll() {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
  };
  await own.start();
  return own;
}
