import { expect } from 'chai';
import crypto from 'node:crypto';
import { expectFailure, sql } from './support/expectations.js';
import { testDatabase } from './support/hooks.js';
import { randomEmail, registerUser, request, strongPassword, type JsonResponse } from './support/http.js';
import { rawRequest } from './support/raw-http.js';
import { startTestApp, type TestApp } from './support/test-app.js';

/** The sum of a metric's values in an app's registry whose labels include `labels`. */
async function metricTotal(app: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = app.services.metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.filter((value) => Object.entries(labels).every(([key, wanted]) => value.labels[key] === wanted)).reduce((sum, value) => sum + value.value, 0);
}

function postTo(app: TestApp, path: string, json: unknown): Promise<JsonResponse> {
  return rawRequest({
    baseUrl: app.url,
    path,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
}

describe('bounded hashing', () => {
  describe('with HASH_CONCURRENCY=1 and HASH_QUEUE_LIMIT=2', () => {
    let limited: TestApp;
    before(async () => {
      limited = await startTestApp(testDatabase(), { HASH_CONCURRENCY: '1', HASH_QUEUE_LIMIT: '2' });
    });
    after(async () => {
      await limited?.close();
    });

    it('answers a login flood with some 503 unavailable + Retry-After and the rest as usual', async function () {
      this.timeout(30_000);
      const { email, password } = await registerUser();
      const responses = await Promise.all(Array.from({ length: 20 }, () => postTo(limited, '/login', { email, password })));
      const statuses = responses.map((response) => response.status);
      const busy = responses.filter((response) => response.status === 503);
      const ok = responses.filter((response) => response.status === 200);
      expect(busy.length, `statuses: ${statuses}`).to.be.at.least(1);
      expect(ok.length, `statuses: ${statuses}`).to.be.at.least(3);
      expect(busy.length + ok.length, `statuses: ${statuses}`).to.equal(20);
      for (const response of busy) {
        expectFailure(response, 503, 'unavailable');
        expect(Number(response.headers.get('retry-after'))).to.be.at.least(1);
      }
      // Each refusal is counted once, as the hashing limit's and as the sign-in's result.
      expect(await metricTotal(limited, 'user_services_argon2_rejected_total')).to.equal(busy.length);
      expect(await metricTotal(limited, 'user_services_login_attempts_total', { result: 'unavailable' })).to.equal(busy.length);
      expect(await metricTotal(limited, 'user_services_login_attempts_total', { result: 'success' })).to.equal(ok.length);
      // A refused request never reached the database: only the answered ones left attempts.
      const [{ attempts }] = await sql('SELECT count(*)::int AS attempts FROM login_attempts WHERE email = $1', [email]);
      expect(attempts).to.equal(ok.length);
      // The limiter frees its slots: once the flood is over, logins work again.
      expect((await postTo(limited, '/login', { email, password })).status).to.equal(200);
    });

    it('refuses a registration flood the same way without creating the refused accounts', async function () {
      this.timeout(30_000);
      const emails = Array.from({ length: 12 }, () => randomEmail());
      const responses = await Promise.all(emails.map((email) => postTo(limited, '/register', { email, password: strongPassword() })));
      const statuses = responses.map((response) => response.status);
      expect(statuses.every((status) => status === 201 || status === 503), `statuses: ${statuses}`).to.equal(true);
      expect(statuses.filter((status) => status === 503).length).to.be.at.least(1);
      const [{ created }] = await sql('SELECT count(*)::int AS created FROM users WHERE email = ANY($1)', [emails]);
      expect(created).to.equal(statuses.filter((status) => status === 201).length);
    });

    it('keeps /health fast while logins keep the hashing queue full', async function () {
      this.timeout(30_000);
      const { email, password } = await registerUser();
      let flooding = true;
      const statuses: number[] = [];
      // Ten clients that log in again as soon as they are answered, until the probes are done.
      const clients = Array.from({ length: 10 }, async () => {
        while (flooding) statuses.push((await postTo(limited, '/login', { email, password })).status);
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const latencies: number[] = [];
      for (let i = 0; i < 20; i++) {
        const started = performance.now();
        const health = await rawRequest({ method: 'GET', path: '/health', baseUrl: limited.url });
        latencies.push(performance.now() - started);
        expect(health.status).to.equal(200);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      flooding = false;
      await Promise.all(clients);
      expect(statuses).to.include(503);
      expect(statuses.filter((status) => status !== 200 && status !== 503)).to.deep.equal([]);
      latencies.sort((a, b) => a - b);
      expect(latencies[latencies.length - 2], `health latencies ${latencies.map(Math.round)} ms`).to.be.below(100);
    });
  });

  describe('with the defaults', () => {
    it('keeps /health fast while long random passwords are judged', async function () {
      this.timeout(30_000);
      const digits = () => Array.from({ length: 256 }, () => crypto.randomInt(10)).join('');
      const registrations = Array.from({ length: 3 }, () =>
        request('POST', '/register', { json: { email: randomEmail(), password: digits() } }),
      );
      await new Promise((resolve) => setTimeout(resolve, 5));
      const started = performance.now();
      expect((await request('GET', '/health')).status).to.equal(200);
      const latency = performance.now() - started;
      expect((await Promise.all(registrations)).map((response) => response.status)).to.deep.equal([201, 201, 201]);
      expect(latency, `/health took ${Math.round(latency)} ms`).to.be.below(750);
    });

    it('lets 64 simultaneous logins wait their turn: all succeed, none 503', async function () {
      this.timeout(60_000);
      const { email, password } = await registerUser();
      const responses = await Promise.all(
        Array.from({ length: 64 }, () => request('POST', '/login', { json: { email, password } })),
      );
      const statuses = responses.map((response) => response.status);
      expect(statuses.filter((status) => status !== 200), `statuses: ${statuses}`).to.deep.equal([]);
      const tokens = new Set(responses.map((response) => response.body.refresh_token));
      expect(tokens.size).to.equal(64);
    });
  });
});
