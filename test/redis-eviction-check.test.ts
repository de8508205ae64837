import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { loadConfig } from '../shared/config/config.js';
import type { Component } from '../shared/process/boot.js';
import { createServices } from '../shared/services.js';
import { startWorkers } from '../workers/start-workers.js';
import { testDatabase } from './support/hooks.js';
import { freePort } from './support/service-process.js';
import { testEnv } from './support/test-app.js';
import { waitFor } from './support/wait-for.js';

/**
 * Queues must not be evicted. A worker process says so at error level when its Redis runs
 * another maxmemory-policy, also when that Redis was unreachable at start and came later.
 */
describe('Redis maxmemory-policy check', function () {
  this.timeout(30_000);

  it('logs an error naming the policy once a Redis that was down at start comes up with allkeys-lru', async () => {
    const lines: Array<{ level: number; msg: string; policy?: string }> = [];
    const capture = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const port = await freePort();
    const config = loadConfig(
      testEnv(testDatabase(), {
        REDIS_URL: `redis://127.0.0.1:${port}`,
        WORKER_QUEUES: 'audit',
        QUEUE_PREFIX: `eviction-test-${crypto.randomBytes(4).toString('hex')}`,
      }),
    );
    const services = createServices(config, pino({ level: 'info' }, capture));
    await services.init();
    let workers: Component | undefined;
    let redis: ChildProcess | undefined;
    try {
      // Nothing listens yet when the workers start; the check must wait for the connection.
      workers = await startWorkers(services);
      expect(lines.some((line) => /maxmemory-policy/.test(line.msg))).to.equal(false);
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru', '--dir', os.tmpdir()],
        { stdio: 'ignore' },
      );
      const error = await waitFor('the eviction error', async () => lines.find((line) => line.level === 50 && /maxmemory-policy/.test(line.msg)));
      expect(error.policy).to.equal('allkeys-lru');
      expect(error.msg).to.include('noeviction');
    } finally {
      await workers?.stop();
      await services.close();
      redis?.kill('SIGKILL');
    }
  });
});
