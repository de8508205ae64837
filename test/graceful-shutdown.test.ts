import { expect } from 'chai';
import { expectFailure } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { randomEmail, request, strongPassword, type JsonResponse } from './support/http.js';
import { freePort, hasStackTrace, serviceEnv, startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { removeTestKeys } from './support/redis-keys.js';
import { databaseUrlFor } from './support/test-database.js';

const LOGINS = 40;

async function waitForHealth(url: string, service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null) throw new Error(`exited ${service.child.exitCode}:\n${service.output()}`);
    const ok = await fetch(`${url}/health`).then((response) => response.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no /health within ${timeoutMs} ms:\n${service.output()}`);
}

/**
 * SIGTERM while a login flood waits for the one hashing slot: the process stops
 * accepting, answers the logins still queued for hashing with 503 at once, lets the
 * running ones finish, and only then closes the database pool; it exits 0 soon after.
 */
describe('graceful shutdown under a login flood (real process)', function () {
  this.timeout(60_000);
  let service: ServiceProcess | undefined;
  let prefix: string | undefined;

  afterEach(async () => {
    service?.kill();
    await service?.exited;
    service = undefined;
    if (prefix) await removeTestKeys(prefix);
  });

  it('answers queued logins 200 or 503 (or closes), ends the pool last, exits 0', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = serviceEnv(databaseUrlFor(testDatabase()), port, {
      // One hash at a time, each a few hundred ms: the flood is queued for many seconds,
      // longer than the HTTP server would wait for it before cutting connections.
      HASH_CONCURRENCY: '1',
      ARGON2_MEMORY_KIB: '65536',
      ARGON2_TIME_COST: '3',
      RATE_LIMIT_SCALE: '1000',
      WORKER_QUEUES: 'audit',
    });
    prefix = env.QUEUE_PREFIX;
    service = startServiceProcess(env);
    await waitForHealth(url, service);
    const email = randomEmail();
    const password = strongPassword();
    const registered = await request('POST', '/register', { baseUrl: url, json: { email, password } });
    expect(registered.status, registered.text).to.equal(201);

    const answers: Array<Promise<JsonResponse | 'closed'>> = Array.from({ length: LOGINS }, () =>
      request('POST', '/login', { baseUrl: url, json: { email, password } }).catch(() => 'closed' as const),
    );
    // Let every login reach the hashing queue, then stop the process.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalled = Date.now();
    service.child.kill('SIGTERM');
    const results = await Promise.all(answers);
    const code = await service.exited;
    const stoppedIn = Date.now() - signalled;

    const output = service.output();
    expect(code, output).to.equal(0);
    expect(output).not.to.include('Cannot use a pool');
    expect(hasStackTrace(output), output).to.equal(false);
    const statuses = results.map((result) => (result === 'closed' ? 'closed' : result.status));
    for (const status of statuses) expect([200, 503, 'closed'], `statuses: ${statuses}`).to.include(status);
    // The queued logins were refused at once rather than hashed one by one (40 × a few hundred ms).
    const refused = results.filter((result): result is JsonResponse => result !== 'closed' && result.status === 503);
    expect(refused.length, `statuses: ${statuses}`).to.be.at.least(LOGINS / 2);
    for (const response of refused) expectFailure(response, 503, 'unavailable');
    expect(stoppedIn, `stopped in ${stoppedIn} ms`).to.be.below(4_000);
  });
});
